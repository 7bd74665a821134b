//! Forgotten passwords (SECURITY.md A1, A2, A5, S2).
//!
//! Asking for a link answers the same for every well-formed address; only an existing account
//! gets a mail (one hour, single use). Setting the new password checks the policy, ends every
//! session of the account, confirms the address (the link proved the mailbox) and forgets the
//! account's failed sign-ins.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use http::{HeaderMap, StatusCode};
use rathaus_auth::SecretToken;
use rathaus_domain::{AuditEvent, Email, NewPassword};
use rathaus_store::{EmailTokenPurpose, NewEmailToken};
use rathaus_web::{Chrome, PageError};

use super::forms::{FormErrors, PostedForm, email_message, password_message, respond};
use super::session::page_store_error;
use super::{
    Failure, MessagePage, absolute, audit, csrf, hash_failure, invalid_link, see_other,
    send_in_background,
};
use crate::account_texts::AccountTexts;
use crate::mail::{MailKind, compose};
use crate::params::Params;
use crate::state::{Page, PortalState};

/// How long a reset link is valid.
pub(crate) const RESET_VALIDITY: Duration = Duration::hours(1);

#[derive(Template)]
#[template(path = "portal/account/forgot.html")]
struct ForgotPage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    csrf: &'a str,
    email: &'a str,
    errors: &'a FormErrors,
}

fn show_forgot(
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
        &ForgotPage {
            chrome: &page.chrome,
            a: page.t.account,
            csrf: &token.token,
            email,
            errors,
        },
        [token.set_cookie],
    )
}

pub async fn forgot_form(
    State(state): State<PortalState>,
    page: Page,
    headers: HeaderMap,
) -> Response {
    show_forgot(
        &state,
        &page,
        &headers,
        StatusCode::OK,
        "",
        &FormErrors::default(),
    )
}

pub async fn forgot(
    State(state): State<PortalState>,
    page: Page,
    headers: HeaderMap,
    form: PostedForm,
) -> Response {
    if !csrf::verify_anon(&state, &headers, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let email = match Email::parse(form.get("email")) {
        Ok(email) => email,
        Err(e) => {
            let mut errors = FormErrors::default();
            errors.add("email", email_message(page.t.account, e));
            return show_forgot(
                &state,
                &page,
                &headers,
                StatusCode::BAD_REQUEST,
                form.get("email"),
                &errors,
            );
        }
    };
    match send_reset(&state, &email).await {
        Ok(()) => see_other("/account/forgot/sent"),
        Err(e) => e.page(&page),
    }
}

async fn send_reset(state: &PortalState, email: &Email) -> Result<(), Failure> {
    let Some(account) = state.store.account_by_email(email).await? else {
        return Ok(());
    };
    let token = SecretToken::generate()?;
    let now = state.clock.now();
    state
        .store
        .create_email_token(&NewEmailToken {
            token_hash: token.digest(),
            account_id: account.id,
            purpose: EmailTokenPurpose::Reset,
            created_at: now,
            expires_at: now + RESET_VALIDITY,
        })
        .await?;
    let link = absolute(state, &format!("/account/reset?token={}", token.expose()));
    send_in_background(state, compose(MailKind::Reset, account.email, &link));
    Ok(())
}

pub async fn forgot_sent(State(state): State<PortalState>, page: Page) -> Response {
    let a = page.t.account;
    respond(
        &state,
        &page,
        StatusCode::OK,
        &MessagePage {
            chrome: &page.chrome,
            title: a.check_mail_title,
            text: a.forgot_sent_text,
            extra: Some(a.check_mail_spam),
            links: vec![("/account/sign-in", a.sign_in_title)],
        },
        [],
    )
}

#[derive(Template)]
#[template(path = "portal/account/reset.html")]
struct ResetPage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    csrf: &'a str,
    token: &'a str,
    errors: &'a FormErrors,
}

fn show_reset(
    state: &PortalState,
    page: &Page,
    headers: &HeaderMap,
    status: StatusCode,
    token: &str,
    errors: &FormErrors,
) -> Response {
    let anon = match csrf::anon_token(state, headers) {
        Ok(anon) => anon,
        Err(e) => return PageError::internal(page.chrome.clone(), e).into_response(),
    };
    respond(
        state,
        page,
        status,
        &ResetPage {
            chrome: &page.chrome,
            a: page.t.account,
            csrf: &anon.token,
            token,
            errors,
        },
        [anon.set_cookie],
    )
}

pub async fn reset_form(
    State(state): State<PortalState>,
    page: Page,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    let Some(token) = params.get("token").and_then(SecretToken::from_received) else {
        return invalid_link(&state, &page, "/account/forgot");
    };
    match state
        .store
        .email_token(&token.digest(), EmailTokenPurpose::Reset, state.clock.now())
        .await
    {
        Ok(Some(_)) => show_reset(
            &state,
            &page,
            &headers,
            StatusCode::OK,
            token.expose(),
            &FormErrors::default(),
        ),
        Ok(None) => invalid_link(&state, &page, "/account/forgot"),
        Err(e) => page_store_error(&page, &e),
    }
}

pub async fn reset(
    State(state): State<PortalState>,
    page: Page,
    headers: HeaderMap,
    form: PostedForm,
) -> Response {
    if !csrf::verify_anon(&state, &headers, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let Some(token) = SecretToken::from_received(form.get("token")) else {
        return invalid_link(&state, &page, "/account/forgot");
    };
    let digest = token.digest();
    let now = state.clock.now();
    let account = match state
        .store
        .email_token(&digest, EmailTokenPurpose::Reset, now)
        .await
    {
        Ok(Some(id)) => match state.store.account(id).await {
            Ok(Some(account)) => account,
            Ok(None) => return invalid_link(&state, &page, "/account/forgot"),
            Err(e) => return page_store_error(&page, &e),
        },
        Ok(None) => return invalid_link(&state, &page, "/account/forgot"),
        Err(e) => return page_store_error(&page, &e),
    };
    let password = match NewPassword::parse(
        form.get("password"),
        state.accounts.blocklist,
        Some(&account.email),
    ) {
        Ok(password) => password,
        Err(e) => {
            let mut errors = FormErrors::default();
            errors.add("password", password_message(page.t.account, e));
            return show_reset(
                &state,
                &page,
                &headers,
                StatusCode::BAD_REQUEST,
                token.expose(),
                &errors,
            );
        }
    };
    let hash = match state.accounts.hasher.hash(&password).await {
        Ok(hash) => hash,
        Err(e) => return hash_failure(&page, &e),
    };
    let result = async {
        // Using the link is the atomic step: of two requests with the same link, one wins.
        if state
            .store
            .use_email_token(&digest, EmailTokenPurpose::Reset, now)
            .await?
            != Some(account.id)
        {
            return Ok(None);
        }
        state
            .store
            .set_password_hash(account.id, hash.as_str(), now)
            .await?;
        state.store.confirm_email(account.id, now).await?;
        let ended = state.store.delete_sessions_of(account.id).await?;
        state
            .store
            .clear_sign_in_failures(&super::sign_in::account_key(&account.email))
            .await?;
        Ok::<_, rathaus_store::StoreError>(Some(ended))
    }
    .await;
    match result {
        Ok(Some(ended)) => {
            let detail = format!("sessions ended: {ended}");
            audit::record(&state, AuditEvent::PasswordReset, Some(account.id), &detail).await;
            see_other("/account/sign-in?changed=1")
        }
        Ok(None) => invalid_link(&state, &page, "/account/forgot"),
        Err(e) => page_store_error(&page, &e),
    }
}
