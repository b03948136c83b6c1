//! What an action means, written once for every provider: the sequence of operations a row needs
//! (resolve a name, read, create, update, delete, read back) and how their answers become the row's
//! status and outcome (SPEC §5).

use crate::engine::client::{AccountClient, CallReport, codes};
use crate::jobs::{ActionKind, Job, LoginState};
use crate::providers::{Failure, FailureClass, Observed, Op, Provider, Verdict, Write};
use crate::report::{Outcome, Status};
use tokio_util::sync::CancellationToken;

#[derive(Clone, Copy, Debug, Default)]
pub struct ExecOptions {
    /// `ensure`: also set the password of users who already have a profile.
    pub reset_passwords: bool,
    /// Read back after a write and fail the row if the state differs.
    pub verify: bool,
}

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
}

impl Execution {
    fn absorb(&mut self, report: &CallReport) {
        self.attempts += report.attempts;
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

    fn fail(mut self, failure: Failure) -> Execution {
        self.status = Some(if failure.code == codes::ACCOUNT_STOPPED {
            Status::NotAttempted
        } else {
            Status::Failed
        });
        self.failure = Some(failure);
        self
    }
}

/// Runs one job. `prior_ambiguous`: a create of this row got no reply in the run being resumed.
pub async fn execute(
    job: &Job,
    provider: &dyn Provider,
    client: &AccountClient,
    options: ExecOptions,
    prior_ambiguous: bool,
    cancel: &CancellationToken,
) -> Execution {
    let mut ex = Execution::default();
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

    let mfa_state;
    let desired: &LoginState = if job.action == crate::jobs::Action::EnforceMfa {
        mfa_state = provider.mfa_state(job);
        &mfa_state
    } else {
        &job.desired
    };
    let write = Write {
        state: desired,
        password: job.password.as_ref(),
        generate_password: job.generate_password,
    };

    let ex = match job.action.kind() {
        ActionKind::Read => {
            let report = client.call(&Op::Read { user }, cancel).await;
            ex.absorb(&report);
            return match report.result {
                Ok(Verdict::Observed(o)) => {
                    ex.observed = Some(o);
                    ex.succeed(Outcome::Read)
                }
                Ok(other) => ex.fail(unexpected(other)),
                Err(f) => ex.fail(f),
            };
        }
        ActionKind::Create => create(ex, client, user, write, prior_ambiguous, cancel).await,
        ActionKind::Update => update(ex, client, user, write, Outcome::Updated, cancel).await,
        ActionKind::Delete => {
            let report = client.call(&Op::Delete { user }, cancel).await;
            ex.absorb(&report);
            match report.result {
                Ok(Verdict::Done) => ex.succeed(Outcome::Deleted),
                // The profile was already absent: the desired state holds.
                Ok(Verdict::Observed(Observed { exists: false, .. })) => {
                    ex.succeed(Outcome::Unchanged)
                }
                Ok(other) => ex.fail(unexpected(other)),
                Err(f) => ex.fail(f),
            }
        }
        ActionKind::Upsert => {
            let report = client.call(&Op::Read { user }, cancel).await;
            ex.absorb(&report);
            match report.result {
                Ok(Verdict::Observed(o)) if !o.exists => {
                    if write.password.is_none() && !write.generate_password {
                        return ex.fail(Failure {
                            class: FailureClass::Permanent,
                            code: "no_password".into(),
                            message: "the user has no login profile and the row gives no password to create one: add a password or set generate_password".into(),
                            retry_after: None,
                        });
                    }
                    create(ex, client, user, write, prior_ambiguous, cancel).await
                }
                Ok(Verdict::Observed(o)) => {
                    let diff = desired.differences(&o.state, provider.readable());
                    let set_password = options.reset_passwords && write.password.is_some();
                    if diff.is_empty() && !set_password {
                        ex.observed = Some(o);
                        return ex.succeed(Outcome::Unchanged);
                    }
                    let changed = desired.only(&diff);
                    let w = Write {
                        state: &changed,
                        password: if set_password { write.password } else { None },
                        generate_password: false,
                    };
                    update(ex, client, user, w, Outcome::Updated, cancel).await
                }
                Ok(other) => ex.fail(unexpected(other)),
                Err(f) => ex.fail(f),
            }
        }
    };
    if options.verify && ex.status == Some(Status::Succeeded) {
        return verify_after(ex, provider, client, user, desired, cancel).await;
    }
    ex
}

async fn create(
    mut ex: Execution,
    client: &AccountClient,
    user: &str,
    write: Write<'_>,
    prior_ambiguous: bool,
    cancel: &CancellationToken,
) -> Execution {
    let report = client.call(&Op::Create { user, write }, cancel).await;
    ex.absorb(&report);
    match report.result {
        Ok(Verdict::Done) => ex.succeed(Outcome::Created),
        // Our own earlier attempt may have created it: finish with the row's values (SPEC §5).
        Err(f) if f.class == FailureClass::AlreadyExists && (ex.ambiguous || prior_ambiguous) => {
            update(ex, client, user, write, Outcome::Created, cancel).await
        }
        Ok(other) => ex.fail(unexpected(other)),
        Err(f) => ex.fail(f),
    }
}

async fn update(
    mut ex: Execution,
    client: &AccountClient,
    user: &str,
    write: Write<'_>,
    outcome: Outcome,
    cancel: &CancellationToken,
) -> Execution {
    let report = client.call(&Op::Update { user, write }, cancel).await;
    ex.absorb(&report);
    match report.result {
        Ok(Verdict::Done) => ex.succeed(outcome),
        Ok(other) => ex.fail(unexpected(other)),
        Err(f) => ex.fail(f),
    }
}

async fn verify_after(
    mut ex: Execution,
    provider: &dyn Provider,
    client: &AccountClient,
    user: &str,
    desired: &LoginState,
    cancel: &CancellationToken,
) -> Execution {
    let report = client.call(&Op::Read { user }, cancel).await;
    ex.absorb(&report);
    match report.result {
        Ok(Verdict::Observed(o)) => {
            let mismatch = describe_differences(desired, &o, provider);
            ex.observed = Some(o);
            match mismatch {
                None => ex,
                Some(message) => {
                    ex.status = None;
                    ex.fail(Failure {
                        class: FailureClass::Permanent,
                        code: "verify_mismatch".into(),
                        message,
                        retry_after: None,
                    })
                }
            }
        }
        Ok(other) => {
            ex.status = None;
            ex.fail(unexpected(other))
        }
        Err(f) => {
            ex.status = None;
            ex.fail(f)
        }
    }
}

/// `None` when the observed state matches every readable field the row sets.
pub fn describe_differences(
    desired: &LoginState,
    observed: &Observed,
    provider: &dyn Provider,
) -> Option<String> {
    let diff = desired.differences(&observed.state, provider.readable());
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

fn unexpected(verdict: Verdict) -> Failure {
    Failure {
        class: FailureClass::Permanent,
        code: "unexpected_reply".into(),
        message: format!("the provider's reply did not fit the request: {verdict:?}"),
        retry_after: None,
    }
}
