//! Credentials from the official CLIs' files and `iambatch accounts`, through the real binary with
//! HOME pointing at the test's temp dir.

use crate::util::{Harness, cell, read_results};
use iambatch::emulator::EmulatorConfig;

/// Secret values planted in the fixtures: none may appear in any output.
const CANARIES: &[&str] = &[
    "canary-aliyun-secret",
    "canary-sts-token",
    "canary-ucloud-private",
    "canary-huawei-sk",
    "canary-env-secret",
];

fn aliyun_config(current: &str, id: &str, secret: &str) -> String {
    format!(
        r#"{{"current": "{current}", "profiles": [
            {{"name": "{current}", "mode": "AK", "access_key_id": "{id}", "access_key_secret": "{secret}",
              "sts_token": "", "region_id": "cn-hangzhou", "output_format": "json", "language": "en"}},
            {{"name": "sts", "mode": "StsToken", "access_key_id": "STS.cli", "access_key_secret": "canary-aliyun-secret",
              "sts_token": "canary-sts-token", "region_id": "cn-hangzhou"}},
            {{"name": "role", "mode": "RamRoleArn", "access_key_id": "LTAI.role", "access_key_secret": "canary-aliyun-secret",
              "ram_role_arn": "acs:ram::1:role/ops", "ram_session_name": "s"}}
        ], "meta_path": ""}}"#
    )
}

const UCLOUD_CREDENTIALS: &str = r#"[
    {"public_key": "ucloud-default-public", "private_key": "canary-ucloud-private", "profile": "default"},
    {"public_key": "ucloud-ops-public", "private_key": "canary-ucloud-private", "profile": "ops"}
]"#;
const UCLOUD_CONFIG: &str = r#"[
    {"project_id": "org-1", "region": "cn-bj2", "zone": "cn-bj2-02", "base_url": "https://api.ucloud.cn/",
     "timeout_sec": 15, "profile": "default", "active": false},
    {"project_id": "org-2", "region": "cn-sh2", "zone": "cn-sh2-02", "base_url": "https://api.ucloud.cn/",
     "timeout_sec": 15, "profile": "ops", "active": true}
]"#;
const HUAWEI_CREDENTIALS: &str = "\
[basic]
ak = HW-BASIC-AK
sk = canary-huawei-sk
project_id = 0a1b2c

[global]
ak = HW-GLOBAL-AK
sk = canary-huawei-sk
domain_id = 0d0d0d
";

/// Writes `~/.aliyun/config.json`, `~/.ucloud/{credential,config}.json`, `~/.huaweicloud/credentials`.
fn cli_files(h: &Harness) {
    for dir in [".aliyun", ".ucloud", ".huaweicloud"] {
        std::fs::create_dir_all(h.path(dir)).unwrap();
    }
    h.write(
        ".aliyun/config.json",
        &aliyun_config("default", "LTAI.cli", "canary-aliyun-secret"),
    );
    h.write(".ucloud/credential.json", UCLOUD_CREDENTIALS);
    h.write(".ucloud/config.json", UCLOUD_CONFIG);
    h.write(".huaweicloud/credentials", HUAWEI_CREDENTIALS);
}

fn no_canary(text: &str) {
    for canary in CANARIES {
        assert!(!text.contains(canary), "{canary} leaked into:\n{text}");
    }
}

/// Runs the command; (exit code, stdout, stderr), with no secret in either stream.
fn outcome(cmd: &mut assert_cmd::Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    no_canary(&stdout);
    no_canary(&stderr);
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

/// The table line of an account.
fn row<'a>(stdout: &'a str, account: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(account))
        .unwrap_or_else(|| panic!("no line for {account} in:\n{stdout}"))
}

#[test]
fn accounts_shows_every_file_format_as_a_source_and_never_a_secret() {
    let h = Harness::new();
    cli_files(&h);
    h.write(
        "iambatch.toml",
        "[accounts.sts]\nprovider = \"aliyun\"\nprofile = \"sts\"\nrate = 5\n\n\
         [accounts.basic]\nprovider = \"huawei\"\nprofile = \"basic\"\ndomain_id = \"0d0d0d\"\n\n\
         [accounts.env]\nprovider = \"ucloud\"\npublic_key = \"pub\"\nprivate_key_env = \"ENV_SECRET\"\nconcurrency = 2\n",
    );
    let (code, stdout, stderr) = outcome(
        h.cmd()
            .arg("accounts")
            .env("ENV_SECRET", "canary-env-secret"),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let home = h.dir.path().display().to_string();
    let aliyun = row(&stdout, "aliyun");
    assert!(aliyun.contains("ready") && aliyun.contains("https://ims.aliyuncs.com/"));
    assert!(
        aliyun.contains(&format!(
            "aliyun CLI profile 'default' (mode AK) in {home}/.aliyun/config.json"
        )),
        "{aliyun}"
    );
    assert!(
        row(&stdout, "sts")
            .contains("config file [accounts.sts] with aliyun CLI profile 'sts' (mode StsToken)")
    );
    assert!(row(&stdout, "sts").contains("5/s"));
    assert!(
        row(&stdout, "ucloud").contains(&format!(
            "ucloud CLI profile 'ops' in {home}/.ucloud/credential.json"
        )),
        "the active profile of config.json"
    );
    assert!(row(&stdout, "huawei").contains(&format!(
        "Huawei Cloud credentials file {home}/.huaweicloud/credentials [global]"
    )));
    assert!(row(&stdout, "basic").contains("[basic]"));
    let env = row(&stdout, "env");
    assert!(
        env.contains("config file [accounts.env]") && env.contains(" 2 "),
        "{env}"
    );
}

#[test]
fn profile_variables_ignore_switch_and_moved_files_are_honoured() {
    let h = Harness::new();
    cli_files(&h);
    std::fs::rename(
        h.path(".huaweicloud/credentials"),
        h.path("hw-credentials.ini"),
    )
    .unwrap();
    let (code, stdout, _) = outcome(
        h.cmd()
            .arg("accounts")
            .env("ALIBABA_CLOUD_PROFILE", "sts")
            .env("UCLOUD_PROFILE", "default")
            .env("HUAWEICLOUD_SDK_CREDENTIALS_FILE", "~/hw-credentials.ini"),
    );
    assert_eq!(code, 0);
    assert!(row(&stdout, "aliyun").contains("profile 'sts' (mode StsToken)"));
    assert!(row(&stdout, "ucloud").contains("profile 'default'"));
    assert!(row(&stdout, "huawei").contains("hw-credentials.ini [global]"));

    let (code, stdout, stderr) = outcome(
        h.cmd()
            .arg("accounts")
            .env("ALIBABA_CLOUD_IGNORE_PROFILE", "TRUE"),
    );
    assert_eq!(code, 0, "an unconfigured default account is only a note");
    assert!(
        row(&stdout, "aliyun").contains("no credentials"),
        "{stdout}"
    );
    assert!(
        stderr.contains("note: aliyun: missing credential"),
        "{stderr}"
    );
}

#[test]
fn a_profile_iambatch_cannot_use_stops_before_anything_is_sent() {
    let h = Harness::new();
    cli_files(&h);
    let input = h.write(
        "in.csv",
        "provider,action,user\naliyun,get-login-profile,a@corp.onaliyun.com\n",
    );
    let (code, stdout, stderr) = outcome(
        h.cmd()
            .args(["accounts", input.to_str().unwrap()])
            .env("ALIBABA_CLOUD_PROFILE", "role"),
    );
    assert_eq!(code, 2);
    assert!(row(&stdout, "aliyun").contains("error"));
    assert!(
        stderr.contains("profile 'role' uses mode RamRoleArn") && stderr.contains("AK"),
        "{stderr}"
    );
    let (code, _, stderr) = outcome(
        h.cmd()
            .args(["run", input.to_str().unwrap(), "--no-progress"])
            .env("ALIBABA_CLOUD_PROFILE", "role"),
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("mode RamRoleArn"), "{stderr}");
    assert!(!h.path("in.results.csv").exists());
}

#[test]
fn accounts_of_an_input_need_credentials() {
    let h = Harness::new();
    let input = h.write(
        "in.csv",
        "provider,action,user,mfa_bind_required\nucloud,update-login-profile,alice,true\n",
    );
    let (code, stdout, stderr) = outcome(h.cmd().args(["accounts", input.to_str().unwrap()]));
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert_eq!(stdout.lines().count(), 2, "only the account the file uses");
    assert!(stderr.contains("error: ucloud: missing credential 'public_key'"));
    cli_files(&h);
    let (code, stdout, _) = outcome(h.cmd().args(["accounts", input.to_str().unwrap()]));
    assert_eq!(code, 0);
    assert!(row(&stdout, "ucloud").contains("ready"));
}

#[test]
fn a_run_signs_with_the_aliyun_cli_profile() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    std::fs::create_dir_all(h.path(".aliyun")).unwrap();
    h.write(
        ".aliyun/config.json",
        &aliyun_config("emu", "emulator-aliyun-key", "emulator-aliyun-secret"),
    );
    let input = h.write_input(
        "in.csv",
        "provider,action,user,password\naliyun,create-login-profile,cli@corp.onaliyun.com,Passw0rd-123\n",
    );
    let mut cmd = h.cmd();
    cmd.env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        .args(["run", input.to_str().unwrap(), "--no-progress", "-v"]);
    let (code, _, stderr) = outcome(&mut cmd);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("aliyun CLI profile 'emu' (mode AK)"),
        "{stderr}"
    );
    assert!(!stderr.contains("emulator-aliyun-secret"));
    let (header, rows) = read_results(&h.path("in.results.csv"));
    assert_eq!(cell(&header, &rows[0], "status"), "succeeded");
    assert!(h.state()["aliyun"]["users"]["cli@corp.onaliyun.com"]["login_profile"].is_object());
}

#[test]
fn every_account_without_credentials_is_named_at_once() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let input = h.write(
        "three.csv",
        "provider,action,user,user_name\n\
         aliyun,get-login-profile,jia.chen@eng.onaliyun.com,\n\
         ucloud,get-login-profile,an.zhou,\n\
         huawei,get-login-protect,,ahmad.razak\n",
    );
    // The emulator's endpoints, but no credentials anywhere: the environment holds none, and
    // HOME is the test's empty temp dir.
    let mut cmd = h.std_cmd();
    for var in [
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "UCLOUD_PUBLIC_KEY",
        "UCLOUD_PRIVATE_KEY",
        "HUAWEICLOUD_SDK_AK",
        "HUAWEICLOUD_SDK_SK",
        "HUAWEICLOUD_SDK_DOMAIN_ID",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("3 accounts cannot be used; nothing was sent"),
        "{stderr}"
    );
    for (account, looked_for) in [
        ("aliyun", "ALIBABA_CLOUD_ACCESS_KEY_ID"),
        ("aliyun", "~/.aliyun/config.json"),
        ("ucloud", "UCLOUD_PUBLIC_KEY"),
        ("huawei", "HUAWEICLOUD_SDK_AK"),
    ] {
        assert!(
            stderr.lines().any(|l| l
                .trim_start()
                .starts_with(&format!("{account}: missing credential"))
                && l.contains(looked_for)),
            "{account} {looked_for}: {stderr}"
        );
    }
    assert!(stderr.contains("add --emulator"), "{stderr}");
    assert!(h.emulator().requests().is_empty());
    assert!(!h.path("three.results.csv").exists());
}
