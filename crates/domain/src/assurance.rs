//! Assurance levels of an identity (eIDAS / BSI TR-03107 "Vertrauensniveau").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::lang::{Lang, Text};

/// How sure the portal is about who a person is. Ordered: `Basic < Substantial < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssuranceLevel {
    /// Registered with a confirmed e-mail address.
    Basic,
    /// Identity checked once in person at an authority's counter.
    Substantial,
    /// Identified with the German eID card (online ID function).
    High,
}

impl AssuranceLevel {
    pub const ALL: [AssuranceLevel; 3] = [Self::Basic, Self::Substantial, Self::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Basic => "basic",
            Self::Substantial => "substantial",
            Self::High => "high",
        }
    }

    /// Whether an identity at `self` may use a service that requires `required`.
    pub fn satisfies(self, required: AssuranceLevel) -> bool {
        self >= required
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::Basic, Lang::De) => "Basis (registriert)",
            (Self::Basic, Lang::En) => "Basic (registered)",
            (Self::Substantial, Lang::De) => "Substanziell (Identität einmal geprüft)",
            (Self::Substantial, Lang::En) => "Substantial (identity checked once)",
            (Self::High, Lang::De) => "Hoch (Online-Ausweis)",
            (Self::High, Lang::En) => "High (German eID card)",
        }
    }

    pub fn explanation(self) -> Text {
        let (de, en) = match self {
            Self::Basic => (
                "Ein Servicekonto mit bestätigter E-Mail-Adresse genügt.",
                "An account with a confirmed e-mail address is enough.",
            ),
            Self::Substantial => (
                "Sie müssen sich einmal persönlich bei einer Behörde ausweisen oder den Online-Ausweis nutzen.",
                "You need to have shown your ID card once in person at an authority, or use the German eID card.",
            ),
            Self::High => (
                "Sie melden sich mit der Online-Ausweisfunktion Ihres Personalausweises an.",
                "You sign in with the online ID function of your German ID card.",
            ),
        };
        // Both texts are non-empty literals without control characters.
        Text::new(de, en).unwrap_or_else(|_| unreachable!("static texts are valid"))
    }
}

impl FromStr for AssuranceLevel {
    type Err = UnknownLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "basic" => Ok(Self::Basic),
            "substantial" => Ok(Self::Substantial),
            "high" => Ok(Self::High),
            _ => Err(UnknownLevel),
        }
    }
}

impl fmt::Display for AssuranceLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown assurance level: use `basic`, `substantial` or `high`")]
pub struct UnknownLevel;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_and_satisfy_lower_requirements() {
        use AssuranceLevel::*;
        for have in AssuranceLevel::ALL {
            for need in AssuranceLevel::ALL {
                assert_eq!(
                    have.satisfies(need),
                    have as u8 >= need as u8,
                    "{have} vs {need}"
                );
            }
        }
        assert!(High.satisfies(Basic));
        assert!(!Basic.satisfies(Substantial));
        assert_eq!("high".parse::<AssuranceLevel>(), Ok(High));
        assert!("HIGH".parse::<AssuranceLevel>().is_err());
    }
}
