//! The sent-journal beside the results file: as a row's first write request leaves (its pacing slot
//! granted, just before it is sent), its line is noted here (one `write` each), so a resumed run
//! knows which rows a killed run may have applied without seeing the reply, and since when (a user
//! that exists and is older than that is not ours). A row withdrawn while waiting for its slot is
//! never noted. Removed when a run finishes.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use time::OffsetDateTime;

pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
}

impl Journal {
    /// Opens (appending: a resumed run keeps what killed runs noted).
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Notes that `line` is about to be sent, now.
    pub fn note(&self, line: u64) -> std::io::Result<()> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        self.file
            .lock()
            .expect("journal lock")
            .write_all(format!("{line} {now}\n").as_bytes())
    }

    /// The lines noted by earlier runs, sorted, each with when it was first noted; empty when
    /// there is no journal.
    pub fn read(path: &Path) -> std::io::Result<Vec<(u64, Option<OffsetDateTime>)>> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut lines = Vec::new();
        for text in BufReader::new(file).lines() {
            let text = text?;
            let mut words = text.split_whitespace();
            // A torn last entry is ignored: its row had not been sent yet.
            if let Some(Ok(n)) = words.next().map(str::parse::<u64>) {
                let at = (words.next())
                    .and_then(|w| w.parse::<i64>().ok())
                    .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
                lines.push((n, at));
            }
        }
        // The first note of a line is when its row first left.
        lines.sort_by_key(|(n, at)| (*n, *at));
        lines.dedup_by_key(|(n, _)| *n);
        Ok(lines)
    }

    /// The run finished: nothing is in flight any more.
    pub fn remove(self) -> std::io::Result<()> {
        drop(self.file);
        std::fs::remove_file(&self.path)
    }
}
