//! End to end on UCloud: the binary against the emulator, alone and beside Alibaba Cloud.

use crate::util::{CANARY_PASSWORD, Harness, cell, read_results};
use iambatch::emulator::{Emulator, EmulatorConfig, Knobs};
use iambatch::jobs::ProviderKind;
use serde_json::{Value, json};

/// What update row `i` asks for: every writable column, varied so that a row applied to the wrong
/// user, or a field dropped, shows in the state.
struct Desired {
    user: String,
    status: &'static str,
    mfa: bool,
    reset: bool,
    age: u32,
    email: String,
    password: Option<String>,
}

fn desired(i: usize) -> Desired {
    Desired {
        user: format!("user{i:04}"),
        status: if i % 3 == 0 { "Inactive" } else { "Active" },
        mfa: i % 2 == 0,
        reset: i % 4 == 1,
        age: 30 + (i % 60) as u32,
        email: format!("user{i:04}@example.com"),
        password: (i % 5 == 0).then(|| format!("Upd-{i:04}-pw!x")),
    }
}

fn update_rows(n: usize) -> String {
    let mut csv = String::from(
        "provider,action,user,login_status,mfa_bind_required,password_reset_required,max_password_age,email,password,ticket\n",
    );
    for i in 0..n {
        let d = desired(i);
        csv.push_str(&format!(
            "ucloud,update-login-profile,{},{},{},{},{},{},{},CHG-{i}\n",
            d.user,
            d.status,
            d.mfa,
            d.reset,
            d.age,
            d.email,
            d.password.as_deref().unwrap_or("")
        ));
    }
    csv
}

/// The request log's times of one provider, in order.
fn times(log: &[Value], provider: &str) -> Vec<f64> {
    let mut t: Vec<f64> = log
        .iter()
        .filter(|l| l["provider"] == provider)
        .map(|l| l["time"].as_f64().unwrap())
        .collect();
    t.sort_by(f64::total_cmp);
    t
}

/// The most requests in any one-second window.
fn busiest_second(times: &[f64]) -> usize {
    (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| **t < times[i] + 1.0)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn a_thousand_updates_survive_faults_and_throttling_and_the_state_matches_every_row() {
    // The emulator admits 150/s per key; the tool is asked for 250/s, so it is throttled (RetCode
    // 153) and must slow down; a tenth of the requests also meet RetCode 150.
    let h = Harness::with_emulator(EmulatorConfig {
        seed: 7,
        knobs: Knobs {
            rate: Some(150.0),
            fault_rate: 0.10,
            ..Default::default()
        },
        ..Default::default()
    });
    let input = h.write_input("mfa.csv", &update_rows(1000));
    let out = h.path("mfa.results.csv");
    h.cmd()
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .args(["--rate", "ucloud=250", "--max-attempts", "10"])
        .assert()
        .code(0);

    let (header, rows) = read_results(&out);
    assert_eq!(rows.len(), 1000);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(cell(&header, row, "line"), (i + 2).to_string());
        assert_eq!(cell(&header, row, "status"), "succeeded", "{row:?}");
        assert_eq!(cell(&header, row, "outcome"), "updated");
        assert_eq!(cell(&header, row, "error_code"), "");
        assert!(!cell(&header, row, "request_id").is_empty());
        assert_eq!(cell(&header, row, "ticket"), format!("CHG-{i}"));
        let password = cell(&header, row, "password");
        assert_eq!(password, if i % 5 == 0 { "***" } else { "" });
    }

    let state = h.state();
    let users = state["ucloud"]["users"].as_object().unwrap();
    assert_eq!(users.len(), 1000);
    for i in 0..1000 {
        let d = desired(i);
        let user = &users[&d.user];
        assert_eq!(user["updates"], 1, "{}: applied once", d.user);
        assert_eq!(user["email"], d.email.as_str());
        let profile = &user["login_profile"];
        assert_eq!(
            (
                &profile["status"],
                &profile["mfa_bind_required"],
                &profile["password_reset_required"],
                &profile["max_password_age"],
            ),
            (
                &json!(d.status),
                &json!(d.mfa),
                &json!(d.reset),
                &json!(d.age)
            ),
            "{}",
            d.user
        );
        // No password given: none was ever set.
        let has = d.password.as_deref().map(|_| true);
        let password = d.password.as_deref().unwrap_or("");
        let found = h
            .emulator()
            .has_password(ProviderKind::Ucloud, &d.user, password);
        assert_eq!(found, has, "{}", d.user);
    }

    let log = h.emulator().requests();
    let outcomes = |o: &str| log.iter().filter(|l| l["outcome"] == o).count();
    assert!(outcomes("throttled") > 0, "never throttled");
    assert!(outcomes("fault") > 50, "faults: {}", outcomes("fault"));
    assert_eq!(outcomes("ok"), 1000);
    let attempts: usize = rows
        .iter()
        .map(|r| cell(&header, r, "attempts").parse::<usize>().unwrap())
        .sum();
    assert_eq!(attempts, log.len(), "every attempt is counted");
}

#[test]
fn a_wrong_private_key_stops_the_account_after_three_failures_and_leaks_nothing() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let mut csv = String::from("provider,action,user,password,mfa_bind_required\n");
    for i in 0..40 {
        csv.push_str(&format!(
            "ucloud,update-login-profile,user{i:02},{CANARY_PASSWORD},true\n"
        ));
    }
    let input = h.write("stop.csv", &csv);
    let private_key = "Canary-Private-Key-5e1d";
    let output = h
        .cmd()
        .env("UCLOUD_PRIVATE_KEY", private_key)
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .args(["--concurrency", "2", "-vv"])
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
    assert!(
        stderr.contains("check the account's private_key"),
        "{stderr}"
    );

    let results = std::fs::read_to_string(h.path("stop.results.csv")).unwrap();
    let (header, rows) = read_results(&h.path("stop.results.csv"));
    let failed = rows
        .iter()
        .filter(|r| cell(&header, r, "status") == "failed")
        .inspect(|r| assert_eq!(cell(&header, r, "error_code"), "171"))
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
    let requests = h.emulator().requests();
    assert!(requests.len() <= 4, "no request after the stop");
    assert!(requests.iter().all(|l| l["code"] == "171"));
    assert_eq!(h.state()["ucloud"]["users"], json!({}));

    let everything = format!(
        "{}{stderr}{results}",
        String::from_utf8_lossy(&output.stdout)
    );
    for needle in [CANARY_PASSWORD, private_key] {
        assert!(!everything.contains(needle), "'{needle}' leaked");
        let encoded = iambatch::providers::encoding::rfc3986(needle);
        assert!(!everything.contains(&encoded), "'{needle}' leaked encoded");
    }
}

#[test]
fn a_mixed_file_runs_aliyun_and_ucloud_at_their_own_rates_at_the_same_time() {
    let h = Harness::alone_with_emulator(EmulatorConfig::default());
    // Interleaved, so that neither provider's rows wait behind the other's in the file.
    let mut csv = String::from("provider,action,user,password,department\n");
    for i in 0..40 {
        csv.push_str(&format!(
            "aliyun,create-login-profile,user{i:02}@corp.onaliyun.com,Init-{i:02}-Passw0rd,Finance\n"
        ));
        if i % 2 == 0 {
            csv.push_str(&format!("ucloud,enforce-mfa,user{i:02},,Finance\n"));
        }
    }
    let input = h.write_input("mixed.csv", &csv);
    h.cmd()
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .args(["--rate", "aliyun=20", "--rate", "ucloud=10"])
        .assert()
        .code(0);

    let (header, rows) = read_results(&h.path("mixed.results.csv"));
    assert_eq!(rows.len(), 60);
    assert!(
        rows.iter()
            .all(|r| cell(&header, r, "status") == "succeeded")
    );
    let state = h.state();
    assert_eq!(state["aliyun"]["users"].as_object().unwrap().len(), 40);
    let ucloud_users = state["ucloud"]["users"].as_object().unwrap();
    assert_eq!(ucloud_users.len(), 20);
    assert!(
        ucloud_users
            .values()
            .all(|u| u["login_profile"]["mfa_bind_required"] == true)
    );

    let log = h.emulator().requests();
    for (provider, rate, n) in [("aliyun", 20.0, 40), ("ucloud", 10.0, 20)] {
        let t = times(&log, provider);
        assert_eq!(t.len(), n, "{provider}: one request per row");
        // The pacer spaces requests exactly; arrival at the server jitters on a busy machine
        // (tests/rate.rs measures fidelity itself).
        let busiest = busiest_second(&t);
        assert!(
            busiest as f64 <= rate * 1.2 + 1.0,
            "{provider}: {busiest} requests in one second at rate {rate}"
        );
        let span = t[n - 1] - t[0];
        let expected = (n - 1) as f64 / rate;
        assert!(
            span >= expected * 0.95,
            "{provider}: {n} requests in {span:.2} s is above {rate}/s"
        );
        assert!(
            span < expected * 3.0,
            "{provider}: {n} requests took {span:.2} s at {rate}/s"
        );
    }
    let (a, u) = (times(&log, "aliyun"), times(&log, "ucloud"));
    let overlap = a[a.len() - 1].min(u[u.len() - 1]) - a[0].max(u[0]);
    assert!(
        overlap > 1.5,
        "the two accounts ran one after the other (overlap {overlap:.2} s)"
    );
}

#[test]
fn get_login_profile_rows_report_what_ucloud_returns() {
    let mut h = Harness::new();
    let users = h.write(
        "users.json",
        &json!({"ucloud": ["ann", "ben", "cat"]}).to_string(),
    );
    let emulator = h.runtime.block_on(Emulator::start(EmulatorConfig {
        users: Some(users),
        ..Default::default()
    }));
    h.emulator = Some(emulator.unwrap());
    h.emulator()
        .tamper(&json!({"ucloud": {"users": {
            "ann": {"login_profile": {"status": "Inactive", "mfa_bind_required": true, "max_password_age": 30}},
            "cat": {"login_profile": null},
        }}}))
        .unwrap();
    let input = h.write(
        "audit.csv",
        "provider,action,user,owner\n\
         ucloud,get-login-profile,ann,Team A\n\
         ucloud,get-login-profile,ben,Team B\n\
         ucloud,get-login-profile,cat,Team C\n\
         ucloud,get-login-profile,zed,Team D\n",
    );
    h.cmd()
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .assert()
        .code(1);

    let (header, rows) = read_results(&h.path("audit.results.csv"));
    let observed: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| {
            [
                "status",
                "outcome",
                "error_code",
                "observed_exists",
                "observed_login_status",
                "observed_mfa_bind_required",
                "observed_max_password_age",
                "owner",
            ]
            .iter()
            .map(|c| cell(&header, r, c))
            .collect()
        })
        .collect();
    assert_eq!(
        observed,
        [
            [
                "succeeded",
                "read",
                "",
                "true",
                "Inactive",
                "true",
                "30",
                "Team A"
            ],
            [
                "succeeded",
                "read",
                "",
                "true",
                "Active",
                "false",
                "0",
                "Team B"
            ],
            // No login profile, and an unknown user: UCloud answers 11021 to both.
            ["failed", "", "11021", "", "", "", "", "Team C"],
            ["failed", "", "11021", "", "", "", "", "Team D"],
        ]
    );
    assert!(
        !header
            .iter()
            .any(|h| h == "observed_password_reset_required")
    );
}

#[test]
fn the_ucloud_and_mixed_mfa_samples_succeed_on_the_emulators_demo_users() {
    let h = Harness::new();
    for (sample, rows, providers) in [
        ("mfa-enforcement-ucloud.csv", 20, vec!["ucloud"]),
        ("mfa-enforcement-mixed.csv", 20, vec!["aliyun", "ucloud"]),
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(sample);
        let out = h.path("sample.results.csv");
        h.cmd()
            .args(["run", path.to_str().unwrap(), "--emulator", "--no-progress"])
            .args(["--verify", "--overwrite", "-o", out.to_str().unwrap()])
            .args(["--rate", "aliyun=unlimited", "--rate", "ucloud=unlimited"])
            .assert()
            .code(0);
        let (header, results) = read_results(&out);
        assert_eq!(results.len(), rows, "{sample}");
        for r in &results {
            assert_eq!(cell(&header, r, "outcome"), "updated", "{sample}: {r:?}");
            assert_eq!(cell(&header, r, "observed_mfa_bind_required"), "true");
        }
        for provider in providers {
            assert!(
                results
                    .iter()
                    .any(|r| cell(&header, r, "provider") == provider),
                "{sample} has {provider} rows"
            );
        }
    }
}
