//! Every built-in prefix, allowed where its group is enabled and denied where not.

// Tests assert by panicking; the no-trap lints guard the module, not its tests.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod common;
use cobrowse_l7_firewall::decision::{Decision, DenyReason};
use cobrowse_l7_firewall::groups::BUILTIN_GROUPS;
use common::*;

#[test]
fn builtin_table_is_the_published_one() {
    let table: Vec<(&str, Vec<&str>)> = BUILTIN_GROUPS
        .iter()
        .map(|g| (g.name, g.prefixes.iter().map(|p| p.path).collect()))
        .collect();
    assert_eq!(
        table,
        vec![
            (
                "sdk",
                vec!["/api/1/devices", "/api/1/sessions", "/sockets/1/"]
            ),
            ("universal", vec!["/proxy/1/universal"]),
            ("sdk_pinning", vec!["/sdk-js/"]),
            ("ai_sdk", vec!["/api/1/virtualagents"]),
            ("mcp", vec!["/virtual-agent/1/mcp"]),
            (
                "agent",
                vec!["/api/1/", "/proxy/1/", "/recording/1/", "/sockets/1/"]
            ),
            (
                "frontend",
                vec!["/index.html", "/favicon.png", "/apps/", "/static/"]
            ),
        ]
    );
    let websocket: Vec<(&str, &str)> = BUILTIN_GROUPS
        .iter()
        .flat_map(|g| {
            g.prefixes
                .iter()
                .filter(|p| p.websocket)
                .map(move |p| (g.name, p.path))
        })
        .collect();
    assert_eq!(
        websocket,
        vec![("sdk", "/sockets/1/"), ("agent", "/sockets/1/")]
    );
}

#[test]
fn each_builtin_prefix_is_allowed_when_its_group_is_enabled() {
    for group in BUILTIN_GROUPS {
        let fw = firewall(&format!(r#"{{"groups":["{}"]}}"#, group.name));
        for prefix in group.prefixes {
            let bare = prefix.path.trim_end_matches('/');
            for target in [
                bare.to_owned(),
                format!("{bare}/"),
                format!("{bare}/x"),
                format!("{bare}/x/y.json?q=1"),
                format!("{bare}?q=/../etc"),
            ] {
                let d = decide(&fw, "GET", target.as_bytes(), false);
                assert_eq!(
                    allowed_group(&fw, &d).as_deref(),
                    Some(group.name),
                    "{target} on {}",
                    group.name
                );
            }
        }
    }
}

#[test]
fn each_builtin_prefix_is_denied_when_its_group_is_not_enabled() {
    for group in BUILTIN_GROUPS {
        // `frontend` covers no API route and `agent` no frontend route.
        let other = if group.name == "frontend" {
            "agent"
        } else {
            "frontend"
        };
        let fw = firewall(&format!(r#"{{"groups":["{other}"],"fallback":"deny"}}"#));
        for prefix in group.prefixes {
            let target = format!("{}/x", prefix.path.trim_end_matches('/'));
            let d = decide(&fw, "GET", target.as_bytes(), false);
            assert_eq!(
                d,
                Decision::Deny(DenyReason::NotCovered),
                "{target} with only {other}"
            );
        }
    }
}

#[test]
fn custom_groups_add_routes_without_a_rebuild() {
    let fw = firewall(
        r#"{"groups":["sdk"],"custom_groups":[{"name":"health","prefixes":["/healthz"]},
            {"name":"new_api","prefixes":["/api/2/devices/","/sockets/2/"],"websocket":true}]}"#,
    );
    let cases: &[(&str, Option<&str>)] = &[
        ("/healthz", Some("health")),
        ("/healthz/live", Some("health")),
        ("/healthzz", None),
        ("/api/2/devices", Some("new_api")),
        ("/api/2/devices/9", Some("new_api")),
        ("/sockets/2/x", Some("new_api")),
        ("/api/1/devices", Some("sdk")),
        ("/api/2/sessions", None),
    ];
    for (target, group) in cases {
        let d = decide(&fw, "GET", target.as_bytes(), false);
        assert_eq!(allowed_group(&fw, &d).as_deref(), *group, "{target}");
    }
}

#[test]
fn a_root_prefix_covers_every_canonical_path() {
    let fw = firewall(r#"{"custom_groups":[{"name":"all","prefixes":["/"]}]}"#);
    for target in ["/", "/a", "/a/b/", "/index.html?x"] {
        let d = decide(&fw, "GET", target.as_bytes(), false);
        assert_eq!(allowed_group(&fw, &d).as_deref(), Some("all"), "{target}");
    }
    assert!(matches!(
        decide(&fw, "GET", b"/a/../b", false),
        Decision::Reject(_)
    ));
}
