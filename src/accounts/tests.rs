use super::*;
use crate::providers::Assume;
use std::collections::HashMap;
use std::path::Path;

fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
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

/// The error that resolving the aliyun account `name` gives, as the user reads it.
fn resolve_err(config: &Config, name: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    match resolve(config, &Overrides::default(), &[aliyun(name)], env, None) {
        Ok(_) => panic!("account {name:?} resolved"),
        Err(e) => e.to_string(),
    }
}

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
        accounts_filter: None,
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
    let plan = resolve_account(
        &Config::default(),
        &Overrides::default(),
        &aliyun(""),
        &env,
        None,
    )
    .unwrap();
    assert_eq!(plan.rate, Some(20.0));
    assert_eq!(plan.concurrency, DEFAULT_CONCURRENCY);
    assert_eq!(plan.endpoint.as_str(), "http://localhost:1234/");
    let plan = resolve_account(
        &Config::default(),
        &Overrides::default(),
        &aliyun(""),
        &env_of(&[]),
        None,
    )
    .unwrap();
    assert_eq!(plan.endpoint.as_str(), "https://ims.aliyuncs.com/");
}

/// An emulator on one loopback port for every provider.
struct OnePort;

impl EmulatorTarget for OnePort {
    fn endpoint(&self, _kind: ProviderKind) -> Url {
        Url::parse("http://127.0.0.1:4321").unwrap()
    }
}

#[test]
fn other_services_from_the_environment_the_default_or_the_emulator() {
    let ram = |env: &[(&str, &str)], emulator: Option<&dyn EmulatorTarget>| {
        resolve_account(
            &Config::default(),
            &Overrides::default(),
            &aliyun(""),
            &env_of(env),
            emulator,
        )
        .map(|plan| plan.services.get("ram").map(Url::to_string))
    };
    assert_eq!(
        ram(&[], None).unwrap().as_deref(),
        Some("https://ram.aliyuncs.com/")
    );
    let env = [("IAMBATCH_ALIYUN_RAM_ENDPOINT", "http://127.0.0.1:9")];
    assert_eq!(
        ram(&env, None).unwrap().as_deref(),
        Some("http://127.0.0.1:9/")
    );
    assert_eq!(
        ram(&env, Some(&OnePort)).unwrap().as_deref(),
        Some("http://127.0.0.1:4321/")
    );
    let Err(e) = ram(
        &[("IAMBATCH_ALIYUN_RAM_ENDPOINT", "http://ram.example")],
        None,
    ) else {
        panic!("plain http to another host was accepted");
    };
    assert!(e.to_string().contains("use https"), "{e}");
    // A provider without other services has none.
    let plan = resolve_account(
        &Config::default(),
        &Overrides::default(),
        &(ProviderKind::Ucloud, String::new()),
        &env_of(&[]),
        None,
    )
    .unwrap();
    assert_eq!(plan.services, Services::default());
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
    assert_eq!(
        e,
        "config file c.toml, line 3, accounts.x.acess_key_id: unknown key; did you mean access_key_id?"
    );
}

fn parse_err(text: &str) -> String {
    Config::parse(text, Path::new("c.toml"), &env_of(&[]))
        .unwrap_err()
        .to_string()
}

#[test]
fn a_syntax_error_names_file_line_and_key_but_not_the_line() {
    let canary = "Canary-In-A-Broken-Line-91ab";
    for broken in [
        format!("access_key_secret = \"{canary}"),
        format!("access_key_secret = {canary}"),
        format!("access_key_secret = '{canary}' x"),
        format!("access_key_secret = \"{canary}\\q\""),
    ] {
        let e = parse_err(&format!(
            "[accounts.hq]\nprovider = \"aliyun\"\n{broken}\nregion = \"x\"\n"
        ));
        assert!(
            e.starts_with(
                "config file c.toml, line 3, accounts.hq.access_key_secret: is not valid TOML"
            ),
            "{e}"
        );
        assert!(!e.contains(&canary[..8]), "{e}");
    }
}

#[test]
fn wrong_kinds_of_values_name_their_key_and_line_not_the_value() {
    let cases = [
        (
            "rate = \"fast-7d2e\"",
            "line 3, accounts.x.rate: must be requests per second",
        ),
        (
            "concurrency = 0",
            "line 3, accounts.x.concurrency: must be a whole number",
        ),
        (
            "access_key_id = 12345",
            "line 3, accounts.x.access_key_id: must be text",
        ),
        (
            "region = [\"cn-7d2e\"]",
            "line 3, accounts.x.region: must be text",
        ),
        (
            "profile = { a = \"7d2e\" }",
            "line 3, accounts.x.profile: must be text",
        ),
    ];
    for (line, want) in cases {
        let e = parse_err(&format!("[accounts.x]\nprovider = \"aliyun\"\n{line}\n"));
        assert!(e.contains(want), "{line}: {e}");
        assert!(!e.contains("7d2e") && !e.contains("12345"), "{e}");
    }
    let e = parse_err("[accounts.x]\nprovider = \"alyun\"\n");
    assert!(
        e.contains("line 2, accounts.x.provider: must be \"aliyun\", \"ucloud\" or \"huawei\""),
        "{e}"
    );
    let e = parse_err("[accounts.x]\nregion = \"r\"\n");
    assert!(e.contains("line 1, accounts.x: has no `provider`"), "{e}");
    let e = parse_err("[acounts.x]\nprovider = \"aliyun\"\n");
    assert!(
        e.contains("line 1, acounts: unknown section; did you mean accounts?"),
        "{e}"
    );
    let e = parse_err("title = \"x\"\n[accounts.x]\nprovider = \"aliyun\"\n");
    assert!(
        e.contains("line 1, title: unknown section or key: only [accounts.NAME] sections are read"),
        "{e}"
    );
    let e = parse_err("accounts = 5\n");
    assert!(e.contains("line 1") && !e.contains('5'), "{e}");
    let e = parse_err("[accounts]\nx = \"5-7d2e\"\n");
    assert!(e.contains("line 2") && !e.contains("7d2e"), "{e}");
}

#[test]
fn unknown_keys_suggest_the_closest_known_key_of_the_provider() {
    let cases = [
        (
            "aliyun",
            "acess_key_secret_env",
            "did you mean access_key_secret_env?",
        ),
        ("aliyun", "endpont", "did you mean endpoint?"),
        ("aliyun", "concurency", "did you mean concurrency?"),
        ("huawei", "domian_id", "did you mean domain_id?"),
        (
            "ucloud",
            "private_key_fiel",
            "did you mean private_key_file?",
        ),
        (
            "ucloud",
            "department",
            "ucloud accounts take endpoint, region, rate, concurrency, profile, and the credentials",
        ),
    ];
    for (provider, key, want) in cases {
        let e = parse_err(&format!(
            "[accounts.x]\nprovider = \"{provider}\"\n{key} = \"v\"\n"
        ));
        assert!(
            e.contains(&format!("line 3, accounts.x.{key}: unknown key; {want}")),
            "{e}"
        );
    }
}

#[test]
fn missing_secret_env_is_reported_only_when_the_account_is_used() {
    let env = env_of(&[("HQ_SECRET", "s1")]);
    let config = Config::parse(CONFIG, Path::new("iambatch.toml"), &env).unwrap();
    assert!(resolve(&config, &Overrides::default(), &[aliyun("hq")], &env, None).is_ok());
    let e = resolve_err(&config, "branch", &env);
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
    let e = resolve_err(&config, "f", &env_of(&[]));
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

const ALIYUN_CLI: &str = r#"{"current": "ops", "profiles": [
    {"name": "ops", "mode": "AK", "access_key_id": "LTAI-cli", "access_key_secret": "cli-secret"},
    {"name": "sts", "mode": "StsToken", "access_key_id": "STS-cli", "access_key_secret": "sts-secret", "sts_token": "sts-token"}
]}"#;

/// A home directory holding `~/.aliyun/config.json`.
fn aliyun_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aliyun")).unwrap();
    std::fs::write(home.path().join(".aliyun/config.json"), ALIYUN_CLI).unwrap();
    home
}

#[test]
fn the_default_account_falls_back_to_the_cli_file_only_without_environment_keys() {
    let home = aliyun_home();
    let h = home.path().display().to_string();
    let env = env_of(&[("HOME", &h)]);
    let plans = resolve(
        &Config::default(),
        &Overrides::default(),
        &[aliyun("")],
        &env,
        None,
    )
    .unwrap();
    assert_eq!(
        plans[0].keys.get("access_key_secret").unwrap().expose(),
        "cli-secret"
    );
    assert!(
        plans[0]
            .credential_source
            .starts_with("aliyun CLI profile 'ops' (mode AK) in "),
        "{}",
        plans[0].credential_source
    );
    assert!(!plans[0].credential_source.contains("cli-secret"));

    let env = env_of(&[("HOME", &h), ("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id")]);
    let plan = resolve_account(
        &Config::default(),
        &Overrides::default(),
        &aliyun(""),
        &env,
        None,
    )
    .unwrap();
    assert_eq!(
        plan.credential_source,
        "environment (ALIBABA_CLOUD_ACCESS_KEY_ID)"
    );
    assert!(plan.keys.get("access_key_secret").is_none());
    // A run cannot use it: the error names the missing key and where it was looked for.
    let e = resolve_err(&Config::default(), "", &env);
    assert!(
        e.starts_with(
            "aliyun: missing credential 'access_key_secret': set ALIBABA_CLOUD_ACCESS_KEY_SECRET"
        ) && e.contains("; nothing was sent\nTo rehearse without any credentials, add --emulator"),
        "{e}"
    );
}

#[test]
fn a_named_account_takes_its_profile_and_its_own_keys_win() {
    let home = aliyun_home();
    let h = home.path().display().to_string();
    let env = env_of(&[("HOME", &h)]);
    let text = "[accounts.sts]\nprovider = \"aliyun\"\nprofile = \"sts\"\n\n\
                [accounts.mixed]\nprovider = \"aliyun\"\nprofile = \"ops\"\naccess_key_id = \"LTAI-own\"\n\n\
                [accounts.typo]\nprovider = \"aliyun\"\nprofile = \"opps\"\n";
    let config = Config::parse(text, Path::new("iambatch.toml"), &env).unwrap();
    let plans = resolve(
        &config,
        &Overrides::default(),
        &[aliyun("sts"), aliyun("mixed")],
        &env,
        None,
    )
    .unwrap();
    assert_eq!(
        plans[0].keys.get("security_token").unwrap().expose(),
        "sts-token"
    );
    assert!(
        plans[0].credential_source.starts_with(
            "config file [accounts.sts] with aliyun CLI profile 'sts' (mode StsToken)"
        ),
        "{}",
        plans[0].credential_source
    );
    assert_eq!(
        plans[1].keys.get("access_key_id").unwrap().expose(),
        "LTAI-own"
    );
    assert_eq!(
        plans[1].keys.get("access_key_secret").unwrap().expose(),
        "cli-secret"
    );
    let e = resolve_err(&config, "typo", &env);
    assert!(
        e.contains("'typo'") && e.contains("no profile 'opps'"),
        "{e}"
    );
}

const CHAINS: &str = r#"
[accounts.hq]
provider = "aliyun"
access_key_id = "LTAI-hq"
access_key_secret_env = "HQ_SECRET"

[accounts.prod]
provider = "aliyun"
source = "hq"
role_arn = "acs:ram::1234567890123456:role/iambatch-operator"
external_id = "ext-1"
session_duration = 3600

[accounts.stage]
provider = "aliyun"
source = "prod"
role_arn = "acs:ram::2234567890123456:role/iambatch-operator"
sts_endpoint = "http://127.0.0.1:7"

[accounts.fromenv]
provider = "aliyun"
source = "aliyun"
role_arn = "acs:ram::3234567890123456:role/r"

[accounts.kl-prod]
provider = "huawei"
source = "huawei"
domain_name = "corp-kl-prod"
agency_name = "iambatch-operator"
"#;

#[test]
fn chained_accounts_resolve_through_their_sources() {
    let env = env_of(&[
        ("HQ_SECRET", "s1"),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "id"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s"),
        ("IAMBATCH_ALIYUN_STS_ENDPOINT", "http://127.0.0.1:9"),
    ]);
    let config = Config::parse(CHAINS, Path::new("c.toml"), &env).unwrap();
    let prod = &config.accounts["prod"];
    assert_eq!(
        prod.chain.as_ref().unwrap().assume,
        Assume::Role {
            role: "acs:ram::1234567890123456:role/iambatch-operator".into(),
            external_id: Some("ext-1".into()),
            duration: Some(3600),
        }
    );
    assert_eq!(
        config.accounts["kl-prod"].chain.as_ref().unwrap().assume,
        Assume::Agency {
            domain_name: Some("corp-kl-prod".into()),
            domain_id: None,
            agency: "iambatch-operator".into(),
            duration: None,
        }
    );
    let plans = resolve(
        &config,
        &Overrides::default(),
        &[aliyun("stage"), aliyun("fromenv")],
        &env,
        None,
    )
    .unwrap();
    let [stage, fromenv] = &plans[..] else {
        panic!()
    };
    assert_eq!(
        stage.credential_source,
        "stage ← prod ← hq (config file [accounts.hq])"
    );
    assert_eq!(stage.root().display, "hq");
    let chain = stage.chain.as_ref().unwrap();
    assert_eq!(chain.sts_endpoint.as_str(), "http://127.0.0.1:7/");
    // The environment's STS endpoint, when the account sets none.
    let prod_chain = chain.source.chain.as_ref().unwrap();
    assert_eq!(prod_chain.sts_endpoint.as_str(), "http://127.0.0.1:9/");
    assert!(
        fromenv
            .credential_source
            .starts_with("fromenv ← aliyun (environment")
    );
    // The source's credentials are checked: without the secret nothing resolves.
    let config = Config::parse(CHAINS, Path::new("c.toml"), &env_of(&[])).unwrap();
    let e = resolve_err(&config, "stage", &env_of(&[]));
    assert!(e.contains("hq"), "{e}");
}

#[test]
fn broken_chains_are_config_errors_naming_the_accounts() {
    let cycle = "[accounts.a]\nprovider = \"aliyun\"\nsource = \"b\"\nrole_arn = \"r\"\n\
                 [accounts.b]\nprovider = \"aliyun\"\nsource = \"a\"\nrole_arn = \"r\"\n";
    let e = parse_err(cycle);
    assert!(
        e.contains("line 3, accounts.a.source") && e.contains("a ← b ← a"),
        "{e}"
    );
    let unknown = "[accounts.a]\nprovider = \"aliyun\"\nsource = \"nope\"\nrole_arn = \"r\"\n";
    let e = parse_err(unknown);
    assert!(e.contains("'a'") && e.contains("'nope'"), "{e}");
    let other = "[accounts.a]\nprovider = \"aliyun\"\nsource = \"u\"\nrole_arn = \"r\"\n\
                 [accounts.u]\nprovider = \"ucloud\"\npublic_key = \"p\"\n";
    let e = parse_err(other);
    assert!(
        e.contains("'a'") && e.contains("'u'") && e.contains("ucloud"),
        "{e}"
    );
    let default_of_other =
        "[accounts.a]\nprovider = \"aliyun\"\nsource = \"huawei\"\nrole_arn = \"r\"\n";
    assert!(parse_err(default_of_other).contains("same provider"));
    let no_role = "[accounts.a]\nprovider = \"aliyun\"\nsource = \"aliyun\"\n";
    assert!(parse_err(no_role).contains("needs role_arn"));
    let no_source = "[accounts.a]\nprovider = \"aliyun\"\nrole_arn = \"r\"\n";
    assert!(parse_err(no_source).contains("set `source`"));
    let wrong_kind = "[accounts.a]\nprovider = \"huawei\"\nsource = \"huawei\"\nrole_arn = \"r\"\n";
    assert!(parse_err(wrong_kind).contains("agency_name"));
    let keys_too = "[accounts.a]\nprovider = \"aliyun\"\nsource = \"aliyun\"\nrole_arn = \"r\"\naccess_key_id = \"k\"\n";
    assert!(parse_err(keys_too).contains("accounts.a.access_key_id"));
    let no_domain =
        "[accounts.a]\nprovider = \"huawei\"\nsource = \"huawei\"\nagency_name = \"g\"\n";
    assert!(parse_err(no_domain).contains("domain_name"));
}

const MEMBERS: &str = r#"
[accounts.hq]
provider = "aliyun"
access_key_id = "LTAI-hq"
access_key_secret_env = "HQ_SECRET"

[accounts.org]
provider = "aliyun"
source = "hq"
members = true
rate = 4
concurrency = 2

[accounts.corp]
provider = "huawei"
source = "huawei"
members = true
role_name = "iambatch-operator"
directory_endpoint = "http://127.0.0.1:8"
"#;

#[test]
fn a_members_account_and_its_members_resolve_through_the_source() {
    let env = env_of(&[
        ("HQ_SECRET", "s1"),
        (
            "IAMBATCH_ALIYUN_RESOURCEMANAGER_ENDPOINT",
            "http://127.0.0.1:9",
        ),
        ("HUAWEICLOUD_SDK_AK", "ak"),
        ("HUAWEICLOUD_SDK_SK", "sk"),
        ("HUAWEICLOUD_SDK_DOMAIN_ID", "d0"),
    ]);
    let config = Config::parse(MEMBERS, Path::new("c.toml"), &env).unwrap();
    assert!(config.accounts["org"].members);
    assert_eq!(config.members_accounts().len(), 2);
    let overrides = Overrides {
        rate: vec![("org/1000000000000102".into(), Rate::PerSecond(9.0))],
        concurrency: vec![("org".into(), 5)],
        ..Overrides::default()
    };
    let plans = resolve(
        &config,
        &overrides,
        &[
            aliyun("org"),
            aliyun("org/1000000000000101"),
            aliyun("org/1000000000000102"),
            (ProviderKind::Huawei, "corp/0a1b2c".into()),
            (ProviderKind::Huawei, "corp".into()),
        ],
        &env,
        None,
    )
    .unwrap();
    let [org, m1, m2, corp_member, corp] = &plans[..] else {
        panic!()
    };
    // The members account itself is listed with the source's credentials at its directory.
    assert_eq!(
        org.directory.as_ref().unwrap().as_str(),
        "http://127.0.0.1:9/"
    );
    assert_eq!(
        corp.directory.as_ref().unwrap().as_str(),
        "http://127.0.0.1:8/"
    );
    // Each member: the default role in that account, the org's settings, one member's own rate.
    let chain = m1.chain.as_ref().unwrap();
    assert_eq!(
        chain.assume,
        Assume::Role {
            role: "acs:ram::1000000000000101:role/ResourceDirectoryAccountAccessRole".into(),
            external_id: None,
            duration: None,
        }
    );
    assert_eq!(chain.source.display, "hq");
    assert!(m1.directory.is_none());
    assert_eq!(m1.display, "org/1000000000000101");
    assert_eq!(
        m1.credential_source,
        "org/1000000000000101 ← hq (config file [accounts.hq])"
    );
    assert_eq!((m1.rate, m1.concurrency), (Some(4.0), 5));
    assert_eq!((m2.rate, m2.concurrency), (Some(9.0), 5));
    assert_eq!(
        corp_member.chain.as_ref().unwrap().assume,
        Assume::Agency {
            domain_name: None,
            domain_id: Some("0a1b2c".into()),
            agency: "iambatch-operator".into(),
            duration: None,
        }
    );
    // A member's name must be an id; an account that is not a members account has no members.
    let e = resolve_err(&config, "org/12-3", &env);
    assert!(e.contains("not an account id"), "{e}");
    let e = resolve_err(&config, "hq/123", &env);
    assert!(e.contains("not in the config file"), "{e}");
    // NAME=VALUE may name a member.
    assert!(overrides.check_names(&config).is_ok());
    let unknown = Overrides {
        rate: vec![("hq/1".into(), Rate::Unlimited)],
        ..Overrides::default()
    };
    assert!(unknown.check_names(&config).is_err());
}

#[test]
fn members_settings_are_checked_naming_file_line_and_key() {
    let section = |provider: &str, lines: &str| {
        format!(
            "[accounts.hq]\nprovider = \"{provider}\"\nprofile = \"p\"\n[accounts.org]\nprovider = \"{provider}\"\n{lines}"
        )
    };
    let cases = [
        (
            section("aliyun", "members = true\n"),
            "line 6, accounts.org.members",
            "needs `source`",
        ),
        (
            section(
                "aliyun",
                "source = \"hq\"\nmembers = true\nrole_arn = \"r\"\n",
            ),
            "line 8, accounts.org.role_arn",
            "role_name",
        ),
        (
            section(
                "huawei",
                "source = \"hq\"\nmembers = true\nrole_name = \"g\"\nagency_name = \"g\"\n",
            ),
            "line 9, accounts.org.agency_name",
            "role_name",
        ),
        (
            section(
                "huawei",
                "source = \"hq\"\nmembers = true\nrole_name = \"g\"\ndomain_name = \"d\"\n",
            ),
            "line 9, accounts.org.domain_name",
            "account id",
        ),
        (
            section("huawei", "source = \"hq\"\nmembers = true\n"),
            "line 7, accounts.org.members",
            "needs role_name",
        ),
        (
            section("aliyun", "source = \"hq\"\nrole_name = \"r\"\n"),
            "line 7, accounts.org.role_name",
            "members = true",
        ),
        (
            section("ucloud", "source = \"hq\"\nmembers = true\n"),
            "line 7, accounts.org.members",
            "ucloud has no account directory iambatch can list",
        ),
        (
            section("aliyun", "source = \"hq\"\nmembers = \"yes\"\n"),
            "line 7, accounts.org.members",
            "true or false",
        ),
    ];
    for (text, at, says) in cases {
        let e = parse_err(&text);
        assert!(e.contains(at) && e.contains(says), "{text}\n→ {e}");
    }
    // A members account is no source: each member is an account, the organisation is not.
    let source = section("aliyun", "source = \"hq\"\nmembers = true\n")
        + "[accounts.x]\nprovider = \"aliyun\"\nsource = \"org\"\nrole_arn = \"r\"\n";
    let e = parse_err(&source);
    assert!(e.contains("members account"), "{e}");
}

#[test]
fn the_filter_keeps_active_members_it_names_and_finds_ids_that_are_none() {
    let member = |id: &str, active: bool| Member {
        id: id.into(),
        name: String::new(),
        status: if active { "CreateSuccess" } else { "Removed" }.into(),
        active,
    };
    let listed = [
        member("101", true),
        member("102", true),
        member("103", false),
    ];
    let all = Overrides::default();
    let (used, unknown) = all.used_members(&listed);
    assert_eq!(
        used.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        ["101", "102"]
    );
    assert!(unknown.is_empty());
    let filtered = Overrides {
        accounts_filter: Some(["102", "103", "999"].map(String::from).into()),
        ..Overrides::default()
    };
    let (used, unknown) = filtered.used_members(&listed);
    assert_eq!(
        used.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        ["102"]
    );
    assert_eq!(unknown, ["103", "999"]);
}

#[test]
fn filter_ids_compare_in_any_case() {
    let filter = Overrides {
        accounts_filter: Some(["0A1B".to_string()].into()),
        ..Overrides::default()
    };
    assert!(filter.allows("0a1b") && !filter.allows("0a1c"));
    assert!(filter.unmatched(&["0a1b"]).is_empty());
    assert_eq!(filter.unmatched(&["0a1c"]), ["0A1B"]);
}

#[test]
fn an_account_name_with_a_slash_is_refused_at_its_line() {
    let text =
        "[accounts.hq]\nprovider = \"aliyun\"\n\n[accounts.\"org/123\"]\nprovider = \"aliyun\"\n";
    let e = parse_err(text);
    assert!(
        e.contains("line 4") && e.contains("cannot contain '/'"),
        "{e}"
    );
}
