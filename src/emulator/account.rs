//! What every emulated account keeps besides its users' records: the keys it issued, the temporary
//! keys with their security tokens, and the lock over its directory of users. Each provider's
//! module holds one [`Account`] with its own directory type.

use super::mfa;
use super::temporary::{Issued, KeyError, TemporaryKeys, TemporaryPatch};
use crate::secret::Secret;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use time::OffsetDateTime;

pub struct Account<D> {
    /// Secret by key id: the built-in test key and the extra accounts of the config.
    keys: HashMap<String, Secret>,
    temporary: TemporaryKeys,
    /// Roles (aliyun ARN, ucloud URN) and agencies (huawei `domain/agency`) that may be assumed.
    roles: Mutex<Roles>,
    /// How long issued tokens and temporary keys live unless told otherwise.
    pub token_ttl: time::Duration,
    directory: Mutex<D>,
}

/// A role declared under this name stands for every role not declared by its own name (the demo
/// set trusts the built-in keys with any role, so `--emulator` rehearses chained accounts).
const ANY_ROLE: &str = "*";

/// What a patch declares about assuming roles.
#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// By role: the principals allowed to assume it (key ids, or roles whose sessions may).
    #[serde(default)]
    roles: BTreeMap<String, Role>,
    /// Key ids of the account's root user: never allowed to assume a role.
    #[serde(default)]
    root_keys: Vec<String>,
    /// In a patch: end every credential issued so far now (they are refused as expired).
    #[serde(default, skip_serializing)]
    expire_issued: bool,
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Role {
    trusted: Vec<String>,
}

/// Why a caller may not assume a role; each provider words it in its own reply.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    UnknownRole,
    RootCaller,
    NotTrusted,
}

/// What a state patch changes in a provider's directory besides each user's own patch.
pub trait Directory {
    /// Whether a user of this name (as the patch keys users) exists.
    fn has_user(&self, name: &str) -> bool;
    fn mfa_devices(&mut self) -> &mut mfa::Devices;
}

impl<D: Directory + Serialize> Account<D> {
    /// `builtin` is the module's own test key `(id, secret)`, accepted besides `accounts`.
    pub fn new(
        builtin: (&str, &str),
        accounts: Vec<(String, Secret)>,
        token_ttl: Duration,
        directory: D,
    ) -> Result<Account<D>, String> {
        let mut keys: HashMap<String, Secret> = accounts.into_iter().collect();
        keys.insert(builtin.0.to_string(), Secret::new(builtin.1));
        Ok(Account {
            keys,
            temporary: TemporaryKeys::default(),
            roles: Mutex::new(Roles::default()),
            token_ttl: time::Duration::try_from(token_ttl)
                .map_err(|_| format!("token TTL {token_ttl:?} is too long"))?,
            directory: Mutex::new(directory),
        })
    }

    /// The directory of users, held for one call.
    pub fn lock(&self) -> MutexGuard<'_, D> {
        self.directory.lock().expect("emulated account lock")
    }

    /// The secret to check a request signed by key `id` with (and its security token, if any).
    pub fn secret(
        &self,
        id: &str,
        token: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Secret, KeyError> {
        self.temporary.secret(&self.keys, id, token, now)
    }

    /// Whether the key `caller` (a temporary key: the role whose session it is) may assume `role`.
    pub fn may_assume(&self, caller: &str, role: &str) -> Result<(), Refusal> {
        let roles = self.roles.lock().expect("roles");
        let declared = (roles.roles.get(role))
            .or_else(|| roles.roles.get(ANY_ROLE))
            .ok_or(Refusal::UnknownRole)?;
        if roles.root_keys.iter().any(|k| k == caller) {
            return Err(Refusal::RootCaller);
        }
        let principal = self
            .temporary
            .role_of(caller)
            .unwrap_or_else(|| caller.to_string());
        match declared.trusted.contains(&principal) {
            true => Ok(()),
            false => Err(Refusal::NotTrusted),
        }
    }

    /// Issues temporary credentials of a session of `role` for `duration` (capped at the token
    /// lifetime, the emulator's short-lifetime knob).
    pub fn issue(
        &self,
        prefix: &str,
        role: &str,
        duration: time::Duration,
        now: OffsetDateTime,
    ) -> Issued {
        self.temporary
            .issue(prefix, role, now + duration.min(self.token_ttl))
    }

    /// The role whose session issued temporary key `id`, if it was issued so.
    pub fn role_of(&self, id: &str) -> Option<String> {
        self.temporary.role_of(id)
    }

    /// Registers a patch's temporary keys; one without an expiry lives the token lifetime.
    pub fn register(
        &self,
        keys: BTreeMap<String, TemporaryPatch>,
        now: OffsetDateTime,
    ) -> Result<(), String> {
        self.temporary.register(keys, now + self.token_ttl)
    }

    /// Applies a state patch (`{"users": {"<name>": U}, "mfa_devices": .., "temporary_keys": ..}`):
    /// all of it read and checked first, so a bad value changes nothing; then, under the lock, the
    /// temporary keys registered, `apply` run on each user's patch and the MFA devices set.
    pub fn patch<U: DeserializeOwned>(
        &self,
        patch: &Value,
        now: OffsetDateTime,
        mut apply: impl FnMut(&mut D, String, U),
    ) -> Result<(), String> {
        let patch = Patch::deserialize(patch).map_err(|e| e.to_string())?;
        let mut directory = self.lock();
        if let Some(devices) = &patch.mfa_devices {
            devices.check_users(|u| patch.users.contains_key(u) || directory.has_user(u))?;
        }
        let users = (patch.users.into_iter())
            .map(|(name, user)| match U::deserialize(user) {
                Ok(user) => Ok((name, user)),
                Err(e) => Err(format!("{name}: {e}")),
            })
            .collect::<Result<Vec<(String, U)>, String>>()?;
        self.register(patch.temporary_keys, now)?;
        if let Some(declared) = patch.sts {
            if declared.expire_issued {
                self.temporary.expire_issued(now);
            }
            let mut roles = self.roles.lock().expect("roles");
            roles.roles.extend(declared.roles);
            roles.root_keys.extend(declared.root_keys);
        }
        for (name, user) in users {
            apply(&mut directory, name, user);
        }
        if let Some(devices) = patch.mfa_devices {
            directory.mfa_devices().apply(devices);
        }
        Ok(())
    }

    /// The directory as JSON plus `temporary_keys` (ids and expiry only).
    pub fn state(&self) -> Value {
        let mut state = serde_json::to_value(&*self.lock()).expect("the state always serialises");
        state["temporary_keys"] = self.temporary.state();
        let roles = self.roles.lock().expect("roles");
        if !roles.roles.is_empty() || !roles.root_keys.is_empty() {
            state["roles"] = serde_json::to_value(&*roles).expect("roles serialise");
        }
        state
    }
}

/// A state patch: users by name, each read as the provider's own user patch, MFA devices and
/// temporary keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    #[serde(default)]
    users: BTreeMap<String, Value>,
    mfa_devices: Option<mfa::Patch>,
    #[serde(default)]
    temporary_keys: BTreeMap<String, TemporaryPatch>,
    /// `{"roles": {"<role>": {"trusted": [..]}}, "root_keys": [..], "expire_issued": true}`: roles
    /// and root keys added to those declared; issued credentials ended.
    sts: Option<Roles>,
}

/// The users file's entries for one provider as names, each one `valid` accepts; else an error
/// saying users are `what`.
pub fn user_names<'a>(
    users: &'a [Value],
    what: &str,
    valid: impl Fn(&str) -> bool,
) -> Result<Vec<&'a str>, String> {
    users
        .iter()
        .map(|user| {
            user.as_str()
                .filter(|s| valid(s))
                .ok_or_else(|| format!("users are {what}, not {user}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    /// Users holding a number each.
    #[derive(Default, Serialize)]
    struct Numbers {
        #[serde(flatten)]
        users: BTreeMap<String, u32>,
        #[serde(skip)]
        mfa_devices: mfa::Devices,
    }

    impl Directory for Numbers {
        fn has_user(&self, name: &str) -> bool {
            self.users.contains_key(name)
        }
        fn mfa_devices(&mut self) -> &mut mfa::Devices {
            &mut self.mfa_devices
        }
    }

    #[test]
    fn a_bad_user_patch_names_the_user_and_changes_nothing() {
        let now = datetime!(2024-01-01 00:00 UTC);
        let ttl = Duration::from_secs(3600);
        let account = Account::new(("id", "secret"), Vec::new(), ttl, Numbers::default()).unwrap();
        let set = |directory: &mut Numbers, name, n: u32| {
            directory.users.insert(name, n);
        };
        let temporary = json!({"tmp": {"secret": "s", "security_token": "t"}});
        let bad = json!({"users": {"alice": 1, "bob": "two"}, "temporary_keys": temporary});
        let refused = account.patch(&bad, now, set).unwrap_err();
        assert!(refused.starts_with("bob: "), "{refused}");
        assert_eq!(account.state(), json!({"temporary_keys": {}}));
        // A device of a user neither there nor added by the patch: nothing changes either.
        let ghost = json!({"users": {"alice": 1}, "temporary_keys": temporary,
            "mfa_devices": {"bound": {"ghost": [{"serial_number": "s"}]}}});
        let refused = account.patch(&ghost, now, set).unwrap_err();
        assert!(refused.contains("ghost does not exist"), "{refused}");
        assert_eq!(account.state(), json!({"temporary_keys": {}}));

        let good = json!({"users": {"alice": 1}, "temporary_keys": temporary,
            "mfa_devices": {"bound": {"alice": [{"serial_number": "s"}]}}});
        account.patch(&good, now, set).unwrap();
        assert!(account.lock().mfa_devices.of("alice").is_some());
        let state = account.state();
        assert_eq!(state["alice"], 1);
        assert_eq!(
            state["temporary_keys"]["tmp"]["expires_at"],
            "2024-01-01T01:00:00Z"
        );
    }
}
