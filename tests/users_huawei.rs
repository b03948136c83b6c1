//! Huawei user actions end to end: the binary against the emulator's IAM, onboarding people with
//! their groups (looked up by name once per account) and login protection, then ensuring the same
//! file changes nothing.

use crate::util::{Harness, result_rows};
use iambatch::emulator::EmulatorConfig;
use serde_json::{Value, json};

const HEADER: &str = "provider,action,user,email,mobile_phone,comments,groups,mfa_bind_required,generate_password,ticket\n";

/// How many requests of `log` were `action`.
fn count(log: &[Value], action: &str) -> usize {
    log.iter().filter(|l| l["action"] == action).count()
}

fn harness_with_groups(groups: &[&str]) -> Harness {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let groups: serde_json::Map<String, Value> = groups
        .iter()
        .map(|g| (g.to_string(), json!({"description": "by the tests"})))
        .collect();
    h.emulator()
        .tamper(&json!({"huawei": {"groups": groups}}))
        .unwrap();
    h
}

/// Person `i`: everyone is in finance, every other one in audit too; MFA required.
fn person(action: &str, i: usize) -> String {
    let groups = if i % 2 == 0 {
        "finance"
    } else {
        "finance;audit"
    };
    format!(
        "huawei,{action},user.{i:03},user.{i:03}@example.com,86-1380000{i:04},\"new hire {i}, finance\",{groups},true,true,HR-{i}\n"
    )
}

#[test]
fn a_hundred_people_onboarded_then_ensured_with_reads_only() {
    let h = harness_with_groups(&["finance", "audit"]);
    let onboarding: String = HEADER.to_string()
        + &(0..100)
            .map(|i| person("create-user", i))
            .collect::<String>();
    h.write("onboarding.csv", &onboarding);
    h.cmd()
        .args([
            "run",
            "onboarding.csv",
            "--no-progress",
            "--rate",
            "huawei=250",
        ])
        .args(["--secrets-out", "passwords.csv"])
        .assert()
        .success();

    let rows = result_rows(&h, "onboarding.results.csv");
    assert_eq!(rows.len(), 100);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["status"], "succeeded", "{row:?}");
        assert_eq!(row["outcome"], "created", "{row:?}");
        let mut steps = vec![
            "CreateUser=created",
            "KeystoneAddUserToGroup:finance=created",
        ];
        if i % 2 == 1 {
            steps.push("KeystoneAddUserToGroup:audit=created");
        }
        steps.push("UpdateLoginProtect=updated");
        assert_eq!(row["steps"], steps.join(";"), "{row:?}");
    }

    // Per row: CreateUser, a PUT per group, the login-protect PUT; one group lookup per group.
    let log = h.emulator().requests();
    assert_eq!(count(&log, "CreateUser"), 100);
    assert_eq!(count(&log, "KeystoneAddUserToGroup"), 150);
    assert_eq!(count(&log, "UpdateLoginProtect"), 100);
    assert_eq!(count(&log, "KeystoneListGroups"), 2);
    assert_eq!(log.len(), 352, "nothing else is sent");

    let state = h.state()["huawei"].clone();
    for i in 0..100 {
        let name = format!("user.{i:03}");
        let user = &state["users"][&name];
        assert_eq!(user["email"], format!("{name}@example.com"));
        assert_eq!(
            (&user["areacode"], &user["phone"]),
            (&json!("0086"), &json!(format!("1380000{i:04}")))
        );
        assert_eq!(user["description"], format!("new hire {i}, finance"));
        assert_eq!(user["access_mode"], "console");
        assert_eq!(
            user["login_protect"],
            json!({"enabled": true, "verification_method": "vmfa"})
        );
        let member = |g: &str| state["groups"][g]["members"].get(&name).is_some();
        assert!(member("finance"), "{name}");
        assert_eq!(member("audit"), i % 2 == 1, "{name}");
    }
    // Every generated password went to the secrets file, none to the results.
    let secrets = std::fs::read_to_string(h.path("passwords.csv")).unwrap();
    assert_eq!(secrets.lines().count(), 101);

    // The same people again with ensure-user: all holds, and only reads are sent.
    let sent = log.len();
    h.write(
        "ensure.csv",
        &onboarding.replace("create-user", "ensure-user"),
    );
    h.cmd()
        .args(["run", "ensure.csv", "--no-progress", "--rate", "huawei=250"])
        .args(["--secrets-out", "passwords-2.csv"])
        .assert()
        .success();
    for row in result_rows(&h, "ensure.results.csv") {
        assert_eq!(row["status"], "succeeded", "{row:?}");
        assert_eq!(row["outcome"], "unchanged", "{row:?}");
    }
    let log = h.emulator().requests();
    let again = &log[sent..];
    // Per row: the name, the user, its groups, its protection; the groups once per account.
    // Nothing else: no write.
    assert_eq!(count(again, "KeystoneListUsers"), 100);
    assert_eq!(count(again, "ShowUser"), 100);
    assert_eq!(count(again, "KeystoneListGroupsForUser"), 100);
    assert_eq!(count(again, "ShowUserLoginProtect"), 100);
    assert_eq!(count(again, "KeystoneListGroups"), 2);
    assert_eq!(again.len(), 402, "{again:?}");
}

#[test]
fn a_row_naming_an_unknown_group_fails_before_anything_is_sent_for_it() {
    let h = harness_with_groups(&["finance"]);
    let file = HEADER.to_string()
        + "huawei,create-user,alice,,,,finance,true,true,T-1\n"
        + "huawei,create-user,bob,,,,finance;ghosts,true,true,T-2\n";
    h.write("two.csv", &file);
    h.cmd()
        .args(["run", "two.csv", "--no-progress"])
        .args(["--secrets-out", "passwords.csv"])
        .assert()
        .failure();
    let rows = result_rows(&h, "two.results.csv");
    assert_eq!(rows[0]["status"], "succeeded", "{:?}", rows[0]);
    assert_eq!(rows[1]["status"], "failed", "{:?}", rows[1]);
    assert_eq!(rows[1]["error_code"], "unknown_group");
    assert!(
        rows[1]["error_message"].contains("'ghosts'"),
        "{:?}",
        rows[1]
    );
    assert_eq!(rows[1]["steps"], "");
    let log = h.emulator().requests();
    let about_bob: Vec<&Value> = log.iter().filter(|l| l["user"] == "bob").collect();
    assert!(about_bob.is_empty(), "{about_bob:?}");
    assert_eq!(count(&log, "CreateUser"), 1);
    assert!(h.state()["huawei"]["users"].get("bob").is_none());

    // The group is created: a resumed run finishes bob's row and leaves alice's alone.
    h.emulator()
        .tamper(&json!({"huawei": {"groups": {"ghosts": {}}}}))
        .unwrap();
    h.cmd()
        .args(["run", "two.csv", "--no-progress", "--resume"])
        .args(["--secrets-out", "more-passwords.csv"])
        .assert()
        .success();
    let rows = result_rows(&h, "two.results.csv");
    assert_eq!(rows[0]["status"], "skipped", "{:?}", rows[0]);
    assert_eq!(rows[1]["status"], "succeeded", "{:?}", rows[1]);
    assert_eq!(rows[1]["outcome"], "created", "{:?}", rows[1]);
    assert!(h.state()["huawei"]["users"].get("bob").is_some());
    assert_eq!(count(&h.emulator().requests(), "CreateUser"), 2);
}
