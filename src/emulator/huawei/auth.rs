//! Who a Huawei request is from: an `SDK-HMAC-SHA256` signature checked on the request as
//! received (with `verify.rs`), or a token this instance issued. Also the AK lock after repeated
//! signature failures.

use super::super::replay;
use super::super::service::Incoming;
use super::super::temporary::{ISSUED_TOKEN_PREFIX, KeyError};
use super::verify::{self, ALGORITHM, PayloadError, Received};
use crate::secret::Secret;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

/// Failed signatures in a row that lock an AK, and for how long (APIG FAQ).
const LOCK_AFTER: u32 = 5;
const LOCK_FOR: Duration = Duration::minutes(5);

/// Why a signed request was refused. Each is a 401 `APIG.0301` with its own message.
#[derive(Debug, PartialEq, Eq)]
pub enum AkSkError {
    /// Not `SDK-HMAC-SHA256 Access=.., SignedHeaders=.., Signature=..`, or no `X-Sdk-Date` (or
    /// a received `X-Security-Token`) signed.
    Malformed,
    UnknownAk(String),
    /// `X-Security-Token` missing for a temporary AK, or not the one issued with it, or expired.
    SecurityToken(KeyError),
    /// `X-Sdk-Content-Sha256` is not the body's hash, or a JSON body claims `UNSIGNED-PAYLOAD`.
    Payload(PayloadError),
    Locked,
    /// `X-Sdk-Date` more than 15 minutes from now.
    Stale,
    Mismatch,
}

impl AkSkError {
    pub fn message(&self) -> String {
        let detail = match self {
            AkSkError::Malformed | AkSkError::Mismatch => "verify aksk signature fail".to_string(),
            AkSkError::UnknownAk(ak) => format!("Get secretKey failed,ak:{ak},err:ak not exist"),
            AkSkError::SecurityToken(KeyError::Expired) => "the security token has expired".into(),
            AkSkError::SecurityToken(_) => "verify security token fail".to_string(),
            AkSkError::Payload(PayloadError::Tampered) => {
                "verify aksk signature fail, the body does not match X-Sdk-Content-Sha256".into()
            }
            AkSkError::Payload(PayloadError::UnsignedJson) => {
                "verify aksk signature fail, a JSON body must be signed".to_string()
            }
            AkSkError::Locked => "AK access failed to reach the limit,forbidden.".to_string(),
            AkSkError::Stale => {
                "verify aksk signature fail, X-Sdk-Date is more than 15 minutes from the server time"
                    .to_string()
            }
        };
        format!("Incorrect IAM authentication information: {detail}")
    }
}

/// The parts of an `Authorization: SDK-HMAC-SHA256 ...` header.
#[derive(Debug, PartialEq, Eq)]
struct Authorization<'a> {
    access: &'a str,
    signed_headers: Vec<String>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.strip_prefix(ALGORITHM)?.strip_prefix(' ')?.trim();
    let (mut access, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (key, v) = part.trim().split_once('=')?;
        match key {
            "Access" => access = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => return None,
        }
    }
    Some(Authorization {
        access: access.filter(|a| !a.is_empty())?,
        signed_headers: signed?.split(';').map(str::to_string).collect(),
        signature: signature?,
    })
}

/// `YYYYMMDDTHHMMSSZ`.
fn parse_sdk_date(value: &str) -> Option<OffsetDateTime> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    PrimitiveDateTime::parse(value, format)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// The header's value as sent, or `None`.
pub fn header<'a>(request: &'a Incoming, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The AK a request claims in its `Authorization` header, for the log, before it is checked.
pub fn claimed_ak(request: &Incoming) -> Option<&str> {
    parse_authorization(header(request, "authorization")?).map(|a| a.access)
}

/// Recomputes the signature from the request as received: method, path, query, the headers it
/// says it signed (which must include `X-Sdk-Date`, and `X-Security-Token` when sent) and the
/// body's own hash.
fn verify(request: &Incoming, auth: &Authorization<'_>, sk: &str) -> Result<(), AkSkError> {
    let signs = |name: &str| auth.signed_headers.iter().any(|h| h == name);
    let token_unsigned =
        header(request, "x-security-token").is_some() && !signs("x-security-token");
    if !signs("x-sdk-date") || token_unsigned {
        return Err(AkSkError::Malformed);
    }
    let date = header(request, "x-sdk-date").ok_or(AkSkError::Malformed)?;
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_string(), value)
        })
        .collect();
    let received = Received {
        method: request.method.as_str(),
        path: &request.path,
        query: &request.query,
        headers: &headers,
        body: &request.body,
    };
    let payload = verify::payload_hash(&received).map_err(AkSkError::Payload)?;
    let signed: Vec<&str> = auth.signed_headers.iter().map(String::as_str).collect();
    let canonical =
        verify::canonical_request(&received, &signed, &payload).ok_or(AkSkError::Mismatch)?;
    if !verify::verify(sk, date, &canonical, auth.signature) {
        return Err(AkSkError::Mismatch);
    }
    Ok(())
}

/// AK/SK checks with the per-AK lock: five failed signatures in a row lock the AK for five minutes,
/// during which even a good signature is refused.
#[derive(Default)]
pub struct Signatures {
    /// Failures in a row, and the end of the lock, per AK.
    failures: Mutex<HashMap<String, (u32, Option<OffsetDateTime>)>>,
}

impl Signatures {
    /// The AK of a correctly signed, fresh request; `sk` finds the SK of an AK given the request's
    /// `X-Security-Token`.
    pub fn check(
        &self,
        request: &Incoming,
        sk: impl Fn(&str, Option<&str>) -> Result<Secret, KeyError>,
        now: OffsetDateTime,
    ) -> Result<String, AkSkError> {
        let auth = header(request, "authorization")
            .and_then(parse_authorization)
            .ok_or(AkSkError::Malformed)?;
        let sk = sk(auth.access, header(request, "x-security-token")).map_err(|e| match e {
            KeyError::UnknownKey => AkSkError::UnknownAk(auth.access.to_string()),
            other => AkSkError::SecurityToken(other),
        })?;
        let mut failures = self.failures.lock().expect("huawei lock table");
        let entry = failures.entry(auth.access.to_string()).or_default();
        if entry.1.is_some_and(|until| now < until) {
            return Err(AkSkError::Locked);
        }
        let signed_at = header(request, "x-sdk-date").and_then(parse_sdk_date);
        let result = match signed_at {
            None => Err(AkSkError::Malformed),
            Some(t) if !replay::fresh(t, now) => Err(AkSkError::Stale),
            Some(_) => verify(request, &auth, sk.expose()),
        };
        match result {
            Ok(()) => *entry = (0, None),
            Err(_) => {
                entry.0 += 1;
                entry.1 = (entry.0 >= LOCK_AFTER).then_some(now + LOCK_FOR);
            }
        }
        result.map(|()| auth.access.to_string())
    }
}

/// Tokens this instance issued: each valid until its `expires_at` or until revoked.
#[derive(Default)]
pub struct Tokens {
    /// Token → (IAM user name, the id of the account it acts in, expiry).
    live: Mutex<HashMap<String, (String, String, OffsetDateTime)>>,
    issued: AtomicU64,
}

impl Tokens {
    /// A new token for `user`, acting in the account `account`, valid for `ttl` from `now`.
    /// Expired tokens are forgotten here, so the table holds only live ones.
    pub fn issue(
        &self,
        user: &str,
        account: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> (Secret, OffsetDateTime) {
        let mut bytes = [0u8; 96];
        rand::rng().fill_bytes(&mut bytes);
        // Real tokens are long base64 strings starting with MII (a CMS structure); the marker
        // after it lets the canary test find any token that leaks.
        let token = format!("MII{ISSUED_TOKEN_PREFIX}{}", BASE64.encode(bytes));
        let expires_at = now + ttl;
        let mut live = self.live.lock().expect("huawei token table");
        live.retain(|_, (_, _, expiry)| *expiry > now);
        let entry = (user.to_string(), account.to_string(), expires_at);
        live.insert(token.clone(), entry);
        self.issued.fetch_add(1, Ordering::Relaxed);
        (Secret::new(token), expires_at)
    }

    /// The user of a token that is live at `now`, and the account it acts in.
    pub fn user(&self, token: &str, now: OffsetDateTime) -> Option<(String, String)> {
        let live = self.live.lock().expect("huawei token table");
        live.get(token)
            .filter(|(_, _, expiry)| now < *expiry)
            .map(|(user, account, _)| (user.clone(), account.clone()))
    }

    /// Invalidates every token, as a password change does.
    pub fn revoke_all(&self) {
        self.live.lock().expect("huawei token table").clear();
    }

    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn reads_the_authorization_header() {
        let auth = parse_authorization(
            "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature=abc",
        )
        .unwrap();
        assert_eq!(
            auth,
            Authorization {
                access: "AK1",
                signed_headers: vec!["host".into(), "x-sdk-date".into()],
                signature: "abc",
            }
        );
        for bad in [
            "SDK-HMAC-SHA1 Access=AK1, SignedHeaders=host, Signature=abc",
            "SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature=abc",
            "SDK-HMAC-SHA256 Access=AK1, Signature=abc",
            "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature=abc, Extra=1",
            "Bearer xyz",
        ] {
            assert_eq!(parse_authorization(bad), None, "{bad}");
        }
    }

    #[test]
    fn sdk_dates() {
        assert_eq!(
            parse_sdk_date("20200608T023900Z"),
            Some(datetime!(2020-06-08 02:39:00 UTC))
        );
        assert_eq!(parse_sdk_date("2020-06-08T02:39:00Z"), None);
    }

    #[test]
    fn tokens_expire_and_can_be_revoked() {
        let tokens = Tokens::default();
        let t0 = datetime!(2024-01-01 00:00 UTC);
        let (token, expires_at) = tokens.issue("ops", "d", t0, Duration::seconds(10));
        assert_eq!(expires_at, t0 + Duration::seconds(10));
        assert!(token.expose().starts_with("MII"));
        let user = tokens.user(token.expose(), t0);
        assert_eq!(user, Some(("ops".to_string(), "d".to_string())));
        assert_eq!(tokens.user(token.expose(), expires_at), None);
        assert_eq!(tokens.user("MIIforged", t0), None);
        let (second, _) = tokens.issue("ops", "d", t0, Duration::hours(24));
        tokens.revoke_all();
        assert_eq!(tokens.user(second.expose(), t0), None);
        assert_eq!(tokens.issued(), 2);
    }
}
