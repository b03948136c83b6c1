//! Huawei Cloud IAM end to end: the binary against the emulator's Huawei API, by AK/SK and by
//! token, with the global and the Kuala Lumpur cloud side by side.

use crate::util::{self, CANARY_PASSWORD, Harness, result_rows, wait_until};
use iambatch::emulator::{
    Emulator, EmulatorConfig, HUAWEI_DOMAIN_NAME, HUAWEI_IAM_PASSWORD, HUAWEI_IAM_USER, Knobs,
};
use iambatch::jobs::ProviderKind;
use iambatch::secret::Secret;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const AK: &str = "emulator-huawei-ak";
const HEADER: &str = "provider,action,user_name,login_protect_enabled,verification_method,ticket\n";

fn protect(enabled: bool, method: &str) -> Value {
    json!({"enabled": enabled, "verification_method": method})
}

/// How many log lines match `action` and `outcome`.
fn count(log: &[Value], action: &str, outcome: &str) -> usize {
    log.iter()
        .filter(|l| l["action"] == action && l["outcome"] == outcome)
        .count()
}

#[test]
fn a_thousand_rows_by_name_survive_faults_and_throttling_with_one_lookup_per_user() {
    let h = Harness::with_emulator(EmulatorConfig {
        seed: 11,
        knobs: Knobs {
            rate: Some(150.0),
            fault_rate: 0.05,
            drop_rate: 0.02,
            ..Default::default()
        },
        ..Default::default()
    });
    let mut csv = String::from(HEADER);
    let mut expected = BTreeMap::new();
    for i in 0..1000 {
        let name = format!("user.{i:04}");
        let (action, enabled, method, state) = match i % 4 {
            0 => ("set-login-protect", "true", "sms", protect(true, "sms")),
            1 => (
                "set-login-protect",
                "false",
                "email",
                protect(false, "email"),
            ),
            2 => ("enforce-mfa", "", "", protect(true, "vmfa")),
            _ => ("enforce-mfa", "", "email", protect(true, "email")),
        };
        csv += &format!("huawei,{action},{name},{enabled},{method},SEC-{i}\n");
        expected.insert(name, state);
    }
    // Reads of users the file also writes: their names are resolved once for both rows.
    for i in 0..100 {
        csv += &format!("huawei,get-login-protect,user.{i:04},,,AUDIT-{i}\n");
    }
    h.write_input("mfa.csv", &csv);

    let started = Instant::now();
    h.cmd()
        .args(["run", "mfa.csv", "--no-progress", "--rate", "huawei=250"])
        .args(["--max-attempts", "10"])
        .assert()
        .success();
    eprintln!("1,100 rows in {:?}", started.elapsed());

    let rows = result_rows(&h, "mfa.results.csv");
    assert_eq!(rows.len(), 1100);
    for row in &rows {
        assert_eq!(row["status"], "succeeded", "{row:?}");
    }
    let state = h.state()["huawei"].clone();
    for (name, want) in &expected {
        assert_eq!(state["users"][name]["login_protect"], *want, "{name}");
    }

    let log = h.emulator().requests();
    let mut lookups: BTreeMap<&str, usize> = BTreeMap::new();
    for line in &log {
        if line["action"] == "KeystoneListUsers" && line["outcome"] == "ok" {
            *lookups.entry(line["user"].as_str().unwrap()).or_default() += 1;
        }
    }
    assert_eq!(
        lookups.keys().copied().collect::<BTreeSet<_>>(),
        expected.keys().map(String::as_str).collect::<BTreeSet<_>>()
    );
    assert!(lookups.values().all(|n| *n == 1), "{lookups:?}");
    // The run met every knob, and signed every request with the AK.
    for outcome in ["throttled", "fault"] {
        assert!(log.iter().any(|l| l["outcome"] == outcome), "no {outcome}");
    }
    assert!(count(&log, "UpdateLoginProtect", "dropped") > 0);
    assert!(log.iter().all(|l| l["account"] == AK));
}

#[test]
fn an_expiring_token_is_renewed_without_failing_rows() {
    // Tokens live 10 min 2 s and iambatch renews one with less than 10 min left: the token it
    // holds runs out (for it) every 2 s of the run. Midway, a revocation (as a password change
    // does) makes IAM refuse the live token: the 401 renews it.
    let h = Harness::with_emulator(EmulatorConfig {
        token_ttl: Duration::from_secs(602),
        ..Default::default()
    });
    let mut csv = String::from(HEADER);
    for i in 0..400 {
        csv += &format!("huawei,enforce-mfa,ops.{i:03},,,SEC-{i}\n");
    }
    h.write_input("mfa.csv", &csv);

    std::thread::scope(|s| {
        s.spawn(|| {
            wait_until(Duration::from_secs(60), "150 updates", || {
                count(&h.emulator().requests(), "UpdateLoginProtect", "ok") >= 150
            });
            h.emulator()
                .tamper(&json!({"huawei": {"revoke_tokens": true}}))
                .unwrap();
        });
        h.cmd()
            .env_remove("HUAWEICLOUD_SDK_AK")
            .env_remove("HUAWEICLOUD_SDK_SK")
            .env_remove("HUAWEICLOUD_SDK_DOMAIN_ID")
            .env("HUAWEICLOUD_USER_NAME", HUAWEI_IAM_USER)
            .env("HUAWEICLOUD_PASSWORD", HUAWEI_IAM_PASSWORD)
            .env("HUAWEICLOUD_DOMAIN_NAME", HUAWEI_DOMAIN_NAME)
            .args(["run", "mfa.csv", "--no-progress", "--rate", "huawei=200"])
            .assert()
            .success();
    });

    for row in result_rows(&h, "mfa.results.csv") {
        assert_eq!(row["status"], "succeeded", "{row:?}");
        // The lookup and the PUT: renewals are not attempts.
        assert_eq!(row["attempts"], "2", "{row:?}");
    }
    let log = h.emulator().requests();
    let tokens = count(&log, "KeystoneCreateUserTokenByPassword", "ok");
    let refused = log
        .iter()
        .filter(|l| l["status"] == 401 && l["outcome"] == "rejected")
        .count();
    eprintln!("{tokens} tokens; {refused} requests refused with the revoked token");
    assert!(refused >= 1, "the revoked token was never refused");
    // Renewed as it ran out and after the 401, and shared by every worker.
    assert!((3..=20).contains(&tokens), "{tokens} tokens");
    assert_eq!(h.state()["huawei"]["tokens_issued"], tokens);
    assert!(
        log.iter()
            .filter(|l| l["outcome"] == "ok")
            .all(|l| l["account"] == HUAWEI_IAM_USER)
    );
}

#[test]
fn global_and_kuala_lumpur_rows_run_in_one_file_each_against_its_own_cloud() {
    const KL_USER: &str = "kl-admin";
    // The KL password must never show: in output, logs or results.
    const KL_PASSWORD: &str = CANARY_PASSWORD;
    let h = Harness::with_emulator(EmulatorConfig::default());
    // A separate cloud: its own instance, which alone knows the KL IAM user.
    let kl = h
        .runtime
        .block_on(Emulator::start(EmulatorConfig {
            accounts: vec![(
                ProviderKind::Huawei,
                KL_USER.into(),
                Secret::new(KL_PASSWORD),
            )],
            ..Default::default()
        }))
        .unwrap();
    h.write(
        "iambatch.toml",
        &format!(
            "[accounts.kl]\nprovider = \"huawei\"\nendpoint = \"{}\"\nuser_name = \"{KL_USER}\"\n\
             password_env = \"KL_IAM_PASSWORD\"\ndomain_name = \"{HUAWEI_DOMAIN_NAME}\"\n",
            kl.endpoint(ProviderKind::Huawei)
        ),
    );
    let mut csv = String::from(
        "provider,account,action,user_name,login_protect_enabled,verification_method\n",
    );
    for i in 0..5 {
        csv += &format!("huawei,,enforce-mfa,hq.{i},,\n");
        csv += &format!("huawei,kl,set-login-protect,kl.{i},true,sms\n");
    }
    // The same name in both clouds is two users.
    csv +=
        "huawei,,enforce-mfa,shared.admin,,\nhuawei,kl,set-login-protect,shared.admin,true,email\n";
    h.write("both.csv", &csv);
    // Each cloud has its own users; shared.admin exists in both.
    h.users_exist(
        "huawei",
        &["hq.0", "hq.1", "hq.2", "hq.3", "hq.4", "shared.admin"],
    );
    util::users_exist(
        &kl,
        "huawei",
        &["kl.0", "kl.1", "kl.2", "kl.3", "kl.4", "shared.admin"],
    );

    let output = h
        .cmd()
        .env("KL_IAM_PASSWORD", KL_PASSWORD)
        .args(["run", "both.csv", "--no-progress", "-vv"])
        .assert()
        .success()
        .get_output()
        .clone();
    let shown = [
        output.stdout,
        output.stderr,
        std::fs::read(h.path("both.results.csv")).unwrap(),
    ]
    .concat();
    assert!(!String::from_utf8_lossy(&shown).contains(KL_PASSWORD));

    for row in result_rows(&h, "both.results.csv") {
        assert_eq!(row["status"], "succeeded", "{row:?}");
    }
    let names = |state: &Value| -> Vec<String> {
        state["users"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let global = h.state()["huawei"].clone();
    let local = kl.state()["huawei"].clone();
    assert_eq!(
        names(&global),
        ["hq.0", "hq.1", "hq.2", "hq.3", "hq.4", "shared.admin"]
    );
    assert_eq!(
        names(&local),
        ["kl.0", "kl.1", "kl.2", "kl.3", "kl.4", "shared.admin"]
    );
    assert_eq!(
        global["users"]["shared.admin"]["login_protect"],
        protect(true, "vmfa")
    );
    assert_eq!(
        local["users"]["shared.admin"]["login_protect"],
        protect(true, "email")
    );
    assert_eq!(
        local["users"]["kl.3"]["login_protect"],
        protect(true, "sms")
    );
    // Each cloud saw only its own credentials: the global AK, the KL IAM user's one token.
    assert!(h.emulator().requests().iter().all(|l| l["account"] == AK));
    assert!(kl.requests().iter().all(|l| l["account"] == KL_USER));
    assert_eq!(global["tokens_issued"], 0);
    assert_eq!(local["tokens_issued"], 1);
}

#[test]
fn get_login_protect_reports_what_iam_holds_and_never_configured_as_off() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    h.emulator()
        .tamper(&json!({"huawei": {"users": {
            "erin": {"login_protect": protect(true, "sms")},
            "frank": {"login_protect": protect(false, "vmfa")},
            "grace": {},
        }}}))
        .unwrap();
    let erin_id = h.state()["huawei"]["users"]["erin"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let stranger = "0123456789abcdef0123456789abcdef";
    h.write(
        "audit.csv",
        &format!(
            "provider,action,user,user_name,note\n\
             huawei,get-login-protect,erin,,by name\n\
             huawei,get-login-protect,{erin_id},erin,exported\n\
             huawei,get-login-protect,,frank,off\n\
             huawei,get-login-protect,,grace,never configured\n\
             huawei,get-login-protect,{stranger},,no such user\n"
        ),
    );
    h.cmd()
        .args(["run", "audit.csv", "--no-progress"])
        .assert()
        .code(1);

    let rows = result_rows(&h, "audit.results.csv");
    let observed = |row: &BTreeMap<String, String>| {
        [
            "status",
            "outcome",
            "observed_exists",
            "observed_login_protect_enabled",
            "observed_verification_method",
            "observed_user_id",
        ]
        .map(|c| row[c].clone())
    };
    let erin = ["succeeded", "read", "true", "true", "sms", erin_id.as_str()];
    assert_eq!(observed(&rows[0]), erin);
    assert_eq!(observed(&rows[1]), erin);
    // The login protection and the MFA devices: an id needs no lookup.
    assert_eq!(rows[1]["attempts"], "2", "an id needs no lookup");
    assert_eq!(rows[1]["note"], "exported");
    let frank_id = h.state()["huawei"]["users"]["frank"]["id"].clone();
    assert_eq!(
        observed(&rows[2]),
        [
            "succeeded",
            "read",
            "true",
            "false",
            "vmfa",
            frank_id.as_str().unwrap()
        ]
    );
    assert_eq!(
        observed(&rows[3]),
        ["succeeded", "read", "false", "false", "", ""]
    );
    assert_eq!(
        (
            rows[3]["http_status"].as_str(),
            rows[3]["error_code"].as_str()
        ),
        ("404", "")
    );
    let missing = &rows[4];
    assert_eq!(
        (missing["status"].as_str(), missing["error_code"].as_str()),
        ("failed", "IAM.0004")
    );
    assert!(missing["error_message"].contains("Could not find user"));
}
