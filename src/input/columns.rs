//! The columns of docs/contract.md §2, their aliases (the providers' own parameter names), and the mapping of a
//! file's header onto them.

use crate::jobs::Field;

/// A column the tool understands, by its name in the README's input table. Any other column is carried through to the
/// results unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Column {
    Provider,
    Account,
    Action,
    User,
    UserName,
    Password,
    GeneratePassword,
    /// A state a provider can set or read back; named by the field.
    State(Field),
}

/// The columns that say which user and what to do, before the state columns.
const ROW_COLUMNS: [Column; 7] = [
    Column::Provider,
    Column::Account,
    Column::Action,
    Column::User,
    Column::UserName,
    Column::Password,
    Column::GeneratePassword,
];

/// Every column: the row columns, then one per state field, in `Field::ALL` order.
const ALL_COLUMNS: [Column; ROW_COLUMNS.len() + Field::ALL.len()] = {
    let mut all = [Column::Provider; ROW_COLUMNS.len() + Field::ALL.len()];
    let mut i = 0;
    while i < all.len() {
        all[i] = if i < ROW_COLUMNS.len() {
            ROW_COLUMNS[i]
        } else {
            Column::State(Field::ALL[i - ROW_COLUMNS.len()])
        };
        i += 1;
    }
    all
};

impl Column {
    pub const ALL: &[Column] = &ALL_COLUMNS;

    /// The column's name in docs/contract.md §2. A state column is named by its field, so that
    /// the input column and the `observed_*` result column cannot drift apart.
    pub fn name(self) -> &'static str {
        match self {
            Column::State(field) => field.column(),
            row => row.into(),
        }
    }

    /// Other header names accepted for the column (docs/contract.md §2).
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Column::Account => &["profile"],
            Column::User => &["UserPrincipalName", "UserName", "user_id"],
            Column::Password => &["Password"],
            Column::GeneratePassword => &["GenerateRandomPassword"],
            Column::State(Field::LoginStatus) => &["Status"],
            Column::State(Field::MfaBindRequired) => &["MFABindRequired", "mfa_required"],
            Column::State(Field::PasswordResetRequired) => &["PasswordResetRequired"],
            Column::State(Field::MaxPasswordAge) => &["MaxPasswordAge"],
            Column::State(Field::Email) => &["UserEmail"],
            Column::State(Field::LoginProtectEnabled) => &["enabled"],
            Column::State(Field::Comments) => &["description"],
            _ => &[],
        }
    }

    /// Where the column sits in `Column::ALL`.
    fn position(self) -> usize {
        Column::ALL
            .iter()
            .position(|c| *c == self)
            .expect("Column::ALL holds every column")
    }

    /// The column of a header cell. Exact names and aliases (ignoring case) win over loose matches
    /// that also ignore `_`, `-` and spaces, and among loose matches the canonical name wins over an alias:
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

/// The bytes of a name that count: ASCII case and the separators `_`, `-` and space ignored.
fn significant(s: &str) -> impl Iterator<Item = u8> + '_ {
    s.bytes()
        .filter(|b| !matches!(b, b'_' | b'-' | b' '))
        .map(|b| b.to_ascii_lowercase())
}

/// Equal ignoring ASCII case and the separators `_`, `-` and space.
fn loosely_equal(a: &str, b: &str) -> bool {
    significant(a).eq(significant(b))
}

/// A header that is no column iambatch knows but so close to one that it is most likely a typo:
/// its cells would be carried through, not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NearMiss {
    /// The header cell as written (trimmed).
    pub header: String,
    /// The name or alias it is close to.
    pub meant: &'static str,
}

/// The known name or alias a header not itself known is a likely typo of: a Damerau-Levenshtein
/// distance (after the loose normalisation) of at most 1 for names of up to 6 significant letters
/// and at most 2 for longer ones. Short names get 1 so that common pass-through columns (`state`,
/// `team`, `note`, `region`, `ticket`) stay apart from `status`, `email`, `user` and `action`.
/// Two kinds of ordinary names are kept apart too:
/// - a known name extended by a separated word, digits or a plural `s` (`account_id`, `old_user`,
///   `email2`, `emails`): the name of some other data about the same thing;
/// - a short known name (under 6 letters) missing letters (`mail`, `usr`): as often a word of its
///   own, and a missing column the row needs (`user`) is refused by the row checks anyway. From 6
///   letters on a missing letter is a typo (`acton`, and `stats` too: a column of one's own of that
///   name is renamed in a moment, while a misspelled `status` would silently set nothing).
fn near_miss(header: &str) -> Option<&'static str> {
    let significant_header = String::from_utf8(significant(header).collect()).ok()?;
    if significant_header.is_empty() {
        return None;
    }
    Column::ALL
        .iter()
        .flat_map(|c| std::iter::once(c.name()).chain(c.aliases().iter().copied()))
        .filter_map(|name| {
            let known = String::from_utf8(significant(name).collect()).ok()?;
            if extends(header, &significant_header, name, &known)
                || (significant_header.len() < known.len() && known.len() < 6)
            {
                return None;
            }
            let limit = if known.len() <= 6 { 1 } else { 2 };
            let distance = strsim::damerau_levenshtein(&significant_header, &known);
            (distance <= limit).then_some((distance, name))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// Whether `header` is the known `name` (`known` its significant letters) extended by a word set
/// apart by a separator, or by digits or a plural `s`, or is the singular of a plural name
/// (`comment` beside `comments`).
fn extends(header: &str, significant_header: &str, name: &str, known: &str) -> bool {
    let words = |s: &str| s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    let (header, name) = (words(header), words(name));
    let separated = header
        .strip_prefix(&name)
        .is_some_and(|rest| rest.starts_with('_'))
        || header
            .strip_suffix(&name)
            .is_some_and(|rest| rest.ends_with('_'));
    let suffixed = significant_header.strip_prefix(known).is_some_and(|rest| {
        rest == "s" || (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
    });
    let singular = known.strip_prefix(significant_header) == Some("s");
    separated || suffixed || singular
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
            let slot = &mut map.index[column.position()];
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

    /// The headers that are no known column but look like a misspelling of one the file does not
    /// already have (with `user` present, `users` is a column of its own).
    pub fn near_misses<'a>(&self, headers: impl IntoIterator<Item = &'a str>) -> Vec<NearMiss> {
        headers
            .into_iter()
            .filter(|header| Column::of_header(header).is_none())
            .filter_map(|header| {
                let meant = near_miss(header)?;
                let column = Column::of_header(meant)?;
                self.get(column).is_none().then(|| NearMiss {
                    header: header.trim().to_string(),
                    meant,
                })
            })
            .collect()
    }

    /// The position of `column` in the header, if the file has it.
    pub fn get(&self, column: Column) -> Option<usize> {
        self.index[column.position()]
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
            ("Status", Column::State(Field::LoginStatus)),
            ("status", Column::State(Field::LoginStatus)),
            ("Login Status", Column::State(Field::LoginStatus)),
            ("MFABindRequired", Column::State(Field::MfaBindRequired)),
            ("mfa_required", Column::State(Field::MfaBindRequired)),
            ("MFA-Required", Column::State(Field::MfaBindRequired)),
            ("enabled", Column::State(Field::LoginProtectEnabled)),
            ("GenerateRandomPassword", Column::GeneratePassword),
            ("Profile", Column::Account),
            ("UserEmail", Column::State(Field::Email)),
            (" max password age ", Column::State(Field::MaxPasswordAge)),
            (
                "VerificationMethod",
                Column::State(Field::VerificationMethod),
            ),
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
            for alias in column.aliases() {
                assert_eq!(Column::of_header(alias), Some(column), "{alias}");
            }
        }
    }

    fn misses(headers: &[&str]) -> Vec<(String, &'static str)> {
        ColumnMap::of_headers(headers.iter().copied())
            .unwrap()
            .near_misses(headers.iter().copied())
            .into_iter()
            .map(|m| (m.header, m.meant))
            .collect()
    }

    #[test]
    fn a_header_close_to_a_known_column_is_a_near_miss() {
        let cases = [
            ("login_stauts", "login_status"),
            ("Login Stat", "login_status"),
            ("mfa_bind_requird", "mfa_bind_required"),
            ("MFABindRequred", "mfa_bind_required"),
            ("pasword", "password"),
            ("acction", "action"),
            ("provder", "provider"),
            ("max_pasword_age", "max_password_age"),
            ("emial", "email"),
            ("statsu", "Status"),
            ("stats", "Status"),
            ("acton", "action"),
            ("verification_methd", "verification_method"),
        ];
        for (header, meant) in cases {
            assert_eq!(
                misses(&[header, "department"]),
                [(header.trim().to_string(), meant)],
                "{header}"
            );
        }
    }

    #[test]
    fn pass_through_columns_are_not_near_misses() {
        let headers = [
            "user",
            "department",
            "ticket",
            "manager",
            "note",
            "notes",
            "team",
            "state",
            "region",
            "comment",
            "name",
            "phone",
            "owner",
            "group",
            "role",
            "title",
            "location",
            "cost_center",
            "employee_id",
            "display_name",
            "mfa_bound",
            "mfa_type",
            "users",
            "account_id",
            "provider_id",
            "user_id2",
            "old_user",
            "email_2",
            "emails",
            "email2",
            "mail",
            "usr",
            "groups",
            "Status Reason",
            "",
        ];
        assert_eq!(misses(&headers), []);
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
