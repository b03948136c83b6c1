//! The local emulator (docs/contract.md §8): each provider's API on its own `127.0.0.1` port, with the real wire
//! formats, signature checks, replay protection and state, plus knobs for rate limits, faults,
//! dropped replies and latency. Tests, benchmarks and `--emulator` use it; nothing leaves the host.
//!
//! # Every port
//! - the provider's API (every path not below);
//! - `GET /_emulator/state`: the state of every provider, `{"aliyun": {...}, ...}`; passwords only as
//!   `password_hash` (a random salt per password and SHA-256 over salt and password), and per user
//!   a counter of writes applied (aliyun `creates`, ucloud `updates`);
//! - `POST /_emulator/password` with `{"user", "password", "account"}`: `{"matches": true | false |
//!   null}`, whether that user of this port's provider has that password (`account`, optional: the
//!   id of the account the user is in, default the main account; `null`: no such account or user,
//!   or no password);
//! - `POST /_emulator/state`: a patch `{"aliyun": <patch>}` that changes state directly, for verify
//!   tests; each provider documents its patch in its module doc (`aliyun.rs`, `ucloud.rs`,
//!   `huawei.rs`). Answers the new state, or 400 `{"error": ..}`;
//! - `GET /_emulator/requests`: the request log, JSON lines (the most recent 20,000 lines; the
//!   file, if configured, has them all);
//! - `GET|POST /_emulator/knobs`: `{"rate":..,"rate_shape":..,"burst":..,"fault_rate":..,
//!   "drop_rate":..,"latency_ms":..}`; a POST changes any subset at run time (`"rate": null` lifts
//!   the limit) and answers the result.
//!
//! # What happens to an API request
//! The latency knob, then the provider authenticates it (refused: `rejected`). An admitted request
//! counts against its account's rate, per access key (`knobs::Limiter`): by default a sliding
//! window, at most `max(1, ⌊rate⌋)` admitted requests in any `max(1 s, 1/rate)`; with `rate_shape`
//! `bucket`, a token bucket of `burst` tokens refilled at `rate` per second. Over it, the provider's
//! throttling reply (`throttled`). Then the seeded dice: a fault (the provider's reply to a
//! transient server failure, nothing applied: a 5xx, or UCloud's RetCode 150) with probability
//! `fault_rate`; otherwise the action runs, and a write is `dropped` with probability `drop_rate`:
//! applied, then its connection closed with no response bytes, whatever the reply would have been.
//! Each request seen is one log line,
//! `{"time","provider","account","account_id","action","user","status","code","outcome"}`:
//! `account` the key (or token user) the request claims, `account_id` the id of the account whose
//! directory it acted on (empty if it was not authenticated), `time` when it arrived
//! (before it was checked, the moment the rate limit counts), in Unix
//! seconds, `outcome` one of `ok` (the action ran, whatever its reply), `throttled`, `fault`,
//! `dropped` (`status`/`code` are those withheld), `rejected`.
//!
//! # Users file
//! JSON keyed by provider, each a list of users as that provider reads them (aliyun: user principal
//! names; ucloud: user names; huawei: IAM user names, ids are derived from them):
//! `{"aliyun": ["alice@corp.onaliyun.com"], "ucloud": ["bob"], "huawei": ["carol"]}`. Users exist only
//! if the users file, the demo set ([`Emulator::seed_demo`], `demo.json`), a state patch or the
//! provider's own create request made them (aliyun `CreateUser`, in the account's default domain,
//! `EmulatorConfig::aliyun_default_domain`; ucloud `CreateUser`; huawei `POST
//! /v3.0/OS-USER/users`), as in a real account: any other user is the provider's "not found" on
//! every API (aliyun 404 `EntityNotExist.User`, ucloud RetCode 11021, huawei an empty list by name
//! and 404 `IAM.0004` by id).
//!
//! # Accounts
//! Each emulated cloud (aliyun and huawei; ucloud has one account) holds its main account, the one
//! the built-in keys and `EmulatorConfig::accounts` belong to, and any number of other accounts, the
//! members of its organisation, declared by a state patch's `"accounts"` (`{"<account id>": {"name",
//! "status", "join_method", <the provider's patch of that account's users>}}`, documented in
//! `aliyun.rs` and `huawei.rs`; names unique; a patch applies whole or not at all). Each has its own users, groups, login profiles, MFA devices (aliyun: recycle bin
//! and default domain). A request acts on the account its credentials belong to, as in a real
//! cloud: the main account for permanent keys and password tokens, the role's or agency's account
//! for what STS or an agency issued (`account::Account`, one type for every provider). A role or
//! agency of an account the emulator does not know, or of a member whose status is not an active
//! one, is refused as unknown. The state lists the other accounts under `"accounts"`, each in its
//! provider's state shape plus `name`, `status` and `join_method`.
//! Aliyun's Resource Directory `ListAccounts` and Huawei's Organizations `ListAccounts` list them,
//! for the main account's credentials only.
//!
//! # Temporary credentials
//! A state patch registers temporary keys with the security token issued with each
//! (`"temporary_keys": {"<key id>": {"secret", "security_token", "expires_at"}}`, every provider):
//! a request with a temporary key is accepted only with that token, and a token the emulator never
//! issued is refused with the provider's own reply.
//!
//! # Adding a provider
//! 1. Write `emulator/<provider>.rs` (`aliyun.rs` is the model) with a type implementing
//!    `service::Service`:
//!    - `new`: accept the module's built-in test credentials (the ones the provider's
//!      `emulator_keys()` configures for `--emulator`) plus `Setup::accounts`, and the users of
//!      `Setup::users`;
//!    - `admit`: route by `Incoming::path` / `method` (the whole port is yours), then authenticate
//!      the request as received with the emulator's own canonicalisation (`<provider>/verify.rs`,
//!      written from the provider's documentation and tested against its published vectors; never
//!      the client's signer), `account::Account` for keys, security tokens and the users' lock,
//!      `replay::fresh` for timestamps and `replay::Nonces` for nonces. Fill `Meta`: `account` is
//!      the rate-limit key, `write` makes the request droppable;
//!    - `apply`: run the action against the users under `Account::lock`; API errors are
//!      ordinary replies;
//!    - `throttled`, `fault`: the provider's own throttling and 5xx replies;
//!    - `state`, `tamper`, `has_password`: the state as JSON (`Account::state`; passwords as
//!      `service::PasswordHash`, a console login profile as `login::Login`, a `creates` counter
//!      per user if the provider has creates), a documented patch format (`Account::tamper` reads
//!      `users` and `temporary_keys`), and the password check tests use instead of reading hashes.
//! 2. Add `mod <provider>;` and one line `mount::<provider::Type>(setup)?,` in `emulated`.
//! 3. Test over HTTP like `tests.rs` (`testing.rs` starts the emulator with users and reads
//!    answers): sign with test-side code built on the module's `verify.rs` (itself pinned to the
//!    published vectors), never with the client's signer.
//!
//! The rate limit, faults, drops, latency, log, ports and control endpoints then apply unchanged.

mod account;
mod aliyun;
mod canon;
mod huawei;
mod knobs;
mod log;
mod login;
mod membership;
mod mfa;
mod params;
mod replay;
mod server;
mod service;
mod sts;
mod temporary;
#[cfg(test)]
mod testing;
mod ucloud;

pub use huawei::{
    DOMAIN_NAME as HUAWEI_DOMAIN_NAME, IAM_PASSWORD as HUAWEI_IAM_PASSWORD,
    IAM_USER as HUAWEI_IAM_USER,
};
pub use knobs::{DEFAULT_BURST, KnobChange, Knobs, RateShape};
pub use temporary::{ISSUED_SECRET_PREFIX, ISSUED_TOKEN_PREFIX};

use crate::jobs::ProviderKind;
use crate::secret::Secret;
use serde_json::Value;
use server::{Core, Mounted};
use service::{Service, Setup};
use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The emulated providers, in port order. Adding one is a module and one line here.
fn emulated(setup: &mut dyn FnMut(ProviderKind) -> Setup) -> Result<Vec<Arc<dyn Mounted>>, String> {
    Ok(vec![
        mount::<aliyun::Ims>(setup)?,
        mount::<huawei::Iam>(setup)?,
        mount::<ucloud::Iam>(setup)?,
    ])
}

fn mount<S: Service>(
    setup: &mut dyn FnMut(ProviderKind) -> Setup,
) -> Result<Arc<dyn Mounted>, String> {
    let service = S::new(setup(S::KIND)).map_err(|e| format!("{}: {e}", S::KIND))?;
    Ok(Arc::new(service))
}

/// The default domain of the emulated Alibaba account: the demo set's and the onboarding
/// sample's new users are in it.
pub const DEFAULT_ALIYUN_DOMAIN: &str = "finance.onaliyun.com";

/// Huawei tokens live 24 hours.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// How to start the emulator.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Seeds the dice of faults and drops.
    pub seed: u64,
    /// The knobs to start with (rate per account, faults, drops, latency); `POST /_emulator/knobs`
    /// changes them while it runs.
    pub knobs: Knobs,
    /// The users file (module doc); `None` = no users but those the demo set or patches add.
    pub users: Option<PathBuf>,
    /// Where to write the request log as JSON lines (truncated first); it is kept in memory anyway.
    pub request_log: Option<PathBuf>,
    /// Credentials accepted besides each provider's `emulator_keys()`: (provider, key id, secret).
    pub accounts: Vec<(ProviderKind, String, Secret)>,
    /// Fixed ports by provider; missing or 0 = chosen by the OS.
    pub ports: BTreeMap<ProviderKind, u16>,
    /// How long tokens live (huawei token auth); shorten it to see tokens expire during a run.
    pub token_ttl: Duration,
    /// Serve HTTPS with this certificate instead of plain HTTP (tests of `--ca-bundle`).
    pub tls: Option<TlsIdentity>,
    /// The Alibaba account's default domain (`<alias>.onaliyun.com`): what GetDefaultDomain
    /// answers and the suffix CreateUser requires. Two emulators with two domains are two accounts
    /// to migrate between.
    pub aliyun_default_domain: String,
}

/// A certificate chain and its private key, PEM. The certificate must name `127.0.0.1`.
#[derive(Clone, Debug)]
pub struct TlsIdentity {
    pub cert_pem: String,
    pub key_pem: Secret,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            seed: 0,
            knobs: Knobs::default(),
            users: None,
            request_log: None,
            accounts: Vec::new(),
            ports: BTreeMap::new(),
            token_ttl: DEFAULT_TOKEN_TTL,
            tls: None,
            aliyun_default_domain: DEFAULT_ALIYUN_DOMAIN.to_string(),
        }
    }
}

impl EmulatorConfig {
    /// The defaults but for the knobs.
    pub fn with_knobs(knobs: Knobs) -> EmulatorConfig {
        EmulatorConfig {
            knobs,
            ..EmulatorConfig::default()
        }
    }
}

/// A running emulator. Stops on [`Emulator::shutdown`] or when dropped.
pub struct Emulator {
    core: Arc<Core>,
    /// `https` when serving TLS.
    scheme: &'static str,
    endpoints: Vec<(ProviderKind, SocketAddr)>,
    stop: CancellationToken,
    servers: Vec<JoinHandle<()>>,
}

impl Emulator {
    /// Binds every provider's port and starts serving (on the current tokio runtime).
    pub async fn start(config: EmulatorConfig) -> io::Result<Emulator> {
        let knobs = KnobChange::default()
            .applied_to(config.knobs)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut users = match &config.users {
            Some(path) => read_users(path)?,
            None => BTreeMap::new(),
        };
        let now = OffsetDateTime::now_utc();
        let mut setup = |kind: ProviderKind| Setup {
            users: users.remove(&kind).unwrap_or_default(),
            accounts: config
                .accounts
                .iter()
                .filter(|(k, _, _)| *k == kind)
                .map(|(_, id, secret)| (id.clone(), secret.clone()))
                .collect(),
            now,
            token_ttl: config.token_ttl,
            aliyun_default_domain: config.aliyun_default_domain.clone(),
        };
        let providers =
            emulated(&mut setup).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let log = log::RequestLog::open(config.request_log.as_deref())?;
        let core = Arc::new(Core::new(knobs, config.seed, log, providers));

        let tls = match &config.tls {
            Some(t) => Some(server::tls_acceptor(&t.cert_pem, t.key_pem.expose())?),
            None => None,
        };
        let stop = CancellationToken::new();
        let mut endpoints = Vec::new();
        let mut servers = Vec::new();
        for provider in &core.providers {
            let kind = provider.kind();
            let port = config.ports.get(&kind).copied().unwrap_or(0);
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("{kind} port {port}: {e}")))?;
            endpoints.push((kind, listener.local_addr()?));
            let app = server::app(provider.clone(), core.clone());
            servers.push(tokio::spawn(server::serve(
                listener,
                app,
                stop.clone(),
                tls.clone(),
            )));
        }
        Ok(Emulator {
            core,
            scheme: if tls.is_some() { "https" } else { "http" },
            endpoints,
            stop,
            servers,
        })
    }

    /// The base URL of a provider's API, e.g. `http://127.0.0.1:41234/` (`https` with TLS).
    ///
    /// # Panics
    /// If the emulator does not serve `kind`.
    pub fn endpoint(&self, kind: ProviderKind) -> url::Url {
        let addr = self
            .endpoints
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, addr)| addr)
            .unwrap_or_else(|| panic!("the emulator does not serve {kind}"));
        url::Url::parse(&format!("{}://{addr}", self.scheme)).expect("a socket address makes a URL")
    }

    /// The providers served, in port order.
    pub fn providers(&self) -> Vec<ProviderKind> {
        self.endpoints.iter().map(|(kind, _)| *kind).collect()
    }

    /// One JSON line, `{"aliyun":"http://127.0.0.1:41234",...}`, for the providers served.
    pub fn endpoints_json(&self) -> String {
        let map: serde_json::Map<String, Value> = self
            .endpoints
            .iter()
            .map(|(kind, addr)| {
                let url = format!("{}://{addr}", self.scheme);
                (kind.name().to_string(), url.into())
            })
            .collect();
        Value::Object(map).to_string()
    }

    /// The full state, as `GET /_emulator/state` serves it.
    pub fn state(&self) -> Value {
        self.core.state()
    }

    /// Whether `user` (as the provider names users) has the login password `password`, as
    /// `POST /_emulator/password` answers; `None` if the user or its password does not exist. The
    /// state keeps only salted hashes, so this is how tests check a password.
    pub fn has_password(&self, kind: ProviderKind, user: &str, password: &str) -> Option<bool> {
        self.core.has_password(kind, None, user, password)
    }

    /// [`Emulator::has_password`] for a user of the account `account` (an id of the patch's
    /// `accounts`, or the main account's).
    pub fn has_password_in(
        &self,
        kind: ProviderKind,
        account: &str,
        user: &str,
        password: &str,
    ) -> Option<bool> {
        self.core.has_password(kind, Some(account), user, password)
    }

    /// Changes state directly, as `POST /_emulator/state` does.
    pub fn tamper(&self, patch: &Value) -> Result<(), String> {
        self.core.tamper(patch)
    }

    /// Loads the demo users of [`demo.json`](demo.json) for the providers served: some with a console
    /// login without MFA, some with MFA, some without console login. `--emulator` runs start with them,
    /// so the samples' MFA enforcement and export have users to work on.
    pub fn seed_demo(&self) -> Result<(), String> {
        let demo: Value =
            serde_json::from_str(include_str!("demo.json")).expect("demo.json is JSON");
        let served: serde_json::Map<String, Value> = self
            .providers()
            .into_iter()
            .filter_map(|kind| {
                demo.get(kind.name())
                    .map(|v| (kind.name().to_string(), v.clone()))
            })
            .collect();
        self.tamper(&Value::Object(served))
    }

    /// The request log in memory, one JSON value per request, oldest first.
    pub fn requests(&self) -> Vec<Value> {
        self.core
            .log
            .lines()
            .iter()
            .map(|line| serde_json::from_str(line).expect("log lines are JSON"))
            .collect()
    }

    pub fn knobs(&self) -> Knobs {
        self.core.knobs()
    }

    /// Changes knobs at run time, as `POST /_emulator/knobs` does.
    pub fn set_knobs(&self, change: KnobChange) -> Result<Knobs, String> {
        self.core.set_knobs(&change)
    }

    /// Stops accepting, closes open connections and waits for the listeners to finish.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        for server in std::mem::take(&mut self.servers) {
            let _ = server.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Reads the users file: `{"<provider>": [<user>, ...], ...}`.
fn read_users(path: &Path) -> io::Result<BTreeMap<ProviderKind, Vec<Value>>> {
    let invalid = |message: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("users file {}: {message}", path.display()),
        )
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| io::Error::new(e.kind(), format!("users file {}: {e}", path.display())))?;
    let by_name: BTreeMap<String, Vec<Value>> = serde_json::from_str(&text).map_err(|e| {
        invalid(format!(
            "{e}; expected {{\"aliyun\": [\"alice@corp.onaliyun.com\", ...], ...}}"
        ))
    })?;
    by_name
        .into_iter()
        .map(|(name, users)| Ok((name.parse::<ProviderKind>().map_err(invalid)?, users)))
        .collect()
}

#[cfg(test)]
mod tests;
