//! The request log: one JSON line per API request seen, kept in memory (the most recent
//! [`KEPT_IN_MEMORY`]) and, when configured, written to a file as it happens.

use super::service::{Meta, Reply};
use crate::jobs::ProviderKind;
use serde::Serialize;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, LineWriter, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

/// Lines kept in memory for `GET /_emulator/requests`; the file, if any, has them all.
pub const KEPT_IN_MEMORY: usize = 20_000;

/// What the emulator did with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The action ran; its reply (success or an API error such as 409) was sent.
    Ok,
    /// Over the account's rate: the provider's throttling reply.
    Throttled,
    /// A 5xx, nothing applied.
    Fault,
    /// The write was applied and the connection closed without a reply.
    Dropped,
    /// Refused before the action ran: credentials, signature, timestamp, nonce, common parameters,
    /// unknown action.
    Rejected,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Throttled => "throttled",
            Outcome::Fault => "fault",
            Outcome::Dropped => "dropped",
            Outcome::Rejected => "rejected",
        }
    }
}

/// One line. `status` and `code` are those of the reply sent, or for `dropped` the one withheld.
#[derive(Serialize)]
struct Line<'a> {
    /// When the request arrived, Unix time in seconds.
    time: f64,
    provider: &'static str,
    account: &'a str,
    account_id: &'a str,
    action: &'a str,
    user: &'a str,
    status: u16,
    code: Option<&'a str>,
    outcome: &'static str,
}

pub struct RequestLog {
    recent: Mutex<VecDeque<String>>,
    file: Option<Mutex<LineWriter<File>>>,
}

impl RequestLog {
    /// A log kept in memory and, with `path`, written there (the file is truncated first).
    pub fn open(path: Option<&Path>) -> io::Result<RequestLog> {
        let file = match path {
            Some(path) => Some(Mutex::new(LineWriter::new(File::create(path).map_err(
                |e| io::Error::new(e.kind(), format!("request log {}: {e}", path.display())),
            )?))),
            None => None,
        };
        Ok(RequestLog {
            recent: Mutex::default(),
            file,
        })
    }

    /// Logs a request that arrived at `arrived`.
    pub fn record(
        &self,
        kind: ProviderKind,
        arrived: SystemTime,
        meta: &Meta,
        reply: &Reply,
        outcome: Outcome,
    ) {
        let time = arrived
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let line = serde_json::to_string(&Line {
            time,
            provider: kind.name(),
            account: &meta.account,
            account_id: &meta.account_id,
            action: &meta.action,
            user: &meta.user,
            status: reply.status.as_u16(),
            code: reply.code.as_deref(),
            outcome: outcome.name(),
        })
        .expect("a log line always serialises");
        if let Some(file) = &self.file {
            let mut file = file.lock().expect("request log file lock");
            if let Err(e) = writeln!(file, "{line}") {
                tracing::warn!("emulator request log: {e}");
            }
        }
        let mut recent = self.recent.lock().expect("request log lock");
        if recent.len() == KEPT_IN_MEMORY {
            recent.pop_front();
        }
        recent.push_back(line);
    }

    /// The lines in memory, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.recent
            .lock()
            .expect("request log lock")
            .iter()
            .cloned()
            .collect()
    }
}
