//! Layer 0 of the canonical-path rule: one pass over the bytes as they arrived, no
//! allocation. Refuses every non-canonical byte, segment and escape; reports whether the
//! path holds an escape at all, since only then can a decode reveal more.

use super::utf8::Utf8;
use super::RejectReason;

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

/// Checks layer 0; `Ok(true)` when the path holds an escape.
pub fn check(path: &[u8]) -> Result<bool, RejectReason> {
    match path.first() {
        None => return Err(RejectReason::EmptyPath),
        Some(b'/') => {}
        Some(_) => return Err(RejectReason::NoLeadingSlash),
    }
    let mut utf8 = Utf8::default();
    let mut escaped = false;
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
                escaped = true;
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
        Some(s) if is_dots(s) => Err(RejectReason::DotSegment),
        _ => Ok(escaped),
    }
}

/// A segment between two slashes: neither empty (`//`) nor made of dots only.
fn check_segment(segment: Option<&[u8]>) -> Result<(), RejectReason> {
    match segment {
        Some(b"") => Err(RejectReason::DoubleSlash),
        Some(s) if is_dots(s) => Err(RejectReason::DotSegment),
        _ => Ok(()),
    }
}

/// `.`, `..`, and `...` and longer: some servers (Windows-family) read trailing dots away.
fn is_dots(segment: &[u8]) -> bool {
    !segment.is_empty() && segment.iter().all(|&b| b == b'.')
}

/// The byte a `%XX` at `i` encodes.
pub fn percent_byte(path: &[u8], i: usize) -> Result<u8, RejectReason> {
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
        // `%25` is a literal `%`: refused at once where a second decode would reveal one of
        // the above or another `%` (`%252e`, `%25252f`), reading the two characters after
        // it decoded too, since they may be escaped themselves (`%25%32%65`). Everything
        // else a second decode reveals is left to `layers`; refusing `%2525` here keeps
        // the decoded layers at most two deep.
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

pub fn hex(b: &u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
