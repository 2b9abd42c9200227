//! The refusal-log budget of one worker: at most `log.max_per_second` refusal lines per
//! tick, then a count of what was left out, told in one summary line at the next tick. A
//! scanner's flood then costs a few lines a second, not one per request. Time is kept by
//! the host's tick on the root context, never read per request.

use crate::config::Mode;
use crate::outcome::Outcome;
use std::cell::Cell;
use std::fmt::Write;

/// Shared by every request of one configuration on one worker (single-threaded).
#[derive(Debug)]
pub struct LogBudget {
    max: u32,
    left: Cell<u32>,
    /// Lines not written since the last tick, per refusal, in `Outcome::REFUSALS` order.
    suppressed: [Cell<u64>; 4],
}

impl LogBudget {
    pub fn new(max_per_second: u32) -> LogBudget {
        LogBudget {
            max: max_per_second,
            left: Cell::new(max_per_second),
            suppressed: Default::default(),
        }
    }

    /// Whether a refusal's line may be written now; if not, it is counted for the summary.
    pub fn admit(&self, outcome: Outcome) -> bool {
        let left = self.left.get();
        if left > 0 {
            self.left.set(left - 1);
            return true;
        }
        if let Some(n) = outcome.refusal_index().and_then(|i| self.suppressed.get(i)) {
            n.set(n.get().saturating_add(1));
        }
        false
    }

    /// At a tick: refills the budget and returns the summary line of what was suppressed
    /// since the last one, if anything was.
    pub fn roll(&self, listener: &str, mode: Mode) -> Option<String> {
        self.left.set(self.max);
        let counts: Vec<(&str, u64)> = Outcome::REFUSALS
            .iter()
            .zip(&self.suppressed)
            .map(|(o, n)| (o.label(mode), n.replace(0)))
            .filter(|(_, n)| *n > 0)
            .collect();
        if counts.is_empty() {
            return None;
        }
        let total: u64 = counts.iter().map(|(_, n)| n).sum();
        let mut line = format!(
            "cobrowse-l7-firewall[{listener}]: {total} refusal lines suppressed (log.max_per_second {}):",
            self.max
        );
        for (label, n) in counts {
            let _ = write!(line, " {label}={n}");
        }
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_budget_then_counts_per_outcome() {
        let b = LogBudget::new(2);
        assert!(b.admit(Outcome::Denied));
        assert!(b.admit(Outcome::Rejected));
        assert!(!b.admit(Outcome::Denied));
        assert!(!b.admit(Outcome::Rejected));
        assert!(!b.admit(Outcome::Denied));
        assert_eq!(
            b.roll("edge", Mode::Enforce).as_deref(),
            Some("cobrowse-l7-firewall[edge]: 3 refusal lines suppressed (log.max_per_second 2): denied=2 rejected=1")
        );
        // Refilled, and nothing left to tell.
        assert!(b.admit(Outcome::Denied));
        assert_eq!(b.roll("edge", Mode::Enforce), None);
    }

    #[test]
    fn zero_budget_writes_only_summaries_with_dry_run_labels() {
        let b = LogBudget::new(0);
        assert!(!b.admit(Outcome::MethodNotAllowed));
        assert_eq!(
            b.roll("x", Mode::DryRun).as_deref(),
            Some("cobrowse-l7-firewall[x]: 1 refusal lines suppressed (log.max_per_second 0): dry_run_method_not_allowed=1")
        );
    }
}
