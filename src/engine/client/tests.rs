//! The client's loop against a scripted provider on a local server: what is sent, retried and
//! withdrawn, counted at the server. Plus the HTTP setup (proxy, certificate errors).

use super::*;
use crate::engine::pacer::Pacer;
use crate::providers::Observed;
use crate::providers::TokenRefused;
use std::collections::VecDeque;
use std::sync::Arc;

/// A provider whose replies are the server's status codes: 200 is a success, 503 a transient
/// failure, 403 a credential failure. With `tokens`, it authenticates with a token from `/token`.
struct Script {
    base: String,
    tokens: bool,
}

fn failure_of(status: u16) -> Failure {
    let class = match status {
        503 => FailureClass::Retryable { throttled: false },
        _ => FailureClass::Credential,
    };
    Failure {
        class,
        code: status.to_string(),
        message: format!("status {status}"),
        retry_after: None,
    }
}

impl Api for Script {
    fn build(&self, op: &Op<'_>, _stamp: &Stamp, token: Option<&Secret>) -> HttpRequest {
        assert_eq!(
            token.is_some(),
            self.tokens,
            "the token goes with every request"
        );
        let user = match op {
            Op::ResolveUser { name } => name,
            _ => "other",
        };
        get(format!("{}read/{user}", self.base))
    }

    fn classify(&self, _op: &Op<'_>, reply: &Reply) -> Classified {
        Classified {
            request_id: None,
            verdict: match reply.status {
                200 => Verdict::Observed(Observed::default()),
                status => Verdict::Failed(failure_of(status)),
            },
        }
    }

    fn uses_tokens(&self) -> bool {
        self.tokens
    }

    fn token_request(&self, _stamp: &Stamp) -> Option<HttpRequest> {
        self.tokens.then(|| get(format!("{}token", self.base)))
    }

    fn read_token(&self, reply: &Reply) -> Result<Token, TokenRefused> {
        match reply.status {
            200 => Ok(Token {
                value: Secret::new("token"),
                expires_at: None,
            }),
            status => Err(TokenRefused {
                request_id: None,
                failure: failure_of(status),
            }),
        }
    }
}

fn get(url: String) -> HttpRequest {
    HttpRequest {
        method: reqwest::Method::GET,
        url,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

/// The server's side: the paths asked for, and the statuses of the next replies (then 200).
#[derive(Default)]
struct Server {
    paths: Mutex<Vec<String>>,
    replies: Mutex<VecDeque<u16>>,
    asked: tokio::sync::Notify,
}

impl Server {
    fn paths(&self) -> Vec<String> {
        self.paths.lock().unwrap().clone()
    }
}

/// A client of `tokens` kind at `rate` requests/s, retries after 1 ms, against a server that
/// answers `replies` first.
async fn client(
    tokens: bool,
    rate: Option<f64>,
    replies: &[u16],
) -> (Arc<AccountClient>, Arc<Server>) {
    let server = Arc::new(Server {
        replies: Mutex::new(replies.iter().copied().collect()),
        ..Server::default()
    });
    let seen = server.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let seen = seen.clone();
        async move {
            seen.paths.lock().unwrap().push(uri.path().to_string());
            seen.asked.notify_one();
            let status = seen.replies.lock().unwrap().pop_front().unwrap_or(200);
            axum::http::StatusCode::from_u16(status).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let api = Arc::new(Script {
        base: format!("http://{addr}/"),
        tokens,
    });
    let policy = RetryPolicy {
        max_attempts: 3,
        backoff: Backoff {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(1),
        },
    };
    let client = AccountClient::new(
        "test".into(),
        api,
        reqwest::Client::new(),
        Pacer::new(rate),
        policy,
    );
    (Arc::new(client), server)
}

async fn read(client: &AccountClient, user: &str, cancel: &CancellationToken) -> CallReport {
    client.call(&Op::ResolveUser { name: user }, cancel).await
}

#[tokio::test]
async fn transient_failures_are_retried_for_operations_and_tokens_alike() {
    let (client, server) = client(true, None, &[503, 200, 503, 503]).await;
    let report = read(&client, "alice", &CancellationToken::new()).await;
    assert!(report.result.is_ok(), "{:?}", report.result);
    // The token's retry is not the row's: only the read's attempts count.
    assert_eq!(report.attempts, 3);
    assert_eq!(
        server.paths(),
        [
            "/token",
            "/token",
            "/read/alice",
            "/read/alice",
            "/read/alice"
        ]
    );
}

#[tokio::test]
async fn a_stop_withdraws_the_requests_waiting_for_their_slot() {
    // At 1 request/s the first read leaves at once and the others wait for their slots.
    let (client, server) = client(false, Some(1.0), &[]).await;
    let cancel = CancellationToken::new();
    assert!(read(&client, "first", &cancel).await.result.is_ok());
    let mut waiting = tokio::task::JoinSet::new();
    for i in 0..3 {
        let (client, cancel) = (client.clone(), cancel.clone());
        waiting.spawn(async move { read(&client, &format!("u{i}"), &cancel).await });
    }
    // One thread: this lets the reads run until they wait.
    tokio::task::yield_now().await;
    cancel.cancel();
    for report in waiting.join_all().await {
        assert_eq!(report.attempts, 0);
        let failure = report.result.unwrap_err();
        assert!(is_withdrawal(&failure), "{failure:?}");
        assert_eq!(failure.code, codes::INTERRUPTED);
    }
    assert_eq!(server.paths(), ["/read/first"]);
}

#[tokio::test]
async fn a_stop_withdraws_a_token_request_waiting_for_its_slot() {
    let (client, server) = client(true, Some(1.0), &[]).await;
    // The account's free slot is taken: the token request waits a second for the next one.
    client.pacer.acquire().await.replied();
    let cancel = CancellationToken::new();
    let call = {
        let (client, cancel) = (client.clone(), cancel.clone());
        tokio::spawn(async move { read(&client, "alice", &cancel).await })
    };
    // One thread: this lets the call run until it waits.
    tokio::task::yield_now().await;
    cancel.cancel();
    let report = call.await.unwrap();
    assert_eq!(report.attempts, 0);
    assert!(is_withdrawal(&report.result.unwrap_err()));
    assert!(server.paths().is_empty(), "{:?}", server.paths());
}

/// A read at 1/s whose first request (the token's, with `tokens`) fails with a 503: its retry waits
/// a second for its slot, and the stop comes once the first request was seen.
async fn stopped_before_the_retry(tokens: bool) -> (CallReport, Arc<Server>) {
    let (client, server) = client(tokens, Some(1.0), &[503]).await;
    let cancel = CancellationToken::new();
    let call = {
        let (client, cancel) = (client.clone(), cancel.clone());
        tokio::spawn(async move { read(&client, "alice", &cancel).await })
    };
    server.asked.notified().await;
    cancel.cancel();
    (call.await.unwrap(), server)
}

#[tokio::test]
async fn a_request_whose_token_renewal_was_withdrawn_after_an_attempt_is_not_attempted() {
    let (report, server) = stopped_before_the_retry(true).await;
    assert_eq!(report.attempts, 0);
    let failure = report.result.unwrap_err();
    assert!(is_withdrawal(&failure), "{failure:?}");
    assert_eq!(server.paths(), ["/token"]);
}

#[tokio::test]
async fn a_retry_withdrawn_keeps_the_failure_it_would_have_retried() {
    let (report, server) = stopped_before_the_retry(false).await;
    assert_eq!(report.attempts, 1);
    let failure = report.result.unwrap_err();
    assert_eq!(failure.code, "503");
    assert_eq!(failure.message, "status 503 (interrupted before retry)");
    assert!(!is_withdrawal(&failure));
    assert_eq!(server.paths(), ["/read/alice"]);
}

#[tokio::test]
async fn the_third_credential_failure_stops_the_account_and_withdraws_the_rest() {
    let (client, server) = client(false, None, &[403, 403, 403]).await;
    let cancel = CancellationToken::new();
    for user in ["a", "b", "c"] {
        let failure = read(&client, user, &cancel).await.result.unwrap_err();
        assert_eq!(failure.code, "403");
    }
    assert!(client.stopped().is_some());
    let report = read(&client, "d", &cancel).await;
    assert_eq!(report.attempts, 0);
    assert_eq!(report.result.unwrap_err().code, codes::ACCOUNT_STOPPED);
    assert_eq!(server.paths(), ["/read/a", "/read/b", "/read/c"]);
}

fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    }
}

#[test]
fn the_https_proxy_comes_from_the_environment_as_curl_reads_it() {
    assert!(https_proxy(&env_of(&[])).unwrap().is_none());
    // HTTP_PROXY is for plain http, which never goes through a proxy here.
    assert!(
        https_proxy(&env_of(&[("HTTP_PROXY", "http://p:1")]))
            .unwrap()
            .is_none()
    );
    assert!(
        https_proxy(&env_of(&[("HTTPS_PROXY", " ")]))
            .unwrap()
            .is_none()
    );
    for var in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        let vars: &'static [(&str, &str)] = match var {
            "HTTPS_PROXY" => &[("HTTPS_PROXY", "http://127.0.0.1:3128")],
            "https_proxy" => &[("https_proxy", "http://127.0.0.1:3128")],
            "ALL_PROXY" => &[("ALL_PROXY", "http://127.0.0.1:3128")],
            _ => &[("all_proxy", "http://127.0.0.1:3128")],
        };
        assert!(https_proxy(&env_of(vars)).unwrap().is_some(), "{var}");
    }
    let e = https_proxy(&env_of(&[("HTTPS_PROXY", "http://user:pw-canary@[::1")])).unwrap_err();
    assert!(!format!("{e:#}").contains("pw-canary"), "{e:#}");
}

#[test]
fn a_refused_certificate_is_found_inside_io_errors() {
    use tokio_rustls::rustls::{CertificateError, Error as Tls};
    let refused = std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        Tls::InvalidCertificate(CertificateError::UnknownIssuer),
    );
    assert!(is_certificate_error(&refused));
    // As reqwest hands it over: wrapped twice.
    let nested = std::io::Error::other(refused);
    assert!(is_certificate_error(&nested));
    let other = std::io::Error::new(std::io::ErrorKind::InvalidData, Tls::DecryptError);
    assert!(!is_certificate_error(&other));
    let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    assert!(!is_certificate_error(&reset));
    let failure = NoReply {
        sent: false,
        timeout: false,
        untrusted: true,
        detail: "invalid peer certificate: UnknownIssuer".into(),
    }
    .into_failure(true);
    assert_eq!(failure.class, FailureClass::Credential);
    assert_eq!(failure.code, codes::CONNECT_FAILED);
    assert!(failure.message.contains("--ca-bundle"));
}
