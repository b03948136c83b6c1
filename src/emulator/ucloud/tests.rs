//! The UCloud IAM emulator over real HTTP on 127.0.0.1: the three encodings, signature and key
//! checks with their RetCodes, the actions and their replies, throttling and faults as UCloud sends
//! them (HTTP 200), users from a file, paging and state patches.

use super::super::testing::{self, Answer};
use super::super::{Emulator, EmulatorConfig, Knobs};
use super::verify;
use crate::jobs::ProviderKind;
use crate::secret::Secret;
use serde_json::{Value, json};

const PUBLIC: &str = "emulator-ucloud-public";
const PRIVATE: &str = "emulator-ucloud-private";
const PASSWORD: &str = "canary-Passw0rd!";

/// `params` plus `PublicKey` and `Signature`, signed with `private` by the emulator's own check
/// (pinned to UCloud's published vectors), never by the client's signer.
fn signed(public: &str, private: &str, params: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = params
        .iter()
        .chain(&[("PublicKey", public)])
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signature = verify::expected(&params, private);
    params.push(("Signature".into(), signature));
    params
}

fn form(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

struct Client {
    http: reqwest::Client,
    base: url::Url,
}

impl Client {
    async fn read(response: reqwest::Response) -> Answer {
        Answer::read(response).await.unwrap()
    }

    /// A POST with a form body, as the SDKs send.
    async fn post_form(&self, params: &[(String, String)]) -> Answer {
        let response = self
            .http
            .post(self.base.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(params))
            .send()
            .await
            .unwrap();
        Self::read(response).await
    }

    async fn post_json(&self, body: &Value) -> Answer {
        let response = self
            .http
            .post(self.base.clone())
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        Self::read(response).await
    }

    async fn get(&self, params: &[(String, String)]) -> Answer {
        let url = format!("{}?{}", self.base, form(params));
        Self::read(self.http.get(url).send().await.unwrap()).await
    }

    /// A freshly signed form POST with the emulator's keys.
    async fn call(&self, action: &str, extra: &[(&str, &str)]) -> Answer {
        let mut params = vec![("Action", action)];
        params.extend_from_slice(extra);
        self.post_form(&signed(PUBLIC, PRIVATE, &params)).await
    }
}

/// An emulator whose account has alice, bob and carol (each with a fresh login profile, as
/// `CreateUser` leaves it), unless the config names a users file: users exist only if someone
/// created them.
async fn start(config: EmulatorConfig) -> (Emulator, Client) {
    let users = json!({"alice": {}, "bob": {}, "carol": {}});
    let (emulator, http, base) = testing::start(config, ProviderKind::Ucloud, users).await;
    (emulator, Client { http, base })
}

fn user(emulator: &Emulator, name: &str) -> Value {
    emulator.state()["ucloud"]["users"][name].clone()
}

#[tokio::test]
async fn update_with_every_parameter_then_get_reads_it_back() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let updated = client
        .call(
            "UpdateLoginProfile",
            &[
                ("UserName", "alice"),
                ("Status", "Inactive"),
                ("UserEmail", "alice@example.com"),
                ("Password", PASSWORD),
                ("GenerateRandomPassword", "false"),
                ("MaxPasswordAge", "90"),
                ("MFABindRequired", "true"),
                ("PasswordResetRequired", "true"),
            ],
        )
        .await;
    assert_eq!(updated.status, 200);
    assert_eq!(
        updated.body,
        json!({"Action": "UpdateLoginProfileResponse", "LoginProfile": {}, "Message": "Success", "RetCode": 0})
    );
    let uuid = updated.headers["x-ucloud-request-uuid"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{uuid}");

    let got = client
        .call("GetLoginProfile", &[("UserName", "alice")])
        .await;
    assert_eq!(
        got.body,
        json!({"Action": "GetLoginProfileResponse", "RetCode": 0, "LoginProfile": {
            "Status": "Inactive", "MaxPasswordAge": 90, "MFABindRequired": true
        }})
    );

    let alice = user(&emulator, "alice");
    assert_eq!(alice["email"], "alice@example.com");
    assert_eq!(alice["updates"], 1);
    let profile = &alice["login_profile"];
    assert_eq!(
        emulator.has_password(ProviderKind::Ucloud, "alice", PASSWORD),
        Some(true)
    );
    assert_eq!(profile["password_reset_required"], true);
    assert_eq!(profile["password_generated"], false);
    assert!(!emulator.state().to_string().contains(PASSWORD));
    assert!(
        !emulator
            .requests()
            .iter()
            .any(|line| line.to_string().contains(PASSWORD))
    );
    let line = &emulator.requests()[0];
    assert_eq!(
        (
            &line["provider"],
            &line["account"],
            &line["action"],
            &line["user"]
        ),
        (
            &json!("ucloud"),
            &json!(PUBLIC),
            &json!("UpdateLoginProfile"),
            &json!("alice")
        )
    );
    assert_eq!(line["outcome"], "ok");
}

#[tokio::test]
async fn a_new_user_has_a_login_profile_and_an_update_changes_only_what_it_names() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let fresh = client.call("GetLoginProfile", &[("UserName", "bob")]).await;
    assert_eq!(
        fresh.body["LoginProfile"],
        json!({"Status": "Active", "MaxPasswordAge": 0, "MFABindRequired": false})
    );
    client
        .call(
            "UpdateLoginProfile",
            &[("UserName", "bob"), ("Password", PASSWORD)],
        )
        .await;
    let mfa = client
        .call(
            "UpdateLoginProfile",
            &[("UserName", "bob"), ("MFABindRequired", "true")],
        )
        .await;
    assert_eq!(mfa.ret_code(), 0);
    let bob = user(&emulator, "bob");
    assert_eq!(bob["updates"], 2);
    assert_eq!(bob["email"], "");
    let profile = &bob["login_profile"];
    assert_eq!(profile["mfa_bind_required"], true);
    assert_eq!(profile["status"], "Active");
    assert_eq!(
        emulator.has_password(ProviderKind::Ucloud, "bob", PASSWORD),
        Some(true)
    );

    let generated = client
        .call(
            "UpdateLoginProfile",
            &[("UserName", "bob"), ("GenerateRandomPassword", "true")],
        )
        .await;
    assert_eq!(generated.ret_code(), 0);
    let profile = &user(&emulator, "bob")["login_profile"];
    assert_eq!(profile["password_generated"], true);
    assert_eq!(
        emulator.has_password(ProviderKind::Ucloud, "bob", PASSWORD),
        Some(false)
    );
}

#[tokio::test]
async fn bad_values_are_refused_with_ucloud_codes_and_apply_nothing() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let seeded = testing::users(&emulator, ProviderKind::Ucloud);
    for (extra, code, named) in [
        (vec![("Status", "Enabled")], 230, "Status"),
        (vec![("MFABindRequired", "yes")], 230, "MFABindRequired"),
        (vec![("MaxPasswordAge", "-1")], 230, "MaxPasswordAge"),
        (vec![("UserEmail", "alice")], 230, "UserEmail"),
        (vec![("Password", "short")], 230, "Password"),
    ] {
        let mut params = vec![("UserName", "alice")];
        params.extend(extra);
        let answer = client.call("UpdateLoginProfile", &params).await;
        assert_eq!(
            (answer.status, answer.ret_code()),
            (200, code),
            "{params:?}"
        );
        assert_eq!(answer.body["Action"], "UpdateLoginProfileResponse");
        let message = answer.body["Message"].as_str().unwrap();
        assert!(message.contains(&format!("[{named}]")), "{message}");
        assert!(!message.contains("short"), "{message}");
    }
    let missing = client
        .call("UpdateLoginProfile", &[("MFABindRequired", "true")])
        .await;
    assert_eq!(missing.ret_code(), 220);
    assert_eq!(missing.body["Message"], "Missing params [UserName]");
    let unchanged = testing::users(&emulator, ProviderKind::Ucloud);
    assert_eq!(unchanged, seeded, "nothing applied");

    // The same name twice (as in seed 0's example) is refused, not guessed at.
    let twice = signed(
        PUBLIC,
        PRIVATE,
        &[
            ("Action", "UpdateLoginProfile"),
            ("UserName", "alice"),
            ("MFABindRequired", "true"),
            ("MFABindRequired", "false"),
        ],
    );
    let answer = client.post_form(&twice).await;
    assert_eq!(answer.ret_code(), 230);
    assert_eq!(emulator.requests().last().unwrap()["outcome"], "rejected");
}

#[tokio::test]
async fn form_body_query_string_and_json_body_are_all_verified_as_received() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let params = signed(
        PUBLIC,
        PRIVATE,
        &[
            ("Action", "UpdateLoginProfile"),
            ("UserName", "carol"),
            ("Password", "pass word+&=*~é"),
        ],
    );
    assert_eq!(client.post_form(&params).await.ret_code(), 0);
    assert_eq!(
        emulator.has_password(ProviderKind::Ucloud, "carol", "pass word+&=*~é"),
        Some(true)
    );

    // The Go SDK's shape: an unsigned `?Action=` and the signed form body.
    let url = format!("{}?Action=UpdateLoginProfile", client.base);
    let response = client
        .http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&signed(
            PUBLIC,
            PRIVATE,
            &[
                ("Action", "UpdateLoginProfile"),
                ("UserName", "carol"),
                ("Status", "Inactive"),
            ],
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(Client::read(response).await.ret_code(), 0);

    let query = signed(
        PUBLIC,
        PRIVATE,
        &[("Action", "GetLoginProfile"), ("UserName", "carol")],
    );
    let got = client.get(&query).await;
    assert_eq!(got.body["LoginProfile"]["Status"], "Inactive");

    // JSON values are signed as the SDKs format them: 90 as "90", true as "true".
    let text = signed(
        PUBLIC,
        PRIVATE,
        &[
            ("Action", "UpdateLoginProfile"),
            ("MFABindRequired", "true"),
            ("MaxPasswordAge", "90"),
            ("UserName", "carol"),
        ],
    );
    let signature = &text.last().unwrap().1;
    let body = json!({
        "Action": "UpdateLoginProfile", "UserName": "carol", "MaxPasswordAge": 90,
        "MFABindRequired": true, "PublicKey": PUBLIC, "Signature": signature, "ProjectId": null,
    });
    let answer = client.post_json(&body).await;
    assert_eq!(answer.ret_code(), 0, "{}", answer.body);
    let profile = &user(&emulator, "carol")["login_profile"];
    assert_eq!(
        (&profile["max_password_age"], &profile["mfa_bind_required"]),
        (&json!(90), &json!(true))
    );

    let nested = json!({"Action": "GetLoginProfile", "UserName": ["carol"], "PublicKey": PUBLIC, "Signature": "x"});
    assert_eq!(client.post_json(&nested).await.ret_code(), 230);
}

/// docs/providers.md §1.2: U-doc's JSON request with the documented key pair passes the signature check
/// (then fails as an action the emulator does not serve); one value changed fails it.
#[tokio::test]
async fn the_documented_json_request_passes_the_signature_check() {
    let public = "ucloudsomeone@example.com1296235120854146120";
    let config = EmulatorConfig {
        accounts: vec![(
            ProviderKind::Ucloud,
            public.into(),
            Secret::new("46f09bb9fab4f12dfc160dae12273d5332b5debe"),
        )],
        ..Default::default()
    };
    let (_emulator, client) = start(config).await;
    let mut body = json!({
        "Action": "DescribeUHostInstance", "Limit": 10, "PublicKey": public,
        "Region": "cn-bj2", "Signature": "cba5cf5ec4d4233d206b1b54951e3787350a642f"
    });
    let answer = client.post_json(&body).await;
    assert_eq!(answer.ret_code(), 161, "{}", answer.body);
    assert_eq!(answer.body["Action"], "DescribeUHostInstanceResponse");

    body["Limit"] = json!(11);
    assert_eq!(client.post_json(&body).await.ret_code(), 171);
}

#[tokio::test]
async fn bad_credentials_get_their_ret_codes_and_nothing_is_applied() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let seeded = testing::users(&emulator, ProviderKind::Ucloud);
    let update = [
        ("Action", "UpdateLoginProfile"),
        ("UserName", "alice"),
        ("Password", PASSWORD),
    ];

    let wrong_key = client
        .post_form(&signed(PUBLIC, "not-the-private-key", &update))
        .await;
    assert_eq!((wrong_key.status, wrong_key.ret_code()), (200, 171));
    assert_eq!(wrong_key.body["Message"], "Signature VerifyAC Error");
    assert!(!wrong_key.body.to_string().contains(PASSWORD));

    let mut changed = signed(PUBLIC, PRIVATE, &update);
    changed[1].1 = "mallory".into();
    assert_eq!(client.post_form(&changed).await.ret_code(), 171);

    let unknown = client.post_form(&signed("nobody", PRIVATE, &update)).await;
    assert_eq!(unknown.ret_code(), 172);

    let unsigned: Vec<(String, String)> = signed(PUBLIC, PRIVATE, &update)
        .into_iter()
        .filter(|(k, _)| k != "Signature")
        .collect();
    assert_eq!(client.post_form(&unsigned).await.ret_code(), 170);

    let no_action = signed(PUBLIC, PRIVATE, &[("UserName", "alice")]);
    assert_eq!(client.post_form(&no_action).await.ret_code(), 160);

    let unknown_action = client
        .call("DeleteLoginProfile", &[("UserName", "alice")])
        .await;
    assert_eq!(unknown_action.ret_code(), 161);

    let elsewhere = client
        .http
        .post(client.base.join("/iam").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 404);

    let unchanged = testing::users(&emulator, ProviderKind::Ucloud);
    assert_eq!(unchanged, seeded, "nothing applied");
    let log = testing::all_rejected(&emulator, 7);
    assert_eq!(log[0]["code"], "171");
}

/// UCloud signs no time and no nonce: the same request is accepted again.
#[tokio::test]
async fn a_repeated_request_is_accepted_as_ucloud_has_no_replay_protection() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let params = signed(
        PUBLIC,
        PRIVATE,
        &[
            ("Action", "UpdateLoginProfile"),
            ("UserName", "alice"),
            ("MFABindRequired", "true"),
        ],
    );
    assert_eq!(client.post_form(&params).await.ret_code(), 0);
    assert_eq!(client.post_form(&params).await.ret_code(), 0);
    assert_eq!(user(&emulator, "alice")["updates"], 2);
}

#[tokio::test]
async fn throttling_is_ret_code_153_over_http_200() {
    let config = EmulatorConfig::with_knobs(Knobs {
        rate: Some(1.0),
        ..Default::default()
    });
    let (emulator, client) = start(config).await;
    let mut codes = Vec::new();
    for _ in 0..3 {
        let answer = client
            .call("GetLoginProfile", &[("UserName", "alice")])
            .await;
        assert_eq!(answer.status, 200);
        assert!(answer.headers.contains_key("x-ucloud-request-uuid"));
        codes.push(answer.ret_code());
    }
    assert_eq!(codes[0], 0);
    assert!(codes[1..].contains(&153), "{codes:?}");
    let throttled = emulator
        .requests()
        .into_iter()
        .find(|l| l["outcome"] == "throttled")
        .unwrap();
    assert_eq!(
        (&throttled["status"], &throttled["code"]),
        (&json!(200), &json!("153"))
    );
}

#[tokio::test]
async fn a_fault_is_ret_code_150_and_applies_nothing() {
    let config = EmulatorConfig::with_knobs(Knobs {
        fault_rate: 1.0,
        ..Default::default()
    });
    let (emulator, client) = start(config).await;
    let seeded = testing::users(&emulator, ProviderKind::Ucloud);
    let fault = client
        .call(
            "UpdateLoginProfile",
            &[("UserName", "alice"), ("MFABindRequired", "true")],
        )
        .await;
    assert_eq!((fault.status, fault.ret_code()), (200, 150));
    let unchanged = testing::users(&emulator, ProviderKind::Ucloud);
    assert_eq!(unchanged, seeded, "nothing applied");
    assert_eq!(emulator.requests()[0]["outcome"], "fault");
}

#[tokio::test]
async fn users_from_a_file_are_the_only_users_and_list_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.json");
    let names: Vec<String> = (0..25).map(|i| format!("user{i:02}")).collect();
    std::fs::write(&users, json!({ "ucloud": names }).to_string()).unwrap();
    let config = EmulatorConfig {
        users: Some(users),
        ..Default::default()
    };
    let (emulator, client) = start(config).await;

    let unknown = client
        .call(
            "UpdateLoginProfile",
            &[("UserName", "mallory"), ("MFABindRequired", "true")],
        )
        .await;
    assert_eq!(unknown.ret_code(), 11021);
    assert!(user(&emulator, "mallory").is_null());
    let known = client
        .call("GetLoginProfile", &[("UserName", "user07")])
        .await;
    assert_eq!(known.body["LoginProfile"]["Status"], "Active");

    let first = client.call("ListUsers", &[]).await;
    assert_eq!(first.body["Action"], "ListUsersResponse");
    assert_eq!(first.body["TotalCount"], 25);
    assert_eq!(first.body["Users"].as_array().unwrap().len(), 10);
    let entry = &first.body["Users"][0];
    assert_eq!(entry["UserName"], "user00");
    assert_eq!(entry["ConsoleAccess"], true);
    assert!(entry["CreatedAt"].as_i64().unwrap() > 1_700_000_000);

    let mut listed = Vec::new();
    let mut offset = 0;
    while offset < 25 {
        let page = client
            .call(
                "ListUsers",
                &[("Offset", &offset.to_string()), ("Limit", "100")],
            )
            .await;
        for u in page.body["Users"].as_array().unwrap() {
            listed.push(u["UserName"].as_str().unwrap().to_string());
        }
        offset += 100;
    }
    assert_eq!(listed, names);
    let past = client
        .call("ListUsers", &[("Offset", "30"), ("Limit", "5")])
        .await;
    assert_eq!(past.body["Users"], json!([]));
    assert_eq!(past.body["TotalCount"], 25);
    for limit in ["0", "101", "ten"] {
        let refused = client.call("ListUsers", &[("Limit", limit)]).await;
        assert_eq!(refused.ret_code(), 230, "Limit {limit}");
    }
}

#[tokio::test]
async fn a_state_patch_changes_what_the_api_reads() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let patch = json!({"ucloud": {"users": {"dave": {"email": "dave@example.com", "login_profile": {
        "status": "Inactive", "mfa_bind_required": true, "max_password_age": 30, "password": PASSWORD
    }}}}});
    emulator.tamper(&patch).unwrap();
    let got = client
        .call("GetLoginProfile", &[("UserName", "dave")])
        .await;
    assert_eq!(
        got.body["LoginProfile"],
        json!({"Status": "Inactive", "MaxPasswordAge": 30, "MFABindRequired": true})
    );
    let dave = user(&emulator, "dave");
    assert_eq!(dave["updates"], 0);
    assert_eq!(dave["email"], "dave@example.com");
    assert_eq!(
        emulator.has_password(ProviderKind::Ucloud, "dave", PASSWORD),
        Some(true)
    );

    // A user without a login profile: both actions answer 11021, naming the profile.
    emulator
        .tamper(&json!({"ucloud": {"users": {"dave": {"login_profile": null}}}}))
        .unwrap();
    for action in ["GetLoginProfile", "UpdateLoginProfile"] {
        let answer = client
            .call(action, &[("UserName", "dave"), ("Status", "Active")])
            .await;
        assert_eq!(answer.ret_code(), 11021, "{action}");
        assert!(
            answer.body["Message"]
                .as_str()
                .unwrap()
                .contains("LoginProfile")
        );
    }
    assert!(user(&emulator, "dave")["login_profile"].is_null());

    let typo = json!({"ucloud": {"users": {"dave": {"login_profile": {"Status": "Active"}}}}});
    assert!(emulator.tamper(&typo).unwrap_err().contains("Status"));
    let bad = json!({"ucloud": {"users": {"dave": {"login_profile": {"status": "Frozen"}}}}});
    assert!(emulator.tamper(&bad).is_err());
}

#[tokio::test]
async fn a_user_nobody_created_is_11021_on_every_action() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    for action in ["GetLoginProfile", "UpdateLoginProfile"] {
        let params = signed(
            PUBLIC,
            PRIVATE,
            &[("Action", action), ("UserName", "ghost")],
        );
        let answer = client.post_form(&params).await;
        assert_eq!(answer.ret_code(), 11021, "{action}: {}", answer.body);
    }
    assert!(emulator.state()["ucloud"]["users"].get("ghost").is_none());
}

#[tokio::test]
async fn a_security_token_is_accepted_only_with_the_key_it_was_issued_with() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    emulator
        .tamper(&json!({"ucloud": {"temporary_keys": {
            "temp-public": {"secret": "temp-private", "security_token": "issued-token"}}}}))
        .unwrap();
    let get = [("Action", "GetLoginProfile"), ("UserName", "alice")];
    let with = |token: &'static str| [get[0], get[1], ("SecurityToken", token)];
    let ok = client
        .post_form(&signed(
            "temp-public",
            "temp-private",
            &with("issued-token"),
        ))
        .await;
    assert_eq!(ok.ret_code(), 0, "{}", ok.body);
    for params in [
        signed("temp-public", "temp-private", &with("forged-token")),
        signed("temp-public", "temp-private", &get),
        signed(PUBLIC, PRIVATE, &with("forged-token")),
    ] {
        assert_eq!(client.post_form(&params).await.ret_code(), 174);
    }
}

/// `CreateUser` as the tool sends it: console login, an inactive key, MFA and reset required.
const CREATE: [(&str, &str); 8] = [
    ("UserName", "dana"),
    ("AccessKeyStatus", "Inactive"),
    ("LoginProfileStatus", "Active"),
    ("Password", PASSWORD),
    ("MFABindRequired", "true"),
    ("PasswordResetRequired", "true"),
    ("DisplayName", "Dana Li"),
    ("Email", "dana@example.com"),
];

#[tokio::test]
async fn create_user_makes_the_user_its_login_profile_and_an_inactive_key() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let created = client.call("CreateUser", &CREATE).await;
    assert_eq!(created.ret_code(), 0, "{}", created.body);
    let body = &created.body;
    assert_eq!(body["Action"], "CreateUserResponse");
    assert_eq!(
        (&body["UserName"], &body["DisplayName"]),
        (&json!("dana"), &json!("Dana Li"))
    );
    assert_eq!(
        (&body["ConsoleAccess"], &body["APIAccess"]),
        (&json!(true), &json!(false))
    );
    assert!(body["CompanyID"].as_u64().unwrap() > 0);
    let key_id = body["AccessKeyID"].as_str().unwrap().to_string();
    let secret = body["AccessKeySecret"].as_str().unwrap().to_string();
    assert!(!key_id.is_empty() && !secret.is_empty());

    let got = client.call("GetUser", &[("UserName", "dana")]).await;
    let shown = &got.body["User"];
    assert_eq!(
        (&shown["DisplayName"], &shown["Email"], &shown["Status"]),
        (
            &json!("Dana Li"),
            &json!("dana@example.com"),
            &json!("Active")
        )
    );
    assert!(shown["CreatedAt"].as_i64().unwrap() > 1_700_000_000);
    let profile = client
        .call("GetLoginProfile", &[("UserName", "dana")])
        .await;
    assert_eq!(
        profile.body["LoginProfile"],
        json!({"Status": "Active", "MaxPasswordAge": 0, "MFABindRequired": true})
    );
    let state = user(&emulator, "dana");
    assert_eq!(state["login_profile"]["password_reset_required"], true);
    assert_eq!(state["updates"], 0);
    assert_eq!(
        emulator.has_password(ProviderKind::Ucloud, "dana", PASSWORD),
        Some(true)
    );

    let keys = client.call("ListAccessKeys", &[("UserName", "dana")]).await;
    let listed = &keys.body["AccessKey"];
    assert_eq!(listed.as_array().unwrap().len(), 1, "{}", keys.body);
    assert_eq!(
        (&listed[0]["AccessKeyID"], &listed[0]["Status"]),
        (&json!(key_id), &json!("Inactive"))
    );
    assert!(listed[0].get("AccessKeySecret").is_none());
    for shown in [emulator.state().to_string(), keys.body.to_string()] {
        assert!(!shown.contains(&secret) && !shown.contains(PASSWORD));
    }
    let users = client.call("ListUsers", &[("Limit", "100")]).await;
    let dana = (users.body["Users"].as_array().unwrap().iter())
        .find(|u| u["UserName"] == "dana")
        .unwrap();
    assert_eq!(
        (&dana["ConsoleAccess"], &dana["APIAccess"]),
        (&json!(true), &json!(false))
    );
    let log = emulator.requests();
    assert_eq!(
        (&log[0]["action"], &log[0]["user"]),
        (&json!("CreateUser"), &json!("dana"))
    );

    let again = client.call("CreateUser", &CREATE).await;
    assert_eq!(again.ret_code(), 11208);
    assert_eq!(again.body["Action"], "CreateUserResponse");

    // A generated password nobody is told; an active key's pair for the API.
    let generated = client
        .call(
            "CreateUser",
            &[
                ("UserName", "eli"),
                ("AccessKeyStatus", "Active"),
                ("LoginProfileStatus", "Active"),
                ("GenerateRandomPassword", "true"),
            ],
        )
        .await;
    assert_eq!(generated.ret_code(), 0, "{}", generated.body);
    assert_eq!(generated.body["APIAccess"], true);
    assert_eq!(generated.body["DisplayName"], "eli");
    let eli = user(&emulator, "eli");
    assert_eq!(eli["login_profile"]["password_generated"], true);
    assert_eq!(eli["access_keys"][0]["status"], "Active");
}

#[tokio::test]
async fn create_user_refuses_what_ucloud_refuses_and_creates_nothing() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let seeded = testing::users(&emulator, ProviderKind::Ucloud);
    let with = |changes: &[(&'static str, Option<&'static str>)]| {
        let mut params: Vec<(&str, &str)> = CREATE.to_vec();
        for (name, value) in changes {
            params.retain(|(k, _)| k != name);
            if let Some(value) = value {
                params.push((name, value));
            }
        }
        params
    };
    for (changes, code, named) in [
        (vec![("AccessKeyStatus", None)], 220, "AccessKeyStatus"),
        (
            vec![("LoginProfileStatus", None)],
            220,
            "LoginProfileStatus",
        ),
        (vec![("UserName", None)], 220, "UserName"),
        (
            vec![("AccessKeyStatus", Some("Off"))],
            230,
            "AccessKeyStatus",
        ),
        (
            vec![
                ("AccessKeyStatus", Some("Active")),
                ("LoginProfileStatus", Some("Inactive")),
            ],
            230,
            "Password",
        ),
        (
            vec![("LoginProfileStatus", Some("Inactive")), ("Password", None)],
            230,
            "LoginProfileStatus",
        ),
        (vec![("Password", None)], 220, "Password"),
        (vec![("Password", Some("short"))], 230, "Password"),
        (
            vec![("MFABindRequired", Some("yes"))],
            230,
            "MFABindRequired",
        ),
        (vec![("Email", Some("dana"))], 230, "Email"),
    ] {
        let params = with(&changes);
        let answer = client.call("CreateUser", &params).await;
        assert_eq!(answer.ret_code(), code, "{changes:?}: {}", answer.body);
        let message = answer.body["Message"].as_str().unwrap();
        assert!(message.contains(named), "{changes:?}: {message}");
    }
    assert_eq!(testing::users(&emulator, ProviderKind::Ucloud), seeded);
    let gone = client.call("GetUser", &[("UserName", "dana")]).await;
    assert_eq!(gone.ret_code(), 11021);
}

#[tokio::test]
async fn update_user_freezes_renames_and_refuses_what_it_cannot_do() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    emulator
        .tamper(
            &json!({"ucloud": {"groups": {"ops": {}}, "users": {"alice": {"groups": ["ops"]}},
            "mfa_devices": {"bound": {"alice": [{"serial_number": "s-alice"}]}}}}),
        )
        .unwrap();
    let frozen = client
        .call("UpdateUser", &[("UserName", "alice"), ("Status", "Frozen")])
        .await;
    assert_eq!(frozen.ret_code(), 0, "{}", frozen.body);
    assert_eq!(frozen.body["Action"], "UpdateUserResponse");
    let got = client.call("GetUser", &[("UserName", "alice")]).await;
    assert_eq!(got.body["User"]["Status"], "Frozen");
    let listed = client.call("ListUsers", &[]).await;
    assert_eq!(listed.body["Users"][0]["Status"], "Frozen");
    client
        .call("UpdateUser", &[("UserName", "alice"), ("Status", "Active")])
        .await;
    assert_eq!(user(&emulator, "alice")["status"], "Active");

    for (params, code) in [
        (vec![("UserName", "alice")], 220),
        (vec![("UserName", "alice"), ("NewUserName", "al")], 220),
        (vec![("UserName", "alice"), ("Status", "Inactive")], 230),
        (vec![("UserName", "ghost"), ("Status", "Frozen")], 11021),
        (
            vec![
                ("UserName", "alice"),
                ("DisplayName", "A"),
                ("NewUserName", "bob"),
            ],
            11208,
        ),
    ] {
        let answer = client.call("UpdateUser", &params).await;
        assert_eq!(answer.ret_code(), code, "{params:?}: {}", answer.body);
    }
    assert_eq!(user(&emulator, "alice")["display_name"], "alice");

    let renamed = client
        .call(
            "UpdateUser",
            &[
                ("UserName", "alice"),
                ("DisplayName", "Alice W"),
                ("NewUserName", "alicew"),
            ],
        )
        .await;
    assert_eq!(renamed.ret_code(), 0, "{}", renamed.body);
    assert_eq!(
        client
            .call("GetUser", &[("UserName", "alice")])
            .await
            .ret_code(),
        11021
    );
    let moved = client.call("GetUser", &[("UserName", "alicew")]).await;
    assert_eq!(moved.body["User"]["DisplayName"], "Alice W");
    let members = client
        .call("ListUsersForGroup", &[("GroupName", "ops")])
        .await;
    assert_eq!(members.body["Users"][0]["UserName"], "alicew");
    let mfa = client
        .call("GetUserMFAInfo", &[("UserName", "alicew")])
        .await;
    assert_eq!(mfa.body["IsMFAEnable"], true);
}

#[tokio::test]
async fn membership_is_added_listed_and_removed_by_group_name() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    emulator
        .tamper(&json!({"ucloud": {"groups": {
            "auditors": {"description": "read only", "created_at": 1_700_000_000},
            "ops": {}}, "users": {"carol": {"groups": ["ops"]}}}}))
        .unwrap();
    let groups = client.call("ListGroups", &[]).await;
    assert_eq!(
        groups.body,
        json!({"Action": "ListGroupsResponse", "RetCode": 0, "Message": "", "TotalCount": 2,
        "Groups": [
            {"GroupName": "auditors", "Description": "read only", "CreatedAt": 1_700_000_000},
            {"GroupName": "ops", "Description": "", "CreatedAt": groups.body["Groups"][1]["CreatedAt"]},
        ]})
    );

    for name in ["bob", "alice"] {
        let added = client
            .call(
                "AddUserToGroup",
                &[("GroupName", "auditors"), ("UserName", name)],
            )
            .await;
        assert_eq!(added.ret_code(), 0, "{}", added.body);
        assert_eq!(added.body["Action"], "AddUserToGroupResponse");
    }
    let joined = user_joined(&emulator, "auditors", "bob");
    // Already a member: success, still joined when it first did.
    let again = client
        .call(
            "AddUserToGroup",
            &[("GroupName", "auditors"), ("UserName", "bob")],
        )
        .await;
    assert_eq!(again.ret_code(), 0);
    assert_eq!(user_joined(&emulator, "auditors", "bob"), joined);

    let members = client
        .call("ListUsersForGroup", &[("GroupName", "auditors")])
        .await;
    assert_eq!(members.body["TotalCount"], 2);
    let first = &members.body["Users"][0];
    assert_eq!(
        (
            &first["UserName"],
            &first["DisplayName"],
            &first["JoinedAt"]
        ),
        (
            &json!("alice"),
            &json!("alice"),
            &json!(user_joined(&emulator, "auditors", "alice"))
        )
    );
    let page = client
        .call(
            "ListUsersForGroup",
            &[("GroupName", "auditors"), ("Offset", "1"), ("Limit", "1")],
        )
        .await;
    assert_eq!(page.body["Users"][0]["UserName"], "bob");
    assert_eq!(page.body["Users"].as_array().unwrap().len(), 1);

    for (action, params, code) in [
        (
            "AddUserToGroup",
            [("GroupName", "nobody"), ("UserName", "bob")],
            11162,
        ),
        (
            "AddUserToGroup",
            [("GroupName", "auditors"), ("UserName", "ghost")],
            11021,
        ),
        (
            "RemoveUserFromGroup",
            [("GroupName", "nobody"), ("UserName", "bob")],
            11162,
        ),
        (
            "RemoveUserFromGroup",
            [("GroupName", "ops"), ("UserName", "ghost")],
            11021,
        ),
        (
            "ListUsersForGroup",
            [("GroupName", "nobody"), ("Limit", "10")],
            11162,
        ),
    ] {
        let answer = client.call(action, &params).await;
        assert_eq!(answer.ret_code(), code, "{action} {params:?}");
    }
    let missing = client.call("AddUserToGroup", &[("UserName", "bob")]).await;
    assert_eq!(missing.body["Message"], "Missing params [GroupName]");

    let removed = client
        .call(
            "RemoveUserFromGroup",
            &[("GroupName", "auditors"), ("UserName", "bob")],
        )
        .await;
    assert_eq!(removed.ret_code(), 0);
    // Not a member: success, nothing to remove.
    let again = client
        .call(
            "RemoveUserFromGroup",
            &[("GroupName", "auditors"), ("UserName", "bob")],
        )
        .await;
    assert_eq!(again.ret_code(), 0);
    let members = &emulator.state()["ucloud"]["groups"]["auditors"]["members"];
    assert_eq!(
        members.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["alice"]
    );
}

fn user_joined(emulator: &Emulator, group: &str, name: &str) -> i64 {
    emulator.state()["ucloud"]["groups"][group]["members"][name]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn access_keys_are_listed_updated_and_deleted_without_their_secrets() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    emulator
        .tamper(&json!({"ucloud": {"users": {"bob": {"access_keys": [
            {"id": "key-1", "created_at": 1_700_000_000},
            {"id": "key-2", "status": "Inactive", "description": "old"}]}}}}))
        .unwrap();
    let listed = client.call("ListAccessKeys", &[("UserName", "bob")]).await;
    let first = &listed.body["AccessKey"][0];
    assert_eq!(
        (&first["AccessKeyID"], &first["Status"], &first["CreatedAt"]),
        (&json!("key-1"), &json!("Active"), &json!(1_700_000_000))
    );
    assert_eq!(listed.body["AccessKey"][1]["Description"], "old");
    assert!(first["UserId"].as_u64().unwrap() > 0);

    let updated = client
        .call(
            "UpdateAccessKey",
            &[("AccessKeyID", "key-1"), ("Status", "Inactive")],
        )
        .await;
    assert_eq!(updated.ret_code(), 0, "{}", updated.body);
    assert_eq!(
        user(&emulator, "bob")["access_keys"][0]["status"],
        "Inactive"
    );
    let deleted = client
        .call("DeleteAccessKey", &[("AccessKeyID", "key-2")])
        .await;
    assert_eq!(deleted.ret_code(), 0);
    assert_eq!(
        user(&emulator, "bob")["access_keys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    for (action, params, code) in [
        (
            "UpdateAccessKey",
            vec![("AccessKeyID", "key-9"), ("Status", "Active")],
            230,
        ),
        (
            "UpdateAccessKey",
            vec![("AccessKeyID", "key-1"), ("Status", "On")],
            230,
        ),
        ("DeleteAccessKey", vec![("AccessKeyID", "key-2")], 230),
        ("DeleteAccessKey", vec![], 220),
        ("ListAccessKeys", vec![("UserName", "ghost")], 11021),
    ] {
        let answer = client.call(action, &params).await;
        assert_eq!(answer.ret_code(), code, "{action} {params:?}");
    }
    let bad = json!({"ucloud": {"users": {"bob": {"access_keys": [{"id": "k", "status": "On"}]}}}});
    assert!(emulator.tamper(&bad).unwrap_err().contains("status 'On'"));
}

#[tokio::test]
async fn delete_user_removes_it_with_its_memberships_keys_and_devices() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    emulator
        .tamper(&json!({"ucloud": {
            "users": {"bob": {"access_keys": [{"id": "key-1"}], "groups": ["ops"]},
                "carol": {"groups": ["ops"]}},
            "groups": {"ops": {}},
            "mfa_devices": {"bound": {"bob": [{"serial_number": "s-bob"}]}}}}))
        .unwrap();
    let deleted = client.call("DeleteUser", &[("UserName", "bob")]).await;
    assert_eq!(deleted.ret_code(), 0, "{}", deleted.body);
    assert_eq!(deleted.body["Action"], "DeleteUserResponse");
    for action in ["GetUser", "GetLoginProfile", "ListAccessKeys", "DeleteUser"] {
        let answer = client.call(action, &[("UserName", "bob")]).await;
        assert_eq!(answer.ret_code(), 11021, "{action}");
    }
    let members = client
        .call("ListUsersForGroup", &[("GroupName", "ops")])
        .await;
    assert_eq!(members.body["TotalCount"], 1);
    assert_eq!(members.body["Users"][0]["UserName"], "carol");
    assert!(
        emulator.state()["ucloud"]["mfa_devices"]["bound"]
            .get("bob")
            .is_none()
    );
    // A new user of the same name starts afresh.
    let created = client
        .call(
            "CreateUser",
            &[
                ("UserName", "bob"),
                ("AccessKeyStatus", "Inactive"),
                ("LoginProfileStatus", "Active"),
                ("Password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.ret_code(), 0);
    let mfa = client.call("GetUserMFAInfo", &[("UserName", "bob")]).await;
    assert_eq!(mfa.body["IsMFAEnable"], false);
}

#[tokio::test]
async fn a_state_patch_seeds_users_groups_and_dates_and_refuses_ghost_members() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    emulator
        .tamper(&json!({"ucloud": {
            "users": {"erin": {"display_name": "Erin K", "email": "erin@example.com",
                "status": "Frozen", "created_at": 1_600_000_000, "groups": ["finance"]},
                "alice": {"groups": ["finance"]}},
            "groups": {"finance": {}}}}))
        .unwrap();
    let got = client.call("GetUser", &[("UserName", "erin")]).await;
    assert_eq!(
        got.body["User"],
        json!({"UserName": "erin", "DisplayName": "Erin K", "Email": "erin@example.com",
            "Status": "Frozen", "CreatedAt": 1_600_000_000})
    );
    let members = client
        .call("ListUsersForGroup", &[("GroupName", "finance")])
        .await;
    assert_eq!(members.body["TotalCount"], 2);

    let before = emulator.state()["ucloud"].clone();
    let ghost = json!({"ucloud": {"users": {"fred": {"groups": ["finance", "nowhere"]}},
        "groups": {"finance": {"description": "changed"}}}});
    let refused = emulator.tamper(&ghost).unwrap_err();
    assert!(
        refused.contains("fred: group nowhere does not exist"),
        "{refused}"
    );
    let typo = json!({"ucloud": {"groups": {"finance": {"members": ["erin"]}}}});
    assert!(emulator.tamper(&typo).unwrap_err().contains("member"));
    let bad = json!({"ucloud": {"users": {"erin": {"status": "Paused"}}}});
    assert!(
        emulator
            .tamper(&bad)
            .unwrap_err()
            .contains("Active or Frozen")
    );
    assert_eq!(emulator.state()["ucloud"], before, "nothing applied");

    // A user's `groups` is its whole membership.
    emulator
        .tamper(&json!({"ucloud": {"users": {"erin": {"groups": []}}}}))
        .unwrap();
    let members = client
        .call("ListUsersForGroup", &[("GroupName", "finance")])
        .await;
    assert_eq!(members.body["Users"][0]["UserName"], "alice");
    assert_eq!(members.body["TotalCount"], 1);
    emulator
        .tamper(&json!({"ucloud": {"groups": {"finance": null}}}))
        .unwrap();
    let gone = client.call("ListGroups", &[]).await;
    assert_eq!(gone.body["TotalCount"], 0);
}
