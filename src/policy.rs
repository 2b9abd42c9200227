//! The compiled policy: enabled groups turned into one prefix router, built once per
//! configuration. Everything that can be refused is refused here, at load.

use crate::config::quote;
use crate::config::{Config, ConfigError, DenyResponse, Fallback, LogSettings, Mode};
use crate::groups::{builtin, builtin_names};
use crate::path_check::{check_path, RejectReason};
use crate::redact::Redactor;
use matchit::Router;

/// One allowed prefix and the group it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The prefix without a trailing slash (`/static/` is stored as `/static`).
    pub prefix: String,
    /// Index into `Policy::groups`.
    pub group: usize,
    pub websocket: bool,
    /// Below this prefix the path is data (SPEC rule 6a).
    pub opaque: bool,
}

/// The decision engine's input, compiled from a `Config`.
#[derive(Debug, Clone)]
pub struct Policy {
    router: Router<usize>,
    routes: Vec<Route>,
    groups: Vec<String>,
    fallback: Fallback,
    /// Indexes of the opaque routes: a refused path is looked up once more only when one
    /// of them covers it, so a flood of refusals elsewhere pays a compare or two.
    opaque: Vec<usize>,
}

/// What the host glue needs beside the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub name: String,
    pub mode: Mode,
    pub deny_response: DenyResponse,
    pub log: LogSettings,
    pub filter_state: bool,
    /// Keeps credentials in the query out of log lines and filter state.
    pub redactor: Redactor,
}

/// A configuration ready to serve: the policy and its settings.
#[derive(Debug, Clone)]
pub struct Firewall {
    pub policy: Policy,
    pub settings: Settings,
}

/// Parses and compiles a plugin configuration, or says what is wrong and where.
pub fn load(bytes: &[u8]) -> Result<Firewall, ConfigError> {
    let config = Config::parse(bytes)?;
    let settings = check_settings(&config)?;
    let policy = Policy::compile(&config)?;
    Ok(Firewall { policy, settings })
}

impl Firewall {
    /// One line on what this configuration enforces, as the filter logs it on load.
    pub fn summary(&self) -> String {
        format!(
            "groups {}, {} prefixes, fallback {}, mode {}",
            self.policy.groups.join(","),
            self.policy.routes.len(),
            self.policy.fallback.as_str(),
            self.settings.mode.as_str(),
        )
    }
}

impl Policy {
    pub fn compile(config: &Config) -> Result<Policy, ConfigError> {
        let mut builder = Builder::default();
        for (i, name) in config.groups.iter().enumerate() {
            let at = format!("groups[{i}]");
            let group = builtin(name).ok_or_else(|| {
                ConfigError::new(
                    &at,
                    format!(
                        "unknown group {} (built-in groups: {})",
                        quote(name),
                        builtin_names()
                    ),
                )
            })?;
            let g = builder.add_group(&at, name)?;
            for p in group.prefixes {
                let opaque = p.opaque && config.builtin_opaque;
                builder.add_route(&at, g, p.path, p.websocket, opaque)?;
            }
        }
        for (i, custom) in config.custom_groups.iter().enumerate() {
            let at = format!("custom_groups[{i}]");
            check_group_name(&format!("{at}.name"), &custom.name)?;
            if builtin(&custom.name).is_some() {
                return Err(ConfigError::new(
                    format!("{at}.name"),
                    format!(
                        "{} is a built-in group; enable it in \"groups\" or choose another name",
                        quote(&custom.name)
                    ),
                ));
            }
            let g = builder.add_group(&format!("{at}.name"), &custom.name)?;
            if custom.prefixes.is_empty() {
                return Err(ConfigError::new(format!("{at}.prefixes"), "no prefix"));
            }
            for (j, prefix) in custom.prefixes.iter().enumerate() {
                builder.add_route(
                    &format!("{at}.prefixes[{j}]"),
                    g,
                    prefix,
                    custom.websocket,
                    custom.opaque,
                )?;
            }
        }
        if builder.groups.is_empty() {
            return Err(ConfigError::new(
                "groups",
                "no group enabled; list built-in groups in \"groups\" or define \"custom_groups\"",
            ));
        }
        builder.build(config.fallback)
    }

    /// The route whose prefix is the longest one covering `path` (no query, already checked).
    pub fn route_for(&self, path: &str) -> Option<(usize, &Route)> {
        let found = self.router.at(path).ok()?;
        let index = *found.value;
        self.routes.get(index).map(|r| (index, r))
    }

    /// For a path the canonical rule refused: the longest prefix covering it on a segment
    /// boundary, with the rest of the path, when that prefix is opaque. Paths with no
    /// opaque prefix in the policy pay nothing more.
    pub fn opaque_route_for<'a>(&self, path: &'a [u8]) -> Option<(usize, &Route, &'a [u8])> {
        // Origin form only: the root prefix is stored as "" and must not cover "" or `*`.
        if path.first() != Some(&b'/') {
            return None;
        }
        let covers = |route: &Route| {
            let prefix = route.prefix.as_bytes();
            path.starts_with(prefix) && matches!(path.get(prefix.len()), None | Some(b'/'))
        };
        let under_opaque = self
            .opaque
            .iter()
            .any(|&i| self.routes.get(i).is_some_and(covers));
        if !under_opaque {
            return None;
        }
        let mut best: Option<(usize, &Route)> = None;
        for (i, route) in self.routes.iter().enumerate() {
            if covers(route) && best.is_none_or(|(_, b)| b.prefix.len() < route.prefix.len()) {
                best = Some((i, route));
            }
        }
        let (i, route) = best.filter(|(_, r)| r.opaque)?;
        Some((i, route, path.get(route.prefix.len()..)?))
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    pub fn group_name(&self, group: usize) -> &str {
        self.groups.get(group).map_or("?", String::as_str)
    }

    pub fn fallback(&self) -> Fallback {
        self.fallback
    }
}

#[derive(Default)]
struct Builder {
    groups: Vec<String>,
    routes: Vec<Route>,
}

impl Builder {
    fn add_group(&mut self, at: &str, name: &str) -> Result<usize, ConfigError> {
        if self.groups.iter().any(|g| g == name) {
            return Err(ConfigError::new(
                at,
                format!("duplicate group {}", quote(name)),
            ));
        }
        self.groups.push(name.to_owned());
        Ok(self.groups.len() - 1)
    }

    fn add_route(
        &mut self,
        at: &str,
        group: usize,
        prefix: &str,
        websocket: bool,
        opaque: bool,
    ) -> Result<(), ConfigError> {
        check_prefix(prefix).map_err(|why| {
            ConfigError::new(at, format!("malformed prefix {}: {why}", quote(prefix)))
        })?;
        let prefix = prefix.strip_suffix('/').unwrap_or(prefix).to_owned();
        if let Some(same) = self.routes.iter_mut().find(|r| r.prefix == prefix) {
            if same.group == group {
                return Err(ConfigError::new(
                    at,
                    format!("duplicate prefix {}", quote(&prefix)),
                ));
            }
            // Groups may share a prefix (`/sockets/1/` is in `sdk` and `agent`): the first
            // listed is credited, and an upgrade is allowed, or the path is data, if any
            // of them says so.
            same.websocket |= websocket;
            same.opaque |= opaque;
            return Ok(());
        }
        self.routes.push(Route {
            prefix,
            group,
            websocket,
            opaque,
        });
        Ok(())
    }

    fn build(self, fallback: Fallback) -> Result<Policy, ConfigError> {
        let mut router = Router::new();
        for (i, route) in self.routes.iter().enumerate() {
            // A catch-all never matches an empty rest: the bare and the trailing-slash
            // forms need their own entries. The root prefix has only the latter two.
            let forms = [
                route.prefix.clone(),
                format!("{}/", route.prefix),
                format!("{}/{{*rest}}", route.prefix),
            ];
            for form in forms.iter().filter(|f| !f.is_empty()) {
                router.insert(form.as_str(), i).map_err(|e| {
                    ConfigError::new(
                        "groups",
                        format!("prefix {} cannot be routed: {e}", quote(&route.prefix)),
                    )
                })?;
            }
        }
        Ok(Policy {
            router,
            opaque: self
                .routes
                .iter()
                .enumerate()
                .filter(|(_, r)| r.opaque)
                .map(|(i, _)| i)
                .collect(),
            routes: self.routes,
            groups: self.groups,
            fallback,
        })
    }
}

/// A prefix must be a canonical path itself, with nothing the router reads as syntax.
fn check_prefix(prefix: &str) -> Result<(), &'static str> {
    // What `check_path` lets through in a request path but a prefix must not hold.
    if let Some(c) = prefix.chars().find(|c| matches!(c, '?' | '%' | '{' | '}')) {
        return Err(match c {
            '?' => "holds '?': prefixes match the path, never the query",
            '%' => "holds '%': write the path decoded",
            _ => "holds '{' or '}'",
        });
    }
    check_path(prefix.as_bytes()).map_err(|reason| match reason {
        RejectReason::EmptyPath | RejectReason::NoLeadingSlash => "must start with '/'",
        RejectReason::Fragment => "holds '#'",
        RejectReason::Semicolon => "holds ';'",
        RejectReason::Backslash => "holds '\\'",
        RejectReason::DoubleSlash => "holds '//'",
        RejectReason::DotSegment => "holds a '.' or '..' segment",
        RejectReason::Space | RejectReason::ControlByte => {
            "holds whitespace or a control character"
        }
        RejectReason::NonAscii => "holds a non-ASCII character",
        _ => "not a canonical path",
    })
}

fn check_group_name(at: &str, name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            at,
            format!(
                "{} must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-' (it names metrics)",
                quote(name)
            ),
        ))
    }
}

fn check_settings(config: &Config) -> Result<Settings, ConfigError> {
    check_group_name("name", &config.name)?;
    let deny = &config.deny_response;
    if !(400..=499).contains(&deny.status) {
        return Err(ConfigError::new(
            "deny_response.status",
            format!(
                "{} is not a 4xx status; a denial is the client's fault, never a 5xx",
                deny.status
            ),
        ));
    }
    if deny.body.len() > 4096 {
        return Err(ConfigError::new(
            "deny_response.body",
            "longer than 4096 bytes",
        ));
    }
    let header_safe = |s: &str| {
        s.bytes()
            .all(|b| b == b' ' || b == b'\t' || (0x21..0x7f).contains(&b))
    };
    if deny.content_type.is_empty() || !header_safe(&deny.content_type) {
        return Err(ConfigError::new(
            "deny_response.content_type",
            format!("{} is not a valid header value", quote(&deny.content_type)),
        ));
    }
    if !(16..=8192).contains(&config.log.max_path_bytes) {
        return Err(ConfigError::new(
            "log.max_path_bytes",
            format!("{} is outside 16..=8192", config.log.max_path_bytes),
        ));
    }
    if config.log.max_per_second > 10_000 {
        return Err(ConfigError::new(
            "log.max_per_second",
            format!(
                "{} is outside 0..=10000 (0: summary lines only)",
                config.log.max_per_second
            ),
        ));
    }
    for (i, name) in config.log.redact_params.iter().enumerate() {
        // A name as a query spells it after decoding: printable, no separators.
        let plain = |b: u8| (0x21..0x7f).contains(&b) && !b"&;=%+#?".contains(&b);
        if name.is_empty() || name.len() > 64 || !name.bytes().all(plain) {
            return Err(ConfigError::new(
                format!("log.redact_params[{i}]"),
                format!(
                    "{} is not a parameter name (1 to 64 printable ASCII bytes, none of & ; = % + # ?)",
                    quote(name)
                ),
            ));
        }
    }
    Ok(Settings {
        name: config.name.clone(),
        mode: config.mode,
        deny_response: deny.clone(),
        log: config.log.clone(),
        filter_state: config.filter_state,
        redactor: Redactor::new(&config.log.redact_params),
    })
}
