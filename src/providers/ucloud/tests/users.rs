//! The declared user actions, run by the engine against a scripted UCloud API: which requests each
//! row sends, with which parameters, and what the replies make of the row. The script answers
//! every action with success unless told otherwise, and records each request's parameters.

use super::*;
use crate::engine::backoff::Backoff;
use crate::engine::client::{AccountClient, RetryPolicy};
use crate::engine::execute::{Durability, ExecOptions, Execution, execute};
use crate::engine::pacer::Pacer;
use crate::passwords::SecretsFile;
use crate::report::{Outcome, Status};
use axum::extract::State;
use std::collections::BTreeMap;
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

type Sent = Vec<BTreeMap<String, String>>;

/// Replies by action (a body without `RetCode` gets `"RetCode":0`), and what was sent.
#[derive(Default)]
struct Script {
    replies: Vec<(&'static str, String)>,
    sent: Mutex<Sent>,
}

async fn answer(State(script): State<Arc<Script>>, body: axum::body::Bytes) -> String {
    let params: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let action = params["Action"].clone();
    script.sent.lock().unwrap().push(params);
    let scripted = script.replies.iter().find(|(a, _)| *a == action);
    match scripted {
        Some((_, body)) => body.clone(),
        None => format!(r#"{{"Action":"{action}Response","RetCode":0,"Message":""}}"#),
    }
}

/// A user that exists, as GetUser shows it.
const ALICE: &str = r#"{"RetCode":0,"User":{"UserName":"alice","DisplayName":"Alice Li",
    "Email":"alice@example.com","Status":"Active","CreatedAt":1700000000}}"#;
/// Her console login.
const ALICE_LOGIN: &str =
    r#"{"RetCode":0,"LoginProfile":{"Status":"Active","MFABindRequired":true,"MaxPasswordAge":0}}"#;
/// A group she is in.
const AUDITORS: &str =
    r#"{"RetCode":0,"TotalCount":2,"Users":[{"UserName":"bob"},{"UserName":"alice"}]}"#;
const NO_USER: &str = r#"{"RetCode":11021,"Message":"User [alice] not exist"}"#;

fn row(action: Action, desired: LoginState) -> Job {
    Job {
        password: Some(Secret::new("Passw0rd-123!")),
        ..job(action, desired)
    }
}

/// Alice's state as a row of the user actions gives it.
fn alice(groups: &[&str]) -> LoginState {
    LoginState {
        display_name: Some("Alice Li".into()),
        email: Some("alice@example.com".into()),
        mfa_bind_required: Some(true),
        groups: Some(groups.iter().map(|g| g.to_string()).collect()),
        ..LoginState::default()
    }
}

async fn run(
    job: &Job,
    replies: Vec<(&'static str, &str)>,
    options: ExecOptions,
) -> (Execution, Sent) {
    let script = Arc::new(Script {
        replies: replies
            .into_iter()
            .map(|(a, b)| (a, b.to_string()))
            .collect(),
        ..Script::default()
    });
    let app = axum::Router::new()
        .fallback(answer)
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let keys = keys(&[("public_key", PUBLIC_KEY), ("private_key", PRIVATE_KEY)]);
    let api = connect_to(&format!("http://{addr}"), &keys).unwrap();
    let client = AccountClient::new(
        "ops".into(),
        api,
        reqwest::Client::new(),
        Pacer::new(None),
        RetryPolicy {
            max_attempts: 1,
            backoff: Backoff::default(),
        },
    );
    let cancel = CancellationToken::new();
    let ex = execute(
        job,
        &Ucloud,
        &client,
        &options,
        Durability::default(),
        &cancel,
    )
    .await;
    let sent = script.sent.lock().unwrap().clone();
    (ex, sent)
}

/// Each request's action, and its target group where it has one.
fn actions(sent: &Sent) -> Vec<String> {
    sent.iter()
        .map(|p| match p.get("GroupName") {
            Some(g) => format!("{}:{g}", p["Action"]),
            None => p["Action"].clone(),
        })
        .collect()
}

/// A request's parameters but the signing ones.
fn own(params: &BTreeMap<String, String>) -> Vec<(&str, &str)> {
    params
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "Action" | "PublicKey" | "Signature"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[tokio::test]
async fn create_user_with_one_group_is_two_requests() {
    let job = row(Action::CreateUser, alice(&["auditors"]));
    let (ex, sent) = run(&job, Vec::new(), ExecOptions::default()).await;
    assert_eq!(actions(&sent), ["CreateUser", "AddUserToGroup:auditors"]);
    assert_eq!(
        own(&sent[0]),
        [
            ("AccessKeyStatus", "Inactive"),
            ("DisplayName", "Alice Li"),
            ("Email", "alice@example.com"),
            ("LoginProfileStatus", "Active"),
            ("MFABindRequired", "true"),
            ("Password", "Passw0rd-123!"),
            ("UserName", "alice"),
        ]
    );
    assert_eq!(
        own(&sent[1]),
        [("GroupName", "auditors"), ("UserName", "alice")]
    );
    assert_eq!(ex.status, Some(Status::Succeeded));
    assert_eq!(ex.outcome, Some(Outcome::Created));
    assert_eq!(ex.attempts, 2);
    assert_eq!(
        ex.steps,
        ["CreateUser=created", "AddUserToGroup:auditors=created"]
    );
}

#[tokio::test]
async fn a_generated_password_is_the_tools_and_reaches_only_the_secrets_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.csv");
    let options = ExecOptions {
        secrets: Some(Arc::new(SecretsFile::create(&path).unwrap())),
        ..ExecOptions::default()
    };
    let job = Job {
        generate_password: true,
        ..job(Action::CreateUser, LoginState::default())
    };
    let (ex, sent) = run(&job, Vec::new(), options).await;
    assert_eq!(ex.status, Some(Status::Succeeded));
    assert_eq!(actions(&sent), ["CreateUser"]);
    assert!(!sent[0].contains_key("GenerateRandomPassword"));
    let password = &sent[0]["Password"];
    assert!(password.len() >= 12, "a strong password: {password}");
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(saved.contains(password.as_str()));
    assert!(!format!("{ex:?}").contains(password.as_str()));
}

#[tokio::test]
async fn ensure_user_that_holds_is_unchanged_with_reads_only() {
    let job = row(Action::EnsureUser, alice(&["auditors"]));
    let replies = vec![
        ("GetUser", ALICE),
        ("GetLoginProfile", ALICE_LOGIN),
        ("ListUsersForGroup", AUDITORS),
    ];
    let (ex, sent) = run(&job, replies, ExecOptions::default()).await;
    assert_eq!(
        actions(&sent),
        ["GetUser", "GetLoginProfile", "ListUsersForGroup:auditors"]
    );
    assert_eq!(
        own(&sent[2]),
        [("GroupName", "auditors"), ("Limit", "100"), ("Offset", "0")]
    );
    assert_eq!(ex.status, Some(Status::Succeeded));
    assert_eq!(ex.outcome, Some(Outcome::Unchanged));
}

#[tokio::test]
async fn ensure_user_sends_only_what_differs() {
    let replies = || {
        vec![
            ("GetUser", ALICE),
            ("GetLoginProfile", ALICE_LOGIN),
            ("ListUsersForGroup", AUDITORS),
        ]
    };
    let mut renamed = alice(&["auditors"]);
    renamed.display_name = Some("Alice Q. Li".into());
    let (ex, sent) = run(
        &row(Action::EnsureUser, renamed),
        replies(),
        ExecOptions::default(),
    )
    .await;
    assert_eq!(
        actions(&sent),
        [
            "GetUser",
            "UpdateUser",
            "GetLoginProfile",
            "ListUsersForGroup:auditors"
        ]
    );
    assert_eq!(
        own(&sent[1]),
        [("DisplayName", "Alice Q. Li"), ("UserName", "alice")]
    );
    assert_eq!(ex.outcome, Some(Outcome::Updated));

    // UpdateUser has no email: the login's update sets it, and never the password of an
    // existing user (no --reset-passwords).
    let mut moved = alice(&["auditors"]);
    moved.email = Some("alice.li@example.com".into());
    let (ex, sent) = run(
        &row(Action::EnsureUser, moved),
        replies(),
        ExecOptions::default(),
    )
    .await;
    assert_eq!(
        actions(&sent),
        [
            "GetUser",
            "GetLoginProfile",
            "UpdateLoginProfile",
            "ListUsersForGroup:auditors"
        ]
    );
    assert_eq!(
        own(&sent[2]),
        [("UserEmail", "alice.li@example.com"), ("UserName", "alice")]
    );
    assert_eq!(ex.outcome, Some(Outcome::Updated));

    // A group the user is not in is added; the ones it is in are not.
    let (ex, sent) = run(
        &row(Action::EnsureUser, alice(&["auditors", "finance"])),
        vec![
            ("GetUser", ALICE),
            ("GetLoginProfile", ALICE_LOGIN),
            (
                "ListUsersForGroup",
                r#"{"RetCode":0,"TotalCount":1,"Users":[{"UserName":"bob"}]}"#,
            ),
        ],
        ExecOptions::default(),
    )
    .await;
    assert_eq!(
        actions(&sent)[2..],
        [
            "ListUsersForGroup:auditors",
            "ListUsersForGroup:finance",
            "AddUserToGroup:auditors",
            "AddUserToGroup:finance"
        ]
    );
    assert_eq!(ex.status, Some(Status::Succeeded));
}

#[tokio::test]
async fn ensure_user_creates_a_missing_user_with_its_groups_and_nothing_else() {
    let job = row(Action::EnsureUser, alice(&["auditors"]));
    let (ex, sent) = run(&job, vec![("GetUser", NO_USER)], ExecOptions::default()).await;
    assert_eq!(
        actions(&sent),
        ["GetUser", "CreateUser", "AddUserToGroup:auditors"],
    );
    assert_eq!(ex.status, Some(Status::Succeeded));
    assert_eq!(ex.outcome, Some(Outcome::Created));
}

#[tokio::test]
async fn ensure_user_updates_the_user_and_its_login_when_both_differ() {
    let mut want = alice(&["auditors"]);
    want.display_name = Some("Alice Q. Li".into());
    want.email = Some("alice.li@example.com".into());
    let replies = vec![
        ("GetUser", ALICE),
        ("GetLoginProfile", ALICE_LOGIN),
        ("ListUsersForGroup", AUDITORS),
    ];
    let (_, sent) = run(
        &row(Action::EnsureUser, want),
        replies,
        ExecOptions::default(),
    )
    .await;
    assert_eq!(
        actions(&sent),
        [
            "GetUser",
            "UpdateUser",
            "GetLoginProfile",
            "UpdateLoginProfile",
            "ListUsersForGroup:auditors"
        ],
    );
}

#[tokio::test]
async fn disable_and_enable_freeze_and_unfreeze_the_user_in_one_request() {
    for (action, status) in [
        (Action::DisableUser, "Frozen"),
        (Action::EnableUser, "Active"),
    ] {
        let (ex, sent) = run(
            &job(action, LoginState::default()),
            Vec::new(),
            ExecOptions::default(),
        )
        .await;
        assert_eq!(actions(&sent), ["UpdateUser"], "{action}");
        assert_eq!(own(&sent[0]), [("Status", status), ("UserName", "alice")]);
        assert_eq!(ex.outcome, Some(Outcome::Updated));
    }
}

#[tokio::test]
async fn delete_user_of_a_user_already_gone_is_unchanged() {
    let job = job(Action::DeleteUser, LoginState::default());
    let (ex, sent) = run(&job, Vec::new(), ExecOptions::default()).await;
    assert_eq!(actions(&sent), ["DeleteUser"]);
    assert_eq!(ex.outcome, Some(Outcome::Deleted));
    let (ex, _) = run(&job, vec![("DeleteUser", NO_USER)], ExecOptions::default()).await;
    assert_eq!(ex.status, Some(Status::Succeeded));
    assert_eq!(ex.outcome, Some(Outcome::Unchanged));
}

#[tokio::test]
async fn group_actions_send_one_request_per_group() {
    let groups = LoginState {
        groups: Some(vec!["auditors".into(), "finance".into()]),
        ..LoginState::default()
    };
    let (ex, sent) = run(
        &job(Action::AddToGroup, groups.clone()),
        Vec::new(),
        ExecOptions::default(),
    )
    .await;
    assert_eq!(
        actions(&sent),
        ["AddUserToGroup:auditors", "AddUserToGroup:finance"]
    );
    assert_eq!(ex.status, Some(Status::Succeeded));
    let (ex, sent) = run(
        &job(Action::RemoveFromGroup, groups),
        Vec::new(),
        ExecOptions::default(),
    )
    .await;
    assert_eq!(
        actions(&sent),
        [
            "RemoveUserFromGroup:auditors",
            "RemoveUserFromGroup:finance"
        ]
    );
    // The user is still there: leaving a group updates it.
    assert_eq!(ex.outcome, Some(Outcome::Updated));
}

#[tokio::test]
async fn get_user_reads_the_user_its_login_and_its_groups() {
    let job = job(Action::GetUser, alice(&["auditors"]));
    let replies = vec![
        ("GetUser", ALICE),
        ("GetLoginProfile", ALICE_LOGIN),
        ("ListUsersForGroup", AUDITORS),
        ("GetUserMFAInfo", r#"{"RetCode":0,"IsMFAEnable":false}"#),
    ];
    let (ex, sent) = run(&job, replies, ExecOptions::default()).await;
    assert_eq!(
        actions(&sent),
        [
            "GetUser",
            "GetLoginProfile",
            "ListUsersForGroup:auditors",
            "GetUserMFAInfo"
        ]
    );
    assert_eq!(ex.outcome, Some(Outcome::Read));
    let seen = ex.observed.unwrap();
    assert!(seen.exists);
    assert_eq!(seen.state.user_enabled, Some(true));
    assert_eq!(seen.state.groups, Some(vec!["auditors".to_string()]));
    assert_eq!(seen.state.display_name.as_deref(), Some("Alice Li"));
}

#[tokio::test]
async fn a_missing_group_fails_the_row_naming_it() {
    let job = row(Action::CreateUser, alice(&["auditors"]));
    let missing = r#"{"RetCode":11162,"Message":"Group [auditors] not exist"}"#;
    let (ex, sent) = run(
        &job,
        vec![("AddUserToGroup", missing)],
        ExecOptions::default(),
    )
    .await;
    assert_eq!(actions(&sent), ["CreateUser", "AddUserToGroup:auditors"]);
    assert_eq!(ex.status, Some(Status::Failed));
    assert_eq!(
        ex.steps,
        ["CreateUser=created", "AddUserToGroup:auditors=11162"]
    );
    let failure = ex.failure.unwrap();
    assert!(
        failure
            .message
            .starts_with("group 'auditors' does not exist"),
        "{}",
        failure.message
    );
}

#[test]
fn create_user_with_an_inactive_login_is_invalid() {
    let inactive = LoginState {
        login_status: Some(crate::jobs::LoginStatus::Inactive),
        ..LoginState::default()
    };
    let problems = Ucloud.check_row(&job(Action::CreateUser, inactive.clone()));
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].column, Column::State(Field::LoginStatus));
    assert!(
        Ucloud
            .check_row(&job(Action::UpdateLoginProfile, inactive))
            .is_empty()
    );
    let spec = Ucloud.spec().action(Action::CreateUser).unwrap();
    for column in [Field::MobilePhone, Field::Comments, Field::MaxPasswordAge] {
        assert!(!spec.accepts(Column::State(column)), "{column:?}");
    }
}
