//! Native micro benchmark of the per-request decision and of loading a configuration.
//!
//! `cargo bench --bench decision` (std only, no harness). Each sample times many
//! calls and divides; the median of the samples is reported. When BENCH_MICRO_JSON
//! names a file, the figures are also written there for bench/run.py.

use std::hint::black_box;
use std::time::{Duration, Instant};

use cobrowse_l7_firewall::{load, Decision, Firewall};

const SAMPLES: usize = 31;
/// Long enough per sample that timer resolution and loop overhead vanish.
const SAMPLE_TIME: Duration = Duration::from_millis(5);

const EXTERNAL: &str =
    r#"{"name":"external","groups":["sdk","universal","sdk_pinning","ai_sdk"],"fallback":"deny"}"#;
const INTERNAL: &str = r#"{"name":"internal","groups":["agent","frontend"],"fallback":"spa"}"#;

type Expect = fn(&Decision) -> bool;

struct Case {
    name: &'static str,
    internal: bool,
    target: Vec<u8>,
    expect: Expect,
}

fn cases() -> Vec<Case> {
    // A realistic 1 KiB path: many segments below an allowed prefix.
    let mut long = b"/api/1/sessions".to_vec();
    while long.len() < 1024 - 9 {
        long.extend_from_slice(b"/seg-0123");
    }
    long.resize(1024, b'x');
    // A typical SDK request, and the same with a query: the query's own scan (SPEC rule 6)
    // is what the pair shows; the 1 KiB query shows how it grows.
    let sdk = b"/api/1/devices/9b2f4c1e7a3d/sessions".to_vec();
    let sdk_query = [
        sdk.as_slice(),
        b"?state=active&since=1733220000000&token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXZpY2UifQ",
    ]
    .concat();
    let mut long_query = [sdk.as_slice(), b"?q="].concat();
    long_query.resize(sdk.len() + 1024, b'a');
    vec![
        Case {
            name: "allowed near the root",
            internal: false,
            target: b"/api/1/devices".to_vec(),
            expect: |d| matches!(d, Decision::Allow { .. }),
        },
        Case {
            name: "allowed deep, with query",
            internal: false,
            target: b"/api/1/sessions/abc/def/ghi?x=1".to_vec(),
            expect: |d| matches!(d, Decision::Allow { .. }),
        },
        Case {
            name: "denied (not covered)",
            internal: false,
            target: b"/admin".to_vec(),
            expect: |d| matches!(d, Decision::Deny(_)),
        },
        Case {
            name: "SPA rewrite, with query",
            internal: true,
            target: b"/dashboard/sessions?tab=active&page=2".to_vec(),
            expect: |d| matches!(d, Decision::Rewrite { .. }),
        },
        Case {
            name: "hostile (%2e%2e)",
            internal: false,
            target: b"/api/1/devices/%2e%2e/x".to_vec(),
            expect: |d| matches!(d, Decision::Reject(_)),
        },
        Case {
            name: "SDK request, no query",
            internal: false,
            target: sdk,
            expect: |d| matches!(d, Decision::Allow { .. }),
        },
        Case {
            name: "SDK request, with query",
            internal: false,
            target: sdk_query,
            expect: |d| matches!(d, Decision::Allow { .. }),
        },
        Case {
            name: "SDK request, 1 KiB query",
            internal: false,
            target: long_query,
            expect: |d| matches!(d, Decision::Allow { .. }),
        },
        Case {
            name: "allowed, 1 KiB path",
            internal: false,
            target: long,
            expect: |d| matches!(d, Decision::Allow { .. }),
        },
    ]
}

/// Median and minimum of SAMPLES samples, in nanoseconds per call of `f`.
fn measure(mut f: impl FnMut()) -> (f64, f64) {
    // Calibrate: double the batch until one batch takes SAMPLE_TIME.
    let mut batch: u32 = 1;
    loop {
        let start = Instant::now();
        for _ in 0..batch {
            f();
        }
        if start.elapsed() >= SAMPLE_TIME || batch >= 1 << 30 {
            break;
        }
        batch = batch.saturating_mul(2);
    }
    let mut samples: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(batch)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    let median = samples.get(SAMPLES / 2).copied().unwrap_or(f64::NAN);
    let min = samples.first().copied().unwrap_or(f64::NAN);
    (median, min)
}

fn load_config(json: &str) -> Result<Firewall, String> {
    load(json.as_bytes()).map_err(|e| format!("bench config refused: {}", e.log_line()))
}

fn main() -> Result<(), String> {
    let external = load_config(EXTERNAL)?;
    let internal = load_config(INTERNAL)?;
    let mut json_cases = Vec::new();

    println!("decision per request (median of {SAMPLES} samples)");
    println!(
        "{:<28} {:>6} {:>11} {:>11}",
        "case", "bytes", "median", "min"
    );
    for case in cases() {
        let policy = if case.internal {
            &internal.policy
        } else {
            &external.policy
        };
        let decision = policy.decide(Some(&case.target), || false, || true);
        if !(case.expect)(&decision) {
            return Err(format!("{}: unexpected decision {decision:?}", case.name));
        }
        let (median, min) = measure(|| {
            let target = black_box(case.target.as_slice());
            black_box(black_box(policy).decide(
                Some(target),
                || black_box(false),
                || black_box(true),
            ));
        });
        println!(
            "{:<28} {:>6} {:>8.1} ns {:>8.1} ns",
            case.name,
            case.target.len(),
            median,
            min
        );
        json_cases.push(format!(
            r#"{{"name": "{}", "path_bytes": {}, "median_ns": {median:.2}, "min_ns": {min:.2}}}"#,
            case.name,
            case.target.len()
        ));
    }

    println!("\nconfiguration load: parse + compile (median of {SAMPLES} samples)");
    let mut json_loads = Vec::new();
    for (name, config) in [
        ("load external config", EXTERNAL),
        ("load internal config", INTERNAL),
    ] {
        let (median, min) = measure(|| {
            // Dropping the result is part of a configuration change too.
            drop(black_box(load(black_box(config.as_bytes()))));
        });
        println!(
            "{:<28} {:>6} {:>8.2} µs {:>8.2} µs",
            name,
            "",
            median / 1e3,
            min / 1e3
        );
        json_loads.push(format!(
            r#"{{"name": "{name}", "median_us": {:.3}, "min_us": {:.3}}}"#,
            median / 1e3,
            min / 1e3
        ));
    }

    if let Ok(path) = std::env::var("BENCH_MICRO_JSON") {
        let json = format!(
            "{{\"decisions\": [{}], \"load\": [{}]}}\n",
            json_cases.join(", "),
            json_loads.join(", ")
        );
        std::fs::write(&path, json).map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    Ok(())
}
