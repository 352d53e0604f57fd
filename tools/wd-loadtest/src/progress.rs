//! Live progress on stderr with indicatif, only when stderr is a terminal (piped or redirected
//! runs print nothing but the report); plain text when NO_COLOR is set.

use crate::engine::Run;
use std::io::IsTerminal;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Whether to show progress: stderr is a terminal and -q was not given.
pub fn wanted(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

pub struct Bar {
    bar: indicatif::ProgressBar,
    task: tokio::task::JoinHandle<()>,
}

impl Bar {
    pub fn start(run: Arc<Run>, start: Instant) -> Bar {
        let colour = wd_core::term::colour_allowed(true);
        let bar = indicatif::ProgressBar::new_spinner();
        let tpl = if colour {
            "{spinner:.bold} {elapsed:>4} {msg}"
        } else {
            "{spinner} {elapsed:>4} {msg}"
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(tpl)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        let b = bar.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                let m = &run.metrics;
                let secs = start.elapsed().as_secs_f64().max(1e-3);
                let req = run.requests.load(Relaxed);
                let (errors, drift): (u64, u64) = m.steps.iter().fold((0, 0), |(e, d), s| {
                    (e + s.errors.load(Relaxed), d + s.drift.load(Relaxed))
                });
                b.set_message(format!(
                    "{}: {} iterations ({} done)  {:.0} req/s  errors {errors}  drift {drift}",
                    run.scenario.name,
                    m.started.load(Relaxed),
                    m.ended(),
                    req as f64 / secs
                ));
                b.tick();
            }
        });
        Bar { bar, task }
    }

    pub fn finish(self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}

/// A note on stderr (e.g. the Ctrl-C message), shown unless -q.
pub fn note(line: &str) {
    wd_core::term::warn(&format!("wd-loadtest: {line}"));
}
