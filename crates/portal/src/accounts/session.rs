//! Server-side sessions (SECURITY.md S1–S3, A8).
//!
//! The cookie carries 256 random bits; the database stores only their SHA-256. A session ends
//! after `session_idle` without a request (30 minutes: at 29:59 it is valid, at 30:00 it is
//! not) and `session_absolute` after sign-in (12 hours) whatever the activity. Activity is
//! written at most once a minute, so a page view costs one read; the idle end can therefore
//! come up to a minute early, never late. Sign-in always starts a new session (a cookie from
//! before is ended), and sign-out deletes the session on the server.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use http::request::Parts;
use http::{HeaderValue, Method, header};
use rathaus_auth::SecretToken;
use rathaus_domain::AuditEvent;
use rathaus_store::{AccountRecord, SessionRecord, StoreError};
use rathaus_web::{ApiError, PageError, PageProblem};

use super::{AccountSettings, audit, cookies};
use crate::state::{Page, PortalState};

/// Activity is written when the last write is at least this old.
const TOUCH_EVERY: Duration = Duration::minutes(1);

pub(crate) fn cookie_name(settings: &AccountSettings) -> &'static str {
    cookies::name("rathaus_session", settings.secure_cookies)
}

/// A signed-in person: the session (fresh, not expired) and its account. As an extractor it
/// refuses anonymous requests: pages redirect to the sign-in page, the API answers 401.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub account: AccountRecord,
    pub session: SessionRecord,
}

/// Like [`AuthUser`], for pages that anyone may see.
#[derive(Debug, Clone)]
pub struct MaybeAuthUser(pub Option<AuthUser>);

/// The outcome of looking at the session cookie, kept in the request's extensions so that two
/// extractors in one request query the database once.
#[derive(Debug, Clone)]
struct Resolved {
    user: Option<AuthUser>,
    /// The request carried a cookie that no longer names a live session.
    stale_cookie: bool,
}

async fn resolve(parts: &mut Parts, state: &PortalState) -> Result<Resolved, StoreError> {
    if let Some(resolved) = parts.extensions.get::<Resolved>() {
        return Ok(resolved.clone());
    }
    let resolved = lookup(parts, state).await?;
    parts.extensions.insert(resolved.clone());
    Ok(resolved)
}

async fn lookup(parts: &Parts, state: &PortalState) -> Result<Resolved, StoreError> {
    let settings = &state.accounts.settings;
    let Some(raw) = cookies::read(&parts.headers, cookie_name(settings)) else {
        return Ok(Resolved {
            user: None,
            stale_cookie: false,
        });
    };
    let stale = Resolved {
        user: None,
        stale_cookie: true,
    };
    let Some(token) = SecretToken::from_received(raw) else {
        return Ok(stale);
    };
    let digest = token.digest();
    let Some((mut session, account)) = state.store.session(&digest).await? else {
        return Ok(stale);
    };
    let now = state.clock.now();
    let ended = if now >= session.expires_at {
        Some("absolute lifetime reached")
    } else if now >= session.last_seen_at + settings.session_idle {
        Some("idle timeout")
    } else {
        None
    };
    if let Some(reason) = ended {
        state.store.delete_session(&digest).await?;
        audit::record(state, AuditEvent::SessionExpired, Some(account.id), reason).await;
        return Ok(stale);
    }
    if now - session.last_seen_at >= TOUCH_EVERY {
        state.store.touch_session(&digest, now).await?;
        session.last_seen_at = now;
    }
    Ok(Resolved {
        user: Some(AuthUser { account, session }),
        stale_cookie: false,
    })
}

impl FromRequestParts<PortalState> for AuthUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &PortalState,
    ) -> Result<Self, Self::Rejection> {
        match resolve(parts, state).await {
            Ok(Resolved {
                user: Some(user), ..
            }) => Ok(user),
            Ok(Resolved { stale_cookie, .. }) => Err(refuse(parts, state, stale_cookie).await),
            Err(error) => Err(store_failure(parts, state, &error).await),
        }
    }
}

impl FromRequestParts<PortalState> for MaybeAuthUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &PortalState,
    ) -> Result<Self, Self::Rejection> {
        match resolve(parts, state).await {
            Ok(resolved) => Ok(Self(resolved.user)),
            Err(error) => Err(store_failure(parts, state, &error).await),
        }
    }
}

/// No live session: the API answers 401, pages send the person to the sign-in page and come
/// back afterwards (to the same page for GET, to the account page otherwise).
async fn refuse(parts: &mut Parts, state: &PortalState, stale_cookie: bool) -> Response {
    let mut response = if parts.uri.path().starts_with("/api/") {
        ApiError::Unauthorized.into_response()
    } else {
        let next = match (parts.method == Method::GET, parts.uri.path_and_query()) {
            (true, Some(target)) => target.as_str(),
            _ => "/account",
        };
        super::see_other(&format!(
            "/account/sign-in?next={}",
            crate::pages::encode(next)
        ))
    };
    if stale_cookie && let Some(clear) = clear_cookie(&state.accounts.settings) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

async fn store_failure(parts: &mut Parts, state: &PortalState, error: &StoreError) -> Response {
    if parts.uri.path().starts_with("/api/") {
        return if error.is_unavailable() {
            ApiError::Unavailable {
                cause: error.to_string(),
            }
            .into_response()
        } else {
            ApiError::internal(error).into_response()
        };
    }
    let Ok(page) = Page::from_request_parts(parts, state).await;
    page_store_error(&page, error)
}

/// A store error as a page: 503 when the database is down, 500 otherwise.
pub(crate) fn page_store_error(page: &Page, error: &StoreError) -> Response {
    if error.is_unavailable() {
        let mut e = PageError::new(PageProblem::Unavailable, page.chrome.clone());
        e.cause = Some(error.to_string());
        e.into_response()
    } else {
        PageError::internal(page.chrome.clone(), error).into_response()
    }
}

/// Why a session could not be started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error(transparent)]
    Random(#[from] rathaus_auth::RandomError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a generated token is not a valid cookie value")]
    Cookie,
}

/// Starts a new session for `account` at `level` and returns its `Set-Cookie` value. The
/// session the request came with, if any, is ended first: a sign-in never keeps an old session
/// id (A8).
pub(crate) async fn start(
    state: &PortalState,
    parts_headers: &http::HeaderMap,
    account: &AccountRecord,
    level: rathaus_domain::AssuranceLevel,
) -> Result<HeaderValue, StartError> {
    start_with_id(state, parts_headers, account, level)
        .await
        .map(|(cookie, _)| cookie)
}

/// [`start`], also returning the new session's id (for what belongs to the session only,
/// such as verified attributes for prefill).
pub(crate) async fn start_with_id(
    state: &PortalState,
    parts_headers: &http::HeaderMap,
    account: &AccountRecord,
    level: rathaus_domain::AssuranceLevel,
) -> Result<(HeaderValue, rathaus_domain::SessionId), StartError> {
    let settings = &state.accounts.settings;
    if let Some(old) =
        cookies::read(parts_headers, cookie_name(settings)).and_then(SecretToken::from_received)
    {
        state.store.delete_session(&old.digest()).await?;
    }
    let token = SecretToken::generate()?;
    let csrf = SecretToken::generate()?;
    let now = state.clock.now();
    let id = rathaus_domain::SessionId::random();
    state
        .store
        .create_session(&SessionRecord {
            token_hash: token.digest(),
            id,
            account_id: account.id,
            csrf_secret: csrf.expose().to_owned(),
            level,
            created_at: now,
            last_seen_at: now,
            expires_at: now + settings.session_absolute,
        })
        .await?;
    cookies::set(
        cookie_name(settings),
        token.expose(),
        settings.secure_cookies,
    )
    .map(|cookie| (cookie, id))
    .ok_or(StartError::Cookie)
}

/// A `Set-Cookie` value that removes the session cookie.
pub(crate) fn clear_cookie(settings: &AccountSettings) -> Option<HeaderValue> {
    cookies::clear(cookie_name(settings), settings.secure_cookies)
}

/// The level of a session signed in with a password: what the account has proven, but never
/// `high`, which only a sign-in with the eID card gives (A7). An account verified once (in
/// person, or by eID) keeps `substantial` for its password sessions.
pub(crate) fn password_session_level(
    account: rathaus_domain::AssuranceLevel,
) -> rathaus_domain::AssuranceLevel {
    use rathaus_domain::AssuranceLevel;
    match account {
        AssuranceLevel::High => AssuranceLevel::Substantial,
        other => other,
    }
}
