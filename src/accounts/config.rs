//! The TOML config file of named accounts: `[accounts.NAME]` sections, read with serde into typed
//! settings. A mistake names the file, the line and the key, never the line's text or a value: the
//! broken line may hold a secret.

use crate::accounts::{AccountError, Rate};
use crate::jobs::ProviderKind;
use crate::providers::{Keys, Provider, provider};
use crate::secret::Secret;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use toml::Spanned;

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
                at: locate(text, span, key),
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

/// `, line N, KEY` for an error message: the line of `span` and the dotted key (when not given,
/// the key that line sets, read as TOML's bare keys are written). Nothing else of the line.
fn locate(text: &str, span: Option<std::ops::Range<usize>>, key: Option<&str>) -> String {
    let start = span.map(|s| s.start.min(text.len()));
    let line = start.map(|start| text[..start].matches('\n').count() + 1);
    let found = match (key, start) {
        (None, Some(start)) => key_at(text, start),
        _ => None,
    };
    match (line, key.or(found.as_deref())) {
        (Some(line), Some(key)) => format!(", line {line}, {key}"),
        (Some(line), None) => format!(", line {line}"),
        (None, Some(key)) => format!(", {key}"),
        (None, None) => String::new(),
    }
}

/// The dotted key set on the line holding byte `at`, under the last `[table]` header above it, if
/// both are written as bare keys: a line too broken to tell gets no key rather than a guess.
fn key_at(text: &str, at: usize) -> Option<String> {
    let bare = |s: &str| {
        let s = s.trim();
        (!s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b' ')))
        .then(|| s.split('.').map(str::trim).collect::<Vec<_>>().join("."))
    };
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = bare(line.split_once('=')?.0)?;
    let table = text[..line_start].lines().rev().find_map(|l| {
        let l = l.trim();
        l.strip_prefix('[')?.strip_suffix(']').map(str::to_string)
    });
    Some(match table.and_then(|t| bare(&t)) {
        Some(table) => format!("{table}.{key}"),
        None => key,
    })
}

/// The document: `[accounts.NAME]` sections, and any other top-level key (an error).
struct File {
    accounts: BTreeMap<String, Spanned<Section>>,
    unknown: Vec<Spanned<String>>,
}

impl<'de> Deserialize<'de> for File {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<File, D::Error> {
        struct FileVisitor;
        impl<'de> Visitor<'de> for FileVisitor {
            type Value = File;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("[accounts.NAME] sections")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<File, A::Error> {
                let mut file = File {
                    accounts: BTreeMap::new(),
                    unknown: Vec::new(),
                };
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    if key.get_ref() == "accounts" {
                        file.accounts = map.next_value()?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                        file.unknown.push(key);
                    }
                }
                Ok(file)
            }
        }
        d.deserialize_map(FileVisitor)
    }
}

/// An `[accounts.NAME]` section as written: the settings every provider shares, and the other
/// keys (the provider's credentials, or mistakes), each with where it is.
#[derive(Default)]
struct Section {
    provider: Option<Spanned<Scalar>>,
    endpoint: Option<Spanned<Scalar>>,
    region: Option<Spanned<Scalar>>,
    rate: Option<Spanned<Scalar>>,
    concurrency: Option<Spanned<Scalar>>,
    profile: Option<Spanned<Scalar>>,
    other: Vec<(Spanned<String>, Spanned<Scalar>)>,
    /// Where the section is, for a missing `provider`.
    span: std::ops::Range<usize>,
}

impl<'de> Deserialize<'de> for Section {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Section, D::Error> {
        let section = Spanned::<SectionFields>::deserialize(d)?;
        let span = section.span();
        let mut section = section.into_inner().0;
        section.span = span;
        Ok(section)
    }
}

/// [`Section`]'s fields, read by its visitor (the span of the whole section is added around it).
struct SectionFields(Section);

impl<'de> Deserialize<'de> for SectionFields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SectionFields, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = SectionFields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an [accounts.NAME] section")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SectionFields, A::Error> {
                let mut s = Section::default();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value::<Spanned<Scalar>>()?;
                    let slot = match key.get_ref().as_str() {
                        "provider" => &mut s.provider,
                        "endpoint" => &mut s.endpoint,
                        "region" => &mut s.region,
                        "rate" => &mut s.rate,
                        "concurrency" => &mut s.concurrency,
                        "profile" => &mut s.profile,
                        _ => {
                            s.other.push((key, value));
                            continue;
                        }
                    };
                    *slot = Some(value);
                }
                Ok(SectionFields(s))
            }
        }
        d.deserialize_map(FieldsVisitor)
    }
}

/// A setting's value as written. Any kind is read, so that a wrong kind is reported with the key
/// it belongs to rather than with the value.
enum Scalar {
    Text(String),
    Integer(i64),
    Float(f64),
    Other,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Integer(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(i64::try_from(v).map_or(Scalar::Other, Scalar::Integer))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(ScalarVisitor)
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
                    message:
                        "has no `provider`: set provider = \"aliyun\", \"ucloud\" or \"huawei\""
                            .into(),
                });
            }
            Some(value) => text("provider", value).and_then(|name| {
                name.parse::<ProviderKind>().map_err(|_| {
                    mistake(
                        "provider",
                        value,
                        "must be \"aliyun\", \"ucloud\" or \"huawei\"",
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
    let credentials = p.env_keys().iter().map(|(k, _)| *k);
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
        Some((base, Source::Inline)) if p.secret_keys().contains(&base) => Err(error(format!(
            "is a secret and cannot be written in the file: use {name}_env = \"VARIABLE\" or {name}_file = \"PATH\""
        ))),
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
                    p.kind(),
                    SETTINGS[1..].join(", "),
                    p.env_keys()
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
