//! Properties over generated configurations, paths, methods and bytes, checked against
//! small reference models written here rather than against the filter's own helpers.

// Tests assert by panicking; the no-trap lints guard the module, not its tests.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

use cobrowse_l7_firewall::decision::{Decision, DenyReason};
use cobrowse_l7_firewall::groups::BUILTIN_GROUPS;
use cobrowse_l7_firewall::path_check::{check_opaque_tail, check_path};
use cobrowse_l7_firewall::{load, Firewall};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::cell::Cell;

/// Modest by default so `cargo test` stays quick; PROPTEST_CASES raises it.
fn cases() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 128;
    }
    config
}

// ---------------------------------------------------------------------------------------
// Generated configurations and the reference policy they stand for.

#[derive(Debug, Clone)]
struct Custom {
    name: String,
    prefixes: Vec<String>,
    websocket: bool,
    opaque: bool,
}

/// An enabled prefix as the reference sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RefRoute {
    prefix: String,
    group: String,
    websocket: bool,
    opaque: bool,
}

#[derive(Debug, Clone)]
struct Cfg {
    builtins: Vec<&'static str>,
    customs: Vec<Custom>,
    spa: bool,
}

impl Cfg {
    fn json(&self) -> String {
        let customs: Vec<Value> = self
            .customs
            .iter()
            .map(|c| {
                json!({"name": c.name, "prefixes": c.prefixes, "websocket": c.websocket,
                       "opaque": c.opaque})
            })
            .collect();
        json!({
            "name": "prop",
            "groups": self.builtins,
            "custom_groups": customs,
            "fallback": if self.spa { "spa" } else { "deny" },
        })
        .to_string()
    }

    /// Every enabled prefix, trailing slash dropped, in the order the groups list them:
    /// the group credited is the first that lists it; websocket and opaque if any says so.
    fn reference_routes(&self) -> Vec<RefRoute> {
        let mut routes: Vec<RefRoute> = Vec::new();
        let mut add = |prefix: &str, group: &str, ws: bool, opaque: bool| {
            let p = prefix.strip_suffix('/').unwrap_or(prefix);
            match routes.iter_mut().find(|r| r.prefix == p) {
                Some(r) => {
                    r.websocket |= ws;
                    r.opaque |= opaque;
                }
                None => routes.push(RefRoute {
                    prefix: p.to_owned(),
                    group: group.to_owned(),
                    websocket: ws,
                    opaque,
                }),
            }
        };
        for name in &self.builtins {
            let group = BUILTIN_GROUPS.iter().find(|g| g.name == *name).unwrap();
            for p in group.prefixes {
                // The built-in table's data prefixes: the web SDK's proxied URLs.
                let opaque = matches!(p.path, "/proxy/1/universal" | "/proxy/1/");
                add(p.path, name, p.websocket, opaque);
            }
        }
        for c in &self.customs {
            for p in &c.prefixes {
                add(p, &c.name, c.websocket, c.opaque);
            }
        }
        routes
    }
}

/// Segments shared by prefixes and paths, so that generated paths often hit a prefix,
/// its boundary, or a near miss of it.
const SEGMENTS: &[&str] = &[
    "api",
    "1",
    "devices",
    "sockets",
    "static",
    "a",
    "ab",
    "b",
    "x",
    "index.html",
    "a.b",
    "*",
    ":x",
    "~u",
    "a-b",
    "sdk-js",
];

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(SEGMENTS).prop_map(str::to_owned),
        1 => "[A-Za-z0-9._~*:@!$&'()+,=-]{1,4}"
            .prop_filter("not a dot segment", |s| !s.bytes().all(|b| b == b'.')),
    ]
}

/// A canonical prefix: `/`, or segments with an optional trailing slash.
fn prefix() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("/".to_owned()),
        12 => (proptest::collection::vec(segment(), 1..4), any::<bool>())
            .prop_map(|(segs, slash)| {
                format!("/{}{}", segs.join("/"), if slash { "/" } else { "" })
            }),
    ]
}

fn custom_group(index: usize) -> impl Strategy<Value = Custom> {
    (
        "[a-z0-9_-]{0,6}",
        proptest::collection::vec(prefix(), 1..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(tag, prefixes, websocket, opaque)| {
            // One group may not list the same prefix twice (with or without its slash).
            let mut seen = Vec::new();
            let prefixes = prefixes
                .into_iter()
                .filter(|p| {
                    let bare = p.strip_suffix('/').unwrap_or(p).to_owned();
                    let fresh = !seen.contains(&bare);
                    seen.push(bare);
                    fresh
                })
                .collect();
            Custom {
                name: format!("custom{index}{tag}"),
                prefixes,
                websocket,
                opaque,
            }
        })
}

fn cfg() -> impl Strategy<Value = Cfg> {
    let names: Vec<&'static str> = BUILTIN_GROUPS.iter().map(|g| g.name).collect();
    let customs = (0usize..=3).prop_flat_map(|n| (0..n).map(custom_group).collect::<Vec<_>>());
    (
        proptest::sample::subsequence(names, 0..=BUILTIN_GROUPS.len()).prop_shuffle(),
        customs,
        any::<bool>(),
    )
        .prop_map(|(builtins, customs, spa)| Cfg {
            builtins,
            customs,
            spa,
        })
        .prop_filter("at least one group", |c| {
            !c.builtins.is_empty() || !c.customs.is_empty()
        })
}

// ---------------------------------------------------------------------------------------
// Requests.

/// Mostly what an HTTP/1.1 request line may carry, sometimes any byte (SPEC rule 6).
fn query() -> impl Strategy<Value = Vec<u8>> {
    let bytes = prop_oneof![
        3 => proptest::collection::vec(0x21u8..0x7f, 0..12),
        1 => proptest::collection::vec(any::<u8>(), 0..12),
    ];
    proptest::option::of(bytes).prop_map(|q| match q {
        Some(q) => [b"?".as_slice(), &q].concat(),
        None => Vec::new(),
    })
}

/// Paths near the configuration's own prefixes, made of shared segments, or any bytes.
fn target(prefixes: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    let suffixes = &[
        "",
        "/",
        "x",
        "/x",
        "/x/y",
        ".json",
        "-1",
        ";x",
        "/..",
        "/.",
        "%41",
        "/%2e",
        "//",
        "/a;b",
        "/a%2Fb",
        "/..;x",
        "/%252e%252e",
        "/x%2500",
        "/%c3%a9",
        "/..%20",
    ];
    let near_prefix = (
        proptest::sample::select(prefixes),
        proptest::sample::select(suffixes.as_slice()),
    )
        .prop_map(|(p, s)| format!("{p}{s}").into_bytes());
    let from_segments =
        (proptest::collection::vec(segment(), 0..5), any::<bool>()).prop_map(|(segs, slash)| {
            let mut p = format!("/{}", segs.join("/"));
            if slash && !segs.is_empty() {
                p.push('/');
            }
            p.into_bytes()
        });
    let path = prop_oneof![
        4 => near_prefix,
        3 => from_segments,
        1 => proptest::collection::vec(any::<u8>(), 0..24),
    ];
    (path, query()).prop_map(|(p, q)| [p, q].concat())
}

fn method() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::sample::select(&["GET", "HEAD", "POST", "PUT", "OPTIONS", "get", "Head"][..])
            .prop_map(|m| m.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..8),
    ]
}

/// A configuration, its firewall, and a request to it.
fn case() -> impl Strategy<Value = (Cfg, Vec<u8>, Vec<u8>, bool)> {
    cfg().prop_flat_map(|c| {
        let mut prefixes: Vec<String> =
            c.reference_routes().into_iter().map(|r| r.prefix).collect();
        // The bare root prefix is stored as "" and appears in paths as "/".
        prefixes
            .iter_mut()
            .filter(|p| p.is_empty())
            .for_each(|p| p.push('/'));
        (Just(c), target(prefixes), method(), any::<bool>())
    })
}

fn loaded(c: &Cfg) -> Firewall {
    let json = c.json();
    load(json.as_bytes()).unwrap_or_else(|e| panic!("generated config refused: {e}\n{json}"))
}

// ---------------------------------------------------------------------------------------
// Reference models.

/// The part before the first `?`, and the rest from it (inclusive).
fn split(target: &[u8]) -> (&[u8], &[u8]) {
    let at = target
        .iter()
        .position(|&b| b == b'?')
        .unwrap_or(target.len());
    target.split_at(at)
}

/// SPEC rule 6, written as "decode, then look": a different technique from the
/// filter's single pass and its layers, so that the two can be compared.
fn reference_canonical(path: &[u8]) -> bool {
    if path.first() != Some(&b'/') {
        return false;
    }
    let raw_forbidden =
        |b: u8| matches!(b, b'\\' | b'#' | b';' | b' ') || !(0x20..0x7f).contains(&b);
    if path.iter().any(|&b| raw_forbidden(b)) {
        return false;
    }
    let segments: Vec<&[u8]> = path[1..].split(|&b| b == b'/').collect();
    for (i, s) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        if (!s.is_empty() && s.iter().all(|&b| b == b'.')) || (s.is_empty() && !last) {
            return false;
        }
    }
    // The spec's listed double encodings, read on the first layer.
    let once = match strict_decode(path) {
        Some(d) => d,
        None => return false,
    };
    for (i, w) in path.windows(3).enumerate() {
        if w.eq_ignore_ascii_case(b"%25") {
            let rest = strict_decode(&path[i + 3..]).unwrap_or_default();
            let next = rest.get(..2).map(<[u8]>::to_ascii_lowercase);
            if matches!(next.as_deref(), Some(b"2e" | b"2f" | b"5c" | b"25")) {
                return false;
            }
        }
    }
    // Every decoded layer: valid UTF-8, no lookalike, no segment of dots and spaces,
    // and its own escapes as canonical as the first layer's.
    let mut layer = once;
    for _ in 0..6 {
        let Ok(text) = std::str::from_utf8(&layer) else {
            return false;
        };
        if text.chars().any(|c| LOOKALIKES.contains(&c)) || has_dot_segment(text) {
            return false;
        }
        if !layer.contains(&b'%') {
            return true;
        }
        layer = match strict_decode(&layer) {
            Some(d) => d,
            None => return false,
        };
    }
    false
}

/// Code points whose NFKC form is only dots or a separator (Unicode 14).
const LOOKALIKES: &[char] = &[
    '\u{2024}', '\u{2025}', '\u{2026}', '\u{FE19}', '\u{FE30}', '\u{FE52}', '\u{FE68}', '\u{FF0E}',
    '\u{FF0F}', '\u{FF3C}',
];

/// One decode where every `%` must start a hex escape of a byte that is not `.`, `/`,
/// `\` or a control byte.
fn strict_decode(layer: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < layer.len() {
        if layer[i] != b'%' {
            out.push(layer[i]);
            i += 1;
            continue;
        }
        let hex = layer.get(i + 1..i + 3)?;
        let byte = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        if matches!(byte, b'.' | b'/' | b'\\') || byte < 0x20 || byte == 0x7f {
            return None;
        }
        out.push(byte);
        i += 3;
    }
    Some(out)
}

/// A segment (split on `/`, `\` and lookalike separators, `;parameters` cut) made only
/// of dots (lookalikes counted) and spaces, with at least one dot.
fn has_dot_segment(text: &str) -> bool {
    let dot = |c: char| {
        matches!(
            c,
            '.' | '\u{2024}'
                | '\u{FE52}'
                | '\u{FF0E}'
                | '\u{2025}'
                | '\u{FE30}'
                | '\u{2026}'
                | '\u{FE19}'
        )
    };
    text.split(['/', '\\', '\u{FF0F}', '\u{FF3C}', '\u{FE68}'])
        .map(|s| s.split(';').next().unwrap())
        .any(|s| s.chars().any(dot) && s.chars().all(|c| dot(c) || c == ' '))
}

/// SPEC rule 6a, the same way: what follows an opaque prefix.
fn reference_opaque(tail: &[u8]) -> bool {
    let raw_forbidden = |b: u8| matches!(b, b'\\' | b'#' | b' ') || !(0x20..0x7f).contains(&b);
    if tail.iter().any(|&b| raw_forbidden(b)) {
        return false;
    }
    for (i, &b) in tail.iter().enumerate() {
        let hex = tail.get(i + 1..i + 3);
        if b == b'%' && !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
            return false;
        }
    }
    let mut layer = tail.to_vec();
    for _ in 0..5 {
        let Ok(text) = std::str::from_utf8(&layer) else {
            return false;
        };
        if text.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return false;
        }
        if has_dot_segment(text) {
            return false;
        }
        let next = match lenient_decode(&layer, false) {
            Some(n) => n,
            None => return false,
        };
        if next == layer {
            return true;
        }
        layer = next;
    }
    false
}

/// One decode as a lenient upstream does it: `%XX` and `%uXXXX`, a stray `%` kept. With
/// `overlong`, byte sequences are then read as UTF-8 accepting overlong forms, as old
/// decoders did (`%c0%ae` is `.`). `None` for a `%u` surrogate.
fn lenient_decode(layer: &[u8], overlong: bool) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < layer.len() {
        let hex2 = layer
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
        let hex4 = layer
            .get(i + 1..i + 6)
            .filter(|h| matches!(h[0], b'u' | b'U') && h[1..].iter().all(u8::is_ascii_hexdigit));
        match (layer[i], hex2, hex4) {
            (b'%', Some(h), _) => {
                out.push(u8::from_str_radix(std::str::from_utf8(h).unwrap(), 16).unwrap());
                i += 3;
            }
            (b'%', None, Some(h)) => {
                let code = u32::from_str_radix(std::str::from_utf8(&h[1..]).unwrap(), 16).unwrap();
                out.extend(char::from_u32(code)?.to_string().bytes());
                i += 6;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(if overlong { read_overlong(&out) } else { out })
}

/// Bytes read as UTF-8 by a decoder that accepts overlong forms; undecodable bytes kept.
fn read_overlong(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (len, init) = match b {
            0xc0..=0xdf => (2, u32::from(b & 0x1f)),
            0xe0..=0xef => (3, u32::from(b & 0x0f)),
            0xf0..=0xf7 => (4, u32::from(b & 0x07)),
            _ => (1, u32::from(b)),
        };
        let cont = bytes.get(i + 1..i + len);
        match cont {
            Some(c) if len > 1 && c.iter().all(|&x| x & 0xc0 == 0x80) => {
                let code = c
                    .iter()
                    .fold(init, |acc, &x| acc << 6 | u32::from(x & 0x3f));
                match char::from_u32(code) {
                    Some(ch) => out.extend(ch.to_string().bytes()),
                    None => out.extend_from_slice(&bytes[i..i + len]),
                }
                i += len;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// `prefix` (stored without its trailing slash) covers `path` on a segment boundary.
fn covers(prefix: &str, path: &[u8]) -> bool {
    let p = prefix.as_bytes();
    path.starts_with(b"/")
        && (prefix.is_empty() || path == p || path.starts_with(&[p, b"/"].concat()))
}

/// The decision as a comparable shape, allow naming its prefix and group.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Reject,
    Allow { prefix: String, group: String },
    Deny(DenyReason),
    Rewrite(Vec<u8>),
    MethodNotAllowed,
}

fn shape(fw: &Firewall, d: &Decision) -> Expect {
    match d {
        Decision::Allow { route } => {
            let r = &fw.policy.routes()[*route];
            Expect::Allow {
                prefix: r.prefix.clone(),
                group: fw.policy.group_name(r.group).to_owned(),
            }
        }
        Decision::Deny(why) => Expect::Deny(*why),
        Decision::Rewrite { path } => Expect::Rewrite(path.clone()),
        Decision::Reject(_) => Expect::Reject,
        Decision::MethodNotAllowed => Expect::MethodNotAllowed,
    }
}

/// SPEC rules 1 and 3-6 for one request, from the configuration as written.
fn model(c: &Cfg, method: &[u8], target: &[u8], upgrade: bool) -> Expect {
    let (path, query) = split(target);
    let longest = c
        .reference_routes()
        .into_iter()
        .filter(|r| covers(&r.prefix, path))
        .max_by_key(|r| r.prefix.len());
    // Rule 6: the query holds only bytes an HTTP/1.1 request line may carry.
    let query_ok = query.iter().all(|b| (0x21..=0x7e).contains(b));
    if !reference_canonical(path) {
        // Rule 6a: below an opaque prefix the rest is judged as data.
        return match longest {
            Some(r) if r.opaque && reference_opaque(&path[r.prefix.len()..]) && query_ok => {
                if upgrade && !r.websocket {
                    Expect::Deny(DenyReason::UpgradeNotAllowed)
                } else {
                    Expect::Allow {
                        prefix: r.prefix,
                        group: r.group,
                    }
                }
            }
            _ => Expect::Reject,
        };
    }
    if !query_ok {
        return Expect::Reject;
    }
    match longest.map(|r| (r.prefix, r.group, r.websocket)) {
        Some((_, _, false)) if upgrade => Expect::Deny(DenyReason::UpgradeNotAllowed),
        Some((prefix, group, _)) => Expect::Allow { prefix, group },
        None if !c.spa => Expect::Deny(DenyReason::NotCovered),
        None if upgrade => Expect::Deny(DenyReason::UpgradeNotAllowed),
        None if method == b"GET" || method == b"HEAD" => {
            Expect::Rewrite([b"/index.html".as_slice(), query].concat())
        }
        None => Expect::MethodNotAllowed,
    }
}

// ---------------------------------------------------------------------------------------
// Hostile and benign path pieces.

/// Pieces that may appear inside a canonical segment.
const BENIGN: &[&str] = &[
    "a",
    "api",
    "1",
    "x.y",
    "...x",
    ".hidden",
    "a..b",
    "~u",
    "-",
    "_",
    "*",
    ":",
    "@",
    "!",
    "$",
    "&",
    "'",
    "(",
    ")",
    "+",
    ",",
    "=",
    "%41",
    "%7e",
    "%20",
    "%c3%a9",
    "%E2%82%AC",
    "%f0%9f%98%80",
    "%2541",
    "%2520",
];

fn benign_segment() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(BENIGN), 1..4).prop_map(|p| p.concat())
}

/// A canonical path as a list of pieces, so that a fragment can be put between any two.
fn benign_pieces() -> impl Strategy<Value = Vec<String>> {
    (
        proptest::collection::vec(benign_segment(), 0..5),
        any::<bool>(),
    )
        .prop_map(|(segs, slash)| {
            let mut pieces = Vec::new();
            for s in segs {
                pieces.push("/".to_owned());
                pieces.push(s);
            }
            if slash || pieces.is_empty() {
                pieces.push("/".to_owned());
            }
            pieces
        })
}

/// `%2e`, `%2f`, `%5c` in any case, maybe double-encoded.
fn encoded_separator() -> impl Strategy<Value = String> {
    (
        proptest::sample::select(&["2e", "2f", "5c"][..]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(hex, upper, twice)| {
            let hex = if upper {
                hex.to_ascii_uppercase()
            } else {
                hex.to_owned()
            };
            format!("%{}{hex}", if twice { "25" } else { "" })
        })
}

/// A fragment and whether it is hostile only at the end (`/..` before `a` is `/..a`).
fn hostile_fragment() -> impl Strategy<Value = (Vec<u8>, bool)> {
    let forbidden_byte = prop_oneof![
        proptest::sample::select(&[b'\\', b'#', b';', b' ', 0x7f][..]),
        0x00u8..0x20,
        0x80u8..=0xff,
    ];
    prop_oneof![
        forbidden_byte.prop_map(|b| (vec![b], false)),
        encoded_separator().prop_map(|s| (s.into_bytes(), false)),
        proptest::sample::select(&["//", "/./", "/../"][..])
            .prop_map(|s| (s.as_bytes().to_vec(), false)),
        proptest::sample::select(&["/.", "/.."][..]).prop_map(|s| (s.as_bytes().to_vec(), true)),
    ]
}

/// Pieces that stress the percent decoder and the UTF-8 checks at their edges.
const SOUP: &[&str] = &[
    "/", ".", "..", "a", "%", "%2", "%u", "%41", "%25", "2e", "2F", "5c", "25", "%c3", "%a9",
    "%e0", "%80", "%bf", "%ed", "%a0", "%f0", "%f4", "%90", "%8f", "%c0", "%ae", "%ff", "%00",
    "%7f", "%20", "%2e", "%2F", "?", "#", ";",
];

/// Pieces of the traversal payloads the closure is about: separators, dots and their
/// escapes at one, two and three depths, overlong forms, `%u`, parameters, controls.
const CLOSURE_SOUP: &[&str] = &[
    "/",
    ".",
    "..",
    "a",
    ";",
    "%",
    "%25",
    "%2e",
    "%2E",
    "%2f",
    "%2F",
    "%5c",
    "%3b",
    "%20",
    "%00",
    "%c0",
    "%ae",
    "%af",
    "%e0",
    "%80",
    "%c1",
    "%9c",
    "%u",
    "002e",
    "2e",
    "2f",
    "25",
    "c0",
    "ae",
    "%c3%a9",
    "%ef%bc%8e",
    "%ef%bc%8f",
    "%e2%80%a4",
    "\\",
    "x",
    "%252e",
    "%%32%65",
    "%32",
    "%65",
];

/// A request path below a prefix one of the shipped roles enables, made of closure soup.
fn closure_target() -> impl Strategy<Value = Vec<u8>> {
    let prefix = proptest::sample::select(
        &[
            "/api/1/devices",
            "/proxy/1/universal",
            "/proxy/1",
            "/static",
            "/sockets/1",
        ][..],
    );
    let pieces = proptest::collection::vec(proptest::sample::select(CLOSURE_SOUP), 0..12);
    (prefix, pieces).prop_map(|(p, pieces)| format!("{p}/{}", pieces.concat()).into_bytes())
}

/// What a forwarded path must never reveal when decoded again, by a decoder that
/// accepts overlong UTF-8: a segment of dots, a control byte, or, unless it is data below
/// an opaque prefix, a separator that was not there.
fn reveals_nothing(path: &[u8], opaque: bool) -> Result<(), String> {
    let slashes = path.iter().filter(|&&b| b == b'/').count();
    let mut layer = path.to_vec();
    for depth in 1..=3 {
        layer = match lenient_decode(&layer, true) {
            Some(l) => l,
            None => return Err(format!("undecodable at depth {depth}")),
        };
        let text = String::from_utf8_lossy(&layer);
        if layer.iter().any(|&b| b < 0x20 || b == 0x7f) {
            return Err(format!("control byte at depth {depth}: {text:?}"));
        }
        if has_dot_segment(&text) {
            return Err(format!("dot segment at depth {depth}: {text:?}"));
        }
        let separators = text
            .chars()
            .filter(|&c| matches!(c, '/' | '\\' | '\u{FF0F}' | '\u{FF3C}' | '\u{FE68}'))
            .count();
        if !opaque && separators != slashes {
            return Err(format!("new separator at depth {depth}: {text:?}"));
        }
    }
    Ok(())
}

fn soup_path() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        6 => proptest::sample::select(SOUP).prop_map(|s| s.as_bytes().to_vec()),
        1 => any::<u8>().prop_map(|b| vec![b]),
    ];
    (any::<bool>(), proptest::collection::vec(piece, 0..10)).prop_map(|(slash, pieces)| {
        let lead: &[u8] = if slash { b"/" } else { b"" };
        [lead.to_vec(), pieces.concat()].concat()
    })
}

/// The configuration's top-level keys.
const KEYS: &[&str] = &[
    "name",
    "groups",
    "custom_groups",
    "fallback",
    "mode",
    "deny_response",
    "log",
    "filter_state",
    "builtin_opaque",
];

/// Arbitrary nested JSON whose keys and strings are mostly ones the configuration knows.
fn json_value() -> impl Strategy<Value = Value> {
    let words: Vec<&str> = KEYS
        .iter()
        .copied()
        .chain(BUILTIN_GROUPS.iter().map(|g| g.name))
        .chain([
            "prefixes",
            "websocket",
            "status",
            "body",
            "content_type",
            "level",
            "max_path_bytes",
            "deny",
            "spa",
            "enforce",
            "dry_run",
            "/healthz",
            "/static/",
            "/a/../b",
            "x\ny",
        ])
        .collect();
    let word = prop_oneof![
        4 => proptest::sample::select(words),
        1 => Just(""),
    ]
    .prop_map(str::to_owned);
    let any_text = ".{0,8}";
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![Just(403i64), Just(16), Just(8193), any::<i64>()].prop_map(Value::from),
        word.clone().prop_map(Value::String),
        any_text.prop_map(Value::String),
        // A control character, which a log line must never carry raw.
        "[a-z]{0,2}[\\x00-\\x1f\\x7f][a-z]{0,2}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((word.clone(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A valid configuration with one key (maybe unknown) set to an arbitrary value.
fn near_valid() -> impl Strategy<Value = Value> {
    let keys = KEYS
        .iter()
        .copied()
        .chain(["grups", "x\ny"])
        .collect::<Vec<_>>();
    (cfg(), proptest::sample::select(keys), json_value()).prop_map(|(c, key, value)| {
        let mut config: Value = serde_json::from_str(&c.json()).unwrap();
        config[key] = value;
        config
    })
}

/// JSON text, sometimes cut short or with one byte overwritten.
fn json_ish() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![json_value(), near_valid()];
    (value, any::<u8>(), any::<prop::sample::Index>(), 0u8..4).prop_map(|(v, byte, at, how)| {
        let mut text = v.to_string().into_bytes();
        if !text.is_empty() {
            let i = at.index(text.len());
            match how {
                0 => text.truncate(i),
                1 => text[i] = byte,
                _ => {}
            }
        }
        text
    })
}

// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn load_never_panics_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let _ = load(&bytes);
    }

    #[test]
    fn load_never_panics_on_json_like_text(text in json_ish()) {
        if let Ok(fw) = load(&text) {
            // Whatever was accepted routes something.
            prop_assert!(!fw.policy.routes().is_empty());
        }
    }

    #[test]
    fn generated_configurations_load_with_the_prefixes_they_list(c in cfg()) {
        let fw = loaded(&c);
        let expected: Vec<RefRoute> = c.reference_routes();
        let got: Vec<RefRoute> = fw
            .policy
            .routes()
            .iter()
            .map(|r| RefRoute {
                prefix: r.prefix.clone(),
                group: fw.policy.group_name(r.group).to_owned(),
                websocket: r.websocket,
                opaque: r.opaque,
            })
            .collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn decide_never_panics_on_arbitrary_requests(
        c in cfg(),
        target in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        method in method(),
        upgrade in any::<bool>(),
    ) {
        let fw = loaded(&c);
        let _ = fw.policy.decide_request(&method, target.as_deref(), upgrade);
    }

    #[test]
    fn an_allowed_path_is_canonical_and_its_longest_covering_prefix_matched(
        (c, target, method, upgrade) in case(),
    ) {
        let fw = loaded(&c);
        let d = fw.policy.decide_request(&method, Some(&target), upgrade);
        if let Expect::Allow { prefix, .. } = shape(&fw, &d) {
            let (path, _) = split(&target);
            let longest = c
                .reference_routes()
                .into_iter()
                .filter(|r| covers(&r.prefix, path))
                .max_by_key(|r| r.prefix.len())
                .unwrap();
            // Canonical, or data below the opaque prefix that matched.
            prop_assert!(
                check_path(path).is_ok()
                    || (longest.opaque && check_opaque_tail(&path[prefix.len()..]).is_ok())
            );
            prop_assert_eq!(prefix, longest.prefix);
        }
    }

    #[test]
    fn every_decision_agrees_with_the_reference_model((c, target, method, upgrade) in case()) {
        let fw = loaded(&c);
        let d = fw.policy.decide_request(&method, Some(&target), upgrade);
        prop_assert_eq!(shape(&fw, &d), model(&c, &method, &target, upgrade));
    }

    #[test]
    fn a_rewrite_is_index_html_plus_the_query_for_get_or_head_on_spa_only(
        (c, target, method, upgrade) in case(),
    ) {
        let fw = loaded(&c);
        let d = fw.policy.decide_request(&method, Some(&target), upgrade);
        if let Decision::Rewrite { path } = d {
            let (_, query) = split(&target);
            prop_assert_eq!(path, [b"/index.html".as_slice(), query].concat());
            prop_assert!(c.spa);
            prop_assert!(method == b"GET" || method == b"HEAD");
            prop_assert!(!upgrade);
        }
    }

    #[test]
    fn decisions_depend_only_on_their_inputs_and_read_each_header_at_most_once(
        (c, target, method, upgrade) in case(),
    ) {
        let (one, two) = (loaded(&c), loaded(&c));
        let run = |fw: &Firewall| {
            let (upgrade_reads, method_reads) = (Cell::new(0u32), Cell::new(0u32));
            let d = fw.policy.decide(
                Some(&target),
                || {
                    upgrade_reads.set(upgrade_reads.get() + 1);
                    upgrade
                },
                || {
                    method_reads.set(method_reads.get() + 1);
                    method == b"GET" || method == b"HEAD"
                },
            );
            (shape(fw, &d), upgrade_reads.get(), method_reads.get())
        };
        let first = run(&one);
        prop_assert!(first.1 <= 1 && first.2 <= 1, "headers read {first:?}");
        if first.0 == Expect::Reject {
            // A refused path is refused before any header is looked at.
            prop_assert_eq!((first.1, first.2), (0, 0));
        }
        prop_assert_eq!(&run(&one), &first);
        prop_assert_eq!(&run(&two), &first);
    }

    #[test]
    fn benign_paths_pass_the_path_check(pieces in benign_pieces()) {
        let path = pieces.concat();
        prop_assert!(check_path(path.as_bytes()).is_ok(), "{path}");
    }

    #[test]
    fn a_path_with_a_hostile_fragment_anywhere_is_refused(
        pieces in benign_pieces(),
        (fragment, at_end) in hostile_fragment(),
        at in any::<prop::sample::Index>(),
    ) {
        let mut pieces: Vec<Vec<u8>> = pieces.into_iter().map(String::into_bytes).collect();
        let at = if at_end { pieces.len() } else { at.index(pieces.len() + 1) };
        pieces.insert(at, fragment);
        let path = pieces.concat();
        prop_assert!(check_path(&path).is_err(), "{:?}", String::from_utf8_lossy(&path));
    }

    #[test]
    fn whatever_is_forwarded_reveals_nothing_when_decoded_again(
        target in closure_target(),
        external in any::<bool>(),
    ) {
        let config = if external {
            r#"{"groups":["sdk","universal","sdk_pinning","ai_sdk"]}"#
        } else {
            r#"{"groups":["agent","frontend"],"fallback":"spa"}"#
        };
        let fw = load(config.as_bytes()).unwrap();
        if let Decision::Allow { route } = fw.policy.decide_request(b"GET", Some(&target), false) {
            let opaque = fw.policy.routes()[route].opaque;
            let verdict = reveals_nothing(&target, opaque);
            prop_assert!(verdict.is_ok(), "{:?}: {:?}", String::from_utf8_lossy(&target), verdict);
        }
    }

    #[test]
    fn path_check_agrees_with_a_decoding_reference(path in soup_path()) {
        prop_assert_eq!(
            check_path(&path).is_ok(),
            reference_canonical(&path),
            "{:?}",
            String::from_utf8_lossy(&path)
        );
    }
}

proptest! {
    // More cases: the failing inputs put a control character in an enum value or a
    // field name, one key among many.
    #![proptest_config(ProptestConfig { cases: cases().cases.max(1024), ..cases() })]

    // Messages quote the offending text (`{"groups":["sdk"],"mode":"a\nb"}`); the one
    // log line Envoy writes for a refused configuration must not be split or forged by it.
    #[test]
    fn a_refused_configuration_is_explained_on_one_printable_line(text in json_ish()) {
        if let Err(e) = load(&text) {
            let line = e.log_line();
            prop_assert!(!line.chars().any(char::is_control), "{line:?}");
        }
    }
}
