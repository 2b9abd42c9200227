//! `l7fw`: the filter's own decision code, offline. Operators run it in CI before a
//! rollout: the same messages and the same decisions as the module in Envoy.
//!
//! Exit status: 0 valid / forwarded, 1 refused (config invalid, or request not
//! forwarded by `explain`, or refused by `audit`), 2 usage, I/O error or bad input.

mod audit;
mod commands;

use clap::{CommandFactory, Parser, Subcommand};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::process::ExitCode;

/// Offline checks for cobrowse-l7-firewall configurations, with the module's own code:
/// the same error lines and the same decisions as the filter in Envoy.
#[derive(Parser)]
#[command(
    name = "l7fw",
    version = cobrowse_l7_firewall::VERSION,
    arg_required_else_help = true,
    after_help = "Exit status: 0 valid or forwarded, 1 refused, 2 usage, I/O error or bad input."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a plugin configuration; a bad one gets the filter's own error line.
    Check {
        /// The configuration (JSON file, or - for standard input).
        config: OsString,
    },
    /// The decision for one request: exit 0 if forwarded, 1 if refused.
    Explain {
        /// The configuration (JSON file, or - for standard input).
        config: OsString,
        /// The request method, as sent.
        #[arg(allow_hyphen_values = true)]
        method: OsString,
        /// The request target (path and query), as sent: any bytes.
        #[arg(allow_hyphen_values = true)]
        path: OsString,
        /// The request asks for a WebSocket upgrade.
        #[arg(long)]
        upgrade: bool,
    },
    /// The effective prefix table.
    Routes {
        /// The configuration (JSON file, or - for standard input).
        config: OsString,
    },
    /// Replay captured traffic and report what each configuration would refuse.
    ///
    /// The inputs are HAR files or the shipped JSON access log, read one request at a
    /// time. Exit status: 0 nothing refused, 1 something refused, 2 bad input (reported,
    /// skipped, and the whole report still printed).
    Audit(audit::AuditArgs),
    /// Print a shell completion script.
    ///
    /// For example: `l7fw completions bash > /etc/bash_completion.d/l7fw`.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    // Usage errors: clap's message and exit status 2; --help and --version: status 0.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { config } => commands::check(&bytes(config)),
        Command::Routes { config } => commands::routes(&bytes(config)),
        Command::Explain {
            config,
            method,
            path,
            upgrade,
        } => commands::explain(&bytes(config), &bytes(method), &bytes(path), upgrade),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "l7fw", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Command::Audit(args) => match audit::audit(args) {
            Ok((out, status)) => {
                print!("{out}");
                return ExitCode::from(status);
            }
            Err(failure) => Err(failure),
        },
    };
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(commands::Failure::Refused(out)) => {
            print!("{out}");
            ExitCode::from(1)
        }
        Err(commands::Failure::Invalid(line)) => {
            eprintln!("{line}");
            ExitCode::from(1)
        }
        Err(commands::Failure::BadInput(msg)) => {
            eprintln!("{msg}");
            ExitCode::from(2)
        }
    }
}

/// Arguments are taken as raw bytes: a hostile path need not be UTF-8.
fn bytes(arg: OsString) -> Vec<u8> {
    arg.into_vec()
}
