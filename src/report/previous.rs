//! What the run being resumed already did (docs/contract.md §5 `--resume`): read back from its results file,
//! which may be a finished input-order file or the completion-order file a killed run left. Rows are
//! matched by line and by a fingerprint of their input cells as the results file holds them
//! (passwords masked), so an edited input is noticed instead of silently mismatched.

use crate::report::cells::unescape_formula;
use crate::report::schema::Schema;
use crate::report::{Outcome, Status};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error("cannot read the results file {path} to resume it")]
    Read { path: PathBuf, source: csv::Error },
    #[error(
        "the results file {path} has other columns than this run would write: it was made from another input or with other options; resume with the same input and options, or write to a new file with -o"
    )]
    Columns { path: PathBuf },
    #[error(
        "the results file {path}, record {record}: {message}; it is not an iambatch results file, or it was edited"
    )]
    Record {
        path: PathBuf,
        record: u64,
        message: String,
    },
}

/// One line's latest result in the file being resumed.
#[derive(Clone, Debug, PartialEq)]
pub struct PreviousRow {
    pub line: u64,
    pub fingerprint: u64,
    pub status: Status,
    pub outcome: Option<Outcome>,
    /// Its last attempt was sent and got no reply.
    pub unknown_outcome: bool,
    /// Its `steps` cell: the requests it made, each `Api[:target]=result`.
    pub steps: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Previous {
    /// Sorted by line; one entry per line (the latest record wins).
    rows: Vec<PreviousRow>,
    /// Bytes of the file that hold whole records; a torn last record is cut off before appending.
    pub valid_len: u64,
}

impl Previous {
    pub fn load(path: &Path, schema: &Schema, delimiter: u8) -> Result<Previous, ResumeError> {
        let read_err = |source| ResumeError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .from_path(path)
            .map_err(read_err)?;
        let mut record = csv::StringRecord::new();
        if !reader.read_record(&mut record).map_err(read_err)? || &record != schema.header() {
            return Err(ResumeError::Columns {
                path: path.to_path_buf(),
            });
        }
        let mut valid_len = reader.position().byte();
        let own = schema.own_len();
        let mut rows = Vec::new();
        let mut number = 0;
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                // A record torn by a kill: everything before it stands.
                Err(_) => break,
            }
            number += 1;
            if record.len() != schema.header().len() {
                // Only the last record can be torn; anything else is damage.
                if reader
                    .read_record(&mut csv::StringRecord::new())
                    .map(|more| !more)
                    .unwrap_or(false)
                {
                    break;
                }
                return Err(ResumeError::Record {
                    path: path.to_path_buf(),
                    record: number,
                    message: "wrong number of cells".into(),
                });
            }
            let bad = |message: &str| ResumeError::Record {
                path: path.to_path_buf(),
                record: number,
                message: message.into(),
            };
            let line = record[0]
                .parse::<u64>()
                .map_err(|_| bad("its line cell is not a number"))?;
            let status = record[1]
                .parse::<Status>()
                .map_err(|_| bad("its status is not one of iambatch's"))?;
            let outcome = record[2].parse::<Outcome>().ok();
            let fingerprint = fingerprint(record.iter().skip(own).map(unescape_formula));
            rows.push(PreviousRow {
                line,
                fingerprint,
                status,
                outcome,
                unknown_outcome: &record[3] == crate::engine::client::codes::UNKNOWN_OUTCOME,
                steps: schema
                    .steps_column()
                    .map(|i| unescape_formula(&record[i]))
                    .map(|cell| {
                        cell.split(';')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            });
            valid_len = reader.position().byte();
        }
        // Stable sort keeps file order within a line, so the last record of a line wins.
        rows.sort_by_key(|r| r.line);
        rows.reverse();
        rows.dedup_by_key(|r| r.line);
        rows.reverse();
        Ok(Previous { rows, valid_len })
    }

    pub fn get(&self, line: u64) -> Option<&PreviousRow> {
        self.rows
            .binary_search_by_key(&line, |r| r.line)
            .ok()
            .map(|i| &self.rows[i])
    }
}

/// A row's identity across runs: its input cells as the results file writes them (passwords as
/// `***`, ragged rows padded to `width`), hashed.
pub fn fingerprint<'a>(cells: impl Iterator<Item = &'a str>) -> u64 {
    let mut hash = Sha256::new();
    for cell in cells {
        hash.update((cell.len() as u64).to_le_bytes());
        hash.update(cell.as_bytes());
    }
    u64::from_le_bytes(hash.finalize()[..8].try_into().expect("8 bytes"))
}

/// The fingerprint of an input row, as [`Previous::load`] computes it from the results file.
pub fn row_fingerprint(
    record: &csv::StringRecord,
    width: usize,
    is_password: impl Fn(usize) -> bool,
) -> u64 {
    let cells = (0..width).map(|i| match record.get(i) {
        Some(c) if is_password(i) && !c.is_empty() => "***",
        Some(c) => c,
        None => "",
    });
    fingerprint(cells)
}
