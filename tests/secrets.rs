//! docs/contract.md §7: passwords, secret keys, private keys and tokens appear in no output, log, error or
//! results file. One canary per kind of secret, driven through every command and mode.

use crate::util::{CANARY_PASSWORD, Harness};
use iambatch::emulator::{
    EmulatorConfig, HUAWEI_DOMAIN_NAME, ISSUED_SECRET_PREFIX, ISSUED_TOKEN_PREFIX, Knobs,
};
use iambatch::jobs::ProviderKind;
use iambatch::secret::Secret;

const ALIYUN_SECRET: &str = "Canary-Aliyun-Secret-5c1d";
const UCLOUD_PRIVATE: &str = "Canary-Ucloud-Private-77e0";
const HUAWEI_PASSWORD: &str = "Canary-Huawei-Password-a93f";
const HUAWEI_SK: &str = "Canary-Huawei-SK-41b2";

/// The last two are in every temporary secret and token the emulator issues: aliyun STS keys,
/// huawei temporary AK/SK, and every huawei token (a password user's and an agency's).
const CANARIES: [&str; 7] = [
    CANARY_PASSWORD,
    ALIYUN_SECRET,
    UCLOUD_PRIVATE,
    HUAWEI_PASSWORD,
    HUAWEI_SK,
    ISSUED_SECRET_PREFIX,
    ISSUED_TOKEN_PREFIX,
];

/// Everything a run left for a person to see: stdout, stderr, and every file in the dir but the
/// inputs (the log, the results, the journal).
fn assert_no_canary(h: &Harness, output: &std::process::Output, what: &str) {
    let mut seen = String::from_utf8_lossy(&output.stdout).into_owned();
    seen += &String::from_utf8_lossy(&output.stderr);
    for entry in std::fs::read_dir(h.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // The inputs hold the canaries on purpose.
        if path.is_file()
            && !["canary.csv", "ucloud.key", "bad.toml", "secrets.csv"].contains(&name.as_str())
        {
            seen += &String::from_utf8_lossy(&std::fs::read(&path).unwrap());
        }
    }
    for canary in CANARIES {
        for form in [
            canary.to_string(),
            iambatch::providers::encoding::rfc3986(canary),
        ] {
            assert!(!seen.contains(&form), "{what}: '{canary}' leaked:\n{seen}");
        }
    }
}

fn harness() -> Harness {
    Harness::with_emulator(EmulatorConfig {
        seed: 5,
        knobs: Knobs {
            fault_rate: 0.2,
            drop_rate: 0.1,
            ..Default::default()
        },
        accounts: vec![
            (
                ProviderKind::Aliyun,
                "canary-key".into(),
                Secret::new(ALIYUN_SECRET),
            ),
            (
                ProviderKind::Ucloud,
                "canary-public".into(),
                Secret::new(UCLOUD_PRIVATE),
            ),
            (
                ProviderKind::Huawei,
                "canary-admin".into(),
                Secret::new(HUAWEI_PASSWORD),
            ),
            (
                ProviderKind::Huawei,
                "canary-ak".into(),
                Secret::new(HUAWEI_SK),
            ),
        ],
        ..Default::default()
    })
}

/// The role `ali-role` assumes with `ali`'s key.
const ROLE: &str = "acs:ram::1000000000000001:role/canary";
/// The emulated huawei account's id, which AK/SK requests name.
const HUAWEI_DOMAIN_ID: &str = "emulator-huawei-domain";
/// The agency `hw-agency` (an agency token of the password user `hw`) and `hw-ak-agency`
/// (temporary AK/SK of the AK/SK account `hw-ak`) assume.
const AGENCY: &str = "canary-agency";
/// The one member of `ali-org`'s resource directory, reached with `ali`'s key.
const MEMBER: &str = "1000000000000301";

fn config(h: &Harness) -> String {
    let e = h.emulator();
    format!(
        r#"
[accounts.ali]
provider = "aliyun"
endpoint = "{0}"
access_key_id = "canary-key"
access_key_secret_env = "ALI_SECRET"

[accounts.ali-role]
provider = "aliyun"
endpoint = "{0}"
sts_endpoint = "{0}"
source = "ali"
role_arn = "{ROLE}"

[accounts.ali-org]
provider = "aliyun"
endpoint = "{0}"
sts_endpoint = "{0}"
directory_endpoint = "{0}"
source = "ali"
members = true

[accounts.uc]
provider = "ucloud"
endpoint = "{1}"
public_key = "canary-public"
private_key_file = "ucloud.key"

[accounts.hw]
provider = "huawei"
endpoint = "{2}"
user_name = "canary-admin"
password_env = "HW_PASSWORD"
domain_name = "{HUAWEI_DOMAIN_NAME}"

[accounts.hw-agency]
provider = "huawei"
endpoint = "{2}"
source = "hw"
domain_name = "{HUAWEI_DOMAIN_NAME}"
agency_name = "{AGENCY}"

[accounts.hw-ak]
provider = "huawei"
endpoint = "{2}"
ak = "canary-ak"
sk_env = "HW_SK"
domain_id = "{HUAWEI_DOMAIN_ID}"

[accounts.hw-ak-agency]
provider = "huawei"
endpoint = "{2}"
source = "hw-ak"
domain_id = "{HUAWEI_DOMAIN_ID}"
agency_name = "{AGENCY}"
"#,
        e.endpoint(ProviderKind::Aliyun),
        e.endpoint(ProviderKind::Ucloud),
        e.endpoint(ProviderKind::Huawei)
    )
}

fn input(h: &Harness) -> String {
    h.write_input(
        "canary.csv",
        &format!(
            "provider,account,action,user,password,mfa_bind_required,login_protect_enabled,verification_method\n\
             aliyun,ali,ensure-login-profile,a@corp.onaliyun.com,{CANARY_PASSWORD},true,,\n\
             aliyun,ali,ensure-login-profile,b@corp.onaliyun.com,{CANARY_PASSWORD},true,,\n\
             aliyun,ali,create-login-profile,not-a-principal,{CANARY_PASSWORD},true,,\n\
             aliyun,ali,bogus-action,c@corp.onaliyun.com,{CANARY_PASSWORD},,,\n\
             aliyun,ali-role,ensure-login-profile,e@corp.onaliyun.com,{CANARY_PASSWORD},true,,\n\
             ucloud,uc,update-login-profile,carol,{CANARY_PASSWORD},true,,\n\
             ucloud,uc,get-login-profile,carol,,,,\n\
             huawei,hw,set-login-protect,dave,,,true,vmfa\n\
             huawei,hw,get-login-protect,dave,,,,\n\
             huawei,hw-agency,set-login-protect,erin,,,true,vmfa\n\
             huawei,hw-ak-agency,set-login-protect,fay,,,true,vmfa\n"
        ),
    )
    .to_str()
    .unwrap()
    .to_string()
}

#[test]
fn canaries_never_leak_through_any_command_or_mode() {
    let h = harness();
    h.write("iambatch.toml", &config(&h));
    h.emulator()
        .tamper(&serde_json::json!({
            "aliyun": {
                "sts": {"roles": {
                    ROLE: {"trusted": ["canary-key"]},
                    format!("acs:ram::{MEMBER}:role/ResourceDirectoryAccountAccessRole"):
                        {"trusted": ["canary-key"]},
                }},
                "accounts": {MEMBER: {"name": "canary-member", "status": "CreateSuccess", "users": {
                    format!("m@{MEMBER}.onaliyun.com"): {"login_profile": {"status": "Active",
                        "mfa_bind_required": false, "password_reset_required": false,
                        "password": "Member-Pw-0001!"}}}}},
            },
            "huawei": {"sts": {"roles": {
                format!("{HUAWEI_DOMAIN_NAME}/{AGENCY}"): {"trusted": ["canary-admin"]},
                format!("{HUAWEI_DOMAIN_ID}/{AGENCY}"): {"trusted": ["canary-ak"]},
            }}},
        }))
        .unwrap();
    h.write("ucloud.key", &format!("{UCLOUD_PRIVATE}\n"));
    let input = input(&h);
    let run = |args: &[&str], env: &[(&str, &str)], what: &str| {
        let mut cmd = h.cmd();
        cmd.env("ALI_SECRET", ALIYUN_SECRET)
            .env("HW_PASSWORD", HUAWEI_PASSWORD)
            .env("HW_SK", HUAWEI_SK);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let output = cmd.args(args).output().unwrap();
        assert_no_canary(&h, &output, what);
        output
    };
    let log = h.path("log.txt");
    let log = log.to_str().unwrap();

    run(&["validate", &input], &[], "validate with problems");
    run(
        &["run", &input, "--no-progress"],
        &[],
        "run refused for invalid rows",
    );
    for (i, mode) in [
        vec!["-vv"],
        vec!["-vv", "--log-format", "json"],
        vec!["-vv", "--log-file", log],
        vec!["-vv", "--log-format", "json", "--log-file", log, "--verify"],
    ]
    .into_iter()
    .enumerate()
    {
        let mut args = vec![
            "run",
            input.as_str(),
            "--no-progress",
            "--skip-invalid",
            "--overwrite",
            "--max-attempts",
            "10",
        ];
        args.extend(mode);
        let out = run(&args, &[], &format!("run mode {i}"));
        assert!(
            out.status.code() == Some(1),
            "invalid rows make exit 1: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The canaries did their work: every valid row reached its provider.
    let (header, rows) = crate::util::read_results(&h.path("canary.results.csv"));
    let statuses: Vec<&str> = rows
        .iter()
        .map(|r| crate::util::cell(&header, r, "status"))
        .collect();
    assert_eq!(
        statuses,
        [
            "succeeded",
            "succeeded",
            "invalid",
            "invalid",
            "succeeded",
            "succeeded",
            "succeeded",
            "succeeded",
            "succeeded",
            "succeeded",
            "succeeded"
        ]
    );
    let state = h.state();
    assert_eq!(
        state["ucloud"]["users"]["carol"]["login_profile"]["mfa_bind_required"],
        true
    );
    for (args, what) in [
        (
            vec![
                "plan",
                input.as_str(),
                "--no-progress",
                "--skip-invalid",
                "-vv",
                "--overwrite",
            ],
            "plan",
        ),
        (
            vec![
                "verify",
                input.as_str(),
                "--no-progress",
                "--skip-invalid",
                "-vv",
                "--overwrite",
            ],
            "verify",
        ),
        (
            vec!["run", input.as_str(), "--dry-run", "--skip-invalid", "-vv"],
            "dry run",
        ),
    ] {
        let out = run(&args, &[], what);
        assert!(
            !out.stdout.is_empty() || !out.stderr.is_empty(),
            "{what} said something"
        );
    }
    // Wrong credentials: the providers' error replies (Alibaba's quotes its string to sign).
    run(
        &[
            "run",
            &input,
            "--no-progress",
            "--skip-invalid",
            "--overwrite",
            "-vv",
        ],
        &[
            ("ALI_SECRET", "wrong-secret"),
            ("HW_PASSWORD", "wrong-password"),
            ("HW_SK", "wrong-sk"),
        ],
        "wrong credentials",
    );
    // A config error that names a secret's variable.
    h.write("bad.toml", "[accounts.ali]\nprovider = \"aliyun\"\naccess_key_id = \"k\"\naccess_key_secret = \"Canary-Aliyun-Secret-5c1d\"\n");
    let out = run(
        &["--config", "bad.toml", "validate", &input],
        &[],
        "config error",
    );
    assert_eq!(out.status.code(), Some(2));
    // A members account: the directory listed and each member's users exported with temporary
    // keys of its role, then every account checked.
    let out = run(
        &["export", "ali-org", "-o", "org.csv", "--no-progress", "-vv"],
        &[],
        "export of a members account",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = std::fs::read_to_string(h.path("org.csv")).unwrap();
    assert!(
        exported.contains(&format!("ali-org/{MEMBER}")),
        "{exported}"
    );
    let out = run(&["accounts", "--check", "-vv"], &[], "accounts --check");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(MEMBER), "{said}");
}

#[test]
fn a_malformed_config_names_file_line_and_key_and_never_its_secret() {
    let h = Harness::new();
    h.write(
        "canary.csv",
        "provider,action,user\nucloud,get-login-profile,a@x.com\n",
    );
    let broken = [
        // An unterminated string: toml's own message would quote the line.
        (
            format!("access_key_secret = \"{ALIYUN_SECRET}"),
            ", accounts.ali.access_key_secret",
        ),
        // A value where a string belongs (serde's type errors quote values).
        (
            format!("access_key_secret_env = {ALIYUN_SECRET}"),
            ", accounts.ali.access_key_secret_env",
        ),
        // A secret pasted on a line of its own: what comes before `=` is no key iambatch knows,
        // so only the line is named.
        (format!("{ALIYUN_SECRET}=="), ""),
    ];
    for (case, (line, key)) in broken.into_iter().enumerate() {
        h.write(
            "bad.toml",
            &format!("[accounts.ali]\nprovider = \"aliyun\"\naccess_key_id = \"k\"\n{line}\n"),
        );
        for args in [
            &["run", "canary.csv", "--no-progress"][..],
            &["plan", "canary.csv"],
            &["export", "aliyun", "-o", "exported.csv"],
            &["accounts"],
        ] {
            let out = h
                .cmd()
                .args(["--config", "bad.toml"])
                .args(args)
                .output()
                .unwrap();
            let what = format!("{args:?} with broken line {case}");
            assert_eq!(out.status.code(), Some(2), "{what}");
            assert_no_canary(&h, &out, &what);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains(&format!("config file bad.toml, line 4{key}: ")),
                "{what}: {stderr}"
            );
        }
    }
}
