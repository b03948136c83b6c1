//! Listing an account for `export`: every page of its users, each with its login state, in list
//! order. The state comes from one read per user, at most `concurrency` at once, or from one bulk
//! read for providers whose [`Listing::bulk_state`](crate::providers::Listing) is set. Every
//! request goes through the account's client (pacing, retries, token, credential health); nothing
//! here names a provider. Users are handed on as they are done, so memory holds one page and the
//! reads in flight, whatever the account's size.
//!
//! Where the provider declares an [`MfaSource`], each console user's MFA binding comes with their
//! state: from the account's device list, paged once before the users (its bound devices only:
//! a list that names the user settles it), else from one read of that user's binding.

use crate::engine::client::{AccountClient, CallReport};
use crate::providers::{
    Each, Failure, FailureClass, ListedUser, Listing, MfaBinding, MfaPage, Observed, Op, Part,
    StateList, Step, Verdict,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// One listed user and what is known of their login state.
#[derive(Debug)]
pub struct UserState {
    pub user: ListedUser,
    /// What the read found, or why it failed. A user the read cannot find, a moment after the list
    /// named them, has no login profile (some providers' "not found" also means just that).
    pub state: Result<Observed, Failure>,
    /// Whether a console user has bound an MFA device; `None` for a user without console access,
    /// or where the provider cannot tell.
    pub mfa: Option<MfaBinding>,
    /// Requests this user cost: its read's attempts, plus any list or bulk requests since the
    /// previous user, so the users' sum is every request of the listing.
    pub attempts: u32,
}

/// What the listing hands on, in order.
#[derive(Debug)]
pub enum Event {
    /// A page of this many users came in (progress grows its total by it).
    Page(usize),
    User(Box<UserState>),
}

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("{what} failed: {} ({})", failure.message, failure.code)]
    Failed {
        what: &'static str,
        failure: Failure,
    },
    #[error("{0}")]
    Stopped(String),
    #[error("interrupted")]
    Interrupted,
    /// The consumer went away (its own error says why).
    #[error("the listing's consumer stopped early")]
    Closed,
}

/// Each user's reads when they are not the listing's own: the reads of a user action (the user,
/// its login and its groups).
#[derive(Clone, Copy, Debug)]
pub struct UserReads {
    pub steps: &'static [Step],
    /// The read of every group of the account, where a user's groups are read as each group's
    /// members ([`Lookups::groups`](crate::providers::Lookups)).
    pub all_groups: Option<&'static Step>,
}

/// Lists every user of the account behind `client` into `events`, the way the provider's
/// `listing` says, each read by `reads` when given.
pub async fn list(
    client: Arc<AccountClient>,
    listing: Listing,
    reads: Option<UserReads>,
    concurrency: usize,
    cancel: CancellationToken,
    events: mpsc::Sender<Event>,
) -> Result<(), ListError> {
    let mut owed = 0;
    let mut bulk = None;
    if listing.bulk_state {
        let report = client.call(&Op::ReadAll, &cancel).await;
        owed += report.attempts;
        bulk = match report.result {
            Ok(Verdict::States(states)) => Some(Bulk::new(states)),
            other => {
                return Err(failed(
                    &client,
                    &cancel,
                    "reading every user's login state",
                    other,
                ));
            }
        };
    }
    let devices = match listing.mfa.filter(|m| m.list) {
        Some(_) => Some(bound_devices(&client, &cancel, &mut owed).await?),
        None => None,
    };
    let devices = Arc::new(devices);
    let mut pages = Pages::default();
    let mut waiting: VecDeque<ListedUser> = VecDeque::new();
    let mut in_flight: VecDeque<(ListedUser, Reading)> = VecDeque::new();
    loop {
        while in_flight.len() < concurrency.max(1) {
            if cancel.is_cancelled() {
                return Err(ListError::Interrupted);
            }
            if waiting.is_empty() {
                let Some(page) = pages.next(&client, &cancel, &mut owed).await? else {
                    break;
                };
                events
                    .send(Event::Page(page.len()))
                    .await
                    .map_err(|_| ListError::Closed)?;
                waiting.extend(page);
            }
            let Some(user) = waiting.pop_front() else {
                continue;
            };
            let known = bulk.as_mut().map(|bulk| bulk.take(&user.user));
            let reading = Reading(tokio::spawn(find(
                client.clone(),
                listing,
                reads,
                Who {
                    user: user.user.clone(),
                    console: user.console,
                },
                known,
                devices.clone(),
                cancel.clone(),
            )));
            in_flight.push_back((user, reading));
        }
        let Some((user, mut reading)) = in_flight.pop_front() else {
            return Ok(());
        };
        // A panic's message may hold data: it is not shown.
        let Found {
            state,
            mfa,
            attempts,
        } = (&mut reading.0).await.map_err(|_| {
            ListError::Stopped("internal error: a read stopped unexpectedly".into())
        })?;
        // A read the stop withdrew is no state of the user's.
        if cancel.is_cancelled() {
            return Err(ListError::Interrupted);
        }
        if let Some(reason) = client.stopped() {
            return Err(ListError::Stopped(reason));
        }
        let attempts = attempts + std::mem::take(&mut owed);
        events
            .send(Event::User(Box::new(UserState {
                user,
                state,
                mfa,
                attempts,
            })))
            .await
            .map_err(|_| ListError::Closed)?;
    }
}

/// The pages still to fetch.
#[derive(Default)]
struct Pages {
    /// The cursor of the next page; `None` for the first.
    cursor: Option<String>,
    done: bool,
    /// Cursors seen, so a list that names a page twice fails instead of looping.
    seen: HashSet<String>,
}

impl Pages {
    /// The next page's users; `None` after the last page.
    async fn next(
        &mut self,
        client: &AccountClient,
        cancel: &CancellationToken,
        owed: &mut u32,
    ) -> Result<Option<Vec<ListedUser>>, ListError> {
        if self.done {
            return Ok(None);
        }
        let report = client
            .call(
                &Op::ListUsers {
                    page: self.cursor.as_deref(),
                },
                cancel,
            )
            .await;
        *owed += report.attempts;
        let page = match report.result {
            Ok(Verdict::Users(page)) => page,
            other => return Err(failed(client, cancel, "listing the users", other)),
        };
        match page.next {
            Some(next) if !self.seen.insert(next.clone()) => {
                return Err(ListError::Failed {
                    what: "listing the users",
                    failure: page_loop(),
                });
            }
            next => {
                self.done = next.is_none();
                self.cursor = next;
            }
        }
        Ok(Some(page.users))
    }
}

/// Every user's state from one bulk read.
struct Bulk {
    by_user: HashMap<String, Observed>,
    unlisted: Observed,
}

impl Bulk {
    fn new(states: StateList) -> Bulk {
        Bulk {
            by_user: states.users.into_iter().collect(),
            unlisted: states.unlisted,
        }
    }

    fn take(&mut self, user: &str) -> Observed {
        self.by_user
            .remove(user)
            .unwrap_or_else(|| self.unlisted.clone())
    }
}

/// Every bound device of the account, by user: the device type, when the provider says it.
type Devices = HashMap<String, Option<String>>;

/// Pages the account's bound MFA devices to the end.
async fn bound_devices(
    client: &AccountClient,
    cancel: &CancellationToken,
    owed: &mut u32,
) -> Result<Devices, ListError> {
    const WHAT: &str = "listing the MFA devices";
    let mut devices = Devices::new();
    let mut cursor: Option<String> = None;
    let mut seen = HashSet::new();
    loop {
        let report = client
            .call(
                &Op::ListMfaDevices {
                    page: cursor.as_deref(),
                },
                cancel,
            )
            .await;
        *owed += report.attempts;
        let MfaPage {
            devices: page,
            next,
        } = match report.result {
            Ok(Verdict::MfaDevices(page)) => page,
            other => return Err(failed(client, cancel, WHAT, other)),
        };
        devices.extend(page.into_iter().map(|d| (d.user, d.kind)));
        match next {
            None => return Ok(devices),
            Some(next) if !seen.insert(next.clone()) => {
                return Err(ListError::Failed {
                    what: WHAT,
                    failure: page_loop(),
                });
            }
            next => cursor = next,
        }
    }
}

/// The user a read is about.
struct Who {
    user: String,
    /// What the list says of console access (see [`ListedUser::console`]).
    console: Option<bool>,
}

/// A user's state and MFA binding, and the requests they cost.
struct Found {
    state: Result<Observed, Failure>,
    mfa: Option<MfaBinding>,
    attempts: u32,
}

/// Reads what the bulk read and the device list do not say of one user.
async fn find(
    client: Arc<AccountClient>,
    listing: Listing,
    reads: Option<UserReads>,
    who: Who,
    known: Option<Observed>,
    devices: Arc<Option<Devices>>,
    cancel: CancellationToken,
) -> Found {
    let mut attempts = 0;
    let observed = match (known, reads) {
        (Some(observed), _) => Ok(observed),
        (None, None) => {
            let report = read(&client, listing.read, &who.user, &cancel).await;
            attempts += report.attempts;
            state_of(report.result)
        }
        (None, Some(reads)) => read_all(&client, reads, &who.user, &cancel, &mut attempts).await,
    };
    let observed = match observed {
        Ok(observed) => observed,
        Err(f) => {
            return Found {
                state: Err(f),
                mfa: None,
                attempts,
            };
        }
    };
    let console = who.console.unwrap_or(observed.exists);
    let listed = (*devices).as_ref().and_then(|d| d.get(&who.user));
    let mfa = match (listing.mfa, listed) {
        (Some(_), _) if !console => None,
        (None, _) => None,
        (Some(_), Some(kind)) => Some(MfaBinding {
            bound: true,
            kind: kind.clone(),
        }),
        (Some(source), None) => match source.read {
            None => Some(MfaBinding::default()),
            Some(step) => {
                let report = read(&client, step, &who.user, &cancel).await;
                attempts += report.attempts;
                match binding_of(report.result, &who.user) {
                    Ok(binding) => Some(binding),
                    Err(f) => {
                        return Found {
                            state: Err(f),
                            mfa: None,
                            attempts,
                        };
                    }
                }
            }
        },
    };
    Found {
        state: Ok(observed),
        mfa,
        attempts,
    }
}

/// What a read of one user's MFA devices says of them. A user the read cannot find, a moment
/// after the list named them, has none.
pub fn binding_of(result: Result<Verdict, Failure>, user: &str) -> Result<MfaBinding, Failure> {
    match result {
        Ok(Verdict::MfaDevices(page)) => Ok(page.binding(user)),
        Ok(Verdict::Absent(_)) => Ok(MfaBinding::default()),
        Err(f) if f.class == FailureClass::NotFound => Ok(MfaBinding::default()),
        Ok(_) => Err(unexpected()),
        Err(f) => Err(f),
    }
}

/// A read in flight, stopped if the listing ends before it is awaited.
struct Reading(JoinHandle<Found>);

impl Drop for Reading {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn read(
    client: &AccountClient,
    step: &'static Step,
    user: &str,
    cancel: &CancellationToken,
) -> CallReport {
    let op = Op::Step {
        target: None,
        step,
        user,
        write: None,
    };
    client.call(&op, cancel).await
}

/// A user's reads merged into one state; whether they have a console login is the login's read.
async fn read_all(
    client: &AccountClient,
    reads: UserReads,
    user: &str,
    cancel: &CancellationToken,
    attempts: &mut u32,
) -> Result<Observed, Failure> {
    let mut all = Observed::default();
    for step in reads.steps {
        if step.each == Each::Group {
            // The user's groups are those whose members name them: every group and its members,
            // each read once for the whole export.
            if let Some(list) = reads.all_groups {
                all.state.groups =
                    Some(groups_of(client, list, step, user, cancel, attempts).await?);
            }
            continue;
        }
        let report = read(client, step, user, cancel).await;
        *attempts += report.attempts;
        match report.result {
            Ok(Verdict::Listed(items)) if step.part == Part::Groups => {
                all.state.groups = Some(items.iter().map(|g| g.name_or_id().to_string()).collect());
            }
            result => {
                let observed = state_of(result)?;
                if step.part == Part::Login {
                    all.exists = observed.exists;
                }
                all.state.merge(observed.state);
                all.extra.extend(observed.extra);
                all.created = all.created.or(observed.created);
            }
        }
    }
    Ok(all)
}

/// The groups whose members (`members`, one read per group, shared by every user) name `user`.
async fn groups_of(
    client: &AccountClient,
    list: &'static Step,
    members: &'static Step,
    user: &str,
    cancel: &CancellationToken,
    attempts: &mut u32,
) -> Result<Vec<String>, Failure> {
    let (groups, report) = client.lookup(list, None, cancel).await;
    *attempts += report.map_or(0, |r| r.attempts);
    let mut found = Vec::new();
    for group in groups? {
        let (listed, report) = client.lookup(members, Some(&group.id), cancel).await;
        *attempts += report.map_or(0, |r| r.attempts);
        if listed?.iter().any(|m| m.id == user) {
            found.push(group.name_or_id().to_string());
        }
    }
    Ok(found)
}

fn state_of(result: Result<Verdict, Failure>) -> Result<Observed, Failure> {
    match result {
        Ok(Verdict::Observed(observed)) => Ok(observed),
        // No login profile: the read's answer.
        Ok(Verdict::Absent(_)) => Ok(Observed::default()),
        Err(f) if f.class == FailureClass::NotFound => Ok(Observed::default()),
        Ok(_) => Err(unexpected()),
        Err(f) => Err(f),
    }
}

/// A list or bulk call that did not give what was asked: the interruption or the account's stop
/// reason if either withdrew it.
fn failed(
    client: &AccountClient,
    cancel: &CancellationToken,
    what: &'static str,
    result: Result<Verdict, Failure>,
) -> ListError {
    if cancel.is_cancelled() {
        return ListError::Interrupted;
    }
    if let Some(reason) = client.stopped() {
        return ListError::Stopped(reason);
    }
    let failure = match result {
        Ok(_) => unexpected(),
        Err(f) => f,
    };
    ListError::Failed { what, failure }
}

/// A list that names a page it already gave.
fn page_loop() -> Failure {
    Failure {
        class: FailureClass::Permanent,
        code: "page_loop".into(),
        message:
            "the provider named a page it had already given; the list cannot be read to its end"
                .into(),
        retry_after: None,
    }
}

/// A verdict of another kind than the operation's (a provider bug, not a reply's content).
fn unexpected() -> Failure {
    Failure {
        class: FailureClass::Permanent,
        code: "unexpected_reply".into(),
        message: "the provider's module gave an answer of another kind (a bug: please report it)"
            .into(),
        retry_after: None,
    }
}

#[cfg(test)]
mod tests;
