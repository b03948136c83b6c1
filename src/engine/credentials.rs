//! Whose credentials sign an account's requests: its own, or for a chained account temporary ones
//! its source obtains (STS AssumeRole). Temporary credentials are asked for once per account,
//! held in memory only, and renewed when less than min(5 minutes, a quarter of their lifetime)
//! remains or when the provider says they expired. Their requests are paced by one limiter per
//! source account, apart from the account's IAM rate: STS has its own quota.

use crate::accounts::AccountPlan;
use crate::engine::backoff::Backoff;
use crate::engine::client::{codes, interrupted, send};
use crate::engine::pacer::Pacer;
use crate::providers::{
    AccountSpec, Api, Assume, AssumeRequest, ConnectError, Failure, FailureClass, HttpRequest,
    Provider, Reply, Services, Stamp,
};
use crate::secret::Secret;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use url::Url;

/// Temporary-credential requests per second per source account (aliyun STS's published quota,
/// used for every provider).
pub const STS_RATE: f64 = 100.0;
/// Temporary credentials are renewed with this much left at the latest.
const RENEW_MARGIN: time::Duration = time::Duration::minutes(5);

/// An account's signer, fixed or renewed.
#[derive(Clone)]
pub enum Credentials {
    /// The account's own long-term credentials (or a ready token).
    Fixed(Arc<dyn Api>),
    /// Temporary credentials assumed through a source.
    Assumed(Arc<Assumed>),
}

impl Credentials {
    /// The signer to use now: for a chained account, with live temporary credentials (obtained
    /// or renewed first). A failure names the role, the source and the provider's code.
    pub async fn api(&self, cancel: &CancellationToken) -> Result<Arc<dyn Api>, Failure> {
        match self {
            Credentials::Fixed(api) => Ok(api.clone()),
            Credentials::Assumed(assumed) => Box::pin(assumed.api(cancel)).await,
        }
    }

    /// Whether the credentials can be renewed (temporary ones can).
    pub fn renewable(&self) -> bool {
        matches!(self, Credentials::Assumed(_))
    }

    /// The provider said the credentials of `stale` expired: the next [`Credentials::api`]
    /// obtains new ones (unless someone already did).
    pub async fn expired(&self, stale: &Arc<dyn Api>) {
        if let Credentials::Assumed(assumed) = self {
            let mut current = assumed.current.lock().await;
            if current.as_ref().is_some_and(|c| Arc::ptr_eq(&c.api, stale)) {
                *current = None;
            }
        }
    }

    /// Temporary-credential requests sent so far (0 for fixed credentials).
    pub fn requests(&self) -> u64 {
        match self {
            Credentials::Fixed(_) => 0,
            Credentials::Assumed(a) => a.calls.requests(),
        }
    }
}

/// Live temporary credentials, connected.
struct Current {
    api: Arc<dyn Api>,
    renew_at: OffsetDateTime,
}

/// One chained account's temporary credentials.
pub struct Assumed {
    display: String,
    provider: &'static dyn Provider,
    endpoint: Url,
    /// The endpoints of the provider's other services.
    services: Services,
    calls: SourceCalls,
    assume: Assume,
    sts_endpoint: Url,
    session_name: String,
    /// Held while renewing: one request at a time, the others wait for its answer.
    current: tokio::sync::Mutex<Option<Current>>,
    /// Why the role cannot be assumed: once known, not asked again.
    refused: Mutex<Option<Failure>>,
}

impl Assumed {
    async fn api(&self, cancel: &CancellationToken) -> Result<Arc<dyn Api>, Failure> {
        let mut current = self.current.lock().await;
        if let Some(c) = current.as_ref()
            && OffsetDateTime::now_utc() < c.renew_at
        {
            return Ok(c.api.clone());
        }
        *current = None;
        if let Some(refused) = self.refused.lock().expect("refused").clone() {
            return Err(refused);
        }
        let fresh = self.obtain(cancel).await.inspect_err(|f| {
            if f.class == FailureClass::Credential {
                *self.refused.lock().expect("refused") = Some(f.clone());
            }
        })?;
        let api = fresh.api.clone();
        *current = Some(fresh);
        Ok(api)
    }

    /// Asks for new credentials with the source's, connected.
    async fn obtain(&self, cancel: &CancellationToken) -> Result<Current, Failure> {
        let request = AssumeRequest {
            assume: &self.assume,
            session_name: &self.session_name,
            endpoint: &self.sts_endpoint,
        };
        let build = |source: &dyn Api, stamp: &Stamp, token: Option<&Secret>| {
            source.assume_request(&request, stamp, token)
        };
        let read = |source: &dyn Api, reply: &Reply| {
            let temporary = source.read_assumed(&request, reply)?;
            let obtained = OffsetDateTime::now_utc();
            let api = self
                .provider
                .connect(&AccountSpec {
                    name: &self.display,
                    endpoint: &self.endpoint,
                    keys: &temporary.keys,
                    services: &self.services,
                })
                .map_err(|e| Failure {
                    class: FailureClass::Credential,
                    code: "unusable".into(),
                    message: e.to_string(),
                    retry_after: None,
                })?;
            Ok(Current {
                api,
                renew_at: renew_at(obtained, temporary.expires_at),
            })
        };
        (self.calls.call(cancel, &build, &read).await).map_err(|f| self.failed(f))
    }

    /// `failure`, its message saying what could not be assumed with whose credentials. A
    /// transient failure keeps its class (the row fails, the account goes on); any other means
    /// the account cannot be reached.
    fn failed(&self, failure: Failure) -> Failure {
        if failure.code == codes::INTERRUPTED {
            return failure;
        }
        let class = match failure.class {
            FailureClass::Retryable { .. } => failure.class,
            _ => FailureClass::Credential,
        };
        Failure {
            class,
            message: format!(
                "account '{}': cannot assume {} with the credentials of '{}' ({}: {})",
                self.display,
                self.assume.describe(),
                self.calls.source_name,
                failure.code,
                failure.message
            ),
            ..failure
        }
    }
}

/// Requests signed with a source account's credentials for another account's sake (temporary
/// credentials, directory listings): paced by the source's limiter, transient failures retried
/// with backoff, an expired source renewed once, the source's token obtained first when it
/// authenticates with one.
pub(crate) struct SourceCalls {
    source: Credentials,
    source_name: String,
    limiter: Arc<Pacer>,
    http: reqwest::Client,
    max_attempts: u32,
    backoff: Backoff,
    requests: AtomicU64,
    /// The source's token, reused until it is due for renewal: a listing of many pages asks for
    /// one, not one per page.
    token: tokio::sync::Mutex<Option<HeldToken>>,
}

/// A source's token and the credentials it was obtained with.
struct HeldToken {
    source: Arc<dyn Api>,
    value: Secret,
    renew_at: OffsetDateTime,
}

/// Builds a source's request: `None` when its credentials cannot make it.
type Build<'a> =
    dyn Fn(&dyn Api, &Stamp, Option<&Secret>) -> Option<HttpRequest> + Send + Sync + 'a;

impl SourceCalls {
    /// The answer `read` makes of the reply to what `build` asks, retried as a transient or
    /// expired-source failure allows. A failure is returned as the provider gave it.
    pub(crate) async fn call<T>(
        &self,
        cancel: &CancellationToken,
        build: &Build<'_>,
        read: &(dyn Fn(&dyn Api, &Reply) -> Result<T, Failure> + Send + Sync),
    ) -> Result<T, Failure> {
        let mut attempts = 0;
        let mut source_renewed = false;
        loop {
            let source = self.source.api(cancel).await?;
            attempts += 1;
            let failure = match self.attempt(&source, cancel, build, read).await {
                Ok(answer) => return Ok(answer),
                Err(f) if f.code == codes::INTERRUPTED => return Err(f),
                Err(f) => f,
            };
            match failure.class {
                FailureClass::TokenExpired
                    if !source_renewed
                        && (self.source.renewable() || self.token.lock().await.is_some()) =>
                {
                    source_renewed = true;
                    // What expired may be the held token or the source's own credentials.
                    *self.token.lock().await = None;
                    self.source.expired(&source).await;
                }
                FailureClass::Retryable { throttled } if attempts < self.max_attempts => {
                    if throttled {
                        self.limiter.throttled(failure.retry_after);
                    }
                    let wait = self
                        .backoff
                        .delay(attempts, failure.retry_after, &mut rand::rng());
                    tokio::select! {
                        biased;
                        _ = cancel.cancelled() => return Err(interrupted()),
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
                _ => return Err(failure),
            }
        }
    }

    /// One try: the source's token first when it authenticates with tokens, then the request.
    async fn attempt<T>(
        &self,
        source: &Arc<dyn Api>,
        cancel: &CancellationToken,
        build: &Build<'_>,
        read: &(dyn Fn(&dyn Api, &Reply) -> Result<T, Failure> + Send + Sync),
    ) -> Result<T, Failure> {
        let token = match source.uses_tokens() {
            true => Some(self.source_token(source, cancel).await?),
            false => None,
        };
        let http = build(&**source, &Stamp::now(), token.as_ref()).ok_or_else(|| Failure {
            class: FailureClass::Credential,
            code: "unsupported".into(),
            message: "the source's credentials cannot make this request".into(),
            retry_after: None,
        })?;
        let reply = self.send_paced(http, cancel).await?;
        read(&**source, &reply)
    }

    /// The token of a source that authenticates with one: the one held while it is good, else a
    /// fresh one.
    async fn source_token(
        &self,
        source: &Arc<dyn Api>,
        cancel: &CancellationToken,
    ) -> Result<Secret, Failure> {
        let mut held = self.token.lock().await;
        if let Some(h) = held
            .as_ref()
            .filter(|h| Arc::ptr_eq(&h.source, source) && OffsetDateTime::now_utc() < h.renew_at)
        {
            return Ok(h.value.clone());
        }
        let Some(http) = source.token_request(&Stamp::now()) else {
            return Err(Failure {
                class: FailureClass::Credential,
                code: "token".into(),
                message: "the source uses tokens but cannot ask for one".into(),
                retry_after: None,
            });
        };
        let obtained = OffsetDateTime::now_utc();
        let reply = self.send_paced(http, cancel).await?;
        let token = source
            .read_token(&reply)
            .map_err(|refused| refused.failure)?;
        *held = token.expires_at.map(|expires| HeldToken {
            source: source.clone(),
            value: token.value.clone(),
            renew_at: renew_at(obtained, expires),
        });
        Ok(token.value)
    }

    /// Sends one request when the source's limiter allows.
    async fn send_paced(
        &self,
        http: HttpRequest,
        cancel: &CancellationToken,
    ) -> Result<Reply, Failure> {
        let slot = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(interrupted()),
            slot = self.limiter.acquire() => slot,
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let outcome = send(&self.http, http).await;
        slot.replied();
        outcome.map_err(|no_reply| no_reply.into_failure(false))
    }

    /// The source account's name, for messages.
    pub(crate) fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Requests sent so far.
    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

/// When credentials obtained at `obtained` and expiring at `expires` are renewed: with
/// min(5 minutes, a quarter of their lifetime) left.
pub fn renew_at(obtained: OffsetDateTime, expires: OffsetDateTime) -> OffsetDateTime {
    let lifetime = (expires - obtained).max(time::Duration::ZERO);
    expires - RENEW_MARGIN.min(lifetime / 4)
}

/// Builds every account's [`Credentials`] of one run: accounts that share a source share its
/// credentials (obtained once) and its temporary-credential limiter.
pub struct Chains {
    http: reqwest::Client,
    session_name: String,
    max_attempts: u32,
    limiters: Mutex<HashMap<String, Arc<Pacer>>>,
    assumed: Mutex<HashMap<String, Arc<Assumed>>>,
}

impl Chains {
    /// `local_user` is who runs iambatch: the session name `iambatch-<local_user>` tells the
    /// provider's audit log.
    pub fn new(http: reqwest::Client, local_user: &str, max_attempts: u32) -> Chains {
        Chains {
            http,
            session_name: format!("iambatch-{local_user}"),
            max_attempts,
            limiters: Mutex::new(HashMap::new()),
            assumed: Mutex::new(HashMap::new()),
        }
    }

    /// The account's credentials: its own, or assumed through its chain.
    pub fn credentials(&self, plan: &AccountPlan) -> Result<Credentials, ConnectError> {
        let Some(chain) = &plan.chain else {
            return Ok(Credentials::Fixed(plan.provider.connect(&AccountSpec {
                name: &plan.display,
                endpoint: &plan.endpoint,
                keys: &plan.keys,
                services: &plan.services,
            })?));
        };
        if let Some(assumed) = self.assumed.lock().expect("chains").get(&plan.display) {
            return Ok(Credentials::Assumed(assumed.clone()));
        }
        if plan.directory.is_some() {
            return Err(ConnectError::Invalid {
                account: plan.display.clone(),
                message: format!(
                    "is a members account: name one member, {}/<account id>",
                    plan.display
                ),
            });
        }
        if !plan.provider.assumes(&chain.assume) {
            return Err(ConnectError::Invalid {
                account: plan.display.clone(),
                message: format!(
                    "iambatch cannot yet assume {} on {}: give the account credentials of its own",
                    chain.assume.describe(),
                    plan.provider.spec().kind
                ),
            });
        }
        let assumed = Arc::new(Assumed {
            display: plan.display.clone(),
            provider: plan.provider,
            endpoint: plan.endpoint.clone(),
            services: plan.services.clone(),
            calls: self.calls(&chain.source)?,
            assume: chain.assume.clone(),
            sts_endpoint: chain.sts_endpoint.clone(),
            session_name: self.session_name.clone(),
            current: tokio::sync::Mutex::new(None),
            refused: Mutex::new(None),
        });
        (self.assumed.lock().expect("chains")).insert(plan.display.clone(), assumed.clone());
        Ok(Credentials::Assumed(assumed))
    }

    /// Requests made with `source`'s credentials, paced by its limiter.
    pub(crate) fn calls(&self, source: &AccountPlan) -> Result<SourceCalls, ConnectError> {
        let limiter = (self.limiters.lock().expect("chains"))
            .entry(source.display.clone())
            .or_insert_with(|| Arc::new(Pacer::new(Some(STS_RATE))))
            .clone();
        Ok(SourceCalls {
            source: self.credentials(source)?,
            source_name: source.display.clone(),
            limiter,
            http: self.http.clone(),
            max_attempts: self.max_attempts,
            backoff: Backoff::default(),
            requests: AtomicU64::new(0),
            token: tokio::sync::Mutex::new(None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn renewed_with_a_quarter_of_a_short_lifetime_or_five_minutes_left() {
        let t0 = datetime!(2026-01-01 00:00 UTC);
        // One hour: five minutes before the end.
        assert_eq!(
            renew_at(t0, t0 + time::Duration::hours(1)),
            t0 + time::Duration::minutes(55)
        );
        // Eight seconds: two seconds before the end.
        assert_eq!(
            renew_at(t0, t0 + time::Duration::seconds(8)),
            t0 + time::Duration::seconds(6)
        );
        // Already expired: at once.
        assert_eq!(
            renew_at(t0, t0 - time::Duration::seconds(1)),
            t0 - time::Duration::seconds(1)
        );
    }
}
