//! The console login profile Alibaba and UCloud share: its status, the MFA and password-reset
//! flags and the password; and one change to it, read from an API request or from a state patch.
//! Each provider's profile adds its own fields (dates, UCloud's password age) around [`Login`].

use super::params::{ParamErrors, Params, login_status};
use super::service::{PasswordHash, present};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Serialize)]
pub struct Login {
    pub status: &'static str,
    pub mfa_bind_required: bool,
    pub password_reset_required: bool,
    /// `None` for a profile made by a patch without a password.
    pub password_hash: Option<PasswordHash>,
}

impl Default for Login {
    /// A new profile: active, no MFA, no reset, no password.
    fn default() -> Login {
        Login {
            status: "Active",
            mfa_bind_required: false,
            password_reset_required: false,
            password_hash: None,
        }
    }
}

impl Login {
    /// Whether the password is `password`; `None` if there is none.
    pub fn has_password(&self, password: &str) -> Option<bool> {
        Some(self.password_hash.as_ref()?.matches(password))
    }
}

/// `Active` or `Inactive`. A name of its own so that serde does not take the field for text
/// borrowed from the input (it never is: [`status`] maps it to a constant).
type Status = &'static str;

/// The fields a request or patch sets; absent ones stay as they are.
#[derive(Default, Deserialize)]
pub struct LoginChange {
    #[serde(default, deserialize_with = "status")]
    pub status: Option<Status>,
    pub mfa_bind_required: Option<bool>,
    pub password_reset_required: Option<bool>,
    pub password: Option<String>,
}

impl LoginChange {
    /// `Status`, `MFABindRequired`, `PasswordResetRequired` and `Password` of a request.
    pub fn from_params<E: ParamErrors>(p: &Params) -> Result<LoginChange, E> {
        Ok(LoginChange {
            status: p.status()?,
            mfa_bind_required: p.boolean("MFABindRequired")?,
            password_reset_required: p.boolean("PasswordResetRequired")?,
            password: p.get("Password").map(str::to_string),
        })
    }

    pub fn apply(self, login: &mut Login) {
        let LoginChange {
            status,
            mfa_bind_required,
            password_reset_required,
            password,
        } = self;
        login.status = status.unwrap_or(login.status);
        login.mfa_bind_required = mfa_bind_required.unwrap_or(login.mfa_bind_required);
        login.password_reset_required =
            password_reset_required.unwrap_or(login.password_reset_required);
        if let Some(password) = password {
            login.password_hash = Some(PasswordHash::new(&password));
        }
    }
}

fn status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Status>, D::Error> {
    let s = String::deserialize(d)?;
    login_status(&s)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("status '{s}': use Active or Inactive")))
}

/// A patch's `login_profile` of a user: the shared fields and the provider's own `X`; a field
/// neither knows is refused.
#[derive(Deserialize)]
#[serde(
    try_from = "ProfileFields<X>",
    bound(deserialize = "X: Deserialize<'de>")
)]
pub struct ProfilePatch<X> {
    pub change: LoginChange,
    pub own: X,
}

#[derive(Deserialize)]
struct ProfileFields<X> {
    #[serde(flatten)]
    change: LoginChange,
    #[serde(flatten)]
    own: X,
    /// Whatever neither knows (`deny_unknown_fields` does not combine with `flatten`).
    #[serde(flatten)]
    unknown: BTreeMap<String, IgnoredAny>,
}

impl<X> TryFrom<ProfileFields<X>> for ProfilePatch<X> {
    type Error = String;

    fn try_from(fields: ProfileFields<X>) -> Result<ProfilePatch<X>, String> {
        match fields.unknown.keys().next() {
            Some(field) => Err(format!("login_profile: unknown field `{field}`")),
            None => Ok(ProfilePatch {
                change: fields.change,
                own: fields.own,
            }),
        }
    }
}

/// A login profile's patch with no fields of the provider's own.
#[derive(Deserialize)]
pub struct NoOwnFields {}

/// A user's `login_profile` in a patch: absent (unchanged), `null` (removed) or the fields to set.
#[derive(Deserialize)]
#[serde(transparent, bound(deserialize = "X: Deserialize<'de>"))]
pub struct ProfileSlot<X>(
    #[serde(deserialize_with = "present")] pub Option<Option<ProfilePatch<X>>>,
);

impl<X> Default for ProfileSlot<X> {
    fn default() -> Self {
        ProfileSlot(None)
    }
}

impl<X> ProfileSlot<X> {
    /// Applies it to `profile`: removed, left, or changed by `change` (on a `new` one if there is none).
    pub fn apply<P>(
        self,
        profile: &mut Option<P>,
        new: impl FnOnce() -> P,
        change: impl FnOnce(&mut P, ProfilePatch<X>),
    ) {
        match self.0 {
            None => {}
            Some(None) => *profile = None,
            Some(Some(patch)) => change(profile.get_or_insert_with(new), patch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Deserialize)]
    struct Age {
        max_password_age: Option<u32>,
    }

    fn slot<X: for<'de> Deserialize<'de>>(
        value: serde_json::Value,
    ) -> Result<ProfileSlot<X>, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    #[test]
    fn a_patch_sets_the_shared_fields_and_the_providers_own() {
        let patch = json!({"status": "Inactive", "password": "Passw0rd!", "max_password_age": 30});
        let mut profile: Option<(Login, u32)> = None;
        slot::<Age>(patch).unwrap().apply(
            &mut profile,
            || (Login::default(), 0),
            |(login, age), patch| {
                patch.change.apply(login);
                *age = patch.own.max_password_age.unwrap();
            },
        );
        let (login, age) = profile.unwrap();
        assert_eq!(
            (login.status, login.mfa_bind_required, age),
            ("Inactive", false, 30)
        );
        assert_eq!(login.has_password("Passw0rd!"), Some(true));
    }

    #[test]
    fn a_field_no_one_knows_is_refused_by_name() {
        let age = json!({"max_password_age": 30});
        assert!(slot::<Age>(age.clone()).is_ok());
        let refused = slot::<NoOwnFields>(age).err().unwrap();
        assert!(
            refused.contains("login_profile: unknown field `max_password_age`"),
            "{refused}"
        );
        let status = slot::<NoOwnFields>(json!({"status": "Paused"}))
            .err()
            .unwrap();
        assert!(
            status.contains("status 'Paused': use Active or Inactive"),
            "{status}"
        );
    }

    #[test]
    fn null_removes_the_profile() {
        let mut profile = Some(Login::default());
        slot::<NoOwnFields>(json!(null))
            .unwrap()
            .apply(&mut profile, Login::default, |_, _| {});
        assert!(profile.is_none());
    }
}
