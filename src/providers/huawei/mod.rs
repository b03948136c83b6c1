//! Huawei Cloud IAM login protection (docs/providers.md §3): `GET`/`PUT
//! /v3.0/OS-USER/users/{user_id}/login-protect`, user names resolved with `GET /v3/users?name=`.
//!
//! Accounts authenticate with an AK/SK signature (`sign`), an IAM user's password exchanged for a
//! token (`token`), or a ready token (`auth`). The global endpoint serves every region; the Kuala
//! Lumpur cloud is run separately, has no default endpoint and accepts tokens only: its account must
//! set `endpoint` (checked by the accounts layer) and `user_name`, `password`, `domain_name`.

mod api;
mod auth;
mod classify;
mod cli_config;
mod ops;
pub mod sign;
mod token;

use crate::input::Column;
use crate::jobs::{Action, Field, Job, LoginState, ProviderKind, VerificationMethod};
use crate::providers::{
    Absent, AccountSpec, ActionSpec, Api, ColumnProblem, ConnectError, Desired, Listing, Lookups,
    MfaSource, Object, Provider, ProviderSpec, Step,
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

/// Steps name their method and path: `ops` builds the request from them.
pub(crate) const GET: Step = Step::read("GET /v3.0/OS-USER/users/{user_id}/login-protect");
/// Every bound virtual MFA device of the account, in one page.
pub(crate) const MFA_LIST: Step = Step::read("GET /v3.0/OS-MFA/virtual-mfa-devices");
/// A PUT sets the whole configuration, whether or not one was ever set.
pub(crate) const PUT: Step =
    Step::update("PUT /v3.0/OS-USER/users/{user_id}/login-protect").absent(Absent::Sets);

/// Login protection: every action works on it.
const PROTECTION: Object = Object {
    name: "login protection",
    reads: READABLE,
    read: &[GET],
};

pub(crate) const ACTIONS: &[ActionSpec] = &[
    PROTECTION.action(Action::SetLoginProtect, COLUMNS, &[PUT]),
    PROTECTION.action(Action::GetLoginProtect, COLUMNS, &[GET]),
    PROTECTION
        .action(Action::EnforceMfa, COLUMNS, &[PUT])
        .setting(Desired::Mfa),
];

const SPEC: ProviderSpec = ProviderSpec {
    kind: ProviderKind::Huawei,
    actions: ACTIONS,
    readable: READABLE,
    extra_observed: &["user_id"],
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
    lookups: Lookups::NONE,
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

    /// None when `user` is already an id, so an exported file (id in `user`, name in `user_name`)
    /// costs no lookup; else `user_name`, else the name in `user`.
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
        Ok(Arc::new(api::HuaweiApi::new(account.endpoint, auth)))
    }
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
}
