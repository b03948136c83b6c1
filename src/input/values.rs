//! Cell parsers. Cells arrive trimmed; an empty cell means "not set, leave as is" (docs/contract.md §2).

use std::str::FromStr;

/// `true/false/yes/no/y/n/1/0` in any case; anything else is refused rather than guessed.
pub fn parse_bool(cell: &str) -> Result<Option<bool>, String> {
    const TRUE: [&str; 4] = ["true", "yes", "y", "1"];
    const FALSE: [&str; 4] = ["false", "no", "n", "0"];
    let is = |words: &[&str]| words.iter().any(|w| w.eq_ignore_ascii_case(cell));
    if cell.is_empty() {
        Ok(None)
    } else if is(&TRUE) {
        Ok(Some(true))
    } else if is(&FALSE) {
        Ok(Some(false))
    } else {
        Err(format!(
            "'{cell}' is not a boolean: use true or false (yes/no, y/n and 1/0 also work), or leave it empty"
        ))
    }
}

/// A whole number of days.
pub fn parse_days(cell: &str) -> Result<Option<u32>, String> {
    if cell.is_empty() {
        return Ok(None);
    }
    cell.parse().map(Some).map_err(|_| {
        format!("'{cell}' is not a whole number of days: write it like 90, or leave it empty")
    })
}

/// A value of one of the enums of `jobs`, whose `FromStr` errors already say what to write.
pub fn parse_enum<T: FromStr<Err = String>>(cell: &str) -> Result<Option<T>, String> {
    if cell.is_empty() {
        return Ok(None);
    }
    cell.parse().map(Some)
}

/// Free text.
pub fn parse_text(cell: &str) -> Result<Option<String>, String> {
    Ok((!cell.is_empty()).then(|| cell.to_string()))
}

/// Group names separated by `;`, each trimmed; empty names between separators are ignored and
/// a name given twice counts once.
pub fn parse_groups(cell: &str) -> Result<Option<Vec<String>>, String> {
    let mut groups: Vec<String> = Vec::new();
    for name in cell.split(';').map(str::trim).filter(|n| !n.is_empty()) {
        if !groups.iter().any(|g| g == name) {
            groups.push(name.to_string());
        }
    }
    Ok((!groups.is_empty()).then_some(groups))
}

/// A mobile phone number as `<country code>-<number>` (`86-13888888888`).
pub fn parse_phone(cell: &str) -> Result<Option<String>, String> {
    if cell.is_empty() {
        return Ok(None);
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match cell.split_once('-') {
        Some((code, number)) if code.len() <= 4 && digits(code) && digits(number) => {
            Ok(Some(cell.to_string()))
        }
        _ => Err(format!(
            "'{cell}' is not a mobile phone number: write the country code, a dash and the number (86-13888888888)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{LoginStatus, VerificationMethod};

    #[test]
    fn reads_the_usual_spellings_of_booleans() {
        for cell in ["true", "TRUE", "Yes", "y", "1"] {
            assert_eq!(parse_bool(cell), Ok(Some(true)), "{cell}");
        }
        for cell in ["false", "No", "N", "0"] {
            assert_eq!(parse_bool(cell), Ok(Some(false)), "{cell}");
        }
        assert_eq!(parse_bool(""), Ok(None));
        for cell in ["maybe", "2", "yess", "t"] {
            let err = parse_bool(cell).unwrap_err();
            assert!(
                err.starts_with(&format!("'{cell}' is not a boolean")),
                "{err}"
            );
        }
    }

    #[test]
    fn reads_days_and_enums() {
        assert_eq!(parse_days("90"), Ok(Some(90)));
        assert_eq!(parse_days(""), Ok(None));
        assert!(parse_days("-1").is_err());
        assert!(parse_days("90.5").is_err());
        assert!(parse_days("99999999999").is_err());
        assert_eq!(
            parse_enum::<LoginStatus>("inactive"),
            Ok(Some(LoginStatus::Inactive))
        );
        assert_eq!(
            parse_enum::<VerificationMethod>("VMFA"),
            Ok(Some(VerificationMethod::Vmfa))
        );
        assert!(
            parse_enum::<VerificationMethod>("fax")
                .unwrap_err()
                .contains("use sms, email or vmfa")
        );
        assert_eq!(parse_enum::<LoginStatus>(""), Ok(None));
    }

    #[test]
    fn reads_group_lists_and_phone_numbers() {
        assert_eq!(
            parse_groups(" auditors ; ops;;auditors "),
            Ok(Some(vec!["auditors".to_string(), "ops".to_string()]))
        );
        assert_eq!(parse_groups(" ; "), Ok(None));
        assert_eq!(
            parse_phone("86-13888888888"),
            Ok(Some("86-13888888888".into()))
        );
        assert_eq!(parse_phone(""), Ok(None));
        assert!(
            parse_phone("13888888888")
                .unwrap_err()
                .contains("country code")
        );
        assert!(parse_phone("86-1388x").is_err());
    }
}
