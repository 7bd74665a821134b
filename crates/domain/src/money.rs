//! Amounts of money and fees.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::lang::{Lang, Text};

/// An amount in euro cents. Amounts in definitions are written as `"12.80"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Euros {
    cents: u64,
}

impl Euros {
    /// The largest amount a definition may state: ten million euros.
    const MAX_CENTS: u64 = 1_000_000_000;

    pub fn from_cents(cents: u64) -> Self {
        Self { cents }
    }

    pub fn cents(self) -> u64 {
        self.cents
    }

    pub fn is_zero(self) -> bool {
        self.cents == 0
    }

    /// Formats the amount the way each language writes money: `1.234,50 €` and `€1,234.50`.
    pub fn format(self, lang: Lang) -> String {
        let euros = self.cents / 100;
        let cents = self.cents % 100;
        let (group, decimal) = match lang {
            Lang::De => ('.', ','),
            Lang::En => (',', '.'),
        };
        let digits = euros.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(group);
            }
            grouped.push(c);
        }
        match lang {
            Lang::De => format!("{grouped}{decimal}{cents:02}\u{a0}€"),
            Lang::En => format!("€{grouped}{decimal}{cents:02}"),
        }
    }
}

impl FromStr for Euros {
    type Err = InvalidAmount;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (whole, fraction) = s.split_once('.').unwrap_or((s, "00"));
        let valid = !whole.is_empty()
            && whole.len() <= 8
            && whole.bytes().all(|b| b.is_ascii_digit())
            && fraction.len() == 2
            && fraction.bytes().all(|b| b.is_ascii_digit());
        if !valid {
            return Err(InvalidAmount);
        }
        let cents = whole
            .parse::<u64>()
            .ok()
            .and_then(|w| w.checked_mul(100))
            .and_then(|w| fraction.parse::<u64>().ok().map(|f| w + f))
            .filter(|c| *c <= Self::MAX_CENTS)
            .ok_or(InvalidAmount)?;
        Ok(Self { cents })
    }
}

impl TryFrom<String> for Euros {
    type Error = InvalidAmount;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Euros> for String {
    fn from(amount: Euros) -> Self {
        amount.to_string()
    }
}

impl fmt::Display for Euros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.cents / 100, self.cents % 100)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an amount is written in euros with two decimals, for example \"12.80\"")]
pub struct InvalidAmount;

/// One fee of a service: a fixed amount, or a range when the authority sets it case by case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fee {
    pub label: Text,
    pub amount: Euros,
    /// The upper end when the fee is a range (`amount` is then the lower end).
    pub amount_max: Option<Euros>,
}

impl Fee {
    pub fn format_amount(&self, lang: Lang) -> String {
        match self.amount_max {
            Some(max) => match lang {
                Lang::De => format!("{} bis {}", self.amount.format(lang), max.format(lang)),
                Lang::En => format!("{} to {}", self.amount.format(lang), max.format(lang)),
            },
            None => self.amount.format(lang),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_parse_with_two_decimals() {
        assert_eq!("12.80".parse::<Euros>().unwrap().cents(), 1280);
        assert_eq!("0".parse::<Euros>().unwrap().cents(), 0);
        for bad in [
            "12.8",
            "-1.00",
            "1,00",
            "",
            ".50",
            "1.000",
            "99999999999.00",
            "1e3",
        ] {
            assert!(bad.parse::<Euros>().is_err(), "{bad}");
        }
    }

    #[test]
    fn amounts_format_per_language() {
        let amount = Euros::from_cents(123_450);
        assert_eq!(amount.format(Lang::De), "1.234,50\u{a0}€");
        assert_eq!(amount.format(Lang::En), "€1,234.50");
        assert_eq!(Euros::from_cents(5).format(Lang::De), "0,05\u{a0}€");
        assert_eq!(
            Euros::from_cents(100_000_000).format(Lang::En),
            "€1,000,000.00"
        );
    }

    proptest! {
        #[test]
        fn display_round_trips(cents in 0u64..=1_000_000_000) {
            let amount = Euros::from_cents(cents);
            prop_assert_eq!(amount.to_string().parse::<Euros>().unwrap(), amount);
        }
    }
}
