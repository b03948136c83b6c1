//! Progress on stderr (a bar on a terminal, a line every 10 s otherwise, or nothing) and the
//! summary at the end: counts per account, status and outcome, elapsed time, achieved rate,
//! throttles seen. Data never goes here; only counts.

use crate::report::{Outcome, RowResult, Status};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar on a terminal, lines every 10 s otherwise.
    Auto,
    Off,
}

#[derive(Default)]
struct AccountCounts {
    status: BTreeMap<Status, u64>,
    outcome: BTreeMap<Outcome, u64>,
    attempts: u64,
}

#[derive(Default)]
struct Counts {
    done: u64,
    succeeded: u64,
    failed: u64,
    accounts: BTreeMap<String, AccountCounts>,
}

pub struct Progress {
    /// Grows as a listing finds rows.
    total: AtomicU64,
    started: Instant,
    counts: Mutex<Counts>,
    bar: Option<ProgressBar>,
    lines: bool,
}

impl Progress {
    pub fn new(total: u64, mode: ProgressMode) -> Arc<Progress> {
        let terminal = std::io::stderr().is_terminal();
        let bar = (mode == ProgressMode::Auto && terminal).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} rows  {msg}  {per_sec}  ETA {eta}",
                )
                .expect("valid template"),
            );
            bar
        });
        Arc::new(Progress {
            total: AtomicU64::new(total),
            started: Instant::now(),
            counts: Mutex::new(Counts::default()),
            bar,
            lines: mode == ProgressMode::Auto && !terminal,
        })
    }

    /// Counts one finished row.
    pub fn record(&self, row: &RowResult) {
        let mut c = self.counts.lock().expect("progress lock");
        c.done += 1;
        match row.status {
            Status::Succeeded | Status::Skipped => c.succeeded += 1,
            _ => c.failed += 1,
        }
        let a = c.accounts.entry(row.account.clone()).or_default();
        *a.status.entry(row.status).or_default() += 1;
        if let Some(o) = row.outcome {
            *a.outcome.entry(o).or_default() += 1;
        }
        a.attempts += u64::from(row.attempts);
        if let Some(bar) = &self.bar {
            bar.set_position(c.done);
            bar.set_message(format!("{} ok, {} not ok", c.succeeded, c.failed));
        }
    }

    /// Adds rows found by a listing to the total.
    pub fn grow(&self, rows: u64) {
        self.total.fetch_add(rows, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc_length(rows);
        }
    }

    /// Every row finished so far succeeded or was skipped.
    pub fn all_succeeded(&self) -> bool {
        let c = self.counts.lock().expect("progress lock");
        c.failed == 0
    }

    /// Prints a line every 10 s when stderr is not a terminal. Ends when `done` is cancelled.
    pub fn spawn_ticker(
        self: &Arc<Self>,
        done: tokio_util::sync::CancellationToken,
    ) -> Option<tokio::task::JoinHandle<()>> {
        if !self.lines {
            return None;
        }
        let me = self.clone();
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => eprintln!("{}", me.line()),
                    _ = done.cancelled() => break,
                }
            }
        }))
    }

    /// `done/total, succeeded/failed, rate, ETA`.
    pub fn line(&self) -> String {
        let c = self.counts.lock().expect("progress lock");
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = c.done as f64 / elapsed;
        let total = self.total.load(Ordering::Relaxed);
        let eta = if rate > 0.0 {
            format_duration(Duration::from_secs_f64(
                (total.saturating_sub(c.done)) as f64 / rate,
            ))
        } else {
            "unknown".into()
        };
        format!(
            "progress: {}/{} rows, {} succeeded, {} not succeeded, {:.1} rows/s, ETA {}",
            c.done, total, c.succeeded, c.failed, rate, eta
        )
    }

    /// The end-of-run summary. `throttles`: per account display name.
    pub fn summary(&self, throttles: &BTreeMap<String, u64>) -> String {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let c = self.counts.lock().expect("progress lock");
        let elapsed = self.started.elapsed();
        let mut out = String::new();
        let mut requests = 0;
        for (account, a) in &c.accounts {
            let name = if account.is_empty() {
                "(no account)"
            } else {
                account
            };
            let statuses: Vec<String> = a
                .status
                .iter()
                .map(|(s, n)| format!("{} {n}", s.name()))
                .collect();
            let outcomes: Vec<String> = a
                .outcome
                .iter()
                .map(|(o, n)| format!("{} {n}", o.name()))
                .collect();
            out.push_str(&format!("  {name}: {}", statuses.join(", ")));
            if !outcomes.is_empty() {
                out.push_str(&format!(" ({})", outcomes.join(", ")));
            }
            out.push_str(&format!("; {} requests", a.attempts));
            if let Some(t) = throttles.get(account).filter(|t| **t > 0) {
                out.push_str(&format!(", {t} throttled"));
            }
            out.push('\n');
            requests += a.attempts;
        }
        format!(
            "{} rows in {}, {:.1} requests/s\n{out}",
            c.done,
            format_duration(elapsed),
            requests as f64 / elapsed.as_secs_f64().max(1e-9)
        )
    }
}

fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}
