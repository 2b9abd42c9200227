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
        ("{".into(), "configuration: bad JSON: EOF while parsing an object at line 1 column 1"),
        (
            "{\"groups\":[\"sdk\"],}".into(),
            "configuration: bad JSON: trailing comma at line 1 column 19",
        ),
        ("[\"sdk\"]".into(), "configuration: invalid type: sequence, expected a JSON object"),
        ("{}".into(), "groups: no group enabled"),
        (r#"{"groups":[]}"#.into(), "groups: no group enabled"),
        (r#"{"groups":null}"#.into(), "groups: no group enabled"),
        (
            r#"{"grups":["sdk"]}"#.into(),
            "grups: unknown field `grups`, expected one of `name`, `groups`,",
        ),
        (
            r#"{"groups":"sdk"}"#.into(),
            "groups: invalid type: string \"sdk\", expected a sequence",
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
            "fallback: unknown variant `allow`, expected `deny` or `spa`",
        ),
        (
            g(r#","mode":"audit""#),
            "mode: unknown variant `audit`, expected `enforce` or `dry_run`",
        ),
        (
            g(r#","custom_groups":{}"#),
            "custom_groups: invalid type: map, expected a sequence",
        ),
        (
            g(r#","custom_groups":[{"name":"h","prefix":["/h"]}]"#),
            "custom_groups[0].prefix: unknown field `prefix`, expected one of `name`, `prefixes`, `websocket`, `opaque`",
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
            "custom_groups[0].websocket: invalid type: string \"yes\", expected a boolean",
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
            "deny_response.code: unknown field `code`, expected one of `status`, `body`, `content_type`",
        ),
        (
            g(r#","deny_response":{"content_type":"text/plain\r\nx: y"}"#),
            "deny_response.content_type: \"text/plain\\r\\nx: y\" is not a valid header value",
        ),
        (
            g(r#","log":{"level":"loud"}"#),
            "log.level: unknown variant `loud`, expected one of `off`, `trace`, `debug`, `info`, `warn`, `error`",
        ),
        (
            g(r#","log":{"max_path_bytes":1}"#),
            "log.max_path_bytes: 1 is outside 16..=8192",
        ),
        (
            g(r#","filter_state":"on""#),
            "filter_state: invalid type: string \"on\", expected a boolean",
        ),
        (
            g(r#","builtin_opaque":1"#),
            "builtin_opaque: invalid type: integer `1`, expected a boolean",
        ),
        (
            g(r#","custom_groups":[{"name":"h","prefixes":["/h"],"opaque":"yes"}]"#),
            "custom_groups[0].opaque: invalid type: string \"yes\", expected a boolean",
        ),
        // Repeated keys are refused at any depth, never resolved to the last one.
        (
            r#"{"groups":["sdk"],"fallback":"spa","fallback":"deny"}"#.into(),
            "configuration: duplicate field `fallback`",
        ),
        (
            r#"{"groups":["sdk"],"groups":["agent"]}"#.into(),
            "configuration: duplicate field `groups`",
        ),
        (
            g(r#","custom_groups":[{"name":"a","name":"b","prefixes":["/a"]}]"#),
            "custom_groups[0]: duplicate field `name`",
        ),
        (
            g(r#","log":{"level":"warn","level":"off"}"#),
            "log: duplicate field `level`",
        ),
        // Objects must be objects, not arrays of their values.
        (
            g(r#","log":["warn",64,10]"#),
            "log: invalid type: sequence, expected a JSON object",
        ),
        (
            g(r#","deny_response":[404,"x","text/plain"]"#),
            "deny_response: invalid type: sequence, expected a JSON object",
        ),
        (
            g(r#","custom_groups":[["a",["/a"],true,false]]"#),
            "custom_groups[0]: invalid type: sequence, expected a JSON object",
        ),
        // Control characters echoed from the input are escaped: one printable line.
        (
            g(r#","mode":"a\r\nERROR fake""#),
            "mode: unknown variant `a\\u{d}\\u{a}ERROR fake`, expected `enforce` or `dry_run`",
        ),
        (
            g(r#","custom_groups":[{"name":"a","prefixes":["/a"],"x\ny":1}]"#),
            "custom_groups[0].x\\u{a}y: unknown field `x\\u{a}y`",
        ),
        (
            g(r#","log":{"max_per_second":10001}"#),
            "log.max_per_second: 10001 is outside 0..=10000",
        ),
        (
            g(r#","log":{"max_per_second":-1}"#),
            "log.max_per_second: invalid value: integer `-1`, expected a whole number from 0 to 4294967295",
        ),
        (
            g(r#","log":{"redact_params":["session",""]}"#),
            "log.redact_params[1]: \"\" is not a parameter name (1 to 64 printable ASCII bytes, none of & ; = % + # ?)",
        ),
        (
            g(r#","log":{"redact_params":["a=b"]}"#),
            "log.redact_params[0]: \"a=b\" is not a parameter name",
        ),
        (
            g(r#","log":{"redact_params":["x y"]}"#),
            "log.redact_params[0]: \"x y\" is not a parameter name",
        ),
        (
            g(r#","log":{"redact_params":"session"}"#),
            "log.redact_params: invalid type: string \"session\", expected a sequence",
        ),
        // What serde_json alone would let through: an enum from a number, text after
        // the object, comments, numbers written as floats.
        (
            g(r#","fallback":1"#),
            "fallback: invalid type: integer `1`, expected a string",
        ),
        (
            r#"{"groups":["sdk"]} {}"#.into(),
            "configuration: bad JSON: trailing characters at line 1 column 20",
        ),
        (
            "{\"groups\":[\"sdk\"] // all\n}".into(),
            "configuration: bad JSON: expected `,` or `}` at line 1 column 19",
        ),
        (
            "/* c */ {\"groups\":[\"sdk\"]}".into(),
            "configuration: bad JSON: expected value at line 1 column 1",
        ),
        (
            g(r#","deny_response":{"status":403.0}"#),
            "deny_response.status: invalid type: floating point `403.0`, expected a whole number from 0 to 65535",
        ),
        (
            g(r#","deny_response":{"status":4e2}"#),
            "deny_response.status: invalid type: floating point `400.0`, expected a whole number from 0 to 65535",
        ),
        (
            g(r#","deny_response":{"status":70000}"#),
            "deny_response.status: invalid value: integer `70000`, expected a whole number from 0 to 65535",
        ),
        (
            g(r#","log":{"max_path_bytes":"64"}"#),
            "log.max_path_bytes: invalid type: string \"64\", expected a whole number from 0 to 4294967295",
        ),
        (
            g(r#","custom_groups":[{"name":"a","prefixes":["/a",3]}]"#),
            "custom_groups[0].prefixes[1]: invalid type: integer `3`, expected a string",
        ),
        (
            g(r#","custom_groups":[{"name":null,"prefixes":["/a"]}]"#),
            "custom_groups[0].name: missing",
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
    assert!(s.log.redact_params.is_empty(), "the built-in names only");
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
            "log":{"level":"warn","max_path_bytes":64,"max_per_second":0,"redact_params":["Session"]},"filter_state":true}"#,
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
    assert_eq!(s.log.redact_params, ["Session"]);
    // Beside the built-in names, matched in any case.
    assert_eq!(
        &*s.redactor.target(b"/a?session=1&token=2&SESSION=3"),
        b"/a?session=REDACTED&token=REDACTED&SESSION=REDACTED"
    );
    assert_eq!(fw.policy.groups(), ["sdk", "health"]);
}

/// An object of the configuration: its key path, a configuration with that object
/// written as `{}`, and a valid value for each of its keys.
type Object = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const OBJECTS: &[Object] = &[
    (
        "configuration",
        "{}",
        &[
            ("name", r#""n""#),
            ("groups", r#"["sdk"]"#),
            ("custom_groups", "[]"),
            ("fallback", r#""spa""#),
            ("mode", r#""dry_run""#),
            ("deny_response", "{}"),
            ("log", "{}"),
            ("filter_state", "true"),
            ("builtin_opaque", "false"),
        ],
    ),
    (
        "custom_groups[0]",
        r#"{"groups":["sdk"],"custom_groups":[{}]}"#,
        &[
            ("name", r#""h""#),
            ("prefixes", r#"["/h"]"#),
            ("websocket", "true"),
            ("opaque", "true"),
        ],
    ),
    (
        "deny_response",
        r#"{"groups":["sdk"],"deny_response":{}}"#,
        &[
            ("status", "404"),
            ("body", r#""x""#),
            ("content_type", r#""text/html""#),
        ],
    ),
    (
        "log",
        r#"{"groups":["sdk"],"log":{}}"#,
        &[
            ("level", r#""warn""#),
            ("max_path_bytes", "64"),
            ("max_per_second", "5"),
            ("redact_params", r#"["session"]"#),
        ],
    ),
];

/// `template` with `members` written into its innermost `{}`.
fn with_members(template: &str, members: &str) -> String {
    let at = template.rfind("{}").unwrap();
    format!("{}{{{members}}}{}", &template[..at], &template[at + 2..])
}

#[test]
fn a_repeated_key_is_refused_in_every_object() {
    for (at, template, keys) in OBJECTS {
        for (key, value) in *keys {
            // The same value twice, and a null (the default) followed by a value: a
            // repeated key is never resolved to either one.
            for first in [*value, "null"] {
                let json = with_members(template, &format!(r#""{key}":{first},"{key}":{value}"#));
                let message = refused(&json);
                assert_eq!(
                    message,
                    format!("{at}: duplicate field `{key}`"),
                    "config {json}"
                );
            }
        }
    }
}

#[test]
fn null_means_the_default_for_every_optional_key() {
    let all_null = br#"{"groups":["sdk"],"name":null,"fallback":null,"mode":null,
        "filter_state":null,"builtin_opaque":null,
        "custom_groups":[{"name":"h","prefixes":["/h"],"websocket":null,"opaque":null}],
        "deny_response":{"status":null,"body":null,"content_type":null},
        "log":{"level":null,"max_path_bytes":null,"max_per_second":null,"redact_params":null}}"#;
    let absent = br#"{"groups":["sdk"],"custom_groups":[{"name":"h","prefixes":["/h"]}]}"#;
    let (fw, defaults) = (load(all_null).unwrap(), load(absent).unwrap());
    assert_eq!(fw.settings, defaults.settings);
    assert_eq!(fw.policy.routes(), defaults.policy.routes());
    assert_eq!(fw.policy.fallback(), defaults.policy.fallback());
    let objects_null =
        br#"{"groups":["sdk"],"custom_groups":null,"deny_response":null,"log":null}"#;
    let fw = load(objects_null).unwrap();
    assert_eq!(
        fw.settings,
        load(br#"{"groups":["sdk"]}"#).unwrap().settings
    );
    assert_eq!(fw.policy.groups(), ["sdk"]);
}
