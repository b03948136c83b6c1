//! Password token auth (docs/providers.md §3.3): `POST /v3/auth/tokens?nocatalog=true` with a
//! domain-scoped password body; the token is the `X-Subject-Token` reply header.

use super::classify::{self, Caller};
use crate::providers::{Failure, FailureClass, Reply, Token, TokenRefused};
use crate::secret::Secret;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const PATH: &str = "/v3/auth/tokens";
/// The service catalog is large and unused.
pub const QUERY: (&str, &str) = ("nocatalog", "true");
pub const CONTENT_TYPE: &str = "application/json;charset=utf8";

// The body borrows the password, so no copy of it outlives the request bytes.
#[derive(Serialize)]
struct Body<'a> {
    auth: AuthBody<'a>,
}
#[derive(Serialize)]
struct AuthBody<'a> {
    identity: Identity<'a>,
    scope: Scope<'a>,
}
#[derive(Serialize)]
struct Identity<'a> {
    methods: [&'static str; 1],
    password: PasswordBody<'a>,
}
#[derive(Serialize)]
struct PasswordBody<'a> {
    user: User<'a>,
}
#[derive(Serialize)]
struct User<'a> {
    name: &'a str,
    password: &'a str,
    domain: Named<'a>,
}
#[derive(Serialize)]
struct Scope<'a> {
    domain: Named<'a>,
}
#[derive(Serialize)]
struct Named<'a> {
    name: &'a str,
}

/// The IAM user's password body, scoped to the account (IAM APIs need a domain-scoped token).
pub fn body(user_name: &str, password: &Secret, domain_name: &str) -> Vec<u8> {
    let body = Body {
        auth: AuthBody {
            identity: Identity {
                methods: ["password"],
                password: PasswordBody {
                    user: User {
                        name: user_name,
                        password: password.expose(),
                        domain: Named { name: domain_name },
                    },
                },
            },
            scope: Scope {
                domain: Named { name: domain_name },
            },
        },
    };
    serde_json::to_vec(&body).expect("the token body always serialises")
}

/// The token of a 2xx reply, with `token.expires_at` when the body has it; otherwise the failure.
pub fn read(reply: &Reply) -> Result<Token, TokenRefused> {
    let request_id = classify::request_id(reply);
    if !(200..300).contains(&reply.status) {
        return Err(TokenRefused {
            request_id,
            failure: classify::failure(reply, Caller::TokenRequest),
        });
    }
    let Some(value) = reply.header("X-Subject-Token").filter(|v| !v.is_empty()) else {
        return Err(TokenRefused {
            request_id,
            failure: Failure {
                class: FailureClass::Credential,
                code: reply.status.to_string(),
                message: "the token reply has no X-Subject-Token header: is the endpoint \
                          Huawei IAM?"
                    .into(),
                retry_after: None,
            },
        });
    };
    let expires_at = serde_json::from_slice::<Value>(&reply.body)
        .ok()
        .and_then(|b| {
            b.get("token")?
                .get("expires_at")?
                .as_str()
                .map(str::to_string)
        })
        .and_then(|t| OffsetDateTime::parse(&t, &Rfc3339).ok());
    Ok(Token {
        value: Secret::new(value),
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::testing::reply;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn the_password_body_is_domain_scoped() {
        let body: Value =
            serde_json::from_slice(&body("ops-admin", &Secret::new("pw\"1"), "corp-kl")).unwrap();
        assert_eq!(
            body,
            json!({"auth":{
                "identity":{"methods":["password"],"password":{"user":{
                    "name":"ops-admin","password":"pw\"1","domain":{"name":"corp-kl"}}}},
                "scope":{"domain":{"name":"corp-kl"}}}})
        );
    }

    #[test]
    fn reads_the_subject_token_and_expiry() {
        let r = reply(
            201,
            &[
                ("X-Subject-Token", "MIIDkgYJKoZIhvcNAQcC"),
                ("X-Request-Id", "r1"),
            ],
            r#"{"token":{"expires_at":"2020-01-04T09:05:22.701000Z","methods":["password"]}}"#,
        );
        let token = read(&r).ok().unwrap();
        assert_eq!(token.value.expose(), "MIIDkgYJKoZIhvcNAQcC");
        assert_eq!(
            token.expires_at,
            Some(datetime!(2020-01-04 09:05:22.701 UTC))
        );
        let r = reply(201, &[("X-Subject-Token", "t")], "not json");
        assert_eq!(read(&r).ok().unwrap().expires_at, None);
    }

    fn failed(r: &Reply) -> (Option<String>, Failure) {
        match read(r) {
            Err(TokenRefused {
                request_id,
                failure,
            }) => (request_id, failure),
            _ => panic!("expected a failure"),
        }
    }

    #[test]
    fn refusals_are_credential_failures() {
        let r = reply(
            401,
            &[("X-Request-Id", "r2")],
            r#"{"error":{"code":401,"message":"The username or password is wrong.","title":"Unauthorized"}}"#,
        );
        let (id, f) = failed(&r);
        assert_eq!(id.as_deref(), Some("r2"));
        assert_eq!(f.class, FailureClass::Credential);
        assert!(f.message.contains("user_name, password or domain_name"));
        let (_, f) = failed(&reply(201, &[], "{}"));
        assert_eq!(f.class, FailureClass::Credential);
        let (_, f) = failed(&reply(503, &[("Retry-After", "2")], ""));
        assert_eq!(f.class, FailureClass::Retryable { throttled: false });
    }
}
