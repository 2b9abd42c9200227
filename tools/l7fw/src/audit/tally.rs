//! What one configuration decides on the replayed requests: counts per outcome, and the
//! requests not forwarded unchanged, grouped by outcome and shared path prefix. Memory is
//! bounded by the number of groups, never by the number of requests.

use super::request::Request;
use cobrowse_l7_firewall::log_escape::escape;
use cobrowse_l7_firewall::outcome::{detail, Outcome};
use cobrowse_l7_firewall::Firewall;
use std::collections::HashMap;

/// New groups beyond this many are counted together as "(other prefixes)".
const MAX_GROUPS: usize = 10_000;
/// Bytes of an example target kept for the report.
const EXAMPLE_BYTES: usize = 256;

pub struct Tally {
    pub firewall: Firewall,
    /// Requests per outcome, indexed like `OUTCOMES`.
    pub counts: [u64; 5],
    groups: HashMap<(String, Vec<u8>), Group>,
    depth: usize,
}

pub const OUTCOMES: [Outcome; 5] = [
    Outcome::Allowed,
    Outcome::Rewritten,
    Outcome::Denied,
    Outcome::Rejected,
    Outcome::MethodNotAllowed,
];

/// Requests sharing an outcome and their first `depth` path segments.
pub struct Group {
    /// `outcome:group-or-reason`, as the filter logs it.
    pub label: String,
    pub count: u64,
    /// The longest path prefix, on segment boundaries, that all of them share.
    pub prefix: Vec<u8>,
    pub example: String,
}

impl Tally {
    pub fn new(firewall: Firewall, depth: usize) -> Tally {
        Tally {
            firewall,
            counts: [0; 5],
            groups: HashMap::new(),
            depth,
        }
    }

    /// Decides `request` with the module's own code and counts it. `origin` names where it
    /// came from and is called only for the first request of a group.
    pub fn add(&mut self, request: &Request, origin: impl FnOnce() -> String) {
        let decision = self.firewall.policy.decide_request(
            &request.method,
            request.target.as_deref(),
            request.upgrade,
        );
        let outcome = Outcome::of(&decision);
        if let Some(slot) = OUTCOMES
            .iter()
            .position(|o| *o == outcome)
            .and_then(|i| self.counts.get_mut(i))
        {
            *slot += 1;
        }
        if outcome == Outcome::Allowed {
            return;
        }
        let label = format!(
            "{}:{}",
            outcome.as_str(),
            detail(&self.firewall.policy, &decision)
        );
        let path = request.target.as_deref().map(path_of).unwrap_or_default();
        let mut key = (label, first_segments(path, self.depth).to_vec());
        if self.groups.len() >= MAX_GROUPS && !self.groups.contains_key(&key) {
            key.1 = b"(other prefixes)".to_vec();
        }
        match self.groups.get_mut(&key) {
            Some(group) => {
                group.count += 1;
                let keep = shared_prefix(&group.prefix, path);
                group.prefix.truncate(keep);
            }
            None => {
                let example = format!(
                    "{} \"{}\"{} ({})",
                    escape(&request.method, 32),
                    request
                        .target
                        .as_deref()
                        .map_or_else(|| "(no path)".to_owned(), |t| escape(t, EXAMPLE_BYTES)),
                    if request.upgrade { " [upgrade]" } else { "" },
                    origin(),
                );
                let group = Group {
                    label: key.0.clone(),
                    count: 1,
                    prefix: if key.1.starts_with(b"(") {
                        Vec::new()
                    } else {
                        path.to_vec()
                    },
                    example,
                };
                self.groups.insert(key, group);
            }
        }
    }

    pub fn count(&self, outcome: Outcome) -> u64 {
        OUTCOMES
            .iter()
            .position(|o| *o == outcome)
            .and_then(|i| self.counts.get(i))
            .copied()
            .unwrap_or(0)
    }

    pub fn requests(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn refused(&self) -> u64 {
        self.count(Outcome::Denied)
            + self.count(Outcome::Rejected)
            + self.count(Outcome::MethodNotAllowed)
    }

    /// The groups of `outcomes`, most requests first (ties by label and prefix, so the
    /// report is stable).
    pub fn groups(&self, outcomes: &[Outcome]) -> Vec<&Group> {
        let mut groups: Vec<&Group> = self
            .groups
            .values()
            .filter(|g| {
                outcomes
                    .iter()
                    .any(|o| g.label.split(':').next() == Some(o.as_str()))
            })
            .collect();
        groups.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.label.cmp(&b.label))
                .then_with(|| a.prefix.cmp(&b.prefix))
        });
        groups
    }
}

/// The path of a target: everything before the first `?`.
fn path_of(target: &[u8]) -> &[u8] {
    target.split(|b| *b == b'?').next().unwrap_or(target)
}

/// `/a/b/c/d` with depth 2 is `/a/b`: the key requests are grouped by.
fn first_segments(path: &[u8], depth: usize) -> &[u8] {
    let end = path
        .iter()
        .enumerate()
        .filter(|(i, b)| **b == b'/' && *i > 0)
        .nth(depth.saturating_sub(1))
        .map_or(path.len(), |(i, _)| i);
    path.get(..end).unwrap_or(path)
}

/// The length of the longest prefix of `a` and `b` that ends on a segment boundary.
fn shared_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let boundary = |s: &[u8]| s.len() == n || s.get(n) == Some(&b'/');
    if boundary(a) && boundary(b) {
        n
    } else {
        a.get(..n)
            .and_then(|common| common.iter().rposition(|c| *c == b'/'))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic, clippy::indexing_slicing, clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_and_shared_prefixes_fall_on_segment_boundaries() {
        assert_eq!(first_segments(b"/api/2/devices/7", 3), b"/api/2/devices");
        assert_eq!(first_segments(b"/api/2/devices/7", 2), b"/api/2");
        assert_eq!(first_segments(b"/admin", 3), b"/admin");
        assert_eq!(first_segments(b"/", 3), b"/");
        assert_eq!(shared_prefix(b"/api/2/devices/7", b"/api/2/devices/8"), 14);
        assert_eq!(shared_prefix(b"/api/2/devices", b"/api/2/devicesX"), 6);
        assert_eq!(shared_prefix(b"/api/2/devices", b"/api/2/devices/1"), 14);
        assert_eq!(shared_prefix(b"/a", b"/b"), 0);
    }

    #[test]
    fn groups_carry_counts_prefix_and_first_example() {
        let fw = cobrowse_l7_firewall::load(br#"{"groups":["sdk"]}"#).unwrap();
        let mut tally = Tally::new(fw, 3);
        let req = |t: &str, at| Request {
            method: b"GET".to_vec(),
            target: Some(t.as_bytes().to_vec()),
            upgrade: false,
            at,
        };
        for (i, t) in [
            "/api/2/devices/1?x",
            "/api/1/devices",
            "/api/2/devices/2/a",
            "/api/1/x;y",
        ]
        .iter()
        .enumerate()
        {
            let at = i as u64 + 1;
            tally.add(&req(t, at), || format!("line {at}"));
        }
        assert_eq!((tally.requests(), tally.refused()), (4, 3));
        let groups = tally.groups(&[Outcome::Denied, Outcome::Rejected]);
        let rows: Vec<(&str, u64, &[u8], &str)> = groups
            .iter()
            .map(|g| {
                (
                    g.label.as_str(),
                    g.count,
                    g.prefix.as_slice(),
                    g.example.as_str(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                (
                    "denied:not_covered",
                    2,
                    &b"/api/2/devices"[..],
                    "GET \"/api/2/devices/1?x\" (line 1)"
                ),
                (
                    "rejected:semicolon",
                    1,
                    &b"/api/1/x;y"[..],
                    "GET \"/api/1/x;y\" (line 4)"
                ),
            ]
        );
    }
}
