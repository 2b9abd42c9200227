//! Per-configuration reporting handles, made once in `on_configure`: counter ids and,
//! for the common allowed case, the filter-state value, so a request formats nothing.

use crate::decision::Decision;
use crate::outcome::{allowed_counter_name, counter_name, Outcome};
use crate::Firewall;
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

struct Allowed {
    counter: Option<u32>,
    /// `allowed:<group>`, as the access log reads it.
    state: String,
}

pub struct Counters {
    /// Per group, by index into `Policy::groups`.
    allowed: Vec<Allowed>,
    /// Per refusal, in `Outcome::REFUSALS` order.
    refused: [Option<u32>; 4],
}

fn define(name: &str) -> Option<u32> {
    hostcalls::define_metric(MetricType::Counter, name).ok()
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
                .map(|g| Allowed {
                    counter: define(&allowed_counter_name(listener, g)),
                    state: format!("{}:{g}", Outcome::Allowed.as_str()),
                })
                .collect(),
            refused: Outcome::REFUSALS.map(|o| define(&counter_name(listener, o.label(mode)))),
        }
    }

    fn allowed(&self, firewall: &Firewall, route: usize) -> Option<&Allowed> {
        let group = firewall.policy.routes().get(route)?.group;
        self.allowed.get(group)
    }

    /// Increments the one counter this decision belongs to.
    pub fn count(&self, firewall: &Firewall, decision: &Decision) {
        let id = match decision {
            Decision::Allow { route } => self.allowed(firewall, *route).and_then(|a| a.counter),
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

    /// The precomputed filter-state value of an allow.
    pub fn allowed_state(&self, firewall: &Firewall, route: usize) -> Option<&str> {
        self.allowed(firewall, route).map(|a| a.state.as_str())
    }
}
