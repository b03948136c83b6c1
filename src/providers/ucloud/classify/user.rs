//! Replies of the user actions: `GetUser` (the user, its freeze and its create time) and
//! `ListUsersForGroup` (a group's members). `CreateUser`'s reply is never read: it may carry an
//! `AccessKeySecret`, which the tool must not keep.

use super::{failure, integer};
use crate::jobs::LoginState;
use crate::providers::json;
use crate::providers::{FailureClass, Item, Observed, Verdict};
use serde_json::Value;
use time::OffsetDateTime;

/// The `RetCode` of a group that does not exist.
pub const UNKNOWN_GROUP: i64 = 11162;

/// What a failure on an unknown group says: which group, and what to do.
pub fn unknown_group(group: &str, ucloud: &str) -> String {
    format!(
        "group '{group}' does not exist in this account: create it, or take it out of the row's groups ({ucloud})"
    )
}

/// `GetUser`: `{"User": {"UserName", "DisplayName", "Email", "Status", "CreatedAt"}}`.
pub fn read(body: Option<&Value>) -> Verdict {
    let Some(user) = body.and_then(|b| b.get("User")).filter(|u| u.is_object()) else {
        return Verdict::Failed(failure(
            FailureClass::Permanent,
            "invalid_reply",
            "a GetUser reply without a User: check that the endpoint is the UCloud API",
        ));
    };
    let text = |key: &str| json::text(user, key).map(str::to_string);
    Verdict::Observed(Observed {
        exists: true,
        state: LoginState {
            display_name: text("DisplayName"),
            email: text("Email"),
            user_enabled: user.get("Status").and_then(Value::as_str).and_then(enabled),
            ..LoginState::default()
        },
        extra: Vec::new(),
        created: user
            .get("CreatedAt")
            .and_then(integer)
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()),
    })
}

/// A user's `Status`: only `Frozen` (UpdateUser's freeze) is a disabled user; `Inactive` and
/// `ConsoleInactive` say what its keys and login may do, which the login's own status reports.
fn enabled(status: &str) -> Option<bool> {
    match status {
        "Frozen" => Some(false),
        "Active" | "Inactive" | "ConsoleInactive" => Some(true),
        _ => None,
    }
}

/// `ListGroups`: `{"Groups": [{"GroupName", ..}]}`, every group of the account.
pub fn groups(body: Option<&Value>) -> Verdict {
    match body.and_then(|b| b.get("Groups")?.as_array()) {
        Some(groups) => Verdict::Listed(
            groups
                .iter()
                .filter_map(|g| json::text(g, "GroupName"))
                .map(|name| Item {
                    id: name.to_string(),
                    name: String::new(),
                })
                .collect(),
        ),
        None => Verdict::Failed(failure(
            FailureClass::Permanent,
            "invalid_reply",
            "a ListGroups reply without a Groups list: check that the endpoint is the UCloud API",
        )),
    }
}

/// `ListUsersForGroup`: `{"TotalCount", "Users": [{"UserName", ..}]}`, one page from offset 0. A
/// group with more members than the page holds cannot be answered from it: a member left out
/// would be taken for a user outside the group.
pub fn members(body: Option<&Value>, group: &str) -> Verdict {
    let users = body.and_then(|b| b.get("Users")?.as_array());
    let names: Option<Vec<Item>> = users.map(|users| {
        users
            .iter()
            .filter_map(|u| json::text(u, "UserName"))
            .map(|name| Item {
                id: name.to_string(),
                name: String::new(),
            })
            .collect()
    });
    let (Some(users), Some(names)) = (users, names) else {
        return Verdict::Failed(failure(
            FailureClass::Permanent,
            "invalid_reply",
            "a ListUsersForGroup reply without a Users list: check that the endpoint is the UCloud API",
        ));
    };
    if names.len() < users.len() {
        return Verdict::Failed(failure(
            FailureClass::Permanent,
            "invalid_reply",
            &format!(
                "a ListUsersForGroup reply for group '{group}' lists a member without a UserName"
            ),
        ));
    }
    let total = body
        .and_then(|b| integer(b.get("TotalCount")?))
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(names.len());
    if total > names.len() {
        return Verdict::Failed(failure(
            FailureClass::Permanent,
            "too_many_members",
            &format!(
                "group '{group}' has {total} members, more than the {} one ListUsersForGroup reply lists, so whether the user is in it cannot be read: use add-to-group for this group (it needs no read)",
                super::super::LIST_LIMIT
            ),
        ));
    }
    Verdict::Listed(names)
}

#[cfg(test)]
mod tests {
    use super::super::classify;
    use crate::jobs::LoginState;
    use crate::providers::testing::reply;
    use crate::providers::ucloud::{
        ADD_TO_GROUP, CREATE_USER, DELETE_USER, GET_USER, LIST_MEMBERS, REMOVE_FROM_GROUP,
        SET_STATUS, UPDATE_USER,
    };
    use crate::providers::{
        Classified, Failure, FailureClass, Item, Observed, Op, Step, Verdict, Write,
    };
    use crate::secret::Secret;
    use time::macros::datetime;

    fn answer(step: &'static Step, target: Option<&str>, body: &str) -> Verdict {
        let op = Op::Step {
            step,
            user: "alice",
            target,
            write: None,
        };
        classify(&op, &reply(200, &[], body)).verdict
    }

    fn failed(step: &'static Step, target: Option<&str>, body: &str) -> Failure {
        match answer(step, target, body) {
            Verdict::Failed(f) => f,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn get_user_gives_the_user_fields_its_freeze_and_its_create_time() {
        // The Go SDK's `UserInfo`.
        let body = r#"{"Action":"GetUserResponse","RetCode":0,"Message":"",
            "User":{"UserName":"alice","DisplayName":"Alice Li","Email":"alice@example.com",
                    "Status":"Frozen","CreatedAt":1700000000}}"#;
        assert_eq!(
            answer(&GET_USER, None, body),
            Verdict::Observed(Observed {
                exists: true,
                state: LoginState {
                    display_name: Some("Alice Li".into()),
                    email: Some("alice@example.com".into()),
                    user_enabled: Some(false),
                    ..LoginState::default()
                },
                extra: Vec::new(),
                created: Some(datetime!(2023-11-14 22:13:20 UTC)),
            })
        );
        for (status, enabled) in [
            ("Active", Some(true)),
            ("ConsoleInactive", Some(true)),
            ("Inactive", Some(true)),
            ("Deleted?", None),
        ] {
            let body = format!(
                r#"{{"RetCode":0,"User":{{"UserName":"alice","Email":"","Status":"{status}","CreatedAt":"1700000000"}}}}"#
            );
            let Verdict::Observed(seen) = answer(&GET_USER, None, &body) else {
                panic!("{body}")
            };
            assert_eq!(seen.state.user_enabled, enabled, "{status}");
            assert_eq!(seen.state.email, None, "an empty email is no email");
            assert!(seen.created.is_some(), "CreatedAt as a string");
        }
        let f = failed(&GET_USER, None, r#"{"RetCode":0,"Message":""}"#);
        assert_eq!(f.code, "invalid_reply");
    }

    #[test]
    fn an_unknown_user_is_not_found_and_a_taken_name_already_exists() {
        let f = failed(
            &GET_USER,
            None,
            r#"{"Action":"GetUserResponse","RetCode":11021,"Message":"User [alice] not exist"}"#,
        );
        assert_eq!(
            (f.class, f.code.as_str(), f.message.as_str()),
            (FailureClass::NotFound, "11021", "User [alice] not exist")
        );
        for step in [&DELETE_USER, &UPDATE_USER, &SET_STATUS] {
            assert_eq!(
                failed(step, None, r#"{"RetCode":11021,"Message":"x"}"#).class,
                FailureClass::NotFound
            );
        }
        let f = failed(
            &CREATE_USER,
            None,
            r#"{"Action":"CreateUserResponse","RetCode":11208,"Message":"User [alice] already exists"}"#,
        );
        assert_eq!(
            (f.class, f.code.as_str()),
            (FailureClass::AlreadyExists, "11208")
        );
    }

    #[test]
    fn a_group_lists_its_members_by_user_name() {
        // The Go SDK's `UserForGroup`.
        let body = r#"{"Action":"ListUsersForGroupResponse","RetCode":0,"Message":"","TotalCount":2,
            "Users":[{"UserName":"alice","DisplayName":"Alice","Email":"a@x","JoinedAt":1700000000},
                     {"UserName":"bob","DisplayName":"","Email":"","JoinedAt":1700000001}]}"#;
        let item = |id: &str| Item {
            id: id.into(),
            name: String::new(),
        };
        assert_eq!(
            answer(&LIST_MEMBERS, Some("auditors"), body),
            Verdict::Listed(vec![item("alice"), item("bob")])
        );
        let empty = r#"{"RetCode":0,"TotalCount":0,"Users":[]}"#;
        assert_eq!(
            answer(&LIST_MEMBERS, Some("auditors"), empty),
            Verdict::Listed(Vec::new())
        );
        for broken in [
            r#"{"RetCode":0,"TotalCount":0}"#,
            r#"{"RetCode":0,"TotalCount":1,"Users":[{"Email":"a@x"}]}"#,
        ] {
            assert_eq!(
                failed(&LIST_MEMBERS, Some("auditors"), broken).code,
                "invalid_reply"
            );
        }
    }

    #[test]
    fn a_group_larger_than_one_page_is_not_taken_for_its_first_page() {
        let body = r#"{"RetCode":0,"TotalCount":101,"Users":[{"UserName":"alice"}]}"#;
        let f = failed(&LIST_MEMBERS, Some("everyone"), body);
        assert_eq!(
            (f.class, f.code.as_str()),
            (FailureClass::Permanent, "too_many_members")
        );
        assert!(
            f.message.contains("group 'everyone' has 101 members"),
            "{}",
            f.message
        );
        assert!(f.message.contains("add-to-group"), "{}", f.message);
    }

    #[test]
    fn an_unknown_group_fails_naming_it() {
        let body = r#"{"RetCode":11162,"Message":"Group [auditors] not exist"}"#;
        for step in [&LIST_MEMBERS, &ADD_TO_GROUP, &REMOVE_FROM_GROUP] {
            let f = failed(step, Some("auditors"), body);
            assert_eq!(
                (f.class, f.code.as_str()),
                (FailureClass::Permanent, "11162")
            );
            assert_eq!(
                f.message,
                "group 'auditors' does not exist in this account: create it, or take it out of the row's groups (Group [auditors] not exist)"
            );
        }
        let f = failed(&ADD_TO_GROUP, Some("auditors"), r#"{"RetCode":11162}"#);
        assert!(
            f.message.starts_with("group 'auditors' does not exist"),
            "{}",
            f.message
        );
    }

    #[test]
    fn writes_are_done_and_no_secret_of_a_create_reply_is_kept() {
        const CANARY: &str = "canary-AccessKeySecret-5e1f";
        let body = format!(
            r#"{{"Action":"CreateUserResponse","RetCode":0,"Message":"","UserName":"alice",
                "DisplayName":"alice","CompanyID":50000001,"ConsoleAccess":true,"APIAccess":false,
                "AccessKeyID":"4a7c","AccessKeySecret":"{CANARY}"}}"#
        );
        let state = LoginState::default();
        let password = Secret::new("Passw0rd-123!");
        let op = Op::Step {
            step: &CREATE_USER,
            user: "alice",
            target: None,
            write: Some(Write {
                state: &state,
                password: Some(&password),
                generate_password: false,
            }),
        };
        let got = classify(&op, &reply(200, &[("X-UCLOUD-REQUEST-UUID", "r-1")], &body));
        assert_eq!(
            got,
            Classified {
                request_id: Some("r-1".into()),
                verdict: Verdict::Done
            }
        );
        assert!(!format!("{got:?}").contains(CANARY));
        for step in [
            &ADD_TO_GROUP,
            &REMOVE_FROM_GROUP,
            &UPDATE_USER,
            &DELETE_USER,
        ] {
            let op = Op::Step {
                step,
                user: "alice",
                target: Some("auditors"),
                write: None,
            };
            let done = classify(&op, &reply(200, &[], r#"{"RetCode":0,"Message":""}"#));
            assert_eq!(done.verdict, Verdict::Done, "{}", step.api);
        }
    }
}
