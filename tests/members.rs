//! Members accounts: one config account standing for every active member of an organisation,
//! each reached through its role with the source's credentials. The organisation-wide MFA
//! campaign is export, plan, run and verify on one file whose `account` column names each member.

use crate::util::{Harness, cell, read_results};
use iambatch::emulator::EmulatorConfig;
use iambatch::jobs::ProviderKind;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The five active members of the aliyun organisation, and one removed from it.
const MEMBERS: [&str; 5] = [
    "1000000000000101",
    "1000000000000102",
    "1000000000000103",
    "1000000000000104",
    "1000000000000105",
];
const REMOVED: &str = "1000000000000106";
const ROLE: &str = "ResourceDirectoryAccountAccessRole";

const CONFIG: &str = "[accounts.org]\nprovider = \"aliyun\"\nsource = \"aliyun\"\nmembers = true\n";

/// `u1@<id>.onaliyun.com` requires MFA already; `u2` and `u3` do not.
fn aliyun_member(status: &str, id: &str) -> Value {
    let profile = |mfa: bool| {
        json!({"login_profile": {"status": "Active", "mfa_bind_required": mfa,
                                 "password_reset_required": false, "password": "Member-Pw-0001!"}})
    };
    json!({"name": format!("member-{id}"), "status": status, "users": {
        format!("u1@{id}.onaliyun.com"): profile(true),
        format!("u2@{id}.onaliyun.com"): profile(false),
        format!("u3@{id}.onaliyun.com"): profile(false),
    }})
}

/// An emulator with the organisation; `roles`: the members whose role trusts the built-in key.
fn aliyun_org(h: &Harness, roles: &[&str]) {
    let mut accounts: serde_json::Map<String, Value> = MEMBERS
        .iter()
        .map(|id| (id.to_string(), aliyun_member("CreateSuccess", id)))
        .collect();
    accounts.insert(REMOVED.into(), aliyun_member("Removed", REMOVED));
    let roles: serde_json::Map<String, Value> = roles
        .iter()
        .map(|id| {
            (
                format!("acs:ram::{id}:role/{ROLE}"),
                json!({"trusted": ["emulator-aliyun-key"]}),
            )
        })
        .collect();
    h.emulator()
        .tamper(&json!({"aliyun": {"accounts": accounts, "sts": {"roles": roles}}}))
        .unwrap();
    h.write("iambatch.toml", CONFIG);
}

fn harness() -> Harness {
    Harness::with_emulator(EmulatorConfig::default())
}

/// The binary with STS and the account directories at the emulator too.
fn iambatch(h: &Harness, args: &[&str]) -> std::process::Output {
    let mut cmd = h.cmd();
    for kind in [ProviderKind::Aliyun, ProviderKind::Huawei] {
        let endpoint = h.emulator().endpoint(kind).to_string();
        let name = kind.name().to_ascii_uppercase();
        cmd.env(format!("IAMBATCH_{name}_STS_ENDPOINT"), &endpoint);
    }
    cmd.env(
        "IAMBATCH_ALIYUN_RESOURCEMANAGER_ENDPOINT",
        h.emulator().endpoint(ProviderKind::Aliyun).as_str(),
    )
    .env(
        "IAMBATCH_HUAWEI_ORGANIZATIONS_ENDPOINT",
        h.emulator().endpoint(ProviderKind::Huawei).as_str(),
    );
    cmd.args(args).output().unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `iambatch ARGS` must exit with `code`.
fn expect(h: &Harness, args: &[&str], code: i32) -> std::process::Output {
    let out = iambatch(h, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}\nstdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    out
}

/// Whether aliyun user `upn` of member `id` is required to use MFA, as the emulator holds it.
fn requires_mfa(h: &Harness, id: &str, upn: &str) -> bool {
    let state = h.state();
    let profile = &state["aliyun"]["accounts"][id]["users"][upn]["login_profile"];
    profile["mfa_bind_required"]
        .as_bool()
        .unwrap_or_else(|| panic!("no login profile of {upn} in {id}: {profile}"))
}

/// The `account` cell of every row of a file, in order.
fn accounts_of(path: &str, h: &Harness) -> Vec<String> {
    let (header, rows) = read_results(&h.path(path));
    rows.iter()
        .map(|r| cell(&header, r, "account").to_string())
        .collect()
}

#[test]
fn an_organisation_of_five_members_exported_enforced_and_verified_in_one_file() {
    let h = harness();
    aliyun_org(&h, &MEMBERS);
    let out = expect(
        &h,
        &[
            "export",
            "org",
            "--missing-mfa",
            "--action",
            "enforce-mfa",
            "-o",
            "org.csv",
            "--no-progress",
        ],
        0,
    );
    // Two users per active member, grouped by member in id order; the removed member is not there.
    let want: Vec<String> = MEMBERS
        .iter()
        .flat_map(|id| [format!("org/{id}"), format!("org/{id}")])
        .collect();
    assert_eq!(accounts_of("org.csv", &h), want, "{}", stderr(&out));
    let said = stderr(&out);
    assert!(said.contains("exported 10 users"), "{said}");
    assert!(said.contains("from 5 member accounts"), "{said}");
    for id in MEMBERS {
        assert!(
            said.contains(&format!(
                "account 'org/{id}': 3 console users, 1 with MFA required"
            )),
            "{said}"
        );
    }

    let out = expect(&h, &["plan", "org.csv", "--no-progress"], 0);
    let (header, rows) = read_results(&h.path("org.plan.csv"));
    assert!(
        rows.iter()
            .all(|r| cell(&header, r, "outcome") == "would-update"),
        "{}",
        stderr(&out)
    );
    expect(&h, &["run", "org.csv", "--no-progress"], 0);
    let (header, rows) = read_results(&h.path("org.results.csv"));
    assert_eq!(rows.len(), 10);
    for row in &rows {
        assert_eq!(cell(&header, row, "status"), "succeeded", "{row:?}");
    }
    for id in MEMBERS {
        for user in ["u1", "u2", "u3"] {
            assert!(requires_mfa(&h, id, &format!("{user}@{id}.onaliyun.com")));
        }
    }
    assert!(!requires_mfa(
        &h,
        REMOVED,
        &format!("u2@{REMOVED}.onaliyun.com")
    ));
    // Each row's write acted in its member's own directory, signed with that member's temporary key.
    let log = h.emulator().requests();
    let updates: Vec<&Value> = log
        .iter()
        .filter(|l| l["action"] == "UpdateLoginProfile")
        .collect();
    assert_eq!(updates.len(), 10);
    for update in &updates {
        let id = update["account_id"].as_str().unwrap();
        assert!(MEMBERS.contains(&id), "{update}");
        assert!(
            update["user"]
                .as_str()
                .unwrap()
                .ends_with(&format!("@{id}.onaliyun.com"))
        );
        assert!(
            update["account"].as_str().unwrap().starts_with("STS."),
            "{update}"
        );
    }
    expect(&h, &["verify", "org.csv", "--no-progress"], 0);
    // Nobody is left to require MFA of.
    let out = expect(
        &h,
        &[
            "export",
            "org",
            "--missing-mfa",
            "-o",
            "again.csv",
            "--no-progress",
        ],
        0,
    );
    assert!(accounts_of("again.csv", &h).is_empty(), "{}", stderr(&out));
}

#[test]
fn a_migration_export_of_a_members_account_keeps_each_rows_member() {
    let h = harness();
    aliyun_org(&h, &MEMBERS[..2]);
    let out = expect(
        &h,
        &[
            "export",
            "org",
            "--action",
            "ensure-user",
            "--accounts-filter",
            &format!("{},{}", MEMBERS[0], MEMBERS[1]),
            "-o",
            "users.csv",
            "--no-progress",
        ],
        0,
    );
    let accounts = accounts_of("users.csv", &h);
    assert_eq!(accounts.len(), 6, "{}", stderr(&out));
    assert!(
        accounts[..3]
            .iter()
            .all(|a| a == &format!("org/{}", MEMBERS[0]))
    );
    assert!(
        accounts[3..]
            .iter()
            .all(|a| a == &format!("org/{}", MEMBERS[1]))
    );
}

#[test]
fn the_accounts_filter_limits_export_and_withholds_other_members_rows_for_resume() {
    let h = harness();
    aliyun_org(&h, &MEMBERS);
    let filter = format!("{},{},{REMOVED},9999999999999999", MEMBERS[0], MEMBERS[2]);
    let out = expect(
        &h,
        &[
            "export",
            "org",
            "--missing-mfa",
            "--action",
            "enforce-mfa",
            "--accounts-filter",
            &filter,
            "-o",
            "two.csv",
            "--no-progress",
        ],
        0,
    );
    let mut found = accounts_of("two.csv", &h);
    found.dedup();
    assert_eq!(
        found,
        [format!("org/{}", MEMBERS[0]), format!("org/{}", MEMBERS[2])]
    );
    let said = stderr(&out);
    for id in [REMOVED, "9999999999999999"] {
        assert!(
            said.contains(&format!(
                "--accounts-filter names {id}, which is not an active member of 'org'"
            )),
            "{said}"
        );
    }
    // Not a member's own request: no AssumeRole for members the filter leaves out.
    let assumed: Vec<String> = h
        .emulator()
        .requests()
        .iter()
        .filter(|l| l["action"] == "AssumeRole")
        .map(|l| l.to_string())
        .collect();
    assert_eq!(assumed.len(), 2, "{assumed:?}");

    // The whole organisation's file, run for one member: the others' rows wait for --resume.
    expect(
        &h,
        &[
            "export",
            "org",
            "--missing-mfa",
            "--action",
            "enforce-mfa",
            "-o",
            "all.csv",
            "--no-progress",
        ],
        0,
    );
    expect(
        &h,
        &[
            "run",
            "all.csv",
            "--accounts-filter",
            MEMBERS[1],
            "--no-progress",
        ],
        1,
    );
    let (header, rows) = read_results(&h.path("all.results.csv"));
    assert_eq!(rows.len(), 10);
    for row in &rows {
        let (status, code) = (
            cell(&header, row, "status"),
            cell(&header, row, "error_code"),
        );
        match cell(&header, row, "account") == format!("org/{}", MEMBERS[1]) {
            true => assert_eq!(status, "succeeded", "{row:?}"),
            false => {
                assert_eq!(
                    (status, code),
                    ("not_attempted", "accounts_filter"),
                    "{row:?}"
                );
                assert!(cell(&header, row, "error_message").contains("--accounts-filter"));
            }
        }
    }
    assert!(!requires_mfa(
        &h,
        MEMBERS[0],
        &format!("u2@{}.onaliyun.com", MEMBERS[0])
    ));
    expect(&h, &["run", "all.csv", "--resume", "--no-progress"], 0);
    let (header, rows) = read_results(&h.path("all.results.csv"));
    assert!(
        rows.iter()
            .all(|r| ["succeeded", "skipped"].contains(&cell(&header, r, "status")))
    );
    assert!(requires_mfa(
        &h,
        MEMBERS[0],
        &format!("u2@{}.onaliyun.com", MEMBERS[0])
    ));
}

#[test]
fn accounts_lists_the_members_with_the_sources_credentials_only() {
    let h = harness();
    aliyun_org(&h, &MEMBERS);
    let out = expect(&h, &["accounts"], 0);
    let table = stdout(&out);
    assert!(table.contains("org ← aliyun (environment"), "{table}");
    for id in MEMBERS {
        let line = table
            .lines()
            .find(|l| l.starts_with(&format!("org/{id} ")))
            .unwrap_or_else(|| panic!("no line of {id}: {table}"));
        assert!(line.contains(&format!("member-{id}")) && line.contains("CreateSuccess"));
        assert!(line.trim_end().ends_with("used"), "{line}");
    }
    let removed = table
        .lines()
        .find(|l| l.starts_with(&format!("org/{REMOVED} ")))
        .unwrap();
    assert!(
        removed.contains("Removed") && removed.ends_with("not active"),
        "{removed}"
    );
    assert!(
        !table.contains("emulator-aliyun-secret")
            && !stderr(&out).contains("emulator-aliyun-secret")
    );
    let log = h.emulator().requests();
    assert!(
        log.iter().all(|l| l["action"] != "AssumeRole"),
        "no role assumed without --check"
    );
    assert!(log.iter().any(|l| l["action"] == "ListAccounts"));

    // --check assumes into each member and reads a page of its users.
    let out = expect(
        &h,
        &["accounts", "--check", "--accounts-filter", MEMBERS[3]],
        0,
    );
    let said = stdout(&out);
    assert!(
        said.contains(&format!(
            "check org/{}: ok (1 temporary-credential request(s)",
            MEMBERS[3]
        )),
        "{said}"
    );
    assert!(
        !said.contains(&format!("check org/{}", MEMBERS[0])),
        "{said}"
    );
}

#[test]
fn a_member_whose_role_cannot_be_assumed_stops_only_its_own_rows() {
    let h = harness();
    // Every member's role but the last's.
    aliyun_org(&h, &MEMBERS[..4]);
    let broken = MEMBERS[4];
    let mut csv = String::from("provider,account,action,user\n");
    for id in MEMBERS {
        for user in ["u2", "u3"] {
            csv += &format!("aliyun,org/{id},enforce-mfa,{user}@{id}.onaliyun.com\n");
        }
    }
    h.write("org.csv", &csv);
    expect(&h, &["run", "org.csv", "--no-progress"], 1);
    let (header, rows) = read_results(&h.path("org.results.csv"));
    for row in &rows {
        let status = cell(&header, row, "status");
        if cell(&header, row, "account") == format!("org/{broken}") {
            assert_eq!(
                (status, cell(&header, row, "error_code")),
                ("not_attempted", "account_stopped"),
                "{row:?}"
            );
            let message = cell(&header, row, "error_message");
            for part in [
                format!("acs:ram::{broken}:role/{ROLE}"),
                "'aliyun'".into(),
                "EntityNotExist.Role".into(),
            ] {
                assert!(message.contains(&part), "{part} in {message}");
            }
        } else {
            assert_eq!(status, "succeeded", "{row:?}");
        }
    }

    // The export of the organisation names the member, its role and the code, and writes nothing.
    let out = expect(
        &h,
        &["export", "org", "-o", "org-users.csv", "--no-progress"],
        1,
    );
    let said = stderr(&out);
    assert!(!h.path("org-users.csv").exists());
    for part in [
        format!("org/{broken}"),
        format!("acs:ram::{broken}:role/{ROLE}"),
        "EntityNotExist.Role".into(),
        format!("--accounts-filter {}", MEMBERS[..4].join(",")),
    ] {
        assert!(said.contains(&part), "{part} in {said}");
    }
}

#[test]
fn rows_of_a_removed_or_unknown_member_are_not_sent_even_if_its_role_remains() {
    let h = harness();
    // The removed member keeps its access role: only the directory says it is gone.
    aliyun_org(&h, &[MEMBERS[0], REMOVED]);
    let unknown = "1000000000000999";
    let mut csv = String::from("provider,account,action,user\n");
    for id in [MEMBERS[0], REMOVED, unknown] {
        csv += &format!("aliyun,org/{id},enforce-mfa,u2@{id}.onaliyun.com\n");
    }
    h.write("org.csv", &csv);
    for (command, output) in [("plan", "org.plan.csv"), ("run", "org.results.csv")] {
        expect(&h, &[command, "org.csv", "--no-progress"], 1);
        let (header, rows) = read_results(&h.path(output));
        assert_eq!(rows.len(), 3, "{command}");
        for row in &rows {
            let account = cell(&header, row, "account");
            let (status, code, message) = (
                cell(&header, row, "status"),
                cell(&header, row, "error_code"),
                cell(&header, row, "error_message"),
            );
            if account == format!("org/{}", MEMBERS[0]) {
                assert_eq!(status, "succeeded", "{row:?}");
                continue;
            }
            assert_eq!((status, code), ("failed", "not_a_member"), "{row:?}");
            let said = match account == format!("org/{REMOVED}") {
                true => "'Removed' in the directory of 'org'".to_string(),
                false => format!("{unknown} is not in the directory of 'org'"),
            };
            assert!(message.contains(&said), "{said} in {message}");
        }
    }
    let log = h.emulator().requests();
    assert_eq!(
        log.iter().filter(|l| l["action"] == "ListAccounts").count(),
        2,
        "one listing per command"
    );
    for l in &log {
        assert!(
            l["account_id"] != REMOVED,
            "sent into the removed member: {l}"
        );
        let assumed = l["action"] == "AssumeRole";
        assert!(!(assumed && l.to_string().contains(REMOVED)), "{l}");
    }
    assert!(!requires_mfa(
        &h,
        REMOVED,
        &format!("u2@{REMOVED}.onaliyun.com")
    ));

    // A dry run sends nothing and says the membership is not checked.
    let out = expect(&h, &["run", "org.csv", "--dry-run"], 0);
    assert!(
        stdout(&out).contains("account org: whether each member is an active one is not checked")
    );
    assert_eq!(h.emulator().requests().len(), log.len());
}

#[test]
fn a_members_account_whose_directory_cannot_be_listed_stops_its_rows() {
    let h = harness();
    aliyun_org(&h, &MEMBERS);
    // The source is a member, not the management account: its listing is refused.
    let member_role = format!("acs:ram::{}:role/{ROLE}", MEMBERS[0]);
    h.write(
        "iambatch.toml",
        &format!(
            "[accounts.inside]\nprovider = \"aliyun\"\nsource = \"aliyun\"\nrole_arn = \"{member_role}\"\n\
             [accounts.org]\nprovider = \"aliyun\"\nsource = \"inside\"\nmembers = true\n"
        ),
    );
    let id = MEMBERS[1];
    h.write(
        "org.csv",
        &format!(
            "provider,account,action,user\naliyun,org/{id},enforce-mfa,u2@{id}.onaliyun.com\n"
        ),
    );
    expect(&h, &["run", "org.csv", "--no-progress"], 1);
    let (header, rows) = read_results(&h.path("org.results.csv"));
    let row = &rows[0];
    assert_eq!(
        (
            cell(&header, row, "status"),
            cell(&header, row, "error_code")
        ),
        ("not_attempted", "account_stopped")
    );
    let message = cell(&header, row, "error_message");
    for part in ["'inside'", "NoPermission", "management account"] {
        assert!(message.contains(part), "{part} in {message}");
    }
    let log = h.emulator().requests();
    assert!(
        log.iter().all(|l| l["account_id"] != id),
        "nothing sent into the member"
    );
}

#[test]
fn an_accounts_filter_that_matches_no_row_or_contradicts_the_export_is_said() {
    let h = harness();
    aliyun_org(&h, &MEMBERS);
    let one = format!("org/{}", MEMBERS[0]);
    let out = expect(
        &h,
        &[
            "export",
            &one,
            "--accounts-filter",
            MEMBERS[1],
            "-o",
            "x.csv",
        ],
        2,
    );
    let said = stderr(&out);
    assert!(
        said.contains(&format!("export {one} names one member already"))
            && said.contains(&format!("--accounts-filter {}", MEMBERS[1])),
        "{said}"
    );
    assert!(!h.path("x.csv").exists());

    // A typo in the filter withholds every row: each id no row has is a warning.
    let id = MEMBERS[0];
    h.write(
        "org.csv",
        &format!(
            "provider,account,action,user\naliyun,org/{id},enforce-mfa,u2@{id}.onaliyun.com\n"
        ),
    );
    let typo = "1000000000000l01";
    let out = expect(
        &h,
        &[
            "plan",
            "org.csv",
            "--accounts-filter",
            &format!("{typo},{id}"),
            "--no-progress",
        ],
        0,
    );
    let said = stderr(&out);
    assert!(
        said.contains(&format!(
            "--accounts-filter names {typo}, but no row of the input names that member"
        )),
        "{said}"
    );
    assert!(!said.contains(&format!("names {id},")), "{said}");
}

#[test]
fn a_row_naming_the_members_account_itself_is_invalid() {
    let h = harness();
    aliyun_org(&h, &MEMBERS);
    h.write(
        "bare.csv",
        "provider,account,action,user\naliyun,org,enforce-mfa,u2@x.onaliyun.com\n",
    );
    let out = expect(&h, &["validate", "bare.csv"], 2);
    assert!(
        stderr(&out).contains("line 2, column account: org is a members account: name one member, org/<account id>; `iambatch accounts` lists them"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_rate_of_a_members_account_paces_each_member_on_its_own() {
    // --rate org=N paces each member at N: two members' rows go side by side, each at its rate.
    let h = Harness::alone_with_emulator(EmulatorConfig::default());
    aliyun_org(&h, &MEMBERS);
    let mut csv = String::from("provider,account,action,user\n");
    for id in &MEMBERS[..2] {
        let users: serde_json::Map<String, Value> = (0..11)
            .map(|i| (format!("r{i}@{id}.onaliyun.com"), json!({})))
            .collect();
        let patch = json!({"aliyun": {"accounts": {*id: {"users": users}}}});
        h.emulator().tamper(&patch).unwrap();
        for i in 0..11 {
            csv += &format!("aliyun,org/{id},get-login-profile,r{i}@{id}.onaliyun.com\n");
        }
    }
    h.write("reads.csv", &csv);
    expect(
        &h,
        &["plan", "reads.csv", "--rate", "org=5", "--no-progress"],
        0,
    );
    // Every request that acted in a member: its reads, at the member's own pace.
    let mut times: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for line in h.emulator().requests() {
        let id = line["account_id"].as_str().unwrap_or_default();
        if MEMBERS.contains(&id) {
            let time = line["time"].as_f64().unwrap();
            times.entry(id.to_string()).or_default().push(time);
        }
    }
    assert_eq!(times.len(), 2, "{times:?}");
    let spans: Vec<(f64, f64)> = times
        .values()
        .map(|t| {
            assert!(t.len() >= 11, "{t:?}");
            let (first, last) = (t[0], t[t.len() - 1]);
            // At 5/s: n requests take (n - 1) / 5 seconds at least.
            let least = (t.len() - 1) as f64 / 5.0;
            assert!(
                last - first >= least * 0.95,
                "{} requests in {}s",
                t.len(),
                last - first
            );
            // ...and not much longer: the member is not waiting for the other one.
            assert!(
                last - first <= least * 1.3 + 0.5,
                "{} requests in {}s",
                t.len(),
                last - first
            );
            (first, last)
        })
        .collect();
    // Side by side, not one after the other at a shared 5/s.
    let whole = spans[0].1.max(spans[1].1) - spans[0].0.min(spans[1].0);
    let longest = (spans[0].1 - spans[0].0).max(spans[1].1 - spans[1].0);
    assert!(whole < longest + 0.5, "{spans:?}");
}

#[test]
fn a_huawei_organisation_exported_enforced_and_verified_in_one_file() {
    let h = harness();
    let ids = [
        "0a1f0000000000000000000000000201",
        "0a1f0000000000000000000000000202",
        "0a1f0000000000000000000000000203",
    ];
    let member = |status: &str| {
        json!({"status": status, "users": {
            "ana": {"access_mode": "default", "login_protect": null},
            "ben": {"access_mode": "default",
                    "login_protect": {"enabled": true, "verification_method": "vmfa"}},
        }})
    };
    h.emulator()
        .tamper(&json!({"huawei": {
            "accounts": {ids[0]: member("active"), ids[1]: member("active"), ids[2]: member("suspended")},
            "sts": {"roles": {"*": {"trusted": ["emulator-huawei-ak"]}}},
        }}))
        .unwrap();
    h.write(
        "iambatch.toml",
        "[accounts.corp]\nprovider = \"huawei\"\nsource = \"huawei\"\nmembers = true\nrole_name = \"iambatch-operator\"\n",
    );
    let out = expect(
        &h,
        &[
            "export",
            "corp",
            "--missing-mfa",
            "--action",
            "enforce-mfa",
            "-o",
            "corp.csv",
            "--no-progress",
        ],
        0,
    );
    let want: Vec<String> = ids[..2].iter().map(|id| format!("corp/{id}")).collect();
    assert_eq!(accounts_of("corp.csv", &h), want, "{}", stderr(&out));
    expect(&h, &["run", "corp.csv", "--no-progress"], 0);
    expect(&h, &["verify", "corp.csv", "--no-progress"], 0);
    // `ana` of each active member has login protection now; the suspended member's does not.
    let state = h.state();
    let protected = |id: &str| {
        state["huawei"]["accounts"][id]["users"]["ana"]["login_protect"]["enabled"] == true
    };
    assert!(protected(ids[0]) && protected(ids[1]) && !protected(ids[2]));
    let log = h.emulator().requests();
    assert!(
        log.iter().all(|l| l["account_id"] != ids[2]),
        "the suspended member is left alone"
    );
}

#[test]
fn the_source_of_a_members_account_may_itself_be_reached_through_a_role() {
    let h = harness();
    aliyun_org(&h, &[]);
    // The management account's role, assumed with the built-in key; each member's role trusts
    // that role's sessions only.
    let mgmt = "acs:ram::1000000000000001:role/org-admin";
    let mut roles = serde_json::Map::new();
    roles.insert(mgmt.into(), json!({"trusted": ["emulator-aliyun-key"]}));
    for id in &MEMBERS[..2] {
        roles.insert(
            format!("acs:ram::{id}:role/{ROLE}"),
            json!({"trusted": [mgmt]}),
        );
    }
    h.emulator()
        .tamper(&json!({"aliyun": {"sts": {"roles": roles}}}))
        .unwrap();
    h.write(
        "iambatch.toml",
        &format!(
            "[accounts.mgmt]\nprovider = \"aliyun\"\nsource = \"aliyun\"\nrole_arn = \"{mgmt}\"\n\
             [accounts.org]\nprovider = \"aliyun\"\nsource = \"mgmt\"\nmembers = true\n"
        ),
    );
    let filter = format!("{},{}", MEMBERS[0], MEMBERS[1]);
    let out = expect(
        &h,
        &[
            "export",
            "org",
            "--accounts-filter",
            &filter,
            "-o",
            "two.csv",
            "--no-progress",
        ],
        0,
    );
    assert_eq!(accounts_of("two.csv", &h).len(), 6, "{}", stderr(&out));
    let log = h.emulator().requests();
    // The listing was signed with the management role's session, not the built-in key.
    let listed: Vec<&Value> = log
        .iter()
        .filter(|l| l["action"] == "ListAccounts")
        .collect();
    assert!(!listed.is_empty());
    for l in listed {
        assert!(l["account"].as_str().unwrap().starts_with("STS."), "{l}");
    }
}

#[test]
fn every_page_of_a_large_directory_is_listed() {
    let h = harness();
    // aliyun pages of 100, huawei of 200: one more member than a page each.
    let aliyun: serde_json::Map<String, Value> = (0..101)
        .map(|i| (format!("2{i:015}"), json!({"name": format!("a{i}")})))
        .collect();
    let huawei: serde_json::Map<String, Value> = (0..201)
        .map(|i| {
            (
                format!("{i:032x}"),
                json!({"name": format!("h{i}"), "status": "active"}),
            )
        })
        .collect();
    h.emulator()
        .tamper(&json!({"aliyun": {"accounts": aliyun}, "huawei": {"accounts": huawei}}))
        .unwrap();
    h.write(
        "iambatch.toml",
        "[accounts.org]\nprovider = \"aliyun\"\nsource = \"aliyun\"\nmembers = true\n\
         [accounts.corp]\nprovider = \"huawei\"\nsource = \"huawei\"\nmembers = true\nrole_name = \"ops\"\n",
    );
    let out = expect(&h, &["accounts"], 0);
    let table = stdout(&out);
    let used = |prefix: &str| {
        (table.lines())
            .filter(|l| l.starts_with(prefix) && l.ends_with("used"))
            .count()
    };
    assert_eq!(used("org/"), 101, "{table}");
    assert_eq!(used("corp/"), 201, "{table}");
    let log = h.emulator().requests();
    let pages = |provider: &str| {
        (log.iter())
            .filter(|l| l["provider"] == provider && l["action"] == "ListAccounts")
            .count()
    };
    assert_eq!((pages("aliyun"), pages("huawei")), (2, 2));
}

#[test]
fn a_password_source_asks_for_one_token_for_a_listing_of_many_pages() {
    let secret = "ops-secret-77c2";
    let h = Harness::with_emulator(EmulatorConfig {
        accounts: vec![(
            ProviderKind::Huawei,
            "ops-admin".into(),
            iambatch::secret::Secret::new(secret),
        )],
        ..Default::default()
    });
    // Pages of 200: three of them.
    let huawei: serde_json::Map<String, Value> = (0..401)
        .map(|i| (format!("{i:032x}"), json!({"status": "active"})))
        .collect();
    h.emulator()
        .tamper(&json!({"huawei": {"accounts": huawei}}))
        .unwrap();
    let domain = iambatch::emulator::HUAWEI_DOMAIN_NAME;
    h.write(
        "iambatch.toml",
        &format!(
            "[accounts.kl]\nprovider = \"huawei\"\nuser_name = \"ops-admin\"\npassword_env = \"OPS_SECRET\"\ndomain_name = \"{domain}\"\n\
             [accounts.corp]\nprovider = \"huawei\"\nsource = \"kl\"\nmembers = true\nrole_name = \"ops\"\n"
        ),
    );
    let out = h
        .cmd()
        .env("OPS_SECRET", secret)
        .env(
            "IAMBATCH_HUAWEI_ORGANIZATIONS_ENDPOINT",
            h.emulator().endpoint(ProviderKind::Huawei).as_str(),
        )
        .args(["accounts"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let log = h.emulator().requests();
    let count = |action: &str| log.iter().filter(|l| l["action"] == action).count();
    assert_eq!(count("ListAccounts"), 3);
    assert_eq!(count("KeystoneCreateUserTokenByPassword"), 1);
}

#[test]
fn the_sample_config_reaches_the_demo_organisation_under_the_emulator() {
    let h = Harness::new();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/org.toml");
    let out = h
        .cmd()
        .args(["accounts", "--config", config, "--emulator", "--check"])
        .output()
        .unwrap();
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{said}{}", stderr(&out));
    for org in ["org", "corp"] {
        let used = (said.lines())
            .filter(|l| l.starts_with(&format!("{org}/")) && l.ends_with("used"))
            .count();
        let checked = (said.lines())
            .filter(|l| l.starts_with(&format!("check {org}/")) && l.contains(": ok ("))
            .count();
        assert_eq!((used, checked), (3, 3), "{said}");
    }
}
