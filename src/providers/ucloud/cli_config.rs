//! The ucloud CLI's and SDK's shared files (docs/providers.md §1.5): `~/.ucloud/credential.json`, an
//! array of `{"public_key", "private_key", "profile"}`, and `~/.ucloud/config.json`, an array of
//! `{"profile", "active", ...}`. The profile is the one a config account names, else
//! `UCLOUD_PROFILE`, else the active one of config.json, else `default` (the CLI's). The paths may be
//! moved with `UCLOUD_SHARED_CREDENTIAL_FILE` and `UCLOUD_SHARED_CONFIG_FILE`.

use crate::providers::Keys;
use crate::providers::cli_files::{CliKeys, CliLookup};
use crate::secret::Secret;
use serde::Deserialize;

#[derive(Deserialize)]
struct Credential {
    #[serde(default)]
    profile: String,
    public_key: Option<String>,
    private_key: Option<String>,
}

#[derive(Deserialize)]
struct Settings {
    #[serde(default)]
    profile: String,
    #[serde(default)]
    active: bool,
}

pub fn read(lookup: &CliLookup<'_>, profile: Option<&str>) -> Result<Option<CliKeys>, String> {
    let Some((path, text)) = lookup.credentials_file(
        Some("UCLOUD_SHARED_CREDENTIAL_FILE"),
        ".ucloud/credential.json",
        profile.is_some(),
    )?
    else {
        return Ok(None);
    };
    let name = match profile
        .map(str::to_string)
        .or_else(|| lookup.var(&["UCLOUD_PROFILE"]))
    {
        Some(name) => name,
        None => active_profile(lookup)?.unwrap_or_else(|| "default".into()),
    };
    let keys = profile_keys(&text, &name).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some(CliKeys {
        keys,
        source: format!("ucloud CLI profile '{name}' in {}", path.display()),
    }))
}

/// The profile marked active in config.json, if the file is there.
fn active_profile(lookup: &CliLookup<'_>) -> Result<Option<String>, String> {
    let Some((path, text)) = lookup.credentials_file(
        Some("UCLOUD_SHARED_CONFIG_FILE"),
        ".ucloud/config.json",
        false,
    )?
    else {
        return Ok(None);
    };
    let settings: Vec<Settings> = serde_json::from_str(&text)
        .map_err(|e| format!("{}: is not a ucloud CLI config file ({e})", path.display()))?;
    Ok(settings
        .into_iter()
        .rev()
        .find(|s| s.active && !s.profile.is_empty())
        .map(|s| s.profile))
}

fn profile_keys(text: &str, name: &str) -> Result<Keys, String> {
    let credentials: Vec<Credential> = serde_json::from_str(text)
        .map_err(|e| format!("is not a ucloud CLI credential file ({e})"))?;
    let names: Vec<String> = credentials.iter().map(|c| c.profile.clone()).collect();
    // The SDK takes the last entry of a name.
    let Some(c) = credentials.into_iter().rev().find(|c| c.profile == name) else {
        return Err(format!(
            "has no profile '{name}' (it has: {}); create it with `ucloud init` or `ucloud config add --profile {name}`",
            names.join(", ")
        ));
    };
    let mut keys = Keys::default();
    for (key, value) in [("public_key", c.public_key), ("private_key", c.private_key)] {
        match value {
            Some(v) if !v.is_empty() => keys.insert(key, Secret::new(v)),
            _ => return Err(format!("profile '{name}' has no {key}")),
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::Path;

    const CREDENTIALS: &str = r#"[
        {"public_key": "pub-default", "private_key": "priv-default", "profile": "default"},
        {"public_key": "pub-ops", "private_key": "priv-ops", "profile": "ops"},
        {"public_key": "pub-half", "profile": "half"}
    ]"#;
    const SETTINGS: &str = r#"[
        {"project_id": "org-1", "region": "cn-bj2", "zone": "cn-bj2-02", "base_url": "https://api.ucloud.cn",
         "timeout_sec": 15, "profile": "default", "active": false},
        {"project_id": "org-2", "region": "cn-sh2", "zone": "cn-sh2-02", "base_url": "https://api.ucloud.cn",
         "timeout_sec": 30, "profile": "ops", "active": true}
    ]"#;

    fn env_in(home: &Path, vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let mut map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.insert("HOME".into(), home.display().to_string());
        move |k| map.get(k).cloned()
    }

    fn public_key(found: &CliKeys) -> &str {
        found.keys.get("public_key").unwrap().expose()
    }

    #[test]
    fn profile_by_name_environment_active_or_default() {
        let home = tempfile::tempdir().unwrap();
        let env = env_in(home.path(), &[]);
        assert!(read(&CliLookup { env: &env }, None).unwrap().is_none());

        let dir = home.path().join(".ucloud");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("credential.json"), CREDENTIALS).unwrap();
        let found = read(&CliLookup { env: &env }, None).unwrap().unwrap();
        assert_eq!(public_key(&found), "pub-default", "no config.json: default");
        assert!(found.source.starts_with("ucloud CLI profile 'default' in "));

        std::fs::write(dir.join("config.json"), SETTINGS).unwrap();
        let found = read(&CliLookup { env: &env }, None).unwrap().unwrap();
        assert_eq!(public_key(&found), "pub-ops", "the active profile");
        let env = env_in(home.path(), &[("UCLOUD_PROFILE", "default")]);
        let found = read(&CliLookup { env: &env }, None).unwrap().unwrap();
        assert_eq!(public_key(&found), "pub-default");
        let found = read(&CliLookup { env: &env }, Some("ops"))
            .unwrap()
            .unwrap();
        assert_eq!(found.keys.get("private_key").unwrap().expose(), "priv-ops");
    }

    #[test]
    fn moved_files_must_exist_and_problems_name_no_value() {
        let home = tempfile::tempdir().unwrap();
        let env = env_in(
            home.path(),
            &[("UCLOUD_SHARED_CREDENTIAL_FILE", "~/creds.json")],
        );
        let e = read(&CliLookup { env: &env }, None).unwrap_err();
        assert!(
            e.contains("creds.json") && e.contains("does not exist"),
            "{e}"
        );
        std::fs::write(home.path().join("creds.json"), CREDENTIALS).unwrap();
        let e = read(&CliLookup { env: &env }, Some("half")).unwrap_err();
        assert!(
            e.contains("no private_key") && !e.contains("pub-half"),
            "{e}"
        );
        let e = read(&CliLookup { env: &env }, Some("x")).unwrap_err();
        assert!(
            e.contains("no profile 'x'") && e.contains("default, ops, half"),
            "{e}"
        );
        std::fs::write(home.path().join("creds.json"), "{").unwrap();
        let e = read(&CliLookup { env: &env }, None).unwrap_err();
        assert!(e.contains("not a ucloud CLI credential file"), "{e}");
    }
}
