//! The plugin configuration: parsed strictly, every key checked, nothing guessed.
//!
//! Each key is deserialized on its own so that an error names the key (and the
//! element) at fault; `compile` in `policy.rs` then checks what types cannot.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
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

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomGroup {
    pub name: String,
    pub prefixes: Vec<String>,
    #[serde(default)]
    pub websocket: bool,
    /// Below these prefixes the path is data (a proxied URL): SPEC rule 6a applies.
    #[serde(default)]
    pub opaque: bool,
}

/// The response sent for a denied request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
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
    /// Control characters in either part (serde quotes offending values raw) are
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
        let value = crate::strict_json::parse(bytes)
            .map_err(|e| ConfigError::new("configuration", format!("bad JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(ConfigError::new("configuration", "must be a JSON object"));
        };
        if let Some(unknown) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(ConfigError::new(
                json_str(unknown),
                format!("unknown key (known keys: {})", KEYS.join(", ")),
            ));
        }
        let defaults = Config::default();
        Ok(Config {
            name: field(&map, "name")?.unwrap_or(defaults.name),
            groups: field(&map, "groups")?.unwrap_or_default(),
            custom_groups: custom_groups(&map)?,
            fallback: field(&map, "fallback")?.unwrap_or_default(),
            mode: field(&map, "mode")?.unwrap_or_default(),
            deny_response: object_field(&map, "deny_response")?.unwrap_or_default(),
            log: object_field(&map, "log")?.unwrap_or_default(),
            filter_state: field(&map, "filter_state")?.unwrap_or(defaults.filter_state),
            builtin_opaque: field(&map, "builtin_opaque")?.unwrap_or(defaults.builtin_opaque),
        })
    }
}

/// One key, typed; `null` counts as absent so the default applies.
fn field<T: DeserializeOwned>(
    map: &Map<String, Value>,
    key: &str,
) -> Result<Option<T>, ConfigError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => T::deserialize(v)
            .map(Some)
            .map_err(|e| ConfigError::new(key, e.to_string())),
    }
}

/// A key whose value must be a JSON object (serde's derived structs also take arrays).
fn object_field<T: DeserializeOwned>(
    map: &Map<String, Value>,
    key: &str,
) -> Result<Option<T>, ConfigError> {
    match map.get(key) {
        None | Some(Value::Null) | Some(Value::Object(_)) => field(map, key),
        Some(_) => Err(ConfigError::new(key, "must be a JSON object")),
    }
}

/// Custom groups one by one, so an error names the element.
fn custom_groups(map: &Map<String, Value>) -> Result<Vec<CustomGroup>, ConfigError> {
    let Some(items) = field::<Vec<Value>>(map, "custom_groups")? else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let at = format!("custom_groups[{i}]");
            if !v.is_object() {
                return Err(ConfigError::new(at, "must be a JSON object"));
            }
            CustomGroup::deserialize(v).map_err(|e| ConfigError::new(at, e.to_string()))
        })
        .collect()
}

/// A string quoted as JSON would, so that a hostile key cannot forge a log line.
pub fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"?\""))
}
