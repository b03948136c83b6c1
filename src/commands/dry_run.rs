//! `run --dry-run`: validates the file and resolves the accounts like `run`, then prints, per row,
//! the requests `run` would send, built by the providers' own signers with one fixed stamp and
//! masked (secrets as `***`). Nothing is sent and nothing is written.

use crate::cli::SessionArgs;
use crate::commands::run::prepare;
use crate::commands::{Setup, exit};
use crate::engine::execute::{ExecOptions, requests};
use crate::input::{RawRow, Validator};
use crate::providers::{AccountSpec, Api, Stamp, provider};
use crate::report::masked::Masker;
use crate::secret::Secret;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

/// One account's signer, its placeholder token and the secrets to mask.
struct Signer {
    api: Arc<dyn Api>,
    token: Option<Secret>,
    secrets: Vec<Secret>,
}

/// Stands for the token of a token-authenticated account (never fetched: it would be a request).
const TOKEN_PLACEHOLDER: &str = "(token)";

pub async fn dry_run(
    args: &SessionArgs,
    options: &ExecOptions,
    setup: &Setup<'_>,
) -> anyhow::Result<u8> {
    let prepared = prepare(args, options.mode, setup).await?;
    let stamp = Stamp {
        time: time::OffsetDateTime::now_utc(),
        nonce: "00000000-0000-0000-0000-000000000000".into(),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut accounts = BTreeMap::new();
    for org in &prepared.directories {
        writeln!(
            out,
            "account {}: whether each member is an active one is not checked (listing its directory would be a request); run checks it before sending",
            org.display
        )?;
    }
    for plan in &prepared.plans {
        // Its requests are signed with temporary credentials a dry run never asks for.
        if plan.chain.is_some() {
            writeln!(
                out,
                "account {}: signed with temporary credentials ({}); its requests are not shown",
                plan.display, plan.credential_source
            )?;
            continue;
        }
        let api = plan.provider.connect(&AccountSpec {
            name: &plan.display,
            endpoint: &plan.endpoint,
            keys: &plan.keys,
            services: &plan.services,
        })?;
        let secrets: Vec<Secret> = plan
            .provider
            .spec()
            .secret_keys
            .iter()
            .filter_map(|k| plan.keys.get(k).cloned())
            .collect();
        let token = match api.token_request(&stamp) {
            Some(request) => {
                let masker = Masker::new(secrets.iter().cloned());
                writeln!(
                    out,
                    "account {}: first a token request\n  {}",
                    plan.display,
                    masker.render(&request)
                )?;
                Some(Secret::new(TOKEN_PLACEHOLDER))
            }
            None => None,
        };
        accounts.insert(
            plan.key.clone(),
            Signer {
                api,
                token,
                secrets,
            },
        );
    }

    let mut validator = Validator::new(&prepared.file);
    let mut rows = prepared.file.rows()?;
    let mut raw = RawRow::new();
    while rows.read(&mut raw)? {
        let job = match validator.check(&raw) {
            Ok(job) => job,
            // Only with --skip-invalid: `prepare` refuses a file with problems otherwise.
            Err(_) => {
                writeln!(out, "line {}: invalid, not sent", raw.line)?;
                continue;
            }
        };
        let key = (job.provider, job.account.clone());
        if let Some(withheld) = prepared.withheld.get(&key) {
            writeln!(out, "line {}: {}", job.line, withheld.message)?;
            continue;
        }
        let Some(Signer {
            api,
            token,
            secrets,
        }) = accounts.get(&key)
        else {
            writeln!(
                out,
                "line {}: {} {} {} (signed with temporary credentials: not shown)",
                job.line,
                job.provider,
                job.action,
                job.user_key()
            )?;
            continue;
        };
        writeln!(
            out,
            "line {}: {} {} {}",
            job.line,
            job.provider,
            job.action,
            job.user_key()
        )?;
        let masker = Masker::new(secrets.iter().chain(&job.password).cloned());
        let mut written = Ok(());
        requests(&job, provider(job.provider), options, |op, note| {
            let request = api.build(op, &stamp, token.as_ref());
            let note = note.map(|n| format!("({n})\n  ")).unwrap_or_default();
            if written.is_ok() {
                written = write!(out, "  {note}{}", masker.render(&request));
            }
        });
        written?;
    }
    out.flush()?;
    drop(out);
    eprintln!("dry run: nothing was sent");
    if let Some(e) = prepared.emulator {
        e.shutdown().await;
    }
    Ok(exit::OK)
}
