//! Who has really bound MFA: `export` writes `mfa_bound` (aliyun also `mfa_type`) from each
//! provider's MFA devices, with the requests each provider's API needs and no more, and
//! `--mfa-unbound` keeps the console users to chase.

use crate::util::{Harness, cell, read_results};
use iambatch::emulator::EmulatorConfig;
use serde_json::{Map, json};

const USERS: usize = 250;
const UNBOUND_DEVICES: usize = 20;

/// The device a user has bound: every other user a virtual one, one in four a security key.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Device {
    Virtual,
    SecurityKey,
    None,
}

fn device(i: usize) -> Device {
    match i % 4 {
        0 | 2 => Device::Virtual,
        1 => Device::SecurityKey,
        _ => Device::None,
    }
}

fn console(i: usize) -> bool {
    i % 5 != 0
}

fn required(i: usize) -> bool {
    i % 3 == 0
}

fn name(provider: &str, i: usize) -> String {
    match provider {
        "aliyun" => format!("u{i:03}@corp.onaliyun.com"),
        _ => format!("u{i:03}"),
    }
}

/// 250 users of every kind, with 125 virtual devices, 63 security keys and 20 devices never bound:
/// aliyun's device list takes two pages of 100.
fn populate(h: &Harness, provider: &str) {
    let mut users = Map::new();
    let mut bound = Map::new();
    for i in 0..USERS {
        let user = match (provider, console(i)) {
            ("huawei", false) => json!({"access_mode": "programmatic"}),
            ("huawei", true) => json!({"access_mode": "console",
                "login_protect": {"enabled": required(i), "verification_method": "vmfa"}}),
            (_, false) => json!({"login_profile": null}),
            (_, true) => json!({"login_profile": {"mfa_bind_required": required(i)}}),
        };
        users.insert(name(provider, i), user);
        let devices = match device(i) {
            Device::Virtual => json!([{"serial_number": format!("mfa/{i:03}"), "type": "VMFA"}]),
            Device::SecurityKey => json!([{"serial_number": format!("u2f/{i:03}"), "type": "U2F"}]),
            Device::None => continue,
        };
        bound.insert(name(provider, i), devices);
    }
    let unbound: Vec<String> = (0..UNBOUND_DEVICES)
        .map(|i| format!("mfa/spare-{i:02}"))
        .collect();
    h.emulator()
        .tamper(&json!({ provider: {
            "users": users,
            "mfa_devices": {"bound": bound, "unbound": unbound},
        }}))
        .unwrap();
}

/// What the provider can tell of user `i`: bound, and aliyun's type.
fn expected(provider: &str, i: usize) -> (&'static str, &'static str) {
    match (provider, device(i)) {
        (_, Device::None) => ("false", ""),
        ("aliyun", Device::Virtual) => ("true", "VMFA"),
        ("aliyun", Device::SecurityKey) => ("true", "U2F"),
        // Huawei lists virtual devices only.
        ("huawei", Device::SecurityKey) => ("false", ""),
        _ => ("true", ""),
    }
}

/// The index of the user a row names (huawei rows carry the name beside the id).
fn index(provider: &str, header: &[String], row: &[String]) -> usize {
    let column = if provider == "huawei" {
        "user_name"
    } else {
        "user"
    };
    let name = cell(header, row, column);
    let digits = &name[1..4];
    digits.parse().unwrap()
}

fn count(h: &Harness, action: &str) -> usize {
    h.emulator()
        .requests()
        .iter()
        .filter(|l| l["action"] == action)
        .count()
}

#[test]
fn export_says_who_has_bound_a_device_with_the_fewest_requests() {
    for provider in ["aliyun", "ucloud", "huawei"] {
        let h = Harness::with_emulator(EmulatorConfig::default());
        populate(&h, provider);
        let (header, rows, stderr) = h.export(provider, "all.csv", &[]);
        let consoles: Vec<usize> = (0..USERS).filter(|i| console(*i)).collect();
        assert_eq!(rows.len(), consoles.len(), "{provider}: every console user");
        assert_eq!(
            header.iter().any(|c| c == "mfa_type"),
            provider == "aliyun",
            "{provider}: {header:?}"
        );
        for row in &rows {
            let i = index(provider, &header, row);
            let (bound, kind) = expected(provider, i);
            assert_eq!(cell(&header, row, "mfa_bound"), bound, "{provider} {row:?}");
            if provider == "aliyun" {
                assert_eq!(cell(&header, row, "mfa_type"), kind, "{row:?}");
            }
        }
        let without_virtual = consoles
            .iter()
            .filter(|i| device(**i) != Device::Virtual)
            .count();
        match provider {
            "aliyun" => {
                // 145 virtual devices: two pages; then only the console users not in the list.
                assert_eq!(count(&h, "ListVirtualMFADevices"), 2);
                assert_eq!(count(&h, "GetUserMFAInfo"), without_virtual);
            }
            "ucloud" => assert_eq!(count(&h, "GetUserMFAInfo"), consoles.len()),
            _ => assert_eq!(count(&h, "ListUserMfaDevices"), 1),
        }
        let bound = consoles
            .iter()
            .filter(|i| expected(provider, **i).0 == "true")
            .count();
        let required = consoles.iter().filter(|i| required(**i)).count();
        let summary = format!(
            "{} console users, {required} with MFA required, {bound} with a bound MFA device",
            consoles.len()
        );
        assert!(
            stderr.contains(&summary),
            "{provider}: {summary} in {stderr}"
        );
    }
}

#[test]
fn mfa_unbound_keeps_exactly_the_console_users_without_a_device() {
    for provider in ["aliyun", "ucloud", "huawei"] {
        let h = Harness::with_emulator(EmulatorConfig::default());
        populate(&h, provider);
        let chase = |extra: &[&str]| {
            let (header, rows, _) = h.export(provider, "chase.csv", extra);
            let got: Vec<usize> = rows.iter().map(|r| index(provider, &header, r)).collect();
            got
        };
        let unbound = |i: &usize| console(*i) && expected(provider, *i).0 == "false";
        let want: Vec<usize> = (0..USERS).filter(unbound).collect();
        assert_eq!(chase(&["--mfa-unbound", "--overwrite"]), want, "{provider}");
        // With --missing-mfa, both filters apply.
        let want: Vec<usize> = (0..USERS).filter(|i| unbound(i) && !required(*i)).collect();
        assert_eq!(
            chase(&["--mfa-unbound", "--missing-mfa", "--overwrite"]),
            want,
            "{provider}"
        );
    }
}

/// A `get-*` row's results carry `observed_mfa_bound`, at one request more per row; `plan` of an
/// `enforce-mfa` row too.
#[test]
fn rows_that_ask_about_mfa_observe_it_with_one_more_read() {
    for (provider, action, mfa_read) in [
        ("aliyun", "get-login-profile", "GetUserMFAInfo"),
        ("ucloud", "get-login-profile", "GetUserMFAInfo"),
        ("huawei", "get-login-protect", "ListUserMfaDevices"),
    ] {
        let h = Harness::with_emulator(EmulatorConfig::default());
        populate(&h, provider);
        let state = h.state();
        // A virtual device, a security key, none.
        let picked = [4, 1, 3];
        let user = |i: usize| match provider {
            "huawei" => state["huawei"]["users"][name(provider, i)]["id"]
                .as_str()
                .unwrap()
                .to_string(),
            _ => name(provider, i),
        };
        let mut csv = String::from("provider,action,user\n");
        for i in picked {
            csv.push_str(&format!("{provider},{action},{}\n", user(i)));
        }
        let input = h.write("get.csv", &csv);
        h.cmd()
            .args(["run", input.to_str().unwrap(), "--no-progress"])
            .assert()
            .code(0);
        let (header, rows) = read_results(&h.path("get.results.csv"));
        for (row, i) in rows.iter().zip(picked) {
            assert_eq!(
                cell(&header, row, "observed_mfa_bound"),
                expected(provider, i).0,
                "{provider} {row:?}"
            );
            assert_eq!(cell(&header, row, "attempts"), "2", "{provider} {row:?}");
        }
        assert_eq!(count(&h, mfa_read), picked.len(), "{provider}");
    }
    // plan of an enforce-mfa row reads the profile and the binding.
    let h = Harness::with_emulator(EmulatorConfig::default());
    populate(&h, "aliyun");
    let input = h.write(
        "todo.csv",
        "provider,action,user\naliyun,enforce-mfa,u007@corp.onaliyun.com\n",
    );
    h.cmd()
        .args(["plan", input.to_str().unwrap(), "--no-progress"])
        .assert()
        .code(0);
    let (header, rows) = read_results(&h.path("todo.plan.csv"));
    assert_eq!(cell(&header, &rows[0], "observed_mfa_bound"), "false");
    assert_eq!(cell(&header, &rows[0], "outcome"), "would-update");
    assert_eq!(count(&h, "GetUserMFAInfo"), 1);
}

#[test]
fn dry_run_lists_the_mfa_read_of_a_get_row() {
    let h = Harness::new();
    let input = h.write(
        "get.csv",
        "provider,action,user\naliyun,get-login-profile,ao.huang@eng.onaliyun.com\n",
    );
    let out = h
        .cmd()
        .args(["run", input.to_str().unwrap(), "--dry-run", "--emulator"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let get = stdout.find("Action=GetLoginProfile").expect("the read");
    let mfa = stdout.find("Action=GetUserMFAInfo").expect("the MFA read");
    assert!(get < mfa, "{stdout}");
    assert!(stdout.contains("for observed_mfa_bound"), "{stdout}");
}
