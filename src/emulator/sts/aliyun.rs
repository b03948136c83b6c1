//! Alibaba Cloud STS 2015-04-01, on the IMS port: RPC requests whose `Version` is `2015-04-01`
//! come here. Signature V1, timestamp, nonce and security token are checked as IMS checks them.
//! `AssumeRole` (`RoleArn`, `RoleSessionName` 2–64 of `[A-Za-z0-9.@_-]`, `DurationSeconds`
//! 900–43200, default 3600, `ExternalId`) issues an `STS.` key with its `SecurityToken`; errors:
//! a role no patch declared 404 `EntityNotExist.Role` (the real code is not documented: this one
//! is a guess, classified like `NoPermission`), a root key or a caller the role does not trust 403
//! `NoPermission`, a bad name or duration 400 `InvalidParameter.RoleSessionName` /
//! `InvalidParameter.DurationSeconds`. The role's account (`acs:ram::<account id>:role/<name>`)
//! must be the main account or one of the patch's `accounts` in a reachable status (`CreateSuccess`,
//! `InviteSuccess`, a `Promote*` one), else the role is unknown too; the credentials issued act in
//! that account. `GetCallerIdentity` names the caller and its account:
//! a RAM user's key (the main account), or the role whose session a temporary key is.

use crate::emulator::account::{self, Account, Refusal};
use crate::emulator::aliyun::{ApiError, key_error, signed};
use crate::emulator::params::{ParamErrors, Params};
use crate::emulator::replay::Nonces;
use crate::emulator::service::{Admission, Incoming, Meta, Reply, request_id};
use crate::emulator::temporary::KeyError;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const VERSION: &str = "2015-04-01";
const HOST_ID: &str = "sts.aliyuncs.com";

/// Whether a request is for STS rather than IMS.
pub fn is_sts(params: &Params) -> bool {
    params.get("Version") == Some(VERSION)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    AssumeRole,
    GetCallerIdentity,
}

/// An authenticated STS request.
pub struct Call {
    action: Action,
    caller: String,
    params: Params,
}

/// Reads and authenticates an STS request.
pub fn admit<D: account::Directory + Serialize>(
    account: &Account<D>,
    nonces: &Nonces,
    request: &Incoming,
    params: Params,
    now: OffsetDateTime,
) -> Admission<Call> {
    let mut meta = Meta {
        account: params.get("AccessKeyId").unwrap_or_default().to_string(),
        account_id: String::new(),
        action: params.get("Action").unwrap_or_default().to_string(),
        user: String::new(),
        write: false,
    };
    let call = authenticate(account, nonces, request, &params, now)
        .and_then(|action| {
            let scope = (account.scope_of_key(&meta.account))
                .ok_or_else(|| key_error(KeyError::UnknownKey))?;
            meta.account_id = scope.id;
            Ok(action)
        })
        .map(|action| Call {
            action,
            caller: meta.account.clone(),
            params,
        })
        .map_err(|e| e.reply_from(HOST_ID));
    Admission { meta, call }
}

/// Runs an admitted STS call.
pub fn apply<D: account::Directory + Serialize>(
    account: &Account<D>,
    call: Call,
    now: OffsetDateTime,
) -> Reply {
    let result = match call.action {
        Action::AssumeRole => assume_role(account, &call.caller, &call.params, now),
        Action::GetCallerIdentity => Ok(caller_identity(account, &call.caller)),
    };
    match result {
        Ok(mut body) => {
            let id = request_id();
            body["RequestId"] = Value::from(id.as_str());
            Reply::json(StatusCode::OK, &body).with_header("x-acs-request-id", id)
        }
        Err(e) => e.reply_from(HOST_ID),
    }
}

fn assume_role<D: account::Directory + Serialize>(
    account: &Account<D>,
    caller: &str,
    p: &Params,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let role: &str = p.required("RoleArn")?;
    let session: &str = p.required("RoleSessionName")?;
    let session_ok = (2..=64).contains(&session.len())
        && session
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".@_-".contains(c));
    if !session_ok {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter.RoleSessionName",
            "The parameter RoleSessionName is wrongly formed: 2-64 of letters, digits, '.', '@', '_', '-'.",
        ));
    }
    let duration = match p.get("DurationSeconds") {
        None => 3600,
        Some(d) => d
            .parse::<i64>()
            .ok()
            .filter(|d| (900..=43_200).contains(d))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameter.DurationSeconds",
                    "The Min/Max value of DurationSeconds is 15min/12hr.",
                )
            })?,
    };
    let unknown = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "EntityNotExist.Role",
            format!("The role {role} does not exist."),
        )
    };
    let into = (role.strip_prefix("acs:ram::"))
        .and_then(|rest| rest.split_once(":role/"))
        .and_then(|(id, _)| account.scope(id))
        .filter(|into| into.reachable)
        .ok_or_else(unknown)?;
    account.may_assume(caller, role).map_err(|refusal| match refusal {
        Refusal::UnknownRole => unknown(),
        Refusal::RootCaller => ApiError::new(
            StatusCode::FORBIDDEN,
            "NoPermission",
            "Roles may not be assumed by root accounts.",
        ),
        Refusal::NotTrusted => ApiError::new(
            StatusCode::FORBIDDEN,
            "NoPermission",
            "You are not authorized to do this action. No permission perform sts:AssumeRole on this Role.",
        ),
    })?;
    let issued = account.issue("STS.", role, &into, time::Duration::seconds(duration), now);
    let account_id = &into.id;
    let role_name = role.rsplit('/').next().unwrap_or(role);
    Ok(json!({
        "Credentials": {
            "AccessKeyId": issued.id,
            "AccessKeySecret": issued.secret.expose(),
            "SecurityToken": issued.token.expose(),
            "Expiration": issued.expires_at.format(&Rfc3339).unwrap_or_default(),
        },
        "AssumedRoleUser": {
            "Arn": format!("{}/{session}", role.replacen(":role/", ":assumed-role/", 1)),
            "AssumedRoleId": format!("3{account_id}:{role_name}"),
        },
    }))
}

fn caller_identity<D: account::Directory + Serialize>(account: &Account<D>, caller: &str) -> Value {
    let main = account.id().to_string();
    let id = (account.scope_of_key(caller)).map_or(main.clone(), |scope| scope.id);
    match account.role_of(caller) {
        Some(role) => json!({
            "AccountId": id,
            "IdentityType": "AssumedRoleUser",
            "Arn": role.replacen(":role/", ":assumed-role/", 1),
            "PrincipalId": format!("3{id}"),
            "RoleId": format!("3{id}"),
            "UserId": "",
        }),
        None => json!({
            "AccountId": main,
            "IdentityType": "RAMUser",
            "Arn": format!("acs:ram::{main}:user/{caller}"),
            "PrincipalId": format!("2{main}"),
            "UserId": format!("2{main}"),
            "RoleId": "",
        }),
    }
}

/// Common parameters, key and token, signature, timestamp, nonce, in that order.
fn authenticate<D: account::Directory + Serialize>(
    account: &Account<D>,
    nonces: &Nonces,
    request: &Incoming,
    params: &Params,
    now: OffsetDateTime,
) -> Result<Action, ApiError> {
    for name in [
        "Action",
        "AccessKeyId",
        "Signature",
        "SignatureNonce",
        "Timestamp",
    ] {
        params.required::<ApiError>(name)?;
    }
    let action = match params.get("Action") {
        Some("AssumeRole") => Action::AssumeRole,
        Some("GetCallerIdentity") => Action::GetCallerIdentity,
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            ));
        }
    };
    if params.get("SignatureMethod") != Some("HMAC-SHA1")
        || params.get("SignatureVersion") != Some("1.0")
    {
        return Err(ApiError::invalid(
            "SignatureMethod",
            "this emulator takes HMAC-SHA1, version 1.0",
        ));
    }
    signed(account, nonces, request, params, now)?;
    Ok(action)
}
