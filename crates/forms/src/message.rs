//! Messages the engine shows people, in German and English, in plain language.

use rathaus_domain::{Lang, Text};

/// A message in both languages. Built-in messages name the field by its label, so the error
/// summary at the top of the page makes sense on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub de: String,
    pub en: String,
}

impl Msg {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::De => &self.de,
            Lang::En => &self.en,
        }
    }

    pub(crate) fn text(text: &Text) -> Self {
        Self {
            de: text.de().to_owned(),
            en: text.en().to_owned(),
        }
    }

    pub(crate) fn new(de: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            de: de.into(),
            en: en.into(),
        }
    }

    pub(crate) fn required(label: &Text) -> Self {
        Self::new(
            format!("Bitte füllen Sie „{}“ aus.", label.de()),
            format!("Enter “{}”.", label.en()),
        )
    }

    pub(crate) fn choose(label: &Text) -> Self {
        Self::new(
            format!("Bitte wählen Sie bei „{}“ eine Antwort aus.", label.de()),
            format!("Select an answer for “{}”.", label.en()),
        )
    }

    pub(crate) fn too_long(label: &Text, max: usize) -> Self {
        Self::new(
            format!("„{}“ darf höchstens {max} Zeichen lang sein.", label.de()),
            format!("“{}” must be {max} characters or fewer.", label.en()),
        )
    }

    pub(crate) fn too_short(label: &Text, min: usize) -> Self {
        Self::new(
            format!("„{}“ muss mindestens {min} Zeichen lang sein.", label.de()),
            format!("“{}” must be at least {min} characters.", label.en()),
        )
    }

    pub(crate) fn control_characters(label: &Text) -> Self {
        Self::new(
            format!("„{}“ enthält unzulässige Steuerzeichen.", label.de()),
            format!("“{}” contains characters that are not allowed.", label.en()),
        )
    }

    pub(crate) fn not_a_number(label: &Text) -> Self {
        Self::new(
            format!(
                "„{}“ muss eine Zahl sein, zum Beispiel 12 oder 12,5.",
                label.de()
            ),
            format!("“{}” must be a number, like 12 or 12.5.", label.en()),
        )
    }

    pub(crate) fn whole_number(label: &Text) -> Self {
        Self::new(
            format!("„{}“ muss eine ganze Zahl sein.", label.de()),
            format!("“{}” must be a whole number.", label.en()),
        )
    }

    pub(crate) fn decimals(label: &Text, decimals: u8) -> Self {
        Self::new(
            format!(
                "„{}“ darf höchstens {decimals} Nachkommastellen haben.",
                label.de()
            ),
            format!(
                "“{}” can have at most {decimals} decimal places.",
                label.en()
            ),
        )
    }

    pub(crate) fn at_least(label: &Text, min: f64) -> Self {
        Self::new(
            format!(
                "„{}“ muss mindestens {} sein.",
                label.de(),
                german_number(min)
            ),
            format!("“{}” must be {min} or more.", label.en()),
        )
    }

    pub(crate) fn at_most(label: &Text, max: f64) -> Self {
        Self::new(
            format!(
                "„{}“ darf höchstens {} sein.",
                label.de(),
                german_number(max)
            ),
            format!("“{}” must be {max} or less.", label.en()),
        )
    }

    pub(crate) fn not_a_date(label: &Text) -> Self {
        Self::new(
            format!(
                "„{}“ muss ein gültiges Datum sein, zum Beispiel 27.03.2026.",
                label.de()
            ),
            format!("“{}” must be a real date, like 2026-03-27.", label.en()),
        )
    }

    pub(crate) fn date_too_early(label: &Text, earliest: chrono::NaiveDate) -> Self {
        Self::new(
            format!(
                "„{}“ darf nicht vor dem {} liegen.",
                label.de(),
                earliest.format("%d.%m.%Y")
            ),
            format!(
                "“{}” must be on or after {}.",
                label.en(),
                earliest.format("%-d %B %Y")
            ),
        )
    }

    pub(crate) fn date_too_late(label: &Text, latest: chrono::NaiveDate) -> Self {
        Self::new(
            format!(
                "„{}“ darf nicht nach dem {} liegen.",
                label.de(),
                latest.format("%d.%m.%Y")
            ),
            format!(
                "“{}” must be on or before {}.",
                label.en(),
                latest.format("%-d %B %Y")
            ),
        )
    }

    pub(crate) fn birth_date(label: &Text) -> Self {
        Self::new(
            format!(
                "„{}“ muss in der Vergangenheit liegen und darf höchstens 130 Jahre zurückliegen.",
                label.de()
            ),
            format!(
                "“{}” must be in the past and not more than 130 years ago.",
                label.en()
            ),
        )
    }

    pub(crate) fn unknown_option(label: &Text) -> Self {
        Self::new(
            format!(
                "Bitte wählen Sie bei „{}“ eine der angebotenen Antworten.",
                label.de()
            ),
            format!("Select one of the answers offered for “{}”.", label.en()),
        )
    }

    pub(crate) fn choices_min(label: &Text, min: usize) -> Self {
        Self::new(
            format!(
                "Bitte wählen Sie bei „{}“ mindestens {min} Antworten.",
                label.de()
            ),
            format!("Select at least {min} answers for “{}”.", label.en()),
        )
    }

    pub(crate) fn choices_max(label: &Text, max: usize) -> Self {
        Self::new(
            format!(
                "Bitte wählen Sie bei „{}“ höchstens {max} Antworten.",
                label.de()
            ),
            format!("Select at most {max} answers for “{}”.", label.en()),
        )
    }

    pub(crate) fn email(label: &Text) -> Self {
        Self::new(
            format!(
                "„{}“ muss eine E-Mail-Adresse sein, zum Beispiel name@example.de.",
                label.de()
            ),
            format!(
                "“{}” must be an email address, like name@example.com.",
                label.en()
            ),
        )
    }

    pub(crate) fn phone(label: &Text) -> Self {
        Self::new(
            format!(
                "„{}“ muss eine Telefonnummer sein, zum Beispiel 040 428 28-0 oder +49 40 42828 0.",
                label.de()
            ),
            format!(
                "“{}” must be a telephone number, like 040 428 28-0 or +49 40 42828 0.",
                label.en()
            ),
        )
    }

    pub(crate) fn postcode(label: &Text) -> Self {
        Self::new(
            format!("„{}“ muss eine fünfstellige Postleitzahl sein.", label.de()),
            format!("“{}” must be a five-digit German postcode.", label.en()),
        )
    }

    pub(crate) fn iban(label: &Text, checksum: bool) -> Self {
        if checksum {
            Self::new(
                format!(
                    "Die IBAN bei „{}“ enthält einen Tippfehler: die Prüfziffern stimmen nicht.",
                    label.de()
                ),
                format!(
                    "The IBAN in “{}” has a typo: its check digits do not match.",
                    label.en()
                ),
            )
        } else {
            Self::new(
                format!(
                    "„{}“ muss eine IBAN sein, zum Beispiel DE89 3704 0044 0532 0130 00.",
                    label.de()
                ),
                format!(
                    "“{}” must be an IBAN, like DE89 3704 0044 0532 0130 00.",
                    label.en()
                ),
            )
        }
    }

    pub(crate) fn part_required(label: &Text, part: &str) -> Self {
        let (de, en) = part_label(part);
        Self::new(
            format!("Bitte geben Sie bei „{}“ {de} an.", label.de()),
            format!("Enter the {en} for “{}”.", label.en()),
        )
    }

    pub(crate) fn items_min(label: &Text, item: &Text, min: usize) -> Self {
        Self::new(
            format!(
                "Bitte geben Sie bei „{}“ mindestens {min} × „{}“ an.",
                label.de(),
                item.de()
            ),
            format!("Add at least {min} × “{}” to “{}”.", item.en(), label.en()),
        )
    }

    pub(crate) fn items_max(label: &Text, item: &Text, max: usize) -> Self {
        Self::new(
            format!(
                "Bei „{}“ sind höchstens {max} × „{}“ möglich.",
                label.de(),
                item.de()
            ),
            format!("“{}” takes at most {max} × “{}”.", label.en(), item.en()),
        )
    }
}

/// The German label of an address or name part, with its article, and the English one.
pub fn part_label(part: &str) -> (&'static str, &'static str) {
    match part {
        "street" => ("die Straße", "street"),
        "house_number" => ("die Hausnummer", "house number"),
        "postcode" => ("die Postleitzahl", "postcode"),
        "city" => ("den Ort", "town or city"),
        "given_names" => ("die Vornamen", "given names"),
        "family_name" => ("den Familiennamen", "family name"),
        _ => ("alle Angaben", "details"),
    }
}

fn german_number(n: f64) -> String {
    n.to_string().replace('.', ",")
}
