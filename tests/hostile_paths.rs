//! SPEC rule 6: hostile or non-canonical paths get 400 before any matching, on every
//! listener, whatever the method. Each row names the class of attack it stands for.

// Tests assert by panicking; the no-trap lints guard the module, not its tests.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod common;
use cobrowse_l7_firewall::decision::Decision;
use cobrowse_l7_firewall::path_check::RejectReason::{self, *};
use common::*;

const HOSTILE: &[(&[u8], RejectReason)] = &[
    // RFC 3986 section 5.4 dot-segment examples, as request targets.
    (b"/./g", DotSegment),
    (b"/../g", DotSegment),
    (b"/a/b/c/./../../g", DotSegment),
    (b"/a/b/c/../../../g", DotSegment),
    (b"/a/b/c/g/.", DotSegment),
    (b"/a/b/c/g/..", DotSegment),
    (b"/a/./b", DotSegment),
    (b"/api/1/devices/../../admin", DotSegment),
    (b"/api/1/devices/..", DotSegment),
    (b"/..", DotSegment),
    (b"/.", DotSegment),
    (b"../g", NoLeadingSlash),
    (b"./g", NoLeadingSlash),
    (b"g/../h", NoLeadingSlash),
    // Percent-encoded dots, any case, alone or mixed with a literal one.
    (b"/api/1/devices/%2e%2e/admin", EncodedDot),
    (b"/api/1/devices/%2E%2E/admin", EncodedDot),
    (b"/api/1/devices/%2e./admin", EncodedDot),
    (b"/api/1/devices/.%2e/admin", EncodedDot),
    (b"/api/1/devices/%2e", EncodedDot),
    (b"/a%2ejson", EncodedDot),
    // Encoded separators (CVE-2019-9901-style escapes past a prefix).
    (b"/api/1/devices%2f..%2fadmin", EncodedSlash),
    (b"/api/1/devices/x%2F..", EncodedSlash),
    (b"/api/1/devices%5c..%5cadmin", EncodedBackslash),
    (b"/api/1/devices/%5C", EncodedBackslash),
    // Double and triple encodings a second decode would reveal.
    (b"/api/1/devices/%252e%252e/admin", DoubleEncoded),
    (b"/api/1/devices/%252E", DoubleEncoded),
    (b"/api/1/devices%252fadmin", DoubleEncoded),
    (b"/api/1/devices%255cadmin", DoubleEncoded),
    (b"/api/1/devices/%25252f", DoubleEncoded),
    (b"/%2525", DoubleEncoded),
    // Double encodings whose hex digits are escaped as well.
    (b"/api/1/devices/%25%32%65%25%32%65/admin", DoubleEncoded),
    (b"/api/1/devices/..%25%32%66..%25%32%66admin", DoubleEncoded),
    (b"/api/1/devices/%252%65", DoubleEncoded),
    (b"/api/1/devices/%25%35c", DoubleEncoded),
    (b"/api/1/devices/%25%32%35", DoubleEncoded),
    // Closed under decoding: the first layer's refusals, one `%25` deeper (the IIS
    // double-decode and Unicode traversals, CVE-2001-0333, CVE-2000-0884).
    (
        b"/api/1/devices/..%25c0%25af..%25c0%25afetc/passwd",
        DoubleEncoded,
    ),
    (
        b"/static/%25c0%25ae%25c0%25ae/%25c0%25ae%25c0%25ae/etc/passwd",
        DoubleEncoded,
    ),
    (
        b"/api/1/devices/..%25c1%259c..%25c1%259cetc/passwd",
        DoubleEncoded,
    ),
    (b"/api/1/devices/%25e0%2580%25ae", DoubleEncoded),
    (b"/api/1/devices/x%2500.txt", DoubleEncoded),
    (b"/api/1/devices/%25%63%30%25%61%65", DoubleEncoded),
    (b"/api/1/devices/%25u002e%25u002e/etc", DoubleEncoded),
    (b"/api/1/devices/%25zz", DoubleEncoded),
    (b"/api/1/devices/%25", DoubleEncoded),
    (
        b"/api/1/devices/%25ef%25bc%258e%25ef%25bc%258e/",
        DoubleEncoded,
    ),
    // Segments that decode to dots an upstream reads as `..`: trailing spaces trimmed,
    // `;parameters` cut away (Tomcat's `..;`), once or twice encoded.
    (b"/api/1/devices/..%20/etc/passwd", DotSegment),
    (b"/api/1/devices/..%3b/etc/passwd", DotSegment),
    (b"/api/1/devices/..%3Bx/etc/passwd", DotSegment),
    (b"/api/1/devices/..%2520/etc/passwd", DotSegment),
    (b"/api/1/devices/..%253b/etc/passwd", DotSegment),
    (b"/api/1/devices/...", DotSegment),
    (b"/api/1/devices/..../x", DotSegment),
    // Characters that compatibility normalization turns into dots or separators.
    (b"/api/1/devices/%ef%bc%8e%ef%bc%8e/etc", Lookalike),
    (b"/api/1/devices/%ef%bc%8f", Lookalike),
    (b"/api/1/devices/%ef%bc%bc", Lookalike),
    (b"/api/1/devices/%e2%80%a4%e2%80%a4", Lookalike),
    (b"/api/1/devices/%e2%80%a5", Lookalike),
    (b"/api/1/devices/%ef%b9%92", Lookalike),
    (b"/api/1/devices/%ef%b9%a8", Lookalike),
    (b"/api/1/devices/a%e2%80%a6b", Lookalike),
    // Broken escapes: non-hex, short, IIS %u, nested.
    (b"/api/1/devices/%u002e%u002e", BadPercentEncoding),
    (b"/api/1/devices/%%32%65", BadPercentEncoding),
    (b"/api/1/devices/%zz", BadPercentEncoding),
    (b"/api/1/devices/%2", BadPercentEncoding),
    (b"/api/1/devices/%", BadPercentEncoding),
    // Overlong and otherwise invalid UTF-8 behind escapes.
    (b"/api/1/devices/%c0%ae%c0%ae/admin", InvalidUtf8),
    (b"/api/1/devices/%e0%80%af", InvalidUtf8),
    (b"/api/1/devices/%c1%9c", InvalidUtf8),
    (b"/%ed%a0%80", InvalidUtf8),
    (b"/%f4%90%80%80", InvalidUtf8),
    (b"/%c3", InvalidUtf8),
    (b"/%c3/", InvalidUtf8),
    (b"/%e2%82", InvalidUtf8),
    (b"/%80", InvalidUtf8),
    (b"/%ff", InvalidUtf8),
    // Encoded NUL and control bytes.
    (b"/api/1/devices%00", EncodedControl),
    (b"/api/1/devices/%0a", EncodedControl),
    (b"/api/1/devices/%0D%0A", EncodedControl),
    (b"/api/1/devices/%1f", EncodedControl),
    (b"/api/1/devices/%7f", EncodedControl),
    // Literal separators and delimiters an upstream may treat differently.
    (b"/api/1/devices\\..\\admin", Backslash),
    (b"/api/1/devices//x", DoubleSlash),
    (b"//api/1/devices", DoubleSlash),
    (b"/api/1/devices/x//", DoubleSlash),
    (b"/api/1/devices#x", Fragment),
    (b"/api/1/devices;x", Semicolon),
    (b"/api/1/devices/..;/admin", Semicolon),
    (b"/api/1/devices/x;jsessionid=1", Semicolon),
    // Raw NUL, controls, whitespace and non-ASCII bytes.
    (b"/api/1/devices\x00", ControlByte),
    (b"/api/1/devices\t", ControlByte),
    (b"/api/1/devices\r\nx: y", ControlByte),
    (b"/api/1/devices\x7f", ControlByte),
    (b"/api/1/devices x", Space),
    (b"/api/1/devices\x80", NonAscii),
    (b"/api/1/devices/\xc0\xae", NonAscii),
    (b"/api/1/devices\xff", NonAscii),
    (b"/\xef\xbc\x8fadmin", NonAscii),
    // A query byte no HTTP/1.1 request line may carry (HTTP/2's codec lets it through).
    (b"/api/1/devices?\x80/../x", QueryByte),
    (b"/sdk-js/?\xc0\xae/../x", QueryByte),
    (b"/sockets/1/x?t=\xff", QueryByte),
    (
        b"/proxy/1/universal/com/x/https:/cart;jsessionid=A1?\x80",
        QueryByte,
    ),
    (b"/dashboard?a=\x00", QueryByte),
    (b"/api/1/devices?a=\tb", QueryByte),
    (b"/api/1/devices?a=1\r\nx: y", QueryByte),
    (b"/api/1/devices?\x7f", QueryByte),
    (b"/api/1/devices?a b", QueryByte),
    (b"/api/1/devices?a=%41\xc3\xa9", QueryByte),
    // The path's own reason comes first.
    (b"/api/1/devices/\x80?\x80", NonAscii),
    (b"/api/1/devices/%2e%2e?\x80", EncodedDot),
    // Not origin-form: no leading slash, asterisk-form, absolute-form, empty.
    (b"api/1/devices", NoLeadingSlash),
    (b"*", NoLeadingSlash),
    (b"http://evil/api/1/devices", NoLeadingSlash),
    (b"", EmptyPath),
    (b"?a=1", EmptyPath),
];

#[test]
fn hostile_paths_are_refused_with_the_right_reason_on_every_listener() {
    assert!(HOSTILE.len() >= 40, "at least 40 hostile rows");
    for config in [EXTERNAL, INTERNAL] {
        let fw = firewall(config);
        for (target, reason) in HOSTILE {
            for method in ["GET", "POST"] {
                for upgrade in [false, true] {
                    let d = decide(&fw, method, target, upgrade);
                    assert_eq!(
                        d,
                        Decision::Reject(*reason),
                        "{method} {:?}",
                        String::from_utf8_lossy(target)
                    );
                }
            }
        }
    }
}

#[test]
fn a_missing_path_is_refused() {
    let fw = firewall(EXTERNAL);
    assert_eq!(
        fw.policy.decide(None, || false, || true),
        Decision::Reject(MissingPath)
    );
}

#[test]
fn near_misses_are_not_hostile() {
    let fw = firewall(EXTERNAL);
    // Legitimate encodings and dot-like names below an allowed prefix pass.
    let benign: &[&[u8]] = &[
        b"/api/1/devices/.hidden",
        b"/api/1/devices/a..b",
        b"/api/1/devices/%20x",
        b"/api/1/devices/%41",
        b"/api/1/devices/%2541",
        b"/api/1/devices/%25%34%31",
        b"/api/1/devices/%2520",
        b"/api/1/devices/%252B",
        b"/api/1/devices/..a/.b./a..",
        b"/api/1/devices/%20..x",
        b"/api/1/devices/%c3%a9",
        b"/api/1/devices/%e2%82%ac",
        b"/api/1/devices/%f0%9f%98%80",
        b"/api/1/devices/%2B%20%3F%23%3B",
        b"/api/1/devices/0a1b2c3d4e5f",
        b"/api/1/devices/~user/a-b_c.d",
        b"/api/1/devices/x?%zz%00#;\\",
        b"/api/1/devices?%80%00%20%7f%c0%ae/../x",
        b"/api/1/devices?!$&'()*+,;=:@/?~[]{}|^`\"<>",
    ];
    for target in benign {
        let d = decide(&fw, "GET", target, false);
        assert!(
            matches!(d, Decision::Allow { .. }),
            "{:?}: {d:?}",
            String::from_utf8_lossy(target)
        );
    }
}

/// Every kind of route refuses a query byte HTTP/1.1 would refuse, and keeps the same
/// query percent-encoded: the route itself lets the request through.
#[test]
fn query_bytes_are_refused_on_every_route() {
    let routes: &[(&str, &[u8], bool)] = &[
        (EXTERNAL, b"/api/1/devices", false),
        (EXTERNAL, b"/sockets/1/x", true),
        (
            EXTERNAL,
            b"/proxy/1/universal/com/x/https:/cart;jsessionid=A1",
            false,
        ),
        (INTERNAL, b"/dashboard/sessions", false),
        (INTERNAL, b"/sockets/1/x", true),
        (INTERNAL, b"/proxy/1/a%2Fb", false),
    ];
    for &(config, path, upgrade) in routes {
        let fw = firewall(config);
        let with = |query: &[u8]| [path, query].concat();
        let plain = decide(&fw, "GET", &with(b"?q=%80%00%20%7f"), upgrade);
        assert!(
            matches!(plain, Decision::Allow { .. } | Decision::Rewrite { .. }),
            "{:?}: {plain:?}",
            String::from_utf8_lossy(path)
        );
        if let Decision::Rewrite { path } = plain {
            assert_eq!(path, b"/index.html?q=%80%00%20%7f");
        }
        for byte in (0x00..=0x20).chain(0x7f..=0xff) {
            let target = with(&[b'?', b'q', b'=', byte]);
            assert_eq!(
                decide(&fw, "GET", &target, upgrade),
                Decision::Reject(QueryByte),
                "{:?} with byte {byte:#04x}",
                String::from_utf8_lossy(path)
            );
        }
    }
}
