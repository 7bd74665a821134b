//! Start page, search and browsing by life situation.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use rathaus_catalog::Entry;
use rathaus_domain::{Audience, Lang, LifeSituation};
use rathaus_web::{PageError, PageProblem};

use super::{PAGE_SIZE, Pagination, encode, render};
use crate::params::Params;
use crate::state::{Page, PortalState};

/// One line of a result list.
#[derive(Debug)]
pub(crate) struct Item<'a> {
    pub href: String,
    pub name: &'a str,
    /// Set when the name is in another language than the page (German-only catalogue names).
    pub name_lang: Option<&'static str>,
    pub summary: Option<&'a str>,
    pub online: bool,
}

impl<'a> Item<'a> {
    pub fn of(entry: &'a Entry, lang: Lang) -> Self {
        let name = entry.name(lang);
        Self {
            href: format!("/services/{}", entry.key),
            name: name.text,
            name_lang: (name.lang != lang).then(|| name.lang.code()),
            summary: entry.summary(lang),
            online: entry.online(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Situation {
    pub slug: &'static str,
    pub name: &'static str,
    pub count: usize,
    pub selected: bool,
}

impl Situation {
    fn new(ls: LifeSituation, lang: Lang, count: usize, selected: bool) -> Self {
        Self {
            slug: ls.slug(),
            name: ls.name(lang),
            count,
            selected,
        }
    }

    /// The life situations of one audience with their counts, in the catalogue's order.
    fn of_audience(counts: &[(LifeSituation, usize)], audience: Audience, lang: Lang) -> Vec<Self> {
        counts
            .iter()
            .filter(|(ls, _)| ls.audience() == audience)
            .map(|(ls, count)| Self::new(*ls, lang, *count, false))
            .collect()
    }
}

#[derive(Template)]
#[template(path = "portal/start.html")]
struct StartPage<'a> {
    chrome: &'a rathaus_web::Chrome,
    t: &'static crate::texts::Texts,
    citizens: Vec<Situation>,
    businesses: Vec<Situation>,
    online: Vec<Item<'a>>,
}

pub async fn start(State(state): State<PortalState>, page: Page) -> Response {
    let lang = page.chrome.lang;
    let counts = state.catalog.life_situation_counts();
    let mut online: Vec<Item> = state
        .catalog
        .definitions()
        .filter(|e| e.online())
        .map(|e| Item::of(e, lang))
        .collect();
    online.sort_by(|a, b| a.name.cmp(b.name));
    let template = StartPage {
        chrome: &page.chrome,
        t: page.t,
        citizens: Situation::of_audience(&counts, Audience::Citizens, lang),
        businesses: Situation::of_audience(&counts, Audience::Businesses, lang),
        online,
    };
    render(&page, state.secure_cookies, &template)
}

#[derive(Template)]
#[template(path = "portal/search.html")]
struct SearchPage<'a> {
    chrome: &'a rathaus_web::Chrome,
    t: &'static crate::texts::Texts,
    query: &'a str,
    filter: Option<Situation>,
    items: Vec<Item<'a>>,
    total: usize,
    facets: Vec<Situation>,
    pagination: Pagination,
}

pub async fn search(
    State(state): State<PortalState>,
    page: Page,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    let lang = page.chrome.lang;
    let (Ok(number), Ok(filter)) = (params.page_number(), params.life_situation()) else {
        return PageError::new(PageProblem::BadRequest, page.chrome).into_response();
    };
    let q = params.get("q").unwrap_or_default();
    let Ok(results) =
        crate::search::search(&state, q, lang, filter, (number - 1) * PAGE_SIZE, PAGE_SIZE).await
    else {
        return PageError::new(PageProblem::Unavailable, page.chrome).into_response();
    };
    let facets = results
        .facets
        .iter()
        .map(|(ls, count)| Situation {
            slug: ls.slug(),
            name: ls.name(lang),
            count: *count,
            selected: Some(*ls) == filter,
        })
        .collect();
    let href = |n: usize| {
        let mut href = format!("/search?q={}", encode(q));
        if let Some(ls) = filter {
            href.push_str("&life_situation=");
            href.push_str(ls.slug());
        }
        format!("{href}&page={n}")
    };
    let template = SearchPage {
        chrome: &page.chrome,
        t: page.t,
        query: q,
        filter: filter.map(|ls| Situation {
            slug: ls.slug(),
            name: ls.name(lang),
            count: results.total,
            selected: true,
        }),
        items: results.items.iter().map(|e| Item::of(e, lang)).collect(),
        total: results.total,
        facets,
        pagination: Pagination::new(number, results.total, href),
    };
    render(&page, state.secure_cookies, &template)
}

#[derive(Template)]
#[template(path = "portal/life_situations.html")]
struct LifeSituationsPage<'a> {
    chrome: &'a rathaus_web::Chrome,
    t: &'static crate::texts::Texts,
    citizens: Vec<Situation>,
    businesses: Vec<Situation>,
}

pub async fn life_situations(State(state): State<PortalState>, page: Page) -> Response {
    let lang = page.chrome.lang;
    let counts = state.catalog.life_situation_counts();
    let template = LifeSituationsPage {
        chrome: &page.chrome,
        t: page.t,
        citizens: Situation::of_audience(&counts, Audience::Citizens, lang),
        businesses: Situation::of_audience(&counts, Audience::Businesses, lang),
    };
    render(&page, state.secure_cookies, &template)
}

#[derive(Template)]
#[template(path = "portal/life_situation.html")]
struct LifeSituationPage<'a> {
    chrome: &'a rathaus_web::Chrome,
    t: &'static crate::texts::Texts,
    situation: Situation,
    items: Vec<Item<'a>>,
    pagination: Pagination,
}

pub async fn life_situation(
    State(state): State<PortalState>,
    page: Page,
    slug: Result<Path<String>, axum::extract::rejection::PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    let Ok(Path(slug)) = slug else {
        return PageError::new(PageProblem::BadRequest, page.chrome).into_response();
    };
    let Ok(situation) = slug.parse::<LifeSituation>() else {
        return PageError::new(PageProblem::NotFound, page.chrome).into_response();
    };
    let Ok(number) = Params::parse(query.as_deref()).page_number() else {
        return PageError::new(PageProblem::BadRequest, page.chrome).into_response();
    };
    let lang = page.chrome.lang;
    let results = state.catalog.search(
        "",
        lang,
        Some(situation),
        (number - 1) * PAGE_SIZE,
        PAGE_SIZE,
    );
    let template = LifeSituationPage {
        chrome: &page.chrome,
        t: page.t,
        situation: Situation {
            slug: situation.slug(),
            name: situation.name(lang),
            count: results.total,
            selected: true,
        },
        items: results.items.iter().map(|e| Item::of(e, lang)).collect(),
        pagination: Pagination::new(number, results.total, |n| {
            format!("/life-situations/{}?page={n}", situation.slug())
        }),
    };
    render(&page, state.secure_cookies, &template)
}
