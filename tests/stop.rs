//! Stop means stop: after Ctrl-C, an account's stop or `--max-failures`, no request leaves that was
//! not already on the wire; rows withdrawn from their workers end `not_attempted` with the reason.
//! Every test runs slowly (2 requests/s) with many workers, so up to `concurrency` rows wait for
//! their pacing slot when the stop comes; the emulator's request log is the judge, not the clock.

use crate::util::{Harness, cell, read_results, signal, unix_now, wait_until};
use iambatch::emulator::EmulatorConfig;
use std::process::Stdio;
use std::time::Duration;

const ROWS: usize = 30;

fn creates() -> String {
    let mut csv = String::from("provider,action,user,password,note\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "aliyun,create-login-profile,u{i:03}@corp.onaliyun.com,Init-{i:03}-pw!,ticket {i}\n"
        ));
    }
    csv
}

/// How many result rows have `column` = `value`.
fn count(header: &[String], rows: &[Vec<String>], column: &str, value: &str) -> usize {
    rows.iter()
        .filter(|r| cell(header, r, column) == value)
        .count()
}

/// Every row not sent is `not_attempted` with `code`, as a row that never left the queue: no
/// attempt, no HTTP status. Returns how many there are.
fn withdrawn(header: &[String], rows: &[Vec<String>], code: &str) -> usize {
    let not_sent: Vec<_> = rows
        .iter()
        .filter(|r| cell(header, r, "status") == "not_attempted")
        .collect();
    for r in &not_sent {
        assert_eq!(cell(header, r, "error_code"), code, "{r:?}");
        assert!(matches!(cell(header, r, "attempts"), "" | "0"), "{r:?}");
        assert_eq!(cell(header, r, "http_status"), "", "{r:?}");
    }
    not_sent.len()
}

#[test]
fn ctrl_c_sends_nothing_more() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let input = h.write_input("slow.csv", &creates());
    let child = h
        .std_cmd()
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .args(["--rate", "aliyun=2", "--concurrency", "8"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(60), "3 requests", || {
        h.emulator().requests().len() >= 3
    });
    let interrupted = unix_now();
    signal(&child, "-INT");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");

    let log = h.emulator().requests();
    let after: Vec<f64> = log
        .iter()
        .map(|l| l["time"].as_f64().unwrap() - interrupted)
        .filter(|t| *t > 0.0)
        .collect();
    // One request every half second, replied to in milliseconds: at most the one on the wire when
    // the signal came may arrive after it.
    assert!(
        after.len() <= 1,
        "requests arrived this long (s) after Ctrl-C: {after:?}"
    );

    let (header, rows) = read_results(&h.path("slow.results.csv"));
    assert_eq!(rows.len(), ROWS, "every row reported");
    let succeeded = count(&header, &rows, "status", "succeeded");
    assert_eq!(succeeded, log.len(), "one request per row sent");
    assert_eq!(withdrawn(&header, &rows, "interrupted"), ROWS - succeeded);
    assert!(
        rows.iter()
            .filter(|r| cell(&header, r, "status") == "not_attempted")
            .all(|r| cell(&header, r, "error_message").contains("--resume")),
        "the rest says how to finish"
    );
}

#[test]
fn a_stopped_account_sends_nothing_more() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let input = h.write_input("wrong.csv", &creates());
    let out = h
        .cmd()
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "wrong-secret")
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .args(["--rate", "aliyun=2", "--concurrency", "8"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stopped after 3 credential failures"),
        "{stderr}"
    );

    // Three credential failures in a row stop the account; the workers waiting for their slot
    // then send nothing.
    let log = h.emulator().requests();
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(log.iter().all(|l| l["outcome"] == "rejected"), "{log:?}");
    let (header, rows) = read_results(&h.path("wrong.results.csv"));
    assert_eq!(rows.len(), ROWS, "every row reported");
    assert_eq!(
        count(&header, &rows, "error_code", "SignatureDoesNotMatch"),
        3
    );
    assert_eq!(withdrawn(&header, &rows, "account_stopped"), ROWS - 3);
}

#[test]
fn max_failures_sends_nothing_more() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    // Users without a login profile: every update fails.
    let mut csv = String::from("provider,action,user,mfa_bind_required\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "aliyun,update-login-profile,nobody{i}@corp.onaliyun.com,true\n"
        ));
    }
    let input = h.write_input("fail.csv", &csv);
    h.cmd()
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .args(["--rate", "aliyun=2", "--concurrency", "8"])
        .args(["--max-failures", "5"])
        .assert()
        .code(1);

    let log = h.emulator().requests();
    assert_eq!(log.len(), 5, "{log:?}");
    let (header, rows) = read_results(&h.path("fail.results.csv"));
    assert_eq!(rows.len(), ROWS, "every row reported");
    assert_eq!(count(&header, &rows, "status", "failed"), 5);
    assert_eq!(withdrawn(&header, &rows, "max_failures"), ROWS - 5);
}
