//! Progress of a long loop: an `indicatif` bar with ETA on a terminal, plain lines otherwise.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

/// Shows how far a loop of `total` steps is. On a terminal a bar with elapsed time, ETA and the
/// latest step's summary; elsewhere (a log file, CI) a plain line on standard error about every
/// twentieth of the run, and at the end.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    position: usize,
    start_position: usize,
    every: usize,
    started: Instant,
}

impl Progress {
    /// A progress display of `total` steps, `done` of them already done (a resumed run).
    pub fn new(total: usize, done: usize) -> Self {
        Self::with_terminal(total, done, std::io::stderr().is_terminal())
    }

    /// Plain lines only, whatever standard error is.
    pub fn plain(total: usize, done: usize) -> Self {
        Self::with_terminal(total, done, false)
    }

    fn with_terminal(total: usize, done: usize, terminal: bool) -> Self {
        let bar = terminal.then(|| {
            let bar = ProgressBar::new(total as u64).with_position(done as u64);
            if let Ok(style) = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} steps, ETA {eta_precise} {msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Self {
            bar,
            total,
            position: done,
            start_position: done,
            every: (total / 20).max(1),
            started: Instant::now(),
        }
    }

    /// One more step done; `summary` describes it.
    pub fn step(&mut self, summary: &str) {
        self.position += 1;
        match &self.bar {
            Some(bar) => {
                bar.set_message(summary.to_string());
                bar.inc(1);
            }
            None if self.position.is_multiple_of(self.every) || self.position == self.total => {
                eprintln!("{}", self.line(summary));
            }
            None => {}
        }
    }

    /// Moves back (or forward) to `done` steps, e.g. after restoring a checkpoint.
    pub fn set_position(&mut self, done: usize) {
        self.position = done;
        self.start_position = self.start_position.min(done);
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
        }
    }

    /// Prints a message above the bar (or as a line).
    pub fn println(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => eprintln!("{message}"),
        }
    }

    /// Ends the display with a closing message.
    pub fn finish(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.abandon_with_message(message.to_string()),
            None => eprintln!("{message}"),
        }
    }

    fn line(&self, summary: &str) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let done = (self.position - self.start_position).max(1) as f64;
        let eta = elapsed / done * (self.total - self.position) as f64;
        format!(
            "step {}/{} ({:.0}%), {:.0} s elapsed, ETA {:.0} s {summary}",
            self.position,
            self.total,
            100.0 * self.position as f64 / self.total.max(1) as f64,
            elapsed,
            eta
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_count_from_the_resumed_position() {
        let mut p = Progress::plain(100, 40);
        p.step("loss 1");
        assert_eq!(p.position, 41);
        assert!(p.line("x").starts_with("step 41/100 (41%)"));
    }
}
