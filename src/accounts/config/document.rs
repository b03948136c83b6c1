//! The config file as serde reads it: the `[accounts.NAME]` sections with every setting's place in
//! the file, and how a place becomes `line N, KEY` in an error message.

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;

/// `, line N, KEY` for an error message: the line of `span` and the dotted key (when not given,
/// the key that line sets, read as TOML's bare keys are written, if `known` says it is a key
/// iambatch reads: what comes before `=` on a broken line may be a pasted secret). Nothing else
/// of the line.
pub(super) fn locate(
    text: &str,
    span: Option<std::ops::Range<usize>>,
    key: Option<&str>,
    known: impl Fn(&str) -> bool,
) -> String {
    let start = span.map(|s| s.start.min(text.len()));
    let line = start.map(|start| text[..start].matches('\n').count() + 1);
    let found = match (key, start) {
        (None, Some(start)) => {
            key_at(text, start).filter(|key| key.rsplit('.').next().is_some_and(&known))
        }
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
pub(super) struct File {
    pub accounts: BTreeMap<String, Spanned<Section>>,
    pub unknown: Vec<Spanned<String>>,
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
pub(super) struct Section {
    pub provider: Option<Spanned<Scalar>>,
    pub endpoint: Option<Spanned<Scalar>>,
    pub region: Option<Spanned<Scalar>>,
    pub rate: Option<Spanned<Scalar>>,
    pub concurrency: Option<Spanned<Scalar>>,
    pub profile: Option<Spanned<Scalar>>,
    /// The chain settings: whose credentials assume what.
    pub source: Option<Spanned<Scalar>>,
    pub role_arn: Option<Spanned<Scalar>>,
    pub role_urn: Option<Spanned<Scalar>>,
    pub agency_name: Option<Spanned<Scalar>>,
    pub external_id: Option<Spanned<Scalar>>,
    pub session_duration: Option<Spanned<Scalar>>,
    pub sts_endpoint: Option<Spanned<Scalar>>,
    /// A members account: the organisation's member accounts, each through `role_name`.
    pub members: Option<Spanned<Scalar>>,
    pub role_name: Option<Spanned<Scalar>>,
    pub directory_endpoint: Option<Spanned<Scalar>>,
    pub other: Vec<(Spanned<String>, Spanned<Scalar>)>,
    /// Where the section is, for a missing `provider`.
    pub span: std::ops::Range<usize>,
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
                        "source" => &mut s.source,
                        "role_arn" => &mut s.role_arn,
                        "role_urn" => &mut s.role_urn,
                        "agency_name" => &mut s.agency_name,
                        "external_id" => &mut s.external_id,
                        "session_duration" => &mut s.session_duration,
                        "sts_endpoint" => &mut s.sts_endpoint,
                        "members" => &mut s.members,
                        "role_name" => &mut s.role_name,
                        "directory_endpoint" => &mut s.directory_endpoint,
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
pub(super) enum Scalar {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
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
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
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
