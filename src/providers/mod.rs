//! The one provider abstraction. A [`Provider`]'s [`ProviderSpec`] declares what a cloud can do
//! (its actions, each with the columns it takes, the fields it reads and its steps: see
//! [`declare`]), its default endpoint and credential names; [`Provider::connect`] gives an account's [`Api`], which turns an
//! [`Op`] into a signed [`HttpRequest`] and classifies the [`Reply`]. The queue, pacer, retry loop,
//! validator and writer never name a provider: adding one means a module here, its emulator, and a
//! variant with its arm in [`registry`].

pub mod aliyun;
pub mod cli_files;
pub mod declare;
pub mod encoding;
pub mod huawei;
mod json;
mod registry;
#[cfg(test)]
pub(crate) mod testing;
pub mod ucloud;

use crate::input::Column;
use crate::jobs::{Field, Job, LoginState};
use crate::secret::Secret;
pub use declare::{
    Absent, ActionSpec, CliReader, Desired, Each, Effect, Exists, Lookups, Object, Part, Password,
    ProviderSpec, Step, When,
};
pub use registry::{ProviderKind, provider};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// The time and nonce of one attempt. Signing takes them as arguments and never reads the clock.
#[derive(Clone, Debug)]
pub struct Stamp {
    pub time: OffsetDateTime,
    pub nonce: String,
}

impl Stamp {
    /// A fresh stamp: now, and a random v4 UUID.
    pub fn now() -> Stamp {
        Stamp {
            time: OffsetDateTime::now_utc(),
            // From the thread's CSPRNG: `new_v4` asks the kernel for every nonce.
            nonce: uuid::Builder::from_random_bytes(rand::random())
                .into_uuid()
                .to_string(),
        }
    }
}

/// One provider operation.
#[derive(Clone, Copy, Debug)]
pub enum Op<'a> {
    /// One step of an action, as the provider declared it, for one user. `write` carries what
    /// a create or update sends.
    Step {
        step: &'static Step,
        user: &'a str,
        /// What a step sent once per group or per listed item names: the group (its name, or its
        /// id where the provider's [`Lookups::group_id`] says so), the access key id.
        target: Option<&'a str>,
        write: Option<Write<'a>>,
    },
    /// Resolve a user name to the provider's user id.
    ResolveUser { name: &'a str },
    /// One page of the account's users: the first (`None`), or the one a [`UserPage::next`] names.
    ListUsers { page: Option<&'a str> },
    /// The login state of every user at once, for providers whose [`Listing::bulk_state`] is set.
    ReadAll,
    /// One page of the account's bound MFA devices, for providers whose [`MfaSource::list`] is
    /// set: the first (`None`), or the one a [`MfaPage::next`] names.
    ListMfaDevices { page: Option<&'a str> },
}

impl Op<'_> {
    /// Whether the operation changes state (so a lost reply leaves its outcome unknown).
    pub fn is_write(&self) -> bool {
        matches!(self, Op::Step { step, .. } if step.effect.is_write())
    }
}

/// What a create or update sends.
#[derive(Clone, Copy, Debug)]
pub struct Write<'a> {
    pub state: &'a LoginState,
    pub password: Option<&'a Secret>,
    /// Ask the provider to make up the password (for providers whose
    /// [`ProviderSpec::generates_passwords`]).
    pub generate_password: bool,
}

/// A signed request, ready to send. Its URL and headers may carry signatures: never log them.
pub struct HttpRequest {
    pub method: reqwest::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A reply, read.
#[derive(Debug, PartialEq)]
pub struct Classified {
    pub request_id: Option<String>,
    pub verdict: Verdict,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// A write took effect.
    Done,
    /// A read's answer; for a delete, "already absent" (`exists: false`).
    Observed(Observed),
    /// A name resolved to this user id.
    UserId(String),
    /// A page of the account's users.
    Users(UserPage),
    /// The login state of every user.
    States(StateList),
    /// Bound MFA devices: a page of the account's, or one user's.
    MfaDevices(MfaPage),
    /// What a list read found (a user's groups or access keys, a group's members). Providers ask
    /// for pages large enough for one request.
    Listed(Vec<Item>),
    /// The step's object is absent (its user is there): what that means is the step's
    /// [`Absent`]. The failure is the provider's words for it, for rows it fails.
    Absent(Failure),
    Failed(Failure),
}

/// One thing a list read found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Item {
    /// What requests about it name: a group's name or id, an access key's id, a member's user key.
    pub id: String,
    /// Its name, where it differs from the id (a huawei group's name).
    pub name: String,
}

/// One page of a user listing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserPage {
    pub users: Vec<ListedUser>,
    /// The cursor of the next page; `None` on the last one.
    pub next: Option<String>,
}

impl Item {
    /// How messages and the `groups` column name it.
    pub fn name_or_id(&self) -> &str {
        if self.name.is_empty() {
            &self.id
        } else {
            &self.name
        }
    }
}

/// One user as a listing shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListedUser {
    /// What rows put in `user`: aliyun the principal name, ucloud the user name, huawei the id.
    pub user: String,
    /// huawei: the user's name, written as `user_name` beside the id.
    pub user_name: Option<String>,
    /// State columns the list itself carries (ucloud: `email`).
    pub state: LoginState,
    /// Whether the user may sign in to the console, when the list says so (huawei `access_mode`);
    /// `None`: a login profile found by the read says it.
    pub console: Option<bool>,
    /// Informational columns, by name (`display_name`, `create_date`, `last_login_date`).
    pub info: Vec<(&'static str, String)>,
}

/// The extra field of a user's read that carries its id, where requests name users by id.
pub const USER_ID: &str = "user_id";

/// The observed field of rows that ask about MFA (`observed_mfa_bound`).
pub const MFA_BOUND: &str = "mfa_bound";

/// Bound MFA devices, as a list page or one user's read gives them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MfaPage {
    pub devices: Vec<MfaDevice>,
    /// The cursor of the next page; `None` on the last one.
    pub next: Option<String>,
}

impl MfaPage {
    /// What the page says of `user`: a user it does not name has no bound device.
    pub fn binding(&self, user: &str) -> MfaBinding {
        let device = self.devices.iter().find(|d| d.user == user);
        MfaBinding {
            bound: device.is_some(),
            kind: device.and_then(|d| d.kind.clone()),
        }
    }
}

/// One bound MFA device.
#[derive(Clone, Debug, PartialEq)]
pub struct MfaDevice {
    /// The user key of [`ListedUser::user`].
    pub user: String,
    /// The provider's name for the device's type (aliyun `VMFA`, `U2F`), when it says.
    pub kind: Option<String>,
}

/// Whether one user has bound an MFA device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MfaBinding {
    pub bound: bool,
    /// The device's type, when bound and the provider says.
    pub kind: Option<String>,
}

/// How a provider finds who has bound an MFA device, for `export` (`mfa_bound`) and the rows
/// that ask about MFA (`observed_mfa_bound`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MfaSource {
    /// An export pages the account's bound devices first ([`Op::ListMfaDevices`]).
    pub list: bool,
    /// The read of one user's binding: for each console user the list does not name, or every
    /// console user when there is no list. `None`: a user the list leaves out has no device.
    pub read: Option<&'static Step>,
    /// The one extra read of a row that asks about MFA; its reply names the row's user if bound.
    pub row_read: &'static Step,
    /// The provider names the device's type (the `mfa_type` column).
    pub types: bool,
}

/// The login state of every user of an account.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateList {
    /// By the user key of [`ListedUser::user`].
    pub users: Vec<(String, Observed)>,
    /// The state of a user the list leaves out (huawei: never configured, so off).
    pub unlisted: Observed,
}

/// What `export` writes for a provider's users, and how it learns their state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Listing {
    /// The docs/contract.md §2 state columns, in order: what the provider's writes set. Cells no read returns
    /// stay empty (ucloud `password_reset_required`).
    pub fields: &'static [Field],
    /// Informational columns the list returns, in order.
    pub info: &'static [&'static str],
    /// A `user_name` column follows `user` (huawei, whose `user` is the id).
    pub user_name: bool,
    /// One [`Op::ReadAll`] gives every user's state; otherwise one `read` per user.
    pub bulk_state: bool,
    /// The read of one user's state.
    pub read: &'static Step,
    /// Where bound MFA devices are found; `None`: the provider cannot tell.
    pub mfa: Option<MfaSource>,
}

/// The current state a read found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// Is there a login profile / has login protection ever been set.
    pub exists: bool,
    pub state: LoginState,
    /// Other fields of the reply, by snake_case name (e.g. `create_date`).
    pub extra: Vec<(&'static str, String)>,
    /// When the object was created, where the read says (a user's create date).
    pub created: Option<OffsetDateTime>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub class: FailureClass,
    /// The provider's own code (`EntityNotExist.User`, `153`, `IAM.0004`).
    pub code: String,
    pub message: String,
    /// A server-given wait before retrying.
    pub retry_after: Option<Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureClass {
    /// Transient: retry with backoff. `throttled` also slows the account down.
    Retryable {
        throttled: bool,
    },
    /// The row fails; retrying cannot help.
    Permanent,
    /// Bad signature, unknown key, no permission: not retried, stops the account after 3 in a row.
    Credential,
    /// A token the provider no longer accepts: renew once and re-send.
    TokenExpired,
    AlreadyExists,
    NotFound,
}

/// What a chained account asks its source's provider for: credentials of another account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assume {
    /// STS AssumeRole (aliyun `RoleArn`, ucloud `RoleUrn`).
    Role {
        role: String,
        external_id: Option<String>,
        /// Seconds the credentials should last; the provider's default when `None`.
        duration: Option<u32>,
    },
    /// huawei: an agency of the delegating account, named by `domain_name` or `domain_id`.
    Agency {
        domain_name: Option<String>,
        domain_id: Option<String>,
        agency: String,
        duration: Option<u32>,
    },
}

impl Assume {
    /// What is assumed, for messages: the role or `agency 'A' of account D`.
    pub fn describe(&self) -> String {
        match self {
            Assume::Role { role, .. } => format!("role {role}"),
            Assume::Agency {
                domain_name,
                domain_id,
                agency,
                ..
            } => format!(
                "agency '{agency}' of account {}",
                domain_name
                    .as_deref()
                    .or(domain_id.as_deref())
                    .unwrap_or("?")
            ),
        }
    }
}

/// One account of an organisation, as its directory lists it (aliyun Resource Directory, huawei
/// Organizations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub name: String,
    /// The directory's own word for it (`CreateSuccess`, `active`, `suspended`).
    pub status: String,
    /// Whether the account is a member iambatch works in (see each provider for which statuses).
    pub active: bool,
}

/// One page of a directory listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberPage {
    pub members: Vec<Member>,
    /// What asks for the next page (a page number or a marker); `None` on the last one.
    pub next: Option<String>,
}

/// The temporary-credential request of a chained account: what to assume, where, and the session
/// name the provider's audit log shows.
pub struct AssumeRequest<'a> {
    pub assume: &'a Assume,
    pub session_name: &'a str,
    /// The STS endpoint (huawei: the source's IAM endpoint).
    pub endpoint: &'a url::Url,
}

/// `raw` (`iambatch-<local user name>`) cut to a provider's session name: characters `allowed`
/// keeps, others as `-`, at most `max` long, padded with `-` to 2 (the shortest any provider takes).
pub fn session_name(raw: &str, max: usize, allowed: impl Fn(char) -> bool) -> String {
    let mut name: String = raw
        .chars()
        .map(|c| if allowed(c) { c } else { '-' })
        .take(max)
        .collect();
    while name.len() < 2 {
        name.push('-');
    }
    name
}

/// Temporary credentials, as the chained account's provider takes them in [`Provider::connect`].
#[derive(Debug)]
pub struct Temporary {
    pub keys: Keys,
    pub expires_at: OffsetDateTime,
}

/// Why a token request got no token.
#[derive(Debug)]
pub struct TokenRefused {
    pub request_id: Option<String>,
    pub failure: Failure,
}

/// A token for token-authenticated accounts.
pub struct Token {
    pub value: Secret,
    pub expires_at: Option<OffsetDateTime>,
}

/// Credential values for one account, by the provider's key names (`access_key_id`, `sk`, ...).
/// Every value is kept as a [`Secret`] so none is printed by accident.
#[derive(Clone, Debug, Default)]
pub struct Keys(pub BTreeMap<String, Secret>);

impl Keys {
    pub fn get(&self, key: &str) -> Option<&Secret> {
        self.0.get(key).filter(|s| !s.expose().is_empty())
    }

    pub fn insert(&mut self, key: &str, value: Secret) {
        self.0.insert(key.to_string(), value);
    }

    /// The keys of a reply's credential object, each `(key, field)` read from its text field;
    /// `None` unless every field is there.
    pub fn from_json(object: &serde_json::Value, fields: &[(&str, &str)]) -> Option<Keys> {
        let mut keys = Keys::default();
        for (key, field) in fields {
            keys.insert(key, Secret::new(json::text(object, field)?));
        }
        Some(keys)
    }
}

/// A problem with one row's column, found before anything is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnProblem {
    pub column: Column,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{account}: missing credential '{key}': {hint}")]
    Missing {
        account: String,
        key: String,
        hint: String,
    },
    #[error("{account}: {message}")]
    Invalid { account: String, message: String },
}

/// What the account's settings give a provider to connect with.
pub struct AccountSpec<'a> {
    /// Display name: the config name, or the provider name for the default account.
    pub name: &'a str,
    pub endpoint: &'a url::Url,
    pub keys: &'a Keys,
    /// The endpoints of the other services its requests go to.
    pub services: &'a Services,
}

/// The endpoints of an account's other services, by the names its provider declares in
/// [`Provider::services`] (aliyun `ram`: RAM 2015-05-01, for what IMS lacks).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Services(pub BTreeMap<&'static str, url::Url>);

impl Services {
    pub fn get(&self, name: &str) -> Option<&url::Url> {
        self.0.get(name)
    }
}

/// One provider: its declarations, and the behaviour that depends on a row or an account.
pub trait Provider: Send + Sync + 'static {
    /// What the provider declares: actions, reads, listing, defaults and credential names.
    fn spec(&self) -> &'static ProviderSpec;
    /// What the declarations cannot say: cell formats and cells that go together. Columns an
    /// action does not accept are found from [`ActionSpec::columns`] by the validator.
    fn check_row(&self, _job: &Job) -> Vec<ColumnProblem> {
        Vec::new()
    }
    /// The desired state of `enforce-mfa` for this row.
    fn mfa_state(&self, job: &Job) -> LoginState;
    /// The row's state as the provider sets it, for actions declaring [`Desired::Provider`]
    /// (huawei: `mfa_bind_required` is login protection).
    fn user_state(&self, job: &Job) -> LoginState {
        job.desired.clone()
    }
    /// A user name this row needs resolved to an id before any other request.
    fn name_to_resolve<'a>(&self, _job: &'a Job) -> Option<&'a str> {
        None
    }
    /// A user name that needs the account's default domain ([`Lookups::domain`]) to be complete.
    fn is_bare(&self, _user: &str) -> bool {
        false
    }
    /// A listed user's name as another account of any provider can take it (a migration file's
    /// `user`): the key rows name them by, unless that ties them to this account.
    fn portable_name(&self, user: &ListedUser) -> String {
        user.user.clone()
    }
    /// A bare user name completed with the account's default domain.
    fn complete(&self, user: &str, _domain: &str) -> String {
        user.to_string()
    }
    /// Endpoint for an account without one: [`ProviderSpec::endpoint`], unless the provider has
    /// one per region.
    fn default_endpoint(&self, _region: Option<&str>) -> Option<String> {
        Some(self.spec().endpoint.to_string())
    }
    /// The account's signer.
    fn connect(&self, account: &AccountSpec<'_>) -> Result<Arc<dyn Api>, ConnectError>;
    /// Where temporary credentials are asked for when the account sets no `sts_endpoint`; `None`:
    /// at the source account's own endpoint (huawei IAM).
    fn sts_endpoint(&self) -> Option<&'static str> {
        None
    }
    /// Whether the provider can assume `assume`'s kind at all (a role or an agency).
    fn assumes(&self, _assume: &Assume) -> bool {
        false
    }
    /// The services besides [`ProviderSpec::endpoint`]'s that some requests go to, each as (name,
    /// endpoint of an account that configures none). An account finds each at
    /// `IAMBATCH_<PROVIDER>_<NAME>_ENDPOINT`, else the default; `--emulator` serves them all.
    fn services(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    /// The directory of member accounts, as (name, default endpoint): an account finds it at
    /// `IAMBATCH_<PROVIDER>_<NAME>_ENDPOINT` unless it sets `directory_endpoint`. `None`: the
    /// provider has none iambatch can list.
    fn directory(&self) -> Option<(&'static str, &'static str)> {
        None
    }
    /// The role a members account reaches each member through when it names no `role_name`;
    /// `None`: it must name one.
    fn default_member_role(&self) -> Option<&'static str> {
        None
    }
    /// What a members account assumes in member `id`: `role` is what its `role_name` (and
    /// `external_id`, `session_duration`) give, as the source would assume it in any member.
    fn member_assume(&self, role: &Assume, _id: &str) -> Assume {
        role.clone()
    }
}

/// One account's view of a provider: signs requests and reads replies.
pub trait Api: Send + Sync {
    /// The signed request for `op`. `token` is the current token of a token-authenticated account.
    fn build(&self, op: &Op<'_>, stamp: &Stamp, token: Option<&Secret>) -> HttpRequest;
    /// Reads a reply to `op`.
    fn classify(&self, op: &Op<'_>, reply: &Reply) -> Classified;
    /// Whether the account authenticates with a token it obtains with [`Api::token_request`].
    /// Answered from the account's settings: deciding must not build (or sign) a request.
    fn uses_tokens(&self) -> bool {
        false
    }
    /// The request that obtains a token, for accounts that authenticate with one.
    fn token_request(&self, _stamp: &Stamp) -> Option<HttpRequest> {
        None
    }
    /// The signed temporary-credential request of a chained account whose source this account is;
    /// `None` when the account cannot make it.
    fn assume_request(
        &self,
        _request: &AssumeRequest<'_>,
        _stamp: &Stamp,
        _token: Option<&Secret>,
    ) -> Option<HttpRequest> {
        None
    }
    /// Reads the reply to [`Api::assume_request`]: the temporary credentials, or why not.
    fn read_assumed(
        &self,
        _request: &AssumeRequest<'_>,
        reply: &Reply,
    ) -> Result<Temporary, Failure> {
        Err(Failure {
            class: FailureClass::Credential,
            code: reply.status.to_string(),
            message: "this account cannot assume roles".into(),
            retry_after: None,
        })
    }
    /// The signed request for one page of the organisation's member accounts (`page`: the `next`
    /// of the page before; `None` for the first), sent to the directory `endpoint`; `None` when
    /// the account cannot make it.
    fn members_request(
        &self,
        _page: Option<&str>,
        _endpoint: &url::Url,
        _stamp: &Stamp,
        _token: Option<&Secret>,
    ) -> Option<HttpRequest> {
        None
    }
    /// Reads the reply to [`Api::members_request`] of `page`.
    fn read_members(&self, _page: Option<&str>, reply: &Reply) -> Result<MemberPage, Failure> {
        Err(Failure {
            class: FailureClass::Permanent,
            code: reply.status.to_string(),
            message: "this account cannot list member accounts".into(),
            retry_after: None,
        })
    }
    /// Reads the reply to [`Api::token_request`].
    fn read_token(&self, reply: &Reply) -> Result<Token, TokenRefused> {
        Err(TokenRefused {
            request_id: None,
            failure: Failure {
                class: FailureClass::Credential,
                code: reply.status.to_string(),
                message: "this account does not use tokens".into(),
                retry_after: None,
            },
        })
    }
}
