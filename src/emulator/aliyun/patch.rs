//! The aliyun state patch: the account-wide `"groups"` read here, the rest (`users`,
//! `mfa_devices`, `temporary_keys`) by `Account::patch`, each user with [`UserPatch`]. Everything
//! is checked before anything changes, the groups users are put in included.

use super::directory::{Directory, GroupPatch, UserPatch};
use crate::emulator::account::Account;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;

pub fn tamper(
    account: &Account<Directory>,
    patch: &Value,
    now: OffsetDateTime,
) -> Result<(), String> {
    let mut rest = patch.clone();
    let groups: BTreeMap<String, Option<GroupPatch>> =
        match rest.as_object_mut().and_then(|o| o.remove("groups")) {
            Some(groups) => Deserialize::deserialize(groups).map_err(|e| format!("groups: {e}"))?,
            None => BTreeMap::new(),
        };
    check_memberships(&account.lock(), &rest, &groups)?;
    let mut groups = Some(groups);
    account.patch(&rest, now, |directory, upn, user: UserPatch| {
        // Groups first, so that no user is seen in a group that does not exist yet.
        if let Some(groups) = groups.take() {
            directory.patch_groups(groups, now);
        }
        directory.add_user(&upn, now);
        let record = directory
            .users
            .get_mut(&upn)
            .expect("added if it was not there");
        user.apply(record, now);
    })?;
    if let Some(groups) = groups {
        account.lock().patch_groups(groups, now);
    }
    Ok(())
}

/// Every group a user of the patch is put in exists, or the patch adds it.
fn check_memberships(
    directory: &Directory,
    patch: &Value,
    groups: &BTreeMap<String, Option<GroupPatch>>,
) -> Result<(), String> {
    let users = patch.get("users").and_then(Value::as_object);
    for (upn, user) in users.into_iter().flatten() {
        let named = user.get("groups").and_then(Value::as_array);
        for group in named.into_iter().flatten().filter_map(Value::as_str) {
            let exists = match groups.get(group) {
                Some(patched) => patched.is_some(),
                None => directory.groups.contains_key(group),
            };
            if !exists {
                return Err(format!(
                    "{upn}: group {group} does not exist: add it under groups"
                ));
            }
        }
    }
    Ok(())
}
