//! Nothing lost, nothing applied twice: kill -9 and resume, Ctrl-C, edited input (`--max-failures`
//! is in `stop.rs`).

use crate::util::{Harness, cell, read_results, rows_written, signal, wait_until};
use iambatch::emulator::{EmulatorConfig, Knobs};
use iambatch::jobs::ProviderKind;
use std::io::BufRead;
use std::process::{Child, Stdio};
use std::time::Duration;

fn creates(n: usize) -> String {
    let mut csv = String::from("provider,action,user,password,mfa_bind_required,note\n");
    for i in 0..n {
        csv.push_str(&format!("aliyun,create-login-profile,u{i:05}@corp.onaliyun.com,Init-{i:05}-pw!,true,=ticket {i}\n"));
    }
    csv
}

fn spawn(h: &Harness, args: &[&str]) -> Child {
    let mut cmd = h.std_cmd();
    cmd.args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn killed_runs_resume_to_exactly_one_create_per_user() {
    let h = Harness::with_emulator(EmulatorConfig {
        seed: 9,
        knobs: Knobs {
            fault_rate: 0.05,
            drop_rate: 0.03,
            ..Default::default()
        },
        ..Default::default()
    });
    let input = h.write_input("big.csv", &creates(2000));
    let input = input.to_str().unwrap();
    let base = [
        "run",
        input,
        "--no-progress",
        "--rate",
        "aliyun=500",
        "--concurrency",
        "8",
    ];
    let results = h.path("big.results.csv");
    // Each run is killed once it has sent some hundreds of rows and written some of them.
    for (i, sends) in [300usize, 500, 400].into_iter().enumerate() {
        let mut args = base.to_vec();
        if i > 0 {
            args.push("--resume");
        }
        let (sent, written) = (h.emulator().requests().len(), rows_written(&results));
        let mut child = spawn(&h, &args);
        wait_until(Duration::from_secs(60), "requests and rows", || {
            h.emulator().requests().len() >= sent + sends && rows_written(&results) > written
        });
        signal(&child, "-KILL");
        child.wait().unwrap();
        // What a kill leaves is a valid CSV of whole rows.
        let (header, rows) = read_results(&h.path("big.results.csv"));
        assert!(
            !rows.is_empty() && rows.len() < 2000 + 2000 * i,
            "run {i}: {} rows",
            rows.len()
        );
        assert!(rows.iter().all(|r| r.len() == header.len()));
    }
    let mut args = base.to_vec();
    args.push("--resume");
    h.cmd().args(&args).assert().code(0);

    let (header, rows) = read_results(&h.path("big.results.csv"));
    assert_eq!(rows.len(), 2000, "one row per input row");
    let mut skipped = 0;
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(cell(&header, row, "line"), (i + 2).to_string());
        match cell(&header, row, "status") {
            "skipped" => skipped += 1,
            "succeeded" => {}
            other => panic!("row {i}: {other} {row:?}"),
        }
        assert_eq!(cell(&header, row, "outcome"), "created");
        assert_eq!(cell(&header, row, "note"), format!("'=ticket {i}"));
    }
    assert!(skipped > 0, "the resumed runs skipped what was done");
    let state = h.state();
    let users = state["aliyun"]["users"].as_object().unwrap();
    assert_eq!(users.len(), 2000);
    for i in 0..2000 {
        let u = &users[&format!("u{i:05}@corp.onaliyun.com")];
        assert_eq!(u["creates"], 1, "user {i} created {} times", u["creates"]);
        let user = format!("u{i:05}@corp.onaliyun.com");
        let password = format!("Init-{i:05}-pw!");
        assert_eq!(
            h.emulator()
                .has_password(ProviderKind::Aliyun, &user, &password),
            Some(true)
        );
        assert_eq!(u["login_profile"]["mfa_bind_required"], true);
    }
    assert!(
        !h.path(".big.results.csv.iambatch-journal").exists(),
        "journal removed at the end"
    );
    assert!(!h.path(".big.results.csv.iambatch-index").exists());
}

#[test]
fn ctrl_c_drains_marks_the_rest_not_attempted_and_resume_finishes() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let input = h.write_input("slow.csv", &creates(60));
    let input = input.to_str().unwrap();
    let child = spawn(&h, &["run", input, "--no-progress", "--rate", "aliyun=10"]);
    wait_until(Duration::from_secs(60), "10 requests", || {
        h.emulator().requests().len() >= 10
    });
    signal(&child, "-INT");
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (header, rows) = read_results(&h.path("slow.results.csv"));
    assert_eq!(rows.len(), 60, "every row reported");
    let done = rows
        .iter()
        .filter(|r| cell(&header, r, "status") == "succeeded")
        .count();
    let waiting = rows
        .iter()
        .filter(|r| cell(&header, r, "error_code") == "interrupted")
        .count();
    assert!(
        done > 0 && waiting > 0 && done + waiting == 60,
        "{done} done, {waiting} waiting"
    );

    h.cmd()
        .args([
            "run",
            input,
            "--no-progress",
            "--rate",
            "aliyun=unlimited",
            "--resume",
        ])
        .assert()
        .code(0);
    let (header, rows) = read_results(&h.path("slow.results.csv"));
    assert_eq!(
        rows.iter()
            .filter(|r| cell(&header, r, "status") == "skipped")
            .count(),
        done
    );
    assert_eq!(
        rows.iter()
            .filter(|r| cell(&header, r, "status") == "succeeded")
            .count(),
        60 - done
    );
}

#[test]
fn second_ctrl_c_exits_at_once_with_a_valid_file() {
    // Every request takes 3 s to be answered and, at 4/s with 16 workers, one leaves every 0.25 s:
    // the first Ctrl-C leaves about 12 requests in flight, and the second comes while they are.
    let h = Harness::with_emulator(EmulatorConfig::with_knobs(Knobs {
        latency: Duration::from_secs(3),
        ..Default::default()
    }));
    let input = h.write("slow.csv", &creates(40));
    let child = spawn(
        &h,
        &[
            "run",
            input.to_str().unwrap(),
            "--no-progress",
            "--rate",
            "aliyun=4",
            "--concurrency",
            "16",
        ],
    );
    wait_until(Duration::from_secs(60), "a request", || {
        !h.emulator().requests().is_empty()
    });
    ctrl_c_twice(child);
    let (header, rows) = read_results(&h.path("slow.results.csv"));
    assert!(rows.len() < 40);
    assert!(rows.iter().all(|r| r.len() == header.len()));
}

#[test]
fn rows_withdrawn_while_waiting_for_their_slot_are_not_journaled_as_sent() {
    // At one request per 10 s the first create leaves at once (and takes 3 s to be answered) while
    // the other 15 workers wait for their slots; two Ctrl-Cs then exit at once and leave the
    // journal behind.
    let h = Harness::with_emulator(EmulatorConfig::with_knobs(Knobs {
        latency: Duration::from_secs(3),
        ..Default::default()
    }));
    let input = h.write("paced.csv", &creates(40));
    let child = spawn(
        &h,
        &[
            "run",
            input.to_str().unwrap(),
            "--no-progress",
            "--rate",
            "aliyun=0.1",
            "--concurrency",
            "16",
        ],
    );
    let journal = h.path(".paced.results.csv.iambatch-journal");
    let noted = || std::fs::read_to_string(&journal).unwrap_or_default();
    wait_until(Duration::from_secs(60), "a row noted as sent", || {
        !noted().is_empty()
    });
    ctrl_c_twice(child);
    // Only the create that left is noted: a resume must not take "already exists" for the own
    // earlier create of a row that was never sent.
    assert_eq!(noted().lines().count(), 1, "{}", noted());
}

#[test]
fn resume_refuses_an_edited_input_and_skips_what_succeeded() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let text = creates(5);
    let input = h.write_input("e.csv", &text);
    h.cmd()
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .assert()
        .code(0);
    // Unchanged (formula-escaped cells included): everything is skipped, nothing sent.
    let sent = h.emulator().requests().len();
    h.cmd()
        .args(["run", input.to_str().unwrap(), "--no-progress", "--resume"])
        .assert()
        .code(0);
    assert_eq!(h.emulator().requests().len(), sent);
    let (header, rows) = read_results(&h.path("e.results.csv"));
    assert!(rows.iter().all(
        |r| cell(&header, r, "status") == "skipped" && cell(&header, r, "outcome") == "created"
    ));
    // An edited row that had succeeded: an error, nothing sent.
    h.write("e.csv", &text.replace("u00003@corp", "someone-else@corp"));
    let out = h
        .cmd()
        .args(["run", input.to_str().unwrap(), "--no-progress", "--resume"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("lines 5"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(h.emulator().requests().len(), sent);
}

/// Two Ctrl-Cs, the second only once the first was taken in (two quick ones may arrive as one):
/// the run exits at once with 130.
fn ctrl_c_twice(mut child: Child) {
    let (lines, said) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line);
        }
    });
    signal(&child, "-INT");
    wait_until(Duration::from_secs(60), "the first Ctrl-C taken in", || {
        said.try_iter()
            .any(|l| l.starts_with("interrupted: finishing requests in flight"))
    });
    signal(&child, "-INT");
    assert_eq!(child.wait().unwrap().code(), Some(130));
}
