//! The offline tool, run as a process the way operators run it in CI.

// Tests assert by panicking; the no-trap lints guard the module, not its tests.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::io::Write;
use std::process::{Command, Stdio};

fn l7fw<A: AsRef<std::ffi::OsStr>>(args: &[A], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_l7fw"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const INTERNAL: &str = r#"{"name":"internal","groups":["agent","frontend"],"fallback":"spa"}"#;

#[test]
fn check_accepts_a_valid_config() {
    let (code, out, _) = l7fw(&["check", "-"], INTERNAL);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "ok: internal: groups agent,frontend, 8 prefixes, fallback spa, mode enforce\n"
    );
}

#[test]
fn check_refuses_with_the_filters_log_line() {
    let (code, out, err) = l7fw(&["check", "-"], r#"{"groups":["sdk","nope"]}"#);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(
        err.starts_with(
            "cobrowse-l7-firewall: invalid configuration: groups[1]: unknown group \"nope\""
        ),
        "{err}"
    );
}

#[test]
fn check_reads_files_and_reports_missing_ones() {
    let dir = std::env::temp_dir().join(format!("l7fw-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("internal.json");
    std::fs::write(&file, INTERNAL).unwrap();
    assert_eq!(l7fw(&["check", file.to_str().unwrap()], "").0, 0);
    let (code, _, err) = l7fw(&["check", dir.join("missing.json").to_str().unwrap()], "");
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn explain_shows_decision_group_and_prefix() {
    let rows: &[(&[&str], i32, &str)] = &[
        (&["GET", "/api/1/devices/7"], 0, "GET \"/api/1/devices/7\": allowed (agent)\n  forwarded unchanged: prefix \"/api/1\"\n"),
        (&["GET", "/dash?a=1"], 0, "GET \"/dash?a=1\": rewritten (spa)\n  forwarded as \"/index.html?a=1\"\n"),
        (&["POST", "/dash"], 1, "POST \"/dash\": method_not_allowed (spa)\n  answered 405, allow: GET, HEAD\n"),
        (&["GET", "/static/../x"], 1, "GET \"/static/../x\": rejected (dot_segment)\n  answered 400\n"),
        (&["GET", "/dash", "--upgrade"], 1, "GET \"/dash\" [upgrade]: denied (upgrade_not_allowed)\n  answered 403\n"),
        (&["GET", "/sockets/1/x", "--upgrade"], 0, "GET \"/sockets/1/x\" [upgrade]: allowed (agent)\n  forwarded unchanged: prefix \"/sockets/1\"\n"),
    ];
    for (args, code, expected) in rows {
        let mut argv = vec!["explain", "-"];
        argv.extend_from_slice(args);
        let (c, out, _) = l7fw(&argv, INTERNAL);
        assert_eq!((c, out.as_str()), (*code, *expected), "{args:?}");
    }
}

#[test]
fn explain_in_dry_run_says_what_would_happen() {
    let (code, out, _) = l7fw(
        &["explain", "-", "GET", "/admin"],
        r#"{"groups":["sdk"],"mode":"dry_run"}"#,
    );
    assert_eq!(
        (code, out.as_str()),
        (
            1,
            "GET \"/admin\": dry_run_denied (not_covered)\n  answered 403\n"
        )
    );
}

#[test]
fn routes_prints_the_effective_table() {
    let (code, out, _) = l7fw(
        &["routes", "-"],
        r#"{"groups":["sdk","agent"],"custom_groups":[{"name":"health","prefixes":["/healthz"]}]}"#,
    );
    assert_eq!(code, 0);
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines,
        vec![
            vec!["prefix", "group", "websocket", "path"],
            vec!["/api/1/devices", "sdk", "no", "canonical"],
            vec!["/api/1/sessions", "sdk", "no", "canonical"],
            vec!["/sockets/1", "sdk", "yes", "canonical"],
            vec!["/api/1", "agent", "no", "canonical"],
            vec!["/proxy/1", "agent", "no", "data"],
            vec!["/recording/1", "agent", "no", "canonical"],
            vec!["/healthz", "health", "no", "canonical"],
            vec!["anything", "else:", "fallback", "deny"],
        ]
    );
}

#[test]
fn explain_takes_hostile_bytes_without_aborting() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let args = [
        OsStr::new("explain"),
        OsStr::new("-"),
        OsStr::new("GET"),
        OsStr::from_bytes(b"/api/1/x\x80\"y"),
    ];
    let (code, out, _) = l7fw(&args, INTERNAL);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "GET \"/api/1/x\\x80\\x22y\": rejected (non_ascii)\n  answered 400\n"
    );
}

#[test]
fn bad_usage_exits_2_with_clap_s_message() {
    let rows: &[(&[&str], &str)] = &[
        (&[], "Usage: l7fw <COMMAND>"),
        (
            &["check"],
            "error: the following required arguments were not provided",
        ),
        (
            &["explain", "-", "GET"],
            "error: the following required arguments were not provided",
        ),
        (
            &["frobnicate", "x"],
            "error: unrecognized subcommand 'frobnicate'",
        ),
        (
            &["check", "-", "--upgrade"],
            "error: unexpected argument '--upgrade' found",
        ),
    ];
    for (args, expected) in rows {
        let (code, out, err) = l7fw(args, "");
        assert_eq!((code, out.as_str()), (2, ""), "{args:?}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(err.contains("Usage: l7fw"), "{args:?}: {err}");
    }
}

#[test]
fn help_for_the_tool_and_every_subcommand() {
    let (code, out, _) = l7fw(&["--help"], "");
    assert_eq!(code, 0);
    for word in [
        "Usage: l7fw <COMMAND>",
        "check",
        "explain",
        "routes",
        "audit",
        "completions",
        "--version",
    ] {
        assert!(out.contains(word), "{word}: {out}");
    }
    let rows: &[(&str, &[&str])] = &[
        ("check", &["Usage: l7fw check <CONFIG>"]),
        (
            "explain",
            &[
                "Usage: l7fw explain [OPTIONS] <CONFIG> <METHOD> <PATH>",
                "--upgrade",
            ],
        ),
        ("routes", &["Usage: l7fw routes <CONFIG>"]),
        (
            "audit",
            &[
                "Usage: l7fw audit [OPTIONS] --config <CONFIG> <INPUT>...",
                "--har",
                "--log",
                "--depth",
                "--top",
            ],
        ),
    ];
    for (command, words) in rows {
        for help in [vec![*command, "--help"], vec!["help", *command]] {
            let (code, out, _) = l7fw(&help, "");
            assert_eq!(code, 0, "{help:?}");
            for word in *words {
                assert!(out.contains(word), "{help:?} {word}: {out}");
            }
        }
    }
}

#[test]
fn completions_are_generated_for_the_common_shells() {
    for (shell, marker) in [
        ("bash", "_l7fw()"),
        ("zsh", "#compdef l7fw"),
        ("fish", "complete -c l7fw"),
    ] {
        let (code, out, _) = l7fw(&["completions", shell], "");
        assert_eq!(code, 0, "{shell}");
        assert!(
            out.contains(marker) && out.contains("audit"),
            "{shell}: {out}"
        );
    }
    assert_eq!(l7fw(&["completions", "cmd.exe"], "").0, 2);
}

#[test]
fn version_is_the_module_s_with_its_git_revision() {
    let (code, out, _) = l7fw(&["--version"], "");
    assert_eq!(code, 0);
    assert_eq!(out, format!("l7fw {}\n", cobrowse_l7_firewall::VERSION));
    // `0.1.0 (0123456789ab)` when built from a git checkout, as the module logs it.
    assert!(
        out.contains(env!("CARGO_PKG_VERSION")) && out.contains(" ("),
        "{out}"
    );
}

#[test]
fn a_configuration_path_that_is_not_utf8_is_read_as_bytes() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = std::env::temp_dir().join(format!("l7fw-bytes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(OsStr::from_bytes(b"caf\xe9.json"));
    std::fs::write(&file, INTERNAL).unwrap();
    let (code, out, _) = l7fw(&[OsStr::new("check"), file.as_os_str()], "");
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            "ok: internal: groups agent,frontend, 8 prefixes, fallback spa, mode enforce\n"
        )
    );
    let missing = dir.join(OsStr::from_bytes(b"\xff\n.json"));
    let (code, _, err) = l7fw(&[OsStr::new("check"), missing.as_os_str()], "");
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot read") && err.contains("\\xff\\x0a.json"),
        "{err}"
    );
}

const EXTERNAL: &str = r#"{"name":"external","groups":["sdk"]}"#;

fn temp_file(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("l7fw-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn access_line(method: &str, path: &str, original: Option<&str>, upgrade: Option<&str>) -> String {
    let q = |v: Option<&str>| v.map_or("null".to_owned(), |v| format!("{v:?}"));
    format!(
        r#"{{"start_time":"2026-01-01T00:00:00.000Z","listener":"external","method":{method:?},"path":{path:?},"original_path":{},"upgrade":{},"protocol":"HTTP/1.1","response_code":200,"response_code_details":"via_upstream","decision":null,"duration_ms":1,"upstream_host":null}}"#,
        q(original),
        q(upgrade)
    ) + "\n"
}

#[test]
fn audit_of_an_access_log_groups_refusals_and_exits_1() {
    let config = temp_file("external.json", EXTERNAL);
    let log = [
        access_line("GET", "/api/1/devices/1", None, None),
        access_line("GET", "/api/2/devices/1", None, None),
        access_line("GET", "/api/2/devices/2?x", None, None),
        access_line("GET", "/api/1/devices", None, Some("websocket")),
        access_line("GET", "/index.html", Some("/api/1/sessions/9"), None),
    ]
    .concat();
    let (code, out, err) = l7fw(&["audit", "-c", &config, "-"], &log);
    assert_eq!((code, err.as_str()), (1, ""), "{out}");
    let rows: Vec<Vec<&str>> = out
        .lines()
        .filter(|l| l.starts_with("  ") && l.contains(':'))
        .map(|l| l.split_whitespace().take(3).collect())
        .collect();
    assert_eq!(
        rows,
        vec![
            vec!["denied:not_covered", "2", "/api/2/devices"],
            vec!["denied:upgrade_not_allowed", "1", "/api/1/devices"],
        ],
        "{out}"
    );
    assert!(
        out.contains("GET \"/api/2/devices/1\" (stdin line 2)"),
        "{out}"
    );
    // original_path (the client's) is decided, not the rewritten path.
    assert!(out.contains(
        "external: 5 requests: 2 allowed, 0 rewritten, 3 refused (3 denied, 0 rejected, 0 method_not_allowed)"
    ));
    assert!(out.ends_with(
        "audit: 5 requests from 1 input(s) against 1 configuration(s): 3 refusal(s); 0 bad record(s) skipped\n"
    ));
}

#[test]
fn audit_reports_show_no_credential_from_either_log_format_or_a_har() {
    let config = temp_file("external-redact.json", EXTERNAL);
    let candidate = temp_file(
        "candidate-redact.json",
        r#"{"groups":["ai_sdk"],"log":{"redact_params":["session"]}}"#,
    );
    // The older format logged the query; the shipped one leaves it out.
    let log = [
        access_line("GET", "/admin?access_token=S1&x=1", None, None),
        access_line(
            "GET",
            "/sockets/1/ws?%61ccess_token=S2",
            None,
            Some("websocket"),
        ),
        access_line("GET", "/index.html?Token=S3", Some("/dash?Token=S3"), None),
        access_line("GET", "/api/1/agents?session=S4&KEY=S5", None, None),
        access_line("GET", "/api/1/sessions", None, None),
    ]
    .concat();
    let (code, out, err) = l7fw(&["audit", "-c", &config, "-c", &candidate, "-"], &log);
    assert_eq!(code, 1, "{out}{err}");
    for secret in ["S1", "S2", "S3", "S5"] {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{secret}: {out}"
        );
    }
    assert!(
        out.contains(r#""/admin?access_token=REDACTED&x=1""#),
        "{out}"
    );
    assert!(
        out.contains(r#""/sockets/1/ws?%61ccess_token=REDACTED""#),
        "{out}"
    );
    // `session` is a credential only to the candidate that names it.
    assert!(
        out.contains(r#""/api/1/agents?session=REDACTED&KEY=REDACTED""#),
        "{out}"
    );
    assert!(
        out.contains(r#""/api/1/agents?session=S4&KEY=REDACTED""#),
        "{out}"
    );
    let har = temp_file(
        "tokens.har",
        r#"{"log":{"version":"1.2","entries":[
          {"request":{"method":"GET","url":"https://gw/proxy/1/universal/com/x/https:/a?search=q&access_token=S6","headers":[]},"response":{"status":200}},
          {"request":{"method":"GET","url":"/relative?token=S7","headers":[]},"response":{"status":200}}
        ]}}"#,
    );
    let (_, out, err) = l7fw(&["audit", "-c", &candidate, &har], "");
    for secret in ["S6", "S7"] {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{secret}: {out}{err}"
        );
    }
    assert!(out.contains("access_token=REDACTED"), "{out}");
}

#[test]
fn audit_of_a_har_file_counts_websocket_entries_as_upgrades() {
    let config = temp_file("external-har.json", EXTERNAL);
    let har = temp_file(
        "capture.har",
        r#"{"log":{"version":"1.2","entries":[
          {"request":{"method":"GET","url":"http://gw/sockets/1/x","headers":[]},"response":{"status":101},"_resourceType":"websocket"},
          {"request":{"method":"GET","url":"ws://gw/api/1/sessions/1","headers":[]},"response":{"status":0},"_resourceType":"websocket"},
          {"request":{"method":"GET","url":"https://gw/api/1/devices?a=1#f","headers":[]},"response":{"status":200}}
        ]}}"#,
    );
    let (code, out, _) = l7fw(&["audit", "-c", &config, &har], "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("denied:upgrade_not_allowed"), "{out}");
    assert!(out.contains("external: 3 requests: 2 allowed"), "{out}");
    // The same file read as an access log is one bad record per line: exit 2.
    let (code, _, err) = l7fw(&["audit", "-c", &config, "--log", &har], "");
    assert_eq!(code, 2);
    assert!(err.contains("line 1: skipped"), "{err}");
}

#[test]
fn audit_exits_0_when_nothing_is_refused_and_2_on_bad_input() {
    let config = temp_file("external-ok.json", EXTERNAL);
    let ok = access_line("GET", "/api/1/devices", None, None);
    assert_eq!(l7fw(&["audit", "-c", &config, "-"], &ok).0, 0);
    let bad = format!("{ok}not json\n{ok}");
    let (code, out, err) = l7fw(&["audit", "-c", &config, "-"], &bad);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("l7fw audit: stdin: line 2: skipped: not an access-log JSON object"),
        "{err}"
    );
    assert!(
        out.contains("2 requests from 1 input(s)") && out.contains("1 bad record(s) skipped"),
        "{out}"
    );
    let (code, _, err) = l7fw(&["audit", "-c", &config, "--har", "-"], "{\"log\":{}}");
    assert_eq!(code, 2);
    assert!(err.contains("no log.entries array"), "{err}");
    let rows: &[(&[&str], &str)] = &[
        (
            &["audit"],
            "error: the following required arguments were not provided",
        ),
        (
            &["audit", "-c", &config],
            "error: the following required arguments were not provided",
        ),
        (
            &["audit", "--nope", "x"],
            "error: unexpected argument '--nope' found",
        ),
        (
            &["audit", "-c", &config, "--depth", "0", "-"],
            "error: invalid value '0' for '--depth <DEPTH>'",
        ),
        (
            &["audit", "-c", &config, "--har", "--log", "-"],
            "error: the argument '--har' cannot be used with '--log'",
        ),
    ];
    for (args, expected) in rows {
        let (code, _, err) = l7fw(args, "");
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

/// An access log of `lines` allowed requests.
fn allowed_log(lines: usize) -> String {
    access_line("GET", "/api/1/devices", None, None).repeat(lines)
}

#[test]
fn audit_progress_is_plain_lines_when_stderr_is_not_a_terminal() {
    let config = temp_file("external-progress.json", EXTERNAL);
    // Two batches of 4096 records a second and a half apart: the tool looks at the clock
    // every 4096 records and writes at most one line a second, none in the first second.
    let mut child = Command::new(env!("CARGO_BIN_EXE_l7fw"))
        .args(["audit", "-c", &config, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(allowed_log(4096).as_bytes()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    stdin.write_all(allowed_log(4096).as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("l7fw audit: stdin: ") && lines[0].ends_with(" MiB, 8192 records"),
        "{err}"
    );
    assert!(
        !err.contains('\x1b') && !err.contains('\r'),
        "no terminal codes: {err:?}"
    );
}

#[test]
fn audit_progress_is_a_bar_with_rate_and_eta_on_a_terminal() {
    use nix::pty::{openpty, Winsize};
    use std::io::Read;
    let config = temp_file("external-bar.json", EXTERNAL);
    let log = temp_file("bar.log", &allowed_log(3000));
    let size = Winsize {
        ws_row: 24,
        ws_col: 160,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(Some(&size), None).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_l7fw"));
    command
        .args(["audit", "-c", &config, &log])
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(pty.slave));
    let child = command.spawn().unwrap();
    // Only the child holds the terminal now: reading ends when it exits.
    drop(command);
    let mut terminal = std::fs::File::from(pty.master);
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    // Linux answers EIO once the last holder of the other end has closed it.
    while let Ok(n @ 1..) = terminal.read(&mut chunk) {
        seen.extend_from_slice(&chunk[..n]);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let screen = String::from_utf8_lossy(&seen);
    let bytes = std::fs::metadata(&log).unwrap().len();
    assert!(
        screen.contains(&format!("l7fw audit: {log} [")),
        "{screen:?}"
    );
    // The last state drawn: a full bar, as wide as the terminal leaves room for.
    let last = screen.rsplit(&format!("{log} [")).next().unwrap();
    let bar = &last[..last.find(']').unwrap()];
    assert!(
        bar.len() > 20 && bar.bytes().all(|b| b == b'='),
        "a full bar: {screen:?}"
    );
    assert!(last.ends_with(" 3000 records\r\n"), "{screen:?}");
    assert!(
        screen.contains("/s, ETA ") && screen.contains("3000 records"),
        "{screen:?}"
    );
    assert!(
        screen.contains(&format!("{:.2} KiB", bytes as f64 / 1024.0)),
        "{bytes}: {screen:?}"
    );
    assert!(!screen.contains(" MiB ("), "no plain lines: {screen:?}");
}
