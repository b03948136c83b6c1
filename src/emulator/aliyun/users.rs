//! IMS user lifecycle: users (create, read, update, delete into the recycle bin), group
//! membership, access keys, unbinding MFA, the default domain and the recycle bin's listing.

use super::bin::{self, Recycled};
use super::directory::{Directory, KeyStatus, User, short_name};
use super::{ApiError, invalid, iso8601_seconds, no_user, paging, truncated, user};
use crate::emulator::account::Scope;
use crate::emulator::params::{ParamErrors, Params};
use axum::http::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// ListUsersInRecycleBin's largest page, also its default.
const MAX_BIN_ITEMS: usize = 100;
/// IMS's limits on a user's fields.
const MAX_NAME_LEN: usize = 64;
const MAX_UPN_LEN: usize = 128;
const MAX_DISPLAY_NAME_LEN: usize = 24;
const MAX_COMMENTS_LEN: usize = 128;

impl User {
    /// The `User` object of the replies (GetUser adds `UserName`). No one has signed in, so
    /// there is no `LastLoginDate`.
    pub(super) fn wire(&self, upn: &str) -> Value {
        json!({
            "UserPrincipalName": upn,
            "UserId": self.user_id,
            "DisplayName": self.display_name,
            "Email": self.email,
            "MobilePhone": self.mobile_phone,
            "Comments": self.comments,
            "CreateDate": self.create_date,
            "UpdateDate": self.update_date,
            "ProvisionType": "Manual",
        })
    }
}

/// The parameters a request names a user's own fields with, and their error codes: CreateUser's
/// plain names, or UpdateUser's `New*`.
struct Names {
    upn: &'static str,
    upn_length: &'static str,
    upn_chars: &'static str,
    upn_domain: &'static str,
    display_name: &'static str,
    display_name_length: &'static str,
    email: &'static str,
    email_format: &'static str,
    mobile_phone: &'static str,
    mobile_phone_format: &'static str,
    comments: &'static str,
    comments_length: &'static str,
}

const CREATE: Names = Names {
    upn: "UserPrincipalName",
    upn_length: "InvalidParameter.UserPrincipalName.Length",
    upn_chars: "InvalidParameter.UserPrincipalName.InvalidChars",
    upn_domain: "InvalidParameter.UserPrincipalName.Domain",
    display_name: "DisplayName",
    display_name_length: "InvalidParameter.DisplayName.Length",
    email: "Email",
    email_format: "InvalidParameter.Email.Format",
    mobile_phone: "MobilePhone",
    mobile_phone_format: "InvalidParameter.MobilePhone.Format",
    comments: "Comments",
    comments_length: "InvalidParameter.Comments.Length",
};

const UPDATE: Names = Names {
    upn: "NewUserPrincipalName",
    upn_length: "InvalidParameter.NewUserPrincipalName.Length",
    upn_chars: "InvalidParameter.NewUserPrincipalName.InvalidChars",
    upn_domain: "InvalidParameter.NewUserPrincipalName.Domain",
    display_name: "NewDisplayName",
    display_name_length: "InvalidParameter.NewDisplayName.Length",
    email: "NewEmail",
    email_format: "InvalidParameter.NewEmail.Format",
    mobile_phone: "NewMobilePhone",
    mobile_phone_format: "InvalidParameter.NewMobilePhone.Format",
    comments: "NewComments",
    comments_length: "InvalidParameter.NewComments.Length",
};

fn bad(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

fn too_long(code: &'static str, name: &str) -> ApiError {
    bad(
        code,
        format!("The parameter - \"{name}\" beyond the length limit."),
    )
}

fn bad_format(code: &'static str, name: &str) -> ApiError {
    bad(
        code,
        format!("The format of the parameter - \"{name}\" is incorrect."),
    )
}

/// The own fields a request sets; `None` = not given.
struct Fields<'p> {
    display_name: Option<&'p str>,
    email: Option<&'p str>,
    mobile_phone: Option<&'p str>,
    comments: Option<&'p str>,
}

impl<'p> Fields<'p> {
    /// Reads and checks the fields named by `names`.
    fn read(p: &'p Params, names: &Names) -> Result<Fields<'p>, ApiError> {
        let display_name = p.get(names.display_name);
        if display_name.is_some_and(|d| d.is_empty() || d.chars().count() > MAX_DISPLAY_NAME_LEN) {
            return Err(too_long(names.display_name_length, names.display_name));
        }
        let email = p.get(names.email);
        if email.is_some_and(|e| !is_email(e)) {
            return Err(bad_format(names.email_format, names.email));
        }
        let mobile_phone = p.get(names.mobile_phone);
        if mobile_phone.is_some_and(|m| !is_mobile_phone(m)) {
            return Err(bad_format(names.mobile_phone_format, names.mobile_phone));
        }
        let comments = p.get(names.comments);
        if comments.is_some_and(|c| c.chars().count() > MAX_COMMENTS_LEN) {
            return Err(too_long(names.comments_length, names.comments));
        }
        Ok(Fields {
            display_name,
            email,
            mobile_phone,
            comments,
        })
    }

    fn apply(&self, user: &mut User) {
        let set = |field: &mut String, value: Option<&str>| {
            if let Some(value) = value {
                *field = value.to_string();
            }
        };
        set(&mut user.display_name, self.display_name);
        set(&mut user.email, self.email);
        set(&mut user.mobile_phone, self.mobile_phone);
        set(&mut user.comments, self.comments);
    }
}

/// `name@domain.tld`, no spaces.
fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

/// `<country code>-<number>`, digits only, as in `86-18688880000`.
fn is_mobile_phone(s: &str) -> bool {
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    s.split_once('-')
        .is_some_and(|(code, number)| digits(code) && code.len() <= 4 && digits(number))
}

/// A new principal name: `<name>@<the default domain>`, the name 1 to 64 of `[A-Za-z0-9._-]`,
/// the whole at most 128. A foreign suffix is this emulator's
/// `InvalidParameter.UserPrincipalName.Domain` (Alibaba documents no code for it).
fn check_upn(upn: &str, names: &Names, domain: &str) -> Result<(), ApiError> {
    let Some((name, suffix)) = upn.split_once('@') else {
        return Err(bad(
            names.upn_domain,
            format!("The parameter - \"{}\" must be <name>@{domain}.", names.upn),
        ));
    };
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN || upn.chars().count() > MAX_UPN_LEN {
        return Err(too_long(names.upn_length, names.upn));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    if !name.chars().all(allowed) {
        return Err(bad(
            names.upn_chars,
            format!("The parameter - \"{}\" contains invalid chars.", names.upn),
        ));
    }
    if suffix != domain {
        return Err(bad(
            names.upn_domain,
            format!(
                "The domain of the parameter - \"{}\" must be the account's default domain {domain}.",
                names.upn
            ),
        ));
    }
    Ok(())
}

fn user_exists() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "EntityAlreadyExists.User",
        "The user does already EXIST.",
    )
}

/// Whether `upn`, or another user of its short name (the account-wide `UserName`), exists.
fn taken(directory: &Directory, upn: &str) -> bool {
    directory.users.contains_key(upn) || directory.upn_of_name(short_name(upn)).is_some()
}

/// The user a request names by `UserPrincipalName`, `UserId` or (`by_key`) `UserAccessKeyId`,
/// the first given in that order.
fn named(directory: &Directory, p: &Params, by_key: bool) -> Result<String, ApiError> {
    let given = |name| p.get(name).filter(|v| !v.is_empty());
    if let Some(upn) = given("UserPrincipalName") {
        return match directory.users.contains_key(upn) {
            true => Ok(upn.to_string()),
            false => Err(no_user(upn)),
        };
    }
    if let Some(id) = given("UserId") {
        return directory.upn_of_id(id).ok_or_else(|| no_user(id));
    }
    match given("UserAccessKeyId").filter(|_| by_key) {
        Some(key) => directory.upn_of_key(key).ok_or_else(|| no_user(key)),
        None => Err(ApiError::missing("UserPrincipalName")),
    }
}

fn conflict(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, message)
}

/// What keeps a user from being deleted, checked in the order a clean-up removes it: access
/// keys, login profile, MFA device, groups, policies.
fn delete_conflict(directory: &Directory, upn: &str, user: &User) -> Result<(), ApiError> {
    if !user.access_keys.is_empty() {
        return Err(conflict(
            "DeleteConflict.User.AccessKey",
            "The user CAN NOT has any access key while deleting the user.",
        ));
    }
    if user.login_profile.is_some() {
        return Err(conflict(
            "DeleteConflict.User.LoginProfile",
            "The user CAN NOT has any login profile while deleting the user.",
        ));
    }
    if directory.mfa_devices.of(upn).is_some() {
        return Err(conflict(
            "DeleteConflict.User.MFADevice",
            "The user CAN NOT has any mfa device while deleting the user.",
        ));
    }
    if !user.groups.is_empty() {
        return Err(conflict(
            "DeleteConflict.User.Group",
            "The user CAN NOT be in any group while deleting the user.",
        ));
    }
    if !user.policies.is_empty() {
        return Err(conflict(
            "DeleteConflict.User.Policy",
            "The user CAN NOT has any attached policy while deleting the user.",
        ));
    }
    Ok(())
}

/// The user of a group action: an unknown user is reported before an unknown group.
fn user_of_group<'d>(
    directory: &'d mut Directory,
    upn: &str,
    group: &str,
) -> Result<&'d mut User, ApiError> {
    let known = directory.groups.contains_key(group);
    let user = user(directory, upn)?;
    if !known {
        return Err(no_group(group));
    }
    Ok(user)
}

fn no_group(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "EntityNotExist.Group",
        format!("The group {name} does not exist."),
    )
}

fn no_key() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "EntityNotExist.User.AccessKey",
        "The user access key does not exist.",
    )
}

/// The emulated account keeps no keys of its own, only its users': a key request must name its
/// user.
fn key_user(p: &Params) -> Result<&str, ApiError> {
    p.required("UserPrincipalName")
}

impl Scope<Directory> {
    pub(super) fn create_user(&self, p: &Params, now: OffsetDateTime) -> Result<Value, ApiError> {
        let upn = p.required("UserPrincipalName")?;
        p.required::<ApiError>("DisplayName")?;
        let fields = Fields::read(p, &CREATE)?;
        let mut directory = self.lock();
        check_upn(upn, &CREATE, &directory.default_domain)?;
        if taken(&directory, upn) {
            return Err(user_exists());
        }
        let user = directory.add_user(upn, now).expect("the name is free");
        fields.apply(user);
        Ok(json!({ "User": user.wire(upn) }))
    }

    pub(super) fn get_user(&self, p: &Params) -> Result<Value, ApiError> {
        let mut directory = self.lock();
        let upn = named(&directory, p, true)?;
        let mut wire = user(&mut directory, &upn)?.wire(&upn);
        wire["UserName"] = short_name(&upn).into();
        Ok(json!({ "User": wire }))
    }

    pub(super) fn update_user(&self, p: &Params, now: OffsetDateTime) -> Result<Value, ApiError> {
        let fields = Fields::read(p, &UPDATE)?;
        let mut directory = self.lock();
        let mut upn = named(&directory, p, false)?;
        if let Some(new) = p.get(UPDATE.upn).filter(|n| *n != upn) {
            check_upn(new, &UPDATE, &directory.default_domain)?;
            if directory.users.contains_key(new)
                || directory
                    .upn_of_name(short_name(new))
                    .is_some_and(|u| u != upn)
            {
                return Err(user_exists());
            }
            directory.rename(&upn, new);
            upn = new.to_string();
        }
        let user = user(&mut directory, &upn)?;
        fields.apply(user);
        user.update_date = iso8601_seconds(now);
        Ok(json!({ "User": user.wire(&upn) }))
    }

    /// Moves the user to the recycle bin, if nothing blocks it.
    pub(super) fn delete_user(&self, p: &Params, now: OffsetDateTime) -> Result<Value, ApiError> {
        if p.get("UserPrincipalName").is_some() && p.get("UserId").is_some() {
            return Err(invalid(
                "UserId",
                "give UserPrincipalName or UserId, not both",
            ));
        }
        let mut directory = self.lock();
        let upn = named(&directory, p, false)?;
        delete_conflict(&directory, &upn, &directory.users[&upn])?;
        let user = directory.users.remove(&upn).expect("named above");
        directory.recycle_bin.put(Recycled {
            sequence: 0,
            user_principal_name: upn,
            user_id: user.user_id,
            display_name: user.display_name,
            create_date: user.create_date,
            recycle_date: iso8601_seconds(now),
            delete_date: iso8601_seconds(now + bin::KEPT),
        });
        Ok(json!({}))
    }

    pub(super) fn add_to_group(&self, p: &Params, now: OffsetDateTime) -> Result<Value, ApiError> {
        let group = p.required("GroupName")?;
        let upn = p.required("UserPrincipalName")?;
        let mut directory = self.lock();
        let user = user_of_group(&mut directory, upn, group)?;
        if user.groups.contains_key(group) {
            return Err(conflict(
                "EntityAlreadyExists.User.Group",
                "The user has already joined the group.",
            ));
        }
        user.groups.insert(group.to_string(), iso8601_seconds(now));
        Ok(json!({}))
    }

    pub(super) fn remove_from_group(&self, p: &Params) -> Result<Value, ApiError> {
        let group = p.required("GroupName")?;
        let upn = p.required("UserPrincipalName")?;
        let mut directory = self.lock();
        let user = user_of_group(&mut directory, upn, group)?;
        user.groups.remove(group).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "EntityNotExist.User.Group",
                "The user has not joined the group.",
            )
        })?;
        Ok(json!({}))
    }

    /// The user's groups in name order, each with the date the user joined it; no paging.
    pub(super) fn groups_of_user(&self, p: &Params) -> Result<Value, ApiError> {
        let upn = p.required("UserPrincipalName")?;
        let mut directory = self.lock();
        let joined = user(&mut directory, upn)?.groups.clone();
        let groups: Vec<Value> = (joined.iter())
            .filter_map(|(name, since)| {
                let group = directory.groups.get(name)?;
                Some(json!({
                    "GroupName": name,
                    "GroupId": group.group_id,
                    "DisplayName": group.display_name,
                    "Comments": group.comments,
                    "JoinDate": since,
                }))
            })
            .collect();
        Ok(json!({ "Groups": { "Group": groups } }))
    }

    /// The user's access keys, never a secret.
    pub(super) fn list_keys(&self, p: &Params) -> Result<Value, ApiError> {
        let upn = key_user(p)?;
        let mut directory = self.lock();
        let keys: Vec<Value> = (user(&mut directory, upn)?.access_keys.iter())
            .map(|(id, key)| {
                json!({
                    "AccessKeyId": id,
                    "Status": key.status,
                    "CreateDate": key.create_date,
                    "UpdateDate": key.update_date,
                })
            })
            .collect();
        Ok(json!({ "AccessKeys": { "AccessKey": keys } }))
    }

    pub(super) fn update_key(&self, p: &Params, now: OffsetDateTime) -> Result<Value, ApiError> {
        let id = p.required("UserAccessKeyId")?;
        let status = KeyStatus::parse(p.required("Status")?)
            .ok_or_else(|| invalid("Status", "use Active or Inactive"))?;
        let upn = key_user(p)?;
        let mut directory = self.lock();
        let key = (user(&mut directory, upn)?.access_keys.get_mut(id)).ok_or_else(no_key)?;
        key.status = status;
        key.update_date = iso8601_seconds(now);
        Ok(json!({}))
    }

    pub(super) fn delete_key(&self, p: &Params) -> Result<Value, ApiError> {
        let id = p.required("UserAccessKeyId")?;
        let upn = key_user(p)?;
        let mut directory = self.lock();
        (user(&mut directory, upn)?.access_keys.remove(id)).ok_or_else(no_key)?;
        Ok(json!({}))
    }

    /// Unbinds the user's MFA devices; a virtual one stays in the account, unbound.
    pub(super) fn unbind_mfa(&self, p: &Params) -> Result<Value, ApiError> {
        let upn = p.required("UserPrincipalName")?;
        let mut directory = self.lock();
        user(&mut directory, upn)?;
        let device = directory.mfa_devices.unbind(upn).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "EntityNotExist.User.MFADevice",
                "The user has not bound any MFA device.",
            )
        })?;
        Ok(json!({ "MFADevice": { "SerialNumber": device.serial_number } }))
    }

    pub(super) fn default_domain(&self) -> Value {
        json!({ "DefaultDomainName": self.lock().default_domain })
    }

    /// The bin, oldest first; `Marker` is the next page's first sequence number, base64-encoded;
    /// `Filter` `UserPrincipalName eq <name>` or `UserId eq <id>`.
    pub(super) fn recycled_users(&self, p: &Params) -> Result<Value, ApiError> {
        let (max_items, start) = paging(p, MAX_BIN_ITEMS, MAX_BIN_ITEMS)?;
        let from = match start {
            None => 0,
            Some(s) => s
                .parse::<u64>()
                .map_err(|_| invalid("Marker", "pass the Marker of the previous page"))?,
        };
        let filter = match p.get("Filter").filter(|f| !f.is_empty()) {
            None => None,
            Some(f) => Some(filter(f)?),
        };
        let directory = self.lock();
        let mut users = directory.recycle_bin.from(from, move |u| match &filter {
            None => true,
            Some((Field::Upn, value)) => u.user_principal_name == *value,
            Some((Field::UserId, value)) => u.user_id == *value,
        });
        let page: Vec<Value> = (users.by_ref().take(max_items))
            .map(|u| {
                json!({
                    "UserId": u.user_id,
                    "UserPrincipalName": u.user_principal_name,
                    "DisplayName": u.display_name,
                    "CreateDate": u.create_date,
                    "RecycleDate": u.recycle_date,
                    "DeleteDate": u.delete_date,
                })
            })
            .collect();
        let next = users.next().map(|u| u.sequence.to_string());
        let mut body = json!({ "Users": { "User": page } });
        truncated(&mut body, next.as_deref());
        Ok(body)
    }
}

enum Field {
    Upn,
    UserId,
}

/// `UserPrincipalName eq <name>` or `UserId eq <id>`.
fn filter(text: &str) -> Result<(Field, String), ApiError> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let field = match words.as_slice() {
        ["UserPrincipalName", "eq", _] => Field::Upn,
        ["UserId", "eq", _] => Field::UserId,
        _ => {
            return Err(invalid(
                "Filter",
                "use UserPrincipalName eq <name> or UserId eq <id>",
            ));
        }
    };
    Ok((field, words[2].to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_principal_name_is_checked_against_the_default_domain() {
        let domain = "corp.onaliyun.com";
        let code = |upn: &str| check_upn(upn, &CREATE, domain).err().map(|e| e.code);
        assert_eq!(code("ann.li@corp.onaliyun.com"), None);
        assert_eq!(code("a_b-c.9@corp.onaliyun.com"), None);
        let domain_code = Some("InvalidParameter.UserPrincipalName.Domain");
        assert_eq!(code("ann@other.onaliyun.com"), domain_code);
        assert_eq!(code("ann"), domain_code);
        assert_eq!(
            code("ann li@corp.onaliyun.com"),
            Some("InvalidParameter.UserPrincipalName.InvalidChars")
        );
        let long = format!("{}@corp.onaliyun.com", "a".repeat(65));
        assert_eq!(
            code(&long),
            Some("InvalidParameter.UserPrincipalName.Length")
        );
        assert_eq!(
            check_upn("x@y.com", &UPDATE, domain).unwrap_err().code,
            "InvalidParameter.NewUserPrincipalName.Domain"
        );
    }

    #[test]
    fn emails_and_phones_have_their_formats() {
        assert!(is_email("ann@example.com"));
        assert!(!is_email("ann@example") && !is_email("ann example.com"));
        assert!(!is_email("@example.com") && !is_email("a b@example.com"));
        assert!(is_mobile_phone("86-18688880000"));
        assert!(!is_mobile_phone("18688880000") && !is_mobile_phone("86-1868888****"));
    }

    #[test]
    fn a_filter_names_a_principal_name_or_an_id() {
        assert!(
            matches!(filter("UserPrincipalName eq a@b.com"), Ok((Field::Upn, v)) if v == "a@b.com")
        );
        assert!(matches!(filter("UserId eq 42"), Ok((Field::UserId, v)) if v == "42"));
        assert!(filter("UserPrincipalName = a@b.com").is_err());
        assert!(filter("DisplayName eq a").is_err());
    }
}
