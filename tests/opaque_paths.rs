//! SPEC rule 6a: below a prefix that carries data (a proxied third-party URL), `;`,
//! encoded slashes and other escapes are data, but nothing may climb out of the prefix,
//! at any depth of decoding.

#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod common;
use cobrowse_l7_firewall::decision::{Decision, DenyReason};
use cobrowse_l7_firewall::path_check::RejectReason::{self, *};
use common::*;

const U: &str = "/proxy/1/universal/com/example/shop/https:";

/// Third-party page paths as the web SDK copies them: forwarded unchanged.
const DATA: &[&str] = &[
    "/cart;jsessionid=A1B2C3?step=2",
    "/products;color=red;size=m/42",
    "/docs/a%2Fb/c",
    "/docs/a%2fb",
    "/files/report%2Efinal.pdf",
    "/search/50%25%20off",
    "/x/%25252F",
    "/a//b",
    "/caf%c3%a9/men%C3%BC",
    "/a%e2%80%a6b",
    "/.well-known/openid-configuration",
    "/..a/b../...x",
    "/%3B%23%3F",
    "/100%25",
    "/",
    "",
];

/// Climbing, at any depth, and bytes no client sends: refused with 400.
const CLIMBS: &[(&str, RejectReason)] = &[
    ("/..", DotSegment),
    ("/../../api/1/agents", DotSegment),
    ("/com/./x", DotSegment),
    ("/com/%2e%2e/x", DotSegment),
    ("/com/%2E%2e", DotSegment),
    ("/com/..;x/y", DotSegment),
    ("/com/..;/y", DotSegment),
    ("/com/..%3bx/y", DotSegment),
    ("/com/%2e%2e;jsessionid=1/y", DotSegment),
    ("/com/%252e%252e/y", DotSegment),
    ("/com/%25252e%25252e/y", DotSegment),
    ("/com/..%2f", DotSegment),
    ("/com/..%2Fetc", DotSegment),
    ("/com/a%2f..%2fb", DotSegment),
    ("/com/..%5cetc", DotSegment),
    ("/com/..%255c", DotSegment),
    ("/com/..%20/x", DotSegment),
    ("/com/%25u002e%25u002e/x", DotSegment),
    ("/com/%ef%bc%8e%ef%bc%8e/x", DotSegment),
    ("/com/x%ef%bc%8f..%ef%bc%8fy", DotSegment),
    ("/com/%e2%80%a5/x", DotSegment),
    ("/com/..%25c0%25af..%25c0%25afetc/passwd", DoubleEncoded),
    ("/com/%25c0%25ae%25c0%25ae/etc", DoubleEncoded),
    ("/com/%25e0%2580%25ae", DoubleEncoded),
    ("/com/x%2500.txt", DoubleEncoded),
    ("/com/%25%63%30%25%61%65", DoubleEncoded),
    ("/com/%c0%ae%c0%ae/x", InvalidUtf8),
    ("/com/%c1%9c", InvalidUtf8),
    ("/com/%ff", InvalidUtf8),
    ("/com/%25uD800", InvalidUtf8),
    ("/com/x%00", EncodedControl),
    ("/com/x%0d%0a", EncodedControl),
    ("/com/%2525252525252e", DoubleEncoded),
    ("/com/%zz", BadPercentEncoding),
    ("/com/%u002e", BadPercentEncoding),
    ("/a b", Space),
    ("/a\\..\\b", Backslash),
    ("/a#b", Fragment),
];

#[test]
fn proxied_urls_are_forwarded_unchanged_on_both_listeners() {
    for config in [EXTERNAL, INTERNAL] {
        let fw = firewall(config);
        for tail in DATA {
            let target = format!("{U}{tail}");
            let d = decide(&fw, "GET", target.as_bytes(), false);
            let prefix = allowed_prefix(&fw, &d);
            assert!(
                prefix.as_deref() == Some("/proxy/1/universal")
                    || prefix.as_deref() == Some("/proxy/1"),
                "{config}: {target}: {d:?}"
            );
        }
    }
}

#[test]
fn nothing_climbs_out_of_a_proxied_url() {
    assert!(CLIMBS.len() >= 30);
    for config in [EXTERNAL, INTERNAL] {
        let fw = firewall(config);
        for (tail, reason) in CLIMBS {
            let target = format!("{U}{tail}");
            for upgrade in [false, true] {
                let d = decide(&fw, "GET", target.as_bytes(), upgrade);
                assert_eq!(d, Decision::Reject(*reason), "{config}: {target}");
            }
        }
    }
}

#[test]
fn the_prefix_itself_is_matched_on_a_segment_boundary() {
    let fw = firewall(EXTERNAL);
    for (target, reason) in [
        ("/proxy/1/universal;x/a", Semicolon),
        ("/proxy/1/universalx/a;b", Semicolon),
        ("/proxy/1/Universal/a;b", Semicolon),
        ("/proxy/1/%75niversal/a", DoubleEncoded),
        ("/proxy/1/other/a%2Fb", EncodedSlash),
        ("/proxy/1/universal%2f..%2fagents", EncodedSlash),
    ] {
        let d = decide(&fw, "GET", target.as_bytes(), false);
        if reason == DoubleEncoded {
            // `%75` is a plain `u`: canonical, but no prefix covers it on this listener.
            assert_eq!(d, Decision::Deny(DenyReason::NotCovered), "{target}");
        } else {
            assert_eq!(d, Decision::Reject(reason), "{target}");
        }
    }
}

#[test]
fn the_agents_proxy_prefix_is_opaque_and_the_rest_of_the_api_is_not() {
    let fw = firewall(INTERNAL);
    let d = decide(&fw, "GET", b"/proxy/1/other/https:/a;b%2Fc", false);
    assert_eq!(allowed_prefix(&fw, &d).as_deref(), Some("/proxy/1"));
    for (target, reason) in [
        ("/api/1/devices/a;b", Semicolon),
        ("/api/1/x%2Fy", EncodedSlash),
        ("/static/a;b.js", Semicolon),
    ] {
        assert_eq!(
            decide(&fw, "GET", target.as_bytes(), false),
            Decision::Reject(reason)
        );
    }
}

#[test]
fn an_upgrade_below_an_opaque_prefix_is_denied_not_forwarded() {
    let fw = firewall(EXTERNAL);
    let target = format!("{U}/cart;jsessionid=1");
    assert_eq!(
        decide(&fw, "GET", target.as_bytes(), true),
        Decision::Deny(DenyReason::UpgradeNotAllowed)
    );
}

#[test]
fn builtin_opaque_false_checks_every_builtin_prefix_strictly() {
    let fw = firewall(r#"{"groups":["universal","agent"],"builtin_opaque":false}"#);
    for target in [format!("{U}/cart;a=1"), "/proxy/1/x/a%2Fb".to_owned()] {
        assert!(
            matches!(
                decide(&fw, "GET", target.as_bytes(), false),
                Decision::Reject(_)
            ),
            "{target}"
        );
    }
    assert!(fw.policy.routes().iter().all(|r| !r.opaque));
}

#[test]
fn a_custom_group_can_be_opaque_and_the_longest_prefix_decides() {
    let fw = firewall(
        r#"{"groups":["agent"],"custom_groups":[
            {"name":"fetcher","prefixes":["/fetch"],"opaque":true},
            {"name":"strict","prefixes":["/proxy/1/universal/strict"]}]}"#,
    );
    let d = decide(&fw, "GET", b"/fetch/https:/a;b%2Fc", false);
    assert_eq!(allowed_group(&fw, &d).as_deref(), Some("fetcher"));
    assert_eq!(
        decide(&fw, "GET", b"/fetch/..;/x", false),
        Decision::Reject(DotSegment)
    );
    // `/proxy/1/` is opaque, but the longer custom prefix below it is not.
    assert_eq!(
        decide(&fw, "GET", b"/proxy/1/universal/strict/a;b", false),
        Decision::Reject(Semicolon)
    );
    let d = decide(&fw, "GET", b"/proxy/1/universal/other/a;b", false);
    assert_eq!(allowed_prefix(&fw, &d).as_deref(), Some("/proxy/1"));
}

#[test]
fn an_opaque_root_prefix_still_needs_an_origin_form_path() {
    let fw = firewall(r#"{"custom_groups":[{"name":"all","prefixes":["/"],"opaque":true}]}"#);
    for (target, reason) in [
        ("", EmptyPath),
        ("&", NoLeadingSlash),
        ("*", NoLeadingSlash),
    ] {
        assert_eq!(
            decide(&fw, "GET", target.as_bytes(), false),
            Decision::Reject(reason),
            "{target:?}"
        );
    }
    let d = decide(&fw, "GET", b"/a;b/%2F", false);
    assert_eq!(allowed_group(&fw, &d).as_deref(), Some("all"));
}

#[test]
fn a_canonical_path_below_an_opaque_prefix_takes_the_ordinary_route() {
    let fw = firewall(EXTERNAL);
    let target = format!("{U}/products/42?x=1");
    let d = decide(&fw, "GET", target.as_bytes(), false);
    assert_eq!(allowed_group(&fw, &d).as_deref(), Some("universal"));
}
