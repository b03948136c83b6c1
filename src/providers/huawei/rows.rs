//! Whole rows of the user actions through the engine, the huawei declarations and the real
//! request builder, against a scripted IAM: which requests leave, in which order, with which
//! bodies, and what the row reports.

use super::Huawei;
use crate::engine::backoff::Backoff;
use crate::engine::client::{AccountClient, RetryPolicy};
use crate::engine::execute::{Durability, ExecOptions, Execution, execute};
use crate::engine::pacer::Pacer;
use crate::jobs::{Action, Job, LoginState, ProviderKind, VerificationMethod};
use crate::providers::{AccountSpec, Provider};
use crate::report::{Outcome, Status};
use crate::secret::Secret;
use axum::body::Bytes;
use axum::http::{Method, StatusCode, Uri};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

const ALICE: &str = "a11ce000000000000000000000000001";
const FINANCE: &str = "f1a4ce00000000000000000000000001";
const PASSWORD: &str = "Canary-Passw0rd";

/// What the scripted IAM answers: `(method, path and query, status, body)`; anything else is
/// 404 `IAM.0004`.
type Script = Vec<(&'static str, String, u16, Value)>;

/// Every request received, as `METHOD /path?query` and its body.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(String, String)>>>);

impl Log {
    fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(l, _)| l.clone())
            .collect()
    }

    fn body(&self, line: &str) -> Value {
        let log = self.0.lock().unwrap();
        let (_, body) = log.iter().find(|(l, _)| l == line).expect(line);
        serde_json::from_str(body).unwrap()
    }
}

async fn iam(script: Script) -> (String, Log) {
    let log = Log::default();
    let seen = log.clone();
    let script = Arc::new(script);
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, body: Bytes| {
        let (log, script) = (seen.clone(), script.clone());
        async move {
            let line = format!("{method} {uri}");
            log.0
                .lock()
                .unwrap()
                .push((line.clone(), String::from_utf8_lossy(&body).into_owned()));
            let found = script.iter().find(|(m, p, _, _)| line == format!("{m} {p}"));
            let (status, body) = match found {
                Some((_, _, status, body)) => (*status, body.clone()),
                None => (
                    404,
                    json!({"error_msg": format!("Could not find user: {uri}."), "error_code": "IAM.0004"}),
                ),
            };
            let body = if status == 204 {
                String::new()
            } else {
                body.to_string()
            };
            (StatusCode::from_u16(status).unwrap(), body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), log)
}

fn client(base: &str) -> AccountClient {
    let endpoint = url::Url::parse(base).unwrap();
    let keys = crate::providers::testing::keys(Huawei.spec().emulator_keys);
    let api = Huawei
        .connect(&AccountSpec {
            name: "test",
            endpoint: &endpoint,
            keys: &keys,
            services: &Default::default(),
        })
        .unwrap();
    AccountClient::new(
        "test".into(),
        api,
        reqwest::Client::new(),
        Pacer::new(None),
        RetryPolicy {
            max_attempts: 1,
            backoff: Backoff::default(),
        },
    )
}

fn row(action: Action, user: &str, desired: LoginState) -> Job {
    Job {
        index: 0,
        line: 2,
        provider: ProviderKind::Huawei,
        account: String::new(),
        action,
        user: user.into(),
        user_name: None,
        desired,
        password: Some(Secret::new(PASSWORD)),
        generate_password: false,
    }
}

async fn run(client: &AccountClient, job: &Job) -> Execution {
    execute(
        job,
        &Huawei,
        client,
        &ExecOptions::default(),
        Durability::default(),
        &CancellationToken::new(),
    )
    .await
}

/// A person: contact details, one group and MFA required.
fn onboarding() -> LoginState {
    LoginState {
        email: Some("alice@example.com".into()),
        mobile_phone: Some("86-13888888888".into()),
        comments: Some("finance, Kuala Lumpur".into()),
        groups: Some(vec!["finance".into()]),
        mfa_bind_required: Some(true),
        password_reset_required: Some(true),
        ..LoginState::default()
    }
}

const DOMAIN: &str = "emulator-huawei-domain";

fn group_lookup() -> String {
    format!("/v3/groups?domain_id={DOMAIN}&name=finance")
}

fn groups_reply() -> Value {
    json!({"groups": [{"id": FINANCE, "name": "finance", "domain_id": DOMAIN,
        "description": "", "create_time": 1_700_000_000_000_i64}], "links": {}})
}

fn protect_path(id: &str) -> String {
    format!("/v3.0/OS-USER/users/{id}/login-protect")
}

#[tokio::test]
async fn create_user_is_three_requests_after_one_group_lookup_per_account() {
    let script: Script = vec![
        ("GET", group_lookup(), 200, groups_reply()),
        (
            "POST",
            "/v3.0/OS-USER/users".into(),
            201,
            json!({"user": {"id": ALICE, "name": "alice", "domain_id": DOMAIN, "enabled": true,
                "access_mode": "console", "pwd_status": true}}),
        ),
        (
            "PUT",
            format!("/v3/groups/{FINANCE}/users/{ALICE}"),
            204,
            Value::Null,
        ),
        (
            "PUT",
            protect_path(ALICE),
            200,
            json!({"login_protect": {"user_id": ALICE, "enabled": true, "verification_method": "vmfa"}}),
        ),
    ];
    let (base, log) = iam(script).await;
    let client = client(&base);
    let ex = run(&client, &row(Action::CreateUser, "alice", onboarding())).await;
    assert_eq!(ex.status, Some(Status::Succeeded), "{:?}", ex.failure);
    assert_eq!(ex.outcome, Some(Outcome::Created));
    assert_eq!(
        ex.steps,
        [
            "CreateUser=created",
            "KeystoneAddUserToGroup:finance=created",
            "UpdateLoginProtect=updated"
        ]
    );
    assert_eq!(
        log.lines(),
        [
            format!("GET {}", group_lookup()),
            "POST /v3.0/OS-USER/users".to_string(),
            format!("PUT /v3/groups/{FINANCE}/users/{ALICE}"),
            format!("PUT {}", protect_path(ALICE)),
        ]
    );
    assert_eq!(ex.attempts, 4);
    assert_eq!(
        log.body("POST /v3.0/OS-USER/users"),
        json!({"user": {
            "name": "alice",
            "domain_id": DOMAIN,
            "access_mode": "console",
            "password": PASSWORD,
            "pwd_status": true,
            "email": "alice@example.com",
            "areacode": "0086",
            "phone": "13888888888",
            "description": "finance, Kuala Lumpur",
        }})
    );
    assert_eq!(
        log.0.lock().unwrap()[2].1,
        "",
        "a membership PUT has no body"
    );
    assert_eq!(
        log.body(&format!("PUT {}", protect_path(ALICE))),
        json!({"login_protect": {"enabled": true, "verification_method": "vmfa"}})
    );

    // Another row of the account: the group's id is known, three requests.
    let before = log.lines().len();
    let ex = run(&client, &row(Action::CreateUser, "bob", onboarding())).await;
    assert_eq!(ex.status, Some(Status::Succeeded), "{:?}", ex.failure);
    let after = log.lines();
    assert_eq!(after.len() - before, 3, "{after:?}");
    assert!(!after[before..].iter().any(|l| l.contains("/v3/groups?")));
}

#[tokio::test]
async fn a_row_that_asks_nothing_about_mfa_sends_no_login_protect() {
    let script: Script = vec![(
        "POST",
        "/v3.0/OS-USER/users".into(),
        201,
        json!({"user": {"id": ALICE, "name": "alice"}}),
    )];
    let (base, log) = iam(script).await;
    let desired = LoginState {
        email: Some("alice@example.com".into()),
        ..LoginState::default()
    };
    let ex = run(&client(&base), &row(Action::CreateUser, "alice", desired)).await;
    assert_eq!(ex.status, Some(Status::Succeeded), "{:?}", ex.failure);
    assert_eq!(ex.steps, ["CreateUser=created"]);
    assert_eq!(log.lines(), ["POST /v3.0/OS-USER/users"]);
    // pwd_status is left to IAM (true with a password).
    assert_eq!(
        log.body("POST /v3.0/OS-USER/users"),
        json!({"user": {"name": "alice", "domain_id": DOMAIN, "access_mode": "console",
            "password": PASSWORD, "email": "alice@example.com"}})
    );
}

#[tokio::test]
async fn a_taken_name_fails_the_create_with_1109() {
    let script: Script = vec![(
        "POST",
        "/v3.0/OS-USER/users".into(),
        400,
        json!({"error_msg": "The username already exists.", "error_code": "1109"}),
    )];
    let (base, log) = iam(script).await;
    let ex = run(
        &client(&base),
        &row(Action::CreateUser, "alice", LoginState::default()),
    )
    .await;
    assert_eq!(ex.status, Some(Status::Failed));
    assert_eq!(ex.failure.unwrap().code, "1109");
    assert_eq!(ex.steps, ["CreateUser=1109"]);
    assert_eq!(log.lines().len(), 1);
}

/// What IAM holds of alice when she matches [`onboarding`].
fn alice_as_onboarded() -> Script {
    vec![
        ("GET", group_lookup(), 200, groups_reply()),
        (
            "GET",
            "/v3/users?name=alice".into(),
            200,
            json!({"users": [{"id": ALICE, "name": "alice", "enabled": true}], "links": {}}),
        ),
        (
            "GET",
            format!("/v3.0/OS-USER/users/{ALICE}"),
            200,
            json!({"user": {"id": ALICE, "name": "alice", "enabled": true, "pwd_status": true,
                "email": "alice@example.com", "areacode": "0086", "phone": "13888888888",
                "description": "finance, Kuala Lumpur", "access_mode": "console",
                "create_time": "2026-12-07 09:10:11.0"}}),
        ),
        (
            "GET",
            protect_path(ALICE),
            200,
            json!({"login_protect": {"user_id": ALICE, "enabled": true, "verification_method": "vmfa"}}),
        ),
        (
            "GET",
            format!("/v3/users/{ALICE}/groups"),
            200,
            groups_reply(),
        ),
    ]
}

#[tokio::test]
async fn ensure_user_of_a_user_as_the_row_says_only_reads() {
    let (base, log) = iam(alice_as_onboarded()).await;
    let ex = run(
        &client(&base),
        &row(Action::EnsureUser, "alice", onboarding()),
    )
    .await;
    assert_eq!(ex.status, Some(Status::Succeeded), "{:?}", ex.failure);
    assert_eq!(ex.outcome, Some(Outcome::Unchanged));
    assert_eq!(
        ex.steps,
        [
            "ShowUser=read",
            "KeystoneListGroupsForUser=read",
            "ShowUserLoginProtect=read"
        ]
    );
    assert!(log.lines().iter().all(|l| l.starts_with("GET ")));
    assert_eq!(log.lines().len(), 5, "{:?}", log.lines());
}

#[tokio::test]
async fn ensure_user_sends_only_what_differs() {
    let mut script = alice_as_onboarded();
    script[2].3["user"]["email"] = "old@example.com".into();
    script[3].3 = json!({"login_protect": {"user_id": ALICE, "enabled": true,
        "verification_method": "sms"}});
    script[4].3 = json!({"groups": [], "links": {}});
    script.extend([
        (
            "PUT",
            format!("/v3.0/OS-USER/users/{ALICE}"),
            200,
            json!({"user": {"id": ALICE}}),
        ),
        ("PUT", protect_path(ALICE), 200, json!({})),
        (
            "PUT",
            format!("/v3/groups/{FINANCE}/users/{ALICE}"),
            204,
            Value::Null,
        ),
    ]);
    let (base, log) = iam(script).await;
    let ex = run(
        &client(&base),
        &row(Action::EnsureUser, "alice", onboarding()),
    )
    .await;
    assert_eq!(ex.status, Some(Status::Succeeded), "{:?}", ex.failure);
    assert_eq!(ex.outcome, Some(Outcome::Updated));
    // Neither the password nor pwd_status without --reset-passwords.
    assert_eq!(
        log.body(&format!("PUT /v3.0/OS-USER/users/{ALICE}")),
        json!({"user": {"email": "alice@example.com"}})
    );
    assert_eq!(
        log.body(&format!("PUT {}", protect_path(ALICE))),
        json!({"login_protect": {"enabled": true, "verification_method": "vmfa"}})
    );
    assert_eq!(
        ex.steps,
        [
            "ShowUser=read",
            "UpdateUser=updated",
            "KeystoneListGroupsForUser=read",
            "KeystoneAddUserToGroup:finance=created",
            "ShowUserLoginProtect=read",
            "UpdateLoginProtect=updated"
        ]
    );
}

#[tokio::test]
async fn ensure_user_creates_a_name_that_resolves_to_no_user() {
    let script: Script = vec![
        ("GET", group_lookup(), 200, groups_reply()),
        (
            "GET",
            "/v3/users?name=alice".into(),
            200,
            json!({"users": [], "links": {}}),
        ),
        (
            "POST",
            "/v3.0/OS-USER/users".into(),
            201,
            json!({"user": {"id": ALICE, "name": "alice"}}),
        ),
        (
            "PUT",
            format!("/v3/groups/{FINANCE}/users/{ALICE}"),
            204,
            Value::Null,
        ),
        ("PUT", protect_path(ALICE), 200, json!({})),
    ];
    let (base, log) = iam(script).await;
    let ex = run(
        &client(&base),
        &row(Action::EnsureUser, "alice", onboarding()),
    )
    .await;
    assert_eq!(ex.status, Some(Status::Succeeded), "{:?}", ex.failure);
    assert_eq!(ex.outcome, Some(Outcome::Created));
    // Three writes, naming the new user by the id CreateUser gave; nothing else is read.
    assert_eq!(
        ex.steps,
        [
            "CreateUser=created",
            "KeystoneAddUserToGroup:finance=created",
            "UpdateLoginProtect=updated"
        ]
    );
    assert_eq!(log.lines().len(), 5, "{:?}", log.lines());
    assert_eq!(
        log.lines()[..3],
        [
            "GET /v3/users?name=alice".to_string(),
            format!("GET {}", group_lookup()),
            "POST /v3.0/OS-USER/users".to_string(),
        ]
    );
    assert!(log.lines()[3..].iter().all(|l| l.contains(ALICE)));
}

#[tokio::test]
async fn an_unknown_group_fails_the_row_before_anything_is_sent_for_it() {
    let script: Script = vec![(
        "GET",
        group_lookup(),
        200,
        json!({"groups": [], "links": {}}),
    )];
    let (base, log) = iam(script).await;
    let ex = run(
        &client(&base),
        &row(Action::CreateUser, "alice", onboarding()),
    )
    .await;
    assert_eq!(ex.status, Some(Status::Failed));
    let failure = ex.failure.unwrap();
    assert_eq!(failure.code, "unknown_group");
    assert!(failure.message.contains("'finance'"), "{}", failure.message);
    assert_eq!(log.lines(), [format!("GET {}", group_lookup())]);
}

#[tokio::test]
async fn removing_a_non_member_and_deleting_an_absent_user_are_unchanged() {
    let script: Script = vec![("GET", group_lookup(), 200, groups_reply())];
    let (base, log) = iam(script).await;
    let client = client(&base);
    let groups = LoginState {
        groups: Some(vec!["finance".into()]),
        ..LoginState::default()
    };
    let ex = run(&client, &row(Action::RemoveFromGroup, ALICE, groups)).await;
    assert_eq!(ex.status, Some(Status::Succeeded), "{:?}", ex.failure);
    assert_eq!(ex.outcome, Some(Outcome::Unchanged));
    assert_eq!(ex.steps, ["KeystoneRemoveUserFromGroup:finance=unchanged"]);
    let ex = run(
        &client,
        &row(Action::DeleteUser, ALICE, LoginState::default()),
    )
    .await;
    assert_eq!(ex.status, Some(Status::Succeeded), "{:?}", ex.failure);
    assert_eq!(ex.outcome, Some(Outcome::Unchanged));
    assert_eq!(
        log.lines()[1..],
        [
            format!("DELETE /v3/groups/{FINANCE}/users/{ALICE}"),
            format!("DELETE /v3/users/{ALICE}"),
        ]
    );
}

#[tokio::test]
async fn disable_and_enable_set_only_enabled() {
    let script: Script = vec![(
        "PUT",
        format!("/v3.0/OS-USER/users/{ALICE}"),
        200,
        json!({"user": {"id": ALICE}}),
    )];
    let (base, log) = iam(script).await;
    let client = client(&base);
    for (action, enabled) in [(Action::DisableUser, false), (Action::EnableUser, true)] {
        let ex = run(&client, &row(action, ALICE, LoginState::default())).await;
        assert_eq!(ex.status, Some(Status::Succeeded), "{:?}", ex.failure);
        assert_eq!(ex.steps, ["UpdateUser=updated"]);
        let log = log.0.lock().unwrap();
        let (_, body) = log.last().unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(body).unwrap(),
            json!({"user": {"enabled": enabled}})
        );
    }
}

#[tokio::test]
async fn get_user_reports_the_user_its_protection_and_groups() {
    let mut script = alice_as_onboarded();
    script.push((
        "GET",
        "/v3.0/OS-MFA/virtual-mfa-devices".into(),
        200,
        json!({"virtual_mfa_devices": [{"serial_number": format!("iam/mfa/{ALICE}"), "user_id": ALICE}]}),
    ));
    let (base, _log) = iam(script).await;
    let ex = run(
        &client(&base),
        &row(Action::GetUser, "alice", LoginState::default()),
    )
    .await;
    assert_eq!(ex.status, Some(Status::Succeeded), "{:?}", ex.failure);
    assert_eq!(ex.outcome, Some(Outcome::Read));
    let observed = ex.observed.unwrap();
    assert!(observed.exists);
    let state = observed.state;
    assert_eq!(state.email.as_deref(), Some("alice@example.com"));
    assert_eq!(state.mobile_phone.as_deref(), Some("86-13888888888"));
    assert_eq!(state.comments.as_deref(), Some("finance, Kuala Lumpur"));
    assert_eq!(state.user_enabled, Some(true));
    assert_eq!(state.login_protect_enabled, Some(true));
    assert_eq!(state.verification_method, Some(VerificationMethod::Vmfa));
    assert_eq!(state.groups, Some(vec!["finance".to_string()]));
    assert!(observed.extra.contains(&("user_id", ALICE.to_string())));
    assert!(observed.extra.contains(&("mfa_bound", "true".to_string())));
}

#[tokio::test]
async fn a_resumed_create_names_the_user_it_created_by_its_id() {
    // The earlier run created alice, then failed to put her in finance.
    let script: Script = vec![
        ("GET", group_lookup(), 200, groups_reply()),
        (
            "GET",
            "/v3/users?name=alice".into(),
            200,
            json!({"users": [{"id": ALICE, "name": "alice", "domain_id": DOMAIN}], "links": {}}),
        ),
        (
            "PUT",
            format!("/v3/groups/{FINANCE}/users/{ALICE}"),
            204,
            Value::Null,
        ),
        ("PUT", protect_path(ALICE), 200, json!({})),
    ];
    let (base, log) = iam(script).await;
    let applied = vec!["CreateUser=created".to_string()];
    let ex = execute(
        &row(Action::CreateUser, "alice", onboarding()),
        &Huawei,
        &client(&base),
        &ExecOptions::default(),
        Durability {
            applied: &applied,
            ..Durability::default()
        },
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(ex.status, Some(Status::Succeeded), "{:?}", ex.failure);
    assert_eq!(ex.outcome, Some(Outcome::Created));
    assert!(
        !log.lines().iter().any(|l| l.starts_with("POST")),
        "nothing created again: {:?}",
        log.lines()
    );
    assert!(
        log.lines()
            .iter()
            .filter(|l| l.starts_with("PUT"))
            .all(|l| l.contains(ALICE)),
        "{:?}",
        log.lines()
    );
}
