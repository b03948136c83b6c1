//! Many accounts in one file: one reader feeds them all, and each account's rows go at its own
//! pace. The emulator's request log (its `account` is the key that signed) is the judge.

use crate::util::{Harness, cell, read_results};
use iambatch::emulator::EmulatorConfig;
use iambatch::jobs::ProviderKind;
use iambatch::secret::Secret;

#[test]
fn a_slow_accounts_full_queue_does_not_hold_back_a_fast_account() {
    let h = Harness::with_emulator(EmulatorConfig {
        accounts: vec![(
            ProviderKind::Aliyun,
            "fast-key".into(),
            Secret::new("fast-secret"),
        )],
        ..Default::default()
    });
    h.write(
        "iambatch.toml",
        &format!(
            "[accounts.fast]\nprovider = \"aliyun\"\nendpoint = \"{}\"\naccess_key_id = \"fast-key\"\n\
             access_key_secret_env = \"FAST_SECRET\"\nrate = \"unlimited\"\n",
            h.emulator().endpoint(ProviderKind::Aliyun)
        ),
    );
    // The slow account's 40 rows come first: more than its queue holds (20 at concurrency 1).
    let mut csv = String::from("provider,account,action,user,password\n");
    for i in 0..40 {
        csv +=
            &format!("aliyun,,create-login-profile,slow{i:02}@corp.onaliyun.com,Init-{i:02}-pw!\n");
    }
    for i in 0..40 {
        csv += &format!(
            "aliyun,fast,create-login-profile,fast{i:02}@corp.onaliyun.com,Init-{i:02}-pw!\n"
        );
    }
    let input = h.write_input("two.csv", &csv);
    h.cmd()
        .env("FAST_SECRET", "fast-secret")
        .args(["run", input.to_str().unwrap(), "--no-progress"])
        .args(["--rate", "aliyun=5", "--concurrency", "aliyun=1"])
        .assert()
        .code(0);

    let (header, rows) = read_results(&h.path("two.results.csv"));
    assert_eq!(rows.len(), 80);
    assert!(
        rows.iter()
            .all(|r| cell(&header, r, "status") == "succeeded")
    );
    let log = h.emulator().requests();
    let arrivals = |key: &str| -> Vec<f64> {
        log.iter()
            .filter(|l| l["account"] == key)
            .map(|l| l["time"].as_f64().unwrap())
            .collect()
    };
    let (slow, fast) = (arrivals("emulator-aliyun-key"), arrivals("fast-key"));
    assert_eq!((slow.len(), fast.len()), (40, 40));
    // A reader waiting for room in the slow queue would send the fast rows only after some 20 slow
    // requests (4 s at 5/s).
    let last_fast = fast.iter().copied().fold(f64::MIN, f64::max);
    let slow_before = slow.iter().filter(|&&t| t < last_fast).count();
    assert!(
        slow_before < 10,
        "the fast account finished only after {slow_before} requests of the slow one"
    );
}
