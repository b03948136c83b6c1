//! Groups and their members, the same model for the providers that have them (ucloud, huawei):
//! each group's description, creation date and members with the date each joined; and the
//! `groups` part of a state patch, which each provider takes out of its patch before the rest.
//!
//! Patch: `{"groups": {"<group>": null | {"description", "created_at" (Unix s), "members":
//! ["<user>"]}}}`, users named as the provider's patch names them. A group not there is added
//! (created now); `members` replaces its membership, each member existing already or added by the
//! same patch, one already in keeping its join date; `null` deletes the group. State: `{"<group>":
//! {"description", "created_at", "members": {"<user>": <joined at, Unix s>}}}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

#[derive(Serialize)]
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
    members: Option<BTreeSet<String>>,
}

/// The `groups` of a state patch, read and checked, to apply once the rest of the patch is.
pub struct Patch(BTreeMap<String, Option<GroupPatch>>);

impl Patch {
    /// Takes `groups` out of `patch`; every member must exist (`exists`) or be one of the
    /// patch's `users`.
    pub fn take(patch: &mut Value, exists: impl Fn(&str) -> bool) -> Result<Patch, String> {
        let groups: BTreeMap<String, Option<GroupPatch>> = match patch
            .as_object_mut()
            .and_then(|p| p.remove("groups"))
        {
            None => BTreeMap::new(),
            Some(groups) => serde_json::from_value(groups).map_err(|e| format!("groups: {e}"))?,
        };
        let added = |name: &str| patch["users"].get(name).is_some();
        for (group, fields) in &groups {
            let mut members = fields.iter().flat_map(|g| g.members.iter().flatten());
            if let Some(ghost) = members.find(|m| !exists(m) && !added(m)) {
                return Err(format!(
                    "groups: {group}: member {ghost} does not exist: add it under users"
                ));
            }
        }
        Ok(Patch(groups))
    }

    /// Applies it; members that no longer exist (`exists`) are left out.
    pub fn apply(self, groups: &mut Groups, exists: impl Fn(&str) -> bool, now: OffsetDateTime) {
        for (name, patch) in self.0 {
            let Some(patch) = patch else {
                groups.remove(&name);
                continue;
            };
            let group = groups.entry(name).or_insert_with(|| Group::new(now));
            if let Some(description) = patch.description {
                group.description = description;
            }
            group.created_at = patch.created_at.unwrap_or(group.created_at);
            if let Some(members) = patch.members {
                group.members = (members.into_iter())
                    .filter(|m| exists(m))
                    .map(|m| {
                        let joined_at = group.members.get(&m).copied();
                        (m, joined_at.unwrap_or(now.unix_timestamp()))
                    })
                    .collect();
            }
        }
    }
}
