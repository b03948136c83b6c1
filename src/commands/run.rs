//! `iambatch run INPUT`: validate every row, resolve the accounts, then run the pipeline and write
//! the results (SPEC §2–§5).

use crate::accounts::{self, AccountKey, EmulatorTarget, Overrides};
use crate::cli::{GlobalArgs, RunArgs};
use crate::commands::validate::input_options;
use crate::commands::{UsageError, exit, load_config, scan::scan};
use crate::emulator::{Emulator, EmulatorConfig};
use crate::engine::backoff::Backoff;
use crate::engine::client::{AccountClient, RetryPolicy, http_client};
use crate::engine::execute::ExecOptions;
use crate::engine::pacer::Pacer;
use crate::engine::pipeline::{self, Account, Control, PipelineOptions, Stop, StopReason};
use crate::input::InputFile;
use crate::jobs::{Field, ProviderKind};
use crate::providers::{AccountSpec, provider};
use crate::report::progress::{Progress, ProgressMode};
use crate::report::results::ResultsWriter;
use crate::report::schema::{ObservedColumns, Schema};
use anyhow::Context;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

impl EmulatorTarget for Emulator {
    fn endpoint(&self, kind: ProviderKind) -> url::Url {
        Emulator::endpoint(self, kind)
    }
}

pub async fn run(
    args: RunArgs,
    global: &GlobalArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<u8> {
    let config = load_config(global, env)?;
    let overrides = Overrides {
        rate: args.rate.clone(),
        concurrency: args
            .concurrency
            .iter()
            .filter_map(|(n, c)| n.clone().map(|n| (n, *c)))
            .collect(),
        concurrency_all: args
            .concurrency
            .iter()
            .rev()
            .find(|(n, _)| n.is_none())
            .map(|(_, c)| *c),
        endpoint: args.endpoint.clone(),
    };
    overrides.check_names(&config)?;

    let input_path = &args.input.input;
    let file = Arc::new(InputFile::open(
        input_path,
        input_options(&args.input, &config),
    )?);
    let scanned = scan(&file, |p| eprintln!("{p}"))?;
    if scanned.invalid_rows > 0 && !args.skip_invalid {
        return Err(UsageError(format!(
            "{}: {} of {} rows have problems (listed above); nothing was sent. Fix them, or pass --skip-invalid to run the valid rows and report the others as invalid",
            input_path.display(),
            scanned.invalid_rows,
            scanned.rows
        ))
        .into());
    }

    let output = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(input_path));
    if output.exists() && !args.overwrite {
        return Err(UsageError(format!(
            "the results file {} already exists: pass --overwrite to replace it, or -o to write elsewhere",
            output.display()
        ))
        .into());
    }

    let emulator = if args.emulator {
        let e = Emulator::start(EmulatorConfig::default())
            .await
            .context("cannot start the emulator")?;
        e.seed_demo()
            .map_err(|m| anyhow::anyhow!("cannot load the emulator's demo users: {m}"))?;
        eprintln!("using the built-in emulator: {}", e.endpoints_json());
        Some(e)
    } else {
        None
    };
    let needed: Vec<AccountKey> = scanned.accounts.iter().cloned().collect();
    let plans = accounts::resolve(
        &config,
        &overrides,
        &needed,
        env,
        emulator.as_ref().map(|e| e as &dyn EmulatorTarget),
    )?;

    let ca_bundle = match &args.ca_bundle {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read the CA bundle {}", path.display()))?,
        ),
        None => None,
    };
    let http = http_client(Duration::from_secs(args.timeout), ca_bundle.as_deref())
        .context("cannot set up HTTPS (check --ca-bundle)")?;
    let policy = RetryPolicy {
        max_attempts: args.max_attempts,
        backoff: Backoff::default(),
    };
    let mut runtime_accounts = Vec::new();
    for plan in plans {
        let api = plan.provider.connect(&AccountSpec {
            name: &plan.display,
            endpoint: &plan.endpoint,
            keys: &plan.keys,
        })?;
        tracing::info!(
            account = %plan.display,
            endpoint = %plan.endpoint,
            credentials = %plan.credential_source,
            rate = ?plan.rate,
            concurrency = plan.concurrency,
            "account ready"
        );
        let client = AccountClient::new(
            plan.display.clone(),
            api,
            http.clone(),
            Pacer::new(plan.rate),
            policy,
        );
        runtime_accounts.push(Account {
            plan,
            client: Arc::new(client),
        });
    }
    let clients: Vec<Arc<AccountClient>> =
        runtime_accounts.iter().map(|a| a.client.clone()).collect();

    // Read actions and read-backs report what they saw.
    let observed = (scanned.reads || args.verify).then(|| observed_columns(&scanned.providers));
    let password_columns = (0..file.headers().len())
        .map(|i| file.is_password_column(i))
        .collect();
    let schema = Schema::new(file.headers(), password_columns, observed);
    let writer = ResultsWriter::create(&output, schema, args.input.delimiter)?;

    let progress = Progress::new(
        scanned.rows,
        if args.no_progress {
            ProgressMode::Off
        } else {
            ProgressMode::Auto
        },
    );
    let stop = Stop::default();
    let cancel = CancellationToken::new();
    spawn_interrupt_handler(stop.clone(), cancel.clone());
    let ticker_done = CancellationToken::new();
    let ticker = progress.spawn_ticker(ticker_done.clone());

    let options = PipelineOptions {
        exec: ExecOptions {
            reset_passwords: args.reset_passwords,
            verify: args.verify,
        },
        max_failures: args.max_failures,
        clean_input: scanned.invalid_rows == 0,
    };
    let written = pipeline::run(
        file,
        runtime_accounts,
        writer,
        scanned.rows,
        options,
        Control {
            stop: stop.clone(),
            cancel,
            progress: progress.clone(),
        },
    )
    .await?;
    ticker_done.cancel();
    if let Some(t) = ticker {
        let _ = t.await;
    }

    let throttles: BTreeMap<String, u64> = clients
        .iter()
        .map(|c| (c.name.clone(), c.pacer.throttles()))
        .collect();
    eprint!("{}", progress.summary(&throttles));
    eprintln!("results: {}", written.display());
    if let Some(e) = emulator {
        e.shutdown().await;
    }
    Ok(match stop.reason() {
        Some(StopReason::Interrupted) => exit::INTERRUPTED,
        _ if progress.all_succeeded() => exit::OK,
        _ => exit::ROWS_NOT_OK,
    })
}

/// `<input stem>.results.csv` beside the input.
pub fn default_output(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into());
    input.with_file_name(format!("{stem}.results.csv"))
}

/// The `observed_*` columns: the union over the file's providers, in a fixed order.
fn observed_columns(providers: &BTreeSet<ProviderKind>) -> ObservedColumns {
    let readable: BTreeSet<Field> = providers
        .iter()
        .flat_map(|k| provider(*k).readable().iter().copied())
        .collect();
    let mut extras: Vec<&'static str> = Vec::new();
    for k in providers {
        for e in provider(*k).extra_observed() {
            if !extras.contains(e) {
                extras.push(e);
            }
        }
    }
    ObservedColumns {
        fields: readable.into_iter().collect(),
        extras,
    }
}

/// First Ctrl-C: stop dispatching and let requests in flight finish. Second: exit at once (every
/// finished row is already in the results file).
fn spawn_interrupt_handler(stop: Stop, cancel: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!("interrupted: finishing requests in flight; press Ctrl-C again to exit at once");
        stop.set(StopReason::Interrupted);
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "interrupted again: exiting; the results file holds every row finished so far"
            );
            std::process::exit(i32::from(exit::INTERRUPTED));
        }
    });
}
