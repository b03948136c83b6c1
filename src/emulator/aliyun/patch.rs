//! The aliyun state patch: the account-wide `"groups"` read here, the rest (`users`,
//! `mfa_devices`, `temporary_keys`) by `Account::patch`, each user with [`UserPatch`]. Everything
//! is checked before anything changes, the groups users are put in included. `"accounts"` patches
//! the other accounts, each with the same keys plus `name`, `status` and `default_domain`; each
//! account's patch is checked before it changes, the accounts one after the other.

use super::directory::{Directory, GroupPatch, UserPatch};
use super::resourcemanager::{DEFAULT_STATUS, STATUSES};
use crate::emulator::account::{self, Account, Scope};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;

pub fn tamper(
    account: &Account<Directory>,
    patch: &Value,
    now: OffsetDateTime,
) -> Result<(), String> {
    let mut patch = patch.clone();
    let accounts = account::take_accounts(&mut patch, STATUSES)?;
    tamper_in(account, &account.main(), &patch, now)?;
    let new = |id: &str| Directory::new(format!("{id}.onaliyun.com"));
    account.patch_accounts(accounts, now, DEFAULT_STATUS, new, |scope, rest| {
        let mut rest = rest.clone();
        if let Some(domain) = rest
            .as_object_mut()
            .and_then(|r| r.remove("default_domain"))
        {
            let domain = (domain.as_str())
                .filter(|d| !d.is_empty())
                .ok_or("default_domain: give a domain name, e.g. finance-prod.onaliyun.com")?;
            scope.lock().default_domain = domain.to_string();
        }
        tamper_in(account, scope, &rest, now)
    })
}

/// The patch of one account's directory.
fn tamper_in(
    account: &Account<Directory>,
    scope: &Scope<Directory>,
    patch: &Value,
    now: OffsetDateTime,
) -> Result<(), String> {
    let mut rest = patch.clone();
    let groups: BTreeMap<String, Option<GroupPatch>> =
        match rest.as_object_mut().and_then(|o| o.remove("groups")) {
            Some(groups) => Deserialize::deserialize(groups).map_err(|e| format!("groups: {e}"))?,
            None => BTreeMap::new(),
        };
    check_memberships(&scope.lock(), &rest, &groups)?;
    let mut groups = Some(groups);
    account.patch_in(scope, &rest, now, |directory, upn, user: UserPatch| {
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
        scope.lock().patch_groups(groups, now);
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
