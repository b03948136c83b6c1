//! Accounts: a provider, an endpoint, credentials, a rate and a concurrency (docs/contract.md §4). Each provider
//! has a default account built from the environment, or from its official CLI's credentials file
//! when the environment has none; more are named in the TOML config file. Command
//! line overrides name an account or a provider; this module turns all of it into one resolved
//! [`AccountPlan`] per account a run needs, before anything is sent.

pub mod config;
pub mod endpoint;

use crate::jobs::ProviderKind;
use crate::providers::cli_files::CliLookup;
use crate::providers::{AccountSpec, Assume, Keys, Member, Provider, Services, provider};
use crate::secret::Secret;
pub use config::{AccountConfig, ChainConfig, Config};
use std::collections::BTreeSet;
use url::Url;

/// (provider, named account or "" for the provider's default account).
pub type AccountKey = (ProviderKind, String);

/// Default requests in flight per account.
pub const DEFAULT_CONCURRENCY: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// `at` is `, line N, KEY` or empty: never the line's text or a value.
    #[error("config file {path}{at}: {message}")]
    Config {
        path: String,
        at: String,
        message: String,
    },
    #[error("account '{account}': {message}")]
    Account { account: String, message: String },
    #[error("{0}")]
    Override(String),
    /// Every account a run needs that cannot be used, each with why (for missing credentials: the
    /// variables and files looked at).
    #[error("{}", unusable(.problems, *.emulator))]
    Unusable {
        problems: Vec<String>,
        /// `--emulator` was on: suggesting it would not help.
        emulator: bool,
    },
}

fn unusable(problems: &[String], emulator: bool) -> String {
    let mut out = match problems {
        [one] => format!("{one}; nothing was sent"),
        _ => format!(
            "{} accounts cannot be used; nothing was sent:\n  {}",
            problems.len(),
            problems.join("\n  ")
        ),
    };
    if !emulator {
        out.push_str(
            "\nTo rehearse without any credentials, add --emulator: the run goes to a built-in emulator of the three clouds, with demo users",
        );
    }
    out
}

/// A rate given on the command line or in the config: requests/s, or no limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    PerSecond(f64),
    Unlimited,
}

impl std::str::FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Rate, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("unlimited") || s == "0" {
            return Ok(Rate::Unlimited);
        }
        match s.parse::<f64>() {
            Ok(r) if r.is_finite() && r > 0.0 => Ok(Rate::PerSecond(r)),
            _ => Err(format!(
                "'{s}' is not a rate: give requests per second (e.g. 20 or 0.5), or 'unlimited'"
            )),
        }
    }
}

/// Command-line settings that name an account or a provider (`NAME=VALUE`).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub rate: Vec<(String, Rate)>,
    pub concurrency: Vec<(String, usize)>,
    /// A bare `--concurrency N`.
    pub concurrency_all: Option<usize>,
    pub endpoint: Vec<(String, String)>,
    /// `--accounts-filter`: the member accounts of members accounts to work in (all when `None`).
    pub accounts_filter: Option<BTreeSet<String>>,
}

impl Overrides {
    /// Checks every NAME is an account of the config or a provider, so a typo is not silently ignored.
    pub fn check_names(&self, config: &Config) -> Result<(), AccountError> {
        let names = self
            .rate
            .iter()
            .map(|(n, _)| n)
            .chain(self.concurrency.iter().map(|(n, _)| n))
            .chain(self.endpoint.iter().map(|(n, _)| n));
        for name in names {
            let base = match member_of(config, name) {
                Some((base, _)) => base,
                None => name,
            };
            if config.accounts.contains_key(base) || name.parse::<ProviderKind>().is_ok() {
                continue;
            }
            let known: Vec<&str> = config.accounts.keys().map(String::as_str).collect();
            return Err(AccountError::Override(format!(
                "'{name}' is neither a provider ({}) nor an account of the config file{}",
                ProviderKind::names(),
                if known.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", known.join(", "))
                }
            )));
        }
        Ok(())
    }
}

impl Overrides {
    /// Whether `--accounts-filter` lets member account `id` be worked in (ids compare in any
    /// case: huawei's are hex).
    pub fn allows(&self, id: &str) -> bool {
        (self.accounts_filter.as_ref()).is_none_or(|filter| filter.iter().any(|f| same_id(f, id)))
    }

    /// The ids `--accounts-filter` names that none of `ids` is.
    pub fn unmatched<'a>(&'a self, ids: &[&str]) -> Vec<&'a str> {
        (self.accounts_filter.iter().flatten())
            .filter(|f| !ids.iter().any(|id| same_id(f, id)))
            .map(String::as_str)
            .collect()
    }

    /// The members worked in: the active ones `--accounts-filter` lets through, in the listing's
    /// order; and the ids the filter names that are no active member (to warn about).
    pub fn used_members<'a>(&'a self, listed: &[Member]) -> (Vec<Member>, Vec<&'a str>) {
        let active: Vec<&Member> = listed.iter().filter(|m| m.active).collect();
        let used = (active.iter())
            .filter(|m| self.allows(&m.id))
            .map(|m| (*m).clone())
            .collect();
        let ids: Vec<&str> = active.iter().map(|m| m.id.as_str()).collect();
        (used, self.unmatched(&ids))
    }
}

/// Whether `id` may be a member's account id: letters and digits (aliyun's are digits, huawei's
/// hex), which also keeps `NAME/<id>` one path segment.
pub fn is_member_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether two account ids are the same account (in any case: huawei's are hex, and a row or
/// `--accounts-filter` may spell them either way).
pub fn same_id(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// A member of a members account, `NAME/<account id>`, as (NAME, id): `None` unless NAME is a
/// members account of the config.
pub fn member_of<'a>(config: &Config, name: &'a str) -> Option<(&'a str, &'a str)> {
    let (base, id) = name.split_once('/')?;
    config
        .accounts
        .get(base)
        .is_some_and(|a| a.members)
        .then_some((base, id))
}

/// Where accounts point when `--emulator` is on.
pub trait EmulatorTarget {
    fn endpoint(&self, kind: ProviderKind) -> Url;
}

/// One account, resolved.
pub struct AccountPlan {
    pub key: AccountKey,
    /// The config name, or the provider name for the default account.
    pub display: String,
    pub provider: &'static dyn Provider,
    pub endpoint: Url,
    /// The endpoints of the provider's other services.
    pub services: Services,
    pub keys: Keys,
    pub rate: Option<f64>,
    pub concurrency: usize,
    /// Where the credentials came from (never the values); for a chained account the chain,
    /// `prod ← hq (config file [accounts.hq])`.
    pub credential_source: String,
    /// A chained account: its credentials are assumed with its source's. For a members account
    /// itself, the source and the role as [`Provider::member_assume`] places it in each member.
    pub chain: Option<Chain>,
    /// A members account itself (not one of its members): where its members are listed.
    pub directory: Option<Url>,
}

/// How a chained account gets its temporary credentials.
pub struct Chain {
    /// The account whose credentials ask for them (itself possibly chained).
    pub source: Box<AccountPlan>,
    pub assume: Assume,
    /// Where they are asked for: the STS endpoint, or (huawei) the source's IAM endpoint.
    pub sts_endpoint: Url,
}

impl AccountPlan {
    /// The account at the end of the chain: the one with credentials of its own.
    pub fn root(&self) -> &AccountPlan {
        match &self.chain {
            Some(chain) => chain.source.root(),
            None => self,
        }
    }

    /// Connects the provider with the account's own credentials, checking they are complete
    /// (nothing is sent). A chained account is checked through the account at the end of its
    /// chain, whose credentials sign the requests for its temporary ones.
    pub fn check(&self) -> Result<(), crate::providers::ConnectError> {
        let root = self.root();
        root.provider
            .connect(&AccountSpec {
                name: &root.display,
                endpoint: &root.endpoint,
                keys: &root.keys,
                services: &root.services,
            })
            .map(|_| ())
    }
}

/// Resolves the accounts `needed` by a run and checks each has complete credentials (without
/// sending anything). Every account that cannot be used is named in one error.
pub fn resolve(
    config: &Config,
    overrides: &Overrides,
    needed: &[AccountKey],
    env: &dyn Fn(&str) -> Option<String>,
    emulator: Option<&dyn EmulatorTarget>,
) -> Result<Vec<AccountPlan>, AccountError> {
    overrides.check_names(config)?;
    let mut plans = Vec::new();
    let mut problems = Vec::new();
    for key in needed {
        match resolve_account(config, overrides, key, env, emulator) {
            Ok(plan) => match plan.check() {
                Ok(()) => plans.push(plan),
                Err(e) => problems.push(e.to_string()),
            },
            Err(e) => problems.push(e.to_string()),
        }
    }
    match problems.is_empty() {
        true => Ok(plans),
        false => Err(AccountError::Unusable {
            problems,
            emulator: emulator.is_some(),
        }),
    }
}

/// One account resolved, its credentials not checked for completeness.
pub fn resolve_account(
    config: &Config,
    overrides: &Overrides,
    key: &AccountKey,
    env: &dyn Fn(&str) -> Option<String>,
    emulator: Option<&dyn EmulatorTarget>,
) -> Result<AccountPlan, AccountError> {
    let (kind, name) = key;
    let p = provider(*kind);
    // A member `NAME/<id>` takes NAME's settings.
    let (base, member) = match member_of(config, name) {
        Some((base, id)) => (base, Some(id)),
        None => (name.as_str(), None),
    };
    let named = if name.is_empty() {
        None
    } else {
        Some(config.accounts.get(base).ok_or_else(|| AccountError::Account {
            account: name.clone(),
            message: "is not in the config file: add an [accounts.NAME] section or fix the account column".into(),
        })?)
    };
    let display = if name.is_empty() {
        kind.name().to_string()
    } else {
        name.clone()
    };
    let account_err = |message: String| AccountError::Account {
        account: display.clone(),
        message,
    };
    if let Some(id) = member.filter(|id| !is_member_id(id)) {
        return Err(account_err(format!(
            "'{id}' is not an account id: name a member as {base}/<account id> (`iambatch accounts` lists them)"
        )));
    }
    // Precedence: --X ACCOUNT=, --X NAME= of a member's members account, the config section,
    // --X PROVIDER=, then defaults.
    let members_account = member.map(|_| base);
    let rate = for_named(&overrides.rate, name, members_account)
        .or(named.and_then(|a| a.rate))
        .or(for_provider(&overrides.rate, *kind))
        .unwrap_or(Rate::PerSecond(p.spec().default_rate));
    let concurrency = for_named(&overrides.concurrency, name, members_account)
        .or(named.and_then(|a| a.concurrency))
        .or(for_provider(&overrides.concurrency, *kind))
        .or(overrides.concurrency_all)
        .unwrap_or(DEFAULT_CONCURRENCY);
    if concurrency == 0 {
        return Err(account_err("concurrency must be at least 1".into()));
    }

    let env_endpoint = env(&format!(
        "IAMBATCH_{}_ENDPOINT",
        kind.name().to_ascii_uppercase()
    ));
    let endpoint_text = match emulator {
        Some(e) => e.endpoint(*kind).to_string(),
        None => for_named(&overrides.endpoint, name, members_account)
            .or(named.and_then(|a| a.endpoint.clone()))
            .or(for_provider(&overrides.endpoint, *kind))
            .or(env_endpoint.filter(|e| !e.is_empty()))
            .or_else(|| p.default_endpoint(named.and_then(|a| a.region.as_deref())))
            .ok_or_else(|| account_err(format!("has no endpoint: set `endpoint` in its config section or pass --endpoint {display}=URL")))?,
    };
    let endpoint = endpoint::parse(&endpoint_text).map_err(account_err)?;
    let services = services(p, env, emulator).map_err(account_err)?;

    if let Some(chain) = named.and_then(|a| a.chain.as_ref()) {
        let source = match config.accounts.get(&chain.source) {
            Some(_) => (*kind, chain.source.clone()),
            None => (*kind, String::new()),
        };
        let source = resolve_account(config, overrides, &source, env, emulator)?;
        let sts_env = env(&format!(
            "IAMBATCH_{}_STS_ENDPOINT",
            kind.name().to_ascii_uppercase()
        ));
        let sts_text = match emulator {
            Some(e) => Some(e.endpoint(*kind).to_string()),
            None => named
                .and_then(|a| a.sts_endpoint.clone())
                .or(sts_env.filter(|e| !e.is_empty()))
                .or(p.sts_endpoint().map(str::to_string)),
        };
        let sts_endpoint = match sts_text {
            Some(text) => endpoint::parse(&text).map_err(account_err)?,
            None => source.endpoint.clone(),
        };
        let assume = match member {
            Some(id) => p.member_assume(&chain.assume, id),
            None => chain.assume.clone(),
        };
        let directory = match (member, named) {
            (None, Some(a)) if a.members => {
                Some(directory(p, a, env, emulator).map_err(account_err)?)
            }
            _ => None,
        };
        return Ok(AccountPlan {
            key: key.clone(),
            credential_source: format!("{display} ← {}", chain_text(&source)),
            display,
            provider: p,
            endpoint,
            services,
            keys: Keys::default(),
            rate: match rate {
                Rate::PerSecond(r) => Some(r),
                Rate::Unlimited => None,
            },
            concurrency,
            chain: Some(Chain {
                source: Box::new(source),
                assume,
                sts_endpoint,
            }),
            directory,
        });
    }

    let (keys, credential_source) = match emulator {
        Some(_) => {
            let mut keys = Keys::default();
            for (k, v) in p.spec().emulator_keys {
                keys.insert(k, Secret::new(*v));
            }
            (keys, "the emulator's test credentials".to_string())
        }
        None => credentials(p, name, named, env).map_err(account_err)?,
    };

    Ok(AccountPlan {
        key: key.clone(),
        display,
        provider: p,
        endpoint,
        services,
        keys,
        rate: match rate {
            Rate::PerSecond(r) => Some(r),
            Rate::Unlimited => None,
        },
        concurrency,
        credential_source,
        chain: None,
        directory: None,
    })
}

/// Where a members account's members are listed: its `directory_endpoint`, else
/// `IAMBATCH_<PROVIDER>_<DIRECTORY>_ENDPOINT`, else the provider's; with `--emulator`, the emulator.
fn directory(
    p: &dyn Provider,
    account: &AccountConfig,
    env: &dyn Fn(&str) -> Option<String>,
    emulator: Option<&dyn EmulatorTarget>,
) -> Result<Url, String> {
    let kind = p.spec().kind;
    let (service, default) = p
        .directory()
        .ok_or_else(|| format!("{kind} has no account directory iambatch can list"))?;
    let text = match emulator {
        Some(e) => e.endpoint(kind).to_string(),
        None => account
            .directory_endpoint
            .clone()
            .or(env(&service_variable(kind, service)).filter(|e| !e.is_empty()))
            .unwrap_or_else(|| default.to_string()),
    };
    endpoint::parse(&text)
}

/// `hq (config file [accounts.hq])`, or for a chained account its whole chain.
fn chain_text(plan: &AccountPlan) -> String {
    match plan.chain {
        Some(_) => plan.credential_source.clone(),
        None => format!("{} ({})", plan.display, plan.credential_source),
    }
}

/// The variable that sets the endpoint of a provider's other service `name`:
/// `IAMBATCH_<PROVIDER>_<NAME>_ENDPOINT`.
pub fn service_variable(kind: ProviderKind, name: &str) -> String {
    format!(
        "IAMBATCH_{}_{}_ENDPOINT",
        kind.name().to_ascii_uppercase(),
        name.to_ascii_uppercase()
    )
}

/// The endpoints of the provider's other services: `IAMBATCH_<PROVIDER>_<SERVICE>_ENDPOINT`, else
/// the provider's default; with `--emulator`, the emulator, which serves them on the provider's port.
fn services(
    p: &dyn Provider,
    env: &dyn Fn(&str) -> Option<String>,
    emulator: Option<&dyn EmulatorTarget>,
) -> Result<Services, String> {
    let kind = p.spec().kind;
    let mut services = Services::default();
    for (name, default) in p.services() {
        let text = match emulator {
            Some(e) => e.endpoint(kind).to_string(),
            None => env(&service_variable(kind, name))
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| default.to_string()),
        };
        services.0.insert(name, endpoint::parse(&text)?);
    }
    Ok(services)
}

/// The account's credentials and where they came from. A named account: its config section, over
/// the CLI profile it names. The default account: the environment, or when it sets none of the
/// provider's variables, the official CLI's file.
fn credentials(
    p: &dyn Provider,
    name: &str,
    named: Option<&AccountConfig>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Keys, String), String> {
    let lookup = CliLookup { env };
    if let Some(account) = named {
        let own = account.keys.clone()?;
        let section = format!("config file [accounts.{name}]");
        let Some(profile) = &account.profile else {
            return Ok((own, section));
        };
        let cli = p.spec().cli_profile_keys(&lookup, Some(profile))?.ok_or_else(|| {
            format!(
                "names profile '{profile}', but iambatch reads no {} CLI file: remove `profile` and give the credentials in the section",
                p.spec().kind
            )
        })?;
        let mut keys = cli.keys;
        keys.0.extend(own.0);
        return Ok((keys, format!("{section} with {}", cli.source)));
    }
    let mut keys = Keys::default();
    let mut used = Vec::new();
    for (k, vars) in p.spec().env_keys {
        if let Some((var, value)) = vars
            .iter()
            .find_map(|v| env(v).filter(|x| !x.is_empty()).map(|x| (v, x)))
        {
            keys.insert(k, Secret::new(value));
            used.push(*var);
        }
    }
    if !used.is_empty() {
        return Ok((keys, format!("environment ({})", used.join(", "))));
    }
    Ok(match p.spec().cli_profile_keys(&lookup, None)? {
        Some(cli) => (cli.keys, cli.source),
        None => (
            keys,
            "none found (no credential environment variables, no CLI credentials file)".into(),
        ),
    })
}

/// The last `NAME=VALUE` naming this (named) account.
fn for_account<T: Clone>(list: &[(String, T)], account: &str) -> Option<T> {
    if account.is_empty() {
        return None;
    }
    list.iter()
        .rev()
        .find(|(n, _)| n == account)
        .map(|(_, v)| v.clone())
}

/// The last `NAME=VALUE` naming this (named) account, else, for a member, its members account.
fn for_named<T: Clone>(list: &[(String, T)], account: &str, members: Option<&str>) -> Option<T> {
    for_account(list, account).or_else(|| for_account(list, members?))
}

/// The last `NAME=VALUE` naming this provider.
fn for_provider<T: Clone>(list: &[(String, T)], kind: ProviderKind) -> Option<T> {
    list.iter()
        .rev()
        .find(|(n, _)| n.parse::<ProviderKind>().ok() == Some(kind))
        .map(|(_, v)| v.clone())
}

#[cfg(test)]
mod tests;
