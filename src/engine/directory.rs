//! The member accounts of a members account: its organisation's directory listed page by page
//! with the source account's credentials (themselves possibly assumed), paced by the source's
//! temporary-credential limiter and retried like its STS requests, never counted against an IAM
//! rate.

use crate::accounts::AccountPlan;
use crate::engine::credentials::{Chains, SourceCalls};
use crate::providers::{
    Api, ConnectError, Failure, FailureClass, Member, MemberPage, Reply, Stamp,
};
use crate::secret::Secret;
use std::collections::{BTreeMap, HashSet};
use tokio_util::sync::CancellationToken;
use url::Url;

/// A members account's directory, ready to list.
pub struct Directory {
    calls: SourceCalls,
    endpoint: Url,
}

impl Directory {
    /// The directory of members account `plan`; an error if `plan` is not one.
    pub fn new(plan: &AccountPlan, chains: &Chains) -> Result<Directory, ConnectError> {
        let (Some(endpoint), Some(chain)) = (&plan.directory, &plan.chain) else {
            return Err(ConnectError::Invalid {
                account: plan.display.clone(),
                message: "is not a members account: it has no members to list".into(),
            });
        };
        Ok(Directory {
            calls: chains.calls(&chain.source)?,
            endpoint: endpoint.clone(),
        })
    }

    /// Every account the directory lists, active or not, by id. A failure names the source whose
    /// credentials asked, and the provider's code.
    pub async fn members(&self, cancel: &CancellationToken) -> Result<Vec<Member>, Failure> {
        let page = async |page: Option<&str>| {
            let build = |source: &dyn Api, stamp: &Stamp, token: Option<&Secret>| {
                source.members_request(page, &self.endpoint, stamp, token)
            };
            let read = |source: &dyn Api, reply: &Reply| source.read_members(page, reply);
            self.calls.call(cancel, &build, &read).await
        };
        every_page(page).await.map_err(|f| {
            // A broken reply is the directory's doing; anything else may be the source's rights.
            let hint = match f.code.as_str() {
                INVALID_REPLY => "",
                _ => "; the source must be the management account, or reach a role or agency in it allowed to list its accounts",
            };
            Failure {
                message: format!(
                    "cannot list the member accounts at {} with the credentials of '{}' ({}: {}){hint}",
                    self.endpoint,
                    self.calls.source_name(),
                    f.code,
                    f.message
                ),
                ..f
            }
        })
    }

    /// Listing requests sent so far, token requests of the source included.
    pub fn requests(&self) -> u64 {
        self.calls.requests()
    }
}

/// The members of every page `page` gives, from the first (`None`) to the one without a next, by
/// id. A directory that names a page again, or whose page with a next adds no new member, would
/// page for ever or silently end short: either is an `invalid_reply` failure.
async fn every_page(
    mut page: impl AsyncFnMut(Option<&str>) -> Result<MemberPage, Failure>,
) -> Result<Vec<Member>, Failure> {
    let mut members: BTreeMap<String, Member> = BTreeMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let listed = page(cursor.as_deref()).await?;
        let before = members.len();
        for m in listed.members {
            members.entry(m.id.clone()).or_insert(m);
        }
        let Some(next) = listed.next else {
            return Ok(members.into_values().collect());
        };
        if members.len() == before {
            return Err(invalid(format!(
                "the page after {} named no new account but a next page",
                cursor.as_deref().unwrap_or("the start")
            )));
        }
        if !seen.insert(next.clone()) {
            return Err(invalid(format!("the directory named page {next} twice")));
        }
        cursor = Some(next);
    }
}

/// The code of a reply that cannot be followed.
const INVALID_REPLY: &str = "invalid_reply";

fn invalid(message: String) -> Failure {
    Failure {
        class: FailureClass::Permanent,
        code: INVALID_REPLY.into(),
        message: format!("{message}: its listing cannot be trusted complete"),
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn member(id: &str) -> Member {
        Member {
            id: id.into(),
            name: String::new(),
            status: "active".into(),
            active: true,
        }
    }

    /// A directory whose page of cursor `c` (`""` for the first) is `pages[c]`: its ids and next.
    async fn list(pages: &[(&str, &[&str], Option<&str>)]) -> Result<Vec<String>, Failure> {
        let pages: HashMap<&str, MemberPage> = (pages.iter())
            .map(|(cursor, ids, next)| {
                let page = MemberPage {
                    members: ids.iter().map(|id| member(id)).collect(),
                    next: next.map(str::to_string),
                };
                (*cursor, page)
            })
            .collect();
        let mut asked = 0;
        let found = every_page(async |cursor: Option<&str>| {
            asked += 1;
            assert!(asked < 10, "paged for ever");
            Ok(pages[cursor.unwrap_or("")].clone())
        })
        .await?;
        Ok(found.into_iter().map(|m| m.id).collect())
    }

    #[tokio::test]
    async fn every_page_is_listed_in_id_order() {
        let found = list(&[
            ("", &["3", "1"], Some("B")),
            ("B", &["2", "1"], Some("C")),
            ("C", &[], None),
        ])
        .await
        .unwrap();
        assert_eq!(found, ["1", "2", "3"]);
    }

    #[tokio::test]
    async fn a_cursor_named_again_is_a_failure_not_a_short_list() {
        let f = list(&[("", &["1"], Some("A")), ("A", &["2"], Some("A"))])
            .await
            .unwrap_err();
        assert_eq!(
            (f.class, f.code.as_str()),
            (FailureClass::Permanent, "invalid_reply")
        );
        // A -> B -> A: a cycle, not only a repeat of the last cursor.
        let f = list(&[
            ("", &["1"], Some("A")),
            ("A", &["2"], Some("B")),
            ("B", &["3"], Some("A")),
        ])
        .await
        .unwrap_err();
        assert!(f.message.contains("page A twice"), "{}", f.message);
    }

    #[tokio::test]
    async fn a_page_with_a_next_but_no_new_member_is_a_failure() {
        // A total too large: empty pages that keep naming a next one.
        let f = list(&[("", &["1"], Some("2")), ("2", &[], Some("3"))])
            .await
            .unwrap_err();
        assert_eq!(f.code, "invalid_reply");
        // The same page over and over under new numbers.
        let f = list(&[
            ("", &["1"], Some("2")),
            ("2", &["1"], Some("3")),
            ("3", &["1"], Some("4")),
        ])
        .await
        .unwrap_err();
        assert_eq!(f.code, "invalid_reply");
    }
}
