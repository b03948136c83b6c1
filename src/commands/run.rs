//! `iambatch run INPUT`: validate every row, resolve the accounts, then run the pipeline and write
//! the results (docs/contract.md §2–§5). `plan` and `verify` are the same pass in another engine mode;
//! `--dry-run` stops before sending and prints the requests instead.

use crate::accounts::{self, AccountKey, AccountPlan, EmulatorTarget};
use crate::cli::{RunArgs, SessionArgs};
use crate::commands::scaffold::{self, Interrupt, Scaffold};
use crate::commands::scan::{Scan, count, scan};
use crate::commands::validate::input_options;
use crate::commands::{Setup, UsageError, dry_run, exit, session};
use crate::emulator::Emulator;
use crate::engine::client::codes;
use crate::engine::execute::{ExecOptions, Mode};
use crate::engine::membership;
use crate::engine::pipeline::{
    self, Control, Durable, PipelineOptions, Stop, StopReason, Withheld,
};
use crate::input::InputFile;
use crate::jobs::{Field, ProviderKind};
use crate::passwords::{SecretsError, SecretsFile};
use crate::providers::{MFA_BOUND, provider};
use crate::report::Status;
use crate::report::journal::Journal;
use crate::report::previous::{Previous, row_fingerprint};
use crate::report::results::{ResultsWriter, sidecar};
use crate::report::schema::{ObservedColumns, Schema};
use anyhow::Context;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

impl EmulatorTarget for Emulator {
    fn endpoint(&self, kind: ProviderKind) -> url::Url {
        Emulator::endpoint(self, kind)
    }
}

pub async fn run(args: RunArgs, setup: &Setup<'_>) -> anyhow::Result<u8> {
    let options = ExecOptions {
        mode: Mode::Apply,
        reset_passwords: args.reset_passwords,
        verify: args.verify,
        secrets: None,
        allow_delete: args.allow_delete,
    };
    if args.dry_run {
        return dry_run::dry_run(&args.session, &options, setup).await;
    }
    process(&args.session, options, setup).await
}

/// Everything a command needs before it sends anything: the checked file and the resolved accounts.
pub(crate) struct Prepared {
    pub file: Arc<InputFile>,
    pub scanned: Scan,
    pub plans: Vec<AccountPlan>,
    /// Accounts the rows use that are not worked in (`--accounts-filter`), each with how its
    /// rows are reported.
    pub withheld: BTreeMap<AccountKey, Withheld>,
    /// The members accounts whose members the rows use: listed before anything is sent.
    pub directories: Vec<AccountPlan>,
    pub emulator: Option<Emulator>,
}

/// Reads the config, validates every row (exit 2 on problems unless --skip-invalid), starts the
/// emulator if asked, and resolves the accounts the rows use.
pub(crate) async fn prepare(
    args: &SessionArgs,
    mode: Mode,
    setup: &Setup<'_>,
) -> anyhow::Result<Prepared> {
    let Setup { config, env } = setup;
    let overrides = args.connection.accounts.overrides();
    overrides.check_names(config)?;

    let input_path = &args.input.input;
    if let Some(name) = args.input.account.as_deref()
        && !config.accounts.contains_key(name)
        && accounts::member_of(config, name).is_none()
    {
        let known: Vec<&str> = config.accounts.keys().map(String::as_str).collect();
        return Err(UsageError(format!(
            "--account {name}: no such account in the config file ({}): name one of its [accounts.NAME] sections",
            match known.as_slice() {
                [] => "it has none".to_string(),
                names => format!("it has {}", names.join(", ")),
            }
        ))
        .into());
    }
    let mut input_options = input_options(&args.input, config);
    // Reading and comparing never generates a password: no secrets file is needed.
    input_options.secrets_out |= mode != Mode::Apply;
    let file = Arc::new(InputFile::open(input_path, input_options)?);
    let scanned = scan(&file, |p| eprintln!("{p}"))?;
    if scanned.invalid_rows > 0 && !args.skip_invalid {
        return Err(UsageError(format!(
            "{}: {} (listed above); nothing was sent. Fix them, or pass --skip-invalid to run the valid rows and report the others as invalid",
            input_path.display(),
            scanned.problems()
        ))
        .into());
    }

    let emulator = if args.connection.emulator {
        Some(session::start_emulator().await?)
    } else {
        None
    };
    let (needed, withheld) = filtered(config, &overrides, &scanned);
    let target = emulator.as_ref().map(|e| e as &dyn EmulatorTarget);
    let plans = accounts::resolve(config, &overrides, &needed, env, target)?;
    let orgs: BTreeSet<AccountKey> = (needed.iter())
        .filter_map(|(kind, name)| Some((*kind, accounts::member_of(config, name)?.0.to_string())))
        .collect();
    let orgs: Vec<AccountKey> = orgs.into_iter().collect();
    let directories = accounts::resolve(config, &overrides, &orgs, env, target)?;
    Ok(Prepared {
        file,
        scanned,
        plans,
        withheld,
        directories,
        emulator,
    })
}

/// The accounts the rows use, less the member accounts `--accounts-filter` leaves out, and those.
/// Warns of each filter id no row's member has: a typo would withhold every member row.
fn filtered(
    config: &accounts::Config,
    overrides: &accounts::Overrides,
    scanned: &Scan,
) -> (Vec<AccountKey>, BTreeMap<AccountKey, Withheld>) {
    let mut needed = Vec::new();
    let mut withheld = BTreeMap::new();
    let mut ids = Vec::new();
    for key in &scanned.accounts {
        let member = accounts::member_of(config, &key.1);
        ids.extend(member.map(|(_, id)| id));
        match member {
            Some((base, id)) if !overrides.allows(id) => {
                let message = format!(
                    "not sent: member account {id} of '{base}' is not in --accounts-filter; finish it with --resume and a filter that names it (or none)"
                );
                let w = Withheld {
                    status: Status::NotAttempted,
                    code: codes::ACCOUNTS_FILTER,
                    message,
                };
                withheld.insert(key.clone(), w);
            }
            _ => needed.push(key.clone()),
        }
    }
    for id in overrides.unmatched(&ids) {
        eprintln!(
            "warning: --accounts-filter names {id}, but no row of the input names that member (NAME/{id})"
        );
    }
    (needed, withheld)
}

/// `run`, `plan` and `verify`: every row through the engine in `options.mode`, into the results file.
pub(crate) async fn process(
    args: &SessionArgs,
    mut options: ExecOptions,
    setup: &Setup<'_>,
) -> anyhow::Result<u8> {
    let Prepared {
        file,
        scanned,
        plans,
        mut withheld,
        directories,
        emulator,
    } = prepare(args, options.mode, setup).await?;
    if options.mode == Mode::Plan {
        for (kind, deletes) in &scanned.user_deletes {
            if let Some(kept) = provider(*kind)
                .spec()
                .recycle_bin
                .filter(|kept| deletes > kept)
            {
                eprintln!(
                    "warning: {} would delete {deletes} {kind} users, more than the {kept} its recycle bin keeps: the oldest deleted users are purged for good",
                    args.input.input.display()
                );
            }
        }
    }
    let deletes: u64 = scanned.user_deletes.values().sum();
    if options.mode == Mode::Apply && deletes > 0 && !options.allow_delete {
        return Err(UsageError(format!(
            "{}: {} would delete users; nothing was sent. Check them with plan, then pass --allow-delete",
            args.input.input.display(),
            count(deletes, "delete-user row", "delete-user rows"),
        ))
        .into());
    }
    let progress_mode = scaffold::progress_mode(args.connection.no_progress, setup.env)?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.input.input, options.mode));
    let resuming = args.resume && output.exists();
    if output.exists() && !args.overwrite && !args.resume {
        return Err(UsageError(format!(
            "the results file {} already exists: pass --resume to finish that run, --overwrite to replace it, or -o to write elsewhere",
            output.display()
        ))
        .into());
    }

    // Reads, plans, verifies and read-backs report what they saw.
    let observed = (scanned.reads || options.verify || options.mode != Mode::Apply)
        .then(|| observed_columns(&scanned));
    let password_columns = (0..file.headers().len())
        .map(|i| file.is_password_column(i))
        .collect();
    let schema = Schema::new(
        file.headers(),
        password_columns,
        observed,
        scanned.lifecycle,
    );
    let journal_path = sidecar(&output, "journal");
    let (previous, sent) = if resuming {
        let previous = Previous::load(&output, &schema, file.delimiter())?;
        let changed = changed_rows(&file, &previous)?;
        if !changed.is_empty() {
            let shown: Vec<String> = changed.iter().take(20).map(|l| l.to_string()).collect();
            return Err(UsageError(format!(
                "cannot resume: {} row(s) that already succeeded, or were applied in part, have changed since that run (lines {}{}); an edited input cannot be matched to its earlier results. Restore the input, or start a new run with -o",
                changed.len(),
                shown.join(", "),
                if changed.len() > 20 { ", …" } else { "" }
            ))
            .into());
        }
        let sent = Journal::read(&journal_path)
            .with_context(|| format!("cannot read the journal {}", journal_path.display()))?;
        (previous, sent)
    } else {
        // A fresh run: an old journal would only mislead a later resume.
        let _ = std::fs::remove_file(&journal_path);
        (Previous::default(), Vec::new())
    };
    let secrets_out = args
        .input
        .secrets_out
        .as_deref()
        .filter(|_| options.mode == Mode::Apply);
    if let Some(path) = secrets_out.filter(|p| p.exists()) {
        return Err(UsageError(format!(
            "{}; nothing was sent",
            SecretsError::Exists {
                path: path.to_path_buf()
            }
        ))
        .into());
    }

    let http = session::http(
        args.connection.timeout,
        args.connection.ca_bundle.as_deref(),
    )?;
    let chains = session::chains(&http, args.connection.max_attempts, setup.env);
    let cancel = CancellationToken::new();
    let (plans, not_members) = membership::check(plans, &directories, &chains, &cancel).await?;
    withheld.extend(not_members);
    let runtime_accounts = plans
        .into_iter()
        .map(|plan| session::connect(plan, &http, args.connection.max_attempts, &chains))
        .collect::<anyhow::Result<Vec<_>>>()?;

    // Created last before the results file, so that a configuration error leaves no empty file
    // behind that the next attempt would refuse.
    if let Some(path) = secrets_out {
        options.secrets = Some(Arc::new(
            SecretsFile::create(path).map_err(|e| UsageError(format!("{e}; nothing was sent")))?,
        ));
    }

    let delimiter_note = file.delimiter_note();
    let writer = if resuming {
        ResultsWriter::resume(&output, schema, file.delimiter(), previous.valid_len)?
    } else {
        ResultsWriter::create(&output, schema, file.delimiter())?
    };
    let journal = Journal::open(&journal_path)
        .with_context(|| format!("cannot create the journal {}", journal_path.display()))?;

    let stop = Stop::default();
    let accounts = runtime_accounts.iter().map(|a| {
        let rows = scanned.rows_by_account.get(&a.plan.key).copied();
        (a.client.clone(), rows.unwrap_or_default())
    });
    let interrupt = Interrupt {
        said: "interrupted: finishing requests in flight; press Ctrl-C again to exit at once",
        then: Box::new({
            let (stop, cancel) = (stop.clone(), cancel.clone());
            move || {
                stop.set(StopReason::Interrupted);
                cancel.cancel();
            }
        }),
        again: Some("interrupted again: exiting; the results file holds every row finished so far"),
    };
    let scaffold = Scaffold::start(
        scanned.rows,
        ["row", "rows"],
        progress_mode,
        accounts,
        interrupt,
    );

    let options = PipelineOptions {
        exec: options,
        max_failures: args.max_failures,
        clean_input: scanned.invalid_rows == 0,
        withheld,
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
            progress: scaffold.progress.clone(),
        },
        Durable {
            journal,
            previous,
            sent,
        },
    )
    .await?;
    let progress = scaffold.finish().await;
    match delimiter_note {
        Some(note) => eprintln!("results: {} ({note})", written.display()),
        None => eprintln!("results: {}", written.display()),
    }
    if let Some(e) = emulator {
        e.shutdown().await;
    }
    Ok(match stop.reason() {
        Some(StopReason::Interrupted) => exit::INTERRUPTED,
        _ if progress.all_succeeded() => exit::OK,
        _ => exit::ROWS_NOT_OK,
    })
}

/// Lines that succeeded in the run being resumed but whose input cells are not the same now.
fn changed_rows(file: &InputFile, previous: &Previous) -> anyhow::Result<Vec<u64>> {
    let width = file.headers().len();
    let mut rows = file.rows()?;
    let mut raw = crate::input::RawRow::new();
    let mut changed = Vec::new();
    while rows.read(&mut raw)? {
        // A row the earlier run finished, or applied in part (its steps, or a write without a
        // reply), is matched to its results: the resumed run must find it as it was.
        if let Some(p) = previous.get(raw.line).filter(|p| {
            matches!(p.status, Status::Succeeded | Status::Skipped)
                || p.unknown_outcome
                || p.steps.iter().any(|s| {
                    s.ends_with("=created") || s.ends_with("=updated") || s.ends_with("=deleted")
                })
        }) && p.fingerprint
            != row_fingerprint(&raw.record, width, |i| file.is_password_column(i))
        {
            changed.push(raw.line);
        }
    }
    Ok(changed)
}

/// `<input stem>.results.csv` beside the input (`.plan.csv` for plan, `.verify.csv` for verify).
pub fn default_output(input: &Path, mode: Mode) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into());
    let kind = match mode {
        Mode::Apply => "results",
        Mode::Plan => "plan",
        Mode::Verify => "verify",
    };
    input.with_file_name(format!("{stem}.{kind}.csv"))
}

/// The `observed_*` columns: the union over the file's providers, in a fixed order.
/// The `observed_*` columns of a run: the fields the file's actions read, and the other fields of
/// its providers' replies.
fn observed_columns(scanned: &Scan) -> ObservedColumns {
    let providers = &scanned.providers;
    let readable: BTreeSet<Field> = (scanned.actions.iter())
        .filter_map(|(kind, action)| provider(*kind).spec().action(*action))
        .flat_map(|spec| spec.reads.iter().copied())
        .collect();
    let mut extras: Vec<&'static str> = Vec::new();
    for k in providers {
        for e in provider(*k).spec().extra_observed {
            if !extras.contains(e) {
                extras.push(e);
            }
        }
    }
    if providers
        .iter()
        .any(|k| provider(*k).spec().listing.mfa.is_some())
    {
        extras.push(MFA_BOUND);
    }
    ObservedColumns {
        fields: readable.into_iter().collect(),
        extras,
    }
}
