//! The aliyun state patch of one account's directory: the account-wide `"groups"` read here, the
//! rest (`users`, `mfa_devices`) by `account::patch_directory`, each user with [`UserPatch`]; a
//! member's patch also takes its `default_domain`. `Account::tamper` runs it on a copy of each
//! account's directory, so a refused patch changes nothing.

use super::ACCOUNT_ID;
use super::directory::{Directory, GroupPatch, UserPatch};
use crate::emulator::account;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The patch of account `id`'s directory.
pub fn tamper_in(
    directory: &mut Directory,
    id: &str,
    mut patch: Value,
    now: OffsetDateTime,
) -> Result<(), String> {
    let fields = patch.as_object_mut().ok_or("give the patch as an object")?;
    if let Some(domain) = fields.remove("default_domain") {
        if id == ACCOUNT_ID {
            return Err("default_domain: the main account's is set at start".into());
        }
        let domain = (domain.as_str())
            .filter(|d| !d.is_empty())
            .ok_or("default_domain: give a domain name, e.g. finance-prod.onaliyun.com")?;
        directory.default_domain = domain.to_string();
    }
    let groups: BTreeMap<String, Option<GroupPatch>> = match fields.remove("groups") {
        Some(groups) => Deserialize::deserialize(groups).map_err(|e| format!("groups: {e}"))?,
        None => BTreeMap::new(),
    };
    check_memberships(directory, &patch, &groups)?;
    directory.patch_groups(groups, now);
    account::patch_directory(directory, patch, |directory, upn, user: UserPatch| {
        directory.add_user(&upn, now);
        let record = directory
            .users
            .get_mut(&upn)
            .expect("added if it was not there");
        user.apply(record, now);
    })
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
