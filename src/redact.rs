//! Credentials kept out of what the filter writes (SPEC rule 9). Real SDKs carry bearer
//! tokens in the query (`/sockets/1/ws?access_token=…`, Universal URLs' `access_token=`),
//! so a request target is only ever written as its path plus a query whose
//! credential-bearing values are replaced. Pure: the module's log lines, its filter state
//! and `l7fw audit` all use it.

use percent_encoding::percent_decode;
use std::borrow::Cow;

/// Parameter names whose values are credentials, matched after decoding and lowercasing;
/// any name holding [`TOKEN`] is one too.
pub const BUILT_IN: [&str; 10] = [
    "access_token",
    "token",
    "auth",
    "authorization",
    "key",
    "signature",
    "sig",
    "code",
    "password",
    "secret",
];

/// A name holding this is a credential's, whatever else it says (`refresh_token`, `tokenId`).
pub const TOKEN: &str = "token";

/// What a redacted value is written as.
pub const REDACTED: &str = "REDACTED";

/// How many times a name is percent-decoded at most: `%2561ccess_token` is still
/// `access_token` to a server that decodes twice. Each pass that changes a name shortens it.
const MAX_DECODES: usize = 4;

/// The names to redact: the built-in ones plus the configuration's `log.redact_params`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    /// Lowercased, beside [`BUILT_IN`].
    extra: Vec<String>,
}

impl Redactor {
    pub fn new(extra: &[String]) -> Redactor {
        Redactor {
            extra: extra.iter().map(|n| n.to_ascii_lowercase()).collect(),
        }
    }

    /// Whether a parameter named `raw` (as sent: percent-encoded, `+` for space, any case)
    /// carries a credential. `access_token[]` and `access_token[0]` are `access_token`.
    pub fn is_credential(&self, raw: &[u8]) -> bool {
        let name = decoded_name(raw);
        let name = name.split('[').next().unwrap_or_default();
        name.contains(TOKEN)
            || BUILT_IN.contains(&name)
            || self.extra.iter().any(|extra| extra == name)
    }

    /// The target as it may be written: the path as sent, then the query with every
    /// credential's value replaced by [`REDACTED`]. A target without a credential comes
    /// back borrowed.
    pub fn target<'t>(&self, target: &'t [u8]) -> Cow<'t, [u8]> {
        let Some(at) = target.iter().position(|&b| b == b'?') else {
            return Cow::Borrowed(target);
        };
        let (path, query) = target.split_at(at);
        let query = query.get(1..).unwrap_or_default();
        match self.query(query) {
            Cow::Borrowed(_) => Cow::Borrowed(target),
            Cow::Owned(redacted) => {
                let mut out = Vec::with_capacity(path.len() + 1 + redacted.len());
                out.extend_from_slice(path);
                out.push(b'?');
                out.extend_from_slice(&redacted);
                Cow::Owned(out)
            }
        }
    }

    /// The query (without its `?`) with every credential's value replaced. Parameters are
    /// split on `&`; inside one, a `;` also starts a parameter for servers that split on
    /// it, and from the first credential named there to the next `&` all is replaced, so
    /// that neither way of splitting shows part of a value.
    pub fn query<'q>(&self, query: &'q [u8]) -> Cow<'q, [u8]> {
        let mut out: Option<Vec<u8>> = None;
        let mut start = 0;
        for param in query.split(|&b| b == b'&') {
            let end = start + param.len();
            if let Some(keep) = self.kept_prefix(param) {
                let out =
                    out.get_or_insert_with(|| query.get(..start).unwrap_or_default().to_vec());
                out.extend_from_slice(param.get(..keep).unwrap_or_default());
                out.extend_from_slice(REDACTED.as_bytes());
            } else if let Some(out) = out.as_mut() {
                out.extend_from_slice(param);
            }
            if let Some(out) = out.as_mut() {
                if end < query.len() {
                    out.push(b'&');
                }
            }
            start = end + 1;
        }
        out.map_or(Cow::Borrowed(query), Cow::Owned)
    }

    /// For one `&`-separated parameter holding a credential: how many of its bytes may be
    /// written before [`REDACTED`] replaces the rest. `None` when it holds none.
    fn kept_prefix(&self, param: &[u8]) -> Option<usize> {
        let mut start = 0;
        for part in param.split(|&b| b == b';') {
            let name_len = part.iter().position(|&b| b == b'=').unwrap_or(part.len());
            let name = part.get(..name_len).unwrap_or_default();
            let has_value = name_len < part.len();
            if hides_equals(name) {
                // An encoded `=`, `&` or `;` hides the value in the name itself: a server
                // that decodes before splitting reads one, so the whole part goes.
                if encodes_a_credential(self, name) {
                    return Some(start);
                }
            } else if has_value && self.is_credential(name) {
                return Some(start + name_len + 1);
            }
            start += part.len() + 1;
        }
        None
    }
}

/// A name decoded as a server would read it: `+` is a space, percent escapes decoded
/// (repeatedly), ASCII lowercased. Bytes that are not UTF-8 never match a name.
fn decoded_name(raw: &[u8]) -> String {
    let mut bytes: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    for _ in 0..MAX_DECODES {
        let decoded: Vec<u8> = percent_decode(&bytes).collect();
        if decoded == bytes {
            break;
        }
        bytes = decoded;
    }
    String::from_utf8_lossy(&bytes).to_ascii_lowercase()
}

/// A name whose decoding holds `=` or `&` (`access_token%3Dabc`): a server that decodes
/// before splitting reads a credential there.
fn hides_equals(raw: &[u8]) -> bool {
    let name = decoded_name(raw);
    name.contains('=') || name.contains('&') || name.contains(';')
}

/// Whether a decoded name, split as a decoding server would split it, names a credential.
fn encodes_a_credential(redactor: &Redactor, raw: &[u8]) -> bool {
    if !hides_equals(raw) {
        return false;
    }
    decoded_name(raw)
        .split(['&', ';'])
        .filter_map(|p| p.split('=').next())
        .any(|n| redactor.is_credential(n.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(target: &str) -> String {
        let r = Redactor::new(&["session".to_owned()]);
        String::from_utf8(r.target(target.as_bytes()).into_owned()).unwrap_or_default()
    }

    #[test]
    fn table() {
        let rows = [
            // No query, no credential: unchanged.
            ("/api/1/devices", "/api/1/devices"),
            ("/dashboard?a=1&b=2", "/dashboard?a=1&b=2"),
            ("/x?", "/x?"),
            // The SDKs' shapes.
            ("/sockets/1/ws?access_token=abc", "/sockets/1/ws?access_token=REDACTED"),
            (
                "/proxy/1/universal/com/example/https:/cart?search=q&access_token=t0k&origin=o",
                "/proxy/1/universal/com/example/https:/cart?search=q&access_token=REDACTED&origin=o",
            ),
            ("/dashboard/x?token=abc", "/dashboard/x?token=REDACTED"),
            // Every built-in name, names holding `token`, and the configured extra name.
            ("/x?auth=1&authorization=2&key=3", "/x?auth=REDACTED&authorization=REDACTED&key=REDACTED"),
            ("/x?signature=1&sig=2&code=3", "/x?signature=REDACTED&sig=REDACTED&code=REDACTED"),
            ("/x?password=1&secret=2", "/x?password=REDACTED&secret=REDACTED"),
            ("/x?refresh_token=1&tokenId=2&id_token=3", "/x?refresh_token=REDACTED&tokenId=REDACTED&id_token=REDACTED"),
            ("/x?session=1&sessions=2", "/x?session=REDACTED&sessions=2"),
            // Case and encodings a server would still read as the name.
            ("/x?ACCESS_TOKEN=a&Access_Token=b", "/x?ACCESS_TOKEN=REDACTED&Access_Token=REDACTED"),
            ("/x?%61ccess_token=a", "/x?%61ccess_token=REDACTED"),
            ("/x?access%5Ftoken=a&access%5ftoken=b", "/x?access%5Ftoken=REDACTED&access%5ftoken=REDACTED"),
            ("/x?%2561ccess_token=a", "/x?%2561ccess_token=REDACTED"),
            ("/x?%4B%45%59=a", "/x?%4B%45%59=REDACTED"),
            ("/x?access_token[]=a&key[0]=b", "/x?access_token[]=REDACTED&key[0]=REDACTED"),
            // An encoded `=` hides the value in the name: the whole parameter goes.
            ("/x?access_token%3Dabc&a=1", "/x?REDACTED&a=1"),
            ("/x?a%26token%3Dabc", "/x?REDACTED"),
            // `;` splitting: neither reading shows any part of a value.
            ("/x?a=1;token=abc&b=2", "/x?a=1;token=REDACTED&b=2"),
            ("/x?token=abc;def&b=2", "/x?token=REDACTED&b=2"),
            // Names that only look alike are kept; values are never what is matched.
            ("/x?monkey=1&keys=2&q=token", "/x?monkey=1&keys=2&q=token"),
            // Empty values and bare names.
            ("/x?token=&token", "/x?token=REDACTED&token"),
            ("/x?&&token=a&&", "/x?&&token=REDACTED&&"),
        ];
        for (target, want) in rows {
            assert_eq!(redact(target), want, "{target}");
        }
    }

    #[test]
    fn a_target_without_a_credential_is_not_copied() {
        let r = Redactor::default();
        assert!(matches!(r.target(b"/a?b=c&d=e"), Cow::Borrowed(_)));
        assert!(matches!(r.target(b"/a?token=e"), Cow::Owned(_)));
    }

    #[test]
    fn bytes_that_are_not_utf8_never_panic() {
        let r = Redactor::default();
        let out = r.target(b"/x?\xff\xfe=1&token=\xff&%ff%fe=2");
        assert_eq!(&*out, b"/x?\xff\xfe=1&token=REDACTED&%ff%fe=2".as_slice());
    }
}
