//! Byte-level concerns below the CSV parser: telling a UTF-16 file from a UTF-8 one, and making line
//! endings uniform so that every record's starting line can be computed exactly.

use std::collections::VecDeque;
use std::io::{self, Read};

/// How many bytes of the file's start [`sniff`] looks at.
pub const SNIFF_LEN: usize = 4096;

/// Says what a file is when its first bytes show it is not UTF-8 text: another encoding, or a
/// spreadsheet saved in its own format. `None` = plausibly UTF-8 (a UTF-8 BOM is fine: the CSV parser
/// skips it).
pub fn sniff(start: &[u8]) -> Option<&'static str> {
    // Longest first: a UTF-32 LE mark begins like a UTF-16 LE one.
    const MARKS: [(&[u8], &str); 6] = [
        (&[0xFF, 0xFE, 0, 0], "UTF-32 (little-endian) text"),
        (&[0, 0, 0xFE, 0xFF], "UTF-32 (big-endian) text"),
        (&[0xFF, 0xFE], "UTF-16 (little-endian) text"),
        (&[0xFE, 0xFF], "UTF-16 (big-endian) text"),
        (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook?)"),
        (
            &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
            "an Excel 97-2003 (.xls) workbook",
        ),
    ];
    if let Some((_, what)) = MARKS.iter().find(|(mark, _)| start.starts_with(mark)) {
        return Some(what);
    }
    // UTF-16 without a mark: every other byte of ASCII text is NUL. UTF-8 text has none.
    let nuls = start.iter().filter(|&&b| b == 0).count();
    (!start.is_empty() && nuls * 4 >= start.len())
        .then_some("UTF-16 text without a byte-order mark")
}

/// Reads `inner` with every line ending between records (`\r\n`, `\r`, `\n`) turned into `\n`, and
/// a final `\n` added when the input does not end with one. The CSV parser then ends every record by
/// consuming exactly one `\n`. Line breaks inside quoted cells are left as written: those cells are
/// carried through to the results byte for byte, so a spreadsheet's `\r\n` must survive. To know
/// which line breaks are inside quotes this follows the quoting the way the CSV parser does (a quote
/// opens a quoted cell only at the start of a cell; `""` inside one is a quote).
///
/// Dropping the `\n` of a `\r\n` makes offsets in what it gives out smaller than in the file;
/// [`LineEnds::take_dropped`] tells how many, so that a row can be found again in the file.
pub struct LineEnds<R> {
    inner: R,
    delimiter: u8,
    state: State,
    /// How many bytes of a UTF-8 byte-order mark have been seen at the start (the CSV parser skips
    /// it, so a quote right after it opens a quoted cell).
    bom: usize,
    /// The last byte given out was a `\r` ending a record, turned into `\n`: a `\n` right after it
    /// is dropped.
    after_cr: bool,
    /// The last byte given out, `\n` before any.
    last: u8,
    done: bool,
    /// Bytes given out so far.
    given: u64,
    /// For each `\n` dropped and not yet taken by [`LineEnds::take_dropped`]: how many bytes had
    /// been given out before it. At most one per line of what was read ahead.
    drops: VecDeque<u64>,
}

/// Where the reader stands in the CSV grammar.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    CellStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted cell: the cell's end, or the first half of `""`.
    QuoteInQuoted,
}

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

impl<R: Read> LineEnds<R> {
    pub fn new(inner: R, delimiter: u8) -> Self {
        LineEnds {
            inner,
            delimiter,
            state: State::CellStart,
            bom: 0,
            after_cr: false,
            last: b'\n',
            done: false,
            given: 0,
            drops: VecDeque::new(),
        }
    }

    /// How many bytes of the file were dropped before offset `at` of what was given out, since the
    /// last call: the file offset of `at` is `at` plus every count so far. `at` must not decrease
    /// from call to call.
    pub fn take_dropped(&mut self, at: u64) -> u64 {
        let mut dropped = 0;
        while self.drops.front().is_some_and(|&given| given <= at) {
            self.drops.pop_front();
            dropped += 1;
        }
        dropped
    }
}

impl<R: Read> Read for LineEnds<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.done {
            return Ok(0);
        }
        loop {
            let n = self.inner.read(buf)?;
            if n == 0 {
                self.done = true;
                if self.last == b'\n' {
                    return Ok(0);
                }
                self.last = b'\n';
                buf[0] = b'\n';
                self.given += 1;
                return Ok(1);
            }
            let kept = self.rewrite(&mut buf[..n]);
            self.given += kept as u64;
            if kept > 0 {
                return Ok(kept);
            }
            // The chunk was only the `\n` of a `\r\n` split across reads: read on.
        }
    }
}

impl<R> LineEnds<R> {
    /// Rewrites `chunk` in place; returns how many bytes of it to give out.
    fn rewrite(&mut self, chunk: &mut [u8]) -> usize {
        if !self.after_cr
            && self.bom == BOM.len()
            && !chunk.contains(&b'\r')
            && !chunk.contains(&b'"')
        {
            // The common case: nothing to rewrite, and only the last byte tells the state.
            let last = chunk[chunk.len() - 1];
            if self.state != State::Quoted {
                self.state = if last == b'\n' || last == self.delimiter {
                    State::CellStart
                } else {
                    State::Unquoted
                };
            }
            self.last = last;
            return chunk.len();
        }
        let mut out = 0;
        for i in 0..chunk.len() {
            let b = chunk[i];
            if std::mem::take(&mut self.after_cr) && b == b'\n' {
                self.drops.push_back(self.given + out as u64);
                continue;
            }
            if self.bom < BOM.len() {
                if b == BOM[self.bom] {
                    self.bom += 1;
                    chunk[out] = b;
                    out += 1;
                    continue;
                }
                self.bom = BOM.len();
            }
            let mut byte = b;
            self.state = match (self.state, b) {
                (State::Quoted, b'"') => State::QuoteInQuoted,
                (State::Quoted, _) => State::Quoted,
                (State::CellStart | State::QuoteInQuoted, b'"') => State::Quoted,
                (_, b'\r' | b'\n') => {
                    self.after_cr = b == b'\r';
                    byte = b'\n';
                    State::CellStart
                }
                (_, d) if d == self.delimiter => State::CellStart,
                _ => State::Unquoted,
            };
            chunk[out] = byte;
            out += 1;
        }
        if let Some(&b) = chunk[..out].last() {
            self.last = b;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads everything through `LineEnds`, `step` bytes at a time from the inner reader.
    fn normalised(input: &[u8], step: usize) -> Vec<u8> {
        struct Chunks<'a>(&'a [u8], usize);
        impl Read for Chunks<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut out = Vec::new();
        LineEnds::new(Chunks(input, step), b',')
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn recognises_utf16_utf32_and_spreadsheet_files() {
        let cases: [(&[u8], Option<&str>); 8] = [
            (b"\xFF\xFEu\0s\0e\0r\0", Some("UTF-16 (little-endian) text")),
            (b"\xFE\xFF\0u\0s", Some("UTF-16 (big-endian) text")),
            (b"\xFF\xFE\0\0u\0\0\0", Some("UTF-32 (little-endian) text")),
            (
                b"u\0s\0e\0r\0",
                Some("UTF-16 text without a byte-order mark"),
            ),
            (
                b"PK\x03\x04\x14\0\x06\0",
                Some("a zip archive (an Excel .xlsx workbook?)"),
            ),
            (b"\xEF\xBB\xBFuser,action\n", None),
            ("user,café\n".as_bytes(), None),
            (b"", None),
        ];
        for (start, what) in cases {
            assert_eq!(sniff(start), what, "{start:?}");
        }
    }

    #[test]
    fn turns_every_line_ending_into_one_newline() {
        for step in [1, 2, 3, 64] {
            assert_eq!(normalised(b"a\r\nb\rc\nd", step), b"a\nb\nc\nd\n");
            assert_eq!(normalised(b"a\r\n\r\n", step), b"a\n\n");
            assert_eq!(normalised(b"a\r", step), b"a\n");
            assert_eq!(normalised(b"", step), b"");
        }
    }

    #[test]
    fn keeps_line_breaks_inside_quoted_cells() {
        for step in [1, 2, 3, 64] {
            assert_eq!(
                normalised(b"a,\"x\r\ny\ry\"\r\nb,\"\"\"\r\n\"\r", step),
                b"a,\"x\r\ny\ry\"\nb,\"\"\"\r\n\"\n"
            );
            // A quote inside an unquoted cell is a character: it opens nothing.
            assert_eq!(normalised(b"a\"b\r\nc\r\n", step), b"a\"b\nc\n");
            // After a byte-order mark, a quote opens a quoted cell as it does for the CSV parser.
            assert_eq!(
                normalised(b"\xEF\xBB\xBF\"a\r\nb\"\r\n", step),
                b"\xEF\xBB\xBF\"a\r\nb\"\n"
            );
        }
    }

    proptest! {
        #[test]
        fn chunking_never_changes_the_result(
            input in proptest::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'x'), Just(b'"'), Just(b',')],
                0..40,
            ),
            step in 1usize..8,
        ) {
            prop_assert_eq!(normalised(&input, step), normalised(&input, 1 << 10));
        }


        #[test]
        fn matches_a_plain_rewrite_whatever_the_chunking(
            input in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'x')], 0..40),
            step in 1usize..8,
        ) {
            let text = String::from_utf8(input.clone()).unwrap();
            let mut want = text.replace("\r\n", "\n").replace('\r', "\n").into_bytes();
            if !want.is_empty() && !want.ends_with(b"\n") {
                want.push(b'\n');
            }
            prop_assert_eq!(normalised(&input, step), want);
        }
    }
}
