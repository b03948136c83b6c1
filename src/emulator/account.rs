//! An emulated cloud of several accounts: the main account, which holds the keys, the temporary
//! keys with their security tokens and the declared roles, and any number of other accounts (the
//! members of its organisation), each with its own directory of users behind its own lock. Each
//! provider's module holds one [`Account`] with its own directory type; a request acts on the
//! directory of the account its credentials belong to ([`Account::scope_of_key`]).

use super::mfa;
use super::temporary::{Issued, KeyError, Registered, TemporaryKeys, TemporaryPatch};
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
    /// What the provider's organisation calls its members; `None`: a cloud of one account.
    organisation: Option<Organisation<D>>,
    /// The other accounts by id.
    others: Mutex<BTreeMap<String, Other<D>>>,
}

/// A provider's words for its organisation's members.
pub struct Organisation<D> {
    /// Every status a member may have; the first is a new member's.
    pub statuses: &'static [&'static str],
    /// The statuses of a member that may be reached (its roles assumed); the others are as if it
    /// had no roles, as in the real cloud.
    pub reachable: &'static [&'static str],
    /// A new member's empty directory, given its id.
    pub new: fn(&str) -> D,
}

/// How a member joined the organisation; a new member was `created` unless its patch says.
const JOIN_METHODS: &[&str] = &["created", "invited"];

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
    /// Whether its roles may be assumed: its status is one of the organisation's `reachable`.
    pub reachable: bool,
    /// `created` or `invited`.
    pub join_method: String,
    /// When it joined the organisation: when a patch first named it.
    pub joined_at: OffsetDateTime,
}

/// The account a request acts on: its id, whether it is the main account, whether it may be
/// reached through a role, and its directory.
pub struct Scope<D> {
    pub id: String,
    pub name: String,
    pub main: bool,
    pub reachable: bool,
    directory: Arc<Mutex<D>>,
}

// By hand: a derive would ask `D: Clone`, yet a clone shares the directory, never copies it.
impl<D> Clone for Scope<D> {
    fn clone(&self) -> Scope<D> {
        Scope {
            id: self.id.clone(),
            name: self.name.clone(),
            main: self.main,
            reachable: self.reachable,
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
    pub join_method: Option<String>,
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

impl<D> Account<D> {
    /// `main` is the main account's `(id, name)`; `builtin` the module's own test key `(id,
    /// secret)`, accepted besides `accounts`.
    pub fn new(
        main: (&str, &str),
        builtin: (&str, &str),
        accounts: Vec<(String, Secret)>,
        token_ttl: Duration,
        directory: D,
        organisation: Option<Organisation<D>>,
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
            organisation,
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
        self.scope_at(&self.id, None)
    }

    /// The scope of the main account (`other` `None`) or of the member `id`.
    fn scope_at(&self, id: &str, other: Option<&Other<D>>) -> Scope<D> {
        let (name, reachable, directory) = match other {
            None => (&self.name, true, &self.directory),
            Some(other) => (&other.info.name, other.info.reachable, &other.directory),
        };
        Scope {
            id: id.to_string(),
            name: name.clone(),
            main: other.is_none(),
            reachable,
            directory: directory.clone(),
        }
    }

    /// The account whose id and name `wanted` accepts, main account first.
    fn find(&self, wanted: impl Fn(&str, &str) -> bool) -> Option<Scope<D>> {
        if wanted(&self.id, &self.name) {
            return Some(self.main());
        }
        let others = self.others.lock().expect("accounts");
        let (id, other) = (others.iter()).find(|(id, other)| wanted(id, &other.info.name))?;
        Some(self.scope_at(id, Some(other)))
    }

    /// The account with this id, if the emulator knows it.
    pub fn scope(&self, id: &str) -> Option<Scope<D>> {
        self.find(|i, _| i == id)
    }

    /// The account with this name (account names are unique), if the emulator knows it.
    pub fn scope_named(&self, name: &str) -> Option<Scope<D>> {
        self.find(|_, n| n == name)
    }

    /// The account with this id, or the main account when none is given.
    pub fn scope_or_main(&self, id: Option<&str>) -> Option<Scope<D>> {
        self.scope(id.unwrap_or(&self.id))
    }

    /// The account a key belongs to: a temporary key's the one it was issued into, every other
    /// key the main account's. `None` only if that account is gone.
    pub fn scope_of_key(&self, key: &str) -> Option<Scope<D>> {
        match self.temporary.account_of(key) {
            Some(id) => self.scope(&id),
            None => Some(self.main()),
        }
    }

    /// The members of the organisation, by id, as `caller` may see them: only the management
    /// (main) account may list them, `None` for any other.
    pub fn members(&self, caller: &Scope<D>) -> Option<Vec<(String, Info)>> {
        if !caller.main {
            return None;
        }
        let others = self.others.lock().expect("accounts");
        Some(
            (others.iter())
                .map(|(id, other)| (id.clone(), other.info.clone()))
                .collect(),
        )
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
}

impl<D: Directory + Serialize + Clone> Account<D> {
    /// Applies a state patch: the main account's part (`{"users": {"<name>": U}, "mfa_devices",
    /// "temporary_keys", "sts"}` plus the provider's own keys) and, in a cloud with an
    /// organisation, `"accounts"` (`take_accounts`). `each` applies the provider's patch of
    /// one directory (given the account id) to a copy of it. All of it is checked and applied to
    /// staged copies first; only when every part is accepted do the copies replace the
    /// directories, new members join and the keys and roles count. So a refused patch changes
    /// nothing, and no request sees half of one: patches run one at a time, and the directories a
    /// patch changes stay locked until it is done.
    pub fn tamper(
        &self,
        patch: &Value,
        now: OffsetDateTime,
        each: impl Fn(&mut D, &str, Value) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut patch = patch.clone();
        let accounts = match &self.organisation {
            Some(organisation) => take_accounts(&mut patch, organisation)?,
            None => BTreeMap::new(),
        };
        let main_only = MainOnly::take(&mut patch)?;
        let temporary = Registered::parse(main_only.temporary_keys, now + self.token_ttl)?;
        let mut others = self.others.lock().expect("accounts");
        let mut main = self.lock();
        let mut staged_main = main.clone();
        each(&mut staged_main, &self.id, patch)?;

        // Each member: its info and a copy of its directory (a new one for a new member), the
        // patch applied to both; the member's directory stays locked from copy to commit.
        let existing: Vec<Option<Arc<Mutex<D>>>> = (accounts.keys())
            .map(|id| others.get(id).map(|other| other.directory.clone()))
            .collect();
        let mut locked: Vec<Option<MutexGuard<'_, D>>> = (existing.iter())
            .map(|d| d.as_ref().map(|d| d.lock().expect("emulated account lock")))
            .collect();
        let mut staged = Vec::with_capacity(accounts.len());
        for ((id, patch), directory) in accounts.into_iter().zip(&locked) {
            let (info, directory) = self
                .stage_member(&others, &id, patch, directory.as_deref(), now, &each)
                .map_err(|e| format!("accounts: {id}: {e}"))?;
            staged.push((id, info, directory));
        }
        check_names(&self.id, &self.name, &others, &staged)?;

        *main = staged_main;
        for ((id, info, directory), guard) in staged.into_iter().zip(&mut locked) {
            match guard {
                Some(guard) => {
                    **guard = directory;
                    others.get_mut(&id).expect("locked above").info = info;
                }
                None => {
                    let directory = Arc::new(Mutex::new(directory));
                    others.insert(id, Other { info, directory });
                }
            }
        }
        self.temporary.insert(temporary);
        if let Some(declared) = main_only.sts {
            if declared.expire_issued {
                self.temporary.expire_issued(now);
            }
            let mut roles = self.roles.lock().expect("roles");
            roles.roles.extend(declared.roles);
            roles.root_keys.extend(declared.root_keys);
        }
        Ok(())
    }

    /// A member's info and directory with its patch applied: copies of what it has, or new.
    fn stage_member(
        &self,
        others: &BTreeMap<String, Other<D>>,
        id: &str,
        patch: AccountPatch,
        directory: Option<&D>,
        now: OffsetDateTime,
        each: &impl Fn(&mut D, &str, Value) -> Result<(), String>,
    ) -> Result<(Info, D), String> {
        let organisation = self
            .organisation
            .as_ref()
            .expect("only a cloud with members");
        if id == self.id {
            return Err("the main account: patch it at the top level".into());
        }
        if MainOnly::is_in(&patch.rest) {
            return Err("temporary_keys and sts belong to the main account's patch".into());
        }
        let (mut info, mut directory) = match directory {
            Some(directory) => (others[id].info.clone(), directory.clone()),
            None => {
                let info = Info {
                    name: id.to_string(),
                    status: organisation.statuses[0].to_string(),
                    reachable: false,
                    join_method: JOIN_METHODS[0].to_string(),
                    joined_at: now,
                };
                (info, (organisation.new)(id))
            }
        };
        info.name = patch.name.unwrap_or(info.name);
        info.status = patch.status.unwrap_or(info.status);
        info.join_method = patch.join_method.unwrap_or(info.join_method);
        info.reachable = organisation.reachable.contains(&info.status.as_str());
        each(&mut directory, id, patch.rest)?;
        Ok((info, directory))
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
                state["join_method"] = other.info.join_method.clone().into();
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

/// Every account's name is its own: a member may not take the main account's name or another
/// member's (huawei agencies are named by account name).
fn check_names<D>(
    main_id: &str,
    main_name: &str,
    others: &BTreeMap<String, Other<D>>,
    staged: &[(String, Info, D)],
) -> Result<(), String> {
    let staged_names = staged.iter().map(|(id, info, _)| (id.as_str(), &info.name));
    let kept = (others.iter())
        .filter(|(id, _)| !staged.iter().any(|(s, _, _)| s == *id))
        .map(|(id, other)| (id.as_str(), &other.info.name));
    let mut seen: HashMap<&str, &str> = HashMap::from([(main_name, main_id)]);
    for (id, name) in kept.chain(staged_names) {
        if let Some(taken) = seen.insert(name, id) {
            return Err(format!(
                "accounts: {id}: the name {name} is account {taken}'s: give each account a name of its own"
            ));
        }
    }
    Ok(())
}

/// The parts of a patch only the main account's takes: temporary keys and declared roles (the
/// main account issues and declares them all).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MainOnly {
    #[serde(default)]
    temporary_keys: BTreeMap<String, TemporaryPatch>,
    /// `{"roles": {"<role>": {"trusted": [..]}}, "root_keys": [..], "expire_issued": true}`: roles
    /// and root keys added to those declared; issued credentials ended.
    sts: Option<Roles>,
}

impl MainOnly {
    const KEYS: [&str; 2] = ["temporary_keys", "sts"];

    /// Takes them out of a patch, read.
    fn take(patch: &mut Value) -> Result<MainOnly, String> {
        let Some(fields) = patch.as_object_mut() else {
            return Err("give the patch as an object".into());
        };
        let taken: serde_json::Map<String, Value> = (MainOnly::KEYS.iter())
            .filter_map(|key| fields.remove(*key).map(|v| (key.to_string(), v)))
            .collect();
        MainOnly::deserialize(Value::Object(taken)).map_err(|e| e.to_string())
    }

    fn is_in(patch: &Value) -> bool {
        MainOnly::KEYS.iter().any(|key| patch.get(key).is_some())
    }
}

/// Applies a directory's patch, `{"users": {"<name>": U}, "mfa_devices": ..}`, to `directory`:
/// `apply` run on each user's patch, then the MFA devices set (each of a user there by then).
/// The caller applies it to a copy, so an error midway changes nothing.
pub fn patch_directory<D: Directory, U: DeserializeOwned>(
    directory: &mut D,
    patch: Value,
    mut apply: impl FnMut(&mut D, String, U),
) -> Result<(), String> {
    let patch = Patch::deserialize(patch).map_err(|e| e.to_string())?;
    for (name, user) in patch.users {
        let user = U::deserialize(user).map_err(|e| format!("{name}: {e}"))?;
        apply(directory, name, user);
    }
    if let Some(devices) = patch.mfa_devices {
        devices.check_users(|u| directory.has_user(u))?;
        directory.mfa_devices().apply(devices);
    }
    Ok(())
}

/// A directory's patch: users by name, each read as the provider's own user patch, and MFA devices.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    #[serde(default)]
    users: BTreeMap<String, Value>,
    mfa_devices: Option<mfa::Patch>,
}

/// Takes a patch's `"accounts"` out of it: `{"<id>": {"name", "status", "join_method", <the
/// provider's directory patch>}}`, `status` one of the organisation's, `join_method` `created` or
/// `invited`.
fn take_accounts<D>(
    patch: &mut Value,
    organisation: &Organisation<D>,
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
            let mut word = |field: &str, allowed: Option<&[&str]>| {
                let value = match rest.as_object_mut().and_then(|r| r.remove(field)) {
                    None => return Ok(None),
                    Some(Value::String(s)) if !s.is_empty() => s,
                    Some(other) => {
                        return Err(format!("accounts: {id}: {field} {other} is not a name"));
                    }
                };
                match allowed {
                    Some(allowed) if !allowed.contains(&value.as_str()) => Err(format!(
                        "accounts: {id}: {field} {value}: use one of {}",
                        allowed.join(", ")
                    )),
                    _ => Ok(Some(value)),
                }
            };
            let name = word("name", None)?;
            let status = word("status", Some(organisation.statuses))?;
            let join_method = word("join_method", Some(JOIN_METHODS))?;
            if !rest.is_object() {
                return Err(format!("accounts: {id}: give an object"));
            }
            let patch = AccountPatch {
                name,
                status,
                join_method,
                rest,
            };
            Ok((id, patch))
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
    #[derive(Clone, Default, Serialize)]
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

    const NOW: OffsetDateTime = datetime!(2024-01-01 00:00 UTC);

    /// A cloud of numbers whose members are `up` or `down` (only `up` reachable).
    fn cloud() -> Account<Numbers> {
        let organisation = Organisation {
            statuses: &["up", "down"],
            reachable: &["up"],
            new: |_| Numbers::default(),
        };
        let ttl = Duration::from_secs(3600);
        let numbers = Numbers::default();
        Account::new(
            ("main", "main"),
            ("id", "secret"),
            Vec::new(),
            ttl,
            numbers,
            Some(organisation),
        )
        .unwrap()
    }

    fn tamper(account: &Account<Numbers>, patch: &Value) -> Result<(), String> {
        account.tamper(patch, NOW, |directory, _, patch| {
            patch_directory(directory, patch, |directory: &mut Numbers, name, n: u32| {
                directory.users.insert(name, n);
            })
        })
    }

    #[test]
    fn a_bad_user_patch_names_the_user_and_changes_nothing() {
        let account = cloud();
        let temporary = json!({"tmp": {"secret": "s", "security_token": "t"}});
        let bad = json!({"users": {"alice": 1, "bob": "two"}, "temporary_keys": temporary});
        let refused = tamper(&account, &bad).unwrap_err();
        assert!(refused.starts_with("bob: "), "{refused}");
        assert_eq!(account.state(), json!({"temporary_keys": {}}));
        // A device of a user neither there nor added by the patch: nothing changes either.
        let ghost = json!({"users": {"alice": 1}, "temporary_keys": temporary,
            "mfa_devices": {"bound": {"ghost": [{"serial_number": "s"}]}}});
        let refused = tamper(&account, &ghost).unwrap_err();
        assert!(refused.contains("ghost does not exist"), "{refused}");
        assert_eq!(account.state(), json!({"temporary_keys": {}}));

        let good = json!({"users": {"alice": 1}, "temporary_keys": temporary,
            "mfa_devices": {"bound": {"alice": [{"serial_number": "s"}]}}});
        tamper(&account, &good).unwrap();
        assert!(account.lock().mfa_devices.of("alice").is_some());
        let state = account.state();
        assert_eq!(state["alice"], 1);
        assert_eq!(
            state["temporary_keys"]["tmp"]["expires_at"],
            "2024-01-01T01:00:00Z"
        );
    }

    #[test]
    fn a_refused_accounts_patch_leaves_every_account_as_it_was() {
        let account = cloud();
        tamper(
            &account,
            &json!({"accounts": {"a": {"name": "alpha", "users": {"x": 1}}}}),
        )
        .unwrap();
        let before = account.state();
        let roles = json!({"roles": {"*": {"trusted": ["id"]}}});
        // The main part, a member changed, a member added, keys and roles: all good but the last
        // member's users.
        let refused = tamper(
            &account,
            &json!({"users": {"m": 1}, "sts": roles,
            "temporary_keys": {"tmp": {"secret": "s", "security_token": "t"}},
            "accounts": {
                "a": {"name": "renamed", "status": "down", "join_method": "invited",
                      "users": {"x": 2}},
                "b": {"users": {"y": 1}},
                "c": {"users": {"z": "three"}},
            }}),
        )
        .unwrap_err();
        assert!(refused.starts_with("accounts: c: z: "), "{refused}");
        assert_eq!(account.state(), before);
        assert!(account.scope("b").is_none());
        assert_eq!(account.may_assume("id", "any"), Err(Refusal::UnknownRole));

        // Names are unique, the main account's included; bad words are refused before anything.
        for (patch, error) in [
            (
                json!({"b": {"name": "alpha"}}),
                "the name alpha is account a's",
            ),
            (
                json!({"b": {"name": "main"}}),
                "the name main is account main's",
            ),
            (
                json!({"b": {"name": "beta"}, "c": {"name": "beta"}}),
                "name beta",
            ),
            (json!({"b": {"status": "gone"}}), "use one of up, down"),
            (
                json!({"b": {"join_method": "bought"}}),
                "use one of created, invited",
            ),
            (
                json!({"b": {"sts": roles}}),
                "belong to the main account's patch",
            ),
            (json!({"main": {}}), "the main account"),
        ] {
            let refused = tamper(&account, &json!({"accounts": patch})).unwrap_err();
            assert!(refused.contains(error), "{patch}: {refused}");
            assert_eq!(account.state(), before, "{patch}");
        }
        // Renaming a member to a name it frees in the same patch is fine.
        tamper(
            &account,
            &json!({"accounts": {"a": {"name": "omega"}, "b": {"name": "alpha"}}}),
        )
        .unwrap();
        assert_eq!(account.scope_named("alpha").map(|s| s.id), Some("b".into()));
    }

    #[test]
    fn only_members_in_a_reachable_status_are_reachable() {
        let account = cloud();
        tamper(
            &account,
            &json!({"accounts": {"a": {}, "b": {"status": "down"}}}),
        )
        .unwrap();
        let reachable = |id: &str| account.scope(id).map(|s| s.reachable);
        assert_eq!(
            (reachable("main"), reachable("a"), reachable("b")),
            (Some(true), Some(true), Some(false))
        );
        let members = account.members(&account.main()).unwrap();
        let brief: Vec<(&str, &str, &str)> = (members.iter())
            .map(|(id, i)| (id.as_str(), i.status.as_str(), i.join_method.as_str()))
            .collect();
        assert_eq!(brief, [("a", "up", "created"), ("b", "down", "created")]);
        assert!(account.members(&account.scope("a").unwrap()).is_none());
    }
}
