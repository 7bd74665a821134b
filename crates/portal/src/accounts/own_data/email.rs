//! Changing the e-mail address (GDPR art. 16; SECURITY.md A2, A5, S2, L1).
//!
//! The signed-in citizen enters the new address and the current password (a stolen session
//! alone cannot move the account, and with it the password reset, to another mailbox). The
//! address changes only when the single-use link mailed to the new address is followed, so an
//! account never has an address nobody has proven to read; the old address is told about the
//! request. The answer is the same whether or not the new address already has an account: that
//! account's owner gets a mail saying so instead of the link, and nothing changes.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use http::{HeaderMap, StatusCode};
use rathaus_auth::SecretToken;
use rathaus_domain::{AuditEvent, Email};
use rathaus_store::{EmailChangeOutcome, EmailChangeRecord, NewEmailChange};
use rathaus_web::{Chrome, PageError};

use super::change::current_password_matches;
use super::texts::{OwnDataTexts, texts};
use crate::account_texts::AccountTexts;
use crate::accounts::forms::{FormErrors, PostedForm, email_message, respond};
use crate::accounts::session::page_store_error;
use crate::accounts::{
    AuthUser, Failure, MessagePage, absolute, audit, csrf, see_other, send_in_background,
};
use crate::mail::{MailKind, compose};
use crate::params::Params;
use crate::state::{Page, PortalState};

/// How long the link to the new address is valid.
const LINK_VALIDITY: Duration = Duration::hours(24);

#[derive(Template)]
#[template(path = "portal/account/email.html")]
struct EmailPage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    d: &'static OwnDataTexts,
    csrf: &'a str,
    current: &'a str,
    email: &'a str,
    pending: Option<(String, String)>,
    sent: bool,
    errors: &'a FormErrors,
}

#[derive(Template)]
#[template(path = "portal/account/email_confirm.html")]
struct ConfirmPage<'a> {
    chrome: &'a Chrome,
    d: &'static OwnDataTexts,
    csrf: &'a str,
    token: &'a str,
    new_email: &'a str,
}

struct Shown<'a> {
    status: StatusCode,
    email: &'a str,
    sent: bool,
    errors: &'a FormErrors,
}

async fn show(state: &PortalState, page: &Page, user: &AuthUser, shown: Shown<'_>) -> Response {
    let pending = match state
        .store
        .pending_email_change(&user.account.id, state.clock.now())
        .await
    {
        Ok(pending) => pending.map(|p: EmailChangeRecord| {
            (
                p.new_email.as_str().to_owned(),
                p.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            )
        }),
        Err(e) => return page_store_error(page, &e),
    };
    respond(
        state,
        page,
        shown.status,
        &EmailPage {
            chrome: &page.chrome,
            a: page.t.account,
            d: texts(page.chrome.lang),
            csrf: &user.session.csrf_secret,
            current: user.account.email.as_str(),
            email: shown.email,
            pending,
            sent: shown.sent,
            errors: shown.errors,
        },
        [],
    )
}

/// `GET /account/email`: the form, the open request if any, and after a request the notice.
pub async fn form(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    RawQuery(query): RawQuery,
) -> Response {
    let sent = Params::parse(query.as_deref()).get("sent") == Some("1");
    let errors = FormErrors::default();
    let shown = Shown {
        status: StatusCode::OK,
        email: "",
        sent,
        errors: &errors,
    };
    show(&state, &page, &user, shown).await
}

/// `POST /account/email`: checks the password, stores the request and sends the mails.
pub async fn request(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let d = texts(page.chrome.lang);
    let mut errors = FormErrors::default();
    let email = match Email::parse(form.get("email")) {
        Ok(email) if email.key() == user.account.email.key() => {
            errors.add("email", d.err_email_same);
            None
        }
        Ok(email) => Some(email),
        Err(e) => {
            errors.add("email", email_message(page.t.account, e));
            None
        }
    };
    match current_password_matches(&state, &page, &user, form.get("current_password")).await {
        Ok(true) => {}
        Ok(false) => errors.add("current_password", d.err_current_password),
        Err(response) => return response,
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        let shown = Shown {
            status: StatusCode::BAD_REQUEST,
            email: form.get("email"),
            sent: false,
            errors: &errors,
        };
        return show(&state, &page, &user, shown).await;
    };
    match send_request(&state, &user, email).await {
        Ok(()) => see_other("/account/email?sent=1"),
        Err(e) => e.page(&page),
    }
}

async fn send_request(state: &PortalState, user: &AuthUser, email: Email) -> Result<(), Failure> {
    let token = SecretToken::generate()?;
    let now = state.clock.now();
    let holder = state.store.account_by_email(&email).await?;
    // The request is stored either way, so the page looks the same whether or not the
    // address is free; following a link is the only way it takes effect, and an address in
    // use gets no link.
    state
        .store
        .request_email_change(&NewEmailChange {
            token_hash: token.digest(),
            account_id: user.account.id,
            new_email: email.clone(),
            created_at: now,
            expires_at: now + LINK_VALIDITY,
        })
        .await?;
    let detail = match holder {
        Some(_) => {
            let link = absolute(state, "/account/sign-in");
            send_in_background(state, compose(MailKind::AddressInUse, email, &link));
            "address in use"
        }
        None => {
            let link = absolute(
                state,
                &format!("/account/email/confirm?token={}", token.expose()),
            );
            send_in_background(state, compose(MailKind::EmailChange, email, &link));
            "link sent"
        }
    };
    let security = absolute(state, "/account/sessions");
    send_in_background(
        state,
        compose(
            MailKind::EmailChangeNotice,
            user.account.email.clone(),
            &security,
        ),
    );
    audit::record(
        state,
        AuditEvent::EmailChangeRequested,
        Some(user.account.id),
        detail,
    )
    .await;
    Ok(())
}

fn invalid(state: &PortalState, page: &Page) -> Response {
    let again = texts(page.chrome.lang).email_again;
    crate::accounts::invalid_link_to(state, page, "/account/email", again)
}

/// `GET /account/email/confirm?token=…`: a page with a button, so that a mail scanner
/// following the link cannot confirm on the person's behalf.
pub async fn confirm_form(
    State(state): State<PortalState>,
    page: Page,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    let Some(token) = params.get("token").and_then(SecretToken::from_received) else {
        return invalid(&state, &page);
    };
    let change = match state
        .store
        .email_change(&token.digest(), state.clock.now())
        .await
    {
        Ok(Some(change)) => change,
        Ok(None) => return invalid(&state, &page),
        Err(e) => return page_store_error(&page, &e),
    };
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
            d: texts(page.chrome.lang),
            csrf: &anon.token,
            token: token.expose(),
            new_email: change.new_email.as_str(),
        },
        [anon.set_cookie],
    )
}

/// `POST /account/email/confirm`: spends the link and changes the address.
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
        return invalid(&state, &page);
    };
    let outcome = match state
        .store
        .apply_email_change(&token.digest(), state.clock.now())
        .await
    {
        Ok(outcome) => outcome,
        Err(e) => return page_store_error(&page, &e),
    };
    let d = texts(page.chrome.lang);
    let (status, title, text, extra) = match outcome {
        EmailChangeOutcome::Invalid => return invalid(&state, &page),
        EmailChangeOutcome::AddressTaken { account } => {
            audit::record(
                &state,
                AuditEvent::EmailChanged,
                Some(account),
                "address in use",
            )
            .await;
            (
                StatusCode::CONFLICT,
                d.email_taken_title,
                d.email_taken_text,
                None,
            )
        }
        EmailChangeOutcome::Changed {
            account, new_email, ..
        } => {
            audit::record(&state, AuditEvent::EmailChanged, Some(account), "confirmed").await;
            (
                StatusCode::OK,
                d.email_changed_title,
                d.email_changed_text,
                Some(new_email.as_str().to_owned()),
            )
        }
    };
    respond(
        &state,
        &page,
        status,
        &MessagePage {
            chrome: &page.chrome,
            title,
            text,
            extra: extra.as_deref(),
            links: vec![("/account", page.t.account.nav_account.label)],
        },
        [],
    )
}
