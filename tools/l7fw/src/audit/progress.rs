//! Progress on stderr. On a terminal, an indicatif bar with the rate and time left (a
//! spinner when the size is unknown, as for a pipe). Otherwise (CI logs, redirects) plain
//! lines, at most one a second and none for inputs read in under a second.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::cell::Cell;
use std::io::{IsTerminal, Read};
use std::rc::Rc;
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_secs(1);
const MIB: f64 = 1024.0 * 1024.0;
/// Records between two updates of the bar (it redraws at most 20 times a second itself).
const BAR_RECORDS: u64 = 256;
/// Records between two looks at the clock for the plain lines.
const LINE_RECORDS: u64 = 4096;

/// Wraps a reader and counts the bytes it hands out.
pub struct Counting<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get().saturating_add(n as u64));
        Ok(n)
    }
}

pub struct Progress {
    name: String,
    total: Option<u64>,
    read: Rc<Cell<u64>>,
    next: Instant,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `total` is the input's size when known (a file, not a pipe).
    pub fn new<R: Read>(name: &str, total: Option<u64>, inner: R) -> (Progress, Counting<R>) {
        let read = Rc::new(Cell::new(0));
        let bar = std::io::stderr()
            .is_terminal()
            .then(|| terminal_bar(name, total));
        let progress = Progress {
            name: name.to_owned(),
            total,
            read: Rc::clone(&read),
            next: Instant::now() + EVERY,
            bar,
        };
        (progress, Counting { inner, read })
    }

    /// Called per record.
    pub fn tick(&mut self, records: u64) {
        if let Some(bar) = &self.bar {
            if records.is_multiple_of(BAR_RECORDS) {
                bar.set_position(self.read.get());
                bar.set_message(format!("{records} records"));
            }
            return;
        }
        if !records.is_multiple_of(LINE_RECORDS) || Instant::now() < self.next {
            return;
        }
        self.next = Instant::now() + EVERY;
        let read = self.read.get() as f64 / MIB;
        match self.total {
            Some(total) if total > 0 => eprintln!(
                "l7fw audit: {}: {read:.0} of {:.0} MiB ({:.0}%), {records} records",
                self.name,
                total as f64 / MIB,
                100.0 * self.read.get() as f64 / total as f64
            ),
            _ => eprintln!(
                "l7fw audit: {}: {read:.0} MiB, {records} records",
                self.name
            ),
        }
    }

    /// A message line on stderr that the bar, if any, does not draw over.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// The bar's last state stays on the terminal: how much was read, and how fast.
    pub fn finish(&self, records: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(self.read.get());
            bar.finish_with_message(format!("{records} records"));
            // indicatif leaves the cursor on the bar's line: what comes next starts below.
            eprintln!();
        }
    }
}

fn terminal_bar(name: &str, total: Option<u64>) -> ProgressBar {
    let (bar, template) = match total {
        Some(total) => (
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
            "{prefix} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec}, ETA {eta} {msg}",
        ),
        None => (
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            "{prefix} {spinner} {bytes} {bytes_per_sec} {msg}",
        ),
    };
    // The templates are constants; a bad one would fall back to indicatif's default.
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(format!("l7fw audit: {name}"));
    bar
}
