//! `iambatch accounts [INPUT]`: what each account resolves to (provider, endpoint, credential
//! source, rate, concurrency), never a credential value (docs/contract.md §4, §7). With INPUT, the accounts its
//! valid rows use; without, every provider's default account and every account of the config file.

use crate::accounts::{self, AccountKey, AccountPlan};
use crate::cli::{AccountsArgs, InputArgs};
use crate::commands::validate::input_options;
use crate::commands::{Setup, exit, scan::scan};
use crate::input::{InputFile, InputOptions};
use crate::jobs::ProviderKind;
use crate::providers::AccountSpec;
use std::collections::BTreeSet;
use std::fmt::Write;

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

pub fn accounts(args: AccountsArgs, setup: &Setup<'_>) -> anyhow::Result<u8> {
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

    let lines: Vec<Line> = needed
        .iter()
        .map(|key| line(config, &overrides, key, env))
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
    Ok(if failed { exit::USAGE } else { exit::OK })
}

fn line(
    config: &accounts::Config,
    overrides: &accounts::Overrides,
    key: &AccountKey,
    env: &dyn Fn(&str) -> Option<String>,
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
    match accounts::resolve_account(config, overrides, key, env, None) {
        Err(e) => line.problem = Some(e.to_string()),
        Ok(plan) => {
            // Connecting is pure: it checks the credentials are complete without sending anything.
            if let Err(e) = plan.provider.connect(&AccountSpec {
                name: &plan.display,
                endpoint: &plan.endpoint,
                keys: &plan.keys,
                services: &plan.services,
            }) {
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
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = header.map(String::from);
    for row in std::iter::once(&header).chain(&rows) {
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
