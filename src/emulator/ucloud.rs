//! UCloud IAM (docs/providers.md §1): the API at `/`, parameters in the query string (GET, or a POST
//! without a body), an `application/x-www-form-urlencoded` body or an `application/json` body. A
//! POST with a body is read from its body only: the Go SDK repeats `Action` in an unsigned query
//! string. JSON values are signed as the SDKs format them (`true`/`false`, integers in decimal,
//! floats without exponent or trailing `.0`); `null` is left out. The signature is checked on the
//! parameters as they arrived with this module's own check (`verify.rs`, tested against UCloud's
//! published vectors). A `SecurityToken` must be the one issued with its temporary `PublicKey`
//! (else 174, "token not found"; a temporary key without it too). UCloud signs no time and no nonce
//! (the Python SDK's `U-Timestamp-Ms` header is not signed), so there is nothing to check against
//! replays: a captured request can be sent again, as with the real API.
//!
//! Every reply is HTTP 200 with `{"Action":"<Action>Response","RetCode":N,"Message":..}` and the
//! header `X-UCLOUD-REQUEST-UUID`: 160 no `Action`, 161 unknown `Action`, 170 no `Signature`, 171
//! wrong signature, 172 unknown `PublicKey`, 220 a missing parameter, 230 a bad value (a repeated
//! parameter too), 11021 unknown user (or no login profile), 153 throttled (no retry-after hint, as
//! UCloud gives none), and for a fault 150 "service unavailable": UCloud's gateway reports its own
//! failures with that RetCode rather than a 5xx. Paths other than `/` are 404. 220 ("Missing
//! params [X]") and 230 ("Params [X] not available") are what UCloud services answer elsewhere,
//! unconfirmed for IAM; the password-policy code is undocumented, 230 is our choice.
//!
//! Actions: `UpdateLoginProfile` (every seed-0 parameter; changes only the fields given; with both
//! `Password` and `GenerateRandomPassword=true` the given password is set), `GetLoginProfile`
//! (`Status`, `MaxPasswordAge`, `MFABindRequired`, as the SDK's model: `PasswordResetRequired` is
//! not readable), `ListUsers` (`Offset`, `Limit` 1-100, default 10; `TotalCount`), `GetUserMFAInfo` (`UserName`;
//! `IsMFAEnable`: the user has bound a device, `mfa.rs`; its type and serial are not told). A user exists
//! with a login profile (UCloud's `CreateUser` creates it); only users of the users file, the demo
//! set, a patch or `CreateUser` exist: any other `UserName` is 11021.
//!
//! The user lifecycle (`ucloud/lifecycle.rs`), with the parameters and replies of UCloud's Go SDK:
//! - `CreateUser`: `UserName`, `AccessKeyStatus` and `LoginProfileStatus` (`Active`|`Inactive`, not
//!   both `Inactive`: 230), `Password` (required when the login is `Active` unless
//!   `GenerateRandomPassword=true`: 220; refused when it is `Inactive`: 230), `MFABindRequired`,
//!   `PasswordResetRequired`, `DisplayName` (default: the name), `Email`; 11208 when the name
//!   exists. It makes the login profile and one access key of the status asked; the reply
//!   (`UserName`, `DisplayName`, `CompanyID`, `ConsoleAccess`, `APIAccess`, `AccessKeyID`,
//!   `AccessKeySecret`) carries the key's id and a secret whatever the key's status (UCloud leaves
//!   the `Inactive` case undocumented; the emulator takes the worst case for a client that must
//!   keep no secret). The secret is never stored, listed or shown in the state.
//! - `GetUser` (`User{UserName, DisplayName, Email, Status, CreatedAt}`), `UpdateUser`
//!   (`DisplayName`, `Status` `Active`|`Frozen`, not both empty: 220; `NewUserName`, 11208 if
//!   taken, carries memberships and MFA devices along), `DeleteUser` (with its memberships, keys
//!   and devices: nothing blocks it). A frozen user reads `Status: Frozen`; nothing else changes.
//! - `AddUserToGroup` / `RemoveUserFromGroup` (`UserName`, `GroupName`; 11021 unknown user, 11162
//!   unknown group; already a member, or not one: success, as UCloud documents no error),
//!   `ListGroups` (no parameters; `Groups[]{GroupName, Description, CreatedAt}`, `TotalCount`),
//!   `ListUsersForGroup` (`GroupName`, `Offset`, `Limit` as `ListUsers`; `TotalCount`,
//!   `Users[]{UserName, DisplayName, Email, JoinedAt}`).
//! - `ListAccessKeys` (`UserName`; `AccessKey[]{AccessKeyID, Status, Description, CreatedAt,
//!   UpdatedAt, ExpiredAt, UserId}`, no secret), `UpdateAccessKey` (`AccessKeyID`, `Status`,
//!   `Description`), `DeleteAccessKey` (`AccessKeyID`); an unknown key id is 230 (undocumented).
//!   Keys made here do not sign requests to the emulator.
//!
//! State: `{"users": {"<name>": {"id", "display_name", "email", "status" ("Active"|"Frozen"),
//! "created_at" (Unix s), "updates" (UpdateLoginProfile calls applied), "login_profile": null |
//! {"status", "mfa_bind_required", "password_reset_required", "max_password_age", "password_hash":
//! null | {"salt", "sha256"}, "password_generated", "updated_at"}, "access_keys": [{"id", "status",
//! "description", "created_at", "updated_at"}]}}, "groups": (membership.rs), "mfa_devices": (mfa.rs),
//! "temporary_keys": {"<id>": {"expires_at"}}}`. A new profile is `Active`, no MFA, no reset,
//! `max_password_age` 0, no password.
//!
//! Patch (`POST /_emulator/state` with `{"ucloud": <patch>}`): `{"users": {"<name>":
//! {"display_name", "email", "status" ("Active"|"Frozen"), "created_at" (Unix s), "access_keys":
//! [{"id", "status" (default "Active"), "description", "created_at"}], "groups": ["<group>"]
//! (membership.rs), "login_profile": null |
//! {"status", "mfa_bind_required", "password_reset_required", "max_password_age", "password"}}},
//! "groups": {"<group>": null | {"description", "created_at"}} (membership.rs), "mfa_devices": (mfa.rs, by user name), "temporary_keys": {"<public key>": {"secret",
//! "security_token", "expires_at"}}}`, every field optional but a key's id and a temporary key's
//! secret and token (`expires_at` RFC 3339, default: the token lifetime from now). A user not there
//! is added with a new profile (displayed by its name, `Active`, created now); `access_keys`
//! replaces the user's keys (ids unique in the account); `null` removes the profile (a state the
//! API cannot make); an object sets the fields given. A patch never counts as an update.

use super::account::{self, Account};
use super::login::{Login, LoginChange, ProfilePatch, ProfileSlot};
use super::membership;
use super::mfa;
use super::params::{ParamErrors, Params};
use super::service::{Admission, Incoming, Meta, PasswordHash, Reply, Service, Setup};
use super::sts::ucloud as sts;
use super::temporary::KeyError;
use crate::jobs::ProviderKind;
use axum::http::{Method, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;
use time::OffsetDateTime;

mod lifecycle;
pub(super) mod verify;

use lifecycle::{AccessKey, KeyPatch};

/// The built-in test key pair: the emulated account issued it (the client's `--emulator` uses it).
const PUBLIC_KEY: &str = "emulator-ucloud-public";
const PRIVATE_KEY: &str = "emulator-ucloud-private";
/// The emulated account's id, in the request log (UCloud's members accounts are not emulated).
const ACCOUNT_ID: &str = "emulator-ucloud-account";
/// ListUsers' page size when `Limit` is not given, and its maximum.
const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 100;
/// The password policy's minimum length (the console's default).
const MIN_PASSWORD_LEN: usize = 8;

pub struct Iam {
    /// Private keys by public key, and the users.
    account: Account<Directory>,
}

#[derive(Clone, Default, Serialize)]
struct Directory {
    users: BTreeMap<String, User>,
    groups: membership::Groups,
    mfa_devices: mfa::Devices,
}

impl account::Directory for Directory {
    fn has_user(&self, name: &str) -> bool {
        self.users.contains_key(name)
    }
    fn mfa_devices(&mut self) -> &mut mfa::Devices {
        &mut self.mfa_devices
    }
}

#[derive(Clone, Serialize)]
struct User {
    /// UCloud's number for the user (`UserId` of its access keys).
    id: u64,
    display_name: String,
    email: String,
    status: UserStatus,
    created_at: i64,
    updates: u64,
    login_profile: Option<Profile>,
    /// Ids, states and dates only: a key's secret is shown once, in the reply that made it.
    access_keys: Vec<AccessKey>,
}

/// `Active` or `Frozen`. A name of its own so that serde does not take the field for text
/// borrowed from the input (it never is: [`user_status`] maps it to a constant).
type UserStatus = &'static str;

/// A user's `Status` as UpdateUser takes it (`Active` unfreezes, `Frozen` freezes).
fn user_status(s: &str) -> Option<UserStatus> {
    ["Active", "Frozen"].into_iter().find(|v| *v == s)
}

impl User {
    /// Its login profile; `name` is the user's, for the error.
    fn profile(&mut self, name: &str) -> Result<&mut Profile, ApiError> {
        self.login_profile.as_mut().ok_or_else(|| no_profile(name))
    }

    /// A new user as `CreateUser` leaves it: active, displayed by its name, with a new login
    /// profile and no access key.
    fn new(name: &str, now: OffsetDateTime) -> User {
        let digest = Sha256::digest(name.as_bytes());
        User {
            id: u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) >> 16,
            display_name: name.to_string(),
            email: String::new(),
            status: "Active",
            created_at: now.unix_timestamp(),
            updates: 0,
            login_profile: Some(Profile::new(now)),
            access_keys: Vec::new(),
        }
    }
}

#[derive(Clone, Serialize)]
struct Profile {
    #[serde(flatten)]
    login: Login,
    max_password_age: u32,
    /// The password was generated by `GenerateRandomPassword=true`.
    password_generated: bool,
    updated_at: i64,
}

impl Profile {
    fn new(now: OffsetDateTime) -> Profile {
        Profile {
            login: Login::default(),
            max_password_age: 0,
            password_generated: false,
            updated_at: now.unix_timestamp(),
        }
    }

    /// A random password nobody is told, as `GenerateRandomPassword=true` sets.
    fn generate_password(&mut self) {
        let random = uuid::Uuid::new_v4().simple().to_string();
        self.login.password_hash = Some(PasswordHash::new(&random));
        self.password_generated = true;
    }

    /// Applies `change` and a new `max_password_age`, dated `now`.
    fn change(&mut self, change: LoginChange, max_password_age: Option<u32>, now: OffsetDateTime) {
        if change.password.is_some() {
            self.password_generated = false;
        }
        change.apply(&mut self.login);
        self.max_password_age = max_password_age.unwrap_or(self.max_password_age);
        self.updated_at = now.unix_timestamp();
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Action {
    UpdateLoginProfile,
    GetLoginProfile,
    ListUsers,
    GetUserMFAInfo,
    CreateUser,
    GetUser,
    UpdateUser,
    DeleteUser,
    AddUserToGroup,
    RemoveUserFromGroup,
    ListGroups,
    ListUsersForGroup,
    ListAccessKeys,
    UpdateAccessKey,
    DeleteAccessKey,
}

/// Every action by its name, and whether it changes state (only writes are dropped).
const ACTIONS: [(Action, &str, bool); 15] = [
    (Action::UpdateLoginProfile, "UpdateLoginProfile", true),
    (Action::GetLoginProfile, "GetLoginProfile", false),
    (Action::ListUsers, "ListUsers", false),
    (Action::GetUserMFAInfo, "GetUserMFAInfo", false),
    (Action::CreateUser, "CreateUser", true),
    (Action::GetUser, "GetUser", false),
    (Action::UpdateUser, "UpdateUser", true),
    (Action::DeleteUser, "DeleteUser", true),
    (Action::AddUserToGroup, "AddUserToGroup", true),
    (Action::RemoveUserFromGroup, "RemoveUserFromGroup", true),
    (Action::ListGroups, "ListGroups", false),
    (Action::ListUsersForGroup, "ListUsersForGroup", false),
    (Action::ListAccessKeys, "ListAccessKeys", false),
    (Action::UpdateAccessKey, "UpdateAccessKey", true),
    (Action::DeleteAccessKey, "DeleteAccessKey", true),
];

impl Action {
    fn parse(name: &str) -> Option<Action> {
        ACTIONS
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(a, _, _)| *a)
    }

    fn entry(self) -> &'static (Action, &'static str, bool) {
        ACTIONS
            .iter()
            .find(|(a, _, _)| *a == self)
            .expect("every action is in the table")
    }

    fn name(self) -> &'static str {
        self.entry().1
    }

    fn is_write(self) -> bool {
        self.entry().2
    }
}

/// An authenticated request.
pub enum Call {
    Iam { action: Action, params: Params },
    Sts(sts::Call),
}

/// A UCloud error reply, before it is sent. HTTP 200 but for a path that is not the API.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    ret_code: u32,
    message: String,
}

impl ApiError {
    fn new(ret_code: u32, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::OK,
            ret_code,
            message: message.into(),
        }
    }

    /// The reply, naming the action when the request named one.
    fn reply(self, action: Option<&str>) -> Reply {
        let mut body = json!({ "RetCode": self.ret_code, "Message": self.message });
        if let Some(action) = action.filter(|a| !a.is_empty()) {
            body["Action"] = format!("{action}Response").into();
        }
        answer(self.status, &body).with_code(self.ret_code.to_string())
    }
}

fn invalid(name: &str, why: &str) -> ApiError {
    ApiError::new(230, format!("Params [{name}] not available: {why}"))
}

fn no_user(name: &str) -> ApiError {
    ApiError::new(11021, format!("User [{name}] not exist"))
}

fn exists(name: &str) -> ApiError {
    ApiError::new(11208, format!("User [{name}] already exists"))
}

fn no_profile(name: &str) -> ApiError {
    ApiError::new(11021, format!("LoginProfile of user [{name}] not exist"))
}

/// A reply with a fresh `X-UCLOUD-REQUEST-UUID`.
fn answer(status: StatusCode, body: &Value) -> Reply {
    Reply::json(status, body).with_header("x-ucloud-request-uuid", uuid::Uuid::new_v4().to_string())
}

/// A successful reply: `fields` plus `Action` and `RetCode` 0.
fn ok(action: Action, fields: Value) -> Reply {
    let mut body = json!({ "Action": format!("{}Response", action.name()), "RetCode": 0 });
    if let (Value::Object(body), Value::Object(fields)) = (&mut body, fields) {
        body.extend(fields);
    }
    answer(StatusCode::OK, &body)
}

impl ParamErrors for ApiError {
    fn missing(name: &str) -> ApiError {
        ApiError::new(220, format!("Missing params [{name}]"))
    }

    fn invalid(name: &str, why: &str) -> ApiError {
        invalid(name, why)
    }
}

/// The parameters of a request as received: a POST's body (form or JSON) when it has one, else
/// the query string. A name given twice is refused: which one the server would take is a guess.
fn decode(request: &Incoming) -> Result<Params, ApiError> {
    let content_type = request
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let pairs: Vec<(String, String)> = if request.method == Method::POST && !request.body.is_empty()
    {
        if content_type.starts_with("application/json") {
            json_params(&request.body)?
        } else {
            form_urlencoded::parse(&request.body).into_owned().collect()
        }
    } else {
        form_urlencoded::parse(request.query.as_bytes())
            .into_owned()
            .collect()
    };
    for (i, (name, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(k, _)| k == name) {
            return Err(invalid(name, "given more than once"));
        }
    }
    Ok(Params(pairs))
}

/// A JSON object's members as the SDKs sign them.
fn json_params(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let object: Map<String, Value> = serde_json::from_slice(body)
        .map_err(|e| ApiError::new(230, format!("the JSON body is not an object: {e}")))?;
    let mut pairs = Vec::new();
    for (name, value) in object {
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(b) => b.to_string(),
            // Integers print in decimal; a float as Rust's `f64` Display, the SDKs' form.
            Value::Number(n) => match n.as_f64() {
                Some(f) if n.is_f64() => f.to_string(),
                _ => n.to_string(),
            },
            Value::Array(_) | Value::Object(_) => {
                return Err(invalid(&name, "IAM takes no lists or objects"));
            }
        };
        pairs.push((name, text));
    }
    Ok(pairs)
}

impl Service for Iam {
    const KIND: ProviderKind = ProviderKind::Ucloud;
    type Call = Call;

    fn new(setup: Setup) -> Result<Iam, String> {
        let users = account::user_names(&setup.users, "user names (strings)", |s| !s.is_empty())?;
        let directory = Directory {
            users: users
                .into_iter()
                .map(|name| (name.to_string(), User::new(name, setup.now)))
                .collect(),
            groups: membership::Groups::new(),
            mfa_devices: mfa::Devices::default(),
        };
        let account = Account::new(
            (ACCOUNT_ID, ACCOUNT_ID),
            (PUBLIC_KEY, PRIVATE_KEY),
            setup.accounts,
            setup.token_ttl,
            directory,
            None,
        )?;
        Ok(Iam { account })
    }

    fn admit(&self, request: &Incoming, now: OffsetDateTime) -> Admission<Call> {
        let params = match decode(request) {
            Ok(p) if request.is_rpc() && p.get("Action") == Some(sts::ACTION) => {
                let Admission { meta, call } = sts::admit(&self.account, p, now);
                let call = call.map(Call::Sts);
                return Admission { meta, call };
            }
            decoded => decoded,
        };
        let named = |name| {
            params
                .as_ref()
                .ok()
                .and_then(|p| p.get(name))
                .unwrap_or_default()
                .to_string()
        };
        let mut meta = Meta {
            account: named("PublicKey"),
            account_id: String::new(),
            action: named("Action"),
            user: named("UserName"),
            write: Action::parse(&named("Action")).is_some_and(Action::is_write),
        };
        let call = params
            .and_then(|params| {
                if !request.is_rpc() {
                    return Err(ApiError {
                        status: StatusCode::NOT_FOUND,
                        ..ApiError::new(161, "UCloud's API is POST or GET at /")
                    });
                }
                let action = self.authenticate(&params, now)?;
                Ok(Call::Iam { action, params })
            })
            .map_err(|e| e.reply(Some(&meta.action)));
        if call.is_ok() {
            meta.account_id = ACCOUNT_ID.to_string();
        }
        Admission { meta, call }
    }

    fn apply(&self, call: Call, now: OffsetDateTime) -> Reply {
        let (action, params) = match call {
            Call::Iam { action, params } => (action, params),
            Call::Sts(call) => return sts::apply(&self.account, call, now),
        };
        let p = &params;
        let result = match action {
            Action::UpdateLoginProfile => self.update(p, now),
            Action::GetLoginProfile => self.get(p),
            Action::ListUsers => self.list_users(p),
            Action::GetUserMFAInfo => self.user_mfa(p),
            Action::CreateUser => self.create_user(p, now),
            Action::GetUser => self.get_user(p),
            Action::UpdateUser => self.update_user(p),
            Action::DeleteUser => self.delete_user(p),
            Action::AddUserToGroup => self.add_to_group(p, now),
            Action::RemoveUserFromGroup => self.remove_from_group(p),
            Action::ListGroups => Ok(self.list_groups()),
            Action::ListUsersForGroup => self.list_users_for_group(p),
            Action::ListAccessKeys => self.list_access_keys(p),
            Action::UpdateAccessKey => self.update_access_key(p, now),
            Action::DeleteAccessKey => self.delete_access_key(p),
        };
        match result {
            Ok(fields) => ok(action, fields),
            Err(e) => e.reply(Some(action.name())),
        }
    }

    fn throttled(&self, _retry_after: Duration) -> Reply {
        ApiError::new(153, "Request Too Frequent").reply(None)
    }

    fn fault(&self) -> Reply {
        ApiError::new(150, "Service Unavailable, please retry later").reply(None)
    }

    fn state(&self) -> Value {
        self.account.state()
    }

    fn has_password(&self, account: Option<&str>, name: &str, password: &str) -> Option<bool> {
        if account.is_some_and(|a| a != ACCOUNT_ID) {
            return None;
        }
        let profile = |user: &User| {
            user.login_profile
                .as_ref()
                .map(|p| p.login.has_password(password))
        };
        profile(self.account.lock().users.get(name)?)?
    }

    /// A user not there is added with a new profile, unlike on Alibaba, as UCloud users always have
    /// one. Groups are UCloud's own part of the patch: checked with the rest, applied after the users.
    fn tamper(&self, patch: &Value, now: OffsetDateTime) -> Result<(), String> {
        (self.account).tamper(patch, now, |directory, _, mut patch| {
            let groups = membership::Patch::take(&mut patch, &directory.groups)?;
            account::patch_directory(
                directory,
                patch,
                |directory: &mut Directory, name, patch: UserPatch| {
                    let user = (directory.users)
                        .entry(name)
                        .or_insert_with_key(|name| User::new(name, now));
                    patch.apply(user, now);
                },
            )?;
            groups.apply(&mut directory.groups, now);
            Ok(())
        })
    }
}

impl Iam {
    /// `Action`, `Signature`, `PublicKey`, the signature, then whether the action exists.
    fn authenticate(&self, params: &Params, now: OffsetDateTime) -> Result<Action, ApiError> {
        let action = params
            .required::<ApiError>("Action")
            .map_err(|_| ApiError::new(160, "Missing Action"))?;
        let signature = params
            .required::<ApiError>("Signature")
            .map_err(|_| ApiError::new(170, "Missing signature"))?;
        let private_key = self
            .account
            .secret(
                params.get("PublicKey").unwrap_or_default(),
                params.get("SecurityToken"),
                now,
            )
            .map_err(|e| match e {
                KeyError::UnknownKey => ApiError::new(172, "User Not Exists"),
                _ => ApiError::new(174, "Token Not Found"),
            })?;
        if !verify::verify(&params.0, private_key.expose(), signature) {
            return Err(ApiError::new(171, "Signature VerifyAC Error"));
        }
        Action::parse(action)
            .ok_or_else(|| ApiError::new(161, format!("Action [{action}] not available")))
    }

    /// The user named by `UserName`; one nobody created does not exist.
    fn user<'d>(&self, directory: &'d mut Directory, name: &str) -> Result<&'d mut User, ApiError> {
        directory.users.get_mut(name).ok_or_else(|| no_user(name))
    }

    fn update(&self, p: &Params, now: OffsetDateTime) -> Result<Value, ApiError> {
        let name = p.required("UserName")?;
        let change = LoginChange::from_params(p)?;
        let email = email(p, "UserEmail")?;
        check_password(change.password.as_deref())?;
        let generate = p.boolean("GenerateRandomPassword")?.unwrap_or(false);
        let max_password_age = p
            .number("MaxPasswordAge")?
            .map(|n| u32::try_from(n).map_err(|_| invalid("MaxPasswordAge", "too large")))
            .transpose()?;

        let mut directory = self.account.lock();
        let user = self.user(&mut directory, name)?;
        let profile = user.profile(name)?;
        if generate && change.password.is_none() {
            profile.generate_password();
        }
        profile.change(change, max_password_age, now);
        if let Some(email) = email {
            user.email = email.to_string();
        }
        user.updates += 1;
        Ok(json!({ "LoginProfile": {}, "Message": "Success" }))
    }

    fn get(&self, p: &Params) -> Result<Value, ApiError> {
        let name = p.required("UserName")?;
        let mut directory = self.account.lock();
        let profile = self.user(&mut directory, name)?.profile(name)?;
        Ok(json!({ "LoginProfile": {
            "Status": profile.login.status,
            "MaxPasswordAge": profile.max_password_age,
            "MFABindRequired": profile.login.mfa_bind_required,
        }}))
    }

    fn user_mfa(&self, p: &Params) -> Result<Value, ApiError> {
        let name = p.required("UserName")?;
        let mut directory = self.account.lock();
        self.user(&mut directory, name)?;
        Ok(json!({ "IsMFAEnable": directory.mfa_devices.of(name).is_some() }))
    }

    /// Users in name order, `Limit` from `Offset`.
    fn list_users(&self, p: &Params) -> Result<Value, ApiError> {
        let (offset, limit) = page(p)?;
        let directory = self.account.lock();
        let users: Vec<Value> = directory
            .users
            .iter()
            .skip(offset)
            .take(limit)
            .map(|(name, user)| {
                json!({
                    "UserName": name,
                    "DisplayName": user.display_name,
                    "Email": user.email,
                    "Status": user.status,
                    "CreatedAt": user.created_at,
                    "ConsoleAccess": user.login_profile.as_ref().is_some_and(|p| p.login.status == "Active"),
                    "APIAccess": user.access_keys.iter().any(|k| k.status == "Active"),
                })
            })
            .collect();
        Ok(json!({ "Message": "", "TotalCount": directory.users.len(), "Users": users }))
    }
}

/// `Offset` (default 0) and `Limit` (1 to 100, default 10) of a listing.
fn page(p: &Params) -> Result<(usize, usize), ApiError> {
    let offset = p.number("Offset")?.unwrap_or(0);
    let limit = p.number("Limit")?.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(invalid("Limit", &format!("use 1 to {MAX_LIMIT}")));
    }
    Ok((offset, limit))
}

/// An email parameter, if given: it must look like an address.
fn email<'p>(p: &'p Params, name: &str) -> Result<Option<&'p str>, ApiError> {
    match p.get(name) {
        Some(e) if !e.contains('@') => Err(invalid(name, "not an email address")),
        email => Ok(email),
    }
}

/// The password policy: at least [`MIN_PASSWORD_LEN`] characters.
fn check_password(password: Option<&str>) -> Result<(), ApiError> {
    match password {
        Some(pw) if pw.chars().count() < MIN_PASSWORD_LEN => Err(invalid(
            "Password",
            &format!("the password policy needs at least {MIN_PASSWORD_LEN} characters"),
        )),
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    display_name: Option<String>,
    email: Option<String>,
    #[serde(default, deserialize_with = "patch_status")]
    status: Option<UserStatus>,
    created_at: Option<i64>,
    access_keys: Option<Vec<KeyPatch>>,
    #[serde(default)]
    login_profile: ProfileSlot<OwnFields>,
}

impl UserPatch {
    fn apply(self, user: &mut User, now: OffsetDateTime) {
        let UserPatch {
            display_name,
            email,
            status,
            created_at,
            access_keys,
            login_profile,
        } = self;
        for (field, value) in [
            (&mut user.display_name, display_name),
            (&mut user.email, email),
        ] {
            if let Some(value) = value {
                *field = value;
            }
        }
        user.status = status.unwrap_or(user.status);
        user.created_at = created_at.unwrap_or(user.created_at);
        if let Some(keys) = access_keys {
            user.access_keys = keys.into_iter().map(|k| k.key(now)).collect();
        }
        let change = |profile: &mut Profile, patch: ProfilePatch<OwnFields>| {
            profile.change(patch.change, patch.own.max_password_age, now);
        };
        login_profile.apply(&mut user.login_profile, || Profile::new(now), change);
    }
}

fn patch_status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<UserStatus>, D::Error> {
    let s = String::deserialize(d)?;
    user_status(&s)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("status '{s}': use Active or Frozen")))
}

/// UCloud's own field of a login profile's patch.
#[derive(Deserialize)]
struct OwnFields {
    max_password_age: Option<u32>,
}

#[cfg(test)]
mod tests;
