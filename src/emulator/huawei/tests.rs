//! The Huawei IAM emulator over real HTTP: tokens, AK/SK signatures checked as received, users
//! and login protection, its error bodies, and two instances side by side.

use super::super::canon::{owned, percent_encode};
use super::lifecycle::group_id;
use super::verify::{self, Received};
use super::{DOMAIN_NAME, IAM_PASSWORD, IAM_USER, Route, user_id};
use crate::emulator::testing::{self, Answer};
use crate::emulator::{Emulator, EmulatorConfig, Knobs};
use crate::jobs::ProviderKind;
use crate::secret::Secret;
use axum::http::Method;
use serde_json::{Value, json};
use std::time::Duration;
use time::OffsetDateTime;

const AK: &str = "emulator-huawei-ak";
const SK: &str = "emulator-huawei-sk";
const DOMAIN_ID: &str = "emulator-huawei-domain";

/// Signs on the test side with the emulator's canonicalisation (pinned to Huawei's published
/// vectors in `verify.rs`), never with the client's signer.
struct Signer<'a> {
    ak: &'a str,
    sk: &'a str,
    domain_id: Option<&'a str>,
    time: OffsetDateTime,
}

const KEYS: Signer = Signer {
    ak: AK,
    sk: SK,
    domain_id: Some(DOMAIN_ID),
    time: OffsetDateTime::UNIX_EPOCH,
};

impl Signer<'_> {
    /// The same signer, signing now.
    fn now(&self) -> Signer<'_> {
        Signer {
            time: OffsetDateTime::now_utc(),
            ..*self
        }
    }

    /// The headers of a request signed at the signer's time: `x-sdk-date`, `x-domain-id`, a JSON
    /// `content-type` for a body, `extra` (lower-case names), all signed with `host`, and
    /// `authorization`.
    fn headers(
        &self,
        method: &str,
        host: &str,
        path: &str,
        query: &[(String, String)],
        body: &[u8],
        extra: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let date = sdk_date(self.time);
        let mut headers = vec![("x-sdk-date".to_string(), date.clone())];
        if let Some(id) = self.domain_id {
            headers.push(("x-domain-id".into(), id.into()));
        }
        if !body.is_empty() {
            headers.push(("content-type".into(), "application/json".into()));
        }
        headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut all = headers.clone();
        all.push(("host".into(), host.into()));
        let mut signed: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
        signed.sort_unstable();
        let query = encoded(query);
        let received = Received {
            method,
            path,
            query: &query,
            headers: &all,
            body,
        };
        // As a client signs: the declared payload hash if there is one, else the body's.
        let hash = extra
            .iter()
            .find(|(k, _)| *k == "x-sdk-content-sha256")
            .map_or_else(
                || verify::payload_hash(&received).unwrap(),
                |(_, v)| v.to_string(),
            );
        let canonical = verify::canonical_request(&received, &signed, &hash).unwrap();
        let signature = verify::expected(self.sk, &verify::string_to_sign(&date, &canonical));
        let authorization = format!(
            "SDK-HMAC-SHA256 Access={}, SignedHeaders={}, Signature={signature}",
            self.ak,
            signed.join(";")
        );
        headers.push(("authorization".into(), authorization));
        headers
    }
}

struct Client {
    http: reqwest::Client,
    base: url::Url,
}

/// `YYYYMMDDTHHMMSSZ`.
fn sdk_date(t: OffsetDateTime) -> String {
    t.format(time::macros::format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ))
    .unwrap()
}

/// A query string: pairs percent-encoded in the order given.
fn encoded(query: &[(String, String)]) -> String {
    query
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Client {
    fn host(&self) -> String {
        format!(
            "{}:{}",
            self.base.host_str().unwrap(),
            self.base.port().unwrap()
        )
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Answer {
        let mut url = self.base.join(path).unwrap();
        let q = encoded(query);
        if !q.is_empty() {
            url.set_query(Some(&q));
        }
        let mut request = self.http.request(method, url).body(body);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        Answer::read(request.send().await.unwrap()).await.unwrap()
    }

    async fn signed_by(
        &self,
        signer: &Signer<'_>,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let query = owned(query);
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let headers = signer.headers(method.as_str(), &self.host(), path, &query, &body, &[]);
        self.send(method, path, &query, &headers, body).await
    }

    async fn signed(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        self.signed_by(&KEYS.now(), method, path, query, body).await
    }

    async fn with_token(
        &self,
        token: &str,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let mut headers = vec![("X-Auth-Token".to_string(), token.to_string())];
        if body.is_some() {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        self.send(method, path, &owned(query), &headers, body).await
    }

    async fn issue_token(&self, user: &str, password: &str, domain: &str) -> Answer {
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "password": password, "domain": {"name": domain}}}},
            "scope": {"domain": {"name": domain}}}});
        let headers = [(
            "Content-Type".to_string(),
            "application/json;charset=utf8".to_string(),
        )];
        let query = owned(&[("nocatalog", "true")]);
        self.send(
            Method::POST,
            "/v3/auth/tokens",
            &query,
            &headers,
            body.to_string().into_bytes(),
        )
        .await
    }

    async fn token(&self) -> String {
        let answer = self.issue_token(IAM_USER, IAM_PASSWORD, DOMAIN_NAME).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.header("x-subject-token").to_string()
    }

    /// The id of `name`, looked up by name (the user must exist).
    async fn user_id(&self, name: &str) -> String {
        let found = self
            .signed(Method::GET, "/v3/users", &[("name", name)], None)
            .await;
        assert_eq!(found.status, 200, "{}", found.body);
        found.body["users"][0]["id"].as_str().unwrap().to_string()
    }
}

/// An emulator whose account has the users alice and `ops admin+1`, unless the config names a
/// users file: users exist only if someone created them.
async fn start(config: EmulatorConfig) -> (Emulator, Client) {
    let users = json!({"alice": {}, "ops admin+1": {}});
    let (emulator, http, base) = testing::start(config, ProviderKind::Huawei, users).await;
    (emulator, Client { http, base })
}

fn protect_path(id: &str) -> String {
    format!("/v3.0/OS-USER/users/{id}/login-protect")
}

fn enable(method: &str) -> Option<Value> {
    Some(json!({"login_protect": {"enabled": true, "verification_method": method}}))
}

#[tokio::test]
async fn a_token_is_issued_and_lets_the_user_set_login_protection() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let issued = client
        .issue_token(IAM_USER, IAM_PASSWORD, DOMAIN_NAME)
        .await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    let token = issued.header("x-subject-token").to_string();
    assert!(token.starts_with("MII") && token.len() > 100);
    assert_eq!(issued.header("x-request-id").len(), 32);
    let body = &issued.body["token"];
    let expires_at = OffsetDateTime::parse(
        body["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let ttl = expires_at - OffsetDateTime::now_utc();
    assert!(
        ttl > time::Duration::hours(23) && ttl <= time::Duration::hours(24),
        "{ttl}"
    );
    assert_eq!(body["user"]["name"], IAM_USER);
    assert_eq!(body["domain"]["name"], DOMAIN_NAME);
    assert!(body.get("catalog").is_none(), "nocatalog=true");

    let found = client
        .with_token(&token, Method::GET, "/v3/users", &[("name", "alice")], None)
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let users = found.body["users"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    let id = users[0]["id"].as_str().unwrap();
    assert_eq!(id, user_id(DOMAIN_ID, "alice"));
    assert_eq!(users[0]["domain_id"], DOMAIN_ID);
    assert_eq!(found.body["links"]["next"], Value::Null);

    let put = client
        .with_token(&token, Method::PUT, &protect_path(id), &[], enable("vmfa"))
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let expected =
        json!({"login_protect": {"user_id": id, "enabled": true, "verification_method": "vmfa"}});
    assert_eq!(put.body, expected);
    let got = client
        .with_token(&token, Method::GET, &protect_path(id), &[], None)
        .await;
    assert_eq!(got.body, expected);

    let state = emulator.state()["huawei"].clone();
    assert_eq!(state["users"]["alice"]["updates"], 1);
    assert_eq!(state["users"]["alice"]["login_protect"]["enabled"], true);
    assert_eq!(state["tokens_issued"], 1);
    let log = emulator.requests();
    let actions: Vec<&str> = log.iter().map(|l| l["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "KeystoneCreateUserTokenByPassword",
            "KeystoneListUsers",
            "UpdateLoginProtect",
            "ShowUserLoginProtect"
        ]
    );
    assert!(log.iter().all(|l| l["account"] == IAM_USER));
    assert_eq!(log[1]["user"], "alice");
    assert_eq!(log[2]["user"], id);
    let everything = format!("{state} {log:?}");
    assert!(!everything.contains(IAM_PASSWORD) && !everything.contains(&token));
}

#[tokio::test]
async fn bad_passwords_and_dead_tokens_are_401() {
    let config = EmulatorConfig {
        token_ttl: Duration::from_millis(1500),
        ..Default::default()
    };
    let (emulator, client) = start(config).await;
    for (user, password, domain) in [
        (IAM_USER, "wrong", DOMAIN_NAME),
        ("nobody", IAM_PASSWORD, DOMAIN_NAME),
        (IAM_USER, IAM_PASSWORD, "other-corp"),
    ] {
        let refused = client.issue_token(user, password, domain).await;
        assert_eq!(refused.status, 401, "{user} {domain}");
        assert_eq!(
            refused.body["error"]["message"],
            "The username or password is wrong."
        );
        assert_eq!(refused.header("x-subject-token"), "");
    }
    let token = client.token().await;
    // A refused login acted in no account; the good one in ours.
    let logins: Vec<Value> = (emulator.requests().into_iter())
        .filter(|l| l["action"] == "KeystoneCreateUserTokenByPassword")
        .map(|l| l["account_id"].clone())
        .collect();
    assert_eq!(logins, ["", "", "", DOMAIN_ID]);
    let path = "/v3.0/OS-USER/login-protects";
    let live = client
        .with_token(&token, Method::GET, path, &[], None)
        .await;
    assert_eq!(live.status, 200, "{}", live.body);
    assert_eq!(live.body, json!({"login_protects": []}));

    let unauthorized = json!({"error": {"code": 401,
        "message": "The request you have made requires authentication.", "title": "Unauthorized"}});
    let forged = client
        .with_token("MIIforged", Method::GET, path, &[], None)
        .await;
    assert_eq!((forged.status, &forged.body), (401, &unauthorized));
    let none = client.send(Method::GET, path, &[], &[], Vec::new()).await;
    assert_eq!((none.status, &none.body), (401, &unauthorized));

    tokio::time::sleep(Duration::from_millis(1600)).await;
    let expired = client
        .with_token(&token, Method::GET, path, &[], None)
        .await;
    assert_eq!((expired.status, &expired.body), (401, &unauthorized));

    // A password change (here: a patch) invalidates tokens before they expire.
    let fresh = client.token().await;
    emulator
        .tamper(&json!({"huawei": {"revoke_tokens": true}}))
        .unwrap();
    let revoked = client
        .with_token(&fresh, Method::GET, path, &[], None)
        .await;
    assert_eq!(revoked.status, 401);
    let outcomes: Vec<String> = emulator
        .requests()
        .iter()
        .filter(|l| l["status"] == 401)
        .map(|l| l["outcome"].as_str().unwrap().to_string())
        .collect();
    // Wrong passwords are answered by the token API itself; bad tokens are refused before.
    assert_eq!(
        outcomes,
        [
            "ok", "ok", "ok", "rejected", "rejected", "rejected", "rejected"
        ]
    );
}

#[tokio::test]
async fn aksk_signatures_are_checked_as_received() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let good = client
        .signed(Method::GET, "/v3/users", &[("name", "ops admin+1")], None)
        .await;
    assert_eq!(good.status, 200, "{}", good.body);
    assert_eq!(good.body["users"][0]["name"], "ops admin+1");
    let id = good.body["users"][0]["id"].as_str().unwrap().to_string();
    let put = client
        .signed(Method::PUT, &protect_path(&id), &[], enable("sms"))
        .await;
    assert_eq!(put.status, 200, "{}", put.body);

    let failed = |answer: &Answer, detail: &str| {
        assert_eq!(
            (answer.status, answer.error_code()),
            (401, "APIG.0301"),
            "{}",
            answer.body
        );
        let message = answer.body["error_msg"].as_str().unwrap();
        assert!(message.contains(detail), "{message}");
        assert_eq!(answer.body["request_id"], answer.header("x-request-id"));
        assert!(!answer.body.to_string().contains(SK));
    };
    // The query changed after signing.
    let query = owned(&[("name", "alice")]);
    let headers = KEYS
        .now()
        .headers("GET", &client.host(), "/v3/users", &query, b"", &[]);
    let answer = client
        .send(
            Method::GET,
            "/v3/users",
            &owned(&[("name", "mallory")]),
            &headers,
            Vec::new(),
        )
        .await;
    failed(&answer, "verify aksk signature fail");

    // The body changed after signing.
    let signed_body = enable("sms").unwrap().to_string().into_bytes();
    let path = protect_path(&id);
    let headers = KEYS
        .now()
        .headers("PUT", &client.host(), &path, &[], &signed_body, &[]);
    let sent = enable("email").unwrap().to_string().into_bytes();
    let answer = client.send(Method::PUT, &path, &[], &headers, sent).await;
    failed(&answer, "verify aksk signature fail");

    // Signed with the wrong SK, too long ago, by an unknown AK, without the account id.
    let bad_signers = [
        (
            Signer {
                sk: "not-the-sk",
                ..KEYS
            }
            .now(),
            "verify aksk signature fail",
        ),
        (
            Signer {
                time: OffsetDateTime::now_utc() - time::Duration::minutes(16),
                ..KEYS
            },
            "X-Sdk-Date",
        ),
        (
            Signer {
                ak: "nobody",
                ..KEYS
            }
            .now(),
            "ak:nobody,err:ak not exist",
        ),
        (
            Signer {
                domain_id: None,
                ..KEYS
            }
            .now(),
            "X-Domain-Id",
        ),
    ];
    for (signer, detail) in bad_signers {
        let answer = client
            .signed_by(&signer, Method::GET, "/v3/users", &[], None)
            .await;
        failed(&answer, detail);
    }

    let log = emulator.requests();
    assert!(
        log[..2]
            .iter()
            .all(|l| l["outcome"] == "ok" && l["account"] == AK)
    );
    assert!(log[2..].iter().all(|l| l["outcome"] == "rejected"));
    assert_eq!(log[6]["account"], "nobody");
    assert_eq!(
        emulator.state()["huawei"]["users"]["ops admin+1"]["login_protect"]["verification_method"],
        "sms"
    );
}

#[tokio::test]
async fn five_bad_signatures_in_a_row_lock_the_ak() {
    let (_emulator, client) = start(EmulatorConfig::default()).await;
    let wrong_sk = Signer {
        sk: "not-the-sk",
        ..KEYS
    };
    for _ in 0..5 {
        let answer = client
            .signed_by(&wrong_sk.now(), Method::GET, "/v3/users", &[], None)
            .await;
        assert!(
            answer.body["error_msg"]
                .as_str()
                .unwrap()
                .ends_with("signature fail")
        );
    }
    let locked = client.signed(Method::GET, "/v3/users", &[], None).await;
    assert_eq!(locked.status, 401);
    assert!(
        locked.body["error_msg"]
            .as_str()
            .unwrap()
            .contains("AK access failed to reach the limit,forbidden."),
        "{}",
        locked.body
    );
    // Tokens do not depend on the AK.
    let token = client.token().await;
    let listed = client
        .with_token(&token, Method::GET, "/v3/users", &[], None)
        .await;
    assert_eq!(listed.status, 200);
}

#[tokio::test]
async fn login_protection_errors() {
    let (_emulator, client) = start(EmulatorConfig::default()).await;
    let id = client.user_id("alice").await;

    let never = client
        .signed(Method::GET, &protect_path(&id), &[], None)
        .await;
    assert_eq!((never.status, never.error_code()), (404, "IAM.0004"));
    assert_eq!(
        never.body["error_msg"],
        format!("Could not find login_protect: {id}.")
    );
    assert!(never.body.get("request_id").is_none());
    assert_eq!(never.header("x-request-id").len(), 32);

    let stranger = "0123456789abcdef0123456789abcdef";
    for (method, body) in [(Method::GET, None), (Method::PUT, enable("vmfa"))] {
        let answer = client
            .signed(method, &protect_path(stranger), &[], body)
            .await;
        assert_eq!((answer.status, answer.error_code()), (404, "IAM.0004"));
        assert_eq!(
            answer.body["error_msg"],
            format!("Could not find user: {stranger}.")
        );
    }

    for (body, code) in [
        (json!({"enabled": true}), "IAM.0011"),
        (json!({"login_protect": {"enabled": true}}), "IAM.0007"),
        (
            json!({"login_protect": {"verification_method": "sms"}}),
            "IAM.0007",
        ),
        (
            json!({"login_protect": {"enabled": "yes", "verification_method": "sms"}}),
            "IAM.0007",
        ),
        (
            json!({"login_protect": {"enabled": true, "verification_method": "totp"}}),
            "IAM.0007",
        ),
    ] {
        let answer = client
            .signed(Method::PUT, &protect_path(&id), &[], Some(body.clone()))
            .await;
        assert_eq!((answer.status, answer.error_code()), (400, code), "{body}");
    }

    let unknown_api = client
        .signed(Method::DELETE, &protect_path(&id), &[], None)
        .await;
    assert_eq!(
        (unknown_api.status, unknown_api.error_code()),
        (404, "APIG.0101")
    );
}

#[tokio::test]
async fn users_from_a_file_are_the_only_users() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.json");
    std::fs::write(
        &users,
        json!({"huawei": ["carol", "alice", "bob"]}).to_string(),
    )
    .unwrap();
    let config = EmulatorConfig {
        users: Some(users),
        ..Default::default()
    };
    let (emulator, client) = start(config).await;

    let nobody = client
        .signed(Method::GET, "/v3/users", &[("name", "mallory")], None)
        .await;
    assert_eq!(nobody.status, 200);
    assert_eq!(nobody.body["users"], json!([]));

    let all = client
        .signed(Method::GET, "/v3/users", &[("domain_id", DOMAIN_ID)], None)
        .await;
    let names: Vec<&str> = all.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    assert_eq!(all.body["users"][0]["access_mode"], "default");
    assert_eq!(all.body["links"]["next"], Value::Null);
    emulator
        .tamper(&json!({"huawei": {"users": {"carol": {"access_mode": "programmatic"}}}}))
        .unwrap();
    let all = client.signed(Method::GET, "/v3/users", &[], None).await;
    assert_eq!(all.body["users"][2]["access_mode"], "programmatic");
    assert_eq!(
        emulator.state()["huawei"]["users"]["carol"]["access_mode"],
        "programmatic"
    );
    let bad = json!({"huawei": {"users": {"carol": {"access_mode": "web"}}}});
    assert!(
        emulator
            .tamper(&bad)
            .unwrap_err()
            .contains("carol: access_mode 'web'")
    );
    let bad = json!({"huawei": {"users": {"carol": {"login_protect": {
        "enabled": true, "verification_method": "fax"}}}}});
    let refused = emulator.tamper(&bad).unwrap_err();
    assert!(
        refused.contains("carol: verification_method 'fax'"),
        "{refused}"
    );
    assert!(emulator.state()["huawei"]["users"]["carol"]["login_protect"].is_null());
    let other = client
        .signed(Method::GET, "/v3/users", &[("domain_id", "another")], None)
        .await;
    assert_eq!(other.body["users"], json!([]));

    emulator
        .tamper(&json!({"huawei": {"users": {"bob": {"login_protect": {
            "enabled": true, "verification_method": "email"}}}}}))
        .unwrap();
    let listed = client
        .signed(Method::GET, "/v3.0/OS-USER/login-protects", &[], None)
        .await;
    assert_eq!(
        listed.body,
        json!({"login_protects": [{"user_id": user_id(DOMAIN_ID, "bob"),
            "enabled": true, "verification_method": "email"}]})
    );
    assert_eq!(emulator.state()["huawei"]["users"]["bob"]["updates"], 0);
    let typo = json!({"huawei": {"users": {"bob": {"login_protect": {
        "enabled": true, "verification_method": "fax"}}}}});
    assert!(emulator.tamper(&typo).unwrap_err().contains("fax"));
    emulator
        .tamper(&json!({"huawei": {"users": {"bob": {"login_protect": null}}}}))
        .unwrap();
    assert_eq!(
        emulator.state()["huawei"]["users"]["bob"]["login_protect"],
        Value::Null
    );
}

#[tokio::test]
async fn throttling_and_faults_have_huawei_bodies() {
    let config = EmulatorConfig::with_knobs(Knobs {
        rate: Some(1.0),
        ..Default::default()
    });
    let (emulator, client) = start(config).await;
    client.signed(Method::GET, "/v3/users", &[], None).await;
    let throttled = client.signed(Method::GET, "/v3/users", &[], None).await;
    assert_eq!(
        (throttled.status, throttled.error_code()),
        (429, "APIG.0308")
    );
    assert!(
        throttled.body["error_msg"]
            .as_str()
            .unwrap()
            .starts_with("The throttling threshold has been reached")
    );
    assert_eq!(
        throttled.body["request_id"],
        throttled.header("x-request-id")
    );

    emulator
        .set_knobs(crate::emulator::KnobChange {
            rate: Some(None),
            fault_rate: Some(1.0),
            ..Default::default()
        })
        .unwrap();
    let first = client.signed(Method::GET, "/v3/users", &[], None).await;
    assert_eq!((first.status, first.error_code()), (500, "IAM.0006"));
    let second = client.signed(Method::GET, "/v3/users", &[], None).await;
    assert_eq!(second.status, 503);
    assert!(second.body.as_str().unwrap().contains("<html>"));
    let outcomes: Vec<String> = emulator
        .requests()
        .iter()
        .map(|l| l["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(outcomes, ["ok", "throttled", "fault", "fault"]);
}

#[tokio::test]
async fn two_instances_are_two_clouds() {
    let (global, global_client) = start(EmulatorConfig::default()).await;
    let kl_config = EmulatorConfig {
        accounts: vec![(
            ProviderKind::Huawei,
            "kl-admin".into(),
            Secret::new("kl-Passw0rd"),
        )],
        ..Default::default()
    };
    let (kl, kl_client) = start(kl_config).await;
    kl.tamper(&json!({"huawei": {"users": {"dave": {}}}}))
        .unwrap();
    assert_ne!(
        global.endpoint(ProviderKind::Huawei),
        kl.endpoint(ProviderKind::Huawei)
    );

    // The extra account is an IAM user of the second cloud only.
    assert_eq!(
        global_client
            .issue_token("kl-admin", "kl-Passw0rd", DOMAIN_NAME)
            .await
            .status,
        401
    );
    let issued = kl_client
        .issue_token("kl-admin", "kl-Passw0rd", DOMAIN_NAME)
        .await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    let kl_token = issued.header("x-subject-token").to_string();

    // Tokens are the issuing cloud's own.
    let path = "/v3/users";
    let elsewhere = global_client
        .with_token(&kl_token, Method::GET, path, &[("name", "dave")], None)
        .await;
    assert_eq!(elsewhere.status, 401);
    let home = kl_client
        .with_token(&kl_token, Method::GET, path, &[("name", "dave")], None)
        .await;
    assert_eq!(home.status, 200);
    assert_eq!(home.body["users"][0]["name"], "dave", "{}", home.body);

    // Users are the account's own: dave exists in the second cloud only.
    let global_users = global.state()["huawei"]["users"].clone();
    assert!(global_users.get("dave").is_none(), "{global_users}");
    assert_eq!(global.requests().len(), 2);
    assert_eq!(kl.requests().len(), 2);
}

#[test]
fn routes() {
    let id = "0123456789abcdef0123456789abcdef";
    let path = protect_path(id);
    assert_eq!(
        Route::parse(&Method::PUT, &path),
        Some(Route::UpdateLoginProtect(id.into()))
    );
    assert_eq!(
        Route::parse(&Method::GET, &path),
        Some(Route::ShowLoginProtect(id.into()))
    );
    assert_eq!(Route::parse(&Method::DELETE, &path), None);
    assert_eq!(
        Route::parse(&Method::GET, "/v3.0/OS-USER/users/a%2Fb/login-protect"),
        Some(Route::ShowLoginProtect("a/b".into()))
    );
    assert_eq!(
        Route::parse(&Method::GET, "/v3.0/OS-USER/users/a/b/login-protect"),
        None
    );
    assert_eq!(Route::parse(&Method::GET, "/v3/auth/tokens"), None);
}

#[test]
fn user_ids_are_stable_32_hex_and_per_account() {
    let a = user_id("d1", "alice");
    assert_eq!(a.len(), 32);
    assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(a, user_id("d1", "alice"));
    assert_ne!(a, user_id("d2", "alice"));
    assert_ne!(a, user_id("d1", "bob"));
}

#[tokio::test]
async fn a_user_nobody_created_is_not_found() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let listed = client
        .signed(Method::GET, "/v3/users", &[("name", "ghost")], None)
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["users"], json!([]));
    let id = user_id(DOMAIN_ID, "ghost");
    let put = client
        .signed(Method::PUT, &protect_path(&id), &[], enable("vmfa"))
        .await;
    assert_eq!((put.status, put.error_code()), (404, "IAM.0004"));
    assert!(emulator.state()["huawei"]["users"].get("ghost").is_none());
}

#[tokio::test]
async fn a_body_that_does_not_match_its_declared_hash_is_refused() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let id = client.user_id("alice").await;
    let path = protect_path(&id);
    let signed_body = enable("sms").unwrap().to_string().into_bytes();
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&signed_body));
    let declaring = |declared: &str| {
        let declared = [("x-sdk-content-sha256", declared)];
        (KEYS.now()).headers("PUT", &client.host(), &path, &[], &signed_body, &declared)
    };
    let good = client
        .send(
            Method::PUT,
            &path,
            &[],
            &declaring(&hash),
            signed_body.clone(),
        )
        .await;
    assert_eq!(good.status, 200, "{}", good.body);

    // Another body under the signed hash; a JSON body that opts out of hashing.
    let tampered = enable("vmfa").unwrap().to_string().into_bytes();
    for (declared, body) in [
        (hash.as_str(), tampered),
        ("UNSIGNED-PAYLOAD", signed_body.clone()),
    ] {
        let answer = client
            .send(Method::PUT, &path, &[], &declaring(declared), body)
            .await;
        let refused = (answer.status, answer.error_code());
        assert_eq!(refused, (401, "APIG.0301"), "{declared}: {}", answer.body);
    }
    let protect = &emulator.state()["huawei"]["users"]["alice"]["login_protect"];
    assert_eq!(protect["verification_method"], "sms", "nothing applied");
}

#[tokio::test]
async fn a_security_token_is_accepted_only_with_the_ak_it_was_issued_with() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    emulator
        .tamper(&json!({"huawei": {"temporary_keys": {
            "TEMPAK": {"secret": "temp-sk", "security_token": "issued-token"}}}}))
        .unwrap();
    let temp = Signer {
        ak: "TEMPAK",
        sk: "temp-sk",
        ..KEYS
    };
    let list = |signer: &Signer<'_>, token: Option<&str>| {
        let extra: Vec<(&str, &str)> = token.map(|t| ("x-security-token", t)).into_iter().collect();
        signer
            .now()
            .headers("GET", &client.host(), "/v3/users", &[], b"", &extra)
    };
    let ok = client
        .send(
            Method::GET,
            "/v3/users",
            &[],
            &list(&temp, Some("issued-token")),
            vec![],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    for headers in [
        list(&temp, Some("forged-token")),
        list(&temp, None),
        list(&KEYS, Some("forged-token")),
    ] {
        let answer = client
            .send(Method::GET, "/v3/users", &[], &headers, vec![])
            .await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (401, "APIG.0301"),
            "{}",
            answer.body
        );
    }
    // A forged X-Auth-Token is refused as well: only tokens this instance issued count.
    let forged = client
        .with_token("MIIforged", Method::GET, "/v3/users", &[], None)
        .await;
    assert_eq!(forged.status, 401);
}

const PASSWORD: &str = "canary-Passw0rd!";

/// CreateUser's body as the tool sends it.
fn new_user(name: &str) -> Value {
    json!({"user": {"name": name, "domain_id": DOMAIN_ID, "password": PASSWORD,
        "access_mode": "console", "email": format!("{name}@example.com"),
        "areacode": "0086", "phone": "13800000000", "description": "finance"}})
}

const USERS: &str = "/v3.0/OS-USER/users";

#[tokio::test]
async fn create_user_is_201_and_shows_in_both_user_apis() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let token = client.token().await;
    let created = client
        .with_token(&token, Method::POST, USERS, &[], Some(new_user("dana")))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let user = &created.body["user"];
    let id = user["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    assert_eq!(
        (&user["name"], &user["domain_id"], &user["enabled"]),
        (&json!("dana"), &json!(DOMAIN_ID), &json!(true))
    );
    assert_eq!(
        (&user["access_mode"], &user["pwd_status"], &user["email"]),
        (&json!("console"), &json!(true), &json!("dana@example.com"))
    );
    let create_time = user["create_time"].as_str().unwrap();
    assert!(
        time::PrimitiveDateTime::parse(
            create_time,
            time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]")
        )
        .is_ok(),
        "{create_time}"
    );
    assert!(!created.body.to_string().contains(PASSWORD));
    assert_eq!(
        emulator.has_password(ProviderKind::Huawei, "dana", PASSWORD),
        Some(true)
    );
    let log = emulator.requests();
    assert_eq!(
        (&log[1]["action"], &log[1]["user"]),
        (&json!("CreateUser"), &json!("dana"))
    );

    let shown = client
        .signed(Method::GET, &format!("{USERS}/{id}"), &[], None)
        .await;
    assert_eq!(shown.status, 200);
    assert_eq!(
        (
            &shown.body["user"]["areacode"],
            &shown.body["user"]["phone"]
        ),
        (&json!("0086"), &json!("13800000000"))
    );
    assert_eq!(shown.body["user"]["create_time"], create_time);
    let keystone = client
        .signed(Method::GET, &format!("/v3/users/{id}"), &[], None)
        .await;
    assert_eq!(keystone.body["user"]["description"], "finance");
    assert!(keystone.body["user"].get("email").is_none());
    assert_eq!(client.user_id("dana").await, id);

    let again = client
        .with_token(&token, Method::POST, USERS, &[], Some(new_user("dana")))
        .await;
    assert_eq!((again.status, again.error_code()), (400, "1109"));

    // Without a password: no change at first login unless asked.
    let bare = json!({"user": {"name": "eli", "domain_id": DOMAIN_ID}});
    let created = client.signed(Method::POST, USERS, &[], Some(bare)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        (
            &created.body["user"]["pwd_status"],
            &created.body["user"]["access_mode"]
        ),
        (&json!(false), &json!("default"))
    );
    assert_eq!(
        emulator.has_password(ProviderKind::Huawei, "eli", PASSWORD),
        None
    );
}

#[tokio::test]
async fn create_user_refuses_bad_fields_with_iam_codes() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let seeded = testing::users(&emulator, ProviderKind::Huawei);
    client
        .signed(Method::POST, USERS, &[], Some(new_user("dana")))
        .await;
    let with = |changes: Value| {
        let mut body = new_user("erin");
        for (k, v) in changes.as_object().unwrap() {
            match v {
                Value::Null => body["user"].as_object_mut().unwrap().remove(k),
                v => body["user"]
                    .as_object_mut()
                    .unwrap()
                    .insert(k.clone(), v.clone()),
            };
        }
        body
    };
    for (changes, status, code) in [
        (json!({"name": null}), 400, "1100"),
        (json!({"domain_id": null}), 400, "1100"),
        (json!({"domain_id": "another"}), 400, "IAM.0007"),
        (json!({"name": "9lives"}), 400, "1101"),
        (json!({"name": " erin"}), 400, "1101"),
        (json!({"name": "erin/x"}), 400, "1101"),
        (json!({"name": "e".repeat(65)}), 400, "1101"),
        (json!({"password": "short"}), 400, "1103"),
        (json!({"email": "erin"}), 400, "1102"),
        (json!({"email": "dana@example.com"}), 400, "1110"),
        (json!({"phone": null}), 400, "1106"),
        (json!({"phone": "12ab"}), 400, "1104"),
        (json!({"email": "erin@example.com"}), 400, "1111"),
        (json!({"description": "d".repeat(256)}), 400, "1117"),
        (json!({"access_mode": "web"}), 400, "IAM.0007"),
        (json!({"enabled": "yes"}), 400, "IAM.0011"),
    ] {
        let answer = client
            .signed(Method::POST, USERS, &[], Some(with(changes.clone())))
            .await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (status, code),
            "{changes}: {}",
            answer.body
        );
        assert!(!answer.body.to_string().contains(PASSWORD));
    }
    let not_json = client
        .signed(Method::POST, USERS, &[], Some(json!(["user"])))
        .await;
    assert_eq!((not_json.status, not_json.error_code()), (400, "IAM.0011"));
    let users = testing::users(&emulator, ProviderKind::Huawei);
    assert_eq!(
        users.as_object().unwrap().len(),
        seeded.as_object().unwrap().len() + 1
    );
    assert!(users.get("erin").is_none());
    // The 64-character name is the longest there is.
    let longest =
        with(json!({"name": "e".repeat(64), "email": null, "phone": null, "areacode": null}));
    let answer = client.signed(Method::POST, USERS, &[], Some(longest)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
}

#[tokio::test]
async fn update_user_disables_changes_contact_details_and_renames() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let id = client.user_id("alice").await;
    let path = format!("{USERS}/{id}");
    let disabled = client
        .signed(
            Method::PUT,
            &path,
            &[],
            Some(json!({"user": {"enabled": false}})),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert_eq!(disabled.body["user"]["enabled"], false);
    let listed = client
        .signed(Method::GET, "/v3/users", &[("enabled", "false")], None)
        .await;
    assert_eq!(listed.body["users"][0]["name"], "alice");
    assert_eq!(listed.body["users"].as_array().unwrap().len(), 1);

    let changed = client
        .signed(
            Method::PUT,
            &path,
            &[],
            Some(
                json!({"user": {"enabled": true, "access_mode": "programmatic",
                "email": "al@example.com", "areacode": "0086", "phone": "13900000000",
                "description": "ops", "name": "alice2"}}),
            ),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let state = &emulator.state()["huawei"]["users"]["alice2"];
    assert_eq!(
        (
            &state["id"],
            &state["enabled"],
            &state["access_mode"],
            &state["phone"]
        ),
        (
            &json!(id),
            &json!(true),
            &json!("programmatic"),
            &json!("13900000000")
        )
    );
    assert_eq!(state["updates"], 2);
    assert_eq!(client.user_id("alice2").await, id);

    for (body, code) in [
        (json!({"user": {"areacode": "0086"}}), "1106"),
        (json!({"user": {"name": "ops admin+1"}}), "1101"),
        (json!({"user": {"password": "short"}}), "1103"),
        (json!({"user": {"domain_id": DOMAIN_ID}}), "IAM.0007"),
        (json!({"name": "x"}), "IAM.0011"),
    ] {
        let answer = client
            .signed(Method::PUT, &path, &[], Some(body.clone()))
            .await;
        assert_eq!((answer.status, answer.error_code()), (400, code), "{body}");
    }
    // The other seeded user's name is taken.
    emulator
        .tamper(&json!({"huawei": {"users": {"bob": {"email": "bob@example.com"}}}}))
        .unwrap();
    for (body, code) in [
        (json!({"user": {"name": "bob"}}), "1109"),
        (json!({"user": {"email": "bob@example.com"}}), "1110"),
    ] {
        let answer = client
            .signed(Method::PUT, &path, &[], Some(body.clone()))
            .await;
        assert_eq!((answer.status, answer.error_code()), (400, code), "{body}");
    }
    let ghost = user_id(DOMAIN_ID, "ghost");
    for method in [Method::GET, Method::PUT] {
        let answer = client
            .signed(
                method.clone(),
                &format!("{USERS}/{ghost}"),
                &[],
                Some(json!({"user": {}})),
            )
            .await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (404, "IAM.0004"),
            "{method}"
        );
    }
}

#[tokio::test]
async fn groups_are_found_by_name_and_membership_is_put_checked_and_deleted() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    emulator
        .tamper(&json!({"huawei": {"groups": {
            "auditors": {"description": "read only", "created_at": 1_700_000_000},
            "ops": {}}}}))
        .unwrap();
    let found = client
        .signed(
            Method::GET,
            "/v3/groups",
            &[("domain_id", DOMAIN_ID), ("name", "auditors")],
            None,
        )
        .await;
    assert_eq!(found.status, 200);
    let group = &found.body["groups"][0];
    let gid = group_id(DOMAIN_ID, "auditors");
    assert_eq!(
        (
            &group["id"],
            &group["name"],
            &group["description"],
            &group["create_time"]
        ),
        (
            &json!(gid),
            &json!("auditors"),
            &json!("read only"),
            &json!(1_700_000_000_000i64)
        )
    );
    assert_eq!(found.body["groups"].as_array().unwrap().len(), 1);
    let none = client
        .signed(Method::GET, "/v3/groups", &[("name", "nobody")], None)
        .await;
    assert_eq!((none.status, &none.body["groups"]), (200, &json!([])));
    let all = client.signed(Method::GET, "/v3/groups", &[], None).await;
    assert_eq!(all.body["groups"].as_array().unwrap().len(), 2);

    let uid = client.user_id("alice").await;
    let member = format!("/v3/groups/{gid}/users/{uid}");
    let head = client.signed(Method::HEAD, &member, &[], None).await;
    assert_eq!(head.status, 404);
    for _ in 0..2 {
        // Re-adding a member is 204 too.
        let added = client.signed(Method::PUT, &member, &[], None).await;
        assert_eq!((added.status, &added.body), (204, &Value::Null));
        assert_eq!(added.header("x-request-id").len(), 32);
    }
    let head = client.signed(Method::HEAD, &member, &[], None).await;
    assert_eq!(head.status, 204);
    let groups = client
        .signed(Method::GET, &format!("/v3/users/{uid}/groups"), &[], None)
        .await;
    assert_eq!(groups.body["groups"][0]["name"], "auditors");
    assert_eq!(groups.body["groups"].as_array().unwrap().len(), 1);
    assert!(
        emulator.state()["huawei"]["groups"]["auditors"]["members"]
            .get("alice")
            .is_some()
    );

    let ghost = user_id(DOMAIN_ID, "ghost");
    let nogroup = group_id(DOMAIN_ID, "nobody");
    for (method, path) in [
        (Method::PUT, format!("/v3/groups/{nogroup}/users/{uid}")),
        (Method::PUT, format!("/v3/groups/{gid}/users/{ghost}")),
        (Method::DELETE, format!("/v3/groups/{nogroup}/users/{uid}")),
        (Method::GET, format!("/v3/users/{ghost}/groups")),
    ] {
        let answer = client.signed(method.clone(), &path, &[], None).await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (404, "IAM.0004"),
            "{method} {path}"
        );
    }
    let removed = client.signed(Method::DELETE, &member, &[], None).await;
    assert_eq!(removed.status, 204);
    let again = client.signed(Method::DELETE, &member, &[], None).await;
    assert_eq!((again.status, again.error_code()), (404, "IAM.0004"));
    let head = client.signed(Method::HEAD, &member, &[], None).await;
    assert_eq!(head.status, 404);
    let log: Vec<String> = (emulator.requests().iter())
        .map(|l| l["action"].as_str().unwrap().to_string())
        .collect();
    assert!(
        log.contains(&"KeystoneAddUserToGroup".to_string()),
        "{log:?}"
    );
    assert!(
        log.contains(&"KeystoneCheckUserInGroup".to_string()),
        "{log:?}"
    );
}

#[tokio::test]
async fn access_keys_are_listed_by_user_and_deleted() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    emulator
        .tamper(&json!({"huawei": {"users": {"alice": {"access_keys": [
            {"access": "AK-ONE", "created_at": 1_700_000_000},
            {"access": "AK-TWO", "status": "inactive", "description": "old"}]}}}}))
        .unwrap();
    let uid = client.user_id("alice").await;
    let path = "/v3.0/OS-CREDENTIAL/credentials";
    let listed = client
        .signed(Method::GET, path, &[("user_id", &uid)], None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(
        listed.body["credentials"][0],
        json!({"user_id": uid, "access": "AK-ONE", "status": "active",
            "create_time": "2023-11-14T22:13:20.000000Z", "description": ""})
    );
    assert_eq!(listed.body["credentials"][1]["status"], "inactive");
    let own = client.signed(Method::GET, path, &[], None).await;
    assert_eq!(own.body["credentials"], json!([]));

    let deleted = client
        .signed(Method::DELETE, &format!("{path}/AK-TWO"), &[], None)
        .await;
    assert_eq!(deleted.status, 204);
    let keys = &emulator.state()["huawei"]["users"]["alice"]["access_keys"];
    assert_eq!(keys.as_array().unwrap().len(), 1);
    let again = client
        .signed(Method::DELETE, &format!("{path}/AK-TWO"), &[], None)
        .await;
    assert_eq!((again.status, again.error_code()), (404, "IAM.0004"));
    let ghost = user_id(DOMAIN_ID, "ghost");
    let unknown = client
        .signed(Method::GET, path, &[("user_id", &ghost)], None)
        .await;
    assert_eq!((unknown.status, unknown.error_code()), (404, "IAM.0004"));
}

#[tokio::test]
async fn delete_user_is_204_then_404_and_a_new_user_of_that_name_gets_a_new_id() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    emulator
        .tamper(
            &json!({"huawei": {"groups": {"ops": {}}, "users": {"alice": {"groups": ["ops"]}},
            "mfa_devices": {"bound": {"alice": [{"serial_number": "iam/mfa/alice"}]}}}}),
        )
        .unwrap();
    let uid = client.user_id("alice").await;
    let deleted = client
        .signed(Method::DELETE, &format!("/v3/users/{uid}"), &[], None)
        .await;
    assert_eq!(deleted.status, 204);
    for (method, path) in [
        (Method::DELETE, format!("/v3/users/{uid}")),
        (Method::GET, format!("/v3/users/{uid}")),
        (Method::GET, format!("{USERS}/{uid}")),
        (Method::GET, protect_path(&uid)),
    ] {
        let answer = client.signed(method.clone(), &path, &[], None).await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (404, "IAM.0004"),
            "{method} {path}"
        );
    }
    let listed = client
        .signed(Method::GET, "/v3/users", &[("name", "alice")], None)
        .await;
    assert_eq!(listed.body["users"], json!([]));
    let state = &emulator.state()["huawei"];
    assert_eq!(state["groups"]["ops"]["members"], json!({}));
    assert_eq!(state["mfa_devices"]["bound"], json!({}));

    let created = client
        .signed(
            Method::POST,
            USERS,
            &[],
            Some(json!({"user": {"name": "alice", "domain_id": DOMAIN_ID}})),
        )
        .await;
    assert_eq!(created.status, 201);
    assert_ne!(created.body["user"]["id"], json!(uid));
    let stale = client
        .signed(Method::GET, &format!("/v3/users/{uid}"), &[], None)
        .await;
    assert_eq!(stale.status, 404);
}

#[tokio::test]
async fn a_state_patch_seeds_contact_details_dates_and_groups() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    emulator
        .tamper(&json!({"huawei": {
            "users": {"erin": {"email": "erin@example.com", "areacode": "0086",
                "phone": "13700000000", "description": "audit", "enabled": false,
                "pwd_status": true, "created_at": 1_600_000_000, "groups": ["audit"]}},
            "groups": {"audit": {}}}}))
        .unwrap();
    let uid = client.user_id("erin").await;
    let shown = client
        .signed(Method::GET, &format!("{USERS}/{uid}"), &[], None)
        .await;
    let user = &shown.body["user"];
    assert_eq!(
        (
            &user["email"],
            &user["phone"],
            &user["description"],
            &user["enabled"]
        ),
        (
            &json!("erin@example.com"),
            &json!("13700000000"),
            &json!("audit"),
            &json!(false)
        )
    );
    assert_eq!(user["create_time"], "2020-09-13 12:26:40");
    let groups = client
        .signed(Method::GET, &format!("/v3/users/{uid}/groups"), &[], None)
        .await;
    assert_eq!(groups.body["groups"][0]["name"], "audit");

    let before = emulator.state()["huawei"].clone();
    let ghost = json!({"huawei": {"users": {"erin": {"groups": ["nowhere"]}}}});
    assert!(
        emulator
            .tamper(&ghost)
            .unwrap_err()
            .contains("erin: group nowhere does not exist")
    );
    let bad = json!({"huawei": {"users": {"erin": {"enabled": "no"}}}});
    assert!(emulator.tamper(&bad).unwrap_err().contains("erin"));
    assert_eq!(emulator.state()["huawei"], before, "nothing applied");
}

mod accounts;
