//! Groups and their members, the same model for the providers that have them (ucloud, huawei):
//! each group's description, creation date and members with the date each joined; and the groups
//! of a state patch, which each provider takes out of its patch before the rest.
//!
//! Patch, the shape aliyun's has too: `{"groups": {"<group>": null | {"description", "created_at"
//! (Unix s)}}, "users": {"<user>": {"groups": ["<group>"], ...}}}`, users named as the provider's
//! patch names them. A group not there is added (created now), `null` deletes it with its
//! memberships; a user's `groups` replaces its memberships, each group existing already or added
//! by the same patch, a group it was in already keeping its join date. State: `{"<group>":
//! {"description", "created_at", "members": {"<user>": <joined at, Unix s>}}}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

#[derive(Clone, Serialize)]
pub struct Group {
    pub description: String,
    pub created_at: i64,
    /// When each member joined, by user name.
    pub members: BTreeMap<String, i64>,
}

impl Group {
    fn new(now: OffsetDateTime) -> Group {
        Group {
            description: String::new(),
            created_at: now.unix_timestamp(),
            members: BTreeMap::new(),
        }
    }
}

/// Groups by name.
pub type Groups = BTreeMap<String, Group>;

/// Takes a deleted user out of every group.
pub fn forget(groups: &mut Groups, user: &str) {
    for group in groups.values_mut() {
        group.members.remove(user);
    }
}

/// Moves a renamed user's memberships to its new name.
pub fn rename(groups: &mut Groups, from: &str, to: &str) {
    for group in groups.values_mut() {
        if let Some(joined_at) = group.members.remove(from) {
            group.members.insert(to.to_string(), joined_at);
        }
    }
}

/// A patch's group: fields given are set, on a new group if there is none.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupPatch {
    description: Option<String>,
    created_at: Option<i64>,
}

/// The groups of a state patch and its users' memberships, read and checked, to apply once the
/// rest of the patch is.
pub struct Patch {
    groups: BTreeMap<String, Option<GroupPatch>>,
    /// Each user's whole membership, by user name.
    members: BTreeMap<String, BTreeSet<String>>,
}

impl Patch {
    /// Takes `groups` out of `patch` and out of each of its users; every group a user is put in
    /// must be in `existing` or added by the patch.
    pub fn take(patch: &mut Value, existing: &Groups) -> Result<Patch, String> {
        let groups: BTreeMap<String, Option<GroupPatch>> = match patch
            .as_object_mut()
            .and_then(|p| p.remove("groups"))
        {
            None => BTreeMap::new(),
            Some(groups) => serde_json::from_value(groups).map_err(|e| format!("groups: {e}"))?,
        };
        let exists = |group: &str| match groups.get(group) {
            Some(patch) => patch.is_some(),
            None => existing.contains_key(group),
        };
        let mut members = BTreeMap::new();
        let users = patch.get_mut("users").and_then(Value::as_object_mut);
        for (user, fields) in users.into_iter().flatten() {
            let Some(named) = fields.as_object_mut().and_then(|f| f.remove("groups")) else {
                continue;
            };
            let named: BTreeSet<String> =
                serde_json::from_value(named).map_err(|e| format!("{user}: groups: {e}"))?;
            if let Some(group) = named.iter().find(|g| !exists(g)) {
                return Err(format!(
                    "{user}: group {group} does not exist: add it under groups"
                ));
            }
            members.insert(user.clone(), named);
        }
        Ok(Patch { groups, members })
    }

    /// Applies it, once the patch's users exist.
    pub fn apply(self, groups: &mut Groups, now: OffsetDateTime) {
        for (name, patch) in self.groups {
            let Some(patch) = patch else {
                groups.remove(&name);
                continue;
            };
            let group = groups.entry(name).or_insert_with(|| Group::new(now));
            if let Some(description) = patch.description {
                group.description = description;
            }
            group.created_at = patch.created_at.unwrap_or(group.created_at);
        }
        for (user, named) in self.members {
            for (name, group) in groups.iter_mut() {
                if named.contains(name) {
                    group
                        .members
                        .entry(user.clone())
                        .or_insert(now.unix_timestamp());
                } else {
                    group.members.remove(&user);
                }
            }
        }
    }
}
