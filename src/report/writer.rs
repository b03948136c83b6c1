//! The thread that owns an output file (`run`'s results, `export`'s users): file I/O stays off the
//! async workers, and whatever arrives within a moment goes in one write.

use crate::report::RowResult;
use crate::report::progress::Progress;
use crate::report::results::{ResultsError, ResultsWriter};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The most items handed to a sink at once.
const BATCH: usize = 256;
/// How long the thread waits for more items once one has come.
const GROUP_COMMIT: std::time::Duration = std::time::Duration::from_millis(1);

/// An output file and what goes with writing it (progress, counts).
pub trait Sink: Send + 'static {
    type Item: Send + 'static;
    type Done: Send + 'static;
    type Error: Send + 'static;
    /// Writes `batch` and empties it.
    fn write(&mut self, batch: &mut Vec<Self::Item>) -> Result<(), Self::Error>;
    /// Every item has been written: complete the file.
    fn finish(self) -> Result<Self::Done, Self::Error>;
}

/// Feeds everything sent on `items` to `sink` on its own thread, until every sender is gone.
pub fn spawn<S: Sink>(
    mut sink: S,
    mut items: mpsc::Receiver<S::Item>,
) -> std::thread::JoinHandle<Result<S::Done, S::Error>> {
    std::thread::spawn(move || {
        let mut batch = Vec::with_capacity(BATCH);
        while items.blocking_recv_many(&mut batch, BATCH) > 0 {
            // Group commit: the items that come within a moment of each other go in one write,
            // and the senders do not wake this thread for every item.
            if batch.len() < BATCH {
                std::thread::sleep(GROUP_COMMIT);
                while batch.len() < BATCH
                    && let Ok(item) = items.try_recv()
                {
                    batch.push(item);
                }
            }
            sink.write(&mut batch)?;
        }
        sink.finish()
    })
}

/// `run`'s results file: each finished row written, then counted by progress.
pub struct Results {
    pub writer: ResultsWriter,
    pub progress: Arc<Progress>,
    /// Rows of the input, checked by [`ResultsWriter::finish`].
    pub rows: u64,
}

impl Sink for Results {
    type Item = RowResult;
    type Done = PathBuf;
    type Error = ResultsError;

    fn write(&mut self, batch: &mut Vec<RowResult>) -> Result<(), ResultsError> {
        self.writer.write(batch)?;
        for row in batch.drain(..) {
            self.progress.record(&row);
        }
        Ok(())
    }

    fn finish(self) -> Result<PathBuf, ResultsError> {
        self.writer.finish(self.rows)
    }
}
