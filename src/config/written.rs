//! The configuration as written: every key optional, so that `null` and a missing key
//! both mean the default. Derived structs refuse an unknown key (listing the known ones)
//! and a key repeated in one object, at every depth.

use super::strict::{Object, Whole, Word};
use super::{ConfigError, Fallback, LogLevel, Mode};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    name: Option<String>,
    groups: Option<Vec<String>>,
    custom_groups: Option<Vec<Object<CustomGroup>>>,
    fallback: Option<Word<Fallback>>,
    mode: Option<Word<Mode>>,
    deny_response: Option<Object<DenyResponse>>,
    log: Option<Object<LogSettings>>,
    filter_state: Option<bool>,
    builtin_opaque: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomGroup {
    name: Option<String>,
    prefixes: Option<Vec<String>>,
    websocket: Option<bool>,
    opaque: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DenyResponse {
    status: Option<Whole<u16>>,
    body: Option<String>,
    content_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSettings {
    level: Option<Word<LogLevel>>,
    max_path_bytes: Option<Whole<u32>>,
    max_per_second: Option<Whole<u32>>,
    redact_params: Option<Vec<String>>,
}

impl Config {
    /// The defaults filled in; a custom group's name and prefixes are required.
    pub fn into_config(self) -> Result<super::Config, ConfigError> {
        let defaults = super::Config::default();
        let custom_groups = self
            .custom_groups
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, Object(g))| g.into_group(&format!("custom_groups[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(super::Config {
            name: self.name.unwrap_or(defaults.name),
            groups: self.groups.unwrap_or_default(),
            custom_groups,
            fallback: self.fallback.map(|Word(w)| w).unwrap_or_default(),
            mode: self.mode.map(|Word(w)| w).unwrap_or_default(),
            deny_response: self
                .deny_response
                .map_or(defaults.deny_response, |Object(d)| d.into_deny()),
            log: self.log.map_or(defaults.log, |Object(l)| l.into_log()),
            filter_state: self.filter_state.unwrap_or(defaults.filter_state),
            builtin_opaque: self.builtin_opaque.unwrap_or(defaults.builtin_opaque),
        })
    }
}

impl CustomGroup {
    fn into_group(self, at: &str) -> Result<super::CustomGroup, ConfigError> {
        let missing = |key: &str| ConfigError::new(format!("{at}.{key}"), "missing");
        Ok(super::CustomGroup {
            name: self.name.ok_or_else(|| missing("name"))?,
            prefixes: self.prefixes.ok_or_else(|| missing("prefixes"))?,
            websocket: self.websocket.unwrap_or(false),
            opaque: self.opaque.unwrap_or(false),
        })
    }
}

impl DenyResponse {
    fn into_deny(self) -> super::DenyResponse {
        let defaults = super::DenyResponse::default();
        super::DenyResponse {
            status: self.status.map_or(defaults.status, |Whole(n)| n),
            body: self.body.unwrap_or(defaults.body),
            content_type: self.content_type.unwrap_or(defaults.content_type),
        }
    }
}

impl LogSettings {
    fn into_log(self) -> super::LogSettings {
        let defaults = super::LogSettings::default();
        super::LogSettings {
            level: self.level.map_or(defaults.level, |Word(w)| w),
            max_path_bytes: self
                .max_path_bytes
                .map_or(defaults.max_path_bytes, |Whole(n)| n as usize),
            max_per_second: self
                .max_per_second
                .map_or(defaults.max_per_second, |Whole(n)| n),
            redact_params: self.redact_params.unwrap_or(defaults.redact_params),
        }
    }
}
