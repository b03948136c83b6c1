//! End to end `export`: every user of an account, paged, equal to the emulator's state; the filters;
//! no writes; and the file is the input of `run` that makes every console user require MFA.

use crate::util::{Harness, cell, read_results};
use iambatch::emulator::{EmulatorConfig, Knobs};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Reads-only operations, by the names the emulator's log gives them.
const READS: [&str; 7] = [
    "ListUsers",
    "GetLoginProfile",
    "KeystoneListUsers",
    "ListUserLoginProtects",
    "ListVirtualMFADevices",
    "GetUserMFAInfo",
    "ListUserMfaDevices",
];

/// Users of every kind: aliyun 1,205 (two ListUsers pages of 1,000), ucloud 250 (three pages of
/// 100), huawei 250. A fifth have no console login; the others vary in status, MFA and more.
fn populate(h: &Harness, provider: &str) -> usize {
    let (n, users): (usize, Map<String, Value>) = match provider {
        "aliyun" => {
            let users = (0..1205)
                .map(|i| {
                    let profile = match i % 5 {
                        0 => Value::Null,
                        k => json!({"status": if k == 2 { "Inactive" } else { "Active" },
                            "mfa_bind_required": k == 1, "password_reset_required": i % 3 == 0}),
                    };
                    (
                        format!("u{i:04}@corp.onaliyun.com"),
                        json!({"login_profile": profile}),
                    )
                })
                .collect();
            (1205, users)
        }
        "ucloud" => {
            let users = (0..250)
                .map(|i| {
                    let profile = match i % 5 {
                        0 => Value::Null,
                        k => json!({"status": if k == 2 { "Inactive" } else { "Active" },
                            "mfa_bind_required": k == 1, "max_password_age": (i % 4) * 30}),
                    };
                    let email = if i % 2 == 0 {
                        format!("u{i:03}@ops.example.com")
                    } else {
                        String::new()
                    };
                    (
                        format!("u{i:03}"),
                        json!({"email": email, "login_profile": profile}),
                    )
                })
                .collect();
            (250, users)
        }
        "huawei" => {
            let users = (0..250)
                .map(|i| {
                    let user = match i % 5 {
                        0 => json!({"access_mode": "programmatic"}),
                        1 => json!({"login_protect": {"enabled": true, "verification_method": "vmfa"}}),
                        2 => json!({"login_protect": {"enabled": false, "verification_method": "sms"}}),
                        _ => json!({"access_mode": "console"}),
                    };
                    (format!("u{i:03}"), user)
                })
                .collect();
            (250, users)
        }
        other => panic!("{other}"),
    };
    h.emulator()
        .tamper(&json!({ provider: {"users": users} }))
        .unwrap();
    n
}

/// Runs `export`, with no rate limit, and reads the file.
fn export(
    h: &Harness,
    provider: &str,
    name: &str,
    extra: &[&str],
) -> (Vec<String>, Vec<Vec<String>>) {
    let (header, rows, _) = h.export(provider, name, extra);
    (header, rows)
}

/// What the emulator holds for the user a row names, as the row's state cells should say it.
fn expected(state: &Value, provider: &str, row: &Row) -> (bool, Vec<(String, String)>) {
    let users = state[provider]["users"].as_object().unwrap();
    let text = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match provider {
        "aliyun" => {
            let p = &users[&row.get("user")]["login_profile"];
            let cells = [
                ("login_status", &p["status"]),
                ("mfa_bind_required", &p["mfa_bind_required"]),
                ("password_reset_required", &p["password_reset_required"]),
            ];
            (
                !p.is_null(),
                cells
                    .iter()
                    .map(|(c, v)| (c.to_string(), text(v)))
                    .collect(),
            )
        }
        "ucloud" => {
            let u = &users[&row.get("user")];
            let p = &u["login_profile"];
            let mut cells: Vec<(String, String)> = [
                ("login_status", &p["status"]),
                ("mfa_bind_required", &p["mfa_bind_required"]),
                ("max_password_age", &p["max_password_age"]),
                ("email", &u["email"]),
            ]
            .iter()
            .map(|(c, v)| (c.to_string(), text(v)))
            .collect();
            // GetLoginProfile does not return it.
            cells.push(("password_reset_required".into(), String::new()));
            (!p.is_null(), cells)
        }
        "huawei" => {
            let (name, u) = users
                .iter()
                .find(|(_, u)| u["id"] == row.get("user").as_str())
                .expect("the id of a user");
            assert_eq!(row.get("user_name"), *name);
            let lp = &u["login_protect"];
            let enabled = if lp.is_null() {
                "false".to_string()
            } else {
                text(&lp["enabled"])
            };
            let cells = vec![
                ("login_protect_enabled".to_string(), enabled),
                (
                    "verification_method".to_string(),
                    text(&lp["verification_method"]),
                ),
            ];
            (u["access_mode"] != "programmatic", cells)
        }
        other => panic!("{other}"),
    }
}

struct Row<'a> {
    header: &'a [String],
    cells: &'a [String],
}

impl Row<'_> {
    fn get(&self, column: &str) -> String {
        cell(self.header, self.cells, column).to_string()
    }
}

fn requires_mfa(cells: &[(String, String)]) -> bool {
    cells
        .iter()
        .any(|(c, v)| (c == "mfa_bind_required" || c == "login_protect_enabled") && v == "true")
}

#[test]
fn every_user_of_every_page_once_with_the_emulators_values_and_no_write() {
    for provider in ["aliyun", "ucloud", "huawei"] {
        let h = Harness::with_emulator(EmulatorConfig::default());
        let n = populate(&h, provider);
        let state = h.state();
        let (header, rows) = export(&h, provider, "all.csv", &["--all-users"]);
        assert_eq!(rows.len(), n, "{provider}: every user");
        let keys: Vec<String> = rows.iter().map(|r| r[2].clone()).collect();
        let unique: BTreeSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), n, "{provider}: each user once");
        if provider != "huawei" {
            // List order, which is name order in the emulator.
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted, "{provider}: list order");
        }
        for cells in &rows {
            let row = Row {
                header: &header,
                cells,
            };
            assert_eq!(row.get("provider"), provider);
            assert_eq!(row.get("account"), "");
            let (console, want) = expected(&state, provider, &row);
            assert_eq!(
                row.get("has_login_profile"),
                console.to_string(),
                "{provider}"
            );
            for (column, value) in want {
                let want = if console { value } else { String::new() };
                assert_eq!(
                    row.get(&column),
                    want,
                    "{provider} {column} of {:?}",
                    row.cells
                );
            }
        }
        // Informational columns come from the list.
        if provider == "aliyun" {
            let first = Row {
                header: &header,
                cells: &rows[0],
            };
            assert_eq!(first.get("display_name"), "u0000");
            assert_eq!(
                first.get("create_date"),
                state["aliyun"]["users"]["u0000@corp.onaliyun.com"]["create_date"]
            );
        }
        // Reads only: the list pages, then one read per user (huawei: one bulk read).
        let log = h.emulator().requests();
        assert!(
            log.iter()
                .all(|l| READS.contains(&l["action"].as_str().unwrap())),
            "{provider}"
        );
        let count = |action: &str| log.iter().filter(|l| l["action"] == action).count();
        match provider {
            "aliyun" => assert_eq!((count("ListUsers"), count("GetLoginProfile")), (2, n)),
            "ucloud" => assert_eq!((count("ListUsers"), count("GetLoginProfile")), (3, n)),
            _ => assert_eq!(
                (count("KeystoneListUsers"), count("ListUserLoginProtects")),
                (1, 1)
            ),
        }
        // Without --all-users, only console users, and no has_login_profile column.
        let (header, console_rows) = export(&h, provider, "console.csv", &[]);
        assert_eq!(console_rows.len(), n - n.div_ceil(5), "{provider}");
        assert!(!header.iter().any(|c| c == "has_login_profile"));
    }
}

#[test]
fn missing_mfa_keeps_exactly_the_console_users_without_mfa() {
    for provider in ["aliyun", "ucloud", "huawei"] {
        let h = Harness::with_emulator(EmulatorConfig::default());
        populate(&h, provider);
        let state = h.state();
        let (header, rows) = export(&h, provider, "todo.csv", &["--missing-mfa"]);
        let (all_header, all) = export(&h, provider, "all.csv", &["--all-users"]);
        let wanted: Vec<&String> = all
            .iter()
            .filter(|cells| {
                let (console, want) = expected(
                    &state,
                    provider,
                    &Row {
                        header: &all_header,
                        cells,
                    },
                );
                console && !requires_mfa(&want)
            })
            .map(|cells| &cells[2])
            .collect();
        let got: Vec<&String> = rows.iter().map(|r| &r[2]).collect();
        assert!(!got.is_empty());
        assert_eq!(got, wanted, "{provider}");
        for cells in &rows {
            let row = Row {
                header: &header,
                cells,
            };
            let mfa = if provider == "huawei" {
                "login_protect_enabled"
            } else {
                "mfa_bind_required"
            };
            assert_eq!(row.get(mfa), "false");
        }
    }
}

/// The console users' MFA columns, by user, from the emulator.
fn mfa_of_console_users(h: &Harness, provider: &str) -> Vec<(String, Value)> {
    let state = h.state();
    let users = state[provider]["users"].as_object().unwrap();
    users
        .iter()
        .filter_map(|(name, u)| match provider {
            "huawei" => (u["access_mode"] != "programmatic")
                .then(|| (name.clone(), u["login_protect"].clone())),
            _ => (!u["login_profile"].is_null()).then(|| {
                (
                    name.clone(),
                    u["login_profile"]["mfa_bind_required"].clone(),
                )
            }),
        })
        .collect()
}

#[test]
fn running_the_enforce_mfa_export_leaves_every_console_user_requiring_mfa() {
    for provider in ["aliyun", "ucloud", "huawei"] {
        let h = Harness::with_emulator(EmulatorConfig::default());
        populate(&h, provider);
        let before = h.state();
        let todo = h.path("todo.csv");
        let (header, rows) = export(
            &h,
            provider,
            "todo.csv",
            &["--missing-mfa", "--action", "enforce-mfa"],
        );
        assert!(
            rows.iter()
                .all(|r| cell(&header, r, "action") == "enforce-mfa")
        );
        h.cmd()
            .args(["validate", todo.to_str().unwrap()])
            .assert()
            .code(0);
        h.cmd()
            .args(["run", todo.to_str().unwrap(), "--no-progress", "--verify"])
            .args(["--rate", &format!("{provider}=unlimited")])
            .assert()
            .code(0);
        let (rheader, results) = read_results(&h.path("todo.results.csv"));
        assert_eq!(results.len(), rows.len());
        assert!(
            results
                .iter()
                .all(|r| cell(&rheader, r, "outcome") == "updated")
        );
        for (user, mfa) in mfa_of_console_users(&h, provider) {
            match provider {
                "huawei" => {
                    assert_eq!(mfa["enabled"], true, "{user}");
                    // A method set before is kept; never configured gets vmfa.
                    let old = &before["huawei"]["users"][&user]["login_protect"];
                    let method = if old.is_null() {
                        json!("vmfa")
                    } else {
                        old["verification_method"].clone()
                    };
                    assert_eq!(mfa["verification_method"], method, "{user}");
                }
                _ => assert_eq!(mfa, true, "{provider} {user}"),
            }
        }
        // Users without console login were not touched, and a second export finds nobody.
        let (_, left) = export(&h, provider, "again.csv", &["--missing-mfa"]);
        assert!(left.is_empty(), "{provider}: {left:?}");
    }
}

/// The state as `run` may not change it: every user's login fields, without counters and dates.
fn login_state(h: &Harness, provider: &str) -> Value {
    let mut state = h.state()[provider]["users"].clone();
    for user in state.as_object_mut().unwrap().values_mut() {
        let user = user.as_object_mut().unwrap();
        user.remove("updates");
        if let Some(Value::Object(p)) = user.get_mut("login_profile") {
            p.remove("updated_at");
            p.remove("update_date");
        }
    }
    state
}

#[test]
fn an_unedited_export_with_the_no_op_action_changes_nothing() {
    // aliyun: ensure reads and finds nothing to do, one read per row.
    let h = Harness::with_emulator(EmulatorConfig::default());
    populate(&h, "aliyun");
    let file = h.path("same.csv");
    let (_, rows) = export(
        &h,
        "aliyun",
        "same.csv",
        &["--action", "ensure-login-profile"],
    );
    let reads_before = h.emulator().requests().len();
    h.cmd()
        .args([
            "run",
            file.to_str().unwrap(),
            "--no-progress",
            "--rate",
            "aliyun=unlimited",
        ])
        .assert()
        .code(0);
    let (header, results) = read_results(&h.path("same.results.csv"));
    assert_eq!(results.len(), rows.len());
    for r in &results {
        assert_eq!(
            (cell(&header, r, "outcome"), cell(&header, r, "attempts")),
            ("unchanged", "1"),
            "{r:?}"
        );
    }
    let log = h.emulator().requests();
    assert_eq!(log.len() - reads_before, rows.len());
    assert!(
        log.iter()
            .all(|l| READS.contains(&l["action"].as_str().unwrap()))
    );

    // ucloud update-login-profile and huawei set-login-protect are writes: they write back what
    // was read, so the state stays as it was and reads back equal.
    for (provider, action) in [
        ("ucloud", "update-login-profile"),
        ("huawei", "set-login-protect"),
    ] {
        let h = Harness::with_emulator(EmulatorConfig::default());
        populate(&h, provider);
        let file = h.path("same.csv");
        export(&h, provider, "same.csv", &["--action", action]);
        let before = login_state(&h, provider);
        h.cmd()
            .args(["run", file.to_str().unwrap(), "--no-progress", "--verify"])
            .args(["--rate", &format!("{provider}=unlimited")])
            .assert()
            .code(0);
        let (header, results) = read_results(&h.path("same.results.csv"));
        assert!(
            results
                .iter()
                .all(|r| cell(&header, r, "status") == "succeeded")
        );
        let after = login_state(&h, provider);
        if provider == "huawei" {
            // A never-configured user now has a configuration that is off: login is the same.
            for (name, user) in before.as_object().unwrap() {
                let (old, new) = (&user["login_protect"], &after[name]["login_protect"]);
                if old.is_null() {
                    assert!(new.is_null() || new["enabled"] == false, "{name}: {new}");
                } else {
                    assert_eq!(old, new, "{name}");
                }
            }
        } else {
            assert_eq!(before, after);
        }
    }
}

#[test]
fn plan_of_an_unedited_export_says_unchanged_on_every_row() {
    for (provider, action) in [
        ("aliyun", "ensure-login-profile"),
        ("ucloud", "update-login-profile"),
        ("huawei", "set-login-protect"),
    ] {
        let h = Harness::with_emulator(EmulatorConfig::default());
        populate(&h, provider);
        let (_, rows) = export(&h, provider, "todo.csv", &["--action", action]);
        let before = h.emulator().requests().len();
        h.cmd()
            .args([
                "plan",
                h.path("todo.csv").to_str().unwrap(),
                "--no-progress",
            ])
            .args(["--rate", &format!("{provider}=unlimited")])
            .assert()
            .code(0);
        let (header, results) = read_results(&h.path("todo.plan.csv"));
        assert_eq!(results.len(), rows.len());
        for r in &results {
            assert_eq!(
                cell(&header, r, "outcome"),
                "unchanged",
                "{provider}: {r:?}"
            );
        }
        let writes = [
            "CreateLoginProfile",
            "UpdateLoginProfile",
            "DeleteLoginProfile",
            "UpdateLoginProtect",
        ];
        let log = h.emulator().requests();
        assert!(log.len() > before, "{provider}: plan read the state");
        assert!(
            log[before..]
                .iter()
                .all(|l| !writes.contains(&l["action"].as_str().unwrap())),
            "{provider}: plan sent a write"
        );
    }
}

#[test]
fn export_is_paced_retried_and_signed_like_every_call_and_names_an_account() {
    // The emulator throttles at 40/s (well below what even a loaded machine sends at 150/s) and
    // fails 5% of requests; the export still reads everyone.
    let h = Harness::with_emulator(EmulatorConfig {
        seed: 7,
        knobs: Knobs {
            rate: Some(40.0),
            fault_rate: 0.05,
            ..Default::default()
        },
        ..Default::default()
    });
    let n = populate(&h, "ucloud");
    let config = h.write(
        "iambatch.toml",
        "[accounts.ops]\nprovider = \"ucloud\"\npublic_key = \"emulator-ucloud-public\"\nprivate_key_env = \"OPS_KEY\"\n",
    );
    let out = h.path("ops.csv");
    h.cmd()
        .env("OPS_KEY", "emulator-ucloud-private")
        .args(["export", "ops", "-o", out.to_str().unwrap(), "--all-users"])
        .args(["--config", config.to_str().unwrap(), "--rate", "ops=150"])
        .args([
            "--max-attempts",
            "10",
            "--concurrency",
            "8",
            "--no-progress",
        ])
        .assert()
        .code(0);
    let (header, rows) = read_results(&out);
    assert_eq!(rows.len(), n);
    assert!(rows.iter().all(|r| cell(&header, r, "account") == "ops"));
    let log = h.emulator().requests();
    let outcome = |o: &str| log.iter().filter(|l| l["outcome"] == o).count();
    assert!(
        outcome("throttled") > 0 && outcome("fault") > 0,
        "throttled {} fault {}",
        outcome("throttled"),
        outcome("fault")
    );
    // The file names the account, so run uses it again.
    h.cmd()
        .env("OPS_KEY", "emulator-ucloud-private")
        .args([
            "validate",
            out.to_str().unwrap(),
            "--action",
            "get-login-profile",
        ])
        .args(["--config", config.to_str().unwrap()])
        .assert()
        .code(0);
}

#[test]
fn a_failed_listing_writes_no_file_and_an_existing_one_is_kept() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    populate(&h, "aliyun");
    let out: PathBuf = h.path("users.csv");
    let failed = h
        .cmd()
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "wrong-secret")
        .args([
            "export",
            "aliyun",
            "-o",
            out.to_str().unwrap(),
            "--no-progress",
        ])
        .args(["--max-attempts", "2"])
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("SignatureDoesNotMatch") && stderr.contains("was not written"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-secret"));
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(h.dir.path()).unwrap().count(),
        0,
        "no partial file left"
    );

    std::fs::write(&out, "kept\n").unwrap();
    h.cmd()
        .args([
            "export",
            "aliyun",
            "-o",
            out.to_str().unwrap(),
            "--no-progress",
        ])
        .assert()
        .code(2);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "kept\n");
}

#[test]
fn the_emulator_flag_exports_the_demo_users_of_each_provider() {
    let h = Harness::new();
    for (provider, rows, missing_mfa) in
        [("aliyun", 36, 30), ("ucloud", 28, 24), ("huawei", 24, 21)]
    {
        let unlimited = format!("{provider}=unlimited");
        let out = h.path(&format!("{provider}.csv"));
        h.cmd()
            .args([
                "export",
                provider,
                "--emulator",
                "--no-progress",
                "-o",
                out.to_str().unwrap(),
            ])
            .args(["--rate", &unlimited])
            .assert()
            .code(0);
        assert_eq!(read_results(&out).1.len(), rows, "{provider}");
        let todo = h.path(&format!("{provider}-todo.csv"));
        h.cmd()
            .args([
                "export",
                provider,
                "--emulator",
                "--no-progress",
                "--missing-mfa",
            ])
            .args(["--action", "enforce-mfa", "-o", todo.to_str().unwrap()])
            .args(["--rate", &unlimited])
            .assert()
            .code(0);
        assert_eq!(read_results(&todo).1.len(), missing_mfa, "{provider}");
    }
}

#[test]
fn a_huawei_account_with_token_auth_exports_the_same_file() {
    use iambatch::emulator::{HUAWEI_DOMAIN_NAME, HUAWEI_IAM_PASSWORD, HUAWEI_IAM_USER};
    let h = Harness::with_emulator(EmulatorConfig::default());
    populate(&h, "huawei");
    let (_, by_aksk) = export(&h, "huawei", "aksk.csv", &["--all-users"]);
    let out = h.path("token.csv");
    h.cmd()
        .env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .env_remove("HUAWEICLOUD_SDK_DOMAIN_ID")
        .env("HUAWEICLOUD_USER_NAME", HUAWEI_IAM_USER)
        .env("HUAWEICLOUD_PASSWORD", HUAWEI_IAM_PASSWORD)
        .env("HUAWEICLOUD_DOMAIN_NAME", HUAWEI_DOMAIN_NAME)
        .args(["export", "huawei", "--all-users", "--no-progress"])
        .args(["-o", out.to_str().unwrap()])
        .assert()
        .code(0);
    assert_eq!(read_results(&out).1, by_aksk);
    let log = h.emulator().requests();
    let token = log
        .iter()
        .filter(|l| l["account"] == HUAWEI_IAM_USER)
        .count();
    // The token request, the list, the login protections and the MFA devices.
    assert_eq!(token, 4, "{log:?}");
}
