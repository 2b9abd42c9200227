//! What an operator reads to see a rollout complete and memory stay flat: the identity of
//! the configuration in force, and the VM's linear memory.
//!
//! `cobrowse_l7fw.<name>.config.<hash>` is a gauge of how many root contexts (one per VM
//! and configuration: each worker's and the main thread's) enforce that configuration: +1
//! when it loads, -1 when it is replaced or its VM stops. `cobrowse_l7fw.vm_memory_bytes`
//! is the linear memory of the VM that ticked last (every VM of the module sets it once a
//! tick; they are alike), read in the tick, never per request.

use crate::identity::{identity, short_hash};
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

const WASM_PAGE: u64 = 65536;

pub struct InForce {
    config: Option<u32>,
    memory: Option<u32>,
}

impl InForce {
    /// Logs the identity of `configuration` and counts this root context as enforcing it.
    pub fn load(name: &str, configuration: &[u8]) -> InForce {
        log::info!(
            "cobrowse-l7-firewall[{name}]: configuration {} in force",
            identity(name, configuration)
        );
        let gauge = format!("cobrowse_l7fw.{name}.config.{}", short_hash(configuration));
        let config = hostcalls::define_metric(MetricType::Gauge, &gauge).ok();
        if let Some(id) = config {
            let _ = hostcalls::increment_metric(id, 1);
        }
        InForce {
            config,
            memory: hostcalls::define_metric(MetricType::Gauge, "cobrowse_l7fw.vm_memory_bytes")
                .ok(),
        }
    }

    /// Once a tick: the VM's linear memory in bytes.
    pub fn tick(&self) {
        if let Some(id) = self.memory {
            let pages = core::arch::wasm32::memory_size(0) as u64;
            let _ = hostcalls::record_metric(id, pages.saturating_mul(WASM_PAGE));
        }
    }
}

impl Drop for InForce {
    fn drop(&mut self) {
        if let Some(id) = self.config {
            let _ = hostcalls::increment_metric(id, -1);
        }
    }
}
