//! The member accounts of a members account: its organisation's directory listed page by page
//! with the source account's credentials (themselves possibly assumed), paced by the source's
//! temporary-credential limiter and retried like its STS requests, never counted against an IAM
//! rate.

use crate::accounts::AccountPlan;
use crate::engine::credentials::{Chains, SourceCalls};
use crate::providers::{Api, ConnectError, Failure, Member, Reply, Stamp};
use crate::secret::Secret;
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
        let mut members = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let build = |source: &dyn Api, stamp: &Stamp, token: Option<&Secret>| {
                source.members_request(page.as_deref(), &self.endpoint, stamp, token)
            };
            let read = |source: &dyn Api, reply: &Reply| source.read_members(reply);
            let listed = self
                .calls
                .call(cancel, &build, &read)
                .await
                .map_err(|f| Failure {
                    message: format!(
                        "cannot list the member accounts at {} with the credentials of '{}' ({}: {}); the source must be the management account, or reach a role or agency in it allowed to list its accounts",
                        self.endpoint,
                        self.calls.source_name(),
                        f.code,
                        f.message
                    ),
                    ..f
                })?;
            members.extend(listed.members);
            match listed.next {
                // A directory that repeats a cursor would page for ever.
                Some(next) if page.as_ref() != Some(&next) => page = Some(next),
                _ => break,
            }
        }
        members.sort_by(|a, b| a.id.cmp(&b.id));
        members.dedup_by(|a, b| a.id == b.id);
        Ok(members)
    }

    /// Listing requests sent so far, token requests of the source included.
    pub fn requests(&self) -> u64 {
        self.calls.requests()
    }
}
