//! Alibaba Cloud IMS 2019-08-15 (docs/providers.md §2): the RPC API at `/`, GET or POST, parameters in
//! the query string and/or an `application/x-www-form-urlencoded` body (merged). Signature V1 is
//! checked on the parameters as they arrived, with this module's own canonicalisation (`verify.rs`,
//! tested against Alibaba's published vectors); then `Version`, `Format=JSON` (any case), the key,
//! the timestamp (±15 min) and the nonce (once in 15 min). `Version=2019-08-15` is IMS;
//! `Version=2015-05-01` is RAM 2015 (`ram.rs`: `ListPoliciesForUser`, `DetachPolicyFromUser`, keyed
//! by the short `UserName`), in reality at `ram.aliyuncs.com`, here on the same port and checked the
//! same way. A `SecurityToken` (signed like any
//! parameter) must be the one issued with its temporary `AccessKeyId`: a token never issued is 400
//! `InvalidSecurityToken.Malformed`, one issued with another key 400
//! `InvalidSecurityToken.MismatchWithAccessKey`, an expired one 400 `InvalidSecurityToken.Expired`,
//! and a temporary key without its token 400 `MissingSecurityToken`. Actions: `CreateLoginProfile`, `UpdateLoginProfile`, `GetLoginProfile`,
//! `DeleteLoginProfile`, `ListUsers`, and for MFA devices (`mfa.rs`) `ListVirtualMFADevices`
//! (`Marker`, `MaxItems` 1-100, default 100; virtual devices only, an unbound one with `"User": {}`)
//! and `GetUserMFAInfo` (the user's device and its `Type`, `VMFA` or `U2F`; none bound: 404
//! `EntityNotExist.User.MFADevice`). Errors are `{"RequestId","HostId","Code","Message"}` with
//! the header `x-acs-request-id`; throttling is 400 `Throttling.User` with `x-acs-retry-after` (ms).
//!
//! User lifecycle (`users.rs`): `CreateUser` (`DisplayName` required, 1-24 characters; the name
//! must be `<name>@<default domain>`, else 400 `InvalidParameter.UserPrincipalName.Domain`, this
//! emulator's code; taken, also by the same short name in another domain: 409
//! `EntityAlreadyExists.User`), `GetUser` (by `UserPrincipalName`, `UserId` or
//! `UserAccessKeyId`), `UpdateUser` (`New*`), `DeleteUser` (409 `DeleteConflict.User.AccessKey`,
//! `.LoginProfile`, `.MFADevice`, `.Group`, `.Policy`, checked in that order; then the user moves
//! to the recycle bin, `bin.rs`), `AddUserToGroup` (404 `EntityNotExist.Group`, 409
//! `EntityAlreadyExists.User.Group`), `RemoveUserFromGroup` (404 `EntityNotExist.User.Group`),
//! `ListGroupsForUser`, `ListAccessKeys`, `UpdateAccessKey`, `DeleteAccessKey` (404
//! `EntityNotExist.User.AccessKey`; the account has no keys of its own here, so these three need
//! `UserPrincipalName`), `UnbindMFADevice` (404 `EntityNotExist.User.MFADevice`; a virtual device
//! stays in the account, unbound), `GetDefaultDomain`, `ListUsersInRecycleBin` (`Marker`,
//! `MaxItems` 1-100, `Filter` `UserPrincipalName eq <name>` or `UserId eq <id>`).
//!
//! Users exist only if the users file, the demo set, a patch or `CreateUser` made them: any other
//! user is 404 `EntityNotExist.User`, on every action.
//!
//! Accounts: the main account is [`ACCOUNT_ID`]; a patch's `accounts` adds others (the members of
//! its resource directory). A request acts on the directory of the account its key belongs to:
//! the RAM keys the main account's, an `STS.` key the account of the role it was issued for
//! (`sts/aliyun.rs`). `Version=2020-03-31` is Resource Directory (`resourcemanager.rs`:
//! `ListAccounts`), checked as IMS is.
//!
//! State: `{"default_domain", "users": {"<upn>": {"user_id", "display_name", "email",
//! "mobile_phone", "comments", "create_date", "update_date", "creates", "login_profile": null |
//! {"status", "mfa_bind_required", "password_reset_required", "password_hash": null | {"salt",
//! "sha256"}, "create_date", "update_date"}, "groups": {"<group>": "<join date>"}, "access_keys":
//! {"<id>": {"status", "create_date", "update_date"}}, "policies": {"<name>": {"policy_type",
//! "default_version", "description", "attach_date"}}}}, "groups": {"<name>": {"group_id",
//! "display_name", "comments", "create_date"}}, "recycle_bin": {"users": [{"user_principal_name",
//! "user_id", "display_name", "create_date", "recycle_date", "delete_date"}]}, "mfa_devices":
//! (mfa.rs), "temporary_keys": {"<id>": {"expires_at"}}}`. Dates are `yyyy-MM-ddTHH:mm:ssZ`; no
//! access key has a secret here.
//!
//! Patch (`POST /_emulator/state` with `{"aliyun": <patch>}`): `{"groups": {"<name>": null |
//! {"display_name", "comments"}}, "users": {"<upn>": {"login_profile": null | {"status",
//! "mfa_bind_required", "password_reset_required", "password"}, "display_name", "email",
//! "mobile_phone", "comments", "create_date", "groups": ["<name>"], "access_keys": {"<id>":
//! {"status", "create_date"}}, "policies": {"<name>": {"policy_type", "default_version",
//! "description"}}}}, "mfa_devices": (mfa.rs, by principal name), "temporary_keys": {"<id>":
//! {"secret", "security_token", "expires_at"}}}`, every field optional but a temporary key's
//! secret and token and a policy's `policy_type` (`System` or `Custom`). A group not there is added
//! (display name its name), `null` removes it and its memberships. A user not there is added (in
//! any domain; display name its short name); the fields given are set, and `groups`,
//! `access_keys` and `policies` each replace what the user had (a membership kept keeps its join
//! date; a key's `status` defaults to `Active`, its date and an attachment's to now, a policy's
//! version to `v1`). `null` removes the login profile; an object sets the fields given, on a new
//! profile (defaults `Active`, `false`, `false`) if there is none. Dates are RFC 3339. A group a
//! user is put in must exist or be added by the same patch. A temporary key is accepted with its
//! token until `expires_at` (RFC 3339; default: the token lifetime from now). A patch never counts
//! as a create.
//!
//! `"accounts": {"<id>": {"name", "status", "join_method", "default_domain", "groups", "users",
//! "mfa_devices"}}` patches other accounts (never the main one): an account not there is added
//! (name its id, status `CreateSuccess`, join method `created`, default domain
//! `<id>.onaliyun.com`), then the fields given set and `groups`, `users` and `mfa_devices` applied
//! to its directory as above. `status` is a Resource Directory status (`CreateSuccess`,
//! `InviteSuccess`, `CreateVerifying`, `Removed`...); only a member in `CreateSuccess`,
//! `InviteSuccess` or a `Promote*` status may be reached through a role. `join_method` is `created`
//! or `invited`. No two accounts share a name. The whole patch is checked on copies and applied
//! only if every part is accepted. The state has them under `"accounts"`: each account's state as
//! above plus `name`, `status` and `join_method`.

use super::account::{self, Account, Scope};
use super::login::{Login, LoginChange};
use super::params::{ParamErrors, Params};
use super::replay::{self, Nonces};
use super::service::{Admission, Incoming, Meta, Reply, Service, Setup, request_id};
use super::sts::aliyun as sts;
use super::temporary::KeyError;
use crate::jobs::ProviderKind;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde_json::{Value, json};
use std::ops::Bound;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

mod bin;
mod directory;
mod patch;
mod ram;
mod resourcemanager;
mod users;
pub(super) mod verify;

use directory::{Directory, User};

/// The built-in test key: the emulated account issued it (the client's `--emulator` uses it).
const ACCESS_KEY_ID: &str = "emulator-aliyun-key";
const ACCESS_KEY_SECRET: &str = "emulator-aliyun-secret";
/// The emulated main account's id: the management account of its resource directory.
pub(super) const ACCOUNT_ID: &str = "1000000000000001";
const VERSION: &str = "2019-08-15";
const HOST_ID: &str = "ims.aliyuncs.com";
/// ListUsers' page size when `MaxItems` is not given, and its bounds.
const DEFAULT_MAX_ITEMS: usize = 100;
const MAX_ITEMS: usize = 1000;
/// ListVirtualMFADevices' largest page, also its default.
const MAX_MFA_ITEMS: usize = 100;
/// The default password policy's minimum length.
const MIN_PASSWORD_LEN: usize = 8;

pub struct Ims {
    account: Account<Directory>,
    nonces: Nonces,
}

#[derive(Clone, Serialize)]
pub struct Profile {
    #[serde(flatten)]
    login: Login,
    create_date: String,
    update_date: String,
}

impl Profile {
    fn new(now: OffsetDateTime) -> Profile {
        let date = iso8601_seconds(now);
        Profile {
            login: Login::default(),
            create_date: date.clone(),
            update_date: date,
        }
    }

    /// Applies `change`, dated `now`.
    fn change(&mut self, change: LoginChange, now: OffsetDateTime) {
        change.apply(&mut self.login);
        self.update_date = iso8601_seconds(now);
    }

    /// The `LoginProfile` object of the replies.
    fn wire(&self, upn: &str) -> Value {
        json!({
            "UserPrincipalName": upn,
            "Status": self.login.status,
            "MFABindRequired": self.login.mfa_bind_required,
            "PasswordResetRequired": self.login.password_reset_required,
            "UpdateDate": self.update_date,
        })
    }
}

/// The API a request is for, named by its `Version`: IMS, or RAM 2015-05-01 (in reality at
/// `ram.aliyuncs.com`; served here on the same port).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Product {
    Ims,
    Ram,
    ResourceManager,
}

impl Product {
    fn of_version(version: &str) -> Option<Product> {
        match version {
            VERSION => Some(Product::Ims),
            ram::VERSION => Some(Product::Ram),
            resourcemanager::VERSION => Some(Product::ResourceManager),
            _ => None,
        }
    }

    /// The `HostId` of its error replies.
    fn host(self) -> &'static str {
        match self {
            Product::Ims => HOST_ID,
            Product::Ram => ram::HOST_ID,
            Product::ResourceManager => resourcemanager::HOST_ID,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Action {
    CreateLoginProfile,
    UpdateLoginProfile,
    GetLoginProfile,
    DeleteLoginProfile,
    ListUsers,
    ListVirtualMFADevices,
    GetUserMFAInfo,
    CreateUser,
    GetUser,
    UpdateUser,
    DeleteUser,
    AddUserToGroup,
    RemoveUserFromGroup,
    ListGroupsForUser,
    ListAccessKeys,
    UpdateAccessKey,
    DeleteAccessKey,
    UnbindMFADevice,
    GetDefaultDomain,
    ListUsersInRecycleBin,
    ListPoliciesForUser,
    DetachPolicyFromUser,
    ListAccounts,
}

/// Every action: its API, its name, and whether it changes state.
const ACTIONS: &[(Product, &str, Action, bool)] = &[
    (
        Product::Ims,
        "CreateLoginProfile",
        Action::CreateLoginProfile,
        true,
    ),
    (
        Product::Ims,
        "UpdateLoginProfile",
        Action::UpdateLoginProfile,
        true,
    ),
    (
        Product::Ims,
        "GetLoginProfile",
        Action::GetLoginProfile,
        false,
    ),
    (
        Product::Ims,
        "DeleteLoginProfile",
        Action::DeleteLoginProfile,
        true,
    ),
    (Product::Ims, "ListUsers", Action::ListUsers, false),
    (
        Product::Ims,
        "ListVirtualMFADevices",
        Action::ListVirtualMFADevices,
        false,
    ),
    (
        Product::Ims,
        "GetUserMFAInfo",
        Action::GetUserMFAInfo,
        false,
    ),
    (Product::Ims, "CreateUser", Action::CreateUser, true),
    (Product::Ims, "GetUser", Action::GetUser, false),
    (Product::Ims, "UpdateUser", Action::UpdateUser, true),
    (Product::Ims, "DeleteUser", Action::DeleteUser, true),
    (Product::Ims, "AddUserToGroup", Action::AddUserToGroup, true),
    (
        Product::Ims,
        "RemoveUserFromGroup",
        Action::RemoveUserFromGroup,
        true,
    ),
    (
        Product::Ims,
        "ListGroupsForUser",
        Action::ListGroupsForUser,
        false,
    ),
    (
        Product::Ims,
        "ListAccessKeys",
        Action::ListAccessKeys,
        false,
    ),
    (
        Product::Ims,
        "UpdateAccessKey",
        Action::UpdateAccessKey,
        true,
    ),
    (
        Product::Ims,
        "DeleteAccessKey",
        Action::DeleteAccessKey,
        true,
    ),
    (
        Product::Ims,
        "UnbindMFADevice",
        Action::UnbindMFADevice,
        true,
    ),
    (
        Product::Ims,
        "GetDefaultDomain",
        Action::GetDefaultDomain,
        false,
    ),
    (
        Product::Ims,
        "ListUsersInRecycleBin",
        Action::ListUsersInRecycleBin,
        false,
    ),
    (
        Product::Ram,
        "ListPoliciesForUser",
        Action::ListPoliciesForUser,
        false,
    ),
    (
        Product::Ram,
        "DetachPolicyFromUser",
        Action::DetachPolicyFromUser,
        true,
    ),
    (
        Product::ResourceManager,
        "ListAccounts",
        Action::ListAccounts,
        false,
    ),
];

impl Action {
    /// The action of this name in `product`'s API, and whether it writes.
    fn parse(product: Product, name: &str) -> Option<(Action, bool)> {
        ACTIONS
            .iter()
            .find(|(p, n, _, _)| *p == product && *n == name)
            .map(|&(_, _, action, write)| (action, write))
    }
}

/// An authenticated request.
pub enum Call {
    Api {
        product: Product,
        action: Action,
        params: Params,
        /// The account the credentials belong to.
        scope: Scope<Directory>,
    },
    Sts(sts::Call),
}

/// A parameter that must have one value.
fn expect(params: &Params, name: &str, wanted: &str) -> Result<(), ApiError> {
    match params.get(name) {
        Some(v) if v == wanted => Ok(()),
        _ => Err(invalid(name, &format!("this API takes {name}={wanted}"))),
    }
}

impl ParamErrors for ApiError {
    fn missing(name: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            format!(
                "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
            ),
        )
    }

    fn invalid(name: &str, why: &str) -> ApiError {
        invalid(name, why)
    }
}

/// An API error reply, before it gets its request id (IMS, RAM 2015 and STS alike).
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(super) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// The reply, with the `HostId` of `product`.
    fn reply(self, product: Product) -> Reply {
        self.reply_from(product.host())
    }

    /// The reply of the service whose `HostId` is `host`.
    pub(super) fn reply_from(self, host: &'static str) -> Reply {
        let id = request_id();
        let body = json!({
            "RequestId": id,
            "HostId": host,
            "Code": self.code,
            "Message": self.message,
        });
        Reply::json(self.status, &body)
            .with_header("x-acs-request-id", id)
            .with_code(self.code)
    }
}

fn invalid(name: &str, why: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        format!("The specified parameter \"{name}\" is not valid: {why}."),
    )
}

/// The user of this principal name; one nobody created does not exist.
fn user<'d>(directory: &'d mut Directory, upn: &str) -> Result<&'d mut User, ApiError> {
    directory.users.get_mut(upn).ok_or_else(|| no_user(upn))
}

fn no_user(upn: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "EntityNotExist.User",
        format!("The user {upn} does not exist."),
    )
}

fn no_profile(upn: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "EntityNotExist.User.LoginProfile",
        format!("The login profile of the user {upn} does not exist."),
    )
}

fn check_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter.Password.TooWeak",
            format!(
                "The password does not meet the password policy: at least {MIN_PASSWORD_LEN} characters."
            ),
        ));
    }
    Ok(())
}

/// A successful reply: `body` plus `RequestId`, and the same id in `x-acs-request-id`.
fn ok(mut body: Value) -> Reply {
    let id = request_id();
    body["RequestId"] = Value::from(id.as_str());
    Reply::json(StatusCode::OK, &body).with_header("x-acs-request-id", id)
}

impl Service for Ims {
    const KIND: ProviderKind = ProviderKind::Aliyun;
    type Call = Call;

    fn new(setup: Setup) -> Result<Ims, String> {
        let mut directory = Directory::new(setup.aliyun_default_domain);
        let what = "user principal names (strings)";
        for upn in account::user_names(&setup.users, what, |s| !s.is_empty())? {
            directory.add_user(upn, setup.now);
        }
        Ok(Ims {
            account: Account::new(
                (ACCOUNT_ID, ACCOUNT_ID),
                (ACCESS_KEY_ID, ACCESS_KEY_SECRET),
                setup.accounts,
                setup.token_ttl,
                directory,
                Some(resourcemanager::ORGANISATION),
            )?,
            nonces: Nonces::default(),
        })
    }

    fn admit(&self, request: &Incoming, now: OffsetDateTime) -> Admission<Call> {
        let params = Params(request.form_params());
        if sts::is_sts(&params) {
            let Admission { meta, call } =
                sts::admit(&self.account, &self.nonces, request, params, now);
            let call = call.map(Call::Sts);
            return Admission { meta, call };
        }
        let named = |name| params.get(name).unwrap_or_default().to_string();
        let product = params.get("Version").and_then(Product::of_version);
        let mut meta = Meta {
            account: named("AccessKeyId"),
            account_id: String::new(),
            action: named("Action"),
            // RAM 2015 names users by their short name.
            user: params
                .get("UserPrincipalName")
                .or(params.get("UserName"))
                .unwrap_or_default()
                .to_string(),
            write: product
                .zip(params.get("Action"))
                .and_then(|(product, name)| Action::parse(product, name))
                .is_some_and(|(_, write)| write),
        };
        let call = match self.authenticate(request, &params, now) {
            Ok((product, action, scope)) => {
                meta.account_id = scope.id.clone();
                Ok(Call::Api {
                    product,
                    action,
                    params,
                    scope,
                })
            }
            Err(e) => Err(e.reply(product.unwrap_or(Product::Ims))),
        };
        Admission { meta, call }
    }

    fn apply(&self, call: Call, now: OffsetDateTime) -> Reply {
        let (product, action, params, scope) = match call {
            Call::Api {
                product,
                action,
                params,
                scope,
            } => (product, action, params, scope),
            Call::Sts(call) => return sts::apply(&self.account, call, now),
        };
        let p = &params;
        let on = &scope;
        let result = match action {
            Action::CreateLoginProfile => on.create(p, now),
            Action::UpdateLoginProfile => on.update(p, now),
            Action::GetLoginProfile => on.get(p),
            Action::DeleteLoginProfile => on.delete(p),
            Action::ListUsers => on.list_users(p),
            Action::ListVirtualMFADevices => on.list_mfa_devices(p),
            Action::GetUserMFAInfo => on.user_mfa(p),
            Action::CreateUser => on.create_user(p, now),
            Action::GetUser => on.get_user(p),
            Action::UpdateUser => on.update_user(p, now),
            Action::DeleteUser => on.delete_user(p, now),
            Action::AddUserToGroup => on.add_to_group(p, now),
            Action::RemoveUserFromGroup => on.remove_from_group(p),
            Action::ListGroupsForUser => on.groups_of_user(p),
            Action::ListAccessKeys => on.list_keys(p),
            Action::UpdateAccessKey => on.update_key(p, now),
            Action::DeleteAccessKey => on.delete_key(p),
            Action::UnbindMFADevice => on.unbind_mfa(p),
            Action::GetDefaultDomain => Ok(on.default_domain()),
            Action::ListUsersInRecycleBin => on.recycled_users(p),
            Action::ListPoliciesForUser => on.policies_of_user(p),
            Action::DetachPolicyFromUser => on.detach_policy(p),
            Action::ListAccounts => resourcemanager::list_accounts(&self.account, on, p),
        };
        result.map_or_else(|e| e.reply(product), ok)
    }

    fn throttled(&self, retry_after: Duration) -> Reply {
        let ms = retry_after.as_nanos().div_ceil(1_000_000).max(1);
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "Throttling.User",
            "Request was denied due to user flow control.",
        )
        .reply(Product::Ims)
        .with_header("x-acs-retry-after", ms.to_string())
    }

    fn fault(&self) -> Reply {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        )
        .reply(Product::Ims)
    }

    fn state(&self) -> Value {
        self.account.state()
    }

    fn has_password(&self, account: Option<&str>, upn: &str, password: &str) -> Option<bool> {
        let scope = self.account.scope_or_main(account)?;
        let directory = scope.lock();
        (directory.users.get(upn)?.login_profile.as_ref()?)
            .login
            .has_password(password)
    }

    fn tamper(&self, patch: &Value, now: OffsetDateTime) -> Result<(), String> {
        (self.account).tamper(patch, now, |directory, id, patch| {
            patch::tamper_in(directory, id, patch, now)
        })
    }
}

impl Ims {
    /// Common parameters, key, signature, timestamp, nonce, in that order.
    fn authenticate(
        &self,
        request: &Incoming,
        params: &Params,
        now: OffsetDateTime,
    ) -> Result<(Product, Action, Scope<Directory>), ApiError> {
        let not_found = || {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            )
        };
        if !request.is_rpc() {
            return Err(not_found());
        }
        for name in [
            "Action",
            "Version",
            "AccessKeyId",
            "Signature",
            "SignatureMethod",
            "SignatureVersion",
            "SignatureNonce",
            "Timestamp",
        ] {
            params.required(name)?;
        }
        let product = Product::of_version(params.required("Version")?).ok_or_else(|| {
            invalid(
                "Version",
                &format!(
                    "this API takes Version={VERSION} (IMS), {} (RAM) or {} (Resource Directory)",
                    ram::VERSION,
                    resourcemanager::VERSION
                ),
            )
        })?;
        let (action, _) =
            Action::parse(product, params.required("Action")?).ok_or_else(not_found)?;
        // The SDKs send `json`, iambatch `JSON`: the gateway takes either.
        if !params
            .get("Format")
            .is_some_and(|f| f.eq_ignore_ascii_case("JSON"))
        {
            return Err(invalid("Format", "this API takes Format=JSON"));
        }
        expect(params, "SignatureMethod", "HMAC-SHA1")?;
        expect(params, "SignatureVersion", "1.0")?;

        signed(&self.account, &self.nonces, request, params, now)?;
        let scope = (self.account)
            .scope_of_key(params.required("AccessKeyId")?)
            .ok_or_else(|| key_error(KeyError::UnknownKey))?;
        Ok((product, action, scope))
    }
}

/// The actions, on the directory of the account the request acts on.
impl Scope<Directory> {
    fn create(&self, p: &Params, now: OffsetDateTime) -> Result<Value, ApiError> {
        let upn = p.required("UserPrincipalName")?;
        check_password(p.required("Password")?)?;
        let change = LoginChange::from_params(p)?;
        let mut directory = self.lock();
        let user = user(&mut directory, upn)?;
        if user.login_profile.is_some() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "EntityAlreadyExists.User.LoginProfile",
                format!("The login profile of the user {upn} already exists."),
            ));
        }
        user.creates += 1;
        let profile = user.login_profile.insert(Profile::new(now));
        profile.change(change, now);
        Ok(json!({ "LoginProfile": profile.wire(upn) }))
    }

    fn update(&self, p: &Params, now: OffsetDateTime) -> Result<Value, ApiError> {
        let upn = p.required("UserPrincipalName")?;
        if let Some(password) = p.get("Password") {
            check_password(password)?;
        }
        let change = LoginChange::from_params(p)?;
        let mut directory = self.lock();
        let user = user(&mut directory, upn)?;
        let profile = user.login_profile.as_mut().ok_or_else(|| no_profile(upn))?;
        profile.change(change, now);
        Ok(json!({ "LoginProfile": profile.wire(upn) }))
    }

    fn get(&self, p: &Params) -> Result<Value, ApiError> {
        let upn = p.required("UserPrincipalName")?;
        let mut directory = self.lock();
        let user = user(&mut directory, upn)?;
        let profile = user.login_profile.as_ref().ok_or_else(|| no_profile(upn))?;
        Ok(json!({ "LoginProfile": profile.wire(upn) }))
    }

    fn delete(&self, p: &Params) -> Result<Value, ApiError> {
        let upn = p.required("UserPrincipalName")?;
        let mut directory = self.lock();
        let user = user(&mut directory, upn)?;
        user.login_profile.take().ok_or_else(|| no_profile(upn))?;
        Ok(json!({}))
    }

    /// Users in name order; `Marker` is the next page's first name, base64-encoded (opaque to clients).
    /// Every emulated user is active: `Status` (`active`, the default, `freeze`, or both joined by
    /// `,`) lists them all unless it asks for frozen users only. No user has signed in, so there is
    /// no `LastLoginDate`.
    fn list_users(&self, p: &Params) -> Result<Value, ApiError> {
        let active = match p.get("Status") {
            None => true,
            Some(s) => {
                let wanted: Vec<&str> = s.split(',').map(str::trim).collect();
                if wanted.iter().any(|w| !["active", "freeze"].contains(w)) {
                    return Err(invalid("Status", "use active, freeze or active,freeze"));
                }
                wanted.contains(&"active")
            }
        };
        let (max_items, start) = paging(p, DEFAULT_MAX_ITEMS, MAX_ITEMS)?;
        let directory = self.lock();
        let from = start.as_deref().map_or(Bound::Unbounded, Bound::Included);
        let mut users = directory.users.range::<str, _>((from, Bound::Unbounded));
        let page: Vec<Value> = users
            .by_ref()
            .filter(|_| active)
            .take(max_items)
            .map(|(upn, user)| {
                let mut wire = user.wire(upn);
                wire["Status"] = "active".into();
                wire
            })
            .collect();
        let mut body = json!({ "Users": { "User": page } });
        truncated(
            &mut body,
            users
                .next()
                .filter(|_| active)
                .map(|(next, _)| next.as_str()),
        );
        Ok(body)
    }
}

impl Scope<Directory> {
    /// Virtual devices in serial-number order; `Marker` is the next page's first serial number,
    /// base64-encoded. A device never bound has `"User": {}`.
    fn list_mfa_devices(&self, p: &Params) -> Result<Value, ApiError> {
        let (max_items, start) = paging(p, MAX_MFA_ITEMS, MAX_MFA_ITEMS)?;
        let start = start.unwrap_or_default();
        let directory = &*self.lock();
        let mut devices = directory
            .mfa_devices
            .virtual_devices()
            .into_iter()
            .filter(|(serial, _)| *serial >= start.as_str());
        let page: Vec<Value> = devices
            .by_ref()
            .take(max_items)
            .map(
                |(serial, upn)| match upn.and_then(|u| directory.users.get_key_value(u)) {
                    Some((upn, user)) => json!({
                        "SerialNumber": serial,
                        // Bound when the user was made: the emulator keeps no binding time.
                        "ActivateDate": user.create_date,
                        "User": {
                            "UserPrincipalName": upn,
                            "UserId": user.user_id,
                            "DisplayName": user.display_name,
                        },
                    }),
                    None => json!({ "SerialNumber": serial, "User": {} }),
                },
            )
            .collect();
        let mut body = json!({ "VirtualMFADevices": { "VirtualMFADevice": page } });
        truncated(&mut body, devices.next().map(|(next, _)| next));
        Ok(body)
    }

    /// The user's bound device, virtual or security key.
    fn user_mfa(&self, p: &Params) -> Result<Value, ApiError> {
        let upn = p.required("UserPrincipalName")?;
        let mut directory = self.lock();
        let enabled = user(&mut directory, upn)?
            .login_profile
            .as_ref()
            .is_some_and(|profile| profile.login.mfa_bind_required);
        let device = directory.mfa_devices.of(upn).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "EntityNotExist.User.MFADevice",
                "The user has not bound any MFA device.",
            )
        })?;
        Ok(json!({
            "IsMFAEnable": enabled,
            "MFADevice": { "SerialNumber": device.serial_number, "Type": device.kind.name() },
        }))
    }
}

/// A listing's page size (`MaxItems`, 1 to `max`, `default` when not given) and first key
/// (`Marker`: the key base64-encoded, opaque to clients; none or empty: from the start).
fn paging(p: &Params, default: usize, max: usize) -> Result<(usize, Option<String>), ApiError> {
    let max_items = match p.get("MaxItems") {
        None => default,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| invalid("MaxItems", &format!("use 1 to {max}")))?,
    };
    let start = match p.get("Marker").filter(|m| !m.is_empty()) {
        None => None,
        Some(marker) => Some(
            BASE64
                .decode(marker)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| invalid("Marker", "pass the Marker of the previous page"))?,
        ),
    };
    Ok((max_items, start))
}

/// Ends a page's `body`: `IsTruncated`, and the `Marker` of the next page when it starts at `next`.
fn truncated(body: &mut Value, next: Option<&str>) {
    body["IsTruncated"] = next.is_some().into();
    if let Some(next) = next {
        body["Marker"] = BASE64.encode(next).into();
    }
}

/// The RPC gateway's checks after the common parameters, shared with STS: the key's secret (or
/// token) signs the request, the timestamp is well formed and fresh, the nonce is new.
pub(super) fn signed<D: account::Directory + Serialize>(
    account: &Account<D>,
    nonces: &Nonces,
    request: &Incoming,
    params: &Params,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let secret = account
        .secret(
            params.required("AccessKeyId")?,
            params.get("SecurityToken"),
            now,
        )
        .map_err(key_error)?;
    let signature = params.required("Signature")?;
    if !verify::verify(
        request.method.as_str(),
        &params.0,
        secret.expose(),
        signature,
    ) {
        // Real replies quote the server's string to sign; it may hold a password, so not here.
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation.",
        ));
    }
    let signed_at = OffsetDateTime::parse(params.required("Timestamp")?, &Rfc3339).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted: use yyyy-MM-ddTHH:mm:ssZ (UTC).",
        )
    })?;
    if !replay::fresh(signed_at, now) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    if !nonces.first_use(params.required("SignatureNonce")?, now) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    Ok(())
}

/// Alibaba's reply to a key or security token it does not accept.
pub(super) fn key_error(error: KeyError) -> ApiError {
    let (status, code, message) = match error {
        KeyError::UnknownKey => (
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        ),
        KeyError::MissingToken => (
            StatusCode::BAD_REQUEST,
            "MissingSecurityToken",
            "SecurityToken is mandatory for this action.",
        ),
        KeyError::UnknownToken => (
            StatusCode::BAD_REQUEST,
            "InvalidSecurityToken.Malformed",
            "Specified SecurityToken is malformed.",
        ),
        KeyError::TokenOfAnotherKey => (
            StatusCode::BAD_REQUEST,
            "InvalidSecurityToken.MismatchWithAccessKey",
            "Specified SecurityToken mismatch with the AccessKey.",
        ),
        KeyError::Expired => (
            StatusCode::BAD_REQUEST,
            "InvalidSecurityToken.Expired",
            "Specified SecurityToken is expired.",
        ),
    };
    ApiError::new(status, code, message)
}

/// `yyyy-MM-ddTHH:mm:ssZ`, Alibaba's dates.
pub(super) fn iso8601_seconds(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .expect("a UTC time always formats")
}

#[cfg(test)]
mod accounts_tests;
#[cfg(test)]
mod tests;
