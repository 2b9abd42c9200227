//! The configuration's JSON reader against serde_json, on generated documents: both
//! accept the same texts and read the same values. The reader may refuse more (a
//! repeated key, nesting deeper than `MAX_DEPTH`), never less, and never accepts what
//! serde_json refuses, except a number too large for an `f64` (kept as its literal;
//! the configuration reads numbers only as bounded integers).

// Tests assert by panicking; the no-trap lints guard the module, not its tests.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

use cobrowse_l7_firewall::json::{parse, quote, Json, MAX_DEPTH};
use proptest::prelude::*;
use serde_json::Value;

fn cases() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 512;
    }
    config
}

/// Whether the reader's value is serde_json's value for the same text.
fn same(ours: &Json, theirs: &Value) -> bool {
    match (ours, theirs) {
        (Json::Null, Value::Null) => true,
        (Json::Bool(a), Value::Bool(b)) => a == b,
        (Json::Number(literal), Value::Number(n)) => {
            serde_json::from_str::<serde_json::Number>(literal)
                .ok()
                .as_ref()
                == Some(n)
        }
        (Json::String(a), Value::String(b)) => a == b,
        (Json::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Json::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        _ => false,
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The two readers agree on `text`, within the documented differences.
fn agree(text: &[u8]) -> Result<(), TestCaseError> {
    let ours = parse(text);
    let theirs = serde_json::from_slice::<Value>(text);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => prop_assert!(same(a, b), "values differ: {a:?} vs {b:?}"),
        (Ok(_), Err(e)) => prop_assert!(
            e.to_string().starts_with("number out of range"),
            "accepted what serde_json refuses ({e}): {:?}",
            String::from_utf8_lossy(text)
        ),
        (Err(e), Ok(v)) => prop_assert!(
            e.problem.starts_with("duplicate key") && text_has_duplicate(text)
                || e.problem.starts_with("nested deeper") && depth(v) > MAX_DEPTH,
            "refused ({e}) what serde_json reads: {:?}",
            String::from_utf8_lossy(text)
        ),
        (Err(_), Err(_)) => {}
    }
    Ok(())
}

/// Whether some object in `text` repeats a key: serde_json's map keeps only the last
/// one, so the members it keeps are fewer than the members written.
fn text_has_duplicate(text: &[u8]) -> bool {
    fn kept(v: &Value) -> usize {
        match v {
            Value::Array(items) => items.iter().map(kept).sum(),
            Value::Object(map) => map.len() + map.values().map(kept).sum::<usize>(),
            _ => 0,
        }
    }
    let written = serde_json::from_slice::<Members>(text).map(|m| m.0);
    let value = serde_json::from_slice::<Value>(text);
    matches!((written, value), (Ok(w), Ok(v)) if kept(&v) < w)
}

/// The number of object members written in a document, repeats included.
struct Members(usize);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
        struct Count;
        impl<'de> Visitor<'de> for Count {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Members, A::Error> {
                let mut n = 0;
                while let Some(Members(m)) = seq.next_element()? {
                    n += m;
                }
                Ok(Members(n))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut n = 0;
                while map.next_key::<IgnoredAny>()?.is_some() {
                    n += 1 + map.next_value::<Members>()?.0;
                }
                Ok(Members(n))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Members, E> {
                Ok(Members(0))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Members, E> {
                Ok(Members(0))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Members, E> {
                Ok(Members(0))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Members, E> {
                Ok(Members(0))
            }
            fn visit_str<E>(self, _: &str) -> Result<Members, E> {
                Ok(Members(0))
            }
            fn visit_unit<E>(self) -> Result<Members, E> {
                Ok(Members(0))
            }
        }
        d.deserialize_any(Count)
    }
}

/// Any JSON value, nested a few levels, with strings that need escapes.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "\\PC{0,8}|[\"\\\\/\u{0}-\u{1f}\u{7f}é\u{1f600}]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z\"\\\\]{0,4}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(cases())]

    /// Every document serde_json writes, compact or pretty, reads back the same.
    #[test]
    fn reads_what_serde_json_writes(v in value(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }
            .unwrap();
        // Compared with serde_json's reading of the text: without its `float_roundtrip`
        // feature, serde_json does not read back every float it writes bit for bit.
        let theirs: Value = serde_json::from_str(&text).unwrap();
        let ours = parse(text.as_bytes());
        prop_assert!(ours.as_ref().is_ok_and(|o| same(o, &theirs)), "{text}: {ours:?}");
    }

    /// Near-JSON: short texts over JSON's alphabet, most of them malformed.
    #[test]
    fn agrees_on_near_json(text in "[\\[\\]{}\",: 0-9eE.+\\-truefalsn\\\\/u\t\n\u{0}é]{0,24}") {
        agree(text.as_bytes())?;
    }

    /// A valid document with one byte changed, inserted or removed.
    #[test]
    fn agrees_on_damaged_documents(
        v in value(),
        at in any::<prop::sample::Index>(),
        edit in 0u8..3,
        byte in prop::sample::select(b"[]{}\",:0-9.eE+-\\u tfn\x00\xff\xc3".to_vec()),
    ) {
        let mut text = serde_json::to_vec(&v).unwrap();
        let i = at.index(text.len() + 1);
        match edit {
            0 if i < text.len() => text[i] = byte,
            1 => text.insert(i, byte),
            _ if i < text.len() => { text.remove(i); }
            _ => text.push(byte),
        }
        agree(&text)?;
    }

    /// Quoting then reading gives the string back, and the quoted form is one line.
    #[test]
    fn quote_round_trips(s in "\\PC{0,16}|[\u{0}-\u{1f}\"\\\\]{0,8}") {
        let quoted = quote(&s);
        prop_assert!(!quoted.chars().any(|c| c < ' '));
        prop_assert_eq!(parse(quoted.as_bytes()).unwrap(), Json::String(s.clone()));
        prop_assert_eq!(serde_json::from_str::<String>(&quoted).unwrap(), s);
    }
}

#[test]
fn a_repeated_key_is_refused_at_any_depth() {
    for text in [
        r#"{"a":1,"a":1}"#,
        r#"{"a":{"b":[{"c":1,"c":2}]}}"#,
        r#"[{"x":null,"y":0,"x":null}]"#,
    ] {
        let e = parse(text.as_bytes()).unwrap_err();
        assert!(e.problem.starts_with("duplicate key"), "{text}: {e}");
        assert!(text_has_duplicate(text.as_bytes()), "{text}");
    }
}

#[test]
fn serde_json_and_the_reader_agree_on_rfc_8259_edge_cases() {
    // (text, accepted)
    let rows: &[(&str, bool)] = &[
        ("0", true),
        ("-0", true),
        ("-0.0e-0", true),
        ("1E+2", true),
        ("01", false),
        ("+1", false),
        (".5", false),
        ("1.", false),
        ("1e", false),
        ("-", false),
        ("NaN", false),
        ("Infinity", false),
        ("\"\\u00e9\"", true),
        ("\"\\uD83D\\uDE00\"", true),
        ("\"\\uDE00\"", false),
        ("\"\\uD83Dx\"", false),
        ("\"\\U00e9\"", false),
        ("\"\\'\"", false),
        ("\"\u{7f}\"", true),
        ("\"a\u{1f}\"", false),
        ("[1,2]", true),
        ("[1 2]", false),
        ("[,]", false),
        ("{\"a\"}", false),
        ("{a:1}", false),
        ("{\"a\":1}\n", true),
        ("{\"a\":1}{}", false),
        (" \t\r\n[] ", true),
        ("\u{a0}[]", false),
        ("[]/**/", false),
    ];
    for (text, accepted) in rows {
        assert_eq!(
            parse(text.as_bytes()).is_ok(),
            *accepted,
            "reader on {text:?}"
        );
        assert_eq!(
            serde_json::from_str::<Value>(text).is_ok(),
            *accepted,
            "serde_json on {text:?}"
        );
    }
}
