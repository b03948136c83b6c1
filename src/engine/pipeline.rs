//! The pipeline: one reader thread for every account (see `engine/lanes.rs`: a pass that notes
//! where each account's rows are, then each row read back as its account needs it); per account, a
//! feeder task that asks the reader for a batch of rows whenever its bounded queue has room, and
//! `concurrency` workers that take jobs from that queue; one writer thread that owns the results
//! file and the progress counters. A slow account's full queue holds back no other account, the
//! file is parsed twice whatever the number of accounts, and memory stays flat but for a few bytes
//! per row.

use crate::accounts::{AccountKey, AccountPlan};
use crate::engine::client::{AccountClient, codes};
use crate::engine::execute::{Durability, ExecOptions, Execution, execute};
use crate::engine::lanes::Lanes;
use crate::engine::user_locks::UserLocks;
use crate::input::{InputError, InputFile, Problem, RawRow, Validator};
use crate::jobs::Job;
use crate::providers::{Failure, FailureClass};
use crate::report::journal::Journal;
use crate::report::previous::{Previous, PreviousRow};
use crate::report::progress::Progress;
use crate::report::results::{ResultsError, ResultsWriter};
use crate::report::writer::{self, Results};
use crate::report::{RowResult, Status};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Results(#[from] ResultsError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// An account ready to run.
pub struct Account {
    pub plan: AccountPlan,
    pub client: Arc<AccountClient>,
}

#[derive(Clone, Debug, Default)]
pub struct PipelineOptions {
    pub exec: ExecOptions,
    /// Stop the run after this many failed rows: nothing more is sent.
    pub max_failures: Option<u64>,
    /// The file was checked whole and no row has a problem: the reader need not check rows before
    /// it reads them back, nor look for duplicates again (memory then stays flat whatever the row
    /// count).
    pub clean_input: bool,
    /// Accounts whose rows are not sent this run (member accounts `--accounts-filter` leaves
    /// out, or that are no active member): each row is reported as said.
    pub withheld: BTreeMap<AccountKey, Withheld>,
}

/// How the rows of an account not worked in this run are reported.
#[derive(Clone, Debug)]
pub struct Withheld {
    pub status: Status,
    pub code: &'static str,
    pub message: String,
}

/// How a run is steered from outside: the stop flag, cancellation of waits, progress counters.
pub struct Control {
    pub stop: Stop,
    /// Cancelled when the run stops, after `stop` is set: requests not yet sent are withdrawn.
    pub cancel: CancellationToken,
    pub progress: Arc<Progress>,
}

/// Why dispatching stopped early.
#[derive(Clone, Debug)]
pub enum StopReason {
    Interrupted,
    MaxFailures(u64),
}

/// Shared stop flag: set once, read by feeders and workers.
#[derive(Clone, Default)]
pub struct Stop(
    Arc<Mutex<Option<StopReason>>>,
    Arc<std::sync::atomic::AtomicU64>,
);

impl Stop {
    /// Counts a failed row; stops the run when `max` is reached, and then says so (the caller
    /// withdraws what waits to be sent). Called as soon as the row's result is known, so a limit
    /// of N means N failed rows plus those whose requests were already on the wire.
    fn row_failed(&self, max: Option<u64>) -> bool {
        let failed = self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        if max.is_some_and(|n| failed >= n) {
            self.set(StopReason::MaxFailures(failed));
            return true;
        }
        false
    }

    pub fn set(&self, reason: StopReason) {
        let mut r = self.0.lock().expect("stop lock");
        if r.is_none() {
            *r = Some(reason);
        }
    }

    pub fn reason(&self) -> Option<StopReason> {
        self.0.lock().expect("stop lock").clone()
    }

    /// The not-attempted code and message for a row that was never sent.
    fn not_attempted(&self, client: &AccountClient) -> Option<(&'static str, String)> {
        if let Some(reason) = client.stopped() {
            return Some((codes::ACCOUNT_STOPPED, reason));
        }
        match self.reason()? {
            StopReason::Interrupted => Some((
                codes::INTERRUPTED,
                "not sent: the run was interrupted; finish it with --resume".into(),
            )),
            StopReason::MaxFailures(n) => Some((
                codes::MAX_FAILURES,
                format!("not sent: the run stopped after {n} failed rows (--max-failures)"),
            )),
        }
    }
}

struct Work {
    job: Job,
    record: csv::StringRecord,
    /// A write of this row got no reply in the run being resumed.
    prior_ambiguous: bool,
    /// When the run being resumed sent the row (its journal), and the steps it applied.
    since: Option<OffsetDateTime>,
    applied: Vec<String>,
}

/// What makes a run resumable: the journal it notes sent rows in, and what the run being resumed
/// left (its results and the rows it had sent).
pub struct Durable {
    pub journal: Journal,
    pub previous: Previous,
    /// Lines of which an earlier run sent a write, sorted, with when.
    pub sent: Vec<(u64, Option<OffsetDateTime>)>,
}

impl Durable {
    /// The earlier result of a row that needs no new run.
    fn already_done(&self, line: u64) -> Option<&PreviousRow> {
        self.previous
            .get(line)
            .filter(|p| matches!(p.status, Status::Succeeded | Status::Skipped))
    }

    /// Whether a write of this row may have been applied without our seeing the reply.
    fn ambiguous(&self, line: u64) -> bool {
        self.previous.get(line).is_some_and(|p| p.unknown_outcome)
            || (self.sent(line).is_some() && self.already_done(line).is_none())
    }

    /// When a run being resumed sent a write of this row, if it did.
    fn sent(&self, line: u64) -> Option<Option<OffsetDateTime>> {
        let i = self.sent.binary_search_by_key(&line, |(l, _)| *l).ok()?;
        Some(self.sent[i].1)
    }

    /// The steps of this row the run being resumed applied.
    fn applied(&self, line: u64) -> Vec<String> {
        self.previous
            .get(line)
            .map(|p| p.steps.clone())
            .unwrap_or_default()
    }
}

/// Runs every row of `input` and writes the results; returns the finished results path.
pub async fn run(
    input: Arc<InputFile>,
    accounts: Vec<Account>,
    writer: ResultsWriter,
    rows: u64,
    options: PipelineOptions,
    control: Control,
    durable: Durable,
) -> Result<PathBuf, EngineError> {
    let durable = Arc::new(durable);
    let Control {
        stop,
        cancel,
        progress,
    } = control;
    let (results_tx, results_rx) = mpsc::channel::<RowResult>(1024);

    // The writer thread: file I/O off the async workers.
    let writer_thread = writer::spawn(
        Results {
            writer,
            progress,
            rows,
        },
        results_rx,
    );

    let mut tasks = tokio::task::JoinSet::new();
    // Each feeder has at most one request waiting.
    let (requests_tx, requests_rx) = mpsc::channel::<Request>(accounts.len().max(1));
    let mut lanes = Vec::with_capacity(accounts.len());
    for account in accounts {
        let capacity = account.plan.concurrency * 4 + 16;
        let (jobs_tx, jobs_rx) = mpsc::channel::<Work>(capacity);
        let jobs_rx = Arc::new(tokio::sync::Mutex::new(jobs_rx));
        let locks = UserLocks::default();
        for _ in 0..account.plan.concurrency {
            let jobs_rx = jobs_rx.clone();
            let results = results_tx.clone();
            let client = account.client.clone();
            let provider = account.plan.provider;
            let display = account.plan.display.clone();
            let locks = locks.clone();
            let durable = durable.clone();
            let stop = stop.clone();
            let cancel = cancel.clone();
            let exec = options.exec.clone();
            tasks.spawn(async move {
                loop {
                    let Some(work) = jobs_rx.lock().await.recv().await else {
                        break;
                    };
                    let Work {
                        job,
                        record,
                        prior_ambiguous,
                        since,
                        applied,
                    } = work;
                    let result = match stop.not_attempted(&client) {
                        Some((code, message)) => RowResult::without_request(
                            job.index,
                            job.line,
                            display.clone(),
                            Status::NotAttempted,
                            code,
                            message,
                            record,
                        ),
                        None => {
                            let _guard = locks.lock(job.user_key()).await;
                            let started = std::time::Instant::now();
                            // The row is noted as its first write leaves, not before its pacing
                            // slot: a row withdrawn while waiting was never sent.
                            let noted = OnceLock::new();
                            let departing = || {
                                let noted = noted.get_or_init(|| {
                                    durable.journal.note(job.line).map_err(|e| e.to_string())
                                });
                                noted.clone().map_err(|e| Failure {
                                    class: FailureClass::Permanent,
                                    code: "journal".into(),
                                    message: format!(
                                        "not sent: cannot write the journal beside the results file: {e}"
                                    ),
                                    retry_after: None,
                                })
                            };
                            let durability = Durability {
                                prior_ambiguous,
                                since,
                                applied: &applied,
                                departing: &departing,
                            };
                            let ex = execute(&job, provider, &client, &exec, durability, &cancel)
                                .await;
                            if let Some(Err(e)) = noted.get() {
                                return Err(EngineError::Internal(format!(
                                    "cannot write the journal beside the results file: {e}"
                                )));
                            }
                            if ex.status == Some(Status::Failed)
                                && stop.row_failed(options.max_failures)
                            {
                                cancel.cancel();
                            }
                            // A row withdrawn by the stop gets its reason.
                            let stopped = (ex.status == Some(Status::NotAttempted))
                                .then(|| stop.not_attempted(&client))
                                .flatten();
                            finished(&job, display.clone(), record, ex, started, stopped)
                        }
                    };
                    if results.send(result).await.is_err() {
                        break;
                    }
                }
                Ok::<(), EngineError>(())
            });
        }
        lanes.push(Lane {
            key: account.plan.key.clone(),
            display: account.plan.display.clone(),
            client: account.client.clone(),
        });
        tasks.spawn(feed(lanes.len() - 1, jobs_tx, requests_tx.clone()));
    }
    drop(requests_tx);

    let reader = Reader {
        input,
        lanes,
        clean: options.clean_input,
        withheld: options.withheld,
        results: results_tx.clone(),
        stop: stop.clone(),
        durable: durable.clone(),
    };
    tasks.spawn_blocking(move || reader.serve(requests_rx));
    drop(results_tx);

    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let outcome = joined
            .map_err(|e| EngineError::Internal(format!("a worker failed: {e}")))
            .and_then(|r| r);
        if let Err(e) = outcome {
            stop.set(StopReason::Interrupted);
            cancel.cancel();
            first_error.get_or_insert(e);
        }
    }
    let written = writer_thread
        .join()
        .map_err(|_| EngineError::Internal("the results writer panicked".into()))?;
    if let Some(e) = first_error {
        return Err(e);
    }
    let written = written?;
    // Every row sent has its result in the file now.
    if let Ok(durable) = Arc::try_unwrap(durable) {
        let _ = durable.journal.remove();
    }
    Ok(written)
}

/// The most jobs a feeder asks the reader for at once.
const JOBS_BATCH: usize = 16;
/// The most rows the reader reads for one request: rows that need no request (an account that
/// stopped) do not fill the batch, and other accounts wait meanwhile.
const ROWS_PER_REQUEST: usize = 256;

/// A feeder's request to the reader: the next rows of its lane.
struct Request {
    lane: usize,
    reply: oneshot::Sender<Batch>,
}

/// The reader's reply: jobs for the workers (at most [`JOBS_BATCH`]), and whether the lane is done.
struct Batch {
    jobs: Vec<Work>,
    done: bool,
}

/// One account's feeder: waits for room for a batch in its queue (without holding a thread), then
/// has the reader fill it, until its lane is done.
async fn feed(
    lane: usize,
    jobs: mpsc::Sender<Work>,
    requests: mpsc::Sender<Request>,
) -> Result<(), EngineError> {
    loop {
        let permits = jobs
            .reserve_many(JOBS_BATCH)
            .await
            .map_err(|_| EngineError::Internal("the workers stopped early".into()))?;
        let (reply, batch) = oneshot::channel();
        // The reader gone early failed: its error is the run's.
        if requests.send(Request { lane, reply }).await.is_err() {
            return Ok(());
        }
        let Ok(batch) = batch.await else {
            return Ok(());
        };
        for (permit, work) in permits.zip(batch.jobs) {
            permit.send(work);
        }
        if batch.done {
            return Ok(());
        }
    }
}

/// An account as the reader sees it.
struct Lane {
    key: AccountKey,
    display: String,
    client: Arc<AccountClient>,
}

/// The reader thread: indexes the file into lanes, reports the rows that need no request, then
/// answers the feeders' requests in turn.
struct Reader {
    input: Arc<InputFile>,
    lanes: Vec<Lane>,
    clean: bool,
    withheld: BTreeMap<AccountKey, Withheld>,
    results: mpsc::Sender<RowResult>,
    stop: Stop,
    durable: Arc<Durable>,
}

impl Reader {
    fn serve(self, mut requests: mpsc::Receiver<Request>) -> Result<(), EngineError> {
        let mut lanes = self.index()?;
        // Rows read back were checked whole before: only their jobs are made again.
        let mut validator = Validator::new(&self.input).without_duplicate_check();
        let mut raw = RawRow::default();
        while let Some(Request { lane, reply }) = requests.blocking_recv() {
            let mut jobs = Vec::with_capacity(JOBS_BATCH);
            let mut read = 0;
            while jobs.len() < JOBS_BATCH && read < ROWS_PER_REQUEST {
                if !lanes.next(lane, &mut raw)? {
                    break;
                }
                read += 1;
                let account = &self.lanes[lane];
                let finished = match validator.check(&raw) {
                    // Only if the file changed since it was checked.
                    Err(problems) => invalid(&raw, account.display.clone(), &problems),
                    Ok(job) => match self.stop.not_attempted(&account.client) {
                        Some((code, message)) => RowResult::without_request(
                            raw.index,
                            raw.line,
                            account.display.clone(),
                            Status::NotAttempted,
                            code,
                            message,
                            raw.record.clone(),
                        ),
                        None => {
                            jobs.push(Work {
                                job,
                                record: raw.record.clone(),
                                prior_ambiguous: self.durable.ambiguous(raw.line),
                                since: self.durable.sent(raw.line).flatten(),
                                applied: self.durable.applied(raw.line),
                            });
                            continue;
                        }
                    },
                };
                self.finish(finished)?;
            }
            let done = lanes.is_empty(lane);
            // A feeder gone (the run is stopping on an error) needs nothing more.
            let _ = reply.send(Batch { jobs, done });
        }
        Ok(())
    }

    /// The pass that sorts the rows: each row that needs a request goes to its account's lane;
    /// the others (invalid, or done by the run being resumed) are reported here.
    fn index(&self) -> Result<Lanes, EngineError> {
        let by_key: HashMap<&AccountKey, usize> = self
            .lanes
            .iter()
            .enumerate()
            .map(|(i, lane)| (&lane.key, i))
            .collect();
        let mut validator = Validator::new(&self.input);
        Lanes::index(&self.input, self.lanes.len(), |raw| {
            let key = validator.route(raw);
            let lane = key.as_ref().and_then(|key| by_key.get(key).copied());
            let withheld = key
                .as_ref()
                .and_then(|key| Some((key, self.withheld.get(key)?)));
            let display = || match (lane, withheld) {
                (Some(i), _) => self.lanes[i].display.clone(),
                (None, Some((key, _))) => key.1.clone(),
                (None, None) => String::new(),
            };
            let checked = match lane {
                Some(_) if self.clean => Ok(()),
                Some(_) => validator.check(raw).map(drop),
                None if withheld.is_some() => validator.check(raw).map(drop),
                None => Err(match validator.check(raw) {
                    Err(problems) => problems,
                    Ok(_) => vec![Problem {
                        line: raw.line,
                        column: None,
                        message: "the row's account was not set up for this run (a bug: please report it)".into(),
                    }],
                }),
            };
            let finished = match checked {
                Err(problems) => invalid(raw, display(), &problems),
                Ok(()) => match (self.durable.already_done(raw.line), withheld) {
                    (Some(earlier), _) => skipped(raw, display(), earlier),
                    (None, Some((_, withheld))) => RowResult::without_request(
                        raw.index,
                        raw.line,
                        display(),
                        withheld.status,
                        withheld.code,
                        withheld.message.clone(),
                        raw.record.clone(),
                    ),
                    (None, None) => return Ok(lane),
                },
            };
            self.finish(finished)?;
            Ok(None)
        })
    }

    /// A row's result that needs no request, to the writer.
    fn finish(&self, result: RowResult) -> Result<(), EngineError> {
        self.results
            .blocking_send(result)
            .map_err(|_| EngineError::Internal("the results writer stopped early".into()))
    }
}

/// A sent row's result from its execution. A row the stop withdrew (`stopped`: the stop's code
/// and message) before any request of it was sent looks as if it had never left the queue.
fn finished(
    job: &Job,
    account: String,
    record: csv::StringRecord,
    ex: Execution,
    started: std::time::Instant,
    stopped: Option<(&'static str, String)>,
) -> RowResult {
    let (error_code, error_message) = match stopped {
        Some((code, message)) if ex.attempts == 0 => {
            return RowResult::without_request(
                job.index,
                job.line,
                account,
                Status::NotAttempted,
                code,
                message,
                record,
            );
        }
        Some((code, message)) => (Some(code.to_string()), Some(message)),
        None => (
            ex.failure.as_ref().map(|f| f.code.clone()),
            ex.failure.map(|f| f.message).or(ex.note),
        ),
    };
    RowResult {
        index: job.index,
        line: job.line,
        account,
        status: ex.status.unwrap_or(Status::Failed),
        outcome: ex.outcome,
        error_code,
        error_message,
        attempts: ex.attempts,
        http_status: ex.http_status,
        request_id: ex.request_id,
        elapsed_ms: Some(started.elapsed().as_millis() as u64),
        observed: ex.observed,
        steps: ex.steps,
        record,
    }
}

fn skipped(raw: &RawRow, account: String, earlier: &PreviousRow) -> RowResult {
    let mut row = RowResult::without_request(
        raw.index,
        raw.line,
        account,
        Status::Skipped,
        "",
        String::new(),
        raw.record.clone(),
    );
    row.error_code = None;
    row.error_message = None;
    row.outcome = earlier.outcome;
    row.steps = earlier.steps.clone();
    row
}

fn invalid(raw: &RawRow, account: String, problems: &[Problem]) -> RowResult {
    let columns: Vec<&str> = problems
        .iter()
        .filter_map(|p| p.column.as_deref())
        .collect();
    let message = problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let mut row = RowResult::without_request(
        raw.index,
        raw.line,
        account,
        Status::Invalid,
        codes::INVALID,
        message,
        raw.record.clone(),
    );
    if !columns.is_empty() {
        row.error_code = Some(format!("{} ({})", codes::INVALID, columns.join(", ")));
    }
    row
}
