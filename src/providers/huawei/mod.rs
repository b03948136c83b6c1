//! Huawei Cloud IAM login protection (docs/providers.md §3): `GET`/`PUT
//! /v3.0/OS-USER/users/{user_id}/login-protect`, user names resolved with `GET /v3/users?name=`.
//!
//! Accounts authenticate with an AK/SK signature (`sign`), an IAM user's password exchanged for a
//! token (`token`), or a ready token (`auth`). The global endpoint serves every region; the Kuala
//! Lumpur cloud is run separately, has no default endpoint and accepts tokens only: its account must
//! set `endpoint` (checked by the accounts layer) and `user_name`, `password`, `domain_name`.

mod agency;
mod api;
mod auth;
mod classify;
mod cli_config;
mod ops;
mod organizations;
#[cfg(test)]
mod rows;
pub mod sign;
mod token;

use crate::input::Column;
use crate::jobs::{Action, Field, Job, LoginState, ProviderKind, VerificationMethod};
use crate::providers::{
    Absent, AccountSpec, ActionSpec, Api, Assume, ColumnProblem, ConnectError, Desired, Each,
    Exists, Listing, Lookups, MfaSource, Object, Part, Password, Provider, ProviderSpec, Step,
    USER_ID, When,
};
use std::sync::Arc;

pub struct Huawei;

/// A Huawei user id: 32 hex characters. Anything else in `user` is a name to resolve.
fn is_user_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Login protection's fields: what a GET returns and a PUT sets.
const READABLE: &[Field] = &[Field::LoginProtectEnabled, Field::VerificationMethod];

/// A user is named by its id in `user`, or by a name (in `user` or `user_name`) resolved first.
const COLUMNS: &[Column] = &[
    Column::UserName,
    Column::State(Field::LoginProtectEnabled),
    Column::State(Field::VerificationMethod),
];

// Steps are named by the SDK's operation names (the `steps` column reads them); `ops` maps each
// to its method and path.
pub(crate) const GET: Step = Step::read("ShowUserLoginProtect");
/// Every bound virtual MFA device of the account, in one page.
pub(crate) const MFA_LIST: Step = Step::read("ListUserMfaDevices");
/// A PUT sets the whole configuration, whether or not one was ever set.
pub(crate) const PUT: Step = Step::update("UpdateLoginProtect").absent(Absent::Sets);

/// Login protection: every action works on it.
const PROTECTION: Object = Object {
    name: "login protection",
    reads: READABLE,
    read: &[GET],
};

/// The user's own fields: what ShowUser returns and CreateUser and UpdateUser set.
const USER_FIELDS: &[Field] = &[
    Field::Email,
    Field::MobilePhone,
    Field::Comments,
    Field::PasswordResetRequired,
];

/// What the user actions compare: the user, its login protection (huawei's MFA requirement) and
/// its groups.
const USER_READS: &[Field] = &[
    Field::Email,
    Field::MobilePhone,
    Field::Comments,
    Field::PasswordResetRequired,
    Field::UserEnabled,
    Field::LoginProtectEnabled,
    Field::VerificationMethod,
    Field::Groups,
];

/// The columns of a user: its fields, groups and login protection. `mfa_bind_required` is login
/// protection ([`Provider::user_state`]); huawei users have no display name.
const USER_STATE: &[Column] = &[
    Column::UserName,
    Column::State(Field::Email),
    Column::State(Field::MobilePhone),
    Column::State(Field::Comments),
    Column::State(Field::Groups),
    Column::State(Field::PasswordResetRequired),
    Column::State(Field::MfaBindRequired),
    Column::State(Field::LoginProtectEnabled),
    Column::State(Field::VerificationMethod),
];

/// What creating or ensuring a user takes: its columns and a password.
const USER_WRITE: &[Column] = &[
    Column::UserName,
    Column::Password,
    Column::GeneratePassword,
    Column::State(Field::Email),
    Column::State(Field::MobilePhone),
    Column::State(Field::Comments),
    Column::State(Field::Groups),
    Column::State(Field::PasswordResetRequired),
    Column::State(Field::MfaBindRequired),
    Column::State(Field::LoginProtectEnabled),
    Column::State(Field::VerificationMethod),
];

const GROUPS: &[Column] = &[Column::UserName, Column::State(Field::Groups)];

pub(crate) const SHOW_USER: Step = Step::read("ShowUser").on(Part::User);
/// The users of a name, with their ids: how a create whose reply was lost finds the user it may
/// have made (the create named no id).
pub(crate) const FIND_USER: Step = Step::read("KeystoneListUsers").on(Part::User);
/// Sets the differing fields; the password only with `--reset-passwords`.
pub(crate) const UPDATE_USER: Step = Step::update("UpdateUser").on(Part::User).sends(USER_FIELDS);
/// A console user (`access_mode=console`) with the row's password. A user that already exists is
/// ours only if it is newer than our first attempt.
pub(crate) const CREATE_USER: Step = Step::create("CreateUser", &UPDATE_USER)
    .on(Part::User)
    .sends(USER_FIELDS)
    .exists(Exists::OursIfNewer { read: &FIND_USER });
/// disable-user and enable-user: the whole user, `enabled`.
pub(crate) const SET_ENABLED: Step = Step::update("UpdateUser")
    .on(Part::User)
    .sends(&[Field::UserEnabled])
    .password(Password::Never);
pub(crate) const DELETE_USER: Step = Step::delete("KeystoneDeleteUser").on(Part::User);
/// Login protection as the user actions read it: a user never configured has it off, a setting
/// like any other (`PROTECTION`'s read says it was never set).
pub(crate) const SHOW_PROTECT: Step = GET.on(Part::Mfa);
/// Sent only when the row says something about MFA.
pub(crate) const PUT_PROTECT: Step = PUT.on(Part::Mfa).sends(READABLE).password(Password::Never);
/// The groups of one name: the account-wide lookup of a group's id.
pub(crate) const GROUP_BY_NAME: Step = Step::read("KeystoneListGroups");
pub(crate) const LIST_GROUPS: Step = Step::read("KeystoneListGroupsForUser").on(Part::Groups);
pub(crate) const ADD_TO_GROUP: Step = Step::create("KeystoneAddUserToGroup", &UPDATE_USER)
    .on(Part::Groups)
    .each(Each::Group)
    .when(When::Absent)
    .exists(Exists::Holds)
    .password(Password::Never);
pub(crate) const REMOVE_FROM_GROUP: Step = Step::delete("KeystoneRemoveUserFromGroup")
    .on(Part::Groups)
    .each(Each::Group);

/// The user, its login protection and its groups.
const USER: Object = Object {
    name: "user",
    reads: USER_READS,
    read: &[SHOW_USER, SHOW_PROTECT, LIST_GROUPS],
};

/// disable-user: the user cannot sign in or call APIs.
const DISABLED: LoginState = LoginState {
    user_enabled: Some(false),
    ..LoginState::NONE
};

/// enable-user.
const ENABLED: LoginState = LoginState {
    user_enabled: Some(true),
    ..LoginState::NONE
};

pub(crate) const ACTIONS: &[ActionSpec] = &[
    PROTECTION.action(Action::SetLoginProtect, COLUMNS, &[PUT]),
    PROTECTION.action(Action::GetLoginProtect, COLUMNS, &[GET]),
    PROTECTION
        .action(Action::EnforceMfa, COLUMNS, &[PUT])
        .setting(Desired::Mfa),
    USER.action(
        Action::CreateUser,
        USER_WRITE,
        &[CREATE_USER, ADD_TO_GROUP, PUT_PROTECT],
    )
    .setting(Desired::Provider),
    USER.action(
        Action::EnsureUser,
        USER_WRITE,
        // In create-user's order: the user, its groups, its protection.
        &[
            SHOW_USER,
            CREATE_USER.when(When::Absent),
            UPDATE_USER.when(When::Differs),
            LIST_GROUPS,
            ADD_TO_GROUP,
            SHOW_PROTECT,
            PUT_PROTECT.when(When::Absent),
            PUT_PROTECT.when(When::Differs),
        ],
    )
    .setting(Desired::Provider),
    USER.action(
        Action::AddToGroup,
        GROUPS,
        &[ADD_TO_GROUP.when(When::Always)],
    ),
    USER.action(Action::RemoveFromGroup, GROUPS, &[REMOVE_FROM_GROUP]),
    USER.action(Action::DisableUser, USER_STATE, &[SET_ENABLED])
        .setting(Desired::Fixed(&DISABLED)),
    USER.action(Action::EnableUser, USER_STATE, &[SET_ENABLED])
        .setting(Desired::Fixed(&ENABLED)),
    USER.action(Action::DeleteUser, USER_STATE, &[DELETE_USER]),
    USER.action(
        Action::GetUser,
        USER_STATE,
        &[SHOW_USER, SHOW_PROTECT, LIST_GROUPS],
    )
    .setting(Desired::Provider),
];

const SPEC: ProviderSpec = ProviderSpec {
    kind: ProviderKind::Huawei,
    actions: ACTIONS,
    readable: USER_READS,
    extra_observed: &[USER_ID],
    generates_passwords: false,
    // The id in `user`, the name beside it; GET /v3/users lists users without login state, and
    // GET /v3.0/OS-USER/login-protects gives every user's at once.
    listing: Listing {
        fields: READABLE,
        info: &[],
        user_name: true,
        bulk_state: true,
        read: &GET,
        // Security keys are not listed: a user the list leaves out has no virtual device.
        mfa: Some(MfaSource {
            list: true,
            read: None,
            row_read: &MFA_LIST,
            types: false,
        }),
    },
    // The global endpoint; a region has its own (`default_endpoint`).
    endpoint: "https://iam.myhuaweicloud.com",
    default_rate: 10.0,
    env_keys: &[
        ("ak", &["HUAWEICLOUD_SDK_AK"]),
        ("sk", &["HUAWEICLOUD_SDK_SK"]),
        ("domain_id", &["HUAWEICLOUD_SDK_DOMAIN_ID"]),
        ("security_token", &["HUAWEICLOUD_SDK_SECURITY_TOKEN"]),
        ("user_name", &["HUAWEICLOUD_USER_NAME"]),
        ("password", &["HUAWEICLOUD_PASSWORD"]),
        ("domain_name", &["HUAWEICLOUD_DOMAIN_NAME"]),
        ("token", &["HUAWEICLOUD_AUTH_TOKEN"]),
    ],
    secret_keys: &["sk", "security_token", "password", "token"],
    // AK/SK by default; tests configure `user_name`, `password`, `domain_name` for token mode.
    emulator_keys: &[
        ("ak", "emulator-huawei-ak"),
        ("sk", "emulator-huawei-sk"),
        ("domain_id", "emulator-huawei-domain"),
    ],
    cli_profile: Some(cli_config::read),
    recycle_bin: None,
    lookups: Lookups {
        group_id: Some(&GROUP_BY_NAME),
        ..Lookups::NONE
    },
};

impl Provider for Huawei {
    fn spec(&self) -> &'static ProviderSpec {
        &SPEC
    }

    fn check_row(&self, job: &Job) -> Vec<ColumnProblem> {
        let problem = |column: Column, message: String| ColumnProblem { column, message };
        let mut problems = Vec::new();
        // The input checks already report a row that sets nothing, an enforce-mfa row that turns
        // protection off, and a row without a user.
        if job.action == Action::SetLoginProtect
            && job.desired.login_protect_enabled.is_none()
            && !job.desired.is_empty()
        {
            problems.push(problem(
                Column::State(Field::LoginProtectEnabled),
                "set-login-protect needs login_protect_enabled (true or false): a PUT sets both \
                 fields"
                    .into(),
            ));
        }
        if job.action.is_lifecycle() {
            problems.extend(lifecycle_problems(job));
        }
        let user_name = job.user_name.as_deref().unwrap_or("");
        if !job.user.is_empty()
            && !is_user_id(&job.user)
            && !user_name.is_empty()
            && job.user != user_name
        {
            problems.push(problem(
                Column::UserName,
                format!(
                    "user '{}' is not a user id and differs from user_name '{user_name}': give \
                     the id in user, or one name",
                    job.user
                ),
            ));
        }
        problems
    }

    /// Login protection on, with the row's method or a virtual MFA device.
    fn mfa_state(&self, job: &Job) -> LoginState {
        LoginState {
            login_protect_enabled: Some(true),
            verification_method: Some(
                job.desired
                    .verification_method
                    .unwrap_or(VerificationMethod::Vmfa),
            ),
            ..LoginState::default()
        }
    }

    /// `mfa_bind_required` is login protection, as for enforce-mfa: on with the row's method or
    /// `vmfa`. A method is kept only with protection on: a Differs write of the method alone turns
    /// protection on.
    fn user_state(&self, job: &Job) -> LoginState {
        let mut state = job.desired.clone();
        let enabled = state
            .login_protect_enabled
            .or(state.mfa_bind_required.take());
        state.login_protect_enabled = enabled;
        state.verification_method = match enabled {
            Some(true) => self.mfa_state(job).verification_method,
            _ => None,
        };
        state
    }

    /// None when `user` is already an id, so an exported file (id in `user`, name in `user_name`)
    /// costs no lookup, and for create-user, whose user is new; else `user_name`, else the name in
    /// `user`.
    fn name_to_resolve<'a>(&self, job: &'a Job) -> Option<&'a str> {
        if is_user_id(&job.user) {
            return None;
        }
        job.user_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .or(Some(job.user.as_str()).filter(|u| !u.is_empty()))
    }

    fn default_endpoint(&self, region: Option<&str>) -> Option<String> {
        Some(match region {
            Some(region) => format!("https://iam.{region}.myhuaweicloud.com"),
            None => SPEC.endpoint.to_string(),
        })
    }

    fn assumes(&self, assume: &Assume) -> bool {
        matches!(assume, Assume::Agency { .. })
    }

    fn directory(&self) -> Option<(&'static str, &'static str)> {
        Some((organizations::SERVICE, organizations::ENDPOINT))
    }

    /// The agency `role_name` of the member's account, named by its id.
    fn member_assume(&self, role: &Assume, id: &str) -> Assume {
        match role {
            Assume::Agency {
                agency, duration, ..
            } => Assume::Agency {
                domain_name: None,
                domain_id: Some(id.to_string()),
                agency: agency.clone(),
                duration: *duration,
            },
            other => other.clone(),
        }
    }

    fn connect(&self, account: &AccountSpec<'_>) -> Result<Arc<dyn Api>, ConnectError> {
        // Third-party configs give Keystone's auth_url, which ends in /v3; our paths add their own.
        let path = account.endpoint.path().trim_end_matches('/');
        if path.ends_with("/v3") {
            return Err(ConnectError::Invalid {
                account: account.name.to_string(),
                message: format!(
                    "endpoint '{}' ends in /v3: give the IAM endpoint without it, e.g. https://iam.myhuaweicloud.com",
                    account.endpoint
                ),
            });
        }
        let auth = auth::Auth::from_keys(account.name, account.keys)?;
        let domain_id = account.keys.get("domain_id").map(|id| id.expose());
        Ok(Arc::new(
            api::HuaweiApi::new(account.endpoint, auth).with_domain_id(domain_id),
        ))
    }
}

/// The cells of a user action that go together: `mfa_bind_required` and `login_protect_enabled`
/// both say whether login protection is on, and a method alone says nothing of it.
fn lifecycle_problems(job: &Job) -> Vec<ColumnProblem> {
    let state = &job.desired;
    let mut problems = Vec::new();
    if let (Some(mfa), Some(enabled)) = (state.mfa_bind_required, state.login_protect_enabled)
        && mfa != enabled
    {
        problems.push(ColumnProblem {
            column: Column::State(Field::MfaBindRequired),
            message: format!(
                "mfa_bind_required is login protection on huawei and login_protect_enabled says \
                 {enabled}: make them agree, or fill only one"
            ),
        });
    }
    if state.verification_method.is_some()
        && state.mfa_bind_required.is_none()
        && state.login_protect_enabled.is_none()
    {
        problems.push(ColumnProblem {
            column: Column::State(Field::VerificationMethod),
            message: "verification_method needs mfa_bind_required or login_protect_enabled \
                      (true): login protection is set with both fields"
                .into(),
        });
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{Keys, Op, Stamp};
    use crate::secret::Secret;

    fn job(action: Action, user: &str, user_name: Option<&str>) -> Job {
        Job {
            index: 0,
            line: 2,
            provider: ProviderKind::Huawei,
            account: String::new(),
            action,
            user: user.into(),
            user_name: user_name.map(str::to_string),
            desired: LoginState::default(),
            password: None,
            generate_password: false,
        }
    }

    const ID: &str = "0123456789abcdef0123456789ABCDEF";

    #[test]
    fn resolves_names_but_not_ids() {
        let h = Huawei;
        assert_eq!(
            h.name_to_resolve(&job(Action::GetLoginProtect, ID, None)),
            None
        );
        assert_eq!(
            h.name_to_resolve(&job(Action::GetLoginProtect, ID, Some("alice"))),
            None
        );
        assert_eq!(
            h.name_to_resolve(&job(Action::GetLoginProtect, "alice", None)),
            Some("alice")
        );
        assert_eq!(
            h.name_to_resolve(&job(Action::GetLoginProtect, "", Some("bob"))),
            Some("bob")
        );
        // 31 hex characters is a name.
        assert_eq!(
            h.name_to_resolve(&job(Action::GetLoginProtect, &ID[1..], None)),
            Some(&ID[1..])
        );
        assert_eq!(
            h.name_to_resolve(&job(Action::GetLoginProtect, "", None)),
            None
        );
    }

    fn columns(problems: Vec<ColumnProblem>) -> Vec<Column> {
        problems.into_iter().map(|p| p.column).collect()
    }

    #[test]
    fn actions_need_their_columns() {
        let mut j = job(Action::SetLoginProtect, ID, None);
        j.desired.verification_method = Some(VerificationMethod::Sms);
        assert_eq!(
            columns(Huawei.check_row(&j)),
            vec![Column::State(Field::LoginProtectEnabled)]
        );
        // A row that sets nothing is the input checks' "nothing to change", not reported twice.
        let j = job(Action::SetLoginProtect, ID, None);
        assert!(Huawei.check_row(&j).is_empty());
        assert!(
            Huawei
                .check_row(&job(Action::EnforceMfa, ID, None))
                .is_empty()
        );
        assert_eq!(
            columns(Huawei.check_row(&job(Action::GetLoginProtect, "alice", Some("bob")))),
            vec![Column::UserName]
        );
        assert!(
            Huawei
                .check_row(&job(Action::GetLoginProtect, "alice", Some("alice")))
                .is_empty()
        );
    }

    #[test]
    fn enforce_mfa_keeps_the_rows_method_or_uses_vmfa() {
        let mut j = job(Action::EnforceMfa, ID, None);
        let want = |m| LoginState {
            login_protect_enabled: Some(true),
            verification_method: Some(m),
            ..Default::default()
        };
        assert_eq!(Huawei.mfa_state(&j), want(VerificationMethod::Vmfa));
        j.desired.verification_method = Some(VerificationMethod::Sms);
        assert_eq!(Huawei.mfa_state(&j), want(VerificationMethod::Sms));
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            Huawei.default_endpoint(None).as_deref(),
            Some("https://iam.myhuaweicloud.com")
        );
        assert_eq!(
            Huawei.default_endpoint(Some("ap-southeast-1")).as_deref(),
            Some("https://iam.ap-southeast-1.myhuaweicloud.com")
        );
    }

    #[test]
    fn every_key_has_an_environment_variable_and_secrets_are_marked() {
        let names: Vec<&str> = Huawei.spec().env_keys.iter().map(|(k, _)| *k).collect();
        for secret in Huawei.spec().secret_keys {
            assert!(names.contains(secret), "{secret}");
        }
        assert!(!Huawei.spec().secret_keys.contains(&"ak"));
    }

    fn connect(endpoint: &str, keys: &[(&str, &str)]) -> Result<Arc<dyn Api>, ConnectError> {
        let mut k = Keys::default();
        for (name, value) in keys {
            k.insert(name, Secret::new(*value));
        }
        Huawei.connect(&AccountSpec {
            name: "kl",
            endpoint: &endpoint.parse().unwrap(),
            keys: &k,
            services: &Default::default(),
        })
    }

    #[test]
    fn connect_picks_the_mode_from_the_keys() {
        let aksk = connect("https://iam.myhuaweicloud.com", Huawei.spec().emulator_keys).unwrap();
        assert!(!aksk.uses_tokens() && aksk.token_request(&Stamp::now()).is_none());
        let req = aksk.build(
            &Op::Step {
                target: None,
                step: &GET,
                user: ID,
                write: None,
            },
            &Stamp::now(),
            None,
        );
        assert!(req.headers.iter().any(|(k, _)| k == "Authorization"));
        let password = connect(
            "https://iam.example-kl-endpoint",
            &[
                ("user_name", "ops"),
                ("password", "pw"),
                ("domain_name", "corp"),
            ],
        )
        .unwrap();
        assert!(password.uses_tokens() && password.token_request(&Stamp::now()).is_some());
        let err = connect("https://iam.myhuaweicloud.com", &[]).err().unwrap();
        assert!(matches!(err, ConnectError::Missing { ref key, .. } if key == "ak"));
        assert!(err.to_string().contains("HUAWEICLOUD_AUTH_TOKEN"));
    }

    #[test]
    fn a_keystone_auth_url_is_refused() {
        let err = connect(
            "https://iam.my-kualalumpur-1.alphaedge.tmone.com.my/v3/",
            &[("token", "t")],
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("ends in /v3"), "{err}");
    }

    #[test]
    fn on_user_rows_mfa_bind_required_is_login_protection() {
        let mut j = job(Action::CreateUser, "alice", None);
        j.desired.mfa_bind_required = Some(true);
        let state = Huawei.user_state(&j);
        assert_eq!(
            (
                state.mfa_bind_required,
                state.login_protect_enabled,
                state.verification_method
            ),
            (None, Some(true), Some(VerificationMethod::Vmfa))
        );
        j.desired.verification_method = Some(VerificationMethod::Email);
        assert_eq!(
            Huawei.user_state(&j).verification_method,
            Some(VerificationMethod::Email)
        );
        // Off: the method is not sent, so a write of it alone cannot turn protection on.
        j.desired.mfa_bind_required = Some(false);
        let state = Huawei.user_state(&j);
        assert_eq!(
            (state.login_protect_enabled, state.verification_method),
            (Some(false), None)
        );
        // Nothing about MFA: nothing set.
        let j = job(Action::EnsureUser, "alice", None);
        assert_eq!(Huawei.user_state(&j), LoginState::default());
    }

    #[test]
    fn user_rows_need_cells_that_agree() {
        let mut j = job(Action::EnsureUser, "alice", None);
        j.desired.mfa_bind_required = Some(true);
        j.desired.login_protect_enabled = Some(false);
        assert_eq!(
            columns(Huawei.check_row(&j)),
            vec![Column::State(Field::MfaBindRequired)]
        );
        j.desired.login_protect_enabled = Some(true);
        assert!(Huawei.check_row(&j).is_empty());
        let mut j = job(Action::CreateUser, "alice", None);
        j.desired.verification_method = Some(VerificationMethod::Sms);
        assert_eq!(
            columns(Huawei.check_row(&j)),
            vec![Column::State(Field::VerificationMethod)]
        );
        // create-user names the new user in `user` or `user_name` (plan and verify look it up;
        // a run's create names it).
        let j = job(Action::CreateUser, "", Some("alice"));
        assert!(Huawei.check_row(&j).is_empty());
        assert_eq!(
            Huawei.name_to_resolve(&job(Action::CreateUser, "alice", None)),
            Some("alice")
        );
        assert_eq!(
            Huawei.name_to_resolve(&job(Action::EnsureUser, "alice", None)),
            Some("alice")
        );
        // Huawei users have no display name.
        let create = Huawei.spec().action(Action::CreateUser).unwrap();
        assert!(!create.accepts(Column::State(Field::DisplayName)));
        assert!(create.accepts(Column::State(Field::MfaBindRequired)));
    }
}
