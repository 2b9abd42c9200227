//! Envoy access logs in the shipped JSON format: one object per line, read line by line
//! into one reused buffer, so memory does not grow with the file.

use super::request::{present, BadRecord, Record, Request};
use serde::Deserialize;
use std::io::BufRead;

/// The keys the audit needs; the others (`decision`, `response_code`, …) are informational.
#[derive(Deserialize)]
struct Line {
    method: Option<String>,
    path: Option<String>,
    /// The client's path when the filter rewrote it (SPA); the filter decides on this one.
    original_path: Option<String>,
    upgrade: Option<String>,
}

/// Calls `each` for every line of `input`; stops only on an I/O error.
pub fn read(mut input: impl BufRead, mut each: impl FnMut(Record)) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut number: u64 = 0;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        number += 1;
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        each(parse(line, number));
    }
}

fn parse(line: &[u8], at: u64) -> Record {
    let bad = |problem: String| Record::Bad(BadRecord { at, problem });
    let parsed: Line = match serde_json::from_slice(line) {
        Ok(parsed) => parsed,
        Err(e) => return bad(format!("not an access-log JSON object: {e}")),
    };
    let Some(method) = present(parsed.method.as_deref()) else {
        return Record::BeforeFilters;
    };
    let target = present(parsed.original_path.as_deref()).or(present(parsed.path.as_deref()));
    Record::Request(Request {
        method: method.as_bytes().to_vec(),
        target: target.map(|t| t.as_bytes().to_vec()),
        upgrade: present(parsed.upgrade.as_deref()).is_some(),
        at,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic, clippy::indexing_slicing)]
    use super::*;

    fn records(text: &str) -> Vec<Result<Request, BadRecord>> {
        let mut out = Vec::new();
        read(text.as_bytes(), |r| match r {
            Record::Request(r) => out.push(Ok(r)),
            Record::Bad(b) => out.push(Err(b)),
            Record::BeforeFilters => {}
        })
        .unwrap_or_else(|e| panic!("{e}"));
        out
    }

    #[test]
    fn original_path_wins_and_dash_means_absent() {
        let got = records(concat!(
            r#"{"method":"GET","path":"/index.html?a=1","original_path":"/dash?a=1","upgrade":null}"#,
            "\n",
            r#"{"method":"GET","path":"/sockets/1/x","original_path":"-","upgrade":"websocket"}"#,
            "\n\n",
            r#"{"method":"POST","path":null}"#,
            "\n",
        ));
        let want = |m: &str, t: Option<&str>, upgrade, at| {
            Ok(Request {
                method: m.as_bytes().to_vec(),
                target: t.map(|t| t.as_bytes().to_vec()),
                upgrade,
                at,
            })
        };
        assert_eq!(
            got,
            vec![
                want("GET", Some("/dash?a=1"), false, 1),
                want("GET", Some("/sockets/1/x"), true, 2),
                want("POST", None, false, 4),
            ]
        );
    }

    #[test]
    fn bad_lines_carry_their_number() {
        let got = records(concat!(
            "{\"method\":\"GET\",\"path\":\"/a\"}\n",
            "not json\n",
            "{\"method\":null,\"path\":null}\n",
            "[1]\n",
            "{\"method\":7,\"path\":\"/a\"}\n",
        ));
        let bad: Vec<u64> = got
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|b| b.at)
            .collect();
        assert_eq!(bad, vec![2, 4, 5]);
        assert_eq!(got.len(), 4, "the line without a method is not a request");
    }
}
