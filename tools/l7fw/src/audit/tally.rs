//! What one configuration decides on the replayed requests: counts per outcome, and the
//! requests not forwarded unchanged, grouped by outcome and shared path prefix. Memory is
//! bounded by the number of groups, never by the number of requests.
//!
//! A request is first keyed by its outcome and its first `depth` path segments. When, for
//! one outcome, more than `SIBLINGS` distinct segments follow one prefix
//! (`/static/app-1.js`, `/static/app-2.js`, … or an id per request), everything below that
//! prefix is folded into one group, which later requests below it join: a scan or an id
//! segment yields one line, not thousands.

use super::request::Request;
use cobrowse_l7_firewall::log_escape::escape;
use cobrowse_l7_firewall::outcome::{detail, Outcome};
use cobrowse_l7_firewall::Firewall;
use std::collections::HashMap;

/// More distinct segments than this below one prefix fold everything below it into one group.
const SIBLINGS: usize = 10;
/// A safety net for hostile inputs: new groups beyond this many are counted together.
const MAX_GROUPS: usize = 10_000;
/// The key of the group of overflowing requests.
const OTHER: &[u8] = b"(other prefixes)";
/// Bytes of an example target kept for the report.
const EXAMPLE_BYTES: usize = 256;

pub struct Tally {
    pub firewall: Firewall,
    /// Requests per outcome, indexed like `OUTCOMES`.
    pub counts: [u64; 5],
    groups: HashMap<(String, Vec<u8>), Group>,
    /// Per outcome label and ancestor prefix: the distinct segments seen right below it
    /// (at most `SIBLINGS` + 1: then it is folded and forgotten).
    children: HashMap<(String, Vec<u8>), Vec<Vec<u8>>>,
    /// Parents whose children were folded: everything below joins the parent's group.
    folded: HashMap<String, Vec<Vec<u8>>>,
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

impl Group {
    /// Takes `other` in: counts add up, the shared prefix shortens, the example of the
    /// larger group stays.
    fn merge(&mut self, other: Group) {
        if self.prefix != OTHER {
            let keep = shared_prefix(&self.prefix, &other.prefix);
            self.prefix.truncate(keep);
        }
        if other.count > self.count {
            self.example = other.example;
        }
        self.count += other.count;
    }
}

impl Tally {
    pub fn new(firewall: Firewall, depth: usize) -> Tally {
        Tally {
            firewall,
            counts: [0; 5],
            groups: HashMap::new(),
            children: HashMap::new(),
            folded: HashMap::new(),
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
        let key = self.key_for(&label, path);
        let key = if self.groups.len() >= MAX_GROUPS
            && !self.groups.contains_key(&(label.clone(), key.clone()))
        {
            OTHER.to_vec()
        } else {
            key
        };
        let key = (label, key);
        if let Some(group) = self.groups.get_mut(&key) {
            group.count += 1;
            if key.1 != OTHER {
                let keep = shared_prefix(&group.prefix, path);
                group.prefix.truncate(keep);
            }
            return;
        }
        // The query's credentials never reach the report (SPEC rule 9).
        let redactor = &self.firewall.settings.redactor;
        let example = format!(
            "{} \"{}\"{} ({})",
            escape(&request.method, 32),
            request.target.as_deref().map_or_else(
                || "(no path)".to_owned(),
                |t| escape(&redactor.target(t), EXAMPLE_BYTES)
            ),
            if request.upgrade { " [upgrade]" } else { "" },
            origin(),
        );
        let group = Group {
            label: key.0.clone(),
            count: 1,
            prefix: if key.1 == OTHER {
                OTHER.to_vec()
            } else {
                path.to_vec()
            },
            example,
        };
        self.insert(key, group);
    }

    /// The first `depth` segments of `path`, or the folded parent it falls under.
    fn key_for(&self, label: &str, path: &[u8]) -> Vec<u8> {
        let key = first_segments(path, self.depth);
        let folded = self.folded.get(label).and_then(|parents| {
            parents
                .iter()
                .filter(|p| is_below(key, p))
                .min_by_key(|p| p.len())
        });
        folded.map_or_else(|| key.to_vec(), Clone::clone)
    }

    /// Adds a new group, or folds it with its relatives into an ancestor that has too many
    /// distinct segments below it.
    fn insert(&mut self, key: (String, Vec<u8>), group: Group) {
        let (label, prefix) = key;
        let crowded = if prefix == OTHER {
            None
        } else {
            self.crowded_ancestor(&label, &prefix)
        };
        let Some(ancestor) = crowded else {
            self.groups.insert((label, prefix), group);
            return;
        };
        let mut merged = group;
        if let Some(folded) = self.fold(&label, &ancestor) {
            merged.merge(folded);
        }
        self.groups.insert((label, ancestor), merged);
    }

    /// Records `key`'s segments below each of its ancestors (root first) and returns the
    /// first ancestor that now has more than `SIBLINGS` distinct ones.
    fn crowded_ancestor(&mut self, label: &str, key: &[u8]) -> Option<Vec<u8>> {
        let cuts = key
            .iter()
            .enumerate()
            .filter(|(i, b)| **b == b'/' && *i > 0)
            .map(|(i, _)| i);
        let mut start = 0;
        for end in cuts.chain(std::iter::once(key.len())) {
            let ancestor = key.get(..start).unwrap_or_default();
            let segment = key.get(start..end).unwrap_or_default();
            let seen = self
                .children
                .entry((label.to_owned(), ancestor.to_vec()))
                .or_default();
            if !seen.iter().any(|s| s == segment) {
                seen.push(segment.to_vec());
            }
            if seen.len() > SIBLINGS {
                return Some(ancestor.to_vec());
            }
            start = end;
        }
        None
    }

    /// Removes every group of `label` at or below `ancestor` and returns them merged; later
    /// requests below it join the ancestor's group.
    fn fold(&mut self, label: &str, ancestor: &[u8]) -> Option<Group> {
        let below: Vec<(String, Vec<u8>)> = self
            .groups
            .keys()
            .filter(|(l, p)| l == label && p.as_slice() != OTHER && is_below(p, ancestor))
            .cloned()
            .collect();
        let mut merged: Option<Group> = None;
        for key in below {
            if let Some(group) = self.groups.remove(&key) {
                merged = Some(match merged {
                    Some(mut m) => {
                        m.merge(group);
                        m
                    }
                    None => group,
                });
            }
        }
        self.children
            .retain(|(l, p), _| l != label || !is_below(p, ancestor));
        let parents = self.folded.entry(label.to_owned()).or_default();
        parents.retain(|p| !is_below(p, ancestor));
        parents.push(ancestor.to_vec());
        merged
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

/// `path` is `prefix` or below it, on a segment boundary (everything is below the root "").
fn is_below(path: &[u8], prefix: &[u8]) -> bool {
    prefix.is_empty()
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/"))
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
        assert!(is_below(b"/static/x", b"/static") && is_below(b"/static", b"/static"));
        assert!(!is_below(b"/staticx", b"/static") && is_below(b"/x", b""));
    }

    #[test]
    fn many_siblings_fold_into_their_parent() {
        let fw = cobrowse_l7_firewall::load(br#"{"groups":["sdk"]}"#).unwrap();
        let mut tally = Tally::new(fw, 3);
        let mut at = 0;
        let mut send = |tally: &mut Tally, t: String| {
            at += 1;
            let request = Request {
                method: b"GET".to_vec(),
                target: Some(t.into_bytes()),
                upgrade: false,
                at,
            };
            tally.add(&request, || format!("line {at}"));
        };
        // Ten distinct files stay ten groups; the eleventh folds them all into /static/js.
        for i in 0..10 {
            send(&mut tally, format!("/static/js/app-{i}.js"));
        }
        send(&mut tally, "/admin".to_owned());
        assert_eq!(tally.groups(&[Outcome::Denied]).len(), 11);
        for i in 10..1000 {
            send(&mut tally, format!("/static/js/app-{i}.js?v={i}"));
        }
        send(&mut tally, "/static/js".to_owned());
        let rows: Vec<(u64, &[u8])> = tally
            .groups(&[Outcome::Denied])
            .iter()
            .map(|g| (g.count, g.prefix.as_slice()))
            .collect();
        assert_eq!(rows, vec![(1001, &b"/static/js"[..]), (1, &b"/admin"[..])]);
        // A scan of distinct top-level paths folds into one group at the root.
        for i in 0..50 {
            send(&mut tally, format!("/scan-{i}/x"));
        }
        let groups = tally.groups(&[Outcome::Denied]);
        assert_eq!(groups.len(), 1);
        assert_eq!(
            (groups[0].count, groups[0].prefix.as_slice()),
            (1052, &b""[..])
        );
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
