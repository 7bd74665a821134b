//! `GET /back-office`: the cases of the clerk's own authority, newest first, filtered by status
//! and searched by reference, fifty to a page. The list shows metadata only; nothing is
//! decrypted here.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use rathaus_domain::CaseStatus;
use rathaus_store::CaseQuery;
use rathaus_web::Chrome;

use super::texts::BoTexts;
use super::{BoPage, ClerkBar, ClerkUser, query_param, respond, status_label, store_failure, when};
use crate::NodeState;

/// Cases per page.
const PAGE_SIZE: u32 = 50;
/// Longest search accepted; references are much shorter.
const MAX_SEARCH: usize = 64;

struct StatusOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

struct CaseRow {
    href: String,
    reference: String,
    service: String,
    received: String,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "authority/back_office/inbox.html")]
struct InboxPage<'a> {
    chrome: &'a Chrome,
    t: &'static BoTexts,
    clerk: ClerkBar,
    statuses: Vec<StatusOption>,
    search: String,
    cases: Vec<CaseRow>,
    newer: Option<String>,
    older: Option<String>,
}

fn page_href(status: Option<CaseStatus>, search: &str, page: u32) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(status) = status {
        pairs.push(("status", status.as_str().to_owned()));
    }
    if !search.is_empty() {
        pairs.push(("q", search.to_owned()));
    }
    if page > 0 {
        pairs.push(("page", page.to_string()));
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect();
    if query.is_empty() {
        "/back-office".to_owned()
    } else {
        format!("/back-office?{}", query.join("&"))
    }
}

pub(crate) async fn inbox(
    State(state): State<NodeState>,
    page: BoPage,
    user: ClerkUser,
    RawQuery(raw): RawQuery,
) -> Response {
    let param = |name| query_param(raw.as_deref(), name).unwrap_or_default();
    // Anything that is not a known status or a page number counts as not given.
    let status = CaseStatus::parse(&param("status"));
    let search: String = param("q")
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_SEARCH)
        .collect();
    let number = param("page").parse::<u32>().unwrap_or(0).min(10_000);
    let query = CaseQuery {
        authority: user.clerk.authority.clone(),
        status,
        reference: (!search.is_empty()).then(|| search.clone()),
        // One more than shown tells whether there is an older page.
        limit: PAGE_SIZE + 1,
        offset: number * PAGE_SIZE,
    };
    let mut found = match state.store.case_inbox(&query).await {
        Ok(found) => found,
        Err(e) => return store_failure(&page, &e),
    };
    let has_older = found.len() > PAGE_SIZE as usize;
    found.truncate(PAGE_SIZE as usize);
    let lang = page.chrome.lang;
    let services = state.back_office.as_ref().map(|o| &o.services);
    let cases = found
        .into_iter()
        .map(|c| CaseRow {
            href: format!("/back-office/cases/{}", c.delivery_id),
            service: services
                .and_then(|s| s.get(&c.service_key))
                .map_or_else(|| c.service_key.clone(), |s| s.name.get(lang).to_owned()),
            received: when(c.received_at, lang),
            status: status_label(page.t, &c.status),
            reference: c.reference,
        })
        .collect();
    let statuses = CaseStatus::ALL
        .into_iter()
        .map(|s| StatusOption {
            value: s.as_str(),
            label: status_label(page.t, s.as_str()),
            selected: status == Some(s),
        })
        .collect();
    let template = InboxPage {
        chrome: &page.chrome,
        t: page.t,
        clerk: ClerkBar::new(&state, &page, &user),
        statuses,
        newer: (number > 0).then(|| page_href(status, &search, number - 1)),
        older: has_older.then(|| page_href(status, &search, number + 1)),
        search,
        cases,
    };
    respond(&page, StatusCode::OK, &template, [])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_keep_the_filter() {
        assert_eq!(page_href(None, "", 0), "/back-office");
        assert_eq!(
            page_href(Some(CaseStatus::InProgress), "HA 1&x", 2),
            "/back-office?status=in%5Fprogress&q=HA%201%26x&page=2"
        );
    }
}
