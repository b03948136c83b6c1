//! STS `AssumeRole` on UCloud's API gateway: the parameters a source account signs for a chained
//! account, and the reading of the reply. The temporary key, secret and `SecurityToken` it gives
//! are the chained account's `public_key`, `private_key` and `security_token`.

use super::classify::{class_of, http_failure, integer, meaning};
use crate::providers::{
    Assume, AssumeRequest, Failure, FailureClass, Keys, Reply, Temporary, json, session_name,
};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// AssumeRole's own parameters; `None` for an agency (a huawei notion).
pub fn params(request: &AssumeRequest<'_>) -> Option<Vec<(String, String)>> {
    let Assume::Role { role, duration, .. } = request.assume else {
        return None;
    };
    // RoleSessionName: 1–64 of [A-Za-z0-9_.-].
    let session = session_name(request.session_name, 64, |c| {
        c.is_ascii_alphanumeric() || "_.-".contains(c)
    });
    let mut params = vec![
        ("RoleUrn".to_string(), role.clone()),
        ("RoleSessionName".to_string(), session),
    ];
    params.extend(duration.map(|d| ("DurationSeconds".to_string(), d.to_string())));
    Some(params)
}

/// The credentials of a `RetCode` 0 reply, or the failure as any UCloud reply's.
pub fn read_assumed(reply: &Reply) -> Result<Temporary, Failure> {
    let body: Option<Value> = serde_json::from_slice(&reply.body).ok();
    let ret_code = body.as_ref().and_then(|b| integer(b.get("RetCode")?));
    let message = body.as_ref().and_then(|b| json::text(b, "Message"));
    if reply.status != 200 {
        return Err(http_failure(reply.status, ret_code, message));
    }
    match ret_code {
        Some(0) => body.as_ref().and_then(credentials).ok_or_else(|| Failure {
            class: FailureClass::Retryable { throttled: false },
            code: "invalid_reply".into(),
            message: "the AssumeRole reply holds no complete Credentials".into(),
            retry_after: None,
        }),
        Some(code) => Err(Failure {
            class: class_of(code),
            code: code.to_string(),
            message: message.unwrap_or(meaning(code)).to_string(),
            retry_after: None,
        }),
        None => Err(Failure {
            class: FailureClass::Permanent,
            code: "invalid_reply".into(),
            message: "an AssumeRole reply without a RetCode: check the STS endpoint".into(),
            retry_after: None,
        }),
    }
}

/// `Expiration` as RFC 3339 (UTC), or as Unix seconds.
fn credentials(body: &Value) -> Option<Temporary> {
    let c = body.get("Credentials")?;
    let expires_at = match c.get("Expiration")? {
        Value::String(t) => OffsetDateTime::parse(t, &Rfc3339).ok()?,
        other => OffsetDateTime::from_unix_timestamp(integer(other)?).ok()?,
    };
    let keys = Keys::from_json(
        c,
        &[
            ("public_key", "AccessKeyId"),
            ("private_key", "AccessKeySecret"),
            ("security_token", "SecurityToken"),
        ],
    )?;
    Some(Temporary { keys, expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::testing::reply;

    #[test]
    fn replies_classified() {
        let ok = r#"{"Action":"AssumeRoleResponse","RetCode":0,"Credentials":{"AccessKeyId":"tmp-pub","AccessKeySecret":"tmp-priv","SecurityToken":"tok","Expiration":"2030-01-01T00:00:00Z"}}"#;
        let t = read_assumed(&reply(200, &[], ok)).unwrap();
        assert_eq!(t.keys.get("public_key").unwrap().expose(), "tmp-pub");
        assert_eq!(t.expires_at.unix_timestamp(), 1_893_456_000);
        let unix = ok.replace(r#""2030-01-01T00:00:00Z""#, "1893456000");
        assert!(read_assumed(&reply(200, &[], &unix)).is_ok());
        let err = |code: i64| {
            let body =
                format!(r#"{{"Action":"AssumeRoleResponse","RetCode":{code},"Message":"m"}}"#);
            read_assumed(&reply(200, &[], &body)).unwrap_err()
        };
        assert_eq!(err(171).class, FailureClass::Credential);
        assert_eq!(err(153).class, FailureClass::Retryable { throttled: true });
        assert_eq!(err(174).class, FailureClass::TokenExpired);
        assert_eq!(err(230).class, FailureClass::Permanent);
        assert!(read_assumed(&reply(200, &[], r#"{"RetCode":0}"#)).is_err());
        assert_eq!(
            read_assumed(&reply(502, &[], "x")).unwrap_err().class,
            FailureClass::Retryable { throttled: false }
        );
    }
}
