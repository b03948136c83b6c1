//! The results CSV (a stable, documented schema that doubles as `--resume` input), the progress
//! display and the final summary.

pub mod cells;
pub mod failures;
pub mod journal;
pub mod masked;
pub mod previous;
pub mod progress;
pub mod rate;
pub mod results;
pub mod schema;
pub mod writer;

use crate::providers::Observed;

/// A row's final status (SPEC §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Succeeded,
    Failed,
    Invalid,
    NotAttempted,
    Skipped,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Succeeded,
        Status::Failed,
        Status::Invalid,
        Status::NotAttempted,
        Status::Skipped,
    ];

    pub fn from_name(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Invalid => "invalid",
            Status::NotAttempted => "not_attempted",
            Status::Skipped => "skipped",
        }
    }
}

/// What a succeeded row did (SPEC §3, §6 for `plan`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Deleted,
    Read,
    WouldCreate,
    WouldUpdate,
    Conflict,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::Created,
        Outcome::Updated,
        Outcome::Unchanged,
        Outcome::Deleted,
        Outcome::Read,
        Outcome::WouldCreate,
        Outcome::WouldUpdate,
        Outcome::Conflict,
    ];

    pub fn from_name(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::Deleted => "deleted",
            Outcome::Read => "read",
            Outcome::WouldCreate => "would-create",
            Outcome::WouldUpdate => "would-update",
            Outcome::Conflict => "conflict",
        }
    }
}

/// One finished row, with its input cells.
#[derive(Debug)]
pub struct RowResult {
    pub index: u64,
    pub line: u64,
    /// The account's display name, for the summary.
    pub account: String,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attempts: u32,
    pub http_status: Option<u16>,
    pub request_id: Option<String>,
    pub elapsed_ms: Option<u64>,
    pub observed: Option<Observed>,
    pub record: csv::StringRecord,
}

impl RowResult {
    /// A row that is finished without any request.
    pub fn without_request(
        index: u64,
        line: u64,
        account: String,
        status: Status,
        code: &str,
        message: String,
        record: csv::StringRecord,
    ) -> RowResult {
        RowResult {
            index,
            line,
            account,
            status,
            outcome: None,
            error_code: Some(code.to_string()),
            error_message: Some(message),
            attempts: 0,
            http_status: None,
            request_id: None,
            elapsed_ms: None,
            observed: None,
            record,
        }
    }
}
