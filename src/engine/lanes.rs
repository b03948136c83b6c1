//! One reader for every account. A single pass over the input notes where each account's rows
//! are (its lane: a few bytes a row, never the rows themselves); then each lane's rows are read
//! back one at a time, by their place in the file, as that account's workers need them. The file
//! is parsed twice whatever the number of accounts, a slow account holds back no other, and memory
//! grows by a few bytes per row only.

use crate::input::{InputError, InputFile, RawRow, Reread};
use std::ops::Range;

/// Every lane's rows, indexed, and the reader that reads them back.
pub struct Lanes {
    lanes: Vec<Places>,
    reread: Reread,
}

impl Lanes {
    /// One pass over `input`: `sort` sees every row and names the lane (below `lanes`) it goes to,
    /// or `None` when it has been dealt with there.
    pub fn index<E: From<InputError>>(
        input: &InputFile,
        lanes: usize,
        mut sort: impl FnMut(&RawRow) -> Result<Option<usize>, E>,
    ) -> Result<Lanes, E> {
        let mut places: Vec<Places> = (0..lanes).map(|_| Places::default()).collect();
        let mut rows = input.rows()?;
        let mut raw = RawRow::default();
        while rows.read(&mut raw)? {
            if let Some(lane) = sort(&raw)? {
                places[lane].push(raw.index, raw.line, &raw.span);
            }
        }
        for lane in &mut places {
            lane.bytes.shrink_to_fit();
        }
        Ok(Lanes {
            lanes: places,
            reread: input.reread()?,
        })
    }

    /// Reads the next row of `lane` into `row`; `false` when the lane has no more.
    pub fn next(&mut self, lane: usize, row: &mut RawRow) -> Result<bool, InputError> {
        let Some((index, line, span)) = self.lanes[lane].pop() else {
            return Ok(false);
        };
        self.reread.read(index, line, span, row)?;
        Ok(true)
    }

    /// Whether `lane` has rows left.
    pub fn is_empty(&self, lane: usize) -> bool {
        self.lanes[lane].is_empty()
    }
}

/// A queue of rows' places, each as the LEB128 varints of its differences from the one before:
/// the index, the line's lead over the index (blank lines and line breaks in cells), the gap since
/// the last span's end and the span's length. Usually 5 to 8 bytes a row.
#[derive(Default)]
struct Places {
    bytes: Vec<u8>,
    /// Where the next place to pop starts.
    read: usize,
    /// The last place pushed and the last popped, the bases of their differences.
    pushed: Base,
    popped: Base,
}

#[derive(Clone, Copy, Default)]
struct Base {
    index: u64,
    lead: u64,
    end: u64,
}

impl Places {
    fn push(&mut self, index: u64, line: u64, span: &Range<u64>) {
        let lead = line.wrapping_sub(index);
        let last = self.pushed;
        // Wrapping: rows come in file order, so every difference but the span's is small and
        // positive; any other order still comes back as it went in.
        for value in [
            index.wrapping_sub(last.index),
            lead.wrapping_sub(last.lead),
            span.start.wrapping_sub(last.end),
            span.end.wrapping_sub(span.start),
        ] {
            put_varint(&mut self.bytes, value);
        }
        self.pushed = Base {
            index,
            lead,
            end: span.end,
        };
    }

    fn pop(&mut self) -> Option<(u64, u64, Range<u64>)> {
        if self.is_empty() {
            return None;
        }
        let mut next = || get_varint(&self.bytes, &mut self.read);
        let last = self.popped;
        let index = last.index.wrapping_add(next());
        let lead = last.lead.wrapping_add(next());
        let start = last.end.wrapping_add(next());
        let end = start.wrapping_add(next());
        self.popped = Base { index, lead, end };
        if self.is_empty() {
            // Done with: give the memory back.
            self.bytes = Vec::new();
            self.read = 0;
        }
        Some((index, index.wrapping_add(lead), start..end))
    }

    fn is_empty(&self) -> bool {
        self.read == self.bytes.len()
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut value = 0;
    let mut shift = 0;
    loop {
        let byte = bytes[*at];
        *at += 1;
        value |= u64::from(byte & 0x7F) << shift;
        if byte < 0x80 {
            return value;
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::InputOptions;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        #[test]
        fn places_come_back_as_they_went_in(
            places in proptest::collection::vec((any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()), 0..40),
        ) {
            let mut queue = Places::default();
            for &(index, line, start, end) in &places {
                queue.push(index, line, &(start..end));
            }
            for &(index, line, start, end) in &places {
                prop_assert_eq!(queue.pop(), Some((index, line, start..end)));
            }
            prop_assert_eq!(queue.pop(), None);
        }
    }

    #[test]
    fn a_row_in_file_order_takes_a_few_bytes() {
        let mut queue = Places::default();
        // A row of 80 bytes in every 1,000 of a 100 MB file.
        for i in 0..1000u64 {
            let start = 5_000_000 + i * 80_000;
            queue.push(i * 1000 + 7, i * 1000 + 9, &(start..start + 80));
        }
        assert!(queue.bytes.len() <= 8 * 1000, "{} bytes", queue.bytes.len());
    }

    /// Every lane's rows as (index, line, first cell), read back through the lanes.
    fn drained(lanes: &mut Lanes, count: usize) -> Vec<Vec<(u64, u64, String)>> {
        let mut row = RawRow::new();
        (0..count)
            .map(|lane| {
                let mut rows = Vec::new();
                while lanes.next(lane, &mut row).unwrap() {
                    rows.push((row.index, row.line, row.record[0].to_string()));
                }
                assert!(lanes.is_empty(lane));
                rows
            })
            .collect()
    }

    #[test]
    fn each_lane_gets_its_rows_in_order_and_the_file_is_parsed_twice_whatever_the_lanes() {
        const LANES: usize = 40;
        let mut csv = String::from("user,account\r\n");
        let mut want = vec![Vec::new(); LANES];
        let mut line = 2;
        for i in 0..400u64 {
            let lane = (i * 7 % LANES as u64) as usize;
            // Every fifth user has a line break in its cell; every seventh row a blank line before.
            let user = if i % 5 == 0 {
                format!("\"u{i}\r\nx\"")
            } else {
                format!("u{i}")
            };
            if i % 7 == 0 {
                csv += "\r\n";
                line += 1;
            }
            csv += &format!("{user},a{lane}\r\n");
            want[lane].push((i, line, user.trim_matches('"').to_string()));
            line += if i % 5 == 0 { 2 } else { 1 };
        }
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, csv.as_bytes()).unwrap();
        let options = InputOptions {
            provider: Some(crate::jobs::ProviderKind::Aliyun),
            action: Some(crate::jobs::Action::EnforceMfa),
            accounts: BTreeMap::new(),
            ..InputOptions::default()
        };
        let input = InputFile::open(file.path(), options).unwrap();
        let mut lanes = Lanes::index::<InputError>(&input, LANES, |raw| {
            Ok(Some(raw.record[1][1..].parse().unwrap()))
        })
        .unwrap();
        assert_eq!(drained(&mut lanes, LANES), want);
        // One pass to index, one read of each row: a reader per account would parse 40 × 400.
        assert_eq!(input.rows_parsed(), 2 * 400);
    }
}
