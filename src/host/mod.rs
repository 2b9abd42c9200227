//! The proxy-wasm glue: the only code that talks to the host. It reads what the
//! decision needs, applies the decision, counts and logs it. No policy lives here.

mod build_info;
mod counters;
#[cfg(feature = "fault-injection")]
mod fault;
mod in_force;
mod local_reply;
mod request;
mod respond;
mod root;

use proxy_wasm::types::LogLevel;

proxy_wasm::main! {{
    // Envoy filters wasm log lines by its own level; the module forwards every line.
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(root::FirewallRoot::default()));
}}
