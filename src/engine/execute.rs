//! What an action means, written once for every provider: the sequence of operations a row needs
//! (resolve a name, read, create, update, delete, read back) and how their answers become the row's
//! status and outcome (SPEC §5). The same sequence serves `plan` and `verify` (one read per row,
//! judged by [`foresee`] and [`judge`]) and `run --dry-run` ([`would_send`]).

use crate::engine::client::{AccountClient, CallReport, codes, is_withdrawal};
use crate::jobs::{Action, ActionKind, Field, Job, LoginState};
use crate::passwords::{self, SecretsFile};
use crate::providers::{Failure, FailureClass, Observed, Op, Provider, Verdict, Write};
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
        // applied already.
        self.status = Some(if is_withdrawal(&failure) && self.outcome.is_none() {
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
    options: &ExecOptions,
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
    let desired = desired_state(job, provider);
    let desired = desired.as_ref();

    if options.mode != Mode::Apply {
        let observed = match read(&mut ex, client, user, cancel).await {
            Ok(o) => o,
            Err(f) => return ex.fail(f),
        };
        let ex = match options.mode {
            Mode::Plan => {
                let (outcome, verdict) =
                    foresee(job, provider, desired, &observed, options.reset_passwords);
                ex.judged(Some(outcome), "conflict", verdict)
            }
            _ => {
                let outcome = (job.action.kind() == ActionKind::Read).then_some(Outcome::Read);
                ex.judged(outcome, "differs", judge(job, provider, desired, &observed))
            }
        };
        return Execution {
            observed: Some(observed),
            ..ex
        };
    }

    // A password the tool makes up is generated, and saved, just before the write that sends it.
    let tool_generates = job.generate_password && !provider.generates_passwords();
    let write = Write {
        state: desired,
        password: job.password.as_ref(),
        generate_password: job.generate_password && provider.generates_passwords(),
    };
    let generated;
    let ex = match job.action.kind() {
        ActionKind::Read => {
            return match read(&mut ex, client, user, cancel).await {
                Ok(o) => {
                    ex.observed = Some(o);
                    ex.succeed(Outcome::Read)
                }
                Err(f) => ex.fail(f),
            };
        }
        ActionKind::Create | ActionKind::Update => {
            generated = match generate(job, tool_generates, options) {
                Ok(p) => p,
                Err(f) => return ex.fail(f),
            };
            let write = Write {
                password: generated.as_ref().or(write.password),
                ..write
            };
            if job.action.kind() == ActionKind::Create {
                create(ex, client, user, write, prior_ambiguous, cancel).await
            } else {
                update(ex, client, user, write, Outcome::Updated, cancel).await
            }
        }
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
        ActionKind::Upsert => match read(&mut ex, client, user, cancel).await {
            Ok(o) if !o.exists => {
                if write.password.is_none() && !job.generate_password {
                    return ex.fail(permanent("no_password", NO_PASSWORD.into()));
                }
                generated = match generate(job, tool_generates, options) {
                    Ok(p) => p,
                    Err(f) => return ex.fail(f),
                };
                let write = Write {
                    password: generated.as_ref().or(write.password),
                    ..write
                };
                create(ex, client, user, write, prior_ambiguous, cancel).await
            }
            Ok(o) => {
                let diff = desired.differences(&o.state, provider.readable());
                let set_password = options.reset_passwords && has_password(job);
                if diff.is_empty() && !set_password {
                    ex.observed = Some(o);
                    return ex.succeed(Outcome::Unchanged);
                }
                generated = match generate(job, tool_generates && set_password, options) {
                    Ok(p) => p,
                    Err(f) => return ex.fail(f),
                };
                let changed = desired.only(&diff);
                let w = Write {
                    state: &changed,
                    password: if set_password {
                        generated.as_ref().or(write.password)
                    } else {
                        None
                    },
                    generate_password: set_password && write.generate_password,
                };
                update(ex, client, user, w, Outcome::Updated, cancel).await
            }
            Err(f) => ex.fail(f),
        },
    };
    if options.verify && ex.status == Some(Status::Succeeded) {
        return verify_after(ex, job, provider, client, user, desired, cancel).await;
    }
    ex
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

/// The password the tool generates for the row when `wanted`, saved to the secrets file first:
/// if it cannot be saved, the row fails before anything is sent.
fn generate(job: &Job, wanted: bool, options: &ExecOptions) -> Result<Option<Secret>, Failure> {
    if !wanted {
        return Ok(None);
    }
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
    Ok(Some(password))
}

async fn read(
    ex: &mut Execution,
    client: &AccountClient,
    user: &str,
    cancel: &CancellationToken,
) -> Result<Observed, Failure> {
    let report = client.call(&Op::Read { user }, cancel).await;
    ex.absorb(&report);
    match report.result {
        Ok(Verdict::Observed(o)) => Ok(o),
        Ok(other) => Err(unexpected(other)),
        Err(f) => Err(f),
    }
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

/// `run --verify`: the read-back after a successful write.
async fn verify_after(
    mut ex: Execution,
    job: &Job,
    provider: &dyn Provider,
    client: &AccountClient,
    user: &str,
    desired: &LoginState,
    cancel: &CancellationToken,
) -> Execution {
    let result = read(&mut ex, client, user, cancel).await;
    ex.status = None;
    match result {
        Ok(o) => {
            let verdict = judge(job, provider, desired, &o);
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

/// Whether an update needs an existing login profile. Providers with a separate create action
/// (aliyun) fail an update of a user without one; the others create it with the user (ucloud) or
/// on the first write (huawei's PUT).
fn updates_need_a_profile(provider: &dyn Provider) -> bool {
    provider.actions().contains(&Action::CreateLoginProfile)
}

/// What `run` would do to the row, given the state a read found (`plan`, SPEC §6): the outcome,
/// and `Ok(note)`, or `Err(why)` for a conflict (a row `run` would fail).
pub fn foresee(
    job: &Job,
    provider: &dyn Provider,
    desired: &LoginState,
    observed: &Observed,
    reset_passwords: bool,
) -> (Outcome, Result<Option<String>, String>) {
    let action = job.action;
    match action.kind() {
        ActionKind::Read => (Outcome::Read, Ok(None)),
        ActionKind::Delete if observed.exists => (
            Outcome::WouldUpdate,
            Ok(Some("would delete the login profile".into())),
        ),
        ActionKind::Delete => (Outcome::Unchanged, Ok(None)),
        ActionKind::Create if observed.exists => (
            Outcome::Conflict,
            Err(format!(
                "the user already has a login profile, so {action} would fail: use ensure-login-profile or update-login-profile"
            )),
        ),
        ActionKind::Upsert if !observed.exists && !has_password(job) => {
            (Outcome::Conflict, Err(NO_PASSWORD.into()))
        }
        ActionKind::Create | ActionKind::Upsert if !observed.exists => {
            (Outcome::WouldCreate, Ok(None))
        }
        ActionKind::Update if !observed.exists && updates_need_a_profile(provider) => (
            Outcome::Conflict,
            Err(format!(
                "the user has no login profile, so {action} would fail: use create-login-profile or ensure-login-profile"
            )),
        ),
        ActionKind::Create | ActionKind::Update | ActionKind::Upsert => {
            // An update sends every field of the row; ensure only the differing ones, and the
            // password only with --reset-passwords. A password is a change we cannot see; other
            // fields the provider does not return are noted, not counted as changes (so an
            // unedited export plans `unchanged`).
            let sets_password =
                has_password(job) && (action.kind() == ActionKind::Update || reset_passwords);
            let blind: Vec<&str> = if action.kind() == ActionKind::Update {
                unreadable(job, desired, provider)
                    .into_iter()
                    .filter(|f| *f != "password")
                    .collect()
            } else {
                Vec::new()
            };
            let note = (!blind.is_empty())
                .then(|| format!("not compared, cannot be read back: {}", blind.join(", ")));
            let diff = describe_differences(desired, observed, provider);
            if diff.is_none() && !sets_password {
                return (Outcome::Unchanged, Ok(note));
            }
            let also = sets_password
                .then(|| "would set password, which cannot be read back to compare".to_string());
            let parts: Vec<String> = diff.into_iter().chain(also).chain(note).collect();
            (Outcome::WouldUpdate, Ok(Some(parts.join("; "))))
        }
    }
}

/// Whether the provider's state matches the row (`verify`, SPEC §6): `Ok(note)` when it does, the
/// note naming what could not be compared; `Err(what differs)` otherwise.
pub fn judge(
    job: &Job,
    provider: &dyn Provider,
    desired: &LoginState,
    observed: &Observed,
) -> Result<Option<String>, String> {
    let blind = match job.action.kind() {
        ActionKind::Read | ActionKind::Delete => Vec::new(),
        _ => unreadable(job, desired, provider),
    };
    let note = (!blind.is_empty())
        .then(|| format!("not compared, cannot be read back: {}", blind.join(", ")));
    let differs = match job.action.kind() {
        ActionKind::Read => None,
        ActionKind::Delete => observed
            .exists
            .then(|| "the login profile still exists".to_string()),
        _ if !observed.exists && updates_need_a_profile(provider) => {
            Some("the user has no login profile".to_string())
        }
        _ => describe_differences(desired, observed, provider),
    };
    match differs {
        None => Ok(note),
        Some(d) => Err(match note {
            Some(n) => format!("{d} ({n})"),
            None => d,
        }),
    }
}

/// What a row sets that the provider's read does not return: the password, and fields such as
/// ucloud's `email`.
fn unreadable(job: &Job, desired: &LoginState, provider: &dyn Provider) -> Vec<&'static str> {
    let password = has_password(job).then_some("password");
    let fields = Field::ALL
        .into_iter()
        .filter(|f| desired.get(*f).is_some() && !provider.readable().contains(f))
        .map(|f| f.column());
    password.into_iter().chain(fields).collect()
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

/// The requests `run` would send for the row, in order (`run --dry-run`), each with a note when
/// it depends on an earlier reply. A user name to resolve stands as `{id of NAME}` in later
/// requests, and a password the tool would generate as a placeholder (it is masked anyway).
pub fn would_send(
    job: &Job,
    provider: &dyn Provider,
    options: &ExecOptions,
    mut each: impl FnMut(&Op<'_>, Option<&str>),
) {
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
    let generated = Secret::new("(generated)");
    let tool_generates = job.generate_password && !provider.generates_passwords();
    let write = Write {
        state: desired.as_ref(),
        password: job
            .password
            .as_ref()
            .or(tool_generates.then_some(&generated)),
        generate_password: job.generate_password && provider.generates_passwords(),
    };
    match job.action.kind() {
        ActionKind::Read => return each(&Op::Read { user }, None),
        ActionKind::Create => each(&Op::Create { user, write }, None),
        ActionKind::Update => each(&Op::Update { user, write }, None),
        ActionKind::Delete => each(&Op::Delete { user }, None),
        ActionKind::Upsert => {
            each(&Op::Read { user }, None);
            each(
                &Op::Create { user, write },
                Some("only if the read finds no login profile"),
            );
            let write = Write {
                password: write.password.filter(|_| options.reset_passwords),
                generate_password: write.generate_password && options.reset_passwords,
                ..write
            };
            each(
                &Op::Update { user, write },
                Some(
                    "only if the read finds a profile that differs, and then with only the differing fields",
                ),
            );
        }
    }
    if options.verify {
        each(&Op::Read { user }, Some("the read-back of --verify"));
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
            judge(&create, p, &create.desired, &matching),
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
            judge(&create, p, &create.desired, &tampered),
            Err("login_status is Inactive, expected Active (not compared, cannot be read back: password)".into())
        );
        assert_eq!(
            judge(
                &create,
                p,
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
        assert_eq!(judge(&enforce, p, &desired, &matching), Ok(None));
        assert!(judge(&enforce, p, &desired, &seen(true, mfa(false))).is_err());

        let delete = job(aliyun, Action::DeleteLoginProfile, LoginState::default());
        assert_eq!(
            judge(
                &delete,
                p,
                &delete.desired,
                &seen(false, LoginState::default())
            ),
            Ok(None)
        );
        assert_eq!(
            judge(&delete, p, &delete.desired, &matching),
            Err("the login profile still exists".into())
        );

        // ucloud cannot read back an email.
        let mut ucloud = job(ProviderKind::Ucloud, Action::UpdateLoginProfile, mfa(true));
        ucloud.desired.email = Some("a@example.com".into());
        assert_eq!(
            judge(
                &ucloud,
                provider(ProviderKind::Ucloud),
                &ucloud.desired,
                &matching
            ),
            Ok(Some("not compared, cannot be read back: email".into()))
        );
    }

    #[test]
    fn dry_run_lists_the_requests_of_each_kind() {
        let aliyun = ProviderKind::Aliyun;
        let p = provider(aliyun);
        let list = |j: &Job, options: &ExecOptions| {
            let mut ops = Vec::new();
            would_send(j, p, options, |op, note| {
                let password = match op {
                    Op::Create { write, .. } | Op::Update { write, .. } => {
                        write.password.map(|s| s.expose().to_string())
                    }
                    _ => None,
                };
                ops.push((
                    format!("{op:?}").split(' ').next().unwrap().to_string(),
                    password,
                    note.is_some(),
                ));
            });
            ops
        };
        let mut ensure = job(aliyun, Action::EnsureLoginProfile, mfa(true));
        ensure.generate_password = true;
        let ops = list(&ensure, &ExecOptions::default());
        let names: Vec<&str> = ops.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(names, ["Read", "Create", "Update"]);
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
        assert_eq!(names, ["Update", "Read"]);
    }
}
