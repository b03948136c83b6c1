//! One account's client: every request of the account goes through here. It takes a pacing slot per
//! HTTP request (attempts, retries, read-backs, token requests), signs each attempt afresh, sends it,
//! lets the provider classify the reply and decides whether to retry. It also keeps the account's
//! token, its resolved user names and its credential health.

use crate::engine::backoff::Backoff;
use crate::engine::credentials::Credentials;
use crate::engine::pacer::Pacer;
use crate::providers::{
    Api, Classified, Failure, FailureClass, HttpRequest, Item, Op, Reply, Stamp, Step, Token,
    TokenRefused, Verdict,
};
use crate::secret::Secret;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// Credential failures in a row that stop an account.
pub const CREDENTIAL_FAILURE_LIMIT: u32 = 3;
/// A token is renewed when it has less than this left.
const TOKEN_RENEW_MARGIN: time::Duration = time::Duration::minutes(10);

/// Retry settings of an account.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub backoff: Backoff,
}

/// What one call (one logical operation, possibly several attempts) came to. `T` is what a
/// successful reply gives: a [`Verdict`] for an operation, a [`Token`] for a token request.
#[derive(Debug)]
pub struct CallReport<T = Verdict> {
    pub result: Result<T, Failure>,
    pub attempts: u32,
    pub http_status: Option<u16>,
    pub request_id: Option<String>,
    /// Some attempt of a write got no reply: it may have been applied.
    pub ambiguous: bool,
}

/// The tool's own error codes (docs/contract.md §3).
pub mod codes {
    pub const UNKNOWN_OUTCOME: &str = "unknown_outcome";
    pub const CONNECT_FAILED: &str = "connect_failed";
    pub const TIMEOUT: &str = "timeout";
    pub const ACCOUNT_STOPPED: &str = "account_stopped";
    pub const INTERRUPTED: &str = "interrupted";
    pub const MAX_FAILURES: &str = "max_failures";
    pub const INVALID: &str = "invalid";
    /// A row of a member account `--accounts-filter` leaves out.
    pub const ACCOUNTS_FILTER: &str = "accounts_filter";
    /// A row naming a member that its organisation's directory does not list as active.
    pub const NOT_A_MEMBER: &str = "not_a_member";
    /// A row names a group the account does not have.
    pub const UNKNOWN_GROUP: &str = "unknown_group";
    /// A read found what the action will not remove on its own (a delete with attached policies).
    pub const REFUSED: &str = "refused";
    /// What a row would create exists and is someone else's.
    pub const CONFLICT: &str = "conflict";
}

/// Whether `failure` is a request withdrawn before it was sent, because the run or its account
/// stopped (see [`AccountClient::call`]).
pub fn is_withdrawal(failure: &Failure) -> bool {
    failure.code == codes::ACCOUNT_STOPPED || failure.code == codes::INTERRUPTED
}

/// The failure of a request not sent because the run is stopping.
pub(crate) fn interrupted() -> Failure {
    Failure {
        class: FailureClass::Retryable { throttled: false },
        code: codes::INTERRUPTED.into(),
        message: "not sent: the run is stopping".into(),
        retry_after: None,
    }
}

/// Runs when an attempt of a write has its pacing slot and is about to be sent: what it records is
/// durable before the request leaves. Its failure fails the call with nothing sent.
pub type Departing<'a> = &'a (dyn Fn() -> Result<(), Failure> + Sync);

/// One answer shared by every row that needs it: a user name's id, an account-wide read.
type Shared<T> = std::sync::Arc<tokio::sync::OnceCell<Result<T, Failure>>>;
type Cache<T> = tokio::sync::Mutex<HashMap<String, Shared<T>>>;

pub struct AccountClient {
    pub name: String,
    credentials: Credentials,
    http: reqwest::Client,
    pub pacer: Pacer,
    policy: RetryPolicy,
    uses_tokens: bool,
    token: tokio::sync::Mutex<Option<Token>>,
    names: Cache<String>,
    /// Account-wide reads, by API and target.
    lookups: Cache<Vec<Item>>,
    consecutive_credential_failures: AtomicU32,
    stopped: Mutex<Option<String>>,
    /// Cancelled when the account stops: wakes the requests waiting to be sent, to withdraw them.
    stopping: CancellationToken,
    /// Attempts that were retries, for progress.
    retries: AtomicU64,
}

impl AccountClient {
    pub fn new(
        name: String,
        api: std::sync::Arc<dyn Api>,
        http: reqwest::Client,
        pacer: Pacer,
        policy: RetryPolicy,
    ) -> AccountClient {
        AccountClient::with_credentials(name, Credentials::Fixed(api), http, pacer, policy)
    }

    /// [`new`](Self::new), for an account whose signer may be renewed (a chained account).
    pub fn with_credentials(
        name: String,
        credentials: Credentials,
        http: reqwest::Client,
        pacer: Pacer,
        policy: RetryPolicy,
    ) -> AccountClient {
        // A chained account signs with temporary keys, never with a token of its own.
        let uses_tokens = match &credentials {
            Credentials::Fixed(api) => api.uses_tokens(),
            Credentials::Assumed(_) => false,
        };
        AccountClient {
            name,
            uses_tokens,
            credentials,
            http,
            pacer,
            policy,
            token: tokio::sync::Mutex::new(None),
            names: Cache::default(),
            lookups: Cache::default(),
            consecutive_credential_failures: AtomicU32::new(0),
            stopped: Mutex::new(None),
            stopping: CancellationToken::new(),
            retries: AtomicU64::new(0),
        }
    }

    /// Attempts so far that retried an earlier one.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Temporary-credential requests the account's chain sent.
    pub fn credential_requests(&self) -> u64 {
        self.credentials.requests()
    }

    /// Why the account was stopped, if it was.
    pub fn stopped(&self) -> Option<String> {
        self.stopped.lock().expect("stopped lock").clone()
    }

    /// Performs `op` with retries. Once `cancel` is cancelled or the account stops, nothing more is
    /// sent: a request waiting for its pacing slot or its retry is withdrawn (a request in flight
    /// is not cut off). A withdrawn operation fails with a failure [`is_withdrawal`] recognises if
    /// no attempt of it had been sent, else with its last failure, marked as not retried.
    pub async fn call(&self, op: &Op<'_>, cancel: &CancellationToken) -> CallReport {
        self.call_departing(op, cancel, &|| Ok(())).await
    }

    /// [`call`](Self::call), with `departing` run before each attempt of a write leaves (not while
    /// it waits: a withdrawn request never runs it).
    pub async fn call_departing(
        &self,
        op: &Op<'_>,
        cancel: &CancellationToken,
        departing: Departing<'_>,
    ) -> CallReport {
        let report = self
            .exchange(
                cancel,
                op.is_write().then_some(departing),
                self.uses_tokens,
                |api, stamp, token| api.build(op, stamp, token),
                |api, reply| {
                    let Classified {
                        request_id,
                        verdict,
                    } = api.classify(op, reply);
                    match verdict {
                        Verdict::Failed(f) => (request_id, Err(f)),
                        ok => (request_id, Ok(ok)),
                    }
                },
            )
            .await;
        // A reply that holds the credentials good ends a run of credential failures.
        let credentials_good = match &report.result {
            Ok(_) => true,
            Err(f) => matches!(
                f.class,
                FailureClass::Permanent | FailureClass::AlreadyExists | FailureClass::NotFound
            ),
        };
        if credentials_good {
            self.consecutive_credential_failures
                .store(0, Ordering::Relaxed);
        }
        report
    }

    /// The one retry loop, for every request of the account: each attempt fetches or renews the
    /// token first (with `with_token`), takes a pacing slot, is signed afresh by `build` and sent;
    /// `read` says what its reply means. Transient failures are retried with backoff, a token the
    /// provider no longer accepts is renewed once, credential failures count towards the account's
    /// stop. A request not yet on the wire when the run or the account stops is withdrawn. `write`
    /// is given for a write request: it runs before each attempt leaves.
    async fn exchange<T>(
        &self,
        cancel: &CancellationToken,
        write: Option<Departing<'_>>,
        with_token: bool,
        build: impl Fn(&dyn Api, &Stamp, Option<&Secret>) -> HttpRequest,
        read: impl Fn(&dyn Api, &Reply) -> (Option<String>, Result<T, Failure>),
    ) -> CallReport<T> {
        // Withdrawn, until an attempt says otherwise.
        let mut report = CallReport {
            result: Err(self.withdrawn()),
            attempts: 0,
            http_status: None,
            request_id: None,
            ambiguous: false,
        };
        // The failure the next attempt retries.
        let mut last: Option<Failure> = None;
        let mut renewed = false;
        loop {
            if self.halted(cancel) {
                return self.withdraw(report, last, cancel);
            }
            // Temporary credentials before the slot: their requests have a limiter of their own.
            let api = match self.credentials.api(cancel).await {
                Ok(api) => api,
                Err(f) if is_withdrawal(&f) || self.halted(cancel) => {
                    return self.withdraw(report, last, cancel);
                }
                Err(f) if matches!(f.class, FailureClass::Retryable { .. }) => {
                    report.result = Err(f);
                    return report;
                }
                // The role cannot be assumed: nothing of the account can be done.
                Err(f) => {
                    self.stop(f.message);
                    return self.withdraw(report, last, cancel);
                }
            };
            // The token before the slot: renewing it takes a slot of its own.
            let token = match with_token {
                true => match self.current_token(cancel).await {
                    Ok(token) => token,
                    // A renewal stopped after an attempt fails with that attempt's failure; the
                    // request that waited for it was still never sent.
                    Err(f) if is_withdrawal(&f) || self.halted(cancel) => {
                        return self.withdraw(report, last, cancel);
                    }
                    Err(f) => {
                        report.result = Err(f);
                        return report;
                    }
                },
                false => None,
            };
            let slot = tokio::select! {
                biased;
                _ = self.halt(cancel) => None,
                slot = self.pacer.acquire() => Some(slot),
            };
            let Some(slot) = slot else {
                return self.withdraw(report, last, cancel);
            };
            // The stop may have come while the slot was granted.
            if self.halted(cancel) {
                slot.unused();
                return self.withdraw(report, last, cancel);
            }
            if let Some(Err(f)) = write.map(|departing| departing()) {
                slot.unused();
                report.result = Err(f);
                return report;
            }
            report.attempts += 1;
            let outcome = send(&self.http, build(&*api, &Stamp::now(), token.as_ref())).await;
            slot.replied();
            let failure = match outcome {
                Ok(reply) => {
                    report.http_status = Some(reply.status);
                    let (request_id, result) = read(&*api, &reply);
                    report.request_id = request_id;
                    match result {
                        Ok(answer) => {
                            report.result = Ok(answer);
                            return report;
                        }
                        Err(f) => f,
                    }
                }
                Err(no_reply) => {
                    report.http_status = None;
                    report.request_id = None;
                    if no_reply.sent && write.is_some() {
                        report.ambiguous = true;
                    }
                    no_reply.into_failure(write.is_some())
                }
            };
            match failure.class {
                FailureClass::Retryable { throttled } => {
                    if throttled {
                        self.pacer.throttled(failure.retry_after);
                    }
                    if report.attempts >= self.policy.max_attempts {
                        report.result = Err(failure);
                        return report;
                    }
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    let wait = self.policy.backoff.delay(
                        report.attempts,
                        failure.retry_after,
                        &mut rand::rng(),
                    );
                    let halted = tokio::select! {
                        biased;
                        _ = self.halt(cancel) => true,
                        _ = tokio::time::sleep(wait) => false,
                    };
                    last = Some(failure);
                    if halted {
                        return self.withdraw(report, last, cancel);
                    }
                }
                FailureClass::TokenExpired
                    if !renewed && (with_token || self.credentials.renewable()) =>
                {
                    // A renewal is not an attempt of the row.
                    renewed = true;
                    report.attempts -= 1;
                    last = Some(failure);
                    match with_token {
                        true => *self.token.lock().await = None,
                        false => self.credentials.expired(&api).await,
                    }
                }
                FailureClass::TokenExpired | FailureClass::Credential => {
                    self.credential_failure(&failure);
                    report.result = Err(failure);
                    return report;
                }
                FailureClass::Permanent | FailureClass::AlreadyExists | FailureClass::NotFound => {
                    report.result = Err(failure);
                    return report;
                }
            }
        }
    }

    /// Whether nothing more may be sent: the run is stopping or the account stopped.
    fn halted(&self, cancel: &CancellationToken) -> bool {
        cancel.is_cancelled() || self.stopping.is_cancelled()
    }

    /// Completes when nothing more may be sent.
    async fn halt(&self, cancel: &CancellationToken) {
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = self.stopping.cancelled() => {}
        }
    }

    /// The failure of a request withdrawn before its first attempt.
    fn withdrawn(&self) -> Failure {
        match self.stopped() {
            Some(reason) => Failure {
                class: FailureClass::Credential,
                code: codes::ACCOUNT_STOPPED.into(),
                message: reason,
                retry_after: None,
            },
            // The caller knows why the run stops (Ctrl-C, --max-failures) and says so.
            None => interrupted(),
        }
    }

    /// Ends a call whose next request is withdrawn: not attempted if nothing was sent yet, else
    /// failed with the failure it would have retried.
    fn withdraw<T>(
        &self,
        mut report: CallReport<T>,
        last: Option<Failure>,
        cancel: &CancellationToken,
    ) -> CallReport<T> {
        report.result = Err(match last.filter(|_| report.attempts > 0) {
            Some(failure) => {
                let why = match cancel.is_cancelled() {
                    true => "interrupted before retry",
                    false => "not retried: the account stopped",
                };
                Failure {
                    message: format!("{} ({why})", failure.message),
                    ..failure
                }
            }
            None => self.withdrawn(),
        });
        report
    }

    /// Resolves a user name to its id, once per name for the whole run (concurrent callers wait for
    /// the first one).
    pub async fn resolve(
        &self,
        name: &str,
        cancel: &CancellationToken,
    ) -> (Result<String, Failure>, Option<CallReport>) {
        self.shared(
            &self.names,
            name,
            &Op::ResolveUser { name },
            cancel,
            |verdict| match verdict {
                Verdict::UserId(id) => Some(id),
                _ => None,
            },
        )
        .await
    }

    /// An account-wide read (a group's members, the account's default domain, the groups of a
    /// name), made once for the whole run.
    pub async fn lookup(
        &self,
        step: &'static Step,
        target: Option<&str>,
        cancel: &CancellationToken,
    ) -> (Result<Vec<Item>, Failure>, Option<CallReport>) {
        let key = format!("{}\0{}", step.api, target.unwrap_or_default());
        let op = Op::Step {
            step,
            user: "",
            target,
            write: None,
        };
        self.shared(&self.lookups, &key, &op, cancel, |verdict| match verdict {
            Verdict::Listed(items) => Some(items),
            _ => None,
        })
        .await
    }

    /// `op`'s answer, asked once per `key` for the whole run (concurrent callers wait for the first
    /// one); the report of the request, for the caller that made it.
    async fn shared<T: Clone>(
        &self,
        cache: &Cache<T>,
        key: &str,
        op: &Op<'_>,
        cancel: &CancellationToken,
        answer: impl FnOnce(Verdict) -> Option<T>,
    ) -> (Result<T, Failure>, Option<CallReport>) {
        let cell = cache
            .lock()
            .await
            .entry(key.to_string())
            .or_default()
            .clone();
        let mut report = None;
        let result = cell
            .get_or_init(|| async {
                let r = self.call(op, cancel).await;
                let out = match r.result.clone() {
                    Ok(verdict) => {
                        let shown = format!("{verdict:?}");
                        answer(verdict).ok_or_else(|| Failure {
                            class: FailureClass::Permanent,
                            code: "unexpected_reply".into(),
                            message: format!("{key} gave {shown}"),
                            retry_after: None,
                        })
                    }
                    Err(f) => Err(f),
                };
                report = Some(r);
                out
            })
            .await
            .clone();
        // A transient failure must not stick for the rest of the run.
        if let Err(f) = &result
            && !matches!(f.class, FailureClass::NotFound | FailureClass::Permanent)
        {
            cache.lock().await.remove(key);
        }
        (result, report)
    }

    fn credential_failure(&self, failure: &Failure) {
        let n = self
            .consecutive_credential_failures
            .fetch_add(1, Ordering::Relaxed)
            + 1;
        if n >= CREDENTIAL_FAILURE_LIMIT {
            self.stop(format!(
                "account '{}' stopped after {n} credential failures in a row (last: {} {}); check its credentials and permissions, then run again with --resume",
                self.name, failure.code, failure.message
            ));
        }
    }

    /// Stops the account for `reason` (the first reason given stays).
    fn stop(&self, reason: String) {
        let mut stopped = self.stopped.lock().expect("stopped lock");
        if stopped.is_none() {
            tracing::error!("{reason}");
            *stopped = Some(reason);
        }
        self.stopping.cancel();
    }

    /// The token to send, renewed when missing or about to expire. `None` for accounts without tokens.
    async fn current_token(&self, cancel: &CancellationToken) -> Result<Option<Secret>, Failure> {
        if !self.uses_tokens {
            return Ok(None);
        }
        // Holding the lock while renewing: never more than one token request at a time.
        let mut guard = self.token.lock().await;
        let fresh = guard.as_ref().is_some_and(|t| {
            t.expires_at
                .is_none_or(|exp| exp - OffsetDateTime::now_utc() > TOKEN_RENEW_MARGIN)
        });
        if !fresh {
            // Boxed: the token request goes through the same loop as the request that needs it.
            *guard = Some(Box::pin(self.fetch_token(cancel)).await?);
        }
        Ok(guard.as_ref().map(|t| t.value.clone()))
    }

    /// A new token. Any failure but a transient one is a credential failure.
    async fn fetch_token(&self, cancel: &CancellationToken) -> Result<Token, Failure> {
        let report = self
            .exchange(
                cancel,
                None,
                false,
                |api, stamp, _| api.token_request(stamp).expect("token account"),
                |api, reply| match api.read_token(reply) {
                    Ok(token) => (None, Ok(token)),
                    Err(TokenRefused {
                        request_id,
                        failure: f,
                    }) if matches!(f.class, FailureClass::Retryable { .. }) => (request_id, Err(f)),
                    Err(TokenRefused {
                        request_id,
                        failure: f,
                    }) => (
                        request_id,
                        Err(Failure {
                            class: FailureClass::Credential,
                            ..f
                        }),
                    ),
                },
            )
            .await;
        report.result
    }
}

/// Sends `request` as it is: no pacing, no retry.
pub(super) async fn send(http: &reqwest::Client, request: HttpRequest) -> Result<Reply, NoReply> {
    let mut builder = http.request(request.method, &request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let response = builder
        .body(request.body)
        .send()
        .await
        .map_err(NoReply::from_reqwest)?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(NoReply::from_reqwest)?;
    Ok(Reply {
        status,
        headers,
        body: body.to_vec(),
    })
}

/// A request that got no (complete) reply.
pub(super) struct NoReply {
    /// The request may have reached the provider.
    sent: bool,
    timeout: bool,
    /// The endpoint's TLS certificate was refused: no retry will help.
    untrusted: bool,
    detail: String,
}

impl NoReply {
    fn from_reqwest(e: reqwest::Error) -> NoReply {
        // Signed URLs may carry signatures: never show them.
        let e = e.without_url();
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            detail = format!("{detail}: {s}");
            source = s.source();
        }
        NoReply {
            sent: !e.is_connect(),
            timeout: e.is_timeout(),
            untrusted: is_certificate_error(&e),
            detail,
        }
    }

    pub(super) fn into_failure(self, write: bool) -> Failure {
        if self.untrusted {
            // Like bad credentials: not retried, and the account stops after a few in a row.
            return Failure {
                class: FailureClass::Credential,
                code: codes::CONNECT_FAILED.into(),
                message: format!(
                    "the endpoint's TLS certificate is not trusted ({}): if a proxy or private endpoint uses its own CA, pass it with --ca-bundle",
                    self.detail
                ),
                retry_after: None,
            };
        }
        let (code, message) = if !self.sent {
            (
                codes::CONNECT_FAILED,
                format!("could not reach the provider: {}", self.detail),
            )
        } else if write {
            (
                codes::UNKNOWN_OUTCOME,
                format!(
                    "sent, but no reply came (it may have been applied): {}",
                    self.detail
                ),
            )
        } else if self.timeout {
            (codes::TIMEOUT, format!("no reply in time: {}", self.detail))
        } else {
            (
                codes::CONNECT_FAILED,
                format!("the connection failed: {}", self.detail),
            )
        };
        Failure {
            class: FailureClass::Retryable { throttled: false },
            code: code.into(),
            message,
            retry_after: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    #[error("the CA bundle holds no PEM certificate (-----BEGIN CERTIFICATE----- blocks)")]
    EmptyBundle,
    #[error(transparent)]
    Http(#[from] reqwest::Error),
}

/// Whether the rustls error behind `e` refused the server's certificate. rustls errors travel
/// inside (nested) `io::Error`s, whose `source()` skips what they wrap, so those are unwrapped by
/// hand.
fn is_certificate_error(e: &(dyn std::error::Error + 'static)) -> bool {
    use tokio_rustls::rustls::Error as Tls;
    let mut link = Some(e);
    while let Some(err) = link {
        let mut inner: &(dyn std::error::Error + 'static) = err;
        while let Some(wrapped) = inner
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            inner = wrapped;
        }
        if matches!(
            inner.downcast_ref::<Tls>(),
            Some(Tls::InvalidCertificate(_) | Tls::NoCertificatesPresented)
        ) {
            return true;
        }
        link = err.source();
    }
    false
}

/// The HTTP client every account shares: short idle pool so a dropped connection is not reused
/// long. `ca_bundle` adds trusted CAs to the system's. HTTPS requests go through `HTTPS_PROXY`
/// (else `ALL_PROXY`; lower case too) unless `NO_PROXY` matches the host; plain http, which only
/// ever goes to a loopback endpoint, never goes through a proxy: one elsewhere on the network
/// would see the request bodies, passwords included, in clear.
/// No redirects and no retries of reqwest's own: each would be a request that took no pacing slot.
pub fn http_client(
    timeout: Duration,
    ca_bundle: Option<&[u8]>,
) -> Result<reqwest::Client, HttpSetupError> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .user_agent(concat!("iambatch/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = ca_bundle {
        let certs = reqwest::Certificate::from_pem_bundle(pem)?;
        if certs.is_empty() {
            return Err(HttpSetupError::EmptyBundle);
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    // Either call replaces reqwest's own proxy lookup, which would also send plain http to HTTP_PROXY.
    builder = match https_proxy(&|name| std::env::var(name).ok())? {
        Some(proxy) => builder.proxy(proxy),
        None => builder.no_proxy(),
    };
    Ok(builder.build()?)
}

/// The proxy for https requests, from the environment as curl reads it.
fn https_proxy(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<reqwest::Proxy>, reqwest::Error> {
    let first = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| env(n).filter(|v| !v.trim().is_empty()))
    };
    let Some(url) = first(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]) else {
        return Ok(None);
    };
    let no_proxy = first(&["NO_PROXY", "no_proxy"]).and_then(|n| reqwest::NoProxy::from_string(&n));
    // The URL may hold a proxy password: keep it out of the error.
    let proxy = reqwest::Proxy::https(url.trim()).map_err(reqwest::Error::without_url)?;
    Ok(Some(proxy.no_proxy(no_proxy)))
}

#[cfg(test)]
mod tests;
