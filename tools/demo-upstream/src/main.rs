//! demo-upstream: the upstream behind the firewall in demos and end-to-end tests.
//!
//! - `/index.html`, `/static/app.js`, `/static/app.css`, `/favicon.png` (GET, HEAD): a tiny
//!   single-page app.
//! - `/sockets/1/…` with `Upgrade: websocket`: echoes every text and binary message.
//! - anything else: a JSON echo of the request exactly as received.
//!
//! Every response carries `x-upstream-path`, the request target as it arrived, and with
//! `--log FILE` every request is appended to FILE as one JSON line before it is answered,
//! so a client that got a response can rely on the log already holding the request.
//!
//! Byte strings in the JSON (target, path, query, header names and values, body) map each
//! byte to the character U+0000..U+00FF of the same value (ISO-8859-1), which is lossless:
//! in Python, `value.encode("latin-1")` gives back the exact bytes.

mod http;
mod ws;

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::{env, process, thread};

use serde_json::{json, Value};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::http::{Incoming, Request};

const USAGE: &str = "usage: demo-upstream [--bind ADDR] [--port PORT] [--log FILE]
  --bind ADDR  address to listen on (default 127.0.0.1)
  --port PORT  port to listen on; 0 picks a free one (default: $PORT, else 8080)
  --log FILE   append every request received to FILE as one JSON line
The first line on stdout is `listening ADDR:PORT` once the socket is bound.";

const WEBSOCKET_PREFIX: &[u8] = b"/sockets/1/";

/// The demo single-page app: path, content type, body.
const SITE: &[(&str, &str, &[u8])] = &[
    (
        "/index.html",
        "text/html; charset=utf-8",
        include_bytes!("../site/index.html"),
    ),
    (
        "/static/app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../site/static/app.js"),
    ),
    (
        "/static/app.css",
        "text/css; charset=utf-8",
        include_bytes!("../site/static/app.css"),
    ),
    (
        "/favicon.png",
        "image/png",
        include_bytes!("../site/favicon.png"),
    ),
];

struct Options {
    bind: String,
    port: u16,
    log: Option<String>,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        bind: "127.0.0.1".into(),
        port: 8080,
        log: None,
    };
    if let Ok(port) = env::var("PORT") {
        options.port = port
            .parse()
            .map_err(|_| format!("PORT={port}: not a port number"))?;
    }
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--bind" => options.bind = value()?,
            "--port" => {
                let port = value()?;
                options.port = port
                    .parse()
                    .map_err(|_| format!("--port {port}: not a port number"))?;
            }
            "--log" => options.log = Some(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

fn main() {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("demo-upstream: {message}\n{USAGE}");
            process::exit(2);
        }
    };
    if let Err(err) = exit_on_stop_signal() {
        eprintln!("demo-upstream: cannot handle SIGTERM: {err}");
        process::exit(1);
    }
    if let Err(err) = serve(&options) {
        eprintln!("demo-upstream: {err}");
        process::exit(1);
    }
}

/// Exits at once on SIGTERM or SIGINT. The default action would do the same, except as PID 1
/// in a container (`docker stop`, `docker-compose down`), where the kernel ignores a signal
/// the process has no handler for and the engine waits its timeout, then kills.
fn exit_on_stop_signal() -> io::Result<()> {
    let mut signals = Signals::new([SIGTERM, SIGINT])?;
    thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                // A requested stop is a clean exit: nothing is buffered (the log is written per line).
                process::exit(0);
            }
        })?;
    Ok(())
}

fn serve(options: &Options) -> io::Result<()> {
    let log = match &options.log {
        Some(path) => Some(OpenOptions::new().create(true).append(true).open(path)?),
        None => None,
    };
    let log = Arc::new(Mutex::new(log));
    let listener = TcpListener::bind((options.bind.as_str(), options.port))?;
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening {}", listener.local_addr()?)?;
    stdout.flush()?;
    drop(stdout);

    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(err) => {
                eprintln!("demo-upstream: accept: {err}");
                continue;
            }
        };
        let log = Arc::clone(&log);
        let spawned = thread::Builder::new()
            .name("connection".into())
            .spawn(move || {
                let peer = peer_name(&stream);
                if let Err(err) = handle_connection(stream, &log) {
                    eprintln!("demo-upstream: connection {peer}: {err}");
                }
            });
        if let Err(err) = spawned {
            eprintln!("demo-upstream: cannot start a thread: {err}");
        }
    }
    Ok(())
}

fn peer_name(stream: &TcpStream) -> String {
    stream
        .peer_addr()
        .map_or_else(|_| "-".to_string(), |a| a.to_string())
}

/// ISO-8859-1 view of raw bytes: lossless, one char per byte.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().copied().map(char::from).collect()
}

/// The target for a response header: visible ASCII kept, any other byte as `%XX`
/// (the JSON body and the log hold the exact bytes).
fn header_safe(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if (0x21..=0x7e).contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn record(request: &Request) -> Value {
    let headers: Vec<Value> = request
        .headers
        .iter()
        .map(|(n, v)| json!([latin1(n), latin1(v)]))
        .collect();
    json!({
        "method": latin1(&request.method),
        "target": latin1(&request.target),
        "path": latin1(request.path()),
        "query": request.query().map(latin1),
        "version": latin1(&request.version),
        "headers": headers,
        "body": latin1(&request.body),
    })
}

fn append_log(log: &Mutex<Option<File>>, entry: &Value) {
    let mut guard = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(file) = guard.as_mut() {
        // One write per line: a reader never sees half a record.
        let line = format!("{entry}\n");
        if let Err(err) = file.write_all(line.as_bytes()).and_then(|()| file.flush()) {
            eprintln!("demo-upstream: cannot write the request log: {err}");
        }
    }
}

fn handle_connection(stream: TcpStream, log: &Mutex<Option<File>>) -> io::Result<()> {
    let peer = peer_name(&stream);
    let mut reader = BufReader::new(stream);
    loop {
        let request = match http::read_request(&mut reader)? {
            Incoming::Closed => return Ok(()),
            Incoming::Malformed { reason, head } => {
                append_log(log, &json!({ "error": reason, "head": latin1(&head) }));
                let body = json!({ "error": reason }).to_string();
                let response = Response {
                    status: 400,
                    content_type: "application/json",
                    body: body.as_bytes(),
                    head_only: false,
                    keep_alive: false,
                    target: b"",
                };
                return write_response(reader.get_mut(), &response);
            }
            Incoming::Request(request) => request,
        };
        append_log(log, &record(&request));
        eprintln!(
            "demo-upstream: {peer} {} {}",
            latin1(&request.method),
            header_safe(&request.target)
        );

        let path = request.path();
        if path.starts_with(WEBSOCKET_PREFIX) && request.header_has_token("upgrade", "websocket") {
            return ws::upgrade_and_echo(reader, &request);
        }

        let head_only = request.method == b"HEAD";
        let page = SITE.iter().find(|(p, _, _)| p.as_bytes() == path);
        let echo;
        let (content_type, body) = match page {
            Some((_, content_type, body)) if head_only || request.method == b"GET" => {
                (*content_type, *body)
            }
            _ => {
                echo = serde_json::to_vec_pretty(&record(&request)).map_err(io::Error::other)?;
                ("application/json", echo.as_slice())
            }
        };
        let keep_alive = request.keep_alive();
        let response = Response {
            status: 200,
            content_type,
            body,
            head_only,
            keep_alive,
            target: &request.target,
        };
        write_response(reader.get_mut(), &response)?;
        if !keep_alive {
            return Ok(());
        }
    }
}

/// What one plain (non-upgrade) response holds.
struct Response<'a> {
    status: u16,
    content_type: &'a str,
    body: &'a [u8],
    /// HEAD: the headers a GET would get, content-length included, and no body.
    head_only: bool,
    keep_alive: bool,
    /// Echoed in `x-upstream-path`; empty when no target could be read.
    target: &'a [u8],
}

fn write_response(stream: &mut TcpStream, response: &Response<'_>) -> io::Result<()> {
    let reason = if response.status == 200 {
        "OK"
    } else {
        "Bad Request"
    };
    let mut out = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: {}\r\ncontent-length: {}\r\nx-upstream-path: {}\r\n{}\r\n",
        response.status,
        response.content_type,
        response.body.len(),
        header_safe(response.target),
        if response.keep_alive { "" } else { "connection: close\r\n" },
    )
    .into_bytes();
    if !response.head_only {
        out.extend_from_slice(response.body);
    }
    stream.write_all(&out)?;
    stream.flush()
}
