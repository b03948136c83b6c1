//! An emulated cloud of several accounts: the main account, which holds the keys, the temporary
//! keys with their security tokens and the declared roles, and any number of other accounts (the
//! members of its organisation), each with its own directory of users behind its own lock. Each
//! provider's module holds one [`Account`] with its own directory type; a request acts on the
//! directory of the account its credentials belong to ([`Account::scope_of_key`]).

use super::mfa;
use super::temporary::{Issued, KeyError, TemporaryKeys, TemporaryPatch};
use crate::secret::Secret;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use time::OffsetDateTime;

pub struct Account<D> {
    /// The main account's id and name.
    id: String,
    name: String,
    /// Secret by key id: the built-in test key and the extra accounts of the config.
    keys: HashMap<String, Secret>,
    temporary: TemporaryKeys,
    /// Roles (aliyun ARN, ucloud URN) and agencies (huawei `domain/agency`) that may be assumed.
    roles: Mutex<Roles>,
    /// How long issued tokens and temporary keys live unless told otherwise.
    pub token_ttl: time::Duration,
    directory: Arc<Mutex<D>>,
    /// The other accounts by id.
    others: Mutex<BTreeMap<String, Other<D>>>,
}

/// An account besides the main one: a member of the main account's organisation.
pub struct Other<D> {
    pub info: Info,
    directory: Arc<Mutex<D>>,
}

/// What the organisation knows of a member account.
#[derive(Clone, Debug)]
pub struct Info {
    pub name: String,
    /// The provider's own status word (aliyun `CreateSuccess`, huawei `active`...).
    pub status: String,
    /// When it joined the organisation: when a patch first named it.
    pub joined_at: OffsetDateTime,
}

/// The account a request acts on: its id, whether it is the main account, and its directory.
pub struct Scope<D> {
    pub id: String,
    pub name: String,
    pub main: bool,
    directory: Arc<Mutex<D>>,
}

impl<D> Clone for Scope<D> {
    fn clone(&self) -> Scope<D> {
        Scope {
            id: self.id.clone(),
            name: self.name.clone(),
            main: self.main,
            directory: self.directory.clone(),
        }
    }
}

impl<D> Scope<D> {
    /// The account's directory of users, held for one call.
    pub fn lock(&self) -> MutexGuard<'_, D> {
        self.directory.lock().expect("emulated account lock")
    }
}

/// One entry of a patch's `"accounts"`: the account's own fields, and the rest, the provider's
/// patch of its directory.
pub struct AccountPatch {
    pub name: Option<String>,
    pub status: Option<String>,
    pub rest: Value,
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
    /// `main` is the main account's `(id, name)`; `builtin` the module's own test key `(id,
    /// secret)`, accepted besides `accounts`.
    pub fn new(
        main: (&str, &str),
        builtin: (&str, &str),
        accounts: Vec<(String, Secret)>,
        token_ttl: Duration,
        directory: D,
    ) -> Result<Account<D>, String> {
        let mut keys: HashMap<String, Secret> = accounts.into_iter().collect();
        keys.insert(builtin.0.to_string(), Secret::new(builtin.1));
        Ok(Account {
            id: main.0.to_string(),
            name: main.1.to_string(),
            keys,
            temporary: TemporaryKeys::default(),
            roles: Mutex::new(Roles::default()),
            token_ttl: time::Duration::try_from(token_ttl)
                .map_err(|_| format!("token TTL {token_ttl:?} is too long"))?,
            directory: Arc::new(Mutex::new(directory)),
            others: Mutex::default(),
        })
    }

    /// The main account's directory of users, held for one call.
    pub fn lock(&self) -> MutexGuard<'_, D> {
        self.directory.lock().expect("emulated account lock")
    }

    /// The main account's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The main account.
    pub fn main(&self) -> Scope<D> {
        Scope {
            id: self.id.clone(),
            name: self.name.clone(),
            main: true,
            directory: self.directory.clone(),
        }
    }

    /// The account of the first id or name `wanted` accepts, main account first.
    pub fn find(&self, wanted: impl Fn(&str, &str) -> bool) -> Option<Scope<D>> {
        if wanted(&self.id, &self.name) {
            return Some(self.main());
        }
        let others = self.others.lock().expect("accounts");
        let (id, other) = others
            .iter()
            .find(|(id, other)| wanted(id, &other.info.name))?;
        Some(Scope {
            id: id.clone(),
            name: other.info.name.clone(),
            main: false,
            directory: other.directory.clone(),
        })
    }

    /// The account with this id, if the emulator knows it.
    pub fn scope(&self, id: &str) -> Option<Scope<D>> {
        self.find(|i, _| i == id)
    }

    /// The account a key belongs to: a temporary key's the one it was issued into, every other
    /// key the main account's. `None` only if that account is gone.
    pub fn scope_of_key(&self, key: &str) -> Option<Scope<D>> {
        match self.temporary.account_of(key) {
            Some(id) => self.scope(&id),
            None => Some(self.main()),
        }
    }

    /// The accounts besides the main one, by id.
    pub fn others(&self) -> Vec<(String, Info)> {
        let others = self.others.lock().expect("accounts");
        (others.iter())
            .map(|(id, other)| (id.clone(), other.info.clone()))
            .collect()
    }

    /// Applies a patch's `"accounts"` (taken out of it with [`take_accounts`]), one account after
    /// the other: each account not there is added (`new` makes its directory; its status `status`
    /// unless the patch gives one), then its name and status set and `each` run on its directory
    /// and the rest of its patch (which checks it all before it changes anything).
    pub fn patch_accounts(
        &self,
        accounts: BTreeMap<String, AccountPatch>,
        now: OffsetDateTime,
        status: &str,
        new: impl Fn(&str) -> D,
        mut each: impl FnMut(&Scope<D>, &Value) -> Result<(), String>,
    ) -> Result<(), String> {
        for (id, patch) in accounts {
            if id == self.id {
                return Err(format!(
                    "accounts: {id} is the main account: patch it at the top level"
                ));
            }
            let (scope, added) = {
                let mut others = self.others.lock().expect("accounts");
                let added = !others.contains_key(&id);
                let other = others.entry(id.clone()).or_insert_with(|| Other {
                    info: Info {
                        name: id.clone(),
                        status: status.to_string(),
                        joined_at: now,
                    },
                    directory: Arc::new(Mutex::new(new(&id))),
                });
                if let Some(name) = patch.name {
                    other.info.name = name;
                }
                if let Some(status) = patch.status {
                    other.info.status = status;
                }
                let scope = Scope {
                    id: id.clone(),
                    name: other.info.name.clone(),
                    main: false,
                    directory: other.directory.clone(),
                };
                (scope, added)
            };
            if let Err(e) = each(&scope, &patch.rest) {
                // An account whose first patch is refused is not added.
                if added {
                    self.others.lock().expect("accounts").remove(&id);
                }
                return Err(format!("accounts: {id}: {e}"));
            }
        }
        Ok(())
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
    /// `into` is the account the role is in.
    pub fn issue(
        &self,
        prefix: &str,
        role: &str,
        into: &Scope<D>,
        duration: time::Duration,
        now: OffsetDateTime,
    ) -> Issued {
        let account = (!into.main).then_some(into.id.as_str());
        (self.temporary).issue(prefix, role, account, now + duration.min(self.token_ttl))
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
        apply: impl FnMut(&mut D, String, U),
    ) -> Result<(), String> {
        self.patch_in(&self.main(), patch, now, apply)
    }

    /// [`Account::patch`] on the directory of `scope`; another account's patch takes no
    /// `temporary_keys` or `sts` (the main account issues and declares them all).
    pub fn patch_in<U: DeserializeOwned>(
        &self,
        scope: &Scope<D>,
        patch: &Value,
        now: OffsetDateTime,
        mut apply: impl FnMut(&mut D, String, U),
    ) -> Result<(), String> {
        let patch = Patch::deserialize(patch).map_err(|e| e.to_string())?;
        if !scope.main && (!patch.temporary_keys.is_empty() || patch.sts.is_some()) {
            return Err("temporary_keys and sts belong to the main account's patch".into());
        }
        let mut directory = scope.lock();
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

    /// The directory as JSON plus `temporary_keys` (ids and expiry only), and `accounts`, the
    /// other accounts' directories with their `name` and `status`, if there are any.
    pub fn state(&self) -> Value {
        let mut state = serde_json::to_value(&*self.lock()).expect("the state always serialises");
        let others = self.others.lock().expect("accounts");
        if !others.is_empty() {
            let accounts = others.iter().map(|(id, other)| {
                let directory = other.directory.lock().expect("emulated account lock");
                let mut state =
                    serde_json::to_value(&*directory).expect("the state always serialises");
                state["name"] = other.info.name.clone().into();
                state["status"] = other.info.status.clone().into();
                (id.clone(), state)
            });
            state["accounts"] = Value::Object(accounts.collect());
        }
        drop(others);
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

/// Takes a patch's `"accounts"` out of it: `{"<id>": {"name", "status", <the provider's directory
/// patch>}}`, `status` one of `statuses`.
pub fn take_accounts(
    patch: &mut Value,
    statuses: &[&str],
) -> Result<BTreeMap<String, AccountPatch>, String> {
    let Some(accounts) = patch.as_object_mut().and_then(|p| p.remove("accounts")) else {
        return Ok(BTreeMap::new());
    };
    let Value::Object(accounts) = accounts else {
        return Err(
            "accounts: give {\"<account id>\": {\"name\", \"status\", \"users\"..}}".into(),
        );
    };
    accounts
        .into_iter()
        .map(|(id, mut rest)| {
            let mut text = |field: &str| match rest.as_object_mut().and_then(|r| r.remove(field)) {
                None => Ok(None),
                Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
                Some(other) => Err(format!("accounts: {id}: {field} {other} is not a name")),
            };
            let name = text("name")?;
            let status = text("status")?;
            if let Some(status) = status.as_deref().filter(|s| !statuses.contains(s)) {
                return Err(format!(
                    "accounts: {id}: status {status}: use one of {}",
                    statuses.join(", ")
                ));
            }
            if !rest.is_object() {
                return Err(format!("accounts: {id}: give an object"));
            }
            Ok((id, AccountPatch { name, status, rest }))
        })
        .collect()
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
        let account = Account::new(
            ("main", "main"),
            ("id", "secret"),
            Vec::new(),
            ttl,
            Numbers::default(),
        )
        .unwrap();
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
