//! The columns of SPEC §2, their aliases (the providers' own parameter names), and the mapping of a
//! file's header onto them.

/// A column the tool understands, by its name in the README's input table. Any other column is carried through to the
/// results unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Column {
    Provider,
    Account,
    Action,
    User,
    UserName,
    Password,
    GeneratePassword,
    LoginStatus,
    MfaBindRequired,
    PasswordResetRequired,
    MaxPasswordAge,
    Email,
    LoginProtectEnabled,
    VerificationMethod,
}

impl Column {
    pub const ALL: &[Column] = <Column as strum::VariantArray>::VARIANTS;

    /// The column's name in SPEC §2.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Other header names accepted for the column (SPEC §2).
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Column::Account => &["profile"],
            Column::User => &["UserPrincipalName", "UserName", "user_id"],
            Column::Password => &["Password"],
            Column::GeneratePassword => &["GenerateRandomPassword"],
            Column::LoginStatus => &["Status"],
            Column::MfaBindRequired => &["MFABindRequired", "mfa_required"],
            Column::PasswordResetRequired => &["PasswordResetRequired"],
            Column::MaxPasswordAge => &["MaxPasswordAge"],
            Column::Email => &["UserEmail"],
            Column::LoginProtectEnabled => &["enabled"],
            _ => &[],
        }
    }

    /// The column of a SPEC §2 name, as providers name columns in their row checks.
    pub fn from_name(name: &str) -> Option<Column> {
        Column::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// The column of a header cell. Exact names and aliases (ignoring case) win over loose matches
    /// that also ignore `_`, `-` and spaces, and among loose matches the SPEC name wins over an alias:
    /// `UserName` is the `user` alias of UCloud, while `user_name` and `User Name` are huawei's
    /// `user_name` column, although all three read `username` loosely.
    pub fn of_header(header: &str) -> Option<Column> {
        let header = header.trim();
        let names = || {
            Column::ALL.iter().copied().flat_map(|c| {
                std::iter::once((c, c.name(), true))
                    .chain(c.aliases().iter().map(move |a| (c, *a, false)))
            })
        };
        names()
            .find(|(_, name, _)| name.eq_ignore_ascii_case(header))
            .or_else(|| names().find(|(_, name, spec)| *spec && loosely_equal(name, header)))
            .or_else(|| names().find(|(_, name, _)| loosely_equal(name, header)))
            .map(|(column, _, _)| column)
    }
}

/// Equal ignoring ASCII case and the separators `_`, `-` and space.
fn loosely_equal(a: &str, b: &str) -> bool {
    fn significant(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.bytes()
            .filter(|b| !matches!(b, b'_' | b'-' | b' '))
            .map(|b| b.to_ascii_lowercase())
    }
    significant(a).eq(significant(b))
}

/// Where each known column sits in a file's header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnMap {
    index: [Option<usize>; Column::ALL.len()],
}

/// Two header cells that mean the same column.
#[derive(Debug, PartialEq, Eq)]
pub struct SameColumn {
    pub column: Column,
    pub first: usize,
    pub second: usize,
}

impl ColumnMap {
    /// Maps a header row; two cells meaning the same column are an error.
    pub fn of_headers<'a>(
        headers: impl IntoIterator<Item = &'a str>,
    ) -> Result<ColumnMap, SameColumn> {
        let mut map = ColumnMap::default();
        for (i, header) in headers.into_iter().enumerate() {
            let Some(column) = Column::of_header(header) else {
                continue;
            };
            let slot = &mut map.index[column as usize];
            if let Some(first) = *slot {
                return Err(SameColumn {
                    column,
                    first,
                    second: i,
                });
            }
            *slot = Some(i);
        }
        Ok(map)
    }

    /// The position of `column` in the header, if the file has it.
    pub fn get(&self, column: Column) -> Option<usize> {
        self.index[column as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_names_loosely_and_the_providers_parameter_names() {
        let cases = [
            ("user", Column::User),
            ("USER", Column::User),
            ("UserName", Column::User),
            ("username", Column::User),
            ("UserPrincipalName", Column::User),
            ("user_id", Column::User),
            ("User-Id", Column::User),
            ("user_name", Column::UserName),
            ("User Name", Column::UserName),
            ("user-name", Column::UserName),
            ("Password", Column::Password),
            ("Status", Column::LoginStatus),
            ("status", Column::LoginStatus),
            ("Login Status", Column::LoginStatus),
            ("MFABindRequired", Column::MfaBindRequired),
            ("mfa_required", Column::MfaBindRequired),
            ("MFA-Required", Column::MfaBindRequired),
            ("enabled", Column::LoginProtectEnabled),
            ("GenerateRandomPassword", Column::GeneratePassword),
            ("Profile", Column::Account),
            ("UserEmail", Column::Email),
            (" max password age ", Column::MaxPasswordAge),
            ("VerificationMethod", Column::VerificationMethod),
        ];
        for (header, column) in cases {
            assert_eq!(Column::of_header(header), Some(column), "{header}");
        }
        for header in ["department", "", "users", "pass word x"] {
            assert_eq!(Column::of_header(header), None, "{header}");
        }
    }

    #[test]
    fn every_spec_name_maps_to_its_own_column() {
        for column in Column::ALL.iter().copied() {
            assert_eq!(Column::of_header(column.name()), Some(column));
            assert_eq!(Column::from_name(column.name()), Some(column));
            for alias in column.aliases() {
                assert_eq!(Column::of_header(alias), Some(column), "{alias}");
            }
        }
    }

    #[test]
    fn two_headers_for_one_column_are_refused() {
        let err = ColumnMap::of_headers(["UserName", "action", "user"]).unwrap_err();
        assert_eq!(
            err,
            SameColumn {
                column: Column::User,
                first: 0,
                second: 2
            }
        );
        let map = ColumnMap::of_headers(["UserName", "user_name", "dept"]).unwrap();
        assert_eq!(map.get(Column::User), Some(0));
        assert_eq!(map.get(Column::UserName), Some(1));
    }
}
