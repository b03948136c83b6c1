//! The TOML config file of named accounts: `[accounts.NAME]` sections, read with serde into typed
//! settings. A mistake names the file, the line and the key, never the line's text or a value: the
//! broken line may hold a secret.

use crate::accounts::{AccountError, Rate};
use crate::jobs::{ProviderKind, one_of};
use crate::providers::{Assume, Keys, Provider, provider};
use crate::secret::Secret;
use document::{File, Scalar, Section, locate};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

mod document;

#[derive(Debug, Default)]
pub struct Config {
    pub accounts: BTreeMap<String, AccountConfig>,
}

#[derive(Debug)]
pub struct AccountConfig {
    pub provider: ProviderKind,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub rate: Option<Rate>,
    pub concurrency: Option<usize>,
    /// A profile of the provider's official CLI file to take credentials from.
    pub profile: Option<String>,
    /// The credentials, or why they could not be read (reported only if a run uses the account).
    pub keys: Result<Keys, String>,
    /// A chained account: whose credentials assume what. Its own `keys` are then empty.
    pub chain: Option<ChainConfig>,
    /// Where temporary credentials are asked for, instead of the provider's STS endpoint.
    pub sts_endpoint: Option<String>,
    /// A members account: one account per active member of its source's organisation, each
    /// reached through `chain`'s role as [`crate::providers::Provider::member_assume`] places it.
    pub members: bool,
    /// Where the organisation's members are listed, instead of the provider's directory endpoint.
    pub directory_endpoint: Option<String>,
}

/// A chained account's `source` (a config account or a provider's default account, by name) and
/// what its credentials assume; for a members account, the role its `role_name` names in any
/// member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainConfig {
    pub source: String,
    pub assume: Assume,
}

/// The settings every account section may have, besides the provider's credential keys.
const SETTINGS: [&str; 16] = [
    "provider",
    "endpoint",
    "region",
    "rate",
    "concurrency",
    "profile",
    "source",
    "role_arn",
    "role_urn",
    "agency_name",
    "external_id",
    "session_duration",
    "sts_endpoint",
    "members",
    "role_name",
    "directory_endpoint",
];

impl Config {
    /// Reads the file; `env` looks up the `KEY_env` variables.
    pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, AccountError> {
        let text = std::fs::read_to_string(path).map_err(|e| AccountError::Config {
            path: path.display().to_string(),
            at: String::new(),
            message: format!("cannot read it: {e}"),
        })?;
        Config::parse(&text, path, env)
    }

    pub fn parse(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, AccountError> {
        let err = |span: Option<std::ops::Range<usize>>, key: Option<&str>, message: String| {
            AccountError::Config {
                path: path.display().to_string(),
                at: locate(text, span, key, is_known_key),
                message,
            }
        };
        // Only the message of a syntax error is shown: toml's own rendering quotes the line, and
        // a serde type error quotes the value.
        let document = toml::de::Deserializer::parse(text).map_err(|e| {
            err(
                e.span(),
                None,
                format!("is not valid TOML: {}: fix that line", e.message()),
            )
        })?;
        let file = File::deserialize(document).map_err(|e| {
            err(
                e.span(),
                None,
                "is not an account setting: write [accounts.NAME] sections of `key = value` lines"
                    .into(),
            )
        })?;
        if let Some(top) = file.unknown.first() {
            return Err(err(
                Some(top.span()),
                Some(top.get_ref()),
                match closest(top.get_ref(), ["accounts"].into_iter()) {
                    Some(near) => format!("unknown section; did you mean {near}?"),
                    None => "unknown section or key: only [accounts.NAME] sections are read".into(),
                },
            ));
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut config = Config::default();
        let mut sources = BTreeMap::new();
        for (name, section) in file.accounts {
            // `NAME/<id>` names a member of members account NAME.
            if name.contains('/') {
                return Err(err(
                    Some(section.span()),
                    Some(&format!("accounts.{name}")),
                    "an account name cannot contain '/': NAME/<id> names a member of members account NAME; rename the section".into(),
                ));
            }
            if let Some(source) = &section.get_ref().source {
                sources.insert(name.clone(), source.span());
            }
            let account = section.into_inner().account(dir, env).map_err(|e| {
                let key = match &e.key {
                    Some(key) => format!("accounts.{name}.{key}"),
                    None => format!("accounts.{name}"),
                };
                err(Some(e.span), Some(&key), e.message)
            })?;
            config.accounts.insert(name, account);
        }
        for (name, span) in sources {
            config.check_chain(&name).map_err(|message| {
                err(
                    Some(span),
                    Some(&format!("accounts.{name}.source")),
                    message,
                )
            })?;
        }
        Ok(config)
    }

    /// Follows `name`'s sources: each must be an account of the config or a provider's default
    /// account, of the same provider, and the chain must end in an account with credentials of
    /// its own.
    fn check_chain(&self, name: &str) -> Result<(), String> {
        let kind = self.accounts[name].provider;
        let mut seen = vec![name];
        let mut at = name;
        while let Some(chain) = &self.accounts[at].chain {
            let source = chain.source.as_str();
            if let Ok(provider) = source.parse::<ProviderKind>() {
                if provider != kind {
                    return Err(format!(
                        "account '{at}' takes its credentials from the {provider} default account, but it is a {kind} account: a source must be of the same provider"
                    ));
                }
                return Ok(());
            }
            let Some(next) = self.accounts.get(source) else {
                return Err(format!(
                    "account '{at}' names source '{source}', which is neither an account of the config file nor a provider ({}): fix `source`",
                    ProviderKind::names()
                ));
            };
            if next.members {
                return Err(format!(
                    "account '{at}' names source '{source}', a members account (one account per member): name the account whose credentials reach the members, or one member's own section"
                ));
            }
            if next.provider != kind {
                return Err(format!(
                    "account '{at}' ({kind}) names source '{source}', a {} account: a source must be of the same provider",
                    next.provider
                ));
            }
            if seen.contains(&source) {
                seen.push(source);
                return Err(format!(
                    "the sources go round in a circle ({}): one account of the chain must have credentials of its own",
                    seen.join(" ← ")
                ));
            }
            seen.push(source);
            at = source;
        }
        Ok(())
    }

    /// Named accounts and their provider, for row validation.
    pub fn providers(&self) -> BTreeMap<String, ProviderKind> {
        self.accounts
            .iter()
            .map(|(n, a)| (n.clone(), a.provider))
            .collect()
    }

    /// The members accounts, whose rows name one member each.
    pub fn members_accounts(&self) -> std::collections::BTreeSet<String> {
        (self.accounts.iter())
            .filter(|(_, a)| a.members)
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// A mistake in one section: the key (`None` = the section itself), where, and what to do.
struct SectionError {
    key: Option<String>,
    span: std::ops::Range<usize>,
    message: String,
}

impl Section {
    /// The account the section describes, its credentials read from the environment or files.
    fn account(
        self,
        dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<AccountConfig, SectionError> {
        let kind = match &self.provider {
            None => {
                return Err(SectionError {
                    key: None,
                    span: self.span.clone(),
                    message: format!("has no `provider`: set provider = {}", quoted_providers()),
                });
            }
            Some(value) => text("provider", value).and_then(|name| {
                name.parse::<ProviderKind>().map_err(|_| {
                    mistake(
                        "provider",
                        value,
                        &format!("must be {}", quoted_providers()),
                    )
                })
            })?,
        };
        let p = provider(kind);
        let rate = self
            .rate
            .as_ref()
            .map(|value| {
                let written = match value.get_ref() {
                    Scalar::Text(s) => s.clone(),
                    Scalar::Integer(n) => n.to_string(),
                    Scalar::Float(f) => f.to_string(),
                    Scalar::Bool(_) | Scalar::Other => String::new(),
                };
                written.parse::<Rate>().map_err(|_| {
                    mistake(
                        "rate",
                        value,
                        "must be requests per second (e.g. 20 or 0.5), or \"unlimited\"",
                    )
                })
            })
            .transpose()?;
        let concurrency = self
            .concurrency
            .as_ref()
            .map(|value| match value.get_ref() {
                Scalar::Integer(n) if *n >= 1 => Ok(*n as usize),
                _ => Err(mistake(
                    "concurrency",
                    value,
                    "must be a whole number of at least 1",
                )),
            })
            .transpose()?;
        let optional_text = |key: &str, value: &Option<Spanned<Scalar>>| {
            value.as_ref().map(|v| text(key, v)).transpose()
        };
        let members = self.members(kind)?;
        let chain = self.chain(kind, members)?;
        let mut other = self.other;
        if members && let Some((key, _)) = other.iter().find(|(k, _)| is_domain(k.get_ref())) {
            return Err(SectionError {
                key: Some(key.get_ref().clone()),
                span: key.span(),
                message: "a members account reaches each member by its account id: remove this key"
                    .into(),
            });
        }
        if chain.is_some()
            && let Some((key, _)) = other
                .iter()
                .find(|(k, _)| !(kind == ProviderKind::Huawei && is_domain(k.get_ref())))
        {
            return Err(SectionError {
                key: Some(key.get_ref().clone()),
                span: key.span(),
                message:
                    "a chained account takes its credentials from its `source`: remove this key"
                        .into(),
            });
        }
        if let (Some(_), Some(profile)) = (&chain, &self.profile) {
            return Err(mistake(
                "profile",
                profile,
                "a chained account takes its credentials from its `source`: remove `profile`",
            ));
        }
        // A huawei agency names its delegating account by domain_name or domain_id.
        let chain = match chain {
            Some(mut chain) => {
                if let Assume::Agency {
                    domain_name,
                    domain_id,
                    ..
                } = &mut chain.assume
                {
                    for (key, value) in other.drain(..) {
                        let slot = match key.get_ref().as_str() {
                            "domain_name" => &mut *domain_name,
                            _ => &mut *domain_id,
                        };
                        *slot = Some(text(key.get_ref(), &value)?);
                    }
                    if !members && domain_name.is_none() && domain_id.is_none() {
                        return Err(SectionError {
                            key: None,
                            span: self.span.clone(),
                            message: "names an agency but not its account: set domain_name (or domain_id) of the delegating account".into(),
                        });
                    }
                }
                Some(chain)
            }
            None => None,
        };
        let mut keys = Ok(Keys::default());
        for (key, value) in &other {
            let (base, source) = credential(p, key)?;
            let value = text(key.get_ref(), value)?;
            let secret = read_secret(key.get_ref(), &value, source, dir, env);
            keys = match (keys, secret) {
                (Ok(mut k), Ok(v)) => {
                    k.insert(base, Secret::new(v));
                    Ok(k)
                }
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
        }
        Ok(AccountConfig {
            provider: kind,
            endpoint: optional_text("endpoint", &self.endpoint)?,
            region: optional_text("region", &self.region)?,
            rate,
            concurrency,
            profile: optional_text("profile", &self.profile)?,
            keys,
            chain,
            sts_endpoint: optional_text("sts_endpoint", &self.sts_endpoint)?,
            members,
            directory_endpoint: optional_text("directory_endpoint", &self.directory_endpoint)?,
        })
    }

    /// Whether the section is a members account (`members = true`), checked against the keys
    /// that only a members account takes.
    fn members(&self, kind: ProviderKind) -> Result<bool, SectionError> {
        let members = match &self.members {
            None => false,
            Some(value) => match value.get_ref() {
                Scalar::Bool(b) => *b,
                _ => return Err(mistake("members", value, "must be true or false")),
            },
        };
        if !members {
            let own = [
                ("role_name", &self.role_name),
                ("directory_endpoint", &self.directory_endpoint),
            ];
            if let Some((key, value)) = own.into_iter().find_map(|(k, v)| Some((k, v.as_ref()?))) {
                return Err(mistake(
                    key,
                    value,
                    "belongs to a members account: set members = true (with `source`), or name one account's role with role_arn or agency_name",
                ));
            }
            return Ok(false);
        }
        let value = self.members.as_ref().expect("members is set");
        if provider(kind).directory().is_none() {
            return Err(mistake(
                "members",
                value,
                &format!(
                    "{kind} has no account directory iambatch can list: name each account in a section of its own"
                ),
            ));
        }
        if self.source.is_none() {
            return Err(mistake(
                "members",
                value,
                "a members account needs `source`: the account whose credentials list the organisation's members and assume role_name in each",
            ));
        }
        let one_account = [
            ("role_arn", &self.role_arn),
            ("role_urn", &self.role_urn),
            ("agency_name", &self.agency_name),
        ];
        if let Some((key, value)) = one_account
            .into_iter()
            .find_map(|(k, v)| Some((k, v.as_ref()?)))
        {
            return Err(mistake(
                key,
                value,
                "names one account's role, but a members account reaches every member through role_name: remove it",
            ));
        }
        if provider(kind).default_member_role().is_none() && self.role_name.is_none() {
            return Err(mistake(
                "members",
                value,
                &format!(
                    "a {kind} members account also needs role_name: the role or agency, in each member account, that trusts the source's account"
                ),
            ));
        }
        Ok(true)
    }

    /// The chain settings: `source` with the provider's own way to assume (aliyun `role_arn`,
    /// ucloud `role_urn`, huawei `agency_name`). Each needs the other; the huawei account's
    /// domain is filled in by the caller.
    fn chain(
        &self,
        kind: ProviderKind,
        members: bool,
    ) -> Result<Option<ChainConfig>, SectionError> {
        let (own, others): (&str, [Setting<'_>; 2]) = match kind {
            ProviderKind::Aliyun => (
                "role_arn",
                [
                    ("role_urn", &self.role_urn),
                    ("agency_name", &self.agency_name),
                ],
            ),
            ProviderKind::Ucloud => (
                "role_urn",
                [
                    ("role_arn", &self.role_arn),
                    ("agency_name", &self.agency_name),
                ],
            ),
            ProviderKind::Huawei => (
                "agency_name",
                [("role_arn", &self.role_arn), ("role_urn", &self.role_urn)],
            ),
        };
        for (key, value) in others {
            if let Some(value) = value {
                return Err(mistake(
                    key,
                    value,
                    &format!("is not a {kind} setting: a chained {kind} account names {own}"),
                ));
            }
        }
        if kind != ProviderKind::Aliyun
            && let Some(value) = &self.external_id
        {
            return Err(mistake(
                "external_id",
                value,
                "is an aliyun setting: remove it",
            ));
        }
        let (own, target) = match kind {
            _ if members => ("role_name", &self.role_name),
            ProviderKind::Aliyun => (own, &self.role_arn),
            ProviderKind::Ucloud => (own, &self.role_urn),
            ProviderKind::Huawei => (own, &self.agency_name),
        };
        let Some(source) = &self.source else {
            let dependent = [
                (own, target),
                ("external_id", &self.external_id),
                ("session_duration", &self.session_duration),
                ("sts_endpoint", &self.sts_endpoint),
            ];
            return match dependent
                .into_iter()
                .find_map(|(k, v)| Some((k, v.as_ref()?)))
            {
                Some((key, value)) => Err(mistake(
                    key,
                    value,
                    "belongs to a chained account: set `source` to the account whose credentials assume it",
                )),
                None => Ok(None),
            };
        };
        let source = text("source", source)?;
        if target.is_none() && !members {
            return Err(SectionError {
                key: Some("source".into()),
                span: self
                    .source
                    .as_ref()
                    .map_or(self.span.clone(), Spanned::span),
                message: format!("a chained {kind} account also needs {own}"),
            });
        }
        let target = match target {
            Some(target) => text(own, target)?,
            // A members account without role_name: its provider has a default (checked before).
            None => (provider(kind).default_member_role())
                .expect("a members account without role_name has a default role")
                .to_string(),
        };
        let duration = self
            .session_duration
            .as_ref()
            .map(|value| match value.get_ref() {
                Scalar::Integer(n) if (900..=86_400).contains(n) => Ok(*n as u32),
                _ => Err(mistake(
                    "session_duration",
                    value,
                    "must be whole seconds from 900 to 86400 (within the role's maximum)",
                )),
            })
            .transpose()?;
        let assume = match kind {
            ProviderKind::Huawei => Assume::Agency {
                domain_name: None,
                domain_id: None,
                agency: target,
                duration,
            },
            _ => Assume::Role {
                role: target,
                external_id: self
                    .external_id
                    .as_ref()
                    .map(|v| text("external_id", v))
                    .transpose()?,
                duration,
            },
        };
        Ok(Some(ChainConfig { source, assume }))
    }
}

/// A setting of a section, by name.
type Setting<'a> = (&'a str, &'a Option<Spanned<Scalar>>);

/// A huawei key naming the delegating account of an agency.
fn is_domain(key: &str) -> bool {
    key == "domain_name" || key == "domain_id"
}

/// Where a credential key takes its value from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Inline,
    Env,
    File,
}

/// The provider's credential a key sets and how (`KEY`, `KEY_env`, `KEY_file`); an unknown key is
/// an error suggesting the closest known one, and a secret written inline is refused.
fn credential(
    p: &dyn Provider,
    key: &Spanned<String>,
) -> Result<(&'static str, Source), SectionError> {
    let name = key.get_ref().as_str();
    let credentials = p.spec().env_keys.iter().map(|(k, _)| *k);
    let found = credentials.clone().find_map(|base| {
        let source = match name.strip_prefix(base)? {
            "" => Source::Inline,
            "_env" => Source::Env,
            "_file" => Source::File,
            _ => return None,
        };
        Some((base, source))
    });
    let error = |message: String| SectionError {
        key: Some(name.to_string()),
        span: key.span(),
        message,
    };
    match found {
        Some((base, Source::Inline)) if p.spec().secret_keys.contains(&base) => {
            Err(error(format!(
                "is a secret and cannot be written in the file: use {name}_env = \"VARIABLE\" or {name}_file = \"PATH\""
            )))
        }
        Some(found) => Ok(found),
        None => {
            let known: Vec<String> = SETTINGS
                .iter()
                .map(|s| s.to_string())
                .chain(
                    credentials
                        .flat_map(|c| [c.to_string(), format!("{c}_env"), format!("{c}_file")]),
                )
                .collect();
            let hint = match closest(name, known.iter().map(String::as_str)) {
                Some(near) => format!("did you mean {near}?"),
                None => format!(
                    "{} accounts take {}, and the credentials {} (each also as KEY_env or KEY_file); a chained account takes `source` and what it assumes instead",
                    p.spec().kind,
                    SETTINGS[1..6].join(", "),
                    p.spec()
                        .env_keys
                        .iter()
                        .map(|(k, _)| *k)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            Err(error(format!("unknown key; {hint}")))
        }
    }
}

/// Every provider's name, quoted as the file writes it: `"aliyun", "ucloud" or "huawei"`.
fn quoted_providers() -> String {
    let names: Vec<String> = ProviderKind::ALL
        .iter()
        .map(|k| format!("\"{}\"", k.name()))
        .collect();
    one_of(&names)
}

/// Whether `key` is a setting or a credential key (plain, `_env` or `_file`) of some provider.
fn is_known_key(key: &str) -> bool {
    SETTINGS.contains(&key)
        || ProviderKind::ALL.iter().any(|&kind| {
            provider(kind).spec().env_keys.iter().any(|(base, _)| {
                key.strip_prefix(base)
                    .is_some_and(|rest| ["", "_env", "_file"].contains(&rest))
            })
        })
}

/// The known name closest to `name` by edit distance, if it is close enough to be a typo.
fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = if name.chars().count() <= 4 { 1 } else { 2 };
    known
        .map(|k| (strsim::damerau_levenshtein(name, k), k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The value of a credential key: as written, from the environment variable it names, or from
/// the file it names (relative to the config file).
fn read_secret(
    key: &str,
    value: &str,
    source: Source,
    dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    match source {
        Source::Inline => Ok(value.to_string()),
        Source::Env => env(value).filter(|v| !v.is_empty()).ok_or_else(|| {
            format!("`{key}` names the environment variable {value}, which is not set: export it before running")
        }),
        Source::File => {
            let file = dir.join(value);
            std::fs::read_to_string(&file)
                .map(|content| content.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|e| format!("`{key}`: cannot read {}: {e}", file.display()))
        }
    }
}

/// A setting that must be text.
fn text(key: &str, value: &Spanned<Scalar>) -> Result<String, SectionError> {
    match value.get_ref() {
        Scalar::Text(s) => Ok(s.clone()),
        _ => Err(mistake(key, value, "must be text in quotes")),
    }
}

fn mistake(key: &str, value: &Spanned<Scalar>, message: &str) -> SectionError {
    SectionError {
        key: Some(key.to_string()),
        span: value.span(),
        message: message.to_string(),
    }
}
