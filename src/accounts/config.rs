//! The TOML config file of named accounts: `[accounts.NAME]` sections, read with serde into typed
//! settings. A mistake names the file, the line and the key, never the line's text or a value: the
//! broken line may hold a secret.

use crate::accounts::{AccountError, Rate};
use crate::jobs::{ProviderKind, one_of};
use crate::providers::{Keys, Provider, provider};
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
}

/// The settings every account section may have, besides the provider's credential keys.
const SETTINGS: [&str; 6] = [
    "provider",
    "endpoint",
    "region",
    "rate",
    "concurrency",
    "profile",
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
        for (name, section) in file.accounts {
            let account = section.into_inner().account(dir, env).map_err(|e| {
                let key = match &e.key {
                    Some(key) => format!("accounts.{name}.{key}"),
                    None => format!("accounts.{name}"),
                };
                err(Some(e.span), Some(&key), e.message)
            })?;
            config.accounts.insert(name, account);
        }
        Ok(config)
    }

    /// Named accounts and their provider, for row validation.
    pub fn providers(&self) -> BTreeMap<String, ProviderKind> {
        self.accounts
            .iter()
            .map(|(n, a)| (n.clone(), a.provider))
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
                    Scalar::Other => String::new(),
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
        let mut keys = Ok(Keys::default());
        for (key, value) in &self.other {
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
        })
    }
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
                    "{} accounts take {}, and the credentials {} (each also as KEY_env or KEY_file)",
                    p.spec().kind,
                    SETTINGS[1..].join(", "),
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
