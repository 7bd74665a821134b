//! Server-rendered pages for people. Every page works without JavaScript.

mod catalog;
mod legal;
pub(crate) mod service;

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use http::header;
use rathaus_web::{PageError, PageProblem};

use crate::routes::Routes;
use crate::state::Page;

pub(crate) fn routes(routes: Routes) -> Routes {
    routes
        .public("/", get(catalog::start))
        .public("/search", get(catalog::search))
        .public("/life-situations", get(catalog::life_situations))
        .public("/life-situations/{slug}", get(catalog::life_situation))
        .public("/services/{id}", get(service::service_page))
        .public("/services/{id}/apply", get(service::before_you_start))
        .public("/imprint", get(legal::imprint))
        .public("/privacy", get(legal::privacy))
        .public("/accessibility", get(legal::accessibility))
}

/// Renders a template for `page`, remembering an explicit language choice in a cookie.
pub(crate) fn render(page: &Page, secure_cookies: bool, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = Html(html).into_response();
            if page.remember_lang
                && let Ok(value) =
                    rathaus_web::lang::remember_cookie(page.chrome.lang, secure_cookies).parse()
            {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(e) => PageError::internal(page.chrome.clone(), e).into_response(),
    }
}

/// 404 for unknown paths: a page for people, problem+json below `/api/`.
pub async fn not_found(page: Page, uri: http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return rathaus_web::ApiError::not_found("no such API endpoint; see /api/v1/openapi.json")
            .into_response();
    }
    PageError::new(PageProblem::NotFound, page.chrome).into_response()
}

/// 405 for a known path with another method; axum adds the `Allow` header of the route.
pub async fn method_not_allowed(page: Page, uri: http::Uri) -> Response {
    let mut response = if uri.path().starts_with("/api/") {
        rathaus_web::ApiError::bad_request("this endpoint only answers GET requests")
            .into_response()
    } else {
        PageError::new(PageProblem::BadRequest, page.chrome).into_response()
    };
    *response.status_mut() = http::StatusCode::METHOD_NOT_ALLOWED;
    response
}

/// Page numbers for result lists: 20 per page, at most 500 pages deep.
pub(crate) const PAGE_SIZE: usize = 20;

#[derive(Debug, Clone)]
pub(crate) struct Pagination {
    pub page: usize,
    pub pages: usize,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Pagination {
    pub fn new(page: usize, total: usize, href: impl Fn(usize) -> String) -> Self {
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        Self {
            page,
            pages,
            previous: (page > 1).then(|| href(page - 1)),
            next: (page < pages).then(|| href(page + 1)),
        }
    }

    pub fn label(&self, template: &str) -> String {
        template
            .replace("{page}", &self.page.to_string())
            .replace("{pages}", &self.pages.to_string())
    }
}

/// Percent-encodes a value for a query string.
pub(crate) fn encode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|s| s[1..].to_owned())
        .unwrap_or_default()
}
