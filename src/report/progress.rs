//! Progress on stderr (a bar on a terminal, a line every 10 s otherwise, or nothing) and the
//! summary at the end: counts per account, status and outcome, why rows did not succeed, elapsed
//! time, achieved rate, throttles and retries. Data never goes here; only counts, error codes and
//! the providers' (redacted) messages the results file holds too.
//!
//! While the run goes, each account shows its request rate (over the last [`RATE_WINDOW`], see
//! [`crate::report::rate`]) and the throttles and retries so far; the ETA is the slowest account's:
//! its rows left × its requests per row / the rate its pacer allows now (or the rate it achieves,
//! when that is lower: an account held back by slow replies).

use crate::report::failures::Failures;
use crate::report::rate::{Window, per_second};
use crate::report::{Outcome, RowResult, Status};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// How often a progress line is printed when stderr is not a terminal.
pub const LINE_EVERY: Duration = Duration::from_secs(10);
/// How often the bar is redrawn on a terminal.
const BAR_EVERY: Duration = Duration::from_millis(500);
/// The span the shown request rate is measured over.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar on a terminal, otherwise a line every `line_every`.
    Auto {
        line_every: Duration,
    },
    Off,
}

/// What progress reads from an account's client while the run goes.
pub trait Meter: Send + Sync {
    /// Requests sent so far (every attempt, token request and read-back).
    fn requests(&self) -> u64;
    /// Throttling replies so far.
    fn throttles(&self) -> u64;
    /// Attempts that were retries of an earlier one.
    fn retries(&self) -> u64;
    /// The rate the account's pacer allows now; `None` when unpaced.
    fn paced_rate(&self) -> Option<f64>;
}

struct Account {
    meter: Option<Arc<dyn Meter>>,
    /// Rows routed to the account (grows as a listing finds users).
    rows: u64,
    done: u64,
    status: BTreeMap<Status, u64>,
    outcome: BTreeMap<Outcome, u64>,
    attempts: u64,
    failures: Failures,
    window: Window,
}

impl Account {
    fn new(meter: Option<Arc<dyn Meter>>, started: Instant) -> Account {
        Account {
            meter,
            rows: 0,
            done: 0,
            status: BTreeMap::new(),
            outcome: BTreeMap::new(),
            attempts: 0,
            failures: Failures::default(),
            window: Window::new(started, RATE_WINDOW),
        }
    }
}

#[derive(Default)]
struct Counts {
    total: u64,
    done: u64,
    ok: u64,
    not_ok: u64,
    accounts: BTreeMap<String, Account>,
}

pub struct Progress {
    started: Instant,
    counts: Mutex<Counts>,
    bar: Option<ProgressBar>,
    /// Lines instead of a bar, this often.
    lines: Option<Duration>,
    /// What the summary counts, singular and plural: rows, or an export's users.
    unit: [&'static str; 2],
}

/// An account's pace at one moment.
struct Pace<'a> {
    name: &'a str,
    rate: f64,
    throttles: u64,
    retries: u64,
}

impl Progress {
    pub fn new(total: u64, mode: ProgressMode) -> Arc<Progress> {
        Progress::counting(total, mode, ["row", "rows"])
    }

    /// A progress whose summary counts `unit` (singular, plural) instead of rows.
    pub fn counting(total: u64, mode: ProgressMode, unit: [&'static str; 2]) -> Arc<Progress> {
        let terminal = std::io::stderr().is_terminal();
        let ProgressMode::Auto { line_every } = mode else {
            return Arc::new(Progress::with(total, None, None).counting_in(unit));
        };
        if !terminal {
            return Arc::new(Progress::with(total, None, Some(line_every)).counting_in(unit));
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("{bar:30} {msg}").expect("valid template"));
        Arc::new(Progress::with(total, Some(bar), None).counting_in(unit))
    }

    fn counting_in(self, unit: [&'static str; 2]) -> Progress {
        Progress { unit, ..self }
    }

    fn with(total: u64, bar: Option<ProgressBar>, lines: Option<Duration>) -> Progress {
        Progress {
            unit: ["row", "rows"],
            started: Instant::now(),
            counts: Mutex::new(Counts {
                total,
                ..Counts::default()
            }),
            bar,
            lines,
        }
    }

    /// Shows `account`'s pace while the run goes; it has `rows` rows so far.
    pub fn watch(&self, account: &str, rows: u64, meter: Arc<dyn Meter>) {
        let mut c = self.counts.lock().expect("progress lock");
        let a = c
            .accounts
            .entry(account.to_string())
            .or_insert_with(|| Account::new(None, self.started));
        a.meter = Some(meter);
        a.rows += rows;
    }

    /// Counts one finished row.
    pub fn record(&self, row: &RowResult) {
        let mut c = self.counts.lock().expect("progress lock");
        c.done += 1;
        match row.status {
            Status::Succeeded | Status::Skipped => c.ok += 1,
            _ => c.not_ok += 1,
        }
        let started = self.started;
        let a = c
            .accounts
            .entry(row.account.clone())
            .or_insert_with(|| Account::new(None, started));
        a.done += 1;
        *a.status.entry(row.status).or_default() += 1;
        if let Some(o) = row.outcome {
            *a.outcome.entry(o).or_default() += 1;
        }
        a.attempts += u64::from(row.attempts);
        if matches!(
            row.status,
            Status::Failed | Status::Invalid | Status::NotAttempted
        ) {
            a.failures.add(
                row.error_code.as_deref(),
                row.error_message.as_deref(),
                (row.line > 0).then_some(row.line),
            );
        }
    }

    /// Adds rows a listing found for `account` to the total.
    pub fn grow(&self, account: &str, rows: u64) {
        let mut c = self.counts.lock().expect("progress lock");
        c.total += rows;
        let started = self.started;
        c.accounts
            .entry(account.to_string())
            .or_insert_with(|| Account::new(None, started))
            .rows += rows;
    }

    /// Every row finished so far succeeded or was skipped.
    pub fn all_succeeded(&self) -> bool {
        self.counts.lock().expect("progress lock").not_ok == 0
    }

    /// Redraws the bar, or prints a line every `line_every` when stderr is not a terminal. Ends
    /// when `done` is cancelled.
    pub fn spawn_ticker(
        self: &Arc<Self>,
        done: tokio_util::sync::CancellationToken,
    ) -> Option<tokio::task::JoinHandle<()>> {
        if let Some(bar) = self.bar.clone() {
            let me = self.clone();
            return Some(self.spawn_every(BAR_EVERY, done, move || {
                // The counts are in the message, drawn at once: a `{pos}` drawn on its own would
                // run ahead of the ok count.
                let (pos, len, msg) = me.status(Instant::now());
                bar.set_message(format!("{pos}/{len} rows done {msg}"));
                bar.set_length(len);
                bar.set_position(pos);
            }));
        }
        let every = self.lines?;
        let me = self.clone();
        Some(self.spawn_every(every, done, move || {
            eprintln!("{}", me.line(Instant::now()))
        }))
    }

    fn spawn_every(
        &self,
        every: Duration,
        done: tokio_util::sync::CancellationToken,
        mut show: impl FnMut() + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => show(),
                    _ = done.cancelled() => break,
                }
            }
        })
    }

    /// The progress line at `now`: rows done of all, ok and not, the ETA, and each account's
    /// request rate, throttles and retries.
    pub fn line(&self, now: Instant) -> String {
        let (done, total, msg) = self.status(now);
        format!("progress: {done}/{total} rows done {msg}")
    }

    /// Rows done, rows in all, and the rest of the line (the bar's message).
    fn status(&self, now: Instant) -> (u64, u64, String) {
        let mut guard = self.counts.lock().expect("progress lock");
        let c = &mut *guard;
        let mut eta = Some(Duration::ZERO);
        let mut paces = Vec::new();
        for (name, a) in c.accounts.iter_mut() {
            let Some(meter) = &a.meter else { continue };
            let requests = meter.requests();
            let measured = a.window.sample(now, requests);
            let full = a.window.full(now);
            let left = a.rows.saturating_sub(a.done);
            if left > 0 {
                let paced = meter.paced_rate();
                let rate = match paced {
                    Some(p) if full && measured > 0.0 => p.min(measured),
                    Some(p) => p,
                    None => measured,
                };
                let per_row = match a.done {
                    0 => 1.0,
                    done => (requests as f64 / done as f64).max(1.0),
                };
                let account_eta =
                    (rate > 0.0).then(|| Duration::from_secs_f64(left as f64 * per_row / rate));
                eta = eta.zip(account_eta).map(|(e, a)| e.max(a));
            }
            paces.push(Pace {
                name,
                rate: measured,
                throttles: meter.throttles(),
                retries: meter.retries(),
            });
        }
        let mut msg = format!("({} ok, {} not ok), ETA ", c.ok, c.not_ok);
        msg.push_str(&match eta {
            // An export before its first page: nothing to time yet.
            _ if c.total == 0 => "unknown".into(),
            _ if c.done >= c.total => "0s".into(),
            Some(eta) => format_duration(eta),
            None => "unknown".into(),
        });
        let several = paces.len() > 1;
        for pace in &paces {
            msg.push_str(if several { "; " } else { ", " });
            if several {
                msg.push_str(pace.name);
                msg.push(' ');
            }
            msg.push_str(&pace.render());
        }
        (c.done, c.total, msg)
    }

    /// The end-of-run summary.
    pub fn summary(&self) -> String {
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
            if let Some(meter) = &a.meter {
                out.push_str(&counted(meter.throttles(), "throttled", "throttled"));
                out.push_str(&counted(meter.retries(), "retry", "retries"));
            }
            out.push('\n');
            out.push_str(&a.failures.render("    "));
            requests += a.attempts;
        }
        let [one, many] = self.unit;
        format!(
            "{} {} in {}, {:.1} req/s\n{out}",
            c.done,
            if c.done == 1 { one } else { many },
            format_duration(elapsed),
            per_second(requests, elapsed.as_secs_f64())
        )
    }
}

impl Pace<'_> {
    /// `19.7 req/s, 3 throttled, 2 retries`: throttles and retries only once there are some.
    fn render(&self) -> String {
        format!(
            "{:.1} req/s{}{}",
            self.rate,
            counted(self.throttles, "throttled", "throttled"),
            counted(self.retries, "retry", "retries")
        )
    }
}

/// `, 3 retries`, or nothing for none.
fn counted(n: u64, one: &str, many: &str) -> String {
    match n {
        0 => String::new(),
        1 => format!(", 1 {one}"),
        n => format!(", {n} {many}"),
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
    use std::sync::atomic::{AtomicU64, Ordering};

    fn row(account: &str, status: Status) -> RowResult {
        RowResult {
            index: 0,
            line: 2,
            account: account.into(),
            status,
            outcome: (status == Status::Succeeded).then_some(Outcome::Updated),
            error_code: (status != Status::Succeeded).then(|| "EntityNotExist.User".into()),
            error_message: (status != Status::Succeeded).then(|| "The user does not exist.".into()),
            attempts: 1,
            http_status: Some(200),
            request_id: None,
            elapsed_ms: Some(5),
            observed: None,
            steps: Vec::new(),
            record: csv::StringRecord::new(),
        }
    }

    /// An account's client as progress sees it.
    #[derive(Default)]
    struct FakeMeter {
        requests: AtomicU64,
        throttles: AtomicU64,
        retries: AtomicU64,
        /// Requests/s × 1000; 0 = unpaced.
        paced_milli: AtomicU64,
    }

    impl FakeMeter {
        fn paced(rate: f64) -> Arc<FakeMeter> {
            let m = FakeMeter::default();
            m.paced_milli
                .store((rate * 1000.0) as u64, Ordering::Relaxed);
            Arc::new(m)
        }
    }

    impl Meter for FakeMeter {
        fn requests(&self) -> u64 {
            self.requests.load(Ordering::Relaxed)
        }
        fn throttles(&self) -> u64 {
            self.throttles.load(Ordering::Relaxed)
        }
        fn retries(&self) -> u64 {
            self.retries.load(Ordering::Relaxed)
        }
        fn paced_rate(&self) -> Option<f64> {
            let m = self.paced_milli.load(Ordering::Relaxed);
            (m > 0).then(|| m as f64 / 1000.0)
        }
    }

    /// A progress that prints lines, whatever stderr is.
    fn lines_progress(total: u64, every: Duration) -> Arc<Progress> {
        Arc::new(Progress::with(total, None, Some(every)))
    }

    /// `n` rows of `account` done, one request each.
    fn finish(p: &Progress, meter: &FakeMeter, account: &str, n: u64, status: Status) {
        for _ in 0..n {
            meter.requests.fetch_add(1, Ordering::Relaxed);
            p.record(&row(account, status));
        }
    }

    #[test]
    fn the_line_shows_rows_done_the_rate_with_its_unit_and_the_eta_from_the_pacer() {
        let p = lines_progress(1000, LINE_EVERY);
        let m = FakeMeter::paced(20.0);
        p.watch("aliyun", 1000, m.clone());
        let t0 = p.started;
        finish(&p, &m, "aliyun", 180, Status::Succeeded);
        finish(&p, &m, "aliyun", 21, Status::Failed);
        // 200 intervals between 201 requests in 10 s: 20/s; 799 rows left at 20/s: 39.95 s.
        assert_eq!(
            p.line(t0 + Duration::from_secs(10)),
            "progress: 201/1000 rows done (180 ok, 21 not ok), ETA 40.0s, 20.0 req/s"
        );
        // Throttled: the pacer halves, 50 rows in the next 10 s, a throttle and its retry.
        m.paced_milli.store(10_000, Ordering::Relaxed);
        m.throttles.store(1, Ordering::Relaxed);
        m.retries.store(1, Ordering::Relaxed);
        m.requests.fetch_add(1, Ordering::Relaxed);
        finish(&p, &m, "aliyun", 49, Status::Succeeded);
        assert_eq!(
            p.line(t0 + Duration::from_secs(20)),
            "progress: 250/1000 rows done (229 ok, 21 not ok), ETA 2m33s, 4.9 req/s, 1 throttled, 1 retry"
        );
    }

    #[test]
    fn no_start_up_spike_and_never_above_the_paced_rate() {
        let p = lines_progress(100, LINE_EVERY);
        let m = FakeMeter::paced(100.0);
        p.watch("aliyun", 100, m.clone());
        // The first request leaves at once, the next ones every 10 ms: 5 requests by 40 ms.
        finish(&p, &m, "aliyun", 5, Status::Succeeded);
        let line = p.line(p.started + Duration::from_millis(40));
        assert!(line.contains(", 100.0 req/s"), "{line}");
        let line = p.line(p.started + Duration::from_millis(45));
        assert!(line.contains(", 88.9 req/s"), "{line}");
    }

    #[test]
    fn several_accounts_each_show_their_pace_and_the_slowest_bounds_the_eta() {
        let p = lines_progress(300, LINE_EVERY);
        let fast = FakeMeter::paced(100.0);
        let slow = FakeMeter::paced(10.0);
        p.watch("aliyun", 200, fast.clone());
        p.watch("ucloud", 100, slow.clone());
        finish(&p, &fast, "aliyun", 101, Status::Succeeded);
        finish(&p, &slow, "ucloud", 11, Status::Succeeded);
        slow.throttles.store(2, Ordering::Relaxed);
        // ucloud: 89 rows at 10/s; aliyun: 99 rows at 100/s.
        assert_eq!(
            p.line(p.started + Duration::from_secs(1)),
            "progress: 112/300 rows done (112 ok, 0 not ok), ETA 8.9s; aliyun 100.0 req/s; ucloud 10.0 req/s, 2 throttled"
        );
    }

    #[test]
    fn an_unpaced_account_is_timed_by_what_it_achieves() {
        let p = lines_progress(100, LINE_EVERY);
        let m = Arc::new(FakeMeter::default());
        p.watch("huawei", 100, m.clone());
        assert!(
            p.line(p.started + Duration::from_secs(1))
                .ends_with("ETA unknown, 0.0 req/s")
        );
        finish(&p, &m, "huawei", 51, Status::Succeeded);
        assert!(
            p.line(p.started + Duration::from_secs(10))
                .ends_with("ETA 9.8s, 5.0 req/s")
        );
    }

    #[test]
    fn a_listing_grows_the_rows_and_the_eta_follows() {
        let p = lines_progress(0, LINE_EVERY);
        let m = FakeMeter::paced(20.0);
        p.watch("aliyun", 0, m.clone());
        let t0 = p.started;
        assert_eq!(
            p.line(t0 + Duration::from_secs(1)),
            "progress: 0/0 rows done (0 ok, 0 not ok), ETA unknown, 0.0 req/s"
        );
        // A page of 100 users (one request), then 20 users read.
        m.requests.store(1, Ordering::Relaxed);
        p.grow("aliyun", 100);
        finish(&p, &m, "aliyun", 20, Status::Succeeded);
        assert_eq!(
            p.line(t0 + Duration::from_secs(2)),
            "progress: 20/100 rows done (20 ok, 0 not ok), ETA 4.2s, 10.0 req/s"
        );
    }

    #[test]
    fn the_summary_counts_its_unit_in_singular_and_plural() {
        let users = Progress::counting(0, ProgressMode::Off, ["user", "users"]);
        users.record(&row("aliyun", Status::Succeeded));
        assert!(users.summary().starts_with("1 user in "));
        users.record(&row("aliyun", Status::Succeeded));
        assert!(users.summary().starts_with("2 users in "));
        let rows = Progress::new(0, ProgressMode::Off);
        rows.record(&row("aliyun", Status::Succeeded));
        assert!(rows.summary().starts_with("1 row in "));
    }

    #[test]
    fn the_summary_says_why_rows_failed_per_account() {
        let p = lines_progress(45, LINE_EVERY);
        let m = FakeMeter::paced(20.0);
        m.throttles.store(3, Ordering::Relaxed);
        m.retries.store(3, Ordering::Relaxed);
        p.watch("aliyun", 45, m.clone());
        finish(&p, &m, "aliyun", 40, Status::Failed);
        finish(&p, &m, "aliyun", 5, Status::Succeeded);
        let summary = p.summary();
        let lines: Vec<&str> = summary.lines().collect();
        assert!(lines[0].starts_with("45 rows in "), "{summary}");
        assert_eq!(
            lines[1..],
            [
                "  aliyun: succeeded 5, failed 40 (updated 5); 45 requests, 3 throttled, 3 retries",
                "    EntityNotExist.User: 40 rows, e.g. line 2: The user does not exist.",
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_line_every_interval_until_done() {
        let p = lines_progress(10, Duration::from_secs(1));
        let printed = Arc::new(Mutex::new(Vec::new()));
        let sink = printed.clone();
        let done = tokio_util::sync::CancellationToken::new();
        let me = p.clone();
        let ticker = p.spawn_every(Duration::from_secs(1), done.clone(), move || {
            sink.lock().unwrap().push(me.line(Instant::now()))
        });
        tokio::time::sleep(Duration::from_millis(990)).await;
        assert!(printed.lock().unwrap().is_empty(), "nothing before 1 s");
        p.record(&row("aliyun", Status::Succeeded));
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        done.cancel();
        ticker.await.unwrap();
        let printed = printed.lock().unwrap();
        assert_eq!(printed.len(), 3, "{printed:?}");
        assert!(
            printed
                .iter()
                .all(|l| l.starts_with("progress: 1/10 rows done (1 ok, 0 not ok)"))
        );
        assert!(p.summary().starts_with("1 row in "));
    }
}
