//! Counters, defined once per configuration; a request increments exactly one.

use crate::config::Mode;
use crate::decision::Decision;
use crate::outcome::{allowed_counter_name, counter_name, Outcome};
use crate::Firewall;
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

pub struct Counters {
    /// Per group, by index into `Policy::groups`.
    allowed: Vec<Option<u32>>,
    /// Per refusal, in `Outcome::REFUSALS` order.
    refused: [Option<u32>; 4],
}

fn define(name: &str) -> Option<u32> {
    hostcalls::define_metric(MetricType::Counter, name).ok()
}

impl Counters {
    pub fn define(firewall: &Firewall) -> Counters {
        let listener = &firewall.settings.name;
        let mode: Mode = firewall.settings.mode;
        Counters {
            allowed: firewall
                .policy
                .groups()
                .iter()
                .map(|g| define(&allowed_counter_name(listener, g)))
                .collect(),
            refused: Outcome::REFUSALS.map(|o| define(&counter_name(listener, &o.label(mode)))),
        }
    }

    pub fn count(&self, firewall: &Firewall, decision: &Decision) {
        let id = match decision {
            Decision::Allow { route } => firewall
                .policy
                .routes()
                .get(*route)
                .and_then(|r| self.allowed.get(r.group))
                .copied()
                .flatten(),
            other => {
                let outcome = Outcome::of(other);
                Outcome::REFUSALS
                    .iter()
                    .position(|o| *o == outcome)
                    .and_then(|i| self.refused.get(i))
                    .copied()
                    .flatten()
            }
        };
        if let Some(id) = id {
            let _ = hostcalls::increment_metric(id, 1);
        }
    }
}
