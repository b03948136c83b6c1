//! UCloud IAM (docs/providers.md §1): `UpdateLoginProfile` writes, `GetLoginProfile` reads, both keyed by
//! `UserName` and signed with the account's public/private key pair (`sign`); the user actions
//! create users with their console login inside (`CreateUser`), freeze them (`UpdateUser`), and
//! manage their groups by name. `request` gives each request's parameters, `classify` reads the
//! replies. Requests go the Go SDK's way: `POST {endpoint}/` with every parameter, `Signature`
//! included, in a form body, so a password never appears in a URL. No `ProjectId`/`Region` is sent
//! (IAM lists none) and `Password` is sent plain (the `base64` encoding docs/providers.md mentions
//! as a CONFIG is not offered).

mod classify;
mod cli_config;
mod request;
pub mod sign;
mod sts;

use crate::input::Column;
use crate::jobs::{Action, Field, Job, LoginState, LoginStatus, ProviderKind};
use crate::providers::{
    Absent, AccountSpec, ActionSpec, Api, Assume, AssumeRequest, Classified, ColumnProblem,
    ConnectError, Desired, Each, Exists, Failure, HttpRequest, Listing, Lookups, MfaSource, Object,
    Op, Part, Password, Provider, ProviderSpec, Reply, Stamp, Step, Temporary, When,
};
use crate::secret::Secret;
pub use request::LIST_LIMIT;
use std::sync::Arc;

pub struct Ucloud;

/// What `GetLoginProfile` returns; `PasswordResetRequired` and `UserEmail` are not readable.
const READABLE: &[Field] = &[
    Field::LoginStatus,
    Field::MfaBindRequired,
    Field::MaxPasswordAge,
];

/// The login profile's columns: every action accepts them (an exported file carries them into
/// reads and enforce-mfa); only an update of the row's own values sends them.
const STATE: &[Column] = &[
    Column::State(Field::LoginStatus),
    Column::State(Field::MfaBindRequired),
    Column::State(Field::PasswordResetRequired),
    Column::State(Field::MaxPasswordAge),
    Column::State(Field::Email),
];

const UPDATE_COLUMNS: &[Column] = &[
    Column::Password,
    Column::GeneratePassword,
    Column::State(Field::LoginStatus),
    Column::State(Field::MfaBindRequired),
    Column::State(Field::PasswordResetRequired),
    Column::State(Field::MaxPasswordAge),
    Column::State(Field::Email),
];

pub(crate) const GET: Step = Step::read("GetLoginProfile");
/// Whether the user has MFA (`IsMFAEnable`), with no device list to read instead.
pub(crate) const MFA_INFO: Step = Step::read("GetUserMFAInfo");
/// A user without a login profile gets one: nothing to be absent.
pub(crate) const UPDATE: Step = Step::update("UpdateLoginProfile").absent(Absent::Sets);

/// The login profile: every action works on it.
const PROFILE: Object = Object {
    name: "login profile",
    reads: READABLE,
    read: &[GET],
};

/// What the user actions read: the user (`Status` read as whether it is frozen), its console
/// login and its membership of the row's groups; every field a ucloud read returns.
/// `PasswordResetRequired` is not readable.
const USER_READS: &[Field] = &[
    Field::DisplayName,
    Field::Email,
    Field::UserEnabled,
    Field::LoginStatus,
    Field::MfaBindRequired,
    Field::MaxPasswordAge,
    Field::Groups,
];

/// The columns of a user: its fields, groups and console login. UCloud users have no mobile phone
/// and no comments: those columns are invalid on ucloud rows.
const USER_STATE: &[Column] = &[
    Column::State(Field::DisplayName),
    Column::State(Field::Email),
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
    Column::State(Field::Groups),
    Column::State(Field::LoginStatus),
    Column::State(Field::MfaBindRequired),
    Column::State(Field::PasswordResetRequired),
];

const GROUPS: &[Column] = &[Column::State(Field::Groups)];

/// What `CreateUser` sends besides the name and the password; its login is `Active` unless the
/// row says otherwise.
const CREATE_FIELDS: &[Field] = &[
    Field::DisplayName,
    Field::Email,
    Field::LoginStatus,
    Field::MfaBindRequired,
    Field::PasswordResetRequired,
];

pub(crate) const GET_USER: Step = Step::read("GetUser").on(Part::User);
/// A new display name: UpdateUser has no email (the login's update sets it).
pub(crate) const UPDATE_USER: Step = Step::update("UpdateUser")
    .on(Part::User)
    .sends(&[Field::DisplayName])
    .password(Password::Never);
/// Freezes (`Frozen`) or unfreezes (`Active`) the user: disable-user and enable-user.
pub(crate) const SET_STATUS: Step = UPDATE_USER.sends(&[Field::UserEnabled]);
/// The user with its console login and an inactive API key, in one request. A user that already
/// exists is ours only if it is newer than our first attempt.
pub(crate) const CREATE_USER: Step = Step::create("CreateUser", &UPDATE_USER)
    .on(Part::User)
    .sends(CREATE_FIELDS)
    .exists(Exists::OursIfNewer { read: &GET_USER });
pub(crate) const DELETE_USER: Step = Step::delete("DeleteUser").on(Part::User);
/// The login of an existing user: what differs, its email included (`UserEmail`).
pub(crate) const UPDATE_LOGIN: Step = UPDATE.sends(&[
    Field::LoginStatus,
    Field::MfaBindRequired,
    Field::PasswordResetRequired,
    Field::Email,
]);
/// A group's members, read once per group for the whole account: UCloud has no listing of one
/// user's groups.
/// Every group of the account (no parameters).
pub(crate) const LIST_GROUPS: Step = Step::read("ListGroups").on(Part::Groups);
pub(crate) const LIST_MEMBERS: Step = Step::read("ListUsersForGroup")
    .on(Part::Groups)
    .each(Each::Group);
pub(crate) const ADD_TO_GROUP: Step = Step::create("AddUserToGroup", &UPDATE_USER)
    .on(Part::Groups)
    .each(Each::Group)
    .when(When::Absent)
    .exists(Exists::Holds)
    .password(Password::Never);
pub(crate) const REMOVE_FROM_GROUP: Step = Step::delete("RemoveUserFromGroup")
    .on(Part::Groups)
    .each(Each::Group);

/// The user, its console login and its groups.
const USER: Object = Object {
    name: "user",
    reads: USER_READS,
    read: &[GET_USER, GET, LIST_MEMBERS],
};

/// disable-user: the user frozen.
const FROZEN: LoginState = LoginState {
    user_enabled: Some(false),
    ..LoginState::NONE
};

/// enable-user: the user unfrozen.
const UNFROZEN: LoginState = LoginState {
    user_enabled: Some(true),
    ..LoginState::NONE
};

const ACTIONS: &[ActionSpec] = &[
    PROFILE.action(Action::UpdateLoginProfile, UPDATE_COLUMNS, &[UPDATE]),
    PROFILE.action(Action::GetLoginProfile, STATE, &[GET]),
    PROFILE
        .action(Action::EnforceMfa, STATE, &[UPDATE])
        .setting(Desired::Mfa),
    USER.action(Action::CreateUser, USER_WRITE, &[CREATE_USER, ADD_TO_GROUP]),
    USER.action(
        Action::EnsureUser,
        USER_WRITE,
        &[
            GET_USER,
            CREATE_USER.when(When::Absent),
            UPDATE_USER.when(When::Differs),
            GET,
            UPDATE_LOGIN.when(When::Differs),
            LIST_MEMBERS,
            ADD_TO_GROUP,
        ],
    ),
    USER.action(
        Action::AddToGroup,
        GROUPS,
        &[ADD_TO_GROUP.when(When::Always)],
    ),
    USER.action(Action::RemoveFromGroup, GROUPS, &[REMOVE_FROM_GROUP]),
    USER.action(Action::DisableUser, USER_STATE, &[SET_STATUS])
        .setting(Desired::Fixed(&FROZEN)),
    USER.action(Action::EnableUser, USER_STATE, &[SET_STATUS])
        .setting(Desired::Fixed(&UNFROZEN)),
    USER.action(Action::DeleteUser, USER_STATE, &[DELETE_USER]),
    USER.action(Action::GetUser, USER_STATE, &[GET_USER, GET, LIST_MEMBERS]),
];

const SPEC: ProviderSpec = ProviderSpec {
    kind: ProviderKind::Ucloud,
    actions: ACTIONS,
    readable: USER_READS,
    extra_observed: &[],
    // `GenerateRandomPassword=true`: UCloud makes up the password.
    generates_passwords: true,
    // Every column UpdateLoginProfile sets: `email` comes from ListUsers, the others from one
    // GetLoginProfile per user, which does not return `password_reset_required` (left empty).
    listing: Listing {
        fields: &[
            Field::LoginStatus,
            Field::MfaBindRequired,
            Field::PasswordResetRequired,
            Field::MaxPasswordAge,
            Field::Email,
        ],
        info: classify::INFO_COLUMNS,
        user_name: false,
        bulk_state: false,
        read: &GET,
        mfa: Some(MfaSource {
            list: false,
            read: Some(&MFA_INFO),
            row_read: &MFA_INFO,
            types: false,
        }),
    },
    // UCloud has one API endpoint for every region.
    endpoint: "https://api.ucloud.cn",
    // UCloud publishes no limit; this stays well clear of throttling (RetCode 153).
    default_rate: 10.0,
    env_keys: &[
        ("public_key", &["UCLOUD_PUBLIC_KEY"]),
        ("private_key", &["UCLOUD_PRIVATE_KEY"]),
    ],
    secret_keys: &["private_key"],
    emulator_keys: &[
        ("public_key", "emulator-ucloud-public"),
        ("private_key", "emulator-ucloud-private"),
    ],
    cli_profile: Some(cli_config::read),
    recycle_bin: None,
    lookups: Lookups {
        groups: Some(&LIST_GROUPS),
        ..Lookups::NONE
    },
};

impl Provider for Ucloud {
    fn spec(&self) -> &'static ProviderSpec {
        &SPEC
    }

    /// A user is created with an inactive API key, and UCloud refuses a user whose key and login
    /// are both inactive.
    fn check_row(&self, job: &Job) -> Vec<ColumnProblem> {
        let inactive = job.desired.login_status == Some(LoginStatus::Inactive);
        match (job.action, inactive) {
            // ensure-user creates a missing user the same way.
            (Action::CreateUser | Action::EnsureUser, true) => vec![ColumnProblem {
                column: Column::State(Field::LoginStatus),
                message: "ucloud creates users with an inactive API key, and refuses a user whose key and console login are both inactive: leave login_status empty or Active, then disable the login with update-login-profile".into(),
            }],
            _ => Vec::new(),
        }
    }

    fn mfa_state(&self, _job: &Job) -> LoginState {
        LoginState::mfa_bind_required()
    }

    fn connect(&self, account: &AccountSpec<'_>) -> Result<Arc<dyn Api>, ConnectError> {
        let key = |name: &str, env: &str, config: &str| {
            account.keys.get(name).ok_or_else(|| ConnectError::Missing {
                account: account.name.to_string(),
                key: name.to_string(),
                hint: format!(
                    "set {env}, or {config} in the account's config, \
                     or use a profile of ~/.ucloud/credential.json"
                ),
            })
        };
        let public_key = key(
            "public_key",
            "UCLOUD_PUBLIC_KEY",
            "public_key (or public_key_env / public_key_file)",
        )?;
        // A secret: never inline in the config file.
        let private_key = key(
            "private_key",
            "UCLOUD_PRIVATE_KEY",
            "private_key_env or private_key_file",
        )?;
        let mut url = account.endpoint.clone();
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(Arc::new(UcloudApi {
            url: url.to_string(),
            public_key: public_key.expose().to_string(),
            private_key: private_key.clone(),
            security_token: account.keys.get("security_token").cloned(),
        }))
    }

    fn sts_endpoint(&self) -> Option<&'static str> {
        Some(SPEC.endpoint)
    }

    fn assumes(&self, assume: &Assume) -> bool {
        matches!(assume, Assume::Role { .. })
    }
}

/// One UCloud account.
struct UcloudApi {
    /// The endpoint with a trailing `/`: every request is a POST to it.
    url: String,
    public_key: String,
    private_key: Secret,
    /// The STS token of temporary keys, sent (and signed) as `SecurityToken`.
    security_token: Option<Secret>,
}

impl UcloudApi {
    /// Every parameter of `op`, `Signature` included, sorted by key as the Go SDK's form encoder
    /// sends them.
    fn signed_params(&self, op: &Op<'_>) -> Vec<(String, String)> {
        let (action, params) = request::params(op);
        self.sign(action, params)
    }

    /// `params` with `Action`, the key (and token) and `Signature`, sorted by key.
    fn sign(&self, action: &str, mut params: Vec<(String, String)>) -> Vec<(String, String)> {
        params.push(("Action".to_string(), action.to_string()));
        params.push(("PublicKey".to_string(), self.public_key.clone()));
        if let Some(token) = &self.security_token {
            params.push(("SecurityToken".to_string(), token.expose().to_string()));
        }
        let signature = sign::sign(&params, self.private_key.expose());
        params.push(("Signature".to_string(), signature));
        params.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        params
    }

    /// The POST of signed `params` to `url`.
    fn post(url: &str, params: Vec<(String, String)>) -> HttpRequest {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        HttpRequest {
            method: reqwest::Method::POST,
            url: url.to_string(),
            headers: vec![(
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            )],
            body: body.into_bytes(),
        }
    }
}

impl Api for UcloudApi {
    /// UCloud signatures take no time, nonce or token: `stamp` and `token` are unused.
    fn build(&self, op: &Op<'_>, _stamp: &Stamp, _token: Option<&Secret>) -> HttpRequest {
        UcloudApi::post(&self.url, self.signed_params(op))
    }

    fn classify(&self, op: &Op<'_>, reply: &Reply) -> Classified {
        classify::classify(op, reply)
    }

    fn assume_request(
        &self,
        request: &AssumeRequest<'_>,
        _stamp: &Stamp,
        _token: Option<&Secret>,
    ) -> Option<HttpRequest> {
        let params = sts::params(request)?;
        Some(UcloudApi::post(
            request.endpoint.as_str(),
            self.sign("AssumeRole", params),
        ))
    }

    fn read_assumed(
        &self,
        _request: &AssumeRequest<'_>,
        reply: &Reply,
    ) -> Result<Temporary, Failure> {
        sts::read_assumed(reply)
    }
}

#[cfg(test)]
mod tests;
