//! Organizations `ListAccounts` (`GET /v1/organizations/accounts`), in reality at
//! `organizations.myhuaweicloud.com`, here on the IAM port and authenticated as any IAM call: the
//! member accounts of the main account's organisation (the patch's `accounts`), ordered by id,
//! `limit` 1 to 1000 (default 200) and `marker` the `page_info.next_marker` of the previous page.
//! Only the management account (the main account's credentials) may list: another account's get
//! 403 `Organizations.1003`, and a bad `limit` or `marker` 400 `Organizations.1001` (this
//! emulator's codes: the real ones are not documented).

use super::{ApiError, DOMAIN_ID, Directory};
use crate::emulator::account::{Account, Organisation, Scope};
use axum::http::StatusCode;
use serde_json::{Value, json};
use time::macros::format_description;

/// The organisation: a member's status (accounts a patch adds are `active`, and only those may be
/// reached), and a new member's empty directory.
pub const ORGANISATION: Organisation<Directory> = Organisation {
    statuses: &["active", "suspended", "pending_closure"],
    reachable: &["active"],
    new: |_| Directory::default(),
};
const DEFAULT_LIMIT: usize = 200;
const MAX_LIMIT: usize = 1000;
/// The emulated organisation's id, in the accounts' URNs.
const ORGANIZATION_ID: &str = "o-emulator";

pub(super) fn list_accounts(
    account: &Account<Directory>,
    caller: &Scope<Directory>,
    query: &[(String, String)],
) -> Result<Value, ApiError> {
    let members = account.members(caller).ok_or_else(|| {
        ApiError::iam(
            StatusCode::FORBIDDEN,
            "Organizations.1003",
            "Only the management account of the organization may list its accounts.",
        )
    })?;
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let invalid = |name: &str| {
        ApiError::iam(
            StatusCode::BAD_REQUEST,
            "Organizations.1001",
            format!("Invalid parameter {name}."),
        )
    };
    let limit = match param("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => (v.parse::<usize>().ok())
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| invalid("limit"))?,
    };
    let start = match param("marker").filter(|m| !m.is_empty()) {
        None => 0,
        Some(marker) => (members.iter())
            .position(|(id, _)| id == marker)
            .ok_or_else(|| invalid("marker"))?,
    };
    let rest = &members[start..];
    let page: Vec<Value> = (rest.iter().take(limit))
        .map(|(id, info)| {
            let joined = (info.joined_at)
                .format(format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
                ))
                .expect("a UTC time always formats");
            json!({
                "id": id,
                "urn": format!("organizations::{DOMAIN_ID}:account:{ORGANIZATION_ID}/{id}"),
                "name": info.name,
                "join_method": info.join_method,
                "status": info.status,
                "joined_at": joined,
            })
        })
        .collect();
    let next = rest.get(limit).map(|(id, _)| id.as_str());
    Ok(json!({
        "accounts": page,
        "page_info": {"next_marker": next, "current_count": page.len()},
    }))
}
