//! Actions on users, declared here as a provider would: a user, its login, its groups, its keys and
//! its policies. What the engine makes of parts, steps per group and per listed item, the `steps`
//! record, a resumed half-done row and a create that is ours only if newer.

use super::*;
use crate::providers::{Desired, Each, Item, Lookups, Part};
use time::OffsetDateTime;

const GET_USER: Step = Step::read("GetUser").on(Part::User);
const UPDATE_USER: Step = Step::update("UpdateUser")
    .on(Part::User)
    .sends(&[Field::DisplayName])
    .password(Password::Never);
const CREATE_USER: Step = Step::create("CreateUser", &UPDATE_USER)
    .on(Part::User)
    .sends(&[Field::DisplayName])
    .password(Password::Never)
    .exists(Exists::OursIfNewer { read: &GET_USER });
const GET_LOGIN: Step = Step::read("GetLogin");
const UPDATE_LOGIN: Step = Step::update("UpdateLogin").sends(&[Field::MfaBindRequired]);
const CREATE_LOGIN: Step =
    Step::create("CreateLogin", &UPDATE_LOGIN).sends(&[Field::MfaBindRequired]);
const LIST_GROUPS: Step = Step::read("ListGroups").on(Part::Groups);
const ADD: Step = Step::create("AddUserToGroup", &UPDATE_USER)
    .on(Part::Groups)
    .each(Each::Group)
    .when(When::Absent)
    .exists(Exists::Holds)
    .password(Password::Never);
const LIST_POLICIES: Step = Step::read("ListPolicies")
    .on(Part::Policies)
    .refuses("the user has attached policies: detach them first");
const LIST_KEYS: Step = Step::read("ListKeys").on(Part::Keys);
const DELETE_KEY: Step = Step::delete("DeleteKey").on(Part::Keys).each(Each::Listed);
const DELETE_LOGIN: Step = Step::delete("DeleteLogin");
const LEAVE: Step = Step::delete("RemoveUserFromGroup")
    .on(Part::Groups)
    .each(Each::Listed);
const DELETE_USER: Step = Step::delete("DeleteUser").on(Part::User);
const DISABLE_KEY: Step = Step::update("UpdateKey")
    .on(Part::Keys)
    .each(Each::Listed)
    .sends(&[Field::UserEnabled])
    .password(Password::Never);
const GROUP_BY_NAME: Step = Step::read("FindGroup");

const USER: Object = Object {
    name: "user",
    reads: &[Field::DisplayName, Field::MfaBindRequired, Field::Groups],
    read: &[GET_USER, GET_LOGIN, LIST_GROUPS],
};

const COLUMNS: &[crate::input::Column] = &[];

const DISABLED: LoginState = LoginState {
    user_enabled: Some(false),
    ..LoginState::NONE
};

const ACTIONS: &[ActionSpec] = &[
    USER.action(
        Action::CreateUser,
        COLUMNS,
        &[CREATE_USER, CREATE_LOGIN, ADD],
    ),
    USER.action(
        Action::EnsureUser,
        COLUMNS,
        &[
            GET_USER,
            CREATE_USER.when(When::Absent),
            UPDATE_USER.when(When::Differs),
            GET_LOGIN,
            CREATE_LOGIN.when(When::Absent),
            UPDATE_LOGIN.when(When::Differs),
            LIST_GROUPS,
            ADD,
        ],
    ),
    USER.action(
        Action::DeleteUser,
        COLUMNS,
        &[
            LIST_POLICIES,
            LIST_KEYS,
            DELETE_KEY,
            DELETE_LOGIN,
            LIST_GROUPS,
            LEAVE,
            DELETE_USER,
        ],
    ),
    USER.action(Action::DisableUser, COLUMNS, &[LIST_KEYS, DISABLE_KEY])
        .setting(Desired::Fixed(&DISABLED)),
];

const USERS: ProviderSpec = ProviderSpec {
    actions: ACTIONS,
    ..SPEC
};

/// The same provider, naming groups by ids it looks up by name.
const BY_ID: ProviderSpec = ProviderSpec {
    actions: ACTIONS,
    lookups: Lookups {
        group_id: Some(&GROUP_BY_NAME),
        ..Lookups::NONE
    },
    ..SPEC
};

/// A row of `action` for alice, wanting display name "Alice", MFA and `groups`.
fn person(action: Action, groups: &[&str]) -> Job {
    let mut job = row(action, true);
    job.desired = LoginState {
        display_name: Some("Alice".into()),
        mfa_bind_required: Some(true),
        groups: Some(groups.iter().map(|g| g.to_string()).collect()),
        ..LoginState::default()
    };
    job
}

fn script(replies: Vec<(&'static str, Verdict)>) -> Script {
    Script {
        replies,
        ..Script::default()
    }
}

fn listed(ids: &[&str]) -> Verdict {
    Verdict::Listed(
        ids.iter()
            .map(|id| Item {
                id: id.to_string(),
                name: String::new(),
            })
            .collect(),
    )
}

fn absent() -> Verdict {
    Verdict::Absent(failure(FailureClass::NotFound, "NoSuchEntity"))
}

fn user(display_name: &str, created: Option<OffsetDateTime>) -> Verdict {
    Verdict::Observed(Observed {
        exists: true,
        state: LoginState {
            display_name: Some(display_name.into()),
            ..LoginState::default()
        },
        created,
        ..Observed::default()
    })
}

fn login(mfa: bool) -> Verdict {
    Verdict::Observed(Observed {
        exists: true,
        state: LoginState {
            mfa_bind_required: Some(mfa),
            ..LoginState::default()
        },
        ..Observed::default()
    })
}

async fn run_users(job: Job, s: Script, resumed: Resumed) -> (Execution, Vec<String>) {
    let (ex, s) = run_job(job, s, resumed, &USERS).await;
    let sent = s.sent.lock().unwrap().clone();
    (ex, sent)
}

#[tokio::test]
async fn a_created_user_gets_its_login_and_each_group_and_the_steps_say_so() {
    let job = person(Action::CreateUser, &["auditors", "ops"]);
    let (ex, sent) = run_users(job, Script::default(), Resumed::default()).await;
    let all = [
        "CreateUser",
        "CreateLogin",
        "AddUserToGroup:auditors",
        "AddUserToGroup:ops",
    ];
    assert_eq!(sent, all);
    assert_eq!(ex.status, Some(Status::Succeeded));
    assert_eq!(ex.outcome, Some(Outcome::Created));
    assert_eq!(
        ex.steps,
        all.map(|s| format!("{s}=created")),
        "every request and what it did"
    );
}

#[tokio::test]
async fn ensure_sends_only_what_is_missing_and_reads_nothing_of_a_new_user() {
    // An existing user in one of its two groups, whose login already asks for MFA.
    let replies = vec![
        ("GetUser", user("Alice", None)),
        ("GetLogin", login(true)),
        ("ListGroups", listed(&["auditors"])),
    ];
    let job = person(Action::EnsureUser, &["auditors", "ops"]);
    let (ex, sent) = run_users(job, script(replies), Resumed::default()).await;
    assert_eq!(
        sent,
        ["GetUser", "GetLogin", "ListGroups", "AddUserToGroup:ops"]
    );
    assert_eq!(
        ex.outcome,
        Some(Outcome::Updated),
        "an existing user gained a group"
    );

    // All holds: reads only.
    let replies = vec![
        ("GetUser", user("Alice", None)),
        ("GetLogin", login(true)),
        ("ListGroups", listed(&["auditors", "ops", "other"])),
    ];
    let job = person(Action::EnsureUser, &["auditors", "ops"]);
    let (ex, sent) = run_users(job, script(replies), Resumed::default()).await;
    assert_eq!(sent, ["GetUser", "GetLogin", "ListGroups"]);
    assert_eq!(ex.outcome, Some(Outcome::Unchanged));
    assert_eq!(
        ex.steps,
        ["GetUser=read", "GetLogin=read", "ListGroups=read"]
    );

    // A display name that differs is updated, with only that field.
    let replies = vec![
        ("GetUser", user("Al", None)),
        ("GetLogin", login(true)),
        ("ListGroups", listed(&["auditors"])),
    ];
    let job = person(Action::EnsureUser, &["auditors"]);
    let (ex, sent) = run_users(job, script(replies), Resumed::default()).await;
    assert_eq!(sent, ["GetUser", "UpdateUser", "GetLogin", "ListGroups"]);
    assert_eq!(ex.outcome, Some(Outcome::Updated));

    // No user: created, and nothing else of it is read.
    let job = person(Action::EnsureUser, &["auditors"]);
    let (ex, sent) = run_users(job, script(vec![("GetUser", absent())]), Resumed::default()).await;
    assert_eq!(
        sent,
        [
            "GetUser",
            "CreateUser",
            "CreateLogin",
            "AddUserToGroup:auditors"
        ]
    );
    assert_eq!(ex.outcome, Some(Outcome::Created));
}

#[tokio::test]
async fn a_failed_group_stops_the_row_and_a_resume_does_not_repeat_what_was_applied() {
    let missing = Verdict::Failed(failure(FailureClass::Permanent, "EntityNotExist.Group"));
    let replies = vec![("AddUserToGroup:ops", missing)];
    let job = person(Action::CreateUser, &["auditors", "ops", "later"]);
    let (ex, sent) = run_users(job, script(replies), Resumed::default()).await;
    assert_eq!(sent.len(), 4, "the failed step stops the row: {sent:?}");
    assert_eq!(ex.status, Some(Status::Failed));
    assert_eq!(
        ex.outcome,
        Some(Outcome::Created),
        "what was applied stays said"
    );
    assert_eq!(
        ex.steps,
        [
            "CreateUser=created",
            "CreateLogin=created",
            "AddUserToGroup:auditors=created",
            "AddUserToGroup:ops=EntityNotExist.Group"
        ]
    );

    // The resumed run reads the steps cell: only what failed or was never sent goes out.
    let resumed = Resumed {
        applied: ex.steps.clone(),
        ..Resumed::default()
    };
    let job = person(Action::CreateUser, &["auditors", "ops", "later"]);
    let (ex, sent) = run_users(job, Script::default(), resumed).await;
    assert_eq!(sent, ["AddUserToGroup:ops", "AddUserToGroup:later"]);
    assert_eq!(ex.status, Some(Status::Succeeded));
    assert_eq!(ex.outcome, Some(Outcome::Created));
    assert_eq!(ex.steps.len(), 5, "{:?}", ex.steps);
}

#[tokio::test]
async fn a_user_that_exists_is_ours_only_if_created_after_our_first_attempt() {
    let since = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let exists = || {
        Verdict::Failed(failure(
            FailureClass::AlreadyExists,
            "EntityAlreadyExists.User",
        ))
    };
    let resumed = || Resumed {
        prior_ambiguous: true,
        since: Some(since),
        ..Resumed::default()
    };

    // Created after the killed run sent the row: ours, and the row goes on.
    let replies = vec![
        ("CreateUser", exists()),
        (
            "GetUser",
            user("Alice", Some(since + time::Duration::seconds(2))),
        ),
    ];
    let job = person(Action::CreateUser, &[]);
    let (ex, sent) = run_users(job, script(replies), resumed()).await;
    assert_eq!(sent, ["CreateUser", "GetUser", "CreateLogin"]);
    assert_eq!(ex.outcome, Some(Outcome::Created));

    // Older: someone else's user, not taken over.
    let replies = vec![
        ("CreateUser", exists()),
        (
            "GetUser",
            user("Alice", Some(since - time::Duration::days(30))),
        ),
    ];
    let job = person(Action::CreateUser, &[]);
    let (ex, sent) = run_users(job, script(replies), resumed()).await;
    assert_eq!(sent, ["CreateUser", "GetUser"]);
    assert_eq!(ex.status, Some(Status::Failed));
    assert_eq!(ex.failure.unwrap().code, codes::CONFLICT);

    // Without an earlier attempt, "already exists" fails at once.
    let job = person(Action::CreateUser, &[]);
    let (ex, sent) = run_users(
        job,
        script(vec![("CreateUser", exists())]),
        Resumed::default(),
    )
    .await;
    assert_eq!(sent, ["CreateUser"]);
    assert_eq!(ex.failure.unwrap().code, "EntityAlreadyExists.User");
}

#[tokio::test]
async fn a_delete_removes_what_blocks_it_and_refuses_what_the_user_must_decide() {
    let replies = vec![
        ("ListKeys", listed(&["AK1", "AK2"])),
        ("ListGroups", listed(&["auditors"])),
    ];
    let job = row(Action::DeleteUser, false);
    let (ex, sent) = run_users(job, script(replies), Resumed::default()).await;
    assert_eq!(
        sent,
        [
            "ListPolicies",
            "ListKeys",
            "DeleteKey:AK1",
            "DeleteKey:AK2",
            "DeleteLogin",
            "ListGroups",
            "RemoveUserFromGroup:auditors",
            "DeleteUser"
        ]
    );
    assert_eq!(ex.outcome, Some(Outcome::Deleted));

    // Attached policies: nothing is changed.
    let job = row(Action::DeleteUser, false);
    let replies = vec![("ListPolicies", listed(&["AdministratorAccess"]))];
    let (ex, sent) = run_users(job, script(replies), Resumed::default()).await;
    assert_eq!(sent, ["ListPolicies"]);
    assert_eq!(ex.status, Some(Status::Failed));
    let refused = ex.failure.unwrap();
    assert_eq!(refused.code, codes::REFUSED);
    assert!(
        refused.message.contains("AdministratorAccess"),
        "{}",
        refused.message
    );
    assert_eq!(ex.outcome, None);

    // A user already gone: unchanged, and nothing else is sent.
    let gone = Verdict::Failed(failure(FailureClass::NotFound, "EntityNotExist.User"));
    let job = row(Action::DeleteUser, false);
    let (ex, sent) = run_users(
        job,
        script(vec![("ListPolicies", gone)]),
        Resumed::default(),
    )
    .await;
    assert_eq!(sent, ["ListPolicies"]);
    assert_eq!(ex.status, Some(Status::Succeeded));
    assert_eq!(ex.outcome, Some(Outcome::Unchanged));
}

#[tokio::test]
async fn a_fixed_state_is_sent_to_each_listed_item() {
    let job = row(Action::DisableUser, false);
    let replies = vec![("ListKeys", listed(&["AK1", "AK2"]))];
    let (ex, sent) = run_users(job, script(replies), Resumed::default()).await;
    assert_eq!(sent, ["ListKeys", "UpdateKey:AK1", "UpdateKey:AK2"]);
    assert_eq!(ex.outcome, Some(Outcome::Updated));
}

#[tokio::test]
async fn groups_named_by_id_are_looked_up_once_and_an_unknown_one_fails_before_any_write() {
    let found = Verdict::Listed(vec![Item {
        id: "g-123".into(),
        name: "auditors".into(),
    }]);
    let replies = vec![
        ("FindGroup:auditors", found),
        ("FindGroup:nope", Verdict::Listed(Vec::new())),
    ];
    let job = person(Action::CreateUser, &["auditors"]);
    let (ex, s) = run_job(job, script(replies), Resumed::default(), &BY_ID).await;
    assert_eq!(
        *s.sent.lock().unwrap(),
        [
            "FindGroup:auditors",
            "CreateUser",
            "CreateLogin",
            "AddUserToGroup:g-123"
        ]
    );
    assert!(
        ex.steps
            .contains(&"AddUserToGroup:auditors=created".to_string()),
        "the steps name the group by its name: {:?}",
        ex.steps
    );

    let replies = vec![("FindGroup:nope", Verdict::Listed(Vec::new()))];
    let job = person(Action::CreateUser, &["nope"]);
    let (ex, s) = run_job(job, script(replies), Resumed::default(), &BY_ID).await;
    assert_eq!(*s.sent.lock().unwrap(), ["FindGroup:nope"]);
    let unknown = ex.failure.unwrap();
    assert_eq!(unknown.code, codes::UNKNOWN_GROUP);
    assert!(unknown.message.contains("'nope'"), "{}", unknown.message);
}

/// A provider whose users are found by name without their create date (huawei's list by name).
const FIND_USER: Step = Step::read("FindUser").on(Part::User);
const BY_NAME: ProviderSpec = ProviderSpec {
    actions: &[USER.action(
        Action::CreateUser,
        COLUMNS,
        &[CREATE_USER.exists(Exists::OursIfNewer { read: &FIND_USER })],
    )],
    ..SPEC
};

#[tokio::test]
async fn a_user_found_by_name_without_a_create_date_is_read_by_its_id() {
    let since = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let found = |created| {
        Verdict::Observed(Observed {
            exists: true,
            extra: vec![(crate::providers::USER_ID, "id-7".into())],
            created,
            ..Observed::default()
        })
    };
    let exists = Verdict::Failed(failure(FailureClass::AlreadyExists, "1109"));
    let resumed = || Resumed {
        prior_ambiguous: true,
        since: Some(since),
        ..Resumed::default()
    };
    let replies = vec![
        ("CreateUser", exists.clone()),
        ("FindUser", found(None)),
        ("GetUser", found(Some(since + time::Duration::seconds(1)))),
    ];
    let job = person(Action::CreateUser, &[]);
    let (ex, s) = run_job(job, script(replies), resumed(), &BY_NAME).await;
    assert_eq!(
        *s.sent.lock().unwrap(),
        ["CreateUser", "FindUser", "GetUser"]
    );
    assert_eq!(ex.status, Some(Status::Succeeded));
    assert_eq!(ex.outcome, Some(Outcome::Created));

    // Older by its own read: someone else's.
    let replies = vec![
        ("CreateUser", exists),
        ("FindUser", found(None)),
        ("GetUser", found(Some(since - time::Duration::days(9)))),
    ];
    let job = person(Action::CreateUser, &[]);
    let (ex, _) = run_job(job, script(replies), resumed(), &BY_NAME).await;
    assert_eq!(ex.failure.unwrap().code, codes::CONFLICT);
}

#[tokio::test]
async fn a_stop_before_a_read_that_follows_a_write_says_where_it_left_the_row() {
    let s = Script {
        replies: vec![("GetUser", user("Al", None))],
        stop_after: Some("UpdateUser"),
        ..Script::default()
    };
    let job = person(Action::EnsureUser, &[]);
    let (ex, s) = run_job(job, s, Resumed::default(), &USERS).await;
    assert_eq!(*s.sent.lock().unwrap(), ["GetUser", "UpdateUser"]);
    assert_eq!(ex.status, Some(Status::Failed));
    assert_eq!(ex.outcome, Some(Outcome::Updated));
    let stopped = ex.failure.unwrap();
    assert_eq!(stopped.code, codes::INTERRUPTED);
    assert!(
        stopped.message.ends_with("(interrupted before GetLogin)"),
        "{}",
        stopped.message
    );
}
