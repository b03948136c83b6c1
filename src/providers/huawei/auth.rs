//! How a Huawei account authenticates, chosen from its keys (docs/providers.md §3.3, §3.6).

use crate::providers::{ConnectError, Keys};
use crate::secret::Secret;

/// Every way to give Huawei credentials, for error messages.
const CHOICES: &str = "give ak, sk and domain_id (HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK, \
     HUAWEICLOUD_SDK_DOMAIN_ID), or an IAM user's user_name, password and domain_name \
     (HUAWEICLOUD_USER_NAME, HUAWEICLOUD_PASSWORD, HUAWEICLOUD_DOMAIN_NAME), or a token \
     (HUAWEICLOUD_AUTH_TOKEN), in the environment or the config file; or put ak, sk and domain_id \
     in the [global] section of ~/.huaweicloud/credentials";

pub enum Auth {
    /// AK/SK signature. IAM is a global service, so requests carry the account id as `X-Domain-Id`
    /// (the SDKs look it up with another signed call; we ask for it instead).
    AkSk {
        ak: String,
        sk: Secret,
        domain_id: String,
        security_token: Option<Secret>,
    },
    /// An IAM user's password, exchanged for a token at `POST /v3/auth/tokens` and renewed.
    Password {
        user_name: String,
        password: Secret,
        domain_name: String,
    },
    /// A token obtained elsewhere: sent as is, never renewed.
    Token(Secret),
}

impl Auth {
    /// AK/SK when `ak` or `sk` is given, else password auth when any of its keys is, else a ready
    /// token. A half-given set is an error naming the missing key rather than a silent fall-through.
    pub fn from_keys(account: &str, keys: &Keys) -> Result<Auth, ConnectError> {
        let need = |key: &str, hint: &str| {
            keys.get(key).cloned().ok_or_else(|| ConnectError::Missing {
                account: account.to_string(),
                key: key.to_string(),
                hint: hint.to_string(),
            })
        };
        if keys.get("ak").is_some() || keys.get("sk").is_some() {
            let aksk = "AK/SK auth needs ak, sk and domain_id (the account ID, shown on the \
                        console's My Credentials page)";
            return Ok(Auth::AkSk {
                ak: need("ak", aksk)?.expose().to_string(),
                sk: need("sk", aksk)?,
                domain_id: need("domain_id", aksk)?.expose().to_string(),
                security_token: keys.get("security_token").cloned(),
            });
        }
        if ["user_name", "password", "domain_name"]
            .iter()
            .any(|k| keys.get(k).is_some())
        {
            let password = "token auth needs the IAM user's user_name and password and the \
                            account name as domain_name";
            return Ok(Auth::Password {
                user_name: need("user_name", password)?.expose().to_string(),
                password: need("password", password)?,
                domain_name: need("domain_name", password)?.expose().to_string(),
            });
        }
        // Nothing given: name AK/SK, the SDKs' default, and list every choice.
        let token = keys.get("token").cloned();
        token.map(Auth::Token).ok_or_else(|| ConnectError::Missing {
            account: account.to_string(),
            key: "ak".to_string(),
            hint: CHOICES.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::testing::keys;

    fn missing(pairs: &[(&str, &str)]) -> (String, String) {
        match Auth::from_keys("kl", &keys(pairs)) {
            Err(ConnectError::Missing { key, hint, .. }) => (key, hint),
            Err(other) => panic!("unexpected error: {other}"),
            Ok(_) => panic!("connected without {pairs:?}"),
        }
    }

    #[test]
    fn aksk_wins_when_ak_and_sk_are_given() {
        let auth = Auth::from_keys(
            "hq",
            &keys(&[
                ("ak", "AK1"),
                ("sk", "SK1"),
                ("domain_id", "d1"),
                ("user_name", "ops"),
                ("token", "t"),
            ]),
        )
        .unwrap();
        assert!(
            matches!(auth, Auth::AkSk { ref ak, ref domain_id, security_token: None, .. }
            if ak == "AK1" && domain_id == "d1")
        );
    }

    #[test]
    fn password_auth_then_ready_token() {
        let auth = Auth::from_keys(
            "kl",
            &keys(&[
                ("user_name", "ops"),
                ("password", "pw"),
                ("domain_name", "corp"),
                ("token", "t"),
            ]),
        )
        .unwrap();
        assert!(
            matches!(auth, Auth::Password { ref user_name, ref domain_name, .. }
            if user_name == "ops" && domain_name == "corp")
        );
        let auth = Auth::from_keys("kl", &keys(&[("token", "t")])).unwrap();
        assert!(matches!(auth, Auth::Token(ref t) if t.expose() == "t"));
    }

    #[test]
    fn a_half_given_set_names_the_missing_key() {
        assert_eq!(missing(&[("ak", "AK1"), ("sk", "SK1")]).0, "domain_id");
        assert_eq!(missing(&[("ak", "AK1"), ("domain_id", "d")]).0, "sk");
        assert_eq!(missing(&[("sk", "SK1")]).0, "ak");
        assert_eq!(
            missing(&[("user_name", "ops"), ("password", "pw")]).0,
            "domain_name"
        );
        assert_eq!(
            missing(&[("domain_name", "corp"), ("token", "t")]).0,
            "user_name"
        );
    }

    #[test]
    fn nothing_given_lists_every_choice() {
        let (key, hint) = missing(&[("ak", "")]);
        assert_eq!(key, "ak");
        for name in [
            "HUAWEICLOUD_SDK_AK",
            "HUAWEICLOUD_USER_NAME",
            "HUAWEICLOUD_AUTH_TOKEN",
        ] {
            assert!(hint.contains(name), "{hint}");
        }
    }

    #[test]
    fn errors_never_show_secrets() {
        let err = Auth::from_keys("kl", &keys(&[("sk", "canary-5ecret")]))
            .err()
            .unwrap();
        assert!(!err.to_string().contains("canary-5ecret"));
    }
}
