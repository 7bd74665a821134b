//! The operator's status page (issue 5): the delivery outbox per authority node, the entries
//! whose attempts fail, and the dead letters, each of which an operator can send again.
//!
//! Who is an operator is configuration (`portal.operators`, e-mail addresses of Servicekonto
//! accounts), not data an account can change: a signed-in account that is not listed, or whose
//! address is not confirmed, gets 404 exactly like an unknown page, so the page does not even
//! reveal that it exists. Everything shown is metadata (reference, authority, node, attempts,
//! the last error); the ciphertext never leaves the database. A retry is audited with the
//! operator's account.

mod texts;

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use http::request::Parts;
use rathaus_domain::{AuditEvent, Email, Lang};
use rathaus_store::{NodeOutbox, OutboxEntry, OutboxListing};
use rathaus_web::{Chrome, PageError, PageProblem};

use crate::accounts::forms::{PostedForm, respond};
use crate::accounts::session::page_store_error;
use crate::accounts::{AuthUser, audit, csrf, see_other};
use crate::routes::Routes;
use crate::state::{Page, PortalState};
use crate::texts::date_time as when;
use texts::{OperatorTexts, texts};

/// Entries listed per table; the counts above them are complete.
const LISTED: u32 = 200;

pub(crate) fn routes(routes: Routes) -> Routes {
    routes
        .operator("/operator", get(status))
        .operator("/operator/dead-letters/{id}/retry", post(retry))
}

/// The accounts allowed on the operator's pages, by e-mail address (compared without case).
#[derive(Debug, Clone, Default)]
pub struct Operators(BTreeSet<String>);

impl Operators {
    pub fn new<'a>(addresses: impl IntoIterator<Item = &'a Email>) -> Self {
        Self(
            addresses
                .into_iter()
                .map(|e| e.as_str().to_lowercase())
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `user` may use the operator's pages: listed, and the address confirmed (an
    /// unconfirmed registration of a listed address proves nothing).
    pub(crate) fn admits(&self, user: &AuthUser) -> bool {
        user.account.email_confirmed_at.is_some()
            && self.0.contains(&user.account.email.as_str().to_lowercase())
    }
}

/// A signed-in operator. Not signed in: the sign-in page, as for any account page; signed in
/// but not an operator: 404.
pub(crate) struct OperatorUser(pub AuthUser);

impl FromRequestParts<PortalState> for OperatorUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &PortalState,
    ) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if state.operators.admits(&user) {
            return Ok(Self(user));
        }
        let Ok(page) = Page::from_request_parts(parts, state).await;
        Err(PageError::new(PageProblem::NotFound, page.chrome).into_response())
    }
}

/// The account page's link to the status page.
pub(crate) fn link_label(lang: Lang) -> &'static str {
    texts(lang).title
}

#[derive(Debug)]
struct NodeRow {
    node: String,
    pending: u64,
    failing: u64,
    dead: u64,
    delivered: u64,
    attempts: u64,
    oldest: String,
    overdue: bool,
}

#[derive(Debug)]
struct EntryRow {
    id: String,
    reference: String,
    kind: &'static str,
    authority: String,
    node: String,
    attempts: u32,
    since: String,
    next: String,
    error: String,
    retryable: bool,
}

#[derive(Template)]
#[template(path = "portal/operator/status.html")]
struct StatusPage<'a> {
    chrome: &'a Chrome,
    o: &'static OperatorTexts,
    csrf: &'a str,
    nodes: Vec<NodeRow>,
    totals: NodeRow,
    overdue: usize,
    failing: Vec<EntryRow>,
    dead: Vec<EntryRow>,
    retried: bool,
}

fn entry_row(state: &PortalState, entry: OutboxEntry, o: &OperatorTexts, lang: Lang) -> EntryRow {
    EntryRow {
        id: entry.id.to_string(),
        reference: entry.reference,
        kind: if entry.reply {
            o.kind_reply
        } else {
            o.kind_application
        },
        authority: entry
            .authority
            .parse()
            .ok()
            .and_then(|id| state.tenant.authority(&id))
            .map_or_else(|| entry.authority.clone(), |a| a.name.get(lang).to_owned()),
        node: entry.node,
        attempts: entry.attempts,
        since: when(entry.since, lang),
        next: when(entry.next_attempt_at, lang),
        error: entry.last_error.unwrap_or_default(),
        retryable: entry.retryable,
    }
}

pub(crate) async fn status(
    State(state): State<PortalState>,
    page: Page,
    OperatorUser(user): OperatorUser,
    RawQuery(query): RawQuery,
) -> Response {
    let lang = page.chrome.lang;
    let o = texts(lang);
    let (nodes, failing, dead) = match tokio::try_join!(
        state.store.outbox_by_node(),
        state.store.outbox_entries(OutboxListing::Failing, LISTED),
        state.store.outbox_entries(OutboxListing::Dead, LISTED),
    ) {
        Ok(found) => found,
        Err(e) => return page_store_error(&page, &e),
    };
    // The same line as the delivery worker's alert (R2).
    let alert_before = state.clock.now() - crate::delivery::DeliverySettings::default().alert_after;
    let row = |n: &NodeOutbox| NodeRow {
        node: n.node.clone(),
        pending: n.pending,
        failing: n.failing,
        dead: n.dead,
        delivered: n.delivered,
        attempts: n.attempts,
        oldest: n.oldest_pending.map(|t| when(t, lang)).unwrap_or_default(),
        overdue: n.oldest_pending.is_some_and(|t| t < alert_before),
    };
    let totals = NodeRow {
        node: o.total.to_owned(),
        pending: nodes.iter().map(|n| n.pending).sum(),
        failing: nodes.iter().map(|n| n.failing).sum(),
        dead: nodes.iter().map(|n| n.dead).sum(),
        delivered: nodes.iter().map(|n| n.delivered).sum(),
        attempts: nodes.iter().map(|n| n.attempts).sum(),
        oldest: nodes
            .iter()
            .filter_map(|n| n.oldest_pending)
            .min()
            .map(|t| when(t, lang))
            .unwrap_or_default(),
        overdue: nodes
            .iter()
            .any(|n| n.oldest_pending.is_some_and(|t| t < alert_before)),
    };
    let node_rows: Vec<NodeRow> = nodes.iter().map(row).collect();
    let overdue = node_rows.iter().filter(|n| n.overdue).count();
    respond(
        &state,
        &page,
        StatusCode::OK,
        &StatusPage {
            chrome: &page.chrome,
            o,
            csrf: &user.session.csrf_secret,
            nodes: node_rows,
            totals,
            overdue,
            failing: failing
                .into_iter()
                .map(|e| entry_row(&state, e, o, lang))
                .collect(),
            dead: dead
                .into_iter()
                .map(|e| entry_row(&state, e, o, lang))
                .collect(),
            retried: query.as_deref() == Some("retried=1"),
        },
        [],
    )
}

pub(crate) async fn retry(
    State(state): State<PortalState>,
    page: Page,
    OperatorUser(user): OperatorUser,
    id: Result<Path<String>, PathRejection>,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let not_found = || PageError::new(PageProblem::NotFound, page.chrome.clone()).into_response();
    let Some(id) = id.ok().and_then(|Path(raw)| raw.parse::<uuid::Uuid>().ok()) else {
        return not_found();
    };
    let retried = match state.store.retry_dead_letter(id, state.clock.now()).await {
        Ok(Some(retried)) => retried,
        Ok(None) => return not_found(),
        Err(e) => return page_store_error(&page, &e),
    };
    audit::record(
        &state,
        AuditEvent::DeliveryRetried,
        Some(user.account.id),
        &format!(
            "delivery {id} of {} to node {} sent again{}",
            retried.reference,
            retried.node,
            if retried.reply { " (reply)" } else { "" }
        ),
    )
    .await;
    tracing::info!(
        reference = %retried.reference,
        node = %retried.node,
        "an operator put a dead letter back into the outbox"
    );
    state.delivery_wake.notify_one();
    see_other("/operator?retried=1")
}
