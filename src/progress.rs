//! Progress bars on stderr, only when stderr is a terminal, `--quiet` was
//! not given and the work has already taken about a second, so scripts,
//! pipes and quick commands never see them.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

const SHOW_AFTER: Duration = Duration::from_millis(800);

/// A byte-count progress bar that appears only when it is useful.
pub struct Progress {
    enabled: bool,
    start: Instant,
    total: u64,
    what: String,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn bytes(total: u64, quiet: bool, what: &str) -> Progress {
        Progress {
            enabled: !quiet && std::io::stderr().is_terminal(),
            start: Instant::now(),
            total,
            what: what.to_string(),
            bar: None,
        }
    }

    /// Sets the bytes done so far.
    pub fn set(&mut self, done: u64) {
        if !self.enabled {
            return;
        }
        if self.bar.is_none() && self.start.elapsed() >= SHOW_AFTER {
            let pb = ProgressBar::new(self.total);
            pb.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            pb.set_message(self.what.clone());
            self.bar = Some(pb);
        }
        if let Some(b) = &self.bar {
            b.set_position(done);
        }
    }

    /// Removes the bar, if one was shown.
    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

/// The core reports progress through [`crate::npy::Progress`].
impl crate::npy::Progress for Progress {
    fn set(&mut self, done: u64) {
        Progress::set(self, done);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
