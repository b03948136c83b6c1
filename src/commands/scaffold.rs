//! What `run` (with `plan` and `verify`) and `export` set up the same way around the engine: progress
//! watching each account's client, Ctrl-C, and at the end the summary. The output file's writer
//! thread is [`crate::report::writer`].

use crate::commands::{UsageError, exit};
use crate::engine::client::AccountClient;
use crate::report::progress::{LINE_EVERY, Meter, Progress, ProgressMode};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Milliseconds between progress lines when stderr is not a terminal, instead of 10 s (for tests).
const LINE_EVERY_VAR: &str = "IAMBATCH_PROGRESS_EVERY_MS";

impl Meter for AccountClient {
    fn requests(&self) -> u64 {
        self.pacer.requests()
    }

    fn throttles(&self) -> u64 {
        self.pacer.throttles()
    }

    fn retries(&self) -> u64 {
        AccountClient::retries(self)
    }

    fn paced_rate(&self) -> Option<f64> {
        self.pacer.current_rate()
    }
}

/// What Ctrl-C does.
pub struct Interrupt {
    /// Said at the first Ctrl-C, which then runs `then`.
    pub said: &'static str,
    pub then: Box<dyn FnOnce() + Send>,
    /// At a second Ctrl-C: say this and exit at once. `None`: a second one changes nothing.
    pub again: Option<&'static str>,
}

/// Progress, its display and the interrupt handler of one command.
pub struct Scaffold {
    pub progress: Arc<Progress>,
    ticker_done: CancellationToken,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Scaffold {
    /// Progress over `total` rows (or `unit`s: singular, plural) shown as `mode` says, with the
    /// pace of each account (its client and its rows), and Ctrl-C handled as `interrupt` says.
    pub fn start(
        total: u64,
        unit: [&'static str; 2],
        mode: ProgressMode,
        accounts: impl IntoIterator<Item = (Arc<AccountClient>, u64)>,
        interrupt: Interrupt,
    ) -> Scaffold {
        let progress = Progress::counting(total, mode, unit);
        for (client, rows) in accounts {
            progress.watch(&client.name.clone(), rows, client);
        }
        spawn_interrupt_handler(interrupt);
        let ticker_done = CancellationToken::new();
        let ticker = progress.spawn_ticker(ticker_done.clone());
        Scaffold {
            progress,
            ticker_done,
            ticker,
        }
    }

    /// Stops the display and prints the summary; returns the counts.
    pub async fn finish(self) -> Arc<Progress> {
        self.ticker_done.cancel();
        if let Some(t) = self.ticker {
            let _ = t.await;
        }
        eprint!("{}", self.progress.summary());
        self.progress
    }
}

/// The progress display: none with `--no-progress`; lines every 10 s, or as the hidden knob says.
/// Read before any file is created, so a bad knob leaves nothing behind.
pub fn progress_mode(
    no_progress: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ProgressMode, UsageError> {
    if no_progress {
        return Ok(ProgressMode::Off);
    }
    let line_every = match env(LINE_EVERY_VAR) {
        None => LINE_EVERY,
        Some(ms) => match ms.trim().parse::<u64>() {
            Ok(ms) if ms > 0 => Duration::from_millis(ms),
            _ => {
                return Err(UsageError(format!(
                    "{LINE_EVERY_VAR}={ms}: give a whole number of milliseconds above 0, or unset it"
                )));
            }
        },
    };
    Ok(ProgressMode::Auto { line_every })
}

fn spawn_interrupt_handler(interrupt: Interrupt) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!("{}", interrupt.said);
        (interrupt.then)();
        let Some(again) = interrupt.again else {
            return;
        };
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("{again}");
            std::process::exit(i32::from(exit::INTERRUPTED));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_interval_is_ten_seconds_unless_the_knob_says_otherwise() {
        let unset = |_: &str| None;
        assert_eq!(
            progress_mode(false, &unset).unwrap(),
            ProgressMode::Auto {
                line_every: LINE_EVERY
            }
        );
        assert_eq!(progress_mode(true, &unset).unwrap(), ProgressMode::Off);
        let set = |v: &'static str| move |name: &str| (name == LINE_EVERY_VAR).then(|| v.into());
        assert_eq!(
            progress_mode(false, &set("250")).unwrap(),
            ProgressMode::Auto {
                line_every: Duration::from_millis(250)
            }
        );
        for bad in ["0", "fast", "-5"] {
            let e = progress_mode(false, &set(bad)).unwrap_err();
            assert!(e.0.contains("whole number of milliseconds"), "{e}");
        }
    }
}
