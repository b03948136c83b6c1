//! The input CSV (docs/contract.md §2): streaming reads of a file's rows, and their validation into [`Job`]s.
//!
//! [`InputFile::open`] checks the encoding and maps the header; [`InputFile::rows`] streams the data
//! rows with one reused buffer (call it again for another pass); a [`Validator`] turns each row into a
//! job or into every problem it has. Memory does not grow with the file.
//!
//! [`Job`]: crate::jobs::Job

mod columns;
mod encoding;
mod seen;
mod validate;
mod values;

pub use columns::Column;
pub use validate::{Problem, Validator};

use crate::jobs::{Action, ProviderKind};
use columns::{ColumnMap, NearMiss, SameColumn};
use csv::{ByteRecord, StringRecord};
use encoding::LineEnds;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The account a row runs under: its provider and the configured account name ("" = the default).
pub type AccountKey = (ProviderKind, String);

/// The command-line and config settings that shape how a file is read.
#[derive(Clone, Debug)]
pub struct InputOptions {
    /// The delimiter: `--delimiter`, or the one recognised from the header (see
    /// `delimiter_given`).
    pub delimiter: u8,
    /// `--delimiter` was given. Otherwise [`InputFile::open`] recognises `,`, `;` or tab from the
    /// header row and sets `delimiter`.
    pub delimiter_given: bool,
    /// `--provider`: for rows without a provider cell.
    pub provider: Option<ProviderKind>,
    /// `--action`: for rows without an action cell.
    pub action: Option<Action>,
    /// `--account`: for rows without an account cell (else the provider's default account).
    pub account: Option<String>,
    /// The config file's named accounts and their providers.
    pub accounts: BTreeMap<String, ProviderKind>,
    /// Those of them that are members accounts: rows name one member, `NAME/<account id>`.
    pub members: BTreeSet<String>,
    /// `--secrets-out` was given, so aliyun rows may ask for a generated password.
    pub secrets_out: bool,
}

impl Default for InputOptions {
    fn default() -> Self {
        InputOptions {
            delimiter: b',',
            delimiter_given: false,
            provider: None,
            action: None,
            account: None,
            accounts: BTreeMap::new(),
            members: BTreeSet::new(),
            secrets_out: false,
        }
    }
}

/// A problem with the file as a whole: nothing in it can be used until it is fixed.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot open {}: check the path and that the file is readable", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}, line {line}: reading failed", path.display())]
    Read {
        path: PathBuf,
        line: u64,
        #[source]
        source: csv::Error,
    },
    #[error(
        "{}, line 1: the file is {what}, not UTF-8 text: save it as UTF-8 CSV (in Excel: \"CSV UTF-8\") and run again",
        path.display()
    )]
    NotUtf8 { path: PathBuf, what: &'static str },
    #[error(
        "{}, line {line}: the header row is not valid UTF-8: save the file as UTF-8 (in Excel: \"CSV UTF-8\") and run again",
        path.display()
    )]
    HeaderNotUtf8 { path: PathBuf, line: u64 },
    #[error(
        "{}, line 1: no header row: the first line must name the columns, e.g. provider,action,user",
        path.display()
    )]
    NoHeader { path: PathBuf },
    #[error(
        "{}, line {line}: the file changed while it was being read: leave the input alone while it runs, then finish the run with --resume",
        path.display()
    )]
    Changed { path: PathBuf, line: u64 },
    #[error("{}, line {line}: no {column} column: {hint}{}", path.display(), read_as.as_deref().map(read_as_hint).unwrap_or_default())]
    MissingColumn {
        path: PathBuf,
        line: u64,
        column: &'static str,
        hint: &'static str,
        /// The header cells as read, when no delimiter made known columns of them.
        read_as: Option<Vec<String>>,
    },
    #[error("{}, line {line}: {}", path.display(), near_misses_message(misses))]
    NearMisses {
        path: PathBuf,
        line: u64,
        misses: Vec<NearMiss>,
    },
    #[error(
        "{}, line {line}: the columns '{first}' and '{second}' both mean {column}: keep only one",
        path.display()
    )]
    SameColumn {
        path: PathBuf,
        line: u64,
        first: String,
        second: String,
        column: &'static str,
    },
}

/// What a near-miss error says: per header the column meant, and how to keep it on purpose.
fn near_misses_message(misses: &[NearMiss]) -> String {
    let each: Vec<String> = misses
        .iter()
        .map(|m| format!("{}: did you mean {}?", m.header, m.meant))
        .collect();
    let example = &misses[0].header;
    format!(
        "{} A column iambatch does not know is carried through to the results but never sent, so a misspelled one would silently change nothing: fix the name, or, if it is a column of your own, rename it so it looks less like one of iambatch's (e.g. keep_{example})",
        each.join("; ")
    )
}

/// The hint of a missing column when no delimiter made known columns of the header.
fn read_as_hint(cells: &[String]) -> String {
    let cells: Vec<String> = cells.iter().map(|c| format!("'{c}'")).collect();
    format!(
        ". The header row was read as {} {}: {}. If the file separates its columns with another character, pass it with --delimiter (e.g. --delimiter ';' or --delimiter tab)",
        cells.len(),
        if cells.len() == 1 {
            "column"
        } else {
            "columns"
        },
        cells.join(", ")
    )
}

/// The delimiters recognised from the header when `--delimiter` is not given, the default first.
const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// An input file whose encoding and header have been checked.
pub struct InputFile {
    path: PathBuf,
    /// The delimiter was recognised from the header, not given.
    delimiter_recognised: bool,
    options: InputOptions,
    headers: StringRecord,
    header_line: u64,
    columns: ColumnMap,
    /// Data rows parsed so far, by every pass and re-read: reading stays linear in the rows.
    parsed: Arc<AtomicU64>,
}

impl InputFile {
    /// Opens the file, refuses UTF-16 and the other non-UTF-8 files it can recognise, skips a UTF-8
    /// BOM, reads and maps the header. Problems of the file as a whole are an [`InputError`].
    pub fn open(path: &Path, options: InputOptions) -> Result<InputFile, InputError> {
        let start = read_start(path)?;
        if let Some(what) = encoding::sniff(&start) {
            return Err(InputError::NotUtf8 {
                path: path.to_path_buf(),
                what,
            });
        }
        let mut options = options;
        let mut recognised = false;
        let (header_line, headers) = if options.delimiter_given {
            read_header(path, options.delimiter)?
        } else {
            // The delimiter that makes the most known columns of the header; a comma on a tie.
            let mut best: Option<(usize, u8, u64, StringRecord)> = None;
            for delimiter in DELIMITERS {
                let (line, headers) = read_header(path, delimiter)?;
                let known = headers
                    .iter()
                    .filter(|h| Column::of_header(h).is_some())
                    .count();
                if best.as_ref().is_none_or(|(most, ..)| known > *most) {
                    best = Some((known, delimiter, line, headers));
                }
            }
            let (known, delimiter, line, headers) = best.expect("three delimiters tried");
            options.delimiter = delimiter;
            recognised = known > 0;
            (line, headers)
        };
        let columns = ColumnMap::of_headers(headers.iter()).map_err(
            |SameColumn {
                 column,
                 first,
                 second,
             }| InputError::SameColumn {
                path: path.to_path_buf(),
                line: header_line,
                first: headers[first].trim().to_string(),
                second: headers[second].trim().to_string(),
                column: column.name(),
            },
        )?;
        let misses = columns.near_misses(headers.iter());
        if !misses.is_empty() {
            return Err(InputError::NearMisses {
                path: path.to_path_buf(),
                line: header_line,
                misses,
            });
        }
        let unrecognised = !options.delimiter_given && !recognised;
        let missing = |column, hint| InputError::MissingColumn {
            path: path.to_path_buf(),
            line: header_line,
            column,
            hint,
            read_as: unrecognised.then(|| headers.iter().map(str::to_string).collect()),
        };
        if columns.get(Column::User).is_none() && columns.get(Column::UserName).is_none() {
            return Err(missing(
                "user",
                "add a user column (actions that resolve user names also take user_name instead)",
            ));
        }
        if columns.get(Column::Provider).is_none() && options.provider.is_none() {
            return Err(missing(
                "provider",
                "add a provider column, or pass --provider for the whole file",
            ));
        }
        if columns.get(Column::Action).is_none() && options.action.is_none() {
            return Err(missing(
                "action",
                "add an action column, or pass --action for the whole file",
            ));
        }
        Ok(InputFile {
            path: path.to_path_buf(),
            delimiter_recognised: recognised,
            options,
            headers,
            header_line,
            columns,
            parsed: Arc::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn options(&self) -> &InputOptions {
        &self.options
    }

    /// The delimiter the file is read with, and its results file written with.
    pub fn delimiter(&self) -> u8 {
        self.options.delimiter
    }

    /// For a summary: which delimiter was recognised, when it was not given and is not a comma.
    pub fn delimiter_note(&self) -> Option<String> {
        let name = match self.options.delimiter {
            b',' => return None,
            b'\t' => "tab".to_string(),
            d => format!("'{}'", char::from(d)),
        };
        self.delimiter_recognised
            .then(|| format!("columns separated by {name} (recognised from the header)"))
    }

    /// The header cells as written in the file, in order, for the results file.
    pub fn headers(&self) -> &StringRecord {
        &self.headers
    }

    /// The line of the header row (1 unless blank lines come first).
    pub fn header_line(&self) -> u64 {
        self.header_line
    }

    /// Where a known column sits in the header, if the file has it.
    pub fn column(&self, column: Column) -> Option<usize> {
        self.columns.get(column)
    }

    /// Whether the results file must write the cells of header position `index` as `***`.
    pub fn is_password_column(&self, index: usize) -> bool {
        self.columns.get(Column::Password) == Some(index)
    }

    /// A fresh pass over the data rows, from the first. Each call reads the file again.
    pub fn rows(&self) -> Result<Rows, InputError> {
        let mut records = Records::open(&self.path, self.options.delimiter)?;
        let mut raw = ByteRecord::new();
        // Skip the header: the first non-blank record, as `open` found it.
        records.next(&mut raw)?;
        Ok(Rows {
            records,
            raw,
            next_index: 0,
            parsed: self.parsed.clone(),
        })
    }

    /// Reads single rows again where a pass found them ([`RawRow::span`]), in any order.
    pub fn reread(&self) -> Result<Reread, InputError> {
        let file = File::open(&self.path).map_err(|source| InputError::Open {
            path: self.path.clone(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.options.delimiter)
            .from_reader(io::Cursor::new(Vec::new()));
        // Seeked once, the reader never takes a record for a header or skips a byte-order mark.
        reader
            .seek_raw(io::SeekFrom::Start(0), csv::Position::new())
            .map_err(|source| InputError::Read {
                path: self.path.clone(),
                line: self.header_line,
                source,
            })?;
        Ok(Reread {
            path: self.path.clone(),
            file,
            reader,
            raw: ByteRecord::new(),
            parsed: self.parsed.clone(),
        })
    }

    /// Data rows parsed so far by every pass over the file and every re-read.
    pub fn rows_parsed(&self) -> u64 {
        self.parsed.load(Ordering::Relaxed)
    }
}

/// A streaming pass over a file's data rows.
pub struct Rows {
    records: Records,
    raw: ByteRecord,
    next_index: u64,
    parsed: Arc<AtomicU64>,
}

impl Rows {
    /// Reads the next data row into `row`, reusing its buffers. `Ok(false)` at the end of the file.
    /// Blank rows are skipped; a row that is not UTF-8 is still read (see [`RawRow::record`]).
    pub fn read(&mut self, row: &mut RawRow) -> Result<bool, InputError> {
        let Some((line, span)) = self.records.next(&mut self.raw)? else {
            return Ok(false);
        };
        row.index = self.next_index;
        row.line = line;
        row.span = span;
        row.not_utf8 = decode(&self.raw, &mut row.record);
        self.next_index += 1;
        self.parsed.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }
}

/// Single rows read again by their place in the file: one read of the row's bytes, then the CSV
/// parser over them alone.
pub struct Reread {
    path: PathBuf,
    file: File,
    reader: csv::Reader<io::Cursor<Vec<u8>>>,
    raw: ByteRecord,
    parsed: Arc<AtomicU64>,
}

impl Reread {
    /// Reads the row a pass found at `span` (its [`RawRow::span`]) into `row`, as data row `index`
    /// starting on `line`.
    pub fn read(
        &mut self,
        index: u64,
        line: u64,
        span: Range<u64>,
        row: &mut RawRow,
    ) -> Result<(), InputError> {
        let error = |source: csv::Error| InputError::Read {
            path: self.path.clone(),
            line,
            source,
        };
        let buf = self.reader.get_mut().get_mut();
        buf.clear();
        // At most `MAX_ROW_BYTES` plus line ends: longer rows stopped the pass that found it.
        buf.resize((span.end - span.start) as usize, 0);
        let mut filled = 0;
        while filled < buf.len() {
            match self
                .file
                .read_at(&mut buf[filled..], span.start + filled as u64)
            {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(error(e.into())),
            }
        }
        if filled < buf.len() {
            // The last row of a file without a final line end: the span counts the `\n` that
            // `LineEnds` added, which a quoted cell left open at the end holds.
            buf.truncate(filled);
            buf.push(b'\n');
        }
        self.reader
            .seek_raw(io::SeekFrom::Start(0), csv::Position::new())
            .map_err(error)?;
        let found = self.reader.read_byte_record(&mut self.raw).map_err(error)?;
        if !found {
            return Err(InputError::Changed {
                path: self.path.clone(),
                line,
            });
        }
        row.index = index;
        row.line = line;
        row.span = span;
        row.not_utf8 = decode(&self.raw, &mut row.record);
        self.parsed.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// One data row as read. Deliberately not `Debug`: its cells may hold a password.
#[derive(Clone, Default)]
pub struct RawRow {
    /// 0-based position among the data rows (blank rows do not count).
    pub index: u64,
    /// The line where the row starts; the file's first line is 1.
    pub line: u64,
    /// The cells as written (untrimmed). Bytes that are not UTF-8 appear as U+FFFD.
    pub record: StringRecord,
    /// The bytes of the file the row was read from (with blank lines before it and its line end),
    /// for [`Reread::read`].
    pub span: Range<u64>,
    /// The first cell that was not UTF-8.
    not_utf8: Option<usize>,
}

impl RawRow {
    pub fn new() -> RawRow {
        RawRow::default()
    }
}

/// Copies `raw` into `record`; returns the first cell that is not UTF-8 (copied lossily).
fn decode(raw: &ByteRecord, record: &mut StringRecord) -> Option<usize> {
    record.clear();
    let mut not_utf8 = None;
    for (i, cell) in raw.iter().enumerate() {
        match std::str::from_utf8(cell) {
            Ok(text) => record.push_field(text),
            Err(_) => {
                record.push_field(&String::from_utf8_lossy(cell));
                not_utf8 = not_utf8.or(Some(i));
            }
        }
    }
    not_utf8
}

/// The header row read with `delimiter`: its line and its cells.
fn read_header(path: &Path, delimiter: u8) -> Result<(u64, StringRecord), InputError> {
    let mut records = Records::open(path, delimiter)?;
    let mut raw = ByteRecord::new();
    let Some((line, _)) = records.next(&mut raw)? else {
        return Err(InputError::NoHeader {
            path: path.to_path_buf(),
        });
    };
    let headers = StringRecord::from_byte_record(raw).map_err(|_| InputError::HeaderNotUtf8 {
        path: path.to_path_buf(),
        line,
    })?;
    Ok((line, headers))
}

/// The first bytes of the file, for [`encoding::sniff`].
fn read_start(path: &Path) -> Result<Vec<u8>, InputError> {
    let opened = |source| InputError::Open {
        path: path.to_path_buf(),
        source,
    };
    let mut start = Vec::with_capacity(encoding::SNIFF_LEN);
    File::open(path)
        .map_err(opened)?
        .take(encoding::SNIFF_LEN as u64)
        .read_to_end(&mut start)
        .map_err(opened)?;
    Ok(start)
}

/// The CSV records of a file with their first lines, blank records skipped.
struct Records {
    path: PathBuf,
    reader: csv::Reader<Limited<LineEnds<File>>>,
    /// Lone `\r`s inside quoted cells so far: line breaks the parser's line count misses.
    uncounted: u64,
    /// Bytes of the file that `LineEnds` dropped before the end of the last record.
    dropped: u64,
    /// Where the last record ended in the file.
    end: u64,
}

/// The longest row read: a larger one (a runaway quote, a file that is not CSV, a 1 GB line) stops
/// the read with a clear error instead of filling memory.
pub const MAX_ROW_BYTES: u64 = 1 << 20;

/// Counts bytes handed to the CSV reader since the end of the last record it returned.
struct Limited<R> {
    inner: R,
    delivered: u64,
    record_end: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // The CSV reader reads ahead by at most its buffer; anything beyond that is the row itself.
        if self.delivered - self.record_end > MAX_ROW_BYTES + READ_AHEAD {
            return Err(io::Error::other(format!(
                "a row is longer than {} MiB: check for a quote that is never closed, or that this is a CSV file",
                MAX_ROW_BYTES >> 20
            )));
        }
        let n = self.inner.read(buf)?;
        self.delivered += n as u64;
        Ok(n)
    }
}

const READ_AHEAD: u64 = 64 * 1024;

impl Records {
    fn open(path: &Path, delimiter: u8) -> Result<Records, InputError> {
        let file = File::open(path).map_err(|source| InputError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            // Ragged rows are reported per row by the validator, not as a read error.
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(READ_AHEAD as usize)
            .from_reader(Limited {
                inner: LineEnds::new(file, delimiter),
                delivered: 0,
                record_end: 0,
            });
        Ok(Records {
            path: path.to_path_buf(),
            reader,
            uncounted: 0,
            dropped: 0,
            end: 0,
        })
    }

    /// Reads the next record that has a non-blank cell; returns the line it starts on and the
    /// bytes of the file it was read from.
    fn next(&mut self, record: &mut ByteRecord) -> Result<Option<(u64, Range<u64>)>, InputError> {
        loop {
            let start = self.end;
            let more = self
                .reader
                .read_byte_record(record)
                .map_err(|source| InputError::Read {
                    path: self.path.clone(),
                    line: self.reader.position().line() + self.uncounted,
                    source,
                })?;
            if !more {
                return Ok(None);
            }
            let end = self.reader.position().byte();
            self.reader.get_mut().record_end = end;
            self.dropped += self.reader.get_mut().inner.take_dropped(end);
            self.end = end + self.dropped;
            // `LineEnds` makes every record end by consuming one `\n`: count back from there over
            // the line breaks inside quoted cells, which it leaves as written. The parser counts
            // their `\n`s; a lone `\r` is a line break it does not count.
            let (newlines, lone_crs) = line_breaks(record);
            let line = self.reader.position().line() + self.uncounted;
            self.uncounted += lone_crs;
            let blank = record
                .iter()
                .all(|cell| cell.iter().all(u8::is_ascii_whitespace));
            if !blank {
                let line = line.saturating_sub(newlines + 1);
                return Ok(Some((line.max(1), start..self.end)));
            }
        }
    }
}

/// The `\n`s and the lone `\r`s (not followed by `\n`) in a record's cells.
fn line_breaks(record: &ByteRecord) -> (u64, u64) {
    let all = record.as_slice();
    let newlines = all.iter().filter(|&&b| b == b'\n').count() as u64;
    if !all.contains(&b'\r') {
        return (newlines, 0);
    }
    let lone_crs = record
        .iter()
        .map(|cell| {
            cell.iter()
                .enumerate()
                .filter(|&(i, &b)| b == b'\r' && cell.get(i + 1) != Some(&b'\n'))
                .count() as u64
        })
        .sum();
    (newlines, lone_crs)
}

#[cfg(test)]
mod tests;
