//! The decision for one request: pure, no host calls. Headers beyond `:path` are read
//! lazily through closures, because each read is a host call the glue pays for.

use crate::config::Fallback;
use crate::path_check::{check_opaque_tail, check_path, check_query, split_query, RejectReason};
use crate::policy::Policy;

/// The path every SPA route resolves to.
pub const SPA_INDEX: &[u8] = b"/index.html";

/// Why a request was denied with the deny response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    /// No enabled group covers the path, and the fallback is `deny`.
    NotCovered,
    /// An upgrade (WebSocket) outside a prefix that allows one.
    UpgradeNotAllowed,
}

impl DenyReason {
    /// Every reason, for tables and tools.
    pub const ALL: [DenyReason; 2] = [DenyReason::NotCovered, DenyReason::UpgradeNotAllowed];

    pub fn as_str(self) -> &'static str {
        match self {
            DenyReason::NotCovered => "not_covered",
            DenyReason::UpgradeNotAllowed => "upgrade_not_allowed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward unchanged; `route` indexes `Policy::routes`.
    Allow { route: usize },
    /// Answer with the deny response (403 by default).
    Deny(DenyReason),
    /// Forward with `:path` replaced (SPA fallback).
    Rewrite { path: Vec<u8> },
    /// Answer 400: the path is hostile or not canonical.
    Reject(RejectReason),
    /// Answer 405 with `allow: GET, HEAD`: only those may load the SPA.
    MethodNotAllowed,
}

/// `GET` and `HEAD` load the single-page app; methods are case-sensitive.
pub fn is_get_or_head(method: &[u8]) -> bool {
    method == b"GET" || method == b"HEAD"
}

impl Policy {
    /// Decides on a request from its `:path` (`None` when absent). `is_upgrade` and
    /// `is_get_or_head` are called only when the answer depends on them.
    pub fn decide(
        &self,
        target: Option<&[u8]>,
        is_upgrade: impl FnOnce() -> bool,
        is_get_or_head: impl FnOnce() -> bool,
    ) -> Decision {
        let Some(target) = target else {
            return Decision::Reject(RejectReason::MissingPath);
        };
        let (path, query) = split_query(target);
        if let Err(reason) = check_path(path) {
            // Below an opaque prefix the rest is data, checked by its own rule (6a).
            return match self.opaque_route_for(path) {
                Some((route, matched, tail)) => {
                    match check_opaque_tail(tail).and_then(|()| check_query(query)) {
                        Ok(()) if !matched.websocket && is_upgrade() => {
                            Decision::Deny(DenyReason::UpgradeNotAllowed)
                        }
                        Ok(()) => Decision::Allow { route },
                        Err(reason) => Decision::Reject(reason),
                    }
                }
                None => Decision::Reject(reason),
            };
        }
        // The path's own reason comes first; the query is judged on every route (rule 6).
        if let Err(reason) = check_query(query) {
            return Decision::Reject(reason);
        }
        // A checked path is ASCII, so this cannot fail; refuse rather than assume.
        let Ok(path) = std::str::from_utf8(path) else {
            return Decision::Reject(RejectReason::NonAscii);
        };
        if let Some((route, matched)) = self.route_for(path) {
            if !matched.websocket && is_upgrade() {
                return Decision::Deny(DenyReason::UpgradeNotAllowed);
            }
            return Decision::Allow { route };
        }
        match self.fallback() {
            Fallback::Deny => Decision::Deny(DenyReason::NotCovered),
            Fallback::Spa if is_upgrade() => Decision::Deny(DenyReason::UpgradeNotAllowed),
            Fallback::Spa if is_get_or_head() => Decision::Rewrite {
                path: [SPA_INDEX, query].concat(),
            },
            Fallback::Spa => Decision::MethodNotAllowed,
        }
    }

    /// `decide` with every input at hand: for tests and the offline tool.
    pub fn decide_request(&self, method: &[u8], target: Option<&[u8]>, upgrade: bool) -> Decision {
        self.decide(target, || upgrade, || is_get_or_head(method))
    }
}
