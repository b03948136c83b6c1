use super::*;
use std::collections::HashMap;
use std::path::Path;

fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

const CONFIG: &str = r#"
[accounts.hq]
provider = "aliyun"
access_key_id = "LTAI-hq"
access_key_secret_env = "HQ_SECRET"
rate = 5
concurrency = 3

[accounts.branch]
provider = "aliyun"
access_key_id = "LTAI-branch"
access_key_secret_env = "BRANCH_SECRET"
"#;

fn aliyun(name: &str) -> AccountKey {
    (ProviderKind::Aliyun, name.to_string())
}

#[test]
fn precedence_account_then_config_then_provider_then_default() {
    let env = env_of(&[
        ("HQ_SECRET", "s1"),
        ("BRANCH_SECRET", "s2"),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "id"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s"),
    ]);
    let config = Config::parse(CONFIG, Path::new("iambatch.toml"), &env).unwrap();
    let overrides = Overrides {
        rate: vec![
            ("aliyun".into(), Rate::PerSecond(7.0)),
            ("hq".into(), Rate::PerSecond(2.0)),
        ],
        concurrency: vec![("aliyun".into(), 6)],
        concurrency_all: Some(4),
        endpoint: vec![("aliyun".into(), "http://127.0.0.1:9".into())],
    };
    let plans = resolve(
        &config,
        &overrides,
        &[aliyun(""), aliyun("hq"), aliyun("branch")],
        &env,
        None,
    )
    .unwrap();
    let [default, hq, branch] = &plans[..] else {
        panic!()
    };
    assert_eq!((default.rate, default.concurrency), (Some(7.0), 6));
    assert_eq!((hq.rate, hq.concurrency), (Some(2.0), 3));
    assert_eq!((branch.rate, branch.concurrency), (Some(7.0), 6));
    assert_eq!(hq.endpoint.as_str(), "http://127.0.0.1:9/");
    assert_eq!(hq.keys.get("access_key_secret").unwrap().expose(), "s1");
    assert_eq!(default.keys.get("access_key_id").unwrap().expose(), "id");
    assert!(
        default
            .credential_source
            .contains("ALIBABA_CLOUD_ACCESS_KEY_ID")
    );
    assert!(!default.credential_source.contains("id\""));
}

#[test]
fn defaults_and_environment_endpoint() {
    let env = env_of(&[("IAMBATCH_ALIYUN_ENDPOINT", "http://localhost:1234")]);
    let plans = resolve(
        &Config::default(),
        &Overrides::default(),
        &[aliyun("")],
        &env,
        None,
    )
    .unwrap();
    assert_eq!(plans[0].rate, Some(20.0));
    assert_eq!(plans[0].concurrency, DEFAULT_CONCURRENCY);
    assert_eq!(plans[0].endpoint.as_str(), "http://localhost:1234/");
    let plans = resolve(
        &Config::default(),
        &Overrides::default(),
        &[aliyun("")],
        &env_of(&[]),
        None,
    )
    .unwrap();
    assert_eq!(plans[0].endpoint.as_str(), "https://ims.aliyuncs.com/");
}

#[test]
fn secrets_cannot_be_inline_and_unknown_keys_are_named() {
    let env = env_of(&[]);
    let inline = "[accounts.x]\nprovider = \"aliyun\"\naccess_key_secret = \"oops-secret\"\n";
    let e = Config::parse(inline, Path::new("c.toml"), &env)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("access_key_secret_env") && !e.contains("oops-secret"),
        "{e}"
    );
    let unknown = "[accounts.x]\nprovider = \"aliyun\"\nacess_key_id = \"a\"\n";
    let e = Config::parse(unknown, Path::new("c.toml"), &env)
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown key `acess_key_id`"), "{e}");
}

#[test]
fn missing_secret_env_is_reported_only_when_the_account_is_used() {
    let env = env_of(&[("HQ_SECRET", "s1")]);
    let config = Config::parse(CONFIG, Path::new("iambatch.toml"), &env).unwrap();
    assert!(resolve(&config, &Overrides::default(), &[aliyun("hq")], &env, None).is_ok());
    let e = resolve(
        &config,
        &Overrides::default(),
        &[aliyun("branch")],
        &env,
        None,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("BRANCH_SECRET") && e.contains("branch"), "{e}");
}

#[test]
fn secret_from_file_and_plain_http_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.txt"), "from-file\n").unwrap();
    let text = "[accounts.f]\nprovider = \"aliyun\"\naccess_key_id = \"i\"\naccess_key_secret_file = \"secret.txt\"\nendpoint = \"http://ims.example.com\"\n";
    let config = Config::parse(text, &dir.path().join("iambatch.toml"), &env_of(&[])).unwrap();
    assert_eq!(
        config.accounts["f"]
            .keys
            .as_ref()
            .unwrap()
            .get("access_key_secret")
            .unwrap()
            .expose(),
        "from-file"
    );
    let e = resolve(
        &config,
        &Overrides::default(),
        &[aliyun("f")],
        &env_of(&[]),
        None,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("plain http"), "{e}");
}

#[test]
fn override_names_must_exist() {
    let overrides = Overrides {
        rate: vec![("hqq".into(), Rate::Unlimited)],
        ..Default::default()
    };
    let e = overrides
        .check_names(&Config::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("'hqq'"), "{e}");
}
