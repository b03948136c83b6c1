//! Alibaba Cloud IMS 2019-08-15 (docs/providers.md §2): the RPC API at `/`, GET or POST, parameters in
//! the query string and/or an `application/x-www-form-urlencoded` body (merged). Signature V1 is
//! checked on the parameters as they arrived, with this module's own canonicalisation (`verify.rs`,
//! tested against Alibaba's published vectors); then `Version=2019-08-15`, `Format=JSON` (any case), the key,
//! the timestamp (±15 min) and the nonce (once in 15 min). A `SecurityToken` (signed like any
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
//! Users exist only if the users file, the demo set or a patch made them: any other
//! `UserPrincipalName` is 404 `EntityNotExist.User`, on every action.
//!
//! State: `{"users": {"<upn>": {"user_id", "create_date", "creates", "login_profile": null |
//! {"status", "mfa_bind_required", "password_reset_required", "password_hash": null | {"salt",
//! "sha256"}, "create_date", "update_date"}}}, "mfa_devices": (mfa.rs), "temporary_keys": {"<id>":
//! {"expires_at"}}}`.
//!
//! Patch (`POST /_emulator/state` with `{"aliyun": <patch>}`): `{"users": {"<upn>":
//! {"login_profile": null | {"status", "mfa_bind_required", "password_reset_required",
//! "password"}}}, "mfa_devices": (mfa.rs, by principal name), "temporary_keys": {"<id>": {"secret",
//! "security_token", "expires_at"}}}`, every field optional but a temporary key's secret and token. A user not there is added; `null` removes
//! the profile; an object sets the fields given, on a new profile (defaults `Active`, `false`,
//! `false`) if there is none. A temporary key is accepted with its token until `expires_at` (RFC
//! 3339; default: the token lifetime from now). A patch never counts as a create.

use super::account::{self, Account};
use super::login::{Login, LoginChange, NoOwnFields, ProfileSlot};
use super::mfa;
use super::params::{ParamErrors, Params};
use super::replay::{self, Nonces};
use super::service::{Admission, Incoming, Meta, Reply, Service, Setup, request_id};
use super::sts::aliyun as sts;
use super::temporary::KeyError;
use crate::jobs::ProviderKind;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

pub(super) mod verify;

/// The built-in test key: the emulated account issued it (the client's `--emulator` uses it).
const ACCESS_KEY_ID: &str = "emulator-aliyun-key";
const ACCESS_KEY_SECRET: &str = "emulator-aliyun-secret";
const VERSION: &str = "2019-08-15";
const HOST_ID: &str = "ims.aliyuncs.com";
/// ListUsers' page size when `MaxItems` is not given, and its bounds.
const DEFAULT_MAX_ITEMS: usize = 100;
const MAX_ITEMS: usize = 1000;
/// ListVirtualMFADevices' largest page, also its default.
const MAX_MFA_ITEMS: usize = 100;
/// The default password policy's minimum length.
const MIN_PASSWORD_LEN: usize = 8;
/// Alibaba user ids are 16 digits.
const FIRST_USER_ID: u64 = 2_000_000_000_000_000;

pub struct Ims {
    account: Account<Directory>,
    nonces: Nonces,
}

#[derive(Default, Serialize)]
struct Directory {
    users: BTreeMap<String, User>,
    mfa_devices: mfa::Devices,
    #[serde(skip)]
    last_id: u64,
}

#[derive(Serialize)]
struct User {
    user_id: String,
    create_date: String,
    /// Login profiles created through the API.
    creates: u64,
    login_profile: Option<Profile>,
}

#[derive(Serialize)]
struct Profile {
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

impl account::Directory for Directory {
    fn has_user(&self, upn: &str) -> bool {
        self.users.contains_key(upn)
    }
    fn mfa_devices(&mut self) -> &mut mfa::Devices {
        &mut self.mfa_devices
    }
}

impl Directory {
    /// The user, added first when `add` allows it.
    fn user(&mut self, upn: &str, add: bool, now: OffsetDateTime) -> Option<&mut User> {
        if !self.users.contains_key(upn) {
            if !add {
                return None;
            }
            self.last_id += 1;
            let user = User {
                user_id: (FIRST_USER_ID + self.last_id).to_string(),
                create_date: iso8601_seconds(now),
                creates: 0,
                login_profile: None,
            };
            self.users.insert(upn.to_string(), user);
        }
        self.users.get_mut(upn)
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
}

impl Action {
    fn parse(name: &str) -> Option<Action> {
        Some(match name {
            "CreateLoginProfile" => Action::CreateLoginProfile,
            "UpdateLoginProfile" => Action::UpdateLoginProfile,
            "GetLoginProfile" => Action::GetLoginProfile,
            "DeleteLoginProfile" => Action::DeleteLoginProfile,
            "ListUsers" => Action::ListUsers,
            "ListVirtualMFADevices" => Action::ListVirtualMFADevices,
            "GetUserMFAInfo" => Action::GetUserMFAInfo,
            _ => return None,
        })
    }

    fn is_write(self) -> bool {
        matches!(
            self,
            Action::CreateLoginProfile | Action::UpdateLoginProfile | Action::DeleteLoginProfile
        )
    }
}

/// An authenticated request.
pub enum Call {
    Ims { action: Action, params: Params },
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

/// An API error reply, before it gets its request id.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn reply(self) -> Reply {
        let id = request_id();
        let body = json!({
            "RequestId": id,
            "HostId": HOST_ID,
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
        let mut directory = Directory::default();
        let what = "user principal names (strings)";
        for upn in account::user_names(&setup.users, what, |s| !s.is_empty())? {
            directory.user(upn, true, setup.now);
        }
        Ok(Ims {
            account: Account::new(
                (ACCESS_KEY_ID, ACCESS_KEY_SECRET),
                setup.accounts,
                setup.token_ttl,
                directory,
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
        let meta = Meta {
            account: named("AccessKeyId"),
            action: named("Action"),
            user: named("UserPrincipalName"),
            write: params
                .get("Action")
                .and_then(Action::parse)
                .is_some_and(Action::is_write),
        };
        let call = self
            .authenticate(request, &params, now)
            .map(|action| Call::Ims { action, params })
            .map_err(ApiError::reply);
        Admission { meta, call }
    }

    fn apply(&self, call: Call, now: OffsetDateTime) -> Reply {
        let (action, params) = match call {
            Call::Ims { action, params } => (action, params),
            Call::Sts(call) => return sts::apply(&self.account, call, now),
        };
        let p = &params;
        let result = match action {
            Action::CreateLoginProfile => self.create(p, now),
            Action::UpdateLoginProfile => self.update(p, now),
            Action::GetLoginProfile => self.get(p, now),
            Action::DeleteLoginProfile => self.delete(p, now),
            Action::ListUsers => self.list_users(p),
            Action::ListVirtualMFADevices => self.list_mfa_devices(p),
            Action::GetUserMFAInfo => self.user_mfa(p, now),
        };
        result.map_or_else(ApiError::reply, ok)
    }

    fn throttled(&self, retry_after: Duration) -> Reply {
        let ms = retry_after.as_nanos().div_ceil(1_000_000).max(1);
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "Throttling.User",
            "Request was denied due to user flow control.",
        )
        .reply()
        .with_header("x-acs-retry-after", ms.to_string())
    }

    fn fault(&self) -> Reply {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        )
        .reply()
    }

    fn state(&self) -> Value {
        self.account.state()
    }

    fn has_password(&self, upn: &str, password: &str) -> Option<bool> {
        let directory = self.account.lock();
        (directory.users.get(upn)?.login_profile.as_ref()?)
            .login
            .has_password(password)
    }

    fn tamper(&self, patch: &Value, now: OffsetDateTime) -> Result<(), String> {
        self.account
            .patch(patch, now, |directory, upn, patch: UserPatch| {
                let user = directory.user(&upn, true, now).expect("adding is allowed");
                patch.login_profile.apply(
                    &mut user.login_profile,
                    || Profile::new(now),
                    |profile, patch| profile.change(patch.change, now),
                );
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
    ) -> Result<Action, ApiError> {
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
        let action = Action::parse(params.required("Action")?).ok_or_else(not_found)?;
        expect(params, "Version", VERSION)?;
        // The SDKs send `json`, iambatch `JSON`: the gateway takes either.
        if !params
            .get("Format")
            .is_some_and(|f| f.eq_ignore_ascii_case("JSON"))
        {
            return Err(invalid("Format", "this API takes Format=JSON"));
        }
        expect(params, "SignatureMethod", "HMAC-SHA1")?;
        expect(params, "SignatureVersion", "1.0")?;

        let secret = self
            .account
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
        let signed_at = OffsetDateTime::parse(params.required("Timestamp")?, &Rfc3339)
            .map_err(|_| {
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
        if !self
            .nonces
            .first_use(params.required("SignatureNonce")?, now)
        {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "SignatureNonceUsed",
                "Specified signature nonce was used already.",
            ));
        }
        Ok(action)
    }

    /// The user named by `UserPrincipalName`; one nobody created does not exist.
    fn user<'d>(
        &self,
        directory: &'d mut Directory,
        upn: &str,
        now: OffsetDateTime,
    ) -> Result<&'d mut User, ApiError> {
        directory.user(upn, false, now).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "EntityNotExist.User",
                format!("The user {upn} does not exist."),
            )
        })
    }

    fn create(&self, p: &Params, now: OffsetDateTime) -> Result<Value, ApiError> {
        let upn = p.required("UserPrincipalName")?;
        check_password(p.required("Password")?)?;
        let change = LoginChange::from_params(p)?;
        let mut directory = self.account.lock();
        let user = self.user(&mut directory, upn, now)?;
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
        let mut directory = self.account.lock();
        let user = self.user(&mut directory, upn, now)?;
        let profile = user.login_profile.as_mut().ok_or_else(|| no_profile(upn))?;
        profile.change(change, now);
        Ok(json!({ "LoginProfile": profile.wire(upn) }))
    }

    fn get(&self, p: &Params, now: OffsetDateTime) -> Result<Value, ApiError> {
        let upn = p.required("UserPrincipalName")?;
        let mut directory = self.account.lock();
        let user = self.user(&mut directory, upn, now)?;
        let profile = user.login_profile.as_ref().ok_or_else(|| no_profile(upn))?;
        Ok(json!({ "LoginProfile": profile.wire(upn) }))
    }

    fn delete(&self, p: &Params, now: OffsetDateTime) -> Result<Value, ApiError> {
        let upn = p.required("UserPrincipalName")?;
        let mut directory = self.account.lock();
        let user = self.user(&mut directory, upn, now)?;
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
        let directory = self.account.lock();
        let from = start.as_deref().map_or(Bound::Unbounded, Bound::Included);
        let mut users = directory.users.range::<str, _>((from, Bound::Unbounded));
        let page: Vec<Value> = users
            .by_ref()
            .filter(|_| active)
            .take(max_items)
            .map(|(upn, user)| {
                json!({
                    "UserPrincipalName": upn,
                    "UserId": user.user_id,
                    "DisplayName": upn.split('@').next().unwrap_or(upn),
                    "Email": "",
                    "MobilePhone": "",
                    "Comments": "",
                    "CreateDate": user.create_date,
                    "UpdateDate": user.create_date,
                    "Status": "active",
                    "ProvisionType": "Manual",
                })
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

impl Ims {
    /// Virtual devices in serial-number order; `Marker` is the next page's first serial number,
    /// base64-encoded. A device never bound has `"User": {}`.
    fn list_mfa_devices(&self, p: &Params) -> Result<Value, ApiError> {
        let (max_items, start) = paging(p, MAX_MFA_ITEMS, MAX_MFA_ITEMS)?;
        let start = start.unwrap_or_default();
        let directory = &*self.account.lock();
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
                            "DisplayName": upn.split('@').next().unwrap_or(upn),
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
    fn user_mfa(&self, p: &Params, now: OffsetDateTime) -> Result<Value, ApiError> {
        let upn = p.required("UserPrincipalName")?;
        let mut directory = self.account.lock();
        let enabled = self
            .user(&mut directory, upn, now)?
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

/// Alibaba's reply to a key or security token it does not accept.
fn key_error(error: KeyError) -> ApiError {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    #[serde(default)]
    login_profile: ProfileSlot<NoOwnFields>,
}
