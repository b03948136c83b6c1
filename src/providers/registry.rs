//! The providers there are: each cloud's name and aliases, and its module. Adding a provider is a
//! variant here and its arm in [`provider`].

use super::{Provider, aliyun, huawei, ucloud};
use crate::jobs::one_of;
use std::fmt;
use std::str::FromStr;
use strum::{EnumMessage, IntoStaticStr, VariantArray};

/// The cloud a row talks to.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    IntoStaticStr,
    VariantArray,
    EnumMessage,
)]
pub enum ProviderKind {
    #[strum(
        to_string = "aliyun",
        serialize = "alibaba",
        serialize = "alibabacloud"
    )]
    Aliyun,
    #[strum(to_string = "ucloud")]
    Ucloud,
    #[strum(to_string = "huawei", serialize = "huaweicloud")]
    Huawei,
}

impl ProviderKind {
    pub const ALL: &[ProviderKind] = ProviderKind::VARIANTS;

    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Every provider's name, for messages: "aliyun, ucloud, huawei".
    pub fn names() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
        names.join(", ")
    }

    /// Every name and alias, for messages: "aliyun (alibaba, alibabacloud), ucloud or ...".
    fn choices() -> String {
        let each: Vec<String> = Self::ALL
            .iter()
            .map(|k| match k.get_serializations() {
                [name] => name.to_string(),
                names => {
                    let aliases: Vec<&str> =
                        names.iter().copied().filter(|n| *n != k.name()).collect();
                    format!("{} ({})", k.name(), aliases.join(", "))
                }
            })
            .collect();
        one_of(&each)
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ProviderKind {
    type Err = String;

    /// Case-insensitive, with the aliases.
    fn from_str(s: &str) -> Result<Self, String> {
        let wanted = s.trim();
        let found = Self::ALL.iter().copied().find(|k| {
            k.get_serializations()
                .iter()
                .any(|n| n.eq_ignore_ascii_case(wanted))
        });
        found.ok_or_else(|| {
            format!(
                "unknown provider '{}': use {}",
                s.trim().to_ascii_lowercase(),
                Self::choices()
            )
        })
    }
}

/// The provider of a kind.
pub fn provider(kind: ProviderKind) -> &'static dyn Provider {
    match kind {
        ProviderKind::Aliyun => &aliyun::Aliyun,
        ProviderKind::Ucloud => &ucloud::Ucloud,
        ProviderKind::Huawei => &huawei::Huawei,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{Effect, Exists, Part, When};

    /// What the engine relies on in every provider's declarations.
    #[test]
    fn every_providers_declarations_are_well_formed() {
        for kind in ProviderKind::ALL {
            let p = provider(*kind);
            assert_eq!(p.spec().kind, *kind);
            for spec in p.spec().actions {
                let at = format!("{kind} {}", spec.action);
                assert_eq!(
                    p.spec().action(spec.action).map(|s| s.action),
                    Some(spec.action)
                );
                assert!(
                    spec.read.iter().all(|r| r.effect == Effect::Read),
                    "{at}: its read reads"
                );
                assert!(!spec.steps.is_empty(), "{at}: sends something");
                for f in spec.reads {
                    assert!(
                        p.spec().readable.contains(f),
                        "{at}: {f:?} is an observed column"
                    );
                }
                for (i, step) in spec.steps.iter().enumerate() {
                    if step.when != When::Always {
                        // A read, or a user created by this row, which has nothing else yet.
                        assert!(
                            spec.steps[..i].iter().any(|s| s.effect == Effect::Read
                                || (s.effect == Effect::Create && s.part == Part::User)),
                            "{at}: {} depends on a read before it",
                            step.api
                        );
                    }
                    if let Exists::Ours { finish } = step.exists {
                        assert_eq!(finish.effect, Effect::Update, "{at}: {}", step.api);
                    }
                }
            }
        }
    }
}
