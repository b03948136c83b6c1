//! The command line's contract: validate, exit codes, input handling end to end.

use crate::util::{Harness, cell, read_results, read_results_separated};
use iambatch::emulator::EmulatorConfig;

#[test]
fn validate_is_clean_or_lists_problems_and_sends_nothing() {
    let h = Harness::new();
    let good = h.write("good.csv", "provider,action,user,password\naliyun,create-login-profile,a@x.onaliyun.com,Passw0rd-123\n");
    h.cmd()
        .args(["validate", good.to_str().unwrap()])
        .assert()
        .code(0);
    let bad = h.write(
        "bad.csv",
        "provider,action,user\naliyun,create-login-profile,a@x.onaliyun.com\n",
    );
    let out = h
        .cmd()
        .args(["validate", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
}

#[test]
fn utf16_and_missing_files_are_clear_errors() {
    let h = Harness::new();
    let mut bytes = vec![0xFF, 0xFE];
    for unit in "provider,action,user\n".encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let p = h.path("utf16.csv");
    std::fs::write(&p, bytes).unwrap();
    let out = h
        .cmd()
        .args(["validate", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("UTF-16") && stderr.contains("UTF-8"),
        "{stderr}"
    );
    let out = h.cmd().args(["validate", "nope.csv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bom_crlf_semicolons_and_extra_columns_carry_through() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let input = h.write(
        "semi.csv",
        "\u{feff}provider;action;user;password;Status;note\r\n\
         aliyun;create-login-profile;a@corp.onaliyun.com;Passw0rd-123;Active;\"multi\r\nline; with \"\"quotes\"\"\"\r\n\
         \r\n\
         aliyun;create-login-profile;b@corp.onaliyun.com;Passw0rd-123;Inactive;=HYPERLINK(\"x\")\r\n",
    );
    h.users_exist("aliyun", &["a@corp.onaliyun.com", "b@corp.onaliyun.com"]);
    h.cmd()
        .args([
            "run",
            input.to_str().unwrap(),
            "--no-progress",
            "--delimiter",
            ";",
        ])
        .assert()
        .code(0);
    let text = std::fs::read_to_string(h.path("semi.results.csv")).unwrap();
    let (header, rows) = read_results_separated(&h.path("semi.results.csv"), b';');
    assert_eq!(rows.len(), 2);
    assert!(header.contains(&"input_Status".to_string()), "{header:?}");
    // The spreadsheet's CRLF inside the quoted cell is carried through byte for byte.
    assert_eq!(
        cell(&header, &rows[0], "note"),
        "multi\r\nline; with \"quotes\""
    );
    assert!(
        text.contains(";\"multi\r\nline; with \"\"quotes\"\"\"\n"),
        "{text:?}"
    );
    assert_eq!(cell(&header, &rows[1], "line"), "5");
    assert_eq!(cell(&header, &rows[1], "note"), "'=HYPERLINK(\"x\")");
    assert_eq!(
        h.state()["aliyun"]["users"]["b@corp.onaliyun.com"]["login_profile"]["status"],
        "Inactive"
    );
    // --resume recognises both rows by their cells as the results file holds them: nothing sent.
    let sent = h.emulator().requests().len();
    h.cmd()
        .args([
            "run",
            input.to_str().unwrap(),
            "--no-progress",
            "--delimiter",
            ";",
            "--resume",
        ])
        .assert()
        .code(0);
    assert_eq!(h.emulator().requests().len(), sent);
    let text = std::fs::read_to_string(h.path("semi.results.csv")).unwrap();
    assert_eq!(
        text.matches(",skipped,").count() + text.matches(";skipped;").count(),
        2,
        "{text}"
    );
}

#[test]
fn existing_results_file_is_refused_without_overwrite() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let input = h.write(
        "x.csv",
        "provider,action,user\naliyun,get-login-profile,a@corp.onaliyun.com\n",
    );
    h.write("x.results.csv", "precious\n");
    let out = h
        .cmd()
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--overwrite"));
    assert_eq!(
        std::fs::read_to_string(h.path("x.results.csv")).unwrap(),
        "precious\n"
    );
    assert!(h.emulator().requests().is_empty());
}

#[test]
fn emulator_flag_runs_the_sample_without_credentials() {
    let h = Harness::new();
    let sample =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/onboarding-finance.csv");
    let out = h.path("onboarding.results.csv");
    h.cmd()
        .args([
            "run",
            sample.to_str().unwrap(),
            "--emulator",
            "--no-progress",
            "--rate",
            "aliyun=unlimited",
            "--secrets-out",
            h.path("passwords.csv").to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .assert()
        .code(0);
    let (header, rows) = read_results(&out);
    assert_eq!(rows.len(), 50);
    assert!(
        rows.iter()
            .all(|r| cell(&header, r, "outcome") == "created")
    );
    assert!(
        cell(&header, &rows[0], "steps").starts_with(
            "CreateUser=created;CreateLoginProfile=created;AddUserToGroup:finance=created"
        ),
        "{}",
        cell(&header, &rows[0], "steps")
    );
    assert!(header.contains(&"manager".to_string()));
}

#[test]
fn emulator_flag_has_demo_users_for_the_mfa_sample() {
    let h = Harness::new();
    let sample =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/mfa-enforcement-aliyun.csv");
    let out = h.path("mfa.results.csv");
    h.cmd()
        .args([
            "run",
            sample.to_str().unwrap(),
            "--emulator",
            "--no-progress",
            "--verify",
            "--rate",
            "aliyun=unlimited",
            "-o",
            out.to_str().unwrap(),
        ])
        .assert()
        .code(0);
    let (header, rows) = read_results(&out);
    assert_eq!(rows.len(), 30);
    assert!(
        rows.iter()
            .all(|r| cell(&header, r, "outcome") == "updated")
    );
    assert!(
        rows.iter()
            .all(|r| cell(&header, r, "observed_mfa_bind_required") == "true")
    );
}

#[test]
fn a_misspelled_column_is_refused_before_anything_is_sent() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let input = h.write(
        "typo.csv",
        "provider,action,user,mfa_bind_required,login_stauts,department\n\
         aliyun,update-login-profile,ning.chen@finance.onaliyun.com,true,Inactive,Finance\n",
    );
    for command in ["validate", "run"] {
        let out = h
            .cmd()
            .args([command, input.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{command}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("typo.csv, line 1: login_stauts: did you mean login_status?")
                && stderr.contains("rename it"),
            "{command}: {stderr}"
        );
    }
    assert!(h.emulator().requests().is_empty());
    assert!(!h.path("typo.results.csv").exists());
}

#[test]
fn a_european_spreadsheet_runs_without_delimiter() {
    // What Excel writes as "CSV UTF-8" where ',' is the decimal mark: BOM, CRLF and ';'.
    let h = Harness::new();
    let input = h.write(
        "europe.csv",
        "\u{feff}provider;action;user;department;note\r\n\
         aliyun;enforce-mfa;jia.chen@eng.onaliyun.com;Mobile;\"a, b\r\nc\"\r\n\
         aliyun;enforce-mfa;liang.chen@eng.onaliyun.com;Data;plain\r\n",
    );
    let out = h
        .cmd()
        .args([
            "run",
            input.to_str().unwrap(),
            "--emulator",
            "--no-progress",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("columns separated by ';' (recognised from the header)"),
        "{stderr}"
    );
    let (header, rows) = read_results_separated(&h.path("europe.results.csv"), b';');
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| cell(&header, r, "status") == "succeeded")
    );
    assert_eq!(cell(&header, &rows[0], "note"), "a, b\r\nc");
    assert_eq!(cell(&header, &rows[1], "line"), "4");
    assert_eq!(cell(&header, &rows[1], "department"), "Data");
    // validate says the same.
    let out = h
        .cmd()
        .args(["validate", input.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!(
            "{}: 2 rows, all valid; columns separated by ';' (recognised from the header)",
            input.display()
        )
    );
}
