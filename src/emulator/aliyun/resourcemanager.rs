//! Resource Directory 2020-03-31 `ListAccounts`: the member accounts of the main account's
//! resource directory (the patch's `accounts`), in reality at `resourcemanager.aliyuncs.com`, here
//! on the IMS port and checked the same way. Only the management account (the main account: its
//! keys or a session of a role in it) may list; a member's credentials get 403 `NoPermission`
//! (Alibaba's common code for a caller without the right; the code for this case is not
//! documented).

use super::directory::Directory;
use super::{ACCOUNT_ID, ApiError, invalid, iso8601_seconds};
use crate::emulator::account::{Account, Organisation, Scope};
use crate::emulator::params::Params;
use axum::http::StatusCode;
use serde_json::{Value, json};

pub const VERSION: &str = "2020-03-31";
pub const HOST_ID: &str = "resourcemanager.aliyuncs.com";
/// A member's status: Resource Directory's words. Accounts a patch adds are `CreateSuccess`; a
/// member created or invited successfully may be reached, and so may one whose upgrade to a cloud
/// account is done, pending, failed, expired or cancelled: it stays a member meanwhile.
const STATUSES: &[&str] = &[
    "CreateSuccess",
    "CreateVerifying",
    "CreateFailed",
    "CreateExpired",
    "CreateCancelled",
    "InviteSuccess",
    "PromoteVerifying",
    "PromoteSuccess",
    "PromoteFailed",
    "PromoteExpired",
    "PromoteCancelled",
    "Removed",
];

/// The resource directory: its statuses, and a new member's directory in `<id>.onaliyun.com`.
pub const ORGANISATION: Organisation<Directory> = Organisation {
    statuses: STATUSES,
    reachable: &[
        "CreateSuccess",
        "InviteSuccess",
        "PromoteVerifying",
        "PromoteSuccess",
        "PromoteFailed",
        "PromoteExpired",
        "PromoteCancelled",
    ],
    new: |id| Directory::new(format!("{id}.onaliyun.com")),
};
/// `PageSize`'s default and largest value.
const DEFAULT_PAGE_SIZE: usize = 10;
const MAX_PAGE_SIZE: usize = 100;
/// The emulated resource directory and the folder every member is in.
const DIRECTORY_ID: &str = "rd-emulator";
const FOLDER_ID: &str = "fd-emulator";

/// One page of the members, ordered by account id: `PageNumber` from 1 (default 1), `PageSize`
/// 1 to 100 (default 10), `TotalCount` all of them.
pub(super) fn list_accounts(
    account: &Account<Directory>,
    caller: &Scope<Directory>,
    p: &Params,
) -> Result<Value, ApiError> {
    let members = account.members(caller).ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "NoPermission",
            "You are not authorized to do this action: only the management account of the resource directory may list its accounts.",
        )
    })?;
    let number = |name: &str, default: usize, max: usize, range: &str| match p.get(name) {
        None => Ok(default),
        Some(v) => (v.parse::<usize>().ok())
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| invalid(name, range)),
    };
    let page_number = number("PageNumber", 1, usize::MAX, "use a page number from 1")?;
    let page_size = number(
        "PageSize",
        DEFAULT_PAGE_SIZE,
        MAX_PAGE_SIZE,
        &format!("use 1 to {MAX_PAGE_SIZE}"),
    )?;
    let page: Vec<Value> = (members.iter())
        .skip((page_number - 1).saturating_mul(page_size))
        .take(page_size)
        .map(|(id, info)| {
            let joined = iso8601_seconds(info.joined_at);
            json!({
                "AccountId": id,
                "DisplayName": info.name,
                "Status": info.status,
                "Type": "ResourceAccount",
                "JoinMethod": info.join_method,
                "JoinTime": joined,
                "ModifyTime": joined,
                "ResourceDirectoryId": DIRECTORY_ID,
                "ResourceDirectoryPath": format!("{DIRECTORY_ID}/r-{ACCOUNT_ID}/{FOLDER_ID}/{id}"),
                "FolderId": FOLDER_ID,
            })
        })
        .collect();
    Ok(json!({
        "TotalCount": members.len(),
        "PageNumber": page_number,
        "PageSize": page_size,
        "Accounts": { "Account": page },
    }))
}
