//! The Servicekonto: registration, e-mail confirmation, sign-in and sign-out, forgotten
//! passwords, the account page and the list of sessions.
//!
//! - [`session`]: server-side sessions, the `AuthUser`/`MaybeAuthUser` extractors, timeouts;
//! - [`csrf`]: tokens on every state-changing form, and the `Origin`/`Sec-Fetch-Site` check;
//! - [`forms`]: reading posted forms and the errors shown next to their fields;
//! - one module per journey: [`register`], [`sign_in`], [`reset`], [`overview`], [`eid`]
//!   (assurance level `high` with the German eID), [`in_person`] (level `substantial` with a
//!   one-time code checked at an authority's counter), [`second_factor`] (an authenticator
//!   app as second factor, with [`totp`] for the codes), [`own_data`] ("Meine Daten": the
//!   citizen's data shown and downloaded, the password changed, the account deleted),
//!   [`passkeys`] (signing in with a passkey, WebAuthn);
//! - [`audit`]: security events into the audit log.

pub(crate) mod audit;
mod cookies;
pub(crate) mod csrf;
pub(crate) mod eid;
pub(crate) mod forms;
pub(crate) mod in_person;
mod overview;
mod own_data;
pub(crate) mod passkeys;
mod register;
mod reset;
mod second_factor;
pub(crate) mod session;
mod sign_in;
mod totp;

use std::fmt;
use std::sync::Arc;

use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Duration;
use http::{HeaderMap, HeaderName};
use rathaus_auth::Hasher;
use rathaus_domain::Blocklist;

use crate::mail::{Mailer, OutgoingMail};
use crate::routes::Routes;
use crate::state::PortalState;

pub use session::{AuthUser, MaybeAuthUser};

/// How accounts and sessions behave; from the configuration.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    /// The address people reach the portal at, without a trailing slash; links in mails start
    /// with it, and a form's `Origin` must match it (or the request's `Host`).
    pub public_url: String,
    /// A session ends after this long without a request (30 minutes).
    pub session_idle: Duration,
    /// A session ends this long after sign-in, whatever the activity (12 hours).
    pub session_absolute: Duration,
    /// `Secure` session cookies with the `__Host-` prefix; off only for the plain-HTTP demo.
    pub secure_cookies: bool,
    /// The header a reverse proxy puts the client's address in (its last value counts);
    /// `None` uses the connection's peer address.
    pub client_ip_header: Option<HeaderName>,
}

impl AccountSettings {
    /// The defaults of the design: 30 minutes idle, 12 hours at most, secure cookies.
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            session_idle: Duration::minutes(30),
            session_absolute: Duration::hours(12),
            secure_cookies: true,
            client_ip_header: None,
        }
    }
}

/// Everything account handlers need besides the store and the clock.
pub struct AccountServices {
    pub settings: AccountSettings,
    pub hasher: Hasher,
    pub mailer: Arc<dyn Mailer>,
    /// Signs the tokens of forms shown before sign-in; shared by every portal node.
    pub csrf_key: Vec<u8>,
    pub blocklist: &'static Blocklist,
}

impl fmt::Debug for AccountServices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountServices")
            .field("settings", &self.settings)
            .field("hasher", &self.hasher)
            .field("mailer", &self.mailer)
            .finish_non_exhaustive()
    }
}

/// The account routes, each with who may use it.
pub(crate) fn routes(routes: Routes) -> Routes {
    own_data::routes(routes)
        .public(
            "/account/register",
            get(register::form).post(register::submit),
        )
        .public("/account/check-mail", get(register::check_mail))
        .public(
            "/account/confirm",
            get(register::confirm_form).post(register::confirm),
        )
        .public("/account/sign-in", get(sign_in::form).post(sign_in::submit))
        .public(
            "/account/sign-in/code",
            get(sign_in::code_form).post(sign_in::code_submit),
        )
        .signed_in(
            "/account/sign-out",
            get(sign_in::sign_out_form).post(sign_in::sign_out),
        )
        .public("/account/signed-out", get(sign_in::signed_out))
        .public(
            "/account/forgot",
            get(reset::forgot_form).post(reset::forgot),
        )
        .public("/account/forgot/sent", get(reset::forgot_sent))
        .public("/account/reset", get(reset::reset_form).post(reset::reset))
        .signed_in("/account", get(overview::account))
        .signed_in("/account/sessions", get(overview::sessions))
        .signed_in(
            "/account/sessions/{id}/end",
            axum::routing::post(overview::end_session),
        )
        .signed_in(
            "/account/sign-out-everywhere",
            axum::routing::post(overview::sign_out_everywhere),
        )
        .signed_in("/account/level", get(eid::level))
        .signed_in("/account/security", get(second_factor::security))
        .signed_in(
            "/account/security/totp",
            get(second_factor::setup).post(second_factor::start),
        )
        .signed_in(
            "/account/security/totp/confirm",
            axum::routing::post(second_factor::confirm),
        )
        .signed_in(
            "/account/security/totp/remove",
            axum::routing::post(second_factor::remove),
        )
        .signed_in(
            "/account/security/passkeys",
            axum::routing::post(passkeys::start),
        )
        .signed_in(
            "/account/security/passkeys/finish",
            axum::routing::post(passkeys::finish_adding),
        )
        .signed_in(
            "/account/security/passkeys/{id}/remove",
            axum::routing::post(passkeys::remove),
        )
        .public(
            "/account/sign-in/passkey",
            axum::routing::post(passkeys::sign_in_start),
        )
        .public(
            "/account/sign-in/passkey/finish",
            axum::routing::post(passkeys::sign_in_finish),
        )
        .signed_in("/account/level/eid", axum::routing::post(eid::start))
        .signed_in(
            "/account/level/in-person",
            axum::routing::post(in_person::request_code),
        )
        .signed_in("/account/level/eid/callback", get(eid::callback))
}

/// Whether the request carries a session cookie at all (not whether the session is valid).
pub fn has_session_cookie(headers: &HeaderMap, state: &PortalState) -> bool {
    cookies::read(headers, session::cookie_name(&state.accounts.settings)).is_some()
}

/// 303 See Other: the answer to every successful form (post, redirect, get).
pub(crate) fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}

/// Sends a mail in the background, so that the answer never waits for (or reveals anything
/// through the timing of) the mail server. Failures are logged.
pub(crate) fn send_in_background(state: &PortalState, mail: OutgoingMail) {
    let mailer = Arc::clone(&state.accounts.mailer);
    tokio::spawn(async move {
        let kind = mail.kind.as_str();
        if let Err(error) = mailer.send(mail).await {
            tracing::error!(kind, %error, "mail could not be sent");
        }
    });
}

/// The absolute URL of a portal path, for links in mails.
pub(crate) fn absolute(state: &PortalState, path_and_query: &str) -> String {
    format!("{}{path_and_query}", state.accounts.settings.public_url)
}

/// A failed hash as a page: 429 with `Retry-After` when every worker is busy (F6), else 500.
pub(crate) fn hash_failure(page: &crate::state::Page, error: &rathaus_auth::HashError) -> Response {
    use rathaus_web::{PageError, PageProblem};
    match error {
        rathaus_auth::HashError::Busy => {
            tracing::warn!("password hashing busy: answering 429");
            PageError::new(
                PageProblem::TooManyRequests {
                    retry_after_secs: BUSY_RETRY_AFTER_SECS,
                },
                page.chrome.clone(),
            )
            .into_response()
        }
        rathaus_auth::HashError::Internal(_) => {
            PageError::internal(page.chrome.clone(), error).into_response()
        }
    }
}

/// `Retry-After` when every password worker is busy.
pub(crate) const BUSY_RETRY_AFTER_SECS: u64 = 2;

/// A message page: a title, a text, and links onward.
#[derive(askama::Template)]
#[template(path = "portal/account/message.html")]
pub(crate) struct MessagePage<'a> {
    pub chrome: &'a rathaus_web::Chrome,
    pub title: &'a str,
    pub text: &'a str,
    pub extra: Option<&'a str>,
    pub links: Vec<(&'a str, &'a str)>,
}

/// The page for a single-use link that is unknown, used or expired.
pub(crate) fn invalid_link(
    state: &PortalState,
    page: &crate::state::Page,
    again: &str,
) -> Response {
    invalid_link_to(state, page, again, page.t.account.forgot_link)
}

/// [`invalid_link`] with its own label for the link to ask again.
pub(crate) fn invalid_link_to(
    state: &PortalState,
    page: &crate::state::Page,
    again: &str,
    again_label: &str,
) -> Response {
    let a = page.t.account;
    forms::respond(
        state,
        page,
        http::StatusCode::BAD_REQUEST,
        &MessagePage {
            chrome: &page.chrome,
            title: a.link_invalid_title,
            text: a.link_invalid_text,
            extra: None,
            links: vec![(again, again_label), ("/account/sign-in", a.sign_in_title)],
        },
        [],
    )
}

/// What can go wrong beside the input: the database, or the operating system's randomness.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    #[error(transparent)]
    Store(#[from] rathaus_store::StoreError),
    #[error(transparent)]
    Random(#[from] rathaus_auth::RandomError),
    #[error(transparent)]
    Session(#[from] session::StartError),
}

impl Failure {
    /// 503 when the database is down, 500 otherwise.
    pub(crate) fn page(&self, page: &crate::state::Page) -> Response {
        match self {
            Self::Store(e) | Self::Session(session::StartError::Store(e)) => {
                session::page_store_error(page, e)
            }
            other => rathaus_web::PageError::internal(page.chrome.clone(), other).into_response(),
        }
    }
}

/// Why the shared CSRF key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] rathaus_store::StoreError),
    #[error(transparent)]
    Random(#[from] rathaus_auth::RandomError),
}
