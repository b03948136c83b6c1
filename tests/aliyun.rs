//! End to end on Alibaba Cloud: the binary against the emulator.

use crate::util::{Harness, cell, read_results};
use iambatch::emulator::{EmulatorConfig, Knobs};
use iambatch::jobs::ProviderKind;
use std::collections::HashMap;

fn create_rows(n: usize) -> (String, HashMap<String, String>) {
    let mut csv = String::from("provider,action,user,password,mfa_bind_required,department\n");
    let mut passwords = HashMap::new();
    for i in 0..n {
        let user = format!("user{i:04}@corp.onaliyun.com");
        let password = format!("Init-{i:04}-pw!x");
        csv.push_str(&format!(
            "aliyun,create-login-profile,{user},{password},true,Dept {}\n",
            i % 7
        ));
        passwords.insert(user, password);
    }
    (csv, passwords)
}

#[test]
fn a_thousand_creates_survive_faults_and_lost_replies_and_each_applies_once() {
    let h = Harness::with_emulator(EmulatorConfig {
        seed: 42,
        knobs: Knobs {
            fault_rate: 0.10,
            drop_rate: 0.05,
            ..Default::default()
        },
        ..Default::default()
    });
    let (csv, passwords) = create_rows(1000);
    let input = h.write_input("onboard.csv", &csv);
    let out = h.path("onboard.results.csv");
    h.cmd()
        .args([
            "run",
            input.to_str().unwrap(),
            "--no-progress",
            "--rate",
            "aliyun=unlimited",
            "--concurrency",
            "16",
        ])
        .args(["--max-attempts", "10"])
        .assert()
        .code(0);

    let (header, rows) = read_results(&out);
    assert_eq!(rows.len(), 1000);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(
            cell(&header, row, "line"),
            (i + 2).to_string(),
            "input order"
        );
        assert_eq!(cell(&header, row, "status"), "succeeded", "{row:?}");
        assert_eq!(cell(&header, row, "outcome"), "created");
        assert_eq!(cell(&header, row, "password"), "***");
    }
    let state = h.state();
    let users = state["aliyun"]["users"].as_object().unwrap();
    assert_eq!(users.len(), 1000);
    for (user, password) in &passwords {
        let u = &users[user];
        assert_eq!(u["creates"], 1, "{user} created more than once");
        assert_eq!(
            h.emulator()
                .has_password(ProviderKind::Aliyun, user, password),
            Some(true),
            "{user}"
        );
        assert_eq!(u["login_profile"]["mfa_bind_required"], true);
    }
    // The knobs really did something.
    let log = h.emulator().requests();
    let outcomes = |o: &str| log.iter().filter(|l| l["outcome"] == o).count();
    assert!(outcomes("fault") > 50, "faults: {}", outcomes("fault"));
    assert!(outcomes("dropped") > 20, "drops: {}", outcomes("dropped"));
    // A dropped create is finished by an update, and reported created.
    let recovered = rows
        .iter()
        .filter(|r| cell(&header, r, "attempts").parse::<u32>().unwrap() > 1)
        .count();
    assert!(recovered > 0);
}

#[test]
fn an_invalid_file_sends_nothing_and_lists_every_problem() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let input = h.write(
        "bad.csv",
        "provider,action,user,password,mfa_bind_required\n\
         aliyun,create-login-profile,ok@corp.onaliyun.com,Passw0rd-123,true\n\
         aliyun,create-login-profile,no-at-sign,Passw0rd-123,true\n\
         aliyun,create-login-profile,b@corp.onaliyun.com,Passw0rd-123,maybe\n\
         aws,create-login-profile,c@corp.onaliyun.com,Passw0rd-123,true\n\
         aliyun,frobnicate,d@corp.onaliyun.com,Passw0rd-123,true\n\
         aliyun,create-login-profile,,Passw0rd-123,true\n\
         aliyun,update-login-profile,ok@corp.onaliyun.com,,false\n",
    );
    let output = h
        .cmd()
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "line 3, column user",
        "line 4, column mfa_bind_required",
        "line 5, column provider",
        "line 6, column action",
        "line 7, column user",
        "line 8",
    ] {
        assert!(
            stderr.contains(expected),
            "missing '{expected}' in:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("line 2"),
        "the duplicate names the first line:\n{stderr}"
    );
    assert!(h.emulator().requests().is_empty(), "nothing may be sent");
    assert!(!h.path("bad.results.csv").exists());
}

#[test]
fn skip_invalid_reports_invalid_rows_and_runs_the_rest() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let input = h.write_input(
        "mixed.csv",
        "provider,action,user,password,ticket\n\
         aliyun,create-login-profile,a@corp.onaliyun.com,Passw0rd-123,T1\n\
         aliyun,create-login-profile,not-a-principal,Passw0rd-123,T2\n\
         aliyun,create-login-profile,b@corp.onaliyun.com,Passw0rd-123,T3\n",
    );
    h.cmd()
        .args([
            "run",
            input.to_str().unwrap(),
            "--no-progress",
            "--skip-invalid",
        ])
        .assert()
        .code(1);
    let (header, rows) = read_results(&h.path("mixed.results.csv"));
    let statuses: Vec<&str> = rows.iter().map(|r| cell(&header, r, "status")).collect();
    assert_eq!(statuses, ["succeeded", "invalid", "succeeded"]);
    assert_eq!(cell(&header, &rows[1], "error_code"), "invalid (user)");
    assert!(cell(&header, &rows[1], "error_message").contains("line 3"));
    assert_eq!(cell(&header, &rows[1], "ticket"), "T2");
    let state = h.state();
    let users = state["aliyun"]["users"].as_object().unwrap();
    let profiles = users.values().filter(|u| !u["login_profile"].is_null());
    assert_eq!(profiles.count(), 2, "the invalid row sent nothing");
}

#[test]
fn exit_code_one_when_a_row_fails_and_already_exists_fails_a_create() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let input = h.write_input("c.csv", "provider,action,user,password\naliyun,create-login-profile,a@corp.onaliyun.com,Passw0rd-123\n");
    h.cmd()
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .assert()
        .code(0);
    h.cmd()
        .args([
            "run",
            input.to_str().unwrap(),
            "--no-progress",
            "--overwrite",
        ])
        .assert()
        .code(1);
    let (header, rows) = read_results(&h.path("c.results.csv"));
    assert_eq!(cell(&header, &rows[0], "status"), "failed");
    assert_eq!(
        cell(&header, &rows[0], "error_code"),
        "EntityAlreadyExists.User.LoginProfile"
    );
    assert_eq!(cell(&header, &rows[0], "http_status"), "409");
    assert!(!cell(&header, &rows[0], "request_id").is_empty());
    assert_eq!(
        h.state()["aliyun"]["users"]["a@corp.onaliyun.com"]["creates"],
        1
    );
}

#[test]
fn ensure_get_update_delete_and_enforce_mfa() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let input = h.write_input(
        "all.csv",
        "provider,action,user,password,mfa_bind_required,login_status\n\
         aliyun,ensure-login-profile,a@corp.onaliyun.com,Passw0rd-123,false,Active\n\
         aliyun,get-login-profile,a@corp.onaliyun.com,,,\n",
    );
    h.cmd()
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .assert()
        .code(0);
    let (header, rows) = read_results(&h.path("all.results.csv"));
    assert_eq!(cell(&header, &rows[0], "outcome"), "created");
    assert_eq!(cell(&header, &rows[1], "outcome"), "read");
    assert_eq!(cell(&header, &rows[1], "observed_exists"), "true");
    assert_eq!(
        cell(&header, &rows[1], "observed_mfa_bind_required"),
        "false"
    );
    assert_eq!(cell(&header, &rows[1], "observed_login_status"), "Active");

    let second = h.write_input(
        "second.csv",
        "provider,action,user,password,mfa_bind_required,login_status\n\
         aliyun,ensure-login-profile,a@corp.onaliyun.com,Other-Passw0rd,false,Active\n\
         aliyun,ensure-login-profile,b@corp.onaliyun.com,,true,\n",
    );
    h.cmd()
        .args(["run", second.to_str().unwrap(), "--no-progress"])
        .assert()
        .code(1);
    let (header, rows) = read_results(&h.path("second.results.csv"));
    assert_eq!(cell(&header, &rows[0], "outcome"), "unchanged");
    assert_eq!(
        cell(&header, &rows[0], "attempts"),
        "1",
        "ensure of an unchanged user is one read"
    );
    assert_eq!(cell(&header, &rows[1], "error_code"), "no_password");
    // The existing password was left alone.
    assert_eq!(
        h.emulator()
            .has_password(ProviderKind::Aliyun, "a@corp.onaliyun.com", "Passw0rd-123"),
        Some(true)
    );

    let third = h.write_input(
        "third.csv",
        "provider,action,user\n\
         aliyun,enforce-mfa,a@corp.onaliyun.com\n\
         aliyun,delete-login-profile,c@corp.onaliyun.com\n",
    );
    h.cmd()
        .args(["run", third.to_str().unwrap(), "--no-progress", "--verify"])
        .assert()
        .code(0);
    let (header, rows) = read_results(&h.path("third.results.csv"));
    assert_eq!(cell(&header, &rows[0], "outcome"), "updated");
    assert_eq!(
        cell(&header, &rows[0], "attempts"),
        "2",
        "one write and one read-back"
    );
    assert_eq!(
        cell(&header, &rows[1], "outcome"),
        "unchanged",
        "deleting an absent profile"
    );
    assert_eq!(
        h.state()["aliyun"]["users"]["a@corp.onaliyun.com"]["login_profile"]["mfa_bind_required"],
        true
    );
}

#[test]
fn a_wrong_secret_stops_the_account_after_three_credential_failures() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let (csv, _) = create_rows(40);
    let input = h.write("stop.csv", &csv);
    let output = h
        .cmd()
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "wrong-secret")
        .args([
            "run",
            input.to_str().unwrap(),
            "--no-progress",
            "--concurrency",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    // One clear message, and in the summary the reason the other rows were not sent.
    assert_eq!(
        stderr
            .matches("stopped after 3 credential failures")
            .count(),
        2,
        "one clear message:\n{stderr}"
    );
    assert!(
        stderr.contains("    account_stopped: "),
        "the summary names the code:\n{stderr}"
    );
    let (header, rows) = read_results(&h.path("stop.results.csv"));
    let failed = rows
        .iter()
        .filter(|r| cell(&header, r, "error_code") == "SignatureDoesNotMatch")
        .count();
    let stopped = rows
        .iter()
        .filter(|r| {
            cell(&header, r, "status") == "not_attempted"
                && cell(&header, r, "error_code") == "account_stopped"
        })
        .count();
    assert!((3..=4).contains(&failed), "failed {failed}");
    assert_eq!(failed + stopped, 40);
    assert!(
        h.emulator().requests().len() <= 4,
        "no request after the stop"
    );
}
