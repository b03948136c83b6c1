//! Temporary credentials: an access key id with its secret and the security token issued with it,
//! valid until they expire. A request signed with a temporary key must carry exactly that token, and
//! a token is accepted only if this emulator issued it. Keys are issued by the STS modules
//! (`sts/`) or registered by a state patch (`"temporary_keys"`, documented in each provider's
//! module).

use crate::secret::Secret;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Why a key and token were refused; each provider words it in its own reply.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyError {
    UnknownKey,
    /// A temporary key without its token.
    MissingToken,
    /// A token this emulator never issued.
    UnknownToken,
    /// A token issued with another key.
    TokenOfAnotherKey,
    Expired,
}

struct Temporary {
    secret: Secret,
    token: Secret,
    expires_at: OffsetDateTime,
    /// The role whose session issued it; `None` for a key of a patch.
    role: Option<String>,
    /// The account it was issued into (the role's); `None`: the main account.
    account: Option<String>,
}

/// What every issued secret and token starts with (a huawei token: after its `MII`), so that a
/// test can tell one in any output.
pub const ISSUED_SECRET_PREFIX: &str = "EmuTmpSecret";
pub const ISSUED_TOKEN_PREFIX: &str = "EmuTmpToken";

/// Temporary credentials just issued: the only time their secret and token leave the emulator.
pub struct Issued {
    pub id: String,
    pub secret: Secret,
    pub token: Secret,
    pub expires_at: OffsetDateTime,
}

/// Keys of a patch, read and checked, not registered yet.
pub struct Registered(Vec<(String, Temporary)>);

impl Registered {
    /// Reads `patch` (key id → key), each expiring at its `expires_at` or at `default_expiry`,
    /// for [`TemporaryKeys::insert`].
    pub fn parse(
        patch: BTreeMap<String, TemporaryPatch>,
        default_expiry: OffsetDateTime,
    ) -> Result<Registered, String> {
        let mut parsed = Vec::new();
        for (id, key) in patch {
            let expires_at = match &key.expires_at {
                None => default_expiry,
                Some(t) => OffsetDateTime::parse(t, &Rfc3339)
                    .map_err(|e| format!("temporary key {id}: expires_at '{t}': {e}; use RFC 3339, e.g. 2030-01-01T00:00:00Z"))?,
            };
            if key.secret.is_empty() || key.security_token.is_empty() {
                return Err(format!(
                    "temporary key {id}: give a secret and a security_token"
                ));
            }
            parsed.push((
                id,
                Temporary {
                    secret: Secret::new(key.secret),
                    token: Secret::new(key.security_token),
                    expires_at,
                    role: None,
                    account: None,
                },
            ));
        }
        Ok(Registered(parsed))
    }
}

#[derive(Default)]
pub struct TemporaryKeys(Mutex<HashMap<String, Temporary>>);

/// One entry of a `"temporary_keys"` patch.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemporaryPatch {
    secret: String,
    security_token: String,
    /// RFC 3339; default: the emulator's token lifetime from now.
    expires_at: Option<String>,
}

impl TemporaryKeys {
    /// Registers keys a patch gave.
    pub fn insert(&self, keys: Registered) {
        self.0.lock().expect("temporary keys").extend(keys.0);
    }

    /// New random credentials for a session of `role` in `account` (`None`: the main one), live
    /// until `expires_at`; the key id starts with `prefix` (aliyun `STS.`).
    pub fn issue(
        &self,
        prefix: &str,
        role: &str,
        account: Option<&str>,
        expires_at: OffsetDateTime,
    ) -> Issued {
        let random = |n: usize| {
            use rand::Rng;
            rand::rng()
                .sample_iter(rand::distr::Alphanumeric)
                .take(n)
                .map(char::from)
                .collect::<String>()
        };
        let issued = Issued {
            id: format!("{prefix}{}", random(20)),
            secret: Secret::new(format!("{ISSUED_SECRET_PREFIX}{}", random(30))),
            token: Secret::new(format!("{ISSUED_TOKEN_PREFIX}{}", random(120))),
            expires_at,
        };
        self.0.lock().expect("temporary keys").insert(
            issued.id.clone(),
            Temporary {
                secret: issued.secret.clone(),
                token: issued.token.clone(),
                expires_at,
                role: Some(role.to_string()),
                account: account.map(str::to_string),
            },
        );
        issued
    }

    /// Ends every issued credential now, as if its lifetime were over.
    pub fn expire_issued(&self, now: OffsetDateTime) {
        let mut keys = self.0.lock().expect("temporary keys");
        for key in keys.values_mut().filter(|k| k.role.is_some()) {
            key.expires_at = key.expires_at.min(now);
        }
    }

    /// The role whose session issued temporary key `id`, if it was issued so.
    pub fn role_of(&self, id: &str) -> Option<String> {
        let keys = self.0.lock().expect("temporary keys");
        keys.get(id)?.role.clone()
    }

    /// The account temporary key `id` was issued into, if not the main one.
    pub fn account_of(&self, id: &str) -> Option<String> {
        let keys = self.0.lock().expect("temporary keys");
        keys.get(id)?.account.clone()
    }

    /// The secret to check a request's signature with: a permanent key's when the request carries
    /// no token, a temporary key's when it carries the token issued with it and that is still live.
    pub fn secret(
        &self,
        permanent: &HashMap<String, Secret>,
        id: &str,
        token: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Secret, KeyError> {
        let keys = self.0.lock().expect("temporary keys");
        let issued_to_another = |token: &str| {
            keys.iter()
                .any(|(other, key)| other != id && key.token.expose() == token)
        };
        let temporary = keys.get(id);
        let secret = match (temporary, permanent.get(id)) {
            (None, None) => return Err(KeyError::UnknownKey),
            (Some(key), _) => &key.secret,
            (None, Some(secret)) => secret,
        };
        match (temporary, token) {
            (None, None) => Ok(secret.clone()),
            (Some(_), None) => Err(KeyError::MissingToken),
            (Some(key), Some(token)) if key.token.expose() == token => {
                if now < key.expires_at {
                    Ok(secret.clone())
                } else {
                    Err(KeyError::Expired)
                }
            }
            (_, Some(token)) if issued_to_another(token) => Err(KeyError::TokenOfAnotherKey),
            (_, Some(_)) => Err(KeyError::UnknownToken),
        }
    }

    /// For the state: the temporary key ids and when each expires, never a secret or token.
    pub fn state(&self) -> Value {
        let keys = self.0.lock().expect("temporary keys");
        let mut ids: Vec<(&String, &Temporary)> = keys.iter().collect();
        ids.sort_by_key(|(id, _)| *id);
        Value::Object(
            ids.into_iter()
                .map(|(id, key)| {
                    let expires = key.expires_at.format(&Rfc3339).unwrap_or_default();
                    (id.clone(), json!({ "expires_at": expires }))
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    fn keys(now: OffsetDateTime) -> (TemporaryKeys, HashMap<String, Secret>) {
        let temporary = TemporaryKeys::default();
        let patch = serde_json::from_value(json!({
            "STS.one": {"secret": "s1", "security_token": "token-1"},
            "STS.two": {"secret": "s2", "security_token": "token-2", "expires_at": "2024-01-01T00:00:00Z"},
        }))
        .unwrap();
        temporary.insert(Registered::parse(patch, now + Duration::hours(1)).unwrap());
        let permanent = HashMap::from([("LTAI.perm".to_string(), Secret::new("p"))]);
        (temporary, permanent)
    }

    #[test]
    fn a_temporary_key_needs_the_token_issued_with_it() {
        let now = datetime!(2023-06-01 00:00 UTC);
        let (t, permanent) = keys(now);
        let cases = [
            ("STS.one", Some("token-1"), Ok("s1")),
            ("STS.one", None, Err(KeyError::MissingToken)),
            ("STS.one", Some("forged"), Err(KeyError::UnknownToken)),
            ("STS.one", Some("token-2"), Err(KeyError::TokenOfAnotherKey)),
            ("LTAI.perm", None, Ok("p")),
            ("LTAI.perm", Some("forged"), Err(KeyError::UnknownToken)),
            (
                "LTAI.perm",
                Some("token-1"),
                Err(KeyError::TokenOfAnotherKey),
            ),
            ("nobody", None, Err(KeyError::UnknownKey)),
            ("nobody", Some("forged"), Err(KeyError::UnknownKey)),
        ];
        for (id, token, want) in cases {
            let got = t.secret(&permanent, id, token, now);
            assert_eq!(
                got.as_ref().map(Secret::expose),
                want.as_ref().copied(),
                "{id} {token:?}"
            );
        }
        let later = datetime!(2024-01-01 00:00 UTC);
        assert_eq!(
            t.secret(&permanent, "STS.two", Some("token-2"), later)
                .map(|_| ()),
            Err(KeyError::Expired)
        );
        assert_eq!(t.state()["STS.one"]["expires_at"], "2023-06-01T01:00:00Z");
        assert!(!t.state().to_string().contains("token-1"));
    }
}
