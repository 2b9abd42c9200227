//! How a decision is reported: the names shared by metrics, logs and the access log.

use crate::config::Mode;
use crate::decision::{Decision, DenyReason};
use crate::path_check::RejectReason;
use crate::policy::Policy;

/// What happened to a request, as counted and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    Denied,
    Rewritten,
    Rejected,
    MethodNotAllowed,
}

impl Outcome {
    /// Every outcome that has its own counter (allowed is counted per group).
    pub const REFUSALS: [Outcome; 4] = [
        Outcome::Denied,
        Outcome::Rewritten,
        Outcome::Rejected,
        Outcome::MethodNotAllowed,
    ];

    /// Where this outcome stands in `REFUSALS` (none for `Allowed`): the index of its
    /// per-refusal counter and log-budget slot.
    pub fn refusal_index(self) -> Option<usize> {
        Outcome::REFUSALS.iter().position(|o| *o == self)
    }

    pub fn of(decision: &Decision) -> Outcome {
        match decision {
            Decision::Allow { .. } => Outcome::Allowed,
            Decision::Deny(_) => Outcome::Denied,
            Decision::Rewrite { .. } => Outcome::Rewritten,
            Decision::Reject(_) => Outcome::Rejected,
            Decision::MethodNotAllowed => Outcome::MethodNotAllowed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::Rewritten => "rewritten",
            Outcome::Rejected => "rejected",
            Outcome::MethodNotAllowed => "method_not_allowed",
        }
    }

    /// The counter's name in this mode: dry run counts what *would* have happened.
    pub fn label(self, mode: Mode) -> &'static str {
        match (mode, self) {
            (Mode::DryRun, Outcome::Denied) => "dry_run_denied",
            (Mode::DryRun, Outcome::Rewritten) => "dry_run_rewritten",
            (Mode::DryRun, Outcome::Rejected) => "dry_run_rejected",
            (Mode::DryRun, Outcome::MethodNotAllowed) => "dry_run_method_not_allowed",
            (_, o) => o.as_str(),
        }
    }
}

/// The detail of an SPA rewrite or 405.
const SPA: &str = "spa";

/// Where the access log finds a request's decision, which decides the host calls made
/// for it: a filter-state write costs a host call on every request that makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// An enforced refusal: its local reply's details (`%RESPONSE_CODE_DETAILS%`), free.
    InLocalReply,
    /// Filter state: a dry-run decision other than an allow (nothing else carries it),
    /// or an allow when the configuration's `filter_state` asks for its group.
    Decision,
    /// An enforced SPA rewrite: its decision and the client's path, which the rewrite
    /// replaces in what the access log would show. Only page loads pay for it.
    DecisionAndOriginalPath,
    /// An allow without `filter_state`: the log shows the forwarded request as is.
    Nothing,
}

impl Record {
    pub fn of(decision: &Decision, mode: Mode, filter_state: bool) -> Record {
        match (decision, mode) {
            (Decision::Allow { .. }, _) if filter_state => Record::Decision,
            (Decision::Allow { .. }, _) => Record::Nothing,
            (Decision::Rewrite { .. }, Mode::Enforce) => Record::DecisionAndOriginalPath,
            (_, Mode::DryRun) => Record::Decision,
            (_, Mode::Enforce) => Record::InLocalReply,
        }
    }
}

/// The detail beside the outcome: the group for an allow, the reason otherwise.
pub fn detail<'p>(policy: &'p Policy, decision: &Decision) -> &'p str {
    match decision {
        Decision::Allow { route } => policy
            .routes()
            .get(*route)
            .map_or("?", |r| policy.group_name(r.group)),
        Decision::Deny(reason) => reason.as_str(),
        Decision::Rewrite { .. } => SPA,
        Decision::Reject(reason) => reason.as_str(),
        Decision::MethodNotAllowed => SPA,
    }
}

/// Every decision's `outcome:detail`, made once per configuration: the access log reads
/// it from a local reply's details or from filter state, and a request only looks it up.
#[derive(Debug, Clone)]
pub struct DecisionNames {
    mode: Mode,
    /// Per route, by index into `Policy::routes`.
    allowed: Vec<String>,
    /// In `DenyReason::ALL` order.
    denied: Vec<String>,
    /// In `RejectReason::ALL` order.
    rejected: Vec<String>,
    rewritten: String,
    method_not_allowed: String,
}

impl DecisionNames {
    pub fn new(policy: &Policy, mode: Mode) -> DecisionNames {
        let name = |outcome: Outcome, detail: &str| format!("{}:{detail}", outcome.label(mode));
        DecisionNames {
            mode,
            allowed: policy
                .routes()
                .iter()
                .map(|r| name(Outcome::Allowed, policy.group_name(r.group)))
                .collect(),
            denied: DenyReason::ALL
                .iter()
                .map(|r| name(Outcome::Denied, r.as_str()))
                .collect(),
            rejected: RejectReason::ALL
                .iter()
                .map(|r| name(Outcome::Rejected, r.as_str()))
                .collect(),
            rewritten: name(Outcome::Rewritten, SPA),
            method_not_allowed: name(Outcome::MethodNotAllowed, SPA),
        }
    }

    /// This decision's `outcome:detail`, without allocating.
    pub fn details(&self, decision: &Decision) -> &str {
        let found = match decision {
            Decision::Allow { route } => self.allowed.get(*route),
            Decision::Deny(reason) => DenyReason::ALL
                .iter()
                .position(|r| r == reason)
                .and_then(|i| self.denied.get(i)),
            Decision::Reject(reason) => RejectReason::ALL
                .iter()
                .position(|r| r == reason)
                .and_then(|i| self.rejected.get(i)),
            Decision::Rewrite { .. } => Some(&self.rewritten),
            Decision::MethodNotAllowed => Some(&self.method_not_allowed),
        };
        // Only a route outside the policy can miss (`ALL` lists every reason, as
        // tests/reporting.rs checks); `detail` names its group `?`.
        found.map_or_else(
            || match decision {
                Decision::Allow { .. } => "allowed:?",
                other => Outcome::of(other).label(self.mode),
            },
            String::as_str,
        )
    }
}

/// Counter names, under the plugin's own prefix: `cobrowse_l7fw.<name>.<outcome>` and,
/// for allowed requests, `cobrowse_l7fw.<name>.allowed.<group>`.
pub fn counter_name(listener: &str, label: &str) -> String {
    format!("cobrowse_l7fw.{listener}.{label}")
}

pub fn allowed_counter_name(listener: &str, group: &str) -> String {
    format!("cobrowse_l7fw.{listener}.allowed.{group}")
}
