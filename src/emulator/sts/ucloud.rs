//! UCloud STS `AssumeRole`, on the UCloud port (`Action=AssumeRole`): the signature and any
//! `SecurityToken` are checked as for IAM. `RoleUrn` must be a role a patch declared (else RetCode 230)
//! and trust the caller (else 295; UCloud publishes no STS codes, these are its common ones); `RoleSessionName` 1–64 of `[A-Za-z0-9_.-]`, `DurationSeconds`
//! 900–43200 (default 3600). The reply's `Credentials` give an `AccessKeyId`, its
//! `AccessKeySecret`, the `SecurityToken` and `Expiration` (RFC 3339, UTC).

use crate::emulator::account::{self, Account, Refusal};
use crate::emulator::params::Params;
use crate::emulator::service::{Admission, Meta, Reply};
use crate::emulator::temporary::KeyError;
use crate::emulator::ucloud::verify;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const ACTION: &str = "AssumeRole";

/// An authenticated AssumeRole.
pub struct Call {
    caller: String,
    params: Params,
}

/// Authenticates an AssumeRole request (already decoded).
pub fn admit<D: account::Directory + Serialize>(
    account: &Account<D>,
    params: Params,
    now: OffsetDateTime,
) -> Admission<Call> {
    let caller = params.get("PublicKey").unwrap_or_default().to_string();
    let mut meta = Meta {
        account: caller.clone(),
        account_id: String::new(),
        action: ACTION.into(),
        user: String::new(),
        write: false,
    };
    let checked = match params.get("Signature").filter(|s| !s.is_empty()) {
        None => Err(error(170, "Missing signature")),
        Some(signature) => account
            .secret(&caller, params.get("SecurityToken"), now)
            .map_err(|e| match e {
                KeyError::UnknownKey => error(172, "User Not Exists"),
                _ => error(174, "Token Not Found"),
            })
            .and_then(
                |secret| match verify::verify(&params.0, secret.expose(), signature) {
                    true => Ok(()),
                    false => Err(error(171, "Signature VerifyAC Error")),
                },
            ),
    };
    if checked.is_ok() {
        meta.account_id = account.id().to_string();
    }
    let call = checked.map(|()| Call { caller, params });
    Admission { meta, call }
}

/// Issues the credentials, or says why not.
pub fn apply<D: account::Directory + Serialize>(
    account: &Account<D>,
    call: Call,
    now: OffsetDateTime,
) -> Reply {
    let p = &call.params;
    let Some(role) = p.get("RoleUrn").filter(|r| !r.is_empty()) else {
        return error(220, "Missing params [RoleUrn]");
    };
    let session = p.get("RoleSessionName").unwrap_or_default();
    if !(1..=64).contains(&session.len())
        || !session
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return error(230, "Params [RoleSessionName] not available");
    }
    let duration = match p.get("DurationSeconds").map(str::parse::<i64>) {
        None => 3600,
        Some(Ok(d)) if (900..=43_200).contains(&d) => d,
        Some(_) => return error(230, "Params [DurationSeconds] not available"),
    };
    if let Err(refusal) = account.may_assume(&call.caller, role) {
        return match refusal {
            Refusal::UnknownRole => error(230, &format!("Role [{role}] not exist")),
            Refusal::RootCaller | Refusal::NotTrusted => error(295, "Permission denied"),
        };
    }
    let issued = account.issue(
        "",
        role,
        &account.main(),
        time::Duration::seconds(duration),
        now,
    );
    reply(json!({
        "Action": "AssumeRoleResponse",
        "RetCode": 0,
        "Credentials": {
            "AccessKeyId": issued.id,
            "AccessKeySecret": issued.secret.expose(),
            "SecurityToken": issued.token.expose(),
            "Expiration": issued.expires_at.format(&Rfc3339).unwrap_or_default(),
        },
    }))
}

fn error(ret_code: u32, message: &str) -> Reply {
    reply(json!({"Action": "AssumeRoleResponse", "RetCode": ret_code, "Message": message}))
        .with_code(ret_code.to_string())
}

fn reply(body: Value) -> Reply {
    Reply::json(StatusCode::OK, &body)
        .with_header("x-ucloud-request-uuid", uuid::Uuid::new_v4().to_string())
}
