//! What the emulator's HTTP tests share: an emulator started with the users a test needs, a client
//! of one provider's port, and the answers it reads.

use super::{Emulator, EmulatorConfig};
use crate::jobs::ProviderKind;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// A reply as a test reads it.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    /// JSON; a body that is not JSON (a gateway's HTML page) as a string; `Null` if empty.
    pub body: Value,
}

impl Answer {
    pub async fn read(response: reqwest::Response) -> reqwest::Result<Answer> {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let body = match serde_json::from_slice(&bytes) {
            Ok(json) => json,
            Err(_) if bytes.is_empty() => Value::Null,
            Err(_) => Value::String(String::from_utf8_lossy(&bytes).into()),
        };
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Alibaba's error `Code`; empty on success.
    pub fn code(&self) -> &str {
        self.body["Code"].as_str().unwrap_or("")
    }

    /// Huawei's `error_code` (gateway and IAM errors); empty otherwise.
    pub fn error_code(&self) -> &str {
        self.body["error_code"].as_str().unwrap_or("")
    }

    /// UCloud's `RetCode`, which every reply has.
    pub fn ret_code(&self) -> i64 {
        self.body["RetCode"]
            .as_i64()
            .expect("every reply has a RetCode")
    }

    /// A header's value; empty if there is none.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |v| v.to_str().unwrap_or(""))
    }
}

/// The emulator started with `config` and, unless the config names a users file, `users` (a state
/// patch's `users`) in `kind`'s account: users exist only if someone created them. With an HTTP
/// client (no proxy) and the base URL of `kind`'s port.
pub async fn start(
    config: EmulatorConfig,
    kind: ProviderKind,
    users: Value,
) -> (Emulator, reqwest::Client, url::Url) {
    let seed = config.users.is_none();
    let emulator = Emulator::start(config).await.unwrap();
    if seed {
        emulator
            .tamper(&json!({ kind.name(): { "users": users } }))
            .unwrap();
    }
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = emulator.endpoint(kind);
    (emulator, http, base)
}

/// `kind`'s users, to compare after requests that must change nothing.
pub fn users(emulator: &Emulator, kind: ProviderKind) -> Value {
    emulator.state()[kind.name()]["users"].clone()
}

/// The log holds `count` requests, every one `rejected`. The log, for more checks.
pub fn all_rejected(emulator: &Emulator, count: usize) -> Vec<Value> {
    let log = emulator.requests();
    assert_eq!(log.len(), count);
    assert!(
        log.iter().all(|line| line["outcome"] == "rejected"),
        "{log:?}"
    );
    log
}
