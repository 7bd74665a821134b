//! Clerk sessions (SECURITY.md S1–S4, like the portal's): the cookie carries 256 random bits,
//! the database only their SHA-256. A session ends after `session_idle` without a request
//! (at 29:59 it is valid, at 30:00 it is not) and `session_absolute` after sign-in, whatever
//! the activity. Activity is written at most once a minute. Sign-in always starts a new session
//! and sign-out deletes it on the server.
//!
//! Every form carries a token: signed-in forms the session's own CSRF secret; the sign-in form
//! a double-submit token, the HMAC of a random pre-session cookie under the node's form key.

use axum::extract::FromRequestParts;
use axum::response::Response;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, header};
use rathaus_auth::{SecretToken, tokens};
use rathaus_store::{ClerkRecord, ClerkSessionRecord, StoreError};

use super::{BackOffice, BackOfficeSettings, BoPage, see_other, store_failure, unavailable};
use crate::NodeState;

/// The name of the hidden form field that carries the token.
pub(crate) const CSRF_FIELD: &str = "csrf";

/// Activity is written when the last write is at least this old.
const TOUCH_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// `__Host-` names when secure (the browser then insists on `Secure`, `Path=/`, no `Domain`).
/// The names differ from the portal's, whose cookies a browser also sends to a node on the
/// same host under another port.
fn session_cookie(settings: &BackOfficeSettings) -> &'static str {
    if settings.secure_cookies {
        "__Host-rathaus_clerk"
    } else {
        "rathaus_clerk"
    }
}

fn form_cookie(settings: &BackOfficeSettings) -> &'static str {
    if settings.secure_cookies {
        "__Host-rathaus_clerk_form"
    } else {
        "rathaus_clerk_form"
    }
}

/// The value of cookie `name`, if the request carries it (the first one wins).
fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        })
}

/// `HttpOnly`, `SameSite=Strict` (the back office is never entered from another site),
/// `Path=/`, no `Domain`, `Secure` unless turned off; no `Max-Age` (the server ends sessions).
fn set_cookie(name: &str, value: &str, secure: bool) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    ))
    .ok()
}

fn clear(name: &str, secure: bool) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    ))
    .ok()
}

/// A signed-in clerk: a fresh session and its clerk. As an extractor it sends everyone else to
/// the sign-in page.
#[derive(Debug, Clone)]
pub(crate) struct ClerkUser {
    pub clerk: ClerkRecord,
    pub session: ClerkSessionRecord,
}

impl ClerkUser {
    /// Whether `submitted` is this session's CSRF secret.
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        tokens::same(submitted, &self.session.csrf_secret)
    }
}

/// The outcome of looking at the session cookie.
enum Lookup {
    SignedIn(Box<ClerkUser>),
    Anonymous { stale_cookie: bool },
}

async fn lookup(
    headers: &HeaderMap,
    state: &NodeState,
    office: &BackOffice,
) -> Result<Lookup, StoreError> {
    let settings = &office.settings;
    let Some(raw) = read_cookie(headers, session_cookie(settings)) else {
        return Ok(Lookup::Anonymous {
            stale_cookie: false,
        });
    };
    let stale = Lookup::Anonymous { stale_cookie: true };
    let Some(token) = SecretToken::from_received(raw) else {
        return Ok(stale);
    };
    let digest = token.digest();
    let Some((mut session, clerk)) = state.store.clerk_session(&digest).await? else {
        return Ok(stale);
    };
    let now = office.clock.now();
    if now >= session.expires_at || now >= session.last_seen_at + settings.session_idle {
        state.store.delete_clerk_session(&digest).await?;
        tracing::info!(clerk = %clerk.id, "clerk session ended by timeout");
        return Ok(stale);
    }
    if now - session.last_seen_at >= TOUCH_EVERY {
        state.store.touch_clerk_session(&digest, now).await?;
        session.last_seen_at = now;
    }
    Ok(Lookup::SignedIn(Box::new(ClerkUser { clerk, session })))
}

impl FromRequestParts<NodeState> for ClerkUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &NodeState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(page) = BoPage::from_request_parts(parts, state).await;
        let Some(office) = state.back_office.clone() else {
            return Err(unavailable(&page));
        };
        match lookup(&parts.headers, state, &office).await {
            Ok(Lookup::SignedIn(user)) => Ok(*user),
            Ok(Lookup::Anonymous { stale_cookie }) => {
                let next = match (parts.method == Method::GET, parts.uri.path_and_query()) {
                    (true, Some(target)) => target.as_str(),
                    _ => "/back-office",
                };
                let mut response = see_other(&format!(
                    "/back-office/sign-in?next={}",
                    percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
                ));
                if stale_cookie && let Some(clear) = clear_session_cookie(&office.settings) {
                    response.headers_mut().append(header::SET_COOKIE, clear);
                }
                Err(response)
            }
            Err(error) => Err(store_failure(&page, &error)),
        }
    }
}

/// Whether the request belongs to a live session (for the sign-in page, which a signed-in
/// clerk skips).
pub(crate) async fn is_signed_in(
    headers: &HeaderMap,
    state: &NodeState,
    office: &BackOffice,
) -> Result<bool, StoreError> {
    Ok(matches!(
        lookup(headers, state, office).await?,
        Lookup::SignedIn(_)
    ))
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

/// Starts a new session for `clerk` and returns its `Set-Cookie` value. The session the request
/// came with, if any, is ended first (A8).
pub(crate) async fn start(
    state: &NodeState,
    office: &BackOffice,
    headers: &HeaderMap,
    clerk: &ClerkRecord,
) -> Result<HeaderValue, StartError> {
    let settings = &office.settings;
    if let Some(old) =
        read_cookie(headers, session_cookie(settings)).and_then(SecretToken::from_received)
    {
        state.store.delete_clerk_session(&old.digest()).await?;
    }
    let token = SecretToken::generate()?;
    let csrf = SecretToken::generate()?;
    let now = office.clock.now();
    state
        .store
        .create_clerk_session(&ClerkSessionRecord {
            token_hash: token.digest(),
            clerk_id: clerk.id,
            csrf_secret: csrf.expose().to_owned(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + settings.session_absolute,
        })
        .await?;
    set_cookie(
        session_cookie(settings),
        token.expose(),
        settings.secure_cookies,
    )
    .ok_or(StartError::Cookie)
}

/// A `Set-Cookie` value that removes the session cookie.
pub(crate) fn clear_session_cookie(settings: &BackOfficeSettings) -> Option<HeaderValue> {
    clear(session_cookie(settings), settings.secure_cookies)
}

fn sign_form(key: &[u8], cookie: &str) -> String {
    tokens::sign(key, format!("back-office-form:{cookie}").as_bytes())
}

/// The token for the sign-in form, and the pre-session cookie to set when the request had none.
pub(crate) fn anon_token(
    office: &BackOffice,
    headers: &HeaderMap,
) -> Result<(String, Option<HeaderValue>), rathaus_auth::RandomError> {
    let settings = &office.settings;
    let name = form_cookie(settings);
    if let Some(existing) = read_cookie(headers, name).and_then(SecretToken::from_received) {
        return Ok((sign_form(&office.form_key, existing.expose()), None));
    }
    let fresh = SecretToken::generate()?;
    Ok((
        sign_form(&office.form_key, fresh.expose()),
        set_cookie(name, fresh.expose(), settings.secure_cookies),
    ))
}

/// Whether `submitted` is the token of the request's pre-session cookie.
pub(crate) fn verify_anon(office: &BackOffice, headers: &HeaderMap, submitted: &str) -> bool {
    read_cookie(headers, form_cookie(&office.settings))
        .and_then(SecretToken::from_received)
        .is_some_and(|cookie| {
            tokens::same(submitted, &sign_form(&office.form_key, cookie.expose()))
        })
}

/// Ends the session on the server.
pub(crate) async fn end(state: &NodeState, user: &ClerkUser) -> Result<bool, StoreError> {
    state
        .store
        .delete_clerk_session(&user.session.token_hash)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_clerk_cookies_are_host_only_http_only_and_strict() {
        let secure = BackOfficeSettings::default();
        let value = set_cookie(session_cookie(&secure), "abc", true).unwrap();
        assert_eq!(
            value,
            "__Host-rathaus_clerk=abc; Path=/; HttpOnly; SameSite=Strict; Secure"
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("rathaus_session=portal; __Host-rathaus_clerk=xyz"),
        );
        assert_eq!(read_cookie(&headers, session_cookie(&secure)), Some("xyz"));
    }
}
