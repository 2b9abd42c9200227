//! One HTTP request: read `:path` (and only what else the decision asks for), decide,
//! count, record, log, then act — or, in dry run, only record.

use super::respond;
use super::root::Active;
use crate::config::Mode;
use crate::decision::{is_get_or_head, Decision};
use crate::log_escape::escape;
use crate::outcome::{detail, Outcome, Record};
use crate::path_check::split_query;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, Bytes, MapType};
use std::cell::OnceCell;
use std::rc::Rc;

pub struct FirewallRequest {
    active: Option<Rc<Active>>,
}

impl FirewallRequest {
    pub fn new(active: Option<Rc<Active>>) -> Self {
        FirewallRequest { active }
    }
}

/// A request header as bytes: the SDK's `String` getters trap on non-UTF-8 values.
fn header(name: &str) -> Option<Bytes> {
    hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name)
        .ok()
        .flatten()
}

impl Context for FirewallRequest {}

impl HttpContext for FirewallRequest {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        #[cfg(feature = "fault-injection")]
        super::fault::trap_on_demand();
        let Some(active) = self.active.as_deref() else {
            return respond::no_policy();
        };
        let firewall = &active.firewall;
        let target = header(":path");
        // Read once at most: the decision and the refusal's log line may both need it.
        let method = OnceCell::new();
        let method = || method.get_or_init(|| header(":method").unwrap_or_default());
        let decision = firewall.policy.decide(
            target.as_deref(),
            || header("upgrade").is_some_and(|v| !v.is_empty()),
            || is_get_or_head(method()),
        );
        let settings = &firewall.settings;
        let outcome = Outcome::of(&decision);
        // Denied, rejected or 405: answered locally when enforced, and logged.
        let refused = !matches!(decision, Decision::Allow { .. } | Decision::Rewrite { .. });
        active.counters.count(firewall, &decision);
        // `outcome:group-or-reason` for the access log, made at load; `Record` says where.
        let decided = active.names.details(&decision);
        match Record::of(&decision, settings.mode, settings.filter_state) {
            Record::InLocalReply | Record::Nothing => {}
            Record::Decision => respond::record(decided),
            Record::DecisionAndOriginalPath => {
                respond::record(decided);
                // The path only: the query may carry a credential (SPEC rule 9).
                respond::record_original_path(split_query(target.as_deref().unwrap_or_default()).0);
            }
        }
        if refused {
            let level = respond::log_level(settings.log.level);
            if let Some(level) = level.filter(|_| active.budget.admit(outcome)) {
                let target = target.unwrap_or_default();
                // The path as sent, the query's credentials replaced (SPEC rule 9).
                let shown = settings.redactor.target(&target);
                let max = settings.log.max_path_bytes;
                log::log!(
                    level,
                    "cobrowse-l7-firewall[{}]: {} {}: {} \"{}\"",
                    settings.name,
                    outcome.label(settings.mode),
                    detail(&firewall.policy, &decision),
                    escape(method(), 32),
                    escape(&shown, max),
                );
            }
        }
        match settings.mode {
            Mode::DryRun => Action::Continue,
            Mode::Enforce => respond::apply(&active.replies, decision, decided),
        }
    }
}
