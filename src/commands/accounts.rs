//! `iambatch accounts [INPUT]`: what each account resolves to (provider, endpoint, credential
//! source, rate, concurrency), never a credential value (docs/contract.md §4, §7). With INPUT, the accounts its
//! valid rows use; without, every provider's default account and every account of the config file.
//! A chained account shows its chain (`prod ← hq (...)`). `--check` proves each usable account's
//! access: its temporary credentials when chained, then one page of its users.

use crate::accounts::{self, AccountKey, AccountPlan, EmulatorTarget};
use crate::cli::{AccountsArgs, InputArgs};
use crate::commands::scan::count;
use crate::commands::session;
use crate::commands::validate::input_options;
use crate::commands::{Setup, exit, scan::scan};
use crate::engine::credentials::Chains;
use crate::engine::directory::Directory;
use crate::input::{InputFile, InputOptions};
use crate::jobs::ProviderKind;
use crate::providers::{Member, Op, Verdict};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use url::Url;

/// One line of the table.
struct Line {
    account: String,
    provider: ProviderKind,
    /// The plan, when the account resolved.
    plan: Option<AccountPlan>,
    /// Why it cannot be used.
    problem: Option<String>,
    /// A default account with no credentials anywhere: only a problem when a file needs it.
    unconfigured: bool,
}

pub async fn accounts(args: AccountsArgs, setup: &Setup<'_>) -> anyhow::Result<u8> {
    let Setup { config, env } = setup;
    let overrides = args.accounts.overrides();
    overrides.check_names(config)?;
    let needed: BTreeSet<AccountKey> = match &args.input {
        Some(path) => {
            let input = InputArgs {
                input: path.clone(),
                provider: args.provider,
                action: args.action,
                account: None,
                delimiter: args.delimiter,
                secrets_out: None,
            };
            // Only the accounts are read here: a generated password needs no secrets file.
            let options = InputOptions {
                secrets_out: true,
                ..input_options(&input, config)
            };
            let file = InputFile::open(path, options)?;
            let scanned = scan(&file, |_| {})?;
            if scanned.invalid_rows > 0 {
                eprintln!(
                    "note: {}: {} (left out here; `iambatch validate` lists them)",
                    path.display(),
                    scanned.problems()
                );
            }
            scanned.accounts
        }
        None => ProviderKind::ALL
            .iter()
            .map(|k| (*k, String::new()))
            .chain(
                config
                    .accounts
                    .iter()
                    .map(|(name, a)| (a.provider, name.clone())),
            )
            .collect(),
    };

    let emulator = match args.emulator {
        true => Some(session::start_emulator().await?),
        false => None,
    };
    let target = emulator.as_ref().map(|e| e as &dyn EmulatorTarget);
    let lines: Vec<Line> = needed
        .iter()
        .map(|key| line(config, &overrides, key, env, target))
        .collect();
    print!("{}", table(&lines));
    let mut failed = false;
    for l in &lines {
        if let Some(problem) = &l.problem {
            let fatal = args.input.is_some() || !l.unconfigured;
            failed |= fatal;
            let label = if fatal { "error" } else { "note" };
            eprintln!("{label}: {problem}");
        }
    }
    if failed {
        return Ok(exit::USAGE);
    }
    let http = session::http(args.timeout, args.ca_bundle.as_deref())?;
    let chains = session::chains(&http, CHECK_ATTEMPTS, env);
    let cancel = CancellationToken::new();
    // Each members account's members, listed with its source's credentials only.
    let mut members = Vec::new();
    let mut every = Vec::new();
    let mut all_ok = true;
    for l in &lines {
        let Some(org) = l.plan.as_ref().filter(|p| p.directory.is_some()) else {
            continue;
        };
        let directory = Directory::new(org, &chains)?;
        match directory.members(&cancel).await {
            Ok(listed) => {
                print!("{}", members_table(org, &listed, &overrides));
                let (used, _) = overrides.used_members(&listed);
                let used =
                    (used.into_iter()).map(|m| (org.key.0, format!("{}/{}", org.display, m.id)));
                members.extend(used);
                every.extend(listed);
            }
            Err(f) => {
                all_ok = false;
                eprintln!("error: members account '{}': {}", org.display, f.message);
            }
        }
    }
    if all_ok {
        for id in overrides.used_members(&every).1 {
            eprintln!(
                "warning: --accounts-filter names {id}, which is not an active member of any members account"
            );
        }
    }
    if args.check {
        let mut plans: Vec<AccountPlan> = lines
            .into_iter()
            .filter(|l| l.problem.is_none())
            .filter_map(|l| l.plan)
            .filter(|p| p.directory.is_none())
            .collect();
        for key in &members {
            match accounts::resolve_account(config, &overrides, key, env, target) {
                Ok(plan) => plans.push(plan),
                Err(e) => {
                    all_ok = false;
                    println!("check {}: failed: {e}", key.1);
                }
            }
        }
        all_ok &= check(plans, &http, &chains).await?;
    }
    if let Some(e) = emulator {
        e.shutdown().await;
    }
    Ok(match all_ok {
        true => exit::OK,
        false => exit::ROWS_NOT_OK,
    })
}

/// Attempts of each request of `--check`: a transient failure should not fail the check.
const CHECK_ATTEMPTS: u32 = 3;
/// Accounts checked at once.
const CHECKS_AT_ONCE: usize = 8;

/// One line per account, in the order given: `ok` or `failed` and why. Whether all were ok.
async fn check(
    plans: Vec<AccountPlan>,
    http: &reqwest::Client,
    chains: &Chains,
) -> anyhow::Result<bool> {
    let cancel = CancellationToken::new();
    let room = Arc::new(tokio::sync::Semaphore::new(CHECKS_AT_ONCE));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, plan) in plans.into_iter().enumerate() {
        let name = plan.display.clone();
        let client = session::connect(plan, http, CHECK_ATTEMPTS, chains)?.client;
        let (room, cancel) = (room.clone(), cancel.clone());
        tasks.spawn(async move {
            let _turn = room.acquire_owned().await;
            let report = client.call(&Op::ListUsers { page: None }, &cancel).await;
            let sts = match client.credential_requests() {
                0 => String::new(),
                n => format!("{n} temporary-credential request(s), "),
            };
            let (ok, said) = match report.result {
                Ok(Verdict::Users(_)) => (true, format!("ok ({sts}a page of its users read)")),
                Ok(other) => (false, format!("failed: unexpected reply {other:?}")),
                Err(f) => (false, format!("failed: {} {}", f.code, f.message)),
            };
            (i, ok, format!("check {name}: {said}"))
        });
    }
    let mut said = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, ok, line) = joined.map_err(|e| anyhow::anyhow!("internal error: {e}"))?;
        said.insert(i, (ok, line));
    }
    let mut all_ok = true;
    for (ok, line) in said.into_values() {
        all_ok &= ok;
        println!("{line}");
    }
    Ok(all_ok)
}

/// A members account's members: each as rows name it, its name and status, and whether runs
/// work in it (active, and named by `--accounts-filter` if given).
fn members_table(org: &AccountPlan, listed: &[Member], overrides: &accounts::Overrides) -> String {
    let source = org
        .chain
        .as_ref()
        .map_or("?", |c| c.source.display.as_str());
    let mut out = format!(
        "\nmembers of '{}': {} listed at {} with the credentials of '{source}'\n",
        org.display,
        count(listed.len() as u64, "account", "accounts"),
        org.directory.as_ref().map_or(String::new(), Url::to_string),
    );
    let rows: Vec<[String; 4]> = listed
        .iter()
        .map(|m| {
            let used = match (m.active, overrides.allows(&m.id)) {
                (true, true) => "used",
                (true, false) => "not in --accounts-filter",
                (false, _) => "not active",
            };
            [
                format!("{}/{}", org.display, m.id),
                m.name.clone(),
                m.status.clone(),
                used.to_string(),
            ]
        })
        .collect();
    out.push_str(&aligned(&["ACCOUNT", "NAME", "STATUS", "USED"], &rows));
    out
}

fn line(
    config: &accounts::Config,
    overrides: &accounts::Overrides,
    key: &AccountKey,
    env: &dyn Fn(&str) -> Option<String>,
    emulator: Option<&dyn EmulatorTarget>,
) -> Line {
    let (provider, name) = key;
    let account = if name.is_empty() {
        provider.name().to_string()
    } else {
        name.clone()
    };
    let mut line = Line {
        account,
        provider: *provider,
        plan: None,
        problem: None,
        unconfigured: false,
    };
    match accounts::resolve_account(config, overrides, key, env, emulator) {
        Err(e) => line.problem = Some(e.to_string()),
        Ok(plan) => {
            // Connecting is pure: it checks the credentials are complete without sending anything.
            if let Err(e) = plan.check() {
                line.unconfigured = name.is_empty() && plan.keys.0.is_empty();
                line.problem = Some(e.to_string());
            }
            line.plan = Some(plan);
        }
    }
    line
}

/// Aligned columns; the credential source last, as it is the longest.
fn table(lines: &[Line]) -> String {
    let header = [
        "ACCOUNT",
        "PROVIDER",
        "STATUS",
        "ENDPOINT",
        "RATE",
        "CONCURRENCY",
        "CREDENTIALS",
    ];
    let rows: Vec<[String; 7]> = lines
        .iter()
        .map(|l| {
            let status = match (&l.problem, l.unconfigured) {
                (None, _) => "ready",
                (Some(_), true) => "no credentials",
                (Some(_), false) => "error",
            };
            let (endpoint, rate, concurrency, source) = match &l.plan {
                Some(p) => (
                    p.endpoint.to_string(),
                    p.rate
                        .map(|r| format!("{r}/s"))
                        .unwrap_or_else(|| "unlimited".into()),
                    p.concurrency.to_string(),
                    p.credential_source.clone(),
                ),
                None => ("-".into(), "-".into(), "-".into(), "-".into()),
            };
            [
                l.account.clone(),
                l.provider.name().to_string(),
                status.to_string(),
                endpoint,
                rate,
                concurrency,
                source,
            ]
        })
        .collect();
    aligned(&header, &rows)
}

/// Columns padded to their widest cell; the last left as it is.
fn aligned<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = header.map(String::from);
    for row in std::iter::once(&header).chain(rows) {
        let mut text = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}
