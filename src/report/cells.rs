//! Cell hygiene for the results CSV.

use std::borrow::Cow;

/// A cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) is written
/// with a leading `'`, unless it is a number (negative numbers stay numbers). Cells that already
/// start with quotes before such a character get one more, so [`unescape_formula`] is exact.
pub fn escape_formula(cell: &str) -> Cow<'_, str> {
    if is_formula(cell.trim_start_matches('\'')) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Reverses [`escape_formula`] when reading a results file back.
pub fn unescape_formula(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if is_formula(cell.trim_start_matches('\'')) => rest,
        _ => cell,
    }
}

fn is_formula(cell: &str) -> bool {
    matches!(
        cell.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    ) && cell.trim().parse::<f64>().is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_formulas_but_not_numbers() {
        assert_eq!(escape_formula("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(escape_formula("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(escape_formula("@import"), "'@import");
        assert_eq!(escape_formula("\tx"), "'\tx");
        assert_eq!(escape_formula("-12.5"), "-12.5");
        assert_eq!(escape_formula("'=x"), "''=x");
        assert_eq!(escape_formula("-"), "'-");
        assert_eq!(escape_formula("alice@corp"), "alice@corp");
        assert_eq!(escape_formula(""), "");
    }

    #[test]
    fn unescape_round_trips() {
        for s in [
            "=1+1",
            "plain",
            "-3",
            "'quoted",
            "@x",
            "'=already",
            "''+x",
            "'",
        ] {
            assert_eq!(unescape_formula(&escape_formula(s)), s);
        }
    }
}
