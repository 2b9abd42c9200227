//! Progress on stderr for inputs that take a while: at most one line a second, none for
//! inputs read in under a second.

use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_secs(1);
const MIB: f64 = 1024.0 * 1024.0;

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
}

impl Progress {
    /// `total` is the input's size when known (a file, not a pipe).
    pub fn new<R: Read>(name: &str, total: Option<u64>, inner: R) -> (Progress, Counting<R>) {
        let read = Rc::new(Cell::new(0));
        let progress = Progress {
            name: name.to_owned(),
            total,
            read: Rc::clone(&read),
            next: Instant::now() + EVERY,
        };
        (progress, Counting { inner, read })
    }

    /// Called per record; looks at the clock only every 4096 records.
    pub fn tick(&mut self, records: u64) {
        if !records.is_multiple_of(4096) || Instant::now() < self.next {
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
}
