//! Turning what a person typed into a typed answer, or into a message that says what to fix.
//! Only the checks of the field kind live here; `required`, `when` and rules are the engine's.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use rathaus_domain::{Email, Iban, IbanError, Postcode, Text};

use crate::answers::Answer;
use crate::definition::{Field, FieldKind};
use crate::message::Msg;

/// What was posted for one field: the values under its input name, or under `name.part`.
pub trait Input {
    fn values(&self, input: &str) -> &[String];

    fn first(&self, input: &str) -> &str {
        self.values(input).first().map_or("", String::as_str)
    }
}

/// Reads a field's answer. `Ok(None)` means the field was left empty.
pub fn read(
    field: &Field,
    input: &dyn Input,
    prefix: &str,
    today: NaiveDate,
) -> Result<Option<Answer>, Msg> {
    let label = &field.label;
    let key = format!("{prefix}{}", field.name);
    let single = || clean(input.first(&key), label, false);
    match &field.kind {
        FieldKind::Text {
            min_length,
            max_length,
            pattern,
        } => {
            let Some(text) = single()? else {
                return Ok(None);
            };
            let len = text.chars().count();
            if len > *max_length {
                return Err(Msg::too_long(label, *max_length));
            }
            if len < *min_length {
                return Err(Msg::too_short(label, *min_length));
            }
            if let Some(pattern) = pattern
                && !pattern.regex.is_match(&text)
            {
                return Err(Msg::text(&pattern.message));
            }
            Ok(Some(Answer::Text(text)))
        }
        FieldKind::LongText { max_length } => {
            let Some(text) = clean(input.first(&key), label, true)? else {
                return Ok(None);
            };
            if text.chars().count() > *max_length {
                return Err(Msg::too_long(label, *max_length));
            }
            Ok(Some(Answer::Text(text)))
        }
        FieldKind::Number {
            min, max, decimals, ..
        } => {
            let Some(text) = single()? else {
                return Ok(None);
            };
            let number = parse_number(&text, *decimals, label)?;
            if let Some(min) = min
                && number < *min
            {
                return Err(Msg::at_least(label, *min));
            }
            if let Some(max) = max
                && number > *max
            {
                return Err(Msg::at_most(label, *max));
            }
            Ok(Some(Answer::Number(number)))
        }
        FieldKind::Date { min_days, max_days } => {
            let Some(text) = single()? else {
                return Ok(None);
            };
            let date = parse_date(&text).ok_or_else(|| Msg::not_a_date(label))?;
            if let Some(earliest) = min_days.and_then(|d| shift(today, d))
                && date < earliest
            {
                return Err(Msg::date_too_early(label, earliest));
            }
            if let Some(latest) = max_days.and_then(|d| shift(today, d))
                && date > latest
            {
                return Err(Msg::date_too_late(label, latest));
            }
            Ok(Some(Answer::Date(date)))
        }
        FieldKind::DateOfBirth => {
            let Some(text) = single()? else {
                return Ok(None);
            };
            let date = parse_date(&text).ok_or_else(|| Msg::not_a_date(label))?;
            let oldest = shift(today, -130 * 366).unwrap_or(NaiveDate::MIN);
            if date > today || date < oldest {
                return Err(Msg::birth_date(label));
            }
            Ok(Some(Answer::Date(date)))
        }
        FieldKind::YesNo => match input.first(&key) {
            "" => Ok(None),
            "yes" => Ok(Some(Answer::Bool(true))),
            "no" => Ok(Some(Answer::Bool(false))),
            _ => Err(Msg::unknown_option(label)),
        },
        FieldKind::Choice { options } => match input.first(&key) {
            "" => Ok(None),
            value if options.iter().any(|o| o.value.as_str() == value) => {
                Ok(Some(Answer::Text(value.to_owned())))
            }
            _ => Err(Msg::unknown_option(label)),
        },
        FieldKind::MultiChoice { options, min, max } => {
            let mut chosen: Vec<String> = Vec::new();
            for value in input.values(&key) {
                if !options.iter().any(|o| o.value.as_str() == value) {
                    return Err(Msg::unknown_option(label));
                }
                if !chosen.contains(value) {
                    chosen.push(value.clone());
                }
            }
            if chosen.is_empty() {
                return Ok(None);
            }
            if chosen.len() < *min {
                return Err(Msg::choices_min(label, *min));
            }
            if chosen.len() > *max {
                return Err(Msg::choices_max(label, *max));
            }
            // Keep the order of the definition, not of the post.
            chosen.sort_by_key(|v| options.iter().position(|o| o.value.as_str() == v));
            Ok(Some(Answer::Choices(chosen)))
        }
        FieldKind::Email => {
            let Some(text) = single()? else {
                return Ok(None);
            };
            let email = Email::parse(&text).map_err(|_| Msg::email(label))?;
            Ok(Some(Answer::Text(email.as_str().to_owned())))
        }
        FieldKind::Phone => {
            let Some(text) = single()? else {
                return Ok(None);
            };
            let digits = text.chars().filter(char::is_ascii_digit).count();
            let allowed = text
                .chars()
                .all(|c| c.is_ascii_digit() || " +-/()".contains(c));
            let plus_ok = text.rfind('+').is_none_or(|i| i == 0);
            if !allowed || !plus_ok || !(5..=20).contains(&digits) {
                return Err(Msg::phone(label));
            }
            Ok(Some(Answer::Text(text)))
        }
        FieldKind::Postcode => {
            let Some(text) = single()? else {
                return Ok(None);
            };
            let postcode: Postcode = text.parse().map_err(|_| Msg::postcode(label))?;
            Ok(Some(Answer::Text(postcode.as_str().to_owned())))
        }
        FieldKind::Iban => {
            let Some(text) = single()? else {
                return Ok(None);
            };
            let iban = Iban::parse(&text)
                .map_err(|e| Msg::iban(label, matches!(e, IbanError::Checksum)))?;
            Ok(Some(Answer::Text(iban.as_str().to_owned())))
        }
        FieldKind::Address | FieldKind::PersonName => {
            let mut parts = BTreeMap::new();
            for part in field.kind.parts() {
                if let Some(value) = clean(input.first(&format!("{key}.{part}")), label, false)? {
                    if value.chars().count() > 100 {
                        return Err(Msg::too_long(label, 100));
                    }
                    if *part == "postcode" {
                        let postcode: Postcode = value.parse().map_err(|_| Msg::postcode(label))?;
                        parts.insert((*part).to_owned(), postcode.as_str().to_owned());
                    } else {
                        parts.insert((*part).to_owned(), value);
                    }
                }
            }
            if parts.is_empty() {
                return Ok(None);
            }
            // A half-filled address is an error, whether or not the field is required.
            if let Some(missing) = field.kind.parts().iter().find(|p| !parts.contains_key(**p)) {
                return Err(Msg::part_required(label, missing));
            }
            Ok(Some(Answer::Parts(parts)))
        }
        // Files and groups are read by the engine, which knows about uploads and entries.
        FieldKind::File { .. } | FieldKind::Group { .. } => Ok(None),
    }
}

/// Trims, refuses control characters (NUL above all: PostgreSQL cannot store it), and turns
/// an empty answer into `None`. Long texts keep their line breaks, normalised to `\n`.
fn clean(raw: &str, label: &Text, multiline: bool) -> Result<Option<String>, Msg> {
    let text = if multiline {
        raw.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        raw.to_owned()
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')))
    {
        return Err(Msg::control_characters(label));
    }
    Ok(Some(text.to_owned()))
}

/// Accepts `12`, `12,5` and `12.5`; no thousands separators, so `1.234` is not a guess.
fn parse_number(text: &str, decimals: u8, label: &Text) -> Result<f64, Msg> {
    let normalised = text.replace(',', ".");
    let (int, frac) = normalised.split_once('.').unwrap_or((&normalised, ""));
    let int_digits = int.strip_prefix('-').unwrap_or(int);
    if int_digits.is_empty()
        || int_digits.len() > 15
        || !int_digits.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || (normalised.contains('.') && frac.is_empty())
    {
        return Err(Msg::not_a_number(label));
    }
    if !frac.is_empty() && decimals == 0 {
        return Err(Msg::whole_number(label));
    }
    if frac.len() > usize::from(decimals) {
        return Err(Msg::decimals(label, decimals));
    }
    normalised
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| Msg::not_a_number(label))
}

/// Accepts ISO dates (what `<input type="date">` sends) and the German `27.3.2026`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d.%m.%Y"))
        .ok()?;
    // Years outside four digits are typos, and keep arithmetic far from chrono's limits.
    (1000..=9999)
        .contains(&chrono::Datelike::year(&date))
        .then_some(date)
}

fn shift(today: NaiveDate, days: i64) -> Option<NaiveDate> {
    if days >= 0 {
        today.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        today.checked_sub_days(Days::new(days.unsigned_abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_accept_both_decimal_separators_and_nothing_else() {
        let label = Text::new("Zahl", "Number").unwrap();
        assert_eq!(parse_number("12,5", 1, &label).unwrap(), 12.5);
        assert_eq!(parse_number("12.5", 1, &label).unwrap(), 12.5);
        assert_eq!(parse_number("-3", 0, &label).unwrap(), -3.0);
        assert!(parse_number("1.234,5", 2, &label).is_err());
        assert!(parse_number("12.", 2, &label).is_err());
        assert!(parse_number("1e9", 2, &label).is_err());
        assert!(parse_number("NaN", 2, &label).is_err());
        assert!(parse_number("12,5", 0, &label).is_err());
        assert!(parse_number("12,555", 2, &label).is_err());
    }

    #[test]
    fn dates_accept_iso_and_german_forms() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 27).unwrap();
        assert_eq!(parse_date("2026-03-27"), Some(d));
        assert_eq!(parse_date("27.03.2026"), Some(d));
        assert_eq!(parse_date("27.3.2026"), Some(d));
        assert_eq!(parse_date("31.02.2026"), None);
        assert_eq!(parse_date("99999-01-01"), None);
        assert_eq!(parse_date("0001-01-01"), None);
    }

    #[test]
    fn control_characters_are_refused_but_line_breaks_kept_in_long_text() {
        let label = Text::new("Feld", "Field").unwrap();
        assert!(clean("a\u{0}b", &label, false).is_err());
        assert!(clean("a\u{0}b", &label, true).is_err());
        assert!(clean("a\nb", &label, false).is_err());
        assert_eq!(
            clean(" a\r\nb ", &label, true).unwrap().as_deref(),
            Some("a\nb")
        );
        assert_eq!(clean("   ", &label, false).unwrap(), None);
    }
}
