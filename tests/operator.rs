//! The operator's workflow end to end: plan → run → verify on the samples, verify after the state
//! was changed behind the tool's back, generated passwords, dry runs.

use crate::util::{CANARY_PASSWORD, Harness, cell, read_results};
use iambatch::emulator::EmulatorConfig;
use iambatch::jobs::ProviderKind;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A harness whose emulator has the demo users of `run --emulator`.
fn demo() -> Harness {
    let h = Harness::with_emulator(EmulatorConfig::default());
    h.emulator().seed_demo().unwrap();
    h
}

/// A sample file, copied into the test's directory so its results land there.
fn sample(h: &Harness, name: &str) -> PathBuf {
    let text =
        std::fs::read_to_string(format!("{}/samples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    h.write(name, &text)
}

/// Runs `iambatch COMMAND INPUT` fast and returns the exit code and the results rows.
fn step(
    h: &Harness,
    command: &str,
    input: &Path,
    extra: &[&str],
) -> (i32, Vec<String>, Vec<Vec<String>>) {
    let out = h
        .cmd()
        .args([command, input.to_str().unwrap(), "--no-progress"])
        .args(["--rate", "aliyun=unlimited", "--overwrite"])
        .args(extra)
        .output()
        .unwrap();
    let stem = input.file_stem().unwrap().to_str().unwrap();
    let kind = match command {
        "run" => "results",
        other => other,
    };
    let (header, rows) = read_results(&h.path(&format!("{stem}.{kind}.csv")));
    (out.status.code().unwrap(), header, rows)
}

fn column<'a>(header: &[String], rows: &'a [Vec<String>], name: &str) -> Vec<&'a str> {
    rows.iter().map(|r| cell(header, r, name)).collect()
}

/// The actions the emulator saw, in order.
fn actions_seen(h: &Harness) -> Vec<String> {
    h.emulator()
        .requests()
        .iter()
        .map(|l| l["action"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn plan_run_verify_on_the_mfa_sample() {
    let h = demo();
    let input = sample(&h, "mfa-enforcement-aliyun.csv");

    let (code, header, rows) = step(&h, "plan", &input, &[]);
    assert_eq!(code, 0);
    assert_eq!(rows.len(), 30);
    assert!(
        column(&header, &rows, "outcome")
            .iter()
            .all(|o| *o == "would-update")
    );
    assert!(
        column(&header, &rows, "observed_mfa_bind_required")
            .iter()
            .all(|v| *v == "false")
    );
    assert!(
        column(&header, &rows, "error_message")
            .iter()
            .all(|m| *m == "mfa_bind_required is false, expected true")
    );
    assert_eq!(
        cell(&header, &rows[0], "department"),
        "Mobile",
        "input columns carried through"
    );
    assert!(
        actions_seen(&h)
            .iter()
            .all(|a| a == "GetLoginProfile" || a == "GetUserMFAInfo"),
        "plan only reads"
    );

    let (code, header, rows) = step(&h, "run", &input, &[]);
    assert_eq!(code, 0);
    assert!(
        column(&header, &rows, "outcome")
            .iter()
            .all(|o| *o == "updated")
    );

    let (code, header, rows) = step(&h, "verify", &input, &[]);
    assert_eq!(code, 0, "all match");
    assert!(
        column(&header, &rows, "status")
            .iter()
            .all(|s| *s == "succeeded")
    );
    assert!(
        column(&header, &rows, "observed_mfa_bind_required")
            .iter()
            .all(|v| *v == "true")
    );
    assert!(
        column(&header, &rows, "error_message")
            .iter()
            .all(|m| m.is_empty())
    );

    let (code, header, rows) = step(&h, "plan", &input, &[]);
    assert_eq!(code, 0);
    assert!(
        column(&header, &rows, "outcome")
            .iter()
            .all(|o| *o == "unchanged")
    );
}

#[test]
fn plan_run_verify_on_the_onboarding_sample_then_verify_finds_exactly_the_tampered_rows() {
    let h = demo();
    let input = sample(&h, "onboarding-finance.csv");
    let secrets = h.path("passwords.csv");

    let (code, header, rows) = step(&h, "plan", &input, &[]);
    assert_eq!(code, 0);
    assert_eq!(rows.len(), 50);
    assert!(
        column(&header, &rows, "outcome")
            .iter()
            .all(|o| *o == "would-create")
    );
    assert!(
        column(&header, &rows, "observed_exists")
            .iter()
            .all(|v| *v == "false")
    );

    let (code, header, rows) = step(
        &h,
        "run",
        &input,
        &["--secrets-out", secrets.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    assert!(
        column(&header, &rows, "outcome")
            .iter()
            .all(|o| *o == "created")
    );
    // Line 3 is Kai Gao, of Treasury: the user, the login and both groups, in that order.
    let kai = rows
        .iter()
        .find(|r| cell(&header, r, "line") == "3")
        .unwrap();
    assert_eq!(
        cell(&header, kai, "steps"),
        "CreateUser=created;CreateLoginProfile=created;AddUserToGroup:finance=created;AddUserToGroup:treasury=created"
    );
    assert_eq!(cell(&header, kai, "attempts"), "4");
    let state = h.emulator().state();
    let user = &state["aliyun"]["users"]["kai.gao@finance.onaliyun.com"];
    assert_eq!(user["display_name"], "Kai Gao", "{user}");
    assert_eq!(user["login_profile"]["mfa_bind_required"], true, "{user}");
    assert_eq!(
        user["login_profile"]["password_reset_required"], true,
        "{user}"
    );

    let (code, header, rows) = step(&h, "verify", &input, &[]);
    assert_eq!(code, 0);
    assert!(
        column(&header, &rows, "status")
            .iter()
            .all(|s| *s == "succeeded")
    );
    // Passwords are not pretended to be verified.
    assert!(
        column(&header, &rows, "error_message")
            .iter()
            .all(|m| *m == "not compared, cannot be read back: password")
    );

    // A create now would fail: plan says so, and names the action that would work.
    let (code, header, rows) = step(&h, "plan", &input, &[]);
    assert_eq!(code, 1);
    assert!(
        column(&header, &rows, "outcome")
            .iter()
            .all(|o| *o == "conflict")
    );
    assert!(
        cell(&header, &rows[0], "error_message").contains("use ensure-user"),
        "{}",
        cell(&header, &rows[0], "error_message")
    );

    // Someone changes three users behind the tool's back.
    h.emulator()
        .tamper(&json!({"aliyun": {"users": {
            "kai.gao@finance.onaliyun.com": {"login_profile": {"mfa_bind_required": false}},
            "dan.guo@finance.onaliyun.com": {"display_name": "Dan G."},
            "hui.zhu@finance.onaliyun.com": {"groups": ["finance"]},
        }}}))
        .unwrap();
    let (code, header, rows) = step(&h, "verify", &input, &[]);
    assert_eq!(code, 1);
    let failed: Vec<(&str, &str, &str)> = rows
        .iter()
        .filter(|r| cell(&header, r, "status") != "succeeded")
        .map(|r| {
            assert_eq!(cell(&header, r, "status"), "failed");
            (
                cell(&header, r, "line"),
                cell(&header, r, "error_code"),
                cell(&header, r, "error_message"),
            )
        })
        .collect();
    let note = " (not compared, cannot be read back: password)";
    assert_eq!(
        failed,
        [
            (
                "3",
                "differs",
                &*format!("mfa_bind_required is false, expected true{note}")
            ),
            (
                "7",
                "differs",
                &*format!("display_name is Dan G., expected Dan Guo{note}")
            ),
            ("51", "differs", &*format!("not in controlling{note}")),
        ]
    );

    // ensure-user puts back what differs, and only that.
    let ensure = h.write(
        "ensure.csv",
        &std::fs::read_to_string(&input)
            .unwrap()
            .replace(",create-user,", ",ensure-user,"),
    );
    let before = h.emulator().requests().len();
    let more = h.path("more-passwords.csv");
    let (code, header, rows) = step(
        &h,
        "run",
        &ensure,
        &["--secrets-out", more.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    let changed: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| cell(&header, r, "outcome") != "unchanged")
        .map(|r| (cell(&header, r, "line"), cell(&header, r, "outcome")))
        .collect();
    assert_eq!(
        changed,
        [("3", "updated"), ("7", "updated"), ("51", "updated")]
    );
    // Rows run concurrently: the writes, in any order.
    let mut writes: Vec<String> = actions_seen(&h)
        .into_iter()
        .skip(before)
        .filter(|a| !a.starts_with("Get") && !a.starts_with("List"))
        .collect();
    writes.sort();
    assert_eq!(
        writes,
        ["AddUserToGroup", "UpdateLoginProfile", "UpdateUser"]
    );
}

#[test]
fn generated_passwords_exist_only_in_the_private_secrets_file() {
    let h = demo();
    let input = h.write_input(
        "gen.csv",
        "provider,action,user,generate_password,mfa_bind_required,ticket\n\
         aliyun,create-login-profile,new.one@corp.onaliyun.com,true,true,T1\n\
         aliyun,ensure-login-profile,new.two@corp.onaliyun.com,yes,true,T2\n\
         aliyun,ensure-login-profile,hai.yang@eng.onaliyun.com,true,true,T3\n",
    );
    let secrets = h.path("passwords.csv");
    let log = h.path("log.txt");
    let run = || {
        h.cmd()
            .args(["run", input.to_str().unwrap(), "--no-progress", "-vv"])
            .args(["--secrets-out", secrets.to_str().unwrap()])
            .args(["--log-file", log.to_str().unwrap()])
            .output()
            .unwrap()
    };
    // A configuration error leaves no empty secrets file that the next attempt would refuse.
    let out = h
        .cmd()
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .args(["--secrets-out", secrets.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!secrets.exists());

    let out = run();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mode = std::fs::metadata(&secrets).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(&secrets).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("line,provider,account,user,password"));
    let generated: Vec<(String, String)> = lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            assert_eq!(cells.len(), 5, "{l}");
            assert_eq!(cells[1], "aliyun");
            (cells[3].to_string(), cells[4].to_string())
        })
        .collect();
    // hai.yang already has a profile: ensure leaves its password alone, so none is generated.
    let users: Vec<&str> = generated.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(
        users,
        ["new.one@corp.onaliyun.com", "new.two@corp.onaliyun.com"]
    );

    let state = h.state();
    let mut everything = String::from_utf8_lossy(&out.stdout).into_owned();
    everything += &String::from_utf8_lossy(&out.stderr);
    everything += &std::fs::read_to_string(&log).unwrap();
    everything += &std::fs::read_to_string(h.path("gen.results.csv")).unwrap();
    everything += &state.to_string();
    for (user, password) in &generated {
        assert!(password.len() >= 20);
        let classes: [fn(char) -> bool; 4] = [
            |c| c.is_ascii_uppercase(),
            |c| c.is_ascii_lowercase(),
            |c| c.is_ascii_digit(),
            |c| !c.is_ascii_alphanumeric(),
        ];
        for class in classes {
            assert!(password.chars().any(class), "{user}: a class is missing");
        }
        assert_eq!(
            h.emulator()
                .has_password(ProviderKind::Aliyun, user, password),
            Some(true),
            "{user}: the password applied is the one in the secrets file"
        );
        assert!(
            !everything.contains(password.as_str()),
            "{user}'s password leaked"
        );
        let encoded = iambatch::providers::encoding::rfc3986(password);
        assert!(
            !everything.contains(&encoded),
            "{user}'s password leaked encoded"
        );
    }
    assert_ne!(generated[0].1, generated[1].1);

    // Never overwritten: a second run refuses before sending anything.
    let before = h.emulator().requests().len();
    let out = run();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&secrets).unwrap(), text);
    assert_eq!(h.emulator().requests().len(), before, "nothing sent");
}

#[test]
fn dry_run_prints_masked_requests_and_sends_nothing() {
    let h = demo();
    let input = h.write(
        "dry.csv",
        &format!(
            "provider,action,user,password,mfa_bind_required\n\
             aliyun,create-login-profile,a@corp.onaliyun.com,{CANARY_PASSWORD},true\n\
             aliyun,enforce-mfa,jia.chen@eng.onaliyun.com,,\n"
        ),
    );
    let out = h
        .cmd()
        .args(["run", input.to_str().unwrap(), "--dry-run", "-vv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let endpoint = h
        .emulator()
        .endpoint(iambatch::jobs::ProviderKind::Aliyun)
        .to_string();
    for expected in [
        "line 2: aliyun create-login-profile a@corp.onaliyun.com",
        &format!("POST {endpoint}"),
        "Action=CreateLoginProfile",
        "UserPrincipalName=a@corp.onaliyun.com",
        "MFABindRequired=true",
        "Password=***",
        "Signature=***",
        "AccessKeyId=emulator-aliyun-key",
        "line 3: aliyun enforce-mfa jia.chen@eng.onaliyun.com",
        "Action=UpdateLoginProfile",
    ] {
        assert!(stdout.contains(expected), "no '{expected}' in:\n{stdout}");
    }
    let everything = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for secret in [CANARY_PASSWORD, "emulator-aliyun-secret"] {
        assert!(!everything.contains(secret), "{secret} leaked");
        let encoded = iambatch::providers::encoding::rfc3986(secret);
        assert!(!everything.contains(&encoded), "{secret} leaked encoded");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was sent"));
    assert!(
        h.emulator().requests().is_empty(),
        "a dry run sends nothing"
    );
    assert!(!h.path("dry.results.csv").exists(), "nor writes results");
}
