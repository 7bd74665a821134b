//! Signing in and out (SECURITY.md A3, A4, A5, A8, S2, L1).
//!
//! A sign-in first asks the throttle (failures per account and per client address, shared by
//! every node through the store): a throttled try is refused before any password is checked,
//! with 429 and `Retry-After`. Then the password is verified, for unknown addresses against a
//! dummy hash, so that "no such account" and "wrong password" look and take the same. A right
//! password under an old hash policy is rehashed; a new session replaces any old one.
//!
//! An account with a second factor gets no session for the password alone: the browser gets a
//! pending sign-in instead (a cookie with 256 random bits; the store keeps their digest, the
//! account and the target page for five minutes). It opens only `/account/sign-in/code`, where
//! the code from the authenticator app or a recovery code finishes it: once (the row is
//! deleted), with at most five wrong codes, and under the per-account code throttle of
//! [`super::second_factor`]. Only then does a session start, with a new id (A8).

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use rathaus_auth::{SecretToken, Throttle, ThrottleRule, Verification, tokens};
use rathaus_domain::{AccountId, AuditEvent, Email, PasswordAttempt};
use rathaus_store::{AccountRecord, PendingSignInRecord, StoreError};
use rathaus_web::{Chrome, PageError};

use super::forms::{ClientIp, FormErrors, PostedForm, email_message, respond, wait_text};
use super::second_factor::{self, Checked};
use super::session::{self, page_store_error};
use super::totp::EnteredCode;
use super::{
    AuthUser, Failure, MaybeAuthUser, MessagePage, audit, cookies, csrf, hash_failure, see_other,
};
use crate::account_texts::AccountTexts;
use crate::params::Params;
use crate::state::{Page, PortalState};

#[derive(Template)]
#[template(path = "portal/account/sign_in.html")]
struct SignInPage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    csrf: &'a str,
    email: &'a str,
    next: &'a str,
    notice: Option<&'a str>,
    alert: Option<String>,
    errors: &'a FormErrors,
    /// The passkey button's texts, when the portal offers passkeys.
    passkeys: Option<&'static super::passkeys::PasskeyTexts>,
}

struct Shown<'a> {
    status: StatusCode,
    email: &'a str,
    next: &'a str,
    notice: Option<&'a str>,
    alert: Option<String>,
    errors: FormErrors,
}

fn show(state: &PortalState, page: &Page, headers: &HeaderMap, shown: Shown<'_>) -> Response {
    let token = match csrf::anon_token(state, headers) {
        Ok(token) => token,
        Err(e) => return PageError::internal(page.chrome.clone(), e).into_response(),
    };
    respond(
        state,
        page,
        shown.status,
        &SignInPage {
            chrome: &page.chrome,
            a: page.t.account,
            csrf: &token.token,
            email: shown.email,
            next: shown.next,
            notice: shown.notice,
            alert: shown.alert,
            errors: &shown.errors,
            passkeys: state
                .passkeys
                .is_some()
                .then(|| super::passkeys::texts(page.chrome.lang)),
        },
        [token.set_cookie],
    )
}

/// The sign-in form with an alert and no field errors (a refused passkey, say).
pub(super) fn show_with_alert(
    state: &PortalState,
    page: &Page,
    headers: &HeaderMap,
    status: StatusCode,
    alert: String,
) -> Response {
    show(
        state,
        page,
        headers,
        Shown {
            status,
            email: "",
            next: "/account",
            notice: None,
            alert: Some(alert),
            errors: FormErrors::default(),
        },
    )
}

/// Where to go after signing in: a path on this site, never another site (`//evil`).
pub(super) fn safe_next(raw: &str) -> &str {
    let local = raw.starts_with('/')
        && !raw.starts_with("//")
        && raw.len() <= 512
        && !raw.chars().any(|c| c.is_control() || c == '\\');
    if local { raw } else { "/account" }
}

pub async fn form(
    State(state): State<PortalState>,
    page: Page,
    headers: HeaderMap,
    user: MaybeAuthUser,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    let next = safe_next(params.get("next").unwrap_or("/account"));
    if user.0.is_some() {
        return see_other(next);
    }
    let a = page.t.account;
    let notice = if params.get("changed").is_some() {
        Some(a.password_changed)
    } else if params.get("next").is_some() {
        Some(a.sign_in_required)
    } else {
        None
    };
    show(
        &state,
        &page,
        &headers,
        Shown {
            status: StatusCode::OK,
            email: "",
            next,
            notice,
            alert: None,
            errors: FormErrors::default(),
        },
    )
}

/// The throttle key of an account's address: a digest, so that the table holds no address.
pub(crate) fn account_key(email: &Email) -> String {
    format!("account:{}", tokens::digest(&email.key()))
}

/// The throttle keys: digests, so the table holds neither addresses nor IPs in the clear.
fn keys(email: &Email, client: &str) -> [(String, ThrottleRule); 2] {
    [
        (account_key(email), ThrottleRule::ACCOUNT),
        (
            format!("client:{}", tokens::digest(client)),
            ThrottleRule::CLIENT,
        ),
    ]
}

pub(super) async fn throttle(
    state: &PortalState,
    keys: &[(String, ThrottleRule)],
) -> Result<Throttle, StoreError> {
    let now = state.clock.now();
    let mut decision = Throttle::Allowed;
    for (key, rule) in keys {
        let failures = state
            .store
            .sign_in_failures(key, now - rule.horizon())
            .await?;
        decision = decision.and(rule.check(&failures, now));
    }
    Ok(decision)
}

pub async fn submit(
    State(state): State<PortalState>,
    page: Page,
    headers: HeaderMap,
    ClientIp(client): ClientIp,
    form: PostedForm,
) -> Response {
    if !csrf::verify_anon(&state, &headers, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let a = page.t.account;
    let raw_email = form.get("email");
    let next = safe_next(form.get("next"));
    let shown = |status, errors, alert| Shown {
        status,
        email: raw_email,
        next,
        notice: None,
        alert,
        errors,
    };
    let mut errors = FormErrors::default();
    let email = Email::parse(raw_email)
        .map_err(|e| errors.add("email", email_message(a, e)))
        .ok();
    let attempt = PasswordAttempt::parse(form.get("password"))
        .map_err(|_| errors.add("password", a.err_password_missing))
        .ok();
    let malformed = email.is_none() && !raw_email.trim().is_empty();
    let (Some(email), Some(attempt)) = (email, attempt) else {
        if malformed {
            // Not an address at all: logged (escaped) like a failure, and counted for the client.
            let key = vec![format!("client:{}", tokens::digest(&client))];
            if let Err(e) = state
                .store
                .record_sign_in_failure(&key, state.clock.now())
                .await
            {
                return page_store_error(&page, &e);
            }
            audit::record(
                &state,
                AuditEvent::SignInFailed,
                None,
                &format!("malformed address email={raw_email} client={client}"),
            )
            .await;
        }
        return show(
            &state,
            &page,
            &headers,
            shown(StatusCode::BAD_REQUEST, errors, None),
        );
    };

    let keys = keys(&email, &client);
    match throttle(&state, &keys).await {
        Ok(Throttle::Allowed) => {}
        Ok(wait) => {
            let seconds = wait.retry_after_secs().unwrap_or(1);
            tracing::warn!(client = %rathaus_domain::log_safe(&client, 64), seconds, "sign-in throttled");
            let alert = a.err_throttled.replace("{wait}", &wait_text(a, seconds));
            let mut response = show(
                &state,
                &page,
                &headers,
                shown(
                    StatusCode::TOO_MANY_REQUESTS,
                    FormErrors::default(),
                    Some(alert),
                ),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            return response;
        }
        Err(e) => return page_store_error(&page, &e),
    }

    let account = match state.store.account_by_email(&email).await {
        Ok(account) => account,
        Err(e) => return page_store_error(&page, &e),
    };
    let stored = account.as_ref().map(|a| a.password_hash.as_str());
    let verification = match state.accounts.hasher.verify(&attempt, stored).await {
        Ok(v) => v,
        Err(e) => return hash_failure(&page, &e),
    };
    let (Some(account), Verification::Match { needs_rehash }) = (account, verification) else {
        let key_names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
        if let Err(e) = state
            .store
            .record_sign_in_failure(&key_names, state.clock.now())
            .await
        {
            return page_store_error(&page, &e);
        }
        audit::record(
            &state,
            AuditEvent::SignInFailed,
            None,
            &format!("email={raw_email} client={client}"),
        )
        .await;
        let mut errors = FormErrors::default();
        errors.add("email", a.err_credentials);
        return show(
            &state,
            &page,
            &headers,
            shown(StatusCode::UNAUTHORIZED, errors, None),
        );
    };

    if account.email_confirmed_at.is_none() {
        // Only someone who knows the password learns that the address is unconfirmed.
        if let Err(e) = super::register::send_confirmation(&state, account.id, &account.email).await
        {
            return e.page(&page);
        }
        return show(
            &state,
            &page,
            &headers,
            shown(
                StatusCode::FORBIDDEN,
                FormErrors::default(),
                Some(a.err_unconfirmed.to_owned()),
            ),
        );
    }
    if needs_rehash {
        match state.accounts.hasher.rehash(&attempt).await {
            Ok(hash) => {
                if let Err(e) = state
                    .store
                    .set_password_hash(account.id, hash.as_str(), state.clock.now())
                    .await
                {
                    tracing::warn!(%e, "rehashed password could not be stored");
                }
            }
            Err(e) => tracing::warn!(%e, "password could not be rehashed; kept the old hash"),
        }
    }
    if let Err(e) = state.store.clear_sign_in_failures(&keys[0].0).await {
        return page_store_error(&page, &e);
    }
    match second_factor::confirmed_factor(&state, account.id).await {
        Ok(Some(_)) => return begin_second_step(&state, &page, account.id, next).await,
        Ok(None) => {}
        Err(e) => return page_store_error(&page, &e),
    }
    finish(&state, &page, &headers, &account, next, &client, "password").await
}

/// Starts the session of a completed sign-in (a new id, A8) and sends the person on.
pub(super) async fn finish(
    state: &PortalState,
    page: &Page,
    headers: &HeaderMap,
    account: &AccountRecord,
    next: &str,
    client: &str,
    factors: &str,
) -> Response {
    let level = session::password_session_level(account.level);
    let cookie = match session::start(state, headers, account, level).await {
        Ok(cookie) => cookie,
        Err(e) => return Failure::from(e).page(page),
    };
    audit::record(
        state,
        AuditEvent::SignIn,
        Some(account.id),
        &format!("{factors} client={client}"),
    )
    .await;
    let mut response = see_other(next);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// How long a pending sign-in waits for its code.
const PENDING_FOR: Duration = Duration::minutes(5);
/// Wrong codes one pending sign-in takes before the password has to be entered again.
const PENDING_MAX_FAILURES: u32 = 5;

fn pending_cookie_name(state: &PortalState) -> &'static str {
    cookies::name("rathaus_pending", state.accounts.settings.secure_cookies)
}

/// The password was right and the account has a second factor: a pending sign-in, no session.
async fn begin_second_step(
    state: &PortalState,
    page: &Page,
    account: AccountId,
    next: &str,
) -> Response {
    let token = match SecretToken::generate() {
        Ok(token) => token,
        Err(e) => return Failure::from(e).page(page),
    };
    let now = state.clock.now();
    let record = PendingSignInRecord {
        token_hash: token.digest(),
        account_id: account,
        next_path: next.to_owned(),
        created_at: now,
        expires_at: now + PENDING_FOR,
    };
    if let Err(e) = state.store.create_pending_sign_in(&record).await {
        return page_store_error(page, &e);
    }
    let Some(cookie) = cookies::set(
        pending_cookie_name(state),
        token.expose(),
        state.accounts.settings.secure_cookies,
    ) else {
        return PageError::internal(page.chrome.clone(), session::StartError::Cookie)
            .into_response();
    };
    let mut response = see_other("/account/sign-in/code");
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// The browser's pending sign-in, if it has one that has not expired.
async fn pending(
    state: &PortalState,
    headers: &HeaderMap,
) -> Result<Option<PendingSignInRecord>, StoreError> {
    let Some(token) =
        cookies::read(headers, pending_cookie_name(state)).and_then(SecretToken::from_received)
    else {
        return Ok(None);
    };
    state
        .store
        .pending_sign_in(&token.digest(), state.clock.now())
        .await
}

/// The pending sign-in is over (expired, finished, or ended after too many wrong codes): a page
/// that says so and leads back to the password; the pending cookie is removed.
fn start_again(state: &PortalState, page: &Page) -> Response {
    let a = page.t.account;
    let mut response = respond(
        state,
        page,
        StatusCode::BAD_REQUEST,
        &MessagePage {
            chrome: &page.chrome,
            title: a.tf_again_title,
            text: a.tf_again,
            extra: None,
            links: vec![("/account/sign-in", a.sign_in_title)],
        },
        [],
    );
    if let Some(clear) = cookies::clear(
        pending_cookie_name(state),
        state.accounts.settings.secure_cookies,
    ) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

#[derive(Template)]
#[template(path = "portal/account/sign_in_code.html")]
struct CodePage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    csrf: &'a str,
    alert: Option<String>,
    errors: &'a FormErrors,
}

fn show_code(
    state: &PortalState,
    page: &Page,
    headers: &HeaderMap,
    status: StatusCode,
    alert: Option<String>,
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
        &CodePage {
            chrome: &page.chrome,
            a: page.t.account,
            csrf: &token.token,
            alert,
            errors,
        },
        [token.set_cookie],
    )
}

/// `GET /account/sign-in/code`: the code form, for a browser with a pending sign-in only.
pub async fn code_form(
    State(state): State<PortalState>,
    page: Page,
    headers: HeaderMap,
) -> Response {
    match pending(&state, &headers).await {
        Ok(Some(_)) => show_code(
            &state,
            &page,
            &headers,
            StatusCode::OK,
            None,
            &FormErrors::default(),
        ),
        Ok(None) => start_again(&state, &page),
        Err(e) => page_store_error(&page, &e),
    }
}

/// `POST /account/sign-in/code`: the second factor finishes the pending sign-in.
pub async fn code_submit(
    State(state): State<PortalState>,
    page: Page,
    headers: HeaderMap,
    ClientIp(client): ClientIp,
    form: PostedForm,
) -> Response {
    if !csrf::verify_anon(&state, &headers, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let a = page.t.account;
    let pending = match pending(&state, &headers).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return start_again(&state, &page),
        Err(e) => return page_store_error(&page, &e),
    };
    let raw = form.get("code");
    let Some(code) = EnteredCode::parse(raw) else {
        let mut errors = FormErrors::default();
        let message = if raw.trim().is_empty() {
            a.err_code_missing
        } else {
            a.err_code_format
        };
        errors.add("code", message);
        return show_code(
            &state,
            &page,
            &headers,
            StatusCode::BAD_REQUEST,
            None,
            &errors,
        );
    };
    let account = pending.account_id;
    let recovery = match second_factor::check_code(&state, account, &code, &client, "sign-in").await
    {
        Ok(Checked::Accepted { recovery }) => recovery,
        Ok(Checked::Throttled(wait)) => {
            let alert = second_factor::throttled_alert(a, wait);
            let shown = show_code(
                &state,
                &page,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                Some(alert),
                &FormErrors::default(),
            );
            return second_factor::with_retry_after(shown, wait);
        }
        Ok(Checked::Refused) => {
            match state
                .store
                .pending_sign_in_failed(&pending.token_hash, PENDING_MAX_FAILURES)
                .await
            {
                Ok(true) => return start_again(&state, &page),
                Ok(false) => {}
                Err(e) => return page_store_error(&page, &e),
            }
            let mut errors = FormErrors::default();
            errors.add("code", a.err_code_wrong);
            return show_code(
                &state,
                &page,
                &headers,
                StatusCode::UNAUTHORIZED,
                None,
                &errors,
            );
        }
        Err(e) => return e.page(&page),
    };
    // Deleting the row is what makes the pending sign-in single-use: of two requests with the
    // same cookie, only the one that deletes it goes on.
    match state
        .store
        .finish_pending_sign_in(&pending.token_hash, state.clock.now())
        .await
    {
        Ok(true) => {}
        Ok(false) => return start_again(&state, &page),
        Err(e) => return page_store_error(&page, &e),
    }
    let account = match state.store.account(account).await {
        Ok(Some(account)) => account,
        Ok(None) => return start_again(&state, &page),
        Err(e) => return page_store_error(&page, &e),
    };
    // A recovery code is used when the device is gone: lead the person to where it is replaced.
    let next = if recovery {
        "/account/security?recovered=1"
    } else {
        safe_next(&pending.next_path)
    };
    let factors = if recovery {
        "password+recovery code"
    } else {
        "password+totp"
    };
    let mut response = finish(&state, &page, &headers, &account, next, &client, factors).await;
    if let Some(clear) = cookies::clear(
        pending_cookie_name(&state),
        state.accounts.settings.secure_cookies,
    ) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

#[derive(Template)]
#[template(path = "portal/account/sign_out.html")]
struct SignOutPage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    csrf: &'a str,
}

pub async fn sign_out_form(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
) -> Response {
    respond(
        &state,
        &page,
        StatusCode::OK,
        &SignOutPage {
            chrome: &page.chrome,
            a: page.t.account,
            csrf: &user.session.csrf_secret,
        },
        [],
    )
}

pub async fn sign_out(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    if let Err(e) = state.store.delete_session(&user.session.token_hash).await {
        return page_store_error(&page, &e);
    }
    audit::record(&state, AuditEvent::SignOut, Some(user.account.id), "").await;
    signed_out_redirect(&state)
}

/// Redirects to "you are signed out" and removes the session cookie.
pub(crate) fn signed_out_redirect(state: &PortalState) -> Response {
    let mut response = see_other("/account/signed-out");
    if let Some(clear) = session::clear_cookie(&state.accounts.settings) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

pub async fn signed_out(State(state): State<PortalState>, page: Page) -> Response {
    let a = page.t.account;
    respond(
        &state,
        &page,
        StatusCode::OK,
        &MessagePage {
            chrome: &page.chrome,
            title: a.signed_out_title,
            text: a.signed_out_text,
            extra: None,
            links: vec![("/account/sign-in", a.sign_in_title), ("/", a.to_start)],
        },
        [],
    )
}
