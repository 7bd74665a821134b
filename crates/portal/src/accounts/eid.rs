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
//! Nothing from the ID card is kept (R4): not the pseudonym, not a name; only the level —
//! unless the sign-in was started from a form's prefill box (`prefill` = the service key).
//! Then it asks for exactly the claims that form declares (R3), and keeps what the ID token
//! confirmed of them as verified attributes for this session, or with the account when the
//! citizen ticked "remember" (`applications::prefill`). Every failure ends on a page that says
//! the level is unchanged, and changes nothing.

mod attempt;
mod relying_party;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use rathaus_auth::{SecretToken, tokens};
use rathaus_domain::{
    AssuranceLevel, AttributeSource, AuditEvent, VerifiedAddress, VerifiedAttributes,
};
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
    in_person: super::in_person::InPersonView,
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
    let in_person = match super::in_person::view(&state, &user, page.chrome.lang).await {
        Ok(view) => view,
        Err(e) => return page_store_error(&page, &e),
    };
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
            in_person,
        },
        [],
    );
    if !high {
        allow_provider_form(&state, &mut response).await;
    }
    response
}

/// A page with a form that posts to `/account/level/eid` gets a policy that lets the form go
/// on to the provider: the answer redirects there, and CSP `form-action` applies to
/// redirects too.
pub(crate) async fn allow_provider_form(state: &PortalState, response: &mut Response) {
    let Some(eid) = &state.eid else {
        return;
    };
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

/// The claims an eID sign-in asks for to prefill the form of the service `key`: exactly what
/// its form declares and the ID card holds (R3: requested ⊆ declared). `None` for a key that
/// is not an online service with a form.
pub(crate) fn prefill_claims(state: &PortalState, key: &str) -> Option<Vec<String>> {
    let key: rathaus_domain::ServiceKey = key.parse().ok()?;
    let entry = state.catalog.get(&key)?;
    let form = entry.form.as_ref()?;
    Some(
        rathaus_forms::prefill::claims_for(&form.prefill_attributes())
            .into_iter()
            .map(str::to_owned)
            .collect(),
    )
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
    // From a form's prefill box: read the attributes that form declares, nothing more.
    let claims = match form.get("prefill") {
        "" => Vec::new(),
        key => match prefill_claims(&state, key) {
            Some(claims) if !claims.is_empty() => claims,
            _ => return failure_page(&state, &page, Outcome::Failed, false),
        },
    };
    let remember = !claims.is_empty() && form.get("remember") == "yes";
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
        .start(
            now,
            state_token.expose(),
            nonce.expose(),
            verifier.expose(),
            &claims,
        )
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
        claims,
        remember,
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
    let attributes = (!attempt.claims.is_empty()).then(|| attributes(&attempt, &verified, now));
    raise(
        &state,
        &page,
        &headers,
        &user,
        &attempt,
        &verified.acr,
        attributes,
    )
    .await
}

/// What the ID token confirmed of the claims this attempt asked for; anything else a provider
/// sends is dropped (R3, R4).
fn attributes(
    attempt: &Attempt,
    verified: &relying_party::Verified,
    now: chrono::DateTime<chrono::Utc>,
) -> VerifiedAttributes {
    let asked = |claim: &str| attempt.claims.iter().any(|c| c == claim);
    let mut attributes = VerifiedAttributes::new(AttributeSource::Eid, now);
    if asked("given_name") {
        attributes.given_names.clone_from(&verified.given_name);
    }
    if asked("family_name") {
        attributes.family_name.clone_from(&verified.family_name);
    }
    if asked("birthdate") {
        attributes.date_of_birth = verified
            .birthdate
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    }
    if asked("address")
        && let Some((line, postcode, city, country)) = &verified.address
    {
        attributes.address = Some(VerifiedAddress::from_line(line, postcode, city, country));
    }
    attributes.sanitised()
}

/// The ID token is good: level `high` for the account, the audit entry, and a new session.
async fn raise(
    state: &PortalState,
    page: &Page,
    headers: &HeaderMap,
    user: &AuthUser,
    attempt: &Attempt,
    acr: &str,
    attributes: Option<VerifiedAttributes>,
) -> Response {
    let now = state.clock.now();
    let before = user.session.level;
    // Already at `high` (a prefill later in the session): no level change, no new session;
    // the attributes belong to this session.
    if before == AssuranceLevel::High
        && let Some(attributes) = &attributes
    {
        if let Some(failed) = keep(
            state,
            page,
            user.account.id,
            user.session.id,
            attempt,
            attributes,
        )
        .await
        {
            return failed;
        }
        let mut response = see_other(&attempt.return_to);
        if let Some(clear) =
            cookies::clear(cookie_name(state), state.accounts.settings.secure_cookies)
        {
            response.headers_mut().append(header::SET_COOKIE, clear);
        }
        return response;
    }
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
    let (session_cookie, session_id) = match session::start_with_id(
        state,
        headers,
        &account,
        rathaus_domain::AssuranceLevel::High,
    )
    .await
    {
        Ok(started) => started,
        Err(e) => return Failure::from(e).page(page),
    };
    if let Some(attributes) = &attributes
        && let Some(failed) = keep(
            state,
            page,
            user.account.id,
            session_id,
            attempt,
            attributes,
        )
        .await
    {
        return failed;
    }
    let mut response = see_other(&attempt.return_to);
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, session_cookie);
    if let Some(clear) = cookies::clear(cookie_name(state), state.accounts.settings.secure_cookies)
    {
        headers.append(header::SET_COOKIE, clear);
    }
    response
}

/// Keeps the attributes for the session, or with the account when the citizen agreed.
async fn keep(
    state: &PortalState,
    page: &Page,
    account: rathaus_domain::AccountId,
    session: rathaus_domain::SessionId,
    attempt: &Attempt,
    attributes: &VerifiedAttributes,
) -> Option<Response> {
    let scope = if attempt.remember {
        rathaus_store::AttributeScope::Remembered
    } else {
        rathaus_store::AttributeScope::Session(session)
    };
    match crate::applications::keep_verified_attributes(state, &account, scope, attributes).await {
        Ok(()) => {
            tracing::info!(%account, remembered = attempt.remember, claims = attempt.claims.len(), "verified attributes from the eID kept for prefill");
            None
        }
        Err(error) => {
            tracing::error!(%account, %error, "verified attributes could not be kept");
            Some(failure_page(state, page, Outcome::Unavailable, true))
        }
    }
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
