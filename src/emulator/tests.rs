//! The emulator over real HTTP on 127.0.0.1, through its Alibaba API: signing and replay checks, the
//! login-profile actions, and the knobs (rate, faults, drops), state and request log of the core.

use super::aliyun::{iso8601_seconds, verify};
use super::canon::percent_encode as rfc3986;
use super::testing::{self, Answer};
use super::{Emulator, EmulatorConfig, KnobChange, Knobs};
use crate::jobs::ProviderKind;
use crate::secret::Secret;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "emulator-aliyun-key";
const SECRET: &str = "emulator-aliyun-secret";
const ALICE: &str = "alice@corp.onaliyun.com";
const PASSWORD: &str = "canary-Passw0rd!";

/// Signed V1 parameters, built with the emulator's own canonicalisation (pinned to Alibaba's
/// published vectors in `aliyun/verify.rs`), never with the client's signer.
pub(super) struct Signer<'a> {
    pub(super) key: &'a str,
    pub(super) secret: &'a str,
}

pub(super) const EMULATOR_KEYS: Signer = Signer {
    key: KEY,
    secret: SECRET,
};

/// IMS, the API most tests call.
const IMS: &str = "2019-08-15";

impl Signer<'_> {
    fn params(
        &self,
        method: &str,
        action: &str,
        extra: &[(&str, &str)],
        time: OffsetDateTime,
        nonce: &str,
    ) -> Vec<(String, String)> {
        self.params_in(IMS, method, action, extra, time, nonce)
    }

    /// Parameters for `version`'s API.
    pub(super) fn params_in(
        &self,
        version: &str,
        method: &str,
        action: &str,
        extra: &[(&str, &str)],
        time: OffsetDateTime,
        nonce: &str,
    ) -> Vec<(String, String)> {
        let timestamp = iso8601_seconds(time);
        let mut params: Vec<(String, String)> = [
            ("Action", action),
            ("Version", version),
            ("Format", "JSON"),
            ("AccessKeyId", self.key),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", nonce),
            ("Timestamp", &timestamp),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let signature = verify::expected(self.secret, &verify::string_to_sign(method, &params));
        params.push(("Signature".into(), signature));
        params
    }

    /// Fresh time and nonce.
    fn now(&self, method: &str, action: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let nonce = uuid::Uuid::new_v4().to_string();
        self.params(method, action, extra, OffsetDateTime::now_utc(), &nonce)
    }
}

fn encode(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", rfc3986(k), rfc3986(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub(super) struct Client {
    http: reqwest::Client,
    base: url::Url,
}

impl Client {
    /// Sends `params` in the query string, as the SDK does.
    pub(super) async fn send(
        &self,
        method: reqwest::Method,
        params: &[(String, String)],
    ) -> reqwest::Result<Answer> {
        let url = format!("{}?{}", self.base, encode(params));
        Answer::read(self.http.request(method, url).send().await?).await
    }

    /// A freshly signed IMS POST with the emulator's keys.
    pub(super) async fn call(&self, action: &str, extra: &[(&str, &str)]) -> Answer {
        self.call_in(IMS, action, extra).await
    }

    /// A freshly signed POST to `version`'s API with the emulator's keys.
    pub(super) async fn call_in(
        &self,
        version: &str,
        action: &str,
        extra: &[(&str, &str)],
    ) -> Answer {
        let nonce = uuid::Uuid::new_v4().to_string();
        let now = OffsetDateTime::now_utc();
        let params = EMULATOR_KEYS.params_in(version, "POST", action, extra, now, &nonce);
        self.send(reqwest::Method::POST, &params).await.unwrap()
    }

    pub(super) async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.http.request(method, self.base.join(path).unwrap());
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        Answer::read(request.send().await.unwrap()).await.unwrap()
    }

    pub(super) async fn requests(&self) -> Vec<Value> {
        let url = self.base.join("/_emulator/requests").unwrap();
        let text = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

/// An emulator whose account has the user [`ALICE`] (without a login profile), unless the config
/// names a users file: users exist only if someone created them.
pub(super) async fn start(config: EmulatorConfig) -> (Emulator, Client) {
    let users = json!({ ALICE: {} });
    let (emulator, http, base) = testing::start(config, ProviderKind::Aliyun, users).await;
    (emulator, Client { http, base })
}

fn create_alice() -> [(&'static str, &'static str); 4] {
    [
        ("UserPrincipalName", ALICE),
        ("Password", PASSWORD),
        ("MFABindRequired", "true"),
        ("PasswordResetRequired", "true"),
    ]
}

fn alice_profile(emulator: &Emulator) -> Value {
    emulator.state()["aliyun"]["users"][ALICE]["login_profile"].clone()
}

#[tokio::test]
async fn create_then_get_round_trips_the_login_profile() {
    let (emulator, client) = start(EmulatorConfig::default()).await;

    let created = client.call("CreateLoginProfile", &create_alice()).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let profile = &created.body["LoginProfile"];
    assert_eq!(profile["UserPrincipalName"], ALICE);
    assert_eq!(profile["Status"], "Active");
    assert_eq!(profile["MFABindRequired"], true);
    assert_eq!(profile["PasswordResetRequired"], true);
    assert_eq!(profile["UpdateDate"].as_str().unwrap().len(), 20);
    let request_id = created.headers["x-acs-request-id"].to_str().unwrap();
    assert_eq!(created.body["RequestId"], request_id);

    // A GET with every parameter in the query string is signed with "GET".
    let params = EMULATOR_KEYS.now("GET", "GetLoginProfile", &[("UserPrincipalName", ALICE)]);
    let got = client.send(reqwest::Method::GET, &params).await.unwrap();
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["LoginProfile"], *profile);

    let state = emulator.state();
    let user = &state["aliyun"]["users"][ALICE];
    assert_eq!(user["creates"], 1);
    assert_eq!(
        emulator.has_password(ProviderKind::Aliyun, ALICE, PASSWORD),
        Some(true)
    );
    assert!(!state.to_string().contains(PASSWORD));
    let served = client
        .control(reqwest::Method::GET, "/_emulator/state", None)
        .await;
    assert_eq!(served.body, state);
    assert!(
        !client
            .requests()
            .await
            .iter()
            .any(|line| line.to_string().contains(PASSWORD))
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_second_create_is_409_and_applies_nothing() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    assert_eq!(
        client
            .call("CreateLoginProfile", &create_alice())
            .await
            .status,
        200
    );
    let again = client
        .call(
            "CreateLoginProfile",
            &[
                ("UserPrincipalName", ALICE),
                ("Password", "another-passw0rd"),
            ],
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.code(), "EntityAlreadyExists.User.LoginProfile");
    assert_eq!(
        again.body["RequestId"],
        again.headers["x-acs-request-id"].to_str().unwrap()
    );
    assert_eq!(again.body["HostId"], "ims.aliyuncs.com");
    assert_eq!(emulator.state()["aliyun"]["users"][ALICE]["creates"], 1);
    assert_eq!(
        emulator.has_password(ProviderKind::Aliyun, ALICE, PASSWORD),
        Some(true)
    );
}

#[tokio::test]
async fn update_changes_only_the_given_fields_and_delete_removes_the_profile() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let alice = [("UserPrincipalName", ALICE)];

    let missing = client
        .call(
            "UpdateLoginProfile",
            &[("UserPrincipalName", ALICE), ("Status", "Inactive")],
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.code(), "EntityNotExist.User.LoginProfile");

    client.call("CreateLoginProfile", &create_alice()).await;
    let updated = client
        .call(
            "UpdateLoginProfile",
            &[("UserPrincipalName", ALICE), ("Status", "Inactive")],
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let profile = &updated.body["LoginProfile"];
    assert_eq!(profile["Status"], "Inactive");
    assert_eq!(profile["MFABindRequired"], true);
    assert_eq!(profile["PasswordResetRequired"], true);
    assert_eq!(
        emulator.has_password(ProviderKind::Aliyun, ALICE, PASSWORD),
        Some(true)
    );

    let bad = client
        .call(
            "UpdateLoginProfile",
            &[("UserPrincipalName", ALICE), ("MFABindRequired", "yes")],
        )
        .await;
    assert_eq!((bad.status, bad.code()), (400, "InvalidParameter"));

    assert_eq!(client.call("DeleteLoginProfile", &alice).await.status, 200);
    let gone = client.call("GetLoginProfile", &alice).await;
    assert_eq!(
        (gone.status, gone.code()),
        (404, "EntityNotExist.User.LoginProfile")
    );
    let again = client.call("DeleteLoginProfile", &alice).await;
    assert_eq!(again.status, 404);
    assert_eq!(alice_profile(&emulator), Value::Null);
}

#[tokio::test]
async fn a_weak_password_is_refused() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let weak = client
        .call(
            "CreateLoginProfile",
            &[("UserPrincipalName", ALICE), ("Password", "short")],
        )
        .await;
    assert_eq!(
        (weak.status, weak.code()),
        (400, "InvalidParameter.Password.TooWeak")
    );
    assert_eq!(alice_profile(&emulator), Value::Null);
}

#[tokio::test]
async fn query_and_form_body_parameters_are_merged() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let params = EMULATOR_KEYS.now(
        "POST",
        "CreateLoginProfile",
        &[("UserPrincipalName", ALICE), ("Password", "pass word+&=*~")],
    );
    let (body, query): (Vec<_>, Vec<_>) = params
        .into_iter()
        .partition(|(k, _)| k == "UserPrincipalName" || k == "Password");
    let url = format!("{}?{}", client.base, encode(&query));
    let response = client
        .http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&body))
        .send()
        .await
        .unwrap();
    let answer = Answer::read(response).await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        emulator.has_password(ProviderKind::Aliyun, ALICE, "pass word+&=*~"),
        Some(true)
    );
}

#[tokio::test]
async fn bad_signatures_and_unknown_keys_are_refused() {
    let extra = Secret::new("other-secret");
    let config = EmulatorConfig {
        accounts: vec![(ProviderKind::Aliyun, "other-key".into(), extra)],
        ..Default::default()
    };
    let (emulator, client) = start(config).await;
    let seeded = testing::users(&emulator, ProviderKind::Aliyun);
    let alice = [("UserPrincipalName", ALICE), ("Password", PASSWORD)];

    let wrong_secret = Signer {
        key: KEY,
        secret: "not-the-secret",
    };
    let params = wrong_secret.now("POST", "CreateLoginProfile", &alice);
    let answer = client.send(reqwest::Method::POST, &params).await.unwrap();
    assert_eq!(
        (answer.status, answer.code()),
        (400, "SignatureDoesNotMatch")
    );
    assert!(!answer.body.to_string().contains(PASSWORD));

    // Signed for GET, sent as POST.
    let params = EMULATOR_KEYS.now("GET", "CreateLoginProfile", &alice);
    let answer = client.send(reqwest::Method::POST, &params).await.unwrap();
    assert_eq!(answer.code(), "SignatureDoesNotMatch");

    // A parameter changed after signing.
    let mut params = EMULATOR_KEYS.now("POST", "CreateLoginProfile", &alice);
    for (k, v) in &mut params {
        if k == "UserPrincipalName" {
            *v = "mallory@corp.onaliyun.com".into();
        }
    }
    let answer = client.send(reqwest::Method::POST, &params).await.unwrap();
    assert_eq!(answer.code(), "SignatureDoesNotMatch");

    let unknown = Signer {
        key: "nobody",
        secret: SECRET,
    };
    let params = unknown.now("POST", "CreateLoginProfile", &alice);
    let answer = client.send(reqwest::Method::POST, &params).await.unwrap();
    assert_eq!(
        (answer.status, answer.code()),
        (404, "InvalidAccessKeyId.NotFound")
    );

    let unchanged = testing::users(&emulator, ProviderKind::Aliyun);
    assert_eq!(unchanged, seeded, "nothing applied");
    testing::all_rejected(&emulator, 4);

    // The extra account configured is accepted.
    let other = Signer {
        key: "other-key",
        secret: "other-secret",
    };
    let params = other.now("POST", "CreateLoginProfile", &alice);
    let answer = client.send(reqwest::Method::POST, &params).await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(emulator.requests()[4]["account"], "other-key");
}

#[tokio::test]
async fn a_replayed_nonce_and_a_stale_timestamp_are_refused() {
    let (_emulator, client) = start(EmulatorConfig::default()).await;
    let alice = [("UserPrincipalName", ALICE)];

    let params = EMULATOR_KEYS.now("GET", "GetLoginProfile", &alice);
    let first = client.send(reqwest::Method::GET, &params).await.unwrap();
    assert_eq!(first.code(), "EntityNotExist.User.LoginProfile");
    let replay = client.send(reqwest::Method::GET, &params).await.unwrap();
    assert_eq!((replay.status, replay.code()), (400, "SignatureNonceUsed"));

    let stale = OffsetDateTime::now_utc() - time::Duration::minutes(16);
    let params = EMULATOR_KEYS.params("GET", "GetLoginProfile", &alice, stale, "n-stale");
    let answer = client.send(reqwest::Method::GET, &params).await.unwrap();
    assert_eq!(
        (answer.status, answer.code()),
        (400, "InvalidTimeStamp.Expired")
    );

    let no_format: Vec<(String, String)> = EMULATOR_KEYS
        .now("GET", "GetLoginProfile", &alice)
        .into_iter()
        .filter(|(k, _)| k != "Format")
        .collect();
    let answer = client.send(reqwest::Method::GET, &no_format).await.unwrap();
    assert_eq!(answer.code(), "InvalidParameter");
}

#[tokio::test]
async fn over_the_rate_the_reply_is_throttling_until_the_limit_lifts() {
    let config = EmulatorConfig::with_knobs(Knobs {
        rate: Some(1.0),
        ..Default::default()
    });
    let (emulator, client) = start(config).await;
    let alice = [("UserPrincipalName", ALICE)];

    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(client.call("GetLoginProfile", &alice).await);
    }
    let throttled = answers
        .iter()
        .find(|a| a.code() == "Throttling.User")
        .expect("a second request within a second at rate 1 is throttled");
    assert_eq!(throttled.status, 400);
    let wait: u64 = throttled.headers["x-acs-retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=1000).contains(&wait), "x-acs-retry-after {wait}");
    assert!(
        emulator
            .requests()
            .iter()
            .any(|l| l["outcome"] == "throttled")
    );

    let knobs = client
        .control(
            reqwest::Method::POST,
            "/_emulator/knobs",
            Some(json!({"rate": null})),
        )
        .await;
    assert_eq!(knobs.body["rate"], Value::Null);
    for _ in 0..5 {
        let answer = client.call("GetLoginProfile", &alice).await;
        assert_eq!(answer.code(), "EntityNotExist.User.LoginProfile");
    }

    let refused = client
        .control(
            reqwest::Method::POST,
            "/_emulator/knobs",
            Some(json!({"fault_rate": 2})),
        )
        .await;
    assert_eq!(refused.status, 400);
}

#[tokio::test]
async fn a_dropped_write_is_applied_but_gets_no_reply() {
    let config = EmulatorConfig::with_knobs(Knobs {
        drop_rate: 1.0,
        ..Default::default()
    });
    let (emulator, client) = start(config).await;

    // On a raw socket: the request is read, then the connection ends with not one byte back.
    let params = EMULATOR_KEYS.now("POST", "CreateLoginProfile", &create_alice());
    let addr = format!("127.0.0.1:{}", client.base.port().unwrap());
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /?{} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        encode(&params)
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    let _ = socket.read_to_end(&mut reply).await;
    assert!(reply.is_empty(), "{}", String::from_utf8_lossy(&reply));
    assert_eq!(emulator.state()["aliyun"]["users"][ALICE]["creates"], 1);
    let line = &emulator.requests()[0];
    assert_eq!(line["outcome"], "dropped");
    assert_eq!(line["status"], 200);

    // Through an HTTP client: an error that is not an HTTP status, the change applied.
    let update = [("UserPrincipalName", ALICE), ("Status", "Inactive")];
    let params = EMULATOR_KEYS.now("POST", "UpdateLoginProfile", &update);
    let error = client
        .send(reqwest::Method::POST, &params)
        .await
        .err()
        .expect("the connection closes without a response");
    assert!(!error.is_status(), "{error}");
    assert_eq!(alice_profile(&emulator)["status"], "Inactive");

    // Reads are never dropped.
    let got = client
        .call("GetLoginProfile", &[("UserPrincipalName", ALICE)])
        .await;
    assert_eq!(got.status, 200);
}

#[tokio::test]
async fn a_fault_is_a_5xx_that_applies_nothing() {
    let config = EmulatorConfig::with_knobs(Knobs {
        fault_rate: 1.0,
        ..Default::default()
    });
    let (emulator, client) = start(config).await;
    let seeded = testing::users(&emulator, ProviderKind::Aliyun);
    let fault = client.call("CreateLoginProfile", &create_alice()).await;
    assert_eq!((fault.status, fault.code()), (503, "ServiceUnavailable"));
    let unchanged = testing::users(&emulator, ProviderKind::Aliyun);
    assert_eq!(unchanged, seeded, "nothing applied");
    assert_eq!(emulator.requests()[0]["outcome"], "fault");

    emulator
        .set_knobs(KnobChange {
            fault_rate: Some(0.0),
            ..Default::default()
        })
        .unwrap();
    let created = client.call("CreateLoginProfile", &create_alice()).await;
    assert_eq!(created.status, 200);
}

#[tokio::test]
async fn the_same_seed_faults_the_same_requests_and_every_request_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let mut patterns = Vec::new();
    for run in 0..2 {
        let log = dir.path().join(format!("requests-{run}.jsonl"));
        let config = EmulatorConfig {
            seed: 42,
            knobs: Knobs {
                fault_rate: 0.5,
                ..Default::default()
            },
            request_log: Some(log.clone()),
            ..Default::default()
        };
        let (emulator, client) = start(config).await;
        let mut statuses = Vec::new();
        for _ in 0..12 {
            let answer = client
                .call("GetLoginProfile", &[("UserPrincipalName", ALICE)])
                .await;
            statuses.push(answer.status);
        }
        emulator.shutdown().await;
        assert!(
            statuses.contains(&503) && statuses.contains(&404),
            "{statuses:?}"
        );

        let lines: Vec<Value> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 12);
        let first = &lines[0];
        assert!(first["time"].as_f64().unwrap() > 1.7e9);
        assert_eq!(first["provider"], "aliyun");
        assert_eq!(first["account"], KEY);
        assert_eq!(first["action"], "GetLoginProfile");
        assert_eq!(first["user"], ALICE);
        for (line, status) in lines.iter().zip(&statuses) {
            assert_eq!(line["status"], *status);
            let (outcome, code) = match status {
                503 => ("fault", "ServiceUnavailable"),
                _ => ("ok", "EntityNotExist.User.LoginProfile"),
            };
            assert_eq!(
                (line["outcome"].as_str(), line["code"].as_str()),
                (Some(outcome), Some(code))
            );
        }
        patterns.push(statuses);
    }
    assert_eq!(patterns[0], patterns[1]);
}

#[tokio::test]
async fn users_from_a_file_are_the_only_users_and_list_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.json");
    let names = [
        "c@corp.onaliyun.com",
        "a@corp.onaliyun.com",
        "b@corp.onaliyun.com",
    ];
    std::fs::write(&users, json!({ "aliyun": names }).to_string()).unwrap();
    let config = EmulatorConfig {
        users: Some(users),
        ..Default::default()
    };
    let (emulator, client) = start(config).await;

    let unknown = client
        .call("GetLoginProfile", &[("UserPrincipalName", ALICE)])
        .await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (404, "EntityNotExist.User")
    );

    let first = client.call("ListUsers", &[("MaxItems", "2")]).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["IsTruncated"], true);
    let listed = |answer: &Answer| -> Vec<String> {
        answer.body["Users"]["User"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["UserPrincipalName"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        listed(&first),
        ["a@corp.onaliyun.com", "b@corp.onaliyun.com"]
    );
    assert_eq!(
        first.body["Users"]["User"][0]["UserId"]
            .as_str()
            .unwrap()
            .len(),
        16
    );
    let marker = first.body["Marker"].as_str().unwrap().to_string();
    let second = client
        .call("ListUsers", &[("MaxItems", "2"), ("Marker", &marker)])
        .await;
    assert_eq!(listed(&second), ["c@corp.onaliyun.com"]);
    assert_eq!(second.body["IsTruncated"], false);
    let user = &second.body["Users"]["User"][0];
    assert_eq!(user["DisplayName"], "c");
    assert_eq!(user["Status"], "active");
    assert_eq!(
        user["CreateDate"],
        emulator.state()["aliyun"]["users"]["c@corp.onaliyun.com"]["create_date"]
    );

    let both = client
        .call("ListUsers", &[("Status", "active,freeze")])
        .await;
    assert_eq!(listed(&both).len(), 3);
    let frozen = client.call("ListUsers", &[("Status", "freeze")]).await;
    assert!(listed(&frozen).is_empty());
    assert_eq!(frozen.body["IsTruncated"], false);
    let odd = client.call("ListUsers", &[("Status", "gone")]).await;
    assert_eq!((odd.status, odd.code()), (400, "InvalidParameter"));
    let too_many = client.call("ListUsers", &[("MaxItems", "1001")]).await;
    assert_eq!(
        (too_many.status, too_many.code()),
        (400, "InvalidParameter")
    );
}

#[tokio::test]
async fn a_state_patch_changes_what_the_api_reads() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let patch = json!({"aliyun": {"users": {ALICE: {"login_profile": {
        "status": "Inactive", "mfa_bind_required": true, "password": PASSWORD
    }}}}});
    let answer = client
        .control(reqwest::Method::POST, "/_emulator/state", Some(patch))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let got = client
        .call("GetLoginProfile", &[("UserPrincipalName", ALICE)])
        .await;
    assert_eq!(got.body["LoginProfile"]["Status"], "Inactive");
    assert_eq!(got.body["LoginProfile"]["MFABindRequired"], true);
    assert_eq!(got.body["LoginProfile"]["PasswordResetRequired"], false);
    let user = &emulator.state()["aliyun"]["users"][ALICE];
    assert_eq!(user["creates"], 0);
    assert_eq!(
        emulator.has_password(ProviderKind::Aliyun, ALICE, PASSWORD),
        Some(true)
    );

    let typo = json!({"aliyun": {"users": {ALICE: {"login_profile": {"Status": "Active"}}}}});
    let refused = client
        .control(reqwest::Method::POST, "/_emulator/state", Some(typo))
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.body["error"].as_str().unwrap().contains("Status"));

    emulator
        .tamper(&json!({"aliyun": {"users": {ALICE: {"login_profile": null}}}}))
        .unwrap();
    assert_eq!(alice_profile(&emulator), Value::Null);
}

#[tokio::test]
async fn endpoints_are_listed_as_one_json_line() {
    let (emulator, _client) = start(EmulatorConfig::default()).await;
    let line = emulator.endpoints_json();
    assert!(!line.contains('\n'));
    let endpoints: Value = serde_json::from_str(&line).unwrap();
    let aliyun = url::Url::parse(endpoints["aliyun"].as_str().unwrap()).unwrap();
    assert_eq!(aliyun, emulator.endpoint(ProviderKind::Aliyun));
    assert_eq!(aliyun.host_str(), Some("127.0.0.1"));
    assert_ne!(aliyun.port(), Some(0));
}

#[tokio::test]
async fn latency_delays_every_api_request() {
    let (_emulator, client) = start(EmulatorConfig::default()).await;
    let knobs = client
        .control(
            reqwest::Method::POST,
            "/_emulator/knobs",
            Some(json!({"latency_ms": 150})),
        )
        .await;
    assert_eq!(knobs.body["latency_ms"], 150.0);
    let shown = client
        .control(reqwest::Method::GET, "/_emulator/knobs", None)
        .await;
    assert_eq!(shown.body, knobs.body);
    let started = std::time::Instant::now();
    client
        .call("GetLoginProfile", &[("UserPrincipalName", ALICE)])
        .await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
}

#[tokio::test]
async fn a_user_nobody_created_is_not_found_on_every_action() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let ghost = "ghost@corp.onaliyun.com";
    for (action, extra) in [
        ("GetLoginProfile", vec![("UserPrincipalName", ghost)]),
        (
            "CreateLoginProfile",
            vec![("UserPrincipalName", ghost), ("Password", PASSWORD)],
        ),
        (
            "UpdateLoginProfile",
            vec![("UserPrincipalName", ghost), ("Status", "Active")],
        ),
        ("DeleteLoginProfile", vec![("UserPrincipalName", ghost)]),
    ] {
        let answer = client.call(action, &extra).await;
        assert_eq!(
            (answer.status, answer.code()),
            (404, "EntityNotExist.User"),
            "{action}: {}",
            answer.body
        );
    }
    assert!(emulator.state()["aliyun"]["users"].get(ghost).is_none());
}

#[tokio::test]
async fn a_security_token_is_accepted_only_with_the_key_it_was_issued_with() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    emulator
        .tamper(&json!({"aliyun": {"temporary_keys": {
            "STS.temp": {"secret": "temp-secret", "security_token": "issued-token"},
            "STS.old": {"secret": "old-secret", "security_token": "old-token",
                        "expires_at": "2020-01-01T00:00:00Z"},
        }}}))
        .unwrap();
    let get = [("UserPrincipalName", ALICE)];
    let temp = Signer {
        key: "STS.temp",
        secret: "temp-secret",
    };
    let with_token = |token: &'static str| [get[0], ("SecurityToken", token)];

    // Alice has no login profile yet: the request got past authentication.
    let params = temp.now("POST", "GetLoginProfile", &with_token("issued-token"));
    let answer = client.send(reqwest::Method::POST, &params).await.unwrap();
    assert_eq!(
        answer.code(),
        "EntityNotExist.User.LoginProfile",
        "{}",
        answer.body
    );

    for (signer, extra, status, code) in [
        (
            &temp,
            with_token("forged-token").to_vec(),
            400,
            "InvalidSecurityToken.Malformed",
        ),
        (&temp, get.to_vec(), 400, "MissingSecurityToken"),
        (
            &temp,
            with_token("old-token").to_vec(),
            400,
            "InvalidSecurityToken.MismatchWithAccessKey",
        ),
        (
            &EMULATOR_KEYS,
            with_token("forged-token").to_vec(),
            400,
            "InvalidSecurityToken.Malformed",
        ),
    ] {
        let params = signer.now("POST", "GetLoginProfile", &extra);
        let answer = client.send(reqwest::Method::POST, &params).await.unwrap();
        assert_eq!((answer.status, answer.code()), (status, code), "{extra:?}");
    }
    let old = Signer {
        key: "STS.old",
        secret: "old-secret",
    };
    let params = old.now(
        "POST",
        "GetLoginProfile",
        &[get[0], ("SecurityToken", "old-token")],
    );
    let answer = client.send(reqwest::Method::POST, &params).await.unwrap();
    assert_eq!(
        (answer.status, answer.code()),
        (400, "InvalidSecurityToken.Expired")
    );

    // The state names the temporary keys, never their secrets or tokens.
    let state = emulator.state().to_string();
    assert!(state.contains("STS.temp"));
    assert!(!state.contains("temp-secret") && !state.contains("issued-token"));
}

/// The samples and the README's worked examples run against the demo set: every user a sample
/// names must exist in it, or the samples would fail as they would against a real account, except
/// the users a sample creates, which must not (a bare aliyun name is in the default domain); and
/// every group a sample names must exist.
#[tokio::test]
async fn the_demo_set_holds_every_user_the_samples_name() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emulator.seed_demo().unwrap();
    let state = emulator.state();
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut checked = 0;
    for entry in std::fs::read_dir(samples).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // Inputs only: a run leaves its (ignored) results beside them.
        let output = [".results.csv", ".plan.csv", ".verify.csv"]
            .iter()
            .any(|s| name.ends_with(s));
        if !name.ends_with(".csv") || output {
            continue;
        }
        let mut reader = csv::Reader::from_path(&path).unwrap();
        let headers = reader.headers().unwrap().clone();
        let column = |name: &str| headers.iter().position(|h| h == name);
        let provider = column("provider").unwrap();
        for row in reader.records() {
            let row = row.unwrap();
            let cell = |name: &str| column(name).map_or("", |i| &row[i]);
            let mut user = ["user", "user_name"]
                .into_iter()
                .map(cell)
                .find(|u| !u.is_empty())
                .unwrap()
                .to_string();
            let account = &state[&row[provider]];
            if row[provider] == *"aliyun" && !user.contains('@') {
                user = format!("{user}@{}", super::DEFAULT_ALIYUN_DOMAIN);
            }
            let creates = cell("action") == "create-user";
            assert_eq!(
                account["users"].get(&user).is_some(),
                !creates,
                "{}: {user}",
                path.display()
            );
            for group in cell("groups").split(';').filter(|g| !g.is_empty()) {
                assert!(
                    account["groups"].get(group).is_some(),
                    "{}: group {group}",
                    path.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked} sample rows");
}

/// `--emulator` rehearses an organisation: on aliyun and huawei three active members with three or
/// four users each who sign in to the console, some made to use MFA, one with a device bound, and
/// one member not active; any role trusts the built-in keys.
#[tokio::test]
async fn the_demo_set_holds_an_organisation_per_provider() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emulator.seed_demo().unwrap();
    let state = emulator.state();
    for (provider, active) in [
        ("aliyun", "CreateSuccess|InviteSuccess"),
        ("huawei", "active"),
    ] {
        let accounts = state[provider]["accounts"].as_object().unwrap();
        let (active, other): (Vec<_>, Vec<_>) =
            (accounts.values()).partition(|a| active.split('|').any(|s| a["status"] == s));
        assert_eq!((active.len(), other.len()), (3, 1), "{provider}");
        for account in active {
            let users = account["users"].as_object().unwrap();
            assert!((3..=4).contains(&users.len()), "{provider}: {account}");
            let mfa = |u: &Value| match provider {
                "aliyun" => u["login_profile"]["mfa_bind_required"] == true,
                _ => u["login_protect"]["enabled"] == true,
            };
            let console = |u: &Value| match provider {
                "aliyun" => !u["login_profile"].is_null(),
                _ => u["access_mode"] != "programmatic",
            };
            assert!(users.values().all(console), "{provider}: {account}");
            assert!(users.values().any(mfa) && !users.values().all(mfa));
            let bound = account["mfa_devices"]["bound"].as_object().unwrap();
            assert_eq!(bound.len(), 1, "{provider}: {account}");
        }
        let roles = &state[provider]["roles"]["roles"]["*"]["trusted"];
        assert!(!roles.as_array().unwrap().is_empty(), "{provider}");
    }
}

#[tokio::test]
async fn mfa_devices_list_in_pages_and_each_user_reads_their_own() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let mut users = serde_json::Map::new();
    let mut bound = serde_json::Map::new();
    for i in 0..3 {
        let upn = format!("u{i}@corp.onaliyun.com");
        users.insert(upn.clone(), json!({}));
        bound.insert(
            upn,
            json!([{"serial_number": format!("acs:ram::1:mfa/u{i}")}]),
        );
    }
    bound.insert(
        ALICE.into(),
        json!([{"serial_number": "acs:ram::1:u2f/alice", "type": "U2F"}]),
    );
    emulator
        .tamper(&json!({"aliyun": {"users": users, "mfa_devices": {
            "bound": bound, "unbound": ["acs:ram::1:mfa/spare"]}}}))
        .unwrap();

    // Three bound virtual devices and one never bound, two a page; no security key.
    let first = client
        .call("ListVirtualMFADevices", &[("MaxItems", "2")])
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["IsTruncated"], true);
    let marker = first.body["Marker"].as_str().unwrap().to_string();
    let second = client
        .call(
            "ListVirtualMFADevices",
            &[("MaxItems", "2"), ("Marker", &marker)],
        )
        .await;
    assert_eq!(second.body["IsTruncated"], false);
    let devices: Vec<Value> = [&first, &second]
        .iter()
        .flat_map(|a| {
            a.body["VirtualMFADevices"]["VirtualMFADevice"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect();
    let serials: Vec<&str> = devices
        .iter()
        .map(|d| d["SerialNumber"].as_str().unwrap())
        .collect();
    assert_eq!(
        serials,
        [
            "acs:ram::1:mfa/spare",
            "acs:ram::1:mfa/u0",
            "acs:ram::1:mfa/u1",
            "acs:ram::1:mfa/u2"
        ]
    );
    assert_eq!(devices[0]["User"], json!({}));
    assert_eq!(
        devices[1]["User"]["UserPrincipalName"],
        "u0@corp.onaliyun.com"
    );
    let too_many = client
        .call("ListVirtualMFADevices", &[("MaxItems", "101")])
        .await;
    assert_eq!(
        (too_many.status, too_many.code()),
        (400, "InvalidParameter")
    );

    let key = client
        .call("GetUserMFAInfo", &[("UserPrincipalName", ALICE)])
        .await;
    assert_eq!(key.body["MFADevice"]["Type"], "U2F");
    emulator
        .tamper(&json!({"aliyun": {"mfa_devices": {"bound": {ALICE: []}}}}))
        .unwrap();
    let none = client
        .call("GetUserMFAInfo", &[("UserPrincipalName", ALICE)])
        .await;
    assert_eq!(
        (none.status, none.code()),
        (404, "EntityNotExist.User.MFADevice")
    );
    let nobody = client
        .call(
            "GetUserMFAInfo",
            &[("UserPrincipalName", "ghost@corp.onaliyun.com")],
        )
        .await;
    assert_eq!((nobody.status, nobody.code()), (404, "EntityNotExist.User"));
    // A device of a user nobody created is refused.
    assert!(
        emulator
            .tamper(&json!({"aliyun": {"mfa_devices": {"bound": {
                "ghost@corp.onaliyun.com": [{"serial_number": "s"}]}}}}))
            .is_err()
    );
}
