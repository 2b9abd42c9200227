//! The root context: compiles each plugin configuration once, or refuses it; once a
//! tick, tells Envoy the counts and the refusal lines the log budget left out.

use super::counters::Counters;
use super::in_force::InForce;
use super::local_reply::Replies;
use super::request::FirewallRequest;
use super::respond;
use crate::log_budget::LogBudget;
use crate::outcome::DecisionNames;
use crate::{load, Firewall, VERSION};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType};
use std::rc::Rc;
use std::time::Duration;

/// How often counts reach Envoy's counters (their lag at most) and the log budget refills.
const TICK: Duration = Duration::from_secs(1);

/// A compiled configuration with its counters, shared by every request it serves.
pub struct Active {
    pub firewall: Firewall,
    pub counters: Counters,
    pub names: DecisionNames,
    pub budget: LogBudget,
    pub replies: Replies,
    pub in_force: InForce,
}

#[derive(Default)]
pub struct FirewallRoot {
    active: Option<Rc<Active>>,
}

impl Context for FirewallRoot {}

impl RootContext for FirewallRoot {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        log::info!("cobrowse-l7-firewall {VERSION}: VM started");
        super::build_info::record();
        true
    }

    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .unwrap_or_default();
        match load(&bytes) {
            Ok(firewall) => {
                let counters = Counters::define(&firewall);
                let names = DecisionNames::new(&firewall.policy, firewall.settings.mode);
                let budget = LogBudget::new(firewall.settings.log.max_per_second);
                let replies = Replies::new(&firewall.settings);
                log::info!(
                    "cobrowse-l7-firewall[{}]: policy loaded: {}",
                    firewall.settings.name,
                    firewall.summary()
                );
                let in_force = InForce::load(&firewall.settings.name, &bytes);
                self.active = Some(Rc::new(Active {
                    firewall,
                    counters,
                    names,
                    budget,
                    replies,
                    in_force,
                }));
                let _ = hostcalls::set_tick_period(TICK);
                true
            }
            // Fail closed: Envoy refuses to start, or keeps the previous listener.
            Err(e) => {
                log::error!("{}", e.log_line());
                false
            }
        }
    }

    fn on_tick(&mut self) {
        let Some(active) = self.active.as_deref() else {
            return;
        };
        active.counters.flush();
        active.in_force.tick();
        let settings = &active.firewall.settings;
        if let Some(level) = respond::log_level(settings.log.level) {
            if let Some(line) = active.budget.roll(&settings.name, settings.mode) {
                log::log!(level, "{line}");
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        // Always a context: the SDK traps on `None`. Without a policy it denies.
        Some(Box::new(FirewallRequest::new(self.active.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
