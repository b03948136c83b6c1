//! What a run says on stderr: why rows did not succeed, at the end; and while it runs, a progress
//! line whose rate is the paced one, never above `--rate`.

use crate::util::{Harness, cell, read_results};
use iambatch::emulator::{EmulatorConfig, Knobs};

#[test]
fn the_summary_names_each_error_code_with_its_count_and_a_message() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    // 40 users without a login profile (an update needs one), and a row that is not valid.
    let mut csv = String::from("provider,action,user,login_status\n");
    for i in 0..40 {
        csv.push_str(&format!(
            "aliyun,update-login-profile,u{i}@corp.onaliyun.com,Inactive\n"
        ));
    }
    csv.push_str("aliyun,update-login-profile,,Inactive\n");
    let input = h.write_input("u.csv", &csv);
    let out = h
        .cmd()
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .args(["--rate", "aliyun=unlimited", "--skip-invalid"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (header, rows) = read_results(&h.path("u.results.csv"));
    let invalid = cell(&header, &rows[40], "error_message");
    assert!(
        stderr.contains(
            "    EntityNotExist.User.LoginProfile: 40 rows, e.g. line 2: The login profile of the user u0@corp.onaliyun.com does not exist.\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "    invalid (user): 1 row, e.g. line 42: {invalid}\n"
        )),
        "{stderr}"
    );
    let account = stderr
        .lines()
        .position(|l| l == "  aliyun: failed 40, invalid 1; 40 requests")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        stderr
            .lines()
            .nth(account + 1)
            .unwrap()
            .contains("EntityNotExist"),
        "most rows first: {stderr}"
    );
}

#[test]
fn a_paced_runs_progress_never_shows_a_rate_above_the_limit() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let mut csv = String::from("provider,action,user\n");
    for i in 0..70 {
        csv.push_str(&format!(
            "aliyun,get-login-profile,r{i}@corp.onaliyun.com\n"
        ));
    }
    let input = h.write_input("r.csv", &csv);
    let out = h
        .cmd()
        .args(["run", input.to_str().unwrap(), "--rate", "aliyun=20"])
        .env("IAMBATCH_PROGRESS_EVERY_MS", "500")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("progress: "))
        .collect();
    assert!(lines.len() >= 4, "70 rows at 20/s take 3.5 s: {stderr}");
    for line in &lines {
        let rate: f64 = line
            .split(", ")
            .find_map(|part| part.strip_suffix(" req/s"))
            .unwrap_or_else(|| panic!("no rate in {line}"))
            .parse()
            .unwrap();
        assert!(rate <= 20.0, "{line}");
        assert!(line.contains("/70 rows done ("), "{line}");
        assert!(line.contains(", ETA "), "{line}");
    }
    let last = lines.last().unwrap();
    let rate: f64 = last
        .rsplit(", ")
        .next()
        .unwrap()
        .strip_suffix(" req/s")
        .unwrap()
        .parse()
        .unwrap();
    assert!(rate >= 10.0, "the pace shows once it runs: {last}");
}

#[test]
fn throttles_and_retries_show_while_the_run_goes() {
    let h = Harness::with_emulator(EmulatorConfig {
        seed: 7,
        knobs: Knobs {
            rate: Some(10.0),
            fault_rate: 0.1,
            ..Default::default()
        },
        ..EmulatorConfig::default()
    });
    let mut csv = String::from("provider,action,user\n");
    for i in 0..50 {
        csv.push_str(&format!(
            "aliyun,get-login-profile,t{i}@corp.onaliyun.com\n"
        ));
    }
    let input = h.write_input("t.csv", &csv);
    let out = h
        .cmd()
        .args(["run", input.to_str().unwrap(), "--rate", "aliyun=20"])
        .env("IAMBATCH_PROGRESS_EVERY_MS", "300")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let during: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("progress: ") && !l.starts_with("progress: 50/50"))
        .collect();
    assert!(
        during.iter().any(|l| l.contains(" throttled")),
        "a throttle shows before the end: {stderr}"
    );
    assert!(
        during
            .iter()
            .any(|l| l.contains(" retries") || l.contains(" 1 retry")),
        "retries show before the end: {stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("  aliyun: succeeded 50 (read 50); ")
                && l.contains(" throttled, ")
                && l.contains(" retr")),
        "and the summary counts them: {stderr}"
    );
}
