//! Whether the rows naming a member, `NAME/<id>`, may be sent: before anything is sent each
//! members account the rows use is listed once (its source's credentials and limiter, as for
//! `export`), and only the rows of its active members go on. A member removed from the
//! organisation may still hold the access role: a row must never reach it.

use crate::accounts::{AccountKey, AccountPlan, same_id};
use crate::engine::client::codes;
use crate::engine::credentials::Chains;
use crate::engine::directory::Directory;
use crate::engine::pipeline::Withheld;
use crate::providers::{ConnectError, Failure, Member};
use crate::report::Status;
use std::collections::BTreeMap;
use tokio_util::sync::CancellationToken;

/// `plans` less the members that are not active members of the members account (in
/// `directories`) they belong to, and how the rows of those are reported.
pub async fn check(
    plans: Vec<AccountPlan>,
    directories: &[AccountPlan],
    chains: &Chains,
    cancel: &CancellationToken,
) -> Result<(Vec<AccountPlan>, BTreeMap<AccountKey, Withheld>), ConnectError> {
    let mut listings = Vec::new();
    for org in directories {
        let listed = Directory::new(org, chains)?.members(cancel).await;
        listings.push((org, listed));
    }
    let mut kept = Vec::new();
    let mut withheld = BTreeMap::new();
    for plan in plans {
        let listing = listings.iter().find_map(|(org, listed)| {
            let id = member_id(&plan.key, &org.key)?;
            Some((org.display.as_str(), id, listed))
        });
        match listing.and_then(|(org, id, listed)| verdict(org, id, listed)) {
            Some(w) => {
                withheld.insert(plan.key.clone(), w);
            }
            None => kept.push(plan),
        }
    }
    Ok((kept, withheld))
}

/// The id of `member` when it is `NAME/<id>` of members account `org`.
fn member_id<'a>(member: &'a AccountKey, org: &AccountKey) -> Option<&'a str> {
    let (base, id) = member.1.split_once('/')?;
    (member.0 == org.0 && base == org.1).then_some(id)
}

/// How the rows of member `id` of `org` are reported when its directory (`listed`) says it may
/// not be worked in; `None` when it is an active member.
fn verdict(org: &str, id: &str, listed: &Result<Vec<Member>, Failure>) -> Option<Withheld> {
    let members = match listed {
        Ok(members) => members,
        Err(f) => {
            return Some(Withheld {
                status: Status::NotAttempted,
                code: codes::ACCOUNT_STOPPED,
                message: format!(
                    "not sent: its membership could not be checked: {}; finish it with --resume once the listing works",
                    f.message
                ),
            });
        }
    };
    let message = match members.iter().find(|m| same_id(&m.id, id)) {
        Some(m) if m.active => return None,
        Some(m) => format!(
            "not sent: account {id} is '{}' in the directory of '{org}', not an active member; remove its rows (`iambatch accounts` lists the active members)",
            m.status
        ),
        None => format!(
            "not sent: account {id} is not in the directory of '{org}'; fix the account id or remove its rows (`iambatch accounts` lists the members)"
        ),
    };
    Some(Withheld {
        status: Status::Failed,
        code: codes::NOT_A_MEMBER,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::FailureClass;

    fn member(id: &str, status: &str, active: bool) -> Member {
        Member {
            id: id.into(),
            name: String::new(),
            status: status.into(),
            active,
        }
    }

    #[test]
    fn only_an_active_member_is_worked_in() {
        let listed = Ok(vec![
            member("0a1b", "active", true),
            member("0c2d", "suspended", false),
        ]);
        assert!(verdict("org", "0A1B", &listed).is_none(), "ids in any case");
        let suspended = verdict("org", "0c2d", &listed).unwrap();
        assert_eq!(
            (suspended.status, suspended.code),
            (Status::Failed, codes::NOT_A_MEMBER)
        );
        assert!(suspended.message.contains("'suspended'"));
        let unknown = verdict("org", "0e3f", &listed).unwrap();
        assert_eq!(unknown.code, codes::NOT_A_MEMBER);
        assert!(
            (unknown.message).contains("0e3f is not in the directory of 'org'"),
            "{}",
            unknown.message
        );
    }

    #[test]
    fn a_failed_listing_stops_the_members_rows() {
        let listed = Err(Failure {
            class: FailureClass::Credential,
            code: "NoPermission".into(),
            message: "cannot list with the credentials of 'aliyun' (NoPermission: no)".into(),
            retry_after: None,
        });
        let w = verdict("org", "101", &listed).unwrap();
        assert_eq!(
            (w.status, w.code),
            (Status::NotAttempted, codes::ACCOUNT_STOPPED)
        );
        assert!(
            w.message.contains("'aliyun' (NoPermission"),
            "{}",
            w.message
        );
    }

    #[test]
    fn a_member_belongs_to_its_own_members_account_only() {
        let org = (crate::jobs::ProviderKind::Aliyun, "org".to_string());
        let key = |name: &str| (crate::jobs::ProviderKind::Aliyun, name.to_string());
        assert_eq!(member_id(&key("org/101"), &org), Some("101"));
        assert_eq!(member_id(&key("other/101"), &org), None);
        assert_eq!(member_id(&key("org"), &org), None);
        let huawei = (crate::jobs::ProviderKind::Huawei, "org/101".to_string());
        assert_eq!(member_id(&huawei, &org), None);
    }
}
