//! `iambatch export TARGET -o FILE` (docs/contract.md §6): every user of one account with their login state,
//! as a CSV that `run`, `plan` and `verify` take as input. The listing (pages, reads, pacing,
//! retries) is the engine's; this module picks the account, turns each user into a row or leaves
//! them out, and writes the file: streamed to a hidden file beside the output, renamed over it
//! when every page has been read, so a failed export never leaves a partial list that looks whole.

use crate::accounts::{self, AccountKey, AccountPlan, Config, EmulatorTarget};
use crate::cli::ExportArgs;
use crate::commands::scaffold::{self, Interrupt, Scaffold};
use crate::commands::scan::count;
use crate::commands::{Setup, UsageError, exit, session};
use crate::engine::client::AccountClient;
use crate::engine::credentials::Chains;
use crate::engine::directory::Directory;
use crate::engine::listing::{self, Event, ListError, UserReads, UserState};
use crate::input::Column;
use crate::jobs::{Action, ActionKind, Field, Job, LoginState, ProviderKind};
use crate::providers::{
    ActionSpec, Failure, ListedUser, Listing, MfaBinding, Observed, Provider, provider,
};
use crate::report::cells::escape_formula;
use crate::report::progress::{Progress, ProgressMode};
use crate::report::results::sidecar;
use crate::report::writer::{self, Sink};
use crate::report::{Outcome, RowResult, Status};
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Failed users named at the end; the rest are counted.
const FAILURES_SHOWN: usize = 20;

/// Member accounts of a members account exported at once, each with its own pacing.
const MEMBERS_AT_ONCE: usize = 8;

pub async fn export(args: ExportArgs, setup: &Setup<'_>) -> anyhow::Result<u8> {
    let Setup { config, env } = setup;
    let c = &args.connection;
    let overrides = c.accounts.overrides();
    overrides.check_names(config)?;
    let key = target(config, &args.target)?;
    let mut shape = Shape::new(&key, &args)?;
    if let Some((base, _)) = accounts::member_of(config, &key.1) {
        if let Some(filter) = &overrides.accounts_filter {
            return Err(UsageError(format!(
                "export {} names one member already, and --accounts-filter {} limits the members of a members account: drop --accounts-filter, or export {base} with it",
                key.1,
                filter.iter().map(String::as_str).collect::<Vec<_>>().join(",")
            ))
            .into());
        }
        shape = shape.for_member(&key.1);
    }
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
    let target = emulator.as_ref().map(|e| e as &dyn EmulatorTarget);
    let plan = accounts::resolve(config, &overrides, std::slice::from_ref(&key), env, target)?
        .pop()
        .expect("one account asked for, one resolved");
    let http = session::http(c.timeout, c.ca_bundle.as_deref())?;
    let chains = session::chains(&http, c.max_attempts, env);
    let context = Common {
        args: &args,
        shape,
        reads: reads(&args, key.0),
        http,
        chains,
        mode: scaffold::progress_mode(c.no_progress, env)?,
    };
    let code = match plan.directory.is_some() {
        true => {
            let members = Members {
                config,
                overrides: &overrides,
                env: *env,
                target,
            };
            export_members(&context, plan, &members).await?
        }
        false => export_account(&context, plan).await?,
    };
    if let Some(e) = emulator {
        e.shutdown().await;
    }
    Ok(code)
}

/// What every account's export shares.
struct Common<'a> {
    args: &'a ExportArgs,
    shape: Shape,
    reads: Option<UserReads>,
    http: reqwest::Client,
    chains: Chains,
    mode: ProgressMode,
}

/// Each user's reads of a migration export (`--action create-user|ensure-user`).
fn reads(args: &ExportArgs, kind: ProviderKind) -> Option<UserReads> {
    let spec = provider(kind)
        .spec()
        .action(args.action.filter(|a| a.is_lifecycle())?)?;
    Some(UserReads {
        steps: spec.read,
        all_groups: provider(kind).spec().lookups.groups,
    })
}

/// Ctrl-C cancels the listing: nothing is written.
fn interrupt(cancel: &CancellationToken) -> Interrupt {
    Interrupt {
        said: "interrupted: stopping the export",
        then: Box::new({
            let cancel = cancel.clone();
            move || cancel.cancel()
        }),
        again: None,
    }
}

/// One account's users into the output.
async fn export_account(context: &Common<'_>, plan: AccountPlan) -> anyhow::Result<u8> {
    let args = context.args;
    let c = &args.connection;
    let concurrency = plan.concurrency;
    let client = session::connect(plan, &context.http, c.max_attempts, &context.chains)?.client;
    let partial = sidecar(&args.output, "export");
    let cancel = CancellationToken::new();
    let scaffold = Scaffold::start(
        0,
        ["user", "users"],
        context.mode,
        [(client.clone(), 0)],
        interrupt(&cancel),
    );
    let listing = AccountExport {
        client: client.clone(),
        shape: context.shape.clone(),
        reads: context.reads,
        concurrency,
    };
    let exported = listing
        .into_file(&partial, true, scaffold.progress.clone(), cancel)
        .await;
    scaffold.finish().await;
    let counts = match exported {
        Ok(counts) => counts,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Ok(match e {
                Unexported::Interrupted => {
                    eprintln!("interrupted: {} was not written", args.output.display());
                    exit::INTERRUPTED
                }
                Unexported::Write(e) => {
                    eprintln!(
                        "error: cannot write {}: {e:#}; nothing was written",
                        partial.display()
                    );
                    exit::ROWS_NOT_OK
                }
                Unexported::List(e) => {
                    eprintln!(
                        "error: export of account '{}': {e}; {} was not written",
                        client.name,
                        args.output.display()
                    );
                    exit::ROWS_NOT_OK
                }
            });
        }
    };
    std::fs::rename(&partial, &args.output)
        .with_context(|| format!("cannot move the export to {}", args.output.display()))?;
    eprintln!("{}", counts.summary(&args.output));
    eprintln!("{}", counts.account_line());
    Ok(match counts.failed.is_empty() {
        true => exit::OK,
        false => exit::ROWS_NOT_OK,
    })
}

/// What resolving a members account's members takes.
struct Members<'a> {
    config: &'a Config,
    overrides: &'a accounts::Overrides,
    env: &'a dyn Fn(&str) -> Option<String>,
    target: Option<&'a dyn EmulatorTarget>,
}

/// Every active member's users (those `--accounts-filter` names) into one file whose `account`
/// column names the member, `NAME/<id>`. Members are exported a few at a time, each into a file
/// of its own beside the output; when every member is done the files are joined in id order, so
/// the output is grouped by member without holding any member's rows in memory. If any member
/// fails, nothing is written.
async fn export_members(
    context: &Common<'_>,
    org: AccountPlan,
    members: &Members<'_>,
) -> anyhow::Result<u8> {
    let args = context.args;
    let c = &args.connection;
    let cancel = CancellationToken::new();
    let directory = Directory::new(&org, &context.chains)?;
    let listed = match directory.members(&cancel).await {
        Ok(listed) => listed,
        Err(f) => {
            eprintln!(
                "error: members account '{}': {}; {} was not written",
                org.display,
                f.message,
                args.output.display()
            );
            return Ok(exit::ROWS_NOT_OK);
        }
    };
    let (chosen, unknown) = members.overrides.used_members(&listed);
    for id in unknown {
        eprintln!(
            "warning: --accounts-filter names {id}, which is not an active member of '{}' (`iambatch accounts` lists them)",
            org.display
        );
    }
    if chosen.is_empty() {
        eprintln!(
            "error: members account '{}' has no active member to export{}; {} was not written",
            org.display,
            match members.overrides.accounts_filter {
                Some(_) => " among those --accounts-filter names",
                None => "",
            },
            args.output.display()
        );
        return Ok(exit::ROWS_NOT_OK);
    }
    let keys: Vec<AccountKey> = (chosen.iter())
        .map(|m| (org.key.0, format!("{}/{}", org.display, m.id)))
        .collect();
    let plans = accounts::resolve(
        members.config,
        members.overrides,
        &keys,
        members.env,
        members.target,
    )?;
    let accounts = plans
        .into_iter()
        .map(|plan| session::connect(plan, &context.http, c.max_attempts, &context.chains))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let scaffold = Scaffold::start(
        0,
        ["user", "users"],
        context.mode,
        accounts.iter().map(|a| (a.client.clone(), 0)),
        interrupt(&cancel),
    );
    let room = Arc::new(tokio::sync::Semaphore::new(MEMBERS_AT_ONCE));
    let mut tasks = tokio::task::JoinSet::new();
    for (member, account) in chosen.iter().zip(accounts) {
        let part = sidecar(&args.output, &format!("export-{}", member.id));
        let shape = context.shape.for_member(&account.plan.display);
        let (room, reads, progress) = (room.clone(), context.reads, scaffold.progress.clone());
        let cancel = cancel.clone();
        let id = member.id.clone();
        tasks.spawn(async move {
            let _turn = room.acquire_owned().await;
            let listing = AccountExport {
                client: account.client.clone(),
                shape,
                reads,
                concurrency: account.plan.concurrency,
            };
            let exported = listing.into_file(&part, false, progress, cancel).await;
            (id, account.plan, part, exported)
        });
    }
    let mut done = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (id, plan, part, exported) =
            joined.map_err(|e| anyhow::anyhow!("internal error: a member's export failed: {e}"))?;
        done.insert(id, (plan, part, exported));
    }
    scaffold.finish().await;

    let failed: Vec<String> = (done.iter())
        .filter_map(|(_, (plan, _, exported))| match exported {
            Err(Unexported::List(e)) => Some(format!("{}: {e}", plan.display)),
            Err(Unexported::Write(e)) => Some(format!("{}: cannot write: {e:#}", plan.display)),
            _ => None,
        })
        .collect();
    let interrupted = done
        .values()
        .any(|(_, _, e)| matches!(e, Err(Unexported::Interrupted)));
    if interrupted || !failed.is_empty() {
        for (_, part, _) in done.values() {
            let _ = std::fs::remove_file(part);
        }
        if !failed.is_empty() {
            let good: Vec<&str> = (done.iter())
                .filter(|(_, (_, _, e))| e.is_ok())
                .map(|(id, _)| id.as_str())
                .collect();
            eprintln!(
                "error: {} of '{}' could not be exported, so {} was not written:\n  {}\n{}",
                count(failed.len() as u64, "member", "members"),
                org.display,
                args.output.display(),
                failed.join("\n  "),
                match good.as_slice() {
                    [] => "Fix access to them (`iambatch accounts --check` tries each), then export again".to_string(),
                    good => format!(
                        "Fix access to them (`iambatch accounts --check` tries each), or leave them out: --accounts-filter {}",
                        good.join(",")
                    ),
                }
            );
            return Ok(exit::ROWS_NOT_OK);
        }
        eprintln!("interrupted: {} was not written", args.output.display());
        return Ok(exit::INTERRUPTED);
    }

    let partial = sidecar(&args.output, "export");
    let joined = join_parts(
        &partial,
        &context.shape.headers(),
        done.values().map(|(_, part, _)| part.as_path()),
    );
    for (_, part, _) in done.values() {
        let _ = std::fs::remove_file(part);
    }
    if let Err(e) = joined {
        let _ = std::fs::remove_file(&partial);
        eprintln!(
            "error: cannot write {}: {e:#}; nothing was written",
            partial.display()
        );
        return Ok(exit::ROWS_NOT_OK);
    }
    std::fs::rename(&partial, &args.output)
        .with_context(|| format!("cannot move the export to {}", args.output.display()))?;
    let mut total = Counts::default();
    let mut lines = Vec::new();
    for (_, _, exported) in done.into_values() {
        let counts = exported.map_err(|_| anyhow::anyhow!("internal error: a member failed"))?;
        lines.push(counts.account_line());
        total.merge(counts);
    }
    eprintln!(
        "{} (from {})",
        total.summary(&args.output),
        count(lines.len() as u64, "member account", "member accounts")
    );
    for line in lines {
        eprintln!("{line}");
    }
    Ok(match total.failed_count {
        0 => exit::OK,
        _ => exit::ROWS_NOT_OK,
    })
}

/// The header, then each member's rows in turn.
fn join_parts<'a>(
    path: &Path,
    headers: &[&str],
    parts: impl Iterator<Item = &'a Path>,
) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_path(path)?;
    writer.write_record(headers)?;
    let mut file = writer
        .into_inner()
        .map_err(|e| anyhow::anyhow!("{}", e.error()))?;
    for part in parts {
        let mut rows = std::fs::File::open(part)?;
        std::io::copy(&mut rows, &mut file)?;
    }
    file.sync_all()?;
    Ok(())
}

/// Why an account's users were not all listed.
enum Unexported {
    Interrupted,
    Write(anyhow::Error),
    List(ListError),
}

/// One account's users to list, and how each becomes a row.
struct AccountExport {
    client: Arc<AccountClient>,
    shape: Shape,
    reads: Option<UserReads>,
    /// Reads in flight.
    concurrency: usize,
}

impl AccountExport {
    /// Lists the account's users into a new CSV file at `path` (with the header row when
    /// `header`), counting them.
    async fn into_file(
        self,
        path: &Path,
        header: bool,
        progress: Arc<Progress>,
        cancel: CancellationToken,
    ) -> Result<Counts, Unexported> {
        let AccountExport {
            client,
            shape,
            reads,
            concurrency,
        } = self;
        let mut writer = csv::Writer::from_path(path)
            .with_context(|| format!("cannot create {}", path.display()))
            .map_err(Unexported::Write)?;
        if header {
            writer
                .write_record(shape.headers())
                .map_err(|e| Unexported::Write(e.into()))?;
        }
        let kind = shape.provider.spec().kind;
        let (events, received) = mpsc::channel(concurrency * 4 + 16);
        let writing = writer::spawn(
            Users {
                writer,
                counts: Counts {
                    account: shape.account.clone(),
                    mfa_bound: provider(kind).spec().listing.mfa.map(|_| 0),
                    ..Counts::default()
                },
                shape,
                progress,
                account: client.name.clone(),
            },
            received,
        );
        let listed = listing::list(
            client,
            provider(kind).spec().listing,
            reads,
            concurrency,
            cancel,
            events,
        )
        .await;
        let written = writing.join().map_err(|_| {
            Unexported::Write(anyhow::anyhow!("internal error: the export writer stopped"))
        })?;
        match (listed, written) {
            (Ok(()), Ok(counts)) => Ok(counts),
            (Err(ListError::Interrupted), _) => Err(Unexported::Interrupted),
            (_, Err(e)) => Err(Unexported::Write(e.into())),
            (Err(e), _) => Err(Unexported::List(e)),
        }
    }
}

/// TARGET: an account of the config file, else a provider's default account.
fn target(config: &Config, target: &str) -> Result<AccountKey, UsageError> {
    if let Some(account) = config.accounts.get(target) {
        return Ok((account.provider, target.to_string()));
    }
    if let Some((base, _)) = accounts::member_of(config, target) {
        return Ok((config.accounts[base].provider, target.to_string()));
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
#[derive(Clone)]
struct Shape {
    provider: &'static dyn Provider,
    /// The account cell: the config name, empty for the default account.
    account: String,
    /// The account is a member of a members account (`NAME/<id>`): a migration file names it
    /// too, since no `--account` can stand for many members.
    member: bool,
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
            member: false,
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

    /// The shape of member `account` (`NAME/<id>`) of the members account it was made for.
    fn for_member(&self, account: &str) -> Shape {
        Shape {
            account: account.to_string(),
            member: true,
            ..self.clone()
        }
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
    /// an empty account cell for `run --account` (a member's own, `NAME/<id>`).
    fn migration_row(
        &self,
        spec: &ActionSpec,
        user: &ListedUser,
        observed: &Observed,
    ) -> Vec<String> {
        let state = &observed.state;
        let mut row = vec![
            self.provider.spec().kind.name().to_string(),
            match self.member {
                true => self.account.clone(),
                false => String::new(),
            },
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
    /// `account 'NAME': N console users, M with MFA required[, K with a bound MFA device]`.
    fn account_line(&self) -> String {
        format!(
            "account {}: {}, {} with MFA required{}",
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
        )
    }

    /// Adds another account's counts to these.
    fn merge(&mut self, other: Counts) {
        self.written += other.written;
        self.no_console += other.no_console;
        self.has_mfa += other.has_mfa;
        self.bound += other.bound;
        self.console += other.console;
        self.mfa_required += other.mfa_required;
        self.mfa_bound = match (self.mfa_bound, other.mfa_bound) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        let room = FAILURES_SHOWN.saturating_sub(self.failed.len());
        self.failed.extend(
            (other.failed.into_iter().take(room)).map(|f| format!("{}: {f}", other.account)),
        );
        self.failed_count += other.failed_count;
    }

    /// What was written and left out, and the users that could not be read.
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
