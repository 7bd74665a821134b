//! Cross-site request forgery (SECURITY.md S4).
//!
//! Two independent checks on every request that may change something (any method but GET,
//! HEAD, OPTIONS):
//!
//! 1. [`check_origin`], a layer over the whole portal: a browser's `Sec-Fetch-Site` must say
//!    `same-origin` (or `none`, typed by the person), and an `Origin` header must be the
//!    portal's public origin or that of the request's `Host`. Otherwise 403, before any handler.
//! 2. A token in every form, checked by the handler before it changes anything:
//!    - signed-in forms carry the session's own CSRF secret (stored with the session);
//!    - forms shown before sign-in (register, sign in, forgotten password, confirm, reset)
//!      carry a double-submit token bound to a pre-session cookie: HMAC-SHA-256 of the
//!      cookie's random value under a key that every portal node shares (from the database).
//!      A site that cannot read the cookie cannot compute the token, and a cookie planted by
//!      another site does not match a token it does not know.

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, header};
use rathaus_auth::{SecretToken, tokens};
use rathaus_web::{PageError, PageProblem};

use super::{AccountSettings, AuthUser, cookies};
use crate::state::{Page, PortalState};

/// The name of the hidden form field that carries the token.
pub(crate) const FIELD: &str = "csrf";

fn form_cookie_name(settings: &AccountSettings) -> &'static str {
    cookies::name("rathaus_form", settings.secure_cookies)
}

fn sign(key: &[u8], cookie: &str) -> String {
    tokens::sign(key, format!("form:{cookie}").as_bytes())
}

/// The token for a form shown before sign-in, and the pre-session cookie to set when the
/// request had none (or a malformed one).
#[derive(Debug)]
pub(crate) struct AnonToken {
    pub token: String,
    pub set_cookie: Option<HeaderValue>,
}

pub(crate) fn anon_token(
    state: &PortalState,
    headers: &HeaderMap,
) -> Result<AnonToken, rathaus_auth::RandomError> {
    let settings = &state.accounts.settings;
    let name = form_cookie_name(settings);
    if let Some(existing) = cookies::read(headers, name).and_then(SecretToken::from_received) {
        return Ok(AnonToken {
            token: sign(&state.accounts.csrf_key, existing.expose()),
            set_cookie: None,
        });
    }
    let fresh = SecretToken::generate()?;
    Ok(AnonToken {
        token: sign(&state.accounts.csrf_key, fresh.expose()),
        set_cookie: cookies::set(name, fresh.expose(), settings.secure_cookies),
    })
}

/// Whether `submitted` is the token of the request's pre-session cookie.
pub(crate) fn verify_anon(state: &PortalState, headers: &HeaderMap, submitted: &str) -> bool {
    cookies::read(headers, form_cookie_name(&state.accounts.settings))
        .and_then(SecretToken::from_received)
        .is_some_and(|cookie| {
            tokens::same(submitted, &sign(&state.accounts.csrf_key, cookie.expose()))
        })
}

/// Whether `submitted` is the CSRF secret of the signed-in session.
pub(crate) fn verify_session(user: &AuthUser, submitted: &str) -> bool {
    tokens::same(submitted, &user.session.csrf_secret)
}

/// The 403 page for a form without a valid token; nothing has been changed.
pub(crate) fn forbidden(page: &Page) -> Response {
    PageError::new(PageProblem::Forbidden, page.chrome.clone()).into_response()
}

/// Refuses state-changing requests that a browser marks as coming from another site.
pub async fn check_origin(
    State(state): State<PortalState>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || same_site(request.headers(), &state.accounts.settings)
    {
        return next.run(request).await;
    }
    tracing::info!(path = %request.uri().path(), "cross-site request refused");
    let (mut parts, _) = request.into_parts();
    let Ok(page) = Page::from_request_parts(&mut parts, &state).await;
    forbidden(&page)
}

fn same_site(headers: &HeaderMap, settings: &AccountSettings) -> bool {
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true; // not a browser, or an old one: the form token still has to match
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if origin.eq_ignore_ascii_case(public_origin(&settings.public_url)) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match (origin.split_once("://"), host) {
        (Some((_, origin_host)), Some(host)) => origin_host.eq_ignore_ascii_case(host),
        _ => false,
    }
}

/// `scheme://host[:port]` of a URL, without path.
fn public_origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AccountSettings {
        AccountSettings::new("https://portal.example.org/")
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn s4_cross_site_requests_are_recognised() {
        let s = settings();
        assert!(same_site(&headers(&[]), &s));
        assert!(same_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            &s
        ));
        assert!(!same_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            &s
        ));
        assert!(!same_site(&headers(&[("sec-fetch-site", "same-site")]), &s));
        assert!(same_site(
            &headers(&[("origin", "https://portal.example.org")]),
            &s
        ));
        assert!(!same_site(
            &headers(&[("origin", "https://evil.example")]),
            &s
        ));
        assert!(!same_site(&headers(&[("origin", "null")]), &s));
        assert!(same_site(
            &headers(&[
                ("origin", "http://127.0.0.1:8080"),
                ("host", "127.0.0.1:8080")
            ]),
            &s
        ));
        assert!(!same_site(
            &headers(&[
                ("origin", "http://127.0.0.1:9999"),
                ("host", "127.0.0.1:8080")
            ]),
            &s
        ));
        assert_eq!(public_origin("http://a.b:1/x/y"), "http://a.b:1");
    }
}
