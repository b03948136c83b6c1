//! UCloud user actions end to end against the emulator: a department onboarded (CreateUser with
//! its login inside, then its groups), the same file ensured with reads only, a missing group
//! finished by --resume, and users frozen, unfrozen and deleted.

use crate::util::{Harness, cell, read_results, says};
use iambatch::emulator::EmulatorConfig;
use iambatch::jobs::ProviderKind;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const HEADER: &str = "provider,action,user,display_name,email,groups,generate_password,mfa_bind_required,password_reset_required";

/// `n` people of the finance department, each in `finance` and `auditors`.
fn people(action: &str, n: usize) -> String {
    let mut csv = format!("{HEADER}\n");
    for i in 0..n {
        csv.push_str(&format!(
            "ucloud,{action},fin{i:03},Finance {i},fin{i:03}@corp.example.com,finance; auditors,true,true,true\n"
        ));
    }
    csv
}

/// The emulator's requests by action, counting only those it answered.
fn answered(h: &Harness) -> BTreeMap<String, usize> {
    let mut by_action = BTreeMap::new();
    for line in h.emulator().requests() {
        if line["outcome"] == "ok" {
            let action = line["action"].as_str().unwrap_or_default().to_string();
            *by_action.entry(action).or_default() += 1;
        }
    }
    by_action
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(a, n)| (a.to_string(), *n)).collect()
}

fn run(h: &Harness, input: &str, extra: &[&str]) -> std::process::Output {
    h.cmd()
        .args(["run", h.path(input).to_str().unwrap(), "--no-progress"])
        .args(["--rate", "ucloud=unlimited", "--concurrency", "8"])
        .args(extra)
        .output()
        .unwrap()
}

fn groups(h: &Harness, names: &[&str]) {
    let groups: serde_json::Map<String, Value> =
        names.iter().map(|g| (g.to_string(), json!({}))).collect();
    h.emulator()
        .tamper(&json!({"ucloud": {"groups": groups}}))
        .unwrap();
}

#[test]
fn a_department_is_onboarded_one_request_per_user_and_group_then_ensured_with_reads_only() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    groups(&h, &["finance", "auditors"]);
    h.write("onboard.csv", &people("create-user", 100));
    let secrets = h.path("passwords.csv");
    let out = run(
        &h,
        "onboard.csv",
        &["--secrets-out", secrets.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));

    let (header, rows) = read_results(&h.path("onboard.results.csv"));
    assert_eq!(rows.len(), 100);
    for row in &rows {
        assert_eq!(cell(&header, row, "status"), "succeeded", "{row:?}");
        assert_eq!(cell(&header, row, "outcome"), "created");
        assert_eq!(
            cell(&header, row, "steps"),
            "CreateUser=created;AddUserToGroup:finance=created;AddUserToGroup:auditors=created"
        );
        assert_eq!(cell(&header, row, "attempts"), "3");
    }
    // One CreateUser and one AddUserToGroup per group for each row, nothing else.
    assert_eq!(
        answered(&h),
        counts(&[("AddUserToGroup", 200), ("CreateUser", 100)])
    );

    // Every user as the file says, with the password the tool generated and an inactive key.
    let (secret_header, saved) = read_results(&secrets);
    assert_eq!(saved.len(), 100);
    let state = h.state();
    let users = &state["ucloud"]["users"];
    let results = std::fs::read_to_string(h.path("onboard.results.csv")).unwrap();
    for row in &saved {
        let user = cell(&secret_header, row, "user");
        let password = cell(&secret_header, row, "password");
        let u = &users[user];
        let i = &user[3..];
        assert_eq!(
            u["display_name"],
            format!("Finance {}", i.parse::<u32>().unwrap())
        );
        assert_eq!(u["email"], format!("{user}@corp.example.com"));
        assert_eq!(u["status"], "Active");
        let login = &u["login_profile"];
        assert_eq!(login["status"], "Active", "{user}");
        assert_eq!(login["mfa_bind_required"], true);
        assert_eq!(login["password_reset_required"], true);
        assert_eq!(
            login["password_generated"], false,
            "the tool's password, not UCloud's"
        );
        assert_eq!(
            h.emulator()
                .has_password(ProviderKind::Ucloud, user, password),
            Some(true),
            "{user}"
        );
        let keys = u["access_keys"].as_array().unwrap();
        assert!(
            keys.iter().all(|k| k["status"] == "Inactive"),
            "{user}: {keys:?}"
        );
        for group in ["finance", "auditors"] {
            assert!(
                state["ucloud"]["groups"][group]["members"]
                    .get(user)
                    .is_some(),
                "{user} in {group}"
            );
        }
        // No password reaches the results.
        assert!(!results.contains(password));
    }

    // The same people again with ensure-user: reads only, every row unchanged. Each group's
    // members are read once for the whole run.
    let before = answered(&h);
    h.write("ensure.csv", &people("ensure-user", 100));
    let secrets = h.path("ensure-passwords.csv");
    let out = run(
        &h,
        "ensure.csv",
        &["--secrets-out", secrets.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    let (header, rows) = read_results(&h.path("ensure.results.csv"));
    for row in &rows {
        assert_eq!(cell(&header, row, "status"), "succeeded", "{row:?}");
        assert_eq!(cell(&header, row, "outcome"), "unchanged", "{row:?}");
    }
    let mut reads = answered(&h);
    for (action, n) in before {
        *reads.get_mut(&action).unwrap() -= n;
    }
    reads.retain(|_, n| *n > 0);
    assert_eq!(
        reads,
        counts(&[
            ("GetLoginProfile", 100),
            ("GetUser", 100),
            ("ListUsersForGroup", 2)
        ])
    );
}

#[test]
fn a_missing_group_fails_its_row_with_what_was_applied_and_resume_finishes_it() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    groups(&h, &["finance"]);
    h.write(
        "onboard.csv",
        "provider,action,user,password,groups\n\
         ucloud,create-user,ann,Passw0rd-123!,finance;ghosts\n\
         ucloud,create-user,bo,Passw0rd-123!,finance\n",
    );
    let out = run(&h, "onboard.csv", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", says(&out));
    let results = h.path("onboard.results.csv");
    let (header, rows) = read_results(&results);
    let ann = &rows[0];
    assert_eq!(cell(&header, ann, "status"), "failed");
    assert_eq!(cell(&header, ann, "error_code"), "11162");
    assert!(
        cell(&header, ann, "error_message").starts_with("group 'ghosts' does not exist"),
        "{ann:?}"
    );
    assert_eq!(
        cell(&header, ann, "steps"),
        "CreateUser=created;AddUserToGroup:finance=created;AddUserToGroup:ghosts=11162"
    );
    assert_eq!(cell(&header, &rows[1], "status"), "succeeded");

    groups(&h, &["ghosts"]);
    let before = answered(&h);
    let out = run(&h, "onboard.csv", &["--resume"]);
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    let (header, rows) = read_results(&results);
    assert_eq!(
        cell(&header, &rows[0], "status"),
        "succeeded",
        "{:?}",
        rows[0]
    );
    // Only the step that failed is sent again.
    let mut sent = answered(&h);
    for (action, n) in before {
        *sent.get_mut(&action).unwrap() -= n;
    }
    sent.retain(|_, n| *n > 0);
    assert_eq!(sent, counts(&[("AddUserToGroup", 1)]));
    assert!(
        h.state()["ucloud"]["groups"]["ghosts"]["members"]
            .get("ann")
            .is_some()
    );
}

#[test]
fn users_are_frozen_unfrozen_and_deleted_only_with_allow_delete() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    h.emulator()
        .tamper(&json!({"ucloud": {"groups": {"finance": {}},
            "users": {"ann": {"groups": ["finance"]}, "bo": {}}}}))
        .unwrap();
    let status = |user: &str| h.state()["ucloud"]["users"][user]["status"].clone();

    h.write(
        "off.csv",
        "provider,action,user\nucloud,disable-user,ann\nucloud,disable-user,bo\n",
    );
    let out = run(&h, "off.csv", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    assert_eq!(
        (status("ann"), status("bo")),
        (json!("Frozen"), json!("Frozen"))
    );
    assert_eq!(answered(&h), counts(&[("UpdateUser", 2)]));

    // get-user reads the freeze, the login and the row's groups.
    h.write(
        "get.csv",
        "provider,action,user,groups\nucloud,get-user,ann,finance\n",
    );
    let out = run(&h, "get.csv", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    let (header, rows) = read_results(&h.path("get.results.csv"));
    assert_eq!(cell(&header, &rows[0], "outcome"), "read");
    assert_eq!(cell(&header, &rows[0], "observed_exists"), "true");
    assert_eq!(cell(&header, &rows[0], "observed_user_enabled"), "false");
    assert_eq!(cell(&header, &rows[0], "observed_groups"), "finance");

    h.write("on.csv", "provider,action,user\nucloud,enable-user,ann\n");
    let out = run(&h, "on.csv", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    assert_eq!(
        (status("ann"), status("bo")),
        (json!("Active"), json!("Frozen"))
    );

    let delete = "provider,action,user\nucloud,delete-user,bo\nucloud,delete-user,nobody\n";
    h.write("delete.csv", delete);
    let sent = h.emulator().requests().len();
    let out = run(&h, "delete.csv", &[]);
    assert_eq!(out.status.code(), Some(2), "refused without --allow-delete");
    assert_eq!(h.emulator().requests().len(), sent, "nothing sent");

    let out = run(&h, "delete.csv", &["--allow-delete"]);
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    let (header, rows) = read_results(&h.path("delete.results.csv"));
    assert_eq!(cell(&header, &rows[0], "outcome"), "deleted");
    assert_eq!(
        cell(&header, &rows[1], "outcome"),
        "unchanged",
        "already absent"
    );
    assert!(h.state()["ucloud"]["users"].get("bo").is_none());
}

#[test]
fn a_migration_export_finds_each_users_groups_from_the_groups_members() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    groups(&h, &["finance", "auditors", "empty"]);
    h.write("people.csv", &people("create-user", 6));
    let made = run(&h, "people.csv", &["--secrets-out", "pw.csv"]);
    assert!(made.status.success(), "{}", says(&made));
    // fin005 leaves auditors.
    h.emulator()
        .tamper(&json!({"ucloud": {"users": {"fin005": {"groups": ["finance"]}}}}))
        .unwrap();
    let before = h.emulator().requests().len();
    let out = h
        .cmd()
        .args([
            "export",
            "ucloud",
            "--action",
            "ensure-user",
            "-o",
            "users.csv",
            "--no-progress",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", says(&out));
    let (header, rows) = read_results(&h.path("users.csv"));
    assert_eq!(rows.len(), 6);
    for row in &rows {
        let expected = match cell(&header, row, "user") {
            "fin005" => "finance",
            _ => "auditors;finance",
        };
        assert_eq!(cell(&header, row, "groups"), expected, "{row:?}");
        assert_eq!(cell(&header, row, "mfa_bind_required"), "true", "{row:?}");
    }
    // The groups and their members are read once for the whole export, not per user.
    let lists = |action: &str| {
        h.emulator().requests()[before..]
            .iter()
            .filter(|l| l["action"] == action)
            .count()
    };
    assert_eq!(lists("ListGroups"), 1);
    assert_eq!(lists("ListUsersForGroup"), 3);
}
