//! `l7fw audit`: replays captured traffic (HAR files, the shipped JSON access log) through
//! one or more configurations with the module's own decision code, and reports what each
//! would not forward unchanged.
//!
//! Exit status: 0 nothing refused, 1 some request refused, 2 bad input (usage, an
//! unreadable file or configuration, a malformed record: reported, skipped, and the whole
//! report is still printed).

mod access_log;
mod har;
mod progress;
mod request;
mod tally;

use crate::commands::{read_config, Failure};
use clap::Args;
use cobrowse_l7_firewall::log_escape::escape;
use cobrowse_l7_firewall::outcome::Outcome;
use progress::Progress;
use request::Record;
use std::ffi::OsStr;
use std::ffi::OsString;
use std::fmt::Write;
use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use tally::Tally;

/// Bad records shown one by one on stderr; the rest are counted.
const SHOWN_BAD: u64 = 100;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Har,
    AccessLog,
}

/// `l7fw audit`'s arguments.
#[derive(Args)]
pub struct AuditArgs {
    /// A configuration to judge the traffic by (repeat for several).
    #[arg(short = 'c', long = "config", value_name = "CONFIG", required = true)]
    configs: Vec<OsString>,
    /// Read the inputs as HAR files (default: by name, *.har).
    #[arg(long, conflicts_with = "log")]
    har: bool,
    /// Read the inputs as the shipped JSON access log (default for names not *.har).
    #[arg(long)]
    log: bool,
    /// Path segments a refused prefix is grouped by.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    depth: u32,
    /// Groups shown per section.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    top: u32,
    /// HAR files or access logs (- for standard input).
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<OsString>,
}

impl AuditArgs {
    fn format(&self) -> Option<Format> {
        match (self.har, self.log) {
            (true, _) => Some(Format::Har),
            (_, true) => Some(Format::AccessLog),
            _ => None,
        }
    }
}

/// Everything read so far, across inputs.
struct Run {
    tallies: Vec<Tally>,
    records: u64,
    bad: u64,
    /// Access-log lines of requests Envoy answered before any filter (no method).
    before_filters: u64,
}

impl Run {
    /// Counts one record; returns the line to show for a bad one.
    fn record(&mut self, name: &str, kind: &str, record: Record) -> Option<String> {
        self.records += 1;
        match record {
            Record::Request(request) => {
                for tally in &mut self.tallies {
                    tally.add(&request, || format!("{name} {kind} {}", request.at));
                }
            }
            Record::BeforeFilters => self.before_filters += 1,
            Record::Bad(bad) => {
                self.bad += 1;
                if self.bad <= SHOWN_BAD {
                    return Some(format!(
                        "l7fw audit: {name}: {kind} {}: skipped: {}",
                        bad.at, bad.problem
                    ));
                } else if self.bad == SHOWN_BAD + 1 {
                    return Some("l7fw audit: more bad records; the summary counts them".into());
                }
            }
        }
        None
    }
}

/// An input opened for reading: its name for messages and its size when known.
struct Input {
    name: String,
    reader: Box<dyn Read>,
    size: Option<u64>,
}

fn open(input: &[u8]) -> Result<Input, String> {
    if input == b"-" {
        let reader = Box::new(std::io::stdin().lock());
        return Ok(Input {
            name: "stdin".to_owned(),
            reader,
            size: None,
        });
    }
    let name = escape(input, 256);
    let file = File::open(Path::new(OsStr::from_bytes(input)))
        .map_err(|e| format!("l7fw audit: cannot read {name}: {e}"))?;
    let size = file.metadata().ok().map(|m| m.len());
    Ok(Input {
        name,
        reader: Box::new(file),
        size,
    })
}

fn read_input(run: &mut Run, input: &[u8], format: Option<Format>) -> Result<(), String> {
    let Input { name, reader, size } = open(input)?;
    let format = format.unwrap_or(if input.ends_with(b".har") {
        Format::Har
    } else {
        Format::AccessLog
    });
    let (mut progress, counting) = Progress::new(&name, size, reader);
    let reader = BufReader::with_capacity(1 << 16, counting);
    let mut seen: u64 = 0;
    let mut each = |kind: &str, record: Record| {
        seen += 1;
        if let Some(line) = run.record(&name, kind, record) {
            progress.println(&line);
        }
        progress.tick(seen);
    };
    let result = match format {
        Format::AccessLog => access_log::read(reader, |r| each("line", r))
            .map_err(|e| format!("l7fw audit: {name}: cannot read: {e}")),
        Format::Har => {
            har::read(reader, |r| each("entry", r)).map_err(|e| format!("l7fw audit: {name}: {e}"))
        }
    };
    progress.finish(seen);
    result
}

/// Runs the audit; the report goes to stdout whatever the exit status.
pub fn audit(o: AuditArgs) -> Result<(String, u8), Failure> {
    let mut tallies = Vec::new();
    let mut names = Vec::new();
    for config in &o.configs {
        let config = config.as_bytes();
        let firewall = cobrowse_l7_firewall::load(&read_config(config)?)
            .map_err(|e| Failure::BadInput(format!("{}: {}", escape(config, 256), e.log_line())))?;
        tallies.push(Tally::new(firewall, o.depth as usize));
        names.push(escape(config, 256));
    }
    let mut run = Run {
        tallies,
        records: 0,
        bad: 0,
        before_filters: 0,
    };
    let mut unreadable = 0;
    for input in &o.inputs {
        if let Err(message) = read_input(&mut run, input.as_bytes(), o.format()) {
            eprintln!("{message}");
            unreadable += 1;
        }
    }
    let mut out = String::new();
    for (tally, name) in run.tallies.iter().zip(&names) {
        report(&mut out, tally, name, o.top as usize);
    }
    let refused: u64 = run.tallies.iter().map(Tally::refused).sum();
    let requests = run.records - run.bad - run.before_filters;
    let _ = writeln!(
        out,
        "audit: {requests} requests from {} input(s) against {} configuration(s): {}; {} bad record(s) skipped{}{}",
        o.inputs.len(),
        run.tallies.len(),
        if refused == 0 { "nothing refused".to_owned() } else { format!("{refused} refusal(s)") },
        run.bad,
        if run.before_filters > 0 {
            format!("; {} line(s) without a method not replayed (Envoy answered before any filter)", run.before_filters)
        } else {
            String::new()
        },
        if unreadable > 0 { format!(", {unreadable} input(s) unreadable") } else { String::new() },
    );
    let status = if run.bad > 0 || unreadable > 0 {
        2
    } else if refused > 0 {
        1
    } else {
        0
    };
    Ok((out, status))
}

fn report(out: &mut String, tally: &Tally, name: &str, top: usize) {
    let fw = &tally.firewall;
    let _ = writeln!(out, "== {} ({name}): {}", fw.settings.name, fw.summary());
    let sections: [(&str, &[Outcome]); 2] = [
        (
            "refused",
            &[
                Outcome::Denied,
                Outcome::Rejected,
                Outcome::MethodNotAllowed,
            ],
        ),
        (
            "rewritten (forwarded as /index.html, not refused)",
            &[Outcome::Rewritten],
        ),
    ];
    for (title, outcomes) in sections {
        let groups = tally.groups(outcomes);
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title}:");
        let _ = writeln!(
            out,
            "  {:<34} {:>9}  {:<32} example",
            "outcome", "requests", "prefix"
        );
        for g in groups.iter().take(top) {
            let prefix = if g.prefix.is_empty() {
                b"/".as_slice()
            } else {
                &g.prefix
            };
            let _ = writeln!(
                out,
                "  {:<34} {:>9}  {:<32} {}",
                g.label,
                g.count,
                escape(prefix, 128),
                g.example
            );
        }
        if groups.len() > top {
            let rest: u64 = groups.iter().skip(top).map(|g| g.count).sum();
            let _ = writeln!(
                out,
                "  … and {} more group(s), {rest} request(s)",
                groups.len() - top
            );
        }
    }
    let _ = writeln!(
        out,
        "{}: {} requests: {} allowed, {} rewritten, {} refused ({} denied, {} rejected, {} method_not_allowed){}",
        fw.settings.name,
        tally.requests(),
        tally.count(Outcome::Allowed),
        tally.count(Outcome::Rewritten),
        tally.refused(),
        tally.count(Outcome::Denied),
        tally.count(Outcome::Rejected),
        tally.count(Outcome::MethodNotAllowed),
        if fw.settings.mode == cobrowse_l7_firewall::config::Mode::DryRun {
            "; mode dry_run: judged as if enforced"
        } else {
            ""
        },
    );
}
