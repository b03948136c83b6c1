//! What an action means, written once for every provider: the row's steps, as its provider
//! declares them ([`ActionSpec`]), sent in order, and how their answers become the row's status and
//! outcome. The same steps, walked against one read, are what `plan` foresees
//! ([`foresee`]), what `verify` checks ([`judge`]) and what `run --dry-run` prints ([`requests`]).

use crate::engine::client::{AccountClient, CallReport, Departing, codes, is_withdrawal};
use crate::engine::listing::binding_of;
use crate::jobs::{Action, ActionKind, Field, Job, LoginState};
use crate::passwords::{self, SecretsFile};
use crate::providers::{
    Absent, ActionSpec, Desired, Each, Effect, Exists, Failure, FailureClass, Item, MFA_BOUND,
    Observed, Op, Part, Password, Provider, Step, USER_ID, Verdict, When, Write,
};
use crate::report::{Outcome, Status};
use crate::secret::Secret;
use std::borrow::Cow;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// What the engine does with each row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// `run`: apply the row.
    #[default]
    Apply,
    /// `plan`: read the current state and say what `run` would do; no writes.
    Plan,
    /// `verify`: read the state back and say whether it matches the row.
    Verify,
}

#[derive(Clone, Debug, Default)]
pub struct ExecOptions {
    pub mode: Mode,
    /// `ensure`: also set the password of users who already have a profile.
    pub reset_passwords: bool,
    /// Read back after a write and fail the row if the state differs.
    pub verify: bool,
    /// Where passwords the tool generates are saved before they are sent (`--secrets-out`).
    pub secrets: Option<Arc<SecretsFile>>,
    /// `run --allow-delete`: delete-user rows may run (the file is refused before anything is
    /// sent otherwise).
    pub allow_delete: bool,
}

const NO_PASSWORD: &str = "the user has no login profile and the row gives no password to create one: add a password or set generate_password";

/// A row's execution, before it is joined with its input cells.
#[derive(Debug, Default)]
pub struct Execution {
    pub status: Option<Status>,
    pub outcome: Option<Outcome>,
    pub failure: Option<Failure>,
    pub attempts: u32,
    pub http_status: Option<u16>,
    pub request_id: Option<String>,
    pub observed: Option<Observed>,
    /// Some write of this row got no reply.
    pub ambiguous: bool,
    /// Something the user should know about a row that did not fail (what could not be compared).
    pub note: Option<String>,
    /// Each request of the row, in order, as `Api[:target]=result` (the `steps` column).
    pub steps: Vec<String>,
    /// When the row's first write was about to leave.
    first_write: Option<OffsetDateTime>,
}

impl Execution {
    /// Notes a read in the row's `steps`.
    fn record(&mut self, step: &Step, result: &str) {
        self.steps.push(format!("{}={result}", step.api));
    }

    fn absorb(&mut self, report: &CallReport) {
        self.attempts += report.attempts;
        self.absorb_reply(report);
    }

    /// The reply's status and request id, and whether a write's outcome is unknown.
    fn absorb_reply(&mut self, report: &CallReport) {
        if report.http_status.is_some() || report.attempts > 0 {
            self.http_status = report.http_status;
            self.request_id.clone_from(&report.request_id);
        }
        self.ambiguous |= report.ambiguous;
    }

    fn succeed(mut self, outcome: Outcome) -> Execution {
        self.status = Some(Status::Succeeded);
        self.outcome = Some(outcome);
        self
    }

    /// A row of `plan` or `verify` whose read worked: succeeded, or failed with `code` when
    /// `verdict` is an error message.
    fn judged(
        mut self,
        outcome: Option<Outcome>,
        code: &str,
        verdict: Result<Option<String>, String>,
    ) -> Execution {
        self.outcome = outcome;
        match verdict {
            Ok(note) => {
                self.status = Some(Status::Succeeded);
                self.note = note;
                self
            }
            Err(message) => self.fail(permanent(code, message)),
        }
    }

    fn fail(mut self, failure: Failure) -> Execution {
        let failure = match is_withdrawal(&failure) {
            // A write of the row may have been applied: the row must not look untouched.
            true if self.ambiguous => Failure {
                code: codes::UNKNOWN_OUTCOME.into(),
                message: format!(
                    "a write got no reply (it may have been applied) and the row was not finished: {}",
                    failure.message
                ),
                ..failure
            },
            _ => failure,
        };
        // A request withdrawn by a stop leaves the row not attempted, unless a write of it was
        // applied already: `apply` sets `outcome` as each write is applied.
        self.status = Some(if is_withdrawal(&failure) && self.outcome.is_none() {
            Status::NotAttempted
        } else {
            Status::Failed
        });
        self.failure = Some(failure);
        self
    }
}

/// What makes a row resumable: what an earlier run left of it, and what notes it as sent.
#[derive(Clone, Copy)]
pub struct Durability<'a> {
    /// A write of this row may have been applied by the run being resumed, unseen.
    pub prior_ambiguous: bool,
    /// When the run being resumed noted the row as sent (its journal entry).
    pub since: Option<OffsetDateTime>,
    /// The steps the run being resumed applied to this row (its `steps` cell): not repeated.
    pub applied: &'a [String],
    /// Runs as each write of the row leaves (after its pacing slot was granted), so that what it
    /// notes means "a write may have reached the server".
    pub departing: Departing<'a>,
}

impl Durability<'_> {
    /// What the resumed run's `steps` cell says step `label` did, when it applied it.
    fn applied(&self, label: &str) -> Option<Outcome> {
        self.applied
            .iter()
            .find_map(|entry| {
                let (name, result) = entry.rsplit_once('=')?;
                (name == label)
                    .then(|| result.parse::<Outcome>().ok())
                    .flatten()
            })
            .filter(|o| {
                matches!(
                    o,
                    Outcome::Created | Outcome::Updated | Outcome::Deleted | Outcome::Unchanged
                )
            })
    }
}

impl Default for Durability<'_> {
    fn default() -> Self {
        Durability {
            prior_ambiguous: false,
            since: None,
            applied: &[],
            departing: &|| Ok(()),
        }
    }
}

/// Runs one job.
pub async fn execute(
    job: &Job,
    provider: &dyn Provider,
    client: &AccountClient,
    options: &ExecOptions,
    durability: Durability<'_>,
    cancel: &CancellationToken,
) -> Execution {
    let mut ex = Execution::default();
    let Some(spec) = provider.spec().action(job.action) else {
        // Validation refuses such rows; a row that got here anyway sends nothing.
        return ex.fail(permanent(
            "unsupported",
            format!("{} does not support {}", job.provider, job.action),
        ));
    };
    let desired = desired_state(job, provider, spec);
    let row = Row {
        job,
        provider,
        spec,
        desired: desired.as_ref(),
        reset_passwords: options.reset_passwords,
    };
    let mut who = match prelude(&mut ex, &row, client, options.mode, cancel).await {
        Ok(who) => who,
        Err(f) => return ex.fail(f),
    };

    if options.mode != Mode::Apply {
        let mut found = Found::starting(&who);
        for step in spec.read {
            match observe(&mut ex, &row, client, &who, step, &mut found, cancel).await {
                Ok(()) => {}
                // What `run` would refuse is a conflict to `plan`.
                Err(f) if f.code == codes::REFUSED && options.mode == Mode::Plan => {
                    return ex.judged(Some(Outcome::Conflict), codes::CONFLICT, Err(f.message));
                }
                Err(f) => return ex.fail(f),
            }
        }
        let mut observed = found.observed(spec);
        let mfa = Mfa {
            job,
            provider,
            spec,
        };
        // A user who is not there has bound nothing: no read to ask.
        let observed_mfa = match found.exists(Part::User) {
            Some(false) => Ok(()),
            _ => {
                mfa.observe(&mut ex, client, &who.user, &mut observed, cancel)
                    .await
            }
        };
        if let Err(f) = observed_mfa {
            return ex.fail(f);
        }
        let ex = match options.mode {
            Mode::Plan => {
                let (outcome, verdict) = row.foresee(&found, &who);
                ex.judged(Some(outcome), "conflict", verdict)
            }
            _ => {
                let outcome = is_read_only(spec).then_some(Outcome::Read);
                ex.judged(outcome, "differs", row.judge(&found, &who))
            }
        };
        return Execution {
            observed: Some(observed),
            ..ex
        };
    }

    let ex = apply(ex, &row, client, &mut who, options, durability, cancel).await;
    if options.verify && ex.status == Some(Status::Succeeded) && !is_read_only(spec) {
        return verify_after(ex, &row, client, &who, cancel).await;
    }
    ex
}

/// Whom a row's requests name: its user as the provider keys it, and its groups as requests
/// name them.
#[derive(Clone, Debug, Default)]
struct Who {
    user: String,
    /// The row's groups: (name, what requests name it by: the name, or its id).
    groups: Vec<(String, String)>,
    /// The user's name resolved to no user: an action on the user finds it absent.
    absent: bool,
    /// How the user signs in, for the secrets file: the row's name, completed with the account's
    /// domain where it was bare.
    sign_in: String,
}

impl Who {
    fn group_name<'a>(&'a self, target: &'a str) -> &'a str {
        self.groups
            .iter()
            .find(|(_, id)| id == target)
            .map_or(target, |(name, _)| name)
    }
}

/// What every request of the row needs first, each found once per account: the user id of a
/// name, the account's default domain for a bare name, the ids of the row's groups. A group that
/// does not exist fails the row before anything is sent.
async fn prelude(
    ex: &mut Execution,
    row: &Row<'_>,
    client: &AccountClient,
    mode: Mode,
    cancel: &CancellationToken,
) -> Result<Who, Failure> {
    let job = row.job;
    let lookups = &row.provider.spec().lookups;
    let mut user = job.user_key().to_string();
    let mut absent = false;
    // A user being created has no id yet: its create names it (plan and verify look it up).
    let creates = mode == Mode::Apply && row.creates_the_user();
    let resolve = row.provider.name_to_resolve(job).filter(|_| !creates);
    if let Some(name) = resolve {
        match resolve_user(ex, client, name, cancel).await {
            Ok(id) => user = id,
            // No user of that name: what an action on the user may find.
            Err(f) if f.class == FailureClass::NotFound && row.on_the_user() => {
                user = name.to_string();
                absent = true;
            }
            Err(f) => return Err(f),
        }
    } else if let (Some(step), true) = (lookups.domain, row.provider.is_bare(&user)) {
        let items = lookup(ex, client, step, None, cancel).await?;
        let Some(domain) = items.first() else {
            return Err(permanent(
                "no_default_domain",
                format!(
                    "{} gave no default domain for the account: write the user's full name",
                    step.api
                ),
            ));
        };
        user = row.provider.complete(&user, &domain.id);
    }
    let mut groups = Vec::new();
    let names_groups = row.spec.steps.iter().any(|s| s.each == Each::Group);
    for name in row.desired.groups.iter().flatten().filter(|_| names_groups) {
        let id = match lookups.group_id {
            None => name.clone(),
            Some(step) => {
                let items = lookup(ex, client, step, Some(name), cancel).await?;
                match items.into_iter().find(|g| g.name == *name) {
                    Some(group) => group.id,
                    None => {
                        return Err(permanent(
                            codes::UNKNOWN_GROUP,
                            format!(
                                "group '{name}' does not exist in this account: create it, or take it out of the row's groups"
                            ),
                        ));
                    }
                }
            }
        };
        groups.push((name.clone(), id));
    }
    let sign_in = match lookups.domain.is_some() && row.provider.is_bare(&job.user) {
        true => user.clone(),
        false => job.user_key().to_string(),
    };
    Ok(Who {
        user,
        groups,
        absent,
        sign_in,
    })
}

/// An account-wide read (made once per account, shared by its rows).
async fn lookup(
    ex: &mut Execution,
    client: &AccountClient,
    step: &'static Step,
    target: Option<&str>,
    cancel: &CancellationToken,
) -> Result<Vec<Item>, Failure> {
    let (result, report) = client.lookup(step, target, cancel).await;
    if let Some(r) = &report {
        ex.absorb(r);
    }
    result
}

/// The id of the user named `name` (the account's shared resolve), its requests noted in `ex`.
async fn resolve_user(
    ex: &mut Execution,
    client: &AccountClient,
    name: &str,
    cancel: &CancellationToken,
) -> Result<String, Failure> {
    let (result, report) = client.resolve(name, cancel).await;
    if let Some(r) = &report {
        ex.absorb(r);
    }
    result
}

/// What the row's reads found, part by part.
#[derive(Clone, Debug, Default)]
struct Found {
    parts: Vec<(Part, Presence)>,
    /// Every field read, merged.
    observed: Observed,
    /// The user was not there before this row (its read found none, or this row created it):
    /// every other part is absent, without a read.
    new_user: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum Presence {
    Absent,
    Present,
    Listed(Vec<Item>),
}

impl Found {
    /// Nothing read yet, except that a name that resolved to no user has no user.
    fn starting(who: &Who) -> Found {
        let mut found = Found::default();
        if who.absent {
            found.set(Part::User, Presence::Absent);
        }
        found
    }

    /// What is known of `part`; `None` before its read.
    fn of(&self, part: Part) -> Option<&Presence> {
        static NOTHING_LISTED: Presence = Presence::Listed(Vec::new());
        if self.new_user && part != Part::User {
            return Some(match part {
                Part::Login | Part::Mfa => &Presence::Absent,
                _ => &NOTHING_LISTED,
            });
        }
        self.parts
            .iter()
            .find(|(p, _)| *p == part)
            .map(|(_, presence)| presence)
    }

    fn exists(&self, part: Part) -> Option<bool> {
        self.of(part).map(|p| match p {
            Presence::Absent => false,
            Presence::Present => true,
            Presence::Listed(items) => !items.is_empty(),
        })
    }

    fn set(&mut self, part: Part, presence: Presence) {
        if part == Part::User && presence == Presence::Absent {
            self.new_user = true;
        }
        self.parts.retain(|(p, _)| *p != part);
        self.parts.push((part, presence));
    }

    /// A read's answer: its fields merged into what is known.
    fn absorb(&mut self, part: Part, observed: Observed) {
        self.set(
            part,
            match observed.exists {
                true => Presence::Present,
                false => Presence::Absent,
            },
        );
        self.observed.state.merge(observed.state);
        self.observed.extra.extend(observed.extra);
        self.observed.created = observed.created.or(self.observed.created);
    }

    /// The row's user is a member of `group` (a read of the group's members found it).
    fn member_of(&mut self, group: &str) {
        let groups = self.observed.state.groups.get_or_insert_with(Vec::new);
        if !groups.iter().any(|g| g == group) {
            groups.push(group.to_string());
        }
    }

    /// What the row reports as `observed_*`: `observed_exists` says whether the object of the
    /// action's first read is there.
    fn observed(&self, spec: &ActionSpec) -> Observed {
        let primary = spec.read.first().map_or(Part::Login, |s| s.part);
        Observed {
            exists: self.exists(primary).unwrap_or(false),
            ..self.observed.clone()
        }
    }
}

/// Sends one read and records its answer in `found`. Reads of a part already known are not
/// sent (a new user has nothing else; `plan` read everything first).
async fn observe(
    ex: &mut Execution,
    row: &Row<'_>,
    client: &AccountClient,
    who: &Who,
    step: &'static Step,
    found: &mut Found,
    cancel: &CancellationToken,
) -> Result<(), Failure> {
    if found.of(step.part).is_some() {
        return Ok(());
    }
    if step.each == Each::Group {
        // Members of each of the row's groups, read once per group for the whole account.
        found.set(step.part, Presence::Listed(Vec::new()));
        for (name, id) in &who.groups {
            let members = lookup(ex, client, step, Some(id), cancel).await?;
            if members.iter().any(|m| m.id == who.user) {
                found.member_of(name);
            }
        }
        found.observed.state.groups.get_or_insert_with(Vec::new);
        ex.record(step, "read");
        return Ok(());
    }
    let report = client.call(&op(step, &who.user, None, None), cancel).await;
    ex.absorb(&report);
    let answer = match report.result {
        Ok(Verdict::Observed(o)) => Ok(Some(o)),
        Ok(Verdict::Listed(items)) => {
            if step.part == Part::Groups {
                found.observed.state.groups =
                    Some(items.iter().map(|g| g.name_or_id().to_string()).collect());
            }
            if let (Some(why), false) = (step.refuses, items.is_empty()) {
                ex.record(step, "refused");
                let names: Vec<&str> = items.iter().map(Item::name_or_id).collect();
                return Err(permanent(
                    codes::REFUSED,
                    format!("{why} ({}); nothing was changed", names.join(", ")),
                ));
            }
            found.set(step.part, Presence::Listed(items));
            ex.record(step, "read");
            return Ok(());
        }
        Ok(Verdict::Absent(_)) if step.absent == Absent::Answer => Ok(None),
        // The user itself is absent: an answer for an action on the user (its other parts are
        // absent too), a failure for an action on a part of an existing user.
        Err(f) if f.class == FailureClass::NotFound && row.on_the_user() => {
            ex.record(step, "absent");
            found.set(Part::User, Presence::Absent);
            return Ok(());
        }
        Ok(Verdict::Absent(f)) => Err(f),
        Ok(other) => Err(unexpected(other)),
        Err(f) => Err(f),
    };
    match answer {
        Ok(Some(o)) => {
            ex.record(step, if o.exists { "read" } else { "absent" });
            found.absorb(step.part, o);
            Ok(())
        }
        Ok(None) => {
            ex.record(step, "absent");
            found.absorb(step.part, Observed::default());
            Ok(())
        }
        Err(f) => {
            ex.record(step, &f.code);
            Err(f)
        }
    }
}

/// `run`: the row's steps, in order. A failed step stops the row.
async fn apply(
    mut ex: Execution,
    row: &Row<'_>,
    client: &AccountClient,
    who: &mut Who,
    options: &ExecOptions,
    durability: Durability<'_>,
    cancel: &CancellationToken,
) -> Execution {
    let mut found = Found::starting(who);
    let mut wrote = false;
    // A password the tool makes up is generated, and saved, just before the first write that
    // sends it.
    let mut generated: Option<Secret> = None;
    for step in row.spec.steps {
        if step.effect == Effect::Read {
            match observe(&mut ex, row, client, who, step, &mut found, cancel).await {
                Ok(()) => continue,
                // A stop after a write of the row says where it left the row.
                Err(f) if is_withdrawal(&f) && ex.outcome.is_some() => {
                    return ex.fail(interrupted_before(f, step.api));
                }
                Err(f) => return ex.fail(f),
            }
        }
        for target in row.targets(step, &found, who) {
            let Some(state) = row.sends(step, target.as_deref(), &found, who) else {
                continue;
            };
            let label = label(step, target.as_deref(), who);
            if let Some(done) = durability.applied(&label) {
                // The resumed run applied this step: it is not repeated. A user it created is
                // named by the id the provider gave it, found by its name.
                if step.effect == Effect::Create
                    && step.part == Part::User
                    && let Some(name) = row.provider.name_to_resolve(row.job)
                {
                    match resolve_user(&mut ex, client, name, cancel).await {
                        Ok(id) => who.user = id,
                        Err(f) => return ex.fail(f),
                    }
                }
                ex.steps.push(format!("{label}={}", done.name()));
                ex.outcome = row.outcome(ex.outcome, step, done);
                row.after(step, &mut found, target.as_deref(), who);
                continue;
            }
            if step.password == Password::Required && !has_password(row.job) {
                return ex.fail(permanent("no_password", NO_PASSWORD.into()));
            }
            if row.sets_password(step) && row.tool_generates() && generated.is_none() {
                generated = match generate(row.job, &who.sign_in, options) {
                    Ok(p) => Some(p),
                    Err(f) => return ex.fail(f),
                };
            }
            wrote = true;
            let write = row.write(step, &state, generated.as_ref());
            let sent = Sent {
                step,
                user: &who.user,
                target: target.as_deref(),
                write,
                user_read: row.spec.read.iter().find(|s| s.part == Part::User),
            };
            let done = match sent.send(&mut ex, client, durability, cancel).await {
                Ok(Applied { outcome, user_id }) => {
                    // A created user is named by the id the provider gave it from now on.
                    if let Some(id) = user_id {
                        who.user = id;
                    }
                    outcome
                }
                Err(f) if is_withdrawal(&f) && ex.outcome.is_some() => {
                    return ex.fail(interrupted_before(f, &label));
                }
                Err(f) => {
                    if !is_withdrawal(&f) {
                        ex.steps.push(format!("{label}={}", f.code));
                    }
                    return ex.fail(f);
                }
            };
            ex.steps.push(format!("{label}={}", done.name()));
            row.after(step, &mut found, target.as_deref(), who);
            // Recorded as it is applied, so a stop before the next step cannot make the row look
            // untouched.
            ex.outcome = row.outcome(ex.outcome, step, done);
        }
    }
    if !wrote {
        let mut observed = found.observed(row.spec);
        // A get row also says whether MFA is bound.
        if is_read_only(row.spec) {
            let mfa = Mfa {
                job: row.job,
                provider: row.provider,
                spec: row.spec,
            };
            if let Err(f) = mfa
                .observe(&mut ex, client, &who.user, &mut observed, cancel)
                .await
            {
                return ex.fail(f);
            }
        }
        if !found.parts.is_empty() {
            ex.observed = Some(observed);
        }
    }
    let nothing = if is_read_only(row.spec) {
        Outcome::Read
    } else {
        Outcome::Unchanged
    };
    let outcome = ex.outcome.unwrap_or(nothing);
    ex.succeed(outcome)
}

/// The name of one request in the `steps` column: `Api` or `Api:target` (a group by its name).
fn label(step: &Step, target: Option<&str>, who: &Who) -> String {
    match target {
        None => step.api.to_string(),
        Some(t) if step.each == Each::Group => format!("{}:{}", step.api, who.group_name(t)),
        Some(t) => format!("{}:{t}", step.api),
    }
}

/// The failure of a row stopped between two of its steps, before `next`: still a withdrawal (the
/// row fails, its earlier steps applied), saying where it stopped.
fn interrupted_before(withdrawn: Failure, next: &str) -> Failure {
    let why = match withdrawn.code == codes::INTERRUPTED {
        true => "the run stopped with the row half done".to_string(),
        false => withdrawn.message,
    };
    Failure {
        message: format!("{why} (interrupted before {next})"),
        ..withdrawn
    }
}

/// What a sent step did, and the id of the user it created where the provider names users by ids
/// it gives them.
struct Applied {
    outcome: Outcome,
    user_id: Option<String>,
}

impl From<Outcome> for Applied {
    fn from(outcome: Outcome) -> Applied {
        Applied {
            outcome,
            user_id: None,
        }
    }
}

/// One write step about to be sent.
struct Sent<'a> {
    step: &'static Step,
    user: &'a str,
    target: Option<&'a str>,
    write: Option<Write<'a>>,
    /// The read of the user by its id (the action's read of its `User` part), for a create date
    /// a read by name does not give.
    user_read: Option<&'static Step>,
}

impl Sent<'_> {
    /// Sends the step and reads its reply as the step declares: what it did to the row, or why
    /// the row fails.
    async fn send(
        &self,
        ex: &mut Execution,
        client: &AccountClient,
        durability: Durability<'_>,
        cancel: &CancellationToken,
    ) -> Result<Applied, Failure> {
        let step = self.step;
        if ex.first_write.is_none() {
            ex.first_write = Some(OffsetDateTime::now_utc());
        }
        let report = client
            .call_departing(
                &op(step, self.user, self.target, self.write),
                cancel,
                durability.departing,
            )
            .await;
        ex.absorb(&report);
        let earlier_attempt = ex.ambiguous || durability.prior_ambiguous;
        match report.result {
            Ok(Verdict::Done) => Ok(effect_outcome(step.effect).into()),
            Ok(Verdict::UserId(id)) if step.effect == Effect::Create => Ok(Applied {
                outcome: Outcome::Created,
                user_id: Some(id),
            }),
            Ok(Verdict::Absent(f)) => match step.absent {
                Absent::Holds => Ok(Outcome::Unchanged.into()),
                _ => Err(f),
            },
            Err(f)
                if f.class == FailureClass::NotFound
                    && step.absent == Absent::Holds
                    && step.part == Part::User =>
            {
                Ok(Outcome::Unchanged.into())
            }
            Err(f) if f.class == FailureClass::AlreadyExists => match step.exists {
                Exists::Holds => Ok(Outcome::Unchanged.into()),
                // Our own earlier attempt may have created it: finish with the row's values.
                Exists::Ours { finish } if earlier_attempt => {
                    let report = client
                        .call_departing(
                            &op(finish, self.user, self.target, self.write),
                            cancel,
                            durability.departing,
                        )
                        .await;
                    ex.absorb(&report);
                    match report.result {
                        Ok(Verdict::Done) => Ok(Outcome::Created.into()),
                        Ok(other) => Err(unexpected(other)),
                        Err(f) => Err(f),
                    }
                }
                Exists::OursIfNewer { read } if earlier_attempt => {
                    let since = durability.since.or(ex.first_write);
                    self.ours_if_newer(ex, client, read, since, f, cancel).await
                }
                _ => Err(f),
            },
            Ok(other) => Err(unexpected(other)),
            Err(f) => Err(f),
        }
    }

    /// An object that already exists is ours only if it was created after our first attempt left
    /// (less a minute of clock difference); an older one belongs to someone else.
    async fn ours_if_newer(
        &self,
        ex: &mut Execution,
        client: &AccountClient,
        read: &'static Step,
        since: Option<OffsetDateTime>,
        exists: Failure,
        cancel: &CancellationToken,
    ) -> Result<Applied, Failure> {
        let report = client.call(&op(read, self.user, None, None), cancel).await;
        ex.absorb(&report);
        let read_created = |result: Result<Verdict, Failure>| match result {
            Ok(Verdict::Observed(o)) => {
                let id = o
                    .extra
                    .iter()
                    .find(|(k, _)| *k == USER_ID)
                    .map(|(_, v)| v.clone());
                Ok((o.created, id))
            }
            Ok(other) => Err(unexpected(other)),
            Err(f) => Err(f),
        };
        let (mut created, user_id) = read_created(report.result)?;
        // A read by name that gives the id but no create date: the user's own read gives it.
        if let (None, Some(id), Some(by_id)) = (created, &user_id, self.user_read)
            && !std::ptr::eq(by_id, read)
        {
            let report = client.call(&op(by_id, id, None, None), cancel).await;
            ex.absorb(&report);
            created = read_created(report.result)?.0;
        }
        match (created, since) {
            (Some(created), Some(since)) if created >= since - time::Duration::minutes(1) => {
                Ok(Applied {
                    outcome: Outcome::Created,
                    user_id,
                })
            }
            (created, _) => Err(permanent(
                codes::CONFLICT,
                format!(
                    "{} answered that it already exists, and it was created {}, before this row's first attempt: it is someone else's, not taken over ({})",
                    self.step.api,
                    created.map_or("at an unknown time".into(), |t| format!("at {t}")),
                    exists.code
                ),
            )),
        }
    }
}

/// The request of `step` for `user`.
fn op<'a>(
    step: &'static Step,
    user: &'a str,
    target: Option<&'a str>,
    write: Option<Write<'a>>,
) -> Op<'a> {
    Op::Step {
        step,
        user,
        target,
        write,
    }
}

fn effect_outcome(effect: Effect) -> Outcome {
    match effect {
        Effect::Read => Outcome::Read,
        Effect::Create => Outcome::Created,
        Effect::Update => Outcome::Updated,
        Effect::Delete => Outcome::Deleted,
    }
}

/// An action that only reads.
fn is_read_only(spec: &ActionSpec) -> bool {
    !spec.steps.iter().any(|s| s.effect.is_write())
}

/// One row, and what its steps send: shared by `run`, `plan` and `--dry-run`.
struct Row<'a> {
    job: &'a Job,
    provider: &'a dyn Provider,
    spec: &'static ActionSpec,
    desired: &'a LoginState,
    reset_passwords: bool,
}

impl<'a> Row<'a> {
    /// The row's outcome once `step` did `done`: its first change says what happened to it, except
    /// that for an action on the user what happened to the user itself says it (`created`,
    /// `deleted`), and a change of another part of a user that was there is an update.
    fn outcome(&self, so_far: Option<Outcome>, step: &Step, done: Outcome) -> Option<Outcome> {
        if done == Outcome::Unchanged {
            return so_far.or(Some(done));
        }
        if !self.on_the_user() {
            return match so_far {
                None | Some(Outcome::Unchanged) => Some(done),
                kept => kept,
            };
        }
        let update = match done {
            Outcome::WouldCreate | Outcome::WouldDelete | Outcome::WouldUpdate => {
                Outcome::WouldUpdate
            }
            _ => Outcome::Updated,
        };
        match so_far {
            _ if step.part == Part::User => Some(done),
            None | Some(Outcome::Unchanged) => Some(update),
            kept => kept,
        }
    }

    /// Whether the action works on the user itself (it reads it), rather than on a part of a user
    /// that must exist.
    fn on_the_user(&self) -> bool {
        self.spec.read.iter().any(|s| s.part == Part::User)
    }

    /// Whether the row creates the user: it has no id before its create names it.
    fn creates_the_user(&self) -> bool {
        self.job.action.kind() == ActionKind::Create && self.on_the_user()
    }

    /// What each sending of `step` names: nothing (once), each of the row's groups, or each item
    /// its part's read listed.
    fn targets(&self, step: &Step, found: &Found, who: &Who) -> Vec<Option<String>> {
        match step.each {
            Each::Once => vec![None],
            Each::Group => who.groups.iter().map(|(_, id)| Some(id.clone())).collect(),
            Each::Listed => match found.of(step.part) {
                Some(Presence::Listed(items)) => items.iter().map(|i| Some(i.id.clone())).collect(),
                _ => Vec::new(),
            },
        }
    }

    /// Whether the row's user is in the group `target` names, when its groups were read.
    fn member(&self, target: Option<&str>, found: &Found, who: &Who) -> Option<bool> {
        found.of(Part::Groups)?;
        let name = who.group_name(target.unwrap_or_default());
        Some(
            found
                .observed
                .state
                .groups
                .iter()
                .flatten()
                .any(|g| g == name),
        )
    }

    /// Whether the action compares `field` with what its reads found: a field they return, except
    /// that an existing user's `password_reset_required` is changed only with `--reset-passwords`
    /// (it is set on create, with the password).
    fn compares(&self, field: Field) -> bool {
        self.spec.reads.contains(&field)
            && !(field == Field::PasswordResetRequired
                && self.job.action.is_lifecycle()
                && !self.reset_passwords)
    }

    /// Those of `fields` the action compares.
    fn compared(&self, fields: &[Field]) -> Vec<Field> {
        (fields.iter().copied())
            .filter(|f| self.compares(*f))
            .collect()
    }

    /// The fields `step` sends and compares.
    fn fields(&self, step: &Step) -> &'static [Field] {
        match step.sends {
            [] => self.spec.reads,
            fields => fields,
        }
    }

    /// The state `step` sends given what the row's reads found, or `None` when the step is not
    /// sent. Before any read of its part (`--dry-run`) a step is sent.
    fn sends(
        &self,
        step: &Step,
        target: Option<&str>,
        found: &Found,
        who: &Who,
    ) -> Option<Cow<'a, LoginState>> {
        let all = || match step.sends {
            [] => Cow::Borrowed(self.desired),
            fields => Cow::Owned(self.desired.only(fields)),
        };
        let exists = match step.each {
            Each::Group => self.member(target, found, who),
            _ => found.exists(step.part),
        };
        if step.effect == Effect::Delete && exists == Some(false) {
            // Nothing to delete.
            return None;
        }
        let state = match (step.when, exists) {
            (When::Always, _) | (_, None) => all(),
            (When::Absent, Some(exists)) => match exists {
                true => return None,
                false => all(),
            },
            (When::Differs, Some(false)) => return None,
            (When::Differs, Some(true)) => {
                let readable = self.compared(self.fields(step));
                let diff = self.desired.differences(&found.observed.state, &readable);
                if diff.is_empty() && !self.sets_password(step) {
                    return None;
                }
                Cow::Owned(self.desired.only(&diff))
            }
        };
        // An update of some fields only, none of which the row sets, has nothing to send. A create
        // is sent all the same: the object is its change (a user the row gives no fields of).
        let idle = step.effect == Effect::Update
            && !step.sends.is_empty()
            && state.is_empty()
            && !self.sets_password(step);
        (!idle).then_some(state)
    }

    /// What is known after `step` was applied (or would be, for `plan`).
    fn after(&self, step: &Step, found: &mut Found, target: Option<&str>, who: &Who) {
        // What a write of the part set; groups change only by their own steps.
        let set = || {
            let fields: Vec<Field> = (self.fields(step).iter().copied())
                .filter(|f| *f != Field::Groups)
                .collect();
            self.desired.only(&fields)
        };
        match (step.effect, step.each, step.part) {
            (Effect::Create, Each::Once, Part::User) => {
                found.set(Part::User, Presence::Present);
                found.observed.state.merge(set());
                found.new_user = true;
            }
            (Effect::Delete, Each::Once, Part::User) => found.set(Part::User, Presence::Absent),
            (Effect::Create | Effect::Update, Each::Once, part) => {
                found.set(part, Presence::Present);
                found.observed.state.merge(set());
            }
            (Effect::Create, Each::Group, _) => {
                found.member_of(who.group_name(target.unwrap_or_default()));
            }
            _ => {}
        }
    }

    /// Whether `step` sends the row's password: every step that takes one when the row has
    /// one; an update of only the differing fields (ensure) only with `--reset-passwords`.
    fn sets_password(&self, step: &Step) -> bool {
        has_password(self.job)
            && step.password != Password::Never
            && (step.when != When::Differs || self.reset_passwords)
    }

    /// Whether the tool makes up the row's password (else the provider does, or it is given).
    fn tool_generates(&self) -> bool {
        self.job.generate_password && self.provider.spec().tool_generates(self.job.action)
    }

    /// What a create or update sends; `None` for reads and deletes. `generated`: the password the
    /// tool made up for the row (a placeholder for `--dry-run`).
    fn write<'s>(
        &'s self,
        step: &Step,
        state: &'s LoginState,
        generated: Option<&'s Secret>,
    ) -> Option<Write<'s>> {
        if !matches!(step.effect, Effect::Create | Effect::Update) {
            return None;
        }
        let sets_password = self.sets_password(step);
        let password = match &self.job.password {
            Some(given) => Some(given),
            None if self.tool_generates() => generated,
            None => None,
        };
        Some(Write {
            state,
            password: password.filter(|_| sets_password),
            generate_password: sets_password
                && self.job.generate_password
                && !self.tool_generates(),
        })
    }

    /// What `run` would do to the row, given what the reads found (`plan`, docs/contract.md §6):
    /// the outcome, and `Ok(note)`, or `Err(why)` for a conflict (a row `run` would fail). It
    /// walks the row's steps as `run` does, with the reads' answers in place of each reply.
    fn foresee(&self, found: &Found, who: &Who) -> (Outcome, Result<Option<String>, String>) {
        let (job, spec) = (self.job, self.spec);
        let action = job.action;
        let mut found = found.clone();
        let mut outcome = None;
        let mut notes: Vec<String> = Vec::new();
        let mut would_send: Vec<String> = Vec::new();
        for step in spec.steps.iter().filter(|s| s.effect.is_write()) {
            for target in self.targets(step, &found, who) {
                let target = target.as_deref();
                let Some(_) = self.sends(step, target, &found, who) else {
                    continue;
                };
                let exists = match step.each {
                    Each::Group => self.member(target, &found, who),
                    _ => found.exists(step.part),
                }
                .unwrap_or(false);
                let this = match step.effect {
                    Effect::Create if exists && step.exists == Exists::Holds => continue,
                    Effect::Create if exists => {
                        let other = instead(self.provider, spec, |s| s.effect == Effect::Update);
                        let what = match step.part {
                            Part::User => "the user already exists".to_string(),
                            _ => format!("the user already has a {}", spec.object),
                        };
                        return (
                            Outcome::Conflict,
                            Err(format!("{what}, so {action} would fail: use {other}")),
                        );
                    }
                    Effect::Create if step.password == Password::Required && !has_password(job) => {
                        return (Outcome::Conflict, Err(NO_PASSWORD.into()));
                    }
                    Effect::Create => Outcome::WouldCreate,
                    Effect::Delete => {
                        if step.each == Each::Once && !action.is_lifecycle() {
                            notes.push(format!("would delete the {}", spec.object));
                        }
                        Outcome::WouldDelete
                    }
                    Effect::Update
                        if !exists && step.absent == Absent::Fails && step.each == Each::Once =>
                    {
                        let other = instead(self.provider, spec, |s| s.effect == Effect::Create);
                        let what = match step.part {
                            Part::User => "the user does not exist".to_string(),
                            _ => format!("the user has no {}", spec.object),
                        };
                        return (
                            Outcome::Conflict,
                            Err(format!("{what}, so {action} would fail: use {other}")),
                        );
                    }
                    Effect::Update | Effect::Read => {
                        // A password is a change we cannot see; other fields the provider does not
                        // return are noted, not counted as changes (so an unedited export plans
                        // `unchanged`).
                        let sets_password = self.sets_password(step);
                        if step.when == When::Always && !action.is_lifecycle() {
                            let blind: Vec<&str> = unreadable(job, self.desired, spec)
                                .into_iter()
                                .filter(|f| *f != "password")
                                .collect();
                            if !blind.is_empty() {
                                notes.push(format!(
                                    "not compared, cannot be read back: {}",
                                    blind.join(", ")
                                ));
                            }
                        }
                        let fields = self.compared(self.fields(step));
                        let diff =
                            describe_differences(self.desired, &found.observed, &fields, spec);
                        if diff.is_none() && !sets_password && step.each == Each::Once {
                            continue;
                        }
                        let also = sets_password.then(|| {
                            "would set password, which cannot be read back to compare".to_string()
                        });
                        notes.splice(0..0, diff.into_iter().chain(also));
                        Outcome::WouldUpdate
                    }
                };
                would_send.push(label(step, target, who));
                self.after(step, &mut found, target, who);
                outcome = self.outcome(outcome, step, this);
            }
        }
        if action.is_lifecycle() && !would_send.is_empty() {
            notes.insert(0, format!("would send {}", would_send.join(", ")));
        }
        let outcome = outcome.unwrap_or(if is_read_only(spec) {
            Outcome::Read
        } else {
            Outcome::Unchanged
        });
        let note = (!notes.is_empty()).then(|| notes.join("; "));
        (outcome, Ok(note))
    }

    /// Whether the provider's state matches the row (`verify`, docs/contract.md §6): `Ok(note)`
    /// when it does, the note naming what could not be compared; `Err(what differs)` otherwise.
    fn judge(&self, found: &Found, who: &Who) -> Result<Option<String>, String> {
        let (job, spec) = (self.job, self.spec);
        let deletes = spec
            .steps
            .iter()
            .find(|s| s.effect == Effect::Delete && s.each == Each::Once);
        let blind = if is_read_only(spec) || deletes.is_some() {
            Vec::new()
        } else {
            unreadable(job, self.desired, spec)
        };
        let note = (!blind.is_empty())
            .then(|| format!("not compared, cannot be read back: {}", blind.join(", ")));
        let object = spec.object;
        let primary = spec.read.first().map_or(Part::Login, |s| s.part);
        let exists = found.exists(primary).unwrap_or(false);
        let removes = spec
            .steps
            .iter()
            .any(|s| s.effect == Effect::Delete && s.each == Each::Group);
        let differs = if is_read_only(spec) {
            None
        } else if let Some(delete) = deletes {
            found
                .exists(delete.part)
                .unwrap_or(false)
                .then(|| match delete.part {
                    Part::User => "the user still exists".to_string(),
                    _ => format!("the {object} still exists"),
                })
        } else if removes {
            let still: Vec<&str> = (who.groups.iter())
                .filter(|(_, id)| self.member(Some(id), found, who) == Some(true))
                .map(|(name, _)| name.as_str())
                .collect();
            (!still.is_empty()).then(|| format!("the user is still in {}", still.join(", ")))
        } else if !exists && spec.needs_the_object() {
            Some(match primary {
                Part::User => "the user does not exist".to_string(),
                _ => format!("the user has no {object}"),
            })
        } else {
            let fields = self.compared(spec.reads);
            describe_differences(self.desired, &found.observed, &fields, spec)
        };
        match differs {
            None => Ok(note),
            Some(d) => Err(match note {
                Some(n) => format!("{d} ({n})"),
                None => d,
            }),
        }
    }
}

/// The state a row wants: as the action declares it.
fn desired_state<'j>(
    job: &'j Job,
    provider: &dyn Provider,
    spec: &ActionSpec,
) -> Cow<'j, LoginState> {
    match spec.desired {
        Desired::Row => Cow::Borrowed(&job.desired),
        Desired::Mfa => Cow::Owned(provider.mfa_state(job)),
        Desired::Fixed(state) => Cow::Owned(state.clone()),
        Desired::Provider => Cow::Owned(provider.user_state(job)),
    }
}

fn has_password(job: &Job) -> bool {
    job.password.is_some() || job.generate_password
}

/// The password the tool generates for the row, saved to the secrets file first: if it cannot be
/// saved, the row fails before anything is sent.
/// `user`: how the user signs in (a bare aliyun name completed with the account's domain).
fn generate(job: &Job, user: &str, options: &ExecOptions) -> Result<Secret, Failure> {
    let Some(secrets) = &options.secrets else {
        return Err(permanent(
            "no_secrets_out",
            "the row asks for a generated password: pass --secrets-out FILE to receive it".into(),
        ));
    };
    let password = passwords::generate(&mut rand::rng());
    secrets
        .record(job.line, job.provider, &job.account, user, &password)
        .map_err(|e| permanent("secrets_out", format!("{e}; the row was not sent")))?;
    Ok(password)
}

/// A row's question about MFA: whether its user has bound a device.
struct Mfa<'a> {
    job: &'a Job,
    provider: &'a dyn Provider,
    spec: &'a ActionSpec,
}

impl Mfa<'_> {
    /// An `enforce-mfa` row, a row that sets whether MFA is required, and every read-only row.
    fn asked(&self) -> bool {
        self.job.action == Action::EnforceMfa
            || self.job.desired.mfa_bind_required.is_some()
            || self.job.desired.login_protect_enabled.is_some()
            || is_read_only(self.spec)
    }

    /// Adds `observed_mfa_bound` with one read, when the row asks and the provider can tell.
    async fn observe(
        &self,
        ex: &mut Execution,
        client: &AccountClient,
        user: &str,
        observed: &mut Observed,
        cancel: &CancellationToken,
    ) -> Result<(), Failure> {
        let Some(source) = self.provider.spec().listing.mfa.filter(|_| self.asked()) else {
            return Ok(());
        };
        let report = client
            .call(&op(source.row_read, user, None, None), cancel)
            .await;
        // The row's status and request id stay those of its object's read, unless this one fails.
        ex.attempts += report.attempts;
        let binding = match binding_of(report.result.clone(), user) {
            Ok(binding) => binding,
            Err(f) => {
                ex.absorb_reply(&report);
                return Err(f);
            }
        };
        observed.extra.push((MFA_BOUND, binding.bound.to_string()));
        Ok(())
    }
}

/// `run --verify`: the read-back after a successful write.
async fn verify_after(
    mut ex: Execution,
    row: &Row<'_>,
    client: &AccountClient,
    who: &Who,
    cancel: &CancellationToken,
) -> Execution {
    let mut found = Found::starting(who);
    let mut result = Ok(());
    let steps = std::mem::take(&mut ex.steps);
    for step in row.spec.read {
        result = observe(&mut ex, row, client, who, step, &mut found, cancel).await;
        if result.is_err() {
            break;
        }
    }
    // The read-back is not one of the row's steps.
    ex.steps = steps;
    ex.status = None;
    match result {
        Ok(()) => {
            let verdict = row.judge(&found, who);
            ex.observed = Some(found.observed(row.spec));
            let outcome = ex.outcome;
            ex.judged(outcome, "verify_mismatch", verdict)
        }
        Err(f) if is_withdrawal(&f) => ex.fail(Failure {
            message: format!(
                "applied, but its read-back was not sent ({}); check the row with verify",
                f.code
            ),
            ..f
        }),
        Err(f) => ex.fail(f),
    }
}

/// The provider's other actions on the same object that take this row's columns and satisfy
/// `fits`, as "a, b or c": what to use instead of an action that would fail.
fn instead(provider: &dyn Provider, spec: &ActionSpec, fits: impl Fn(&Step) -> bool) -> String {
    let names: Vec<&str> = provider
        .spec()
        .actions
        .iter()
        .filter(|other| {
            other.action != spec.action
                && other.object == spec.object
                && spec.columns.iter().all(|c| other.columns.contains(c))
                && other.steps.iter().any(&fits)
        })
        .map(|other| other.action.name())
        .collect();
    match names.split_last() {
        None => "another action".into(),
        Some((last, [])) => (*last).into(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// What a row sets that the action's read does not return: the password, and fields such as
/// an email a provider sets but does not read back.
fn unreadable(job: &Job, desired: &LoginState, spec: &ActionSpec) -> Vec<&'static str> {
    let password = has_password(job).then_some("password");
    let fields = Field::ALL
        .iter()
        .copied()
        .filter(|f| desired.get(*f).is_some() && !spec.reads.contains(f))
        .map(|f| f.column());
    password.into_iter().chain(fields).collect()
}

/// `None` when the observed state matches every readable field among `fields` the row sets.
fn describe_differences(
    desired: &LoginState,
    observed: &Observed,
    fields: &[Field],
    spec: &ActionSpec,
) -> Option<String> {
    let readable: Vec<Field> = (fields.iter().copied())
        .filter(|f| spec.reads.contains(f))
        .collect();
    let diff = desired.differences(&observed.state, &readable);
    if diff.is_empty() {
        return None;
    }
    let parts: Vec<String> = diff
        .iter()
        .map(|f| match f {
            Field::Groups => format!(
                "not in {}",
                desired.missing_groups(&observed.state).join(", ")
            ),
            _ => format!(
                "{} is {}, expected {}",
                f.column(),
                observed.state.get(*f).unwrap_or_else(|| "unset".into()),
                desired.get(*f).unwrap_or_default()
            ),
        })
        .collect();
    Some(parts.join("; "))
}

/// The requests `run` would send for the row, in order (`run --dry-run`), each with a note when
/// it depends on an earlier reply: the row's declared steps, as [`execute`] walks them. What is
/// looked up first stands as a placeholder in later requests (`{id of NAME}`), and a password the
/// tool would generate as a placeholder (it is masked anyway).
pub fn requests(
    job: &Job,
    provider: &dyn Provider,
    options: &ExecOptions,
    mut each: impl FnMut(&Op<'_>, Option<&str>),
) {
    let Some(spec) = provider.spec().action(job.action) else {
        return;
    };
    let lookups = &provider.spec().lookups;
    let desired = desired_state(job, provider, spec);
    let row = Row {
        job,
        provider,
        spec,
        desired: desired.as_ref(),
        reset_passwords: options.reset_passwords,
    };
    let mut who = Who {
        user: job.user_key().to_string(),
        ..Who::default()
    };
    const ONCE: &str = "once per account, shared by its rows";
    // As `prelude` in a run: a user being created is named by its create.
    if let Some(name) = provider
        .name_to_resolve(job)
        .filter(|_| !row.creates_the_user())
    {
        each(&Op::ResolveUser { name }, None);
        who.user = format!("{{id of {name}}}");
    } else if let (Some(step), true) = (lookups.domain, provider.is_bare(&job.user)) {
        each(&op(step, "", None, None), Some(ONCE));
        who.user = provider.complete(&job.user, "{default domain}");
    }
    if spec.steps.iter().any(|s| s.each == Each::Group) {
        for name in row.desired.groups.iter().flatten() {
            let id = match lookups.group_id {
                None => name.clone(),
                Some(step) => {
                    each(&op(step, "", Some(name), None), Some(ONCE));
                    format!("{{id of group {name}}}")
                }
            };
            who.groups.push((name.clone(), id));
        }
    }
    let object = spec.object;
    let generated = Secret::new("(generated)");
    let found = Found::default();
    for step in spec.steps {
        let note = match step.when {
            When::Always => None,
            When::Absent if step.each == Each::Group => {
                Some("only if the user is not in the group".to_string())
            }
            When::Absent => Some(format!("only if the read finds no {object}")),
            When::Differs => Some(format!(
                "only if the read finds a {object} that differs, and then with only the differing fields"
            )),
        };
        let targets = match step.each {
            Each::Listed => vec![Some("{each one listed}".to_string())],
            _ => row.targets(step, &found, &who),
        };
        for target in targets {
            let Some(state) = row.sends(step, target.as_deref(), &found, &who) else {
                continue;
            };
            let write = row.write(step, &state, Some(&generated));
            let note = match step.each {
                Each::Group if step.effect == Effect::Read => Some(ONCE.to_string()),
                Each::Listed => Some("once per item the read before lists".to_string()),
                _ => note.clone(),
            };
            each(
                &op(step, &who.user, target.as_deref(), write),
                note.as_deref(),
            );
        }
    }
    if let (true, Some(source)) = (is_read_only(spec), provider.spec().listing.mfa) {
        each(
            &op(source.row_read, &who.user, None, None),
            Some("whether an MFA device is bound, for observed_mfa_bound"),
        );
    }
    if options.verify && !is_read_only(spec) {
        for step in spec.read {
            each(
                &op(step, &who.user, None, None),
                Some("the read-back of --verify"),
            );
        }
    }
}

fn permanent(code: &str, message: String) -> Failure {
    Failure {
        class: FailureClass::Permanent,
        code: code.into(),
        message,
        retry_after: None,
    }
}

fn unexpected(verdict: Verdict) -> Failure {
    permanent(
        "unexpected_reply",
        format!("the provider's reply did not fit the request: {verdict:?}"),
    )
}

#[cfg(test)]
mod steps;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{LoginStatus, ProviderKind};
    use crate::providers::provider;

    fn job(kind: ProviderKind, action: Action, desired: LoginState) -> Job {
        Job {
            index: 0,
            line: 2,
            provider: kind,
            account: String::new(),
            action,
            user: "a@corp.onaliyun.com".into(),
            user_name: None,
            desired,
            password: None,
            generate_password: false,
        }
    }

    fn mfa(on: bool) -> LoginState {
        LoginState {
            mfa_bind_required: Some(on),
            ..Default::default()
        }
    }

    fn seen(exists: bool, state: LoginState) -> Observed {
        Observed {
            exists,
            state,
            extra: Vec::new(),
            created: None,
        }
    }

    fn spec_of(j: &Job) -> &'static ActionSpec {
        provider(j.provider).spec().action(j.action).unwrap()
    }

    /// `plan`'s outcome and message for a row against an observed state.
    fn plan(j: &Job, observed: &Observed) -> (Outcome, Result<Option<String>, String>) {
        plan_with(j, provider(j.provider), observed)
    }

    pub(super) fn plan_with(
        j: &Job,
        p: &dyn Provider,
        observed: &Observed,
    ) -> (Outcome, Result<Option<String>, String>) {
        foresee_with(j, p, observed, false)
    }

    /// What the action's first read found, as its part.
    fn found_of(spec: &ActionSpec, observed: &Observed) -> Found {
        let mut found = Found::default();
        found.absorb(spec.read[0].part, observed.clone());
        found
    }

    fn foresee_with(
        j: &Job,
        p: &dyn Provider,
        observed: &Observed,
        reset_passwords: bool,
    ) -> (Outcome, Result<Option<String>, String>) {
        let spec = p.spec().action(j.action).unwrap();
        let desired = desired_state(j, p, spec);
        let row = Row {
            job: j,
            provider: p,
            spec,
            desired: &desired,
            reset_passwords,
        };
        row.foresee(&found_of(spec, observed), &Who::default())
    }

    /// `verify`'s verdict for a row against an observed state.
    fn judge_of(j: &Job, observed: &Observed) -> Result<Option<String>, String> {
        let p = provider(j.provider);
        let spec = spec_of(j);
        let desired = desired_state(j, p, spec);
        let row = Row {
            job: j,
            provider: p,
            spec,
            desired: &desired,
            reset_passwords: false,
        };
        row.judge(&found_of(spec, observed), &Who::default())
    }

    #[test]
    fn plan_says_what_each_action_kind_would_do() {
        use Outcome::*;
        let aliyun = ProviderKind::Aliyun;
        let absent = seen(false, LoginState::default());
        let off = seen(true, mfa(false));
        let on = seen(true, mfa(true));

        let mut create = job(aliyun, Action::CreateLoginProfile, mfa(true));
        create.password = Some(Secret::new("Passw0rd-123"));
        assert_eq!(plan(&create, &absent), (WouldCreate, Ok(None)));
        let (outcome, why) = plan(&create, &on);
        assert_eq!(outcome, Conflict);
        assert!(why.unwrap_err().contains("already has a login profile"));

        let enforce = job(aliyun, Action::EnforceMfa, LoginState::default());
        assert_eq!(
            plan(&enforce, &off),
            (
                WouldUpdate,
                Ok(Some("mfa_bind_required is false, expected true".into()))
            )
        );
        assert_eq!(plan(&enforce, &on), (Unchanged, Ok(None)));
        assert_eq!(
            plan(&enforce, &absent).0,
            Conflict,
            "aliyun cannot update a missing profile"
        );

        // A password cannot be compared: an update that sets one always changes something.
        let mut update = job(aliyun, Action::UpdateLoginProfile, mfa(true));
        update.password = Some(Secret::new("Passw0rd-123"));
        assert_eq!(
            plan(&update, &on),
            (
                WouldUpdate,
                Ok(Some(
                    "would set password, which cannot be read back to compare".into()
                ))
            )
        );

        // ensure leaves existing passwords alone unless --reset-passwords.
        let mut ensure = job(aliyun, Action::EnsureLoginProfile, mfa(true));
        assert_eq!(
            plan(&ensure, &absent).0,
            Conflict,
            "no password to create with"
        );
        ensure.generate_password = true;
        assert_eq!(plan(&ensure, &absent), (WouldCreate, Ok(None)));
        assert_eq!(plan(&ensure, &on), (Unchanged, Ok(None)));
        let p = provider(aliyun);
        assert_eq!(foresee_with(&ensure, p, &on, true).0, WouldUpdate);

        let delete = job(aliyun, Action::DeleteLoginProfile, LoginState::default());
        assert_eq!(
            plan(&delete, &on),
            (
                WouldDelete,
                Ok(Some("would delete the login profile".into()))
            )
        );
        assert_eq!(plan(&delete, &absent), (Unchanged, Ok(None)));

        let read = job(aliyun, Action::GetLoginProfile, LoginState::default());
        assert_eq!(plan(&read, &on), (Read, Ok(None)));
    }

    #[test]
    fn a_user_is_created_even_when_the_row_gives_none_of_its_fields() {
        let desired = LoginState {
            groups: Some(vec!["finance".into()]),
            ..LoginState::default()
        };
        let mut j = job(ProviderKind::Aliyun, Action::CreateUser, desired);
        j.password = Some(Secret::new("Passw0rd-123"));
        let row = Row {
            job: &j,
            provider: provider(j.provider),
            spec: spec_of(&j),
            desired: &j.desired,
            reset_passwords: false,
        };
        let who = Who {
            user: j.user.clone(),
            groups: vec![("finance".into(), "finance".into())],
            ..Who::default()
        };
        let mut found = Found::default();
        found.set(Part::User, Presence::Absent);
        assert_eq!(
            row.foresee(&found, &who),
            (
                Outcome::WouldCreate,
                Ok(Some(
                    "would send CreateUser, CreateLoginProfile, AddUserToGroup:finance".into()
                ))
            )
        );
        // The user is there: creating it again is the conflict run would meet.
        let mut found = Found::default();
        found.set(Part::User, Presence::Present);
        assert_eq!(row.foresee(&found, &who).0, Outcome::Conflict);
    }

    #[test]
    fn plan_of_huawei_login_protection_never_set_is_an_update() {
        let mut j = job(
            ProviderKind::Huawei,
            Action::EnforceMfa,
            LoginState::default(),
        );
        j.user = "0123456789abcdef0123456789abcdef".into();
        let (outcome, message) = plan(&j, &seen(false, LoginState::default()));
        assert_eq!(outcome, Outcome::WouldUpdate);
        assert!(
            message
                .unwrap()
                .unwrap()
                .contains("login_protect_enabled is unset, expected true")
        );
    }

    #[test]
    fn verify_compares_readable_fields_and_says_what_it_could_not() {
        let aliyun = ProviderKind::Aliyun;
        let want = LoginState {
            login_status: Some(LoginStatus::Active),
            ..mfa(true)
        };
        let mut create = job(aliyun, Action::CreateLoginProfile, want.clone());
        create.password = Some(Secret::new("Passw0rd-123"));
        let matching = seen(true, want.clone());
        assert_eq!(
            judge_of(&create, &matching),
            Ok(Some("not compared, cannot be read back: password".into()))
        );
        let tampered = seen(
            true,
            LoginState {
                login_status: Some(LoginStatus::Inactive),
                ..mfa(true)
            },
        );
        assert_eq!(
            judge_of(&create, &tampered),
            Err("login_status is Inactive, expected Active (not compared, cannot be read back: password)".into())
        );
        assert_eq!(
            judge_of(&create, &seen(false, LoginState::default())),
            Err(
                "the user has no login profile (not compared, cannot be read back: password)"
                    .into()
            )
        );

        let enforce = job(aliyun, Action::EnforceMfa, LoginState::default());
        assert_eq!(judge_of(&enforce, &matching), Ok(None));
        assert!(judge_of(&enforce, &seen(true, mfa(false))).is_err());

        let delete = job(aliyun, Action::DeleteLoginProfile, LoginState::default());
        assert_eq!(
            judge_of(&delete, &seen(false, LoginState::default())),
            Ok(None)
        );
        assert_eq!(
            judge_of(&delete, &matching),
            Err("the login profile still exists".into())
        );

        // ucloud cannot read back an email.
        let mut ucloud = job(ProviderKind::Ucloud, Action::UpdateLoginProfile, mfa(true));
        ucloud.desired.email = Some("a@example.com".into());
        assert_eq!(
            judge_of(&ucloud, &matching),
            Ok(Some("not compared, cannot be read back: email".into()))
        );
    }

    #[test]
    fn dry_run_lists_the_requests_of_each_kind() {
        let aliyun = ProviderKind::Aliyun;
        let p = provider(aliyun);
        let list = |j: &Job, options: &ExecOptions| {
            let mut ops = Vec::new();
            requests(j, p, options, |op, note| {
                let Op::Step { step, write, .. } = op else {
                    panic!("no name to resolve: {op:?}")
                };
                let password = write
                    .and_then(|w| w.password)
                    .map(|s| s.expose().to_string());
                ops.push((step.api.to_string(), password, note.is_some()));
            });
            ops
        };
        let mut ensure = job(aliyun, Action::EnsureLoginProfile, mfa(true));
        ensure.generate_password = true;
        let ops = list(&ensure, &ExecOptions::default());
        let names: Vec<&str> = ops.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "GetLoginProfile",
                "CreateLoginProfile",
                "UpdateLoginProfile"
            ]
        );
        assert_eq!(
            ops[1].1.as_deref(),
            Some("(generated)"),
            "a placeholder, never a real password"
        );
        assert_eq!(ops[2].1, None, "existing passwords are left alone");
        assert!(ops[1].2 && ops[2].2);

        let verify = ExecOptions {
            verify: true,
            ..ExecOptions::default()
        };
        let enforce = job(aliyun, Action::EnforceMfa, LoginState::default());
        let names: Vec<String> = list(&enforce, &verify).into_iter().map(|o| o.0).collect();
        assert_eq!(names, ["UpdateLoginProfile", "GetLoginProfile"]);
    }
}
