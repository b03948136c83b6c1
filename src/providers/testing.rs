//! What the providers' tests share: keys, parameters, replies, writes and listed users from
//! literals.

use super::{Keys, ListedUser, Reply, Write};
use crate::jobs::LoginState;
use crate::secret::Secret;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

pub fn keys(pairs: &[(&str, &str)]) -> Keys {
    let mut keys = Keys::default();
    for (k, v) in pairs {
        keys.insert(k, Secret::new(*v));
    }
    keys
}

pub fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    Reply {
        status,
        headers: map,
        body: body.as_bytes().to_vec(),
    }
}

/// A listed user with informational columns and nothing else.
pub fn listed(user: &str, info: &[(&'static str, &str)]) -> ListedUser {
    ListedUser {
        user: user.to_string(),
        info: info.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        ..ListedUser::default()
    }
}

/// A write of `state` with the row's password, if any; no password generated.
pub fn write<'a>(state: &'a LoginState, password: Option<&'a Secret>) -> Write<'a> {
    Write {
        state,
        password,
        generate_password: false,
    }
}
