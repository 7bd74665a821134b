//! A service as the catalogue shows it: a hand-written definition, a row of the national
//! catalogue, or both merged by their LeiKa key.

use std::sync::Arc;

use rathaus_domain::{AssuranceLevel, Lang, LifeSituation, ServiceDefinition, ServiceKey};

use crate::record::CatalogueRecord;

/// A text together with the language it is actually written in; the national catalogue has
/// German names only, and pages mark such text with `lang="de"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translated<'a> {
    pub text: &'a str,
    pub lang: Lang,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: ServiceKey,
    pub definition: Option<Arc<ServiceDefinition>>,
    pub record: Option<Arc<CatalogueRecord>>,
    /// The online form, for services that can be applied for in this portal.
    pub form: Option<Arc<rathaus_forms::FormDefinition>>,
}

impl Entry {
    pub fn name(&self, lang: Lang) -> Translated<'_> {
        match (&self.definition, &self.record) {
            (Some(def), _) => Translated {
                text: def.name.get(lang),
                lang,
            },
            (None, Some(record)) => Translated {
                text: &record.name,
                lang: Lang::De,
            },
            (None, None) => Translated { text: "", lang },
        }
    }

    pub fn summary(&self, lang: Lang) -> Option<&str> {
        self.definition.as_ref().map(|def| def.summary.get(lang))
    }

    pub fn online(&self) -> bool {
        self.definition.as_ref().is_some_and(|def| def.online)
    }

    pub fn assurance_level(&self) -> Option<AssuranceLevel> {
        self.definition.as_ref().map(|def| def.assurance_level)
    }

    pub fn life_situations(&self) -> Vec<LifeSituation> {
        let mut all: Vec<LifeSituation> = self
            .definition
            .iter()
            .flat_map(|def| def.life_situations.iter().copied())
            .chain(self.record.as_ref().and_then(|r| r.life_situation))
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// Bit set of life situations, for counting facets without allocating per document.
    pub(crate) fn life_situation_bits(&self) -> u64 {
        self.life_situations()
            .into_iter()
            .filter_map(|ls| LifeSituation::ALL.iter().position(|x| *x == ls))
            .fold(0, |bits, i| bits | (1u64 << i))
    }

    /// Sort key for alphabetical lists: case- and accent-insensitive.
    pub(crate) fn sort_name(&self, lang: Lang) -> String {
        fold(self.name(lang).text)
    }
}

/// Lowercases and folds German letters, so that "Ärztekammer" sorts beside "Arzt".
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'ä' => out.push('a'),
            'ö' => out.push('o'),
            'ü' => out.push('u'),
            'ß' => out.push_str("ss"),
            _ => out.push(c),
        }
    }
    out
}
