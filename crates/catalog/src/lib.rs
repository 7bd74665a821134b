//! The service catalogue: hand-written service definitions merged with the national catalogue
//! export, searchable in German and English, browsable by life situation, and the finder that
//! names the responsible authority for an address.

mod entry;
mod finder;
mod load;
mod record;
mod search;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rathaus_domain::{Lang, LifeSituation, ServiceKey, SourceError, TenantDirectory};

pub use entry::{Entry, Translated};
pub use finder::{Found, Responsible, find_responsible};
pub use load::{LoadedDefinitions, load_definitions};
pub use record::{CatalogueRecord, LawReference, Typisierung, read_catalogue};
pub use search::{Hits, IndexError};

use search::SearchIndex;

/// Why a catalogue could not be loaded. Each variant lists every problem found, with the file
/// and line, so an operator can fix them in one go.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{} error(s) in the service definitions", .0.len())]
    Definitions(Vec<SourceError>),
    #[error("{} error(s) in the catalogue export", .0.len())]
    Catalogue(Vec<SourceError>),
    #[error(transparent)]
    Index(#[from] IndexError),
}

impl CatalogError {
    pub fn details(&self) -> &[SourceError] {
        match self {
            Self::Definitions(errors) | Self::Catalogue(errors) => errors,
            Self::Index(_) => &[],
        }
    }
}

/// What a search returns: the page of entries plus totals and facets.
#[derive(Debug)]
pub struct SearchResults<'a> {
    pub items: Vec<&'a Entry>,
    pub total: usize,
    pub facets: Vec<(LifeSituation, usize)>,
}

/// The loaded catalogue, immutable after start-up and shared by all requests.
#[derive(Debug)]
pub struct Catalog {
    entries: Vec<Entry>,
    by_key: HashMap<ServiceKey, usize>,
    /// Entry positions sorted by name, per language, for browsing.
    alphabetical: [Vec<usize>; 2],
    /// Per entry, its life situations as a bit set (bit = position in `LifeSituation::ALL`).
    situation_bits: Vec<u64>,
    /// Entries per life situation, counted once: the catalogue never changes while serving.
    situation_counts: Vec<(LifeSituation, usize)>,
    index: SearchIndex,
}

/// Whether a query is searched in the full-text index (costly) rather than browsed (cheap).
pub fn is_full_text(query: &str) -> bool {
    query.chars().any(char::is_alphanumeric)
}

impl Catalog {
    /// Loads definitions from `services_dir` (all must be valid) and, optionally, a national
    /// catalogue export; definitions enrich catalogue rows that share their LeiKa key.
    pub fn load(
        services_dir: &Path,
        catalogue_csv: Option<&Path>,
        tenant: &TenantDirectory,
    ) -> Result<Self, CatalogError> {
        let loaded = load_definitions(services_dir, Some(tenant));
        if !loaded.errors.is_empty() {
            return Err(CatalogError::Definitions(loaded.errors));
        }
        let records = match catalogue_csv {
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|e| {
                    CatalogError::Catalogue(vec![SourceError::new(
                        path,
                        None,
                        format!("cannot read the catalogue: {}", load::io_reason(&e)),
                    )])
                })?;
                read_catalogue(path, &bytes).map_err(CatalogError::Catalogue)?
            }
            None => Vec::new(),
        };
        let catalog = Self::from_parts(
            loaded.definitions.into_iter().map(|(_, d)| d).collect(),
            records,
        )?;
        Ok(catalog.with_forms(loaded.forms))
    }

    /// Attaches online forms to the entries with their keys.
    pub fn with_forms(
        mut self,
        forms: HashMap<ServiceKey, Arc<rathaus_forms::FormDefinition>>,
    ) -> Self {
        for (key, form) in forms {
            if let Some(&i) = self.by_key.get(&key) {
                self.entries[i].form = Some(form);
            }
        }
        self
    }

    /// Builds a catalogue from already parsed parts.
    pub fn from_parts(
        definitions: Vec<rathaus_domain::ServiceDefinition>,
        records: Vec<CatalogueRecord>,
    ) -> Result<Self, IndexError> {
        let mut entries: Vec<Entry> = Vec::with_capacity(definitions.len() + records.len());
        let mut by_key: HashMap<ServiceKey, usize> = HashMap::new();
        for definition in definitions {
            by_key.insert(definition.key.clone(), entries.len());
            entries.push(Entry {
                key: definition.key.clone(),
                definition: Some(Arc::new(definition)),
                record: None,
                form: None,
            });
        }
        for record in records {
            let key = ServiceKey::Leika(record.key);
            match by_key.get(&key) {
                Some(&i) => entries[i].record = Some(Arc::new(record)),
                None => {
                    by_key.insert(key.clone(), entries.len());
                    entries.push(Entry {
                        key,
                        definition: None,
                        record: Some(Arc::new(record)),
                        form: None,
                    });
                }
            }
        }
        let alphabetical = Lang::ALL.map(|lang| {
            let mut order: Vec<usize> = (0..entries.len()).collect();
            let names: Vec<String> = entries.iter().map(|e| e.sort_name(lang)).collect();
            order.sort_by(|a, b| names[*a].cmp(&names[*b]).then(a.cmp(b)));
            order
        });
        let index = SearchIndex::build(&entries)?;
        let situation_bits: Vec<u64> = entries.iter().map(Entry::life_situation_bits).collect();
        let situation_counts = LifeSituation::ALL
            .iter()
            .enumerate()
            .map(|(bit, ls)| {
                (
                    *ls,
                    situation_bits
                        .iter()
                        .filter(|b| *b & (1u64 << bit) != 0)
                        .count(),
                )
            })
            .filter(|(_, count)| *count > 0)
            .collect();
        Ok(Self {
            entries,
            by_key,
            alphabetical,
            situation_bits,
            situation_counts,
            index,
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn definitions(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.definition.is_some())
    }

    pub fn get(&self, key: &ServiceKey) -> Option<&Entry> {
        self.by_key.get(key).map(|&i| &self.entries[i])
    }

    /// Full-text search; an empty query lists everything (filtered by life situation)
    /// alphabetically, which is how browsing works.
    pub fn search(
        &self,
        query: &str,
        lang: Lang,
        life_situation: Option<LifeSituation>,
        offset: usize,
        limit: usize,
    ) -> SearchResults<'_> {
        if is_full_text(query) {
            let hits = self.full_text(query, lang, life_situation, offset, limit);
            return self.results_of(&hits);
        }
        self.browse(lang, life_situation, offset, limit)
    }

    /// The full-text part of [`Catalog::search`], returning positions instead of references so
    /// that it can run on another thread; [`Catalog::results_of`] turns them into entries.
    pub fn full_text(
        &self,
        query: &str,
        lang: Lang,
        life_situation: Option<LifeSituation>,
        offset: usize,
        limit: usize,
    ) -> Hits {
        self.index
            .search(query, lang, life_situation, offset, limit)
    }

    pub fn results_of(&self, hits: &Hits) -> SearchResults<'_> {
        SearchResults {
            items: hits
                .entries
                .iter()
                .filter_map(|&i| self.entries.get(i))
                .collect(),
            total: hits.total,
            facets: hits.facets.clone(),
        }
    }

    fn browse(
        &self,
        lang: Lang,
        life_situation: Option<LifeSituation>,
        offset: usize,
        limit: usize,
    ) -> SearchResults<'_> {
        let order = &self.alphabetical[usize::from(lang == Lang::En)];
        let wanted = life_situation
            .and_then(|ls| LifeSituation::ALL.iter().position(|x| *x == ls))
            .map_or(u64::MAX, |bit| 1u64 << bit);
        let mut total = 0;
        let mut items = Vec::with_capacity(limit.min(100));
        for &i in order {
            if life_situation.is_some() && self.situation_bits[i] & wanted == 0 {
                continue;
            }
            if total >= offset && items.len() < limit {
                items.push(&self.entries[i]);
            }
            total += 1;
        }
        SearchResults {
            items,
            total,
            facets: self.situation_counts.clone(),
        }
    }

    /// How many entries each life situation has, for the start page.
    pub fn life_situation_counts(&self) -> Vec<(LifeSituation, usize)> {
        self.situation_counts.clone()
    }
}
