//! What every emulated account keeps besides its users' records: the keys it issued, the temporary
//! keys with their security tokens, and the lock over its directory of users. Each provider's
//! module holds one [`Account`] with its own directory type.

use super::mfa;
use super::temporary::{KeyError, TemporaryKeys, TemporaryPatch};
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
    /// How long issued tokens and temporary keys live unless told otherwise.
    pub token_ttl: time::Duration,
    directory: Mutex<D>,
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
