//! A service's page: what it is, costs, documents, legal basis, whether it is online, and the
//! responsibility finder for the visitor's postcode.

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use rathaus_catalog::{Entry, Responsible, find_responsible};
use rathaus_domain::service::Responsibility;
use rathaus_domain::tenant::Authority;
use rathaus_domain::{Lang, Postcode, ServiceKey, TenantDirectory};
use rathaus_web::{PageError, PageProblem};

use super::render;
use crate::params::Params;
use crate::state::{Page, PortalState};

#[derive(Debug)]
pub(crate) struct AuthorityView<'a> {
    pub name: &'a str,
    pub district: Option<&'a str>,
    pub street: &'a str,
    pub postcode: String,
    pub city: &'a str,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub website: Option<&'a str>,
    pub opening_hours: Option<&'a str>,
}

impl<'a> AuthorityView<'a> {
    fn of(authority: &'a Authority, district: Option<&'a str>, lang: Lang) -> Self {
        Self {
            name: authority.name.get(lang),
            district,
            street: &authority.address.street,
            postcode: authority.address.postcode.to_string(),
            city: &authority.address.city,
            phone: authority.phone.as_deref(),
            email: authority.email.as_deref(),
            website: authority.website.as_deref(),
            opening_hours: authority.opening_hours.as_ref().map(|t| t.get(lang)),
        }
    }
}

/// The outcome of the finder form, ready for the page.
#[derive(Debug)]
pub(crate) enum FinderView<'a> {
    NotAsked,
    InvalidPostcode,
    Message(&'static str),
    Found {
        several: bool,
        authorities: Vec<AuthorityView<'a>>,
    },
}

pub(crate) fn finder_view<'a>(
    tenant: &'a TenantDirectory,
    responsibility: Option<&Responsibility>,
    input: Option<&str>,
    page: &Page,
) -> FinderView<'a> {
    let Some(input) = input.map(str::trim).filter(|i| !i.is_empty()) else {
        return FinderView::NotAsked;
    };
    let Some(postcode) = input
        .parse::<Postcode>()
        .ok()
        .or_else(|| Postcode::find_in(input))
    else {
        return FinderView::InvalidPostcode;
    };
    let lang = page.chrome.lang;
    match find_responsible(tenant, responsibility, postcode) {
        Responsible::Found(found) => FinderView::Found {
            several: found.len() > 1,
            authorities: found
                .iter()
                .map(|f| AuthorityView::of(f.authority, f.district.map(|d| d.name.get(lang)), lang))
                .collect(),
        },
        Responsible::OutsideArea => FinderView::Message(page.t.outside_area),
        Responsible::NotRecorded => FinderView::Message(page.t.not_recorded),
        Responsible::NotOffered => FinderView::Message(page.t.not_offered),
    }
}

#[derive(Template)]
#[template(path = "portal/service.html")]
struct ServicePage<'a> {
    chrome: &'a rathaus_web::Chrome,
    t: &'static crate::texts::Texts,
    entry: &'a Entry,
    name: &'a str,
    name_lang: Option<&'static str>,
    paragraphs: Vec<&'a str>,
    fees: Vec<(&'a str, String)>,
    documents: Vec<&'a str>,
    laws: Vec<(&'a str, Option<&'a str>)>,
    level: Option<(&'static str, String)>,
    processing_time: Option<&'a str>,
    situations: Vec<(&'static str, &'static str)>,
    finder_input: &'a str,
    finder_invalid: bool,
    finder: FinderView<'a>,
    summary: Option<&'a str>,
    regulation: Option<&'static str>,
}

pub(crate) fn lookup<'a>(
    state: &'a PortalState,
    raw: Result<Path<String>, PathRejection>,
    page: &Page,
) -> Result<&'a Entry, PageError> {
    let Ok(Path(raw)) = raw else {
        return Err(PageError::new(PageProblem::BadRequest, page.chrome.clone()));
    };
    raw.parse::<ServiceKey>()
        .ok()
        .and_then(|key| state.catalog.get(&key))
        .ok_or_else(|| PageError::new(PageProblem::NotFound, page.chrome.clone()))
}

pub async fn service_page(
    State(state): State<PortalState>,
    page: Page,
    id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    let entry = match lookup(&state, id, &page) {
        Ok(entry) => entry,
        Err(error) => return error.into_response(),
    };
    let params = Params::parse(query.as_deref());
    let lang = page.chrome.lang;
    let name = entry.name(lang);
    let definition = entry.definition.as_deref();
    let record = entry.record.as_deref();
    let laws: Vec<(&str, Option<&str>)> = match (definition, record) {
        (Some(def), _) if !def.legal_basis.is_empty() => def
            .legal_basis
            .iter()
            .map(|l| (l.title.as_str(), l.url.as_deref()))
            .collect(),
        (_, Some(record)) => record
            .legal_basis
            .iter()
            .map(|l| (l.title.as_str(), l.url.as_deref()))
            .collect(),
        _ => Vec::new(),
    };
    let finder_input = params.get("postcode").unwrap_or_default();
    let finder = finder_view(
        &state.tenant,
        definition.and_then(|d| d.responsibility.as_ref()),
        Some(finder_input),
        &page,
    );
    let template = ServicePage {
        chrome: &page.chrome,
        t: page.t,
        entry,
        name: name.text,
        name_lang: (name.lang != lang).then(|| name.lang.code()),
        paragraphs: definition
            .map(|d| d.paragraphs(lang).collect())
            .unwrap_or_default(),
        fees: definition
            .map(|d| {
                d.fees
                    .iter()
                    .map(|f| (f.label.get(lang), f.format_amount(lang)))
                    .collect()
            })
            .unwrap_or_default(),
        documents: definition
            .map(|d| d.documents.iter().map(|t| t.get(lang)).collect())
            .unwrap_or_default(),
        laws,
        level: definition.map(|d| {
            (
                d.assurance_level.label(lang),
                d.assurance_level.explanation().get(lang).to_owned(),
            )
        }),
        processing_time: definition
            .and_then(|d| d.processing_time.as_ref())
            .map(|t| t.get(lang)),
        situations: entry
            .life_situations()
            .iter()
            .map(|ls| (ls.slug(), ls.name(lang)))
            .collect(),
        finder_input,
        finder_invalid: matches!(finder, FinderView::InvalidPostcode),
        finder,
        summary: entry.summary(lang),
        regulation: record.and_then(|r| r.typisierung).map(|t| match lang {
            Lang::De => t.label_de(),
            Lang::En => t.label_en(),
        }),
    };
    render(&page, state.secure_cookies, &template)
}

#[derive(Template)]
#[template(path = "portal/apply.html")]
struct BeforeYouStart<'a> {
    chrome: &'a rathaus_web::Chrome,
    t: &'static crate::texts::Texts,
    key: String,
    name: &'a str,
    level_label: &'static str,
    level_explanation: String,
    documents: Vec<&'a str>,
    /// Whether the form can be filled in here (the service has a `[form]`).
    has_form: bool,
}

/// The "before you start" step of an online application: what level and documents it needs.
pub async fn before_you_start(
    State(state): State<PortalState>,
    page: Page,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let entry = match lookup(&state, id, &page) {
        Ok(entry) => entry,
        Err(error) => return error.into_response(),
    };
    let Some(definition) = entry.definition.as_deref().filter(|d| d.online) else {
        return PageError::new(PageProblem::NotFound, page.chrome).into_response();
    };
    let lang = page.chrome.lang;
    let template = BeforeYouStart {
        chrome: &page.chrome,
        t: page.t,
        key: entry.key.to_string(),
        name: definition.name.get(lang),
        level_label: definition.assurance_level.label(lang),
        level_explanation: definition
            .assurance_level
            .explanation()
            .get(lang)
            .to_owned(),
        documents: definition.documents.iter().map(|d| d.get(lang)).collect(),
        has_form: entry.form.is_some(),
    };
    render(&page, state.secure_cookies, &template)
}
