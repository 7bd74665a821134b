//! Full-text searches run on the blocking pool, at most a few at a time (issue 7): a search is
//! CPU work of up to tens of milliseconds (a 10 KB query cut to 8 words, each with a fuzzy
//! automaton), and on the async workers a burst of them would delay every other request,
//! `/healthz` included. Browsing (an empty query) is cheap and stays inline.
//!
//! Answers are cached: the catalogue does not change while a node runs, and what people
//! search for is heavily skewed (a few hundred words — Personalausweis, Ummeldung, Hund — make
//! most searches), so a popular query costs its full-text search once per node instead of
//! 150–750 µs of CPU each time. The cache holds [`CACHE_ENTRIES`] pages of hits (positions and
//! counts, no text: under 1 KiB each) and keeps the frequently asked ones (S3-FIFO, scan
//! resistant, so a burst of one-off queries does not evict them). Queries longer than
//! [`CACHE_MAX_QUERY`] bytes are searched but not cached. See docs/performance.md.

use std::sync::Arc;
use std::time::Duration;

use rathaus_catalog::{Hits, SearchResults};
use rathaus_domain::{Lang, LifeSituation};

use crate::state::PortalState;

/// How long a search waits for a free slot before the answer is "busy, retry".
const WAIT: Duration = Duration::from_secs(2);

/// The search slots were all taken for [`WAIT`].
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("too many searches at once; try again in a moment")]
pub struct Busy;

/// Pages of hits the cache holds.
pub const CACHE_ENTRIES: usize = 10_000;

/// Longest query that is cached, in bytes; real queries are a few words.
pub const CACHE_MAX_QUERY: usize = 200;

/// Everything a page of hits depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    query: Box<str>,
    lang: Lang,
    life_situation: Option<LifeSituation>,
    offset: usize,
    limit: usize,
}

/// Full-text answers of this node, by query; shared by the API and the search page.
#[derive(Debug)]
pub struct SearchCache {
    pages: quick_cache::sync::Cache<CacheKey, Arc<Hits>>,
}

impl SearchCache {
    pub fn new(entries: usize) -> Self {
        Self {
            pages: quick_cache::sync::Cache::new(entries.max(1)),
        }
    }

    /// Pages held now.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }
}

impl Default for SearchCache {
    fn default() -> Self {
        Self::new(CACHE_ENTRIES)
    }
}

/// Searches like [`rathaus_catalog::Catalog::search`], off the async workers, answering
/// repeated queries from the cache.
pub(crate) async fn search<'a>(
    state: &'a PortalState,
    query: &str,
    lang: Lang,
    life_situation: Option<LifeSituation>,
    offset: usize,
    limit: usize,
) -> Result<SearchResults<'a>, Busy> {
    if !rathaus_catalog::is_full_text(query) {
        return Ok(state
            .catalog
            .search(query, lang, life_situation, offset, limit));
    }
    let key = (query.len() <= CACHE_MAX_QUERY).then(|| CacheKey {
        query: query.into(),
        lang,
        life_situation,
        offset,
        limit,
    });
    if let Some(hits) = key.as_ref().and_then(|k| state.search_cache.pages.get(k)) {
        metrics::counter!("rathaus_search_cache_total", "result" => "hit").increment(1);
        return Ok(state.catalog.results_of(&hits));
    }
    metrics::counter!("rathaus_search_cache_total", "result" => "miss").increment(1);
    let permit = tokio::time::timeout(WAIT, Arc::clone(&state.search_slots).acquire_owned())
        .await
        .map_err(|_| Busy)?
        .map_err(|_| Busy)?;
    let catalog = Arc::clone(&state.catalog);
    let query = query.to_owned();
    let hits = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        catalog.full_text(&query, lang, life_situation, offset, limit)
    })
    .await
    .map_err(|_| Busy)?;
    let hits = Arc::new(hits);
    if let Some(key) = key {
        state.search_cache.pages.insert(key, Arc::clone(&hits));
    }
    Ok(state.catalog.results_of(&hits))
}

/// Slots for concurrent searches: twice the CPUs, so the machine stays busy without a queue of
/// threads building up behind it.
pub fn default_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
}
