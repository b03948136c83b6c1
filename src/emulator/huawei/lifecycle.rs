//! Huawei IAM's user lifecycle: CreateUser, ShowUser and KeystoneShowUser, UpdateUser,
//! KeystoneDeleteUser, groups by name and id with their members, and permanent access keys.

use super::super::membership::{self, Groups};
use super::{ACCESS_MODES, ApiError, Call, Directory, MAX_NAME, Name, User, not_found, token_time};
use crate::emulator::account::Scope;
use crate::emulator::service::PasswordHash;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

/// The password policy's minimum length (the console's default).
const MIN_PASSWORD_LEN: usize = 8;
/// Emails and descriptions are at most 255 characters, phone numbers 32 digits.
const MAX_TEXT: usize = 255;
const MAX_PHONE: usize = 32;

/// A permanent access key: never its secret.
#[derive(Clone, Serialize)]
pub struct Credential {
    access: String,
    /// `active` or `inactive`.
    status: String,
    description: String,
    created_at: i64,
}

/// A state patch's access key of a user.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialPatch {
    access: String,
    #[serde(default = "active")]
    status: String,
    #[serde(default)]
    description: String,
    created_at: Option<i64>,
}

fn active() -> String {
    "active".into()
}

impl CredentialPatch {
    pub fn credential(self, now: OffsetDateTime) -> Credential {
        Credential {
            access: self.access,
            status: self.status,
            description: self.description,
            created_at: self.created_at.unwrap_or(now.unix_timestamp()),
        }
    }
}

/// A group's id: the first 16 bytes of SHA-256 over the account id and its name, in hex.
pub fn group_id(domain_id: &str, name: &str) -> String {
    hex::encode(&Sha256::digest(format!("{domain_id}/group/{name}"))[..16])
}

/// `2020-07-08 02:19:03`, as ShowUser's `create_time` (UTC).
fn user_time(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second]"
    ))
    .expect("a UTC time always formats")
}

/// IAM's 400 with one of its user-field codes.
fn user_error(code: &str, message: &str) -> ApiError {
    ApiError::iam(StatusCode::BAD_REQUEST, code, message)
}

fn invalid_param(name: &str) -> ApiError {
    user_error("IAM.0007", &format!("Request parameter {name} is invalid."))
}

/// A user name of the 2025 rules: 1 to 64 of letters, digits, space, `_`, `.`, `-`, not starting
/// with a digit or a space.
fn valid_name(name: &str) -> bool {
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| !c.is_ascii_digit() && c != ' ');
    first_ok
        && name.chars().count() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _.-".contains(c))
}

/// The fields of a `{"user": {…}}` body that CreateUser and UpdateUser read, each checked on its
/// own; what depends on other users (a name, email or phone taken) is checked under the lock.
#[derive(Default)]
struct Fields {
    name: Option<String>,
    domain_id: Option<String>,
    password: Option<String>,
    pwd_status: Option<bool>,
    access_mode: Option<Name>,
    enabled: Option<bool>,
    email: Option<String>,
    /// Area code and number, given together.
    phone: Option<(String, String)>,
    description: Option<String>,
}

impl Fields {
    fn read(body: &[u8]) -> Result<Fields, ApiError> {
        let body: Value = serde_json::from_slice(body).map_err(|_| ApiError::invalid_body())?;
        let user = body["user"]
            .as_object()
            .ok_or_else(ApiError::invalid_body)?;
        let text = |name: &str| field(user, name, Value::as_str).map(|v| v.map(str::to_string));
        let flag = |name: &str| field(user, name, Value::as_bool);
        let fields = Fields {
            name: text("name")?,
            domain_id: text("domain_id")?,
            password: text("password")?,
            pwd_status: flag("pwd_status")?,
            access_mode: text("access_mode")?
                .map(|m| {
                    (ACCESS_MODES.into_iter().find(|a| *a == m))
                        .ok_or_else(|| invalid_param("access_mode"))
                })
                .transpose()?,
            enabled: flag("enabled")?,
            email: text("email")?,
            phone: match (text("areacode")?, text("phone")?) {
                (None, None) => None,
                (Some(areacode), Some(phone)) => Some((areacode, phone)),
                _ => {
                    return Err(user_error(
                        "1106",
                        "The country code and mobile number must be set at the same time.",
                    ));
                }
            },
            description: text("description")?,
        };
        fields.check()?;
        Ok(fields)
    }

    fn check(&self) -> Result<(), ApiError> {
        if self.name.as_deref().is_some_and(|n| !valid_name(n)) {
            return Err(user_error("1101", "Invalid username."));
        }
        if (self.password.as_deref()).is_some_and(|p| p.chars().count() < MIN_PASSWORD_LEN) {
            return Err(user_error("1103", "Incorrect password."));
        }
        let bad_email = |e: &str| !e.is_empty() && (!e.contains('@') || e.len() > MAX_TEXT);
        if self.email.as_deref().is_some_and(bad_email) {
            return Err(user_error("1102", "Invalid email address."));
        }
        let bad_phone = |(area, phone): &(String, String)| {
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            !digits(area) || !digits(phone) || phone.len() > MAX_PHONE
        };
        if self.phone.as_ref().is_some_and(bad_phone) {
            return Err(user_error("1104", "Invalid mobile number."));
        }
        if (self.description.as_deref()).is_some_and(|d| d.chars().count() > MAX_TEXT) {
            return Err(user_error("1117", "Invalid user description."));
        }
        Ok(())
    }

    /// Refuses a name, email or phone another user (than `me`) has.
    fn check_unique(&self, directory: &Directory, me: Option<&str>) -> Result<(), ApiError> {
        let others = || {
            directory
                .users
                .iter()
                .filter(move |(n, _)| Some(n.as_str()) != me)
        };
        if let Some(name) = self.name.as_deref().filter(|n| Some(*n) != me) {
            if directory.users.contains_key(name) {
                return Err(user_error("1109", "The username already exists."));
            }
        }
        if let Some(email) = self.email.as_deref().filter(|e| !e.is_empty()) {
            if others().any(|(_, u)| u.email == email) {
                return Err(user_error("1110", "The email address already exists."));
            }
        }
        if let Some((area, phone)) = &self.phone {
            if others().any(|(_, u)| u.areacode == *area && u.phone == *phone) {
                return Err(user_error("1111", "The mobile number already exists."));
            }
        }
        Ok(())
    }

    /// Sets what is given on `user`.
    fn apply(self, user: &mut User) {
        if let Some(password) = self.password {
            user.password_hash = Some(PasswordHash::new(&password));
        }
        user.pwd_status = self.pwd_status.unwrap_or(user.pwd_status);
        user.access_mode = self.access_mode.unwrap_or(user.access_mode);
        user.enabled = self.enabled.unwrap_or(user.enabled);
        if let Some(email) = self.email {
            user.email = email;
        }
        if let Some((areacode, phone)) = self.phone {
            (user.areacode, user.phone) = (areacode, phone);
        }
        if let Some(description) = self.description {
            user.description = description;
        }
    }
}

/// A field of the body's `user` of the type `as_type` reads; any other type is an invalid body.
fn field<'v, T>(
    user: &'v Map<String, Value>,
    name: &str,
    as_type: impl Fn(&'v Value) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    match user.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_type(v).map(Some).ok_or_else(ApiError::invalid_body),
    }
}

impl Scope<Directory> {
    /// KeystoneShowUser's view of a user (also KeystoneListUsers' entries).
    pub(super) fn keystone_user(&self, name: &str, user: &User, base: &str) -> Value {
        json!({
            "id": user.id,
            "name": name,
            "domain_id": self.id,
            "enabled": user.enabled,
            "description": user.description,
            "password_expires_at": null,
            "pwd_status": user.pwd_status,
            "access_mode": user.access_mode,
            "links": {"self": format!("{base}/v3/users/{}", user.id)},
        })
    }

    /// ShowUser's view: KeystoneShowUser's plus contact details and dates.
    fn full_user(&self, name: &str, user: &User, base: &str) -> Value {
        let mut shown = self.keystone_user(name, user, base);
        shown["links"]["self"] = format!("{base}/v3.0/OS-USER/users/{}", user.id).into();
        for (key, value) in [
            ("email", &user.email),
            ("areacode", &user.areacode),
            ("phone", &user.phone),
        ] {
            shown[key] = value.as_str().into();
        }
        shown["create_time"] = user_time(user.created_at).into();
        shown["last_login_time"] = Value::Null;
        shown["is_domain_owner"] = false.into();
        shown["xuser_id"] = "".into();
        shown["xuser_type"] = "".into();
        shown
    }

    /// `pwd_status` defaults to true with a password (change it at first login), false without.
    pub(super) fn create_user(&self, call: &Call, now: OffsetDateTime) -> Result<Value, ApiError> {
        let mut fields = Fields::read(&call.body)?;
        let (Some(name), Some(domain_id)) = (fields.name.clone(), fields.domain_id.as_deref())
        else {
            return Err(user_error(
                "1100",
                "Mandatory parameters are not specified.",
            ));
        };
        if domain_id != self.id {
            return Err(invalid_param("domain_id"));
        }
        fields.pwd_status = fields.pwd_status.or(Some(fields.password.is_some()));
        let mut directory = self.lock();
        fields.check_unique(&directory, None)?;
        let user = directory.add(&self.id, &name, now);
        fields.apply(user);
        let user = &directory.users[&name];
        Ok(json!({ "user": self.full_user(&name, user, &call.base()) }))
    }

    /// ShowUser (`full`) or KeystoneShowUser.
    pub(super) fn show_user(&self, id: &str, call: &Call, full: bool) -> Result<Value, ApiError> {
        let directory = self.lock();
        let name = directory.name_of(id)?;
        let user = &directory.users[&name];
        Ok(json!({ "user": match full {
            true => self.full_user(&name, user, &call.base()),
            false => self.keystone_user(&name, user, &call.base()),
        }}))
    }

    /// Sets the fields given; a new `name` renames the user (its id stays).
    pub(super) fn update_user(&self, id: &str, call: &Call) -> Result<Value, ApiError> {
        let fields = Fields::read(&call.body)?;
        if fields.domain_id.is_some() {
            return Err(invalid_param("domain_id"));
        }
        let mut directory = self.lock();
        let name = directory.name_of(id)?;
        fields.check_unique(&directory, Some(&name))?;
        let new_name = fields.name.clone().unwrap_or(name.clone());
        let user = directory.by_id(id)?;
        fields.apply(user);
        user.updates += 1;
        if new_name != name {
            rename(&mut directory, &name, &new_name);
        }
        let user = &directory.users[&new_name];
        Ok(json!({ "user": self.full_user(&new_name, user, &call.base()) }))
    }

    pub(super) fn groups_for_user(&self, id: &str, call: &Call) -> Result<Value, ApiError> {
        let directory = self.lock();
        let name = directory.name_of(id)?;
        let groups = (directory.groups.iter())
            .filter(|(_, g)| g.members.contains_key(&name))
            .map(|(group, g)| self.group(group, g.description.as_str(), g.created_at, call))
            .collect();
        Ok(self.groups_page(groups, &format!("/v3/users/{id}/groups"), call))
    }

    /// KeystoneListGroups: `name` an exact filter, another account's `domain_id` none.
    pub(super) fn list_groups(&self, call: &Call) -> Value {
        let name = call.param("name");
        let none = call.param("domain_id").is_some_and(|d| d != self.id);
        let directory = self.lock();
        let groups = (directory.groups.iter())
            .filter(|(n, _)| !none && name.is_none_or(|name| name == n.as_str()))
            .map(|(group, g)| self.group(group, g.description.as_str(), g.created_at, call))
            .collect();
        self.groups_page(groups, "/v3/groups", call)
    }

    fn group(&self, name: &str, description: &str, created_at: i64, call: &Call) -> Value {
        let id = group_id(&self.id, name);
        json!({
            "id": id,
            "name": name,
            "domain_id": self.id,
            "description": description,
            // Keystone's groups carry milliseconds.
            "create_time": created_at * 1000,
            "links": {"self": format!("{}/v3/groups/{id}", call.base())},
        })
    }

    fn groups_page(&self, groups: Vec<Value>, path: &str, call: &Call) -> Value {
        json!({
            "groups": groups,
            "links": {"self": format!("{}{path}", call.base()), "previous": null, "next": null},
        })
    }

    /// The keys of `user_id`; without it, the caller's own, and the emulator's callers (its
    /// built-in AK and admin) are no users of the directory: none.
    pub(super) fn list_credentials(&self, call: &Call) -> Result<Value, ApiError> {
        let directory = self.lock();
        let credentials: Vec<Value> = match call.param("user_id") {
            None => Vec::new(),
            Some(id) => {
                let name = directory.name_of(id)?;
                (directory.users[&name].access_keys.iter())
                    .map(|k| {
                        let created = OffsetDateTime::from_unix_timestamp(k.created_at)
                            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                        json!({
                            "user_id": id,
                            "access": k.access,
                            "status": k.status,
                            "create_time": token_time(created),
                            "description": k.description,
                        })
                    })
                    .collect()
            }
        };
        Ok(json!({ "credentials": credentials }))
    }

    /// KeystoneDeleteUser, with its memberships, keys and MFA devices: nothing blocks it.
    pub(super) fn delete_user(&self, id: &str) -> Result<(), ApiError> {
        let mut directory = self.lock();
        let name = directory.name_of(id)?;
        directory.users.remove(&name);
        directory.names.remove(id);
        directory.retired.insert(id.to_string());
        membership::forget(&mut directory.groups, &name);
        directory.mfa_devices.forget(&name);
        Ok(())
    }

    pub(super) fn delete_credential(&self, access: &str) -> Result<(), ApiError> {
        let mut directory = self.lock();
        let found = (directory.users.values_mut()).find_map(|u| {
            let at = u.access_keys.iter().position(|k| k.access == access)?;
            Some((u, at))
        });
        let (user, at) = found.ok_or_else(|| not_found("credential", access))?;
        user.access_keys.remove(at);
        Ok(())
    }

    /// Adds (a member already: 204, as Keystone answers), checks or removes (not a member: 404)
    /// the user `id` in the group `group`; an unknown group or user is 404.
    pub(super) fn membership(
        &self,
        change: Member,
        group: &str,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<(), ApiError> {
        let mut directory = self.lock();
        let group = self.group_name(&directory.groups, group)?;
        let name = directory.name_of(id)?;
        let members = &mut (directory.groups.get_mut(&group).expect("found above")).members;
        match change {
            Member::Add => {
                members.entry(name).or_insert(now.unix_timestamp());
            }
            _ if !members.contains_key(&name) => {
                return Err(not_found("user in the group", id));
            }
            Member::Remove => {
                members.remove(&name);
            }
            Member::Check => {}
        }
        Ok(())
    }

    /// The name of the group with this id; 404 `IAM.0004` if there is none.
    fn group_name(&self, groups: &Groups, id: &str) -> Result<String, ApiError> {
        (groups.keys())
            .find(|name| group_id(&self.id, name) == id)
            .cloned()
            .ok_or_else(|| not_found("group", id))
    }
}

/// What a membership request does.
pub enum Member {
    Add,
    Check,
    Remove,
}

/// Moves a user, its memberships and MFA devices to a new name the caller checked is free.
fn rename(directory: &mut Directory, from: &str, to: &str) {
    let user = directory
        .users
        .remove(from)
        .expect("the caller found the user");
    directory.names.insert(user.id.clone(), to.to_string());
    directory.users.insert(to.to_string(), user);
    membership::rename(&mut directory.groups, from, to);
    directory.mfa_devices.rename(from, to);
}
