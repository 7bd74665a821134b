//! Full-text search over the catalogue with tantivy: German and English stemming, stop words,
//! typo tolerance (Levenshtein automata), compound tolerance (character n-grams) and synonyms
//! (the definitions' keywords), ranked by BM25 and nudged towards services one can do online.

use std::sync::Arc;

use rathaus_domain::{Lang, LifeSituation};
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, NgramTokenizer, RemoveLongFilter, SimpleTokenizer,
    Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{DocId, Index, IndexReader, Score, SegmentReader, TantivyDocument, Term};

use crate::entry::Entry;

/// At most this much of a query is looked at; longer input is cut, never refused.
const MAX_QUERY_CHARS: usize = 200;
const MAX_QUERY_TERMS: usize = 8;

#[derive(Debug, thiserror::Error)]
#[error("the search index could not be built: {0}")]
pub struct IndexError(#[from] tantivy::TantivyError);

#[derive(Clone, Copy)]
struct Fields {
    name: [Field; 2],
    keywords: [Field; 2],
    body: [Field; 2],
    grams: Field,
    /// Names and keywords, lowercased and folded but not stemmed: typos are matched here, since
    /// a misspelt word rarely stems like the word it was meant to be.
    raw: Field,
    life_situation: Field,
}

/// The search index over all entries, built once in memory at start-up.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Per document (doc id = entry position): score factor and life-situation bit set.
    boosts: Arc<Vec<f32>>,
    facets: Arc<Vec<u64>>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("documents", &self.boosts.len())
            .finish()
    }
}

/// One page of results: entry positions in relevance order, the total, and facet counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Hits {
    pub entries: Vec<usize>,
    pub total: usize,
    /// Count per life situation over all hits (before the life-situation filter is applied).
    pub facets: Vec<(LifeSituation, usize)>,
}

fn lang_index(lang: Lang) -> usize {
    match lang {
        Lang::De => 0,
        Lang::En => 1,
    }
}

fn analyzer(language: Language) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(48))
        .filter(LowerCaser)
        .filter(
            StopWordFilter::new(language)
                .unwrap_or_else(|| StopWordFilter::remove(Vec::<String>::new())),
        )
        .filter(Stemmer::new(language))
        .filter(AsciiFoldingFilter)
        .build()
}

fn text_field(tokenizer: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

/// Keyword lists vary in length for editorial reasons, not relevance: a match in a long list
/// must count as much as one in a short list, so BM25's length normalisation is switched off.
fn keyword_field(tokenizer: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_fieldnorms(false)
            .set_index_option(IndexRecordOption::WithFreqs),
    )
}

impl SearchIndex {
    pub fn build(entries: &[Entry]) -> Result<Self, IndexError> {
        let mut schema = Schema::builder();
        let fields = Fields {
            name: [
                schema.add_text_field("name_de", text_field("de")),
                schema.add_text_field("name_en", text_field("en")),
            ],
            keywords: [
                schema.add_text_field("kw_de", keyword_field("de")),
                schema.add_text_field("kw_en", keyword_field("en")),
            ],
            body: [
                schema.add_text_field("body_de", text_field("de")),
                schema.add_text_field("body_en", text_field("en")),
            ],
            grams: schema.add_text_field("grams", text_field("grams")),
            raw: schema.add_text_field("raw", keyword_field("raw")),
            life_situation: schema.add_text_field("ls", STRING),
        };
        let index = Index::create_in_ram(schema.build());
        index
            .tokenizers()
            .register("de", analyzer(Language::German));
        index
            .tokenizers()
            .register("en", analyzer(Language::English));
        index.tokenizers().register(
            "raw",
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(48))
                .filter(LowerCaser)
                .filter(AsciiFoldingFilter)
                .build(),
        );
        let grams = NgramTokenizer::new(3, 3, false)?;
        index.tokenizers().register(
            "grams",
            TextAnalyzer::builder(grams)
                .filter(LowerCaser)
                .filter(AsciiFoldingFilter)
                .build(),
        );

        let mut writer = index.writer_with_num_threads(1, 50_000_000)?;
        let mut boosts = Vec::with_capacity(entries.len());
        let mut facets = Vec::with_capacity(entries.len());
        for entry in entries {
            let mut document = TantivyDocument::default();
            for lang in Lang::ALL {
                let i = lang_index(lang);
                let name = entry.name(lang);
                // German-only catalogue names are indexed with German analysis in both fields,
                // so an English search for a German term still finds them.
                document.add_text(fields.name[i], name.text);
                if let Some(def) = &entry.definition {
                    for keyword in def.keywords(lang) {
                        document.add_text(fields.keywords[i], keyword);
                    }
                    document.add_text(fields.body[i], def.summary.get(lang));
                    document.add_text(fields.body[i], def.description.get(lang));
                }
                for ls in entry.life_situations() {
                    document.add_text(fields.body[i], ls.name(lang));
                }
            }
            if let Some(record) = &entry.record {
                document.add_text(fields.body[0], &record.ozg_service);
                document.add_text(fields.body[0], &record.topic);
                if entry.definition.is_some() {
                    document.add_text(fields.keywords[0], &record.name);
                }
            }
            document.add_text(fields.grams, entry.name(Lang::De).text);
            document.add_text(fields.raw, entry.name(Lang::De).text);
            if let Some(def) = &entry.definition {
                document.add_text(fields.raw, def.name.en());
                for keyword in def.keywords(Lang::De).iter().chain(def.keywords(Lang::En)) {
                    document.add_text(fields.raw, keyword);
                }
            }
            if let Some(def) = &entry.definition {
                document.add_text(fields.grams, def.name.en());
                for keyword in def.keywords(Lang::De).iter().chain(def.keywords(Lang::En)) {
                    document.add_text(fields.grams, keyword);
                }
            }
            for ls in entry.life_situations() {
                document.add_text(fields.life_situation, ls.slug());
            }
            writer.add_document(document)?;
            boosts.push(match (&entry.definition, entry.online()) {
                (Some(_), true) => 2.0,
                (Some(_), false) => 1.7,
                (None, _) => 1.0,
            });
            facets.push(entry.life_situation_bits());
        }
        writer.commit()?;
        let reader = index.reader()?;
        let searcher = reader.searcher();
        // Doc ids equal entry positions only in a single segment written in order.
        if searcher.segment_readers().len() > 1 || searcher.num_docs() as usize != entries.len() {
            return Err(IndexError(tantivy::TantivyError::InternalError(
                "the index was not written as one segment".into(),
            )));
        }
        Ok(Self {
            index,
            reader,
            fields,
            boosts: Arc::new(boosts),
            facets: Arc::new(facets),
        })
    }

    /// Searches for `query`; an empty query (after analysis) matches nothing, which callers
    /// treat as "browse". Never fails on any input: errors inside the engine yield no hits.
    pub fn search(
        &self,
        query: &str,
        lang: Lang,
        life_situation: Option<LifeSituation>,
        offset: usize,
        limit: usize,
    ) -> Hits {
        let empty = Hits {
            entries: Vec::new(),
            total: 0,
            facets: Vec::new(),
        };
        let Some(text_query) = self.build_query(query, lang) else {
            return empty;
        };
        let searcher = self.reader.searcher();
        let filtered: Box<dyn Query> = match life_situation {
            Some(ls) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, text_query.box_clone()),
                (
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.life_situation, ls.slug()),
                        IndexRecordOption::Basic,
                    )),
                ),
            ])),
            None => text_query.box_clone(),
        };
        let boosts = Arc::clone(&self.boosts);
        let top = TopDocs::with_limit(limit.clamp(1, 1000))
            .and_offset(offset.min(100_000))
            .tweak_score(move |_segment: &SegmentReader| {
                let boosts = Arc::clone(&boosts);
                move |doc: DocId, score: Score| {
                    score * boosts.get(doc as usize).copied().unwrap_or(1.0)
                }
            });
        let counter = FacetCounter {
            bits: Arc::clone(&self.facets),
        };
        // Facets count all hits of the text query, before the life-situation filter; without
        // a filter one pass collects the page, the total and the facets together.
        let searched = match life_situation {
            None => searcher.search(text_query.as_ref(), &(top, Count, counter)),
            Some(_) => {
                searcher
                    .search(filtered.as_ref(), &(top, Count))
                    .and_then(|(top, total)| {
                        let facets = searcher.search(text_query.as_ref(), &counter)?;
                        Ok((top, total, facets))
                    })
            }
        };
        let Ok((top, total, facet_counts)) = searched else {
            return empty;
        };
        let facets = LifeSituation::ALL
            .iter()
            .zip(facet_counts)
            .filter(|(_, count)| *count > 0)
            .map(|(ls, count)| (*ls, count as usize))
            .collect();
        let entries = if limit == 0 {
            Vec::new()
        } else {
            top.into_iter()
                .map(|(_, address)| address.doc_id as usize)
                .collect()
        };
        Hits {
            entries,
            total,
            facets,
        }
    }

    /// Turns free text into a query: each term searched in names, keywords and texts of the
    /// chosen language (and German names, which every entry has), with typo tolerance and
    /// n-grams for parts of compound words.
    fn build_query(&self, raw: &str, lang: Lang) -> Option<Box<dyn Query>> {
        let text: String = raw
            .chars()
            .take(MAX_QUERY_CHARS)
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect();
        let i = lang_index(lang);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut words = 0;
        // Repeating a word adds nothing but cost: each distinct word is searched once.
        let mut seen: Vec<String> = Vec::new();
        let distinct = text.split_whitespace().filter(|w| {
            let folded = w.to_lowercase();
            let new = !seen.contains(&folded);
            if new {
                seen.push(folded);
            }
            new
        });
        for word in distinct.take(MAX_QUERY_TERMS) {
            let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            let targets = [
                (self.fields.name[i], 4.0),
                (self.fields.keywords[i], 3.0),
                (self.fields.body[i], 1.0),
                (self.fields.name[0], 2.0),
                (self.fields.keywords[0], 1.5),
            ];
            for (n, (field, boost)) in targets.into_iter().enumerate() {
                if n >= 3 && i == 0 {
                    break;
                }
                for term in self.analyze(field, word) {
                    let exact = TermQuery::new(
                        Term::from_field_text(field, &term),
                        IndexRecordOption::WithFreqs,
                    );
                    alternatives.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(exact), boost)),
                    ));
                }
            }
            // Typos: "Ummeldnug" finds "Ummeldung" through the unstemmed words.
            for term in self.analyze(self.fields.raw, word) {
                let distance = match term.chars().count() {
                    0..=4 => 0,
                    5..=8 => 1,
                    _ => 2,
                };
                if distance > 0 {
                    let fuzzy = FuzzyTermQuery::new(
                        Term::from_field_text(self.fields.raw, &term),
                        distance,
                        true,
                    );
                    alternatives.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(fuzzy), 3.0)),
                    ));
                }
            }
            // Parts of compound words: "Parkausweis" finds "Bewohnerparkausweis".
            if word.chars().count() >= 5 {
                let grams: Vec<(Occur, Box<dyn Query>)> = self
                    .analyze(self.fields.grams, word)
                    .into_iter()
                    .map(|g| {
                        let q: Box<dyn Query> = Box::new(TermQuery::new(
                            Term::from_field_text(self.fields.grams, &g),
                            IndexRecordOption::Basic,
                        ));
                        (Occur::Should, q)
                    })
                    .collect();
                let needed = grams.len().saturating_mul(3).div_ceil(4).max(1);
                if !grams.is_empty() {
                    let compound = BooleanQuery::with_minimum_required_clauses(grams, needed);
                    alternatives.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(compound), 0.08)),
                    ));
                }
            }
            if !alternatives.is_empty() {
                words += 1;
                clauses.push((Occur::Should, Box::new(BooleanQuery::new(alternatives))));
            }
        }
        if words > 1 {
            // Entries that match every word of the query rank above those matching only some.
            let all: Vec<(Occur, Box<dyn Query>)> = clauses
                .iter()
                .map(|(_, q)| (Occur::Must, q.box_clone()))
                .collect();
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(BooleanQuery::new(all)), 1.5)),
            ));
        }
        (words > 0).then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>)
    }

    fn analyze(&self, field: Field, text: &str) -> Vec<String> {
        let Ok(mut analyzer) = self.index.tokenizer_for_field(field) else {
            return Vec::new();
        };
        let mut terms = Vec::new();
        let mut stream = analyzer.token_stream(text);
        stream.process(&mut |token| {
            if !terms.contains(&token.text) {
                terms.push(token.text.clone());
            }
        });
        terms
    }
}

/// Counts hits per life situation from the per-document bit sets.
struct FacetCounter {
    bits: Arc<Vec<u64>>,
}

struct FacetSegment {
    bits: Arc<Vec<u64>>,
    counts: Vec<u32>,
}

impl Collector for FacetCounter {
    type Fruit = Vec<u32>;
    type Child = FacetSegment;

    fn for_segment(&self, _ordinal: u32, _reader: &SegmentReader) -> tantivy::Result<FacetSegment> {
        Ok(FacetSegment {
            bits: Arc::clone(&self.bits),
            counts: vec![0; LifeSituation::ALL.len()],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<u32>>) -> tantivy::Result<Vec<u32>> {
        let mut total = vec![0; LifeSituation::ALL.len()];
        for fruit in fruits {
            for (t, c) in total.iter_mut().zip(fruit) {
                *t += c;
            }
        }
        Ok(total)
    }
}

impl SegmentCollector for FacetSegment {
    type Fruit = Vec<u32>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let mut bits = self.bits.get(doc as usize).copied().unwrap_or(0);
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            if let Some(count) = self.counts.get_mut(i) {
                *count += 1;
            }
            bits &= bits - 1;
        }
    }

    fn harvest(self) -> Vec<u32> {
        self.counts
    }
}
