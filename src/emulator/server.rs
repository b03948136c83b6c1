//! The provider-independent server: one port per provider, plain HTTP or HTTPS, connections served
//! by hand with hyper-util (so a connection can be cut without a reply), the control endpoints, and the pipeline
//! every API request goes through: latency, admit, rate limit, fault, apply, drop, log.

use super::knobs::{Dice, KnobChange, Knobs, Limiter};
use super::log::{Outcome, RequestLog};
use super::service::{Admission, Incoming, Meta, Reply, Service};
use crate::jobs::ProviderKind;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Largest request body read; the APIs emulated send a few hundred bytes.
const MAX_BODY: usize = 1 << 20;

/// What every port shares.
pub struct Core {
    knobs: Mutex<Knobs>,
    dice: Dice,
    limiter: Limiter,
    pub log: RequestLog,
    pub providers: Vec<Arc<dyn Mounted>>,
}

impl Core {
    pub fn new(knobs: Knobs, seed: u64, log: RequestLog, providers: Vec<Arc<dyn Mounted>>) -> Core {
        Core {
            knobs: Mutex::new(knobs),
            dice: Dice::new(seed),
            limiter: Limiter::default(),
            log,
            providers,
        }
    }

    pub fn knobs(&self) -> Knobs {
        *self.knobs.lock().expect("knobs lock")
    }

    pub fn set_knobs(&self, change: &KnobChange) -> Result<Knobs, String> {
        let mut knobs = self.knobs.lock().expect("knobs lock");
        *knobs = change.applied_to(*knobs)?;
        Ok(*knobs)
    }

    /// `{"aliyun": <its state>, ...}`.
    pub fn state(&self) -> Value {
        Value::Object(
            self.providers
                .iter()
                .map(|p| (p.kind().name().to_string(), p.state()))
                .collect(),
        )
    }

    /// Applies `{"aliyun": <patch>, ...}`, each patch by its provider's rules.
    pub fn tamper(&self, patch: &Value) -> Result<(), String> {
        let object = patch
            .as_object()
            .ok_or("a state patch is a JSON object keyed by provider, e.g. {\"aliyun\": {...}}")?;
        let now = OffsetDateTime::now_utc();
        for (name, provider_patch) in object {
            let provider = self
                .providers
                .iter()
                .find(|p| p.kind().name() == name)
                .ok_or_else(|| format!("'{name}' is not a provider this emulator serves"))?;
            provider
                .tamper(provider_patch, now)
                .map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(())
    }

    /// Whether `user` of `kind` in `account` (`None`: the main account) has the password
    /// `password` (`None`: no such account, user or password).
    pub fn has_password(
        &self,
        kind: ProviderKind,
        account: Option<&str>,
        user: &str,
        password: &str,
    ) -> Option<bool> {
        let provider = self.providers.iter().find(|p| p.kind() == kind)?;
        provider.has_password(account, user, password)
    }

    /// The decision for one admitted-or-refused request, and the reply it gets.
    fn decide<S: Service>(
        &self,
        service: &S,
        meta: &Meta,
        call: Result<S::Call, Reply>,
        knobs: Knobs,
        now: OffsetDateTime,
        arrived: Instant,
    ) -> (Reply, Outcome) {
        let call = match call {
            Ok(call) => call,
            Err(refusal) => return (refusal, Outcome::Rejected),
        };
        if let Err(wait) = self.limiter.take(S::KIND, &meta.account, &knobs, arrived) {
            return (service.throttled(wait), Outcome::Throttled);
        }
        let roll = self.dice.roll();
        if roll.fault < knobs.fault_rate {
            return (service.fault(), Outcome::Fault);
        }
        let reply = service.apply(call, now);
        if meta.write && roll.drop < knobs.drop_rate {
            (reply, Outcome::Dropped)
        } else {
            (reply, Outcome::Ok)
        }
    }
}

/// A registered provider, type-erased so the core can hold them all.
pub trait Mounted: Send + Sync {
    fn kind(&self) -> ProviderKind;
    fn state(&self) -> Value;
    fn tamper(&self, patch: &Value, now: OffsetDateTime) -> Result<(), String>;
    fn has_password(&self, account: Option<&str>, user: &str, password: &str) -> Option<bool>;
    /// The provider's API as a router: every path that is not a control endpoint.
    fn api(self: Arc<Self>, core: Arc<Core>) -> Router;
}

impl<S: Service> Mounted for S {
    fn kind(&self) -> ProviderKind {
        S::KIND
    }
    fn state(&self) -> Value {
        Service::state(self)
    }
    fn tamper(&self, patch: &Value, now: OffsetDateTime) -> Result<(), String> {
        Service::tamper(self, patch, now)
    }
    fn has_password(&self, account: Option<&str>, user: &str, password: &str) -> Option<bool> {
        Service::has_password(self, account, user, password)
    }
    fn api(self: Arc<Self>, core: Arc<Core>) -> Router {
        Router::new().fallback(api::<S>).with_state((core, self))
    }
}

/// Everything one port answers: the control endpoints, then the provider's API.
pub fn app(provider: Arc<dyn Mounted>, core: Arc<Core>) -> Router {
    Router::new()
        .route("/_emulator/state", get(get_state).post(post_state))
        .route("/_emulator/requests", get(get_requests))
        .route("/_emulator/knobs", get(get_knobs).post(post_knobs))
        .with_state(core.clone())
        .route("/_emulator/password", post(post_password))
        .with_state((core.clone(), provider.kind()))
        .merge(provider.api(core))
}

/// The HTTPS side of a port: a certificate chain and key (PEM) made into a TLS acceptor that speaks
/// HTTP/1.1, on the rustls (and aws-lc-rs) reqwest already uses.
pub fn tls_acceptor(cert_pem: &str, key_pem: &str) -> std::io::Result<TlsAcceptor> {
    use tokio_rustls::rustls::{self, pki_types::pem::PemObject};
    let invalid = |what: &str, e: &dyn std::fmt::Display| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("emulator TLS {what}: {e}"),
        )
    };
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("certificate", &e))?;
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| invalid("key", &e))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("setup", &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid("certificate", &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepts connections until `stop`; each is served on its own task, over TLS when `tls` is given.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    stop: CancellationToken,
    tls: Option<TlsAcceptor>,
) {
    loop {
        let stream = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!("emulator: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (app, stop) = (app.clone(), stop.clone());
        match tls.clone() {
            None => tokio::spawn(connection(stream, app, stop)),
            Some(acceptor) => tokio::spawn(async move {
                let handshake = tokio::time::timeout(TLS_HANDSHAKE, acceptor.accept(stream));
                let stream = tokio::select! {
                    done = handshake => match done {
                        Ok(Ok(stream)) => stream,
                        // A client that does not trust the certificate ends here.
                        Ok(Err(e)) => return tracing::debug!("emulator: TLS handshake failed: {e}"),
                        Err(_) => return tracing::debug!("emulator: TLS handshake timed out"),
                    },
                    _ = stop.cancelled() => return,
                };
                connection(stream, app, stop).await
            }),
        };
    }
}

/// How long a client may take to complete the TLS handshake.
const TLS_HANDSHAKE: Duration = Duration::from_secs(10);

/// Lets a handler close its connection without a reply (a "drop").
#[derive(Clone, Default)]
struct HangUp(CancellationToken);

impl HangUp {
    /// Closes the connection: the connection task stops polling it and drops the socket. Never
    /// returns, so no response is ever written.
    async fn now(&self) -> Response {
        self.0.cancel();
        std::future::pending().await
    }
}

async fn connection<S>(stream: S, app: Router, stop: CancellationToken)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let hang_up = HangUp::default();
    let handle = hang_up.clone();
    let service = hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(handle.clone());
        app.clone().oneshot(request)
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    // Leaving the select drops the connection future, which closes the socket mid-request.
    tokio::select! {
        _ = connection => {}
        _ = hang_up.0.cancelled() => {}
        _ = stop.cancelled() => {}
    }
}

/// The pipeline of every API request.
async fn api<S: Service>(
    State((core, service)): State<(Arc<Core>, Arc<S>)>,
    Extension(hang_up): Extension<HangUp>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response(),
    };
    let incoming = Incoming {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body,
    };
    let knobs = core.knobs();
    if !knobs.latency.is_zero() {
        tokio::time::sleep(knobs.latency).await;
    }
    // The moment the request counts as arrived, for the rate limit and the log alike: before any
    // work of ours, so the time a request takes to check and apply does not blur it.
    let arrived = (SystemTime::now(), Instant::now());
    let now = OffsetDateTime::now_utc();
    let Admission { meta, call } = service.admit(&incoming, now);
    let (reply, outcome) = core.decide(&*service, &meta, call, knobs, now, arrived.1);
    core.log.record(S::KIND, arrived.0, &meta, &reply, outcome);
    if outcome == Outcome::Dropped {
        return hang_up.now().await;
    }
    into_response(reply)
}

fn into_response(reply: Reply) -> Response {
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = reply.status;
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .append(HeaderName::from_static(name), value);
        }
    }
    response
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    into_response(Reply::json(status, body))
}

fn bad_request(message: String) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({ "error": message }))
}

async fn get_state(State(core): State<Arc<Core>>) -> Response {
    json_response(StatusCode::OK, &core.state())
}

async fn post_state(State(core): State<Arc<Core>>, body: Bytes) -> Response {
    let patch = match serde_json::from_slice::<Value>(&body) {
        Ok(patch) => patch,
        Err(e) => return bad_request(format!("the state patch is not JSON: {e}")),
    };
    match core.tamper(&patch) {
        Ok(()) => json_response(StatusCode::OK, &core.state()),
        Err(e) => bad_request(e),
    }
}

/// `{"user", "password", "account"}` → `{"matches": true | false | null}` for this port's provider
/// (`account` optional, default the main account; `null`: no such account or user, or no password set).
async fn post_password(
    State((core, kind)): State<(Arc<Core>, ProviderKind)>,
    body: Bytes,
) -> Response {
    let question = serde_json::from_slice::<Value>(&body).unwrap_or_default();
    let (Some(user), Some(password)) = (question["user"].as_str(), question["password"].as_str())
    else {
        return bad_request("ask with {\"user\": \"..\", \"password\": \"..\"}".to_string());
    };
    let account = question["account"].as_str();
    let matches = core.has_password(kind, account, user, password);
    json_response(StatusCode::OK, &json!({ "matches": matches }))
}

async fn get_requests(State(core): State<Arc<Core>>) -> Response {
    let mut text = core.log.lines().join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    ([("content-type", "application/x-ndjson")], text).into_response()
}

async fn get_knobs(State(core): State<Arc<Core>>) -> Response {
    json_response(StatusCode::OK, &core.knobs().to_json())
}

async fn post_knobs(State(core): State<Arc<Core>>, body: Bytes) -> Response {
    let change = serde_json::from_slice::<Value>(&body)
        .map_err(|e| format!("the knobs are not JSON: {e}"))
        .and_then(|v| KnobChange::from_json(&v));
    match change.and_then(|c| core.set_knobs(&c)) {
        Ok(knobs) => json_response(StatusCode::OK, &knobs.to_json()),
        Err(e) => bad_request(e),
    }
}
