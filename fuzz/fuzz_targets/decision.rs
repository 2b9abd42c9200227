//! Any request against a few fixed configurations; each decision is checked against
//! the invariants in `lib.rs`.
//!
//! Input: byte 0 picks the configuration, byte 1 the method (low 3 bits), the upgrade
//! flag (bit 3) and an absent `:path` (bit 4); the rest is the `:path`.
#![no_main]

use cobrowse_l7_firewall::{load, Firewall};
use cobrowse_l7_firewall_fuzz::decide_and_check;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

const CONFIGS: &[&str] = &[
    r#"{"groups":["sdk","universal","sdk_pinning","ai_sdk"],"fallback":"deny"}"#,
    r#"{"groups":["agent","frontend"],"fallback":"spa"}"#,
    // Nested prefixes across groups: the longest wins, a shared one is credited once.
    concat!(
        r#"{"groups":["agent","sdk","ai_sdk","mcp"],"fallback":"spa","custom_groups":"#,
        r#"[{"name":"deep","prefixes":["/api/1/devices/admin","/live/"],"websocket":true}]}"#,
    ),
    // The root prefix under characters a router might read as syntax.
    concat!(
        r#"{"fallback":"deny","custom_groups":[{"name":"root","prefixes":["/"]},"#,
        r#"{"name":"odd","prefixes":["/a*b","/:x/","/~u/a-b"],"websocket":true}]}"#,
    ),
];

const METHODS: &[&[u8]] = &[
    b"GET", b"HEAD", b"POST", b"OPTIONS", b"PUT", b"get", b"", b"CONNECT",
];

static FIREWALLS: LazyLock<Vec<Firewall>> = LazyLock::new(|| {
    CONFIGS
        .iter()
        .filter_map(|c| load(c.as_bytes()).ok())
        .collect()
});

fuzz_target!(|data: &[u8]| {
    assert_eq!(
        FIREWALLS.len(),
        CONFIGS.len(),
        "a fixed configuration was refused"
    );
    let (Some(&pick), Some(&flags)) = (data.first(), data.get(1)) else {
        return;
    };
    let fw = &FIREWALLS[usize::from(pick) % FIREWALLS.len()];
    let method = METHODS[usize::from(flags & 7)];
    let upgrade = flags & 8 != 0;
    let target = (flags & 16 == 0).then(|| &data[2..]);
    decide_and_check(fw, method, target, upgrade);
});
