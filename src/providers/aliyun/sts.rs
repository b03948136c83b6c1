//! STS 2015-04-01 `AssumeRole`: the request a source account signs for a chained account, and the
//! reading of its reply. The temporary AccessKey and SecurityToken it gives are the chained
//! account's credentials (`request.rs` sends the token as `SecurityToken`).

use super::classify::{class_of, without_string_to_sign};
use super::request::{Credentials, rpc};
use crate::providers::{
    Assume, AssumeRequest, Failure, FailureClass, HttpRequest, Keys, Reply, Stamp, Temporary, json,
    session_name,
};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const VERSION: &str = "2015-04-01";
pub const ENDPOINT: &str = "https://sts.aliyuncs.com";

/// The signed AssumeRole; `None` for an agency (a huawei notion).
pub fn assume_request(
    credentials: &Credentials,
    request: &AssumeRequest<'_>,
    stamp: &Stamp,
) -> Option<HttpRequest> {
    let Assume::Role {
        role,
        external_id,
        duration,
    } = request.assume
    else {
        return None;
    };
    // RoleSessionName: 2–64 of [A-Za-z0-9.@_-].
    let session = session_name(request.session_name, 64, |c| {
        c.is_ascii_alphanumeric() || ".@_-".contains(c)
    });
    let mut params = vec![("RoleArn", role.clone()), ("RoleSessionName", session)];
    params.extend(external_id.clone().map(|id| ("ExternalId", id)));
    params.extend(duration.map(|d| ("DurationSeconds", d.to_string())));
    Some(rpc(
        request.endpoint.as_str(),
        credentials,
        VERSION,
        "AssumeRole",
        params,
        stamp,
    ))
}

/// The credentials of a 2xx reply, or the failure: by the body's `Code`, else the HTTP status.
pub fn read_assumed(reply: &Reply) -> Result<Temporary, Failure> {
    let body: Option<Value> = serde_json::from_slice(&reply.body).ok();
    if (200..300).contains(&reply.status) {
        return body.as_ref().and_then(credentials).ok_or_else(|| Failure {
            class: FailureClass::Retryable { throttled: false },
            code: reply.status.to_string(),
            message: "the AssumeRole reply holds no complete Credentials".into(),
            retry_after: None,
        });
    }
    Err(rpc_failure(reply, assume_class))
}

/// The failure of a non-2xx RPC reply (STS, Resource Directory): by the body's `Code` as `class`
/// reads it, else the HTTP status.
pub(super) fn rpc_failure(reply: &Reply, class: fn(&str, u16) -> FailureClass) -> Failure {
    let body: Option<Value> = serde_json::from_slice(&reply.body).ok();
    let code = body
        .as_ref()
        .and_then(|b| json::text(b, "Code"))
        .unwrap_or("");
    let message = body
        .as_ref()
        .and_then(|b| json::text(b, "Message"))
        .unwrap_or("no message");
    let message = without_string_to_sign(message);
    Failure {
        class: class(code, reply.status),
        code: if code.is_empty() {
            reply.status.to_string()
        } else {
            code.to_string()
        },
        message,
        retry_after: None,
    }
}

/// STS's codes over IMS's: a missing role or token is the caller's credentials' problem, an
/// expired token of a chained source is renewed.
fn assume_class(code: &str, status: u16) -> FailureClass {
    match code {
        "InvalidSecurityToken.Expired" => FailureClass::TokenExpired,
        "MissingSecurityToken" | "NoPermission" => FailureClass::Credential,
        c if c.starts_with("EntityNotExist.Role") => FailureClass::Credential,
        c if c.starts_with("InvalidParameter") => FailureClass::Permanent,
        _ => class_of(code, status),
    }
}

fn credentials(body: &Value) -> Option<Temporary> {
    let c = body.get("Credentials")?;
    let expires_at = OffsetDateTime::parse(json::text(c, "Expiration")?, &Rfc3339).ok()?;
    let keys = Keys::from_json(
        c,
        &[
            ("access_key_id", "AccessKeyId"),
            ("access_key_secret", "AccessKeySecret"),
            ("security_token", "SecurityToken"),
        ],
    )?;
    Some(Temporary { keys, expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::testing::reply;
    use time::macros::datetime;

    /// Replies as STS sends them (the documented example and the common errors).
    #[test]
    fn replies_classified() {
        let ok = r#"{"RequestId":"6894B13B-6D71-4EF5-88FA-F32781734A7F","AssumedRoleUser":{"Arn":"acs:ram::123456789012****:role/adminrole/alice","AssumedRoleId":"34458433936495****:alice"},"Credentials":{"SecurityToken":"********","Expiration":"2015-04-09T11:52:19Z","AccessKeySecret":"wyLTSmsyPGP1ohvvw8xYgB29dlGI8KMiH2pK****","AccessKeyId":"STS.L4aBSCSJVMuKg5U1****"}}"#;
        let t = read_assumed(&reply(200, &[], ok)).unwrap();
        assert_eq!(t.expires_at, datetime!(2015-04-09 11:52:19 UTC));
        assert_eq!(
            t.keys.get("access_key_id").unwrap().expose(),
            "STS.L4aBSCSJVMuKg5U1****"
        );
        assert!(t.keys.get("security_token").is_some());

        let err = |status, code: &str| {
            let body = format!(
                r#"{{"RequestId":"r","HostId":"sts.aliyuncs.com","Code":"{code}","Message":"m"}}"#
            );
            read_assumed(&reply(status, &[], &body)).unwrap_err()
        };
        let cases = [
            (403, "NoPermission", FailureClass::Credential),
            (404, "EntityNotExist.Role", FailureClass::Credential),
            (404, "InvalidAccessKeyId.NotFound", FailureClass::Credential),
            (400, "InvalidAccessKeyId.Inactive", FailureClass::Credential),
            (400, "MissingSecurityToken", FailureClass::Credential),
            (
                400,
                "InvalidSecurityToken.Expired",
                FailureClass::TokenExpired,
            ),
            (
                400,
                "InvalidParameter.RoleSessionName",
                FailureClass::Permanent,
            ),
            (
                400,
                "InvalidParameter.DurationSeconds",
                FailureClass::Permanent,
            ),
            (
                400,
                "Throttling",
                FailureClass::Retryable { throttled: true },
            ),
            (
                503,
                "ServiceUnavailable",
                FailureClass::Retryable { throttled: false },
            ),
        ];
        for (status, code, class) in cases {
            let f = err(status, code);
            assert_eq!((f.class, f.code.as_str()), (class, code));
        }
        // Not Alibaba JSON: the status decides.
        let f = read_assumed(&reply(502, &[], "<html>")).unwrap_err();
        assert_eq!(f.class, FailureClass::Retryable { throttled: false });
        // A 200 without credentials is not taken for credentials.
        assert!(read_assumed(&reply(200, &[], r#"{"RequestId":"r"}"#)).is_err());
    }

    #[test]
    fn signature_mismatch_message_keeps_out_the_string_to_sign() {
        let body = r#"{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId%3D..."}"#;
        let f = read_assumed(&reply(400, &[], body)).unwrap_err();
        assert!(!f.message.contains("AccessKeyId"), "{}", f.message);
        assert_eq!(f.class, FailureClass::Credential);
    }
}
