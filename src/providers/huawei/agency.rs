//! An agency of a delegating account, assumed with the source's credentials. AK/SK sources get
//! temporary AK/SK (`CreateTemporaryAccessKeyByAgency`: `POST /v3.0/OS-CREDENTIAL/securitytokens`,
//! signed): the reply's `credential` is the chained account's `ak`, `sk` and `security_token` (sent
//! as a signed `X-Security-Token`), its `domain_id` the delegating account's. Password sources get
//! an agency token (`POST /v3/auth/tokens` with `assume_role`, the source's token as
//! `X-Auth-Token`): the `X-Subject-Token` is the chained account's `token`.

use super::classify::{self, Caller};
use super::ops::Parts;
use super::token;
use crate::providers::{
    Assume, AssumeRequest, Failure, FailureClass, Keys, Reply, Temporary, json, session_name,
};
use crate::secret::Secret;
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const PATH: &str = "/v3.0/OS-CREDENTIAL/securitytokens";

/// The request's parts; `None` for a role (an aliyun or ucloud notion).
pub fn parts(request: &AssumeRequest<'_>) -> Option<Parts> {
    let Assume::Agency {
        domain_name,
        domain_id,
        agency,
        duration,
    } = request.assume
    else {
        return None;
    };
    // The session user: 5–64 of letters, digits, `-`, `_`, starting with a letter (`iambatch-`).
    let mut session = session_name(request.session_name, 64, |c| {
        c.is_ascii_alphanumeric() || "-_".contains(c)
    });
    while session.len() < 5 {
        session.push('_');
    }
    let mut assume_role = json!({
        "agency_name": agency,
        "duration_seconds": duration.unwrap_or(3600),
        "session_user": {"name": session},
    });
    if let Some(name) = domain_name {
        assume_role["domain_name"] = Value::from(name.as_str());
    }
    if let Some(id) = domain_id {
        assume_role["domain_id"] = Value::from(id.as_str());
    }
    let body =
        json!({"auth": {"identity": {"methods": ["assume_role"], "assume_role": assume_role}}});
    Some(Parts {
        method: Method::POST,
        path: PATH.to_string(),
        query: Vec::new(),
        body: body.to_string().into_bytes(),
    })
}

/// The agency token request's parts, scoped to the delegating account.
pub fn token_parts(request: &AssumeRequest<'_>) -> Option<Parts> {
    let Assume::Agency {
        domain_name,
        domain_id,
        agency,
        ..
    } = request.assume
    else {
        return None;
    };
    let domain = match (domain_name, domain_id) {
        (Some(name), _) => json!({"name": name}),
        (None, Some(id)) => json!({"id": id}),
        (None, None) => return None,
    };
    let mut assume_role = json!({"agency_name": agency});
    for (key, value) in [("domain_name", domain_name), ("domain_id", domain_id)] {
        if let Some(value) = value {
            assume_role[key] = Value::from(value.as_str());
        }
    }
    let body = json!({"auth": {
        "identity": {"methods": ["assume_role"], "assume_role": assume_role},
        "scope": {"domain": domain},
    }});
    Some(Parts {
        method: Method::POST,
        path: token::PATH.to_string(),
        query: vec![(token::QUERY.0.to_string(), token::QUERY.1.to_string())],
        body: body.to_string().into_bytes(),
    })
}

/// The agency token of a reply (as any token reply is read), as the chained account's `token`.
pub fn read_token(reply: &Reply) -> Result<Temporary, Failure> {
    let t = token::read(reply).map_err(|refused| refused.failure)?;
    let mut keys = Keys::default();
    keys.insert("token", t.value);
    Ok(Temporary {
        keys,
        // A token without an expiry lives 24 hours.
        expires_at: t
            .expires_at
            .unwrap_or_else(|| OffsetDateTime::now_utc() + time::Duration::hours(24)),
    })
}

/// The temporary AK/SK of a 2xx reply, or the failure as any IAM reply's.
pub fn read(request: &AssumeRequest<'_>, reply: &Reply) -> Result<Temporary, Failure> {
    if !(200..300).contains(&reply.status) {
        let failure = classify::failure(reply, Caller::AkSk);
        // An agency missing or not granted to the caller: its credentials' problem.
        return Err(match reply.status {
            401 | 403 | 404 => Failure {
                class: FailureClass::Credential,
                ..failure
            },
            _ => failure,
        });
    }
    let invalid = || Failure {
        class: FailureClass::Retryable { throttled: false },
        code: "invalid_reply".into(),
        message: "the securitytokens reply holds no complete credential".into(),
        retry_after: None,
    };
    let body: Value = serde_json::from_slice(&reply.body).map_err(|_| invalid())?;
    let c = &body["credential"];
    let expires_at = json::text(c, "expires_at")
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .ok_or_else(invalid)?;
    let mut keys = Keys::from_json(
        c,
        &[
            ("ak", "access"),
            ("sk", "secret"),
            ("security_token", "securitytoken"),
        ],
    )
    .ok_or_else(invalid)?;
    // AK/SK requests to IAM name the account as X-Domain-Id: the delegating account's id.
    if let Assume::Agency {
        domain_id: Some(id),
        ..
    } = request.assume
    {
        keys.insert("domain_id", Secret::new(id.as_str()));
    }
    Ok(Temporary { keys, expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::testing::reply;

    fn request(assume: &Assume) -> AssumeRequest<'_> {
        static ENDPOINT: std::sync::LazyLock<url::Url> =
            std::sync::LazyLock::new(|| "https://iam.myhuaweicloud.com".parse().unwrap());
        AssumeRequest {
            assume,
            session_name: "iambatch-op",
            endpoint: &ENDPOINT,
        }
    }

    #[test]
    fn the_request_and_its_reply() {
        let assume = Assume::Agency {
            domain_name: None,
            domain_id: Some("d-1".into()),
            agency: "ops".into(),
            duration: None,
        };
        let parts = parts(&request(&assume)).unwrap();
        let body: Value = serde_json::from_slice(&parts.body).unwrap();
        let a = &body["auth"]["identity"]["assume_role"];
        assert_eq!(a["domain_id"], "d-1");
        assert_eq!(a["agency_name"], "ops");
        assert_eq!(a["session_user"]["name"], "iambatch-op");

        let ok = r#"{"credential":{"access":"TMPAK","secret":"tmp-sk","securitytoken":"tok","expires_at":"2030-01-01T00:00:00.000000Z"}}"#;
        let t = read(&request(&assume), &reply(201, &[], ok)).unwrap();
        assert_eq!(t.keys.get("ak").unwrap().expose(), "TMPAK");
        assert_eq!(t.keys.get("domain_id").unwrap().expose(), "d-1");
        let denied = r#"{"error":{"code":403,"message":"no agency","title":"Forbidden"}}"#;
        assert_eq!(
            read(&request(&assume), &reply(403, &[], denied))
                .unwrap_err()
                .class,
            FailureClass::Credential
        );
        assert!(read(&request(&assume), &reply(201, &[], "{}")).is_err());
    }
}
