//! The decoded layers: what a path shows once it is percent-decoded one or more times.
//! Only paths holding an escape get here, so the allocation is paid by those alone.
//!
//! A segment is examined after splitting on `/`, `\` and their lookalikes and after
//! cutting `;parameters` away as servlet containers do (`..;x` is `..`); one made only of
//! dots and spaces is refused, since an upstream may trim trailing spaces (`.. ` is `..`).

use super::lookalike::{dots, is_lookalike, is_separator};
use super::raw::{hex, percent_byte};
use super::RejectReason;

/// Decodes examined below an opaque prefix; a tail still decodable after that many is
/// refused, as no real URL is encoded five times over.
const MAX_DECODES: usize = 4;

/// Layers 1 and deeper of a path whose layer 0 is canonical (`raw::check` passed): each
/// must be canonical too. A finding on layer 1 keeps its own name; one that takes two or
/// more decodes is `double_encoded`.
pub fn check_decoded(path: &[u8]) -> Result<(), RejectReason> {
    let mut layer = decode_strict(path)?;
    for depth in 1..=MAX_DECODES {
        let deeper = |reason| {
            if depth == 1 {
                reason
            } else {
                RejectReason::DoubleEncoded
            }
        };
        let text = std::str::from_utf8(&layer).map_err(|_| deeper(RejectReason::InvalidUtf8))?;
        if text.chars().any(is_lookalike) {
            return Err(deeper(RejectReason::Lookalike));
        }
        check_segments(text)?;
        if !layer.contains(&b'%') {
            return Ok(());
        }
        // Whatever this layer still escapes is encoded at least twice.
        layer = decode_strict(&layer).map_err(|_| RejectReason::DoubleEncoded)?;
    }
    Err(RejectReason::DoubleEncoded)
}

/// Rule 6a: below an opaque prefix, escapes are data, but no layer may climb.
pub fn check_opaque(tail: &[u8]) -> Result<(), RejectReason> {
    check_opaque_raw(tail)?;
    let mut layer = tail.to_vec();
    for depth in 0..=MAX_DECODES {
        let deeper = |reason| match depth {
            0 | 1 => reason,
            _ => RejectReason::DoubleEncoded,
        };
        let text = std::str::from_utf8(&layer).map_err(|_| deeper(RejectReason::InvalidUtf8))?;
        if text.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(deeper(RejectReason::EncodedControl));
        }
        check_segments(text)?;
        if !layer.contains(&b'%') {
            return Ok(());
        }
        let next = decode_lenient(&layer).map_err(|_| deeper(RejectReason::InvalidUtf8))?;
        if next == layer {
            return Ok(());
        }
        layer = next;
    }
    Err(RejectReason::DoubleEncoded)
}

/// Layer 0 below an opaque prefix: what a client never sends in a URL's path.
fn check_opaque_raw(tail: &[u8]) -> Result<(), RejectReason> {
    let mut i = 0;
    while let Some(&b) = tail.get(i) {
        match b {
            b'%' => {
                percent_byte(tail, i)?;
            }
            b'\\' => return Err(RejectReason::Backslash),
            b'#' => return Err(RejectReason::Fragment),
            b' ' => return Err(RejectReason::Space),
            0x80..=0xff => return Err(RejectReason::NonAscii),
            0x00..=0x1f | 0x7f => return Err(RejectReason::ControlByte),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// No segment of `text` is made of dots (or their lookalikes) and spaces only.
fn check_segments(text: &str) -> Result<(), RejectReason> {
    for segment in text.split(is_separator) {
        let name = segment.split(';').next().unwrap_or_default();
        let mut dot_count = 0;
        let only_dots_and_spaces = name.chars().all(|c| match dots(c) {
            Some(n) => {
                dot_count += n;
                true
            }
            None => c == ' ',
        });
        if only_dots_and_spaces && dot_count > 0 {
            return Err(RejectReason::DotSegment);
        }
    }
    Ok(())
}

/// One decode as a canonical path allows it: a well-formed escape of anything but `.`,
/// `/`, `\` or a control byte.
fn decode_strict(layer: &[u8]) -> Result<Vec<u8>, RejectReason> {
    let mut out = Vec::with_capacity(layer.len());
    let mut i = 0;
    while let Some(&b) = layer.get(i) {
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        let byte = percent_byte(layer, i)?;
        match byte {
            b'.' => return Err(RejectReason::EncodedDot),
            b'/' => return Err(RejectReason::EncodedSlash),
            b'\\' => return Err(RejectReason::EncodedBackslash),
            0x00..=0x1f | 0x7f => return Err(RejectReason::EncodedControl),
            _ => out.push(byte),
        }
        i += 3;
    }
    Ok(out)
}

/// One decode as the most lenient upstream would do it: `%XX`, and IIS's `%uXXXX`; a `%`
/// that starts neither is kept as it is.
fn decode_lenient(layer: &[u8]) -> Result<Vec<u8>, RejectReason> {
    let mut out = Vec::with_capacity(layer.len());
    let mut i = 0;
    while let Some(&b) = layer.get(i) {
        if b == b'%' {
            if let Ok(byte) = percent_byte(layer, i) {
                out.push(byte);
                i += 3;
                continue;
            }
            if let Some(c) = percent_u(layer, i)? {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += 6;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    Ok(out)
}

/// `%uXXXX` at `i`: the character, none when it is not that form, an error for a
/// surrogate or other non-character value.
fn percent_u(layer: &[u8], i: usize) -> Result<Option<char>, RejectReason> {
    if !matches!(layer.get(i + 1), Some(b'u' | b'U')) {
        return Ok(None);
    }
    let mut code = 0u32;
    for j in i + 2..i + 6 {
        match layer.get(j).and_then(hex) {
            Some(d) => code = code << 4 | u32::from(d),
            None => return Ok(None),
        }
    }
    char::from_u32(code)
        .map(Some)
        .ok_or(RejectReason::InvalidUtf8)
}
