//! Organizations `ListAccounts`: `GET /v1/organizations/accounts` on the Organizations endpoint,
//! authenticated like any request of the source account (AK/SK, with `X-Security-Token` when
//! temporary, or `X-Auth-Token`), marker paging. A member is reached through the agency
//! `role_name` of its account id.

use super::classify::{self, Caller};
use super::ops::Parts;
use crate::providers::{Failure, FailureClass, Member, MemberPage, Reply, json};
use reqwest::Method;
use serde_json::Value;

pub const ENDPOINT: &str = "https://organizations.myhuaweicloud.com";
/// The name of `IAMBATCH_HUAWEI_ORGANIZATIONS_ENDPOINT`.
pub const SERVICE: &str = "organizations";
const PATH: &str = "/v1/organizations/accounts";
/// The documented default page: the largest that holds with every option of the API.
const LIMIT: u32 = 200;
/// The status of an account in the organisation (the others: `suspended`, `pending_closure`).
const ACTIVE: &str = "active";

/// The request's parts for the page after `marker` (the first when `None`).
pub fn parts(marker: Option<&str>) -> Parts {
    let mut query = vec![("limit".to_string(), LIMIT.to_string())];
    if let Some(marker) = marker {
        query.push(("marker".to_string(), marker.to_string()));
    }
    Parts {
        method: Method::GET,
        path: PATH.to_string(),
        query,
        body: Vec::new(),
    }
}

/// The members of a 2xx reply and the next page's marker, or the failure as any IAM reply's.
pub fn read(reply: &Reply, caller: Caller) -> Result<MemberPage, Failure> {
    if !(200..300).contains(&reply.status) {
        return Err(classify::failure(reply, caller));
    }
    let incomplete = || Failure {
        class: FailureClass::Retryable { throttled: false },
        code: "invalid_reply".into(),
        message: "the organizations accounts reply holds no complete page".into(),
        retry_after: None,
    };
    let body: Value = serde_json::from_slice(&reply.body).map_err(|_| incomplete())?;
    let listed = body["accounts"].as_array().ok_or_else(incomplete)?;
    let members = listed
        .iter()
        .map(|a| {
            let status = json::text(a, "status").unwrap_or_default().to_string();
            Some(Member {
                id: json::text(a, "id")?.to_string(),
                name: json::text(a, "name").unwrap_or_default().to_string(),
                active: status == ACTIVE,
                status,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(incomplete)?;
    // No marker, or an empty one, ends the listing.
    let next = json::text(&body["page_info"], "next_marker")
        .filter(|marker| !marker.is_empty())
        .map(str::to_string);
    Ok(MemberPage { members, next })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::testing::reply;

    #[test]
    fn pages_by_marker_and_only_active_accounts_are_worked_in() {
        let first = r#"{"accounts":[{"id":"0a1b2c3d4e5f60718293a4b5c6d7e8f9","urn":"organizations::0a1b:account:o-1/0a1b","join_method":"created","status":"active","joined_at":"2023-01-01T00:00:00Z","name":"corp-finance"},{"id":"1b2c","urn":"u","join_method":"invited","status":"suspended","joined_at":"2023-01-01T00:00:00Z","name":"corp-old"}],"page_info":{"next_marker":"1b2c","current_count":2}}"#;
        let page = read(&reply(200, &[], first), Caller::AkSk).unwrap();
        assert_eq!(page.next.as_deref(), Some("1b2c"));
        assert_eq!(
            page.members[0],
            Member {
                id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9".into(),
                name: "corp-finance".into(),
                status: "active".into(),
                active: true,
            }
        );
        assert!(!page.members[1].active);
        for last in [
            r#"{"accounts":[],"page_info":{"next_marker":null,"current_count":0}}"#,
            r#"{"accounts":[],"page_info":{"next_marker":"","current_count":0}}"#,
        ] {
            assert_eq!(
                read(&reply(200, &[], last), Caller::AkSk).unwrap().next,
                None
            );
        }
        let f = read(&reply(200, &[], "{}"), Caller::AkSk).unwrap_err();
        assert_eq!(f.code, "invalid_reply");
        let denied = r#"{"error_code":"Organizations.1002","error_msg":"no permission"}"#;
        // Refused, not retried.
        let f = read(&reply(403, &[], denied), Caller::AkSk).unwrap_err();
        assert_eq!(
            (f.class, f.code.as_str()),
            (FailureClass::Permanent, "Organizations.1002")
        );
    }

    #[test]
    fn the_marker_goes_in_the_query() {
        let parts = parts(Some("m-1"));
        assert_eq!(parts.path, "/v1/organizations/accounts");
        assert!(parts.query.contains(&("marker".into(), "m-1".into())));
        assert!(parts.query.contains(&("limit".into(), "200".into())));
    }
}
