//! Passwords the tool generates (docs/contract.md §2, §6, §7): made from a CSPRNG, and written only to the
//! `--secrets-out` file, which is created with mode 0600, never overwritten, and receives each
//! password (synced to disk) before the request that sets it is sent: a crash can never lose a
//! password that a provider has applied.

use crate::jobs::ProviderKind;
use crate::secret::Secret;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{CryptoRng, Rng};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use zeroize::Zeroizing;

/// Characters per generated password: about 150 bits from the 76-character alphabet.
pub const LENGTH: usize = 24;

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";
/// Symbols of Alibaba's password policy, without those that need quoting in a CSV file or a
/// shell (comma, quotes, backslash, space, `$`, `&`, `;`).
const SYMBOLS: &[u8] = b"!#%*+-.:=?@^_~";

/// The header of the secrets file.
pub const SECRETS_HEADER: &str = "line,provider,account,user,password";

/// A new password of [`LENGTH`] characters with at least one upper and lower case letter, digit
/// and symbol. It starts with a letter, so a spreadsheet opening the secrets file never reads it
/// as a formula.
pub fn generate(rng: &mut (impl Rng + CryptoRng)) -> Secret {
    let classes = [UPPER, LOWER, DIGITS, SYMBOLS];
    let all = classes.concat();
    let mut chars = Zeroizing::new(Vec::with_capacity(LENGTH));
    for class in classes {
        chars.extend(class.choose(rng));
    }
    while chars.len() < LENGTH {
        chars.extend(all.choose(rng));
    }
    chars.shuffle(rng);
    if let Some(letter) = chars.iter().position(u8::is_ascii_alphabetic) {
        chars.swap(0, letter);
    }
    Secret::new(String::from_utf8(std::mem::take(&mut *chars)).expect("ASCII"))
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error(
        "the secrets file {} already exists: generated passwords are never written over a file; move it away, or name a new file with --secrets-out",
        path.display()
    )]
    Exists { path: PathBuf },
    #[error("cannot write the secrets file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The `--secrets-out` file: `line,provider,account,user,password`, one row per generated password.
#[derive(Debug)]
pub struct SecretsFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl SecretsFile {
    /// Creates the file with mode 0600 and writes its header; refuses a path that exists.
    pub fn create(path: &Path) -> Result<SecretsFile, SecretsError> {
        let io = |source: io::Error| match source.kind() {
            io::ErrorKind::AlreadyExists => SecretsError::Exists {
                path: path.to_path_buf(),
            },
            _ => SecretsError::Io {
                path: path.to_path_buf(),
                source,
            },
        };
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        file.write_all(format!("{SECRETS_HEADER}\n").as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(io)?;
        Ok(SecretsFile {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Appends one row's password and syncs it to disk. Call it before sending the password.
    pub fn record(
        &self,
        line: u64,
        provider: ProviderKind,
        account: &str,
        user: &str,
        password: &Secret,
    ) -> Result<(), SecretsError> {
        let mut text = Zeroizing::new(format!("{line},{provider},"));
        push_cell(&mut text, account);
        text.push(',');
        push_cell(&mut text, user);
        text.push(',');
        push_cell(&mut text, password.expose());
        text.push('\n');
        let mut file = self.file.lock().expect("secrets file lock");
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|source| SecretsError::Io {
                path: self.path.clone(),
                source,
            })
    }
}

/// Appends a CSV cell, quoted when it needs to be, without an intermediate copy of its value.
fn push_cell(out: &mut String, cell: &str) {
    if cell.contains([',', '"', '\n', '\r']) {
        out.push('"');
        for c in cell.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(cell);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_passwords_are_long_mixed_and_different() {
        let mut rng = rand::rng();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            let p = generate(&mut rng);
            let p = p.expose();
            assert_eq!(p.len(), LENGTH);
            for class in [UPPER, LOWER, DIGITS, SYMBOLS] {
                assert!(p.bytes().any(|b| class.contains(&b)), "{class:?} missing");
            }
            assert!(p.as_bytes()[0].is_ascii_alphabetic());
            assert!(seen.insert(p.to_string()));
        }
    }

    #[test]
    fn the_file_is_private_never_overwritten_and_quotes_cells() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.csv");
        let file = SecretsFile::create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        file.record(
            7,
            ProviderKind::Aliyun,
            "hq",
            "a@corp.onaliyun.com",
            &Secret::new("Pa,ss\"word"),
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "line,provider,account,user,password\n7,aliyun,hq,a@corp.onaliyun.com,\"Pa,ss\"\"word\"\n"
        );
        drop(file);
        let again = SecretsFile::create(&path).err().unwrap();
        assert!(matches!(again, SecretsError::Exists { .. }));
        assert!(again.to_string().contains("already exists"));
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
    }
}
