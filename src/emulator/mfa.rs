//! MFA devices of one emulated account, the same model for every provider: each user's bound
//! devices (virtual ones, `VMFA`, and security keys, `U2F`) and the virtual devices created but
//! never bound. Each provider shows what its API shows of them (aliyun lists virtual devices,
//! unbound ones without a user, and names the type of one user's device; huawei lists bound virtual
//! devices; ucloud says whether a user has one).
//!
//! State and patch, under `"mfa_devices"` of a provider's state and patch: `{"bound": {"<user>":
//! [{"serial_number", "type": "VMFA" | "U2F"}]}, "unbound": ["<serial number>"]}`, users keyed as
//! the provider's patch keys them. A patch replaces the devices of each user it names (`[]` unbinds
//! them all) and, when given, the whole unbound list; `type` defaults to `VMFA`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A virtual (TOTP) device.
    #[serde(rename = "VMFA")]
    Virtual,
    /// A security key.
    #[serde(rename = "U2F")]
    SecurityKey,
}

impl Kind {
    /// The type name aliyun's GetUserMFAInfo answers.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Virtual => "VMFA",
            Kind::SecurityKey => "U2F",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    pub serial_number: String,
    #[serde(rename = "type", default = "virtual_kind")]
    pub kind: Kind,
}

fn virtual_kind() -> Kind {
    Kind::Virtual
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Devices {
    bound: BTreeMap<String, Vec<Device>>,
    unbound: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    #[serde(default)]
    bound: BTreeMap<String, Vec<Device>>,
    unbound: Option<Vec<String>>,
}

impl Patch {
    /// Checks that every user the patch binds devices to exists (`exists`), before anything
    /// changes.
    pub fn check_users(&self, exists: impl Fn(&str) -> bool) -> Result<(), String> {
        match self.bound.keys().find(|user| !exists(user)) {
            Some(user) => Err(format!(
                "mfa_devices: user {user} does not exist: add it under users"
            )),
            None => Ok(()),
        }
    }
}

impl Devices {
    /// Applies a patch whose users the caller has checked.
    pub fn apply(&mut self, patch: Patch) {
        for (user, devices) in patch.bound {
            match devices.is_empty() {
                true => self.bound.remove(&user),
                false => self.bound.insert(user, devices),
            };
        }
        if let Some(unbound) = patch.unbound {
            self.unbound = unbound;
        }
    }

    /// Forgets a deleted user's devices.
    pub fn forget(&mut self, user: &str) {
        self.bound.remove(user);
    }

    /// The user's first device, virtual ones first (what a console asks for at sign-in).
    pub fn of(&self, user: &str) -> Option<&Device> {
        let devices = self.bound.get(user)?;
        devices
            .iter()
            .find(|d| d.kind == Kind::Virtual)
            .or_else(|| devices.first())
    }

    /// Unbinds every device of `user`: virtual ones stay in the account, unbound; security keys
    /// go. Answers the device [`Devices::of`] named, if any.
    pub fn unbind(&mut self, user: &str) -> Option<Device> {
        let first = self.of(user).cloned();
        for device in self.bound.remove(user).unwrap_or_default() {
            if device.kind == Kind::Virtual {
                self.unbound.push(device.serial_number);
            }
        }
        first
    }

    /// Moves `from`'s devices to `to` (a user renamed).
    pub fn rename(&mut self, from: &str, to: &str) {
        if let Some(devices) = self.bound.remove(from) {
            self.bound.insert(to.to_string(), devices);
        }
    }

    /// Every virtual device: its serial number and its user (`None`: never bound), by serial number.
    pub fn virtual_devices(&self) -> Vec<(&str, Option<&str>)> {
        let mut all: Vec<(&str, Option<&str>)> = self
            .bound
            .iter()
            .flat_map(|(user, devices)| {
                devices
                    .iter()
                    .filter(|d| d.kind == Kind::Virtual)
                    .map(move |d| (d.serial_number.as_str(), Some(user.as_str())))
            })
            .chain(self.unbound.iter().map(|s| (s.as_str(), None)))
            .collect();
        all.sort();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn devices(patch: serde_json::Value) -> Devices {
        let mut devices = Devices::default();
        devices.apply(Patch::deserialize(patch).unwrap());
        devices
    }

    #[test]
    fn virtual_devices_list_bound_and_unbound_but_no_security_key() {
        let d = devices(json!({
            "bound": {
                "ann": [{"serial_number": "acs:ram::1:mfa/ann"}],
                "bob": [{"serial_number": "key-bob", "type": "U2F"}],
            },
            "unbound": ["acs:ram::1:mfa/spare"],
        }));
        assert_eq!(
            d.virtual_devices(),
            vec![
                ("acs:ram::1:mfa/ann", Some("ann")),
                ("acs:ram::1:mfa/spare", None)
            ]
        );
        assert_eq!(d.of("bob").unwrap().kind, Kind::SecurityKey);
        assert_eq!(d.of("ann").unwrap().kind, Kind::Virtual);
        assert!(d.of("carl").is_none());
    }

    #[test]
    fn unbinding_keeps_virtual_devices_unbound_and_drops_security_keys() {
        let mut d = devices(json!({"bound": {
            "ann": [{"serial_number": "key-ann", "type": "U2F"}, {"serial_number": "v-ann"}],
        }}));
        assert_eq!(d.unbind("ann").unwrap().serial_number, "v-ann");
        assert!(d.of("ann").is_none());
        assert_eq!(d.virtual_devices(), vec![("v-ann", None)]);
        assert!(d.unbind("ann").is_none());
    }

    #[test]
    fn an_empty_list_unbinds_and_unknown_fields_are_refused() {
        let mut d = devices(json!({"bound": {"ann": [{"serial_number": "s1"}]}}));
        d.apply(Patch::deserialize(json!({"bound": {"ann": []}})).unwrap());
        assert!(d.of("ann").is_none());
        assert!(Patch::deserialize(json!({"bound": {"ann": [{"serial": "s"}]}})).is_err());
        assert!(
            Patch::deserialize(json!({"bound": {"ann": [{"serial_number": "s", "type": "SMS"}]}}))
                .is_err()
        );
    }
}
