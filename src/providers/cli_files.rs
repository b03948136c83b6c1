//! What a provider needs to read its official CLI's credentials file (docs/providers.md §1.5, §2.7,
//! §3.6): the home directory and environment of this run, and a reader that tells "absent" from
//! "unreadable". The parsing itself is each provider's own pure function.

use crate::providers::Keys;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Where to look: the run's environment (tests give a temp `HOME`).
pub struct CliLookup<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// Credentials read from a CLI file, and where they came from (a file and profile, never a value).
#[derive(Debug)]
pub struct CliKeys {
    pub keys: Keys,
    pub source: String,
}

impl CliLookup<'_> {
    /// The first of `names` set to a non-empty value.
    pub fn var(&self, names: &[&str]) -> Option<String> {
        names
            .iter()
            .find_map(|n| (self.env)(n).filter(|v| !v.is_empty()))
    }

    /// `HOME` (`USERPROFILE` on Windows).
    pub fn home(&self) -> Option<PathBuf> {
        self.var(&["HOME", "USERPROFILE"]).map(PathBuf::from)
    }

    /// The file named by the variable `var` (a leading `~/` is the home directory), else `relative`
    /// under the home directory. The flag says the path came from the variable: such a file must
    /// exist.
    fn file(&self, var: Option<&str>, relative: &str) -> Option<(PathBuf, bool)> {
        match var.and_then(|v| self.var(&[v])) {
            Some(p) => Some((self.expand(&p), true)),
            None => self.home().map(|h| (h.join(relative), false)),
        }
    }

    fn expand(&self, path: &str) -> PathBuf {
        match (path.strip_prefix("~/"), self.home()) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => PathBuf::from(path),
        }
    }

    /// The file's text, wiped from memory when dropped; `None` when it does not exist.
    fn read(&self, path: &Path) -> Result<Option<Zeroizing<String>>, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(Zeroizing::new(text))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// A CLI's credentials file and its text: the file the variable `var` names, else `relative`
    /// under the home directory. `Ok(None)` when it does not exist, unless the variable named it or
    /// `named` (an account names a profile in it): then its absence is an error.
    pub fn credentials_file(
        &self,
        var: Option<&str>,
        relative: &str,
        named: bool,
    ) -> Result<Option<(PathBuf, Zeroizing<String>)>, String> {
        let Some((path, moved)) = self.file(var, relative) else {
            return if named {
                Err(format!("HOME is not set, so ~/{relative} cannot be found"))
            } else {
                Ok(None)
            };
        };
        let text = self.read_required(&path, moved || named)?;
        Ok(text.map(|text| (path, text)))
    }

    /// [`CliLookup::read`], where absence is an error when `required`.
    fn read_required(
        &self,
        path: &Path,
        required: bool,
    ) -> Result<Option<Zeroizing<String>>, String> {
        match self.read(path)? {
            None if required => Err(format!("{} does not exist", path.display())),
            text => Ok(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_come_from_the_variable_or_the_home_directory() {
        let env = |k: &str| match k {
            "HOME" => Some("/home/op".to_string()),
            "SET" => Some("~/elsewhere/creds".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let lookup = CliLookup { env: &env };
        assert_eq!(
            lookup.file(Some("SET"), ".x/creds"),
            Some((PathBuf::from("/home/op/elsewhere/creds"), true))
        );
        assert_eq!(
            lookup.file(Some("EMPTY"), ".x/creds"),
            Some((PathBuf::from("/home/op/.x/creds"), false))
        );
        let no_home = |_: &str| None;
        assert_eq!(CliLookup { env: &no_home }.file(Some("SET"), ".x"), None);
    }

    #[test]
    fn absent_files_are_none_unless_required() {
        let env = |_: &str| None;
        let lookup = CliLookup { env: &env };
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert!(lookup.read(&missing).unwrap().is_none());
        assert!(lookup.read_required(&missing, false).unwrap().is_none());
        let e = lookup.read_required(&missing, true).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
        std::fs::write(dir.path().join("f"), "text").unwrap();
        assert_eq!(
            lookup
                .read(&dir.path().join("f"))
                .unwrap()
                .unwrap()
                .as_str(),
            "text"
        );
    }
}
