//! The results file. Rows are appended to the output path as they finish, whole rows in each
//! `write` (the rows finished since the last one), so a killed run leaves a valid CSV of every
//! finished row. Each row's place in that file is noted in an
//! index file beside it (16 bytes per row, at the row's position), so at the end the input-order file
//! is assembled with memory that does not grow with the row count, then swapped in atomically.

use crate::report::RowResult;
use crate::report::schema::Schema;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("cannot write the results file {path} (check the directory exists and is writable)")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write a results row: {0}")]
    Csv(#[from] csv::Error),
}

pub struct ResultsWriter {
    path: PathBuf,
    index_path: PathBuf,
    file: File,
    index: File,
    written: u64,
    schema: Schema,
    csv: csv::WriterBuilder,
    scratch: Vec<u8>,
}

impl ResultsWriter {
    /// Creates (truncates) the output file and writes the header.
    pub fn create(
        path: &Path,
        schema: Schema,
        delimiter: u8,
    ) -> Result<ResultsWriter, ResultsError> {
        let file = open(path, true)?;
        let mut w = ResultsWriter::start(path, file, schema, delimiter, 0)?;
        w.scratch = w.header_bytes()?;
        w.append_scratch()?;
        Ok(w)
    }

    /// Reopens a results file being resumed: keeps its first `valid_len` bytes (whole records: a
    /// record torn by a kill is cut off) and appends after them. The rows it already holds stay in
    /// it until [`ResultsWriter::finish`] rewrites the file with one row per line.
    pub fn resume(
        path: &Path,
        schema: Schema,
        delimiter: u8,
        valid_len: u64,
    ) -> Result<ResultsWriter, ResultsError> {
        let file = open(path, false)?;
        file.set_len(valid_len).map_err(|source| ResultsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        ResultsWriter::start(path, file, schema, delimiter, valid_len)
    }

    fn start(
        path: &Path,
        file: File,
        schema: Schema,
        delimiter: u8,
        written: u64,
    ) -> Result<ResultsWriter, ResultsError> {
        let index_path = sidecar(path, "index");
        let index = open(&index_path, true)?;
        let mut csv = csv::WriterBuilder::new();
        csv.delimiter(delimiter);
        Ok(ResultsWriter {
            path: path.to_path_buf(),
            index_path,
            file,
            index,
            written,
            schema,
            csv,
            scratch: Vec::new(),
        })
    }

    /// Appends finished rows to the file, in one `write`, and records their places. Rows finish
    /// by the thousand a second when nothing limits the rate: a `write` and an index update each
    /// were most of the writer's cost.
    pub fn write(&mut self, rows: &[RowResult]) -> Result<(), ResultsError> {
        self.scratch.clear();
        let mut places = Vec::with_capacity(rows.len());
        {
            let mut w = self.csv.from_writer(&mut self.scratch);
            for row in rows {
                self.schema.write_row(row, &mut w)?;
                w.flush().map_err(|source| ResultsError::Io {
                    path: self.path.clone(),
                    source,
                })?;
                places.push((row.index, w.get_ref().len() as u64));
            }
        }
        let offset = self.written;
        self.append_scratch()?;
        // Entries of rows that follow each other in the input go in one `pwrite`.
        let mut entries = Vec::with_capacity(16 * rows.len());
        let mut start = 0;
        for (i, &(index, end)) in places.iter().enumerate() {
            let begin = if i == 0 { 0 } else { places[i - 1].1 };
            if i > start && index != places[i - 1].0 + 1 {
                self.write_index(places[start].0, &entries)?;
                entries.clear();
                start = i;
            }
            entries.extend_from_slice(&(offset + begin).to_le_bytes());
            // Length + 1 so that an all-zero entry means "no row".
            entries.extend_from_slice(&(end - begin + 1).to_le_bytes());
        }
        if !entries.is_empty() {
            self.write_index(places[start].0, &entries)?;
        }
        Ok(())
    }

    /// Index entries of consecutive rows from row `first` on.
    fn write_index(&self, first: u64, entries: &[u8]) -> Result<(), ResultsError> {
        self.index
            .write_all_at(entries, first * 16)
            .map_err(|source| ResultsError::Io {
                path: self.index_path.clone(),
                source,
            })
    }

    /// One `write` per row: a killed run leaves whole rows only.
    fn append_scratch(&mut self) -> Result<u64, ResultsError> {
        self.file
            .write_all_at(&self.scratch, self.written)
            .map_err(|source| ResultsError::Io {
                path: self.path.clone(),
                source,
            })?;
        let len = self.scratch.len() as u64;
        self.written += len;
        Ok(len)
    }

    fn header_bytes(&self) -> Result<Vec<u8>, ResultsError> {
        let mut bytes = Vec::new();
        let mut w = self.csv.from_writer(&mut bytes);
        w.write_record(self.schema.header())?;
        w.flush().map_err(|source| ResultsError::Io {
            path: self.path.clone(),
            source,
        })?;
        drop(w);
        Ok(bytes)
    }

    /// Rewrites the file in input order and replaces the incremental one atomically. `rows` is the
    /// number of data rows; each must have been written once.
    pub fn finish(self, rows: u64) -> Result<PathBuf, ResultsError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ResultsError::Io { path, source }
        };
        self.file.sync_data().map_err(io(&self.path))?;
        let ordered_path = sidecar(&self.path, "ordered");
        let mut out = BufWriter::new(File::create(&ordered_path).map_err(io(&ordered_path))?);
        out.write_all(&self.header_bytes()?)
            .map_err(io(&ordered_path))?;
        let mut index = BufReader::new(&self.index);
        let mut entry = [0u8; 16];
        let mut record = Vec::new();
        for i in 0..rows {
            index.read_exact(&mut entry).map_err(io(&self.index_path))?;
            let offset = u64::from_le_bytes(entry[..8].try_into().expect("8 bytes"));
            let len = u64::from_le_bytes(entry[8..].try_into().expect("8 bytes"));
            if len == 0 {
                return Err(ResultsError::Io {
                    path: self.path.clone(),
                    source: std::io::Error::other(format!(
                        "data row {} has no result (a bug: please report it)",
                        i + 1
                    )),
                });
            }
            record.resize((len - 1) as usize, 0);
            self.file
                .read_exact_at(&mut record, offset)
                .map_err(io(&self.path))?;
            out.write_all(&record).map_err(io(&ordered_path))?;
        }
        let out = out
            .into_inner()
            .map_err(|e| io(&ordered_path)(e.into_error()))?;
        out.sync_all().map_err(io(&ordered_path))?;
        std::fs::rename(&ordered_path, &self.path).map_err(io(&self.path))?;
        let _ = std::fs::remove_file(&self.index_path);
        Ok(self.path)
    }
}

/// Opens for reading and writing, created if missing; `truncate` empties it.
fn open(path: &Path, truncate: bool) -> Result<File, ResultsError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate)
        .open(path)
        .map_err(|source| ResultsError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// A hidden working file beside the output: `.NAME.iambatch-KIND`.
pub fn sidecar(path: &Path, kind: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.iambatch-{kind}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;
    use csv::StringRecord;

    fn row(index: u64) -> RowResult {
        RowResult::without_request(
            index,
            index + 2,
            "aliyun".into(),
            Status::NotAttempted,
            "interrupted",
            format!("row {index}"),
            StringRecord::from(vec![format!("user{index}")]),
        )
    }

    #[test]
    fn batches_in_any_order_come_out_in_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let schema = Schema::new(&StringRecord::from(vec!["user"]), vec![false], None, false);
        let mut writer = ResultsWriter::create(&path, schema, b',').unwrap();
        // Finished out of order, in batches with runs of consecutive rows and gaps.
        for batch in [vec![2, 3, 0], vec![5], vec![1, 4, 6, 7]] {
            let rows: Vec<RowResult> = batch.into_iter().map(row).collect();
            writer.write(&rows).unwrap();
        }
        // Before the end the file holds every row, whole, in the order they finished.
        let appended = std::fs::read_to_string(&path).unwrap();
        assert_eq!(appended.lines().count(), 9);
        assert!(appended.lines().nth(3).unwrap().ends_with(",user0"));

        writer.finish(8).unwrap();
        let mut reader = csv::Reader::from_path(&path).unwrap();
        let users: Vec<String> = reader
            .records()
            .map(|r| r.unwrap().iter().next_back().unwrap().to_string())
            .collect();
        let expected: Vec<String> = (0..8).map(|i| format!("user{i}")).collect();
        assert_eq!(users, expected);
        assert!(!sidecar(&path, "index").exists());
    }
}
