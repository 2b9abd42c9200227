//! The plugin configuration: parsed strictly, every key checked, nothing guessed.
//!
//! `written` is the JSON's shape as serde types (unknown and repeated keys refused,
//! `null` meaning the default); `Config::parse` reads it with serde_json, naming the
//! key path of whatever is refused, and fills in the defaults; `compile` in
//! `policy.rs` then checks what types cannot.

mod strict;
mod written;

use serde::Deserialize;
use serde_json::error::Category;
use std::fmt;

/// What happens to a path that no enabled group covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// Level of the line logged for each denied, rejected or 405'd request.
    pub level: LogLevel,
    /// How many bytes of the path that line shows before truncating.
    pub max_path_bytes: usize,
    /// Refusal lines per second and worker at most; the rest are counted in one summary
    /// line a second. Counters stay exact.
    pub max_per_second: u32,
    /// Query parameter names whose values are credentials, beside the built-in ones
    /// (`redact::BUILT_IN`): their values never reach a log line or filter state.
    pub redact_params: Vec<String>,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            level: LogLevel::Info,
            max_path_bytes: 256,
            max_per_second: 10,
            redact_params: Vec::new(),
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

/// A string quoted as JSON would (control characters escaped), so that a hostile value
/// cannot forge a log line.
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

impl Config {
    /// Parses the plugin configuration bytes. Types only; see `policy::Policy::compile`.
    pub fn parse(bytes: &[u8]) -> Result<Config, ConfigError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ConfigError::new(
                "configuration",
                "empty or missing; set at least \"groups\"",
            ));
        }
        let mut reader = serde_json::Deserializer::from_slice(bytes);
        let strict::Object(written): strict::Object<written::Config> =
            serde_path_to_error::deserialize(&mut reader)
                .map_err(|e| refused(&e.path().to_string(), e.into_inner()))?;
        // Trailing characters after the object.
        reader.end().map_err(|e| refused(".", e))?;
        written.into_config()
    }
}

/// serde's error as the key path and the problem: a syntax error is the whole text's
/// (with its line and column), a wrong value its key's.
fn refused(path: &str, inner: serde_json::Error) -> ConfigError {
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ConfigError::new("configuration", format!("bad JSON: {inner}"))
        }
        Category::Data => {
            let message = inner.to_string();
            let position = format!(" at line {} column {}", inner.line(), inner.column());
            let problem = message.strip_suffix(&position).unwrap_or(&message);
            let at = if path == "." { "configuration" } else { path };
            ConfigError::new(at, problem)
        }
    }
}
