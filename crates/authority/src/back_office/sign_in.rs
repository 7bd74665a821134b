//! Signing clerks in and out (SECURITY.md A3–A5, A8, S2, L1), like the portal's sign-in: a
//! throttled try is refused before any password is checked (429 with `Retry-After`); unknown
//! addresses are checked against a dummy hash, so "no such clerk" and "wrong password" look and
//! take the same; a right password under an old hash policy is rehashed.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use rathaus_auth::{HashError, Throttle, ThrottleRule, Verification, tokens};
use rathaus_domain::{AuditEvent, Email, PasswordAttempt};
use rathaus_web::{Chrome, PageError, PageProblem};

use super::session::{self, CSRF_FIELD, ClerkUser};
use super::texts::BoTexts;
use super::{
    BackOffice, BoPage, ClientAddr, Posted, audit, forbidden, query_param, respond, same_site,
    see_other, store_failure, unavailable,
};
use crate::NodeState;

#[derive(Template)]
#[template(path = "authority/back_office/sign_in.html")]
struct SignInPage<'a> {
    chrome: &'a Chrome,
    t: &'static BoTexts,
    csrf: &'a str,
    email: &'a str,
    next: &'a str,
    notice: Option<&'a str>,
    alert: Option<String>,
    error: Option<&'a str>,
}

struct Shown<'a> {
    status: StatusCode,
    email: &'a str,
    next: &'a str,
    notice: Option<&'a str>,
    alert: Option<String>,
    error: Option<&'a str>,
}

fn show(office: &BackOffice, page: &BoPage, headers: &HeaderMap, shown: Shown<'_>) -> Response {
    let (token, cookie) = match session::anon_token(office, headers) {
        Ok(token) => token,
        Err(e) => return PageError::internal(page.chrome.clone(), e).into_response(),
    };
    respond(
        page,
        shown.status,
        &SignInPage {
            chrome: &page.chrome,
            t: page.t,
            csrf: &token,
            email: shown.email,
            next: shown.next,
            notice: shown.notice,
            alert: shown.alert,
            error: shown.error,
        },
        [cookie],
    )
}

/// Where to go after signing in: a back-office path, never another site.
fn safe_next(raw: &str) -> &str {
    let local = raw.starts_with("/back-office")
        && raw.len() <= 512
        && !raw.chars().any(|c| c.is_control() || c == '\\');
    if local { raw } else { "/back-office" }
}

pub(crate) async fn form(
    State(state): State<NodeState>,
    page: BoPage,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(office) = state.back_office.clone() else {
        return unavailable(&page);
    };
    let next_param = query_param(query.as_deref(), "next");
    let next = safe_next(next_param.as_deref().unwrap_or("/back-office")).to_owned();
    match session::is_signed_in(&headers, &state, &office).await {
        Ok(true) => return see_other(&next),
        Ok(false) => {}
        Err(e) => return store_failure(&page, &e),
    }
    let notice = if query_param(query.as_deref(), "signed_out").is_some() {
        Some(page.t.signed_out)
    } else if next_param.is_some() {
        Some(page.t.sign_in_required)
    } else {
        None
    };
    show(
        &office,
        &page,
        &headers,
        Shown {
            status: StatusCode::OK,
            email: "",
            next: &next,
            notice,
            alert: None,
            error: None,
        },
    )
}

/// The throttle keys: digests, so the table holds neither addresses nor IPs in the clear.
fn throttle_keys(email: &Email, client: &str) -> [(String, ThrottleRule); 2] {
    [
        (
            format!("clerk:{}", tokens::digest(&email.key())),
            ThrottleRule::ACCOUNT,
        ),
        (
            format!("clerk-client:{}", tokens::digest(client)),
            ThrottleRule::CLIENT,
        ),
    ]
}

fn wait_text(t: &BoTexts, seconds: u64) -> String {
    if seconds < 120 {
        t.wait_seconds.replace("{n}", &seconds.to_string())
    } else {
        t.wait_minutes
            .replace("{n}", &seconds.div_ceil(60).to_string())
    }
}

fn hash_failure(page: &BoPage, error: &HashError) -> Response {
    match error {
        HashError::Busy => PageError::new(
            PageProblem::TooManyRequests {
                retry_after_secs: 2,
            },
            page.chrome.clone(),
        )
        .into_response(),
        HashError::Internal(_) => PageError::internal(page.chrome.clone(), error).into_response(),
    }
}

pub(crate) async fn submit(
    State(state): State<NodeState>,
    page: BoPage,
    headers: HeaderMap,
    ClientAddr(client): ClientAddr,
    form: Posted,
) -> Response {
    let Some(office) = state.back_office.clone() else {
        return unavailable(&page);
    };
    if !same_site(&headers) || !session::verify_anon(&office, &headers, form.get(CSRF_FIELD)) {
        return forbidden(&page);
    }
    let t = page.t;
    let raw_email = form.get("email");
    let next = safe_next(form.get("next"));
    let shown = |status, alert, error| Shown {
        status,
        email: raw_email,
        next,
        notice: None,
        alert,
        error,
    };
    let email = Email::parse(raw_email).ok();
    let attempt = PasswordAttempt::parse(form.get("password")).ok();
    let (Some(email), Some(attempt)) = (email, attempt) else {
        return show(
            &office,
            &page,
            &headers,
            shown(StatusCode::BAD_REQUEST, None, Some(t.err_missing)),
        );
    };

    let keys = throttle_keys(&email, &client);
    let now = office.clock.now();
    let mut decision = Throttle::Allowed;
    for (key, rule) in &keys {
        match state
            .store
            .sign_in_failures(key, now - rule.horizon())
            .await
        {
            Ok(failures) => decision = decision.and(rule.check(&failures, now)),
            Err(e) => return store_failure(&page, &e),
        }
    }
    if let Some(seconds) = decision.retry_after_secs() {
        tracing::warn!(seconds, "back-office sign-in throttled");
        let alert = t.err_throttled.replace("{wait}", &wait_text(t, seconds));
        let mut response = show(
            &office,
            &page,
            &headers,
            shown(StatusCode::TOO_MANY_REQUESTS, Some(alert), None),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }

    let clerk = match state.store.clerk_by_email(&email).await {
        Ok(clerk) => clerk,
        Err(e) => return store_failure(&page, &e),
    };
    let stored = clerk.as_ref().map(|c| c.password_hash.as_str());
    let verification = match office.hasher.verify(&attempt, stored).await {
        Ok(v) => v,
        Err(e) => return hash_failure(&page, &e),
    };
    // A clerk whose authority has left this node (the tenant file changed) signs in nowhere.
    let clerk = clerk.filter(|c| {
        state
            .tenant
            .authorities_on(&state.node.id)
            .any(|a| a.id.as_str() == c.authority)
    });
    let (Some(clerk), Verification::Match { needs_rehash }) = (clerk, verification) else {
        let names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
        if let Err(e) = state.store.record_sign_in_failure(&names, now).await {
            return store_failure(&page, &e);
        }
        audit(
            &state,
            &office,
            AuditEvent::SignInFailed,
            &format!("back office email={raw_email} client={client}"),
        )
        .await;
        return show(
            &office,
            &page,
            &headers,
            shown(StatusCode::UNAUTHORIZED, None, Some(t.err_credentials)),
        );
    };
    if needs_rehash {
        match office.hasher.rehash(&attempt).await {
            Ok(hash) => {
                if let Err(e) = state
                    .store
                    .set_clerk_password_hash(clerk.id, hash.as_str(), now)
                    .await
                {
                    tracing::warn!(%e, "rehashed clerk password could not be stored");
                }
            }
            Err(e) => tracing::warn!(%e, "clerk password could not be rehashed"),
        }
    }
    if let Err(e) = state.store.clear_sign_in_failures(&keys[0].0).await {
        return store_failure(&page, &e);
    }
    let cookie = match session::start(&state, &office, &headers, &clerk).await {
        Ok(cookie) => cookie,
        Err(session::StartError::Store(e)) => return store_failure(&page, &e),
        Err(e) => return PageError::internal(page.chrome.clone(), e).into_response(),
    };
    audit(
        &state,
        &office,
        AuditEvent::SignIn,
        &format!(
            "back office clerk={} authority={} client={client}",
            clerk.id, clerk.authority
        ),
    )
    .await;
    let mut response = see_other(next);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

pub(crate) async fn sign_out(
    State(state): State<NodeState>,
    page: BoPage,
    headers: HeaderMap,
    user: ClerkUser,
    form: Posted,
) -> Response {
    let Some(office) = state.back_office.clone() else {
        return unavailable(&page);
    };
    if !same_site(&headers) || !user.csrf_ok(form.get(CSRF_FIELD)) {
        return forbidden(&page);
    }
    if let Err(e) = session::end(&state, &user).await {
        return store_failure(&page, &e);
    }
    audit(
        &state,
        &office,
        AuditEvent::SignOut,
        &format!("back office clerk={}", user.clerk.id),
    )
    .await;
    let mut response = see_other("/back-office/sign-in?signed_out=1");
    if let Some(clear) = session::clear_session_cookie(&office.settings) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}
