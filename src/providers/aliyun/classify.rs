//! Reads IMS and RAM 2015 replies (docs/providers.md §2.4–§2.6, §2.8): success by HTTP status,
//! failures by the body's `Code`, falling back on the status when the body is not Alibaba Cloud
//! JSON (a proxy's HTML page).

use crate::jobs::LoginState;
use crate::providers::encoding::rfc3986;
use crate::providers::json;
use crate::providers::{
    Classified, Failure, FailureClass, Item, ListedUser, MfaDevice, MfaPage, Observed, Op, Reply,
    USER_ID, UserPage, Verdict,
};
use serde_json::{Map, Value};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Other fields of the replies reported as `observed_<name>`: a GetLoginProfile's `UpdateDate`
/// and `LastLoginTime`, a GetUser's `CreateDate` and `UserId`. (`UserPrincipalName` is left out:
/// it repeats the row's `user`.)
pub const EXTRA_OBSERVED: &[&str] = &["update_date", "last_login_time", "create_date", USER_ID];

/// The list reads: each API's list, its items, and the field of an item requests name it by.
const LISTS: &[(&str, [&str; 3])] = &[
    ("ListGroupsForUser", ["Groups", "Group", "GroupName"]),
    ("ListAccessKeys", ["AccessKeys", "AccessKey", "AccessKeyId"]),
    ("ListPoliciesForUser", ["Policies", "Policy", "PolicyName"]),
];

/// The replies saying a part of an existing user is absent: no login profile, not a member of
/// the group, no such access key, no MFA device bound.
const ABSENT: &[&str] = &[
    "EntityNotExist.User.LoginProfile",
    "EntityNotExist.User.Group",
    "EntityNotExist.User.AccessKey",
    "EntityNotExist.User.MFADevice",
];

/// The informational columns of an export, and the ListUsers fields they come from, in order.
pub const INFO_COLUMNS: &[&str] = &["display_name", "create_date", "last_login_date"];
const INFO_FIELDS: [&str; 3] = ["DisplayName", "CreateDate", "LastLoginDate"];

const THROTTLED: FailureClass = FailureClass::Retryable { throttled: true };
const TRANSIENT: FailureClass = FailureClass::Retryable { throttled: false };

/// Classifies the reply to `op`.
pub fn classify(op: &Op<'_>, reply: &Reply) -> Classified {
    let body: Option<Value> = serde_json::from_slice(&reply.body).ok();
    let request_id = reply
        .header("x-acs-request-id")
        .filter(|id| !id.is_empty())
        .or_else(|| body.as_ref()?.get("RequestId")?.as_str())
        .map(str::to_string);
    let verdict = if (200..300).contains(&reply.status) {
        success(op, reply.status, body.as_ref())
    } else {
        failure(op, reply, body.as_ref())
    };
    Classified {
        request_id,
        verdict,
    }
}

fn success(op: &Op<'_>, status: u16, body: Option<&Value>) -> Verdict {
    match *op {
        Op::Step { step, .. } if step.effect.is_write() => Verdict::Done,
        Op::Step { step, user, .. } => read(step.api, user, status, body),
        // Any answer but "no such user" means the principal name names a user, and is its key.
        Op::ResolveUser { name } => Verdict::UserId(name.to_string()),
        Op::ListUsers { .. } => body
            .and_then(user_page)
            .map(Verdict::Users)
            .unwrap_or_else(|| {
                invalid_reply(format!(
                    "HTTP {status} without a readable Users list (each user with a UserPrincipalName, a Marker when IsTruncated): is the endpoint Alibaba Cloud IMS?"
                ))
            }),
        Op::ListMfaDevices { .. } => body.and_then(mfa_page).map(Verdict::MfaDevices).unwrap_or_else(|| {
            invalid_reply(format!(
                "HTTP {status} without a readable VirtualMFADevices list (a Marker when IsTruncated): is the endpoint Alibaba Cloud IMS?"
            ))
        }),
        Op::ReadAll => Verdict::Failed(Failure {
            class: FailureClass::Permanent,
            code: "unsupported_operation".into(),
            message: "IMS has no API that reads every login profile at once".into(),
            retry_after: None,
        }),
    }
}

/// The answer of the read `api` about `user`.
fn read(api: &str, user: &str, status: u16, body: Option<&Value>) -> Verdict {
    let answer = match api {
        "GetUserMFAInfo" => body
            .and_then(|b| user_mfa(b, user))
            .map(Verdict::MfaDevices),
        "GetUser" => (body.and_then(|b| b.get("User")))
            .filter(|u| u.is_object())
            .map(observed_user),
        "GetDefaultDomain" => body
            .and_then(|b| json::text(b, "DefaultDomainName"))
            .map(|domain| {
                Verdict::Listed(vec![Item {
                    id: domain.to_string(),
                    name: String::new(),
                }])
            }),
        _ => match LISTS.iter().find(|(list_api, _)| *list_api == api) {
            Some((_, [list, item, key])) => body.and_then(|b| listed(b, list, item, key)),
            None => (body.and_then(|b| b.get("LoginProfile")?.as_object()))
                .map(|profile| Verdict::Observed(observed(profile))),
        },
    };
    answer.unwrap_or_else(|| {
        let service = match api {
            "ListPoliciesForUser" => "Alibaba Cloud RAM (https://ram.aliyuncs.com)",
            _ => "Alibaba Cloud IMS (https://ims.aliyuncs.com)",
        };
        invalid_reply(format!(
            "HTTP {status} without the {api} reply's fields: is the endpoint {service}?"
        ))
    })
}

/// The id of each item of `body[list][item]`, by its field `key`; `None` when an item has none.
fn listed(body: &Value, list: &str, item: &str, key: &str) -> Option<Verdict> {
    let items = page_items(body, list, item)?
        .iter()
        .map(|entry| {
            Some(Item {
                id: json::text(entry, key)?.to_string(),
                name: String::new(),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Verdict::Listed(items))
}

fn invalid_reply(message: String) -> Verdict {
    Verdict::Failed(Failure {
        class: FailureClass::Permanent,
        code: "invalid_reply".into(),
        message,
        retry_after: None,
    })
}

/// `{"IsTruncated", "Marker", "Users": {"User": [{"UserPrincipalName", "DisplayName", "CreateDate",
/// "LastLoginDate", ..}]}}` (docs/providers.md §2.4). `None` when a user has no principal name or a
/// truncated page no marker: going on would skip users or loop.
fn user_page(body: &Value) -> Option<UserPage> {
    let users = page_items(body, "Users", "User")?
        .iter()
        .map(|user| {
            let text = |key: &str| json::text(user, key);
            let info = INFO_COLUMNS
                .iter()
                .zip(INFO_FIELDS)
                .filter_map(|(column, key)| Some((*column, text(key)?.to_string())))
                .collect();
            Some(ListedUser {
                user: text("UserPrincipalName")?.to_string(),
                info,
                ..ListedUser::default()
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(UserPage {
        users,
        next: next_marker(body)?,
    })
}

/// A page's entries, `body[list][item]`; `None` when they are not a list.
fn page_items<'a>(body: &'a Value, list: &str, item: &str) -> Option<&'a [Value]> {
    match body.get(list) {
        Some(list) => Some(list.get(item)?.as_array()?.as_slice()),
        // An empty account may leave the list out.
        None if body.get("IsTruncated").is_some() => Some(&[]),
        None => None,
    }
}

/// GetUserMFAInfo: `{"MFADevice": {"SerialNumber", "Type"}}`; the device is the user's.
fn user_mfa(body: &Value, user: &str) -> Option<MfaPage> {
    let device = body.get("MFADevice")?.as_object()?;
    let kind = device.get("Type").and_then(Value::as_str);
    Some(MfaPage {
        devices: vec![MfaDevice {
            user: user.to_string(),
            kind: Some(kind.filter(|k| !k.is_empty()).unwrap_or("VMFA").to_string()),
        }],
        next: None,
    })
}

/// ListVirtualMFADevices: `{"IsTruncated", "Marker", "VirtualMFADevices": {"VirtualMFADevice":
/// [{"SerialNumber", "User": {"UserPrincipalName", ..}}]}}`; a device with an empty `User` was never
/// bound and is skipped. Every listed device is virtual.
fn mfa_page(body: &Value) -> Option<MfaPage> {
    let devices = page_items(body, "VirtualMFADevices", "VirtualMFADevice")?
        .iter()
        .filter_map(|device| {
            let upn = device.get("User")?.get("UserPrincipalName")?.as_str()?;
            (!upn.is_empty()).then(|| MfaDevice {
                user: upn.to_string(),
                kind: Some("VMFA".into()),
            })
        })
        .collect();
    Some(MfaPage {
        devices,
        next: next_marker(body)?,
    })
}

/// The next page's marker when the reply is truncated; `None` when a truncated reply has none.
fn next_marker(body: &Value) -> Option<Option<String>> {
    let truncated = match body.get("IsTruncated") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    match truncated {
        true => Some(Some(
            body.get("Marker")?
                .as_str()
                .filter(|m| !m.is_empty())?
                .to_string(),
        )),
        false => Some(None),
    }
}

fn failure(op: &Op<'_>, reply: &Reply, body: Option<&Value>) -> Verdict {
    let code = body.and_then(|b| b.get("Code")?.as_str()).unwrap_or("");
    // No MFA device bound: a state of the user to a read, not a failure.
    if code == "EntityNotExist.User.MFADevice" && !op.is_write() {
        return Verdict::MfaDevices(MfaPage::default());
    }
    // The user exists without that part: what that means is the step's to say.
    let absent = ABSENT.contains(&code);
    if let (true, Op::ResolveUser { name }) = (absent, op) {
        return Verdict::UserId(name.to_string());
    }
    let message = match body.and_then(|b| b.get("Message")?.as_str()) {
        Some(message) => redact(message, op),
        None if body.is_some_and(Value::is_object) => status_line(reply.status),
        None => format!(
            "{} with a reply that is not Alibaba Cloud JSON",
            status_line(reply.status)
        ),
    };
    let message = match (code, op) {
        // Alibaba's message may not say which group: the row may name several.
        (
            "EntityNotExist.Group",
            Op::Step {
                target: Some(group),
                ..
            },
        ) => format!(
            "group '{group}' does not exist in this account: create it, or take it out of the row's groups ({message})"
        ),
        _ => message,
    };
    let failure = Failure {
        class: class_of(code, reply.status),
        code: if code.is_empty() {
            reply.status.to_string()
        } else {
            code.to_string()
        },
        message,
        retry_after: retry_after(reply),
    };
    if absent {
        Verdict::Absent(failure)
    } else {
        Verdict::Failed(failure)
    }
}

/// `HTTP 502 Bad Gateway`.
fn status_line(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("HTTP {status} {reason}"),
        None => format!("HTTP {status}"),
    }
}

/// docs/providers.md §2.5: the code decides; without a known code, the HTTP status.
pub(super) fn class_of(code: &str, status: u16) -> FailureClass {
    match code {
        "Throttling" | "Rejected.Throttling" => THROTTLED,
        c if c.starts_with("Throttling.") => THROTTLED,
        // A fresh nonce, which every retry gets, fixes a reused one.
        "ServiceUnavailable" | "UnknownError" | "SignatureNonceUsed" => TRANSIENT,
        "SignatureDoesNotMatch"
        | "InvalidAccessKeyId.NotFound"
        | "InvalidAccessKeyId.Inactive"
        | "InvalidTimeStamp.Expired"
        | "Forbidden.AccessKeyDisabled"
        | "NoPermission"
        | "Inactive" => FailureClass::Credential,
        // An expired STS token: a chained account renews it (a token of the environment cannot be).
        "InvalidSecurityToken.Expired" => FailureClass::TokenExpired,
        // A malformed STS token, or one of another key.
        c if c.starts_with("InvalidSecurityToken.") => FailureClass::Credential,
        "EntityNotExist.User" => FailureClass::NotFound,
        c if ABSENT.contains(&c) => FailureClass::NotFound,
        "EntityAlreadyExists.User"
        | "EntityAlreadyExists.User.LoginProfile"
        | "EntityAlreadyExists.User.Group" => FailureClass::AlreadyExists,
        _ if status >= 500 => TRANSIENT,
        _ if status == 429 => THROTTLED,
        _ => FailureClass::Permanent,
    }
}

/// `SignatureDoesNotMatch` quotes the server's string to sign, which carries every parameter
/// (a password among them): that part is cut.
pub(super) fn without_string_to_sign(message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    let quoted = ["server string to sign", "string to sign"]
        .iter()
        .find_map(|marker| lower.find(marker));
    match quoted {
        Some(at) => format!(
            "{} [the server's string to sign is not shown]",
            message[..at].trim_end()
        ),
        None => message.to_string(),
    }
}

/// `x-acs-retry-after`: a positive integer of milliseconds; anything else is ignored.
fn retry_after(reply: &Reply) -> Option<Duration> {
    let millis: u64 = reply.header("x-acs-retry-after")?.trim().parse().ok()?;
    (millis > 0).then(|| Duration::from_millis(millis))
}

/// Keeps the request's password out of a server message: the string to sign is cut, and any
/// other echo of the password, raw or encoded, is masked.
fn redact(message: &str, op: &Op<'_>) -> String {
    let mut message = without_string_to_sign(message);
    let password = match op {
        Op::Step {
            write: Some(write), ..
        } => write.password,
        _ => None,
    };
    if let Some(password) = password.map(|p| p.expose()).filter(|p| !p.is_empty()) {
        let once = rfc3986(password);
        for form in [rfc3986(&once), once, password.to_string()] {
            message = message.replace(&form, "***");
        }
    }
    message
}

fn observed(profile: &Map<String, Value>) -> Observed {
    let flag = |key: &str| match profile.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.trim().to_ascii_lowercase().parse().ok(),
        _ => None,
    };
    let state = LoginState {
        login_status: profile
            .get("Status")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok()),
        mfa_bind_required: flag("MFABindRequired"),
        password_reset_required: flag("PasswordResetRequired"),
        ..Default::default()
    };
    let extra = profile
        .iter()
        .filter_map(|(key, value)| {
            let name = EXTRA_OBSERVED.iter().find(|n| **n == snake_case(key))?;
            let value = match value {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (!value.is_empty()).then_some((*name, value))
        })
        .collect();
    Observed {
        exists: true,
        state,
        extra,
        created: None,
    }
}

/// A GetUser reply's `User`: its own fields, when it was created, and its id.
fn observed_user(user: &Value) -> Verdict {
    let text = |key: &str| json::text(user, key).map(str::to_string);
    let state = LoginState {
        display_name: text("DisplayName"),
        email: text("Email"),
        mobile_phone: text("MobilePhone"),
        comments: text("Comments"),
        ..Default::default()
    };
    let extra = [("create_date", "CreateDate"), (USER_ID, "UserId")]
        .into_iter()
        .filter_map(|(name, key)| Some((name, text(key)?)))
        .collect();
    let created = text("CreateDate").and_then(|d| OffsetDateTime::parse(&d, &Rfc3339).ok());
    Verdict::Observed(Observed {
        exists: true,
        state,
        extra,
        created,
    })
}

/// `LastLoginTime` → `last_login_time`.
fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for (i, c) in key.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::LoginStatus;
    use crate::providers::Write;
    use crate::providers::aliyun::{
        ADD_TO_GROUP, CREATE, CREATE_USER, DEFAULT_DOMAIN, DELETE, DELETE_KEY, DELETE_USER, GET,
        GET_USER, LIST_GROUPS, LIST_KEYS, LIST_POLICIES, REMOVE_FROM_GROUP, UNBIND_MFA, UPDATE,
    };
    use crate::providers::declare::Step;
    use crate::providers::testing::{listed, reply};
    use crate::secret::Secret;

    const USER: &str = "alice@example.onaliyun.com";
    const READ: Op<'static> = Op::Step {
        target: None,
        step: &GET,
        user: USER,
        write: None,
    };
    const REMOVE: Op<'static> = Op::Step {
        target: None,
        step: &DELETE,
        user: USER,
        write: None,
    };

    const MFA: Op<'static> = Op::Step {
        target: None,
        step: &crate::providers::aliyun::MFA_INFO,
        user: USER,
        write: None,
    };

    #[test]
    fn the_device_list_skips_devices_never_bound_and_gives_the_next_marker() {
        let body = r#"{"RequestId":"r","IsTruncated":true,"Marker":"bmV4dA==",
            "VirtualMFADevices":{"VirtualMFADevice":[
              {"SerialNumber":"acs:ram::1:mfa/a","ActivateDate":"2024-01-01T00:00:00Z",
               "User":{"UserPrincipalName":"a@x.onaliyun.com","UserId":"1","DisplayName":"a"}},
              {"SerialNumber":"acs:ram::1:mfa/spare","User":{}}]}}"#;
        let verdict = classify(&Op::ListMfaDevices { page: None }, &reply(200, &[], body)).verdict;
        let Verdict::MfaDevices(page) = verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(page.next.as_deref(), Some("bmV4dA=="));
        assert_eq!(
            page.devices,
            [MfaDevice {
                user: "a@x.onaliyun.com".into(),
                kind: Some("VMFA".into())
            }]
        );
        // A truncated page without a marker cannot be followed.
        let broken = r#"{"IsTruncated":true,"VirtualMFADevices":{"VirtualMFADevice":[]}}"#;
        assert!(matches!(
            classify(&Op::ListMfaDevices { page: None }, &reply(200, &[], broken)).verdict,
            Verdict::Failed(Failure { code, .. }) if code == "invalid_reply"
        ));
    }

    #[test]
    fn user_mfa_info_gives_the_type_and_its_404_is_no_device() {
        let key = r#"{"RequestId":"r","IsMFAEnable":true,
            "MFADevice":{"SerialNumber":"acs:ram::1:u2f/alice","Type":"U2F"}}"#;
        let Verdict::MfaDevices(page) = classify(&MFA, &reply(200, &[], key)).verdict else {
            panic!("a device")
        };
        assert_eq!(page.binding(USER).kind.as_deref(), Some("U2F"));
        assert!(page.binding(USER).bound);
        let none = error(
            404,
            "EntityNotExist.User.MFADevice",
            "The user has not bound any MFA device.",
        );
        assert_eq!(
            classify(&MFA, &none).verdict,
            Verdict::MfaDevices(MfaPage::default())
        );
        // An unknown user stays "not found".
        let gone = error(404, "EntityNotExist.User", "The user does not exist.");
        assert!(matches!(
            classify(&MFA, &gone).verdict,
            Verdict::Failed(Failure {
                class: FailureClass::NotFound,
                ..
            })
        ));
    }

    /// The provider's words for an absent object.
    fn absent(verdict: Verdict) -> Failure {
        match verdict {
            Verdict::Absent(f) => f,
            other => panic!("expected an absent object, got {other:?}"),
        }
    }

    /// An IMS error body as the service sends it.
    fn error(status: u16, code: &str, message: &str) -> Reply {
        let body = serde_json::json!({
            "RequestId": "7B8A4E7D-6CFF-471D-84DF-195A7A241ECB",
            "HostId": "ims.aliyuncs.com",
            "Code": code,
            "Message": message,
        });
        reply(status, &[], &body.to_string())
    }

    fn failed(op: &Op<'_>, reply: &Reply) -> Failure {
        match classify(op, reply).verdict {
            Verdict::Failed(f) => f,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    fn with_write<'a>(state: &'a LoginState, password: &'a Secret) -> Write<'a> {
        Write {
            state,
            password: Some(password),
            generate_password: false,
        }
    }

    #[test]
    fn read_reply_becomes_the_observed_state_with_extras() {
        let body = r#"{
            "RequestId": "29CB303C-1F05-43A6-A6BC-EBC5A797F8DB",
            "LoginProfile": {
                "Status": "Active",
                "UpdateDate": "2020-10-14T03:47:51Z",
                "LastLoginTime": "2021-01-02T03:04:05Z",
                "PasswordResetRequired": false,
                "UserPrincipalName": "alice@example.onaliyun.com",
                "MFABindRequired": true
            }
        }"#;
        let classified = classify(&READ, &reply(200, &[], body));
        assert_eq!(
            classified.request_id.as_deref(),
            Some("29CB303C-1F05-43A6-A6BC-EBC5A797F8DB")
        );
        let Verdict::Observed(observed) = classified.verdict else {
            panic!("expected Observed, got {:?}", classified.verdict);
        };
        assert!(observed.exists);
        assert_eq!(
            observed.state,
            LoginState {
                login_status: Some(LoginStatus::Active),
                mfa_bind_required: Some(true),
                password_reset_required: Some(false),
                ..Default::default()
            }
        );
        let mut extra = observed.extra.clone();
        extra.sort();
        assert_eq!(
            extra,
            vec![
                ("last_login_time", "2021-01-02T03:04:05Z".to_string()),
                ("update_date", "2020-10-14T03:47:51Z".to_string()),
            ]
        );
    }

    #[test]
    fn a_never_used_login_has_no_last_login_time() {
        let body = r#"{"RequestId":"R","LoginProfile":{"Status":"Inactive","LastLoginTime":"","MFABindRequired":"false"}}"#;
        let Verdict::Observed(observed) = classify(&READ, &reply(200, &[], body)).verdict else {
            panic!("expected Observed");
        };
        assert_eq!(observed.state.login_status, Some(LoginStatus::Inactive));
        assert_eq!(observed.state.mfa_bind_required, Some(false));
        assert_eq!(observed.state.password_reset_required, None);
        assert!(observed.extra.is_empty());
    }

    #[test]
    fn a_read_without_a_login_profile_says_it_is_absent() {
        let r = error(
            404,
            "EntityNotExist.User.LoginProfile",
            "The login profile of the user alice@example.onaliyun.com does not exist.",
        );
        let c = classify(&READ, &r);
        assert_eq!(
            c.request_id.as_deref(),
            Some("7B8A4E7D-6CFF-471D-84DF-195A7A241ECB")
        );
        assert_eq!(absent(c.verdict).code, "EntityNotExist.User.LoginProfile");
    }

    #[test]
    fn a_missing_login_profile_is_absent_for_every_step() {
        let r = error(
            404,
            "EntityNotExist.User.LoginProfile",
            "The login profile of the user alice@example.onaliyun.com does not exist.",
        );
        let state = LoginState::default();
        let update = Op::Step {
            target: None,
            step: &UPDATE,
            user: USER,
            write: Some(Write {
                state: &state,
                password: None,
                generate_password: false,
            }),
        };
        let f = absent(classify(&update, &r).verdict);
        assert_eq!(f.class, FailureClass::NotFound);
        assert_eq!(f.code, "EntityNotExist.User.LoginProfile");
        assert!(f.message.contains("does not exist"));
        assert_eq!(absent(classify(&REMOVE, &r).verdict), f);
    }

    #[test]
    fn writes_are_done_on_2xx() {
        let state = LoginState::default();
        let password = Secret::new("pw-123456789");
        let create = Op::Step {
            target: None,
            step: &CREATE,
            user: USER,
            write: Some(with_write(&state, &password)),
        };
        let body = r#"{"RequestId":"29CB303C-1F05-43A6-A6BC-EBC5A797F8DB","LoginProfile":{"Status":"Active"}}"#;
        assert_eq!(
            classify(&create, &reply(200, &[], body)).verdict,
            Verdict::Done
        );
        assert_eq!(
            classify(&REMOVE, &reply(200, &[], r#"{"RequestId":"X"}"#)).verdict,
            Verdict::Done
        );
    }

    #[test]
    fn every_row_of_the_error_table() {
        use FailureClass::*;
        let table: &[(u16, &str, FailureClass)] = &[
            (400, "Throttling", THROTTLED),
            (400, "Throttling.User", THROTTLED),
            (400, "Throttling.Api", THROTTLED),
            (400, "Rejected.Throttling", THROTTLED),
            (503, "ServiceUnavailable", TRANSIENT),
            (500, "UnknownError", TRANSIENT),
            (500, "InternalError", TRANSIENT),
            (400, "SignatureDoesNotMatch", Credential),
            (404, "InvalidAccessKeyId.NotFound", Credential),
            (400, "InvalidTimeStamp.Expired", Credential),
            (403, "Forbidden.AccessKeyDisabled", Credential),
            (403, "NoPermission", Credential),
            (403, "Inactive", Credential),
            (400, "InvalidSecurityToken.Expired", TokenExpired),
            (400, "SignatureNonceUsed", TRANSIENT),
            (400, "InvalidParameter.Password.TooWeak", Permanent),
            (
                400,
                "InvalidParameter.UserPrincipalName.InvalidChars",
                Permanent,
            ),
            (400, "MissingParameter", Permanent),
            (409, "DeleteConflict.User.LoginProfile", Permanent),
            (409, "LimitExceeded.User", Permanent),
            (404, "EntityNotExist.User", NotFound),
            (409, "EntityAlreadyExists.User.LoginProfile", AlreadyExists),
            (400, "SomethingNew", Permanent),
            (502, "SomethingNew", TRANSIENT),
        ];
        for (status, code, class) in table {
            let f = failed(&REMOVE, &error(*status, code, "message from the service"));
            assert_eq!((code, f.class), (code, *class));
            assert_eq!(f.code, *code);
            assert_eq!(f.message, "message from the service");
        }
    }

    #[test]
    fn a_missing_user_is_not_found_even_on_read() {
        let r = error(
            404,
            "EntityNotExist.User",
            "The user does not exist: alice@example.onaliyun.com.",
        );
        assert_eq!(failed(&READ, &r).class, FailureClass::NotFound);
    }

    #[test]
    fn throttling_carries_the_server_delay_in_milliseconds() {
        let body = r#"{"RequestId":"R","Code":"Throttling.User","Message":"Request was denied due to user flow control."}"#;
        let r = reply(400, &[("X-Acs-Retry-After", "80")], body);
        let f = failed(&READ, &r);
        assert_eq!(f.class, THROTTLED);
        assert_eq!(f.retry_after, Some(Duration::from_millis(80)));
    }

    #[test]
    fn odd_retry_after_values_are_ignored() {
        let body = r#"{"Code":"Throttling"}"#;
        for value in ["0", "", " ", "-5", "1.5", "soon", "18446744073709551616"] {
            let r = reply(400, &[("x-acs-retry-after", value)], body);
            assert_eq!(failed(&READ, &r).retry_after, None, "value {value:?}");
        }
        let r = reply(400, &[("x-acs-retry-after", " 1500 ")], body);
        assert_eq!(
            failed(&READ, &r).retry_after,
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn an_html_gateway_error_is_retried_by_its_status() {
        let html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
        let r = reply(502, &[("x-acs-request-id", "GW-1")], html);
        let classified = classify(&REMOVE, &r);
        assert_eq!(classified.request_id.as_deref(), Some("GW-1"));
        let Verdict::Failed(f) = classified.verdict else {
            panic!("expected a failure");
        };
        assert_eq!(f.class, TRANSIENT);
        assert_eq!(f.code, "502");
        assert_eq!(
            f.message,
            "HTTP 502 Bad Gateway with a reply that is not Alibaba Cloud JSON"
        );
    }

    #[test]
    fn bodies_that_are_not_json_never_panic() {
        for (status, class) in [
            (403, FailureClass::Permanent),
            (429, THROTTLED),
            (599, TRANSIENT),
        ] {
            for body in ["", "null", "[]", "\"x\"", "{\"Code\":7}", "\u{fffd}\0"] {
                assert_eq!(failed(&READ, &reply(status, &[], body)).class, class);
            }
        }
        let f = failed(&READ, &reply(400, &[], r#"{"Code":"Odd"}"#));
        assert_eq!(
            (f.code.as_str(), f.message.as_str()),
            ("Odd", "HTTP 400 Bad Request")
        );
        let f = failed(&READ, &reply(200, &[], "<html>captive portal</html>"));
        assert_eq!(
            (f.class, f.code.as_str()),
            (FailureClass::Permanent, "invalid_reply")
        );
    }

    #[test]
    fn the_request_id_header_wins_over_the_body() {
        let mut r = error(404, "EntityNotExist.User", "no such user");
        assert_eq!(
            classify(&READ, &r).request_id.as_deref(),
            Some("7B8A4E7D-6CFF-471D-84DF-195A7A241ECB")
        );
        r.headers.insert(
            "x-acs-request-id",
            reqwest::header::HeaderValue::from_static("HEADER-ID"),
        );
        assert_eq!(classify(&READ, &r).request_id.as_deref(), Some("HEADER-ID"));
        assert_eq!(classify(&READ, &reply(502, &[], "")).request_id, None);
    }

    #[test]
    fn resolve_user_answers_with_the_principal_name() {
        let op = Op::ResolveUser { name: USER };
        let missing_profile = error(404, "EntityNotExist.User.LoginProfile", "none");
        assert_eq!(
            classify(&op, &missing_profile).verdict,
            Verdict::UserId(USER.into())
        );
        let missing_user = error(404, "EntityNotExist.User", "none");
        assert_eq!(failed(&op, &missing_user).class, FailureClass::NotFound);
    }

    const LIST: Op<'static> = Op::ListUsers { page: None };

    fn page(body: &str) -> Verdict {
        classify(&LIST, &reply(200, &[], body)).verdict
    }

    #[test]
    fn a_list_page_gives_each_user_and_the_next_marker() {
        // Shaped like the documentation's example of ListUsers (IMS 2019-08-15).
        let body = r#"{
            "IsTruncated": true,
            "RequestId": "4B450CA1-36E8-4AA2-8461-86B42BF4CC4E",
            "Marker": "EXAMPLE",
            "Users": {"User": [
                {"UserPrincipalName": "test@example.onaliyun.com", "UserId": "20732900249392****",
                 "DisplayName": "test", "Email": "alice@example.com", "MobilePhone": "86-1868888****",
                 "Comments": "Cloud computing engineer", "CreateDate": "2020-10-12T09:12:00Z",
                 "UpdateDate": "2020-10-13T09:12:00Z", "LastLoginDate": "2020-10-16T02:32:20Z",
                 "Status": "active", "ProvisionType": "Manual"},
                {"UserPrincipalName": "new@example.onaliyun.com", "DisplayName": "",
                 "CreateDate": "2021-01-02T03:04:05Z", "LastLoginDate": ""}
            ]}
        }"#;
        let Verdict::Users(page) = page(body) else {
            panic!("expected a page");
        };
        assert_eq!(page.next.as_deref(), Some("EXAMPLE"));
        assert_eq!(
            page.users,
            vec![
                listed(
                    "test@example.onaliyun.com",
                    &[
                        ("display_name", "test"),
                        ("create_date", "2020-10-12T09:12:00Z"),
                        ("last_login_date", "2020-10-16T02:32:20Z"),
                    ],
                ),
                listed(
                    "new@example.onaliyun.com",
                    &[("create_date", "2021-01-02T03:04:05Z")]
                ),
            ]
        );
    }

    #[test]
    fn the_last_page_has_no_next_and_an_empty_account_is_an_empty_page() {
        let last = r#"{"IsTruncated":false,"RequestId":"R","Users":{"User":[{"UserPrincipalName":"a@b.onaliyun.com"}]}}"#;
        assert!(
            matches!(page(last), Verdict::Users(UserPage { next: None, ref users }) if users.len() == 1)
        );
        assert_eq!(
            page(r#"{"IsTruncated":false,"RequestId":"R"}"#),
            Verdict::Users(UserPage::default())
        );
        assert_eq!(
            page(r#"{"IsTruncated":"false","RequestId":"R","Users":{"User":[]}}"#),
            Verdict::Users(UserPage::default())
        );
    }

    #[test]
    fn a_page_that_would_lose_users_is_refused() {
        for body in [
            // Truncated without a marker: the rest cannot be asked for.
            r#"{"IsTruncated":true,"Users":{"User":[]}}"#,
            r#"{"IsTruncated":true,"Marker":"","Users":{"User":[]}}"#,
            // A user without its key.
            r#"{"IsTruncated":false,"Users":{"User":[{"DisplayName":"x"}]}}"#,
            r#"{"RequestId":"R"}"#,
            "<html>captive portal</html>",
        ] {
            let Verdict::Failed(f) = page(body) else {
                panic!("accepted {body}");
            };
            assert_eq!(
                (f.class, f.code.as_str()),
                (FailureClass::Permanent, "invalid_reply")
            );
        }
        let throttled = error(
            400,
            "Throttling.User",
            "Request was denied due to user flow control.",
        );
        assert_eq!(failed(&LIST, &throttled).class, THROTTLED);
    }

    #[test]
    fn reading_every_state_at_once_is_not_an_ims_operation() {
        let Verdict::Failed(f) =
            classify(&Op::ReadAll, &reply(200, &[], r#"{"Users":{"User":[]}}"#)).verdict
        else {
            panic!("expected a failure");
        };
        assert_eq!(f.code, "unsupported_operation");
    }

    #[test]
    fn messages_never_carry_the_password() {
        let password = Secret::new("canary P@ss+w0rd");
        let state = LoginState::default();
        let op = Op::Step {
            target: None,
            step: &CREATE,
            user: USER,
            write: Some(with_write(&state, &password)),
        };
        let signature = error(
            400,
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId%3Dtestid%26Password%3Dcanary%2520P%2540ss%252Bw0rd",
        );
        let f = failed(&op, &signature);
        assert_eq!(f.class, FailureClass::Credential);
        assert_eq!(
            f.message,
            "Specified signature is not matched with our calculation. [the server's string to sign is not shown]"
        );
        for echoed in [
            "canary P@ss+w0rd",
            "canary%20P%40ss%2Bw0rd",
            "canary%2520P%2540ss%252Bw0rd",
        ] {
            let r = error(400, "InvalidParameter.Password", &format!("bad: {echoed}."));
            assert_eq!(failed(&op, &r).message, "bad: ***.");
        }
    }

    /// `step` for the test user, sent for `target`.
    fn step_op(step: &'static Step, target: Option<&'static str>) -> Op<'static> {
        Op::Step {
            step,
            user: USER,
            target,
            write: None,
        }
    }

    fn items(ids: &[&str]) -> Verdict {
        Verdict::Listed(
            ids.iter()
                .map(|id| Item {
                    id: id.to_string(),
                    name: String::new(),
                })
                .collect(),
        )
    }

    #[test]
    fn get_user_observes_the_user_fields_its_id_and_when_it_was_created() {
        // Shaped like the documentation's example of GetUser (IMS 2019-08-15).
        let body = r#"{
            "RequestId": "04F0F334-1335-436C-A1D7-6C044FE73368",
            "User": {
                "UserPrincipalName": "alice@example.onaliyun.com", "UserName": "alice",
                "UserId": "20732900249392****", "DisplayName": "Alice",
                "Email": "alice@example.com", "MobilePhone": "86-1868888****",
                "Comments": "Cloud computing engineer", "CreateDate": "2020-10-12T09:12:00Z",
                "UpdateDate": "2020-10-13T09:12:00Z", "LastLoginDate": "2020-10-16T02:32:20Z",
                "ProvisionType": "Manual"
            }
        }"#;
        let Verdict::Observed(o) =
            classify(&step_op(&GET_USER, None), &reply(200, &[], body)).verdict
        else {
            panic!("a user");
        };
        assert!(o.exists);
        assert_eq!(
            o.state,
            LoginState {
                display_name: Some("Alice".into()),
                email: Some("alice@example.com".into()),
                mobile_phone: Some("86-1868888****".into()),
                comments: Some("Cloud computing engineer".into()),
                ..Default::default()
            }
        );
        assert_eq!(
            o.extra,
            vec![
                ("create_date", "2020-10-12T09:12:00Z".to_string()),
                (USER_ID, "20732900249392****".to_string()),
            ]
        );
        assert_eq!(
            o.created,
            Some(time::macros::datetime!(2020-10-12 09:12:00 UTC))
        );
        // Fields never set come back empty: not set.
        let bare = r#"{"RequestId":"R","User":{"UserPrincipalName":"alice@example.onaliyun.com",
            "DisplayName":"alice","Email":"","MobilePhone":"","Comments":"","CreateDate":"soon"}}"#;
        let Verdict::Observed(o) =
            classify(&step_op(&GET_USER, None), &reply(200, &[], bare)).verdict
        else {
            panic!("a user");
        };
        assert_eq!(o.state.email, None);
        assert_eq!(o.created, None);
        let f = failed(
            &step_op(&GET_USER, None),
            &reply(200, &[], r#"{"RequestId":"R"}"#),
        );
        assert_eq!(f.code, "invalid_reply");
        assert!(f.message.contains("GetUser"), "{}", f.message);
    }

    #[test]
    fn an_unknown_user_is_not_found() {
        let gone = error(
            404,
            "EntityNotExist.User",
            "The user does not exist: alice@example.onaliyun.com.",
        );
        for step in [
            &GET_USER,
            &LIST_GROUPS,
            &LIST_KEYS,
            &LIST_POLICIES,
            &DELETE_USER,
        ] {
            let f = failed(&step_op(step, None), &gone);
            assert_eq!(
                (f.class, f.code.as_str()),
                (FailureClass::NotFound, "EntityNotExist.User"),
                "{}",
                step.api
            );
        }
    }

    #[test]
    fn list_reads_give_what_later_requests_name() {
        let groups = r#"{"RequestId":"R","Groups":{"Group":[
            {"GroupName":"finance","GroupId":"1","DisplayName":"Finance","Comments":"","JoinDate":"2020-10-12T09:12:00Z"},
            {"GroupName":"auditors","GroupId":"2","DisplayName":"Auditors","Comments":"","JoinDate":"2020-10-12T09:12:00Z"}]}}"#;
        assert_eq!(
            classify(&step_op(&LIST_GROUPS, None), &reply(200, &[], groups)).verdict,
            items(&["finance", "auditors"])
        );
        let keys = r#"{"RequestId":"R","AccessKeys":{"AccessKey":[
            {"AccessKeyId":"LTAI4GEi7fLTxBX7uDSn****","Status":"Active","CreateDate":"2020-10-12T09:12:00Z","UpdateDate":"2020-10-12T09:12:00Z"}]}}"#;
        assert_eq!(
            classify(&step_op(&LIST_KEYS, None), &reply(200, &[], keys)).verdict,
            items(&["LTAI4GEi7fLTxBX7uDSn****"])
        );
        let policies = r#"{"RequestId":"R","Policies":{"Policy":[
            {"PolicyName":"AdministratorAccess","PolicyType":"System","DefaultVersion":"v1","Description":"","AttachDate":"2015-01-23T12:33:18Z"}]}}"#;
        assert_eq!(
            classify(&step_op(&LIST_POLICIES, None), &reply(200, &[], policies)).verdict,
            items(&["AdministratorAccess"])
        );
        let none = r#"{"RequestId":"R","Policies":{"Policy":[]}}"#;
        assert_eq!(
            classify(&step_op(&LIST_POLICIES, None), &reply(200, &[], none)).verdict,
            items(&[])
        );
    }

    #[test]
    fn a_list_that_cannot_be_read_is_refused_not_taken_as_empty() {
        // A delete trusts the policy list: a reply without it must not read as "no policies".
        for body in [
            r#"{"RequestId":"R"}"#,
            r#"{"RequestId":"R","Policies":{"Policy":[{"PolicyType":"System"}]}}"#,
            r#"{"RequestId":"R","Policies":{}}"#,
            "<Response><Policies/></Response>",
        ] {
            let f = failed(&step_op(&LIST_POLICIES, None), &reply(200, &[], body));
            assert_eq!(f.code, "invalid_reply", "{body}");
            assert!(f.message.contains("ram.aliyuncs.com"), "{}", f.message);
        }
        let f = failed(&step_op(&LIST_GROUPS, None), &reply(200, &[], "{}"));
        assert!(f.message.contains("ims.aliyuncs.com"), "{}", f.message);
    }

    #[test]
    fn the_default_domain_is_listed_as_the_one_item() {
        let op = Op::Step {
            step: &DEFAULT_DOMAIN,
            user: "",
            target: None,
            write: None,
        };
        let body = r#"{"DefaultDomainName":"examplecompany.onaliyun.com","RequestId":"R"}"#;
        assert_eq!(
            classify(&op, &reply(200, &[], body)).verdict,
            items(&["examplecompany.onaliyun.com"])
        );
        let f = failed(
            &op,
            &reply(200, &[], r#"{"DefaultDomainName":"","RequestId":"R"}"#),
        );
        assert_eq!(f.code, "invalid_reply");
    }

    #[test]
    fn a_taken_name_or_membership_already_exists() {
        let taken = error(
            409,
            "EntityAlreadyExists.User",
            "The user does already EXIST.",
        );
        let f = failed(&step_op(&CREATE_USER, None), &taken);
        assert_eq!(
            (f.class, f.code.as_str()),
            (FailureClass::AlreadyExists, "EntityAlreadyExists.User")
        );
        let member = error(
            409,
            "EntityAlreadyExists.User.Group",
            "The user has already joined the group.",
        );
        let f = failed(&step_op(&ADD_TO_GROUP, Some("finance")), &member);
        assert_eq!(f.class, FailureClass::AlreadyExists);
    }

    #[test]
    fn a_missing_group_fails_naming_it() {
        let r = error(
            404,
            "EntityNotExist.Group",
            "The specified group does not exist.",
        );
        let f = failed(&step_op(&ADD_TO_GROUP, Some("auditors")), &r);
        assert_eq!(
            (f.class, f.code.as_str()),
            (FailureClass::Permanent, "EntityNotExist.Group")
        );
        assert_eq!(
            f.message,
            "group 'auditors' does not exist in this account: create it, or take it out of the row's groups (The specified group does not exist.)"
        );
    }

    #[test]
    fn what_a_delete_finds_already_gone_is_absent() {
        let cases: &[(&'static Step, Option<&'static str>, &str, &str)] = &[
            (
                &REMOVE_FROM_GROUP,
                Some("finance"),
                "EntityNotExist.User.Group",
                "The user has not joined the group.",
            ),
            (
                &DELETE_KEY,
                Some("LTAI4GEi7fLTxBX7uDSn****"),
                "EntityNotExist.User.AccessKey",
                "The user access key does not exist.",
            ),
            (
                &UNBIND_MFA,
                None,
                "EntityNotExist.User.MFADevice",
                "The user has not bound any MFA device.",
            ),
            (
                &DELETE,
                None,
                "EntityNotExist.User.LoginProfile",
                "The login profile of the user does not exist.",
            ),
        ];
        for (step, target, code, message) in cases {
            let f = absent(classify(&step_op(step, *target), &error(404, code, message)).verdict);
            assert_eq!((f.code.as_str(), f.message.as_str()), (*code, *message));
            assert_eq!(f.class, FailureClass::NotFound);
        }
    }

    #[test]
    fn a_delete_conflict_is_permanent_with_its_code() {
        for code in [
            "DeleteConflict.User.AccessKey",
            "DeleteConflict.User.LoginProfile",
            "DeleteConflict.User.MFADevice",
            "DeleteConflict.User.Group",
            "DeleteConflict.User.Policy",
        ] {
            let f = failed(
                &step_op(&DELETE_USER, None),
                &error(409, code, "The user CAN NOT be deleted."),
            );
            assert_eq!((f.class, f.code.as_str()), (FailureClass::Permanent, code));
        }
        assert_eq!(
            classify(
                &step_op(&DELETE_USER, None),
                &reply(200, &[], r#"{"RequestId":"R"}"#)
            )
            .verdict,
            Verdict::Done
        );
    }
}
