//! The account page and the list of sessions (SECURITY.md S2, Z1).
//!
//! Everything here belongs to the signed-in account: sessions are looked up and ended by
//! (account, id), so another account's session id is answered exactly like an unknown one, 404.

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use rathaus_domain::{AuditEvent, SessionId};
use rathaus_web::{Chrome, PageError, PageProblem};

use super::forms::{PostedForm, respond};
use super::session::page_store_error;
use super::sign_in::signed_out_redirect;
use super::{AuthUser, audit, csrf, see_other};
use crate::account_texts::AccountTexts;
use crate::state::{Page, PortalState};
use crate::texts::date_time;

#[derive(Template)]
#[template(path = "portal/account/overview.html")]
struct AccountPage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    csrf: &'a str,
    email: &'a str,
    level: &'a str,
    since: String,
    /// The mailbox's entry with its unread count.
    mailbox: String,
    /// The link to the verified data kept for prefill.
    verified_link: &'static str,
    /// The link to "Meine Daten" (everything held about the citizen).
    data_link: &'static str,
    /// The link to the operator's status page, for operators only.
    operator_link: Option<&'static str>,
    /// The link to the business accounts.
    organisations_link: &'static str,
}

pub async fn account(State(state): State<PortalState>, page: Page, user: AuthUser) -> Response {
    respond(
        &state,
        &page,
        StatusCode::OK,
        &AccountPage {
            chrome: &page.chrome,
            a: page.t.account,
            csrf: &user.session.csrf_secret,
            email: user.account.email.as_str(),
            level: user.account.level.label(page.chrome.lang),
            since: user.account.created_at.format("%Y-%m-%d").to_string(),
            mailbox: crate::mailbox::nav_label(
                page.chrome.lang,
                crate::mailbox::unread(&state, &user.account.id).await,
            ),
            verified_link: page.t.form.kept_link,
            data_link: super::own_data::texts(page.chrome.lang).title,
            operator_link: state
                .operators
                .admits(&user)
                .then(|| crate::operator::link_label(page.chrome.lang)),
            organisations_link: crate::organisations::texts(page.chrome.lang).title,
        },
        [],
    )
}

/// One row of the sessions table.
#[derive(Debug)]
struct SessionRow {
    id: String,
    started: String,
    last_seen: String,
    ends: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "portal/account/sessions.html")]
struct SessionsPage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    csrf: &'a str,
    sessions: Vec<SessionRow>,
}

pub async fn sessions(State(state): State<PortalState>, page: Page, user: AuthUser) -> Response {
    let now = state.clock.now();
    let idle_since = now - state.accounts.settings.session_idle;
    let sessions = match state
        .store
        .sessions_of(user.account.id, idle_since, now)
        .await
    {
        Ok(sessions) => sessions,
        Err(e) => return page_store_error(&page, &e),
    };
    let lang = page.chrome.lang;
    let rows = sessions
        .into_iter()
        .map(|s| SessionRow {
            id: s.id.to_string(),
            started: date_time(s.created_at, lang),
            last_seen: date_time(s.last_seen_at, lang),
            ends: date_time(
                s.expires_at
                    .min(s.last_seen_at + state.accounts.settings.session_idle),
                lang,
            ),
            current: s.id == user.session.id,
        })
        .collect();
    respond(
        &state,
        &page,
        StatusCode::OK,
        &SessionsPage {
            chrome: &page.chrome,
            a: page.t.account,
            csrf: &user.session.csrf_secret,
            sessions: rows,
        },
        [],
    )
}

pub async fn end_session(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    id: Result<Path<String>, PathRejection>,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let not_found = || PageError::new(PageProblem::NotFound, page.chrome.clone()).into_response();
    let Some(id) = id.ok().and_then(|Path(raw)| raw.parse::<SessionId>().ok()) else {
        return not_found();
    };
    match state
        .store
        .delete_account_session(user.account.id, id)
        .await
    {
        Ok(true) => {}
        Ok(false) => return not_found(),
        Err(e) => return page_store_error(&page, &e),
    }
    audit::record(
        &state,
        AuditEvent::SignOut,
        Some(user.account.id),
        &format!("ended session {id}"),
    )
    .await;
    if id == user.session.id {
        signed_out_redirect(&state)
    } else {
        see_other("/account/sessions")
    }
}

pub async fn sign_out_everywhere(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let ended = match state.store.delete_sessions_of(user.account.id).await {
        Ok(ended) => ended,
        Err(e) => return page_store_error(&page, &e),
    };
    audit::record(
        &state,
        AuditEvent::SignOut,
        Some(user.account.id),
        &format!("everywhere; sessions ended: {ended}"),
    )
    .await;
    signed_out_redirect(&state)
}
