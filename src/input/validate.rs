//! Row validation (docs/contract.md §2): every problem of a row, named by line and column, or the row's [`Job`].

use super::columns::{Column, ColumnMap};
use super::seen::FirstLines;
use super::values::{parse_bool, parse_days, parse_enum, parse_groups, parse_phone, parse_text};
use super::{AccountKey, InputFile, InputOptions, RawRow};
use crate::jobs::{Action, ActionKind, Field, Job, LoginState, ProviderKind};
use crate::providers::{ActionSpec, Desired, provider};
use crate::secret::Secret;
use std::fmt;
use std::hash::{DefaultHasher, Hasher};

/// One problem with one row. Messages never contain a password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    /// The column's header as the file writes it (or its canonical name when the file lacks it).
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "line {}, column {column}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// Checks rows of one file, in order: it remembers the users written so far to find duplicates.
pub struct Validator {
    columns: ColumnMap,
    /// The trimmed header cells, to name columns in problems.
    labels: Vec<String>,
    options: InputOptions,
    /// The actions a provider declares (a seam for tests that check rows whatever the providers
    /// support).
    pub(super) actions: fn(ProviderKind) -> &'static [ActionSpec],
    /// `None` when duplicates are not looked for.
    seen: Option<FirstLines>,
}

impl Validator {
    pub fn new(file: &InputFile) -> Validator {
        Validator {
            columns: file.columns.clone(),
            labels: file.headers.iter().map(|h| h.trim().to_string()).collect(),
            options: file.options.clone(),
            actions: |kind| provider(kind).spec().actions,
            seen: Some(FirstLines::default()),
        }
    }

    /// A validator that does not look for duplicates, for a file already checked whole and found
    /// to have none: what it remembers of the users is the only memory that grows with the file.
    pub fn without_duplicate_check(mut self) -> Validator {
        self.seen = None;
        self
    }

    /// The account a row belongs to, from its provider and account cells alone. `None` when either is
    /// missing, unknown or mismatched: such a row is invalid.
    pub fn route(&self, row: &RawRow) -> Option<AccountKey> {
        let kind = self.provider(row).ok()?;
        let account = self.account(row, kind).ok()?;
        Some((kind, account))
    }

    /// The row's job, or every problem it has. A write row for a user that an earlier write row
    /// already targets is a duplicate, named by the earlier row's line, even when that row has
    /// problems of its own: which of the two was meant is the user's call, not ours.
    pub fn check(&mut self, row: &RawRow) -> Result<Job, Vec<Problem>> {
        let mut cells = Cells {
            validator: self,
            row,
            problems: Vec::new(),
            bad_value: false,
        };
        let job = cells.job();
        let mut problems = cells.problems;
        if let Some(job) = &job {
            if let Some(seen) = self.seen.as_mut().filter(|_| job.action.is_write()) {
                if let Some(first) = seen.first_or_insert(user_hash(job), job.line) {
                    let account = match job.account.as_str() {
                        "" => "default".to_string(),
                        named => format!("'{named}'"),
                    };
                    problems.push(Problem {
                        line: job.line,
                        column: Some(self.label(Column::User)),
                        message: format!(
                            "duplicate of line {first}: both rows change user '{}' of the {} {account} account; keep one of them",
                            job.user_key(),
                            job.provider
                        ),
                    });
                }
            }
        }
        match job {
            Some(job) if problems.is_empty() => Ok(job),
            _ => Err(problems),
        }
    }

    /// A cell's trimmed value; "" when the file has no such column or the row is short.
    fn cell<'r>(&self, row: &'r RawRow, column: Column) -> &'r str {
        self.columns
            .get(column)
            .and_then(|i| row.record.get(i))
            .map_or("", str::trim)
    }

    /// How problems name a column: as the file's header writes it, else by its canonical name.
    fn label(&self, column: Column) -> String {
        self.columns
            .get(column)
            .map_or(column.name(), |i| self.labels[i].as_str())
            .to_string()
    }

    fn provider(&self, row: &RawRow) -> Result<ProviderKind, String> {
        match self.cell(row, Column::Provider) {
            "" => self.options.provider.ok_or_else(|| {
                "no provider: fill the provider cell, or pass --provider for the whole file".into()
            }),
            cell => ProviderKind::ALL
                .iter()
                .copied()
                .find(|kind| kind.name().eq_ignore_ascii_case(cell))
                .map_or_else(|| cell.parse(), Ok),
        }
    }

    fn account(&self, row: &RawRow, kind: ProviderKind) -> Result<String, String> {
        let name = match self.cell(row, Column::Account) {
            "" => self.options.account.as_deref().unwrap_or_default(),
            cell => cell,
        };
        // A member `NAME/<id>` of a members account NAME is an account of NAME's provider.
        let member = name
            .split_once('/')
            .filter(|(base, _)| self.options.members.contains(*base));
        if member.is_some_and(|(_, id)| !crate::accounts::is_member_id(id)) {
            return Err(format!(
                "'{name}' does not name a member: write the member's account id after the slash (`iambatch accounts` lists them)"
            ));
        }
        if self.options.members.contains(name) {
            return Err(format!(
                "{name} is a members account: name one member, {name}/<account id>; `iambatch accounts` lists them"
            ));
        }
        match self
            .options
            .accounts
            .get(member.map_or(name, |(base, _)| base))
        {
            _ if name.is_empty() => Ok(String::new()),
            Some(&owner) if owner == kind => Ok(name.to_string()),
            Some(owner) => Err(format!(
                "account '{name}' belongs to {owner}, but the row's provider is {kind}: name an account of {kind}, or leave it empty for the {kind} default account"
            )),
            None => Err(format!(
                "unknown account '{name}': name an account of the config file ([accounts.NAME]), or leave it empty for the {kind} default account"
            )),
        }
    }

    fn action(&self, row: &RawRow) -> Result<Action, String> {
        match self.cell(row, Column::Action) {
            "" => self.options.action.ok_or_else(|| {
                "no action: fill the action cell, or pass --action for the whole file".into()
            }),
            cell => Action::ALL
                .iter()
                .copied()
                .find(|action| same_action_name(action.name(), cell))
                .map_or_else(|| cell.parse(), Ok),
        }
    }
}

/// `Action::from_str` without allocating, for the rows that name an action exactly (`_` for `-`
/// and any case); anything else falls back to it for its error message.
fn same_action_name(name: &str, cell: &str) -> bool {
    name.len() == cell.len()
        && name
            .bytes()
            .zip(cell.bytes())
            .all(|(n, c)| n == c.to_ascii_lowercase() || (n == b'-' && c == b'_'))
}

/// A 64-bit hash of the user a job changes, within its account.
fn user_hash(job: &Job) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write_u8(job.provider as u8);
    hasher.write(job.account.as_bytes());
    // 0xFF never occurs in UTF-8, so the account and user cannot run into each other.
    hasher.write_u8(0xFF);
    hasher.write(job.user_key().as_bytes());
    hasher.finish()
}

/// One row being checked, and the problems found so far.
struct Cells<'a> {
    validator: &'a Validator,
    row: &'a RawRow,
    problems: Vec<Problem>,
    /// A state cell could not be read (so "nothing to set" would be a misleading extra message).
    bad_value: bool,
}

impl<'a> Cells<'a> {
    fn get(&self, column: Column) -> &'a str {
        self.validator.cell(self.row, column)
    }

    fn report(&mut self, column: Option<String>, message: String) {
        self.problems.push(Problem {
            line: self.row.line,
            column,
            message,
        });
    }

    fn report_on(&mut self, column: Column, message: String) {
        self.report(Some(self.validator.label(column)), message);
    }

    /// The parsed cell; `None` when it is empty or wrong (wrong is reported).
    fn parse<T>(
        &mut self,
        column: Column,
        parse: fn(&str) -> Result<Option<T>, String>,
    ) -> Option<T> {
        parse(self.get(column)).unwrap_or_else(|message| {
            self.bad_value = true;
            self.report_on(column, message);
            None
        })
    }

    /// Every check of the row. Returns the job when provider, account, action and user are known
    /// (for the duplicate check), even if other cells have problems.
    fn job(&mut self) -> Option<Job> {
        let v = self.validator;
        let row = self.row;
        let width = v.labels.len();
        if row.record.len() != width {
            // The cells are shifted: reading them as their columns would give misleading messages,
            // and could quote a password that slid into another column.
            let delimiter = char::from(v.options.delimiter).escape_default();
            self.report(
                None,
                format!(
                    "has {} cells but the header has {width}: quote cells that contain '{delimiter}', and check the delimiter",
                    row.record.len()
                ),
            );
            return None;
        }
        if let Some(i) = row.not_utf8 {
            self.report(
                Some(v.labels[i].clone()),
                "is not valid UTF-8: save the file as UTF-8 (in Excel: \"CSV UTF-8\")".into(),
            );
        }

        let kind = v
            .provider(row)
            .map_err(|message| self.report_on(Column::Provider, message))
            .ok();
        let account = kind.and_then(|kind| {
            v.account(row, kind)
                .map_err(|message| self.report_on(Column::Account, message))
                .ok()
        });
        let action = v
            .action(row)
            .map_err(|message| self.report_on(Column::Action, message))
            .ok();
        let spec = match (kind, action) {
            (Some(kind), Some(action)) => {
                let specs = (v.actions)(kind);
                let spec = specs.iter().find(|s| s.action == action);
                if spec.is_none() {
                    let names: Vec<&str> = specs.iter().map(|s| s.action.name()).collect();
                    self.report_on(
                        Column::Action,
                        format!(
                            "{kind} does not support {action}: use one of {}",
                            names.join(", ")
                        ),
                    );
                }
                spec
            }
            _ => None,
        };

        let user = self.get(Column::User);
        let user_name = self.get(Column::UserName);
        self.check_user(spec, user, user_name);

        let password = match self.get(Column::Password) {
            "" => None,
            cell => Some(Secret::new(cell)),
        };
        let generate = self
            .parse(Column::GeneratePassword, parse_bool)
            .unwrap_or(false);
        // The user's own columns are read only by the actions on users; other rows carry them.
        let lifecycle = action.is_some_and(Action::is_lifecycle);
        let user_field =
            |cells: &mut Self, field: Field, parse: fn(&str) -> Result<Option<String>, String>| {
                lifecycle
                    .then(|| cells.parse(Column::State(field), parse))
                    .flatten()
            };
        let desired = LoginState {
            display_name: user_field(self, Field::DisplayName, parse_text),
            mobile_phone: user_field(self, Field::MobilePhone, parse_phone),
            comments: user_field(self, Field::Comments, parse_text),
            groups: lifecycle
                .then(|| self.parse(Column::State(Field::Groups), parse_groups))
                .flatten(),
            user_enabled: None,
            login_status: self.parse(Column::State(Field::LoginStatus), parse_enum),
            mfa_bind_required: self.parse(Column::State(Field::MfaBindRequired), parse_bool),
            password_reset_required: self
                .parse(Column::State(Field::PasswordResetRequired), parse_bool),
            max_password_age: self.parse(Column::State(Field::MaxPasswordAge), parse_days),
            email: self.parse(Column::State(Field::Email), parse_text),
            login_protect_enabled: self
                .parse(Column::State(Field::LoginProtectEnabled), parse_bool),
            verification_method: self.parse(Column::State(Field::VerificationMethod), parse_enum),
        };
        if let Some(action) = action {
            self.check_changes(action, spec, &desired, password.is_some(), generate);
        }
        let tool_generates = spec.is_some_and(|s| s.accepts(Column::GeneratePassword))
            && kind.is_some_and(|k| action.is_some_and(|a| provider(k).spec().tool_generates(a)));
        if generate && tool_generates && !v.options.secrets_out {
            self.report_on(
                Column::GeneratePassword,
                "needs --secrets-out FILE to receive the generated password".into(),
            );
        }

        let (kind, account, action) = (kind?, account?, action?);
        if user.is_empty() && user_name.is_empty() {
            return None;
        }
        let job = Job {
            index: row.index,
            line: row.line,
            provider: kind,
            account,
            action,
            user: user.to_string(),
            user_name: (!user_name.is_empty()).then(|| user_name.to_string()),
            desired,
            password,
            generate_password: generate,
        };
        if let Some(spec) = spec {
            self.check_columns(spec, kind);
            if action == Action::EnforceMfa {
                self.check_mfa_on(&job);
            }
            for problem in provider(kind).check_row(&job) {
                self.report_once(problem.column, problem.message);
            }
        }
        Some(job)
    }

    /// A problem with `column`, unless the row already has one there.
    fn report_once(&mut self, column: Column, message: String) {
        let label = self.validator.label(column);
        if !self
            .problems
            .iter()
            .any(|p| p.column.as_deref() == Some(label.as_str()))
        {
            self.report(Some(label), message);
        }
    }

    /// A user is required: in `user`, or in `user_name` for actions that resolve names.
    fn check_user(&mut self, spec: Option<&ActionSpec>, user: &str, user_name: &str) {
        let by_name = spec.is_some_and(|s| s.accepts(Column::UserName));
        if user.is_empty() && (user_name.is_empty() || !by_name) {
            let hint = if by_name {
                "fill user or user_name"
            } else {
                "fill the user cell"
            };
            self.report_on(Column::User, format!("no user: {hint}"));
        }
    }

    /// An enforce-mfa cell that contradicts the MFA state the provider sets for it (`false` where
    /// it turns MFA on).
    fn check_mfa_on(&mut self, job: &Job) {
        let wanted = provider(job.provider).mfa_state(job);
        for field in Field::ALL.iter().copied() {
            let Some(want) = wanted.get(field) else {
                continue;
            };
            if job.desired.get(field).is_some_and(|cell| cell != want) {
                self.report_once(
                    Column::State(field),
                    format!("enforce-mfa turns MFA on: this cell must be {want} or empty"),
                );
            }
        }
    }

    /// Whether the cell asks for something. `generate_password` false asks for nothing, as an
    /// empty cell does (a file mixing creates and other actions fills it in every row); any other
    /// filled cell, `false` included, is a state to set.
    fn asks(&self, column: Column) -> bool {
        match column {
            Column::GeneratePassword => {
                !matches!(parse_bool(self.get(column)), Ok(None | Some(false)))
            }
            _ => !self.get(column).is_empty(),
        }
    }

    /// Every filled cell of a column the action does not take: it would not be sent.
    fn check_columns(&mut self, spec: &ActionSpec, kind: ProviderKind) {
        for column in Column::ALL.iter().copied() {
            let carried = !spec.action.is_lifecycle()
                && matches!(column, Column::State(f) if f.is_user_field());
            if carried || spec.accepts(column) || !self.asks(column) {
                continue;
            }
            let takes: Vec<&str> = spec.columns.iter().map(|c| c.name()).collect();
            let takes = match takes.as_slice() {
                [] => "it takes none of the optional columns".to_string(),
                names => format!("it takes {}", names.join(", ")),
            };
            self.report_once(
                column,
                format!(
                    "{kind} {} does not take {}: leave it empty ({takes})",
                    spec.action,
                    column.name()
                ),
            );
        }
    }

    /// What the action writes: a create needs a password, an update needs something to change, and
    /// enforce-mfa cannot turn MFA off.
    fn check_changes(
        &mut self,
        action: Action,
        spec: Option<&ActionSpec>,
        desired: &LoginState,
        password: bool,
        generate: bool,
    ) {
        if password && generate {
            self.report_on(
                Column::GeneratePassword,
                "give either a password or generate_password=true, not both".into(),
            );
        }
        match action.kind() {
            _ if spec.is_some_and(ActionSpec::needs_password) && !password && !generate => self.report_on(
                Column::Password,
                format!("{action} needs a password: fill the password cell, or set generate_password to true"),
            ),
            // An action that sets a state of its own (enforce-mfa, disable-user) needs no column.
            ActionKind::Update
                if spec.is_some_and(|s| s.desired == Desired::Row)
                    && desired.is_empty()
                    && !password
                    && !generate
                    && !self.bad_value =>
            {
                self.report(
                    None,
                    format!("{action} has nothing to change: fill at least one state column, or the password"),
                )
            }
            _ => {}
        }
    }
}
