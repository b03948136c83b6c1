//! Several Huawei accounts (domains) on one port, over real HTTP: temporary AK/SK and agency
//! tokens issued into a member domain act there, and Organizations ListAccounts.

use super::{AK, Client, DOMAIN_ID, KEYS, Signer, start};
use crate::emulator::testing::Answer;
use crate::emulator::{Emulator, EmulatorConfig};
use axum::http::Method;
use serde_json::{Value, json};

const FINANCE: &str = "0a1f0000000000000000000000000101";
const HR: &str = "0a1f0000000000000000000000000102";
const LEGACY: &str = "0a1f0000000000000000000000000104";
const AGENCY: &str = "iambatch-operator";

/// The main account (alice, `ops admin+1`), corp-finance with its own alice and bob, corp-hr and a
/// suspended corp-legacy; any agency trusts the built-in AK and IAM user.
async fn organisation() -> (Emulator, Client) {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    emulator
        .tamper(&json!({"huawei": {
            "sts": {"roles": {"*": {"trusted": [AK, super::IAM_USER]}}},
            "accounts": {
                FINANCE: {"name": "corp-finance", "users": {"alice": {}, "bob": {}}},
                HR: {"name": "corp-hr", "join_method": "invited"},
                LEGACY: {"name": "corp-legacy", "status": "suspended"},
            },
        }}))
        .unwrap();
    (emulator, client)
}

fn assume_role(domain: Value) -> Value {
    let mut assume = json!({"agency_name": AGENCY});
    assume
        .as_object_mut()
        .unwrap()
        .extend(domain.as_object().unwrap().clone());
    json!({"auth": {"identity": {"methods": ["assume_role"], "assume_role": assume}}})
}

/// Temporary AK/SK for the agency of `domain` (`{"domain_id": ..}` or `{"domain_name": ..}`).
async fn security_tokens(client: &Client, domain: Value) -> Answer {
    let body = assume_role(domain);
    client
        .signed(
            Method::POST,
            "/v3.0/OS-CREDENTIAL/securitytokens",
            &[],
            Some(body),
        )
        .await
}

/// GET `path` signed with temporary credentials, `domain_id` as `X-Domain-Id`.
async fn get_as(
    client: &Client,
    credential: &Value,
    domain_id: &str,
    path: &str,
    query: &[(&str, &str)],
) -> Answer {
    let text = |name: &str| credential[name].as_str().unwrap();
    let signer = Signer {
        ak: text("access"),
        sk: text("secret"),
        domain_id: Some(domain_id),
        ..KEYS
    };
    let query = crate::emulator::canon::owned(query);
    let extra = [("x-security-token", text("securitytoken"))];
    let headers = signer
        .now()
        .headers("GET", &client.host(), path, &query, b"", &extra);
    client
        .send(Method::GET, path, &query, &headers, vec![])
        .await
}

fn names(listed: &Answer) -> Vec<&str> {
    let users = listed.body["users"].as_array().unwrap();
    users.iter().map(|u| u["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn temporary_aksk_of_a_member_domain_act_in_that_domain_only() {
    let (emulator, client) = organisation().await;
    let issued = security_tokens(&client, json!({"domain_id": FINANCE})).await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    let credential = issued.body["credential"].clone();

    let listed = get_as(&client, &credential, FINANCE, "/v3/users", &[]).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(names(&listed), ["alice", "bob"]);
    assert!(
        listed.body["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["domain_id"] == FINANCE)
    );
    // Their alice is not ours: another id.
    let ours = client.user_id("alice").await;
    assert_ne!(listed.body["users"][0]["id"].as_str(), Some(ours.as_str()));
    let main = client.signed(Method::GET, "/v3/users", &[], None).await;
    assert_eq!(names(&main), ["alice", "ops admin+1"]);

    // The member's key with the main account's X-Domain-Id, or the main key with the member's,
    // is refused.
    let crossed = get_as(&client, &credential, DOMAIN_ID, "/v3/users", &[]).await;
    assert_eq!(
        (crossed.status, crossed.error_code()),
        (401, "APIG.0301"),
        "{}",
        crossed.body
    );
    let main_key = Signer {
        domain_id: Some(FINANCE),
        ..KEYS
    };
    let crossed = client
        .signed_by(&main_key.now(), Method::GET, "/v3/users", &[], None)
        .await;
    assert_eq!(
        (crossed.status, crossed.error_code()),
        (401, "APIG.0301"),
        "{}",
        crossed.body
    );

    // By name as well; the log names the account each request acted in.
    let by_name = security_tokens(&client, json!({"domain_name": "corp-finance"})).await;
    assert_eq!(by_name.status, 201, "{}", by_name.body);
    let log = emulator.requests();
    let listed_in: Vec<&str> = (log.iter())
        .filter(|l| l["action"] == "KeystoneListUsers" && l["outcome"] == "ok")
        .map(|l| l["account_id"].as_str().unwrap())
        .collect();
    assert!(
        listed_in.contains(&FINANCE) && listed_in.contains(&DOMAIN_ID),
        "{listed_in:?}"
    );
    let refused = log.iter().filter(|l| l["outcome"] == "rejected");
    assert!(refused.into_iter().all(|l| l["account_id"] == ""));
}

#[tokio::test]
async fn an_agency_token_of_a_member_domain_acts_in_that_domain() {
    let (emulator, client) = organisation().await;
    let token = client.token().await;
    let mut body = assume_role(json!({"domain_name": "corp-finance"}));
    body["auth"]["scope"] = json!({"domain": {"id": DOMAIN_ID}});
    let elsewhere = client
        .with_token(
            &token,
            Method::POST,
            "/v3/auth/tokens",
            &[],
            Some(body.clone()),
        )
        .await;
    assert_eq!(elsewhere.status, 400, "{}", elsewhere.body);
    body["auth"]["scope"] = json!({"domain": {"name": "corp-finance"}});
    let issued = client
        .with_token(&token, Method::POST, "/v3/auth/tokens", &[], Some(body))
        .await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    let agency_token = issued.header("x-subject-token").to_string();

    let listed = client
        .with_token(
            &agency_token,
            Method::GET,
            "/v3/users",
            &[("name", "bob")],
            None,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(names(&listed), ["bob"]);
    let bob = listed.body["users"][0]["id"].as_str().unwrap().to_string();
    let path = super::protect_path(&bob);
    let set = client
        .with_token(
            &agency_token,
            Method::PUT,
            &path,
            &[],
            super::enable("vmfa"),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let state = emulator.state();
    assert_eq!(
        state["huawei"]["accounts"][FINANCE]["users"]["bob"]["login_protect"]["enabled"],
        true
    );
    assert_eq!(
        state["huawei"]["accounts"][FINANCE]["domain"],
        json!({"id": FINANCE, "name": "corp-finance"})
    );
    assert!(state["huawei"]["users"].get("bob").is_none());

    // A request that names another domain than the token's is refused: CreateUser in ours.
    let create = json!({"user": {"name": "carol", "domain_id": DOMAIN_ID}});
    let refused = client
        .with_token(
            &agency_token,
            Method::POST,
            "/v3.0/OS-USER/users",
            &[],
            Some(create),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    // The member's token lists no users of our domain.
    let ours = client
        .with_token(
            &agency_token,
            Method::GET,
            "/v3/users",
            &[("domain_id", DOMAIN_ID)],
            None,
        )
        .await;
    assert_eq!(names(&ours), Vec::<&str>::new());
}

#[tokio::test]
async fn an_agency_of_a_domain_the_cloud_does_not_know_is_refused() {
    let (_emulator, client) = organisation().await;
    for domain in [
        json!({"domain_id": "0a1f0000000000000000000000000999"}),
        json!({"domain_name": "corp-nobody"}),
    ] {
        let refused = security_tokens(&client, domain.clone()).await;
        assert_eq!(refused.status, 403, "{domain}: {}", refused.body);
        assert!(
            refused.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("does not exist")
        );
    }
}

#[tokio::test]
async fn an_agency_of_a_member_not_active_does_not_exist() {
    let (emulator, client) = organisation().await;
    let refused = security_tokens(&client, json!({"domain_id": LEGACY})).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(
        refused.body["error"]["message"],
        format!("The agency {AGENCY} does not exist.")
    );
    let token = client.token().await;
    let body = assume_role(json!({"domain_name": "corp-legacy"}));
    let refused = client
        .with_token(&token, Method::POST, "/v3/auth/tokens", &[], Some(body))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.header("x-subject-token"), "");
    let closing = json!({"huawei": {"accounts": {LEGACY: {"status": "pending_closure"}}}});
    emulator.tamper(&closing).unwrap();
    let refused = security_tokens(&client, json!({"domain_id": LEGACY})).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let active = json!({"huawei": {"accounts": {LEGACY: {"status": "active"}}}});
    emulator.tamper(&active).unwrap();
    let issued = security_tokens(&client, json!({"domain_id": LEGACY})).await;
    assert_eq!(issued.status, 201, "{}", issued.body);
}

#[tokio::test]
async fn the_agency_is_checked_in_the_account_it_issues_into() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    // Only corp-finance's agency is declared, by the account's name.
    emulator
        .tamper(&json!({"huawei": {
            "sts": {"roles": {format!("corp-finance/{AGENCY}"): {"trusted": [AK]}}},
            "accounts": {FINANCE: {"name": "corp-finance"}, HR: {"name": "corp-hr"}},
        }}))
        .unwrap();
    // A body naming corp-finance and our domain's id is refused, not issued into ours.
    for (name, id) in [("corp-finance", DOMAIN_ID), ("corp-finance", HR)] {
        let crossed = security_tokens(&client, json!({"domain_name": name, "domain_id": id})).await;
        assert_eq!(crossed.status, 400, "{id}: {}", crossed.body);
    }
    // The account's id finds the agency declared by its name; both naming it agree.
    for domain in [
        json!({"domain_id": FINANCE}),
        json!({"domain_id": FINANCE, "domain_name": "corp-finance"}),
    ] {
        let issued = security_tokens(&client, domain.clone()).await;
        assert_eq!(issued.status, 201, "{domain}: {}", issued.body);
        let credential = &issued.body["credential"];
        let listed = get_as(&client, credential, FINANCE, "/v3/users", &[]).await;
        assert_eq!(listed.status, 200, "{domain}: {}", listed.body);
    }
    // No domain at all is a bad body.
    let nowhere = security_tokens(&client, json!({})).await;
    assert_eq!(nowhere.status, 400, "{}", nowhere.body);
    // An account's name is its own: not the main account's, not another member's.
    let before = emulator.state();
    for name in [super::DOMAIN_NAME, "corp-hr"] {
        let taken = json!({"huawei": {"accounts": {FINANCE: {"name": name}}}});
        let refused = emulator.tamper(&taken).unwrap_err();
        assert!(refused.contains(&format!("the name {name}")), "{refused}");
    }
    assert_eq!(emulator.state(), before);
}

#[tokio::test]
async fn list_accounts_pages_by_marker_for_the_management_account_only() {
    let (_emulator, client) = organisation().await;
    let path = "/v1/organizations/accounts";
    let first = client
        .signed(Method::GET, path, &[("limit", "2")], None)
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let brief = |page: &Answer| -> Vec<(String, String, String)> {
        (page.body["accounts"].as_array().unwrap().iter())
            .map(|a| {
                let text = |k: &str| a[k].as_str().unwrap().to_string();
                (text("id"), text("name"), text("status"))
            })
            .collect()
    };
    let owned =
        |id: &str, name: &str, status: &str| (id.to_string(), name.to_string(), status.to_string());
    assert_eq!(
        brief(&first),
        [
            owned(FINANCE, "corp-finance", "active"),
            owned(HR, "corp-hr", "active")
        ]
    );
    assert_eq!(
        first.body["page_info"],
        json!({"next_marker": LEGACY, "current_count": 2})
    );
    let account = &first.body["accounts"][0];
    assert_eq!(account["join_method"], "created");
    assert_eq!(first.body["accounts"][1]["join_method"], "invited");
    assert!(
        account["urn"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/{FINANCE}"))
    );
    assert!(account["joined_at"].as_str().unwrap().ends_with('Z'));
    let second = client
        .signed(
            Method::GET,
            path,
            &[("limit", "2"), ("marker", LEGACY)],
            None,
        )
        .await;
    assert_eq!(brief(&second), [owned(LEGACY, "corp-legacy", "suspended")]);
    assert_eq!(
        second.body["page_info"],
        json!({"next_marker": null, "current_count": 1})
    );
    let all = client.signed(Method::GET, path, &[], None).await;
    assert_eq!(all.body["page_info"]["current_count"], 3);
    for query in [
        [("limit", "0")],
        [("limit", "1001")],
        [("marker", "nobody")],
    ] {
        let bad = client.signed(Method::GET, path, &query, None).await;
        assert_eq!(bad.status, 400, "{query:?}: {}", bad.body);
    }

    // A member's credentials may not list.
    let issued = security_tokens(&client, json!({"domain_id": FINANCE})).await;
    let refused = get_as(&client, &issued.body["credential"], FINANCE, path, &[]).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    // The main account's token may.
    let token = client.token().await;
    let listed = client
        .with_token(&token, Method::GET, path, &[], None)
        .await;
    assert_eq!(
        listed.body["page_info"]["current_count"], 3,
        "{}",
        listed.body
    );
}
