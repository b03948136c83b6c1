//! The parameters of each UCloud IAM request, named and formatted as UCloud's Go SDK sends them:
//! every value a string, booleans `true`/`false`, only what the row sets. Signing is the caller's.

use super::{ADD_TO_GROUP, CREATE_USER, LIST_GROUPS, LIST_MEMBERS, REMOVE_FROM_GROUP, UPDATE_USER};
use crate::jobs::{Field, LoginState, LoginStatus};
use crate::providers::{Op, Write};

/// The state columns `UpdateLoginProfile` sets, with their parameter names. Values are the columns'
/// CSV forms (`Active`, `true`, `90`), which are also UCloud's.
const WRITABLE: [(Field, &str); 5] = [
    (Field::LoginStatus, "Status"),
    (Field::Email, "UserEmail"),
    (Field::MaxPasswordAge, "MaxPasswordAge"),
    (Field::MfaBindRequired, "MFABindRequired"),
    (Field::PasswordResetRequired, "PasswordResetRequired"),
];

/// What `CreateUser` takes from the row besides the name, the password and the login's status.
const CREATE_FIELDS: [(Field, &str); 4] = [
    (Field::MfaBindRequired, "MFABindRequired"),
    (Field::PasswordResetRequired, "PasswordResetRequired"),
    (Field::DisplayName, "DisplayName"),
    (Field::Email, "Email"),
];

/// The page size of ListUsers and ListUsersForGroup: the most UCloud returns in one page.
pub const LIST_LIMIT: usize = 100;

type Params = Vec<(String, String)>;

/// The UCloud action of `op` and its own parameters (without `Action`, `PublicKey`, `Signature`).
pub fn params(op: &Op<'_>) -> (&'static str, Params) {
    match *op {
        // A step's API name is its UCloud action.
        Op::Step {
            step,
            user,
            target,
            write,
        } => (step.api, step_params(step.api, user, target, write)),
        // Not a UCloud operation, never asked for by the engine: a read-only request keeps a
        // misrouted op harmless, and `classify` fails it whatever comes back.
        Op::ResolveUser { name } => ("GetLoginProfile", vec![user_name(name)]),
        Op::ListUsers { page } => ("ListUsers", page_params(page.unwrap_or("0"))),
        // Not a UCloud operation either: it lists one page of users, which changes nothing.
        Op::ReadAll | Op::ListMfaDevices { .. } => ("ListUsers", page_params("0")),
    }
}

fn step_params(api: &str, user: &str, target: Option<&str>, write: Option<Write<'_>>) -> Params {
    let group = || pair("GroupName", target.unwrap_or_default());
    match (api, write) {
        (a, Some(write)) if a == CREATE_USER.api => create_user(user, &write),
        (a, Some(write)) if a == UPDATE_USER.api => update_user(user, write.state),
        (a, _) if a == ADD_TO_GROUP.api || a == REMOVE_FROM_GROUP.api => {
            vec![group(), user_name(user)]
        }
        (a, _) if a == LIST_GROUPS.api => Vec::new(),
        // A group's members, read once per account: no user.
        (a, _) if a == LIST_MEMBERS.api => {
            let mut params = vec![group()];
            params.extend(page_params("0"));
            params
        }
        (_, Some(write)) => update_login(user, &write),
        (_, None) => vec![user_name(user)],
    }
}

fn pair(key: &str, value: &str) -> (String, String) {
    (key.to_string(), value.to_string())
}

fn user_name(user: &str) -> (String, String) {
    pair("UserName", user)
}

/// `Limit` and `Offset` (the page cursor is the offset of its first item).
fn page_params(offset: &str) -> Params {
    vec![
        pair("Limit", &LIST_LIMIT.to_string()),
        pair("Offset", offset),
    ]
}

/// The fields of `table` that `state` sets, under their parameter names.
fn fields(state: &LoginState, table: &[(Field, &str)]) -> Params {
    table
        .iter()
        .filter_map(|(field, name)| Some((name.to_string(), state.get(*field)?)))
        .collect()
}

/// `UpdateLoginProfile`: `UserName` and only the columns the write sets, each once.
fn update_login(user: &str, write: &Write<'_>) -> Params {
    let mut params = vec![user_name(user)];
    params.extend(fields(write.state, &WRITABLE));
    if let Some(password) = write.password {
        params.push(pair("Password", password.expose()));
    }
    if write.generate_password {
        params.push(pair("GenerateRandomPassword", "true"));
    }
    params
}

/// `CreateUser` with its console login inside. Its API key is always created inactive (the tool
/// never makes a usable key), so the login must be active, with the password the row gives or the
/// tool generated: never `GenerateRandomPassword`, whose password no reply carries.
fn create_user(user: &str, write: &Write<'_>) -> Params {
    let status = write.state.login_status.unwrap_or(LoginStatus::Active);
    let mut params = vec![
        user_name(user),
        pair("AccessKeyStatus", LoginStatus::Inactive.name()),
        pair("LoginProfileStatus", status.name()),
    ];
    if let Some(password) = write.password {
        params.push(pair("Password", password.expose()));
    }
    params.extend(fields(write.state, &CREATE_FIELDS));
    params
}

/// `UpdateUser`: a new display name, and a freeze (`Frozen`) or an unfreeze (`Active`).
fn update_user(user: &str, state: &LoginState) -> Params {
    let mut params = vec![user_name(user)];
    params.extend(fields(state, &[(Field::DisplayName, "DisplayName")]));
    params.extend(
        state
            .user_enabled
            .map(|on| pair("Status", if on { "Active" } else { "Frozen" })),
    );
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::Step;
    use crate::providers::testing::{params as expected, write};
    use crate::providers::ucloud::{DELETE_USER, GET, GET_USER, SET_STATUS, UPDATE, UPDATE_LOGIN};
    use crate::secret::Secret;

    const PASSWORD: &str = "canary P@ss+w0rd/&=";

    fn sent(
        step: &'static Step,
        target: Option<&str>,
        write: Option<Write<'_>>,
    ) -> (&'static str, Params) {
        params(&Op::Step {
            step,
            user: "alice",
            target,
            write,
        })
    }

    #[test]
    fn create_user_has_an_inactive_key_an_active_login_and_the_row_fields() {
        let state = LoginState {
            mfa_bind_required: Some(true),
            password_reset_required: Some(true),
            display_name: Some("Alice Li".into()),
            email: Some("alice@example.com".into()),
            ..LoginState::default()
        };
        let password = Secret::new(PASSWORD);
        assert_eq!(
            sent(&CREATE_USER, None, Some(write(&state, Some(&password)))),
            (
                "CreateUser",
                expected(&[
                    ("UserName", "alice"),
                    ("AccessKeyStatus", "Inactive"),
                    ("LoginProfileStatus", "Active"),
                    ("Password", PASSWORD),
                    ("MFABindRequired", "true"),
                    ("PasswordResetRequired", "true"),
                    ("DisplayName", "Alice Li"),
                    ("Email", "alice@example.com"),
                ])
            )
        );
    }

    #[test]
    fn create_user_never_asks_ucloud_for_a_password() {
        // Even a write asking for one: no reply would carry it.
        let state = LoginState::default();
        let password = Secret::new(PASSWORD);
        let asked = Write {
            generate_password: true,
            ..write(&state, Some(&password))
        };
        let (_, params) = sent(&CREATE_USER, None, Some(asked));
        assert_eq!(
            params,
            expected(&[
                ("UserName", "alice"),
                ("AccessKeyStatus", "Inactive"),
                ("LoginProfileStatus", "Active"),
                ("Password", PASSWORD),
            ])
        );
    }

    #[test]
    fn update_user_sends_the_display_name_or_the_freeze() {
        let renamed = LoginState {
            display_name: Some("Alice Li".into()),
            ..LoginState::default()
        };
        assert_eq!(
            sent(&UPDATE_USER, None, Some(write(&renamed, None))),
            (
                "UpdateUser",
                expected(&[("UserName", "alice"), ("DisplayName", "Alice Li")])
            )
        );
        for (enabled, status) in [(false, "Frozen"), (true, "Active")] {
            let state = LoginState {
                user_enabled: Some(enabled),
                ..LoginState::default()
            };
            assert_eq!(
                sent(&SET_STATUS, None, Some(write(&state, None))),
                (
                    "UpdateUser",
                    expected(&[("UserName", "alice"), ("Status", status)])
                )
            );
        }
    }

    #[test]
    fn membership_requests_name_the_group_and_the_user() {
        let state = LoginState::default();
        assert_eq!(
            sent(&ADD_TO_GROUP, Some("auditors"), Some(write(&state, None))),
            (
                "AddUserToGroup",
                expected(&[("GroupName", "auditors"), ("UserName", "alice")])
            )
        );
        assert_eq!(
            sent(&REMOVE_FROM_GROUP, Some("auditors"), None),
            (
                "RemoveUserFromGroup",
                expected(&[("GroupName", "auditors"), ("UserName", "alice")])
            )
        );
        // The members of a group, for every row of the account: one large page, no user.
        let members = params(&Op::Step {
            step: &LIST_MEMBERS,
            user: "",
            target: Some("auditors"),
            write: None,
        });
        assert_eq!(
            members,
            (
                "ListUsersForGroup",
                expected(&[("GroupName", "auditors"), ("Limit", "100"), ("Offset", "0")])
            )
        );
    }

    #[test]
    fn reads_and_deletes_name_only_the_user() {
        for (step, action) in [
            (&GET_USER, "GetUser"),
            (&GET, "GetLoginProfile"),
            (&DELETE_USER, "DeleteUser"),
        ] {
            assert_eq!(
                sent(step, None, None),
                (action, expected(&[("UserName", "alice")]))
            );
        }
    }

    #[test]
    fn the_login_of_a_user_is_updated_with_its_email() {
        let state = LoginState {
            login_status: Some(LoginStatus::Inactive),
            email: Some("alice@example.com".into()),
            ..LoginState::default()
        };
        let expect = (
            "UpdateLoginProfile",
            expected(&[
                ("UserName", "alice"),
                ("Status", "Inactive"),
                ("UserEmail", "alice@example.com"),
            ]),
        );
        assert_eq!(sent(&UPDATE_LOGIN, None, Some(write(&state, None))), expect);
        assert_eq!(sent(&UPDATE, None, Some(write(&state, None))), expect);
    }
}
