//! Shared helpers for the native test tables.
#![allow(dead_code, clippy::panic, clippy::indexing_slicing)]

use cobrowse_l7_firewall::decision::Decision;
use cobrowse_l7_firewall::{load, Firewall};

pub const EXTERNAL: &str =
    r#"{"name":"external","groups":["sdk","universal","sdk_pinning","ai_sdk"],"fallback":"deny"}"#;
pub const INTERNAL: &str = r#"{"name":"internal","groups":["agent","frontend"],"fallback":"spa"}"#;

pub fn firewall(json: &str) -> Firewall {
    load(json.as_bytes()).unwrap_or_else(|e| panic!("config {json} refused: {e}"))
}

pub fn decide(fw: &Firewall, method: &str, target: &[u8], upgrade: bool) -> Decision {
    fw.policy
        .decide_request(method.as_bytes(), Some(target), upgrade)
}

/// The group an allow is credited to, or None for any other decision.
pub fn allowed_group(fw: &Firewall, decision: &Decision) -> Option<String> {
    match decision {
        Decision::Allow { route } => {
            let r = &fw.policy.routes()[*route];
            Some(fw.policy.group_name(r.group).to_owned())
        }
        _ => None,
    }
}

/// The prefix an allow matched (stored without its trailing slash).
pub fn allowed_prefix(fw: &Firewall, decision: &Decision) -> Option<String> {
    match decision {
        Decision::Allow { route } => Some(fw.policy.routes()[*route].prefix.clone()),
        _ => None,
    }
}
