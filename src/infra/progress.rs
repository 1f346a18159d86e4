//! Progress a person can follow: indicatif bars per phase on a terminal,
//! plain log lines otherwise (or with `-q`/`--no-progress`). Log lines
//! written while a bar is shown are printed above it.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// `Some` when bars are drawn.
static BARS: OnceLock<Option<MultiProgress>> = OnceLock::new();
/// The bar of the phase under way, for byte counts from downloads.
static CURRENT: Mutex<Option<ProgressBar>> = Mutex::new(None);
static BYTES: AtomicU64 = AtomicU64::new(0);

pub fn init(enabled: bool) {
    let _ = BARS.set(enabled.then(MultiProgress::new));
}

fn bars() -> Option<&'static MultiProgress> {
    BARS.get().and_then(Option::as_ref)
}

/// One phase of work over `total` items (resolve, fetch, …).
pub struct Phase {
    name: &'static str,
    bar: Option<ProgressBar>,
}

impl Phase {
    pub fn start(name: &'static str, total: usize) -> Phase {
        let bar = bars().map(|bars| {
            let bar = bars.add(ProgressBar::new(total as u64));
            bar.set_style(
                ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} {wide_msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(name);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        if bar.is_none() && total > 0 {
            tracing::info!("{name}: {total} components");
        }
        *CURRENT.lock().expect("progress lock") = bar.clone();
        BYTES.store(0, Ordering::Relaxed);
        Phase { name, bar }
    }

    /// One item finished.
    pub fn done(&self, item: &str) {
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(format!("{item}{}", bytes_note()));
            }
            None => tracing::debug!("{}: {item} done", self.name),
        }
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            *CURRENT.lock().expect("progress lock") = None;
        }
    }
}

/// Bytes downloaded in the current phase, shown beside the bar.
pub fn add_bytes(count: u64) {
    let total = BYTES.fetch_add(count, Ordering::Relaxed) + count;
    if let Some(bar) = CURRENT.lock().expect("progress lock").as_ref() {
        if total % (256 * 1024) < count {
            bar.set_message(bytes_note());
        }
    }
}

fn bytes_note() -> String {
    match BYTES.load(Ordering::Relaxed) {
        0 => String::new(),
        bytes => format!(" ({:.1} MiB downloaded)", bytes as f64 / (1024.0 * 1024.0)),
    }
}

/// Where log lines go: stderr, above the bars when there are any.
#[derive(Clone, Copy)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match bars() {
            Some(bars) => bars
                .suspend(|| std::io::stderr().write_all(buf))
                .map(|()| buf.len()),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}
