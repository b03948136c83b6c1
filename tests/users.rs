//! Whole users on Alibaba Cloud, end to end: onboarding with groups, MFA and generated passwords,
//! ensure that only reads, a half-done row finished by `--resume`, and offboarding into the
//! recycle bin, all against the emulator, checked in its state and its request log.

use crate::util::{CANARY_PASSWORD, Harness, cell, read_results, says};
use iambatch::emulator::{DEFAULT_ALIYUN_DOMAIN, EmulatorConfig};
use iambatch::jobs::ProviderKind;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;

/// The IMS actions that change nothing.
const READS: &[&str] = &[
    "GetDefaultDomain",
    "GetUser",
    "GetLoginProfile",
    "ListGroupsForUser",
    "ListAccessKeys",
    "ListPoliciesForUser",
    "GetUserMFAInfo",
];

fn upn(name: &str) -> String {
    format!("{name}@{DEFAULT_ALIYUN_DOMAIN}")
}

fn patch(h: &Harness, aliyun: Value) {
    h.emulator().tamper(&json!({ "aliyun": aliyun })).unwrap();
}

fn groups_exist(h: &Harness, names: &[&str]) {
    let groups: serde_json::Map<String, Value> =
        names.iter().map(|n| (n.to_string(), json!({}))).collect();
    patch(h, json!({ "groups": groups }));
}

/// `iambatch run FILE ARGS…` without a rate limit.
fn run(h: &Harness, file: &str, args: &[&str]) -> Output {
    h.cmd()
        .args(["run", h.path(file).to_str().unwrap(), "--no-progress"])
        .args(["--rate", "aliyun=unlimited"])
        .args(args)
        .output()
        .unwrap()
}

/// The emulator's request log from line `from` on, as (action, user) pairs.
fn sent_since(h: &Harness, from: usize) -> Vec<(String, String)> {
    h.emulator().requests()[from..]
        .iter()
        .map(|l| {
            (
                l["action"].as_str().unwrap().to_string(),
                l["user"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A department of `n` people with bare names, each in finance and auditors, MFA required, a
/// password generated and reset at first login.
fn department(action: &str, n: usize) -> String {
    let mut csv = String::from(
        "provider,action,user,display_name,email,groups,mfa_bind_required,password_reset_required,generate_password,ticket\n",
    );
    for i in 0..n {
        csv.push_str(&format!(
            "aliyun,{action},user{i:03},User {i:03},user{i:03}@example.com,finance; auditors,true,true,true,T-{i}\n"
        ));
    }
    csv
}

#[test]
fn a_hundred_people_onboarded_in_one_run_then_ensured_with_reads_only() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    groups_exist(&h, &["finance", "auditors"]);
    h.write("onboard.csv", &department("create-user", 100));
    let out = run(
        &h,
        "onboard.csv",
        &["--concurrency", "8", "--secrets-out", "passwords.csv"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));

    let (header, rows) = read_results(&h.path("onboard.results.csv"));
    assert_eq!(rows.len(), 100);
    for row in &rows {
        assert_eq!(cell(&header, row, "status"), "succeeded", "{row:?}");
        assert_eq!(cell(&header, row, "outcome"), "created");
        assert_eq!(
            cell(&header, row, "steps"),
            "CreateUser=created;CreateLoginProfile=created;AddUserToGroup:finance=created;AddUserToGroup:auditors=created"
        );
    }

    // One GetDefaultDomain for the account, then exactly the four writes of each row.
    let sent = sent_since(&h, 0);
    let domain_reads = sent.iter().filter(|(a, _)| a == "GetDefaultDomain").count();
    assert_eq!(domain_reads, 1);
    assert_eq!(sent.len(), 1 + 4 * 100);
    let mut per_user: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (action, user) in sent.iter().filter(|(a, _)| a != "GetDefaultDomain") {
        per_user.entry(user).or_default().push(action);
    }
    assert_eq!(per_user.len(), 100);
    for (user, mut actions) in per_user {
        actions.sort();
        assert_eq!(
            actions,
            [
                "AddUserToGroup",
                "AddUserToGroup",
                "CreateLoginProfile",
                "CreateUser"
            ],
            "{user}"
        );
    }

    // Every user, login profile, membership and MFA flag is the file's; each password is the
    // one written to the secrets file, under the name the user signs in with.
    let (secrets_header, secrets) = read_results(&h.path("passwords.csv"));
    assert_eq!(secrets.len(), 100);
    let passwords: BTreeMap<&str, &str> = secrets
        .iter()
        .map(|r| {
            (
                cell(&secrets_header, r, "user"),
                cell(&secrets_header, r, "password"),
            )
        })
        .collect();
    let state = h.state();
    let users = state["aliyun"]["users"].as_object().unwrap();
    for i in 0..100 {
        let name = format!("user{i:03}");
        let u = &users[&upn(&name)];
        assert_eq!(u["creates"], 1, "{name}");
        assert_eq!(u["display_name"], format!("User {i:03}"));
        assert_eq!(u["email"], format!("{name}@example.com"));
        let login = &u["login_profile"];
        assert_eq!(login["status"], "Active", "{name}");
        assert_eq!(login["mfa_bind_required"], true, "{name}");
        assert_eq!(login["password_reset_required"], true, "{name}");
        let groups: BTreeSet<&str> = u["groups"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(groups, BTreeSet::from(["auditors", "finance"]), "{name}");
        assert_eq!(
            h.emulator().has_password(
                ProviderKind::Aliyun,
                &upn(&name),
                passwords[upn(&name).as_str()]
            ),
            Some(true),
            "{name}"
        );
    }
    let generated: Vec<&&str> = passwords.values().collect();
    let shown = says(&out) + &std::fs::read_to_string(h.path("onboard.results.csv")).unwrap();
    assert!(generated.iter().all(|p| !shown.contains(**p)));

    // The same people again with ensure-user: all there, so only reads.
    h.write("ensure.csv", &department("ensure-user", 100));
    let before = h.emulator().requests().len();
    let out = run(
        &h,
        "ensure.csv",
        &["--concurrency", "8", "--secrets-out", "more-passwords.csv"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    let (header, rows) = read_results(&h.path("ensure.results.csv"));
    assert_eq!(rows.len(), 100);
    for row in &rows {
        assert_eq!(cell(&header, row, "status"), "succeeded", "{row:?}");
        assert_eq!(cell(&header, row, "outcome"), "unchanged", "{row:?}");
    }
    let sent = sent_since(&h, before);
    let writes: Vec<_> = sent
        .iter()
        .filter(|(a, _)| !READS.contains(&a.as_str()))
        .collect();
    assert!(writes.is_empty(), "ensure wrote: {writes:?}");
    assert_eq!(
        sent.len(),
        1 + 3 * 100,
        "GetUser, GetLoginProfile and ListGroupsForUser each"
    );
    let secrets = std::fs::read_to_string(h.path("more-passwords.csv")).unwrap_or_default();
    assert!(secrets.lines().count() <= 1, "no password made: {secrets}");
}

#[test]
fn a_missing_group_stops_the_row_saying_what_was_applied_and_resume_finishes_it() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    groups_exist(&h, &["finance"]);
    h.write(
        "join.csv",
        &format!(
            "provider,action,user,display_name,groups,password,mfa_bind_required\n\
             aliyun,create-user,ann,Ann Li,finance;auditors,{CANARY_PASSWORD},true\n\
             aliyun,create-user,bob,,finance,{CANARY_PASSWORD},true\n"
        ),
    );
    let first = run(&h, "join.csv", &[]);
    assert_eq!(first.status.code(), Some(1), "{}", says(&first));
    let (header, rows) = read_results(&h.path("join.results.csv"));
    let ann = &rows[0];
    assert_eq!(cell(&header, ann, "status"), "failed");
    assert_eq!(cell(&header, ann, "error_code"), "EntityNotExist.Group");
    assert!(cell(&header, ann, "error_message").contains("group 'auditors' does not exist"));
    assert_eq!(
        cell(&header, ann, "steps"),
        "CreateUser=created;CreateLoginProfile=created;AddUserToGroup:finance=created;AddUserToGroup:auditors=EntityNotExist.Group"
    );
    assert_eq!(cell(&header, &rows[1], "status"), "succeeded");
    // bob gave no display name: IMS requires one, so it is the user's name.
    assert_eq!(
        h.state()["aliyun"]["users"][upn("bob")]["display_name"],
        "bob"
    );

    groups_exist(&h, &["auditors"]);
    let before = h.emulator().requests().len();
    let second = run(&h, "join.csv", &["--resume"]);
    assert_eq!(second.status.code(), Some(0), "{}", says(&second));
    assert_eq!(
        sent_since(&h, before),
        [
            ("GetDefaultDomain".to_string(), String::new()),
            ("AddUserToGroup".to_string(), upn("ann")),
        ],
        "only the step not applied yet"
    );
    let (header, rows) = read_results(&h.path("join.results.csv"));
    let ann = &rows[0];
    assert_eq!(cell(&header, ann, "status"), "succeeded", "{ann:?}");
    assert_eq!(cell(&header, ann, "outcome"), "created");
    assert_eq!(
        cell(&header, ann, "steps"),
        "CreateUser=created;CreateLoginProfile=created;AddUserToGroup:finance=created;AddUserToGroup:auditors=created"
    );
    assert_eq!(cell(&header, &rows[1], "status"), "skipped");
    let state = h.state();
    let ann = &state["aliyun"]["users"][upn("ann")];
    assert_eq!(ann["creates"], 1);
    assert_eq!(ann["display_name"], "Ann Li");
    let groups: Vec<&String> = ann["groups"].as_object().unwrap().keys().collect();
    assert_eq!(groups, ["auditors", "finance"]);
    assert_eq!(
        h.emulator()
            .has_password(ProviderKind::Aliyun, &upn("ann"), CANARY_PASSWORD),
        Some(true)
    );

    let written = std::fs::read_to_string(h.path("join.results.csv")).unwrap();
    for shown in [says(&first), says(&second), written] {
        assert!(!shown.contains(CANARY_PASSWORD), "{shown}");
    }
}

/// Leaver has everything that blocks a delete; keeper an attached policy besides.
fn offboarding(h: &Harness) {
    patch(
        h,
        json!({
            "groups": {"finance": {}, "auditors": {}},
            "users": {
                upn("leaver"): {
                    "login_profile": {"status": "Active"},
                    "groups": ["finance", "auditors"],
                    "access_keys": {"LTAI5tLeaver1": {}, "LTAI5tLeaver2": {"status": "Inactive"}},
                },
                upn("keeper"): {
                    "login_profile": {},
                    "groups": ["finance"],
                    "access_keys": {"LTAI5tKeeper1": {}},
                    "policies": {"AdministratorAccess": {"policy_type": "System"}},
                },
            },
            "mfa_devices": {"bound": {upn("leaver"): [{"serial_number": "acs:ram::1:mfa/leaver"}]}},
        }),
    );
    h.write(
        "leave.csv",
        &format!(
            "provider,action,user\n\
             aliyun,delete-user,leaver\n\
             aliyun,delete-user,{}\n\
             aliyun,delete-user,ghost\n",
            upn("keeper")
        ),
    );
}

#[test]
fn delete_user_without_allow_delete_sends_nothing() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    offboarding(&h);
    for extra in [&[][..], &["--skip-invalid"][..]] {
        let out = run(&h, "leave.csv", extra);
        assert_eq!(out.status.code(), Some(2), "{}", says(&out));
        assert!(says(&out).contains("--allow-delete"), "{}", says(&out));
    }
    assert!(h.emulator().requests().is_empty());
    assert!(h.state()["aliyun"]["users"][upn("leaver")].is_object());
}

#[test]
fn delete_user_removes_what_blocks_it_and_leaves_the_user_in_the_recycle_bin() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    offboarding(&h);
    let keeper_before = h.state()["aliyun"]["users"][upn("keeper")].clone();
    let out = run(&h, "leave.csv", &["--allow-delete"]);
    assert_eq!(out.status.code(), Some(1), "{}", says(&out));
    let (header, rows) = read_results(&h.path("leave.results.csv"));

    let leaver = &rows[0];
    assert_eq!(cell(&header, leaver, "status"), "succeeded", "{leaver:?}");
    assert_eq!(cell(&header, leaver, "outcome"), "deleted");
    assert_eq!(
        cell(&header, leaver, "steps"),
        "ListPoliciesForUser=read;ListAccessKeys=read;DeleteAccessKey:LTAI5tLeaver1=deleted;\
         DeleteAccessKey:LTAI5tLeaver2=deleted;DeleteLoginProfile=deleted;UnbindMFADevice=deleted;\
         ListGroupsForUser=read;RemoveUserFromGroup:auditors=deleted;\
         RemoveUserFromGroup:finance=deleted;DeleteUser=deleted"
    );
    let state = h.state();
    let aliyun = &state["aliyun"];
    assert!(aliyun["users"].get(upn("leaver")).is_none());
    let binned: Vec<&str> = aliyun["recycle_bin"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user_principal_name"].as_str().unwrap())
        .collect();
    assert_eq!(binned, [upn("leaver")]);

    // Attached policies: the row fails before anything is changed.
    let keeper = &rows[1];
    assert_eq!(cell(&header, keeper, "status"), "failed");
    assert_eq!(cell(&header, keeper, "error_code"), "refused");
    let message = cell(&header, keeper, "error_message");
    assert!(
        message.contains("AdministratorAccess") && message.contains("nothing was changed"),
        "{message}"
    );
    assert_eq!(aliyun["users"][upn("keeper")], keeper_before);
    let keeper_requests: Vec<String> = sent_since(&h, 0)
        .into_iter()
        .filter(|(_, user)| user == "keeper" || *user == upn("keeper"))
        .map(|(action, _)| action)
        .collect();
    assert_eq!(keeper_requests, ["ListPoliciesForUser"]);

    // A user already gone is what delete asks for.
    let ghost = &rows[2];
    assert_eq!(cell(&header, ghost, "status"), "succeeded");
    assert_eq!(cell(&header, ghost, "outcome"), "unchanged");
}

#[test]
fn plan_says_what_run_would_do_to_each_user() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    offboarding(&h);
    patch(
        &h,
        json!({"users": {upn("same"): {
            "display_name": "Sam E",
            "email": "same@example.com",
            "login_profile": {"mfa_bind_required": true},
            "groups": ["finance", "auditors"],
        }, upn("taken"): {}}}),
    );
    h.write(
        "mixed.csv",
        "provider,action,user,display_name,email,groups,mfa_bind_required,generate_password\n\
         aliyun,create-user,newbie,New Bie,newbie@example.com,finance,true,true\n\
         aliyun,ensure-user,same,Sam E,same@example.com,finance;auditors,true,true\n\
         aliyun,ensure-user,newbie2,,,finance,,true\n\
         aliyun,delete-user,leaver,,,,,\n\
         aliyun,delete-user,keeper,,,,,\n\
         aliyun,create-user,taken,,,,,true\n",
    );
    let out = h
        .cmd()
        .args([
            "plan",
            h.path("mixed.csv").to_str().unwrap(),
            "--no-progress",
        ])
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{}", says(&out));
    let (header, rows) = read_results(&h.path("mixed.plan.csv"));
    let outcomes: Vec<&str> = rows.iter().map(|r| cell(&header, r, "outcome")).collect();
    assert_eq!(
        outcomes,
        [
            "would-create",
            "unchanged",
            "would-create",
            "would-delete",
            "conflict",
            "conflict"
        ],
        "{rows:?}"
    );
    assert!(cell(&header, &rows[4], "error_message").contains("AdministratorAccess"));
    assert!(cell(&header, &rows[5], "error_message").contains("already exists"));
    let writes: Vec<_> = sent_since(&h, 0)
        .into_iter()
        .filter(|(a, _)| !READS.contains(&a.as_str()))
        .collect();
    assert!(writes.is_empty(), "plan wrote: {writes:?}");
}

#[test]
fn dry_run_lists_every_request_and_sends_none() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    offboarding(&h);
    h.write(
        "both.csv",
        &format!(
            "provider,action,user,display_name,groups,password\n\
             aliyun,create-user,newbie,New Bie,finance;auditors,{CANARY_PASSWORD}\n\
             aliyun,delete-user,leaver,,,\n"
        ),
    );
    let out = run(&h, "both.csv", &["--dry-run", "--allow-delete"]);
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    let shown = says(&out);
    for expected in [
        "Action=GetDefaultDomain",
        "Action=CreateUser",
        "DisplayName=New Bie",
        "Action=CreateLoginProfile",
        "GroupName=finance",
        "GroupName=auditors",
        "Action=ListPoliciesForUser",
        "UserName=leaver",
        "Version=2015-05-01",
        "Action=DeleteAccessKey",
        "Action=UnbindMFADevice",
        "Action=RemoveUserFromGroup",
        "Action=DeleteUser",
    ] {
        assert!(shown.contains(expected), "no {expected} in:\n{shown}");
    }
    assert!(!shown.contains(CANARY_PASSWORD));
    assert!(h.emulator().requests().is_empty());
}

#[test]
fn ensure_user_puts_back_only_the_fields_that_differ() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    groups_exist(&h, &["finance"]);
    patch(
        &h,
        json!({"users": {upn("dana"): {
            "display_name": "Dana Wu",
            "email": "old@example.com",
            "comments": "Treasury",
            "login_profile": {"mfa_bind_required": true},
            "groups": ["finance"],
        }}}),
    );
    h.write(
        "fix.csv",
        "provider,action,user,display_name,email,mobile_phone,groups,mfa_bind_required,generate_password\n\
         aliyun,ensure-user,dana,Dana Wu,dana@example.com,86-13800000000,finance,true,true\n",
    );
    let out = run(&h, "fix.csv", &["--secrets-out", "passwords.csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    let (header, rows) = read_results(&h.path("fix.results.csv"));
    assert_eq!(cell(&header, &rows[0], "outcome"), "updated");
    assert_eq!(
        cell(&header, &rows[0], "steps"),
        "GetUser=read;UpdateUser=updated;GetLoginProfile=read;ListGroupsForUser=read"
    );
    let state = h.state();
    let dana = &state["aliyun"]["users"][upn("dana")];
    assert_eq!(dana["email"], "dana@example.com");
    assert_eq!(dana["mobile_phone"], "86-13800000000");
    // What the row does not set stays as it was.
    assert_eq!(dana["display_name"], "Dana Wu");
    assert_eq!(dana["comments"], "Treasury");
}

#[test]
fn a_migration_exports_the_users_of_one_account_and_recreates_them_in_another() {
    const NEW_DOMAIN: &str = "newco.onaliyun.com";
    let h = Harness::with_emulator(EmulatorConfig::default());
    // The old account: ten people made by an onboarding run, one of them with a phone number.
    groups_exist(&h, &["finance", "auditors"]);
    h.write("old.csv", &department("create-user", 10));
    let made = run(&h, "old.csv", &["--secrets-out", "old-passwords.csv"]);
    assert!(made.status.success(), "{}", says(&made));
    patch(
        &h,
        json!({"users": {upn("user003"): {"mobile_phone": "86-13800000003", "comments": "on leave"}}}),
    );

    // The new account: another cloud account, with its own default domain and the same groups.
    let new = h
        .runtime
        .block_on(iambatch::emulator::Emulator::start(EmulatorConfig {
            aliyun_default_domain: NEW_DOMAIN.into(),
            ..Default::default()
        }))
        .unwrap();
    new.tamper(&json!({"aliyun": {"groups": {"finance": {}, "auditors": {}}}}))
        .unwrap();
    h.write(
        "iambatch.toml",
        &format!(
            "[accounts.new]\nprovider = \"aliyun\"\nendpoint = \"{}\"\naccess_key_id = \"emulator-aliyun-key\"\naccess_key_secret_env = \"NEW_SECRET\"\n",
            new.endpoint(ProviderKind::Aliyun)
        ),
    );

    // export old → plan, run, verify on new.
    let export = h
        .cmd()
        .args([
            "export",
            "aliyun",
            "--action",
            "ensure-user",
            "-o",
            "users.csv",
            "--no-progress",
        ])
        .output()
        .unwrap();
    assert!(export.status.success(), "{}", says(&export));
    let (header, rows) = read_results(&h.path("users.csv"));
    assert_eq!(rows.len(), 10);
    let user3 = rows
        .iter()
        .find(|r| cell(&header, r, "user") == "user003")
        .unwrap();
    assert_eq!(
        cell(&header, user3, "account"),
        "",
        "no account: --account picks one"
    );
    assert_eq!(cell(&header, user3, "display_name"), "User 003");
    assert_eq!(cell(&header, user3, "mobile_phone"), "86-13800000003");
    assert_eq!(cell(&header, user3, "groups"), "auditors;finance");
    assert_eq!(cell(&header, user3, "mfa_bind_required"), "true");
    assert_eq!(cell(&header, user3, "generate_password"), "true");
    assert_eq!(cell(&header, user3, "action"), "ensure-user");

    let on_new = |command: &str, extra: &[&str]| {
        h.cmd()
            .env("NEW_SECRET", "emulator-aliyun-secret")
            .args([
                command,
                "users.csv",
                "--account",
                "new",
                "--no-progress",
                "--overwrite",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let plan = on_new("plan", &[]);
    assert!(plan.status.success(), "{}", says(&plan));
    let (header, rows) = read_results(&h.path("users.plan.csv"));
    assert!(
        rows.iter()
            .all(|r| cell(&header, r, "outcome") == "would-create")
    );
    let migrated = on_new("run", &["--secrets-out", "new-passwords.csv"]);
    assert!(migrated.status.success(), "{}", says(&migrated));
    let (header, rows) = read_results(&h.path("users.results.csv"));
    assert!(
        rows.iter()
            .all(|r| cell(&header, r, "outcome") == "created")
    );
    let verify = on_new("verify", &[]);
    assert!(verify.status.success(), "{}", says(&verify));

    // Every user is in the new account, under its domain, as it was in the old one.
    let state = new.state();
    for i in 0..10 {
        let user = &state["aliyun"]["users"][format!("user{i:03}@{NEW_DOMAIN}")];
        assert_eq!(user["display_name"], format!("User {i:03}"), "{user}");
        assert_eq!(user["email"], format!("user{i:03}@example.com"), "{user}");
        assert_eq!(user["login_profile"]["mfa_bind_required"], true, "{user}");
        assert_eq!(
            user["login_profile"]["password_reset_required"], true,
            "{user}"
        );
        let groups: BTreeSet<&str> = user["groups"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(groups, BTreeSet::from(["auditors", "finance"]), "{user}");
    }
    let user3 = &state["aliyun"]["users"][format!("user003@{NEW_DOMAIN}")];
    assert_eq!(user3["mobile_phone"], "86-13800000003");
    assert_eq!(user3["comments"], "on leave");
    // The old account is as it was: nothing of the run went there.
    assert_eq!(
        h.emulator().state()["aliyun"]["users"]
            .as_object()
            .unwrap()
            .len(),
        10
    );
}

#[test]
fn a_half_done_row_edited_before_the_resume_is_refused() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    groups_exist(&h, &["finance"]);
    let file = |user: &str, groups: &str| {
        format!(
            "provider,action,user,groups,password\naliyun,create-user,{user},{groups},{CANARY_PASSWORD}\n"
        )
    };
    h.write("join.csv", &file("alcie", "finance;nogroup"));
    let first = run(&h, "join.csv", &[]);
    assert_eq!(first.status.code(), Some(1), "{}", says(&first));

    // The typo is fixed in place: the earlier run's steps belong to another user.
    h.write("join.csv", &file("alice", "finance"));
    let before = h.emulator().requests().len();
    let resumed = run(&h, "join.csv", &["--resume"]);
    assert_eq!(resumed.status.code(), Some(2), "{}", says(&resumed));
    assert!(
        says(&resumed).contains("applied in part") && says(&resumed).contains("lines 2"),
        "{}",
        says(&resumed)
    );
    assert_eq!(h.emulator().requests().len(), before, "nothing sent");
}
