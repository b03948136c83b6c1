//! Builds IMS 2019-08-15 RPC calls, and the RAM 2015-05-01 calls for what IMS lacks: every
//! parameter, common and operation, goes in a form-encoded POST body signed with V1
//! (docs/providers.md §2.1, §2.2), so no password ever sits in a URL.

use super::sign;
use crate::jobs::LoginState;
use crate::providers::encoding::{iso8601_seconds, push_rfc3986};
use crate::providers::{HttpRequest, Op, Stamp, Write};
use crate::secret::Secret;

const VERSION: &str = "2019-08-15";
/// RAM's version, at its own endpoint: the policies attached to a user, which IMS has no API for.
const RAM_VERSION: &str = "2015-05-01";
/// The API actions sent to RAM 2015-05-01 rather than IMS.
const RAM_ACTIONS: &[&str] = &["ListPoliciesForUser"];

/// The longest display name the IMS CreateUser page allows (the error centre says 128).
const DISPLAY_NAME_MAX: usize = 24;

/// Where an account's calls go (paths included).
#[derive(Debug)]
pub struct Endpoints {
    pub ims: String,
    pub ram: String,
}

/// One account's signing credentials.
#[derive(Debug)]
pub struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: Secret,
    /// STS token, sent as `SecurityToken`.
    pub security_token: Option<Secret>,
}

/// The signed `POST` for `op` to its service's endpoint.
pub fn build(
    endpoints: &Endpoints,
    credentials: &Credentials,
    op: &Op<'_>,
    stamp: &Stamp,
) -> HttpRequest {
    let (action, operation) = operation(op);
    let (url, version) = match RAM_ACTIONS.contains(&action) {
        true => (&endpoints.ram, RAM_VERSION),
        false => (&endpoints.ims, VERSION),
    };
    rpc(url, credentials, version, action, operation, stamp)
}

/// The signed `POST` of any RPC API's `action` (`version` its API version) with its own `operation`
/// parameters.
pub fn rpc(
    url: &str,
    credentials: &Credentials,
    version: &str,
    action: &str,
    operation: Vec<(&'static str, String)>,
    stamp: &Stamp,
) -> HttpRequest {
    let mut params = common(action, version, credentials, stamp);
    params.extend(operation.into_iter().map(|(k, v)| (k.to_string(), v)));
    // The canonical query is already a valid RFC 3986 form body; the signature goes last.
    let mut body = sign::canonical_query(&params);
    let signature = sign::signature(
        credentials.access_key_secret.expose(),
        &sign::canonical_string_to_sign("POST", &body),
    );
    body.push_str("&Signature=");
    push_rfc3986(&mut body, &signature);
    HttpRequest {
        method: reqwest::Method::POST,
        url: url.to_string(),
        headers: vec![
            (
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("Accept".into(), "application/json".into()),
        ],
        body: body.into_bytes(),
    }
}

fn common(
    action: &str,
    version: &str,
    credentials: &Credentials,
    stamp: &Stamp,
) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = [
        ("Action", action),
        ("Version", version),
        ("Format", "JSON"),
        ("AccessKeyId", &credentials.access_key_id),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", &stamp.nonce),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    params.push(("Timestamp".into(), iso8601_seconds(stamp.time)));
    if let Some(token) = &credentials.security_token {
        params.push(("SecurityToken".into(), token.expose().to_string()));
    }
    params
}

/// ListUsers' page size: the largest IMS allows, so a listing costs as few requests as it can.
pub const LIST_PAGE: usize = 1000;

/// ListVirtualMFADevices' page size: the largest it allows.
pub const MFA_PAGE: usize = 100;

/// The API action for `op` and its own parameters: a step's API name is its IMS action.
///
/// `ResolveUser` is never asked of aliyun (the user principal name is the key, so
/// `name_to_resolve` is `None`). Should it be, it reads the login profile: an API the emulator
/// serves, whose answer tells whether the user exists (see `classify`). `ReadAll` is not an IMS
/// operation either (its `Listing` reads per user): it lists, which changes nothing, and
/// `classify` fails it.
fn operation(op: &Op<'_>) -> (&'static str, Vec<(&'static str, String)>) {
    match *op {
        Op::Step {
            step,
            user,
            target,
            write,
        } => (step.api, step_params(step.api, user, target, write)),
        Op::ResolveUser { name } => ("GetLoginProfile", upn(name)),
        Op::ListUsers { page } => {
            let mut params = vec![("MaxItems", LIST_PAGE.to_string())];
            params.extend(page.map(|marker| ("Marker", marker.to_string())));
            ("ListUsers", params)
        }
        Op::ReadAll => ("ListUsers", vec![("MaxItems", LIST_PAGE.to_string())]),
        Op::ListMfaDevices { page } => {
            let mut params = vec![("MaxItems", MFA_PAGE.to_string())];
            params.extend(page.map(|marker| ("Marker", marker.to_string())));
            ("ListVirtualMFADevices", params)
        }
    }
}

/// The parameters of a step's API action. `target` names the group (`AddUserToGroup`,
/// `RemoveUserFromGroup`) or the access key (`UpdateAccessKey`, `DeleteAccessKey`).
fn step_params(
    api: &str,
    user: &str,
    target: Option<&str>,
    write: Option<Write<'_>>,
) -> Vec<(&'static str, String)> {
    let target = target.unwrap_or_default().to_string();
    let state = write.map_or(&LoginState::NONE, |w| w.state);
    let mut params = match api {
        "GetDefaultDomain" => return Vec::new(),
        // RAM 2015 names users by their short name, unique in the account.
        "ListPoliciesForUser" => return vec![("UserName", short_name(user).to_string())],
        "AddUserToGroup" | "RemoveUserFromGroup" => vec![("GroupName", target)],
        "DeleteAccessKey" => vec![("UserAccessKeyId", target)],
        "UpdateAccessKey" => {
            let mut params = vec![("UserAccessKeyId", target)];
            params.extend(
                state
                    .user_enabled
                    .map(|on| ("Status", key_status(on).into())),
            );
            params
        }
        "CreateUser" => {
            // IMS requires a display name: the user's short name when the row gives none, cut
            // to the shortest limit Alibaba documents for it.
            let display_name = (state.display_name.clone())
                .or_else(|| Some(short_name(user).chars().take(DISPLAY_NAME_MAX).collect()));
            let state = LoginState {
                display_name,
                ..state.clone()
            };
            own_fields(&state, &["DisplayName", "Email", "MobilePhone", "Comments"])
        }
        "UpdateUser" => own_fields(
            state,
            &[
                "NewDisplayName",
                "NewEmail",
                "NewMobilePhone",
                "NewComments",
            ],
        ),
        _ => match write {
            Some(write) => login_fields(&write),
            None => Vec::new(),
        },
    };
    params.extend(upn(user));
    params
}

/// The user's own fields the state sets, under `names` (display name, email, mobile phone,
/// comments, in that order).
fn own_fields(state: &LoginState, names: &[&'static str; 4]) -> Vec<(&'static str, String)> {
    [
        &state.display_name,
        &state.email,
        &state.mobile_phone,
        &state.comments,
    ]
    .into_iter()
    .zip(names)
    .filter_map(|(value, name)| Some((*name, value.clone()?)))
    .collect()
}

/// `Active` or `Inactive`: an access key's status.
fn key_status(enabled: bool) -> &'static str {
    match enabled {
        true => "Active",
        false => "Inactive",
    }
}

/// The name before `@`: RAM 2015's `UserName`.
fn short_name(user: &str) -> &str {
    user.split_once('@').map_or(user, |(name, _)| name)
}

fn upn(user: &str) -> Vec<(&'static str, String)> {
    vec![("UserPrincipalName", user.to_string())]
}

/// Only the login fields the write sets. `generate_password` is ucloud's: for aliyun the engine
/// generates the password and passes it in `password`.
fn login_fields(write: &Write<'_>) -> Vec<(&'static str, String)> {
    let LoginState {
        login_status,
        mfa_bind_required,
        password_reset_required,
        ..
    } = write.state;
    let mut params = Vec::new();
    params.extend(write.password.map(|p| ("Password", p.expose().to_string())));
    params.extend(login_status.map(|s| ("Status", s.name().to_string())));
    params.extend(mfa_bind_required.map(|b| ("MFABindRequired", b.to_string())));
    params.extend(password_reset_required.map(|b| ("PasswordResetRequired", b.to_string())));
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::LoginStatus;
    use crate::providers::aliyun::{
        ADD_TO_GROUP, CREATE, CREATE_USER, DEACTIVATE_KEY, DEFAULT_DOMAIN, DELETE, DELETE_KEY,
        DELETE_USER, GET, GET_USER, LIST_GROUPS, LIST_KEYS, LIST_POLICIES, REMOVE_FROM_GROUP,
        UNBIND_MFA, UPDATE, UPDATE_USER,
    };
    use crate::providers::declare::Step;
    use time::macros::datetime;

    const PASSWORD: &str = "canary P@ss+w0rd/&=";

    fn credentials(token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: "testid".into(),
            access_key_secret: Secret::new("testsecret"),
            security_token: token.map(Secret::new),
        }
    }

    fn stamp() -> Stamp {
        Stamp {
            time: datetime!(2024-05-06 07:08:09.5 UTC),
            nonce: "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf".into(),
        }
    }

    fn endpoints() -> Endpoints {
        Endpoints {
            ims: "https://ims.aliyuncs.com/".into(),
            ram: "https://ram.aliyuncs.com/".into(),
        }
    }

    fn sent(op: &Op<'_>, token: Option<&str>) -> (HttpRequest, String) {
        let request = build(&endpoints(), &credentials(token), op, &stamp());
        let body = String::from_utf8(request.body.clone()).unwrap();
        (request, body)
    }

    /// Decodes the form body and checks its `Signature` against one computed afresh by `sign`.
    fn assert_signed(body: &str, secret: &str) -> Vec<(String, String)> {
        let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let sent: Vec<&str> = params
            .iter()
            .filter(|(k, _)| k == "Signature")
            .map(|(_, v)| v.as_str())
            .collect();
        let expected = sign::signature(secret, &sign::string_to_sign("POST", &params));
        assert_eq!(sent, vec![expected.as_str()]);
        params
    }

    /// Expected bodies, signatures computed independently (Python `hmac`/`hashlib`/`base64` over
    /// the same string to sign); the lines are joined without separators.
    fn expected(lines: &[&str]) -> String {
        lines.concat()
    }

    #[test]
    fn read_is_a_signed_form_post_to_the_endpoint() {
        let (request, body) = sent(
            &Op::Step {
                target: None,
                step: &GET,
                user: "alice@example.onaliyun.com",
                write: None,
            },
            None,
        );
        assert_eq!(request.method, reqwest::Method::POST);
        assert_eq!(request.url, "https://ims.aliyuncs.com/");
        assert!(request.headers.contains(&(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into()
        )));
        assert_eq!(
            body,
            expected(&[
                "AccessKeyId=testid&Action=GetLoginProfile&Format=JSON&SignatureMethod=HMAC-SHA1",
                "&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0",
                "&Timestamp=2024-05-06T07%3A08%3A09Z&UserPrincipalName=alice%40example.onaliyun.com",
                "&Version=2019-08-15&Signature=fm4kRQB4gjiE9i995LVRXaZ4ch0%3D",
            ])
        );
        assert_signed(&body, "testsecret");
    }

    #[test]
    fn create_sends_the_password_only_in_the_body_and_only_set_fields() {
        let state = LoginState {
            login_status: Some(LoginStatus::Active),
            mfa_bind_required: Some(true),
            password_reset_required: Some(false),
            max_password_age: Some(90),
            ..Default::default()
        };
        let password = Secret::new(PASSWORD);
        let write = Write {
            state: &state,
            password: Some(&password),
            generate_password: false,
        };
        let op = Op::Step {
            target: None,
            step: &CREATE,
            user: "alice@example.onaliyun.com",
            write: Some(write),
        };
        let (request, body) = sent(&op, None);
        assert_eq!(request.url, "https://ims.aliyuncs.com/");
        assert!(request.headers.iter().all(|(_, v)| !v.contains("canary")));
        assert_eq!(
            body,
            expected(&[
                "AccessKeyId=testid&Action=CreateLoginProfile&Format=JSON&MFABindRequired=true",
                "&Password=canary%20P%40ss%2Bw0rd%2F%26%3D&PasswordResetRequired=false",
                "&SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
                "&SignatureVersion=1.0&Status=Active&Timestamp=2024-05-06T07%3A08%3A09Z",
                "&UserPrincipalName=alice%40example.onaliyun.com&Version=2019-08-15",
                "&Signature=gvyd%2BdZ00DTjlYnjuz%2FLLceEJcU%3D",
            ])
        );
        let params = assert_signed(&body, "testsecret");
        assert!(params.contains(&("Password".into(), PASSWORD.into())));
    }

    #[test]
    fn update_sends_exactly_the_fields_the_write_sets() {
        let state = LoginState {
            mfa_bind_required: Some(true),
            ..Default::default()
        };
        let write = Write {
            state: &state,
            password: None,
            generate_password: true,
        };
        let op = Op::Step {
            target: None,
            step: &UPDATE,
            user: "bob@example.onaliyun.com",
            write: Some(write),
        };
        let (_, body) = sent(&op, None);
        assert_eq!(
            body,
            expected(&[
                "AccessKeyId=testid&Action=UpdateLoginProfile&Format=JSON&MFABindRequired=true",
                "&SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
                "&SignatureVersion=1.0&Timestamp=2024-05-06T07%3A08%3A09Z",
                "&UserPrincipalName=bob%40example.onaliyun.com&Version=2019-08-15",
                "&Signature=X24pNT%2BDmnVQZHZuExZp2jlcPnE%3D",
            ])
        );
        assert_signed(&body, "testsecret");
    }

    #[test]
    fn delete_and_the_security_token_are_signed() {
        let op = Op::Step {
            target: None,
            step: &DELETE,
            user: "carol@example.onaliyun.com",
            write: None,
        };
        let (_, body) = sent(&op, Some("sts/token+=="));
        assert_eq!(
            body,
            expected(&[
                "AccessKeyId=testid&Action=DeleteLoginProfile&Format=JSON",
                "&SecurityToken=sts%2Ftoken%2B%3D%3D&SignatureMethod=HMAC-SHA1",
                "&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0",
                "&Timestamp=2024-05-06T07%3A08%3A09Z&UserPrincipalName=carol%40example.onaliyun.com",
                "&Version=2019-08-15&Signature=e2qo0CfyW0UDuvJxIuMGUAFkeSc%3D",
            ])
        );
        let params = assert_signed(&body, "testsecret");
        assert!(params.contains(&("SecurityToken".into(), "sts/token+==".into())));
    }

    #[test]
    fn resolve_user_reads_the_login_profile() {
        let (_, body) = sent(
            &Op::ResolveUser {
                name: "dave@example.onaliyun.com",
            },
            None,
        );
        assert!(body.contains("Action=GetLoginProfile&"));
        assert!(body.contains("&UserPrincipalName=dave%40example.onaliyun.com&"));
        assert_signed(&body, "testsecret");
    }

    #[test]
    fn list_users_asks_for_the_largest_page_and_passes_the_marker_back() {
        let (_, first) = sent(&Op::ListUsers { page: None }, None);
        assert_eq!(
            first,
            expected(&[
                "AccessKeyId=testid&Action=ListUsers&Format=JSON&MaxItems=1000",
                "&SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
                "&SignatureVersion=1.0&Timestamp=2024-05-06T07%3A08%3A09Z&Version=2019-08-15",
                "&Signature=oumhf%2FSyExtrCm0f0GWsKd%2F%2BAJE%3D",
            ])
        );
        let (_, next) = sent(
            &Op::ListUsers {
                page: Some("YWxpY2VAZXhhbXBsZS5vbmFsaXl1bi5jb20="),
            },
            None,
        );
        let params = assert_signed(&next, "testsecret");
        assert!(params.contains(&(
            "Marker".into(),
            "YWxpY2VAZXhhbXBsZS5vbmFsaXl1bi5jb20=".into()
        )));
        assert!(params.contains(&("MaxItems".into(), "1000".into())));
        assert!(!params.iter().any(|(k, _)| k == "UserPrincipalName"));
    }

    #[test]
    fn mfa_reads_name_the_user_and_page_the_device_list() {
        let (_, info) = sent(
            &Op::Step {
                target: None,
                step: &crate::providers::aliyun::MFA_INFO,
                user: "dave@example.onaliyun.com",
                write: None,
            },
            None,
        );
        let params = assert_signed(&info, "testsecret");
        assert!(params.contains(&("Action".into(), "GetUserMFAInfo".into())));
        assert!(params.contains(&(
            "UserPrincipalName".into(),
            "dave@example.onaliyun.com".into()
        )));
        let (_, list) = sent(&Op::ListMfaDevices { page: Some("bQ==") }, None);
        let params = assert_signed(&list, "testsecret");
        assert!(params.contains(&("Action".into(), "ListVirtualMFADevices".into())));
        assert!(params.contains(&("MaxItems".into(), "100".into())));
        assert!(params.contains(&("Marker".into(), "bQ==".into())));
    }

    #[test]
    fn a_fresh_stamp_changes_the_signature() {
        let op = Op::Step {
            target: None,
            step: &GET,
            user: "alice@example.onaliyun.com",
            write: None,
        };
        let creds = credentials(None);
        let one = build(&endpoints(), &creds, &op, &stamp());
        let mut other = stamp();
        other.nonce = "another-nonce".into();
        let two = build(&endpoints(), &creds, &op, &other);
        assert_ne!(one.body, two.body);
    }

    #[test]
    fn credentials_debug_hides_secrets() {
        let shown = format!("{:?}", credentials(Some("canary-token")));
        assert!(shown.contains("testid"));
        assert!(!shown.contains("testsecret") && !shown.contains("canary"));
    }

    const ANN: &str = "ann.li@corp.onaliyun.com";

    /// The signed request of `step` for Ann, and its operation's own parameters (the common ones
    /// left out), sorted.
    fn step_sent(
        step: &'static Step,
        target: Option<&str>,
        state: Option<&LoginState>,
    ) -> (HttpRequest, Vec<(String, String)>) {
        let op = Op::Step {
            step,
            user: ANN,
            target,
            write: state.map(|state| Write {
                state,
                password: None,
                generate_password: false,
            }),
        };
        let (request, body) = sent(&op, None);
        let common = [
            "AccessKeyId",
            "Format",
            "SignatureMethod",
            "SignatureNonce",
            "SignatureVersion",
            "Timestamp",
            "Signature",
        ];
        let mut own: Vec<(String, String)> = assert_signed(&body, "testsecret")
            .into_iter()
            .filter(|(k, _)| !common.contains(&k.as_str()))
            .collect();
        own.sort();
        (request, own)
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn create_user_sends_the_user_fields_the_row_gives() {
        let state = LoginState {
            display_name: Some("Ann Li".into()),
            email: Some("ann@example.com".into()),
            mobile_phone: Some("86-18688880000".into()),
            comments: Some("Finance, 2nd floor".into()),
            ..Default::default()
        };
        let write = Write {
            state: &state,
            password: None,
            generate_password: false,
        };
        let op = Op::Step {
            target: None,
            step: &CREATE_USER,
            user: ANN,
            write: Some(write),
        };
        let (request, body) = sent(&op, None);
        assert_eq!(request.url, "https://ims.aliyuncs.com/");
        assert_eq!(
            body,
            expected(&[
                "AccessKeyId=testid&Action=CreateUser&Comments=Finance%2C%202nd%20floor",
                "&DisplayName=Ann%20Li&Email=ann%40example.com&Format=JSON",
                "&MobilePhone=86-18688880000&SignatureMethod=HMAC-SHA1",
                "&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0",
                "&Timestamp=2024-05-06T07%3A08%3A09Z&UserPrincipalName=ann.li%40corp.onaliyun.com",
                "&Version=2019-08-15&Signature=cG1y5cmfqD3p9KRv3Jc%2Bli4la8A%3D",
            ])
        );
        assert_signed(&body, "testsecret");
    }

    #[test]
    fn create_user_without_a_display_name_uses_the_short_name() {
        let state = LoginState {
            email: Some("ann@example.com".into()),
            ..Default::default()
        };
        let (_, own) = step_sent(&CREATE_USER, None, Some(&state));
        let long = Op::Step {
            step: &CREATE_USER,
            user: "a.very.long.name.of.thirty-two.c@corp.onaliyun.com",
            target: None,
            write: Some(Write {
                state: &LoginState::NONE,
                password: None,
                generate_password: false,
            }),
        };
        let params = assert_signed(&sent(&long, None).1, "testsecret");
        assert!(params.contains(&("DisplayName".into(), "a.very.long.name.of.thir".into())));
        assert_eq!(
            own,
            pairs(&[
                ("Action", "CreateUser"),
                ("DisplayName", "ann.li"),
                ("Email", "ann@example.com"),
                ("UserPrincipalName", ANN),
                ("Version", "2019-08-15"),
            ])
        );
    }

    #[test]
    fn update_user_sends_only_the_new_values_the_write_carries() {
        let state = LoginState {
            email: Some("ann.li@example.com".into()),
            comments: Some("moved to audit".into()),
            // Not the user's own: never sent by UpdateUser.
            mfa_bind_required: Some(true),
            ..Default::default()
        };
        let (_, own) = step_sent(&UPDATE_USER, None, Some(&state));
        assert_eq!(
            own,
            pairs(&[
                ("Action", "UpdateUser"),
                ("NewComments", "moved to audit"),
                ("NewEmail", "ann.li@example.com"),
                ("UserPrincipalName", ANN),
                ("Version", "2019-08-15"),
            ])
        );
        let state = LoginState {
            display_name: Some("Ann".into()),
            mobile_phone: Some("86-13800000000".into()),
            ..Default::default()
        };
        let (_, own) = step_sent(&UPDATE_USER, None, Some(&state));
        assert_eq!(
            own,
            pairs(&[
                ("Action", "UpdateUser"),
                ("NewDisplayName", "Ann"),
                ("NewMobilePhone", "86-13800000000"),
                ("UserPrincipalName", ANN),
                ("Version", "2019-08-15"),
            ])
        );
    }

    #[test]
    fn reads_and_deletes_of_the_user_name_it_by_its_principal_name() {
        for step in [
            &GET_USER,
            &DELETE_USER,
            &LIST_GROUPS,
            &LIST_KEYS,
            &UNBIND_MFA,
        ] {
            let (request, own) = step_sent(step, None, None);
            assert_eq!(request.url, "https://ims.aliyuncs.com/");
            assert_eq!(
                own,
                pairs(&[
                    ("Action", step.api),
                    ("UserPrincipalName", ANN),
                    ("Version", "2019-08-15"),
                ]),
                "{}",
                step.api
            );
        }
    }

    #[test]
    fn group_steps_name_the_group_they_are_sent_for() {
        for step in [&ADD_TO_GROUP, &REMOVE_FROM_GROUP] {
            let (_, own) = step_sent(step, Some("finance"), None);
            assert_eq!(
                own,
                pairs(&[
                    ("Action", step.api),
                    ("GroupName", "finance"),
                    ("UserPrincipalName", ANN),
                    ("Version", "2019-08-15"),
                ])
            );
        }
    }

    #[test]
    fn key_steps_name_the_key_and_deactivate_it() {
        let disabled = LoginState {
            user_enabled: Some(false),
            ..Default::default()
        };
        let (_, own) = step_sent(&DEACTIVATE_KEY, Some("LTAI5tKey1"), Some(&disabled));
        assert_eq!(
            own,
            pairs(&[
                ("Action", "UpdateAccessKey"),
                ("Status", "Inactive"),
                ("UserAccessKeyId", "LTAI5tKey1"),
                ("UserPrincipalName", ANN),
                ("Version", "2019-08-15"),
            ])
        );
        let enabled = LoginState {
            user_enabled: Some(true),
            ..Default::default()
        };
        let (_, own) = step_sent(&DEACTIVATE_KEY, Some("LTAI5tKey1"), Some(&enabled));
        assert!(own.contains(&("Status".into(), "Active".into())));
        let (_, own) = step_sent(&DELETE_KEY, Some("LTAI5tKey2"), None);
        assert_eq!(
            own,
            pairs(&[
                ("Action", "DeleteAccessKey"),
                ("UserAccessKeyId", "LTAI5tKey2"),
                ("UserPrincipalName", ANN),
                ("Version", "2019-08-15"),
            ])
        );
    }

    #[test]
    fn the_default_domain_takes_no_parameters() {
        let op = Op::Step {
            step: &DEFAULT_DOMAIN,
            user: "",
            target: None,
            write: None,
        };
        let (request, body) = sent(&op, None);
        assert_eq!(request.url, "https://ims.aliyuncs.com/");
        let params = assert_signed(&body, "testsecret");
        let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "AccessKeyId",
                "Action",
                "Format",
                "SignatureMethod",
                "SignatureNonce",
                "SignatureVersion",
                "Timestamp",
                "Version",
                "Signature"
            ]
        );
        assert!(params.contains(&("Action".into(), "GetDefaultDomain".into())));
    }

    #[test]
    fn policies_are_asked_of_ram_2015_by_the_short_user_name() {
        let op = Op::Step {
            step: &LIST_POLICIES,
            user: ANN,
            target: None,
            write: None,
        };
        let (request, body) = sent(&op, None);
        assert_eq!(request.url, "https://ram.aliyuncs.com/");
        assert_eq!(
            body,
            expected(&[
                "AccessKeyId=testid&Action=ListPoliciesForUser&Format=JSON",
                "&SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
                "&SignatureVersion=1.0&Timestamp=2024-05-06T07%3A08%3A09Z&UserName=ann.li",
                "&Version=2015-05-01&Signature=CyYUwQJuJQMhmRQT5ZTqsjCWjaE%3D",
            ])
        );
    }
}
