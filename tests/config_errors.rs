//! Every refused configuration, with the message an operator reads in Envoy's log.

// Tests assert by panicking; the no-trap lints guard the module, not its tests.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

use cobrowse_l7_firewall::config::{Fallback, LogLevel, Mode};
use cobrowse_l7_firewall::load;

fn refused(json: &str) -> String {
    match load(json.as_bytes()) {
        Ok(_) => panic!("accepted: {json}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_configurations_are_refused_with_a_message_naming_key_and_value() {
    let g = |extra: &str| format!(r#"{{"groups":["sdk"]{extra}}}"#);
    let rows: Vec<(String, &str)> = vec![
        ("".into(), "configuration: empty or missing"),
        ("  \n".into(), "configuration: empty or missing"),
        ("{".into(), "configuration: bad JSON: unexpected end of input at line 1 column 2"),
        (
            "{\"groups\":[\"sdk\"],}".into(),
            "configuration: bad JSON: trailing comma at line 1 column 19",
        ),
        ("[\"sdk\"]".into(), "configuration: expected a JSON object, found an array"),
        ("{}".into(), "groups: no group enabled"),
        (r#"{"groups":[]}"#.into(), "groups: no group enabled"),
        (r#"{"groups":null}"#.into(), "groups: no group enabled"),
        (
            r#"{"grups":["sdk"]}"#.into(),
            "configuration: unknown key \"grups\" (known keys: name, groups,",
        ),
        (
            r#"{"groups":"sdk"}"#.into(),
            "groups: expected an array, found the string \"sdk\"",
        ),
        (
            r#"{"groups":["sdk","nope"]}"#.into(),
            "groups[1]: unknown group \"nope\" (built-in groups: sdk, universal,",
        ),
        (
            r#"{"groups":["SDK"]}"#.into(),
            "groups[0]: unknown group \"SDK\"",
        ),
        (
            r#"{"groups":["sdk","sdk"]}"#.into(),
            "groups[1]: duplicate group \"sdk\"",
        ),
        (
            g(r#","fallback":"allow""#),
            "fallback: expected one of \"deny\", \"spa\", found the string \"allow\"",
        ),
        (
            g(r#","mode":"audit""#),
            "mode: expected one of \"enforce\", \"dry_run\", found the string \"audit\"",
        ),
        (
            g(r#","custom_groups":{}"#),
            "custom_groups: expected an array, found an object",
        ),
        (
            g(r#","custom_groups":[{"name":"h","prefix":["/h"]}]"#),
            "custom_groups[0]: unknown key \"prefix\" (known keys: name, prefixes, websocket, opaque)",
        ),
        (
            g(r#","custom_groups":[{"name":"h"}]"#),
            "custom_groups[0].prefixes: missing",
        ),
        (
            g(r#","custom_groups":[{"name":"h","prefixes":[]}]"#),
            "custom_groups[0].prefixes: no prefix",
        ),
        (
            g(r#","custom_groups":[{"name":"h","prefixes":["/h"],"websocket":"yes"}]"#),
            "custom_groups[0].websocket: expected true or false, found the string \"yes\"",
        ),
        (
            g(r#","custom_groups":[{"name":"","prefixes":["/h"]}]"#),
            "custom_groups[0].name: \"\" must be 1-64 characters",
        ),
        (
            g(r#","custom_groups":[{"name":"a.b","prefixes":["/h"]}]"#),
            "custom_groups[0].name: \"a.b\" must be 1-64 characters",
        ),
        (
            g(r#","custom_groups":[{"name":"sdk","prefixes":["/h"]}]"#),
            "custom_groups[0].name: \"sdk\" is a built-in group",
        ),
        (
            g(
                r#","custom_groups":[{"name":"h","prefixes":["/h"]},{"name":"h","prefixes":["/i"]}]"#,
            ),
            "custom_groups[1].name: duplicate group \"h\"",
        ),
        (
            g(r#","custom_groups":[{"name":"h","prefixes":["/h","/h/"]}]"#),
            "custom_groups[0].prefixes[1]: duplicate prefix \"/h\"",
        ),
        (
            g(r#","name":"ext.1""#),
            "name: \"ext.1\" must be 1-64 characters",
        ),
        (
            g(r#","deny_response":{"status":503}"#),
            "deny_response.status: 503 is not a 4xx status",
        ),
        (
            g(r#","deny_response":{"status":200}"#),
            "deny_response.status: 200 is not a 4xx status",
        ),
        (
            g(r#","deny_response":{"code":403}"#),
            "deny_response: unknown key \"code\" (known keys: status, body, content_type)",
        ),
        (
            g(r#","deny_response":{"content_type":"text/plain\r\nx: y"}"#),
            "deny_response.content_type: \"text/plain\\r\\nx: y\" is not a valid header value",
        ),
        (
            g(r#","log":{"level":"loud"}"#),
            "log.level: expected one of \"off\", \"trace\", \"debug\", \"info\", \"warn\", \"error\", found the string \"loud\"",
        ),
        (
            g(r#","log":{"max_path_bytes":1}"#),
            "log.max_path_bytes: 1 is outside 16..=8192",
        ),
        (
            g(r#","filter_state":"on""#),
            "filter_state: expected true or false, found the string \"on\"",
        ),
        (
            g(r#","builtin_opaque":1"#),
            "builtin_opaque: expected true or false, found the number 1",
        ),
        (
            g(r#","custom_groups":[{"name":"h","prefixes":["/h"],"opaque":"yes"}]"#),
            "custom_groups[0].opaque: expected true or false, found the string \"yes\"",
        ),
        // Repeated keys are refused at any depth, never resolved to the last one.
        (
            r#"{"groups":["sdk"],"fallback":"spa","fallback":"deny"}"#.into(),
            "configuration: bad JSON: duplicate key \"fallback\" at line 1 column 36",
        ),
        (
            r#"{"groups":["sdk"],"groups":["agent"]}"#.into(),
            "configuration: bad JSON: duplicate key \"groups\" at line 1 column 19",
        ),
        (
            g(r#","custom_groups":[{"name":"a","name":"b","prefixes":["/a"]}]"#),
            "configuration: bad JSON: duplicate key \"name\"",
        ),
        (
            g(r#","log":{"level":"warn","level":"off"}"#),
            "configuration: bad JSON: duplicate key \"level\"",
        ),
        // Objects must be objects, not arrays of their values.
        (g(r#","log":["warn",64]"#), "log: expected a JSON object, found an array"),
        (
            g(r#","deny_response":[404,"x","text/plain"]"#),
            "deny_response: expected a JSON object, found an array",
        ),
        (
            g(r#","custom_groups":[["a",["/a"],true]]"#),
            "custom_groups[0]: expected a JSON object, found an array",
        ),
        // Control characters echoed from the input are escaped: one printable line.
        (
            g(r#","mode":"a\r\nERROR fake""#),
            "mode: expected one of \"enforce\", \"dry_run\", found the string \"a\\r\\nERROR fake\"",
        ),
        (
            g(r#","custom_groups":[{"name":"a","prefixes":["/a"],"x\ny":1}]"#),
            "custom_groups[0]: unknown key \"x\\ny\"",
        ),
        (
            g(r#","log":{"max_per_second":10001}"#),
            "log.max_per_second: 10001 is outside 0..=10000",
        ),
        (
            g(r#","log":{"max_per_second":-1}"#),
            "log.max_per_second: expected a whole number from 0 to 4294967295, found the number -1",
        ),
    ];
    for (json, expected) in &rows {
        let message = refused(json);
        assert!(
            message.starts_with(expected),
            "config {json}\n  got:  {message}\n  want: {expected}…"
        );
        assert!(
            !message.chars().any(char::is_control),
            "one printable line: {message:?}"
        );
    }
}

#[test]
fn malformed_prefixes_are_refused() {
    let rows: &[(&str, &str)] = &[
        ("h", "must start with '/'"),
        ("", "must start with '/'"),
        ("/h?x=1", "holds '?'"),
        ("/h#x", "holds '#'"),
        ("/h%2e", "holds '%'"),
        ("/h;x", "holds ';'"),
        ("/h\\\\x", "holds '\\'"),
        ("/h x", "holds whitespace"),
        ("/h\\tx", "holds whitespace"),
        ("/h/./x", "holds a '.' or '..' segment"),
        ("/h/..", "holds a '.' or '..' segment"),
        ("/h//x", "holds '//'"),
        ("//", "holds '//'"),
        ("/h/{id}", "holds '{' or '}'"),
        ("/caf\u{e9}", "holds a non-ASCII character"),
    ];
    for (prefix, why) in rows {
        let json = format!(r#"{{"custom_groups":[{{"name":"x","prefixes":["/ok","{prefix}"]}}]}}"#);
        let message = refused(&json);
        assert!(
            message.starts_with("custom_groups[0].prefixes[1]: malformed prefix")
                && message.contains(why),
            "prefix {prefix:?}: {message}"
        );
    }
}

#[test]
fn defaults_are_the_documented_ones() {
    let fw = load(br#"{"groups":["sdk"]}"#).unwrap();
    let s = &fw.settings;
    assert_eq!(s.name, "default");
    assert_eq!(s.mode, Mode::Enforce);
    assert_eq!(fw.policy.fallback(), Fallback::Deny);
    assert_eq!(
        (s.deny_response.status, s.deny_response.body.as_str()),
        (403, "Forbidden\n")
    );
    assert_eq!(s.deny_response.content_type, "text/plain; charset=utf-8");
    assert_eq!((s.log.level, s.log.max_path_bytes), (LogLevel::Info, 256));
    assert_eq!(s.log.max_per_second, 10, "a small budget by default");
    assert!(
        !s.filter_state,
        "off unless the access log needs it: a host call per request"
    );
}

#[test]
fn every_key_can_be_set() {
    let fw = load(
        br#"{"name":"edge-1","groups":["sdk"],"custom_groups":[{"name":"health","prefixes":["/healthz"],"websocket":false}],
            "fallback":"spa","mode":"dry_run","deny_response":{"status":404,"body":"","content_type":"text/html"},
            "log":{"level":"warn","max_path_bytes":64,"max_per_second":0},"filter_state":true}"#,
    )
    .unwrap();
    let s = &fw.settings;
    assert_eq!(
        (s.name.as_str(), s.mode, fw.policy.fallback()),
        ("edge-1", Mode::DryRun, Fallback::Spa)
    );
    assert_eq!(
        (s.deny_response.status, s.deny_response.body.as_str()),
        (404, "")
    );
    assert_eq!(
        (s.log.level, s.log.max_path_bytes, s.filter_state),
        (LogLevel::Warn, 64, true)
    );
    assert_eq!(s.log.max_per_second, 0);
    assert_eq!(fw.policy.groups(), ["sdk", "health"]);
}
