//! Refuses hostile or non-canonical request paths before any matching (SPEC rules 6, 6a).
//!
//! Two rules, both closed under decoding: whatever a path reveals when it is percent-decoded
//! once or any number of times is checked like what it shows at first.
//! - `check_path`, everywhere: the path must be canonical. Layer 0 is one pass over the
//!   bytes without allocation (`raw`); only a path holding an escape is decoded further
//!   (`layers`), so a path without `%` costs a single scan.
//! - `check_opaque_tail`, below a prefix that carries data (a third-party URL): anything
//!   may be escaped, but no layer may climb, hold a control byte or invalid UTF-8.
//!
//! - `check_query`, on every route: the query is data, but only bytes an HTTP/1.1 request
//!   line may carry, so that every protocol gets the same answer.
//!
//! Neither relies on Envoy's normalization: both hold with it switched off.

mod layers;
pub mod lookalike;
mod query;
mod raw;
mod utf8;

/// Why a path was refused with 400. `as_str` names appear in logs and `l7fw explain`.
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
    /// A second (or later) decode reveals something the first layer refuses.
    DoubleEncoded,
    BadPercentEncoding,
    EncodedControl,
    InvalidUtf8,
    /// An encoded character that compatibility normalization (NFKC) turns into `.`, `/`
    /// or `\` (fullwidth forms, dot leaders).
    Lookalike,
    Backslash,
    Fragment,
    Semicolon,
    Space,
    ControlByte,
    NonAscii,
    /// The query holds a byte no HTTP/1.1 request line may carry: a control byte, space,
    /// DEL or a raw byte 0x80-0xff. HTTP/2's codec lets them through; the others refuse.
    QueryByte,
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
            RejectReason::Lookalike => "lookalike",
            RejectReason::Backslash => "backslash",
            RejectReason::Fragment => "fragment",
            RejectReason::Semicolon => "semicolon",
            RejectReason::Space => "space",
            RejectReason::ControlByte => "control_byte",
            RejectReason::NonAscii => "non_ascii",
            RejectReason::QueryByte => "query_byte",
        }
    }

    /// Every reason, for tables and tools.
    pub const ALL: [RejectReason; 20] = [
        RejectReason::MissingPath,
        RejectReason::EmptyPath,
        RejectReason::NoLeadingSlash,
        RejectReason::DoubleSlash,
        RejectReason::DotSegment,
        RejectReason::EncodedDot,
        RejectReason::EncodedSlash,
        RejectReason::EncodedBackslash,
        RejectReason::DoubleEncoded,
        RejectReason::BadPercentEncoding,
        RejectReason::EncodedControl,
        RejectReason::InvalidUtf8,
        RejectReason::Lookalike,
        RejectReason::Backslash,
        RejectReason::Fragment,
        RejectReason::Semicolon,
        RejectReason::Space,
        RejectReason::ControlByte,
        RejectReason::NonAscii,
        RejectReason::QueryByte,
    ];
}

/// Splits a `:path` at its first `?`: (path, query including the `?`, or empty).
pub fn split_query(target: &[u8]) -> (&[u8], &[u8]) {
    match target.iter().position(|&b| b == b'?') {
        Some(i) => target.split_at(i),
        None => (target, &[]),
    }
}

/// Accepts a canonical path (no query) or says why not (SPEC rule 6).
pub fn check_path(path: &[u8]) -> Result<(), RejectReason> {
    let escaped = raw::check(path)?;
    if escaped {
        layers::check_decoded(path)?;
    }
    Ok(())
}

/// Accepts a query (from its `?`, or empty) that an HTTP/1.1 request line could carry:
/// printable ASCII only (SPEC rule 6). Escapes are data and are not decoded.
pub fn check_query(query: &[u8]) -> Result<(), RejectReason> {
    if query::is_printable_ascii(query) {
        Ok(())
    } else {
        Err(RejectReason::QueryByte)
    }
}

/// Accepts what follows an opaque prefix (`/cart;jsessionid=A1`, `/a%2Fb`) or says why
/// not (SPEC rule 6a). The prefix itself has been matched on a segment boundary.
pub fn check_opaque_tail(tail: &[u8]) -> Result<(), RejectReason> {
    layers::check_opaque(tail)
}
