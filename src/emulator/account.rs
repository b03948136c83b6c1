//! What every emulated account keeps besides its users' records: the keys it issued, the temporary
//! keys with their security tokens, and the lock over its directory of users. Each provider's
//! module holds one [`Account`] with its own directory type.

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

impl<D: Serialize> Account<D> {
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

    /// Registers a patch's temporary keys; those without an expiry live the token lifetime from now.
    pub fn register(
        &self,
        keys: BTreeMap<String, TemporaryPatch>,
        now: OffsetDateTime,
    ) -> Result<(), String> {
        self.temporary.register(keys, now + self.token_ttl)
    }

    /// Applies a state patch (`{"users": {"<name>": U}, "temporary_keys": ..}`): all of it read
    /// first, so a bad value changes nothing; then the temporary keys registered and `apply` run on
    /// each user's patch under the lock.
    pub fn patch<U: DeserializeOwned>(
        &self,
        patch: &Value,
        now: OffsetDateTime,
        mut apply: impl FnMut(&mut D, String, U),
    ) -> Result<(), String> {
        let patch = Patch::<U>::deserialize(patch).map_err(|e| e.to_string())?;
        self.register(patch.temporary_keys, now)?;
        let mut directory = self.lock();
        for (name, user) in patch.users {
            apply(&mut directory, name, user);
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

/// A state patch: users by name, each the provider's own user patch `U`, and temporary keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "U: Deserialize<'de>"))]
struct Patch<U> {
    #[serde(default)]
    users: BTreeMap<String, U>,
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
