//! Refuses hostile or non-canonical request paths before any matching (SPEC rule 6).
//!
//! One pass over the bytes of the path (the query already split off), no allocation.
//! The checks do not rely on Envoy's normalization: they hold with it switched off.

/// Why a path was refused with 400. `as_str` names appear in logs, metrics-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    MissingPath,
    EmptyPath,
    NoLeadingSlash,
    DoubleSlash,
    DotSegment,
    EncodedDot,
    EncodedSlash,
    EncodedBackslash,
    DoubleEncoded,
    BadPercentEncoding,
    EncodedControl,
    InvalidUtf8,
    Backslash,
    Fragment,
    Semicolon,
    Space,
    ControlByte,
    NonAscii,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::MissingPath => "missing_path",
            RejectReason::EmptyPath => "empty_path",
            RejectReason::NoLeadingSlash => "no_leading_slash",
            RejectReason::DoubleSlash => "double_slash",
            RejectReason::DotSegment => "dot_segment",
            RejectReason::EncodedDot => "encoded_dot",
            RejectReason::EncodedSlash => "encoded_slash",
            RejectReason::EncodedBackslash => "encoded_backslash",
            RejectReason::DoubleEncoded => "double_encoded",
            RejectReason::BadPercentEncoding => "bad_percent_encoding",
            RejectReason::EncodedControl => "encoded_control",
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::Backslash => "backslash",
            RejectReason::Fragment => "fragment",
            RejectReason::Semicolon => "semicolon",
            RejectReason::Space => "space",
            RejectReason::ControlByte => "control_byte",
            RejectReason::NonAscii => "non_ascii",
        }
    }
}

/// Splits a `:path` at its first `?`: (path, query including the `?`, or empty).
pub fn split_query(target: &[u8]) -> (&[u8], &[u8]) {
    match target.iter().position(|&b| b == b'?') {
        Some(i) => target.split_at(i),
        None => (target, &[]),
    }
}

/// Bytes that need no attention: ASCII graphic characters other than `/`, `%`, `\`, `#`, `;`.
// Evaluated at compile time for `PLAIN`: an index out of bounds fails the build, it
// cannot trap at run time.
#[allow(clippy::indexing_slicing)]
const fn plain_bytes() -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0x21;
    while b < 0x7f {
        table[b] = !matches!(b as u8, b'/' | b'%' | b'\\' | b'#' | b';');
        b += 1;
    }
    table
}

static PLAIN: [bool; 256] = plain_bytes();

fn is_plain(b: u8) -> bool {
    // In bounds for every u8; `get` keeps the no-panic lint honest at no cost.
    PLAIN.get(usize::from(b)).copied().unwrap_or(false)
}

/// Accepts a canonical path (no query) or says why not.
pub fn check_path(path: &[u8]) -> Result<(), RejectReason> {
    match path.first() {
        None => return Err(RejectReason::EmptyPath),
        Some(b'/') => {}
        Some(_) => return Err(RejectReason::NoLeadingSlash),
    }
    let mut utf8 = Utf8::default();
    let mut segment_start = 1;
    let mut i = 1;
    while let Some(&b) = path.get(i) {
        if is_plain(b) {
            i += 1;
            continue;
        }
        match b {
            b'/' => {
                check_segment(path.get(segment_start..i))?;
                segment_start = i + 1;
                i += 1;
            }
            b'%' => {
                let decoded = percent_byte(path, i)?;
                check_decoded(path, i, decoded)?;
                if decoded >= 0x80 || utf8.pending > 0 {
                    utf8.feed(decoded)?;
                }
                i += 3;
                // An encoded UTF-8 sequence goes on with the next escape, nothing else.
                if utf8.pending > 0 && path.get(i) != Some(&b'%') {
                    return Err(RejectReason::InvalidUtf8);
                }
            }
            b'\\' => return Err(RejectReason::Backslash),
            b'#' => return Err(RejectReason::Fragment),
            b';' => return Err(RejectReason::Semicolon),
            b' ' => return Err(RejectReason::Space),
            0x80..=0xff => return Err(RejectReason::NonAscii),
            _ => return Err(RejectReason::ControlByte),
        }
    }
    utf8.at_boundary()?;
    // The last segment: `/a/..` is as hostile as `/a/../`. An empty one is a trailing slash.
    match path.get(segment_start..) {
        Some(b".") | Some(b"..") => Err(RejectReason::DotSegment),
        _ => Ok(()),
    }
}

/// A segment between two slashes: neither empty (`//`) nor `.` nor `..`.
fn check_segment(segment: Option<&[u8]>) -> Result<(), RejectReason> {
    match segment {
        Some(b"") => Err(RejectReason::DoubleSlash),
        Some(b".") | Some(b"..") => Err(RejectReason::DotSegment),
        _ => Ok(()),
    }
}

/// The byte a `%XX` at `i` encodes.
fn percent_byte(path: &[u8], i: usize) -> Result<u8, RejectReason> {
    match (path.get(i + 1).and_then(hex), path.get(i + 2).and_then(hex)) {
        (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
        _ => Err(RejectReason::BadPercentEncoding),
    }
}

/// Encoded bytes that change the path's meaning once an upstream decodes them.
fn check_decoded(path: &[u8], i: usize, decoded: u8) -> Result<(), RejectReason> {
    match decoded {
        b'.' => Err(RejectReason::EncodedDot),
        b'/' => Err(RejectReason::EncodedSlash),
        b'\\' => Err(RejectReason::EncodedBackslash),
        0x00..=0x1f | 0x7f => Err(RejectReason::EncodedControl),
        // `%25` is a literal `%`: refuse it where a second decode would reveal one of the
        // above or another `%` (`%252e`, `%25252f`), reading the two characters after it
        // decoded too, since they may be escaped themselves (`%25%32%65`).
        b'%' => {
            let (first, next) = decoded_at(path, i + 3);
            let (second, _) = decoded_at(path, next);
            let twice = match (first, second) {
                (Some(a), Some(b)) => matches!(
                    (a.to_ascii_lowercase(), b.to_ascii_lowercase()),
                    (b'2', b'e') | (b'2', b'f') | (b'5', b'c') | (b'2', b'5')
                ),
                _ => false,
            };
            if twice {
                Err(RejectReason::DoubleEncoded)
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// The character at `j` after one decode, and where the next one starts.
fn decoded_at(path: &[u8], j: usize) -> (Option<u8>, usize) {
    match path.get(j) {
        Some(b'%') => match percent_byte(path, j) {
            Ok(b) => (Some(b), j + 3),
            Err(_) => (None, j + 1),
        },
        Some(&b) => (Some(b), j + 1),
        None => (None, j),
    }
}

fn hex(b: &u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A streaming UTF-8 validator for percent-decoded bytes (Unicode Table 3-7):
/// refuses overlong forms, surrogates and code points past U+10FFFF.
#[derive(Default)]
struct Utf8 {
    /// Continuation bytes still expected.
    pending: u8,
    /// The range the next continuation byte must fall in.
    low: u8,
    high: u8,
}

impl Utf8 {
    fn feed(&mut self, b: u8) -> Result<(), RejectReason> {
        if self.pending > 0 {
            if b < self.low || b > self.high {
                return Err(RejectReason::InvalidUtf8);
            }
            self.pending -= 1;
            (self.low, self.high) = (0x80, 0xbf);
            return Ok(());
        }
        (self.pending, self.low, self.high) = match b {
            0xc2..=0xdf => (1, 0x80, 0xbf),
            0xe0 => (2, 0xa0, 0xbf),
            0xe1..=0xec | 0xee..=0xef => (2, 0x80, 0xbf),
            0xed => (2, 0x80, 0x9f),
            0xf0 => (3, 0x90, 0xbf),
            0xf1..=0xf3 => (3, 0x80, 0xbf),
            0xf4 => (3, 0x80, 0x8f),
            _ => return Err(RejectReason::InvalidUtf8),
        };
        Ok(())
    }

    fn at_boundary(&self) -> Result<(), RejectReason> {
        if self.pending == 0 {
            Ok(())
        } else {
            Err(RejectReason::InvalidUtf8)
        }
    }
}
