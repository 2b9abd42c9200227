//! cobrowse-l7-firewall: an Envoy proxy-wasm filter that puts Cobrowse Enterprise
//! behind an L7 firewall, one policy per listener.
//!
//! The flow, one file a step:
//! `config` (JSON in, read by serde_json) → `policy` (compiled once per configuration) →
//! `path_check` (hostile paths refused) → `decision` (pure, per request) →
//! `outcome` (names for metrics and logs) → `host` (the thin proxy-wasm glue).
//! Everything but `host` is plain Rust, tested natively and shared with the tools.

pub mod config;
pub mod decision;
pub mod groups;
pub mod identity;
pub mod log_budget;
pub mod log_escape;
pub mod outcome;
pub mod path_check;
pub mod policy;
pub mod redact;

#[cfg(target_arch = "wasm32")]
mod host;

pub use config::ConfigError;
pub use decision::Decision;
pub use policy::{load, Firewall, Policy};

/// The release version (Cargo.toml's; `make release` refuses any other).
pub const PACKAGE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git revision the module was built from (12 hex digits, or `unknown`).
pub const REVISION: &str = env!("FIREWALL_GIT_REV");

/// The module's version and git revision, logged when the VM starts, reported as the
/// build_info gauge and printed by `l7fw --version`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("FIREWALL_GIT_REV"),
    ")"
);
