//! Invariants every decision must satisfy, checked cheaply after each fuzzed request.
//! Coverage is recomputed from the route list, independently of the router.

use cobrowse_l7_firewall::config::Fallback;
use cobrowse_l7_firewall::decision::{is_get_or_head, Decision, DenyReason};
use cobrowse_l7_firewall::path_check::{check_opaque_tail, check_path, RejectReason};
use cobrowse_l7_firewall::policy::Route;
use cobrowse_l7_firewall::Firewall;

/// The part before the first `?`, and the rest from it (inclusive).
fn split(target: &[u8]) -> (&[u8], &[u8]) {
    let at = target
        .iter()
        .position(|&b| b == b'?')
        .unwrap_or(target.len());
    target.split_at(at)
}

/// Rule 6: a query holds only bytes an HTTP/1.1 request line may carry.
fn query_ok(query: &[u8]) -> bool {
    query.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// `prefix` (stored without its trailing slash; the root is "") covers `path` on a
/// segment boundary.
fn covers(prefix: &[u8], path: &[u8]) -> bool {
    path.first() == Some(&b'/')
        && path
            .strip_prefix(prefix)
            .is_some_and(|rest| prefix.is_empty() || rest.is_empty() || rest.first() == Some(&b'/'))
}

/// The longest route covering `path`, by the definition rather than the router.
fn longest<'f>(fw: &'f Firewall, path: &[u8]) -> Option<&'f Route> {
    fw.policy
        .routes()
        .iter()
        .filter(|r| covers(r.prefix.as_bytes(), path))
        .max_by_key(|r| r.prefix.len())
}

/// Decides on one request and panics if the decision breaks an invariant.
pub fn decide_and_check(fw: &Firewall, method: &[u8], target: Option<&[u8]>, upgrade: bool) {
    let decision = fw.policy.decide_request(method, target, upgrade);
    let Some(target) = target else {
        assert!(matches!(decision, Decision::Reject(_)), "{decision:?}");
        return;
    };
    let (path, query) = split(target);
    let covering = longest(fw, path);
    if let Err(reason) = check_path(path) {
        // Rule 6a: below an opaque longest prefix the rest is judged as data.
        let data = covering.filter(|r| r.opaque).and_then(|r| {
            let tail = path.get(r.prefix.len()..)?;
            Some((r, check_opaque_tail(tail)))
        });
        match data {
            Some((_, Ok(()))) if !query_ok(query) => {
                assert_eq!(decision, Decision::Reject(RejectReason::QueryByte), "{target:?}")
            }
            Some((r, Ok(()))) if upgrade && !r.websocket => assert_eq!(
                decision,
                Decision::Deny(DenyReason::UpgradeNotAllowed),
                "{target:?}"
            ),
            Some((r, Ok(()))) => {
                let matched = match &decision {
                    Decision::Allow { route } => fw.policy.routes().get(*route),
                    _ => None,
                };
                assert_eq!(matched, Some(r), "{target:?}: {decision:?}");
            }
            Some((_, Err(why))) => assert_eq!(decision, Decision::Reject(why), "{target:?}"),
            None => assert_eq!(decision, Decision::Reject(reason), "{target:?}"),
        }
        return;
    }
    if !query_ok(query) {
        assert_eq!(decision, Decision::Reject(RejectReason::QueryByte), "{target:?}");
        return;
    }
    let spa = fw.policy.fallback() == Fallback::Spa;
    match &decision {
        Decision::Allow { route } => {
            let matched = fw.policy.routes().get(*route);
            assert!(matched.is_some(), "route {route} out of range");
            assert_eq!(matched, covering, "allowed {target:?} on the wrong prefix");
            assert!(
                !upgrade || matched.is_some_and(|r| r.websocket),
                "{target:?}"
            );
        }
        Decision::Deny(DenyReason::UpgradeNotAllowed) => {
            assert!(upgrade, "{target:?}");
            assert!(covering.is_none_or(|r| !r.websocket), "{target:?}");
            assert!(covering.is_some() || spa, "{target:?}");
        }
        Decision::Deny(DenyReason::NotCovered) => {
            assert!(covering.is_none() && !spa, "{target:?}");
        }
        Decision::Rewrite { path } => {
            assert!(covering.is_none() && spa && !upgrade, "{target:?}");
            assert!(is_get_or_head(method), "{method:?}");
            assert_eq!(path.as_slice(), [b"/index.html".as_slice(), query].concat());
        }
        Decision::MethodNotAllowed => {
            assert!(covering.is_none() && spa && !upgrade, "{target:?}");
            assert!(!is_get_or_head(method), "{method:?}");
        }
        Decision::Reject(_) => panic!("canonical {target:?} rejected: {decision:?}"),
    }
}
