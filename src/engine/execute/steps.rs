//! The engine against a provider declared here, with actions of several requests: what `run`
//! sends, in which order, and what each step's "already exists" and "not found" make of the row.
//! No engine code knows these actions: the declarations are all there is.

use super::*;
use crate::engine::backoff::Backoff;
use crate::engine::client::RetryPolicy;
use crate::engine::pacer::Pacer;
use crate::jobs::ProviderKind;
use crate::providers::{
    AccountSpec, Api, Classified, ConnectError, HttpRequest, Listing, Object, ProviderSpec, Reply,
    Stamp,
};
use std::sync::Mutex;

mod users;

const GET_USER: Step = Step::read("GetUser");
const UPDATE_USER: Step = Step::update("UpdateUser");
const CREATE_USER: Step = Step::create("CreateUser", &UPDATE_USER);
const UPDATE_LOGIN: Step = Step::update("UpdateLogin");
const CREATE_LOGIN: Step = Step::create("CreateLogin", &UPDATE_LOGIN);
const DELETE_LOGIN: Step = Step::delete("DeleteLogin");
const DELETE_USER: Step = Step::delete("DeleteUser");
/// A membership: already a member is nothing to do, and no password is sent.
const ADD_TO_GROUP: Step = Step::create("AddUserToGroup", &UPDATE_USER)
    .exists(Exists::Holds)
    .password(Password::Never);

/// The one column these actions take.
const PASSWORD: &[crate::input::Column] = &[crate::input::Column::Password];

const USER: Object = Object {
    name: "user",
    reads: &[],
    read: &[GET_USER],
};

/// Two-request actions under today's action names: a user and its login, created or deleted.
const ACTIONS: &[ActionSpec] = &[
    USER.action(
        Action::CreateLoginProfile,
        PASSWORD,
        &[CREATE_USER, CREATE_LOGIN],
    ),
    USER.action(
        Action::DeleteLoginProfile,
        PASSWORD,
        &[DELETE_LOGIN, DELETE_USER],
    ),
    USER.action(
        Action::UpdateLoginProfile,
        PASSWORD,
        &[ADD_TO_GROUP, UPDATE_LOGIN],
    ),
    USER.action(
        Action::EnsureLoginProfile,
        PASSWORD,
        &[
            GET_USER,
            CREATE_USER.when(When::Absent),
            UPDATE_USER.when(When::Differs),
        ],
    ),
];

/// Answers by API name; anything not scripted is done (writes) or found (reads).
#[derive(Default)]
struct Script {
    base: String,
    replies: Vec<(&'static str, Verdict)>,
    sent: Mutex<Vec<String>>,
    /// The run stops (`cancel`) once this API's request is on its way.
    stop_after: Option<&'static str>,
    cancel: CancellationToken,
    /// How many write requests were about to leave when the row's `departing` ran.
    departed: Mutex<Vec<usize>>,
}

struct TwoSteps(Arc<Script>, &'static ProviderSpec);

const SPEC: ProviderSpec = ProviderSpec {
    kind: ProviderKind::Aliyun,
    actions: ACTIONS,
    readable: &[],
    extra_observed: &[],
    generates_passwords: false,
    listing: Listing {
        fields: &[],
        info: &[],
        user_name: false,
        bulk_state: false,
        read: &GET_USER,
        mfa: None,
    },
    endpoint: "",
    default_rate: 1.0,
    env_keys: &[],
    secret_keys: &[],
    emulator_keys: &[],
    cli_profile: None,
    lookups: crate::providers::Lookups::NONE,
    recycle_bin: None,
};

impl Provider for TwoSteps {
    fn spec(&self) -> &'static ProviderSpec {
        self.1
    }
    fn mfa_state(&self, job: &Job) -> LoginState {
        job.desired.clone()
    }
    fn connect(&self, _account: &AccountSpec<'_>) -> Result<Arc<dyn Api>, ConnectError> {
        Ok(Arc::new(Replay(self.0.clone())))
    }
}

struct Replay(Arc<Script>);

impl Api for Replay {
    fn build(&self, op: &Op<'_>, _stamp: &Stamp, _token: Option<&Secret>) -> HttpRequest {
        let Op::Step { step, target, .. } = op else {
            panic!("no names to resolve here: {op:?}")
        };
        self.0.sent.lock().unwrap().push(named(step, *target));
        if self.0.stop_after == Some(step.api) {
            self.0.cancel.cancel();
        }
        HttpRequest {
            method: reqwest::Method::POST,
            url: format!("{}{}", self.0.base, step.api),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn classify(&self, op: &Op<'_>, _reply: &Reply) -> Classified {
        let Op::Step { step, target, .. } = op else {
            unreachable!()
        };
        // A reply scripted for `Api:target` wins over one for every `Api`.
        let name = named(step, *target);
        let scripted = (self.0.replies.iter().find(|(api, _)| *api == name))
            .or_else(|| self.0.replies.iter().find(|(api, _)| *api == step.api));
        let verdict = match (scripted, step.effect) {
            (Some((_, v)), _) => v.clone(),
            (None, Effect::Read)
                if matches!(step.part, Part::Groups | Part::Keys | Part::Policies) =>
            {
                Verdict::Listed(Vec::new())
            }
            (None, Effect::Read) => Verdict::Observed(Observed {
                exists: true,
                ..Observed::default()
            }),
            (None, _) => Verdict::Done,
        };
        Classified {
            request_id: None,
            verdict,
        }
    }
}

/// How the script names a request: `Api` or `Api:target`.
fn named(step: &Step, target: Option<&str>) -> String {
    match target {
        None => step.api.to_string(),
        Some(t) => format!("{}:{t}", step.api),
    }
}

fn failure(class: FailureClass, code: &str) -> Failure {
    Failure {
        class,
        code: code.into(),
        message: format!("{code} from the script"),
        retry_after: None,
    }
}

/// A server that answers `{}` to every request.
async fn server() -> String {
    let app = axum::Router::new().fallback(|| async { "{}" });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}

/// Runs `action` for one row with a password against the script: the row's execution and the
/// APIs it called.
async fn run(
    action: Action,
    replies: Vec<(&'static str, Verdict)>,
    prior_ambiguous: bool,
) -> (Execution, Vec<String>) {
    run_row(action, replies, prior_ambiguous, true).await
}

async fn run_row(
    action: Action,
    replies: Vec<(&'static str, Verdict)>,
    prior_ambiguous: bool,
    password: bool,
) -> (Execution, Vec<String>) {
    let script = Script {
        replies,
        ..Script::default()
    };
    let (ex, script) = run_script(action, script, prior_ambiguous, password).await;
    let sent = script.sent.lock().unwrap().clone();
    (ex, sent)
}

/// Runs `action` for one row against `script`: the row's execution and the script, with what it
/// saw.
async fn run_script(
    action: Action,
    script: Script,
    prior_ambiguous: bool,
    password: bool,
) -> (Execution, Arc<Script>) {
    let resumed = Resumed {
        prior_ambiguous,
        ..Resumed::default()
    };
    run_job(row(action, password), script, resumed, &SPEC).await
}

/// What a resumed run knows of the row.
#[derive(Default)]
struct Resumed {
    prior_ambiguous: bool,
    since: Option<time::OffsetDateTime>,
    applied: Vec<String>,
}

/// A row of `action` for user `alice`, with a password or not.
fn row(action: Action, password: bool) -> Job {
    Job {
        index: 0,
        line: 2,
        provider: ProviderKind::Aliyun,
        account: String::new(),
        action,
        user: "alice".into(),
        user_name: None,
        desired: LoginState::default(),
        password: password.then(|| Secret::new("Passw0rd-123")),
        generate_password: false,
    }
}

/// Runs `job` against `script` under the declarations `spec`.
async fn run_job(
    job: Job,
    script: Script,
    resumed: Resumed,
    spec: &'static ProviderSpec,
) -> (Execution, Arc<Script>) {
    let script = Arc::new(Script {
        base: server().await,
        ..script
    });
    let provider = TwoSteps(script.clone(), spec);
    let endpoint = url::Url::parse(&script.base).unwrap();
    let keys = crate::providers::Keys::default();
    let api = provider
        .connect(&AccountSpec {
            name: "test",
            endpoint: &endpoint,
            keys: &keys,
            services: &Default::default(),
        })
        .unwrap();
    let client = AccountClient::new(
        "test".into(),
        api,
        reqwest::Client::new(),
        Pacer::new(None),
        RetryPolicy {
            max_attempts: 1,
            backoff: Backoff::default(),
        },
    );
    let options = ExecOptions::default();
    let departing = || {
        let sent = script.sent.lock().unwrap().len();
        script.departed.lock().unwrap().push(sent);
        Ok(())
    };
    let durability = Durability {
        prior_ambiguous: resumed.prior_ambiguous,
        since: resumed.since,
        applied: &resumed.applied,
        departing: &departing,
    };
    let ex = execute(
        &job,
        &provider,
        &client,
        &options,
        durability,
        &script.cancel,
    )
    .await;
    (ex, script)
}

#[tokio::test]
async fn every_step_is_sent_in_order_and_the_first_write_names_the_outcome() {
    let (ex, sent) = run(Action::CreateLoginProfile, Vec::new(), false).await;
    assert_eq!(sent, ["CreateUser", "CreateLogin"]);
    assert_eq!(ex.status, Some(Status::Succeeded));
    assert_eq!(ex.outcome, Some(Outcome::Created));
    assert_eq!(ex.attempts, 2);
}

#[tokio::test]
async fn each_write_departs_just_before_it_is_sent_and_a_withdrawn_one_never_does() {
    // Ensure reads, then creates: only the create departs, with the read already sent.
    let gone = Verdict::Absent(failure(FailureClass::NotFound, "NoSuchEntity"));
    let script = Script {
        replies: vec![("GetUser", gone)],
        ..Script::default()
    };
    let (ex, script) = run_script(Action::EnsureLoginProfile, script, false, true).await;
    assert_eq!(ex.outcome, Some(Outcome::Created));
    assert_eq!(*script.departed.lock().unwrap(), [1]);

    // A row withdrawn before its write leaves never departs: a resume must not take it as sent.
    let script = Script::default();
    script.cancel.cancel();
    let (ex, script) = run_script(Action::CreateLoginProfile, script, false, true).await;
    assert_eq!(ex.status, Some(Status::NotAttempted));
    assert!(script.sent.lock().unwrap().is_empty());
    assert!(script.departed.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_stop_between_two_writes_fails_the_row_with_its_steps() {
    let script = Script {
        stop_after: Some("CreateUser"),
        ..Script::default()
    };
    let (ex, script) = run_script(Action::CreateLoginProfile, script, false, true).await;
    assert_eq!(*script.sent.lock().unwrap(), ["CreateUser"]);
    assert_eq!(*script.departed.lock().unwrap(), [0]);
    // The user was created: the row is failed, never not attempted, and says where it stopped.
    assert_eq!(ex.status, Some(Status::Failed));
    assert_eq!(ex.outcome, Some(Outcome::Created));
    assert_eq!(ex.attempts, 1);
    let failure = ex.failure.unwrap();
    assert_eq!(failure.code, codes::INTERRUPTED);
    assert!(
        failure
            .message
            .ends_with("(interrupted before CreateLogin)"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn a_failed_step_stops_the_row_with_its_code() {
    let replies = vec![(
        "CreateUser",
        Verdict::Failed(failure(FailureClass::Permanent, "LimitExceeded")),
    )];
    let (ex, sent) = run(Action::CreateLoginProfile, replies, false).await;
    assert_eq!(sent, ["CreateUser"]);
    assert_eq!(ex.status, Some(Status::Failed));
    assert_eq!(ex.failure.unwrap().code, "LimitExceeded");
}

#[tokio::test]
async fn already_exists_is_ours_only_after_an_ambiguous_attempt() {
    let exists = || {
        vec![(
            "CreateUser",
            Verdict::Failed(failure(FailureClass::AlreadyExists, "EntityAlreadyExists")),
        )]
    };
    let (ex, sent) = run(Action::CreateLoginProfile, exists(), false).await;
    assert_eq!(sent, ["CreateUser"]);
    assert_eq!(ex.failure.unwrap().code, "EntityAlreadyExists");

    // The step's own `finish` sets the row's values, then the next step goes on.
    let (ex, sent) = run(Action::CreateLoginProfile, exists(), true).await;
    assert_eq!(sent, ["CreateUser", "UpdateUser", "CreateLogin"]);
    assert_eq!(ex.outcome, Some(Outcome::Created));
}

#[tokio::test]
async fn what_already_holds_is_nothing_to_do_and_steps_without_a_password_need_none() {
    let member = vec![(
        "AddUserToGroup",
        Verdict::Failed(failure(FailureClass::AlreadyExists, "EntityAlreadyExists")),
    )];
    let (ex, sent) = run_row(Action::UpdateLoginProfile, member, false, false).await;
    assert_eq!(sent, ["AddUserToGroup", "UpdateLogin"]);
    assert_eq!(ex.status, Some(Status::Succeeded));
    assert_eq!(
        ex.outcome,
        Some(Outcome::Updated),
        "the first change names the outcome"
    );

    // A create that needs a password fails the row before anything is sent.
    let (ex, sent) = run_row(Action::CreateLoginProfile, Vec::new(), false, false).await;
    assert!(sent.is_empty());
    assert_eq!(ex.failure.unwrap().code, "no_password");
}

#[tokio::test]
async fn an_absent_object_is_what_each_step_declares() {
    let gone = |api| {
        (
            api,
            Verdict::Absent(failure(FailureClass::NotFound, "NoSuchEntity")),
        )
    };
    // A delete of what is already gone holds, and the row goes on to the next step.
    let (ex, sent) = run(Action::DeleteLoginProfile, vec![gone("DeleteLogin")], false).await;
    assert_eq!(sent, ["DeleteLogin", "DeleteUser"]);
    assert_eq!(ex.status, Some(Status::Succeeded));
    assert_eq!(ex.outcome, Some(Outcome::Deleted));
    let both = vec![gone("DeleteLogin"), gone("DeleteUser")];
    let (ex, _) = run(Action::DeleteLoginProfile, both, false).await;
    assert_eq!(ex.outcome, Some(Outcome::Unchanged));

    // A read's "absent" is its answer: ensure creates; an update of an absent object fails.
    let (ex, sent) = run(Action::EnsureLoginProfile, vec![gone("GetUser")], false).await;
    assert_eq!(sent, ["GetUser", "CreateUser"]);
    assert_eq!(ex.outcome, Some(Outcome::Created));
    let (ex, sent) = run(Action::EnsureLoginProfile, Vec::new(), false).await;
    assert_eq!(sent, ["GetUser"], "the user exists and nothing differs");
    assert_eq!(ex.outcome, Some(Outcome::Unchanged));
}

#[test]
fn dry_run_and_plan_walk_the_same_steps() {
    let provider = TwoSteps(Arc::default(), &SPEC);
    let job = Job {
        index: 0,
        line: 2,
        provider: ProviderKind::Aliyun,
        account: String::new(),
        action: Action::EnsureLoginProfile,
        user: "alice".into(),
        user_name: None,
        desired: LoginState::default(),
        password: Some(Secret::new("Passw0rd-123")),
        generate_password: false,
    };
    let mut listed = Vec::new();
    requests(&job, &provider, &ExecOptions::default(), |op, note| {
        let Op::Step { step, .. } = op else {
            unreachable!()
        };
        listed.push((step.api, note.map(str::to_string)));
    });
    assert_eq!(
        listed,
        [
            ("GetUser", None),
            ("CreateUser", Some("only if the read finds no user".into())),
            (
                "UpdateUser",
                Some(
                    "only if the read finds a user that differs, and then with only the differing fields"
                        .into()
                )
            ),
        ]
    );
    let absent = Observed::default();
    let plan = super::tests::plan_with(&job, &provider, &absent);
    assert_eq!(plan, (Outcome::WouldCreate, Ok(None)));
}
