//! Alibaba Cloud RAM/IMS 2019-08-15 (docs/providers.md §2): console login profiles keyed by user
//! principal name, RPC calls signed with V1 (HMAC-SHA1). `request` builds, `classify` reads,
//! `sign` signs.

mod classify;
mod cli_config;
mod directory;
mod request;
pub mod sign;
mod sts;

use crate::input::Column;
use crate::jobs::{Action, Field, Job, LoginState, LoginStatus, ProviderKind};
use crate::providers::{
    Absent, AccountSpec, ActionSpec, Api, Assume, AssumeRequest, Classified, ColumnProblem,
    ConnectError, Desired, Each, Exists, Failure, HttpRequest, ListedUser, Listing, Lookups,
    MemberPage, MfaSource, Object, Op, Part, Password, Provider, ProviderSpec, Reply, Stamp, Step,
    Temporary, When,
};
use crate::secret::Secret;
use request::{Credentials, Endpoints};
use std::sync::Arc;

pub struct Aliyun;

/// What GetLoginProfile returns, and so all a create or update can set.
const READABLE: &[Field] = &[
    Field::LoginStatus,
    Field::MfaBindRequired,
    Field::PasswordResetRequired,
];

/// The login profile's columns. Every action accepts them (an exported file carries them into
/// reads and enforce-mfa); only the writes of the row's own values send them.
const STATE: &[Column] = &[
    Column::State(Field::LoginStatus),
    Column::State(Field::MfaBindRequired),
    Column::State(Field::PasswordResetRequired),
];

/// What a create or update sends.
const WRITE: &[Column] = &[
    Column::Password,
    Column::GeneratePassword,
    Column::State(Field::LoginStatus),
    Column::State(Field::MfaBindRequired),
    Column::State(Field::PasswordResetRequired),
];

pub(crate) const GET: Step = Step::read("GetLoginProfile");
pub(crate) const UPDATE: Step = Step::update("UpdateLoginProfile");
pub(crate) const CREATE: Step = Step::create("CreateLoginProfile", &UPDATE);
pub(crate) const DELETE: Step = Step::delete("DeleteLoginProfile");
/// The user's bound MFA device, virtual or security key.
pub(crate) const MFA_INFO: Step = Step::read("GetUserMFAInfo");

/// The login profile: every login action works on it.
const PROFILE: Object = Object {
    name: "login profile",
    reads: READABLE,
    read: &[GET],
};

/// The user's own fields: what GetUser returns and CreateUser and UpdateUser set.
const USER_FIELDS: &[Field] = &[
    Field::DisplayName,
    Field::Email,
    Field::MobilePhone,
    Field::Comments,
];

/// What the user actions compare: the user, its console login and its groups.
const USER_READS: &[Field] = &[
    Field::DisplayName,
    Field::Email,
    Field::MobilePhone,
    Field::Comments,
    Field::LoginStatus,
    Field::MfaBindRequired,
    Field::PasswordResetRequired,
    Field::Groups,
];

/// The columns of a user: its fields, groups and console login.
const USER_STATE: &[Column] = &[
    Column::State(Field::DisplayName),
    Column::State(Field::Email),
    Column::State(Field::MobilePhone),
    Column::State(Field::Comments),
    Column::State(Field::Groups),
    Column::State(Field::LoginStatus),
    Column::State(Field::MfaBindRequired),
    Column::State(Field::PasswordResetRequired),
];

/// What creating or ensuring a user takes: its columns and a password.
const USER_WRITE: &[Column] = &[
    Column::Password,
    Column::GeneratePassword,
    Column::State(Field::DisplayName),
    Column::State(Field::Email),
    Column::State(Field::MobilePhone),
    Column::State(Field::Comments),
    Column::State(Field::Groups),
    Column::State(Field::LoginStatus),
    Column::State(Field::MfaBindRequired),
    Column::State(Field::PasswordResetRequired),
];

const GROUPS: &[Column] = &[Column::State(Field::Groups)];

pub(crate) const GET_USER: Step = Step::read("GetUser").on(Part::User);
pub(crate) const UPDATE_USER: Step = Step::update("UpdateUser")
    .on(Part::User)
    .sends(USER_FIELDS)
    .password(Password::Never);
/// A user that already exists is ours only if it is newer than our first attempt.
pub(crate) const CREATE_USER: Step = Step::create("CreateUser", &UPDATE_USER)
    .on(Part::User)
    .sends(USER_FIELDS)
    .password(Password::Never)
    .exists(Exists::OursIfNewer { read: &GET_USER });
pub(crate) const DELETE_USER: Step = Step::delete("DeleteUser").on(Part::User);
/// The login steps of the user actions send only the login's fields.
const CREATE_LOGIN: Step = CREATE.sends(READABLE);
const UPDATE_LOGIN: Step = UPDATE.sends(READABLE);
/// Sets the login's status only; a user without a login profile has nothing to change.
const LOGIN_STATUS: Step = UPDATE
    .sends(&[Field::LoginStatus])
    .absent(Absent::Holds)
    .password(Password::Never);
pub(crate) const LIST_GROUPS: Step = Step::read("ListGroupsForUser").on(Part::Groups);
pub(crate) const ADD_TO_GROUP: Step = Step::create("AddUserToGroup", &UPDATE_USER)
    .on(Part::Groups)
    .each(Each::Group)
    .when(When::Absent)
    .exists(Exists::Holds)
    .password(Password::Never);
pub(crate) const REMOVE_FROM_GROUP: Step = Step::delete("RemoveUserFromGroup")
    .on(Part::Groups)
    .each(Each::Group);
/// Every group the user is in, as a delete needs.
const LEAVE_GROUPS: Step = REMOVE_FROM_GROUP.each(Each::Listed);
pub(crate) const LIST_KEYS: Step = Step::read("ListAccessKeys").on(Part::Keys);
/// Deactivates each key: disable-user (enable-user never re-activates one).
pub(crate) const DEACTIVATE_KEY: Step = Step::update("UpdateAccessKey")
    .on(Part::Keys)
    .each(Each::Listed)
    .sends(&[Field::UserEnabled])
    .password(Password::Never);
pub(crate) const DELETE_KEY: Step = Step::delete("DeleteAccessKey")
    .on(Part::Keys)
    .each(Each::Listed);
pub(crate) const UNBIND_MFA: Step = Step::delete("UnbindMFADevice").on(Part::Mfa);
/// RAM 2015-05-01: a user with attached policies is not deleted (nothing is changed).
pub(crate) const LIST_POLICIES: Step = Step::read("ListPoliciesForUser")
    .on(Part::Policies)
    .refuses(
        "the user has attached policies, which delete-user does not detach: detach them first",
    );
/// The account's default domain, for bare user names.
pub(crate) const DEFAULT_DOMAIN: Step = Step::read("GetDefaultDomain");

/// The user, its console login and its groups.
const USER: Object = Object {
    name: "user",
    reads: USER_READS,
    read: &[GET_USER, GET, LIST_GROUPS],
};

/// A user about to be deleted: its attached policies are read too, so `plan` shows a user that
/// has some as the conflict `run` would fail it with.
const LEAVER: Object = Object {
    read: &[GET_USER, GET, LIST_GROUPS, LIST_POLICIES],
    ..USER
};

/// disable-user: the console login and every access key inactive.
const DISABLED: LoginState = LoginState {
    login_status: Some(LoginStatus::Inactive),
    user_enabled: Some(false),
    ..LoginState::NONE
};

/// enable-user: the console login active; keys stay as they are.
const ENABLED: LoginState = LoginState {
    login_status: Some(LoginStatus::Active),
    ..LoginState::NONE
};

const ACTIONS: &[ActionSpec] = &[
    PROFILE.action(Action::CreateLoginProfile, WRITE, &[CREATE]),
    PROFILE.action(Action::UpdateLoginProfile, WRITE, &[UPDATE]),
    PROFILE.action(
        Action::EnsureLoginProfile,
        WRITE,
        &[GET, CREATE.when(When::Absent), UPDATE.when(When::Differs)],
    ),
    PROFILE.action(Action::GetLoginProfile, STATE, &[GET]),
    PROFILE.action(Action::DeleteLoginProfile, STATE, &[DELETE]),
    PROFILE
        .action(Action::EnforceMfa, STATE, &[UPDATE])
        .setting(Desired::Mfa),
    USER.action(
        Action::CreateUser,
        USER_WRITE,
        &[CREATE_USER, CREATE_LOGIN, ADD_TO_GROUP],
    ),
    USER.action(
        Action::EnsureUser,
        USER_WRITE,
        &[
            GET_USER,
            CREATE_USER.when(When::Absent),
            UPDATE_USER.when(When::Differs),
            GET,
            CREATE_LOGIN.when(When::Absent),
            UPDATE_LOGIN.when(When::Differs),
            LIST_GROUPS,
            ADD_TO_GROUP,
        ],
    ),
    USER.action(
        Action::AddToGroup,
        GROUPS,
        &[ADD_TO_GROUP.when(When::Always)],
    ),
    USER.action(Action::RemoveFromGroup, GROUPS, &[REMOVE_FROM_GROUP]),
    USER.action(
        Action::DisableUser,
        USER_STATE,
        &[LOGIN_STATUS, LIST_KEYS, DEACTIVATE_KEY],
    )
    .setting(Desired::Fixed(&DISABLED)),
    USER.action(Action::EnableUser, USER_STATE, &[LOGIN_STATUS])
        .setting(Desired::Fixed(&ENABLED)),
    LEAVER.action(
        Action::DeleteUser,
        USER_STATE,
        &[
            LIST_POLICIES,
            LIST_KEYS,
            DELETE_KEY,
            DELETE,
            UNBIND_MFA,
            LIST_GROUPS,
            LEAVE_GROUPS,
            DELETE_USER,
        ],
    ),
    USER.action(Action::GetUser, USER_STATE, &[GET_USER, GET, LIST_GROUPS]),
];

/// The official CLI's variables (docs/providers.md §2.7), first non-empty wins.
const ENV_KEYS: &[(&str, &[&str])] = &[
    (
        "access_key_id",
        &[
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABACLOUD_ACCESS_KEY_ID",
            "ALICLOUD_ACCESS_KEY_ID",
            "ACCESS_KEY_ID",
        ],
    ),
    (
        "access_key_secret",
        &[
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "ALIBABACLOUD_ACCESS_KEY_SECRET",
            "ALICLOUD_ACCESS_KEY_SECRET",
            "ACCESS_KEY_SECRET",
        ],
    ),
    (
        "security_token",
        &[
            "ALIBABA_CLOUD_SECURITY_TOKEN",
            "ALIBABACLOUD_SECURITY_TOKEN",
            "ALICLOUD_SECURITY_TOKEN",
            "SECURITY_TOKEN",
        ],
    ),
];

const SECRET_KEYS: &[&str] = &["access_key_secret", "security_token"];

const EXAMPLE_USER: &str = "alice@example.onaliyun.com";

/// RAM 2015-05-01, for the policies attached to a user (delete-user's check), which IMS lacks.
const RAM: &str = "ram";
const RAM_ENDPOINT: &str = "https://ram.aliyuncs.com";

const SPEC: ProviderSpec = ProviderSpec {
    kind: ProviderKind::Aliyun,
    actions: ACTIONS,
    readable: USER_READS,
    extra_observed: classify::EXTRA_OBSERVED,
    generates_passwords: false,
    // ListUsers has no login state: one GetLoginProfile per user.
    listing: Listing {
        fields: READABLE,
        info: classify::INFO_COLUMNS,
        user_name: false,
        bulk_state: false,
        read: &GET,
        // ListVirtualMFADevices leaves out security keys: GetUserMFAInfo finds them.
        mfa: Some(MfaSource {
            list: true,
            read: Some(&MFA_INFO),
            row_read: &MFA_INFO,
            types: true,
        }),
    },
    // IMS has one endpoint for every region.
    endpoint: "https://ims.aliyuncs.com",
    // The published per-account limit of the login-profile write APIs (docs/providers.md §2.6).
    default_rate: 20.0,
    env_keys: ENV_KEYS,
    secret_keys: SECRET_KEYS,
    emulator_keys: &[
        ("access_key_id", "emulator-aliyun-key"),
        ("access_key_secret", "emulator-aliyun-secret"),
    ],
    cli_profile: Some(cli_config::read),
    // The recycle bin holds the last 1,000 deleted users (docs/providers.md §2.8).
    recycle_bin: Some(1000),
    lookups: Lookups {
        domain: Some(&DEFAULT_DOMAIN),
        ..Lookups::NONE
    },
};

impl Provider for Aliyun {
    fn spec(&self) -> &'static ProviderSpec {
        &SPEC
    }

    fn check_row(&self, job: &Job) -> Vec<ColumnProblem> {
        let mut problems = Vec::new();
        // A user action may name the user without its domain: the account's default one is added.
        let bare = job.action.is_lifecycle() && self.is_bare(&job.user);
        if !bare && !is_principal_name(&job.user) {
            let message = if job.user.is_empty() {
                format!("aliyun needs the user principal name (name@domain, e.g. {EXAMPLE_USER})")
            } else {
                format!(
                    "'{}' is not a user principal name: aliyun needs name@domain, e.g. {EXAMPLE_USER}",
                    job.user
                )
            };
            problems.push(ColumnProblem {
                column: Column::User,
                message,
            });
        }
        problems
    }

    fn mfa_state(&self, _job: &Job) -> LoginState {
        LoginState::mfa_bind_required()
    }

    fn sts_endpoint(&self) -> Option<&'static str> {
        Some(sts::ENDPOINT)
    }

    fn assumes(&self, assume: &Assume) -> bool {
        matches!(assume, Assume::Role { .. })
    }

    fn directory(&self) -> Option<(&'static str, &'static str)> {
        Some((directory::SERVICE, directory::ENDPOINT))
    }

    /// The role Resource Directory creates in each member account it creates, trusting the
    /// management account.
    fn default_member_role(&self) -> Option<&'static str> {
        Some("ResourceDirectoryAccountAccessRole")
    }

    /// The member's role of that name: `acs:ram::<id>:role/<role_name>`.
    fn member_assume(&self, role: &Assume, id: &str) -> Assume {
        match role {
            Assume::Role {
                role,
                external_id,
                duration,
            } => Assume::Role {
                role: format!("acs:ram::{id}:role/{role}"),
                external_id: external_id.clone(),
                duration: *duration,
            },
            other => other.clone(),
        }
    }

    /// A RAM user name (1–64 of `A-Z a-z 0-9 . _ -`) without `@domain`.
    fn is_bare(&self, user: &str) -> bool {
        (1..=64).contains(&user.len())
            && user
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    }

    fn complete(&self, user: &str, domain: &str) -> String {
        format!("{user}@{domain}")
    }

    /// The name without its domain: another account completes it with its own.
    fn portable_name(&self, user: &ListedUser) -> String {
        user.user
            .split_once('@')
            .map_or(user.user.clone(), |(name, _)| name.to_string())
    }

    fn services(&self) -> &'static [(&'static str, &'static str)] {
        &[(RAM, RAM_ENDPOINT)]
    }

    fn connect(&self, account: &AccountSpec<'_>) -> Result<Arc<dyn Api>, ConnectError> {
        let ram = account
            .services
            .get(RAM)
            .cloned()
            .unwrap_or_else(|| url::Url::parse(RAM_ENDPOINT).expect("a URL"));
        for (endpoint, example) in [
            (account.endpoint, "https://ims.aliyuncs.com"),
            (&ram, RAM_ENDPOINT),
        ] {
            if endpoint.query().is_some() || endpoint.fragment().is_some() {
                return Err(ConnectError::Invalid {
                    account: account.name.to_string(),
                    message: format!(
                        "endpoint '{endpoint}' must not have a query or fragment: give the service URL, e.g. {example}"
                    ),
                });
            }
        }
        let credentials = Credentials {
            access_key_id: required(account, "access_key_id")?.expose().to_string(),
            access_key_secret: required(account, "access_key_secret")?.clone(),
            security_token: account.keys.get("security_token").cloned(),
        };
        Ok(Arc::new(AliyunApi {
            // RPC calls go to the endpoint's own path: `/` for the real service.
            endpoints: Endpoints {
                ims: account.endpoint.to_string(),
                ram: ram.to_string(),
            },
            credentials,
        }))
    }
}

/// `name@domain`, both parts non-empty.
fn is_principal_name(user: &str) -> bool {
    matches!(user.split_once('@'),
        Some((name, domain)) if !name.is_empty() && !domain.is_empty() && !domain.contains('@'))
}

fn required<'a>(account: &'a AccountSpec<'_>, key: &str) -> Result<&'a Secret, ConnectError> {
    account.keys.get(key).ok_or_else(|| ConnectError::Missing {
        account: account.name.to_string(),
        key: key.to_string(),
        hint: hint(key),
    })
}

/// Where a key can come from: the environment (default account) or the config file.
fn hint(key: &str) -> String {
    let env = ENV_KEYS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, vars)| vars.join(", "))
        .unwrap_or_default();
    let config = if SECRET_KEYS.contains(&key) {
        format!("{key}_env or {key}_file")
    } else {
        format!("{key}, {key}_env or {key}_file")
    };
    format!(
        "set {env} (the first one set wins) or configure the aliyun CLI (`aliyun configure`, ~/.aliyun/config.json) for the default account, or {config} in the account's section of the config file"
    )
}

/// One aliyun account: its endpoints and credentials.
#[derive(Debug)]
struct AliyunApi {
    endpoints: Endpoints,
    credentials: Credentials,
}

impl Api for AliyunApi {
    fn build(&self, op: &Op<'_>, stamp: &Stamp, _token: Option<&Secret>) -> HttpRequest {
        request::build(&self.endpoints, &self.credentials, op, stamp)
    }

    fn assume_request(
        &self,
        request: &AssumeRequest<'_>,
        stamp: &Stamp,
        _token: Option<&Secret>,
    ) -> Option<HttpRequest> {
        sts::assume_request(&self.credentials, request, stamp)
    }

    fn read_assumed(
        &self,
        _request: &AssumeRequest<'_>,
        reply: &Reply,
    ) -> Result<Temporary, Failure> {
        sts::read_assumed(reply)
    }

    fn classify(&self, op: &Op<'_>, reply: &Reply) -> Classified {
        classify::classify(op, reply)
    }

    fn members_request(
        &self,
        page: Option<&str>,
        endpoint: &url::Url,
        stamp: &Stamp,
        _token: Option<&Secret>,
    ) -> Option<HttpRequest> {
        Some(directory::request(&self.credentials, page, endpoint, stamp))
    }

    fn read_members(&self, page: Option<&str>, reply: &Reply) -> Result<MemberPage, Failure> {
        directory::read(page, reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::testing::keys;
    use crate::providers::{Services, Verdict, provider};

    fn connect(endpoint: &str, pairs: &[(&str, &str)]) -> Result<Arc<dyn Api>, ConnectError> {
        connect_with(endpoint, pairs, &Services::default())
    }

    fn connect_with(
        endpoint: &str,
        pairs: &[(&str, &str)],
        services: &Services,
    ) -> Result<Arc<dyn Api>, ConnectError> {
        let endpoint = url::Url::parse(endpoint).unwrap();
        let keys = keys(pairs);
        Aliyun.connect(&AccountSpec {
            name: "hq",
            endpoint: &endpoint,
            keys: &keys,
            services,
        })
    }

    fn job(user: &str) -> Job {
        Job {
            index: 0,
            line: 2,
            provider: ProviderKind::Aliyun,
            account: String::new(),
            action: Action::EnsureLoginProfile,
            user: user.into(),
            user_name: None,
            desired: LoginState::default(),
            password: None,
            generate_password: false,
        }
    }

    #[test]
    fn is_the_aliyun_provider() {
        assert_eq!(
            provider(ProviderKind::Aliyun).spec().kind,
            ProviderKind::Aliyun
        );
        assert_eq!(
            Aliyun.default_endpoint(Some("cn-hangzhou")).as_deref(),
            Some("https://ims.aliyuncs.com")
        );
        assert_eq!(Aliyun.spec().default_rate, 20.0);
        assert!(Aliyun.spec().action(Action::SetLoginProtect).is_none());
        assert_eq!(
            Aliyun.spec().extra_observed,
            &["update_date", "last_login_time", "create_date", "user_id"]
        );
    }

    #[test]
    fn env_keys_follow_the_cli_order() {
        let (key, vars) = Aliyun.spec().env_keys[0];
        assert_eq!(key, "access_key_id");
        assert_eq!(
            vars,
            &[
                "ALIBABA_CLOUD_ACCESS_KEY_ID",
                "ALIBABACLOUD_ACCESS_KEY_ID",
                "ALICLOUD_ACCESS_KEY_ID",
                "ACCESS_KEY_ID"
            ]
        );
        let names: Vec<&str> = Aliyun.spec().env_keys.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            ["access_key_id", "access_key_secret", "security_token"]
        );
        for (key, vars) in Aliyun.spec().env_keys {
            let suffix = key.to_ascii_uppercase();
            let prefixes: Vec<&str> = vars
                .iter()
                .map(|v| v.strip_suffix(suffix.as_str()).unwrap())
                .collect();
            assert_eq!(
                prefixes,
                ["ALIBABA_CLOUD_", "ALIBABACLOUD_", "ALICLOUD_", ""]
            );
        }
        assert_eq!(
            Aliyun.spec().secret_keys,
            &["access_key_secret", "security_token"]
        );
    }

    #[test]
    fn principal_names_need_a_name_and_a_domain() {
        assert!(
            Aliyun
                .check_row(&job("alice@example.onaliyun.com"))
                .is_empty()
        );
        for bad in ["alice", "@example.com", "alice@", "a@b@c", ""] {
            let problems = Aliyun.check_row(&job(bad));
            assert_eq!(problems.len(), 1, "{bad:?}");
            assert_eq!(problems[0].column, Column::User);
            assert!(problems[0].message.contains("name@domain"), "{bad:?}");
        }
    }

    #[test]
    fn enforce_mfa_only_requires_binding() {
        let mut row = job("alice@example.onaliyun.com");
        row.desired.login_status = Some(crate::jobs::LoginStatus::Inactive);
        assert_eq!(
            Aliyun.mfa_state(&row),
            LoginState {
                mfa_bind_required: Some(true),
                ..Default::default()
            }
        );
    }

    #[test]
    fn connect_names_what_to_set() {
        let Err(err) = connect("https://ims.aliyuncs.com", &[("access_key_secret", "s")]) else {
            panic!("connected without an access key id");
        };
        let shown = err.to_string();
        assert!(shown.starts_with("hq: missing credential 'access_key_id'"));
        assert!(shown.contains("ALIBABA_CLOUD_ACCESS_KEY_ID"));
        assert!(shown.contains("access_key_id, access_key_id_env or access_key_id_file"));

        let Err(err) = connect("https://ims.aliyuncs.com", &[("access_key_id", "id")]) else {
            panic!("connected without a secret");
        };
        let shown = err.to_string();
        assert!(shown.contains("'access_key_secret'"));
        assert!(shown.contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET"));
        assert!(shown.contains("access_key_secret_env or access_key_secret_file"));

        let empty_secret = connect(
            "https://ims.aliyuncs.com",
            &[("access_key_id", "id"), ("access_key_secret", "")],
        );
        assert!(matches!(empty_secret, Err(ConnectError::Missing { .. })));

        let query = connect(
            "https://ims.aliyuncs.com/?x=1",
            &[("access_key_id", "id"), ("access_key_secret", "s")],
        );
        assert!(matches!(query, Err(ConnectError::Invalid { .. })));
    }

    #[test]
    fn connected_api_posts_to_the_endpoint_and_reads_replies() {
        let api = connect(
            "http://127.0.0.1:8080",
            &[
                ("access_key_id", "emulator-aliyun-key"),
                ("access_key_secret", "emulator-aliyun-secret"),
                ("security_token", "tok"),
            ],
        )
        .unwrap();
        let op = Op::Step {
            target: None,
            step: &DELETE,
            user: "alice@example.onaliyun.com",
            write: None,
        };
        let request = api.build(&op, &Stamp::now(), None);
        assert_eq!(request.url, "http://127.0.0.1:8080/");
        let body = String::from_utf8(request.body).unwrap();
        assert!(body.contains("AccessKeyId=emulator-aliyun-key&"));
        assert!(body.contains("&SecurityToken=tok&"));
        assert!(!body.contains("emulator-aliyun-secret"));
        let reply = Reply {
            status: 200,
            headers: Default::default(),
            body: br#"{"RequestId":"R1"}"#.to_vec(),
        };
        assert_eq!(
            api.classify(&op, &reply),
            Classified {
                request_id: Some("R1".into()),
                verdict: Verdict::Done
            }
        );
    }

    #[test]
    fn an_endpoint_path_is_kept() {
        let api = connect(
            "http://127.0.0.1:8080/aliyun/",
            &[("access_key_id", "id"), ("access_key_secret", "s")],
        )
        .unwrap();
        let request = api.build(
            &Op::Step {
                target: None,
                step: &GET,
                user: "a@b",
                write: None,
            },
            &Stamp::now(),
            None,
        );
        assert_eq!(request.url, "http://127.0.0.1:8080/aliyun/");
    }

    fn url_of(api: &Arc<dyn Api>, step: &'static Step) -> (String, String) {
        let op = Op::Step {
            target: None,
            step,
            user: "ann@corp.onaliyun.com",
            write: None,
        };
        let request = api.build(&op, &Stamp::now(), None);
        let body = String::from_utf8(request.body).unwrap();
        let version = form_urlencoded::parse(body.as_bytes())
            .find(|(k, _)| k == "Version")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        (request.url, version)
    }

    #[test]
    fn policies_go_to_the_ram_endpoint_and_the_rest_to_ims() {
        assert_eq!(Aliyun.services(), &[("ram", "https://ram.aliyuncs.com")]);
        let keys = [("access_key_id", "id"), ("access_key_secret", "s")];
        let mut services = Services::default();
        services.0.insert(
            "ram",
            url::Url::parse("http://127.0.0.1:9090/ram/").unwrap(),
        );
        let api = connect_with("http://127.0.0.1:8080/ims/", &keys, &services).unwrap();
        assert_eq!(
            url_of(&api, &LIST_POLICIES),
            ("http://127.0.0.1:9090/ram/".into(), "2015-05-01".into())
        );
        for step in [&GET_USER, &DELETE_USER, &DEFAULT_DOMAIN, &GET] {
            assert_eq!(
                url_of(&api, step),
                ("http://127.0.0.1:8080/ims/".into(), "2019-08-15".into())
            );
        }
        // An account without one configured asks the real RAM.
        let api = connect("http://127.0.0.1:8080/", &keys).unwrap();
        assert_eq!(url_of(&api, &LIST_POLICIES).0, "https://ram.aliyuncs.com/");

        services.0.insert(
            "ram",
            url::Url::parse("http://127.0.0.1:9090/?x=1").unwrap(),
        );
        let Err(err) = connect_with("http://127.0.0.1:8080/", &keys, &services) else {
            panic!("a RAM endpoint with a query was accepted");
        };
        assert!(err.to_string().contains("https://ram.aliyuncs.com"));
    }
}
