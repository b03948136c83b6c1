//! Resource Directory 2020-03-31 `ListAccounts`: the member accounts of the management account's
//! resource directory, a page of 100 at a time (`PageNumber` from 1, until PageNumber × PageSize
//! reaches `TotalCount`), signed like STS with the source account's credentials. A member is
//! reached through `acs:ram::<AccountId>:role/<role_name>`.

use super::classify::class_of;
use super::request::{Credentials, rpc};
use super::sts::rpc_failure;
use crate::providers::{
    Failure, FailureClass, HttpRequest, Member, MemberPage, Reply, Stamp, json,
};
use serde_json::Value;

pub const VERSION: &str = "2020-03-31";
pub const ENDPOINT: &str = "https://resourcemanager.aliyuncs.com";
/// The name of `IAMBATCH_ALIYUN_RESOURCEMANAGER_ENDPOINT`.
pub const SERVICE: &str = "resourcemanager";
/// The largest page the API allows.
const PAGE_SIZE: u32 = 100;

/// The statuses of an account that is in the directory: created in it, joined by invitation, or
/// upgraded from a resource account to a cloud account, the upgrade done or still pending,
/// failed, expired or cancelled (the member stays a resource account meanwhile). Anything else (a
/// removed account, a creation not finished) is not worked in.
const ACTIVE: &[&str] = &[
    "CreateSuccess",
    "InviteSuccess",
    "PromoteSuccess",
    "PromoteVerifying",
    "PromoteFailed",
    "PromoteExpired",
    "PromoteCancelled",
];

/// The signed ListAccounts of page `page` (a page number; the first when `None`).
pub fn request(
    credentials: &Credentials,
    page: Option<&str>,
    endpoint: &url::Url,
    stamp: &Stamp,
) -> HttpRequest {
    let params = vec![
        ("PageNumber", page.unwrap_or("1").to_string()),
        ("PageSize", PAGE_SIZE.to_string()),
    ];
    rpc(
        endpoint.as_str(),
        credentials,
        VERSION,
        "ListAccounts",
        params,
        stamp,
    )
}

/// The members of a 2xx reply to the request of page `asked` (the first when `None`) and the next
/// page's number, or the failure. A reply for another page, or of pages of no account, cannot be
/// paged through.
pub fn read(asked: Option<&str>, reply: &Reply) -> Result<MemberPage, Failure> {
    if !(200..300).contains(&reply.status) {
        return Err(rpc_failure(reply, class_of));
    }
    let body: Value = serde_json::from_slice(&reply.body).map_err(|_| incomplete())?;
    let number = |key: &str| body.get(key).and_then(Value::as_u64);
    let (Some(total), Some(page), Some(size)) = (
        number("TotalCount"),
        number("PageNumber"),
        number("PageSize"),
    ) else {
        return Err(incomplete());
    };
    let asked = asked.unwrap_or("1");
    if asked != page.to_string() || size == 0 {
        return Err(Failure {
            class: FailureClass::Permanent,
            code: "invalid_reply".into(),
            message: format!(
                "the ListAccounts reply to page {asked} says it is page {page} of size {size}: its pages cannot be followed"
            ),
            retry_after: None,
        });
    }
    let listed = body
        .pointer("/Accounts/Account")
        .and_then(Value::as_array)
        .ok_or_else(incomplete)?;
    let members = listed
        .iter()
        .map(|a| {
            let status = json::text(a, "Status").unwrap_or_default().to_string();
            Some(Member {
                id: json::text(a, "AccountId")?.to_string(),
                name: json::text(a, "DisplayName").unwrap_or_default().to_string(),
                active: ACTIVE.contains(&status.as_str()),
                status,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(incomplete)?;
    Ok(MemberPage {
        members,
        next: (page * size < total).then(|| (page + 1).to_string()),
    })
}

fn incomplete() -> Failure {
    Failure {
        class: FailureClass::Retryable { throttled: false },
        code: "invalid_reply".into(),
        message: "the ListAccounts reply holds no complete page of accounts".into(),
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::testing::reply;
    use crate::secret::Secret;

    /// The documented example reply, trimmed to two members.
    const PAGE_1: &str = r#"{"TotalCount":3,"RequestId":"7B8A4E7D-6CFF-471D-84DF-195A7A241ECB","PageSize":2,"PageNumber":1,"Accounts":{"Account":[{"Status":"CreateSuccess","Type":"ResourceAccount","DisplayName":"admin","FolderId":"fd-bVaRIG****","ResourceDirectoryId":"rd-k3****","JoinTime":"2015-01-23T12:33:18Z","AccountId":"12323344****","JoinMethod":"created","ModifyTime":"2015-01-23T12:33:18Z"},{"Status":"InviteSuccess","Type":"CloudAccount","DisplayName":"ops","FolderId":"fd-bVaRIG****","ResourceDirectoryId":"rd-k3****","JoinTime":"2015-01-23T12:33:18Z","AccountId":"12323345****","JoinMethod":"invited","ModifyTime":"2015-01-23T12:33:18Z"}]}}"#;

    #[test]
    fn pages_until_the_total_is_reached() {
        let first = read(None, &reply(200, &[], PAGE_1)).unwrap();
        assert_eq!(first.next.as_deref(), Some("2"));
        assert_eq!(
            first.members[0],
            Member {
                id: "12323344****".into(),
                name: "admin".into(),
                status: "CreateSuccess".into(),
                active: true,
            }
        );
        assert!(first.members[1].active);
        let last = r#"{"TotalCount":3,"PageSize":2,"PageNumber":2,"Accounts":{"Account":[{"Status":"Removed","DisplayName":"gone","AccountId":"12323346****"}]}}"#;
        let last = read(Some("2"), &reply(200, &[], last)).unwrap();
        assert_eq!(last.next, None);
        assert!(
            !last.members[0].active,
            "a removed account is not worked in"
        );
    }

    #[test]
    fn a_member_being_promoted_is_still_worked_in() {
        let page = r#"{"TotalCount":2,"PageSize":100,"PageNumber":1,"Accounts":{"Account":[{"Status":"PromoteVerifying","AccountId":"1"},{"Status":"CreateVerifying","AccountId":"2"}]}}"#;
        let members = read(None, &reply(200, &[], page)).unwrap().members;
        assert!(members[0].active, "PromoteVerifying");
        assert!(!members[1].active, "CreateVerifying");
    }

    #[test]
    fn a_reply_for_another_page_or_of_size_zero_is_a_failure() {
        let other = r#"{"TotalCount":9,"PageSize":2,"PageNumber":1,"Accounts":{"Account":[{"Status":"CreateSuccess","AccountId":"1"}]}}"#;
        let f = read(Some("2"), &reply(200, &[], other)).unwrap_err();
        assert_eq!(
            (f.class, f.code.as_str()),
            (FailureClass::Permanent, "invalid_reply")
        );
        let zero = r#"{"TotalCount":9,"PageSize":0,"PageNumber":1,"Accounts":{"Account":[]}}"#;
        assert_eq!(
            read(None, &reply(200, &[], zero)).unwrap_err().code,
            "invalid_reply"
        );
    }

    #[test]
    fn an_incomplete_reply_or_an_error_is_a_failure() {
        assert!(read(None, &reply(200, &[], r#"{"RequestId":"r"}"#)).is_err());
        let denied =
            r#"{"RequestId":"r","Code":"NoPermission","Message":"You are not authorized"}"#;
        let f = read(None, &reply(403, &[], denied)).unwrap_err();
        assert_eq!(
            (f.class, f.code.as_str()),
            (FailureClass::Credential, "NoPermission")
        );
        let throttled = r#"{"Code":"Throttling","Message":"slow down"}"#;
        let f = read(None, &reply(400, &[], throttled)).unwrap_err();
        assert_eq!(f.class, FailureClass::Retryable { throttled: true });
    }

    #[test]
    fn the_request_names_the_page_and_the_largest_size() {
        let credentials = Credentials {
            access_key_id: "ak".into(),
            access_key_secret: Secret::new("sk"),
            security_token: Some(Secret::new("tok")),
        };
        let endpoint: url::Url = ENDPOINT.parse().unwrap();
        let stamp = Stamp {
            time: time::macros::datetime!(2026-01-01 00:00 UTC),
            nonce: "n".into(),
        };
        let req = request(&credentials, Some("3"), &endpoint, &stamp);
        assert_eq!(req.url, "https://resourcemanager.aliyuncs.com/");
        let body = String::from_utf8(req.body).unwrap();
        for part in [
            "Action=ListAccounts",
            "Version=2020-03-31",
            "PageNumber=3",
            "PageSize=100",
            "SecurityToken=tok",
        ] {
            assert!(body.contains(part), "{part} in {body}");
        }
    }
}
