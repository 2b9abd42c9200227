//! Segment boundaries, longest prefix, the query, the SPA fallback, methods, upgrades.

// Tests assert by panicking; the no-trap lints guard the module, not its tests.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod common;
use cobrowse_l7_firewall::decision::{Decision, DenyReason};
use common::*;

fn rewrite(path: &str) -> Decision {
    Decision::Rewrite {
        path: path.as_bytes().to_vec(),
    }
}

#[test]
fn prefixes_match_on_segment_boundaries() {
    let ext = firewall(EXTERNAL);
    let int = firewall(INTERNAL);
    // (firewall, target, prefix expected to match, or None for no match)
    let rows: &[(&cobrowse_l7_firewall::Firewall, &str, Option<&str>)] = &[
        (&ext, "/api/1/devices", Some("/api/1/devices")),
        (&ext, "/api/1/devices/", Some("/api/1/devices")),
        (&ext, "/api/1/devices/abc", Some("/api/1/devices")),
        (&ext, "/api/1/devices?x=1", Some("/api/1/devices")),
        (&ext, "/api/1/devicesX", None),
        (&ext, "/api/1/devices.json", None),
        (&ext, "/api/1/devices-x", None),
        (&ext, "/api/1/device", None),
        (&ext, "/api/1/", None),
        (&ext, "/api/1", None),
        (&ext, "/API/1/devices", None),
        (&ext, "/api/1/Devices", None),
        (&ext, "/sockets/1", Some("/sockets/1")),
        (&ext, "/sockets/1/", Some("/sockets/1")),
        (&ext, "/sockets/10", None),
        (&ext, "/sdk-js", Some("/sdk-js")),
        (&ext, "/sdk-js/v2/sdk.js", Some("/sdk-js")),
        (&ext, "/sdk-jsx", None),
        (&int, "/static", Some("/static")),
        (&int, "/static/", Some("/static")),
        (&int, "/static/app.js", Some("/static")),
        (&int, "/staticx", None),
        (&int, "/index.html", Some("/index.html")),
        (&int, "/index.html.bak", None),
        (&int, "/index.htm", None),
        (&int, "/favicon.png", Some("/favicon.png")),
        // Below a prefix is below it, file-like or not; the upstream answers 404.
        (&int, "/favicon.png/x", Some("/favicon.png")),
        (&int, "/favicon.pngx", None),
        (&int, "/apps", Some("/apps")),
    ];
    for (fw, target, prefix) in rows {
        let d = decide(fw, "GET", target.as_bytes(), false);
        assert_eq!(allowed_prefix(fw, &d).as_deref(), *prefix, "{target}");
    }
}

#[test]
fn semicolon_after_a_prefix_is_refused_not_matched() {
    let ext = firewall(EXTERNAL);
    assert!(matches!(
        decide(&ext, "GET", b"/api/1/devices;x", false),
        Decision::Reject(_)
    ));
}

#[test]
fn the_longest_prefix_wins() {
    let fw = firewall(
        r#"{"groups":["agent","sdk","ai_sdk"],"custom_groups":[{"name":"deep","prefixes":["/api/1/devices/admin"]}]}"#,
    );
    let rows = [
        ("/api/1/devices/admin/x", "deep"),
        ("/api/1/devices/admin", "deep"),
        ("/api/1/devices/adminx", "sdk"),
        ("/api/1/devices/1", "sdk"),
        ("/api/1/devicesX", "agent"),
        ("/api/1/virtualagents/v", "ai_sdk"),
        ("/api/1/users", "agent"),
        ("/api/1", "agent"),
    ];
    for (target, group) in rows {
        let d = decide(&fw, "GET", target.as_bytes(), false);
        assert_eq!(allowed_group(&fw, &d).as_deref(), Some(group), "{target}");
    }
}

#[test]
fn matching_ignores_the_query() {
    let ext = firewall(EXTERNAL);
    let rows: &[(&[u8], bool)] = &[
        (b"/api/1/devices?", true),
        (b"/api/1/devices?a=1?b=2", true),
        (b"/api/1/devices?next=/../../admin", true),
        (b"/api/1/devices?%2e%2e/%00", true),
        (b"/admin?/api/1/devices", false),
        (b"/api/1/devicesX?/api/1/devices", false),
    ];
    for (target, allowed) in rows {
        let d = decide(&ext, "GET", target, false);
        assert_eq!(
            matches!(d, Decision::Allow { .. }),
            *allowed,
            "{}",
            String::from_utf8_lossy(target)
        );
    }
}

#[test]
fn spa_fallback_rewrites_get_and_head_keeping_the_query_byte_for_byte() {
    let int = firewall(INTERNAL);
    let rows: &[(&str, &[u8], Decision)] = &[
        ("GET", b"/", rewrite("/index.html")),
        ("GET", b"/dash/x?a=1", rewrite("/index.html?a=1")),
        (
            "GET",
            b"/dashboard/sessions/1?a=1&b=2",
            rewrite("/index.html?a=1&b=2"),
        ),
        ("HEAD", b"/settings", rewrite("/index.html")),
        ("GET", b"/dash?", rewrite("/index.html?")),
        (
            "GET",
            b"/x?q=%ZZ%00/../#frag",
            rewrite("/index.html?q=%ZZ%00/../#frag"),
        ),
        ("GET", b"/x?a=1?b=2", rewrite("/index.html?a=1?b=2")),
        ("POST", b"/dash", Decision::MethodNotAllowed),
        ("OPTIONS", b"/dash", Decision::MethodNotAllowed),
        ("PUT", b"/", Decision::MethodNotAllowed),
        ("get", b"/dash", Decision::MethodNotAllowed),
    ];
    for (method, target, expected) in rows {
        assert_eq!(
            &decide(&int, method, target, false),
            expected,
            "{method} {}",
            String::from_utf8_lossy(target)
        );
    }
    // Covered routes are forwarded whatever the method.
    for method in ["GET", "HEAD", "POST", "OPTIONS", "DELETE"] {
        assert!(
            matches!(
                decide(&int, method, b"/api/1/x", false),
                Decision::Allow { .. }
            ),
            "{method}"
        );
    }
}

#[test]
fn deny_fallback_denies_every_method() {
    let ext = firewall(EXTERNAL);
    for method in ["GET", "HEAD", "POST", "OPTIONS"] {
        assert_eq!(
            decide(&ext, method, b"/dash", false),
            Decision::Deny(DenyReason::NotCovered),
            "{method}"
        );
    }
}

#[test]
fn upgrades_only_on_websocket_prefixes() {
    let ext = firewall(EXTERNAL);
    let int = firewall(INTERNAL);
    let custom = firewall(
        r#"{"custom_groups":[{"name":"live","prefixes":["/live/"],"websocket":true},{"name":"rest","prefixes":["/rest"]}]}"#,
    );
    let up = Decision::Deny(DenyReason::UpgradeNotAllowed);
    let rows: &[(&cobrowse_l7_firewall::Firewall, &str, bool)] = &[
        (&ext, "/sockets/1/", true),
        (&ext, "/sockets/1/abc?token=x", true),
        (&ext, "/sockets/1", true),
        (&ext, "/api/1/devices", false),
        (&ext, "/sdk-js/x", false),
        (&int, "/sockets/1/x", true),
        (&int, "/api/1/sessions", false),
        (&int, "/static/app.js", false),
        (&custom, "/live/feed", true),
        (&custom, "/rest/x", false),
    ];
    for (fw, target, allowed) in rows {
        let d = decide(fw, "GET", target.as_bytes(), true);
        if *allowed {
            assert!(matches!(d, Decision::Allow { .. }), "{target}: {d:?}");
        } else {
            assert_eq!(d, up, "{target}");
        }
    }
    // An upgrade on an SPA route is refused, never rewritten; on a deny listener it is denied.
    assert_eq!(decide(&int, "GET", b"/dashboard", true), up);
    assert_eq!(
        decide(&ext, "GET", b"/dashboard", true),
        Decision::Deny(DenyReason::NotCovered)
    );
}

#[test]
fn sdk_and_agent_share_the_socket_prefix() {
    let fw = firewall(r#"{"groups":["agent","sdk"]}"#);
    let d = decide(&fw, "GET", b"/sockets/1/x", true);
    assert_eq!(
        allowed_group(&fw, &d).as_deref(),
        Some("agent"),
        "first listed group is credited"
    );
}

#[test]
fn headers_are_read_only_when_the_decision_needs_them() {
    use std::cell::Cell;
    let ext = firewall(EXTERNAL);
    let int = firewall(INTERNAL);
    // (firewall, target, upgrade read?, method read?)
    let rows: &[(&cobrowse_l7_firewall::Firewall, &[u8], bool, bool)] = &[
        (&ext, b"/sockets/1/x", false, false),
        (&ext, b"/api/1/devices", true, false),
        (&ext, b"/admin", false, false),
        (&ext, b"/a/../b", false, false),
        (&int, b"/dash", true, true),
        (&int, b"/static/a.js", true, false),
    ];
    for (fw, target, upgrade_read, method_read) in rows {
        let (u, m) = (Cell::new(false), Cell::new(false));
        fw.policy.decide(
            Some(target),
            || {
                u.set(true);
                false
            },
            || {
                m.set(true);
                true
            },
        );
        assert_eq!(
            (u.get(), m.get()),
            (*upgrade_read, *method_read),
            "{}",
            String::from_utf8_lossy(target)
        );
    }
}
