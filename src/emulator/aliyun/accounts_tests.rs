//! Several Alibaba accounts on one port, over real HTTP: each account's own directory, reached
//! with a role session issued into it, and the Resource Directory's ListAccounts.

use crate::emulator::testing::Answer;
use crate::emulator::tests::{Client, EMULATOR_KEYS, Signer, start};
use crate::emulator::{Emulator, EmulatorConfig};
use crate::jobs::ProviderKind;
use serde_json::{Value, json};
use time::OffsetDateTime;

const MAIN: &str = "1000000000000001";
const FINANCE: &str = "1000000000000101";
const HR: &str = "1000000000000102";
const SANDBOX: &str = "1000000000000103";
/// The same principal name in the main account and in finance.
const ANN: &str = "ann@corp.onaliyun.com";
const IMS: &str = "2019-08-15";
const STS: &str = "2015-04-01";
const RD: &str = "2020-03-31";
const PASSWORD: &str = "Finance-Passw0rd!";

/// Temporary credentials of a role session.
struct Session {
    key: String,
    secret: String,
    token: String,
}

impl Session {
    /// A freshly signed POST to `version`'s API with these credentials.
    async fn call(
        &self,
        client: &Client,
        version: &str,
        action: &str,
        extra: &[(&str, &str)],
    ) -> Answer {
        let signer = Signer {
            key: &self.key,
            secret: &self.secret,
        };
        let mut extra = extra.to_vec();
        extra.push(("SecurityToken", &self.token));
        let nonce = uuid::Uuid::new_v4().to_string();
        let now = OffsetDateTime::now_utc();
        let params = signer.params_in(version, "POST", action, &extra, now, &nonce);
        client.send(reqwest::Method::POST, &params).await.unwrap()
    }
}

/// The main account with Ann (no login profile), finance with its own Ann (with one) and Bo, hr
/// and a sandbox whose creation is still verified; any role trusts the built-in key.
async fn organisation() -> (Emulator, Client) {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    emulator
        .tamper(&json!({"aliyun": {
            "users": {ANN: {}},
            "sts": {"roles": {"*": {"trusted": [EMULATOR_KEYS.key]}}},
            "accounts": {
                FINANCE: {"name": "finance-prod", "default_domain": "finance-prod.onaliyun.com",
                    "users": {ANN: {"login_profile": {"password": PASSWORD, "mfa_bind_required": true}},
                              "bo@finance-prod.onaliyun.com": {}}},
                HR: {"name": "hr-prod", "status": "InviteSuccess", "join_method": "invited"},
                SANDBOX: {"name": "sandbox", "status": "CreateVerifying"},
            },
        }}))
        .unwrap();
    (emulator, client)
}

async fn assume(client: &Client, account: &str) -> Answer {
    let arn = format!("acs:ram::{account}:role/ResourceDirectoryAccountAccessRole");
    client
        .call_in(
            STS,
            "AssumeRole",
            &[("RoleArn", &arn), ("RoleSessionName", "iambatch-test")],
        )
        .await
}

async fn session(client: &Client, account: &str) -> Session {
    let answer = assume(client, account).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let text = |name: &str| {
        answer.body["Credentials"][name]
            .as_str()
            .unwrap()
            .to_string()
    };
    Session {
        key: text("AccessKeyId"),
        secret: text("AccessKeySecret"),
        token: text("SecurityToken"),
    }
}

fn names(listed: &Answer) -> Vec<&str> {
    let users = listed.body["Users"]["User"].as_array().unwrap();
    users
        .iter()
        .map(|u| u["UserPrincipalName"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_role_session_acts_in_its_own_account_only() {
    let (emulator, client) = organisation().await;
    let finance = session(&client, FINANCE).await;

    // The session lists finance's users, the main key the main account's.
    let listed = finance.call(&client, IMS, "ListUsers", &[]).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(names(&listed), [ANN, "bo@finance-prod.onaliyun.com"]);
    let main = client.call("ListUsers", &[]).await;
    assert!(names(&main).contains(&ANN) && !names(&main).contains(&"bo@finance-prod.onaliyun.com"));

    // Two users of one name, independent: finance's Ann has a login profile, the main one none.
    let get = [("UserPrincipalName", ANN)];
    let theirs = finance.call(&client, IMS, "GetLoginProfile", &get).await;
    assert_eq!(
        theirs.body["LoginProfile"]["MFABindRequired"], true,
        "{}",
        theirs.body
    );
    let ours = client.call("GetLoginProfile", &get).await;
    assert_eq!(ours.code(), "EntityNotExist.User.LoginProfile");
    let updated = finance
        .call(
            &client,
            IMS,
            "UpdateLoginProfile",
            &[get[0], ("MFABindRequired", "false")],
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let state = emulator.state();
    assert_eq!(state["aliyun"]["users"][ANN]["login_profile"], Value::Null);
    let theirs = &state["aliyun"]["accounts"][FINANCE];
    assert_eq!(
        theirs["users"][ANN]["login_profile"]["mfa_bind_required"],
        false
    );
    assert_eq!(
        (theirs["name"].as_str(), theirs["status"].as_str()),
        (Some("finance-prod"), Some("CreateSuccess"))
    );
    assert_eq!(
        emulator.has_password_in(ProviderKind::Aliyun, FINANCE, ANN, PASSWORD),
        Some(true)
    );
    assert_eq!(
        emulator.has_password(ProviderKind::Aliyun, ANN, PASSWORD),
        None
    );
    let asked = client
        .control(
            reqwest::Method::POST,
            "/_emulator/password",
            Some(json!({"account": FINANCE, "user": ANN, "password": PASSWORD})),
        )
        .await;
    assert_eq!(asked.body, json!({"matches": true}));

    // A new user must be in the account's own default domain.
    let created = finance
        .call(
            &client,
            IMS,
            "CreateUser",
            &[
                ("UserPrincipalName", "cy@finance-prod.onaliyun.com"),
                ("DisplayName", "Cy"),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let domain = finance.call(&client, IMS, "GetDefaultDomain", &[]).await;
    assert_eq!(
        domain.body["DefaultDomainName"],
        "finance-prod.onaliyun.com"
    );

    let caller = finance.call(&client, STS, "GetCallerIdentity", &[]).await;
    assert_eq!(caller.body["AccountId"], FINANCE, "{}", caller.body);

    // Every line names the account the request acted in.
    let log = client.requests().await;
    let account_of = |action: &str, key: &str| -> Vec<String> {
        (log.iter())
            .filter(|l| l["action"] == action && l["account"] == key)
            .map(|l| l["account_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(account_of("ListUsers", &finance.key), [FINANCE]);
    assert_eq!(account_of("ListUsers", EMULATOR_KEYS.key), [MAIN]);
    assert_eq!(account_of("AssumeRole", EMULATOR_KEYS.key), [MAIN]);
}

#[tokio::test]
async fn a_role_in_an_account_the_cloud_does_not_know_is_refused() {
    let (emulator, client) = organisation().await;
    let refused = assume(&client, "1000000000000999").await;
    assert_eq!(
        (refused.status, refused.code()),
        (404, "EntityNotExist.Role"),
        "{}",
        refused.body
    );
    // The main account's own role is there, as before.
    assert_eq!(assume(&client, MAIN).await.status, 200);
    // A member not created, invited or promoted successfully cannot be reached; once it is, it can.
    for status in ["CreateVerifying", "Removed"] {
        let patch = json!({"aliyun": {"accounts": {SANDBOX: {"status": status}}}});
        emulator.tamper(&patch).unwrap();
        let refused = assume(&client, SANDBOX).await;
        assert_eq!(
            (refused.status, refused.code()),
            (404, "EntityNotExist.Role"),
            "{status}: {}",
            refused.body
        );
    }
    // A member being upgraded to a cloud account is still one, whatever becomes of the upgrade.
    for status in ["PromoteVerifying", "PromoteSuccess", "PromoteCancelled"] {
        let patch = json!({"aliyun": {"accounts": {SANDBOX: {"status": status}}}});
        emulator.tamper(&patch).unwrap();
        assert_eq!(assume(&client, SANDBOX).await.status, 200, "{status}");
    }
    // A patch cannot name the main account among the others.
    let main = emulator.tamper(&json!({"aliyun": {"accounts": {MAIN: {}}}}));
    assert!(main.unwrap_err().contains("main account"));
    let bad = emulator.tamper(&json!({"aliyun": {"accounts": {FINANCE: {"status": "Gone"}}}}));
    assert!(bad.unwrap_err().contains("CreateSuccess"));
    // A new account whose patch is refused is not added; temporary keys are the main account's.
    let keys = json!({"k": {"secret": "s", "security_token": "t"}});
    let refused = emulator
        .tamper(&json!({"aliyun": {"accounts": {"1000000000000998": {"temporary_keys": keys}}}}));
    assert!(refused.unwrap_err().contains("main account"));
    assert!(
        emulator.state()["aliyun"]["accounts"]
            .get("1000000000000998")
            .is_none()
    );

    // A patch refused for its last account changes none: not the main account, not the accounts
    // before it, and adds no account.
    let before = emulator.state();
    let refused = emulator.tamper(&json!({"aliyun": {
        "users": {"new@corp.onaliyun.com": {}},
        "accounts": {
            FINANCE: {"name": "finance-renamed", "status": "Removed",
                      "default_domain": "renamed.onaliyun.com", "users": {ANN: {"login_profile": null}}},
            "1000000000000997": {"users": {"cy@x.onaliyun.com": {}}},
            SANDBOX: {"users": {"dee@sandbox.onaliyun.com": {"groups": ["nobody"]}}},
        },
    }}));
    assert!(refused.unwrap_err().contains("group nobody does not exist"));
    assert_eq!(emulator.state(), before);
    // Two members may not share a name.
    let taken = json!({"aliyun": {"accounts": {SANDBOX: {"name": "finance-prod"}}}});
    assert!(
        emulator
            .tamper(&taken)
            .unwrap_err()
            .contains("finance-prod")
    );
    assert_eq!(emulator.state(), before);
}

#[tokio::test]
async fn list_accounts_pages_the_members_for_the_management_account_only() {
    let (_emulator, client) = organisation().await;
    let page = |number: &'static str, size: &'static str| {
        let client = &client;
        async move {
            client
                .call_in(
                    RD,
                    "ListAccounts",
                    &[("PageNumber", number), ("PageSize", size)],
                )
                .await
        }
    };
    let first = page("1", "2").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        (
            first.body["TotalCount"].as_u64(),
            first.body["PageNumber"].as_u64(),
            first.body["PageSize"].as_u64()
        ),
        (Some(3), Some(1), Some(2))
    );
    let accounts = first.body["Accounts"]["Account"].as_array().unwrap();
    let brief: Vec<(&str, &str, &str)> = accounts
        .iter()
        .map(|a| {
            (
                a["AccountId"].as_str().unwrap(),
                a["DisplayName"].as_str().unwrap(),
                a["Status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        brief,
        [
            (FINANCE, "finance-prod", "CreateSuccess"),
            (HR, "hr-prod", "InviteSuccess")
        ]
    );
    assert_eq!(accounts[0]["Type"], "ResourceAccount");
    assert_eq!(
        (
            accounts[0]["JoinMethod"].as_str(),
            accounts[1]["JoinMethod"].as_str()
        ),
        (Some("created"), Some("invited"))
    );
    assert_eq!(accounts[0]["JoinTime"].as_str().unwrap().len(), 20);
    let second = page("2", "2").await;
    let rest = second.body["Accounts"]["Account"].as_array().unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(
        (rest[0]["AccountId"].as_str(), rest[0]["Status"].as_str()),
        (Some(SANDBOX), Some("CreateVerifying"))
    );
    // Defaults: page 1 of 10.
    let all = client.call_in(RD, "ListAccounts", &[]).await;
    assert_eq!(
        (
            all.body["PageSize"].as_u64(),
            all.body["Accounts"]["Account"].as_array().unwrap().len()
        ),
        (Some(10), 3)
    );
    for (number, size, why) in [
        ("1", "101", "use 1 to 100"),
        ("1", "0", "use 1 to 100"),
        ("0", "10", "use a page number from 1"),
        ("x", "10", "use a page number from 1"),
    ] {
        let bad = page(number, size).await;
        assert_eq!(
            (bad.status, bad.code()),
            (400, "InvalidParameter"),
            "{number} {size}"
        );
        let message = bad.body["Message"].as_str().unwrap();
        assert!(message.contains(why), "{number} {size}: {message}");
    }

    // A member's credentials may not list, a session of a role in the main account may.
    let finance = session(&client, FINANCE).await;
    let refused = finance.call(&client, RD, "ListAccounts", &[]).await;
    assert_eq!(
        (refused.status, refused.code()),
        (403, "NoPermission"),
        "{}",
        refused.body
    );
    let main = session(&client, MAIN).await;
    let listed = main.call(&client, RD, "ListAccounts", &[]).await;
    assert_eq!(listed.body["TotalCount"], 3, "{}", listed.body);
}
