//! What every command that talks to providers sets up the same way: the command-line overrides, the
//! in-process emulator of `--emulator`, the shared HTTP client and one client per account.

use crate::accounts::AccountPlan;
use crate::emulator::{Emulator, EmulatorConfig};
use crate::engine::backoff::Backoff;
use crate::engine::client::{AccountClient, RetryPolicy, http_client};
use crate::engine::pacer::Pacer;
use crate::engine::pipeline::Account;
use crate::providers::AccountSpec;
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

/// The account's client: its provider connected, its pacer at its rate.
pub fn connect(
    plan: AccountPlan,
    http: &reqwest::Client,
    max_attempts: u32,
) -> anyhow::Result<Account> {
    let api = plan.provider.connect(&AccountSpec {
        name: &plan.display,
        endpoint: &plan.endpoint,
        keys: &plan.keys,
        services: &plan.services,
    })?;
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
    let client = AccountClient::new(
        plan.display.clone(),
        api,
        http.clone(),
        Pacer::new(plan.rate),
        policy,
    );
    Ok(Account {
        plan,
        client: Arc::new(client),
    })
}
