//! The Huawei Cloud SDKs' credentials file (docs/providers.md §3.6): `~/.huaweicloud/credentials`, or
//! `HUAWEICLOUD_SDK_CREDENTIALS_FILE`, an INI file with a `[global]` section (global services such
//! as IAM: `ak`, `sk`, `domain_id`, optional `security_token`) and a `[basic]` one (regional
//! services, with `project_id`). We read `[global]`, else `[basic]`; a config account's `profile`
//! names the section.

use crate::providers::Keys;
use crate::providers::cli_files::{CliKeys, CliLookup};
use crate::secret::Secret;
use std::collections::BTreeMap;

const KEYS: &[&str] = &["ak", "sk", "domain_id", "security_token"];

pub fn read(lookup: &CliLookup<'_>, profile: Option<&str>) -> Result<Option<CliKeys>, String> {
    let Some((path, text)) = lookup.credentials_file(
        Some("HUAWEICLOUD_SDK_CREDENTIALS_FILE"),
        ".huaweicloud/credentials",
        profile.is_some(),
    )?
    else {
        return Ok(None);
    };
    let (section, keys) =
        section_keys(&text, profile).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some(CliKeys {
        keys,
        source: format!(
            "Huawei Cloud credentials file {} [{section}]",
            path.display()
        ),
    }))
}

/// The keys of section `wanted`, else `global`, else `basic`: (section name, keys).
fn section_keys(text: &str, wanted: Option<&str>) -> Result<(String, Keys), String> {
    let sections = parse_ini(text)?;
    let pick = |name: &str| sections.iter().find(|(s, _)| s.eq_ignore_ascii_case(name));
    let found = match wanted {
        Some(name) => pick(name),
        None => pick("global").or_else(|| pick("basic")),
    };
    let Some((section, values)) = found else {
        let names: Vec<&str> = sections.keys().map(String::as_str).collect();
        return Err(format!(
            "has no [{}] section (it has: {})",
            wanted.unwrap_or("global"),
            names.join(", ")
        ));
    };
    if values.contains_key("idp_id") && !values.contains_key("ak") {
        return Err(format!(
            "[{section}] holds federated credentials (idp_id, id_token_file), which iambatch cannot use: give ak, sk and domain_id"
        ));
    }
    let mut keys = Keys::default();
    for key in KEYS {
        if let Some(v) = values.get(*key).filter(|v| !v.is_empty()) {
            keys.insert(key, Secret::new(v.as_str()));
        }
    }
    // domain_id may come from the config account instead; connecting reports it if missing.
    for key in ["ak", "sk"] {
        if keys.get(key).is_none() {
            return Err(format!(
                "[{section}] has no {key}: IAM needs ak, sk and domain_id (the account ID, shown on the console's My Credentials page)"
            ));
        }
    }
    Ok((section.clone(), keys))
}

/// Sections of `key = value` (or `key: value`) lines, as Python's configparser reads them for this
/// file: keys lower-cased, values trimmed, `#` and `;` comment lines skipped.
fn parse_ini(text: &str) -> Result<BTreeMap<String, BTreeMap<String, String>>, String> {
    let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim().to_string();
            sections.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        // Line numbers only: a line may hold a secret.
        let Some((key, value)) = line.split_once(['=', ':']) else {
            return Err(format!(
                "line {} is neither [section] nor key = value",
                i + 1
            ));
        };
        let Some(section) = &current else {
            return Err(format!("line {} comes before any [section]", i + 1));
        };
        sections
            .get_mut(section)
            .expect("section entered")
            .insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const FILE: &str = "\
# written by hand
[basic]
ak = BASIC-AK
sk = basic-sk
project_id = 0123

[global]
AK = GLOBAL-AK
sk: global-sk
domain_id = dom-1
security_token =
";

    fn get(keys: &Keys, k: &str) -> Option<String> {
        keys.get(k).map(|s| s.expose().to_string())
    }

    #[test]
    fn global_first_then_basic_or_the_named_section() {
        let (section, keys) = section_keys(FILE, None).unwrap();
        assert_eq!(section, "global");
        assert_eq!(get(&keys, "ak").as_deref(), Some("GLOBAL-AK"));
        assert_eq!(get(&keys, "sk").as_deref(), Some("global-sk"));
        assert_eq!(get(&keys, "security_token"), None, "empty is unset");
        let (_, keys) = section_keys(FILE, Some("basic")).unwrap();
        assert_eq!(get(&keys, "ak").as_deref(), Some("BASIC-AK"));
        assert_eq!(get(&keys, "domain_id"), None);
        let e = section_keys("[global]\nak = a\n", None).unwrap_err();
        assert!(e.contains("[global] has no sk"), "{e}");
        let basic_only = "[basic]\nak=a\nsk=s\ndomain_id=d\nsecurity_token=t\n";
        let (section, keys) = section_keys(basic_only, None).unwrap();
        assert_eq!(section, "basic");
        assert_eq!(get(&keys, "security_token").as_deref(), Some("t"));
    }

    #[test]
    fn malformed_files_and_federation_are_explained_without_values() {
        let e = section_keys("ak = secret-ak\n", None).unwrap_err();
        assert!(e.contains("line 1") && !e.contains("secret-ak"), "{e}");
        let e = section_keys("[global]\nsecret-line-without-equals\n", None).unwrap_err();
        assert!(e.contains("line 2") && !e.contains("secret-line"), "{e}");
        let e = section_keys("[other]\nak=a\n", None).unwrap_err();
        assert!(e.contains("no [global]") && e.contains("other"), "{e}");
        let e = section_keys("[global]\nidp_id=x\nid_token_file=/t\n", None).unwrap_err();
        assert!(e.contains("federated"), "{e}");
    }

    #[test]
    fn the_file_from_the_environment_variable_must_exist() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path().display().to_string();
        let env = |k: &str| match k {
            "HOME" => Some(h.clone()),
            _ => None,
        };
        assert!(read(&CliLookup { env: &env }, None).unwrap().is_none());
        let file = home.path().join("hw.ini");
        let f = file.display().to_string();
        let vars: HashMap<&str, String> =
            [("HOME", h.clone()), ("HUAWEICLOUD_SDK_CREDENTIALS_FILE", f)].into();
        let env = |k: &str| vars.get(k).cloned();
        assert!(
            read(&CliLookup { env: &env }, None)
                .unwrap_err()
                .contains("does not exist")
        );
        std::fs::write(&file, FILE).unwrap();
        let found = read(&CliLookup { env: &env }, None).unwrap().unwrap();
        assert!(
            found.source.ends_with("hw.ini [global]"),
            "{}",
            found.source
        );
    }
}
