//! What every command that talks to providers sets up the same way: the command-line overrides, the
//! in-process emulator of `--emulator`, the shared HTTP client and one client per account.

use crate::accounts::AccountPlan;
use crate::emulator::{Emulator, EmulatorConfig};
use crate::engine::backoff::Backoff;
use crate::engine::client::{AccountClient, RetryPolicy, http_client};
use crate::engine::credentials::Chains;
use crate::engine::pacer::Pacer;
use crate::engine::pipeline::Account;
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The emulator of `--emulator`, with its demo users, its endpoints said on stderr.
pub async fn start_emulator() -> anyhow::Result<Emulator> {
    let e = Emulator::start(EmulatorConfig::default())
        .await
        .context("cannot start the emulator")?;
    e.seed_demo()
        .map_err(|m| anyhow::anyhow!("cannot load the emulator's demo users: {m}"))?;
    eprintln!("using the built-in emulator: {}", e.endpoints_json());
    Ok(e)
}

/// The HTTP client every account shares, trusting `--ca-bundle` too.
pub fn http(timeout_secs: u64, ca_bundle: Option<&Path>) -> anyhow::Result<reqwest::Client> {
    let ca_bundle = match ca_bundle {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read the CA bundle {}", path.display()))?,
        ),
        None => None,
    };
    http_client(Duration::from_secs(timeout_secs), ca_bundle.as_deref())
        .context("cannot set up HTTPS (check --ca-bundle)")
}

/// What connects a run's accounts: the shared HTTP client, and the temporary credentials of
/// chained accounts, their session named after the local user (`USER`, `LOGNAME` or `USERNAME`).
pub fn chains(
    http: &reqwest::Client,
    max_attempts: u32,
    env: &dyn Fn(&str) -> Option<String>,
) -> Chains {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| env(v).filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    Chains::new(http.clone(), &user, max_attempts)
}

/// The account's client: its provider connected, its pacer at its rate.
pub fn connect(
    plan: AccountPlan,
    http: &reqwest::Client,
    max_attempts: u32,
    chains: &Chains,
) -> anyhow::Result<Account> {
    let credentials = chains.credentials(&plan)?;
    tracing::info!(
        account = %plan.display,
        endpoint = %plan.endpoint,
        credentials = %plan.credential_source,
        rate = ?plan.rate,
        concurrency = plan.concurrency,
        "account ready"
    );
    let policy = RetryPolicy {
        max_attempts,
        backoff: Backoff::default(),
    };
    let client = AccountClient::with_credentials(
        plan.display.clone(),
        credentials,
        http.clone(),
        Pacer::new(plan.rate),
        policy,
    );
    Ok(Account {
        plan,
        client: Arc::new(client),
    })
}
