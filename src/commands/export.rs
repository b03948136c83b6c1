//! `iambatch export TARGET -o FILE` (docs/contract.md §6): every user of one account with their login state,
//! as a CSV that `run`, `plan` and `verify` take as input. The listing (pages, reads, pacing,
//! retries) is the engine's; this module picks the account, turns each user into a row or leaves
//! them out, and writes the file: streamed to a hidden file beside the output, renamed over it
//! when every page has been read, so a failed export never leaves a partial list that looks whole.

use crate::accounts::{self, AccountKey, Config, EmulatorTarget};
use crate::cli::ExportArgs;
use crate::commands::scaffold::{self, Interrupt, Scaffold};
use crate::commands::scan::count;
use crate::commands::{Setup, UsageError, exit, session};
use crate::engine::listing::{self, Event, ListError, UserReads, UserState};
use crate::input::Column;
use crate::jobs::{Action, ActionKind, Field, Job, LoginState, ProviderKind};
use crate::providers::{
    ActionSpec, Failure, ListedUser, Listing, MfaBinding, Observed, Provider, provider,
};
use crate::report::cells::escape_formula;
use crate::report::progress::Progress;
use crate::report::results::sidecar;
use crate::report::writer::{self, Sink};
use crate::report::{Outcome, RowResult, Status};
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Failed users named at the end; the rest are counted.
const FAILURES_SHOWN: usize = 20;

pub async fn export(args: ExportArgs, setup: &Setup<'_>) -> anyhow::Result<u8> {
    let Setup { config, env } = setup;
    let c = &args.connection;
    let overrides = c.accounts.overrides();
    overrides.check_names(config)?;
    let key = target(config, &args.target)?;
    let shape = Shape::new(&key, &args)?;
    let reads = shape.migration.map(|spec| UserReads {
        steps: spec.read,
        all_groups: provider(key.0).spec().lookups.groups,
    });
    if args.output.exists() && !args.overwrite {
        return Err(UsageError(format!(
            "{} already exists: pass --overwrite to replace it, or -o to write elsewhere",
            args.output.display()
        ))
        .into());
    }

    let emulator = match c.emulator {
        true => Some(session::start_emulator().await?),
        false => None,
    };
    let plan = accounts::resolve(
        config,
        &overrides,
        std::slice::from_ref(&key),
        env,
        emulator.as_ref().map(|e| e as &dyn EmulatorTarget),
    )?
    .pop()
    .expect("one account asked for, one resolved");
    let concurrency = plan.concurrency;
    let http = session::http(c.timeout, c.ca_bundle.as_deref())?;
    let chains = session::chains(&http, c.max_attempts, env);
    let client = session::connect(plan, &http, c.max_attempts, &chains)?.client;

    let mode = scaffold::progress_mode(c.no_progress, env)?;
    let partial = sidecar(&args.output, "export");
    let mut writer = csv::Writer::from_path(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    writer.write_record(shape.headers())?;

    let cancel = CancellationToken::new();
    let interrupt = Interrupt {
        said: "interrupted: stopping the export",
        then: Box::new({
            let cancel = cancel.clone();
            move || cancel.cancel()
        }),
        again: None,
    };
    let scaffold = Scaffold::start(0, ["user", "users"], mode, [(client.clone(), 0)], interrupt);

    let (events, received) = mpsc::channel(concurrency * 4 + 16);
    let writing = writer::spawn(
        Users {
            writer,
            shape,
            progress: scaffold.progress.clone(),
            account: client.name.clone(),
            counts: Counts {
                account: key.1.clone(),
                mfa_bound: provider(key.0).spec().listing.mfa.map(|_| 0),
                ..Counts::default()
            },
        },
        received,
    );
    let listed = listing::list(
        client.clone(),
        provider(key.0).spec().listing,
        reads,
        concurrency,
        cancel.clone(),
        events,
    )
    .await;
    let written = writing
        .join()
        .map_err(|_| anyhow::anyhow!("internal error: the export writer stopped"))?;
    scaffold.finish().await;
    if let Some(e) = emulator {
        e.shutdown().await;
    }

    let counts = match (listed, written) {
        (Ok(()), Ok(counts)) => counts,
        (listed, written) => {
            let _ = std::fs::remove_file(&partial);
            return Ok(match (listed, written) {
                (Err(ListError::Interrupted), _) => {
                    eprintln!("interrupted: {} was not written", args.output.display());
                    exit::INTERRUPTED
                }
                (_, Err(e)) => {
                    eprintln!(
                        "error: cannot write {}: {e:#}; nothing was written",
                        partial.display()
                    );
                    exit::ROWS_NOT_OK
                }
                (Err(e), _) => {
                    eprintln!(
                        "error: export of account '{}': {e}; {} was not written",
                        client.name,
                        args.output.display()
                    );
                    exit::ROWS_NOT_OK
                }
                (Ok(()), Ok(_)) => unreachable!("handled above"),
            });
        }
    };
    std::fs::rename(&partial, &args.output)
        .with_context(|| format!("cannot move the export to {}", args.output.display()))?;
    eprintln!("{}", counts.summary(&args.output));
    Ok(match counts.failed.is_empty() {
        true => exit::OK,
        false => exit::ROWS_NOT_OK,
    })
}

/// TARGET: an account of the config file, else a provider's default account.
fn target(config: &Config, target: &str) -> Result<AccountKey, UsageError> {
    if let Some(account) = config.accounts.get(target) {
        return Ok((account.provider, target.to_string()));
    }
    if let Ok(kind) = target.parse::<ProviderKind>() {
        return Ok((kind, String::new()));
    }
    let known: Vec<&str> = config.accounts.keys().map(String::as_str).collect();
    Err(UsageError(format!(
        "'{target}' is neither a provider ({}) nor an account of the config file{}",
        ProviderKind::names(),
        match known.is_empty() {
            true => String::new(),
            false => format!(" ({})", known.join(", ")),
        }
    )))
}

/// The columns of an export, and how one user becomes a row of them.
struct Shape {
    provider: &'static dyn Provider,
    /// The account cell: the config name, empty for the default account.
    account: String,
    listing: Listing,
    action: Option<Action>,
    all_users: bool,
    missing_mfa: bool,
    mfa_unbound: bool,
    /// `--action create-user|ensure-user`: the file re-creates the users elsewhere; the user
    /// action's declaration, whose reads give each user's fields and groups.
    migration: Option<&'static ActionSpec>,
}

/// The user columns a migration file carries, where the provider's user actions take them.
const MIGRATED: &[Field] = &[
    Field::DisplayName,
    Field::Email,
    Field::MobilePhone,
    Field::Comments,
    Field::Groups,
];

/// Why a listed user has no row.
#[derive(Debug, PartialEq, Eq)]
enum LeftOut {
    /// No console login profile, and no `--all-users`.
    NoConsole,
    /// `--missing-mfa`, and MFA is already required.
    HasMfa,
    /// `--mfa-unbound`, and a device is bound.
    Bound,
}

impl Shape {
    /// The shape for `--action` and the filters, or why the rows could not be valid input.
    fn new(key: &AccountKey, args: &ExportArgs) -> Result<Shape, UsageError> {
        let provider = provider(key.0);
        if let Some(action) = args.action {
            let names = || {
                let names: Vec<&str> = provider
                    .spec()
                    .actions
                    .iter()
                    .map(|a| a.action.name())
                    .collect();
                names.join(", ")
            };
            if provider.spec().action(action).is_none() {
                return Err(UsageError(format!(
                    "{} does not support {action}: use one of {}",
                    key.0,
                    names()
                )));
            }
            if action.is_lifecycle() && !matches!(action, Action::CreateUser | Action::EnsureUser) {
                return Err(UsageError(format!(
                    "export writes files for create-user and ensure-user, not {action}: export with --action ensure-user, then change the action column"
                )));
            }
            if action.is_lifecycle() && args.all_users {
                return Err(UsageError(format!(
                    "--action {action} with --all-users would give console login to users who have none: leave out --all-users"
                )));
            }
            if action.kind() == ActionKind::Create && !action.is_lifecycle() {
                return Err(UsageError(format!(
                    "{action} needs a password per row, which an export cannot give: use ensure-login-profile (it creates only missing profiles) and add passwords to the rows that need them"
                )));
            }
            // Users without console login have no state to write, so such a row would change nothing.
            if action.kind() == ActionKind::Update && action != Action::EnforceMfa && args.all_users
            {
                return Err(UsageError(format!(
                    "--action {action} with --all-users would write rows with nothing to change for users without console login: leave out --all-users"
                )));
            }
        }
        Ok(Shape {
            provider,
            account: key.1.clone(),
            listing: provider.spec().listing,
            action: args.action,
            all_users: args.all_users,
            missing_mfa: args.missing_mfa,
            mfa_unbound: args.mfa_unbound,
            migration: args
                .action
                .filter(|a| a.is_lifecycle())
                .and_then(|a| provider.spec().action(a)),
        })
    }

    /// The user columns of a migration file: those the provider's user action takes.
    fn migrated(&self, spec: &ActionSpec) -> Vec<Field> {
        (MIGRATED.iter().copied())
            .filter(|f| spec.accepts(Column::State(*f)))
            .collect()
    }

    fn headers(&self) -> Vec<&'static str> {
        if let Some(spec) = self.migration {
            let mut headers = vec!["provider", "account", "user"];
            headers.extend(self.migrated(spec).iter().map(|f| f.column()));
            headers.extend([
                "mfa_bind_required",
                "generate_password",
                "password_reset_required",
                "action",
            ]);
            return headers;
        }
        let mut headers = vec!["provider", "account", "user"];
        if self.listing.user_name {
            headers.push("user_name");
        }
        headers.extend(self.listing.fields.iter().map(|f| f.column()));
        if let Some(mfa) = self.listing.mfa {
            headers.push("mfa_bound");
            if mfa.types {
                headers.push("mfa_type");
            }
        }
        headers.extend(self.listing.info);
        if self.all_users {
            headers.push("has_login_profile");
        }
        if self.action.is_some() {
            headers.push("action");
        }
        headers
    }

    /// The row of a listed user whose state is known, or why they are left out.
    fn row(
        &self,
        user: &ListedUser,
        observed: &Observed,
        mfa: Option<&MfaBinding>,
    ) -> Result<Vec<String>, LeftOut> {
        let console = user.console.unwrap_or(observed.exists);
        if !console && (!self.all_users || self.mfa_unbound) {
            return Err(LeftOut::NoConsole);
        }
        if self.missing_mfa && requires_mfa(&observed.state) {
            return Err(LeftOut::HasMfa);
        }
        // A binding the provider cannot tell is no reason to leave the user out.
        if self.mfa_unbound && mfa.is_some_and(|m| m.bound) {
            return Err(LeftOut::Bound);
        }
        if let Some(spec) = self.migration {
            return Ok(self.migration_row(spec, user, observed));
        }
        let desired = match self.action {
            Some(Action::EnforceMfa) => self.provider.mfa_state(&self.job(user, observed)),
            _ => LoginState::default(),
        };
        let mut row = vec![
            self.provider.spec().kind.name().to_string(),
            self.account.clone(),
            user.user.clone(),
        ];
        if self.listing.user_name {
            row.push(user.user_name.clone().unwrap_or_default());
        }
        row.extend(self.listing.fields.iter().map(|f| {
            let value = || {
                desired
                    .get(*f)
                    .or_else(|| observed.state.get(*f))
                    .or_else(|| user.state.get(*f))
            };
            console.then(value).flatten().unwrap_or_default()
        }));
        if let Some(source) = self.listing.mfa {
            row.push(mfa.map(|m| m.bound.to_string()).unwrap_or_default());
            if source.types {
                let kind = mfa.filter(|m| m.bound).and_then(|m| m.kind.clone());
                row.push(kind.unwrap_or_default());
            }
        }
        row.extend(self.listing.info.iter().map(|column| {
            let value = user.info.iter().find(|(name, _)| name == column);
            value.map_or(String::new(), |(_, v)| escape_formula(v).into_owned())
        }));
        if self.all_users {
            row.push(console.to_string());
        }
        if let Some(action) = self.action {
            row.push(action.name().to_string());
        }
        Ok(row)
    }

    /// A user as a row that re-creates them in another account: the name without what ties it to
    /// this account, their fields and groups, whether MFA is required (login protection, where
    /// that is how the provider requires it), a generated password to change at first login, and
    /// an empty account cell for `run --account`.
    fn migration_row(
        &self,
        spec: &ActionSpec,
        user: &ListedUser,
        observed: &Observed,
    ) -> Vec<String> {
        let state = &observed.state;
        let mut row = vec![
            self.provider.spec().kind.name().to_string(),
            String::new(),
            self.provider.portable_name(user),
        ];
        row.extend(self.migrated(spec).iter().map(|f| {
            let value = state
                .get(*f)
                .or_else(|| user.state.get(*f))
                .unwrap_or_default();
            escape_formula(&value).into_owned()
        }));
        let mfa = state.mfa_bind_required.or(state.login_protect_enabled);
        row.extend([
            mfa.map(|b| b.to_string()).unwrap_or_default(),
            "true".into(),
            "true".into(),
            spec.action.name().into(),
        ]);
        row
    }

    /// The row `enforce-mfa` would read, so the provider says what it sets (huawei keeps the
    /// current method).
    fn job(&self, user: &ListedUser, observed: &Observed) -> Job {
        Job {
            index: 0,
            line: 0,
            provider: self.provider.spec().kind,
            account: self.account.clone(),
            action: Action::EnforceMfa,
            user: user.user.clone(),
            user_name: user.user_name.clone(),
            desired: observed.state.clone(),
            password: None,
            generate_password: false,
        }
    }
}

/// MFA is required at console sign-in (aliyun/ucloud `MFABindRequired`, huawei login protection).
fn requires_mfa(state: &LoginState) -> bool {
    [Field::MfaBindRequired, Field::LoginProtectEnabled]
        .iter()
        .any(|f| state.get(*f).as_deref() == Some("true"))
}

/// What an export came to.
#[derive(Debug, Default)]
struct Counts {
    /// The account's name for the summary (empty: the provider's default account).
    account: String,
    written: u64,
    no_console: u64,
    has_mfa: u64,
    bound: u64,
    /// Console users (a login profile in any status; huawei: console access), those whose MFA is
    /// required, and those with a bound device (when the provider can tell).
    console: u64,
    mfa_required: u64,
    mfa_bound: Option<u64>,
    /// Users whose state could not be read: the first few named, all counted.
    failed: Vec<String>,
    failed_count: u64,
}

impl Counts {
    fn summary(&self, output: &Path) -> String {
        let mut out = format!(
            "exported {} to {}",
            count(self.written, "user", "users"),
            output.display()
        );
        let mut left = Vec::new();
        if self.no_console > 0 {
            left.push(format!(
                "{} without console login (--all-users adds them)",
                self.no_console
            ));
        }
        if self.has_mfa > 0 {
            left.push(format!("{} already requiring MFA", self.has_mfa));
        }
        if self.bound > 0 {
            left.push(format!("{} with a bound MFA device", self.bound));
        }
        if !left.is_empty() {
            out.push_str(&format!("; left out: {}", left.join(", ")));
        }
        out.push_str(&format!(
            "\naccount {}: {}, {} with MFA required{}",
            match self.account.is_empty() {
                true => "(default)".to_string(),
                false => format!("'{}'", self.account),
            },
            count(self.console, "console user", "console users"),
            self.mfa_required,
            match self.mfa_bound {
                Some(n) => format!(", {n} with a bound MFA device"),
                None => String::new(),
            }
        ));
        if self.failed_count > 0 {
            out.push_str(&format!(
                "\nthe file lacks {} whose login state could not be read: {}{}; export again to include them",
                count(self.failed_count, "user", "users"),
                self.failed.join("; "),
                if self.failed_count > self.failed.len() as u64 {
                    "; …"
                } else {
                    ""
                }
            ));
        }
        out
    }
}

/// The export file: each user's row written as it comes, in list order, and counted for progress.
struct Users {
    writer: csv::Writer<std::fs::File>,
    shape: Shape,
    progress: Arc<Progress>,
    account: String,
    counts: Counts,
}

impl Sink for Users {
    type Item = Event;
    type Done = Counts;
    type Error = csv::Error;

    fn write(&mut self, batch: &mut Vec<Event>) -> Result<(), csv::Error> {
        for event in batch.drain(..) {
            let UserState {
                user,
                state,
                mfa,
                attempts,
            } = match event {
                Event::Page(n) => {
                    self.progress.grow(&self.account, n as u64);
                    continue;
                }
                Event::User(u) => *u,
            };
            let counts = &mut self.counts;
            let failure = match &state {
                Ok(observed) => {
                    if user.console.unwrap_or(observed.exists) {
                        counts.console += 1;
                        counts.mfa_required += u64::from(requires_mfa(&observed.state));
                        if let Some(n) = &mut counts.mfa_bound {
                            *n += u64::from(mfa.as_ref().is_some_and(|m| m.bound));
                        }
                    }
                    match self.shape.row(&user, observed, mfa.as_ref()) {
                        Ok(row) => {
                            self.writer.write_record(&row)?;
                            counts.written += 1;
                        }
                        Err(LeftOut::NoConsole) => counts.no_console += 1,
                        Err(LeftOut::HasMfa) => counts.has_mfa += 1,
                        Err(LeftOut::Bound) => counts.bound += 1,
                    }
                    None
                }
                Err(f) => {
                    counts.failed_count += 1;
                    if counts.failed.len() < FAILURES_SHOWN {
                        counts
                            .failed
                            .push(format!("{}: {} ({})", user.user, f.message, f.code));
                    }
                    Some(f)
                }
            };
            self.progress
                .record(&progress_row(&self.account, attempts, failure));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Counts, csv::Error> {
        self.writer.flush()?;
        Ok(self.counts)
    }
}

/// A user as progress and the summary count it: read, or failed.
fn progress_row(account: &str, attempts: u32, failure: Option<&Failure>) -> RowResult {
    RowResult {
        index: 0,
        line: 0,
        account: account.to_string(),
        status: match failure {
            None => Status::Succeeded,
            Some(_) => Status::Failed,
        },
        outcome: failure.is_none().then_some(Outcome::Read),
        error_code: failure.map(|f| f.code.clone()),
        error_message: failure.map(|f| f.message.clone()),
        attempts,
        http_status: None,
        request_id: None,
        elapsed_ms: None,
        observed: None,
        steps: Vec::new(),
        record: csv::StringRecord::new(),
    }
}

#[cfg(test)]
mod tests;
