//! Which users become rows, and what the rows say.

use super::*;
use crate::cli::{Cli, Command};
use crate::jobs::{LoginStatus, VerificationMethod};
use clap::Parser;

fn args(extra: &[&str]) -> ExportArgs {
    let mut argv = vec!["iambatch", "export", "x", "-o", "out.csv"];
    argv.extend(extra);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Export(args) => args,
        _ => panic!("export"),
    }
}

fn shape(kind: ProviderKind, account: &str, extra: &[&str]) -> Result<Shape, UsageError> {
    Shape::new(&(kind, account.to_string()), &args(extra))
}

fn aliyun_user() -> ListedUser {
    ListedUser {
        user: "alice@corp.onaliyun.com".into(),
        info: vec![
            ("display_name", "=HYPERLINK(\"x\")".into()),
            ("create_date", "2024-01-02T03:04:05Z".into()),
        ],
        ..ListedUser::default()
    }
}

fn profile(mfa: bool) -> Observed {
    Observed {
        exists: true,
        state: LoginState {
            login_status: Some(LoginStatus::Inactive),
            mfa_bind_required: Some(mfa),
            password_reset_required: Some(false),
            ..LoginState::default()
        },
        extra: vec![("update_date", "2024-05-06T00:00:00Z".into())],
        created: None,
    }
}

#[test]
fn aliyun_rows_carry_the_profile_and_the_list_info() {
    let s = shape(ProviderKind::Aliyun, "", &[]).unwrap();
    assert_eq!(
        s.headers(),
        [
            "provider",
            "account",
            "user",
            "login_status",
            "mfa_bind_required",
            "password_reset_required",
            "mfa_bound",
            "mfa_type",
            "display_name",
            "create_date",
            "last_login_date"
        ]
    );
    assert_eq!(
        s.row(&aliyun_user(), &profile(false), None).unwrap(),
        [
            "aliyun",
            "",
            "alice@corp.onaliyun.com",
            "Inactive",
            "false",
            "false",
            "",
            "",
            "'=HYPERLINK(\"x\")",
            "2024-01-02T03:04:05Z",
            ""
        ]
    );
    // No console login: left out, or kept with empty state under --all-users.
    assert_eq!(
        s.row(&aliyun_user(), &Observed::default(), None),
        Err(LeftOut::NoConsole)
    );
    let all = shape(ProviderKind::Aliyun, "hq", &["--all-users"]).unwrap();
    assert_eq!(all.headers().last(), Some(&"has_login_profile"));
    let row = all.row(&aliyun_user(), &Observed::default(), None).unwrap();
    assert_eq!(row[1], "hq");
    assert_eq!(&row[3..6], ["", "", ""]);
    assert_eq!(row.last().unwrap(), "false");
    assert_eq!(
        all.row(&aliyun_user(), &profile(true), None)
            .unwrap()
            .last()
            .unwrap(),
        "true"
    );
}

#[test]
fn missing_mfa_keeps_profiles_without_mfa_active_or_not() {
    let s = shape(ProviderKind::Aliyun, "", &["--missing-mfa"]).unwrap();
    assert!(s.row(&aliyun_user(), &profile(false), None).is_ok());
    assert_eq!(
        s.row(&aliyun_user(), &profile(true), None),
        Err(LeftOut::HasMfa)
    );
    // A profile whose MFA setting the provider did not say does not require it.
    let mut unknown = profile(false);
    unknown.state.mfa_bind_required = None;
    assert!(s.row(&aliyun_user(), &unknown, None).is_ok());
}

fn bound(kind: Option<&str>) -> MfaBinding {
    MfaBinding {
        bound: true,
        kind: kind.map(str::to_string),
    }
}

#[test]
fn mfa_columns_say_bound_and_the_type_only_when_bound() {
    let s = shape(ProviderKind::Aliyun, "", &[]).unwrap();
    let row = |mfa: Option<&MfaBinding>| s.row(&aliyun_user(), &profile(true), mfa).unwrap();
    assert_eq!(&row(Some(&bound(Some("U2F"))))[6..8], ["true", "U2F"]);
    assert_eq!(&row(Some(&MfaBinding::default()))[6..8], ["false", ""]);
    // Not known: empty, not false.
    assert_eq!(&row(None)[6..8], ["", ""]);
}

#[test]
fn mfa_unbound_keeps_console_users_without_a_device_whether_required_or_not() {
    let s = shape(ProviderKind::Aliyun, "", &["--mfa-unbound"]).unwrap();
    let unbound = MfaBinding::default();
    assert!(
        s.row(&aliyun_user(), &profile(true), Some(&unbound))
            .is_ok()
    );
    assert!(
        s.row(&aliyun_user(), &profile(false), Some(&unbound))
            .is_ok()
    );
    assert_eq!(
        s.row(&aliyun_user(), &profile(false), Some(&bound(Some("VMFA")))),
        Err(LeftOut::Bound)
    );
    assert_eq!(
        s.row(&aliyun_user(), &Observed::default(), None),
        Err(LeftOut::NoConsole)
    );
    // With --missing-mfa both filters apply.
    let both = shape(
        ProviderKind::Aliyun,
        "",
        &["--mfa-unbound", "--missing-mfa"],
    )
    .unwrap();
    assert_eq!(
        both.row(&aliyun_user(), &profile(true), Some(&unbound)),
        Err(LeftOut::HasMfa)
    );
    assert!(
        both.row(&aliyun_user(), &profile(false), Some(&unbound))
            .is_ok()
    );
}

#[test]
fn enforce_mfa_writes_the_mfa_column_true_and_an_action_column() {
    let s = shape(
        ProviderKind::Aliyun,
        "",
        &["--missing-mfa", "--action", "enforce-mfa"],
    )
    .unwrap();
    assert_eq!(s.headers().last(), Some(&"action"));
    let row = s.row(&aliyun_user(), &profile(false), None).unwrap();
    assert_eq!(&row[3..6], ["Inactive", "true", "false"]);
    assert_eq!(row.last().unwrap(), "enforce-mfa");
    // Other actions keep the current state: the file is the desired state as it is.
    let ensure = shape(
        ProviderKind::Aliyun,
        "",
        &["--action", "ensure-login-profile"],
    )
    .unwrap();
    let row = ensure.row(&aliyun_user(), &profile(false), None).unwrap();
    assert_eq!(&row[3..6], ["Inactive", "false", "false"]);
}

#[test]
fn ucloud_rows_take_email_from_the_list_and_leave_password_reset_empty() {
    let s = shape(ProviderKind::Ucloud, "", &[]).unwrap();
    assert_eq!(
        &s.headers()[3..],
        [
            "login_status",
            "mfa_bind_required",
            "password_reset_required",
            "max_password_age",
            "email",
            "mfa_bound",
            "display_name",
            "create_date"
        ]
    );
    let user = ListedUser {
        user: "an.zhou".into(),
        state: LoginState {
            email: Some("an.zhou@ops.example.com".into()),
            ..LoginState::default()
        },
        ..ListedUser::default()
    };
    let observed = Observed {
        exists: true,
        state: LoginState {
            login_status: Some(LoginStatus::Active),
            mfa_bind_required: Some(false),
            max_password_age: Some(90),
            ..LoginState::default()
        },
        extra: Vec::new(),
        created: None,
    };
    assert_eq!(
        &s.row(&user, &observed, None).unwrap()[3..8],
        ["Active", "false", "", "90", "an.zhou@ops.example.com"]
    );
}

fn huawei_user(console: bool) -> ListedUser {
    ListedUser {
        user: "0a1b2c3d4e5f60718293a4b5c6d7e8f9".into(),
        user_name: Some("ahmad.razak".into()),
        console: Some(console),
        ..ListedUser::default()
    }
}

fn protection(enabled: bool, method: Option<VerificationMethod>) -> Observed {
    Observed {
        exists: method.is_some(),
        state: LoginState {
            login_protect_enabled: Some(enabled),
            verification_method: method,
            ..LoginState::default()
        },
        extra: Vec::new(),
        created: None,
    }
}

#[test]
fn huawei_rows_have_the_id_the_name_and_login_protection() {
    let s = shape(ProviderKind::Huawei, "", &["--action", "enforce-mfa"]).unwrap();
    assert_eq!(
        s.headers(),
        [
            "provider",
            "account",
            "user",
            "user_name",
            "login_protect_enabled",
            "verification_method",
            "mfa_bound",
            "action"
        ]
    );
    // Never configured: on with vmfa; configured off with a method: on, keeping it.
    assert_eq!(
        s.row(&huawei_user(true), &protection(false, None), None)
            .unwrap(),
        [
            "huawei",
            "",
            "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            "ahmad.razak",
            "true",
            "vmfa",
            "",
            "enforce-mfa"
        ]
    );
    let row = s
        .row(
            &huawei_user(true),
            &protection(false, Some(VerificationMethod::Email)),
            None,
        )
        .unwrap();
    assert_eq!(&row[4..6], ["true", "email"]);
    // Console access comes from the list, not from whether protection was ever set.
    assert_eq!(
        s.row(&huawei_user(false), &protection(false, None), None),
        Err(LeftOut::NoConsole)
    );
    let plain = shape(ProviderKind::Huawei, "", &["--missing-mfa"]).unwrap();
    let row = plain
        .row(&huawei_user(true), &protection(false, None), None)
        .unwrap();
    assert_eq!(&row[4..6], ["false", ""]);
    assert_eq!(
        plain.row(
            &huawei_user(true),
            &protection(true, Some(VerificationMethod::Sms)),
            None
        ),
        Err(LeftOut::HasMfa)
    );
}

#[test]
fn actions_whose_rows_could_not_be_valid_input_are_refused() {
    let refused = |kind, extra: &[&str]| shape(kind, "", extra).err().unwrap().0;
    assert!(
        refused(ProviderKind::Ucloud, &["--action", "set-login-protect"])
            .starts_with("ucloud does not support set-login-protect")
    );
    assert!(
        refused(ProviderKind::Aliyun, &["--action", "create-login-profile"]).contains("password")
    );
    assert!(
        refused(
            ProviderKind::Huawei,
            &["--action", "set-login-protect", "--all-users"]
        )
        .contains("leave out --all-users")
    );
    for ok in [
        &["--action", "enforce-mfa", "--all-users"][..],
        &["--action", "ensure-login-profile", "--all-users"],
        &["--action", "get-login-profile"],
        &["--action", "delete-login-profile"],
    ] {
        assert!(shape(ProviderKind::Aliyun, "", ok).is_ok(), "{ok:?}");
    }
}

#[test]
fn the_target_is_an_account_of_the_config_or_a_provider() {
    let config = Config::parse(
        "[accounts.hq]\nprovider = \"ucloud\"\n",
        Path::new("iambatch.toml"),
        &|_| None,
    )
    .unwrap();
    assert_eq!(
        target(&config, "hq").unwrap(),
        (ProviderKind::Ucloud, "hq".to_string())
    );
    assert_eq!(
        target(&config, "Alibaba").unwrap(),
        (ProviderKind::Aliyun, String::new())
    );
    let err = target(&config, "aws").unwrap_err().0;
    assert!(
        err.contains("'aws' is neither a provider") && err.contains("(hq)"),
        "{err}"
    );
}
