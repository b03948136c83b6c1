//! The validation pass: every row is checked before anything is sent (SPEC §2). Streams the file
//! once; problems are handed out as they are found, so none is held in memory.

use crate::accounts::AccountKey;
use crate::input::{InputError, InputFile, Problem, RawRow, Validator};
use crate::jobs::ProviderKind;
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
    /// Some row reads state (it gets `observed_*` columns).
    pub reads: bool,
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
                scan.reads |= !job.action.is_write();
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
