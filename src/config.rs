//! The plugin configuration: parsed strictly, every key checked, nothing guessed.
//!
//! `json.rs` reads the text; `config/typed.rs` reads each key with its type, so that
//! an error names the key (and the element) at fault; `compile` in `policy.rs` then
//! checks what types cannot.

mod typed;

use crate::json::Json;
use std::fmt;
use typed::{boolean, choice, integer, string, strings, Object};

/// What happens to a path that no enabled group covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fallback {
    /// Refuse it with the deny response.
    #[default]
    Deny,
    /// Serve the single-page app: GET/HEAD become `/index.html`, other methods 405.
    Spa,
}

impl Fallback {
    pub fn as_str(self) -> &'static str {
        match self {
            Fallback::Deny => "deny",
            Fallback::Spa => "spa",
        }
    }
}

/// Whether decisions are carried out or only recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Enforce,
    /// Decide, log and count, but change nothing.
    DryRun,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::DryRun => "dry_run",
        }
    }
}

/// The level of the one log line written per refused request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    Off,
    Trace,
    Debug,
    #[default]
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomGroup {
    pub name: String,
    pub prefixes: Vec<String>,
    pub websocket: bool,
    /// Below these prefixes the path is data (a proxied URL): SPEC rule 6a applies.
    pub opaque: bool,
}

/// The response sent for a denied request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenyResponse {
    pub status: u16,
    pub body: String,
    pub content_type: String,
}

impl Default for DenyResponse {
    fn default() -> Self {
        DenyResponse {
            status: 403,
            body: "Forbidden\n".to_owned(),
            content_type: "text/plain; charset=utf-8".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    /// Level of the line logged for each denied, rejected or 405'd request.
    pub level: LogLevel,
    /// How many bytes of the path that line shows before truncating.
    pub max_path_bytes: usize,
    /// Refusal lines per second and worker at most; the rest are counted in one summary
    /// line a second. Counters stay exact.
    pub max_per_second: u32,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            level: LogLevel::Info,
            max_path_bytes: 256,
            max_per_second: 10,
        }
    }
}

/// The configuration as written, after type checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub name: String,
    pub groups: Vec<String>,
    pub custom_groups: Vec<CustomGroup>,
    pub fallback: Fallback,
    pub mode: Mode,
    pub deny_response: DenyResponse,
    pub log: LogSettings,
    pub filter_state: bool,
    /// Whether the built-in prefixes that carry third-party URLs are opaque (rule 6a).
    pub builtin_opaque: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name: "default".to_owned(),
            groups: Vec::new(),
            custom_groups: Vec::new(),
            fallback: Fallback::default(),
            mode: Mode::default(),
            deny_response: DenyResponse::default(),
            log: LogSettings::default(),
            filter_state: false,
            builtin_opaque: true,
        }
    }
}

/// Every top-level key the configuration accepts.
pub const KEYS: &[&str] = &[
    "name",
    "groups",
    "custom_groups",
    "fallback",
    "mode",
    "deny_response",
    "log",
    "filter_state",
    "builtin_opaque",
];

/// A refused configuration: where (a key path such as `custom_groups[1].prefixes[0]`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub at: String,
    pub problem: String,
}

impl ConfigError {
    /// Control characters in either part (a message may quote a value) are
    /// escaped, so the message stays one printable log line.
    pub fn new(at: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError {
            at: printable(at.into()),
            problem: printable(problem.into()),
        }
    }
}

fn printable(s: String) -> String {
    if !s.chars().any(char::is_control) {
        return s;
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl ConfigError {
    /// The one log line the filter writes when it refuses a configuration.
    pub fn log_line(&self) -> String {
        format!("cobrowse-l7-firewall: invalid configuration: {self}")
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.problem)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Parses the plugin configuration bytes. Types only; see `policy::Policy::compile`.
    pub fn parse(bytes: &[u8]) -> Result<Config, ConfigError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ConfigError::new(
                "configuration",
                "empty or missing; set at least \"groups\"",
            ));
        }
        let value = crate::json::parse(bytes)
            .map_err(|e| ConfigError::new("configuration", format!("bad JSON: {e}")))?;
        let top = Object::top(&value)?;
        top.check_keys(KEYS)?;
        let defaults = Config::default();
        Ok(Config {
            name: top.read("name", string)?.unwrap_or(defaults.name),
            groups: top.read("groups", strings)?.unwrap_or_default(),
            custom_groups: top
                .read("custom_groups", custom_groups)?
                .unwrap_or_default(),
            fallback: top.read("fallback", fallback)?.unwrap_or_default(),
            mode: top.read("mode", mode)?.unwrap_or_default(),
            deny_response: top
                .read("deny_response", deny_response)?
                .unwrap_or_default(),
            log: top.read("log", log_settings)?.unwrap_or_default(),
            filter_state: top
                .read("filter_state", boolean)?
                .unwrap_or(defaults.filter_state),
            builtin_opaque: top
                .read("builtin_opaque", boolean)?
                .unwrap_or(defaults.builtin_opaque),
        })
    }
}

fn fallback(at: &str, v: &Json) -> Result<Fallback, ConfigError> {
    choice(at, v, &[("deny", Fallback::Deny), ("spa", Fallback::Spa)])
}

fn mode(at: &str, v: &Json) -> Result<Mode, ConfigError> {
    choice(
        at,
        v,
        &[("enforce", Mode::Enforce), ("dry_run", Mode::DryRun)],
    )
}

/// Custom groups one by one, so an error names the element.
fn custom_groups(at: &str, v: &Json) -> Result<Vec<CustomGroup>, ConfigError> {
    typed::array(at, v, |at, item| {
        let group = Object::nested(at, item)?;
        group.check_keys(&["name", "prefixes", "websocket", "opaque"])?;
        Ok(CustomGroup {
            name: group.require("name", string)?,
            prefixes: group.require("prefixes", strings)?,
            websocket: group.read("websocket", boolean)?.unwrap_or(false),
            opaque: group.read("opaque", boolean)?.unwrap_or(false),
        })
    })
}

fn deny_response(at: &str, v: &Json) -> Result<DenyResponse, ConfigError> {
    let deny = Object::nested(at, v)?;
    deny.check_keys(&["status", "body", "content_type"])?;
    let defaults = DenyResponse::default();
    Ok(DenyResponse {
        status: deny.read("status", integer)?.unwrap_or(defaults.status),
        body: deny.read("body", string)?.unwrap_or(defaults.body),
        content_type: deny
            .read("content_type", string)?
            .unwrap_or(defaults.content_type),
    })
}

fn log_settings(at: &str, v: &Json) -> Result<LogSettings, ConfigError> {
    let log = Object::nested(at, v)?;
    log.check_keys(&["level", "max_path_bytes", "max_per_second"])?;
    let defaults = LogSettings::default();
    let level = |at: &str, v: &Json| {
        use LogLevel::*;
        let levels = [
            ("off", Off),
            ("trace", Trace),
            ("debug", Debug),
            ("info", Info),
            ("warn", Warn),
            ("error", Error),
        ];
        choice(at, v, &levels)
    };
    Ok(LogSettings {
        level: log.read("level", level)?.unwrap_or(defaults.level),
        max_path_bytes: log
            .read("max_path_bytes", integer)?
            .unwrap_or(defaults.max_path_bytes),
        max_per_second: log
            .read("max_per_second", integer)?
            .unwrap_or(defaults.max_per_second),
    })
}
