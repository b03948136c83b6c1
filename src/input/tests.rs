use super::*;
use crate::jobs::{Job, LoginStatus, VerificationMethod};
use crate::providers::{ActionSpec, Step, When, provider};
use proptest::prelude::*;
use std::io::Write;
use tempfile::NamedTempFile;

const HUAWEI_ID: &str = "0123456789abcdef0123456789abcdef";

fn temp(content: &[u8]) -> NamedTempFile {
    let mut file = NamedTempFile::new().unwrap();
    file.write_all(content).unwrap();
    file
}

fn options() -> InputOptions {
    InputOptions::default()
}

/// Opens `content` as an input file; the temp file lives as long as the returned guard.
fn open(content: &str, options: InputOptions) -> (NamedTempFile, InputFile) {
    let file = temp(content.as_bytes());
    let input = InputFile::open(file.path(), options).unwrap_or_else(|e| panic!("{e}"));
    (file, input)
}

fn open_err(content: &[u8], options: InputOptions) -> String {
    let file = temp(content);
    match InputFile::open(file.path(), options) {
        Ok(_) => panic!("expected the file to be refused"),
        Err(e) => e.to_string(),
    }
}

/// Every data row as (index, line, cells).
fn read_all(input: &InputFile) -> Vec<(u64, u64, Vec<String>)> {
    let mut rows = input.rows().unwrap();
    let mut row = RawRow::new();
    let mut out = Vec::new();
    while rows.read(&mut row).unwrap() {
        out.push((
            row.index,
            row.line,
            row.record.iter().map(str::to_string).collect(),
        ));
    }
    out
}

const READ: Step = Step::read("read");
const UPDATE: Step = Step::update("update");
const CREATE: Step = Step::create("create", &UPDATE);

/// An action that takes every column.
const fn anything(action: Action, steps: &'static [Step]) -> ActionSpec {
    ActionSpec {
        action,
        object: "anything",
        columns: Column::ALL,
        reads: &[],
        read: &[READ],
        steps,
        desired: match action {
            Action::EnforceMfa => crate::providers::Desired::Mfa,
            _ => crate::providers::Desired::Row,
        },
    }
}

const EVERY_ACTION: [ActionSpec; 8] = [
    anything(Action::CreateLoginProfile, &[CREATE]),
    anything(Action::UpdateLoginProfile, &[UPDATE]),
    anything(
        Action::EnsureLoginProfile,
        &[READ, CREATE.when(When::Absent)],
    ),
    anything(Action::GetLoginProfile, &[READ]),
    anything(Action::DeleteLoginProfile, &[]),
    anything(Action::SetLoginProtect, &[UPDATE]),
    anything(Action::GetLoginProtect, &[READ]),
    anything(Action::EnforceMfa, &[UPDATE]),
];

/// A validator for which every provider supports every action with every column, so that tests
/// do not depend on the provider modules' declarations.
fn permissive(input: &InputFile) -> Validator {
    let mut validator = Validator::new(input);
    validator.actions = |_| &EVERY_ACTION;
    validator
}

fn check_all(input: &InputFile, validator: &mut Validator) -> Vec<Result<Job, Vec<Problem>>> {
    let mut rows = input.rows().unwrap();
    let mut row = RawRow::new();
    let mut out = Vec::new();
    while rows.read(&mut row).unwrap() {
        out.push(validator.check(&row));
    }
    out
}

/// The problems of every row, as displayed, one string per row ("" for a valid row).
fn problems(content: &str, options: InputOptions) -> Vec<String> {
    let (_guard, input) = open(content, options);
    displayed(check_all(&input, &mut permissive(&input)))
}

/// The same, with the providers' own declarations.
fn declared_problems(content: &str, options: InputOptions) -> Vec<String> {
    let (_guard, input) = open(content, options);
    displayed(check_all(&input, &mut Validator::new(&input)))
}

fn displayed(results: Vec<Result<Job, Vec<Problem>>>) -> Vec<String> {
    results
        .into_iter()
        .map(|result| match result {
            Ok(_) => String::new(),
            Err(problems) => problems
                .iter()
                .map(Problem::to_string)
                .collect::<Vec<_>>()
                .join(" | "),
        })
        .collect()
}

fn jobs(content: &str, options: InputOptions) -> Vec<Job> {
    let (_guard, input) = open(content, options);
    let mut validator = permissive(&input);
    check_all(&input, &mut validator)
        .into_iter()
        .map(|result| {
            result.unwrap_or_else(|problems| {
                panic!(
                    "{}",
                    problems
                        .iter()
                        .map(Problem::to_string)
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            })
        })
        .collect()
}

#[test]
fn skips_a_utf8_bom() {
    let (_guard, input) = open(
        "\u{feff}user,action,provider\nalice@corp.onaliyun.com,get-login-profile,aliyun\n",
        options(),
    );
    assert_eq!(&input.headers()[0], "user");
    let jobs = jobs(
        "\u{feff}user,action,provider\nalice@corp.onaliyun.com,get-login-profile,aliyun\n",
        options(),
    );
    assert_eq!(jobs[0].user, "alice@corp.onaliyun.com");
    assert_eq!(jobs[0].action, Action::GetLoginProfile);
}

#[test]
fn reads_crlf_quoted_cells_and_counts_lines_across_multiline_cells() {
    let content = "provider,action,user,note\r\n\
                   aliyun,get-login-profile,a@x.com,\"one, two\"\r\n\
                   aliyun,get-login-profile,b@x.com,\"say \"\"hi\"\"\r\nand\r\nbye\"\r\n\
                   \r\n\
                   ,,,\r\n\
                   aliyun,get-login-profile,c@x.com,plain";
    let (_guard, input) = open(content, options());
    let rows = read_all(&input);
    let lines: Vec<(u64, u64)> = rows.iter().map(|(i, l, _)| (*i, *l)).collect();
    assert_eq!(lines, [(0, 2), (1, 3), (2, 8)]);
    assert_eq!(rows[0].2[3], "one, two");
    // Line breaks inside a quoted cell are carried through as written.
    assert_eq!(rows[1].2[3], "say \"hi\"\r\nand\r\nbye");
    assert_eq!(rows[2].2[3], "plain");
    // Jobs carry the same lines.
    let lines: Vec<u64> = jobs(content, options()).iter().map(|j| j.line).collect();
    assert_eq!(lines, [2, 3, 8]);
}

#[test]
fn counts_lines_of_cr_only_files_and_blank_lines_before_the_header() {
    let (_guard, input) = open(
        "\n\nprovider,action,user\raliyun,get-login-profile,a@x.com\r",
        options(),
    );
    assert_eq!(input.header_line(), 3);
    assert_eq!(read_all(&input)[0].1, 4);
}

#[test]
fn keeps_every_kind_of_line_break_inside_quoted_cells_and_counts_it_as_a_line() {
    let content = "\u{feff}\"provider\",action,user,note\r\n\
                   aliyun,get-login-profile,a@x.com,\"cr\rlf\ncrlf\r\nend\"\r\n\
                   aliyun,get-login-profile,b@x.com,\"\r\"\r\n\
                   aliyun,get-login-profile,c@x.com,x\"y\r\
                   aliyun,get-login-profile,d@x.com,\"a\"\"\r\n\"\"\"\n";
    let (_guard, input) = open(content, options());
    assert_eq!(&input.headers()[0], "provider");
    let rows = read_all(&input);
    let lines: Vec<u64> = rows.iter().map(|(_, l, _)| *l).collect();
    assert_eq!(lines, [2, 6, 8, 9]);
    let notes: Vec<&str> = rows.iter().map(|(_, _, cells)| cells[3].as_str()).collect();
    assert_eq!(notes, ["cr\rlf\ncrlf\r\nend", "\r", "x\"y", "a\"\r\n\""]);
}

#[test]
fn reads_semicolon_and_tab_delimited_files() {
    for delimiter in [b';', b'\t'] {
        let d = char::from(delimiter);
        let content = format!(
            "provider{d}action{d}user{d}note\naliyun{d}get-login-profile{d}a@x.com{d}x,y\n"
        );
        let options = InputOptions {
            delimiter,
            ..options()
        };
        let jobs = jobs(&content, options.clone());
        assert_eq!(jobs[0].user, "a@x.com");
        let (_guard, input) = open(&content, options);
        assert_eq!(read_all(&input)[0].2[3], "x,y");
    }
}

#[test]
fn refuses_utf16_files_with_a_clear_message() {
    let text = "user,action\nalice,get-login-profile\n";
    let le: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let be: Vec<u8> = [0xFE, 0xFF]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
        .collect();
    let bare: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    for (bytes, name) in [
        (le, "UTF-16 (little-endian) text"),
        (be, "UTF-16 (big-endian) text"),
        (bare, "UTF-16 text without a byte-order mark"),
    ] {
        let message = open_err(&bytes, options());
        assert!(
            message.contains(&format!(
                "line 1: the file is {name}, not UTF-8 text: save it as UTF-8 CSV (in Excel: \"CSV UTF-8\") and run again"
            )),
            "{message}"
        );
    }
}

#[test]
fn a_row_that_is_not_utf8_is_a_problem_of_that_row_only() {
    let mut content = b"provider,action,user,dept\naliyun,get-login-profile,a@x.com,R".to_vec();
    content.extend_from_slice(b"\xE9seau\naliyun,get-login-profile,b@x.com,ok\n");
    let file = temp(&content);
    let input = InputFile::open(file.path(), options()).unwrap();
    let results = check_all(&input, &mut permissive(&input));
    let problems = results[0].as_ref().unwrap_err();
    assert_eq!(
        problems[0].to_string(),
        "line 2, column dept: is not valid UTF-8: save the file as UTF-8 (in Excel: \"CSV UTF-8\")"
    );
    assert_eq!(results[1].as_ref().unwrap().user, "b@x.com");
    // The cells are still there for the results file.
    assert_eq!(read_all(&input)[0].2[3], "R\u{FFFD}seau");
}

#[test]
fn a_ragged_row_is_a_problem_not_a_crash() {
    let got = problems(
        "provider,action,user\naliyun,get-login-profile\naliyun,get-login-profile,a@x.com,extra\naliyun,get-login-profile,b@x.com\n",
        options(),
    );
    assert_eq!(
        got,
        [
            "line 2: has 2 cells but the header has 3: quote cells that contain ',', and check the delimiter",
            "line 3: has 4 cells but the header has 3: quote cells that contain ',', and check the delimiter",
            "",
        ]
    );
}

#[test]
fn names_the_line_and_column_of_bad_values() {
    let got = problems(
        "provider,action,user,mfa_bind_required,Status,max_password_age,verification_method\n\
         aliyun,update-login-profile,a@x.com,maybe,,,\n\
         ucloud,update-login-profile,bob,,Enabled,,\n\
         ucloud,update-login-profile,bob2,,,ninety,\n\
         huawei,set-login-protect,0123456789abcdef0123456789abcdef,,,,fax\n",
        options(),
    );
    assert_eq!(
        got,
        [
            "line 2, column mfa_bind_required: 'maybe' is not a boolean: use true or false (yes/no, y/n and 1/0 also work), or leave it empty",
            "line 3, column Status: 'Enabled' is not a login status: use Active or Inactive",
            "line 4, column max_password_age: 'ninety' is not a whole number of days: write it like 90, or leave it empty",
            "line 5, column verification_method: 'fax' is not a verification method: use sms, email or vmfa",
        ]
    );
}

#[test]
fn unknown_providers_and_actions_are_problems_of_their_column() {
    let got = problems(
        "Provider,Action,user\naws,get-login-profile,a@x.com\naliyun,frobnicate,a@x.com\n,get-login-profile,a@x.com\naliyun,,a@x.com\n",
        options(),
    );
    assert!(
        got[0].starts_with("line 2, column Provider: unknown provider 'aws'"),
        "{}",
        got[0]
    );
    assert!(
        got[1].starts_with("line 3, column Action: unknown action 'frobnicate'"),
        "{}",
        got[1]
    );
    assert!(
        got[2].starts_with(
            "line 4, column Provider: no provider: fill the provider cell, or pass --provider"
        ),
        "{}",
        got[2]
    );
    assert!(
        got[3].starts_with(
            "line 5, column Action: no action: fill the action cell, or pass --action"
        ),
        "{}",
        got[3]
    );
}

#[test]
fn an_action_the_provider_does_not_support_is_refused() {
    let content = "provider,action,user\nucloud,get-login-protect,bob\n";
    let (_guard, input) = open(content, options());
    let mut validator = Validator::new(&input);
    validator.actions = |_| &EVERY_ACTION[..2];
    let problems = check_all(&input, &mut validator).remove(0).unwrap_err();
    assert_eq!(
        problems[0].to_string(),
        "line 2, column action: ucloud does not support get-login-protect: use one of create-login-profile, update-login-profile"
    );
}

#[test]
fn uses_each_providers_own_action_list_by_default() {
    let mut content = String::from("provider,action,user\n");
    for kind in ProviderKind::ALL {
        for action in Action::ALL {
            content.push_str(&format!("{kind},{action},u{}\n", content.len()));
        }
    }
    let (_guard, input) = open(&content, options());
    let results = check_all(&input, &mut Validator::new(&input));
    let mut results = results.iter();
    for kind in ProviderKind::ALL {
        for action in Action::ALL {
            let refused = match results.next().unwrap() {
                Ok(_) => false,
                Err(problems) => problems
                    .iter()
                    .any(|p| p.message.contains("does not support")),
            };
            assert_eq!(
                refused,
                provider(*kind).spec().action(*action).is_none(),
                "{kind} {action}"
            );
        }
    }
}

#[test]
fn a_user_is_required_and_user_name_only_where_names_are_resolved() {
    let got = declared_problems(
        "provider,action,user,user_name\n\
         aliyun,get-login-profile,,\n\
         aliyun,get-login-profile,,alice\n\
         huawei,get-login-protect,,alice\n\
         huawei,get-login-protect,,\n",
        options(),
    );
    assert_eq!(got[0], "line 2, column user: no user: fill the user cell");
    assert_eq!(
        got[1],
        "line 3, column user: no user: fill the user cell | line 3, column user_name: aliyun get-login-profile does not take user_name: leave it empty (it takes login_status, mfa_bind_required, password_reset_required)"
    );
    assert_eq!(got[2], "");
    assert_eq!(
        got[3],
        "line 5, column user: no user: fill user or user_name"
    );
}

#[test]
fn generate_password_false_asks_for_nothing_on_actions_that_do_not_take_it() {
    let got = declared_problems(
        "provider,action,user,generate_password,login_protect_enabled,login_status\n\
         aliyun,create-login-profile,a@x.com,true,,\n\
         aliyun,enforce-mfa,b@x.com,false,,\n\
         aliyun,enforce-mfa,c@x.com,no,,\n\
         aliyun,enforce-mfa,d@x.com,true,,\n\
         ucloud,update-login-profile,erin,false,false,Active\n",
        InputOptions {
            secrets_out: true,
            ..options()
        },
    );
    assert_eq!(got[..3], ["", "", ""], "{got:?}");
    // Asking for a password where none is sent, or a state the action does not set, is refused.
    assert!(
        got[3].starts_with(
            "line 5, column generate_password: aliyun enforce-mfa does not take generate_password"
        ),
        "{}",
        got[3]
    );
    assert!(
        got[4].starts_with(
            "line 6, column login_protect_enabled: ucloud update-login-profile does not take login_protect_enabled"
        ),
        "{}",
        got[4]
    );
}

#[test]
fn a_column_the_action_does_not_take_is_invalid_on_every_provider() {
    let got = declared_problems(
        "provider,action,user,Password,max_password_age,email,enabled,verification_method,Status\n\
         aliyun,update-login-profile,a@x.com,,90,a@x.com,,,Active\n\
         ucloud,update-login-profile,alice,,90,a@x.com,true,sms,\n\
         ucloud,get-login-profile,bob,Passw0rd!,,,,,\n\
         huawei,set-login-protect,carol,,,,true,sms,Active\n\
         aliyun,enforce-mfa,d@x.com,Passw0rd!,,,,,\n",
        options(),
    );
    assert_eq!(
        got[0],
        "line 2, column max_password_age: aliyun update-login-profile does not take max_password_age: leave it empty (it takes password, generate_password, login_status, mfa_bind_required, password_reset_required) \
         | line 2, column email: aliyun update-login-profile does not take email: leave it empty (it takes password, generate_password, login_status, mfa_bind_required, password_reset_required)"
    );
    // The file's own header names the column.
    assert!(got[1].starts_with("line 3, column enabled: ucloud update-login-profile does not take login_protect_enabled"), "{}", got[1]);
    assert!(
        got[1].contains("| line 3, column verification_method: ucloud"),
        "{}",
        got[1]
    );
    assert!(
        got[2].starts_with(
            "line 4, column Password: ucloud get-login-profile does not take password"
        ),
        "{}",
        got[2]
    );
    assert!(!got[2].contains("Passw0rd"), "never the password itself");
    assert!(
        got[3].starts_with(
            "line 5, column Status: huawei set-login-protect does not take login_status"
        ),
        "{}",
        got[3]
    );
    assert!(
        got[4].starts_with("line 6, column Password: aliyun enforce-mfa does not take password"),
        "{}",
        got[4]
    );
}

#[test]
fn the_later_of_two_write_rows_for_one_user_is_a_duplicate() {
    let mut options = options();
    options.accounts.insert("hq".into(), ProviderKind::Aliyun);
    let got = problems(
        "provider,account,action,user,mfa_bind_required\n\
         aliyun,,update-login-profile,a@x.com,true\n\
         aliyun,,get-login-profile,a@x.com,\n\
         aliyun,,get-login-profile,a@x.com,\n\
         aliyun,hq,update-login-profile,a@x.com,true\n\
         ucloud,,update-login-profile,a@x.com,true\n\
         aliyun,,update-login-profile, a@x.com ,false\n\
         aliyun,hq,delete-login-profile,a@x.com,\n",
        options,
    );
    assert_eq!(got[..5], ["", "", "", "", ""]);
    assert_eq!(
        got[5],
        "line 7, column user: duplicate of line 2: both rows change user 'a@x.com' of the aliyun default account; keep one of them"
    );
    assert_eq!(
        got[6],
        "line 8, column user: duplicate of line 5: both rows change user 'a@x.com' of the aliyun 'hq' account; keep one of them"
    );
}

#[test]
fn a_validator_for_a_clean_file_need_not_remember_users() {
    let (_guard, input) = open(
        "provider,action,user,mfa_bind_required\n\
         aliyun,update-login-profile,a@x.com,true\n\
         aliyun,update-login-profile,a@x.com,false\n",
        options(),
    );
    let mut validator = permissive(&input).without_duplicate_check();
    assert!(check_all(&input, &mut validator).iter().all(Result::is_ok));
}

#[test]
fn unknown_columns_are_carried_through() {
    let content =
        "department,provider,action,user,Manager\nsales,aliyun,get-login-profile,a@x.com,Ann\n";
    let (_guard, input) = open(content, options());
    let headers: Vec<&str> = input.headers().iter().collect();
    assert_eq!(
        headers,
        ["department", "provider", "action", "user", "Manager"]
    );
    assert_eq!(
        read_all(&input)[0].2,
        ["sales", "aliyun", "get-login-profile", "a@x.com", "Ann"]
    );
    assert_eq!(input.column(Column::User), Some(3));
    assert!(!input.is_password_column(0));
}

#[test]
fn accepts_ucloud_parameter_names_as_headers() {
    let options = InputOptions {
        provider: Some(ProviderKind::Ucloud),
        action: Some(Action::UpdateLoginProfile),
        ..options()
    };
    let content = "UserName,Status,MFABindRequired,Password,MaxPasswordAge,UserEmail,PasswordResetRequired\n\
                   bob,Inactive,yes,S3cret-Pa55word!,90,bob@corp.example,N\n";
    let (_guard, input) = open(content, options.clone());
    assert!(input.is_password_column(3));
    let job = jobs(content, options).remove(0);
    assert_eq!(job.provider, ProviderKind::Ucloud);
    assert_eq!(job.user, "bob");
    assert_eq!(job.desired.login_status, Some(LoginStatus::Inactive));
    assert_eq!(job.desired.mfa_bind_required, Some(true));
    assert_eq!(job.desired.password_reset_required, Some(false));
    assert_eq!(job.desired.max_password_age, Some(90));
    assert_eq!(job.desired.email.as_deref(), Some("bob@corp.example"));
    assert_eq!(
        job.password.as_ref().map(|p| p.expose()),
        Some("S3cret-Pa55word!")
    );
}

#[test]
fn user_name_and_username_are_different_columns() {
    let content = format!(
        "provider,action,UserName,user_name,enabled,verification_method\n\
         huawei,set-login-protect,{HUAWEI_ID},alice,true,SMS\n\
         huawei,set-login-protect,,carol,true,\n"
    );
    let jobs = jobs(&content, options());
    assert_eq!(jobs[0].user, HUAWEI_ID);
    assert_eq!(jobs[0].user_name.as_deref(), Some("alice"));
    assert_eq!(jobs[0].desired.login_protect_enabled, Some(true));
    assert_eq!(
        jobs[0].desired.verification_method,
        Some(VerificationMethod::Sms)
    );
    assert_eq!(jobs[1].user, "");
    assert_eq!(jobs[1].user_key(), "carol");
}

#[test]
fn reports_every_problem_of_a_row() {
    let mut options = options();
    options.accounts.insert("kl".into(), ProviderKind::Huawei);
    let got = problems(
        "provider,account,action,user,mfa_bind_required,login_status,generate_password\n\
         aliyun,kl,create-login-profile,a@x.com,perhaps,Gone,true\n",
        options,
    );
    let problems: Vec<&str> = got[0].split(" | ").collect();
    assert_eq!(
        problems,
        [
            "line 2, column account: account 'kl' belongs to huawei, but the row's provider is aliyun: name an account of aliyun, or leave it empty for the aliyun default account",
            "line 2, column login_status: 'Gone' is not a login status: use Active or Inactive",
            "line 2, column mfa_bind_required: 'perhaps' is not a boolean: use true or false (yes/no, y/n and 1/0 also work), or leave it empty",
            "line 2, column generate_password: needs --secrets-out FILE to receive the generated password",
        ]
    );
}

#[test]
fn checks_passwords_and_what_an_action_changes() {
    let got = problems(
        "provider,action,user,password,generate_password,mfa_bind_required,login_protect_enabled\n\
         aliyun,create-login-profile,a@x.com,,,,\n\
         aliyun,create-login-profile,b@x.com,Canary-Pa55word!,true,,\n\
         ucloud,update-login-profile,carol,,,,\n\
         ucloud,update-login-profile,dave,,,maybe,\n\
         aliyun,enforce-mfa,e@x.com,,,false,\n\
         huawei,enforce-mfa,0123456789abcdef0123456789abcdef,,,,no\n\
         ucloud,update-login-profile,frank,,yes,,\n\
         aliyun,enforce-mfa,g@x.com,,,,\n",
        options(),
    );
    assert_eq!(
        got[0],
        "line 2, column password: create-login-profile needs a password: fill the password cell, or set generate_password to true"
    );
    assert_eq!(
        got[1],
        "line 3, column generate_password: give either a password or generate_password=true, not both | \
         line 3, column generate_password: needs --secrets-out FILE to receive the generated password"
    );
    assert_eq!(
        got[2],
        "line 4: update-login-profile has nothing to change: fill at least one state column, or the password"
    );
    // A bad value is reported alone, not also as "nothing to change".
    assert!(!got[3].contains("nothing to change"), "{}", got[3]);
    assert_eq!(
        got[4],
        "line 6, column mfa_bind_required: enforce-mfa turns MFA on: this cell must be true or empty"
    );
    assert_eq!(
        got[5],
        "line 7, column login_protect_enabled: enforce-mfa turns MFA on: this cell must be true or empty"
    );
    assert_eq!(got[6..], ["", ""]);
}

#[test]
fn aliyun_may_generate_passwords_with_secrets_out() {
    let options = InputOptions {
        secrets_out: true,
        ..options()
    };
    let job = jobs(
        "provider,action,user,generate_password\naliyun,create-login-profile,a@x.com,TRUE\n",
        options,
    )
    .remove(0);
    assert!(job.generate_password);
    assert!(job.password.is_none());
}

#[test]
fn never_quotes_a_password_in_a_problem() {
    let canary = "Canary-5ecret!";
    let got = problems(
        &format!(
            "provider,action,user,password,generate_password\n\
             aws,frobnicate,,{canary},maybe\n\
             aliyun,create-login-profile,a@x.com,{canary},true\n\
             aliyun,create-login-profile,a@x.com,{canary},,extra,{canary}\n"
        ),
        options(),
    );
    assert!(
        got.iter().all(|p| !p.is_empty() && !p.contains(canary)),
        "{got:?}"
    );
}

#[test]
fn command_line_provider_and_action_fill_missing_cells() {
    let options = InputOptions {
        provider: Some(ProviderKind::Aliyun),
        action: Some(Action::GetLoginProfile),
        ..options()
    };
    let jobs = jobs("user,provider\na@x.com,\nbob,ucloud\n", options);
    assert_eq!(jobs[0].provider, ProviderKind::Aliyun);
    assert_eq!(jobs[1].provider, ProviderKind::Ucloud);
    assert!(jobs.iter().all(|j| j.action == Action::GetLoginProfile));
}

#[test]
fn routes_rows_to_their_account() {
    let mut options = options();
    options.accounts.insert("hq".into(), ProviderKind::Aliyun);
    let (_guard, input) = open(
        "provider,account,action,user\n\
         aliyun,hq,get-login-profile,a@x.com\n\
         Alibaba,,get-login-profile,a@x.com\n\
         huawei,hq,get-login-protect,x\n\
         aliyun,nowhere,get-login-profile,a@x.com\n\
         aws,,get-login-profile,a@x.com\n",
        options,
    );
    let validator = Validator::new(&input);
    let mut rows = input.rows().unwrap();
    let mut row = RawRow::new();
    let mut routes = Vec::new();
    while rows.read(&mut row).unwrap() {
        routes.push(validator.route(&row));
    }
    assert_eq!(
        routes,
        [
            Some((ProviderKind::Aliyun, "hq".to_string())),
            Some((ProviderKind::Aliyun, String::new())),
            None,
            None,
            None,
        ]
    );
    let got = problems_of(&input, 3);
    assert!(
        got.starts_with("line 5, column account: unknown account 'nowhere'"),
        "{got}"
    );
}

#[test]
fn rows_name_one_member_of_a_members_account() {
    let mut options = options();
    options.accounts.insert("org".into(), ProviderKind::Aliyun);
    options.members.insert("org".into());
    let (_guard, input) = open(
        "provider,account,action,user\n\
         aliyun,org/1000000000000101,get-login-profile,a@x.com\n\
         aliyun,org,get-login-profile,a@x.com\n\
         aliyun,nosuch/1000000000000101,get-login-profile,a@x.com\n\
         huawei,org/1000000000000101,get-login-protect,x\n\
         aliyun,org/,get-login-profile,a@x.com\n",
        options,
    );
    let validator = Validator::new(&input);
    let mut rows = input.rows().unwrap();
    let mut row = RawRow::new();
    rows.read(&mut row).unwrap();
    assert_eq!(
        validator.route(&row),
        Some((ProviderKind::Aliyun, "org/1000000000000101".to_string()))
    );
    let bare = problems_of(&input, 1);
    assert!(
        bare.starts_with("line 3, column account: org is a members account: name one member, org/<account id>; `iambatch accounts` lists them"),
        "{bare}"
    );
    let unknown = problems_of(&input, 2);
    assert!(
        unknown.starts_with("line 4, column account: unknown account 'nosuch/1000000000000101'"),
        "{unknown}"
    );
    assert!(problems_of(&input, 3).contains("belongs to aliyun"));
    assert!(problems_of(&input, 4).contains("does not name a member"));
}

fn problems_of(input: &InputFile, index: usize) -> String {
    check_all(input, &mut permissive(input))[index]
        .as_ref()
        .unwrap_err()
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn rows_can_be_read_several_times() {
    let (_guard, input) = open(
        "provider,action,user\naliyun,get-login-profile,a@x.com\naliyun,get-login-profile,b@x.com\n",
        options(),
    );
    let first = read_all(&input);
    assert_eq!(first.len(), 2);
    assert_eq!(read_all(&input), first);
}

#[test]
fn refuses_files_without_what_every_row_needs() {
    let cases: [(&[u8], &str); 6] = [
        (b"", "line 1: no header row"),
        (b"\n \n,,\n", "line 1: no header row"),
        (
            b"provider,action,dept\n",
            "line 1: no user column: add a user column",
        ),
        (
            b"action,user\n",
            "line 1: no provider column: add a provider column, or pass --provider",
        ),
        (
            b"provider,user\n",
            "line 1: no action column: add an action column, or pass --action",
        ),
        (
            b"provider,action,user,UserName\n",
            "line 1: the columns 'user' and 'UserName' both mean user: keep only one",
        ),
    ];
    for (content, expected) in cases {
        let file = temp(content);
        let message = InputFile::open(file.path(), options())
            .err()
            .unwrap()
            .to_string();
        assert!(
            message.starts_with(&format!("{}, {expected}", file.path().display())),
            "{message}"
        );
    }
    assert!(
        open_err(b"\xFFuser,action\n", options()).contains("the header row is not valid UTF-8")
    );
    let missing = std::path::Path::new("/nonexistent/iambatch-input.csv");
    let err = InputFile::open(missing, options()).err().unwrap();
    assert_eq!(
        err.to_string(),
        "cannot open /nonexistent/iambatch-input.csv: check the path and that the file is readable"
    );
    // A huawei-only file may name users by user_name alone.
    open("provider,action,user_name\n", options());
}

#[test]
fn recognises_the_delimiter_from_the_header_when_not_given() {
    for (delimiter, name) in [(b',', None), (b';', Some("';'")), (b'\t', Some("tab"))] {
        let d = char::from(delimiter);
        let content = format!(
            "\u{feff}provider{d}action{d}user{d}note\r\naliyun{d}get-login-profile{d}a@x.com{d}\"x,y;z\"\r\n"
        );
        let (_guard, input) = open(&content, options());
        assert_eq!(input.delimiter(), delimiter);
        assert_eq!(
            input.delimiter_note(),
            name.map(|n| format!("columns separated by {n} (recognised from the header)"))
        );
        assert_eq!(read_all(&input)[0].2[3], "x,y;z");
    }
    // A given delimiter is used as given, and is not "recognised".
    let given = InputOptions {
        delimiter: b';',
        delimiter_given: true,
        ..options()
    };
    let (_guard, input) = open("provider;action;user\n", given.clone());
    assert_eq!(input.delimiter_note(), None);
    let e = open_err(b"provider,action,user\n", given);
    assert!(
        e.contains("no user column") && !e.contains("read as"),
        "{e}"
    );
}

#[test]
fn a_header_no_delimiter_makes_sense_of_is_shown_as_read() {
    let e = open_err(
        b"provider|action|user\naliyun|get-login-profile|a\n",
        options(),
    );
    assert!(
        e.ends_with(
            "line 1: no user column: add a user column (actions that resolve user names also take user_name instead). The header row was read as 1 column: 'provider|action|user'. If the file separates its columns with another character, pass it with --delimiter (e.g. --delimiter ';' or --delimiter tab)"
        ),
        "{e}"
    );
}

#[test]
fn a_header_close_to_a_known_column_is_refused_with_a_suggestion() {
    let e = open_err(
        b"provider,action,user,mfa_bind_required,login_stauts,department\n",
        options(),
    );
    assert!(
        e.contains("line 1: login_stauts: did you mean login_status? A column iambatch does not know is carried through"),
        "{e}"
    );
    assert!(e.contains("(e.g. keep_login_stauts)"), "{e}");
    // The rename the message proposes is taken as a column of the user's own.
    open(
        "provider,action,user,mfa_bind_required,keep_login_stauts,department\n",
        options(),
    );
    let e = open_err(b"provider;acton;uesr;team\n", options());
    assert!(
        e.contains("line 1: acton: did you mean action?; uesr: did you mean user?"),
        "{e}"
    );
}

/// CSV text of cells drawn from a small, hostile alphabet under a header of known and unknown names.
fn arbitrary_csv() -> impl Strategy<Value = String> {
    let header = proptest::sample::subsequence(
        vec![
            "provider",
            "account",
            "action",
            "user",
            "user_name",
            "password",
            "generate_password",
            "Status",
            "mfa_required",
            "MaxPasswordAge",
            "enabled",
            "verification_method",
            "dept",
        ],
        1..8,
    );
    let cell = prop_oneof![
        Just(String::new()),
        Just("aliyun".to_string()),
        Just("huawei".to_string()),
        Just("update-login-profile".to_string()),
        Just("create-login-profile".to_string()),
        Just("enforce-mfa".to_string()),
        Just("true".to_string()),
        Just("a@x.com".to_string()),
        "[a-z\",\r\n ;\u{e9}]{0,6}",
    ];
    (
        header,
        proptest::collection::vec(proptest::collection::vec(cell, 0..9), 0..12),
    )
        .prop_map(|(header, rows)| {
            let mut text = header.join(",");
            for row in rows {
                text.push('\n');
                text.push_str(&row.join(","));
            }
            text
        })
}

/// Opens, reads and checks everything; any outcome but a panic is fine.
fn exercise(content: &[u8]) {
    let file = temp(content);
    let options = InputOptions {
        provider: Some(ProviderKind::Aliyun),
        ..options()
    };
    if let Ok(input) = InputFile::open(file.path(), options) {
        let mut validator = Validator::new(&input);
        let mut rows = input.rows().unwrap();
        let mut row = RawRow::new();
        while let Ok(true) = rows.read(&mut row) {
            let _ = validator.route(&row);
            let _ = validator.check(&row);
        }
    }
}

/// Reads every row of `content` in a pass, then again by its span, last row first: each comes back
/// the same, at the same index and line.
fn rereads_every_row_alike(content: &[u8]) {
    let file = temp(content);
    let options = InputOptions {
        provider: Some(ProviderKind::Aliyun),
        action: Some(Action::EnforceMfa),
        ..options()
    };
    let Ok(input) = InputFile::open(file.path(), options) else {
        return;
    };
    let mut rows = input.rows().unwrap();
    let mut row = RawRow::new();
    let mut passed = Vec::new();
    while let Ok(true) = rows.read(&mut row) {
        passed.push(row.clone());
    }
    let mut again = input.reread().unwrap();
    for want in passed.iter().rev() {
        again
            .read(want.index, want.line, want.span.clone(), &mut row)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(row.record, want.record, "line {}", want.line);
        assert_eq!(row.not_utf8, want.not_utf8, "line {}", want.line);
        assert_eq!((row.index, row.line), (want.index, want.line));
    }
    assert_eq!(input.rows_parsed(), 2 * passed.len() as u64);
}

#[test]
fn a_row_read_again_by_its_span_is_the_row_the_pass_read() {
    rereads_every_row_alike(
        b"\xEF\xBB\xBFuser,note\r\na,\"x\r\ny\"\r\n\r\n  ,  \r\nb,\"\"\"q\"\"\"\rc,\"1\r2\"\nd,\xFF\r\n\"e\r\n\",end",
    );
    rereads_every_row_alike(b"user\r\n\r\n\r\na\r\r\nb\n\nc\r\n");
    rereads_every_row_alike(b"user;note\n\"a;1\";\"\r\n\"\n\"b\";2");
    // A quote left open at the end holds the line end the reader adds.
    rereads_every_row_alike(b"user,note\na,\"open\r\nx");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_row_read_again_by_its_span_is_the_row_the_pass_read(
        content in proptest::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'x'), Just(b'"'), Just(b','), Just(b' ')],
            0..60,
        ),
    ) {
        let mut text = b"user,note\r\n".to_vec();
        text.extend(content);
        rereads_every_row_alike(&text);
    }

    #[test]
    fn random_bytes_never_panic(content in proptest::collection::vec(any::<u8>(), 0..300)) {
        exercise(&content);
    }

    #[test]
    fn random_csv_never_panics(content in arbitrary_csv()) {
        exercise(content.as_bytes());
    }
}

#[test]
fn the_engine_can_move_readers_and_validators_across_threads() {
    fn sendable<T: Send>() {}
    sendable::<InputFile>();
    sendable::<Rows>();
    sendable::<Reread>();
    sendable::<RawRow>();
    sendable::<Validator>();
    fn shareable<T: Sync>() {}
    shareable::<InputFile>();
}
