//! Languages of the portal and texts that exist in each of them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A language the portal speaks. German is the default; every text exists in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    De,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::De, Lang::En];

    /// The BCP 47 tag, as used in `lang` attributes and the `lang` query parameter.
    pub fn code(self) -> &'static str {
        match self {
            Self::De => "de",
            Self::En => "en",
        }
    }

    /// The other language, for the language switch.
    pub fn other(self) -> Self {
        match self {
            Self::De => Self::En,
            Self::En => Self::De,
        }
    }

    /// The language's own name, shown in the language switch.
    pub fn endonym(self) -> &'static str {
        match self {
            Self::De => "Deutsch",
            Self::En => "English",
        }
    }

    /// Picks the first supported language from an `Accept-Language` header.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(Lang, f32)> = None;
        for part in header.split(',').take(16) {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or_default().trim();
            let quality = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or_default();
            if let Ok(lang) = primary.parse::<Lang>()
                && quality > 0.0
                && best.is_none_or(|(_, q)| quality > q)
            {
                best = Some((lang, quality));
            }
        }
        best.map(|(lang, _)| lang)
    }
}

impl FromStr for Lang {
    type Err = UnknownLang;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "de" => Ok(Self::De),
            "en" => Ok(Self::En),
            _ => Err(UnknownLang),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown language: use `de` or `en`")]
pub struct UnknownLang;

/// A value in German and English; both are required so no page ever mixes languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Localized<T> {
    pub de: T,
    pub en: T,
}

impl<T> Localized<T> {
    pub fn get(&self, lang: Lang) -> &T {
        match lang {
            Lang::De => &self.de,
            Lang::En => &self.en,
        }
    }

    pub fn map<U>(&self, f: impl Fn(&T) -> U) -> Localized<U> {
        Localized {
            de: f(&self.de),
            en: f(&self.en),
        }
    }
}

/// A short text in both languages, each non-empty after trimming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Localized<String>")]
pub struct Text(Localized<String>);

impl Text {
    pub fn new(de: impl Into<String>, en: impl Into<String>) -> Result<Self, TextError> {
        Self::try_from(Localized {
            de: de.into(),
            en: en.into(),
        })
    }

    pub fn get(&self, lang: Lang) -> &str {
        self.0.get(lang)
    }

    pub fn de(&self) -> &str {
        &self.0.de
    }

    pub fn en(&self) -> &str {
        &self.0.en
    }
}

impl TryFrom<Localized<String>> for Text {
    type Error = TextError;

    fn try_from(value: Localized<String>) -> Result<Self, Self::Error> {
        let de = clean_text(value.de, Lang::De)?;
        let en = clean_text(value.en, Lang::En)?;
        Ok(Self(Localized { de, en }))
    }
}

/// Trims a text and refuses what no page should show: empty texts and control characters other
/// than line breaks and tabs.
fn clean_text(text: String, lang: Lang) -> Result<String, TextError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(TextError::Empty(lang));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(TextError::ControlCharacter(lang));
    }
    Ok(if trimmed.len() == text.len() {
        text
    } else {
        trimmed.to_owned()
    })
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the {0} text is empty")]
    Empty(Lang),
    #[error("the {0} text contains a control character")]
    ControlCharacter(Lang),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_the_highest_quality_supported_language() {
        assert_eq!(
            Lang::from_accept_language("en-GB,en;q=0.9,de;q=0.8"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("fr-FR, de;q=0.5, en;q=0.4"),
            Some(Lang::De)
        );
        assert_eq!(Lang::from_accept_language("fr, it"), None);
        assert_eq!(
            Lang::from_accept_language("en;q=0, de;q=0.1"),
            Some(Lang::De)
        );
        assert_eq!(Lang::from_accept_language(""), None);
    }

    #[test]
    fn texts_need_both_languages_and_no_control_characters() {
        assert!(Text::new("Hund", "Dog").is_ok());
        assert_eq!(Text::new("  ", "Dog"), Err(TextError::Empty(Lang::De)));
        assert_eq!(
            Text::new("Hund", "D\u{0}og"),
            Err(TextError::ControlCharacter(Lang::En))
        );
        assert_eq!(Text::new(" Hund ", "Dog").unwrap().de(), "Hund");
    }
}
