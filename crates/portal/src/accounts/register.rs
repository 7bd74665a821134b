//! Registration and confirmation of the e-mail address (SECURITY.md A1, A2, A5).
//!
//! The answer to a registration is the same whether or not the address already has an account:
//! both hash the password (same time), both redirect to "check your mail". A new address gets
//! a confirmation link (24 hours, single use); an address with an account gets a mail saying
//! that someone tried to register with it. The link opens a page with a button, so that a mail
//! scanner following links cannot confirm on the person's behalf.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use http::{HeaderMap, StatusCode};
use rathaus_auth::SecretToken;
use rathaus_domain::{AccountId, AuditEvent, Email, NewPassword};
use rathaus_store::{AccountRecord, EmailTokenPurpose, NewEmailToken};
use rathaus_web::{Chrome, PageError};

use super::forms::{FormErrors, PostedForm, email_message, password_message, respond};
use super::session::page_store_error;
use super::{
    Failure, MessagePage, absolute, audit, csrf, hash_failure, see_other, send_in_background,
};
use crate::account_texts::AccountTexts;
use crate::mail::{MailKind, compose};
use crate::params::Params;
use crate::state::{Page, PortalState};

/// How long a confirmation link is valid.
pub(crate) const CONFIRM_VALIDITY: Duration = Duration::hours(24);

#[derive(Template)]
#[template(path = "portal/account/register.html")]
struct RegisterPage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    csrf: &'a str,
    email: &'a str,
    errors: &'a FormErrors,
}

fn show(
    state: &PortalState,
    page: &Page,
    headers: &HeaderMap,
    status: StatusCode,
    email: &str,
    errors: &FormErrors,
) -> Response {
    let token = match csrf::anon_token(state, headers) {
        Ok(token) => token,
        Err(e) => return PageError::internal(page.chrome.clone(), e).into_response(),
    };
    respond(
        state,
        page,
        status,
        &RegisterPage {
            chrome: &page.chrome,
            a: page.t.account,
            csrf: &token.token,
            email,
            errors,
        },
        [token.set_cookie],
    )
}

pub async fn form(State(state): State<PortalState>, page: Page, headers: HeaderMap) -> Response {
    show(
        &state,
        &page,
        &headers,
        StatusCode::OK,
        "",
        &FormErrors::default(),
    )
}

pub async fn submit(
    State(state): State<PortalState>,
    page: Page,
    headers: HeaderMap,
    form: PostedForm,
) -> Response {
    if !csrf::verify_anon(&state, &headers, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let a = page.t.account;
    let mut errors = FormErrors::default();
    let email = Email::parse(form.get("email"))
        .map_err(|e| errors.add("email", email_message(a, e)))
        .ok();
    let password = NewPassword::parse(
        form.get("password"),
        state.accounts.blocklist,
        email.as_ref(),
    )
    .map_err(|e| errors.add("password", password_message(a, e)))
    .ok();
    let (Some(email), Some(password)) = (email, password) else {
        return show(
            &state,
            &page,
            &headers,
            StatusCode::BAD_REQUEST,
            form.get("email"),
            &errors,
        );
    };
    // Hash before looking the address up: known and unknown addresses take the same time.
    let hash = match state.accounts.hasher.hash(&password).await {
        Ok(hash) => hash,
        Err(e) => return hash_failure(&page, &e),
    };
    let result = match state.store.account_by_email(&email).await {
        Ok(Some(existing)) => {
            already_registered(&state, &existing).await;
            Ok(())
        }
        Ok(None) => create(&state, &email, hash.as_str()).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => see_other("/account/check-mail"),
        Err(e) => e.page(&page),
    }
}

async fn create(state: &PortalState, email: &Email, hash: &str) -> Result<(), Failure> {
    let id = AccountId::random();
    match state
        .store
        .create_account(id, email, hash, state.clock.now())
        .await
    {
        Ok(()) => {}
        // Registered at the same moment by another request: treat like an existing account.
        Err(e) if e.is_conflict() => {
            if let Some(existing) = state.store.account_by_email(email).await? {
                already_registered(state, &existing).await;
            }
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(state, AuditEvent::Register, Some(id), "new account").await;
    send_confirmation(state, id, email).await
}

/// Mails a new confirmation link to `email`.
pub(crate) async fn send_confirmation(
    state: &PortalState,
    id: AccountId,
    email: &Email,
) -> Result<(), Failure> {
    let token = SecretToken::generate()?;
    let now = state.clock.now();
    state
        .store
        .create_email_token(&NewEmailToken {
            token_hash: token.digest(),
            account_id: id,
            purpose: EmailTokenPurpose::Confirm,
            created_at: now,
            expires_at: now + CONFIRM_VALIDITY,
        })
        .await?;
    let link = absolute(state, &format!("/account/confirm?token={}", token.expose()));
    send_in_background(state, compose(MailKind::Confirm, email.clone(), &link));
    Ok(())
}

async fn already_registered(state: &PortalState, existing: &AccountRecord) {
    audit::record(
        state,
        AuditEvent::Register,
        Some(existing.id),
        "address already registered",
    )
    .await;
    let link = absolute(state, "/account/sign-in");
    send_in_background(
        state,
        compose(MailKind::AlreadyRegistered, existing.email.clone(), &link),
    );
}

pub async fn check_mail(State(state): State<PortalState>, page: Page) -> Response {
    let a = page.t.account;
    respond(
        &state,
        &page,
        StatusCode::OK,
        &MessagePage {
            chrome: &page.chrome,
            title: a.check_mail_title,
            text: a.check_mail_text,
            extra: Some(a.check_mail_spam),
            links: vec![("/account/sign-in", a.sign_in_title)],
        },
        [],
    )
}

#[derive(Template)]
#[template(path = "portal/account/confirm.html")]
struct ConfirmPage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    csrf: &'a str,
    token: &'a str,
}

pub async fn confirm_form(
    State(state): State<PortalState>,
    page: Page,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    let Some(token) = params.get("token").and_then(SecretToken::from_received) else {
        return super::invalid_link(&state, &page, "/account/register");
    };
    let now = state.clock.now();
    match state
        .store
        .email_token(&token.digest(), EmailTokenPurpose::Confirm, now)
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => return super::invalid_link(&state, &page, "/account/register"),
        Err(e) => return page_store_error(&page, &e),
    }
    let anon = match csrf::anon_token(&state, &headers) {
        Ok(anon) => anon,
        Err(e) => return PageError::internal(page.chrome.clone(), e).into_response(),
    };
    respond(
        &state,
        &page,
        StatusCode::OK,
        &ConfirmPage {
            chrome: &page.chrome,
            a: page.t.account,
            csrf: &anon.token,
            token: token.expose(),
        },
        [anon.set_cookie],
    )
}

pub async fn confirm(
    State(state): State<PortalState>,
    page: Page,
    headers: HeaderMap,
    form: PostedForm,
) -> Response {
    if !csrf::verify_anon(&state, &headers, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let Some(token) = SecretToken::from_received(form.get("token")) else {
        return super::invalid_link(&state, &page, "/account/register");
    };
    let now = state.clock.now();
    let account = match state
        .store
        .use_email_token(&token.digest(), EmailTokenPurpose::Confirm, now)
        .await
    {
        Ok(Some(account)) => account,
        Ok(None) => return super::invalid_link(&state, &page, "/account/register"),
        Err(e) => return page_store_error(&page, &e),
    };
    match state.store.confirm_email(account, now).await {
        Ok(true) => audit::record(&state, AuditEvent::EmailConfirmed, Some(account), "").await,
        Ok(false) => {}
        Err(e) => return page_store_error(&page, &e),
    }
    let a = page.t.account;
    respond(
        &state,
        &page,
        StatusCode::OK,
        &MessagePage {
            chrome: &page.chrome,
            title: a.confirmed_title,
            text: a.confirmed_text,
            extra: None,
            links: vec![("/account/sign-in", a.sign_in_title)],
        },
        [],
    )
}
