//! Host actions for a decision: forward, rewrite `:path`, or answer locally.

use super::local_reply::{Replies, Reply, TEXT};
use crate::config::LogLevel;
use crate::decision::Decision;
use proxy_wasm::hostcalls;
use proxy_wasm::types::{Action, MapType};

/// The filter-state key an access log reads: `%FILTER_STATE(wasm.cobrowse_l7fw_decision:PLAIN)%`.
const DECISION_PROPERTY: &str = "cobrowse_l7fw_decision";
/// Set on SPA rewrites only: the path the client sent, without its query (which may hold a
/// credential), since `:path` now says `/index.html`.
const ORIGINAL_PATH_PROPERTY: &str = "cobrowse_l7fw_original_path";

/// Acts on an enforced decision. A local reply carries `details` (`outcome:reason`) as its
/// response code details, for the access log.
pub fn apply(replies: &Replies, decision: Decision, details: &str) -> Action {
    match decision {
        Decision::Allow { .. } => Action::Continue,
        Decision::Rewrite { path } => {
            match hostcalls::set_map_value_bytes(MapType::HttpRequestHeaders, ":path", Some(&path))
            {
                Ok(()) => Action::Continue,
                // Never forward what could not be rewritten.
                Err(_) => local(&replies.deny, "denied:rewrite_failed"),
            }
        }
        Decision::Deny(_) => local(&replies.deny, details),
        Decision::Reject(_) => local(&replies.bad_request, details),
        Decision::MethodNotAllowed => local(&replies.method_not_allowed, details),
    }
}

/// Without a compiled policy nothing is forwarded (Envoy does not serve such a plugin;
/// this only guards the contract).
pub fn no_policy() -> Action {
    let reply = Reply::new(403, b"Forbidden\n", &[("content-type", TEXT)]);
    local(&reply, "denied:no_policy")
}

fn local(reply: &Reply, details: &str) -> Action {
    reply.send(details);
    Action::Pause
}

/// Leaves the decision in the request's filter state for the access log.
pub fn record(value: &str) {
    let _ = hostcalls::set_property(vec![DECISION_PROPERTY], Some(value.as_bytes()));
}

/// Keeps the client's path (no query) of a rewritten request for the access log.
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
