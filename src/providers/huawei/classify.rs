//! Huawei error replies: the three body shapes and the class table of docs/providers.md §3.5.

use crate::providers::{Failure, FailureClass, Reply};
use serde_json::{Map, Value};
use std::time::Duration;

/// Who sent the request, which decides what a 401 means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// AK/SK-signed: nothing to renew.
    AkSk,
    /// A token from user name and password: renew it once.
    Password,
    /// A ready token: it cannot be renewed.
    Token,
    /// The token request itself: the user name, password or account name is wrong.
    TokenRequest,
}

/// The provider's code and message, from whichever shape the body has.
#[derive(Debug, PartialEq, Eq)]
pub struct ProviderError {
    pub code: String,
    pub message: String,
    /// Gateway bodies carry `request_id`.
    pub request_id: Option<String>,
}

/// `error_code`/`error_msg` (IAM, gateway), then `code`/`message`, then one nested object such as
/// Keystone's `{"error":{"code":401,"message":..,"title":..}}`. Anything else keeps the HTTP status
/// as the code and a short excerpt of the body as the message.
pub fn parse_error(status: u16, body: &[u8]) -> ProviderError {
    let json: Option<Map<String, Value>> = serde_json::from_slice(body).ok();
    let found = json.as_ref().and_then(|top| {
        fields(top).or_else(|| {
            let nested = top.get("error").and_then(Value::as_object);
            nested
                .or_else(|| top.values().find_map(Value::as_object))
                .and_then(fields)
        })
    });
    let request_id = json
        .as_ref()
        .and_then(|top| top.get("request_id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let (code, mut message) = found.unwrap_or_else(|| (status.to_string(), excerpt(status, body)));
    if message.is_empty() {
        message = format!("HTTP {status}");
    }
    ProviderError {
        code,
        message,
        request_id,
    }
}

/// A code and a message from one object, if it has a code.
fn fields(obj: &Map<String, Value>) -> Option<(String, String)> {
    let text = |key: &str| match obj.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let (code, message) = match text("error_code") {
        Some(code) => (code, text("error_msg")),
        None => (text("code")?, text("message").or_else(|| text("title"))),
    };
    Some((code, message.unwrap_or_default()))
}

/// The start of a non-JSON body (a proxy's HTML page), on one line.
fn excerpt(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect();
    if line.is_empty() {
        format!("HTTP {status} with an empty body")
    } else {
        line
    }
}

/// The class of an error reply.
pub fn class(status: u16, code: &str, message: &str, caller: Caller) -> FailureClass {
    match (status, code) {
        (429, _) | (_, "APIG.0308") => FailureClass::Retryable { throttled: true },
        (500..=599, _) => FailureClass::Retryable { throttled: false },
        (400..=499, _) if caller == Caller::TokenRequest => FailureClass::Credential,
        (401, "APIG.0301") if caller == Caller::Password => {
            // The gateway's code covers both a bad AK/SK and an expired token ("decrypt token fail").
            if message.to_ascii_lowercase().contains("token") {
                FailureClass::TokenExpired
            } else {
                FailureClass::Credential
            }
        }
        (401, _) if caller == Caller::Password => FailureClass::TokenExpired,
        (401, _) | (403, "IAM.0002" | "IAM.0003") => FailureClass::Credential,
        (404, _) => FailureClass::NotFound,
        // CreateUser: the name is taken (IAM answers 400, not 409).
        (400, "1109") => FailureClass::AlreadyExists,
        _ => FailureClass::Permanent,
    }
}

/// What the user should do about a credential failure.
fn hint(status: u16, code: &str, caller: Caller) -> Option<&'static str> {
    match (caller, status, code) {
        (Caller::TokenRequest, 401, _) => Some(
            "IAM refused user_name, password or domain_name; a HUAWEI ID cannot get tokens (use an \
             IAM user), nor can a user whose login protection asks for a virtual MFA code",
        ),
        (Caller::AkSk, 401, _) => Some(
            "check ak, sk and domain_id; 5 failed signatures in a row lock the AK for 5 minutes",
        ),
        (Caller::Token, 401, _) => Some(
            "the token was refused: tokens last 24 hours; give a fresh token, or user_name, \
             password and domain_name so that iambatch renews it",
        ),
        (_, 403, "IAM.0002" | "IAM.0003") => {
            Some("the caller needs Security Administrator permissions")
        }
        _ => None,
    }
}

/// An error reply as a failure, honouring `Retry-After` (seconds) on retryable ones.
pub fn failure(reply: &Reply, caller: Caller) -> Failure {
    let ProviderError { code, message, .. } = parse_error(reply.status, &reply.body);
    let class = class(reply.status, &code, &message, caller);
    let message = match hint(reply.status, &code, caller) {
        Some(hint) => format!("{message} ({hint})"),
        None => message,
    };
    let retry_after = match class {
        FailureClass::Retryable { .. } => retry_after(reply),
        _ => None,
    };
    Failure {
        class,
        code,
        message,
        retry_after,
    }
}

fn retry_after(reply: &Reply) -> Option<Duration> {
    let seconds = reply.header("Retry-After")?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(seconds))
}

/// `X-Request-Id`, else the gateway body's `request_id`.
pub fn request_id(reply: &Reply) -> Option<String> {
    reply
        .header("X-Request-Id")
        .map(str::to_string)
        .or_else(|| parse_error(reply.status, &reply.body).request_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::testing::reply;

    #[test]
    fn reads_the_three_body_shapes() {
        assert_eq!(
            parse_error(
                404,
                br#"{"error_msg":"Could not find user: 0a1b.","error_code":"IAM.0004"}"#
            ),
            ProviderError {
                code: "IAM.0004".into(),
                message: "Could not find user: 0a1b.".into(),
                request_id: None,
            }
        );
        assert_eq!(
            parse_error(400, br#"{"code":"1101","message":"Invalid username."}"#).code,
            "1101"
        );
        let keystone = parse_error(
            401,
            br#"{"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}"#,
        );
        assert_eq!(keystone.code, "401");
        assert_eq!(
            keystone.message,
            "The request you have made requires authentication."
        );
        let titled = parse_error(403, br#"{"error":{"code":403,"title":"Forbidden"}}"#);
        assert_eq!(titled.message, "Forbidden");
        assert_eq!(parse_error(409, br#"{"code":"X"}"#).message, "HTTP 409");
    }

    #[test]
    fn gateway_bodies_give_a_request_id() {
        let r = reply(
            401,
            &[],
            r#"{"error_msg":"Incorrect IAM authentication information: verify aksk signature fail","error_code":"APIG.0301","request_id":"req-9"}"#,
        );
        assert_eq!(request_id(&r).as_deref(), Some("req-9"));
        let r = reply(401, &[("X-Request-Id", "hdr-1")], "{}");
        assert_eq!(request_id(&r).as_deref(), Some("hdr-1"));
    }

    #[test]
    fn odd_bodies_never_panic() {
        for body in [
            &b""[..],
            b"<html><body>502   Bad\nGateway</body></html>",
            b"null",
            b"[1,2]",
            b"{\"error\":\"text\"}",
            b"{\"error_code\":{\"x\":1}}",
            b"\xff\xfe",
            b"{\"error_code\":",
        ] {
            let e = parse_error(502, body);
            assert!(!e.code.is_empty() && !e.message.is_empty(), "{e:?}");
        }
        assert_eq!(
            parse_error(502, b"<html><body>502   Bad\nGateway</body></html>").message,
            "<html><body>502 Bad Gateway</body></html>"
        );
        assert_eq!(parse_error(503, b"").message, "HTTP 503 with an empty body");
    }

    fn classify(status: u16, headers: &[(&str, &str)], body: &str, caller: Caller) -> Failure {
        failure(&reply(status, headers, body), caller)
    }

    fn iam(code: &str, msg: &str) -> String {
        format!(r#"{{"error_msg":"{msg}","error_code":"{code}"}}"#)
    }

    #[test]
    fn the_class_table() {
        use Caller::*;
        use FailureClass::*;
        let cases: &[(u16, &str, &str, Caller, FailureClass)] = &[
            (
                400,
                "IAM.0007",
                "Request parameter is invalid.",
                AkSk,
                Permanent,
            ),
            (400, "1103", "Incorrect password.", Password, Permanent),
            (
                401,
                "IAM.0009",
                "The token is invalid.",
                Password,
                TokenExpired,
            ),
            (401, "IAM.0009", "The token is invalid.", Token, Credential),
            (401, "IAM.0009", "The token is invalid.", AkSk, Credential),
            (
                401,
                "APIG.0301",
                "Incorrect IAM authentication information: verify aksk signature fail",
                AkSk,
                Credential,
            ),
            (
                401,
                "APIG.0301",
                "Incorrect IAM authentication information: AK access failed to reach the limit,forbidden.",
                Password,
                Credential,
            ),
            (
                401,
                "APIG.0301",
                "Incorrect IAM authentication information: decrypt token fail",
                Password,
                TokenExpired,
            ),
            (403, "IAM.0002", "You are not authorized.", AkSk, Credential),
            (
                403,
                "IAM.0003",
                "Policy doesn't allow.",
                Password,
                Credential,
            ),
            (
                403,
                "IAM.0001",
                "You cannot change your own login protection.",
                AkSk,
                Permanent,
            ),
            (404, "IAM.0004", "Could not find user: x.", AkSk, NotFound),
            (
                429,
                "APIG.0308",
                "The throttling threshold has been reached: policy user over ratelimit,limit:10,time:1 second",
                AkSk,
                Retryable { throttled: true },
            ),
            (
                500,
                "IAM.0006",
                "An unexpected error prevented the server from fulfilling your request.",
                AkSk,
                Retryable { throttled: false },
            ),
            (
                401,
                "IAM.0009",
                "Incorrect password.",
                TokenRequest,
                Credential,
            ),
            (
                400,
                "IAM.0011",
                "Request body is invalid.",
                TokenRequest,
                Credential,
            ),
            (
                503,
                "IAM.0006",
                "busy",
                TokenRequest,
                Retryable { throttled: false },
            ),
        ];
        for (status, code, msg, caller, want) in cases {
            let f = classify(*status, &[], &iam(code, msg), *caller);
            assert_eq!(f.class, *want, "{status} {code} {msg} as {caller:?}");
            assert_eq!(f.code, *code);
            assert!(f.message.starts_with(msg), "{}", f.message);
        }
        for status in [502, 503, 504] {
            let f = classify(status, &[], "<html>gateway</html>", AkSk);
            assert_eq!(f.class, Retryable { throttled: false });
            assert_eq!(f.code, status.to_string());
        }
    }

    #[test]
    fn credential_failures_say_what_to_do() {
        let f = classify(
            401,
            &[],
            &iam("APIG.0301", "verify aksk signature fail"),
            Caller::AkSk,
        );
        assert!(
            f.message.contains("lock the AK for 5 minutes"),
            "{}",
            f.message
        );
        let f = classify(401, &[], &iam("IAM.0009", "expired"), Caller::Token);
        assert!(f.message.contains("give a fresh token"), "{}", f.message);
        let f = classify(403, &[], &iam("IAM.0002", "no"), Caller::Password);
        assert!(
            f.message.contains("Security Administrator"),
            "{}",
            f.message
        );
    }

    #[test]
    fn retry_after_is_honoured_on_retryable_replies_only() {
        let body = iam("APIG.0308", "over ratelimit");
        let f = classify(429, &[("Retry-After", " 3 ")], &body, Caller::AkSk);
        assert_eq!(f.retry_after, Some(Duration::from_secs(3)));
        let f = classify(429, &[], &body, Caller::AkSk);
        assert_eq!(f.retry_after, None);
        let f = classify(429, &[("Retry-After", "soon")], &body, Caller::AkSk);
        assert_eq!(f.retry_after, None);
        let f = classify(
            400,
            &[("Retry-After", "3")],
            &iam("IAM.0007", "bad"),
            Caller::AkSk,
        );
        assert_eq!(f.retry_after, None);
    }
}
