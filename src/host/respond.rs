//! Host actions for a decision: forward, rewrite `:path`, or answer locally.

use crate::config::LogLevel;
use crate::decision::Decision;
use crate::policy::Settings;
use proxy_wasm::hostcalls;
use proxy_wasm::types::{Action, MapType};

/// The filter-state key an access log reads: `%FILTER_STATE(wasm.cobrowse_l7fw_decision:PLAIN)%`.
const DECISION_PROPERTY: &str = "cobrowse_l7fw_decision";
/// Set on SPA rewrites only: the `:path` the client sent, since `:path` now says `/index.html`.
const ORIGINAL_PATH_PROPERTY: &str = "cobrowse_l7fw_original_path";

pub fn apply(settings: &Settings, decision: Decision) -> Action {
    match decision {
        Decision::Allow { .. } => Action::Continue,
        Decision::Rewrite { path } => {
            match hostcalls::set_map_value_bytes(MapType::HttpRequestHeaders, ":path", Some(&path))
            {
                Ok(()) => Action::Continue,
                // Never forward what could not be rewritten.
                Err(_) => deny(settings),
            }
        }
        Decision::Deny(_) => deny(settings),
        Decision::Reject(_) => local(400, "text/plain; charset=utf-8", b"Bad Request\n", None),
        Decision::MethodNotAllowed => local(
            405,
            "text/plain; charset=utf-8",
            b"Method Not Allowed\n",
            Some(("allow", "GET, HEAD")),
        ),
    }
}

/// Without a compiled policy nothing is forwarded (Envoy does not serve such a plugin;
/// this only guards the contract).
pub fn no_policy() -> Action {
    local(403, "text/plain; charset=utf-8", b"Forbidden\n", None)
}

fn deny(settings: &Settings) -> Action {
    let r = &settings.deny_response;
    local(
        u32::from(r.status),
        &r.content_type,
        r.body.as_bytes(),
        None,
    )
}

fn local(status: u32, content_type: &str, body: &[u8], extra: Option<(&str, &str)>) -> Action {
    let mut headers = vec![("content-type", content_type)];
    headers.extend(extra);
    let _ = hostcalls::send_http_response(status, headers, Some(body));
    Action::Pause
}

/// Leaves the decision in the request's filter state for the access log.
pub fn record(value: &str) {
    let _ = hostcalls::set_property(vec![DECISION_PROPERTY], Some(value.as_bytes()));
}

/// Keeps the client's `:path` of a rewritten request for the access log.
pub fn record_original_path(target: &[u8]) {
    let _ = hostcalls::set_property(vec![ORIGINAL_PATH_PROPERTY], Some(target));
}

pub fn log_level(level: LogLevel) -> Option<log::Level> {
    match level {
        LogLevel::Off => None,
        LogLevel::Trace => Some(log::Level::Trace),
        LogLevel::Debug => Some(log::Level::Debug),
        LogLevel::Info => Some(log::Level::Info),
        LogLevel::Warn => Some(log::Level::Warn),
        LogLevel::Error => Some(log::Level::Error),
    }
}
