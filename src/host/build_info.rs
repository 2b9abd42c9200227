//! The module's version and revision as an info gauge (value 1), so an operator can graph
//! which Envoys run which build during a rollout. Envoy names it
//! `wasmcustom.cobrowse_l7_firewall.build_info.version.<version>.revision.<revision>`;
//! the shipped configs' `stats_tags` turn both parts into labels. It lives outside the
//! `cobrowse_l7fw.` counters so that sums over those never count it.

use crate::{PACKAGE_VERSION, REVISION};
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

pub fn record() {
    let name =
        format!("cobrowse_l7_firewall.build_info.version.{PACKAGE_VERSION}.revision.{REVISION}");
    if let Ok(id) = hostcalls::define_metric(MetricType::Gauge, &name) {
        let _ = hostcalls::record_metric(id, 1);
    }
}
