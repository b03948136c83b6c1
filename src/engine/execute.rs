//! What an action means, written once for every provider: the row's steps, as its provider
//! declares them ([`ActionSpec`]), sent in order, and how their answers become the row's status and
//! outcome. The same steps, walked against one read, are what `plan` foresees
//! ([`foresee`]), what `verify` checks ([`judge`]) and what `run --dry-run` prints ([`requests`]).

use crate::engine::client::{AccountClient, CallReport, Departing, codes, is_withdrawal};
use crate::engine::listing::binding_of;
use crate::jobs::{Action, Field, Job, LoginState};
use crate::passwords::{self, SecretsFile};
use crate::providers::{
    Absent, ActionSpec, Effect, Exists, Failure, FailureClass, MFA_BOUND, Observed, Op, Password,
    Provider, Step, Verdict, When, Write,
};
use crate::report::{Outcome, Status};
use crate::secret::Secret;
use std::borrow::Cow;
use std::sync::Arc;
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
}

impl Execution {
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
    /// Runs as each write of the row leaves (after its pacing slot was granted), so that what it
    /// notes means "a write may have reached the server".
    pub departing: Departing<'a>,
}

impl Default for Durability<'_> {
    fn default() -> Self {
        Durability {
            prior_ambiguous: false,
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
    let resolved;
    let user: &str = match provider.name_to_resolve(job) {
        Some(name) => {
            let (result, report) = client.resolve(name, cancel).await;
            if let Some(r) = &report {
                ex.absorb(r);
            }
            match result {
                Ok(id) => {
                    resolved = id;
                    &resolved
                }
                Err(f) => return ex.fail(f),
            }
        }
        None => &job.user,
    };
    let desired = desired_state(job, provider);
    let desired = desired.as_ref();

    if options.mode != Mode::Apply {
        let mut observed = match read(&mut ex, client, spec.read, user, cancel).await {
            Ok(o) => o,
            Err(f) => return ex.fail(f),
        };
        let mfa = Mfa {
            job,
            provider,
            spec,
        };
        if let Err(f) = mfa
            .observe(&mut ex, client, user, &mut observed, cancel)
            .await
        {
            return ex.fail(f);
        }
        let ex = match options.mode {
            Mode::Plan => {
                let (outcome, verdict) =
                    foresee(job, provider, desired, &observed, options.reset_passwords);
                ex.judged(Some(outcome), "conflict", verdict)
            }
            _ => {
                let outcome = is_read_only(spec).then_some(Outcome::Read);
                ex.judged(outcome, "differs", judge(job, spec, desired, &observed))
            }
        };
        return Execution {
            observed: Some(observed),
            ..ex
        };
    }

    let row = Row {
        job,
        provider,
        spec,
        desired,
        reset_passwords: options.reset_passwords,
    };
    let ex = apply(ex, &row, client, user, options, durability, cancel).await;
    if options.verify && ex.status == Some(Status::Succeeded) && !is_read_only(spec) {
        return verify_after(ex, job, spec, client, user, desired, cancel).await;
    }
    ex
}

/// `run`: the row's steps, in order. A failed step stops the row.
async fn apply(
    mut ex: Execution,
    row: &Row<'_>,
    client: &AccountClient,
    user: &str,
    options: &ExecOptions,
    durability: Durability<'_>,
    cancel: &CancellationToken,
) -> Execution {
    let mut observed: Option<Observed> = None;
    let mut wrote = false;
    // A password the tool makes up is generated, and saved, just before the first write that
    // sends it.
    let mut generated: Option<Secret> = None;
    for step in row.spec.steps {
        let Some(state) = row.sends(step, observed.as_ref()) else {
            continue;
        };
        if step.password == Password::Required && !has_password(row.job) {
            return ex.fail(permanent("no_password", NO_PASSWORD.into()));
        }
        if row.sets_password(step) && row.tool_generates() && generated.is_none() {
            generated = match generate(row.job, options) {
                Ok(p) => Some(p),
                Err(f) => return ex.fail(f),
            };
        }
        if step.effect == Effect::Read {
            match read(&mut ex, client, step, user, cancel).await {
                Ok(o) => observed = Some(o),
                Err(f) => return ex.fail(f),
            }
            continue;
        }
        wrote = true;
        let write = row.write(step, &state, generated.as_ref());
        let done = match send(&mut ex, client, step, user, write, durability, cancel).await {
            Ok(done) => done,
            Err(f) if is_withdrawal(&f) && ex.outcome.is_some() => {
                return ex.fail(interrupted_before(f, step));
            }
            Err(f) => return ex.fail(f),
        };
        // Recorded as it is applied, so a stop before the next step cannot make the row look
        // untouched. The row's first change says what happened to it.
        if matches!(ex.outcome, None | Some(Outcome::Unchanged)) {
            ex.outcome = Some(done);
        }
    }
    if !wrote {
        // A get row also says whether MFA is bound.
        if let (Some(o), true) = (observed.as_mut(), is_read_only(row.spec)) {
            let mfa = Mfa {
                job: row.job,
                provider: row.provider,
                spec: row.spec,
            };
            if let Err(f) = mfa.observe(&mut ex, client, user, o, cancel).await {
                return ex.fail(f);
            }
        }
        ex.observed = observed;
    }
    let nothing = if is_read_only(row.spec) {
        Outcome::Read
    } else {
        Outcome::Unchanged
    };
    let outcome = ex.outcome.unwrap_or(nothing);
    ex.succeed(outcome)
}

/// The failure of a row stopped between two of its steps, before `next`: still a withdrawal (the
/// row fails, its earlier steps applied), saying where it stopped.
fn interrupted_before(withdrawn: Failure, next: &Step) -> Failure {
    let why = match withdrawn.code == codes::INTERRUPTED {
        true => "the run stopped with the row half done".to_string(),
        false => withdrawn.message,
    };
    Failure {
        message: format!("{why} (interrupted before {})", next.api),
        ..withdrawn
    }
}

/// Sends one write step and reads its reply as the step declares: what it did to the row, or why
/// the row fails.
async fn send(
    ex: &mut Execution,
    client: &AccountClient,
    step: &'static Step,
    user: &str,
    write: Option<Write<'_>>,
    durability: Durability<'_>,
    cancel: &CancellationToken,
) -> Result<Outcome, Failure> {
    let report = client
        .call_departing(&op(step, user, write), cancel, durability.departing)
        .await;
    ex.absorb(&report);
    match report.result {
        Ok(Verdict::Done) => Ok(effect_outcome(step.effect)),
        Ok(Verdict::Absent(f)) => match step.absent {
            Absent::Holds => Ok(Outcome::Unchanged),
            _ => Err(f),
        },
        Err(f) if f.class == FailureClass::AlreadyExists => match step.exists {
            Exists::Holds => Ok(Outcome::Unchanged),
            // Our own earlier attempt may have created it: finish with the row's values.
            Exists::Ours { finish } if ex.ambiguous || durability.prior_ambiguous => {
                let report = client
                    .call_departing(&op(finish, user, write), cancel, durability.departing)
                    .await;
                ex.absorb(&report);
                match report.result {
                    Ok(Verdict::Done) => Ok(Outcome::Created),
                    Ok(other) => Err(unexpected(other)),
                    Err(f) => Err(f),
                }
            }
            _ => Err(f),
        },
        Ok(other) => Err(unexpected(other)),
        Err(f) => Err(f),
    }
}

/// The request of `step` for `user`.
fn op<'a>(step: &'static Step, user: &'a str, write: Option<Write<'a>>) -> Op<'a> {
    Op::Step { step, user, write }
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
    /// The state `step` sends given what the row's read found, or `None` when the step is not
    /// sent. Before any read (`observed` unknown) every step is sent, as `--dry-run` lists them.
    fn sends(&self, step: &Step, observed: Option<&Observed>) -> Option<Cow<'a, LoginState>> {
        match (step.when, observed) {
            (When::Always, _) | (_, None) => Some(Cow::Borrowed(self.desired)),
            (When::Absent, Some(o)) => (!o.exists).then_some(Cow::Borrowed(self.desired)),
            (When::Differs, Some(o)) if !o.exists => None,
            (When::Differs, Some(o)) => {
                let diff = self.desired.differences(&o.state, self.spec.reads);
                let changes = !diff.is_empty() || self.sets_password(step);
                changes.then(|| Cow::Owned(self.desired.only(&diff)))
            }
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
        self.job.generate_password && !self.provider.spec().generates_passwords
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
                && self.provider.spec().generates_passwords,
        })
    }
}

/// The state a row wants: `enforce-mfa` wants the provider's MFA state, other actions the row's.
fn desired_state<'j>(job: &'j Job, provider: &dyn Provider) -> Cow<'j, LoginState> {
    if job.action == Action::EnforceMfa {
        Cow::Owned(provider.mfa_state(job))
    } else {
        Cow::Borrowed(&job.desired)
    }
}

fn has_password(job: &Job) -> bool {
    job.password.is_some() || job.generate_password
}

/// The password the tool generates for the row, saved to the secrets file first: if it cannot be
/// saved, the row fails before anything is sent.
fn generate(job: &Job, options: &ExecOptions) -> Result<Secret, Failure> {
    let Some(secrets) = &options.secrets else {
        return Err(permanent(
            "no_secrets_out",
            "the row asks for a generated password: pass --secrets-out FILE to receive it".into(),
        ));
    };
    let password = passwords::generate(&mut rand::rng());
    secrets
        .record(
            job.line,
            job.provider,
            &job.account,
            job.user_key(),
            &password,
        )
        .map_err(|e| permanent("secrets_out", format!("{e}; the row was not sent")))?;
    Ok(password)
}

/// A read step's answer: the state found, or none when the step says "absent" is an answer.
async fn read(
    ex: &mut Execution,
    client: &AccountClient,
    step: &'static Step,
    user: &str,
    cancel: &CancellationToken,
) -> Result<Observed, Failure> {
    let report = client.call(&op(step, user, None), cancel).await;
    ex.absorb(&report);
    match report.result {
        Ok(Verdict::Observed(o)) => Ok(o),
        Ok(Verdict::Absent(_)) if step.absent == Absent::Answer => Ok(Observed::default()),
        Ok(Verdict::Absent(f)) => Err(f),
        Ok(other) => Err(unexpected(other)),
        Err(f) => Err(f),
    }
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
        let report = client.call(&op(source.row_read, user, None), cancel).await;
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
    job: &Job,
    spec: &ActionSpec,
    client: &AccountClient,
    user: &str,
    desired: &LoginState,
    cancel: &CancellationToken,
) -> Execution {
    let result = read(&mut ex, client, spec.read, user, cancel).await;
    ex.status = None;
    match result {
        Ok(o) => {
            let verdict = judge(job, spec, desired, &o);
            ex.observed = Some(o);
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

/// What `run` would do to the row, given the state a read found (`plan`, docs/contract.md §6): the outcome,
/// and `Ok(note)`, or `Err(why)` for a conflict (a row `run` would fail). It walks the row's
/// steps as `run` does, with the read's answer in place of each reply.
pub fn foresee(
    job: &Job,
    provider: &dyn Provider,
    desired: &LoginState,
    observed: &Observed,
    reset_passwords: bool,
) -> (Outcome, Result<Option<String>, String>) {
    let Some(spec) = provider.spec().action(job.action) else {
        return (
            Outcome::Conflict,
            Err(format!("{} does not support {}", job.provider, job.action)),
        );
    };
    let action = job.action;
    let object = spec.object;
    let row = Row {
        job,
        provider,
        spec,
        desired,
        reset_passwords,
    };
    let mut outcome = None;
    let mut notes: Vec<String> = Vec::new();
    for step in spec.steps.iter().filter(|s| s.effect.is_write()) {
        let exists = observed.exists;
        let this = match step.effect {
            Effect::Create
                if exists && (step.when == When::Absent || step.exists == Exists::Holds) =>
            {
                continue;
            }
            Effect::Create if exists => {
                let other = instead(provider, spec, |s| s.effect == Effect::Update);
                return (
                    Outcome::Conflict,
                    Err(format!(
                        "the user already has a {object}, so {action} would fail: use {other}"
                    )),
                );
            }
            Effect::Create if step.password == Password::Required && !has_password(job) => {
                return (Outcome::Conflict, Err(NO_PASSWORD.into()));
            }
            Effect::Create => Outcome::WouldCreate,
            Effect::Delete if exists => {
                notes.push(format!("would delete the {object}"));
                Outcome::WouldUpdate
            }
            Effect::Delete => continue,
            Effect::Update if step.when == When::Differs && !exists => continue,
            Effect::Update if !exists && step.absent == Absent::Fails => {
                let other = instead(provider, spec, |s| s.effect == Effect::Create);
                return (
                    Outcome::Conflict,
                    Err(format!(
                        "the user has no {object}, so {action} would fail: use {other}"
                    )),
                );
            }
            Effect::Update | Effect::Read => {
                // A password is a change we cannot see; other fields the provider does not return
                // are noted, not counted as changes (so an unedited export plans `unchanged`).
                let sets_password = row.sets_password(step);
                if step.when == When::Always {
                    let blind: Vec<&str> = unreadable(job, desired, spec)
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
                let diff = describe_differences(desired, observed, spec);
                if diff.is_none() && !sets_password {
                    continue;
                }
                let also = sets_password.then(|| {
                    "would set password, which cannot be read back to compare".to_string()
                });
                notes.splice(0..0, diff.into_iter().chain(also));
                Outcome::WouldUpdate
            }
        };
        outcome.get_or_insert(this);
    }
    let outcome = outcome.unwrap_or(if is_read_only(spec) {
        Outcome::Read
    } else {
        Outcome::Unchanged
    });
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    (outcome, Ok(note))
}

/// Whether the provider's state matches the row (`verify`, docs/contract.md §6): `Ok(note)` when it does, the
/// note naming what could not be compared; `Err(what differs)` otherwise.
pub fn judge(
    job: &Job,
    spec: &ActionSpec,
    desired: &LoginState,
    observed: &Observed,
) -> Result<Option<String>, String> {
    let deletes = spec.steps.iter().any(|s| s.effect == Effect::Delete);
    let blind = if is_read_only(spec) || deletes {
        Vec::new()
    } else {
        unreadable(job, desired, spec)
    };
    let note = (!blind.is_empty())
        .then(|| format!("not compared, cannot be read back: {}", blind.join(", ")));
    let object = spec.object;
    let differs = if is_read_only(spec) {
        None
    } else if deletes {
        observed
            .exists
            .then(|| format!("the {object} still exists"))
    } else if !observed.exists && spec.needs_the_object() {
        Some(format!("the user has no {object}"))
    } else {
        describe_differences(desired, observed, spec)
    };
    match differs {
        None => Ok(note),
        Some(d) => Err(match note {
            Some(n) => format!("{d} ({n})"),
            None => d,
        }),
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

/// `None` when the observed state matches every readable field the row sets.
pub fn describe_differences(
    desired: &LoginState,
    observed: &Observed,
    spec: &ActionSpec,
) -> Option<String> {
    let diff = desired.differences(&observed.state, spec.reads);
    if diff.is_empty() {
        return None;
    }
    let parts: Vec<String> = diff
        .iter()
        .map(|f| {
            format!(
                "{} is {}, expected {}",
                f.column(),
                observed.state.get(*f).unwrap_or_else(|| "unset".into()),
                desired.get(*f).unwrap_or_default()
            )
        })
        .collect();
    Some(parts.join("; "))
}

/// The requests `run` would send for the row, in order (`run --dry-run`), each with a note when
/// it depends on an earlier reply: the row's declared steps, as [`execute`] walks them. A user
/// name to resolve stands as `{id of NAME}` in later requests, and a password the tool would
/// generate as a placeholder (it is masked anyway).
pub fn requests(
    job: &Job,
    provider: &dyn Provider,
    options: &ExecOptions,
    mut each: impl FnMut(&Op<'_>, Option<&str>),
) {
    let Some(spec) = provider.spec().action(job.action) else {
        return;
    };
    let placeholder;
    let user: &str = match provider.name_to_resolve(job) {
        Some(name) => {
            each(&Op::ResolveUser { name }, None);
            placeholder = format!("{{id of {name}}}");
            &placeholder
        }
        None => &job.user,
    };
    let desired = desired_state(job, provider);
    let row = Row {
        job,
        provider,
        spec,
        desired: desired.as_ref(),
        reset_passwords: options.reset_passwords,
    };
    let object = spec.object;
    let generated = Secret::new("(generated)");
    for step in spec.steps {
        let note = match step.when {
            When::Always => None,
            When::Absent => Some(format!("only if the read finds no {object}")),
            When::Differs => Some(format!(
                "only if the read finds a {object} that differs, and then with only the differing fields"
            )),
        };
        let write = row.write(step, row.desired, Some(&generated));
        each(&op(step, user, write), note.as_deref());
    }
    if let (true, Some(source)) = (is_read_only(spec), provider.spec().listing.mfa) {
        each(
            &op(source.row_read, user, None),
            Some("whether an MFA device is bound, for observed_mfa_bound"),
        );
    }
    if options.verify && !is_read_only(spec) {
        each(
            &op(spec.read, user, None),
            Some("the read-back of --verify"),
        );
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
        }
    }

    fn spec_of(j: &Job) -> &'static ActionSpec {
        provider(j.provider).spec().action(j.action).unwrap()
    }

    /// `plan`'s outcome and message for a row against an observed state.
    fn plan(j: &Job, observed: &Observed) -> (Outcome, Result<Option<String>, String>) {
        let p = provider(j.provider);
        foresee(j, p, &desired_state(j, p), observed, false)
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
        assert_eq!(
            foresee(&ensure, p, &ensure.desired, &on, true).0,
            WouldUpdate
        );

        let delete = job(aliyun, Action::DeleteLoginProfile, LoginState::default());
        assert_eq!(
            plan(&delete, &on),
            (
                WouldUpdate,
                Ok(Some("would delete the login profile".into()))
            )
        );
        assert_eq!(plan(&delete, &absent), (Unchanged, Ok(None)));

        let read = job(aliyun, Action::GetLoginProfile, LoginState::default());
        assert_eq!(plan(&read, &on), (Read, Ok(None)));
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
        let p = provider(aliyun);
        let want = LoginState {
            login_status: Some(LoginStatus::Active),
            ..mfa(true)
        };
        let mut create = job(aliyun, Action::CreateLoginProfile, want.clone());
        create.password = Some(Secret::new("Passw0rd-123"));
        let matching = seen(true, want.clone());
        assert_eq!(
            judge(&create, spec_of(&create), &create.desired, &matching),
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
            judge(&create, spec_of(&create), &create.desired, &tampered),
            Err("login_status is Inactive, expected Active (not compared, cannot be read back: password)".into())
        );
        assert_eq!(
            judge(
                &create,
                spec_of(&create),
                &create.desired,
                &seen(false, LoginState::default())
            ),
            Err(
                "the user has no login profile (not compared, cannot be read back: password)"
                    .into()
            )
        );

        let enforce = job(aliyun, Action::EnforceMfa, LoginState::default());
        let desired = desired_state(&enforce, p);
        assert_eq!(
            judge(&enforce, spec_of(&enforce), &desired, &matching),
            Ok(None)
        );
        assert!(
            judge(
                &enforce,
                spec_of(&enforce),
                &desired,
                &seen(true, mfa(false))
            )
            .is_err()
        );

        let delete = job(aliyun, Action::DeleteLoginProfile, LoginState::default());
        assert_eq!(
            judge(
                &delete,
                spec_of(&delete),
                &delete.desired,
                &seen(false, LoginState::default())
            ),
            Ok(None)
        );
        assert_eq!(
            judge(&delete, spec_of(&delete), &delete.desired, &matching),
            Err("the login profile still exists".into())
        );

        // ucloud cannot read back an email.
        let mut ucloud = job(ProviderKind::Ucloud, Action::UpdateLoginProfile, mfa(true));
        ucloud.desired.email = Some("a@example.com".into());
        assert_eq!(
            judge(&ucloud, spec_of(&ucloud), &ucloud.desired, &matching),
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
