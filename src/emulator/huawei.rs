//! Huawei Cloud IAM (docs/providers.md §3), one cloud per instance: start a second emulator to play
//! the Kuala Lumpur cloud, with its own users and tokens. Its main account (domain) is
//! [`DOMAIN_ID`] / [`DOMAIN_NAME`]; a patch's `accounts` adds the members of its organisation, each
//! a domain of its own users. Agency tokens and temporary AK/SK issued for an agency of a member
//! domain act in that domain (`sts/huawei.rs`); Organizations `GET /v1/organizations/accounts`
//! (`huawei/organizations.rs`) lists the members.
//!
//! # API
//! - `POST /v3/auth/tokens[?nocatalog=true]` with the domain-scoped password body: 201, the token in
//!   `X-Subject-Token`, `token.expires_at` in the body; tokens live [`Setup::token_ttl`] (24 h by
//!   default). A wrong user, password or account: 401 in Keystone's form.
//! - `GET /v3/users[?name=&domain_id=&enabled=]` (KeystoneListUsers): every matching user in one page,
//!   `links.next` null, as Keystone lists; `name` is an exact filter. Each user has its
//!   `access_mode` (`default`, `console`, or `programmatic`: no console sign-in).
//! - `GET /v3.0/OS-USER/login-protects`: every user with a configuration.
//! - `GET /v3.0/OS-MFA/virtual-mfa-devices` (ListUserMfaDevices): every bound virtual MFA device
//!   (`mfa.rs`), not paged; security keys and devices never bound are not listed.
//! - `GET|PUT /v3.0/OS-USER/users/{user_id}/login-protect`: a user never configured reads 404
//!   `IAM.0004`; a PUT needs both `enabled` and `verification_method` (`sms`|`email`|`vmfa`).
//!
//! The user lifecycle (`huawei/lifecycle.rs`):
//! - `POST /v3.0/OS-USER/users` (CreateUser), body `{"user": {"name", "domain_id", "password",
//!   "pwd_status", "access_mode", "enabled", "email", "areacode", "phone", "description"}}`: 201
//!   and the user as ShowUser shows it. `name` and `domain_id` required (400 `1100`); `domain_id`
//!   must be the account's (400 `IAM.0007`, unconfirmed); the name 1 to 64 of letters, digits,
//!   space, `_`, `.`, `-`, not starting with a digit or a space (`1101`); a name taken is 400
//!   `1109`, an email or phone taken `1110` / `1111`; a password shorter than 8 `1103`; an email
//!   without `@` or over 255 `1102`; `areacode` without `phone` or the reverse `1106`, not digits
//!   `1104`; a description over 255 `1117`; another `access_mode` `IAM.0007`; a field of the wrong
//!   JSON type `IAM.0011`. `pwd_status` defaults to true with a password, false without.
//! - `GET /v3.0/OS-USER/users/{id}` (ShowUser: contact details, `create_time` as `YYYY-MM-DD
//!   HH:mm:ss` UTC) and `GET /v3/users/{id}` (KeystoneShowUser: no email or phone);
//!   `PUT /v3.0/OS-USER/users/{id}` (UpdateUser: the same fields, all optional, `name` renames,
//!   `domain_id` refused), 200 and the user; `DELETE /v3/users/{id}` 204, with its memberships,
//!   keys and MFA devices (nothing blocks a delete). A user made again under a deleted user's name
//!   gets a new id, as on IAM.
//! - `GET /v3/groups[?domain_id=&name=]` (exact `name`; none: an empty list), group ids 32 hex
//!   characters derived from the account id and the name, `create_time` in milliseconds;
//!   `PUT|HEAD|DELETE /v3/groups/{group_id}/users/{user_id}`: 204, or 404 `IAM.0004` for an unknown
//!   group or user (HEAD and DELETE also for a user not in the group; a PUT of a member is 204);
//!   `GET /v3/users/{user_id}/groups`.
//! - `GET /v3.0/OS-CREDENTIAL/credentials?user_id=` (`credentials[]{user_id, access, status,
//!   create_time, description}`, never a secret; without `user_id` the caller's own, and the
//!   emulator's callers are no users: none), `DELETE /v3.0/OS-CREDENTIAL/credentials/{access}` 204.
//!   An unknown user or key is 404 `IAM.0004`.
//!
//! Every API call carries `X-Auth-Token` (a live token this instance issued; any other is 401) or an
//! `SDK-HMAC-SHA256` signature with `X-Domain-Id` set to the id of the account the AK belongs to
//! (the main account's for a permanent AK, the member's for temporary AK/SK issued into a member
//! domain). The call acts on that account's users; a `domain_id` it names must be that account's
//! (CreateUser: 400 `IAM.0007`; a listing of another domain is empty). The signature is recomputed
//! from the request as received (method, path, query, the headers `SignedHeaders` lists, the body's
//! own SHA-256) with this module's `verify.rs`, tested against Huawei's published vectors;
//! `X-Sdk-Date` must be signed and within 15 minutes; a declared `X-Sdk-Content-Sha256` must be the
//! body's hash (`UNSIGNED-PAYLOAD` only for a body that is not JSON); a temporary AK needs the
//! `X-Security-Token` issued with it, signed, and a permanent AK takes none. Each refusal is 401
//! `APIG.0301`; five signature failures in a row lock the AK for five minutes. Gateway errors are `{"error_msg","error_code","request_id"}`
//! (`APIG.0301` auth, `APIG.0308` throttling with 429, `APIG.0101` unknown API), IAM errors
//! `{"error_msg","error_code"}`, token errors Keystone's `{"error":{"code","message","title"}}`;
//! every reply has `X-Request-Id`. Faults alternate between a 500 `IAM.0006` and a gateway's 503 HTML
//! page.
//!
//! # Credentials
//! The AK/SK [`AK`] / [`SK`] with account id [`DOMAIN_ID`], which the client's `--emulator`
//! configures; the IAM user [`IAM_USER`] with
//! [`IAM_PASSWORD`] in the account [`DOMAIN_NAME`]. Each extra account `(id, secret)` of the config is
//! accepted both as an AK/SK pair and as an IAM user name and password of this account.
//!
//! # Users
//! Named in the users file (`{"huawei": ["alice", "bob"]}`), the demo set, a patch or CreateUser; a
//! name nobody created lists no user (the empty list is Huawei's "not found" for a name). Ids
//! are 32 hex characters derived from the account id and the name, so the same name has the same id
//! in every run. A user id not known is 404 `IAM.0004`.
//!
//! State: `{"domain": {"id", "name"}, "tokens_issued", "users": {"<name>": {"id", "access_mode",
//! "enabled", "pwd_status", "email", "areacode", "phone", "description", "created_at" (Unix s),
//! "updates", "login_protect": null | {"enabled", "verification_method"}, "password_hash": null |
//! {"salt", "sha256"}, "access_keys": [{"access", "status", "description", "created_at"}]}},
//! "groups": (membership.rs), "mfa_devices": (mfa.rs, by user name), "temporary_keys": {"<ak>":
//! {"expires_at"}}}` (`updates`: PUTs applied, UpdateUser and UpdateLoginProtect).
//!
//! Patch (`POST /_emulator/state` with `{"huawei": <patch>}`): `{"users": {"<name>": {"access_mode",
//! "enabled", "pwd_status", "email", "areacode", "phone", "description", "created_at" (Unix s),
//! "access_keys": [{"access", "status" ("active" default, or "inactive"), "description",
//! "created_at"}], "groups": ["<group>"], "login_protect": null | {"enabled",
//! "verification_method"}}}, "groups": {"<group>": null | {"description", "created_at"}}
//! (membership.rs), "mfa_devices": (mfa.rs, by user name), "temporary_keys": {"<ak>":
//! {"secret", "security_token", "expires_at"}}, "revoke_tokens": true}`, each part optional
//! (`expires_at` RFC 3339, default: the token lifetime from now). A user not there is added (access
//! mode `default`, enabled, created now); `access_keys` replaces the user's keys; `null` removes the
//! login protection configuration
//! (never configured again);
//! `revoke_tokens` invalidates every token issued, as a password change does. A patch never counts
//! as an update.
//!
//! `"accounts": {"<domain id>": {"name", "status", "join_method", "users", "groups",
//! "mfa_devices"}}` patches the other accounts (never the main one): one not there is added (name
//! its id, status `active`, join method `created`; `status` one of `active`, `suspended`,
//! `pending_closure`, only `active` reachable through an agency; `join_method` `created` or
//! `invited`), then the fields given set and the rest applied to its users as above (user and
//! group ids derived from its own domain id). No two accounts share a name, the main account's
//! included (agencies are named by it). The whole patch is checked on copies and applied only if
//! every part is accepted. The state has them under `"accounts"`: each account's users, groups and
//! devices as above plus `name`, `status`, `join_method` and `domain`.

mod auth;
mod lifecycle;
mod organizations;
mod verify;

use lifecycle::Member;

use super::account::{self, Account, Scope};
use super::membership;
use super::mfa;
use super::service::{Admission, Incoming, Meta, PasswordHash, Reply, Service, Setup, present};
use super::sts::huawei as sts;
use crate::jobs::ProviderKind;
use crate::secret::Secret;
use auth::{Signatures, Tokens, header};
use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use time::OffsetDateTime;
use time::macros::format_description;

/// The built-in AK/SK and the account id: the emulated account issued them (the client's
/// `--emulator` uses them).
const AK: &str = "emulator-huawei-ak";
const SK: &str = "emulator-huawei-sk";
const DOMAIN_ID: &str = "emulator-huawei-domain";
/// The IAM user that token auth logs in as.
pub const IAM_USER: &str = "emulator-admin";
/// Its password (a test value, like the emulator's AK/SK).
pub const IAM_PASSWORD: &str = "emulator-Passw0rd!";
/// The account (domain) name of every emulated Huawei instance.
pub const DOMAIN_NAME: &str = "emulator-corp";

/// IAM user names are 1 to 64 characters.
const MAX_NAME: usize = 64;
const METHODS: [&str; 3] = ["sms", "email", "vmfa"];
/// `programmatic` users cannot sign in to the console.
const ACCESS_MODES: [&str; 3] = ["default", "console", "programmatic"];

pub struct Iam {
    /// SK by AK, and the users.
    account: Account<Directory>,
    /// Password by IAM user name, for tokens.
    passwords: HashMap<String, Secret>,
    signatures: Signatures,
    tokens: Tokens,
    faults: AtomicU64,
}

#[derive(Clone, Default, Serialize)]
struct Directory {
    users: BTreeMap<String, User>,
    groups: membership::Groups,
    mfa_devices: mfa::Devices,
    /// Name by id.
    #[serde(skip)]
    names: HashMap<String, String>,
    /// The ids of deleted users: a user made again under the same name gets a new id, as on IAM.
    #[serde(skip)]
    retired: HashSet<String>,
}

#[derive(Clone, Serialize)]
struct User {
    id: String,
    access_mode: &'static str,
    enabled: bool,
    /// The user must change the password at the next login.
    pwd_status: bool,
    email: String,
    areacode: String,
    phone: String,
    description: String,
    created_at: i64,
    /// PUTs applied (UpdateUser, UpdateLoginProtect).
    updates: u64,
    login_protect: Option<LoginProtect>,
    password_hash: Option<PasswordHash>,
    /// Permanent access keys: ids, states and dates only, never a secret.
    access_keys: Vec<lifecycle::Credential>,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginProtect {
    enabled: bool,
    #[serde(deserialize_with = "verification_method")]
    verification_method: Name,
}

/// One of a few fixed names. A name of its own so that serde does not take the fields for text
/// borrowed from the input (they never are: each is mapped to its constant).
type Name = &'static str;

impl LoginProtect {
    fn wire(self, user_id: &str) -> Value {
        json!({
            "user_id": user_id,
            "enabled": self.enabled,
            "verification_method": self.verification_method,
        })
    }
}

/// A user's id: the first 16 bytes of SHA-256 over the account id and the name, in hex.
fn user_id(domain_id: &str, name: &str) -> String {
    hex::encode(&Sha256::digest(format!("{domain_id}/{name}"))[..16])
}

impl account::Directory for Directory {
    fn has_user(&self, name: &str) -> bool {
        self.users.contains_key(name)
    }
    fn mfa_devices(&mut self) -> &mut mfa::Devices {
        &mut self.mfa_devices
    }
}

impl Directory {
    /// The user `name`, added if it is not there: enabled, access mode `default`, created `now`.
    fn add(&mut self, domain_id: &str, name: &str, now: OffsetDateTime) -> &mut User {
        if !self.users.contains_key(name) {
            let id = (0..)
                .map(|n| match n {
                    0 => user_id(domain_id, name),
                    n => user_id(domain_id, &format!("{name}\n{n}")),
                })
                .find(|id| !self.names.contains_key(id) && !self.retired.contains(id))
                .expect("some id is free");
            self.names.insert(id.clone(), name.to_string());
            let user = User {
                id,
                access_mode: ACCESS_MODES[0],
                enabled: true,
                pwd_status: false,
                email: String::new(),
                areacode: String::new(),
                phone: String::new(),
                description: String::new(),
                created_at: now.unix_timestamp(),
                updates: 0,
                login_protect: None,
                password_hash: None,
                access_keys: Vec::new(),
            };
            self.users.insert(name.to_string(), user);
        }
        self.users.get_mut(name).expect("added above")
    }

    /// The name of the user with this id; 404 `IAM.0004` if there is none.
    fn name_of(&self, id: &str) -> Result<String, ApiError> {
        self.names
            .get(id)
            .cloned()
            .ok_or_else(|| not_found("user", id))
    }

    fn by_id(&mut self, id: &str) -> Result<&mut User, ApiError> {
        let name = self.names.get(id).ok_or_else(|| not_found("user", id))?;
        Ok(self.users.get_mut(name).expect("every id names a user"))
    }
}

/// IAM's 404: "Could not find %(target)s: %(target_id)s."
fn not_found(target: &str, id: &str) -> ApiError {
    ApiError::iam(
        StatusCode::NOT_FOUND,
        "IAM.0004",
        format!("Could not find {target}: {id}."),
    )
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Route {
    IssueToken,
    AgencyToken,
    SecurityTokens,
    ListUsers,
    ListLoginProtects,
    ListMfaDevices,
    ShowLoginProtect(String),
    UpdateLoginProtect(String),
    CreateUser,
    ShowUser(String),
    UpdateUser(String),
    KeystoneShowUser(String),
    DeleteUser(String),
    GroupsForUser(String),
    ListGroups,
    /// Group id, user id.
    AddMember(String, String),
    CheckMember(String, String),
    RemoveMember(String, String),
    ListCredentials,
    DeleteCredential(String),
    /// Organizations ListAccounts.
    ListAccounts,
}

impl Route {
    /// The route of a method and path; each segment percent-decoded, none empty.
    fn parse(method: &Method, path: &str) -> Option<Route> {
        let segments = (path.strip_prefix('/')?.split('/'))
            .map(|s| {
                let s = percent_encoding::percent_decode_str(s).decode_utf8().ok()?;
                (!s.is_empty()).then(|| s.into_owned())
            })
            .collect::<Option<Vec<String>>>()?;
        let s: Vec<&str> = segments.iter().map(String::as_str).collect();
        let id = |x: &str| x.to_string();
        Some(match (method, s.as_slice()) {
            (&Method::POST, ["v3", "auth", "tokens"]) => Route::IssueToken,
            (&Method::POST, ["v3.0", "OS-CREDENTIAL", "securitytokens"]) => Route::SecurityTokens,
            (&Method::GET, ["v3", "users"]) => Route::ListUsers,
            (&Method::GET, ["v3", "users", u]) => Route::KeystoneShowUser(id(u)),
            (&Method::DELETE, ["v3", "users", u]) => Route::DeleteUser(id(u)),
            (&Method::GET, ["v3", "users", u, "groups"]) => Route::GroupsForUser(id(u)),
            (&Method::GET, ["v3", "groups"]) => Route::ListGroups,
            (&Method::PUT, ["v3", "groups", g, "users", u]) => Route::AddMember(id(g), id(u)),
            (&Method::HEAD, ["v3", "groups", g, "users", u]) => Route::CheckMember(id(g), id(u)),
            (&Method::DELETE, ["v3", "groups", g, "users", u]) => Route::RemoveMember(id(g), id(u)),
            (&Method::POST, ["v3.0", "OS-USER", "users"]) => Route::CreateUser,
            (&Method::GET, ["v3.0", "OS-USER", "users", u]) => Route::ShowUser(id(u)),
            (&Method::PUT, ["v3.0", "OS-USER", "users", u]) => Route::UpdateUser(id(u)),
            (&Method::GET, ["v3.0", "OS-USER", "users", u, "login-protect"]) => {
                Route::ShowLoginProtect(id(u))
            }
            (&Method::PUT, ["v3.0", "OS-USER", "users", u, "login-protect"]) => {
                Route::UpdateLoginProtect(id(u))
            }
            (&Method::GET, ["v3.0", "OS-USER", "login-protects"]) => Route::ListLoginProtects,
            (&Method::GET, ["v3.0", "OS-MFA", "virtual-mfa-devices"]) => Route::ListMfaDevices,
            (&Method::GET, ["v3.0", "OS-CREDENTIAL", "credentials"]) => Route::ListCredentials,
            (&Method::GET, ["v1", "organizations", "accounts"]) => Route::ListAccounts,
            (&Method::DELETE, ["v3.0", "OS-CREDENTIAL", "credentials", ak]) => {
                Route::DeleteCredential(id(ak))
            }
            _ => return None,
        })
    }

    /// The SDK's name for the operation, for the log.
    fn action(&self) -> &'static str {
        match self {
            Route::IssueToken => "KeystoneCreateUserTokenByPassword",
            Route::SecurityTokens => sts::ACTION,
            Route::AgencyToken => sts::TOKEN_ACTION,
            Route::ListUsers => "KeystoneListUsers",
            Route::ListLoginProtects => "ListUserLoginProtects",
            Route::ListMfaDevices => "ListUserMfaDevices",
            Route::ShowLoginProtect(_) => "ShowUserLoginProtect",
            Route::UpdateLoginProtect(_) => "UpdateLoginProtect",
            Route::CreateUser => "CreateUser",
            Route::ShowUser(_) => "ShowUser",
            Route::UpdateUser(_) => "UpdateUser",
            Route::KeystoneShowUser(_) => "KeystoneShowUser",
            Route::DeleteUser(_) => "KeystoneDeleteUser",
            Route::GroupsForUser(_) => "KeystoneListGroupsForUser",
            Route::ListGroups => "KeystoneListGroups",
            Route::AddMember(..) => "KeystoneAddUserToGroup",
            Route::CheckMember(..) => "KeystoneCheckUserInGroup",
            Route::RemoveMember(..) => "KeystoneRemoveUserFromGroup",
            Route::ListCredentials => "ListPermanentAccessKeys",
            Route::DeleteCredential(_) => "DeletePermanentAccessKey",
            Route::ListAccounts => "ListAccounts",
        }
    }

    /// Whether it changes state (only writes are dropped).
    fn is_write(&self) -> bool {
        matches!(
            self,
            Route::UpdateLoginProtect(_)
                | Route::CreateUser
                | Route::UpdateUser(_)
                | Route::DeleteUser(_)
                | Route::AddMember(..)
                | Route::RemoveMember(..)
                | Route::DeleteCredential(_)
        )
    }

    /// The user it is about, as the log names it: an id, or a name where the request gives one.
    fn user(&self, query: &[(String, String)], body: &[u8]) -> String {
        let param = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        match self {
            Route::ShowLoginProtect(id)
            | Route::UpdateLoginProtect(id)
            | Route::ShowUser(id)
            | Route::UpdateUser(id)
            | Route::KeystoneShowUser(id)
            | Route::DeleteUser(id)
            | Route::GroupsForUser(id)
            | Route::AddMember(_, id)
            | Route::CheckMember(_, id)
            | Route::RemoveMember(_, id) => id.clone(),
            Route::ListUsers => param("name").unwrap_or_default(),
            Route::ListCredentials => param("user_id").unwrap_or_default(),
            Route::CreateUser => serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|b| b["user"]["name"].as_str().map(str::to_string))
                .unwrap_or_default(),
            Route::IssueToken
            | Route::AgencyToken
            | Route::SecurityTokens
            | Route::ListLoginProtects
            | Route::ListMfaDevices
            | Route::ListGroups
            | Route::ListAccounts
            | Route::DeleteCredential(_) => String::new(),
        }
    }
}

/// An authenticated request.
pub struct Call {
    route: Route,
    query: Vec<(String, String)>,
    body: Bytes,
    /// The `Host` it was sent to, for the links of listings.
    host: String,
    /// Who sent it: the AK, or the token's user.
    caller: String,
    /// The account the credentials belong to (for a token request, the main account).
    scope: Scope<Directory>,
}

impl Call {
    /// `http://` and the host it was sent to, for links.
    fn base(&self) -> String {
        format!("http://{}", self.host)
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An error reply, before it gets its request id.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: String,
    body: Value,
    /// The API gateway's bodies repeat the request id.
    gateway: bool,
}

impl ApiError {
    /// IAM's own `{"error_msg","error_code"}`.
    fn iam(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            body: json!({"error_msg": message.into(), "error_code": code}),
            gateway: false,
        }
    }

    /// The API gateway's `{"error_msg","error_code","request_id"}`.
    fn gateway(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            gateway: true,
            ..ApiError::iam(status, code, message)
        }
    }

    /// Keystone's `{"error":{"code","message","title"}}`.
    fn keystone(status: StatusCode, message: &str) -> ApiError {
        let title = status.canonical_reason().unwrap_or_default();
        ApiError {
            status,
            code: status.as_u16().to_string(),
            body: json!({"error": {"code": status.as_u16(), "message": message, "title": title}}),
            gateway: false,
        }
    }

    fn unauthenticated() -> ApiError {
        ApiError::keystone(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        )
    }

    fn invalid_body() -> ApiError {
        ApiError::iam(
            StatusCode::BAD_REQUEST,
            "IAM.0011",
            "Request body is invalid.",
        )
    }

    fn reply(mut self) -> Reply {
        let id = request_id();
        if self.gateway {
            self.body["request_id"] = id.clone().into();
        }
        Reply::json(self.status, &self.body)
            .with_header("x-request-id", id)
            .with_code(self.code)
    }
}

/// Huawei request ids: 32 lowercase hex characters.
fn request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn ok(status: StatusCode, body: &Value) -> Reply {
    Reply::json(status, body).with_header("x-request-id", request_id())
}

/// 204 and no body, or the error.
fn empty(result: Result<(), ApiError>) -> Reply {
    match result {
        Ok(()) => Reply {
            status: StatusCode::NO_CONTENT,
            headers: vec![("x-request-id", request_id())],
            body: Vec::new(),
            code: None,
        },
        Err(e) => e.reply(),
    }
}

/// Token times: `2020-01-04T09:05:22.701000Z`.
fn token_time(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    ))
    .expect("a UTC time always formats")
}

impl Service for Iam {
    const KIND: ProviderKind = ProviderKind::Huawei;
    type Call = Call;

    fn new(setup: Setup) -> Result<Iam, String> {
        let mut passwords: HashMap<String, Secret> = setup.accounts.iter().cloned().collect();
        passwords.insert(IAM_USER.to_string(), Secret::new(IAM_PASSWORD));
        let mut directory = Directory::default();
        let what = "IAM user names (strings of 1 to 64 characters)";
        let valid = |s: &str| (1..=MAX_NAME).contains(&s.chars().count());
        for name in account::user_names(&setup.users, what, valid)? {
            directory.add(DOMAIN_ID, name, setup.now);
        }
        Ok(Iam {
            account: Account::new(
                (DOMAIN_ID, DOMAIN_NAME),
                (AK, SK),
                setup.accounts,
                setup.token_ttl,
                directory,
                Some(organizations::ORGANISATION),
            )?,
            passwords,
            signatures: Signatures::default(),
            tokens: Tokens::default(),
            faults: AtomicU64::new(0),
        })
    }

    fn admit(&self, request: &Incoming, now: OffsetDateTime) -> Admission<Call> {
        let query: Vec<(String, String)> = form_urlencoded::parse(request.query.as_bytes())
            .into_owned()
            .collect();
        let route = Route::parse(&request.method, &request.path).map(|route| match route {
            Route::IssueToken if sts::is_agency_token(&request.body) => Route::AgencyToken,
            other => other,
        });
        let Some(route) = route else {
            let error = ApiError::gateway(
                StatusCode::NOT_FOUND,
                "APIG.0101",
                "The API does not exist or has not been published in the environment",
            );
            return Admission {
                meta: Meta::default(),
                call: Err(error.reply()),
            };
        };
        let user = route.user(&query, &request.body);
        let (account, verdict) = self.authenticate(request, &route, now);
        // A password token request is refused only after the rate limit, in `apply`, yet it acts
        // in the main account only if its password is right.
        let authenticated =
            route != Route::IssueToken || self.password_login(&request.body).is_ok();
        let meta = Meta {
            account,
            account_id: (verdict.as_ref().ok())
                .filter(|_| authenticated)
                .map_or(String::new(), |scope| scope.id.clone()),
            action: route.action().to_string(),
            user,
            write: route.is_write(),
        };
        let call = verdict.map_err(ApiError::reply).map(|scope| Call {
            route,
            query,
            body: request.body.clone(),
            host: header(request, "host").unwrap_or_default().to_string(),
            caller: meta.account.clone(),
            scope,
        });
        Admission { meta, call }
    }

    fn apply(&self, call: Call, now: OffsetDateTime) -> Reply {
        let on = &call.scope;
        let result = match &call.route {
            Route::IssueToken => {
                return self.issue_token(&call, now).unwrap_or_else(ApiError::reply);
            }
            Route::SecurityTokens => {
                return sts::security_tokens(&self.account, &call.caller, &call.body, now);
            }
            Route::AgencyToken => {
                return sts::agency_token(
                    &self.account,
                    &call.caller,
                    &call.body,
                    |user, account, ttl| self.tokens.issue(user, account, now, ttl),
                );
            }
            Route::ListUsers => on.list_users(&call),
            Route::ListLoginProtects => Ok(on.list_login_protects()),
            Route::ListMfaDevices => Ok(on.list_mfa_devices()),
            Route::ShowLoginProtect(id) => on.show_login_protect(id),
            Route::UpdateLoginProtect(id) => on.update_login_protect(id, &call.body),
            Route::CreateUser => {
                let created = on.create_user(&call, now);
                return created.map_or_else(ApiError::reply, |body| ok(StatusCode::CREATED, &body));
            }
            Route::ShowUser(id) => on.show_user(id, &call, true),
            Route::KeystoneShowUser(id) => on.show_user(id, &call, false),
            Route::UpdateUser(id) => on.update_user(id, &call),
            Route::GroupsForUser(id) => on.groups_for_user(id, &call),
            Route::ListGroups => Ok(on.list_groups(&call)),
            Route::ListCredentials => on.list_credentials(&call),
            Route::ListAccounts => organizations::list_accounts(&self.account, on, &call.query),
            Route::DeleteUser(id) => return empty(on.delete_user(id)),
            Route::DeleteCredential(access) => return empty(on.delete_credential(access)),
            Route::AddMember(group, id) => {
                return empty(on.membership(Member::Add, group, id, now));
            }
            Route::CheckMember(group, id) => {
                return empty(on.membership(Member::Check, group, id, now));
            }
            Route::RemoveMember(group, id) => {
                return empty(on.membership(Member::Remove, group, id, now));
            }
        };
        result.map_or_else(ApiError::reply, |body| ok(StatusCode::OK, &body))
    }

    /// The gateway's flow control. It gives no `Retry-After` (none is documented for IAM).
    fn throttled(&self, _retry_after: Duration) -> Reply {
        ApiError::gateway(
            StatusCode::TOO_MANY_REQUESTS,
            "APIG.0308",
            "The throttling threshold has been reached: policy user over ratelimit,time:1 second",
        )
        .reply()
    }

    /// IAM's 500, then the gateway's 503 page (not JSON), in turn.
    fn fault(&self) -> Reply {
        if self.faults.fetch_add(1, Ordering::Relaxed) % 2 == 0 {
            return ApiError::iam(
                StatusCode::INTERNAL_SERVER_ERROR,
                "IAM.0006",
                "An unexpected error prevented the server from fulfilling your request.",
            )
            .reply();
        }
        Reply {
            status: StatusCode::SERVICE_UNAVAILABLE,
            headers: vec![
                ("content-type", "text/html".to_string()),
                ("x-request-id", request_id()),
            ],
            body: b"<html><head><title>503 Service Temporarily Unavailable</title></head>\
                    <body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
                .to_vec(),
            code: Some("503".into()),
        }
    }

    fn has_password(&self, account: Option<&str>, name: &str, password: &str) -> Option<bool> {
        let scope = self.account.scope_or_main(account)?;
        let directory = scope.lock();
        Some(
            directory
                .users
                .get(name)?
                .password_hash
                .as_ref()?
                .matches(password),
        )
    }

    fn state(&self) -> Value {
        let mut state = self.account.state();
        state["domain"] = json!({"id": DOMAIN_ID, "name": DOMAIN_NAME});
        if let Some(Value::Object(accounts)) = state.get_mut("accounts") {
            for (id, account) in accounts.iter_mut() {
                account["domain"] = json!({"id": id, "name": account["name"]});
            }
        }
        state["tokens_issued"] = self.tokens.issued().into();
        state
    }

    fn tamper(&self, patch: &Value, now: OffsetDateTime) -> Result<(), String> {
        // Huawei's own top-level field; the rest is every provider's patch.
        let mut patch = patch.clone();
        let revoke_tokens = match patch
            .as_object_mut()
            .and_then(|p| p.remove("revoke_tokens"))
        {
            None => false,
            Some(v) => v.as_bool().ok_or("revoke_tokens: use true or false")?,
        };
        (self.account).tamper(&patch, now, |directory, id, patch| {
            directory.tamper(id, patch, now)
        })?;
        if revoke_tokens {
            self.tokens.revoke_all();
        }
        Ok(())
    }
}

impl Directory {
    /// The patch of account `id`'s directory: its groups, then every provider's part.
    fn tamper(&mut self, id: &str, mut patch: Value, now: OffsetDateTime) -> Result<(), String> {
        let groups = membership::Patch::take(&mut patch, &self.groups)?;
        account::patch_directory(
            self,
            patch,
            |directory: &mut Directory, name, patch: UserPatch| {
                patch.apply(directory.add(id, &name, now), now);
            },
        )?;
        groups.apply(&mut self.groups, now);
        Ok(())
    }
}

fn method(name: &str) -> Option<&'static str> {
    METHODS.into_iter().find(|m| *m == name)
}

impl Iam {
    /// Who the request is from (for the log and the rate limit) and whether it may proceed. Token
    /// requests are authenticated by `issue_token` itself, after the rate limit, as IAM does.
    fn authenticate(
        &self,
        request: &Incoming,
        route: &Route,
        now: OffsetDateTime,
    ) -> (String, Result<Scope<Directory>, ApiError>) {
        if *route == Route::IssueToken {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            let user = body["auth"]["identity"]["password"]["user"]["name"].as_str();
            return (
                user.unwrap_or_default().to_string(),
                Ok(self.account.main()),
            );
        }
        if let Some(token) = header(request, "x-auth-token") {
            let scope = |(user, account): (String, String)| {
                let scope = self.account.scope(&account)?;
                Some((user, scope))
            };
            return match self.tokens.user(token, now).and_then(scope) {
                Some((user, scope)) => (user, Ok(scope)),
                None => (String::new(), Err(ApiError::unauthenticated())),
            };
        }
        if header(request, "authorization").is_none() {
            return (String::new(), Err(ApiError::unauthenticated()));
        }
        let claimed = auth::claimed_ak(request).unwrap_or_default().to_string();
        let verdict = self
            .signatures
            .check(
                request,
                |ak, token| self.account.secret(ak, token, now),
                now,
            )
            .map_err(|e| ApiError::gateway(StatusCode::UNAUTHORIZED, "APIG.0301", e.message()))
            .and_then(|ak| self.domain_of_ak(request, &ak));
        (claimed, verdict)
    }

    /// The account of a checked AK: `X-Domain-Id` must be its id (IAM is a global service).
    fn domain_of_ak(&self, request: &Incoming, ak: &str) -> Result<Scope<Directory>, ApiError> {
        let scope = self.account.scope_of_key(ak);
        scope
            .filter(|s| header(request, "x-domain-id") == Some(s.id.as_str()))
            .ok_or_else(|| {
                ApiError::gateway(
                    StatusCode::UNAUTHORIZED,
                    "APIG.0301",
                    "Incorrect IAM authentication information: X-Domain-Id must be the account id \
                     of the AK for a global service",
                )
            })
    }

    /// Whether a `{"name"}` or `{"id"}` object names this account.
    fn is_domain(&self, domain: &Value) -> bool {
        domain["name"].as_str() == Some(DOMAIN_NAME) || domain["id"].as_str() == Some(DOMAIN_ID)
    }

    /// The user a password token request logs in as, if its body, user, password and account
    /// are right.
    fn password_login(&self, body: &[u8]) -> Result<(String, Value), ApiError> {
        let body: Value = serde_json::from_slice(body).map_err(|_| ApiError::invalid_body())?;
        let identity = &body["auth"]["identity"];
        let by_password = identity["methods"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m == "password"));
        let user = &identity["password"]["user"];
        let (Some(name), Some(password), true) = (
            user["name"].as_str(),
            user["password"].as_str(),
            by_password,
        ) else {
            return Err(ApiError::invalid_body());
        };
        let known = self
            .passwords
            .get(name)
            .is_some_and(|p| p.expose() == password);
        if !known || !self.is_domain(&user["domain"]) {
            return Err(ApiError::keystone(
                StatusCode::UNAUTHORIZED,
                "The username or password is wrong.",
            ));
        }
        Ok((name.to_string(), body))
    }

    fn issue_token(&self, call: &Call, now: OffsetDateTime) -> Result<Reply, ApiError> {
        let (name, body) = self.password_login(&call.body)?;
        let name = name.as_str();
        // IAM's APIs need a token scoped to the account.
        if !self.is_domain(&body["auth"]["scope"]["domain"]) {
            return Err(ApiError::iam(
                StatusCode::BAD_REQUEST,
                "IAM.0011",
                "Request body is invalid: scope the token to the account with auth.scope.domain.",
            ));
        }
        let (token, expires_at) = (self.tokens).issue(name, DOMAIN_ID, now, self.account.token_ttl);
        let domain = json!({"id": DOMAIN_ID, "name": DOMAIN_NAME});
        let mut body = json!({"token": {
            "expires_at": token_time(expires_at),
            "issued_at": token_time(now),
            "methods": ["password"],
            "domain": domain,
            "roles": [{"id": "0", "name": "secu_admin"}],
            "user": {
                "domain": domain,
                "id": user_id(DOMAIN_ID, name),
                "name": name,
                "password_expires_at": "",
            },
        }});
        if call.param("nocatalog") != Some("true") {
            body["token"]["catalog"] = json!([]);
        }
        Ok(ok(StatusCode::CREATED, &body).with_header("x-subject-token", token.expose()))
    }
}

/// The actions, on the directory of the account (domain) the request acts on.
impl Scope<Directory> {
    fn list_users(&self, call: &Call) -> Result<Value, ApiError> {
        let base = call.base();
        let name = call.param("name");
        let enabled = call.param("enabled").map(|e| e == "true");
        // Every user is of this account.
        let none = call.param("domain_id").is_some_and(|d| d != self.id);
        let directory = self.lock();
        let users: Vec<Value> = directory
            .users
            .iter()
            .filter(|(n, user)| {
                !none
                    && name.is_none_or(|name| name == n.as_str())
                    && enabled.is_none_or(|e| e == user.enabled)
            })
            .map(|(n, user)| {
                let mut shown = self.keystone_user(n, user, &base);
                shown["pwd_strength"] = "high".into();
                shown
            })
            .collect();
        Ok(json!({
            "users": users,
            "links": {"self": format!("{base}/v3/users"), "previous": null, "next": null},
        }))
    }

    fn list_login_protects(&self) -> Value {
        let directory = self.lock();
        let protects: Vec<Value> = directory
            .users
            .values()
            .filter_map(|u| u.login_protect.map(|p| p.wire(&u.id)))
            .collect();
        json!({ "login_protects": protects })
    }

    fn list_mfa_devices(&self) -> Value {
        let directory = self.lock();
        let devices: Vec<Value> = directory
            .mfa_devices
            .virtual_devices()
            .into_iter()
            .filter_map(|(serial, name)| {
                let user = directory.users.get(name?)?;
                Some(json!({ "serial_number": serial, "user_id": user.id }))
            })
            .collect();
        json!({ "virtual_mfa_devices": devices })
    }

    fn show_login_protect(&self, id: &str) -> Result<Value, ApiError> {
        let mut directory = self.lock();
        let protect = directory.by_id(id)?.login_protect.ok_or_else(|| {
            ApiError::iam(
                StatusCode::NOT_FOUND,
                "IAM.0004",
                format!("Could not find login_protect: {id}."),
            )
        })?;
        Ok(json!({ "login_protect": protect.wire(id) }))
    }

    fn update_login_protect(&self, id: &str, body: &[u8]) -> Result<Value, ApiError> {
        let body: Value = serde_json::from_slice(body).map_err(|_| ApiError::invalid_body())?;
        let fields = body["login_protect"]
            .as_object()
            .ok_or_else(ApiError::invalid_body)?;
        let invalid = |name: &str| {
            ApiError::iam(
                StatusCode::BAD_REQUEST,
                "IAM.0007",
                format!("Request parameter {name} is invalid."),
            )
        };
        let enabled = fields
            .get("enabled")
            .and_then(Value::as_bool)
            .ok_or_else(|| invalid("enabled"))?;
        let verification_method = fields
            .get("verification_method")
            .and_then(Value::as_str)
            .and_then(method)
            .ok_or_else(|| invalid("verification_method"))?;
        let mut directory = self.lock();
        let user = directory.by_id(id)?;
        let protect = LoginProtect {
            enabled,
            verification_method,
        };
        user.login_protect = Some(protect);
        user.updates += 1;
        Ok(json!({ "login_protect": protect.wire(id) }))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    #[serde(default, deserialize_with = "access_mode")]
    access_mode: Option<Name>,
    /// Absent: unchanged; `null`: removed.
    #[serde(default, deserialize_with = "present")]
    login_protect: Option<Option<LoginProtect>>,
    enabled: Option<bool>,
    pwd_status: Option<bool>,
    email: Option<String>,
    areacode: Option<String>,
    phone: Option<String>,
    description: Option<String>,
    created_at: Option<i64>,
    access_keys: Option<Vec<lifecycle::CredentialPatch>>,
}

impl UserPatch {
    fn apply(self, user: &mut User, now: OffsetDateTime) {
        let UserPatch {
            access_mode,
            login_protect,
            enabled,
            pwd_status,
            email,
            areacode,
            phone,
            description,
            created_at,
            access_keys,
        } = self;
        if let Some(protect) = login_protect {
            user.login_protect = protect;
        }
        user.access_mode = access_mode.unwrap_or(user.access_mode);
        user.enabled = enabled.unwrap_or(user.enabled);
        user.pwd_status = pwd_status.unwrap_or(user.pwd_status);
        for (field, value) in [
            (&mut user.email, email),
            (&mut user.areacode, areacode),
            (&mut user.phone, phone),
            (&mut user.description, description),
        ] {
            if let Some(value) = value {
                *field = value;
            }
        }
        user.created_at = created_at.unwrap_or(user.created_at);
        if let Some(keys) = access_keys {
            user.access_keys = keys.into_iter().map(|k| k.credential(now)).collect();
        }
    }
}

fn verification_method<'de, D: Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
    let name = String::deserialize(d)?;
    method(&name).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "verification_method '{name}': use sms, email or vmfa"
        ))
    })
}

fn access_mode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Name>, D::Error> {
    let mode = String::deserialize(d)?;
    match ACCESS_MODES.into_iter().find(|a| *a == mode) {
        Some(mode) => Ok(Some(mode)),
        None => Err(serde::de::Error::custom(format!(
            "access_mode '{mode}': use default, console or programmatic"
        ))),
    }
}

#[cfg(test)]
mod tests;
