//! Huawei agencies, on the Huawei port: temporary AK/SK (`POST /v3.0/OS-CREDENTIAL/securitytokens`)
//! and agency tokens (`POST /v3/auth/tokens` with `methods: ["assume_role"]`, 201 with the token in
//! `X-Subject-Token`, living the token lifetime), each authenticated as any IAM call (AK/SK
//! signature or token). The body's
//! `auth.identity.assume_role` names the agency (`agency_name`) of the delegating account
//! (`domain_name` and/or `domain_id`: the main account or one of the patch's `accounts`; both
//! given must name the same account, else 400): it must be declared as `"<domain>/<agency>"` (the
//! account's id or name) and trust the caller, else 403 in Keystone's form (an agency of an
//! account the emulator does not know, or of a member not `active`, does not exist either); what
//! is issued acts in that account; `duration_seconds` 900–86400 (default 900) and
//! `session_user.name` (5–64 of letters, digits, `-`, `_`, starting with a letter) are checked.
//! 201 `{"credential": {"access", "secret", "securitytoken", "expires_at"}}`.

use crate::emulator::account::{self, Account, Refusal, Scope};
use crate::emulator::service::{Reply, request_id};
use crate::secret::Secret;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

pub const ACTION: &str = "CreateTemporaryAccessKeyByAgency";
pub const TOKEN_ACTION: &str = "KeystoneCreateAgencyToken";

/// Whether a token request's body asks for an agency token.
pub fn is_agency_token(body: &[u8]) -> bool {
    let body: Value = serde_json::from_slice(body).unwrap_or_default();
    body["auth"]["identity"]["methods"] == json!(["assume_role"])
}

/// Issues an agency token to `caller` with `issue` (the user it stands for, the id of the account
/// it acts in, its lifetime: the token lifetime).
pub fn agency_token<D: account::Directory + Serialize>(
    account: &Account<D>,
    caller: &str,
    body: &[u8],
    issue: impl FnOnce(&str, &str, time::Duration) -> (Secret, OffsetDateTime),
) -> Reply {
    let (role, _, into) = match grant(account, caller, body) {
        Ok(granted) => granted,
        Err(reply) => return reply,
    };
    // The token is scoped to the delegating account: a scope naming another is refused.
    let scope: Value = serde_json::from_slice(body).unwrap_or_default();
    let scope = &scope["auth"]["scope"]["domain"];
    let (id, name) = (scope["id"].as_str(), scope["name"].as_str());
    if id.is_some_and(|id| id != into.id) || name.is_some_and(|name| name != into.name) {
        return error(
            StatusCode::BAD_REQUEST,
            "auth.scope.domain must be the account of the agency.",
        );
    }
    let (token, expires_at) = issue(&role, &into.id, account.token_ttl);
    Reply::json(
        StatusCode::CREATED,
        &json!({"token": {
            "expires_at": huawei_time(expires_at),
            "methods": ["assume_role"],
            "assumed_by": {"user": {"name": caller}},
        }}),
    )
    .with_header("x-request-id", request_id())
    .with_header("x-subject-token", token.expose())
}

/// Issues temporary AK/SK to `caller` (the AK or token user the request was authenticated as).
pub fn security_tokens<D: account::Directory + Serialize>(
    account: &Account<D>,
    caller: &str,
    body: &[u8],
    now: OffsetDateTime,
) -> Reply {
    let (role, duration, into) = match grant(account, caller, body) {
        Ok(granted) => granted,
        Err(reply) => return reply,
    };
    let issued = account.issue("", &role, &into, time::Duration::seconds(duration), now);
    Reply::json(
        StatusCode::CREATED,
        &json!({"credential": {
            "access": issued.id,
            "secret": issued.secret.expose(),
            "securitytoken": issued.token.expose(),
            "expires_at": huawei_time(issued.expires_at),
        }}),
    )
    .with_header("x-request-id", request_id())
}

/// The agency the body names, as `"<domain>/<agency>"`, when `caller` may assume it, the
/// duration asked for and the agency's account; else the refusal.
fn grant<D: account::Directory + Serialize>(
    account: &Account<D>,
    caller: &str,
    body: &[u8],
) -> Result<(String, i64, Scope<D>), Reply> {
    let body: Value = serde_json::from_slice(body).unwrap_or_default();
    let identity = &body["auth"]["identity"];
    let a = &identity["assume_role"];
    let methods_ok = identity["methods"] == json!(["assume_role"]);
    let Some(agency) = a["agency_name"].as_str().filter(|_| methods_ok) else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "The request body must be auth.identity with methods [\"assume_role\"] and assume_role.agency_name.",
        ));
    };
    let duration = match &a["duration_seconds"] {
        Value::Null => 900,
        d => d
            .as_i64()
            .filter(|d| (900..=86_400).contains(d))
            .ok_or_else(|| {
                error(
                    StatusCode::BAD_REQUEST,
                    "duration_seconds must be 900 to 86400.",
                )
            })?,
    };
    if let Some(name) = a["session_user"]["name"].as_str() {
        let ok = (5..=64).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
        if !ok {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "session_user.name is invalid.",
            ));
        }
    }
    let unknown = || {
        error(
            StatusCode::FORBIDDEN,
            &format!("The agency {agency} does not exist."),
        )
    };
    let into = delegating_account(account, a)?
        .filter(|into| into.reachable)
        .ok_or_else(unknown)?;
    let mut refusal = Refusal::UnknownRole;
    let roles = [&into.id, &into.name].map(|domain| format!("{domain}/{agency}"));
    for role in roles {
        match account.may_assume(caller, &role) {
            Ok(()) => return Ok((role, duration, into)),
            Err(Refusal::UnknownRole) => {}
            Err(other) => refusal = other,
        }
    }
    Err(match refusal {
        Refusal::UnknownRole => unknown(),
        _ => error(
            StatusCode::FORBIDDEN,
            &format!("You have no right to assume the agency {agency}."),
        ),
    })
}

/// The account `assume_role` names by `domain_id` and/or `domain_name`, `None` if the emulator
/// does not know it; both given must name the same account.
fn delegating_account<D: account::Directory + Serialize>(
    account: &Account<D>,
    assume_role: &Value,
) -> Result<Option<Scope<D>>, Reply> {
    let by_id = assume_role["domain_id"]
        .as_str()
        .map(|id| account.scope(id));
    let by_name = (assume_role["domain_name"].as_str()).map(|name| account.scope_named(name));
    let named: Vec<Option<Scope<D>>> = by_id.into_iter().chain(by_name).collect();
    if named.is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "assume_role needs domain_id or domain_name.",
        ));
    }
    let Some(found) = named.into_iter().collect::<Option<Vec<Scope<D>>>>() else {
        return Ok(None);
    };
    if found.iter().any(|scope| scope.id != found[0].id) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "assume_role.domain_id and domain_name name different accounts.",
        ));
    }
    Ok(found.into_iter().next())
}

/// Huawei's times: `2020-01-04T09:05:22.701000Z`.
fn huawei_time(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    ))
    .unwrap_or_default()
}

/// Keystone's error form.
fn error(status: StatusCode, message: &str) -> Reply {
    let title = status.canonical_reason().unwrap_or("Error");
    Reply::json(
        status,
        &json!({"error": {"code": status.as_u16(), "message": message, "title": title}}),
    )
    .with_header("x-request-id", request_id())
    .with_code(status.as_u16().to_string())
}
