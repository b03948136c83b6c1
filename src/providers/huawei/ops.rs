//! The wire format of each operation: what it sends and what a successful reply means
//! (docs/providers.md §3.2).
//!
//! A step names its method and path (`PUT /v3.0/OS-USER/users/{user_id}/login-protect`); a write
//! sends login protection's JSON body.

use crate::jobs::{LoginState, VerificationMethod};
use crate::providers::encoding::rfc3986;
use crate::providers::json::text as nonempty;
use crate::providers::{
    Failure, FailureClass, Item, ListedUser, MfaDevice, MfaPage, Observed, Op, Part, StateList,
    Step, USER_ID, UserPage, Verdict, Write,
};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// An operation's request before authentication.
pub struct Parts {
    pub method: Method,
    /// Below the endpoint, starting with `/`.
    pub path: String,
    pub query: Vec<(String, String)>,
    /// JSON, or empty.
    pub body: Vec<u8>,
}

/// `domain_id`: the account's id, where known (AK/SK accounts, a token's account); CreateUser
/// needs it, and a group listing is narrowed to it.
pub fn parts(op: &Op<'_>, domain_id: Option<&str>) -> Parts {
    let (method, path, query, body) = match op {
        Op::Step {
            step,
            user,
            target,
            write,
        } => {
            let (method, path) = route(step);
            let path = path
                .replace("{user_id}", &rfc3986(user))
                .replace("{group_id}", &rfc3986(target.unwrap_or_default()));
            let query = match step.api {
                // The groups of one name: the lookup's target.
                "KeystoneListGroups" => (domain_id.map(|d| ("domain_id", d)).into_iter())
                    .chain(target.map(|name| ("name", name)))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                "KeystoneListUsers" => vec![("name".to_string(), user.to_string())],
                _ => Vec::new(),
            };
            let body = match (step.api, write) {
                ("CreateUser", Some(w)) => user_body(w, Some((user, domain_id.unwrap_or("")))),
                ("UpdateUser", Some(w)) => user_body(w, None),
                ("UpdateLoginProtect", Some(w)) => login_protect_body(w.state),
                _ => Vec::new(),
            };
            (method, path, query, body)
        }
        Op::ResolveUser { name } => (
            Method::GET,
            "/v3/users".to_string(),
            vec![("name".to_string(), name.to_string())],
            Vec::new(),
        ),
        // Keystone lists every user of the token's or AK's account in one page; a `links.next`
        // it gives is followed with its own query.
        Op::ListUsers { page } => (
            Method::GET,
            "/v3/users".to_string(),
            page.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                .unwrap_or_default(),
            Vec::new(),
        ),
        Op::ReadAll => (
            Method::GET,
            "/v3.0/OS-USER/login-protects".to_string(),
            Vec::new(),
            Vec::new(),
        ),
        // One page holds every device of the account.
        Op::ListMfaDevices { .. } => {
            let (method, path) = route(&super::MFA_LIST);
            (method, path.to_string(), Vec::new(), Vec::new())
        }
    };
    Parts {
        method,
        path,
        query,
        body,
    }
}

const LOGIN_PROTECT: &str = "/v3.0/OS-USER/users/{user_id}/login-protect";
const USER: &str = "/v3.0/OS-USER/users/{user_id}";
const MEMBERSHIP: &str = "/v3/groups/{group_id}/users/{user_id}";

/// The method and path of a declared step, by its SDK operation name. The declarations are
/// constants, each checked by a test.
fn route(step: &Step) -> (Method, &'static str) {
    match step.api {
        "ShowUserLoginProtect" => (Method::GET, LOGIN_PROTECT),
        "UpdateLoginProtect" => (Method::PUT, LOGIN_PROTECT),
        "ListUserMfaDevices" => (Method::GET, "/v3.0/OS-MFA/virtual-mfa-devices"),
        "CreateUser" => (Method::POST, "/v3.0/OS-USER/users"),
        "ShowUser" => (Method::GET, USER),
        "UpdateUser" => (Method::PUT, USER),
        "KeystoneListUsers" => (Method::GET, "/v3/users"),
        "KeystoneDeleteUser" => (Method::DELETE, "/v3/users/{user_id}"),
        "KeystoneListGroups" => (Method::GET, "/v3/groups"),
        "KeystoneListGroupsForUser" => (Method::GET, "/v3/users/{user_id}/groups"),
        "KeystoneAddUserToGroup" => (Method::PUT, MEMBERSHIP),
        "KeystoneRemoveUserFromGroup" => (Method::DELETE, MEMBERSHIP),
        other => unreachable!("huawei declares no step {other}"),
    }
}

/// `{"user":{..}}` of CreateUser (`new`: the new user's name and the account id; a console user)
/// and UpdateUser: the fields the write sets and its password. `mobile_phone` `86-1388…` is sent
/// as `areacode` `0086` and the number.
fn user_body(write: &Write<'_>, new: Option<(&str, &str)>) -> Vec<u8> {
    let state = write.state;
    let mut user = Map::new();
    let mut put = |key: &str, value: Value| {
        user.insert(key.to_string(), value);
    };
    if let Some((name, domain_id)) = new {
        put("name", name.into());
        put("domain_id", domain_id.into());
        put("access_mode", "console".into());
    }
    if let Some(password) = write.password {
        put("password", password.expose().into());
    }
    if let Some(reset) = state.password_reset_required {
        put("pwd_status", reset.into());
    }
    if let Some(enabled) = state.user_enabled {
        put("enabled", enabled.into());
    }
    if let Some(email) = &state.email {
        put("email", email.as_str().into());
    }
    if let Some((code, number)) = state
        .mobile_phone
        .as_deref()
        .and_then(|p| p.split_once('-'))
    {
        put("areacode", format!("{code:0>4}").into());
        put("phone", number.into());
    }
    if let Some(comments) = &state.comments {
        put("description", comments.as_str().into());
    }
    json!({ "user": user }).to_string().into_bytes()
}

/// Both fields are mandatory. The row's method, else `vmfa` (the second factor `enforce-mfa` wants;
/// a disabled configuration's method is not used at login). Rows without `login_protect_enabled`
/// are invalid; if one got here anyway, it enables: a missing value never turns protection off.
pub fn login_protect_body(state: &LoginState) -> Vec<u8> {
    let enabled = state.login_protect_enabled.unwrap_or(true);
    let method = state
        .verification_method
        .unwrap_or(VerificationMethod::Vmfa);
    json!({"login_protect": {"enabled": enabled, "verification_method": method.name()}})
        .to_string()
        .into_bytes()
}

/// What a 2xx reply to `op` says.
pub fn read_success(op: &Op<'_>, status: u16, body: &[u8]) -> Verdict {
    match op {
        // The id the new user is named by from now on.
        Op::Step { step, .. } if step.api == "CreateUser" => new_user_id(body)
            .map(Verdict::UserId)
            .unwrap_or_else(|| unexpected(status, "user with an id")),
        Op::Step { step, .. } if step.effect.is_write() => Verdict::Done,
        Op::Step { step, .. } if step.api == super::MFA_LIST.api => mfa_devices(status, body),
        Op::ListMfaDevices { .. } => mfa_devices(status, body),
        Op::Step { step, .. } if step.api == "ShowUser" => read_user(body)
            .map(Verdict::Observed)
            .unwrap_or_else(|| unexpected(status, "user object with an id")),
        Op::Step { step, user, .. } if step.api == "KeystoneListUsers" => {
            find_user(user, status, body)
        }
        Op::Step { step, .. } if step.part == Part::Groups || step.api == "KeystoneListGroups" => {
            read_groups(body).map(Verdict::Listed).unwrap_or_else(|| {
                unexpected(status, "groups list with an id and a name per group")
            })
        }
        Op::Step { .. } => read_login_protect(body)
            .map(Verdict::Observed)
            .unwrap_or_else(|| unexpected(status, "a login_protect object")),
        Op::ResolveUser { name } => read_user_id(name, status, body),
        Op::ListUsers { .. } => read_users(body)
            .map(Verdict::Users)
            .unwrap_or_else(|| unexpected(status, "users list with an id and a name per user")),
        Op::ReadAll => read_login_protects(body)
            .map(Verdict::States)
            .unwrap_or_else(|| unexpected(status, "login_protects list")),
    }
}

/// One `login_protect` object. Fields of an odd type read as unknown.
#[derive(Deserialize)]
struct WireProtect {
    #[serde(default)]
    user_id: Value,
    #[serde(default)]
    enabled: Value,
    #[serde(default)]
    verification_method: Value,
}

impl WireProtect {
    fn observed(&self) -> Observed {
        let state = LoginState {
            login_protect_enabled: self.enabled.as_bool(),
            verification_method: self
                .verification_method
                .as_str()
                .and_then(|m| m.parse().ok()),
            ..LoginState::default()
        };
        let extra = self
            .user_id
            .as_str()
            .map(|id| vec![("user_id", id.to_string())])
            .unwrap_or_default();
        Observed {
            exists: true,
            state,
            extra,
            created: None,
        }
    }
}

/// CreateUser's `{"user":{"id":..,..}}`.
fn new_user_id(body: &[u8]) -> Option<String> {
    let reply: Value = serde_json::from_slice(body).ok()?;
    Some(nonempty(&reply["user"], "id")?.to_string())
}

/// ShowUser's `{"user":{..}}`: the user's fields, its id and when it was created. Empty strings are
/// fields never set.
fn read_user(body: &[u8]) -> Option<Observed> {
    let reply: Value = serde_json::from_slice(body).ok()?;
    let user = reply.get("user").filter(|u| u.is_object())?;
    let text = |key: &str| nonempty(user, key).map(str::to_string);
    let mobile_phone = match (nonempty(user, "areacode"), nonempty(user, "phone")) {
        (Some(code), Some(number)) => Some(format!("{}-{number}", code.trim_start_matches('0'))),
        _ => None,
    };
    let state = LoginState {
        email: text("email"),
        mobile_phone,
        comments: text("description"),
        password_reset_required: user.get("pwd_status").and_then(Value::as_bool),
        user_enabled: user.get("enabled").and_then(Value::as_bool),
        ..LoginState::default()
    };
    Some(Observed {
        exists: true,
        state,
        extra: vec![(USER_ID, text("id")?)],
        created: user.get("create_time").and_then(created),
    })
}

/// The user named `name` in KeystoneListUsers' `{"users":[..]}`, with its id, and its creation
/// time when the entry gives one.
fn find_user(name: &str, status: u16, body: &[u8]) -> Verdict {
    let reply: Option<Value> = serde_json::from_slice(body).ok();
    let Some(users) = reply.as_ref().and_then(|r| r.get("users")?.as_array()) else {
        return unexpected(status, "a users list");
    };
    let found = users
        .iter()
        .filter(|u| nonempty(u, "name") == Some(name))
        .find_map(|u| Some((nonempty(u, "id")?, u)));
    match found {
        Some((id, user)) => Verdict::Observed(Observed {
            exists: true,
            state: LoginState::default(),
            extra: vec![(USER_ID, id.to_string())],
            created: user.get("create_time").and_then(created),
        }),
        None => Verdict::Failed(Failure {
            class: FailureClass::NotFound,
            code: "user_not_found".into(),
            message: format!("no IAM user is named '{name}'"),
            retry_after: None,
        }),
    }
}

/// A creation time as IAM writes it: `2020-07-08 02:19:03[.0]` (UTC), RFC 3339, or milliseconds
/// since 1970 (Keystone's groups).
fn created(value: &Value) -> Option<OffsetDateTime> {
    if let Some(millis) = value.as_i64() {
        return OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok();
    }
    let text = value.as_str()?.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    let seconds = text.split('.').next()?;
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    Some(PrimitiveDateTime::parse(seconds, format).ok()?.assume_utc())
}

/// `{"groups":[{"id","name",..}]}` (KeystoneListGroups, KeystoneListGroupsForUser): requests name
/// a group by its id, messages and the `groups` column by its name.
fn read_groups(body: &[u8]) -> Option<Vec<Item>> {
    let reply: Value = serde_json::from_slice(body).ok()?;
    reply
        .get("groups")?
        .as_array()?
        .iter()
        .map(|g| {
            Some(Item {
                id: nonempty(g, "id")?.to_string(),
                name: nonempty(g, "name")?.to_string(),
            })
        })
        .collect()
}

/// `{"virtual_mfa_devices":[{"serial_number","user_id"}]}`: every bound virtual device.
fn mfa_devices(status: u16, body: &[u8]) -> Verdict {
    #[derive(Deserialize)]
    struct Reply {
        virtual_mfa_devices: Vec<Device>,
    }
    #[derive(Deserialize)]
    struct Device {
        user_id: Option<String>,
    }
    let Ok(reply) = serde_json::from_slice::<Reply>(body) else {
        return unexpected(status, "virtual_mfa_devices list");
    };
    Verdict::MfaDevices(MfaPage {
        devices: reply
            .virtual_mfa_devices
            .into_iter()
            .filter_map(|d| d.user_id.filter(|id| !id.is_empty()))
            .map(|user| MfaDevice { user, kind: None })
            .collect(),
        next: None,
    })
}

/// `{"login_protect":{"user_id":..,"enabled":..,"verification_method":..}}`.
fn read_login_protect(body: &[u8]) -> Option<Observed> {
    #[derive(Deserialize)]
    struct Reply {
        login_protect: WireProtect,
    }
    let reply: Reply = serde_json::from_slice(body).ok()?;
    Some(reply.login_protect.observed())
}

/// `{"users":[{"id","name","access_mode",..}],"links":{"next":..}}` (KeystoneListUsers). A user
/// whose `access_mode` is `programmatic` cannot sign in to the console; `default` and `console`
/// users can, and so can users of a list without the field. `None` when a user lacks its id or
/// name, or `links.next` cannot be followed. Read into the few fields used, not a JSON tree: the
/// whole account comes in this one reply.
fn read_users(body: &[u8]) -> Option<UserPage> {
    #[derive(Deserialize)]
    struct Reply {
        users: Vec<User>,
        #[serde(default)]
        links: Links,
    }
    #[derive(Deserialize)]
    struct User {
        id: Option<String>,
        name: Option<String>,
        access_mode: Option<String>,
    }
    #[derive(Default, Deserialize)]
    struct Links {
        next: Option<String>,
    }
    let reply: Reply = serde_json::from_slice(body).ok()?;
    let users = reply
        .users
        .into_iter()
        .map(|user| {
            let present = |s: Option<String>| s.filter(|s| !s.is_empty());
            Some(ListedUser {
                user: present(user.id)?,
                user_name: Some(present(user.name)?),
                console: Some(user.access_mode.as_deref() != Some("programmatic")),
                ..ListedUser::default()
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let next = match reply.links.next {
        None => None,
        Some(link) => Some(next_query(&link)?),
    };
    Some(UserPage { users, next })
}

/// The query of a `links.next` URL: what asks for that page.
fn next_query(link: &str) -> Option<String> {
    let (_, query) = link.split_once('?')?;
    let query = query.split('#').next().unwrap_or_default();
    (!query.is_empty()).then(|| query.to_string())
}

/// `{"login_protects":[{"user_id","enabled","verification_method"}]}`: every user with a setting;
/// the others never had login protection, so it is off.
fn read_login_protects(body: &[u8]) -> Option<StateList> {
    #[derive(Deserialize)]
    struct Reply {
        login_protects: Vec<WireProtect>,
    }
    let reply: Reply = serde_json::from_slice(body).ok()?;
    let users = reply
        .login_protects
        .into_iter()
        .map(|lp| Some((lp.user_id.as_str()?.to_string(), lp.observed())))
        .collect::<Option<Vec<_>>>()?;
    Some(StateList {
        users,
        unlisted: never_configured(),
    })
}

/// A user whose login protection was never configured (GET answers 404 `IAM.0004`): it is off.
pub fn never_configured() -> Observed {
    Observed {
        exists: false,
        state: LoginState {
            login_protect_enabled: Some(false),
            ..LoginState::default()
        },
        extra: Vec::new(),
        created: None,
    }
}

/// `{"users":[{"id":..,"name":..},..]}`: exactly one user of that name. Entries of another name are
/// ignored, so a server that ignores the filter cannot make us pick the wrong user.
fn read_user_id(name: &str, status: u16, body: &[u8]) -> Verdict {
    let reply: Option<Value> = serde_json::from_slice(body).ok();
    let Some(users) = reply.as_ref().and_then(|r| r.get("users")?.as_array()) else {
        return unexpected(status, "a users list");
    };
    let ids: Vec<&str> = users
        .iter()
        .filter(|u| {
            u.get("name")
                .and_then(Value::as_str)
                .is_none_or(|n| n == name)
        })
        .filter_map(|u| u.get("id").and_then(Value::as_str))
        .filter(|id| !id.is_empty())
        .collect();
    let fail = |class, code: &str, message: String| {
        Verdict::Failed(Failure {
            class,
            code: code.into(),
            message,
            retry_after: None,
        })
    };
    match ids.as_slice() {
        [id] => Verdict::UserId(id.to_string()),
        [] => fail(
            FailureClass::NotFound,
            "user_not_found",
            format!("no IAM user is named '{name}'"),
        ),
        many => fail(
            FailureClass::Permanent,
            "ambiguous_user_name",
            format!(
                "{} IAM users are named '{name}': give the user id in the user column",
                many.len()
            ),
        ),
    }
}

fn unexpected(status: u16, wanted: &str) -> Verdict {
    Verdict::Failed(Failure {
        class: FailureClass::Permanent,
        code: status.to_string(),
        message: format!("the reply has no {wanted}: is the endpoint Huawei IAM?"),
        retry_after: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::Write;
    use crate::providers::huawei::{GET, PUT};

    fn write(state: &LoginState) -> Write<'_> {
        Write {
            state,
            password: None,
            generate_password: false,
        }
    }

    fn body_of(state: LoginState) -> Value {
        serde_json::from_slice(&login_protect_body(&state)).unwrap()
    }

    #[test]
    fn the_device_list_is_one_get_naming_each_bound_user() {
        let p = parts(&Op::ListMfaDevices { page: None }, None);
        assert_eq!(
            (p.method, p.path.as_str()),
            (Method::GET, "/v3.0/OS-MFA/virtual-mfa-devices")
        );
        let row = parts(
            &Op::Step {
                target: None,
                step: &crate::providers::huawei::MFA_LIST,
                user: "0a1b",
                write: None,
            },
            None,
        );
        assert_eq!(row.path, "/v3.0/OS-MFA/virtual-mfa-devices");
        let body =
            br#"{"virtual_mfa_devices":[{"serial_number":"iam/mfa/0a1b","user_id":"0a1b"}]}"#;
        let Verdict::MfaDevices(page) = read_success(&Op::ListMfaDevices { page: None }, 200, body)
        else {
            panic!("a device list")
        };
        assert!(page.binding("0a1b").bound);
        assert!(!page.binding("9f9f").bound);
        assert!(matches!(
            read_success(&Op::ListMfaDevices { page: None }, 200, b"{}"),
            Verdict::Failed(_)
        ));
    }

    #[test]
    fn the_body_always_carries_both_fields() {
        let on = LoginState {
            login_protect_enabled: Some(true),
            verification_method: Some(VerificationMethod::Sms),
            ..Default::default()
        };
        assert_eq!(
            body_of(on),
            json!({"login_protect":{"enabled":true,"verification_method":"sms"}})
        );
        let off = LoginState {
            login_protect_enabled: Some(false),
            ..Default::default()
        };
        assert_eq!(
            body_of(off),
            json!({"login_protect":{"enabled":false,"verification_method":"vmfa"}})
        );
        assert_eq!(
            body_of(LoginState::default()),
            json!({"login_protect":{"enabled":true,"verification_method":"vmfa"}})
        );
    }

    #[test]
    fn paths_and_methods() {
        let state = LoginState::default();
        let p = parts(
            &Op::Step {
                target: None,
                step: &GET,
                user: "u1",
                write: None,
            },
            None,
        );
        assert_eq!(
            (p.method, p.path.as_str()),
            (Method::GET, "/v3.0/OS-USER/users/u1/login-protect")
        );
        let p = parts(
            &Op::Step {
                target: None,
                step: &PUT,
                user: "u1",
                write: Some(write(&state)),
            },
            None,
        );
        assert_eq!(p.method, Method::PUT);
        assert!(!p.body.is_empty());
        let p = parts(&Op::ResolveUser { name: "ops admin" }, None);
        assert_eq!(p.path, "/v3/users");
        assert_eq!(p.query, vec![("name".to_string(), "ops admin".to_string())]);
        // An odd id stays one path segment.
        let p = parts(
            &Op::Step {
                step: &GET,
                user: "a/../b",
                target: None,
                write: None,
            },
            None,
        );
        assert_eq!(p.path, "/v3.0/OS-USER/users/a%2F..%2Fb/login-protect");
    }

    #[test]
    fn reads_login_protection() {
        let body = br#"{"login_protect":{"user_id":"16b26081f43d4c628c4bb88cf32e9f9b","enabled":true,"verification_method":"vmfa"}}"#;
        let Verdict::Observed(o) = read_success(
            &Op::Step {
                target: None,
                step: &GET,
                user: "x",
                write: None,
            },
            200,
            body,
        ) else {
            panic!()
        };
        assert!(o.exists);
        assert_eq!(o.state.login_protect_enabled, Some(true));
        assert_eq!(o.state.verification_method, Some(VerificationMethod::Vmfa));
        assert_eq!(
            o.extra,
            vec![("user_id", "16b26081f43d4c628c4bb88cf32e9f9b".to_string())]
        );
        let odd = read_success(
            &Op::Step {
                target: None,
                step: &GET,
                user: "x",
                write: None,
            },
            200,
            b"<html/>",
        );
        assert!(
            matches!(odd, Verdict::Failed(f) if f.class == FailureClass::Permanent && f.code == "200")
        );
    }

    #[test]
    fn every_declared_step_names_a_method_and_a_path() {
        use crate::providers::huawei::{FIND_USER, GROUP_BY_NAME};
        let steps = (crate::providers::huawei::ACTIONS.iter())
            .flat_map(|spec| spec.steps.iter().chain(spec.read))
            .chain([
                &FIND_USER,
                &GROUP_BY_NAME,
                &crate::providers::huawei::MFA_LIST,
            ]);
        for step in steps {
            let (_, path) = route(step);
            assert!(path.starts_with('/'), "{}", step.api);
        }
    }

    #[test]
    fn writes_are_done() {
        let state = LoginState::default();
        let op = Op::Step {
            target: None,
            step: &PUT,
            user: "u",
            write: Some(write(&state)),
        };
        assert_eq!(read_success(&op, 200, b"not json"), Verdict::Done);
    }

    #[test]
    fn list_requests() {
        let p = parts(&Op::ListUsers { page: None }, None);
        assert_eq!((p.method, p.path.as_str()), (Method::GET, "/v3/users"));
        assert!(p.query.is_empty() && p.body.is_empty());
        let p = parts(
            &Op::ListUsers {
                page: Some("marker=u%2F1&limit=500"),
            },
            None,
        );
        assert_eq!(
            p.query,
            vec![
                ("marker".to_string(), "u/1".to_string()),
                ("limit".to_string(), "500".to_string())
            ]
        );
        let p = parts(&Op::ReadAll, None);
        assert_eq!(
            (p.method, p.path.as_str()),
            (Method::GET, "/v3.0/OS-USER/login-protects")
        );
    }

    #[test]
    fn reads_the_user_list_with_console_access() {
        // The fields of KeystoneListUsersResult (Python SDK), with `access_mode` of newer models.
        let body = br#"{"users":[
            {"id":"0a1b2c3d4e5f60718293a4b5c6d7e8f9","name":"ahmad.razak","domain_id":"d1","enabled":true,
             "description":"","password_expires_at":null,"pwd_status":false,"pwd_strength":"high",
             "last_project_id":"p1","access_mode":"default","links":{"self":"https://iam/v3/users/0a1b"}},
            {"id":"ffeeddccbbaa99887766554433221100","name":"svc-backup","enabled":true,
             "access_mode":"programmatic"},
            {"id":"00112233445566778899aabbccddeeff","name":"old.user"}
        ],"links":{"self":"https://iam.myhuaweicloud.com/v3/users","previous":null,"next":null}}"#;
        let Verdict::Users(page) = read_success(&Op::ListUsers { page: None }, 200, body) else {
            panic!("expected a page");
        };
        assert_eq!(page.next, None);
        let seen: Vec<(&str, Option<&str>, Option<bool>)> = page
            .users
            .iter()
            .map(|u| (u.user.as_str(), u.user_name.as_deref(), u.console))
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
                    Some("ahmad.razak"),
                    Some(true)
                ),
                (
                    "ffeeddccbbaa99887766554433221100",
                    Some("svc-backup"),
                    Some(false)
                ),
                (
                    "00112233445566778899aabbccddeeff",
                    Some("old.user"),
                    Some(true)
                ),
            ]
        );
        assert!(
            page.users
                .iter()
                .all(|u| u.info.is_empty() && u.state.is_empty())
        );
    }

    #[test]
    fn a_next_link_is_followed_by_its_query_and_broken_lists_are_refused() {
        let body = br#"{"users":[],"links":{"next":"https://iam.myhuaweicloud.com/v3/users?marker=abc&limit=2"}}"#;
        let Verdict::Users(page) = read_success(&Op::ListUsers { page: None }, 200, body) else {
            panic!("expected a page");
        };
        assert_eq!(page.next.as_deref(), Some("marker=abc&limit=2"));
        for bad in [
            &br#"{"users":[{"name":"no-id"}],"links":{}}"#[..],
            br#"{"users":[{"id":"a1"}]}"#,
            br#"{"users":[],"links":{"next":"https://iam/v3/users"}}"#,
            br#"{"links":{}}"#,
        ] {
            assert!(matches!(
                read_success(&Op::ListUsers { page: None }, 200, bad),
                Verdict::Failed(f) if f.class == FailureClass::Permanent
            ));
        }
    }

    #[test]
    fn reads_every_login_protection_at_once() {
        let body = br#"{"login_protects":[
            {"user_id":"0a1b2c3d4e5f60718293a4b5c6d7e8f9","enabled":true,"verification_method":"vmfa"},
            {"user_id":"16b26081f43d4c628c4bb88cf32e9f9b","enabled":false,"verification_method":"email"}
        ]}"#;
        let Verdict::States(states) = read_success(&Op::ReadAll, 200, body) else {
            panic!("expected states");
        };
        assert_eq!(states.users.len(), 2);
        let (id, second) = &states.users[1];
        assert_eq!(id, "16b26081f43d4c628c4bb88cf32e9f9b");
        assert!(second.exists);
        assert_eq!(second.state.login_protect_enabled, Some(false));
        assert_eq!(
            second.state.verification_method,
            Some(VerificationMethod::Email)
        );
        // A user not in the list never had login protection: it is off.
        assert_eq!(states.unlisted, never_configured());
        assert_eq!(states.unlisted.state.login_protect_enabled, Some(false));
        assert!(matches!(
            read_success(
                &Op::ReadAll,
                200,
                br#"{"login_protects":[{"enabled":true}]}"#
            ),
            Verdict::Failed(_)
        ));
    }

    fn resolve(body: &str) -> Verdict {
        read_success(&Op::ResolveUser { name: "alice" }, 200, body.as_bytes())
    }

    #[test]
    fn resolves_exactly_one_user() {
        assert_eq!(
            resolve(
                r#"{"users":[{"id":"aa11","name":"alice","domain_id":"d","enabled":true}],"links":{}}"#
            ),
            Verdict::UserId("aa11".into())
        );
        assert!(matches!(resolve(r#"{"users":[],"links":{}}"#),
            Verdict::Failed(f) if f.class == FailureClass::NotFound && f.message.contains("alice")));
        assert!(
            matches!(resolve(r#"{"users":[{"id":"a1","name":"alice"},{"id":"a2","name":"alice"}]}"#),
            Verdict::Failed(f) if f.class == FailureClass::Permanent && f.message.starts_with("2 IAM users"))
        );
        // A list the server did not filter.
        assert_eq!(
            resolve(r#"{"users":[{"id":"b1","name":"bob"},{"id":"a1","name":"alice"}]}"#),
            Verdict::UserId("a1".into())
        );
        assert!(
            matches!(resolve(r#"{"user":[]}"#), Verdict::Failed(f) if f.class == FailureClass::Permanent)
        );
    }
}

#[cfg(test)]
mod user_tests {
    use super::*;
    use crate::providers::huawei::{
        ADD_TO_GROUP, CREATE_USER, DELETE_USER, FIND_USER, GROUP_BY_NAME, LIST_GROUPS,
        REMOVE_FROM_GROUP, SET_ENABLED, SHOW_USER, UPDATE_USER,
    };
    use crate::providers::testing::write;
    use crate::secret::Secret;
    use time::macros::datetime;

    const ID: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    const GROUP: &str = "ffeeddccbbaa99887766554433221100";

    fn step<'a>(
        step: &'static Step,
        user: &'a str,
        target: Option<&'a str>,
        write: Option<Write<'a>>,
    ) -> Op<'a> {
        Op::Step {
            step,
            user,
            target,
            write,
        }
    }

    fn body(p: &Parts) -> &str {
        std::str::from_utf8(&p.body).unwrap()
    }

    #[test]
    fn create_user_sends_a_console_user_in_the_account() {
        let state = LoginState {
            email: Some("ahmad@example.com".into()),
            mobile_phone: Some("60-123456789".into()),
            comments: Some("finance".into()),
            password_reset_required: Some(false),
            ..LoginState::default()
        };
        let password = Secret::new("Pa55-word");
        let p = parts(
            &step(
                &CREATE_USER,
                "ahmad.razak",
                None,
                Some(write(&state, Some(&password))),
            ),
            Some("dom1"),
        );
        assert_eq!(
            (&p.method, p.path.as_str()),
            (&Method::POST, "/v3.0/OS-USER/users")
        );
        assert!(p.query.is_empty());
        assert_eq!(
            body(&p),
            r#"{"user":{"access_mode":"console","areacode":"0060","description":"finance","domain_id":"dom1","email":"ahmad@example.com","name":"ahmad.razak","password":"Pa55-word","phone":"123456789","pwd_status":false}}"#
        );
        // Only what the row sets.
        let bare = LoginState::default();
        let p = parts(
            &step(
                &CREATE_USER,
                "bo",
                None,
                Some(write(&bare, Some(&password))),
            ),
            Some("dom1"),
        );
        assert_eq!(
            body(&p),
            r#"{"user":{"access_mode":"console","domain_id":"dom1","name":"bo","password":"Pa55-word"}}"#
        );
    }

    #[test]
    fn update_user_sends_the_fields_given_by_id() {
        let state = LoginState {
            comments: Some("moved to audit".into()),
            ..LoginState::default()
        };
        let p = parts(
            &step(&UPDATE_USER, ID, None, Some(write(&state, None))),
            Some("d"),
        );
        assert_eq!(p.method, Method::PUT);
        assert_eq!(p.path, format!("/v3.0/OS-USER/users/{ID}"));
        assert_eq!(body(&p), r#"{"user":{"description":"moved to audit"}}"#);
        let off = LoginState {
            user_enabled: Some(false),
            ..LoginState::default()
        };
        let p = parts(&step(&SET_ENABLED, ID, None, Some(write(&off, None))), None);
        assert_eq!(body(&p), r#"{"user":{"enabled":false}}"#);
    }

    #[test]
    fn groups_memberships_and_deletes_have_their_paths_and_no_body() {
        let p = parts(
            &step(&GROUP_BY_NAME, "", Some("fin ops"), None),
            Some("dom1"),
        );
        assert_eq!((p.method, p.path.as_str()), (Method::GET, "/v3/groups"));
        assert_eq!(
            p.query,
            [
                ("domain_id".to_string(), "dom1".to_string()),
                ("name".to_string(), "fin ops".to_string())
            ]
        );
        // A token account whose id is unknown: the token names the account.
        let p = parts(&step(&GROUP_BY_NAME, "", Some("fin"), None), None);
        assert_eq!(p.query, [("name".to_string(), "fin".to_string())]);
        let state = LoginState::default();
        for (s, method) in [
            (&ADD_TO_GROUP, Method::PUT),
            (&REMOVE_FROM_GROUP, Method::DELETE),
        ] {
            let w = (s.effect != crate::providers::Effect::Delete).then(|| write(&state, None));
            let p = parts(&step(s, ID, Some(GROUP), w), Some("d"));
            assert_eq!(p.method, method);
            assert_eq!(p.path, format!("/v3/groups/{GROUP}/users/{ID}"));
            assert!(p.body.is_empty());
        }
        let p = parts(&step(&DELETE_USER, ID, None, None), Some("d"));
        assert_eq!(
            (p.method, p.path),
            (Method::DELETE, format!("/v3/users/{ID}"))
        );
        let p = parts(&step(&LIST_GROUPS, ID, None, None), Some("d"));
        assert_eq!(p.path, format!("/v3/users/{ID}/groups"));
        let p = parts(&step(&FIND_USER, "ahmad.razak", None, None), Some("d"));
        assert_eq!((p.method, p.path.as_str()), (Method::GET, "/v3/users"));
        assert_eq!(p.query, [("name".to_string(), "ahmad.razak".to_string())]);
    }

    #[test]
    fn a_created_user_is_named_by_its_new_id() {
        let state = LoginState::default();
        let op = step(&CREATE_USER, "ahmad.razak", None, Some(write(&state, None)));
        // CreateUser's 201 (Go SDK CreateUserResult).
        let reply = format!(
            r#"{{"user":{{"id":"{ID}","name":"ahmad.razak","domain_id":"d1","enabled":true,"access_mode":"console","pwd_status":true,"status":null,"create_time":"2026-12-07 09:10:11.0","password_expires_at":null,"email":"","phone":""}}}}"#
        );
        assert_eq!(
            read_success(&op, 201, reply.as_bytes()),
            Verdict::UserId(ID.into())
        );
        assert!(matches!(read_success(&op, 201, b"{}"), Verdict::Failed(_)));
        let member = step(&ADD_TO_GROUP, ID, Some(GROUP), Some(write(&state, None)));
        assert_eq!(read_success(&member, 204, b""), Verdict::Done);
    }

    #[test]
    fn show_user_gives_the_users_fields_id_and_creation_time() {
        let reply = format!(
            r#"{{"user":{{"enabled":false,"id":"{ID}","domain_id":"d1","name":"ahmad.razak","links":{{"self":"x"}},"xuser_id":"","xuser_type":"","areacode":"0086","phone":"13888888888","email":"ahmad@example.com","is_domain_owner":false,"access_mode":"console","pwd_status":true,"update_time":"","create_time":"2020-07-08 02:19:03.0","last_login_time":"","pwd_strength":"high","description":"finance"}}}}"#
        );
        let Verdict::Observed(o) =
            read_success(&step(&SHOW_USER, ID, None, None), 200, reply.as_bytes())
        else {
            panic!("a user")
        };
        assert!(o.exists);
        assert_eq!(
            o.state,
            LoginState {
                email: Some("ahmad@example.com".into()),
                mobile_phone: Some("86-13888888888".into()),
                comments: Some("finance".into()),
                password_reset_required: Some(true),
                user_enabled: Some(false),
                ..LoginState::default()
            }
        );
        assert_eq!(o.extra, [(USER_ID, ID.to_string())]);
        assert_eq!(o.created, Some(datetime!(2020-07-08 02:19:03 UTC)));
        // Fields never set are empty strings: nothing observed.
        let bare = format!(
            r#"{{"user":{{"id":"{ID}","email":"","areacode":"","phone":"","description":""}}}}"#
        );
        let Verdict::Observed(o) =
            read_success(&step(&SHOW_USER, ID, None, None), 200, bare.as_bytes())
        else {
            panic!("a user")
        };
        assert_eq!(o.state, LoginState::default());
        assert_eq!(o.created, None);
        assert!(matches!(
            read_success(&step(&SHOW_USER, ID, None, None), 200, br#"{"user":{"name":"x"}}"#),
            Verdict::Failed(f) if f.class == FailureClass::Permanent
        ));
    }

    #[test]
    fn creation_times_in_every_form_iam_writes() {
        for (value, want) in [
            (
                json!("2020-07-08 02:19:03"),
                datetime!(2020-07-08 02:19:03 UTC),
            ),
            (
                json!("2020-07-08 02:19:03.0"),
                datetime!(2020-07-08 02:19:03 UTC),
            ),
            (
                json!("2020-07-08T02:19:03.000000Z"),
                datetime!(2020-07-08 02:19:03 UTC),
            ),
            (
                json!(1_594_174_743_000_i64),
                datetime!(2020-07-08 02:19:03 UTC),
            ),
        ] {
            assert_eq!(created(&value), Some(want), "{value}");
        }
        assert_eq!(created(&json!("yesterday")), None);
        assert_eq!(created(&Value::Null), None);
    }

    #[test]
    fn a_lost_creates_user_is_found_by_name() {
        let op = step(&FIND_USER, "ahmad.razak", None, None);
        let body = format!(
            r#"{{"users":[{{"id":"b1","name":"ahmad.razak2"}},{{"id":"{ID}","name":"ahmad.razak","enabled":true,"create_time":"2026-12-07 09:10:11"}}],"links":{{}}}}"#
        );
        let Verdict::Observed(o) = read_success(&op, 200, body.as_bytes()) else {
            panic!("the user")
        };
        assert_eq!(o.extra, [(USER_ID, ID.to_string())]);
        assert_eq!(o.created, Some(datetime!(2026-12-07 09:10:11 UTC)));
        // Keystone's list has no creation time: the user is found, its age unknown.
        let Verdict::Observed(o) = read_success(
            &op,
            200,
            format!(r#"{{"users":[{{"id":"{ID}","name":"ahmad.razak"}}]}}"#).as_bytes(),
        ) else {
            panic!("the user")
        };
        assert_eq!((o.extra.len(), o.created), (1, None));
        assert!(matches!(
            read_success(&op, 200, br#"{"users":[],"links":{}}"#),
            Verdict::Failed(f) if f.class == FailureClass::NotFound
        ));
    }

    #[test]
    fn group_lists_give_ids_and_names() {
        // KeystoneListGroups / KeystoneListGroupsForUser (Go SDK KeystoneGroupResult).
        let body = format!(
            r#"{{"groups":[{{"id":"{GROUP}","name":"finance","domain_id":"d1","description":"","create_time":1594174743000,"links":{{"self":"x"}}}}],"links":{{"self":"x","previous":null,"next":null}}}}"#
        );
        for s in [&GROUP_BY_NAME, &LIST_GROUPS] {
            assert_eq!(
                read_success(&step(s, ID, Some("finance"), None), 200, body.as_bytes()),
                Verdict::Listed(vec![Item {
                    id: GROUP.into(),
                    name: "finance".into()
                }])
            );
            assert!(matches!(
                read_success(
                    &step(s, ID, None, None),
                    200,
                    br#"{"groups":[{"name":"x"}]}"#
                ),
                Verdict::Failed(_)
            ));
        }
    }
}
