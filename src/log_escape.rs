//! Request bytes made safe for one log line: printable ASCII kept, the rest escaped,
//! long input truncated, so a hostile path can neither forge lines nor flood the log.

use std::fmt::Write;

/// Escapes `bytes` as `\xNN` where not printable ASCII (and `\`, `"`), showing at most
/// `max` input bytes and saying how many were left out.
pub fn escape(bytes: &[u8], max: usize) -> String {
    let shown = bytes.get(..max).unwrap_or(bytes);
    let mut out = String::with_capacity(shown.len() + 16);
    for &b in shown {
        match b {
            b'\\' | b'"' => {
                let _ = write!(out, "\\x{b:02x}");
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    if bytes.len() > shown.len() {
        let _ = write!(out, "...(+{} bytes)", bytes.len() - shown.len());
    }
    out
}
