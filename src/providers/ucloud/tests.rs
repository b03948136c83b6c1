//! The UCloud provider's requests and settings. Expected signatures were computed independently
//! (`printf '%s' "<string to sign><private key>" | sha1sum`).

use super::*;
use crate::jobs::LoginStatus;
use crate::providers::testing::keys;
use crate::providers::{Keys, Write, provider};
use time::macros::datetime;

const PUBLIC_KEY: &str = "ucloudsomeone@example.com1296235120854146120";
const PRIVATE_KEY: &str = "46f09bb9fab4f12dfc160dae12273d5332b5debe";

fn connect_to(endpoint: &str, keys: &Keys) -> Result<Arc<dyn Api>, ConnectError> {
    let endpoint = url::Url::parse(endpoint).unwrap();
    Ucloud.connect(&AccountSpec {
        name: "ops",
        endpoint: &endpoint,
        keys,
        services: &Default::default(),
    })
}

fn api() -> Arc<dyn Api> {
    let keys = keys(&[("public_key", PUBLIC_KEY), ("private_key", PRIVATE_KEY)]);
    connect_to("https://api.ucloud.cn", &keys).unwrap()
}

fn stamp() -> Stamp {
    Stamp {
        time: datetime!(2024-05-06 07:08:09 UTC),
        nonce: "00000000-0000-4000-8000-000000000000".into(),
    }
}

fn job(action: Action, desired: LoginState) -> Job {
    Job {
        index: 0,
        line: 2,
        provider: ProviderKind::Ucloud,
        account: String::new(),
        action,
        user: "alice".into(),
        user_name: None,
        desired,
        password: None,
        generate_password: false,
    }
}

fn body_of(req: &HttpRequest) -> String {
    String::from_utf8(req.body.clone()).unwrap()
}

/// What a request says, and that its `Signature` is the one of the rest of its decoded body.
fn assert_well_signed(req: &HttpRequest) {
    assert_eq!(req.method, reqwest::Method::POST);
    assert_eq!(req.url, "https://api.ucloud.cn/");
    assert_eq!(
        req.headers,
        vec![(
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string()
        )]
    );
    let params: Vec<(String, String)> = form_urlencoded::parse(&req.body).into_owned().collect();
    let sent: Vec<&String> = params
        .iter()
        .filter(|(k, _)| k == "Signature")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(sent, vec![&sign::sign(&params, PRIVATE_KEY)]);
    let mut names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    names.dedup();
    assert_eq!(names.len(), params.len(), "a parameter is sent twice");
}

#[test]
fn update_sends_exactly_the_set_columns_in_a_signed_form_body() {
    let state = LoginState {
        login_status: Some(LoginStatus::Active),
        email: Some("alice@example.com".into()),
        max_password_age: Some(90),
        mfa_bind_required: Some(true),
        password_reset_required: Some(false),
        ..Default::default()
    };
    let password = Secret::new("Pa ss+w0rd&x");
    let op = Op::Step {
        target: None,
        step: &UPDATE,
        user: "alice",
        write: Some(Write {
            state: &state,
            password: Some(&password),
            generate_password: false,
        }),
    };
    let req = api().build(&op, &stamp(), None);
    assert_eq!(
        body_of(&req),
        "Action=UpdateLoginProfile&MFABindRequired=true&MaxPasswordAge=90&Password=Pa+ss%2Bw0rd%26x\
         &PasswordResetRequired=false&PublicKey=ucloudsomeone%40example.com1296235120854146120\
         &Signature=8db9fb2a24a9d64c504594ad3630264979634fec&Status=Active\
         &UserEmail=alice%40example.com&UserName=alice"
    );
    assert_well_signed(&req);
    assert!(
        !req.url.contains("w0rd"),
        "the password must not be in the URL"
    );
}

#[test]
fn update_asks_ucloud_to_generate_the_password() {
    let state = LoginState {
        password_reset_required: Some(true),
        ..Default::default()
    };
    let op = Op::Step {
        target: None,
        step: &UPDATE,
        user: "dave",
        write: Some(Write {
            state: &state,
            password: None,
            generate_password: true,
        }),
    };
    let req = api().build(&op, &stamp(), None);
    assert_eq!(
        body_of(&req),
        "Action=UpdateLoginProfile&GenerateRandomPassword=true&PasswordResetRequired=true\
         &PublicKey=ucloudsomeone%40example.com1296235120854146120\
         &Signature=0e918ad181030707669ddf9d6327f209840b403f&UserName=dave"
    );
    assert_well_signed(&req);
}

#[test]
fn enforce_mfa_sends_only_mfa_bind_required() {
    // The row's other columns are carried through, not sent: the engine writes `mfa_state`.
    let row = job(
        Action::EnforceMfa,
        LoginState {
            login_status: Some(LoginStatus::Inactive),
            max_password_age: Some(30),
            ..Default::default()
        },
    );
    let state = Ucloud.mfa_state(&row);
    assert_eq!(
        state,
        LoginState {
            mfa_bind_required: Some(true),
            ..Default::default()
        }
    );
    let op = Op::Step {
        target: None,
        step: &UPDATE,
        user: "bob",
        write: Some(Write {
            state: &state,
            password: None,
            generate_password: false,
        }),
    };
    let req = api().build(&op, &stamp(), None);
    assert_eq!(
        body_of(&req),
        "Action=UpdateLoginProfile&MFABindRequired=true\
         &PublicKey=ucloudsomeone%40example.com1296235120854146120\
         &Signature=c243255dc05ed2d9f2010ecda596dbadaa9946de&UserName=bob"
    );
    assert_well_signed(&req);
}

#[test]
fn read_is_get_login_profile_of_the_user() {
    let req = api().build(
        &Op::Step {
            target: None,
            step: &GET,
            user: "carol",
            write: None,
        },
        &stamp(),
        None,
    );
    assert_eq!(
        body_of(&req),
        "Action=GetLoginProfile&PublicKey=ucloudsomeone%40example.com1296235120854146120\
         &Signature=d8f6898fc86e1c21f46f22a9c3a1191fcbf30515&UserName=carol"
    );
    assert_well_signed(&req);
}

#[test]
fn list_users_pages_by_offset_a_hundred_at_a_time() {
    let first = api().build(&Op::ListUsers { page: None }, &stamp(), None);
    assert_eq!(
        body_of(&first),
        "Action=ListUsers&Limit=100&Offset=0\
         &PublicKey=ucloudsomeone%40example.com1296235120854146120\
         &Signature=34553198b9700bce62985a67373fddfd9e5ade7f"
    );
    assert_well_signed(&first);
    let later = api().build(&Op::ListUsers { page: Some("200") }, &stamp(), None);
    assert_eq!(
        body_of(&later),
        "Action=ListUsers&Limit=100&Offset=200\
         &PublicKey=ucloudsomeone%40example.com1296235120854146120\
         &Signature=e9599d74151e58061935f71af70d8e208dad7e1c"
    );
    assert_well_signed(&later);
}

#[test]
fn listing_reads_every_user_then_email_from_the_list() {
    let listing = Ucloud.spec().listing;
    assert!(!listing.bulk_state && !listing.user_name);
    assert_eq!(listing.info, &["display_name", "create_date"]);
    assert!(listing.fields.contains(&Field::Email));
    assert!(listing.fields.contains(&Field::PasswordResetRequired));
}

#[test]
fn signing_ignores_the_stamp() {
    let op = Op::Step {
        target: None,
        step: &GET,
        user: "carol",
        write: None,
    };
    let later = Stamp {
        time: datetime!(2030-01-01 00:00:00 UTC),
        nonce: "other".into(),
    };
    assert_eq!(
        api().build(&op, &stamp(), None).body,
        api().build(&op, &later, None).body
    );
}

#[test]
fn resolving_a_name_ucloud_lacks_builds_a_read_only_request() {
    let req = api().build(&Op::ResolveUser { name: "carol" }, &stamp(), None);
    assert_eq!(
        body_of(&req),
        body_of(&api().build(
            &Op::Step {
                target: None,
                step: &GET,
                user: "carol",
                write: None
            },
            &stamp(),
            None
        ))
    );
}

#[test]
fn endpoint_gets_one_trailing_slash() {
    let keys = keys(&[("public_key", PUBLIC_KEY), ("private_key", PRIVATE_KEY)]);
    for (endpoint, url) in [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/"),
        (
            "http://127.0.0.1:8080/ucloud",
            "http://127.0.0.1:8080/ucloud/",
        ),
    ] {
        let api = connect_to(endpoint, &keys).unwrap();
        assert_eq!(
            api.build(
                &Op::Step {
                    target: None,
                    step: &GET,
                    user: "a",
                    write: None
                },
                &stamp(),
                None
            )
            .url,
            url
        );
    }
}

#[test]
fn connect_names_the_missing_key_and_where_to_set_it() {
    for (given, missing, env) in [
        (
            vec![("private_key", PRIVATE_KEY)],
            "public_key",
            "UCLOUD_PUBLIC_KEY",
        ),
        (
            vec![("public_key", PUBLIC_KEY)],
            "private_key",
            "UCLOUD_PRIVATE_KEY",
        ),
        (
            vec![("public_key", PUBLIC_KEY), ("private_key", "")],
            "private_key",
            "UCLOUD_PRIVATE_KEY",
        ),
    ] {
        let err = connect_to("https://api.ucloud.cn", &keys(&given))
            .err()
            .expect("connect must fail");
        let ConnectError::Missing { account, key, hint } = &err else {
            panic!("expected Missing, got {err:?}");
        };
        assert_eq!((account.as_str(), key.as_str()), ("ops", missing));
        assert!(hint.contains(env), "{hint}");
        assert!(hint.contains(&format!("{missing}_env")), "{hint}");
        assert!(!err.to_string().contains(PRIVATE_KEY));
    }
}

#[test]
fn static_facts() {
    assert_eq!(
        provider(ProviderKind::Ucloud).spec().kind,
        ProviderKind::Ucloud
    );
    let actions: Vec<Action> = Ucloud.spec().actions.iter().map(|s| s.action).collect();
    assert_eq!(
        actions,
        [
            Action::UpdateLoginProfile,
            Action::GetLoginProfile,
            Action::EnforceMfa,
            Action::CreateUser,
            Action::EnsureUser,
            Action::AddToGroup,
            Action::RemoveFromGroup,
            Action::DisableUser,
            Action::EnableUser,
            Action::DeleteUser,
            Action::GetUser,
        ]
    );
    assert_eq!(
        Ucloud.spec().readable,
        &[
            Field::DisplayName,
            Field::Email,
            Field::UserEnabled,
            Field::LoginStatus,
            Field::MfaBindRequired,
            Field::MaxPasswordAge,
            Field::Groups,
        ]
    );
    // The login actions observe only what GetLoginProfile returns.
    let get = Ucloud.spec().action(Action::GetLoginProfile).unwrap();
    assert_eq!(
        get.reads,
        &[
            Field::LoginStatus,
            Field::MfaBindRequired,
            Field::MaxPasswordAge
        ]
    );
    assert_eq!(
        Ucloud.default_endpoint(Some("cn-bj2")).as_deref(),
        Some("https://api.ucloud.cn")
    );
    assert_eq!(Ucloud.spec().secret_keys, &["private_key"]);
    // The emulator's credentials connect.
    let emulator: Vec<(&str, &str)> = Ucloud.spec().emulator_keys.to_vec();
    assert!(connect_to("http://127.0.0.1:1", &keys(&emulator)).is_ok());
}

mod users;
