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

/// How often a progress line is printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(10);

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
    /// When the last line was made, and the rows done then.
    last_line: Mutex<Option<(Instant, u64)>>,
    /// What the summary counts, singular and plural: rows, or an export's users.
    unit: [&'static str; 2],
}

impl Progress {
    pub fn new(total: u64, mode: ProgressMode) -> Arc<Progress> {
        Progress::counting(total, mode, ["row", "rows"])
    }

    /// A progress whose summary counts `unit` (singular, plural) instead of rows.
    pub fn counting(total: u64, mode: ProgressMode, unit: [&'static str; 2]) -> Arc<Progress> {
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
            last_line: Mutex::new(None),
            unit,
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
        self.lines
            .then(|| self.spawn_lines(done, |line| eprintln!("{line}")))
    }

    fn spawn_lines(
        self: &Arc<Self>,
        done: tokio_util::sync::CancellationToken,
        mut print: impl FnMut(String) + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(LINE_EVERY);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => print(me.line(Instant::now())),
                    _ = done.cancelled() => break,
                }
            }
        })
    }

    /// `done/total, succeeded/failed, rate, ETA` at `now`. The rate is the pace since the previous
    /// line (since the start for the first), so the ETA follows throttling and recovery rather than
    /// the run's whole history.
    pub fn line(&self, now: Instant) -> String {
        let c = self.counts.lock().expect("progress lock");
        let total = self.total.load(Ordering::Relaxed);
        let mut last = self.last_line.lock().expect("progress lock");
        let (since, done_then) = last.unwrap_or((self.started, 0));
        *last = Some((now, c.done));
        let seconds = now.saturating_duration_since(since).as_secs_f64();
        let rate = if seconds > 0.0 {
            c.done.saturating_sub(done_then) as f64 / seconds
        } else {
            0.0
        };
        let eta = if c.done >= total {
            "0s".to_string()
        } else if rate > 0.0 {
            format_duration(Duration::from_secs_f64((total - c.done) as f64 / rate))
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
        let [one, many] = self.unit;
        format!(
            "{} {} in {}, {:.1} requests/s\n{out}",
            c.done,
            if c.done == 1 { one } else { many },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Outcome, Status};

    fn row(status: Status) -> RowResult {
        RowResult {
            index: 0,
            line: 2,
            account: "aliyun".into(),
            status,
            outcome: (status == Status::Succeeded).then_some(Outcome::Created),
            error_code: None,
            error_message: None,
            attempts: 1,
            http_status: Some(200),
            request_id: None,
            elapsed_ms: Some(5),
            observed: None,
            record: csv::StringRecord::new(),
        }
    }

    /// A progress that prints lines, whatever stderr is.
    fn lines_progress(total: u64) -> Arc<Progress> {
        Arc::new(Progress {
            total: AtomicU64::new(total),
            started: Instant::now(),
            counts: Mutex::new(Counts::default()),
            bar: None,
            lines: true,
            last_line: Mutex::new(None),
            unit: ["row", "rows"],
        })
    }

    #[test]
    fn the_summary_counts_its_unit_in_singular_and_plural() {
        let users = Progress::counting(0, ProgressMode::Off, ["user", "users"]);
        users.record(&row(Status::Succeeded));
        assert!(users.summary(&BTreeMap::new()).starts_with("1 user in "));
        users.record(&row(Status::Succeeded));
        assert!(users.summary(&BTreeMap::new()).starts_with("2 users in "));
        let rows = Progress::new(0, ProgressMode::Off);
        rows.record(&row(Status::Succeeded));
        assert!(rows.summary(&BTreeMap::new()).starts_with("1 row in "));
    }

    #[test]
    fn the_line_shows_counts_the_recent_pace_and_the_eta_from_it() {
        let p = lines_progress(1000);
        for _ in 0..180 {
            p.record(&row(Status::Succeeded));
        }
        for _ in 0..20 {
            p.record(&row(Status::Failed));
        }
        let t0 = p.started;
        assert_eq!(
            p.line(t0 + Duration::from_secs(10)),
            "progress: 200/1000 rows, 180 succeeded, 20 not succeeded, 20.0 rows/s, ETA 40.0s"
        );
        // Throttled: 50 rows in the next 10 s. The ETA follows the new pace.
        for _ in 0..50 {
            p.record(&row(Status::Succeeded));
        }
        assert_eq!(
            p.line(t0 + Duration::from_secs(20)),
            "progress: 250/1000 rows, 230 succeeded, 20 not succeeded, 5.0 rows/s, ETA 2m30s"
        );
        assert!(
            p.line(t0 + Duration::from_secs(30))
                .ends_with("0.0 rows/s, ETA unknown")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_line_every_ten_seconds_until_done() {
        let p = lines_progress(10);
        let printed = Arc::new(Mutex::new(Vec::new()));
        let sink = printed.clone();
        let done = tokio_util::sync::CancellationToken::new();
        let ticker = p.spawn_lines(done.clone(), move |l| sink.lock().unwrap().push(l));
        tokio::time::sleep(Duration::from_millis(9_900)).await;
        assert!(printed.lock().unwrap().is_empty(), "nothing before 10 s");
        p.record(&row(Status::Succeeded));
        tokio::time::sleep(Duration::from_secs(21)).await;
        done.cancel();
        ticker.await.unwrap();
        let printed = printed.lock().unwrap();
        assert_eq!(printed.len(), 3, "{printed:?}");
        assert!(printed.iter().all(|l| l.starts_with("progress: 1/10 rows")));
    }
}
