//! The TOML config file of named accounts (SPEC §4).

use crate::accounts::{AccountError, Rate};
use crate::jobs::ProviderKind;
use crate::providers::{Keys, provider};
use crate::secret::Secret;
use std::collections::BTreeMap;
use std::path::Path;

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

impl Config {
    /// Reads the file; `env` looks up the `KEY_env` variables.
    pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, AccountError> {
        let text = std::fs::read_to_string(path).map_err(|e| AccountError::Config {
            path: path.display().to_string(),
            message: format!("cannot read it: {e}"),
        })?;
        Config::parse(&text, path, env)
    }

    pub fn parse(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, AccountError> {
        let err = |message: String| AccountError::Config {
            path: path.display().to_string(),
            message,
        };
        let doc: toml::Table =
            toml::from_str(text).map_err(|e| err(format!("is not valid TOML: {e}")))?;
        let mut config = Config::default();
        for (top, value) in doc {
            if top != "accounts" {
                return Err(err(format!(
                    "unknown section [{top}]: only [accounts.NAME] sections are read"
                )));
            }
            let toml::Value::Table(accounts) = value else {
                return Err(err(
                    "`accounts` must be a table of [accounts.NAME] sections".into(),
                ));
            };
            for (name, section) in accounts {
                let toml::Value::Table(section) = section else {
                    return Err(err(format!("[accounts.{name}] must be a table")));
                };
                let account = parse_account(&section, path.parent().unwrap_or(Path::new(".")), env)
                    .map_err(|m| err(format!("[accounts.{name}]: {m}")))?;
                config.accounts.insert(name, account);
            }
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

fn parse_account(
    section: &toml::Table,
    dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AccountConfig, String> {
    let text = |key: &str| -> Result<Option<String>, String> {
        match section.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!(
                "`{key}` must be a string, not {}",
                other.type_str()
            )),
        }
    };
    let kind: ProviderKind = text("provider")?
        .ok_or("has no `provider`: set provider = \"aliyun\", \"ucloud\" or \"huawei\"")?
        .parse()?;
    let p = provider(kind);
    let rate = match section.get("rate") {
        None => None,
        Some(toml::Value::Integer(n)) => Some(n.to_string().parse::<Rate>()?),
        Some(toml::Value::Float(f)) => Some(f.to_string().parse::<Rate>()?),
        Some(toml::Value::String(s)) => Some(s.parse::<Rate>()?),
        Some(_) => return Err("`rate` must be a number of requests per second".into()),
    };
    let concurrency = match section.get("concurrency") {
        None => None,
        Some(toml::Value::Integer(n)) if *n >= 1 => Some(*n as usize),
        Some(_) => return Err("`concurrency` must be a whole number of at least 1".into()),
    };

    let credential_names: Vec<&str> = p.env_keys().iter().map(|(k, _)| *k).collect();
    let mut keys = Ok(Keys::default());
    for (key, value) in section {
        if [
            "provider",
            "endpoint",
            "region",
            "rate",
            "concurrency",
            "profile",
        ]
        .contains(&key.as_str())
        {
            continue;
        }
        let (base, source) = match key.rsplit_once('_') {
            Some((base, "env")) if credential_names.contains(&base) => (base, "env"),
            Some((base, "file")) if credential_names.contains(&base) => (base, "file"),
            _ if credential_names.contains(&key.as_str()) => (key.as_str(), "inline"),
            _ => {
                return Err(format!(
                    "unknown key `{key}`: {kind} accounts take endpoint, region, rate, concurrency, profile and the credentials {} (each also as KEY_env or KEY_file)",
                    credential_names.join(", ")
                ));
            }
        };
        let toml::Value::String(value) = value else {
            return Err(format!("`{key}` must be a string"));
        };
        if source == "inline" && p.secret_keys().contains(&base) {
            return Err(format!(
                "`{key}` is a secret and cannot be written in the file: use {key}_env = \"VARIABLE\" or {key}_file = \"PATH\""
            ));
        }
        let secret = match source {
            "inline" => Ok(value.clone()),
            "env" => env(value).filter(|v| !v.is_empty()).ok_or_else(|| {
                format!("`{key}` names the environment variable {value}, which is not set: export it before running")
            }),
            _ => {
                let file = dir.join(value);
                std::fs::read_to_string(&file)
                    .map(|content| content.trim_end_matches(['\r', '\n']).to_string())
                    .map_err(|e| format!("`{key}`: cannot read {}: {e}", file.display()))
            }
        };
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
        endpoint: text("endpoint")?,
        region: text("region")?,
        rate,
        concurrency,
        profile: text("profile")?,
        keys,
    })
}
