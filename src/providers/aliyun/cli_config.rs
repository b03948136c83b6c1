//! The aliyun CLI's `~/.aliyun/config.json` (docs/providers.md §2.7): `{"current": NAME, "profiles":
//! [{"name", "mode", "access_key_id", "access_key_secret", "sts_token", ...}]}`. The profile is the
//! one a config account names, else `ALIBABACLOUD_PROFILE` / `ALIBABA_CLOUD_PROFILE` /
//! `ALICLOUD_PROFILE`, else `current` (as the CLI chooses); `ALIBABA_CLOUD_IGNORE_PROFILE=TRUE`
//! skips the file. Only the modes with keys in the file, AK and StsToken, can sign our requests.

use crate::providers::Keys;
use crate::providers::cli_files::{CliKeys, CliLookup};
use crate::secret::Secret;
use serde::Deserialize;

const PROFILE_VARS: &[&str] = &[
    "ALIBABACLOUD_PROFILE",
    "ALIBABA_CLOUD_PROFILE",
    "ALICLOUD_PROFILE",
];
const IGNORE_VARS: &[&str] = &[
    "ALIBABA_CLOUD_IGNORE_PROFILE",
    "ALIBABACLOUD_IGNORE_PROFILE",
];

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    current: String,
    #[serde(default)]
    profiles: Vec<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    #[serde(default)]
    name: String,
    #[serde(default)]
    mode: String,
    access_key_id: Option<String>,
    access_key_secret: Option<String>,
    sts_token: Option<String>,
}

/// The credentials of the chosen profile, if the file is there (or an account names a profile).
pub fn read(lookup: &CliLookup<'_>, profile: Option<&str>) -> Result<Option<CliKeys>, String> {
    let named = profile.is_some();
    if !named
        && lookup
            .var(IGNORE_VARS)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Ok(None);
    }
    let Some((path, text)) = lookup.credentials_file(None, ".aliyun/config.json", named)? else {
        return Ok(None);
    };
    let wanted = profile
        .map(str::to_string)
        .or_else(|| lookup.var(PROFILE_VARS));
    let (name, mode, keys) =
        profile_keys(&text, wanted.as_deref()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some(CliKeys {
        keys,
        source: format!(
            "aliyun CLI profile '{name}' (mode {mode}) in {}",
            path.display()
        ),
    }))
}

/// The keys of profile `wanted` (else the file's current one): (name, mode, keys).
fn profile_keys(text: &str, wanted: Option<&str>) -> Result<(String, String, Keys), String> {
    let file: ConfigFile = serde_json::from_str(text)
        .map_err(|e| format!("is not an aliyun CLI config file ({e})"))?;
    let name = wanted
        .filter(|n| !n.is_empty())
        .or(Some(file.current.as_str()).filter(|n| !n.is_empty()))
        .unwrap_or("default")
        .to_string();
    let names: Vec<String> = file.profiles.iter().map(|p| p.name.clone()).collect();
    let Some(p) = file.profiles.into_iter().rev().find(|p| p.name == name) else {
        return Err(format!(
            "has no profile '{name}' (it has: {}); create it with `aliyun configure --profile {name}`",
            names.join(", ")
        ));
    };
    let with_token = if p.mode.eq_ignore_ascii_case("AK") {
        false
    } else if p.mode.eq_ignore_ascii_case("StsToken") {
        true
    } else if p.mode.is_empty() {
        return Err(format!(
            "profile '{name}' is not configured (it has no mode): run `aliyun configure --profile {name}`"
        ));
    } else {
        return Err(format!(
            "profile '{name}' uses mode {}, which iambatch cannot use: it reads AK and StsToken profiles. Configure one with `aliyun configure --profile NAME --mode AK`, or set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            p.mode
        ));
    };
    let mut keys = Keys::default();
    let mut put = |key: &str, value: Option<String>, field: &str| match value {
        Some(v) if !v.is_empty() => {
            keys.insert(key, Secret::new(v));
            Ok(())
        }
        _ => Err(format!(
            "profile '{name}' (mode {}) has no {field}: run `aliyun configure --profile {name} --mode {}`",
            p.mode, p.mode
        )),
    };
    put("access_key_id", p.access_key_id, "access_key_id")?;
    put(
        "access_key_secret",
        p.access_key_secret,
        "access_key_secret",
    )?;
    if with_token {
        put("security_token", p.sts_token, "sts_token")?;
    }
    Ok((name, p.mode, keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"{
        "current": "ops",
        "profiles": [
            {"name": "default", "mode": "AK", "access_key_id": "LTAI-default",
             "access_key_secret": "secret-default", "sts_token": "", "region_id": "cn-hangzhou",
             "output_format": "json", "language": "en"},
            {"name": "ops", "mode": "StsToken", "access_key_id": "STS-ops",
             "access_key_secret": "secret-ops", "sts_token": "token-ops"},
            {"name": "role", "mode": "RamRoleArn", "access_key_id": "LTAI-role",
             "access_key_secret": "secret-role", "ram_role_arn": "acs:ram::1:role/x"},
            {"name": "blank", "mode": ""}
        ],
        "meta_path": ""
    }"#;

    fn get(keys: &Keys, k: &str) -> String {
        keys.get(k)
            .map(|s| s.expose().to_string())
            .unwrap_or_default()
    }

    #[test]
    fn the_current_profile_or_the_one_asked_for() {
        let (name, mode, keys) = profile_keys(CONFIG, None).unwrap();
        assert_eq!((name.as_str(), mode.as_str()), ("ops", "StsToken"));
        assert_eq!(get(&keys, "access_key_id"), "STS-ops");
        assert_eq!(get(&keys, "security_token"), "token-ops");
        let (name, _, keys) = profile_keys(CONFIG, Some("default")).unwrap();
        assert_eq!(name, "default");
        assert_eq!(get(&keys, "access_key_secret"), "secret-default");
        assert!(keys.get("security_token").is_none(), "AK ignores sts_token");
    }

    #[test]
    fn other_modes_unknown_profiles_and_bad_files_are_named_without_values() {
        let e = profile_keys(CONFIG, Some("role")).unwrap_err();
        assert!(e.contains("mode RamRoleArn") && e.contains("AK"), "{e}");
        assert!(!e.contains("secret-role"), "{e}");
        let e = profile_keys(CONFIG, Some("blank")).unwrap_err();
        assert!(e.contains("not configured"), "{e}");
        let e = profile_keys(CONFIG, Some("nope")).unwrap_err();
        assert!(
            e.contains("'nope'") && e.contains("default, ops, role, blank"),
            "{e}"
        );
        let e = profile_keys("{\"profiles\": 3}", None).unwrap_err();
        assert!(e.contains("not an aliyun CLI config file"), "{e}");
        let e = profile_keys(
            r#"{"profiles":[{"name":"default","mode":"StsToken","access_key_id":"a","access_key_secret":"b"}]}"#,
            None,
        )
        .unwrap_err();
        assert!(e.contains("no sts_token"), "{e}");
    }

    fn lookup_in(
        home: &std::path::Path,
        vars: &[(&str, &str)],
    ) -> impl Fn(&str) -> Option<String> + use<> {
        let mut map: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.insert("HOME".into(), home.display().to_string());
        move |k| map.get(k).cloned()
    }

    #[test]
    fn environment_profile_ignore_switch_and_missing_file() {
        let home = tempfile::tempdir().unwrap();
        let env = lookup_in(home.path(), &[]);
        assert!(read(&CliLookup { env: &env }, None).unwrap().is_none());
        let e = read(&CliLookup { env: &env }, Some("ops")).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");

        std::fs::create_dir(home.path().join(".aliyun")).unwrap();
        std::fs::write(home.path().join(".aliyun/config.json"), CONFIG).unwrap();
        let env = lookup_in(home.path(), &[("ALIBABA_CLOUD_PROFILE", "default")]);
        let found = read(&CliLookup { env: &env }, None).unwrap().unwrap();
        assert_eq!(get(&found.keys, "access_key_id"), "LTAI-default");
        assert!(
            found
                .source
                .starts_with("aliyun CLI profile 'default' (mode AK) in ")
                && found.source.ends_with(".aliyun/config.json"),
            "{}",
            found.source
        );
        let named = read(&CliLookup { env: &env }, Some("ops"))
            .unwrap()
            .unwrap();
        assert_eq!(get(&named.keys, "access_key_id"), "STS-ops");

        let env = lookup_in(home.path(), &[("ALIBABA_CLOUD_IGNORE_PROFILE", "TRUE")]);
        assert!(read(&CliLookup { env: &env }, None).unwrap().is_none());
        assert!(
            read(&CliLookup { env: &env }, Some("ops"))
                .unwrap()
                .is_some()
        );
    }
}
