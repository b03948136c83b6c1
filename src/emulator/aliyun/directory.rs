//! What one emulated Alibaba account holds: its default domain, its users as full records (profile
//! fields, login profile, group memberships, access keys, attached policies), its groups, its MFA
//! devices and its recycle bin of deleted users; and how a state patch changes them.

use super::Profile;
use super::bin::RecycleBin;
use super::iso8601_seconds;
use crate::emulator::account;
use crate::emulator::login::{NoOwnFields, ProfileSlot};
use crate::emulator::mfa;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Alibaba user ids are 16 digits.
const FIRST_USER_ID: u64 = 2_000_000_000_000_000;
/// Group ids, in a range of their own.
const FIRST_GROUP_ID: u64 = 3_000_000_000_000_000;
/// The version a policy attached by a patch has unless told.
const DEFAULT_POLICY_VERSION: &str = "v1";

#[derive(Clone, Serialize)]
pub struct Directory {
    /// `<alias>.onaliyun.com`: the suffix of every user created here (GetDefaultDomain).
    pub default_domain: String,
    pub users: BTreeMap<String, User>,
    pub groups: BTreeMap<String, Group>,
    pub recycle_bin: RecycleBin,
    pub mfa_devices: mfa::Devices,
    #[serde(skip)]
    last_id: u64,
}

#[derive(Clone, Serialize)]
pub struct User {
    pub user_id: String,
    pub display_name: String,
    pub email: String,
    pub mobile_phone: String,
    pub comments: String,
    pub create_date: String,
    pub update_date: String,
    /// Login profiles created through the API.
    pub creates: u64,
    pub login_profile: Option<Profile>,
    /// Group name → the date the user joined it.
    pub groups: BTreeMap<String, String>,
    /// Access key id → the key; the emulator never holds a user key's secret.
    pub access_keys: BTreeMap<String, AccessKey>,
    /// Policy name → the attachment.
    pub policies: BTreeMap<String, Policy>,
}

#[derive(Clone, Serialize)]
pub struct Group {
    pub group_id: String,
    pub display_name: String,
    pub comments: String,
    pub create_date: String,
}

#[derive(Clone, Serialize)]
pub struct AccessKey {
    pub status: KeyStatus,
    pub create_date: String,
    pub update_date: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    pub fn parse(s: &str) -> Option<KeyStatus> {
        match s {
            "Active" => Some(KeyStatus::Active),
            "Inactive" => Some(KeyStatus::Inactive),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyType {
    System,
    Custom,
}

impl PolicyType {
    pub fn parse(s: &str) -> Option<PolicyType> {
        match s {
            "System" => Some(PolicyType::System),
            "Custom" => Some(PolicyType::Custom),
            _ => None,
        }
    }
}

#[derive(Clone, Serialize)]
pub struct Policy {
    pub policy_type: PolicyType,
    pub default_version: String,
    pub description: String,
    pub attach_date: String,
}

/// The user name of a principal name: the part before `@` (RAM 2015's `UserName`).
pub fn short_name(upn: &str) -> &str {
    upn.split('@').next().unwrap_or(upn)
}

impl account::Directory for Directory {
    fn has_user(&self, upn: &str) -> bool {
        self.users.contains_key(upn)
    }
    fn mfa_devices(&mut self) -> &mut mfa::Devices {
        &mut self.mfa_devices
    }
}

impl Directory {
    pub fn new(default_domain: String) -> Directory {
        Directory {
            default_domain,
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            recycle_bin: RecycleBin::default(),
            mfa_devices: mfa::Devices::default(),
            last_id: 0,
        }
    }

    fn next_id(&mut self, first: u64) -> String {
        self.last_id += 1;
        (first + self.last_id).to_string()
    }

    /// Adds a user (its display name its short name) and answers it; `None` if the name is taken.
    pub fn add_user(&mut self, upn: &str, now: OffsetDateTime) -> Option<&mut User> {
        if self.users.contains_key(upn) {
            return None;
        }
        let date = iso8601_seconds(now);
        let user = User {
            user_id: self.next_id(FIRST_USER_ID),
            display_name: short_name(upn).to_string(),
            email: String::new(),
            mobile_phone: String::new(),
            comments: String::new(),
            create_date: date.clone(),
            update_date: date,
            creates: 0,
            login_profile: None,
            groups: BTreeMap::new(),
            access_keys: BTreeMap::new(),
            policies: BTreeMap::new(),
        };
        Some(self.users.entry(upn.to_string()).or_insert(user))
    }

    /// The principal name of the user with this id.
    pub fn upn_of_id(&self, user_id: &str) -> Option<String> {
        let mut users = self.users.iter();
        users
            .find(|(_, u)| u.user_id == user_id)
            .map(|(upn, _)| upn.clone())
    }

    /// The principal name of the user holding this access key.
    pub fn upn_of_key(&self, key_id: &str) -> Option<String> {
        let mut users = self.users.iter();
        users
            .find(|(_, u)| u.access_keys.contains_key(key_id))
            .map(|(upn, _)| upn.clone())
    }

    /// The principal name of the user of this short name (RAM 2015 `UserName`): the first in
    /// name order if several domains hold it.
    pub fn upn_of_name(&self, name: &str) -> Option<String> {
        self.users
            .keys()
            .find(|upn| short_name(upn) == name)
            .cloned()
    }

    /// Moves a user and its MFA devices to a new principal name.
    pub fn rename(&mut self, from: &str, to: &str) {
        if let Some(user) = self.users.remove(from) {
            self.users.insert(to.to_string(), user);
            self.mfa_devices.rename(from, to);
        }
    }

    /// Applies a patch's `groups`: each added or changed, or with `null` removed along with its
    /// memberships.
    pub fn patch_groups(
        &mut self,
        patch: BTreeMap<String, Option<GroupPatch>>,
        now: OffsetDateTime,
    ) {
        for (name, group) in patch {
            match group {
                None => {
                    self.groups.remove(&name);
                    for user in self.users.values_mut() {
                        user.groups.remove(&name);
                    }
                }
                Some(patch) => {
                    if !self.groups.contains_key(&name) {
                        let group = Group {
                            group_id: self.next_id(FIRST_GROUP_ID),
                            display_name: name.clone(),
                            comments: String::new(),
                            create_date: iso8601_seconds(now),
                        };
                        self.groups.insert(name.clone(), group);
                    }
                    let group = self.groups.get_mut(&name).expect("added above");
                    if let Some(display_name) = patch.display_name {
                        group.display_name = display_name;
                    }
                    if let Some(comments) = patch.comments {
                        group.comments = comments;
                    }
                }
            }
        }
    }
}

/// A patch's entry of `"groups"`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    display_name: Option<String>,
    comments: Option<String>,
}

/// A patch's user: its login profile, its own fields, and (each replacing what it had) its
/// groups, access keys and policies.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    login_profile: ProfileSlot<NoOwnFields>,
    display_name: Option<String>,
    email: Option<String>,
    mobile_phone: Option<String>,
    comments: Option<String>,
    /// RFC 3339.
    #[serde(default, deserialize_with = "date")]
    create_date: Option<String>,
    groups: Option<Vec<String>>,
    access_keys: Option<BTreeMap<String, KeyPatch>>,
    policies: Option<BTreeMap<String, PolicyPatch>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyPatch {
    #[serde(default = "active")]
    status: KeyStatus,
    #[serde(default, deserialize_with = "date")]
    create_date: Option<String>,
}

fn active() -> KeyStatus {
    KeyStatus::Active
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyPatch {
    policy_type: PolicyType,
    default_version: Option<String>,
    #[serde(default)]
    description: String,
}

/// An RFC 3339 date of a patch, as Alibaba writes dates.
fn date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    OffsetDateTime::parse(&text, &Rfc3339)
        .map(|t| Some(iso8601_seconds(t)))
        .map_err(|e| {
            serde::de::Error::custom(format!(
                "date '{text}': {e}; use RFC 3339, e.g. 2024-01-01T00:00:00Z"
            ))
        })
}

impl UserPatch {
    /// Sets the fields given on `user`, dated `now` where the patch gives no date. The caller
    /// has checked that its groups exist.
    pub fn apply(self, user: &mut User, now: OffsetDateTime) {
        self.login_profile.apply(
            &mut user.login_profile,
            || Profile::new(now),
            |profile, patch| profile.change(patch.change, now),
        );
        let date = iso8601_seconds(now);
        let set = |field: &mut String, value: Option<String>| {
            if let Some(value) = value {
                *field = value;
            }
        };
        set(&mut user.display_name, self.display_name);
        set(&mut user.email, self.email);
        set(&mut user.mobile_phone, self.mobile_phone);
        set(&mut user.comments, self.comments);
        set(&mut user.create_date, self.create_date);
        if let Some(groups) = self.groups {
            let mut joined = std::mem::take(&mut user.groups);
            user.groups = (groups.into_iter())
                .map(|g| {
                    let since = joined.remove(&g).unwrap_or_else(|| date.clone());
                    (g, since)
                })
                .collect();
        }
        if let Some(keys) = self.access_keys {
            user.access_keys = (keys.into_iter())
                .map(|(id, key)| {
                    let created = key.create_date.unwrap_or_else(|| date.clone());
                    let key = AccessKey {
                        status: key.status,
                        update_date: created.clone(),
                        create_date: created,
                    };
                    (id, key)
                })
                .collect();
        }
        if let Some(policies) = self.policies {
            user.policies = (policies.into_iter())
                .map(|(name, p)| {
                    let policy = Policy {
                        policy_type: p.policy_type,
                        default_version: (p.default_version)
                            .unwrap_or_else(|| DEFAULT_POLICY_VERSION.to_string()),
                        description: p.description,
                        attach_date: date.clone(),
                    };
                    (name, policy)
                })
                .collect();
        }
    }
}
