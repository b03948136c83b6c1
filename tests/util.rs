//! The test harness: each test gets its own temp dir and, when it needs one, its own emulator on
//! 127.0.0.1 port 0, served by a runtime that lives as long as the test.

use assert_cmd::Command;
use iambatch::emulator::{Emulator, EmulatorConfig};
use iambatch::jobs::ProviderKind;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

pub const CANARY_PASSWORD: &str = "Canary-Pw-7f3a9c!";

pub struct Harness {
    pub emulator: Option<Emulator>,
    pub runtime: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
    // Dropped last: the test's emulator and runtime are gone before another test may start.
    _turn: Turn,
}

/// Tests that measure time at the server run alone; every other test shares the machine. (A rate
/// measured while other tests load the two cores measures the machine, not the pacer.)
static TIMING: RwLock<()> = RwLock::new(());

enum Turn {
    Shared(#[allow(dead_code)] RwLockReadGuard<'static, ()>),
    Alone(#[allow(dead_code)] RwLockWriteGuard<'static, ()>),
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_turn(Turn::Shared(
            TIMING.read().unwrap_or_else(|e| e.into_inner()),
        ))
    }

    /// A harness with an emulator, for a test that measures timing: no other test runs meanwhile.
    pub fn alone_with_emulator(config: EmulatorConfig) -> Harness {
        let mut h = Harness::with_turn(Turn::Alone(
            TIMING.write().unwrap_or_else(|e| e.into_inner()),
        ));
        h.emulator = Some(h.runtime.block_on(Emulator::start(config)).unwrap());
        h
    }

    fn with_turn(turn: Turn) -> Harness {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        Harness {
            _turn: turn,
            dir: tempfile::tempdir().unwrap(),
            runtime,
            emulator: None,
        }
    }

    /// A harness with an emulator configured by `config`.
    pub fn with_emulator(config: EmulatorConfig) -> Harness {
        let mut h = Harness::new();
        h.emulator = Some(h.runtime.block_on(Emulator::start(config)).unwrap());
        h
    }

    pub fn emulator(&self) -> &Emulator {
        self.emulator.as_ref().expect("this test has an emulator")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    /// Writes an input CSV and makes every user it names exist in the emulator's accounts, as
    /// they must in a real account before their login is changed (users the emulator did not
    /// have start without a login profile or login protection; ucloud users with a fresh one).
    pub fn write_input(&self, name: &str, content: &str) -> PathBuf {
        let p = self.write(name, content);
        seed_users(self.emulator(), content);
        p
    }

    /// Makes `users` exist in the emulator's `provider` account.
    pub fn users_exist(&self, provider: &str, users: &[&str]) {
        users_exist(self.emulator(), provider, users);
    }

    /// The binary, in the temp dir, with no cloud credentials from the outside world and, when
    /// there is an emulator, every provider's default account pointed at it.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// [`Harness::cmd`] as a `std::process::Command`, for tests that act while the binary runs.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_iambatch"));
        cmd.current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        cmd.env("HOME", self.dir.path());
        if let Some(e) = &self.emulator {
            cmd.env(
                "IAMBATCH_ALIYUN_ENDPOINT",
                e.endpoint(ProviderKind::Aliyun).as_str(),
            )
            // RAM 2015 is served on the same port.
            .env(
                "IAMBATCH_ALIYUN_RAM_ENDPOINT",
                e.endpoint(ProviderKind::Aliyun).as_str(),
            )
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "emulator-aliyun-key")
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "emulator-aliyun-secret")
            .env(
                "IAMBATCH_HUAWEI_ENDPOINT",
                e.endpoint(ProviderKind::Huawei).as_str(),
            )
            .env("HUAWEICLOUD_SDK_AK", "emulator-huawei-ak")
            .env("HUAWEICLOUD_SDK_SK", "emulator-huawei-sk")
            .env("HUAWEICLOUD_SDK_DOMAIN_ID", "emulator-huawei-domain")
            .env(
                "IAMBATCH_UCLOUD_ENDPOINT",
                e.endpoint(ProviderKind::Ucloud).as_str(),
            )
            .env("UCLOUD_PUBLIC_KEY", "emulator-ucloud-public")
            .env("UCLOUD_PRIVATE_KEY", "emulator-ucloud-private");
        }
        cmd
    }

    pub fn state(&self) -> serde_json::Value {
        self.emulator().state()
    }

    /// Runs `export` with no rate limit: the file's header and rows, and what it said on stderr.
    pub fn export(
        &self,
        provider: &str,
        file: &str,
        extra: &[&str],
    ) -> (Vec<String>, Vec<Vec<String>>, String) {
        let out = self.path(file);
        let assert = self
            .cmd()
            .args([
                "export",
                provider,
                "-o",
                out.to_str().unwrap(),
                "--no-progress",
            ])
            .args(["--rate", &format!("{provider}=unlimited")])
            .args(extra)
            .assert()
            .code(0);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        let (header, rows) = read_results(&out);
        (header, rows, stderr)
    }
}

/// Reads a results CSV into header + rows of strings.
pub fn read_results(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    read_results_separated(path, b',')
}

/// A results file whose cells are separated by `delimiter`: its header and rows.
pub fn read_results_separated(path: &Path, delimiter: u8) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .delimiter(delimiter)
        .from_path(path)
        .unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// The value of `column` in `row`.
pub fn cell<'a>(header: &[String], row: &'a [String], column: &str) -> &'a str {
    let i = header
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("no column {column} in {header:?}"));
    &row[i]
}

/// The results file `name` in the harness dir as one map per row, column name to value.
pub fn result_rows(h: &Harness, name: &str) -> Vec<BTreeMap<String, String>> {
    let (header, rows) = read_results(&h.path(name));
    rows.iter()
        .map(|row| {
            header
                .iter()
                .map(|column| (column.clone(), cell(&header, row, column).to_string()))
                .collect()
        })
        .collect()
}

/// What a run printed, stdout then stderr: the message of a failed assertion about it.
pub fn says(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Waits until `done` holds, checking every 10 ms; fails the test with `what` after `timeout`.
/// Tests wait for what they need to see (rows written, requests seen by the emulator), never for a
/// fixed time, so they hold on a slow machine.
pub fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "gave up after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whole rows in a results file being written (0 while it does not exist).
pub fn rows_written(path: &Path) -> usize {
    std::fs::read(path)
        .map(|bytes| {
            bytes
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                .saturating_sub(1)
        })
        .unwrap_or(0)
}

/// Sends `sig` (`-INT`, `-KILL`) to a running child.
pub fn signal(child: &Child, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Now, in the Unix seconds of the emulator's request log.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Makes every user of a CSV (columns `provider` and `user` or `user_name`) exist in `emulator`.
pub fn seed_users(emulator: &Emulator, csv_text: &str) {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let provider = column("provider").expect("an input with a provider column");
    let user = column("user")
        .or(column("user_name"))
        .expect("a user column");
    let mut patch = serde_json::Map::new();
    for row in reader.records() {
        let row = row.unwrap();
        let (Some(p), Some(u)) = (row.get(provider), row.get(user)) else {
            continue;
        };
        if ["aliyun", "ucloud", "huawei"].contains(&p) && !u.is_empty() {
            let users = patch
                .entry(p.to_string())
                .or_insert_with(|| serde_json::json!({"users": {}}));
            users["users"][u] = serde_json::json!({});
        }
    }
    emulator.tamper(&serde_json::Value::Object(patch)).unwrap();
}

/// Makes `users` exist in `emulator`'s `provider` account.
pub fn users_exist(emulator: &Emulator, provider: &str, users: &[&str]) {
    let users: serde_json::Map<String, serde_json::Value> = users
        .iter()
        .map(|u| (u.to_string(), serde_json::json!({})))
        .collect();
    emulator
        .tamper(&serde_json::json!({ provider: { "users": users } }))
        .unwrap();
}
