//! What a provider's emulator module implements ([`Service`]) and the types it works with. The core
//! (`server.rs`) owns everything else: ports, latency, the rate limit, faults, drops and the log.

use crate::jobs::ProviderKind;
use crate::secret::Secret;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, header};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::time::Duration;
use time::OffsetDateTime;

/// One provider's emulated API. For every request that is not a control request the core calls
/// [`Service::admit`]; an admitted request then passes the rate limit ([`Service::throttled`] if
/// over it) and the fault dice ([`Service::fault`]) before [`Service::apply`] runs it. Every method is
/// synchronous: state lives behind a `std::sync::Mutex` held only inside one call.
pub trait Service: Send + Sync + Sized + 'static {
    const KIND: ProviderKind;
    /// What `admit` learns from a request and hands to `apply`.
    type Call: Send;

    /// Builds the service from the users file and the extra credentials; `Err` names what is wrong.
    fn new(setup: Setup) -> Result<Self, String>;
    /// Reads and authenticates a request as it arrived (signature, timestamp, nonce, token).
    /// `call: Err(reply)` refuses it: the reply is sent as is and logged `rejected`.
    fn admit(&self, request: &Incoming, now: OffsetDateTime) -> Admission<Self::Call>;
    /// Runs an admitted call against the state. API errors (already exists, not found, bad
    /// parameter) are replies like any other.
    fn apply(&self, call: Self::Call, now: OffsetDateTime) -> Reply;
    /// The provider's throttling reply, asking the client to wait `retry_after`.
    fn throttled(&self, retry_after: Duration) -> Reply;
    /// The provider's reply to a transient server failure (a 5xx, or the provider's own code for it).
    fn fault(&self) -> Reply;
    /// The full state as JSON. Never a plaintext password: store a [`PasswordHash`].
    fn state(&self) -> Value;
    /// Whether `user`'s login password is `password`, in account `account` (`None`: the main
    /// account); `None` if the user has no password here.
    fn has_password(&self, _account: Option<&str>, _user: &str, _password: &str) -> Option<bool> {
        None
    }
    /// Changes the state directly (for verify tests); the patch format is the module's to document.
    fn tamper(&self, patch: &Value, now: OffsetDateTime) -> Result<(), String>;
}

/// What the core gives a service at start.
pub struct Setup {
    /// This provider's entries of the users file, as written: the users that exist at start (state
    /// patches add more; the API never invents one).
    pub users: Vec<Value>,
    /// Credentials accepted besides the provider's `emulator_keys()`: (key id, secret).
    pub accounts: Vec<(String, Secret)>,
    pub now: OffsetDateTime,
    /// How long issued tokens live (providers with token auth).
    pub token_ttl: Duration,
    /// The Alibaba account's default domain (`EmulatorConfig::aliyun_default_domain`).
    pub aliyun_default_domain: String,
}

/// A request as it arrived, body read.
pub struct Incoming {
    pub method: Method,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Incoming {
    /// Whether it is for an RPC-style API (Alibaba, UCloud): GET or POST at `/`.
    pub fn is_rpc(&self) -> bool {
        self.path == "/" && [Method::GET, Method::POST].contains(&self.method)
    }

    /// Query parameters then `application/x-www-form-urlencoded` body parameters, decoded, in the
    /// order they arrived.
    pub fn form_params(&self) -> Vec<(String, String)> {
        let mut params: Vec<(String, String)> = form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect();
        let is_form = self
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            params.extend(form_urlencoded::parse(&self.body).into_owned());
        }
        params
    }
}

/// Who and what a request is about: the rate limiter's key and the request log's fields. Empty
/// strings where the request did not say.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    /// The access key id (or token owner) the request claims.
    pub account: String,
    /// The id of the account whose directory the request acts on; empty if not authenticated.
    pub account_id: String,
    pub action: String,
    pub user: String,
    /// Whether the action changes state: only writes are dropped.
    pub write: bool,
}

/// [`Service::admit`]'s answer.
pub struct Admission<C> {
    pub meta: Meta,
    pub call: Result<C, Reply>,
}

/// A reply to send.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    /// Header names in lower case.
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// The provider's error code, for the request log; `None` on success.
    pub code: Option<String>,
}

impl Reply {
    /// A JSON reply.
    pub fn json(status: StatusCode, body: &Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "application/json;charset=utf-8".to_string())],
            body: body.to_string().into_bytes(),
            code: None,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Reply {
        self.code = Some(code.into());
        self
    }
}

/// A fresh request id: an upper-case v4 UUID, as Alibaba prints them.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_ascii_uppercase()
}

/// All the state keeps of a password: a random salt of its own and SHA-256 over salt and password,
/// both hex. The same password twice gives two different hashes, so the served state cannot be
/// matched against a list of precomputed hashes; [`PasswordHash::matches`] checks a guess.
#[derive(Clone, Debug, Serialize)]
pub struct PasswordHash {
    salt: String,
    sha256: String,
}

impl PasswordHash {
    pub fn new(password: &str) -> PasswordHash {
        let salt: [u8; 16] = rand::random();
        PasswordHash {
            sha256: salted_sha256(&salt, password),
            salt: hex::encode(salt),
        }
    }

    pub fn matches(&self, password: &str) -> bool {
        hex::decode(&self.salt)
            .is_ok_and(|salt| super::canon::same(&salted_sha256(&salt, password), &self.sha256))
    }
}

fn salted_sha256(salt: &[u8], password: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(
        Sha256::new()
            .chain_update(salt)
            .chain_update(password)
            .finalize(),
    )
}

/// For state patches: tells a `null` field (`Some(None)`) from an absent one (`None`, with
/// `#[serde(default, deserialize_with = "present")]`).
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::PasswordHash;

    #[test]
    fn a_password_hash_is_salted_and_checks_guesses() {
        let a = PasswordHash::new("canary-Passw0rd!");
        let b = PasswordHash::new("canary-Passw0rd!");
        assert_ne!(a.sha256, b.sha256, "each hash has its own salt");
        assert!(a.matches("canary-Passw0rd!") && b.matches("canary-Passw0rd!"));
        assert!(!a.matches("canary-Passw0rd"));
        assert_eq!(a.salt.len(), 32);
    }
}
