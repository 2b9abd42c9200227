//! The three commands, each a function from arguments to the text it prints.

use cobrowse_l7_firewall::decision::Decision;
use cobrowse_l7_firewall::log_escape::escape;
use cobrowse_l7_firewall::outcome::{detail, Outcome};
use cobrowse_l7_firewall::{load, Firewall};
use std::ffi::OsStr;
use std::fmt::Write;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub enum Failure {
    /// The request would not be forwarded; the explanation is on stdout.
    Refused(String),
    /// The configuration is refused: the filter's own log line.
    Invalid(String),
    /// An unreadable file, or (for `audit`) a refused configuration.
    BadInput(String),
}

pub fn read_config(path: &[u8]) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    let read = if path == b"-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(Path::new(OsStr::from_bytes(path))).map(|b| bytes = b)
    };
    read.map_err(|e| Failure::BadInput(format!("l7fw: cannot read {}: {e}", escape(path, 1024))))?;
    Ok(bytes)
}

fn firewall(path: &[u8]) -> Result<Firewall, Failure> {
    load(&read_config(path)?).map_err(|e| Failure::Invalid(e.log_line()))
}

pub fn check(path: &[u8]) -> Result<String, Failure> {
    let fw = firewall(path)?;
    Ok(format!("ok: {}: {}\n", fw.settings.name, fw.summary()))
}

pub fn routes(path: &[u8]) -> Result<String, Failure> {
    let fw = firewall(path)?;
    let mut out = format!("{:<28} {:<14} {:<9} path\n", "prefix", "group", "websocket");
    for r in fw.policy.routes() {
        let prefix = if r.prefix.is_empty() { "/" } else { &r.prefix };
        let _ = writeln!(
            out,
            "{prefix:<28} {:<14} {:<9} {}",
            fw.policy.group_name(r.group),
            if r.websocket { "yes" } else { "no" },
            // `data`: a proxied URL below the prefix, judged by rule 6a.
            if r.opaque { "data" } else { "canonical" }
        );
    }
    let _ = writeln!(
        out,
        "anything else: fallback {}",
        fw.policy.fallback().as_str()
    );
    Ok(out)
}

pub fn explain(
    path: &[u8],
    method: &[u8],
    target: &[u8],
    upgrade: bool,
) -> Result<String, Failure> {
    let fw = firewall(path)?;
    let decision = fw.policy.decide_request(method, Some(target), upgrade);
    let outcome = Outcome::of(&decision);
    let mut out = format!(
        "{} \"{}\"{}: {} ({})\n",
        escape(method, 64),
        escape(target, 1024),
        if upgrade { " [upgrade]" } else { "" },
        outcome.label(fw.settings.mode),
        detail(&fw.policy, &decision),
    );
    let action = match &decision {
        Decision::Allow { route } => {
            let prefix = fw
                .policy
                .routes()
                .get(*route)
                .map_or("?", |r| r.prefix.as_str());
            format!(
                "forwarded unchanged: prefix \"{}\"",
                if prefix.is_empty() { "/" } else { prefix }
            )
        }
        Decision::Rewrite { path } => format!("forwarded as \"{}\"", escape(path, 1024)),
        Decision::Deny(_) => format!("answered {}", fw.settings.deny_response.status),
        Decision::Reject(_) => "answered 400".to_owned(),
        Decision::MethodNotAllowed => "answered 405, allow: GET, HEAD".to_owned(),
    };
    let _ = writeln!(out, "  {action}");
    match outcome {
        Outcome::Allowed | Outcome::Rewritten => Ok(out),
        _ => Err(Failure::Refused(out)),
    }
}
