//! The validation pass: every row is checked before anything is sent (docs/contract.md §2). Streams the file
//! once; problems are handed out as they are found, so none is held in memory.

use crate::accounts::AccountKey;
use crate::input::{InputError, InputFile, Problem, RawRow, Validator};
use crate::jobs::{Action, ProviderKind};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Default)]
pub struct Scan {
    pub rows: u64,
    pub invalid_rows: u64,
    /// Accounts the valid rows use.
    pub accounts: BTreeSet<AccountKey>,
    /// Rows per account, valid or not (for the progress's ETA).
    pub rows_by_account: BTreeMap<AccountKey, u64>,
    /// Providers that appear in the file.
    pub providers: BTreeSet<ProviderKind>,
    /// The actions of the valid rows, by provider.
    pub actions: BTreeSet<(ProviderKind, Action)>,
    /// Some row reads state (it gets `observed_*` columns).
    pub reads: bool,
    /// Some row works on users (their results have a `steps` column).
    pub lifecycle: bool,
    /// The valid delete-user rows, per provider.
    pub user_deletes: BTreeMap<ProviderKind, u64>,
}

impl Scan {
    /// `2 of 3 rows have problems`, `1 of 1 row has problems`.
    pub fn problems(&self) -> String {
        format!(
            "{} of {} {} problems",
            self.invalid_rows,
            count(self.rows, "row", "rows"),
            if self.invalid_rows == 1 {
                "has"
            } else {
                "have"
            }
        )
    }
}

/// `1 row`, `2 rows`, `0 rows`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn scan(file: &InputFile, mut on_problem: impl FnMut(&Problem)) -> Result<Scan, InputError> {
    let mut validator = Validator::new(file);
    let mut rows = file.rows()?;
    let mut raw = RawRow::default();
    let mut scan = Scan::default();
    while rows.read(&mut raw)? {
        scan.rows += 1;
        if let Some(key) = validator.route(&raw) {
            *scan.rows_by_account.entry(key).or_default() += 1;
        }
        match validator.check(&raw) {
            Ok(job) => {
                scan.providers.insert(job.provider);
                scan.actions.insert((job.provider, job.action));
                scan.reads |= !job.action.is_write();
                scan.lifecycle |= job.action.is_lifecycle();
                if job.action == Action::DeleteUser {
                    *scan.user_deletes.entry(job.provider).or_default() += 1;
                }
                scan.accounts.insert((job.provider, job.account));
            }
            Err(problems) => {
                scan.invalid_rows += 1;
                if let Some((provider, _)) = validator.route(&raw) {
                    scan.providers.insert(provider);
                }
                problems.iter().for_each(&mut on_problem);
            }
        }
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_english() {
        let scan = |rows, invalid_rows| Scan {
            rows,
            invalid_rows,
            ..Scan::default()
        };
        assert_eq!(scan(1, 1).problems(), "1 of 1 row has problems");
        assert_eq!(scan(3, 1).problems(), "1 of 3 rows has problems");
        assert_eq!(scan(3, 2).problems(), "2 of 3 rows have problems");
        assert_eq!(count(0, "user", "users"), "0 users");
        assert_eq!(count(1, "user", "users"), "1 user");
    }
}
