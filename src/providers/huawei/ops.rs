//! The wire format of each operation: what it sends and what a successful reply means
//! (docs/providers.md §3.2).
//!
//! A step names its method and path (`PUT /v3.0/OS-USER/users/{user_id}/login-protect`); a write
//! sends login protection's JSON body.

use crate::jobs::{LoginState, VerificationMethod};
use crate::providers::encoding::rfc3986;
use crate::providers::{
    Failure, FailureClass, ListedUser, MfaDevice, MfaPage, Observed, Op, StateList, Step, UserPage,
    Verdict,
};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

/// An operation's request before authentication.
pub struct Parts {
    pub method: Method,
    /// Below the endpoint, starting with `/`.
    pub path: String,
    pub query: Vec<(String, String)>,
    /// JSON, or empty.
    pub body: Vec<u8>,
}

pub fn parts(op: &Op<'_>) -> Parts {
    let (method, path, query, body) = match op {
        Op::Step {
            step, user, write, ..
        } => {
            let (method, path) = method_and_path(step);
            (
                method,
                path.replace("{user_id}", &rfc3986(user)),
                Vec::new(),
                write.map_or_else(Vec::new, |w| login_protect_body(w.state)),
            )
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
            let (method, path) = method_and_path(&super::MFA_LIST);
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

/// `METHOD /path` of a declared step. The declarations are constants, checked by a test.
fn method_and_path(step: &Step) -> (Method, &'static str) {
    let (method, path) = step
        .api
        .split_once(' ')
        .expect("a huawei step is declared as METHOD /path");
    let method = Method::from_bytes(method.as_bytes()).expect("a declared HTTP method");
    (method, path)
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
        Op::Step { step, .. } if step.effect.is_write() => Verdict::Done,
        Op::Step { step, .. } if step.api == super::MFA_LIST.api => mfa_devices(status, body),
        Op::ListMfaDevices { .. } => mfa_devices(status, body),
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
        let p = parts(&Op::ListMfaDevices { page: None });
        assert_eq!(
            (p.method, p.path.as_str()),
            (Method::GET, "/v3.0/OS-MFA/virtual-mfa-devices")
        );
        let row = parts(&Op::Step {
            target: None,
            step: &crate::providers::huawei::MFA_LIST,
            user: "0a1b",
            write: None,
        });
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
        let p = parts(&Op::Step {
            target: None,
            step: &GET,
            user: "u1",
            write: None,
        });
        assert_eq!(
            (p.method, p.path.as_str()),
            (Method::GET, "/v3.0/OS-USER/users/u1/login-protect")
        );
        let p = parts(&Op::Step {
            target: None,
            step: &PUT,
            user: "u1",
            write: Some(write(&state)),
        });
        assert_eq!(p.method, Method::PUT);
        assert!(!p.body.is_empty());
        let p = parts(&Op::ResolveUser { name: "ops admin" });
        assert_eq!(p.path, "/v3/users");
        assert_eq!(p.query, vec![("name".to_string(), "ops admin".to_string())]);
        // An odd id stays one path segment.
        let p = parts(&Op::Step {
            step: &GET,
            user: "a/../b",
            target: None,
            write: None,
        });
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
        for spec in crate::providers::huawei::ACTIONS {
            for step in spec.steps.iter().chain(spec.read) {
                let (_, path) = method_and_path(step);
                assert!(path.starts_with('/'), "{}", step.api);
            }
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
        let p = parts(&Op::ListUsers { page: None });
        assert_eq!((p.method, p.path.as_str()), (Method::GET, "/v3/users"));
        assert!(p.query.is_empty() && p.body.is_empty());
        let p = parts(&Op::ListUsers {
            page: Some("marker=u%2F1&limit=500"),
        });
        assert_eq!(
            p.query,
            vec![
                ("marker".to_string(), "u/1".to_string()),
                ("limit".to_string(), "500".to_string())
            ]
        );
        let p = parts(&Op::ReadAll);
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
