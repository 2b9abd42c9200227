//! A deliberately small HTTP/1.1 request reader. Hand-rolled so that the request target is
//! kept exactly as it arrived on the wire: a library parser would validate or decode it, and
//! the whole point of this upstream is to show what got past the proxy.

use std::io::{self, BufRead, Read};

/// Caps that keep a misbehaving client from exhausting memory.
const MAX_HEAD_BYTES: usize = 256 * 1024;
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

pub struct Request {
    pub method: Vec<u8>,
    /// The request target, byte-exact: path and query, nothing decoded.
    pub target: Vec<u8>,
    pub version: Vec<u8>,
    /// Every header line in arrival order, repeats kept, names as sent.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Vec<u8>,
}

pub enum Incoming {
    Request(Request),
    /// The peer closed the connection between requests.
    Closed,
    /// Not HTTP/1.x as we understand it; the head is kept for the log.
    Malformed {
        reason: &'static str,
        head: Vec<u8>,
    },
}

impl Request {
    /// The first value of a header, name compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }

    /// Whether a comma-separated header (any of its lines) holds `token`.
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .flat_map(|(_, v)| v.split(|&b| b == b','))
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    }

    /// The target up to the first `?`.
    pub fn path(&self) -> &[u8] {
        match self.target.iter().position(|&b| b == b'?') {
            Some(i) => self.target.get(..i).unwrap_or_default(),
            None => &self.target,
        }
    }

    /// The target after the first `?`, if there is one.
    pub fn query(&self) -> Option<&[u8]> {
        let i = self.target.iter().position(|&b| b == b'?')?;
        self.target.get(i + 1..)
    }

    pub fn keep_alive(&self) -> bool {
        if self.version.eq_ignore_ascii_case(b"HTTP/1.0") {
            self.header_has_token("connection", "keep-alive")
        } else {
            !self.header_has_token("connection", "close")
        }
    }
}

/// Reads one line including its `\n`, counting against the head budget.
fn read_line(reader: &mut impl BufRead, budget: &mut usize) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let n = reader
        .take(u64::try_from(*budget).unwrap_or(u64::MAX))
        .read_until(b'\n', &mut line)?;
    *budget = budget.saturating_sub(n);
    Ok(line)
}

fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

pub fn read_request(reader: &mut impl BufRead) -> io::Result<Incoming> {
    let mut budget = MAX_HEAD_BYTES;
    let mut head = Vec::new();

    // RFC 9112 lets a server ignore empty lines before the request line.
    let request_line = loop {
        let line = read_line(reader, &mut budget)?;
        if line.is_empty() {
            return Ok(Incoming::Closed);
        }
        head.extend_from_slice(&line);
        if !strip_eol(&line).is_empty() {
            break line;
        }
    };
    if !request_line.ends_with(b"\n") {
        return Ok(Incoming::Malformed {
            reason: "request head too long or truncated",
            head,
        });
    }

    // The target is everything between the first and the last space, so whatever bytes
    // the proxy let through (even a space) are recorded rather than refused.
    let line = strip_eol(&request_line);
    let (Some(first), Some(last)) = (
        line.iter().position(|&b| b == b' '),
        line.iter().rposition(|&b| b == b' '),
    ) else {
        return Ok(Incoming::Malformed {
            reason: "request line without spaces",
            head,
        });
    };
    let (Some(method), Some(target), Some(version)) = (
        line.get(..first),
        line.get(first + 1..last),
        line.get(last + 1..),
    ) else {
        return Ok(Incoming::Malformed {
            reason: "request line has fewer than three parts",
            head,
        });
    };
    if first == last || !version.starts_with(b"HTTP/1.") {
        return Ok(Incoming::Malformed {
            reason: "not an HTTP/1.x request line",
            head,
        });
    }
    let (method, target, version) = (method.to_vec(), target.to_vec(), version.to_vec());

    let mut headers = Vec::new();
    loop {
        let line = read_line(reader, &mut budget)?;
        head.extend_from_slice(&line);
        if !line.ends_with(b"\n") {
            return Ok(Incoming::Malformed {
                reason: "request head too long or truncated",
                head,
            });
        }
        let line = strip_eol(&line);
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Ok(Incoming::Malformed {
                reason: "header line without a colon",
                head,
            });
        };
        let name = line.get(..colon).unwrap_or_default();
        let value = line.get(colon + 1..).unwrap_or_default().trim_ascii();
        headers.push((name.to_vec(), value.to_vec()));
    }

    let mut request = Request {
        method,
        target,
        version,
        headers,
        body: Vec::new(),
    };
    match read_body(reader, &request) {
        Ok(body) => request.body = body,
        Err(reason) => return Ok(Incoming::Malformed { reason, head }),
    }
    Ok(Incoming::Request(request))
}

fn parse_usize(bytes: &[u8], radix: u32) -> Option<usize> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    usize::from_str_radix(text, radix).ok()
}

fn read_exact_vec(reader: &mut impl BufRead, len: usize) -> Result<Vec<u8>, &'static str> {
    let mut body = vec![0; len];
    reader
        .read_exact(&mut body)
        .map_err(|_| "body shorter than announced")?;
    Ok(body)
}

fn read_body(reader: &mut impl BufRead, request: &Request) -> Result<Vec<u8>, &'static str> {
    if request.header_has_token("transfer-encoding", "chunked") {
        return read_chunked(reader);
    }
    let Some(length) = request.header("content-length") else {
        return Ok(Vec::new());
    };
    let length = parse_usize(length, 10).ok_or("bad content-length")?;
    if length > MAX_BODY_BYTES {
        return Err("body too large");
    }
    read_exact_vec(reader, length)
}

fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>, &'static str> {
    let mut body = Vec::new();
    let mut budget = MAX_HEAD_BYTES;
    loop {
        let line = read_line(reader, &mut budget).map_err(|_| "bad chunk size line")?;
        let size_field = strip_eol(&line)
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default();
        let size = parse_usize(size_field, 16).ok_or("bad chunk size")?;
        if body.len() + size > MAX_BODY_BYTES {
            return Err("body too large");
        }
        if size == 0 {
            // Trailer section: skip lines up to the empty one.
            loop {
                let line = read_line(reader, &mut budget).map_err(|_| "bad trailer")?;
                if line.is_empty() || strip_eol(&line).is_empty() {
                    return Ok(body);
                }
            }
        }
        body.extend(read_exact_vec(reader, size)?);
        let end = read_line(reader, &mut budget).map_err(|_| "missing chunk end")?;
        if !strip_eol(&end).is_empty() {
            return Err("chunk data longer than its size");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(wire: &[u8]) -> Request {
        match read_request(&mut io::BufReader::new(wire)).unwrap() {
            Incoming::Request(r) => r,
            _ => panic!("not a request"),
        }
    }

    #[test]
    fn keeps_target_bytes_and_header_order() {
        let r =
            parse(b"GET /a/%2e%2E/b\xff?x=1&x=2 HTTP/1.1\r\nX-A: 1\r\nx-a:  2 \r\nHost: h\r\n\r\n");
        assert_eq!(r.target, b"/a/%2e%2E/b\xff?x=1&x=2");
        assert_eq!(r.path(), b"/a/%2e%2E/b\xff");
        assert_eq!(r.query(), Some(&b"x=1&x=2"[..]));
        let names: Vec<_> = r
            .headers
            .iter()
            .map(|(n, v)| (n.as_slice(), v.as_slice()))
            .collect();
        assert_eq!(
            names,
            [(&b"X-A"[..], &b"1"[..]), (b"x-a", b"2"), (b"Host", b"h")]
        );
        assert!(r.keep_alive());
    }

    #[test]
    fn reads_chunked_and_sized_bodies() {
        let r = parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n");
        assert_eq!(r.body, b"abcde");
        let r = parse(b"POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nok");
        assert_eq!(r.body, b"ok");
        assert!(!r.keep_alive());
    }

    #[test]
    fn reports_closed_and_malformed() {
        let mut empty = io::BufReader::new(&b""[..]);
        assert!(matches!(
            read_request(&mut empty).unwrap(),
            Incoming::Closed
        ));
        let mut bad = io::BufReader::new(&b"NONSENSE\r\n\r\n"[..]);
        assert!(matches!(
            read_request(&mut bad).unwrap(),
            Incoming::Malformed { .. }
        ));
    }
}
