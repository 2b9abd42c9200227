//! HAR files (HTTP Archive 1.2), as browsers' developer tools export them. The top level
//! and `log` are walked by serde visitors and `log.entries` is handed over one entry at a
//! time, so a large capture is never held whole in memory.

use super::request::{BadRecord, Record, Request};
use cobrowse_l7_firewall::redact::Redactor;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::io::Read;

/// Calls `each` for every entry of `input`'s `log.entries`. A HAR that is not JSON, or has
/// no `log.entries` array, is an error; a malformed entry is a bad record and is skipped.
pub fn read(input: impl Read, each: impl FnMut(Record)) -> Result<(), String> {
    let mut de = serde_json::Deserializer::from_reader(input);
    let mut walk = Walk {
        each,
        entries: 0,
        found: false,
    };
    Top(&mut walk)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| format!("not a HAR file: {e}"))?;
    if walk.found {
        Ok(())
    } else {
        Err("not a HAR file: no log.entries array".to_owned())
    }
}

struct Walk<F> {
    each: F,
    entries: u64,
    found: bool,
}

/// The document: only `log` is read.
struct Top<'w, F>(&'w mut Walk<F>);
/// `log`: only `entries` is read.
struct Log<'w, F>(&'w mut Walk<F>);
/// `log.entries`: one `Value` at a time.
struct Entries<'w, F>(&'w mut Walk<F>);

impl<'de, F: FnMut(Record)> DeserializeSeed<'de> for Top<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(Record)> Visitor<'de> for Top<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a HAR object with a \"log\" key")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "log" {
                map.next_value_seed(Log(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de, F: FnMut(Record)> DeserializeSeed<'de> for Log<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(Record)> Visitor<'de> for Log<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the HAR \"log\" object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "entries" {
                map.next_value_seed(Entries(&mut *self.0))?;
                self.0.found = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de, F: FnMut(Record)> DeserializeSeed<'de> for Entries<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(Record)> Visitor<'de> for Entries<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the HAR \"log.entries\" array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // Any JSON value is accepted here, so one odd entry is reported, not fatal.
        while let Some(entry) = seq.next_element::<Value>()? {
            self.0.entries += 1;
            let at = self.0.entries;
            let record = match entry_request(&entry, at) {
                Ok(Some(request)) => Record::Request(request),
                Ok(None) => continue,
                Err(problem) => Record::Bad(BadRecord { at, problem }),
            };
            (self.0.each)(record);
        }
        Ok(())
    }
}

/// The request of one entry; `None` for URLs that never reach a gateway (`data:`, `blob:`).
fn entry_request(entry: &Value, at: u64) -> Result<Option<Request>, String> {
    let request = entry.get("request").ok_or("entry has no \"request\"")?;
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .ok_or("request has no \"method\" string")?;
    let url = request
        .get("url")
        .and_then(Value::as_str)
        .ok_or("request has no \"url\" string")?;
    let Some(target) = target_of(url)? else {
        return Ok(None);
    };
    Ok(Some(Request {
        method: method.as_bytes().to_vec(),
        target: Some(target.into_bytes()),
        upgrade: is_upgrade(entry, request),
        at,
    }))
}

/// The origin-form target (`/path?query`) of an absolute URL; the fragment never leaves
/// the browser.
fn target_of(url: &str) -> Result<Option<String>, String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return if url.contains(':') {
            Ok(None)
        } else {
            // Said without the query's credentials (SPEC rule 9).
            let shown = Redactor::default().target(url.as_bytes()).into_owned();
            Err(format!(
                "url {:?} is not absolute",
                String::from_utf8_lossy(&shown)
            ))
        };
    };
    if !matches!(scheme, "http" | "https" | "ws" | "wss") {
        return Ok(None);
    }
    let target = rest
        .find(['/', '?'])
        .and_then(|i| rest.get(i..))
        .unwrap_or("/");
    let target = target.split('#').next().unwrap_or(target);
    // `http://host?q` is sent as `/?q`.
    Ok(Some(match target.strip_prefix('?') {
        Some(query) => format!("/?{query}"),
        None => target.to_owned(),
    }))
}

/// A WebSocket entry: Chromium marks it `_resourceType: "websocket"` and records the
/// handshake's `Upgrade` header and its 101; any of those counts.
fn is_upgrade(entry: &Value, request: &Value) -> bool {
    let resource = entry.get("_resourceType").and_then(Value::as_str);
    let status = entry
        .get("response")
        .and_then(|r| r.get("status"))
        .and_then(Value::as_u64);
    let header = request
        .get("headers")
        .and_then(Value::as_array)
        .is_some_and(|headers| {
            headers.iter().any(|h| {
                h.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case("upgrade"))
                    && h.get("value")
                        .and_then(Value::as_str)
                        .is_some_and(|v| !v.is_empty())
            })
        });
    resource == Some("websocket") || status == Some(101) || header
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic, clippy::indexing_slicing, clippy::unwrap_used)]
    use super::*;

    fn records(text: &str) -> Result<Vec<Result<Request, BadRecord>>, String> {
        let mut out = Vec::new();
        read(text.as_bytes(), |r| match r {
            Record::Request(r) => out.push(Ok(r)),
            Record::Bad(b) => out.push(Err(b)),
            Record::BeforeFilters => {}
        })?;
        Ok(out)
    }

    #[test]
    fn entries_become_requests() {
        let har = r#"{"log":{"version":"1.2","creator":{"name":"x"},"entries":[
          {"request":{"method":"GET","url":"http://gw:10001/dash/x?a=1#frag","headers":[]},"response":{"status":200}},
          {"_resourceType":"websocket","request":{"method":"GET","url":"ws://gw:10001/sockets/1/demo","headers":[]},"response":{"status":101}},
          {"request":{"method":"GET","url":"data:image/png;base64,AAAA"}},
          {"request":{"method":"POST","url":"https://gw","headers":[{"name":"Upgrade","value":"websocket"}]}},
          {"request":{"url":"http://gw/x"}},
          7
        ]},"extra":[1,2]}"#;
        let got = records(har).unwrap();
        let req = |m: &str, t: &str, upgrade, at| {
            Ok(Request {
                method: m.as_bytes().to_vec(),
                target: Some(t.as_bytes().to_vec()),
                upgrade,
                at,
            })
        };
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(got[0], req("GET", "/dash/x?a=1", false, 1));
        assert_eq!(got[1], req("GET", "/sockets/1/demo", true, 2));
        assert_eq!(got[2], req("POST", "/", true, 4));
        assert_eq!(got[3].as_ref().map_err(|b| b.at), Err(5));
        assert_eq!(got[4].as_ref().map_err(|b| b.at), Err(6));
    }

    #[test]
    fn a_file_that_is_not_a_har_is_an_error() {
        for text in [
            "",
            "{\"log\":{}}",
            "[1]",
            "{\"log\":{\"entries\":[}}",
            "{\"log\":{\"entries\":[]}} x",
        ] {
            assert!(records(text).is_err(), "{text}");
        }
        assert_eq!(records("{\"log\":{\"entries\":[]}}").unwrap(), vec![]);
    }
}
