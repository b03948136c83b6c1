//! Accounts reached through a role: the source's long-term key only ever calls STS, the rows of
//! each chained account are signed with its own temporary credentials, renewed as they expire.

use crate::util::{Harness, cell, read_results, unix_now};
use iambatch::emulator::EmulatorConfig;
use iambatch::jobs::ProviderKind;
use iambatch::secret::Secret;
use serde_json::{Value, json};
use std::time::Duration;

const SOURCE_KEY: &str = "ops-key";
const SOURCE_SECRET: &str = "ops-secret-4b1e";

/// Role N is in account N: the emulator's own account for 1, a member of its organisation for
/// the others.
fn account_id(n: u32) -> String {
    format!("10000000000000{n:02}")
}

fn role(n: u32) -> String {
    format!("acs:ram::{}:role/iambatch-operator", account_id(n))
}

fn upn(n: u32, i: usize) -> String {
    format!("u{n}-{i}@corp.onaliyun.com")
}

/// An emulator that knows `ops-key`, with `token_ttl` as the lifetime of what it issues.
fn harness(token_ttl: Duration) -> Harness {
    Harness::with_emulator(EmulatorConfig {
        accounts: vec![(
            ProviderKind::Aliyun,
            SOURCE_KEY.into(),
            Secret::new(SOURCE_SECRET),
        )],
        token_ttl,
        ..Default::default()
    })
}

/// Declares `roles` (by number) assumable by `ops-key`.
fn trust(h: &Harness, roles: &[u32]) {
    let roles: serde_json::Map<String, Value> = roles
        .iter()
        .map(|n| (role(*n), json!({"trusted": [SOURCE_KEY]})))
        .collect();
    h.emulator()
        .tamper(&json!({"aliyun": {"sts": {"roles": roles}}}))
        .unwrap();
}

/// `hq` with the long-term key, and `prodN` through role N for each of `accounts`.
fn config(h: &Harness, accounts: &[u32]) {
    let mut text = String::from(
        "[accounts.hq]\nprovider = \"aliyun\"\naccess_key_id = \"ops-key\"\naccess_key_secret_env = \"OPS_SECRET\"\n",
    );
    for n in accounts {
        text += &format!(
            "\n[accounts.prod{n}]\nprovider = \"aliyun\"\nsource = \"hq\"\nrole_arn = \"{}\"\n",
            role(*n)
        );
    }
    h.write("iambatch.toml", &text);
}

/// `rows` create rows for each account; their users exist in the emulator's own account.
fn input(h: &Harness, accounts: &[u32], rows: usize) -> String {
    let mut csv = String::from("provider,account,action,user,password,mfa_bind_required\n");
    for n in accounts {
        for i in 0..rows {
            csv += &format!(
                "aliyun,prod{n},create-login-profile,{},Init-{i:04}-pw!x,true\n",
                upn(*n, i)
            );
        }
    }
    let path = h.write_input("roles.csv", &csv);
    path.to_str().unwrap().to_string()
}

/// Makes each of `accounts` but 1 a member of the emulator's organisation, holding the `rows`
/// users of its rows as its own.
fn members_with_users(h: &Harness, accounts: &[u32], rows: usize) {
    let members: serde_json::Map<String, Value> = (accounts.iter().filter(|n| **n != 1))
        .map(|n| {
            let users: serde_json::Map<String, Value> =
                (0..rows).map(|i| (upn(*n, i), json!({}))).collect();
            (account_id(*n), json!({"users": users}))
        })
        .collect();
    h.emulator()
        .tamper(&json!({"aliyun": {"accounts": members}}))
        .unwrap();
}

fn run(h: &Harness, input: &str, extra: &[&str]) -> std::process::Output {
    let mut cmd = h.cmd();
    cmd.env("OPS_SECRET", SOURCE_SECRET)
        .env(
            "IAMBATCH_ALIYUN_STS_ENDPOINT",
            h.emulator().endpoint(ProviderKind::Aliyun).as_str(),
        )
        .args(["run", input, "--no-progress"])
        .args(extra);
    cmd.output().unwrap()
}

fn of_action<'a>(log: &'a [Value], action: &str) -> Vec<&'a Value> {
    log.iter().filter(|l| l["action"] == action).collect()
}

#[test]
fn three_accounts_through_one_sources_role() {
    let h = harness(Duration::from_secs(3600));
    trust(&h, &[1, 2, 3]);
    config(&h, &[1, 2, 3]);
    let input = input(&h, &[1, 2, 3], 4);
    members_with_users(&h, &[1, 2, 3], 4);
    let out = run(&h, &input, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (header, rows) = read_results(&h.path("roles.results.csv"));
    assert_eq!(rows.len(), 12);
    for row in &rows {
        assert_eq!(cell(&header, row, "status"), "succeeded", "{row:?}");
    }
    let log = h.emulator().requests();
    // One AssumeRole per account, each with the source's key; every IMS request with an
    // issued key, three keys in all.
    let assumed = of_action(&log, "AssumeRole");
    assert_eq!(assumed.len(), 3, "{assumed:?}");
    assert!(assumed.iter().all(|l| l["account"] == SOURCE_KEY));
    let creates = of_action(&log, "CreateLoginProfile");
    assert_eq!(creates.len(), 12);
    let mut keys: Vec<&str> = creates
        .iter()
        .map(|l| l["account"].as_str().unwrap())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(keys.iter().all(|k| k.starts_with("STS.")), "{keys:?}");
    // Each login profile landed in its role's account: the log says where each create acted,
    // and only that account's user has a profile (the same names exist in ours too).
    for create in &creates {
        let user = create["user"].as_str().unwrap();
        let n: u32 = user[1..2].parse().unwrap();
        assert_eq!(create["account_id"], account_id(n), "{create}");
    }
    let state = &h.emulator().state()["aliyun"];
    for n in [1, 2, 3] {
        let theirs = match n {
            1 => state,
            n => &state["accounts"][account_id(n)],
        };
        for i in 0..4 {
            let profile = &theirs["users"][upn(n, i)]["login_profile"];
            assert_eq!(profile["mfa_bind_required"], true, "{}", upn(n, i));
            if n != 1 {
                assert_eq!(state["users"][upn(n, i)]["login_profile"], Value::Null);
            }
        }
    }
}

#[test]
fn temporary_credentials_are_renewed_during_a_run_longer_than_their_lifetime() {
    // Credentials for 2 s, renewed with half a second left; 30 rows at 10/s take 3 s or more.
    let h = harness(Duration::from_secs(2));
    trust(&h, &[1]);
    config(&h, &[1]);
    let input = input(&h, &[1], 30);
    let out = run(&h, &input, &["--rate", "prod1=10", "--concurrency", "2"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (header, rows) = read_results(&h.path("roles.results.csv"));
    assert!(
        rows.iter()
            .all(|r| cell(&header, r, "status") == "succeeded")
    );
    let log = h.emulator().requests();
    let assumed = of_action(&log, "AssumeRole");
    let creates = of_action(&log, "CreateLoginProfile");
    let expired = log
        .iter()
        .filter(|l| l["code"] == "InvalidSecurityToken.Expired")
        .count();
    let time = |l: &&Value| l["time"].as_f64().unwrap();
    let first = assumed.first().map(time).unwrap();
    let last = creates.iter().map(time).fold(0.0, f64::max);
    assert!(last < unix_now());
    // One request per renewal period (three quarters of the lifetime), plus one per reply that
    // said the credentials expired.
    let periods = ((last - first) / 1.5).floor() as usize;
    assert!(
        assumed.len() >= 2,
        "renewed at least once in {:.1} s: {assumed:?}",
        last - first
    );
    assert!(
        assumed.len() <= periods + 1 + expired,
        "{} AssumeRole in {:.1} s with {expired} expired replies",
        assumed.len(),
        last - first
    );
    // No request was signed with credentials past their expiry but those the expired replies name.
    assert_eq!(creates.len(), 30 + expired);
}

#[test]
fn a_role_that_cannot_be_assumed_stops_only_its_account() {
    let h = harness(Duration::from_secs(3600));
    trust(&h, &[1]);
    config(&h, &[1, 2]);
    let input = input(&h, &[1, 2], 5);
    members_with_users(&h, &[1, 2], 5);
    let out = run(&h, &input, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    let (header, rows) = read_results(&h.path("roles.results.csv"));
    assert_eq!(rows.len(), 10);
    for row in &rows {
        match cell(&header, row, "account") {
            "prod1" => assert_eq!(cell(&header, row, "status"), "succeeded", "{row:?}"),
            _ => {
                assert_eq!(
                    cell(&header, row, "error_code"),
                    "account_stopped",
                    "{row:?}"
                );
                let message = cell(&header, row, "error_message");
                for part in [role(2).as_str(), "'hq'", "EntityNotExist.Role"] {
                    assert!(message.contains(part), "{part} not in {message}");
                }
            }
        }
    }
    let log = h.emulator().requests();
    assert_eq!(of_action(&log, "AssumeRole").len(), 2);
    assert_eq!(of_action(&log, "CreateLoginProfile").len(), 5);
}

#[test]
fn accounts_shows_each_chain_and_check_proves_access() {
    let h = harness(Duration::from_secs(3600));
    trust(&h, &[1]);
    config(&h, &[1, 2]);
    let accounts = |extra: &[&str]| {
        let out = h
            .cmd()
            .env("OPS_SECRET", SOURCE_SECRET)
            .env(
                "IAMBATCH_ALIYUN_STS_ENDPOINT",
                h.emulator().endpoint(ProviderKind::Aliyun).as_str(),
            )
            .env(
                "IAMBATCH_ALIYUN_ENDPOINT",
                h.emulator().endpoint(ProviderKind::Aliyun).as_str(),
            )
            .arg("accounts")
            .args(extra)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stdout.contains(SOURCE_SECRET) && !stderr.contains(SOURCE_SECRET));
        (out.status.code(), stdout, stderr)
    };
    let (code, stdout, stderr) = accounts(&[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("prod1 ← hq (config file [accounts.hq])"),
        "{stdout}"
    );
    // Nothing was asked of STS without --check.
    assert!(of_action(&h.emulator().requests(), "AssumeRole").is_empty());

    let (code, stdout, stderr) = accounts(&["--check"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let line = |account: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("check {account}: ")))
            .unwrap_or_else(|| panic!("no check of {account} in {stdout}"))
            .to_string()
    };
    assert!(line("hq").contains(": ok (a page"), "{stdout}");
    assert!(
        line("prod1").contains(": ok (1 temporary-credential request"),
        "{stdout}"
    );
    let failed = line("prod2");
    assert!(
        failed.contains("failed")
            && failed.contains("EntityNotExist.Role")
            && failed.contains(&role(2)),
        "{failed}"
    );
    let log = h.emulator().requests();
    assert_eq!(of_action(&log, "AssumeRole").len(), 2);
}

#[test]
fn a_ucloud_account_through_a_role() {
    let h = Harness::with_emulator(EmulatorConfig {
        accounts: vec![(
            ProviderKind::Ucloud,
            "ops-public".into(),
            Secret::new(SOURCE_SECRET),
        )],
        ..Default::default()
    });
    let urn = "ucs:iam::200000002:role/iambatch-operator";
    h.emulator()
        .tamper(&json!({"ucloud": {"sts": {"roles": {urn: {"trusted": ["ops-public"]}}}}}))
        .unwrap();
    h.write(
        "iambatch.toml",
        &format!(
            "[accounts.uhq]\nprovider = \"ucloud\"\npublic_key = \"ops-public\"\nprivate_key_env = \"OPS_SECRET\"\n\n\
             [accounts.uprod]\nprovider = \"ucloud\"\nsource = \"uhq\"\nrole_urn = \"{urn}\"\n"
        ),
    );
    let mut csv = String::from("provider,account,action,user,mfa_bind_required\n");
    for i in 0..3 {
        csv += &format!("ucloud,uprod,update-login-profile,carol{i},true\n");
    }
    let input = h.write_input("u.csv", &csv);
    let out = h
        .cmd()
        .env("OPS_SECRET", SOURCE_SECRET)
        .env(
            "IAMBATCH_UCLOUD_STS_ENDPOINT",
            h.emulator().endpoint(ProviderKind::Ucloud).as_str(),
        )
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (header, rows) = read_results(&h.path("u.results.csv"));
    assert!(
        rows.iter()
            .all(|r| cell(&header, r, "status") == "succeeded"),
        "{rows:?}"
    );
    let log = h.emulator().requests();
    let assumed = of_action(&log, "AssumeRole");
    assert_eq!(assumed.len(), 1);
    assert_eq!(assumed[0]["account"], "ops-public");
    let updates = of_action(&log, "UpdateLoginProfile");
    assert_eq!(updates.len(), 3);
    assert!(updates.iter().all(|l| l["account"] != "ops-public"));
}

#[test]
fn credentials_that_expire_early_are_renewed_once_without_costing_an_attempt() {
    let h = harness(Duration::from_secs(3600));
    trust(&h, &[1]);
    config(&h, &[1]);
    let input = input(&h, &[1], 20);
    let mut cmd = h.std_cmd();
    cmd.env("OPS_SECRET", SOURCE_SECRET)
        .env(
            "IAMBATCH_ALIYUN_STS_ENDPOINT",
            h.emulator().endpoint(ProviderKind::Aliyun).as_str(),
        )
        .args(["run", &input, "--no-progress", "--rate", "prod1=10"])
        .args(["--concurrency", "1", "--max-attempts", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let creates = || of_action(&h.emulator().requests(), "CreateLoginProfile").len();
    crate::util::wait_until(Duration::from_secs(20), "five rows sent", || creates() >= 5);
    // The cloud ends the session early (revoked, or a clock ahead of ours).
    h.emulator()
        .tamper(&json!({"aliyun": {"sts": {"expire_issued": true}}}))
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let (header, rows) = read_results(&h.path("roles.results.csv"));
    assert_eq!(rows.len(), 20);
    // With one attempt allowed, every row still succeeded in one: the renewal was not an attempt.
    for row in &rows {
        assert_eq!(cell(&header, row, "status"), "succeeded", "{row:?}");
        assert_eq!(cell(&header, row, "attempts"), "1", "{row:?}");
    }
    let log = h.emulator().requests();
    let expired = log
        .iter()
        .filter(|l| l["code"] == "InvalidSecurityToken.Expired")
        .count();
    assert_eq!(expired, 1, "one request met the ended credentials");
    assert_eq!(of_action(&log, "AssumeRole").len(), 1 + expired);
    assert_eq!(of_action(&log, "CreateLoginProfile").len(), 20 + expired);
}

#[test]
fn a_huawei_account_through_an_agency_with_temporary_aksk() {
    let h = Harness::with_emulator(EmulatorConfig {
        accounts: vec![(
            ProviderKind::Huawei,
            "ops-ak".into(),
            Secret::new(SOURCE_SECRET),
        )],
        ..Default::default()
    });
    let domain = "emulator-huawei-domain";
    h.emulator()
        .tamper(&json!({"huawei": {"sts": {"roles": {
            format!("{domain}/iambatch-operator"): {"trusted": ["ops-ak"]}
        }}}}))
        .unwrap();
    h.write(
        "iambatch.toml",
        &format!(
            "[accounts.hwhq]\nprovider = \"huawei\"\nak = \"ops-ak\"\nsk_env = \"OPS_SECRET\"\ndomain_id = \"{domain}\"\n\n\
             [accounts.hwprod]\nprovider = \"huawei\"\nsource = \"hwhq\"\ndomain_id = \"{domain}\"\nagency_name = \"iambatch-operator\"\n\n\
             [accounts.hwnone]\nprovider = \"huawei\"\nsource = \"hwhq\"\ndomain_id = \"{domain}\"\nagency_name = \"nobody\"\n"
        ),
    );
    let mut csv =
        String::from("provider,account,action,user,login_protect_enabled,verification_method\n");
    for i in 0..3 {
        csv += &format!("huawei,hwprod,set-login-protect,dave{i},true,vmfa\n");
    }
    csv += "huawei,hwnone,set-login-protect,erin,true,vmfa\n";
    let input = h.write_input("hw.csv", &csv);
    let out = h
        .cmd()
        .env("OPS_SECRET", SOURCE_SECRET)
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains(SOURCE_SECRET));
    let (header, rows) = read_results(&h.path("hw.results.csv"));
    assert_eq!(rows.len(), 4, "{stderr}");
    for row in &rows[..3] {
        assert_eq!(
            cell(&header, row, "status"),
            "succeeded",
            "{row:?} {stderr}"
        );
    }
    assert_eq!(cell(&header, &rows[3], "error_code"), "account_stopped");
    assert!(cell(&header, &rows[3], "error_message").contains("agency 'nobody'"));
    let log = h.emulator().requests();
    let issued = of_action(&log, "CreateTemporaryAccessKeyByAgency");
    assert_eq!(issued.len(), 2, "{issued:?}");
    assert!(issued.iter().all(|l| l["account"] == "ops-ak"));
    let writes = of_action(&log, "UpdateLoginProtect");
    assert_eq!(writes.len(), 3);
    assert!(writes.iter().all(|l| l["account"] != "ops-ak"));
}

#[test]
fn a_huawei_account_through_an_agency_token_of_a_password_source() {
    let h = Harness::with_emulator(EmulatorConfig {
        accounts: vec![(
            ProviderKind::Huawei,
            "ops-admin".into(),
            Secret::new(SOURCE_SECRET),
        )],
        ..Default::default()
    });
    let domain = iambatch::emulator::HUAWEI_DOMAIN_NAME;
    let agency = format!("{domain}/iambatch-operator");
    h.emulator()
        .tamper(&json!({"huawei": {"sts": {"roles": {&agency: {"trusted": ["ops-admin"]}}}}}))
        .unwrap();
    h.write(
        "iambatch.toml",
        &format!(
            "[accounts.kl]\nprovider = \"huawei\"\nuser_name = \"ops-admin\"\npassword_env = \"OPS_SECRET\"\ndomain_name = \"{domain}\"\n\n\
             [accounts.kl-prod]\nprovider = \"huawei\"\nsource = \"kl\"\ndomain_name = \"{domain}\"\nagency_name = \"iambatch-operator\"\n"
        ),
    );
    let mut csv =
        String::from("provider,account,action,user,login_protect_enabled,verification_method\n");
    for i in 0..3 {
        csv += &format!("huawei,kl-prod,set-login-protect,fay{i},true,vmfa\n");
    }
    let input = h.write_input("kl.csv", &csv);
    let out = h
        .cmd()
        .env("OPS_SECRET", SOURCE_SECRET)
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains(SOURCE_SECRET));
    let (header, rows) = read_results(&h.path("kl.results.csv"));
    assert!(
        rows.iter()
            .all(|r| cell(&header, r, "status") == "succeeded"),
        "{rows:?}"
    );
    let log = h.emulator().requests();
    let agency_tokens = of_action(&log, "KeystoneCreateAgencyToken");
    assert_eq!(agency_tokens.len(), 1);
    assert_eq!(agency_tokens[0]["account"], "ops-admin");
    let writes = of_action(&log, "UpdateLoginProtect");
    assert_eq!(writes.len(), 3);
    assert!(
        writes.iter().all(|l| l["account"] == agency.as_str()),
        "{writes:?}"
    );
}

#[test]
fn the_built_in_emulator_rehearses_chained_accounts() {
    let h = Harness::new();
    h.write(
        "iambatch.toml",
        "[accounts.hq]\nprovider = \"aliyun\"\n\n\
         [accounts.prod]\nprovider = \"aliyun\"\nsource = \"hq\"\nrole_arn = \"acs:ram::1000000000000001:role/ops\"\n",
    );
    h.write(
        "demo.csv",
        "provider,account,action,user\naliyun,prod,get-login-profile,ao.huang@eng.onaliyun.com\n",
    );
    let out = h
        .cmd()
        .args(["run", "demo.csv", "--emulator", "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (header, rows) = read_results(&h.path("demo.results.csv"));
    assert_eq!(cell(&header, &rows[0], "status"), "succeeded", "{rows:?}");
}
