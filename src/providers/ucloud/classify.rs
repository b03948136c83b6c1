//! Reading UCloud replies, docs/providers.md §1.4. UCloud answers HTTP 200 even for errors: success is
//! `RetCode == 0`, and `RetCode` sometimes arrives as a JSON string. Non-200 statuses come from the
//! gateway or a proxy in front of it.

use crate::jobs::LoginState;
use crate::providers::encoding::iso8601_seconds;
use crate::providers::json;
use crate::providers::{
    Classified, Failure, FailureClass, ListedUser, MfaDevice, MfaPage, Observed, Op, Reply,
    UserPage, Verdict,
};
use reqwest::StatusCode;
use serde_json::Value;
use time::OffsetDateTime;

mod user;

/// The header carrying UCloud's request id.
const REQUEST_ID_HEADER: &str = "X-UCLOUD-REQUEST-UUID";

/// Reads the reply to `op`.
pub fn classify(op: &Op<'_>, reply: &Reply) -> Classified {
    Classified {
        request_id: reply.header(REQUEST_ID_HEADER).map(str::to_string),
        verdict: verdict(op, reply),
    }
}

fn verdict(op: &Op<'_>, reply: &Reply) -> Verdict {
    if let Some(failure) = unsupported(op) {
        return Verdict::Failed(failure);
    }
    let body: Option<Value> = serde_json::from_slice(&reply.body).ok();
    let ret_code = body.as_ref().and_then(|b| integer(b.get("RetCode")?));
    let message = body
        .as_ref()
        .and_then(|b| b.get("Message")?.as_str())
        .filter(|m| !m.is_empty());
    if reply.status != 200 {
        return Verdict::Failed(http_failure(reply.status, ret_code, message));
    }
    match ret_code {
        Some(0) => match *op {
            Op::Step { step, .. } if step.effect.is_write() => Verdict::Done,
            // `IsMFAEnable`, read as "a device is bound" (its meaning is unconfirmed).
            Op::Step { step, user, .. } if step.api == super::MFA_INFO.api => {
                match body.as_ref().and_then(|b| b.get("IsMFAEnable")?.as_bool()) {
                    Some(bound) => Verdict::MfaDevices(MfaPage {
                        devices: bound
                            .then(|| MfaDevice {
                                user: user.to_string(),
                                kind: None,
                            })
                            .into_iter()
                            .collect(),
                        next: None,
                    }),
                    None => Verdict::Failed(failure(
                        FailureClass::Permanent,
                        "invalid_reply",
                        "a GetUserMFAInfo reply without IsMFAEnable: check that the endpoint is the UCloud API",
                    )),
                }
            }
            Op::Step { step, .. } if step.api == super::GET_USER.api => user::read(body.as_ref()),
            Op::Step { step, target, .. } if step.api == super::LIST_MEMBERS.api => {
                user::members(body.as_ref(), target.unwrap_or_default())
            }
            Op::Step { step, .. } if step.api == super::LIST_GROUPS.api => {
                user::groups(body.as_ref())
            }
            Op::Step { .. } => {
                Verdict::Observed(observed(body.as_ref().and_then(|b| b.get("LoginProfile"))))
            }
            Op::ListUsers { page } => {
                let offset = page.and_then(|p| p.parse().ok()).unwrap_or(0);
                body.as_ref()
                    .and_then(|b| user_page(b, offset))
                    .map(Verdict::Users)
                    .unwrap_or_else(|| {
                        Verdict::Failed(failure(
                            FailureClass::Permanent,
                            "invalid_reply",
                            "a ListUsers reply without a Users list (each user with a UserName): check that the endpoint is the UCloud API",
                        ))
                    })
            }
            _ => Verdict::Done,
        },
        Some(code) => {
            let class = class_of(code);
            // UCloud's own words ("Signature VerifyAC Error") do not say what to fix: a failure
            // that stops the account also says which key to check.
            let message = match message {
                None => meaning(code).to_string(),
                Some(m) if class == FailureClass::Credential => format!("{m} ({})", meaning(code)),
                Some(m) => m.to_string(),
            };
            let message = match (code, op) {
                (user::UNKNOWN_GROUP, Op::Step { target, .. }) => {
                    user::unknown_group(target.unwrap_or_default(), &message)
                }
                _ => message,
            };
            Verdict::Failed(Failure {
                class,
                code: code.to_string(),
                message,
                retry_after: None,
            })
        }
        None => Verdict::Failed(failure(
            FailureClass::Permanent,
            "invalid_reply",
            "the endpoint answered HTTP 200 without a UCloud RetCode: check that the endpoint is the UCloud API",
        )),
    }
}

/// UCloud has no API for these operations and the engine never asks for them (UCloud resolves no
/// names and reads per user); whatever came back, they fail rather than pass for something they
/// are not.
fn unsupported(op: &Op<'_>) -> Option<Failure> {
    let what = match op {
        Op::Step { .. } | Op::ListUsers { .. } => return None,
        Op::ResolveUser { .. } => "resolving user names (UCloud users are addressed by name)",
        Op::ReadAll => "reading every login profile at once",
        Op::ListMfaDevices { .. } => "listing MFA devices (one GetUserMFAInfo per user instead)",
    };
    Some(failure(
        FailureClass::Permanent,
        "unsupported_operation",
        &format!("UCloud IAM has no API for {what}"),
    ))
}

pub(super) fn failure(class: FailureClass, code: &str, message: &str) -> Failure {
    Failure {
        class,
        code: code.to_string(),
        message: message.to_string(),
        retry_after: None,
    }
}

/// The class of a non-zero `RetCode` (docs/providers.md §1.4). Unlike the SDK, codes >= 2000 are not
/// retried as a rule: 11021 and 11208 are final.
pub(super) fn class_of(code: i64) -> FailureClass {
    match code {
        110 | 130 | 150 => FailureClass::Retryable { throttled: false },
        153 => FailureClass::Retryable { throttled: true },
        // A security token not found: for temporary keys, expired; a chained account renews it.
        174 => FailureClass::TokenExpired,
        170 | 171 | 172 | 292 | 293 | 294 | 295 | 299 => FailureClass::Credential,
        11021 => FailureClass::NotFound,
        11208 => FailureClass::AlreadyExists,
        // 160/161 (Action missing/unknown), password policy and anything undocumented.
        _ => FailureClass::Permanent,
    }
}

/// What a `RetCode` means, for replies without a `Message`.
pub(super) fn meaning(code: i64) -> &'static str {
    match code {
        110 => "UCloud API timeout",
        130 => "UCloud gateway authentication service error",
        150 => "UCloud service unavailable",
        153 => "throttled by UCloud: lower the account's rate",
        160 | 161 => "UCloud does not know this Action",
        170 | 171 => "signature missing or wrong: check the account's private_key",
        172 => "no UCloud account owns this public_key: check the account's public_key",
        174 => "UCloud security token not found",
        292 => "UCloud requires a ProjectId for this account",
        293 | 294 | 295 | 299 => {
            "UCloud denied the request: check the key's IAM permissions, IP allow-list and security lock"
        }
        11021 => "user not found",
        11208 => "user already exists",
        user::UNKNOWN_GROUP => "group not found",
        _ => "UCloud refused the request",
    }
}

/// A non-200 status: the status decides the class; the code is the body's `RetCode` when there is
/// one, else `http_<status>`.
pub(super) fn http_failure(status: u16, ret_code: Option<i64>, message: Option<&str>) -> Failure {
    let class = match status {
        429 => FailureClass::Retryable { throttled: true },
        408 | 500..=599 => FailureClass::Retryable { throttled: false },
        401 | 403 => FailureClass::Credential,
        _ => FailureClass::Permanent,
    };
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let message = match message {
        Some(m) => format!("HTTP {status} {reason}: {m}"),
        None => format!("HTTP {status} {reason} from the UCloud endpoint"),
    };
    Failure {
        class,
        code: match ret_code {
            Some(code) if code != 0 => code.to_string(),
            _ => format!("http_{status}"),
        },
        message,
        retry_after: None,
    }
}

/// The login state in a `GetLoginProfile` reply. The profile may be empty or missing: what is not
/// there stays unknown, and the profile still exists (the call succeeded).
fn observed(profile: Option<&Value>) -> Observed {
    let field = |name: &str| profile.and_then(|p| p.get(name));
    let mut seen = Observed {
        exists: true,
        ..Default::default()
    };
    seen.state.login_status = field("Status")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok());
    seen.state.mfa_bind_required = field("MFABindRequired").and_then(boolean);
    seen.state.max_password_age = field("MaxPasswordAge")
        .and_then(integer)
        .and_then(|n| u32::try_from(n).ok());
    seen
}

/// The informational columns of an export (from ListUsers' `DisplayName` and `CreatedAt`).
pub const INFO_COLUMNS: &[&str] = &["display_name", "create_date"];

/// `{"TotalCount", "Users": [{"UserName", "DisplayName", "Email", "Status", "CreatedAt", ..}]}`
/// (docs/providers.md §1.3), the page starting at `offset`. The next page starts after this one while
/// `TotalCount` says there are more; without a count, while pages come back full. `None` when a
/// user has no name (going on would skip it).
fn user_page(body: &Value, offset: u64) -> Option<UserPage> {
    let users = body.get("Users")?.as_array()?;
    let users = users
        .iter()
        .map(|user| {
            let text = |key: &str| json::text(user, key).map(str::to_string);
            let mut info = Vec::new();
            info.extend(text("DisplayName").map(|name| ("display_name", name)));
            info.extend(
                user.get("CreatedAt")
                    .and_then(integer)
                    .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
                    .map(|t| ("create_date", iso8601_seconds(t))),
            );
            Some(ListedUser {
                user: text("UserName")?,
                state: LoginState {
                    email: text("Email"),
                    ..LoginState::default()
                },
                info,
                ..ListedUser::default()
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let after = offset + users.len() as u64;
    let more = match body.get("TotalCount").and_then(integer) {
        Some(total) => !users.is_empty() && after < u64::try_from(total).unwrap_or(0),
        None => users.len() >= super::LIST_LIMIT,
    };
    Some(UserPage {
        users,
        next: more.then(|| after.to_string()),
    })
}

/// A JSON integer, or one sent as a string (UCloud does both).
pub(super) fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A JSON boolean, or one sent as a string.
fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{LoginState, LoginStatus};
    use crate::providers::Write;
    use crate::providers::testing::{self, listed};
    use crate::providers::ucloud::{GET, UPDATE};
    use reqwest::header::HeaderMap;

    /// A reply with UCloud's request id header.
    fn reply(status: u16, body: &str) -> Reply {
        let id = (
            "x-ucloud-request-uuid",
            "5f1c2d3e-0000-4000-8000-000000000001",
        );
        testing::reply(status, &[id], body)
    }

    const READ: Op<'static> = Op::Step {
        target: None,
        step: &GET,
        user: "alice",
        write: None,
    };

    fn update_op(state: &LoginState) -> Op<'_> {
        Op::Step {
            target: None,
            step: &UPDATE,
            user: "alice",
            write: Some(Write {
                state,
                password: None,
                generate_password: false,
            }),
        }
    }

    fn failed(op: &Op<'_>, status: u16, body: &str) -> Failure {
        match classify(op, &reply(status, body)).verdict {
            Verdict::Failed(f) => f,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn is_mfa_enable_is_read_as_bound() {
        let op = Op::Step {
            target: None,
            step: &crate::providers::ucloud::MFA_INFO,
            user: "an.zhou",
            write: None,
        };
        let binding = |body: &str| match classify(&op, &reply(200, body)).verdict {
            Verdict::MfaDevices(page) => page.binding("an.zhou"),
            other => panic!("{other:?}"),
        };
        let on = r#"{"Action":"GetUserMFAInfoResponse","RetCode":0,"IsMFAEnable":true}"#;
        assert!(binding(on).bound);
        assert_eq!(binding(on).kind, None);
        let off = r#"{"Action":"GetUserMFAInfoResponse","RetCode":0,"IsMFAEnable":false}"#;
        assert!(!binding(off).bound);
        let without = r#"{"Action":"GetUserMFAInfoResponse","RetCode":0}"#;
        assert_eq!(failed(&op, 200, without).code, "invalid_reply");
        let unknown =
            r#"{"Action":"GetUserMFAInfoResponse","RetCode":11021,"Message":"User [x] not exist"}"#;
        assert_eq!(failed(&op, 200, unknown).class, FailureClass::NotFound);
    }

    fn list(page: Option<&str>, body: &str) -> Verdict {
        classify(&Op::ListUsers { page }, &reply(200, body)).verdict
    }

    #[test]
    fn a_list_page_gives_users_with_email_and_the_next_offset() {
        // The fields of UCloud's `UsersSchema` (Python SDK) and the API page's `ConsoleAccess`.
        let body = r#"{"Action":"ListUsersResponse","RetCode":0,"Message":"","TotalCount":3,
            "Users":[
              {"UserName":"an.zhou","DisplayName":"An Zhou","Email":"an.zhou@ops.example.com",
               "Status":"Active","CreatedAt":1700000000,"ConsoleAccess":true,"APIAccess":false},
              {"UserName":"bo.wu","DisplayName":"","Email":"","Status":"Frozen","CreatedAt":"1600000000"}
            ]}"#;
        let Verdict::Users(page) = list(None, body) else {
            panic!("expected a page");
        };
        assert_eq!(page.next.as_deref(), Some("2"));
        assert_eq!(
            page.users,
            vec![
                ListedUser {
                    state: LoginState {
                        email: Some("an.zhou@ops.example.com".into()),
                        ..LoginState::default()
                    },
                    ..listed(
                        "an.zhou",
                        &[
                            ("display_name", "An Zhou"),
                            ("create_date", "2023-11-14T22:13:20Z"),
                        ],
                    )
                },
                listed("bo.wu", &[("create_date", "2020-09-13T12:26:40Z")]),
            ]
        );
        // The third user is the last one.
        let last =
            r#"{"RetCode":0,"TotalCount":3,"Users":[{"UserName":"chao.zheng","Email":"c@x"}]}"#;
        assert!(matches!(
            list(Some("2"), last),
            Verdict::Users(UserPage { next: None, .. })
        ));
        // Past the end, or an empty account.
        let empty = r#"{"RetCode":0,"TotalCount":3,"Users":[]}"#;
        assert_eq!(list(Some("3"), empty), Verdict::Users(UserPage::default()));
    }

    #[test]
    fn without_a_total_pages_go_on_while_they_are_full() {
        let full: Vec<String> = (0..100)
            .map(|i| format!(r#"{{"UserName":"u{i}","Email":""}}"#))
            .collect();
        let body = format!(r#"{{"RetCode":0,"Users":[{}]}}"#, full.join(","));
        assert!(
            matches!(list(Some("100"), &body), Verdict::Users(UserPage { next: Some(ref n), .. }) if n == "200")
        );
        let short = r#"{"RetCode":0,"Users":[{"UserName":"u","Email":""}]}"#;
        assert!(matches!(
            list(Some("200"), short),
            Verdict::Users(UserPage { next: None, .. })
        ));
    }

    #[test]
    fn a_list_that_would_lose_users_is_refused_and_errors_are_classified() {
        for body in [
            r#"{"RetCode":0,"TotalCount":1}"#,
            r#"{"RetCode":0,"TotalCount":1,"Users":[{"Email":"x@y"}]}"#,
        ] {
            let f = failed(&Op::ListUsers { page: None }, 200, body);
            assert_eq!(
                (f.class, f.code.as_str()),
                (FailureClass::Permanent, "invalid_reply")
            );
        }
        let f = failed(
            &Op::ListUsers { page: None },
            200,
            r#"{"RetCode":153,"Message":"Request Too Frequent"}"#,
        );
        assert_eq!(f.class, FailureClass::Retryable { throttled: true });
        let f = failed(&Op::ReadAll, 200, r#"{"RetCode":0,"Users":[]}"#);
        assert_eq!(f.code, "unsupported_operation");
    }

    #[test]
    fn update_success_is_done_with_the_request_id() {
        let state = LoginState::default();
        let got = classify(
            &update_op(&state),
            &reply(
                200,
                r#"{"Action":"UpdateLoginProfileResponse","LoginProfile":{},"Message":"Success","RetCode":0}"#,
            ),
        );
        assert_eq!(
            got,
            Classified {
                request_id: Some("5f1c2d3e-0000-4000-8000-000000000001".into()),
                verdict: Verdict::Done,
            }
        );
    }

    #[test]
    fn read_success_reports_the_readable_fields() {
        let got = classify(
            &READ,
            &reply(
                200,
                r#"{"Action":"GetLoginProfileResponse","RetCode":0,"Message":"","LoginProfile":{"Status":"Inactive","MFABindRequired":true,"MaxPasswordAge":90,"PasswordResetRequired":true}}"#,
            ),
        );
        let expected = Observed {
            exists: true,
            state: LoginState {
                login_status: Some(LoginStatus::Inactive),
                mfa_bind_required: Some(true),
                max_password_age: Some(90),
                ..Default::default()
            },
            extra: Vec::new(),
            created: None,
        };
        assert_eq!(got.verdict, Verdict::Observed(expected));
    }

    #[test]
    fn read_success_accepts_values_sent_as_strings() {
        let got = classify(
            &READ,
            &reply(
                200,
                r#"{"RetCode":"0","LoginProfile":{"Status":"Active","MFABindRequired":"false","MaxPasswordAge":"30"}}"#,
            ),
        );
        let Verdict::Observed(seen) = got.verdict else {
            panic!("expected an observation, got {:?}", got.verdict);
        };
        assert_eq!(seen.state.login_status, Some(LoginStatus::Active));
        assert_eq!(seen.state.mfa_bind_required, Some(false));
        assert_eq!(seen.state.max_password_age, Some(30));
    }

    #[test]
    fn empty_or_missing_login_profile_is_an_existing_profile_with_unknown_fields() {
        for body in [
            r#"{"Action":"GetLoginProfileResponse","LoginProfile":{},"RetCode":0}"#,
            r#"{"Action":"GetLoginProfileResponse","RetCode":0}"#,
            r#"{"RetCode":0,"LoginProfile":null}"#,
            r#"{"RetCode":0,"LoginProfile":{"Status":"Frozen","MaxPasswordAge":-1}}"#,
        ] {
            assert_eq!(
                classify(&READ, &reply(200, body)).verdict,
                Verdict::Observed(Observed {
                    exists: true,
                    ..Default::default()
                }),
                "{body}"
            );
        }
    }

    #[test]
    fn every_documented_ret_code_has_its_class() {
        use FailureClass::*;
        let table = [
            (110, Retryable { throttled: false }),
            (130, Retryable { throttled: false }),
            (150, Retryable { throttled: false }),
            (153, Retryable { throttled: true }),
            (160, Permanent),
            (161, Permanent),
            (170, Credential),
            (171, Credential),
            (172, Credential),
            (174, TokenExpired),
            (292, Credential),
            (293, Credential),
            (294, Credential),
            (295, Credential),
            (299, Credential),
            (11021, NotFound),
            (11208, AlreadyExists),
            (2000, Permanent),
            (18001, Permanent),
        ];
        let state = LoginState::default();
        for (code, class) in table {
            for op in [READ, update_op(&state)] {
                let body = format!(
                    r#"{{"Action":"GetLoginProfileResponse","RetCode":{code},"Message":"reason {code}"}}"#
                );
                let f = failed(&op, 200, &body);
                assert_eq!(f.class, class, "RetCode {code}");
                assert_eq!(f.code, code.to_string());
                assert!(f.message.starts_with(&format!("reason {code}")));
                assert_eq!(f.retry_after, None);
            }
        }
    }

    #[test]
    fn ret_code_as_a_string_is_read_like_a_number() {
        let f = failed(
            &READ,
            200,
            r#"{"Action":"GetLoginProfileResponse","RetCode":"153","Message":"Request Too Frequent"}"#,
        );
        assert_eq!(
            f,
            Failure {
                class: FailureClass::Retryable { throttled: true },
                code: "153".into(),
                message: "Request Too Frequent".into(),
                retry_after: None,
            }
        );
    }

    #[test]
    fn a_credential_failure_says_which_key_to_check() {
        let f = failed(
            &READ,
            200,
            r#"{"RetCode":171,"Message":"Signature VerifyAC Error"}"#,
        );
        assert_eq!(
            f.message,
            "Signature VerifyAC Error (signature missing or wrong: check the account's private_key)"
        );
        let f = failed(&READ, 200, r#"{"RetCode":172,"Message":"User Not Exists"}"#);
        assert!(f.message.contains("public_key"), "{}", f.message);
        let f = failed(
            &READ,
            200,
            r#"{"RetCode":11021,"Message":"User [bob] not exist"}"#,
        );
        assert_eq!(f.message, "User [bob] not exist");
    }

    #[test]
    fn a_failure_without_message_says_what_the_code_means() {
        let f = failed(&READ, 200, r#"{"RetCode":171}"#);
        assert_eq!(f.class, FailureClass::Credential);
        assert!(f.message.contains("private_key"), "{}", f.message);
        assert!(
            failed(&READ, 200, r#"{"RetCode":11021,"Message":""}"#)
                .message
                .contains("not found")
        );
    }

    #[test]
    fn http_errors_are_classed_by_status() {
        use FailureClass::*;
        for (status, class) in [
            (429, Retryable { throttled: true }),
            (502, Retryable { throttled: false }),
            (503, Retryable { throttled: false }),
            (504, Retryable { throttled: false }),
            (500, Retryable { throttled: false }),
            (401, Credential),
            (403, Credential),
            (404, Permanent),
            (400, Permanent),
        ] {
            let f = failed(&READ, status, "");
            assert_eq!(f.class, class, "HTTP {status}");
            assert_eq!(f.code, format!("http_{status}"));
        }
    }

    #[test]
    fn a_non_json_502_is_retryable_and_says_so() {
        let got = classify(
            &READ,
            &reply(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
        );
        assert_eq!(
            got.request_id.as_deref(),
            Some("5f1c2d3e-0000-4000-8000-000000000001")
        );
        let Verdict::Failed(f) = got.verdict else {
            panic!("expected a failure, got {:?}", got.verdict);
        };
        assert_eq!(f.class, FailureClass::Retryable { throttled: false });
        assert_eq!(f.code, "http_502");
        assert_eq!(f.message, "HTTP 502 Bad Gateway from the UCloud endpoint");
    }

    #[test]
    fn an_http_error_with_a_ucloud_body_keeps_its_ret_code_and_message() {
        let f = failed(
            &READ,
            429,
            r#"{"RetCode":153,"Message":"Request Too Frequent"}"#,
        );
        assert_eq!(f.class, FailureClass::Retryable { throttled: true });
        assert_eq!(f.code, "153");
        assert_eq!(
            f.message,
            "HTTP 429 Too Many Requests: Request Too Frequent"
        );
    }

    #[test]
    fn a_200_that_is_not_a_ucloud_reply_is_permanent() {
        for body in ["<html>captive portal</html>", "", r#"{"ok":true}"#] {
            let f = failed(&READ, 200, body);
            assert_eq!(f.class, FailureClass::Permanent, "{body}");
            assert_eq!(f.code, "invalid_reply");
        }
    }

    #[test]
    fn no_request_id_header_means_none() {
        let r = Reply {
            status: 200,
            headers: HeaderMap::new(),
            body: br#"{"RetCode":0}"#.to_vec(),
        };
        assert_eq!(classify(&READ, &r).request_id, None);
    }

    #[test]
    fn operations_ucloud_lacks_fail_whatever_the_reply() {
        for op in [Op::ResolveUser { name: "alice" }, Op::ReadAll] {
            let f = failed(&op, 200, r#"{"RetCode":0,"LoginProfile":{}}"#);
            assert_eq!(f.class, FailureClass::Permanent);
            assert_eq!(f.code, "unsupported_operation");
        }
    }
}
