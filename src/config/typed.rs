//! Reading JSON values as the configuration's types, each error naming the key path
//! (`custom_groups[1].prefixes[0]`) and what was found there.

use super::ConfigError;
use crate::json::{quote, Json};

/// An object's members, with the key path that names it in errors.
pub struct Object<'a> {
    /// `""` for the top level, whose keys are named bare.
    path: &'a str,
    members: &'a [(String, Json)],
}

impl<'a> Object<'a> {
    /// The configuration itself.
    pub fn top(v: &'a Json) -> Result<Object<'a>, ConfigError> {
        Object::nested("", v)
    }

    pub fn nested(path: &'a str, v: &'a Json) -> Result<Object<'a>, ConfigError> {
        match v {
            Json::Object(members) => Ok(Object { path, members }),
            other => Err(ConfigError::new(
                name_of(path),
                format!("expected a JSON object, found {}", found(other)),
            )),
        }
    }

    /// Refuses a key the configuration does not have, listing the ones it does.
    pub fn check_keys(&self, known: &[&str]) -> Result<(), ConfigError> {
        match self
            .members
            .iter()
            .find(|(k, _)| !known.contains(&k.as_str()))
        {
            Some((key, _)) => Err(ConfigError::new(
                name_of(self.path),
                format!(
                    "unknown key {} (known keys: {})",
                    quote(key),
                    known.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// One optional key, typed; `null` counts as absent so the default applies.
    pub fn read<T>(
        &self,
        key: &str,
        read: impl FnOnce(&str, &Json) -> Result<T, ConfigError>,
    ) -> Result<Option<T>, ConfigError> {
        match self.members.iter().find(|(k, _)| k == key) {
            None | Some((_, Json::Null)) => Ok(None),
            Some((_, v)) => read(&self.key_path(key), v).map(Some),
        }
    }

    /// One key that must be present.
    pub fn require<T>(
        &self,
        key: &str,
        read: impl FnOnce(&str, &Json) -> Result<T, ConfigError>,
    ) -> Result<T, ConfigError> {
        self.read(key, read)?
            .ok_or_else(|| ConfigError::new(self.key_path(key), "missing"))
    }

    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

fn name_of(path: &str) -> &str {
    if path.is_empty() {
        "configuration"
    } else {
        path
    }
}

/// What an operator sees for a value of the wrong type.
fn found(v: &Json) -> String {
    match v {
        Json::Null => "null".to_owned(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => format!("the number {n}"),
        Json::String(s) => format!("the string {}", quote(s)),
        Json::Array(_) => "an array".to_owned(),
        Json::Object(_) => "an object".to_owned(),
    }
}

fn wrong(at: &str, expected: &str, v: &Json) -> ConfigError {
    ConfigError::new(at, format!("expected {expected}, found {}", found(v)))
}

pub fn string(at: &str, v: &Json) -> Result<String, ConfigError> {
    match v {
        Json::String(s) => Ok(s.clone()),
        other => Err(wrong(at, "a string", other)),
    }
}

pub fn boolean(at: &str, v: &Json) -> Result<bool, ConfigError> {
    match v {
        Json::Bool(b) => Ok(*b),
        other => Err(wrong(at, "true or false", other)),
    }
}

/// A whole number that fits `T`; `403.0`, `4e2` and negative numbers are refused.
pub fn integer<T: TryFrom<u64> + Bounded>(at: &str, v: &Json) -> Result<T, ConfigError> {
    let parsed = match v {
        Json::Number(n) if n.bytes().all(|b| b.is_ascii_digit()) => n.parse::<u64>().ok(),
        _ => None,
    };
    parsed.and_then(|n| T::try_from(n).ok()).ok_or_else(|| {
        let expected = format!("a whole number from 0 to {}", T::LARGEST);
        wrong(at, &expected, v)
    })
}

/// The largest value of an integer type, for the error message.
pub trait Bounded {
    const LARGEST: u64;
}

impl Bounded for u16 {
    const LARGEST: u64 = u16::MAX as u64;
}

impl Bounded for u32 {
    const LARGEST: u64 = u32::MAX as u64;
}

impl Bounded for usize {
    const LARGEST: u64 = usize::MAX as u64;
}

/// One of a fixed set of names.
pub fn choice<T: Copy>(at: &str, v: &Json, options: &[(&str, T)]) -> Result<T, ConfigError> {
    let chosen = match v {
        Json::String(s) => options.iter().find(|(name, _)| name == s),
        _ => None,
    };
    chosen.map(|(_, value)| *value).ok_or_else(|| {
        let names: Vec<String> = options.iter().map(|(name, _)| quote(name)).collect();
        wrong(at, &format!("one of {}", names.join(", ")), v)
    })
}

/// An array, each element read by `item` under its own path (`at[i]`).
pub fn array<T>(
    at: &str,
    v: &Json,
    mut item: impl FnMut(&str, &Json) -> Result<T, ConfigError>,
) -> Result<Vec<T>, ConfigError> {
    match v {
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| item(&format!("{at}[{i}]"), v))
            .collect(),
        other => Err(wrong(at, "an array", other)),
    }
}

pub fn strings(at: &str, v: &Json) -> Result<Vec<String>, ConfigError> {
    array(at, v, string)
}
