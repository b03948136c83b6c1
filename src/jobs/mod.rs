//! What one input row asks for: the provider, the account, the action and the desired login state.
//! These types are the contract between the input reader, the engine and the providers.

use crate::secret::Secret;
use std::fmt;
use std::str::FromStr;
use strum::{IntoStaticStr, VariantArray};

/// The cloud a row talks to: registered with its module in `providers`.
pub use crate::providers::ProviderKind;

/// The variant named `s` (trimmed, any case).
fn find_named<T: VariantArray + Copy + Into<&'static str>>(s: &str) -> Option<T> {
    let s = s.trim();
    T::VARIANTS
        .iter()
        .copied()
        .find(|v| (*v).into().eq_ignore_ascii_case(s))
}

/// "a, b or c".
pub(crate) fn one_of(names: &[String]) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// What a row asks the provider to do (docs/contract.md §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "kebab-case")]
pub enum Action {
    CreateLoginProfile,
    UpdateLoginProfile,
    EnsureLoginProfile,
    GetLoginProfile,
    DeleteLoginProfile,
    SetLoginProtect,
    GetLoginProtect,
    EnforceMfa,
    CreateUser,
    EnsureUser,
    AddToGroup,
    RemoveFromGroup,
    DisableUser,
    EnableUser,
    DeleteUser,
    GetUser,
}

/// How an action changes state; the engine's semantics are written per kind, not per action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    Create,
    Update,
    Upsert,
    Read,
    Delete,
}

impl Action {
    pub const ALL: &[Action] = Action::VARIANTS;

    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn kind(self) -> ActionKind {
        match self {
            Action::CreateLoginProfile | Action::CreateUser => ActionKind::Create,
            Action::UpdateLoginProfile
            | Action::SetLoginProtect
            | Action::EnforceMfa
            | Action::AddToGroup
            | Action::RemoveFromGroup
            | Action::DisableUser
            | Action::EnableUser => ActionKind::Update,
            Action::EnsureLoginProfile | Action::EnsureUser => ActionKind::Upsert,
            Action::GetLoginProfile | Action::GetLoginProtect | Action::GetUser => ActionKind::Read,
            Action::DeleteLoginProfile | Action::DeleteUser => ActionKind::Delete,
        }
    }

    /// The actions on the user itself (docs/contract.md §11): they read the user-lifecycle
    /// columns, which other actions carry through.
    pub fn is_lifecycle(self) -> bool {
        matches!(
            self,
            Action::CreateUser
                | Action::EnsureUser
                | Action::AddToGroup
                | Action::RemoveFromGroup
                | Action::DisableUser
                | Action::EnableUser
                | Action::DeleteUser
                | Action::GetUser
        )
    }

    pub fn is_write(self) -> bool {
        self.kind() != ActionKind::Read
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Action {
    type Err = String;

    /// Case-insensitive; `_` and `-` are the same.
    fn from_str(s: &str) -> Result<Self, String> {
        let wanted = s.replace('_', "-");
        find_named::<Action>(&wanted).ok_or_else(|| {
            let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
            format!(
                "unknown action '{}': use one of {}",
                s.trim(),
                names.join(", ")
            )
        })
    }
}

/// A console login profile's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, IntoStaticStr, VariantArray)]
pub enum LoginStatus {
    Active,
    Inactive,
}

impl LoginStatus {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

impl FromStr for LoginStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        find_named::<LoginStatus>(s).ok_or_else(|| {
            format!(
                "'{}' is not a login status: use {}",
                s.trim(),
                one_of(&names::<LoginStatus>())
            )
        })
    }
}

/// Login protection's second factor (`verification_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "lowercase")]
pub enum VerificationMethod {
    Sms,
    Email,
    Vmfa,
}

impl VerificationMethod {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

impl FromStr for VerificationMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        find_named::<VerificationMethod>(s).ok_or_else(|| {
            format!(
                "'{}' is not a verification method: use {}",
                s.trim(),
                one_of(&names::<VerificationMethod>())
            )
        })
    }
}

/// Every variant's name.
fn names<T: VariantArray + Copy + Into<&'static str>>() -> Vec<String> {
    T::VARIANTS
        .iter()
        .map(|v| (*v).into().to_string())
        .collect()
}

/// The state columns of docs/contract.md §2 that a provider can set or read back. Used to name the
/// `observed_*` columns and to say which fields a provider can compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Field {
    LoginStatus,
    MfaBindRequired,
    PasswordResetRequired,
    MaxPasswordAge,
    Email,
    LoginProtectEnabled,
    VerificationMethod,
    DisplayName,
    MobilePhone,
    Comments,
    /// Group names, `;`-separated in a cell.
    Groups,
    /// Whether the user itself may sign in or call APIs (set by disable-user and enable-user).
    UserEnabled,
}

impl Field {
    pub const ALL: &[Field] = Field::VARIANTS;

    /// A column of the user itself: read only by the user-lifecycle actions, carried through on
    /// other rows (docs/contract.md §2).
    pub fn is_user_field(self) -> bool {
        matches!(
            self,
            Field::DisplayName
                | Field::MobilePhone
                | Field::Comments
                | Field::Groups
                | Field::UserEnabled
        )
    }

    /// The column name of docs/contract.md §2.
    pub fn column(self) -> &'static str {
        self.into()
    }
}

/// The state of a user and its console login, desired (from a row) or observed (from a
/// provider). `None` = not set / not known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginState {
    pub login_status: Option<LoginStatus>,
    pub mfa_bind_required: Option<bool>,
    pub password_reset_required: Option<bool>,
    pub max_password_age: Option<u32>,
    pub email: Option<String>,
    pub login_protect_enabled: Option<bool>,
    pub verification_method: Option<VerificationMethod>,
    pub display_name: Option<String>,
    pub mobile_phone: Option<String>,
    pub comments: Option<String>,
    /// The groups the user is in; a desired list is a minimum (nothing removes other groups).
    pub groups: Option<Vec<String>>,
    pub user_enabled: Option<bool>,
}

impl LoginState {
    /// Nothing set: the base of the fixed states actions declare.
    pub const NONE: LoginState = LoginState {
        login_status: None,
        mfa_bind_required: None,
        password_reset_required: None,
        max_password_age: None,
        email: None,
        login_protect_enabled: None,
        verification_method: None,
        display_name: None,
        mobile_phone: None,
        comments: None,
        groups: None,
        user_enabled: None,
    };

    /// MFA binding required and nothing else: what enforce-mfa sets on a login profile.
    pub fn mfa_bind_required() -> LoginState {
        LoginState {
            mfa_bind_required: Some(true),
            ..LoginState::default()
        }
    }

    /// The value of one field, formatted as it is written in a CSV cell.
    pub fn get(&self, field: Field) -> Option<String> {
        match field {
            Field::LoginStatus => self.login_status.map(|s| s.name().to_string()),
            Field::MfaBindRequired => self.mfa_bind_required.map(|b| b.to_string()),
            Field::PasswordResetRequired => self.password_reset_required.map(|b| b.to_string()),
            Field::MaxPasswordAge => self.max_password_age.map(|n| n.to_string()),
            Field::Email => self.email.clone(),
            Field::LoginProtectEnabled => self.login_protect_enabled.map(|b| b.to_string()),
            Field::VerificationMethod => self.verification_method.map(|m| m.name().to_string()),
            Field::DisplayName => self.display_name.clone(),
            Field::MobilePhone => self.mobile_phone.clone(),
            Field::Comments => self.comments.clone(),
            Field::Groups => self.groups.as_ref().map(|g| g.join(";")),
            Field::UserEnabled => self.user_enabled.map(|b| b.to_string()),
        }
    }

    /// Takes every field `other` sets.
    pub fn merge(&mut self, other: LoginState) {
        for field in Field::ALL {
            if other.get(*field).is_some() {
                let taken = other.only(&[*field]);
                match field {
                    Field::LoginStatus => self.login_status = taken.login_status,
                    Field::MfaBindRequired => self.mfa_bind_required = taken.mfa_bind_required,
                    Field::PasswordResetRequired => {
                        self.password_reset_required = taken.password_reset_required
                    }
                    Field::MaxPasswordAge => self.max_password_age = taken.max_password_age,
                    Field::Email => self.email = taken.email,
                    Field::LoginProtectEnabled => {
                        self.login_protect_enabled = taken.login_protect_enabled
                    }
                    Field::VerificationMethod => {
                        self.verification_method = taken.verification_method
                    }
                    Field::DisplayName => self.display_name = taken.display_name,
                    Field::MobilePhone => self.mobile_phone = taken.mobile_phone,
                    Field::Comments => self.comments = taken.comments,
                    Field::Groups => self.groups = taken.groups,
                    Field::UserEnabled => self.user_enabled = taken.user_enabled,
                }
            }
        }
    }

    /// Keeps only the given fields (the rest become `None`).
    pub fn only(&self, fields: &[Field]) -> LoginState {
        let mut out = LoginState::default();
        for f in fields {
            match f {
                Field::LoginStatus => out.login_status = self.login_status,
                Field::MfaBindRequired => out.mfa_bind_required = self.mfa_bind_required,
                Field::PasswordResetRequired => {
                    out.password_reset_required = self.password_reset_required
                }
                Field::MaxPasswordAge => out.max_password_age = self.max_password_age,
                Field::Email => out.email = self.email.clone(),
                Field::LoginProtectEnabled => {
                    out.login_protect_enabled = self.login_protect_enabled
                }
                Field::VerificationMethod => out.verification_method = self.verification_method,
                Field::DisplayName => out.display_name = self.display_name.clone(),
                Field::MobilePhone => out.mobile_phone = self.mobile_phone.clone(),
                Field::Comments => out.comments = self.comments.clone(),
                Field::Groups => out.groups = self.groups.clone(),
                Field::UserEnabled => out.user_enabled = self.user_enabled,
            }
        }
        out
    }

    /// Fields set here whose value differs from `observed`, among `comparable` ones. Groups
    /// differ when a wanted group is missing: other groups of the user are left alone.
    pub fn differences(&self, observed: &LoginState, comparable: &[Field]) -> Vec<Field> {
        comparable
            .iter()
            .copied()
            .filter(|f| match f {
                Field::Groups => !self.missing_groups(observed).is_empty(),
                _ => {
                    let want = self.get(*f);
                    want.is_some() && want != observed.get(*f)
                }
            })
            .collect()
    }

    /// The wanted groups `observed` does not have (group names compare as the provider keeps
    /// them: exactly).
    pub fn missing_groups<'a>(&'a self, observed: &LoginState) -> Vec<&'a str> {
        let have = observed.groups.as_deref().unwrap_or_default();
        self.groups
            .iter()
            .flatten()
            .filter(|g| !have.contains(g))
            .map(String::as_str)
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        Field::ALL.iter().all(|f| self.get(*f).is_none())
    }
}

/// One validated row, ready to be executed.
#[derive(Clone, Debug)]
pub struct Job {
    /// 0-based position among the data rows; the results file is ordered by it.
    pub index: u64,
    /// The input line where the row starts (1-based, header is line 1).
    pub line: u64,
    pub provider: ProviderKind,
    /// Named account from the config file; empty = the provider's default account.
    pub account: String,
    pub action: Action,
    /// The user, as the provider keys it (or a name the provider resolves: `Provider::name_to_resolve`).
    pub user: String,
    /// A user name to resolve to the provider's key, for actions that take `user_name`.
    pub user_name: Option<String>,
    pub desired: LoginState,
    pub password: Option<Secret>,
    /// The row asks for a generated password: by the provider when it makes them up, else by the
    /// tool into `--secrets-out`.
    pub generate_password: bool,
}

impl Job {
    /// Who this row is about, for "never two requests for the same user at once".
    pub fn user_key(&self) -> &str {
        if self.user.is_empty() {
            self.user_name.as_deref().unwrap_or("")
        } else {
            &self.user
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_provider_aliases_and_actions_case_insensitively() {
        assert_eq!("Alibaba".parse::<ProviderKind>(), Ok(ProviderKind::Aliyun));
        assert_eq!(
            "HuaweiCloud".parse::<ProviderKind>(),
            Ok(ProviderKind::Huawei)
        );
        assert_eq!(
            " AWS ".parse::<ProviderKind>().unwrap_err(),
            "unknown provider 'aws': use aliyun (alibaba, alibabacloud), ucloud or huawei (huaweicloud)"
        );
        assert_eq!(ProviderKind::names(), "aliyun, ucloud, huawei");
        assert_eq!(" INACTIVE".parse(), Ok(LoginStatus::Inactive));
        assert_eq!(
            "on".parse::<LoginStatus>().unwrap_err(),
            "'on' is not a login status: use Active or Inactive"
        );
        assert_eq!("VMFA".parse(), Ok(VerificationMethod::Vmfa));
        assert_eq!(
            "otp".parse::<VerificationMethod>().unwrap_err(),
            "'otp' is not a verification method: use sms, email or vmfa"
        );
        assert_eq!(
            Field::PasswordResetRequired.column(),
            "password_reset_required"
        );
        assert_eq!("ENFORCE_MFA".parse::<Action>(), Ok(Action::EnforceMfa));
        assert_eq!(
            "Create-Login_Profile".parse::<Action>(),
            Ok(Action::CreateLoginProfile)
        );
        assert!("frobnicate".parse::<Action>().is_err());
    }

    #[test]
    fn differences_ignore_unset_fields() {
        let want = LoginState {
            mfa_bind_required: Some(true),
            ..Default::default()
        };
        let seen = LoginState {
            mfa_bind_required: Some(false),
            login_status: Some(LoginStatus::Active),
            ..Default::default()
        };
        assert_eq!(
            want.differences(&seen, Field::ALL),
            vec![Field::MfaBindRequired]
        );
        assert!(seen.differences(&seen, Field::ALL).is_empty());
    }
}
