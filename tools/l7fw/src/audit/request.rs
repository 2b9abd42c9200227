//! One request as the audit replays it, whatever file it came from.

/// What the filter reads of a request: the method, the path the client sent (with its
/// query), and whether it asked for an upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Vec<u8>,
    /// `None` when the capture recorded no path (the filter rejects that as `missing_path`).
    pub target: Option<Vec<u8>>,
    pub upgrade: bool,
    /// Where it was read: the line of an access log, the entry of a HAR file (1-based).
    pub at: u64,
}

/// A record the audit cannot read, reported with where it is and skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    pub at: u64,
    pub problem: String,
}

/// What a reader hands over, one record at a time, so nothing accumulates.
pub enum Record {
    Request(Request),
    Bad(BadRecord),
    /// A well-formed access-log line without a method: Envoy answered before any filter
    /// ran (a codec error), so there is nothing to replay. Counted, not an error.
    BeforeFilters,
}

/// An optional string field as access logs write it: JSON null, absent, or Envoy's `-`.
pub fn present(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty() && *v != "-")
}
