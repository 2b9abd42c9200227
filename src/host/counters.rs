//! Per-configuration counters, defined once in `on_configure`.
//!
//! A request only adds to a count in the VM; the root context's tick adds what is pending
//! to Envoy's counters, so Envoy's counters lag by at most one tick period and a request
//! makes no host call to be counted. Dropping the counters (the configuration is
//! replaced, or the VM stops) adds what is still pending.

use crate::decision::Decision;
use crate::outcome::{allowed_counter_name, counter_name, Outcome};
use crate::Firewall;
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use std::cell::Cell;

/// One Envoy counter and the increments not yet added to it.
struct Counter {
    id: Option<u32>,
    pending: Cell<u64>,
}

impl Counter {
    fn define(name: &str) -> Counter {
        Counter {
            id: hostcalls::define_metric(MetricType::Counter, name).ok(),
            pending: Cell::new(0),
        }
    }

    fn add(&self) {
        self.pending.set(self.pending.get().saturating_add(1));
    }

    fn flush(&self) {
        let n = self.pending.replace(0);
        if let (Some(id), Ok(n @ 1..)) = (self.id, i64::try_from(n)) {
            let _ = hostcalls::increment_metric(id, n);
        }
    }
}

pub struct Counters {
    /// Per group, by index into `Policy::groups`.
    allowed: Vec<Counter>,
    /// Per refusal, in `Outcome::REFUSALS` order.
    refused: [Counter; 4],
}

impl Counters {
    pub fn define(firewall: &Firewall) -> Counters {
        let listener = &firewall.settings.name;
        let mode = firewall.settings.mode;
        Counters {
            allowed: firewall
                .policy
                .groups()
                .iter()
                .map(|g| Counter::define(&allowed_counter_name(listener, g)))
                .collect(),
            refused: Outcome::REFUSALS
                .map(|o| Counter::define(&counter_name(listener, o.label(mode)))),
        }
    }

    /// Counts this decision in the VM; the next tick tells Envoy.
    pub fn count(&self, firewall: &Firewall, decision: &Decision) {
        let counter = match decision {
            Decision::Allow { route } => firewall
                .policy
                .routes()
                .get(*route)
                .and_then(|r| self.allowed.get(r.group)),
            other => Outcome::of(other)
                .refusal_index()
                .and_then(|i| self.refused.get(i)),
        };
        if let Some(counter) = counter {
            counter.add();
        }
    }

    /// Adds every pending count to Envoy's counters: one host call per counter that moved.
    pub fn flush(&self) {
        self.allowed.iter().for_each(Counter::flush);
        self.refused.iter().for_each(Counter::flush);
    }
}

impl Drop for Counters {
    fn drop(&mut self) {
        self.flush();
    }
}
