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
use strum::{EnumString, IntoStaticStr};

/// A row's final status (docs/contract.md §3); parsed from its name by `str::parse`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, IntoStaticStr, EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum Status {
    Succeeded,
    Failed,
    Invalid,
    NotAttempted,
    Skipped,
}

impl Status {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// What a succeeded row did (docs/contract.md §3, §6 for `plan`); parsed from its name by `str::parse`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, IntoStaticStr, EnumString)]
#[strum(serialize_all = "kebab-case")]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Deleted,
    Read,
    WouldCreate,
    WouldUpdate,
    WouldDelete,
    Conflict,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        self.into()
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
    /// The requests of a row of several (the `steps` column).
    pub steps: Vec<String>,
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
            steps: Vec::new(),
            record,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_results_files_and_read_back_exactly() {
        assert_eq!(Status::NotAttempted.name(), "not_attempted");
        assert_eq!(
            "not_attempted".parse::<Status>().ok(),
            Some(Status::NotAttempted)
        );
        assert_eq!("Succeeded".parse::<Status>().ok(), None);
        assert_eq!(Outcome::WouldCreate.name(), "would-create");
        assert_eq!(
            "would-update".parse::<Outcome>().ok(),
            Some(Outcome::WouldUpdate)
        );
        assert_eq!("would_update".parse::<Outcome>().ok(), None);
    }
}
