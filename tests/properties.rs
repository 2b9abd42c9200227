//! Properties over generated configurations, paths, methods and bytes, checked against
//! small reference models written here rather than against the filter's own helpers.

// Tests assert by panicking; the no-trap lints guard the module, not its tests.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

use cobrowse_l7_firewall::config::KEYS;
use cobrowse_l7_firewall::decision::{Decision, DenyReason};
use cobrowse_l7_firewall::groups::BUILTIN_GROUPS;
use cobrowse_l7_firewall::path_check::check_path;
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
            .map(|c| json!({"name": c.name, "prefixes": c.prefixes, "websocket": c.websocket}))
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
    /// (prefix, group credited = the first that lists it, websocket if any group says so).
    fn reference_routes(&self) -> Vec<(String, String, bool)> {
        let mut routes: Vec<(String, String, bool)> = Vec::new();
        let mut add = |prefix: &str, group: &str, ws: bool| {
            let p = prefix.strip_suffix('/').unwrap_or(prefix);
            match routes.iter_mut().find(|r| r.0 == p) {
                Some(r) => r.2 |= ws,
                None => routes.push((p.to_owned(), group.to_owned(), ws)),
            }
        };
        for name in &self.builtins {
            let group = BUILTIN_GROUPS.iter().find(|g| g.name == *name).unwrap();
            for p in group.prefixes {
                add(p.path, name, p.websocket);
            }
        }
        for c in &self.customs {
            for p in &c.prefixes {
                add(p, &c.name, c.websocket);
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
            .prop_filter("not a dot segment", |s| s != "." && s != ".."),
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
    )
        .prop_map(move |(tag, prefixes, websocket)| {
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

fn query() -> impl Strategy<Value = Vec<u8>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..12)).prop_map(|q| match q {
        Some(q) => [b"?".as_slice(), &q].concat(),
        None => Vec::new(),
    })
}

/// Paths near the configuration's own prefixes, made of shared segments, or any bytes.
fn target(prefixes: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    let suffixes = &[
        "", "/", "x", "/x", "/x/y", ".json", "-1", ";x", "/..", "/.", "%41", "/%2e", "//",
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
        let mut prefixes: Vec<String> = c.reference_routes().into_iter().map(|r| r.0).collect();
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
/// filter's single pass, so that the two can be compared.
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
        if *s == b"." || *s == b".." || (s.is_empty() && !last) {
            return false;
        }
    }
    let mut decoded = Vec::new();
    let mut i = 0;
    while i < path.len() {
        if path[i] != b'%' {
            decoded.push(path[i]);
            i += 1;
            continue;
        }
        let Some(hex) = path.get(i + 1..i + 3) else {
            return false;
        };
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return false;
        }
        let byte = u8::from_str_radix(std::str::from_utf8(hex).unwrap(), 16).unwrap();
        if matches!(byte, b'.' | b'/' | b'\\') || byte < 0x20 || byte == 0x7f {
            return false;
        }
        if byte == b'%' {
            let next = path.get(i + 3..i + 5).map(<[u8]>::to_ascii_lowercase);
            if matches!(next.as_deref(), Some(b"2e" | b"2f" | b"5c" | b"25")) {
                return false;
            }
        }
        decoded.push(byte);
        i += 3;
    }
    std::str::from_utf8(&decoded).is_ok()
}

/// `prefix` (stored without its trailing slash) covers `path` on a segment boundary.
fn covers(prefix: &str, path: &str) -> bool {
    prefix.is_empty() || path == prefix || path.starts_with(&format!("{prefix}/"))
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
    if !reference_canonical(path) {
        return Expect::Reject;
    }
    let path = std::str::from_utf8(path).unwrap();
    let longest = c
        .reference_routes()
        .into_iter()
        .filter(|r| covers(&r.0, path))
        .max_by_key(|r| r.0.len());
    match longest {
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
    "...",
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
    "%25zz",
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
        let expected: Vec<(String, String, bool)> = c.reference_routes();
        let got: Vec<(String, String, bool)> = fw
            .policy
            .routes()
            .iter()
            .map(|r| (r.prefix.clone(), fw.policy.group_name(r.group).to_owned(), r.websocket))
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
            prop_assert!(check_path(path).is_ok());
            let path = std::str::from_utf8(path).unwrap();
            let longest = c
                .reference_routes()
                .into_iter()
                .filter(|r| covers(&r.0, path))
                .map(|r| r.0)
                .max_by_key(String::len);
            prop_assert_eq!(Some(prefix), longest);
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

    // serde's "unknown variant" and "unknown field" messages quote the offending text
    // raw (`{"groups":["sdk"],"mode":"a\nb"}`); the one log line Envoy writes for a
    // refused configuration must not be split or forged by it.
    #[test]
    fn a_refused_configuration_is_explained_on_one_printable_line(text in json_ish()) {
        if let Err(e) = load(&text) {
            let line = e.log_line();
            prop_assert!(!line.chars().any(char::is_control), "{line:?}");
        }
    }
}
