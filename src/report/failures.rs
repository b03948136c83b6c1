//! Why rows did not succeed, for the end-of-run summary: per error code, how many rows and the
//! message of the first line. The messages are the ones the results file holds (provider messages,
//! already redacted by the provider's classifier), so the summary shows nothing the file does not.

use std::collections::BTreeMap;

/// Codes listed per account; the rest are counted.
pub const CODES_SHOWN: usize = 5;
/// A longer message is cut here: the full text is in the results file.
const MESSAGE_CHARS: usize = 160;

#[derive(Debug)]
struct Reason {
    rows: u64,
    /// The message of the row with the lowest line (none for an export's users).
    message: String,
    line: Option<u64>,
}

/// The error codes of one account's rows that failed, were invalid or were not attempted.
#[derive(Debug, Default)]
pub struct Failures {
    codes: BTreeMap<String, Reason>,
}

impl Failures {
    /// Counts a row that did not succeed.
    pub fn add(&mut self, code: Option<&str>, message: Option<&str>, line: Option<u64>) {
        let code = code.filter(|c| !c.is_empty()).unwrap_or("(no code)");
        match self.codes.get_mut(code) {
            Some(reason) => {
                reason.rows += 1;
                // Rows finish out of order; the example is the first line, whichever came first.
                if line.is_some_and(|l| reason.line.is_some_and(|first| l < first)) {
                    reason.message = one_line(message.unwrap_or_default());
                    reason.line = line;
                }
            }
            None => {
                self.codes.insert(
                    code.to_string(),
                    Reason {
                        rows: 1,
                        message: one_line(message.unwrap_or_default()),
                        line,
                    },
                );
            }
        }
    }

    /// One indented line per code, most rows first (then by code), at most [`CODES_SHOWN`], then
    /// how many codes were left out.
    pub fn render(&self, indent: &str) -> String {
        let mut reasons: Vec<(&String, &Reason)> = self.codes.iter().collect();
        reasons.sort_by(|a, b| b.1.rows.cmp(&a.1.rows).then(a.0.cmp(b.0)));
        let mut out = String::new();
        for (code, r) in reasons.iter().take(CODES_SHOWN) {
            let rows = match r.rows {
                1 => "1 row".to_string(),
                n => format!("{n} rows"),
            };
            out.push_str(&format!("{indent}{code}: {rows}"));
            if let Some(line) = r.line {
                out.push_str(&format!(", e.g. line {line}"));
            }
            if !r.message.is_empty() {
                out.push_str(&format!(": {}", r.message));
            }
            out.push('\n');
        }
        if let Some(more) = reasons.len().checked_sub(CODES_SHOWN).filter(|n| *n > 0) {
            let (codes, rows) = (
                if more == 1 { "code" } else { "codes" },
                reasons[CODES_SHOWN..].iter().map(|r| r.1.rows).sum::<u64>(),
            );
            out.push_str(&format!(
                "{indent}and {more} more {codes} ({rows} rows): see error_code in the results file\n"
            ));
        }
        out
    }
}

/// The message on one line, control characters shown as spaces, cut at [`MESSAGE_CHARS`].
fn one_line(message: &str) -> String {
    let flat: String = message
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(MESSAGE_CHARS) {
        Some((at, _)) => format!("{}…", &flat[..at]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_most_frequent_first_with_their_first_message() {
        let mut f = Failures::default();
        for line in 2..42 {
            f.add(
                Some("EntityNotExist.User.LoginProfile"),
                Some(&format!("The login profile of user{line} does not exist.")),
                Some(line),
            );
        }
        f.add(Some("timeout"), Some("no reply in 31 s"), Some(51));
        f.add(Some("timeout"), Some("no reply\nin 30 s"), Some(50));
        f.add(Some("invalid"), Some("column user: empty"), None);
        assert_eq!(
            f.render("    "),
            "    EntityNotExist.User.LoginProfile: 40 rows, e.g. line 2: The login profile of user2 does not exist.\n    \
             timeout: 2 rows, e.g. line 50: no reply in 30 s\n    \
             invalid: 1 row: column user: empty\n"
        );
    }

    #[test]
    fn the_top_codes_then_how_many_more() {
        let mut f = Failures::default();
        for (i, code) in ["a", "b", "c", "d", "e", "f", "g"].iter().enumerate() {
            for _ in 0..=i {
                f.add(Some(code), None, Some(i as u64 + 2));
            }
        }
        let text = f.render("");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), CODES_SHOWN + 1, "{text}");
        assert_eq!(lines[0], "g: 7 rows, e.g. line 8");
        assert_eq!(lines[4], "c: 3 rows, e.g. line 4");
        assert_eq!(
            lines[5],
            "and 2 more codes (3 rows): see error_code in the results file"
        );
    }

    #[test]
    fn a_long_message_is_cut_and_a_missing_code_is_named() {
        let mut f = Failures::default();
        f.add(None, Some(&"x".repeat(500)), Some(9));
        let text = f.render("");
        assert!(
            text.starts_with("(no code): 1 row, e.g. line 9: xxx"),
            "{text}"
        );
        assert!(text.trim_end().ends_with("x…"));
        assert!(text.len() < 220, "{}", text.len());
    }
}
