//! `l7fw`: the filter's own decision code, offline. Operators run it in CI before a
//! rollout: the same messages and the same decisions as the module in Envoy.
//!
//! Exit status: 0 valid / forwarded, 1 refused (config invalid, or request not
//! forwarded by `explain`, or refused by `audit`), 2 usage, I/O error or bad input.

mod audit;
mod commands;

use std::os::unix::ffi::OsStringExt;

use std::process::ExitCode;

const USAGE: &str = "usage:
  l7fw check CONFIG                          validate a plugin configuration (JSON file, or - for stdin)
  l7fw explain CONFIG METHOD PATH [--upgrade] the decision for one request
  l7fw routes CONFIG                         the effective prefix table
";

fn main() -> ExitCode {
    // Arguments as bytes: a hostile path need not be UTF-8, and must not abort the tool.
    let args: Vec<Vec<u8>> = std::env::args_os()
        .skip(1)
        .map(OsStringExt::into_vec)
        .collect();
    let argv: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let result = match argv.as_slice() {
        [b"check", config] => commands::check(config),
        [b"routes", config] => commands::routes(config),
        [b"explain", config, method, path] => commands::explain(config, method, path, false),
        [b"explain", config, method, path, b"--upgrade"] => {
            commands::explain(config, method, path, true)
        }
        [b"audit", rest @ ..] => match audit::audit(rest) {
            Ok((out, status)) => {
                print!("{out}");
                return ExitCode::from(status);
            }
            Err(failure) => Err(failure),
        },
        _ => Err(commands::Failure::Usage(format!("{USAGE}{}", audit::USAGE))),
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
        Err(commands::Failure::Usage(msg)) => {
            eprintln!("{msg}");
            ExitCode::from(2)
        }
    }
}
