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
