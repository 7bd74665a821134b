//! Raising an account to assurance level `high` with the German eID, through OpenID Connect
//! (SECURITY.md A7, A8, S4, L1; R4).
//!
//! 1. `GET /account/level` shows the level and, when an eID service is configured, a form.
//! 2. `POST /account/level/eid` (with the session's CSRF token) makes state, nonce and a PKCE
//!    verifier, seals them with the return path into a cookie bound to this session
//!    ([`attempt`]) and sends the browser to the provider, asking for `acr` high.
//! 3. `GET /account/level/eid/callback` opens the cookie (once: it is removed whatever
//!    happens), compares the state, exchanges the code and verifies the ID token
//!    ([`relying_party`]); then it raises the account to `high`, writes the audit event, and
//!    starts a **new session** at the new level (A8: the old session id no longer works) before
//!    it returns to the path given at the start.
//!
//! Nothing from the ID card is kept (R4): not the pseudonym, not a name; only the level. Every
//! failure ends on a page that says the level is unchanged, and changes nothing.

mod attempt;
mod relying_party;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use rathaus_auth::{SecretToken, tokens};
use rathaus_domain::{AssuranceLevel, AuditEvent};
use rathaus_web::Chrome;

pub use relying_party::{EidClient, EidConfigError, EidSettings};

use self::attempt::{Attempt, Sealer};
use self::relying_party::EidError;
use super::forms::{PostedForm, respond};
use super::session::{self, page_store_error};
use super::{AuthUser, Failure, MessagePage, audit, cookies, csrf, see_other};
use crate::account_texts::AccountTexts;
use crate::params::Params;
use crate::state::{Page, PortalState};

fn cookie_name(state: &PortalState) -> &'static str {
    cookies::name("rathaus_eid", state.accounts.settings.secure_cookies)
}

fn sealer(state: &PortalState) -> Sealer {
    Sealer::new(&state.accounts.csrf_key)
}

/// A path on this site to return to, or `None` (another site, `//host`, control characters).
fn local_path(raw: &str) -> Option<&str> {
    let local = raw.starts_with('/')
        && !raw.starts_with("//")
        && raw.len() <= 512
        && !raw.chars().any(|c| c.is_control() || c == '\\');
    local.then_some(raw)
}

#[derive(Template)]
#[template(path = "portal/account/level.html")]
struct LevelPage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    csrf: &'a str,
    level: &'static str,
    high: bool,
    configured: bool,
    return_to: Option<&'a str>,
}

/// `GET /account/level[?return_to=/services/…/form]`.
pub async fn level(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    let return_to = params.get("return_to").and_then(local_path);
    let high = user.session.level == AssuranceLevel::High;
    let mut response = respond(
        &state,
        &page,
        StatusCode::OK,
        &LevelPage {
            chrome: &page.chrome,
            a: page.t.account,
            csrf: &user.session.csrf_secret,
            level: user.session.level.label(page.chrome.lang),
            high,
            configured: state.eid.is_some(),
            return_to,
        },
        [],
    );
    // The form posts here, and the answer redirects to the provider: the page's policy has to
    // let the form go there (CSP `form-action` applies to redirects too).
    if let Some(eid) = &state.eid
        && !high
    {
        let origin = eid.authorize_origin(state.clock.now()).await;
        let policy = rathaus_web::layers::CSP.replace(
            "form-action 'self'",
            &format!("form-action 'self' {origin}"),
        );
        if let Ok(value) = HeaderValue::from_str(&policy) {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    response
}

/// Why the sign-in ended without a new level, as the person is told.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Cancelled,
    /// Unknown, used or expired attempt; wrong state.
    Expired,
    Unavailable,
    Failed,
}

fn failure_page(state: &PortalState, page: &Page, outcome: Outcome, clear: bool) -> Response {
    let a = page.t.account;
    let (status, title, text) = match outcome {
        Outcome::Cancelled => (StatusCode::OK, a.eid_cancelled_title, a.eid_cancelled_text),
        Outcome::Expired => (
            StatusCode::BAD_REQUEST,
            a.eid_failed_title,
            a.eid_expired_text,
        ),
        Outcome::Unavailable => (
            StatusCode::BAD_GATEWAY,
            a.eid_failed_title,
            a.eid_unavailable_text,
        ),
        Outcome::Failed => (StatusCode::FORBIDDEN, a.eid_failed_title, a.eid_failed_text),
    };
    let clear_cookie = clear
        .then(|| cookies::clear(cookie_name(state), state.accounts.settings.secure_cookies))
        .flatten();
    respond(
        state,
        page,
        status,
        &MessagePage {
            chrome: &page.chrome,
            title,
            text,
            extra: None,
            links: vec![
                ("/account/level", a.eid_try_again),
                ("/account", a.back_to_account),
            ],
        },
        [clear_cookie],
    )
}

/// `POST /account/level/eid`: off to the provider.
pub async fn start(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let Some(eid) = state.eid.clone() else {
        return see_other("/account/level");
    };
    let return_to = local_path(form.get("return_to")).unwrap_or("/account");
    let secrets = (|| {
        Ok::<_, rathaus_auth::RandomError>((
            SecretToken::generate()?,
            SecretToken::generate()?,
            SecretToken::generate()?,
        ))
    })();
    let (state_token, nonce, verifier) = match secrets {
        Ok(secrets) => secrets,
        Err(e) => return Failure::from(e).page(&page),
    };
    let now = state.clock.now();
    let started = match eid
        .start(now, state_token.expose(), nonce.expose(), verifier.expose())
        .await
    {
        Ok(started) => started,
        Err(error) => {
            tracing::warn!(%error, "eID sign-in could not start");
            return failure_page(&state, &page, Outcome::Unavailable, false);
        }
    };
    let attempt = Attempt {
        state: state_token.expose().to_owned(),
        nonce: nonce.expose().to_owned(),
        pkce_verifier: verifier.expose().to_owned(),
        return_to: return_to.to_owned(),
        started: now.timestamp(),
    };
    let Some(cookie) = sealer(&state)
        .seal(&attempt, user.session.id)
        .and_then(|sealed| {
            cookies::set(
                cookie_name(&state),
                &sealed,
                state.accounts.settings.secure_cookies,
            )
        })
    else {
        return failure_page(&state, &page, Outcome::Failed, false);
    };
    tracing::info!(account = %user.account.id, "eID sign-in started");
    let mut response = see_other(&started.authorize_url);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// `GET /account/level/eid/callback?code=…&state=…` (or `?error=…&state=…`).
pub async fn callback(
    State(state): State<PortalState>,
    page: Page,
    headers: HeaderMap,
    user: AuthUser,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    let Some(eid) = state.eid.clone() else {
        return failure_page(&state, &page, Outcome::Expired, true);
    };
    let now = state.clock.now();
    // The attempt opens only for the session that began it, and only within ten minutes.
    let Some(attempt) = cookies::read(&headers, cookie_name(&state))
        .and_then(|cookie| sealer(&state).open(cookie, user.session.id, now))
    else {
        tracing::warn!(account = %user.account.id, "eID callback without a valid attempt");
        return failure_page(&state, &page, Outcome::Expired, true);
    };
    if !tokens::same(params.get("state").unwrap_or_default(), &attempt.state) {
        tracing::warn!(account = %user.account.id, "eID callback with a wrong state");
        return failure_page(&state, &page, Outcome::Expired, true);
    }
    // RFC 9207: an answer that names another provider is not from ours.
    if let Some(iss) = params.get("iss")
        && iss != eid.settings().issuer.trim_end_matches('/')
        && iss != eid.settings().issuer
    {
        tracing::warn!(account = %user.account.id, "eID callback from another issuer");
        return failure_page(&state, &page, Outcome::Failed, true);
    }
    if let Some(error) = params.get("error") {
        let outcome = if error == "access_denied" {
            Outcome::Cancelled
        } else {
            Outcome::Failed
        };
        tracing::info!(
            account = %user.account.id,
            error = %rathaus_domain::log_safe(error, 64),
            "eID sign-in ended at the provider"
        );
        return failure_page(&state, &page, outcome, true);
    }
    let code = params.get("code").unwrap_or_default();
    let verified = match eid
        .finish(now, code, &attempt.nonce, &attempt.pkce_verifier)
        .await
    {
        Ok(verified) => verified,
        Err(error) => {
            tracing::warn!(account = %user.account.id, %error, "eID sign-in refused");
            let outcome = match error {
                EidError::Unreachable(_) => Outcome::Unavailable,
                EidError::Refused(_) | EidError::Token(_) => Outcome::Failed,
            };
            return failure_page(&state, &page, outcome, true);
        }
    };
    raise(&state, &page, &headers, &user, &attempt, &verified.acr).await
}

/// The ID token is good: level `high` for the account, the audit entry, and a new session.
async fn raise(
    state: &PortalState,
    page: &Page,
    headers: &HeaderMap,
    user: &AuthUser,
    attempt: &Attempt,
    acr: &str,
) -> Response {
    let now = state.clock.now();
    let before = user.session.level;
    match state
        .store
        .set_assurance_level(&user.account.id, AssuranceLevel::High, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => return failure_page(state, page, Outcome::Failed, true),
        Err(e) => return page_store_error(page, &e),
    }
    audit::record(
        state,
        AuditEvent::LevelChanged,
        Some(user.account.id),
        &format!("{before} -> high by eID (acr {acr})"),
    )
    .await;
    let mut account = user.account.clone();
    account.level = AssuranceLevel::High;
    let session_cookie = match session::start(
        state,
        headers,
        &account,
        rathaus_domain::AssuranceLevel::High,
    )
    .await
    {
        Ok(cookie) => cookie,
        Err(e) => return Failure::from(e).page(page),
    };
    let mut response = see_other(&attempt.return_to);
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, session_cookie);
    if let Some(clear) = cookies::clear(cookie_name(state), state.accounts.settings.secure_cookies)
    {
        headers.append(header::SET_COOKIE, clear);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(local_path("/services/x/form"), Some("/services/x/form"));
        assert_eq!(local_path("//evil.example"), None);
        assert_eq!(local_path("/\\evil.example"), None);
        assert_eq!(local_path("https://evil.example"), None);
        assert_eq!(local_path("/a\r\nSet-Cookie: x"), None);
        assert_eq!(local_path(""), None);
    }
}
