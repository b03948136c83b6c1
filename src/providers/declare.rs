//! What a provider declares about its actions, and all that validation, `plan`, `verify`,
//! `--dry-run` and `run` know of them: the columns a row may fill, the fields a read returns, and
//! the requests sent, one [`Step`] each, with what their "already exists" and "not found" mean.
//! Providers declare; the engine computes. Nothing here names a cloud.

use super::Listing;
use super::cli_files::{CliKeys, CliLookup};
use crate::input::Column;
use crate::jobs::{Action, Field, LoginState, ProviderKind};

/// Everything a provider declares that holds for every row and account: what it can do, what its
/// reads return, how `export` lists its users, and how its accounts are configured. What depends on
/// a row or an account (row checks, regional endpoints, connecting) is
/// [`Provider`](super::Provider) behaviour.
#[derive(Debug)]
pub struct ProviderSpec {
    pub kind: ProviderKind,
    /// The actions the provider supports, each with its columns, reads and steps.
    pub actions: &'static [ActionSpec],
    /// Every field its reads return: the `observed_*` columns of its rows.
    pub readable: &'static [Field],
    /// Other reply fields reported as `observed_<name>`.
    pub extra_observed: &'static [&'static str],
    /// Whether the provider makes up a password itself when a row asks for a generated one
    /// (ucloud's `GenerateRandomPassword`). Otherwise the tool generates it and writes it to
    /// `--secrets-out` before sending it.
    pub generates_passwords: bool,
    /// The columns and state source of `export`.
    pub listing: Listing,
    /// The endpoint of an account without one: see [`Provider::default_endpoint`](super::Provider::default_endpoint).
    pub endpoint: &'static str,
    /// Requests per second when none is configured.
    pub default_rate: f64,
    /// The default account's credentials: key name and the environment variables it may come
    /// from, first wins.
    pub env_keys: &'static [(&'static str, &'static [&'static str])],
    /// Keys that are secrets: only accepted as `KEY_env` / `KEY_file` in the config file.
    pub secret_keys: &'static [&'static str],
    /// Credentials the emulator accepts for this provider.
    pub emulator_keys: &'static [(&'static str, &'static str)],
    /// The reader of the official CLI's credentials file, for providers that have one.
    pub cli_profile: Option<CliReader>,
    /// Account-wide lookups the user-lifecycle actions need, each made once per account.
    pub lookups: Lookups,
    /// How many deleted users the provider keeps restorable, oldest purged first (aliyun's
    /// recycle bin); `None`: a delete is final.
    pub recycle_bin: Option<u64>,
}

/// Reads made once per account and shared by its rows.
#[derive(Debug)]
pub struct Lookups {
    /// The account's default domain, appended to a bare user name (`alice` becomes
    /// `alice@<domain>`); `None`: user names are complete as given.
    pub domain: Option<&'static Step>,
    /// Groups are named by id in requests: this read (one per group name, its `target`) lists the
    /// groups of that name. `None`: requests name groups by name.
    pub group_id: Option<&'static Step>,
    /// Every group of the account, for providers whose users' groups are read as each group's
    /// members (`Each::Group` reads): an export finds a user's groups from them.
    pub groups: Option<&'static Step>,
}

impl Lookups {
    /// A provider whose requests need no account-wide lookup.
    pub const NONE: Lookups = Lookups {
        domain: None,
        group_id: None,
        groups: None,
    };
}

/// Credentials from the official CLI's own file: `profile` when a config account names one, else
/// the profile the CLI itself would use. `Ok(None)`: (with no `profile`) the file does not exist.
/// Errors name the file and profile, never a value.
pub type CliReader = fn(&CliLookup<'_>, Option<&str>) -> Result<Option<CliKeys>, String>;

impl ProviderSpec {
    /// Whether the tool makes up the password of a row of `action` that asks for a generated one
    /// (and writes it to `--secrets-out`): always for the user actions (a created user's
    /// password is never in a reply), else where the provider does not.
    pub fn tool_generates(&self, action: Action) -> bool {
        action.is_lifecycle() || !self.generates_passwords
    }

    /// The declaration of `action`, when the provider supports it.
    pub fn action(&self, action: Action) -> Option<&'static ActionSpec> {
        self.actions.iter().find(|s| s.action == action)
    }

    /// [`ProviderSpec::cli_profile`]'s credentials; `Ok(None)` for a provider without a CLI file.
    pub fn cli_profile_keys(
        &self,
        lookup: &CliLookup<'_>,
        profile: Option<&str>,
    ) -> Result<Option<CliKeys>, String> {
        self.cli_profile
            .map_or(Ok(None), |read| read(lookup, profile))
    }
}

/// One action as a provider implements it.
#[derive(Debug)]
pub struct ActionSpec {
    pub action: Action,
    /// What the action works on, for messages ("login profile").
    pub object: &'static str,
    /// The columns a row of this action may fill besides `provider`, `account`, `action` and
    /// `user`. Any other known column filled in is invalid: it would not be sent.
    pub columns: &'static [Column],
    /// The fields the object's read returns: what ensure, `plan` and `verify` compare.
    pub reads: &'static [Field],
    /// The requests that read the object, for `plan`, `verify` and `run --verify`: one per part of
    /// the user the action changes.
    pub read: &'static [Step],
    /// The requests `run` sends, in order (reads among them are sent where they stand).
    pub steps: &'static [Step],
    /// The state the action sets: the row's, or one the action always sets.
    pub desired: Desired,
}

/// Where an action's desired state comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Desired {
    /// The row's state columns.
    Row,
    /// The provider's MFA-required state for the row ([`Provider::mfa_state`](super::Provider::mfa_state)).
    Mfa,
    /// A fixed state (disable-user: the user and its login inactive).
    Fixed(&'static LoginState),
    /// The row's state as the provider reads it ([`Provider::user_state`](super::Provider::user_state)).
    Provider,
}

/// What actions work on, declared once for all of them: its name, what its read returns and the
/// read itself.
#[derive(Debug)]
pub struct Object {
    /// For messages ("login profile").
    pub name: &'static str,
    pub reads: &'static [Field],
    pub read: &'static [Step],
}

impl Object {
    /// An action on this object: a row may fill `columns`, and `run` sends `steps`.
    pub const fn action(
        &self,
        action: Action,
        columns: &'static [Column],
        steps: &'static [Step],
    ) -> ActionSpec {
        ActionSpec {
            action,
            object: self.name,
            columns,
            reads: self.reads,
            read: self.read,
            steps,
            desired: Desired::Row,
        }
    }
}

impl ActionSpec {
    /// The same action, setting `desired` instead of the row's state.
    pub const fn setting(self, desired: Desired) -> ActionSpec {
        ActionSpec { desired, ..self }
    }
}

impl ActionSpec {
    /// Whether a row of this action may fill `column`.
    pub fn accepts(&self, column: Column) -> bool {
        matches!(
            column,
            Column::Provider | Column::Account | Column::Action | Column::User
        ) || self.columns.contains(&column)
    }

    /// Whether every row of this action needs a password: a step that requires one is always sent.
    pub fn needs_password(&self) -> bool {
        self.steps
            .iter()
            .any(|s| s.password == Password::Required && s.when == When::Always)
    }

    /// Whether a write of this action fails when the object is absent (so `plan` calls it a
    /// conflict, and `verify` a mismatch).
    pub fn needs_the_object(&self) -> bool {
        self.steps.iter().any(|s| {
            s.effect == Effect::Create || (s.effect.is_write() && s.absent == Absent::Fails)
        })
    }
}

/// One provider request.
#[derive(Debug, PartialEq, Eq)]
pub struct Step {
    /// The provider's name for the request: its API action (`CreateLoginProfile`), or method and
    /// path (`PUT /v3.0/OS-USER/users/{user_id}/login-protect`). The provider builds the request
    /// from it.
    pub api: &'static str,
    pub effect: Effect,
    pub when: When,
    /// What an "already exists" reply means.
    pub exists: Exists,
    /// What a reply saying the object is absent (its user is there) means.
    pub absent: Absent,
    /// Whether the step sends the row's password.
    pub password: Password,
    /// The part of the user the step works on: `when` is judged against that part's read.
    pub part: Part,
    /// How many times the step is sent for a row.
    pub each: Each,
    /// The fields the step sends (and compares, when it is sent only if they differ); empty:
    /// every field the row sets.
    pub sends: &'static [Field],
    /// A read whose answer lists anything fails the row with this message, before any change
    /// (a delete that would have to remove what the user must decide on: attached policies).
    pub refuses: Option<&'static str>,
}

/// The parts of a user that actions work on. A step's `when` is judged against what the read of
/// its part found; when the user itself is absent (or this row just created it), every other part
/// is absent too, without a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    User,
    Login,
    Groups,
    Keys,
    Mfa,
    Policies,
}

/// How many times a step is sent for a row, and what it names as its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Each {
    Once,
    /// Once per group of the row's `groups` cell. A read of this kind lists the group's members,
    /// and is made once per group per account (providers without a per-user group listing).
    Group,
    /// Once per item the read of the step's part listed (access keys, groups).
    Listed,
}

impl Step {
    /// A read: "not found" is an answer (no object).
    pub const fn read(api: &'static str) -> Step {
        Step {
            api,
            effect: Effect::Read,
            when: When::Always,
            exists: Exists::Fails,
            absent: Absent::Answer,
            password: Password::Never,
            part: Part::Login,
            each: Each::Once,
            sends: &[],
            refuses: None,
        }
    }

    /// A create that needs the row's password: "already exists" fails the row, unless an earlier
    /// attempt of ours may have created it; then `finish` (an update) sets the row's values.
    pub const fn create(api: &'static str, finish: &'static Step) -> Step {
        Step {
            api,
            effect: Effect::Create,
            when: When::Always,
            exists: Exists::Ours { finish },
            absent: Absent::Fails,
            password: Password::Required,
            part: Part::Login,
            each: Each::Once,
            sends: &[],
            refuses: None,
        }
    }

    /// An update of an object that must exist; it sends the password when the row has one.
    pub const fn update(api: &'static str) -> Step {
        Step {
            api,
            effect: Effect::Update,
            when: When::Always,
            exists: Exists::Fails,
            absent: Absent::Fails,
            password: Password::Optional,
            part: Part::Login,
            each: Each::Once,
            sends: &[],
            refuses: None,
        }
    }

    /// A delete: an object already absent is the state it asks for.
    pub const fn delete(api: &'static str) -> Step {
        Step {
            api,
            effect: Effect::Delete,
            when: When::Always,
            exists: Exists::Fails,
            absent: Absent::Holds,
            password: Password::Never,
            part: Part::Login,
            each: Each::Once,
            sends: &[],
            refuses: None,
        }
    }

    pub const fn when(self, when: When) -> Step {
        Step { when, ..self }
    }

    pub const fn absent(self, absent: Absent) -> Step {
        Step { absent, ..self }
    }

    pub const fn exists(self, exists: Exists) -> Step {
        Step { exists, ..self }
    }

    pub const fn password(self, password: Password) -> Step {
        Step { password, ..self }
    }

    pub const fn on(self, part: Part) -> Step {
        Step { part, ..self }
    }

    pub const fn each(self, each: Each) -> Step {
        Step { each, ..self }
    }

    pub const fn sends(self, sends: &'static [Field]) -> Step {
        Step { sends, ..self }
    }

    pub const fn refuses(self, message: &'static str) -> Step {
        Step {
            refuses: Some(message),
            ..self
        }
    }
}

/// What a step does to the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Read,
    Create,
    Update,
    Delete,
}

impl Effect {
    /// Whether the request changes state (so a lost reply leaves its outcome unknown).
    pub fn is_write(self) -> bool {
        self != Effect::Read
    }
}

/// When a step is sent, given what an earlier read of the row found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Always,
    /// Only when the read found no object.
    Absent,
    /// Only when the read found an object whose fields differ from the row, and then with only
    /// the differing fields (and the password only with `--reset-passwords`).
    Differs,
}

/// What an "already exists" reply to a step means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exists {
    /// The row fails with the provider's code.
    Fails,
    /// What the step asks for already holds (a membership): nothing to do, the row goes on.
    Holds,
    /// When an earlier attempt of this row got no reply (in this run or the resumed one), it may
    /// have been ours: `finish` sets the row's values and the outcome is `created`; otherwise the
    /// row fails.
    Ours { finish: &'static Step },
    /// As `Ours`, for an object with a creation time: it was ours only if `read` finds it created
    /// after the row's first write left (an older one is someone else's: the row fails with
    /// `conflict`). Nothing needs finishing: the create sent the row's values.
    OursIfNewer { read: &'static Step },
}

/// What a reply saying the step's object is absent means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Absent {
    /// The row fails with the provider's code.
    Fails,
    /// What the step asks for already holds (a delete): `unchanged`.
    Holds,
    /// A read's answer: there is no object.
    Answer,
    /// The step sets the object whether or not it exists (a write that creates it if need be).
    Sets,
}

/// Whether a step sends the row's password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Password {
    Never,
    /// When the row gives one (or asks for a generated one).
    Optional,
    /// A row without one cannot be sent: validation refuses it where the step is always sent,
    /// `run` fails the row where it depends on a read.
    Required,
}
