//! Full-text searches run on the blocking pool, at most a few at a time (issue 7): a search is
//! CPU work of up to tens of milliseconds (a 10 KB query cut to 8 words, each with a fuzzy
//! automaton), and on the async workers a burst of them would delay every other request,
//! `/healthz` included. Browsing (an empty query) is cheap and stays inline.

use std::sync::Arc;
use std::time::Duration;

use rathaus_catalog::SearchResults;
use rathaus_domain::{Lang, LifeSituation};

use crate::state::PortalState;

/// How long a search waits for a free slot before the answer is "busy, retry".
const WAIT: Duration = Duration::from_secs(2);

/// The search slots were all taken for [`WAIT`].
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("too many searches at once; try again in a moment")]
pub struct Busy;

/// Searches like [`rathaus_catalog::Catalog::search`], off the async workers.
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
    Ok(state.catalog.results_of(hits))
}

/// Slots for concurrent searches: twice the CPUs, so the machine stays busy without a queue of
/// threads building up behind it.
pub fn default_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
}
