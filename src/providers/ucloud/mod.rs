//! UCloud IAM (docs/providers.md §1): `UpdateLoginProfile` writes, `GetLoginProfile` reads, both keyed by
//! `UserName` and signed with the account's public/private key pair (`sign`). Requests go the Go
//! SDK's way: `POST {endpoint}/` with every parameter, `Signature` included, in a form body, so a
//! password never appears in a URL. No `ProjectId`/`Region` is sent (IAM lists none) and `Password`
//! is sent plain (the `base64` encoding docs/providers.md mentions as a CONFIG is not offered).

mod classify;
mod cli_config;
pub mod sign;

use crate::input::Column;
use crate::jobs::{Action, Field, Job, LoginState, ProviderKind};
use crate::providers::{
    Absent, AccountSpec, ActionSpec, Api, Classified, ConnectError, Desired, HttpRequest, Listing,
    Lookups, MfaSource, Object, Op, Provider, ProviderSpec, Reply, Stamp, Step, Write,
};
use crate::secret::Secret;
use std::sync::Arc;

pub struct Ucloud;

/// The state columns `UpdateLoginProfile` sets, with their parameter names. Values are the columns'
/// CSV forms (`Active`, `true`, `90`), which are also UCloud's.
const WRITABLE: [(Field, &str); 5] = [
    (Field::LoginStatus, "Status"),
    (Field::Email, "UserEmail"),
    (Field::MaxPasswordAge, "MaxPasswordAge"),
    (Field::MfaBindRequired, "MFABindRequired"),
    (Field::PasswordResetRequired, "PasswordResetRequired"),
];

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

const ACTIONS: &[ActionSpec] = &[
    PROFILE.action(Action::UpdateLoginProfile, UPDATE_COLUMNS, &[UPDATE]),
    PROFILE.action(Action::GetLoginProfile, STATE, &[GET]),
    PROFILE
        .action(Action::EnforceMfa, STATE, &[UPDATE])
        .setting(Desired::Mfa),
];

const SPEC: ProviderSpec = ProviderSpec {
    kind: ProviderKind::Ucloud,
    actions: ACTIONS,
    readable: READABLE,
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
    lookups: Lookups::NONE,
};

impl Provider for Ucloud {
    fn spec(&self) -> &'static ProviderSpec {
        &SPEC
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
        }))
    }
}

/// One UCloud account.
struct UcloudApi {
    /// The endpoint with a trailing `/`: every request is a POST to it.
    url: String,
    public_key: String,
    private_key: Secret,
}

impl UcloudApi {
    /// Every parameter of `op`, `Signature` included, sorted by key as the Go SDK's form encoder
    /// sends them.
    fn signed_params(&self, op: &Op<'_>) -> Vec<(String, String)> {
        let (action, mut params) = match op {
            // A step's API name is its UCloud action.
            Op::Step {
                step, user, write, ..
            } => (
                step.api,
                match write {
                    Some(write) => update_params(user, write),
                    None => vec![user_name(user)],
                },
            ),
            // Not a UCloud operation, never asked for by the engine: a read-only request keeps a
            // misrouted op harmless, and `classify` fails it whatever comes back.
            Op::ResolveUser { name } => ("GetLoginProfile", vec![user_name(name)]),
            Op::ListUsers { page } => ("ListUsers", list_params(page.unwrap_or("0"))),
            // Not a UCloud operation either: it lists one user, which changes nothing.
            Op::ReadAll | Op::ListMfaDevices { .. } => ("ListUsers", list_params("0")),
        };
        params.push(("Action".to_string(), action.to_string()));
        params.push(("PublicKey".to_string(), self.public_key.clone()));
        let signature = sign::sign(&params, self.private_key.expose());
        params.push(("Signature".to_string(), signature));
        params.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        params
    }
}

/// ListUsers' page size: the most UCloud returns in one page.
pub const LIST_LIMIT: usize = 100;

/// `Offset` (the page cursor is the offset of its first user) and `Limit`.
fn list_params(offset: &str) -> Vec<(String, String)> {
    vec![
        ("Limit".to_string(), LIST_LIMIT.to_string()),
        ("Offset".to_string(), offset.to_string()),
    ]
}

fn user_name(user: &str) -> (String, String) {
    ("UserName".to_string(), user.to_string())
}

/// `UserName` and only the columns the write sets, each once.
fn update_params(user: &str, write: &Write<'_>) -> Vec<(String, String)> {
    let mut params = vec![user_name(user)];
    params.extend(
        WRITABLE
            .iter()
            .filter_map(|(field, name)| Some((name.to_string(), write.state.get(*field)?))),
    );
    if let Some(password) = write.password {
        params.push(("Password".to_string(), password.expose().to_string()));
    }
    if write.generate_password {
        params.push(("GenerateRandomPassword".to_string(), true.to_string()));
    }
    params
}

impl Api for UcloudApi {
    /// UCloud signatures take no time, nonce or token: `stamp` and `token` are unused.
    fn build(&self, op: &Op<'_>, _stamp: &Stamp, _token: Option<&Secret>) -> HttpRequest {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.signed_params(op))
            .finish();
        HttpRequest {
            method: reqwest::Method::POST,
            url: self.url.clone(),
            headers: vec![(
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            )],
            body: body.into_bytes(),
        }
    }

    fn classify(&self, op: &Op<'_>, reply: &Reply) -> Classified {
        classify::classify(op, reply)
    }
}

#[cfg(test)]
mod tests;
