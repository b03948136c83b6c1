//! UCloud's user lifecycle: `CreateUser` (with its login profile inside), `GetUser`, `UpdateUser`,
//! `DeleteUser`, groups and their members, and the users' access keys; plus the `groups` part of a
//! state patch.

use super::super::login::LoginChange;
use super::super::membership::{self, Group};
use super::super::params::{ParamErrors, Params, login_status};
use super::{
    ApiError, Directory, Iam, User, check_password, email, exists, invalid, no_user, page,
    user_status,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The `CompanyID` of the emulated account, as `CreateUser` answers it.
const COMPANY_ID: u64 = 50_000_001;

#[derive(Clone, Serialize)]
pub struct AccessKey {
    id: String,
    pub status: &'static str,
    description: String,
    created_at: i64,
    updated_at: i64,
}

impl AccessKey {
    /// A new key and its secret, which only the reply that made it carries.
    fn issue(status: &'static str, now: OffsetDateTime) -> (AccessKey, String) {
        let key = AccessKey {
            id: uuid::Uuid::new_v4().simple().to_string(),
            status,
            description: String::new(),
            created_at: now.unix_timestamp(),
            updated_at: now.unix_timestamp(),
        };
        (key, uuid::Uuid::new_v4().simple().to_string())
    }

    /// As `ListAccessKeys` shows it: never the secret.
    fn wire(&self, user_id: u64) -> Value {
        json!({
            "AccessKeyID": self.id,
            "Status": self.status,
            "Description": self.description,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "ExpiredAt": 0,
            "UserId": user_id,
        })
    }
}

impl User {
    /// As `GetUser` shows it.
    fn wire(&self, name: &str) -> Value {
        json!({
            "UserName": name,
            "DisplayName": self.display_name,
            "Email": self.email,
            "Status": self.status,
            "CreatedAt": self.created_at,
        })
    }
}

fn no_group(name: &str) -> ApiError {
    ApiError::new(11162, format!("Group [{name}] not exist"))
}

fn no_key(id: &str) -> ApiError {
    invalid("AccessKeyID", &format!("no access key {id}"))
}

/// A required `Active` / `Inactive` parameter.
fn required_status(p: &Params, name: &str) -> Result<&'static str, ApiError> {
    login_status(p.required(name)?).ok_or_else(|| invalid(name, "use Active or Inactive"))
}

impl Directory {
    fn user(&mut self, name: &str) -> Result<&mut User, ApiError> {
        self.users.get_mut(name).ok_or_else(|| no_user(name))
    }

    fn group(&mut self, name: &str) -> Result<&mut Group, ApiError> {
        self.groups.get_mut(name).ok_or_else(|| no_group(name))
    }

    fn key(&mut self, id: &str) -> Result<(&mut User, usize), ApiError> {
        self.users
            .values_mut()
            .find_map(|user| {
                let at = user.access_keys.iter().position(|k| k.id == id)?;
                Some((user, at))
            })
            .ok_or_else(|| no_key(id))
    }
}

impl Iam {
    /// A user with its login profile and one access key. UCloud leaves undocumented what the reply's
    /// `AccessKeyID` / `AccessKeySecret` hold when the key is created `Inactive`: the emulator
    /// answers the new key's id and a secret whatever its status, the worst case for a client that
    /// must not keep secrets. The secret is not stored.
    pub(super) fn create_user(&self, p: &Params, now: OffsetDateTime) -> Result<Value, ApiError> {
        let name = p.required("UserName")?;
        let key_status = required_status(p, "AccessKeyStatus")?;
        let login = required_status(p, "LoginProfileStatus")?;
        if key_status == "Inactive" && login == "Inactive" {
            return Err(invalid(
                "LoginProfileStatus",
                "AccessKeyStatus and LoginProfileStatus cannot both be Inactive",
            ));
        }
        let generate = p.boolean("GenerateRandomPassword")?.unwrap_or(false);
        let password = p.get("Password");
        match (login, password) {
            ("Active", None) if !generate => return Err(ApiError::missing("Password")),
            ("Inactive", Some(_)) => {
                return Err(invalid(
                    "Password",
                    "omit it when LoginProfileStatus is Inactive",
                ));
            }
            _ => check_password(password)?,
        }
        let change = LoginChange {
            status: Some(login),
            mfa_bind_required: Some(p.boolean("MFABindRequired")?.unwrap_or(false)),
            password_reset_required: Some(p.boolean("PasswordResetRequired")?.unwrap_or(false)),
            password: password.map(str::to_string),
        };
        let email = email(p, "Email")?;
        let display_name = p.get("DisplayName").filter(|d| !d.is_empty());

        let mut directory = self.account.lock();
        if directory.users.contains_key(name) {
            return Err(exists(name));
        }
        let mut user = User::new(name, now);
        user.display_name = display_name.unwrap_or(name).to_string();
        user.email = email.unwrap_or_default().to_string();
        let profile = user
            .login_profile
            .as_mut()
            .expect("a new user has a profile");
        if generate && password.is_none() {
            profile.generate_password();
        }
        profile.change(change, None, now);
        let (key, secret) = AccessKey::issue(key_status, now);
        let reply = json!({
            "UserName": name,
            "DisplayName": user.display_name,
            "CompanyID": COMPANY_ID,
            "ConsoleAccess": login == "Active",
            "APIAccess": key_status == "Active",
            "AccessKeyID": key.id,
            "AccessKeySecret": secret,
            "Message": "",
        });
        user.access_keys.push(key);
        directory.users.insert(name.to_string(), user);
        Ok(reply)
    }

    pub(super) fn get_user(&self, p: &Params) -> Result<Value, ApiError> {
        let name = p.required("UserName")?;
        let mut directory = self.account.lock();
        Ok(json!({ "Message": "", "User": directory.user(name)?.wire(name) }))
    }

    /// A new display name, a freeze (`Frozen`) or an unfreeze (`Active`), a new name. What a
    /// freeze blocks is not modelled: nobody signs in to the emulator.
    pub(super) fn update_user(&self, p: &Params) -> Result<Value, ApiError> {
        let name = p.required("UserName")?;
        let display_name = p.get("DisplayName").filter(|d| !d.is_empty());
        let status = (p.get("Status").filter(|s| !s.is_empty()))
            .map(|s| user_status(s).ok_or_else(|| invalid("Status", "use Active or Frozen")))
            .transpose()?;
        if display_name.is_none() && status.is_none() {
            return Err(ApiError::new(220, "Missing params [DisplayName or Status]"));
        }
        let new_name = p.get("NewUserName").filter(|n| !n.is_empty() && *n != name);
        let mut directory = self.account.lock();
        directory.user(name)?;
        if let Some(new_name) = new_name.filter(|n| directory.users.contains_key(*n)) {
            return Err(exists(new_name));
        }
        let user = directory.user(name)?;
        if let Some(display_name) = display_name {
            user.display_name = display_name.to_string();
        }
        user.status = status.unwrap_or(user.status);
        if let Some(new_name) = new_name {
            rename(&mut directory, name, new_name);
        }
        Ok(json!({ "Message": "" }))
    }

    /// Deletes the user with its memberships, keys and MFA devices: UCloud documents nothing that
    /// blocks a delete.
    pub(super) fn delete_user(&self, p: &Params) -> Result<Value, ApiError> {
        let name = p.required("UserName")?;
        let mut directory = self.account.lock();
        directory.users.remove(name).ok_or_else(|| no_user(name))?;
        membership::forget(&mut directory.groups, name);
        directory.mfa_devices.forget(name);
        Ok(json!({ "Message": "" }))
    }

    /// A user already in the group stays, joined when it first did: UCloud documents no error for
    /// it, so the emulator answers success.
    pub(super) fn add_to_group(&self, p: &Params, now: OffsetDateTime) -> Result<Value, ApiError> {
        let (user, group) = (p.required("UserName")?, p.required("GroupName")?);
        let mut directory = self.account.lock();
        directory.user(user)?;
        let members = &mut directory.group(group)?.members;
        members
            .entry(user.to_string())
            .or_insert(now.unix_timestamp());
        Ok(json!({ "Message": "" }))
    }

    /// A user not in the group: success, nothing to remove (UCloud documents no error for it).
    pub(super) fn remove_from_group(&self, p: &Params) -> Result<Value, ApiError> {
        let (user, group) = (p.required("UserName")?, p.required("GroupName")?);
        let mut directory = self.account.lock();
        directory.user(user)?;
        directory.group(group)?.members.remove(user);
        Ok(json!({ "Message": "" }))
    }

    /// Every group in name order, in one reply (the SDK's request has no paging).
    pub(super) fn list_groups(&self) -> Value {
        let directory = self.account.lock();
        let groups: Vec<Value> = (directory.groups.iter())
            .map(|(name, g)| {
                json!({"GroupName": name, "Description": g.description, "CreatedAt": g.created_at})
            })
            .collect();
        json!({ "Message": "", "TotalCount": groups.len(), "Groups": groups })
    }

    /// Members in name order, `Limit` from `Offset` as `ListUsers` pages.
    pub(super) fn list_users_for_group(&self, p: &Params) -> Result<Value, ApiError> {
        let group = p.required("GroupName")?;
        let (offset, limit) = page(p)?;
        let mut directory = self.account.lock();
        let members = directory.group(group)?.members.clone();
        let users: Vec<Value> = (members.iter().skip(offset).take(limit))
            .filter_map(|(name, joined_at)| {
                let user = directory.users.get(name)?;
                Some(json!({
                    "UserName": name,
                    "DisplayName": user.display_name,
                    "Email": user.email,
                    "JoinedAt": joined_at,
                }))
            })
            .collect();
        Ok(json!({ "Message": "", "TotalCount": members.len(), "Users": users }))
    }

    pub(super) fn list_access_keys(&self, p: &Params) -> Result<Value, ApiError> {
        let name = p.required("UserName")?;
        let mut directory = self.account.lock();
        let user = directory.user(name)?;
        let keys: Vec<Value> = user.access_keys.iter().map(|k| k.wire(user.id)).collect();
        Ok(json!({ "AccessKey": keys }))
    }

    /// An unknown key id: UCloud documents no code; the emulator answers 230 naming `AccessKeyID`.
    pub(super) fn update_access_key(
        &self,
        p: &Params,
        now: OffsetDateTime,
    ) -> Result<Value, ApiError> {
        let id = p.required("AccessKeyID")?;
        let status = p.status()?;
        let description = p.get("Description");
        let mut directory = self.account.lock();
        let (user, at) = directory.key(id)?;
        let key = &mut user.access_keys[at];
        key.status = status.unwrap_or(key.status);
        if let Some(description) = description {
            key.description = description.to_string();
        }
        key.updated_at = now.unix_timestamp();
        Ok(json!({}))
    }

    pub(super) fn delete_access_key(&self, p: &Params) -> Result<Value, ApiError> {
        let id = p.required("AccessKeyID")?;
        let mut directory = self.account.lock();
        let (user, at) = directory.key(id)?;
        user.access_keys.remove(at);
        Ok(json!({}))
    }
}

/// Moves a user, its memberships and MFA devices to a new name the caller checked is free.
fn rename(directory: &mut Directory, from: &str, to: &str) {
    let user = directory
        .users
        .remove(from)
        .expect("the caller found the user");
    directory.users.insert(to.to_string(), user);
    membership::rename(&mut directory.groups, from, to);
    directory.mfa_devices.rename(from, to);
}

/// A state patch's access key of a user; the secret is never part of the state.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPatch {
    id: String,
    #[serde(default = "active", deserialize_with = "key_status")]
    status: KeyStatus,
    #[serde(default)]
    description: String,
    created_at: Option<i64>,
}

/// `Active` or `Inactive`, a name of its own so that serde does not take it for borrowed text.
type KeyStatus = &'static str;

fn active() -> KeyStatus {
    "Active"
}

fn key_status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<KeyStatus, D::Error> {
    let s = String::deserialize(d)?;
    login_status(&s)
        .ok_or_else(|| serde::de::Error::custom(format!("status '{s}': use Active or Inactive")))
}

impl KeyPatch {
    pub fn key(self, now: OffsetDateTime) -> AccessKey {
        let created_at = self.created_at.unwrap_or(now.unix_timestamp());
        AccessKey {
            id: self.id,
            status: self.status,
            description: self.description,
            created_at,
            updated_at: created_at,
        }
    }
}
