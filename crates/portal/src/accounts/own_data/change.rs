//! Changing the password and deleting the account (SECURITY.md A1, A2, S2, S4, L1). Both ask
//! for the current password, checked on the bounded hashing pool like a sign-in, so a stolen
//! session alone can neither lock the owner out nor erase the account.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use rathaus_auth::Verification;
use rathaus_domain::{AuditEvent, NewPassword, PasswordAttempt};
use rathaus_web::Chrome;

use super::texts::{OwnDataTexts, texts};
use crate::account_texts::AccountTexts;
use crate::accounts::forms::{FormErrors, PostedForm, password_message, respond};
use crate::accounts::session::{self, page_store_error};
use crate::accounts::{AuthUser, MessagePage, audit, csrf, hash_failure};
use crate::state::{Page, PortalState};

#[derive(Template)]
#[template(path = "portal/account/password.html")]
struct PasswordPage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    d: &'static OwnDataTexts,
    csrf: &'a str,
    errors: &'a FormErrors,
    done: bool,
}

#[derive(Template)]
#[template(path = "portal/account/delete.html")]
struct DeletePage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    d: &'static OwnDataTexts,
    csrf: &'a str,
    errors: &'a FormErrors,
    /// Organisations that would be left without an owner: the deletion waits for them.
    blocked: &'a [String],
    blocked_text: &'static str,
    blocked_link: &'static str,
}

fn show_password(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    status: StatusCode,
    errors: &FormErrors,
    done: bool,
) -> Response {
    respond(
        state,
        page,
        status,
        &PasswordPage {
            chrome: &page.chrome,
            a: page.t.account,
            d: texts(page.chrome.lang),
            csrf: &user.session.csrf_secret,
            errors,
            done,
        },
        [],
    )
}

fn show_delete(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    status: StatusCode,
    errors: &FormErrors,
    blocked: &[String],
) -> Response {
    respond(
        state,
        page,
        status,
        &DeletePage {
            chrome: &page.chrome,
            a: page.t.account,
            d: texts(page.chrome.lang),
            csrf: &user.session.csrf_secret,
            errors,
            blocked,
            blocked_text: crate::organisations::texts(page.chrome.lang).delete_blocked,
            blocked_link: crate::organisations::texts(page.chrome.lang).title,
        },
        [],
    )
}

/// Whether `raw` is the account's current password; `Err` is the finished error page.
pub(super) async fn current_password_matches(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    raw: &str,
) -> Result<bool, Response> {
    let Ok(attempt) = PasswordAttempt::parse(raw) else {
        return Ok(false);
    };
    match state
        .accounts
        .hasher
        .verify(&attempt, Some(&user.account.password_hash))
        .await
    {
        Ok(Verification::Match { .. }) => Ok(true),
        Ok(Verification::Mismatch) => Ok(false),
        Err(e) => Err(hash_failure(page, &e)),
    }
}

pub async fn password_form(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let done = crate::params::Params::parse(query.as_deref()).get("changed") == Some("1");
    show_password(
        &state,
        &page,
        &user,
        StatusCode::OK,
        &FormErrors::default(),
        done,
    )
}

pub async fn change_password(
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
    let new = match NewPassword::parse(
        form.get("password"),
        state.accounts.blocklist,
        Some(&user.account.email),
    ) {
        Ok(password) => Some(password),
        Err(e) => {
            errors.add("password", password_message(page.t.account, e));
            None
        }
    };
    match current_password_matches(&state, &page, &user, form.get("current_password")).await {
        Ok(true) => {}
        Ok(false) => errors.add("current_password", d.err_current_password),
        Err(response) => return response,
    }
    let Some(new) = new.filter(|_| errors.is_empty()) else {
        return show_password(
            &state,
            &page,
            &user,
            StatusCode::BAD_REQUEST,
            &errors,
            false,
        );
    };
    let hash = match state.accounts.hasher.hash(&new).await {
        Ok(hash) => hash,
        Err(e) => return hash_failure(&page, &e),
    };
    let now = state.clock.now();
    let result = async {
        state
            .store
            .set_password_hash(user.account.id, hash.as_str(), now)
            .await?;
        // Whoever else holds a session may be the reason for the change: every other session
        // ends, this one stays.
        let mut ended = 0;
        for other in state
            .store
            .sessions_of(
                user.account.id,
                now - state.accounts.settings.session_idle,
                now,
            )
            .await?
        {
            if other.id != user.session.id
                && state
                    .store
                    .delete_account_session(user.account.id, other.id)
                    .await?
            {
                ended += 1;
            }
        }
        Ok::<_, rathaus_store::StoreError>(ended)
    }
    .await;
    match result {
        Ok(ended) => {
            audit::record(
                &state,
                AuditEvent::PasswordChanged,
                Some(user.account.id),
                &format!("other sessions ended: {ended}"),
            )
            .await;
            crate::accounts::see_other("/account/password?changed=1")
        }
        Err(e) => page_store_error(&page, &e),
    }
}

/// The names of the organisations the account is the only owner of, with other members.
async fn sole_owned(
    state: &PortalState,
    user: &AuthUser,
) -> Result<Vec<String>, rathaus_store::StoreError> {
    Ok(state
        .store
        .sole_owned_organisations(&user.account.id)
        .await?
        .into_iter()
        .map(|o| o.name.as_str().to_owned())
        .collect())
}

pub async fn delete_form(State(state): State<PortalState>, page: Page, user: AuthUser) -> Response {
    let blocked = match sole_owned(&state, &user).await {
        Ok(blocked) => blocked,
        Err(e) => return page_store_error(&page, &e),
    };
    show_delete(
        &state,
        &page,
        &user,
        StatusCode::OK,
        &FormErrors::default(),
        &blocked,
    )
}

pub async fn delete_account(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    match current_password_matches(&state, &page, &user, form.get("password")).await {
        Ok(true) => {}
        Ok(false) => {
            let mut errors = FormErrors::default();
            errors.add("password", texts(page.chrome.lang).err_current_password);
            return show_delete(&state, &page, &user, StatusCode::BAD_REQUEST, &errors, &[]);
        }
        Err(response) => return response,
    }
    // An organisation with other members keeps an owner: the account waits until another
    // member is made one (or the others have left).
    match sole_owned(&state, &user).await {
        Ok(blocked) if !blocked.is_empty() => {
            let errors = FormErrors::default();
            return show_delete(
                &state,
                &page,
                &user,
                StatusCode::CONFLICT,
                &errors,
                &blocked,
            );
        }
        Ok(_) => {}
        Err(e) => return page_store_error(&page, &e),
    }
    let report = match state.store.delete_account(&user.account.id).await {
        Ok(Some(report)) => report,
        // Deleted meanwhile by a second click: the outcome the citizen asked for.
        Ok(None) => return signed_out_to_deleted(&state),
        Err(e) => return page_store_error(&page, &e),
    };
    audit::record(
        &state,
        AuditEvent::AccountDeleted,
        Some(user.account.id),
        &format!(
            "sessions: {}, drafts: {}, messages: {}, applications deleted: {}, detached: {}",
            report.sessions,
            report.drafts,
            report.messages,
            report.applications_deleted,
            report.applications_detached
        ),
    )
    .await;
    signed_out_to_deleted(&state)
}

fn signed_out_to_deleted(state: &PortalState) -> Response {
    let mut response = crate::accounts::see_other("/account/deleted");
    if let Some(clear) = session::clear_cookie(&state.accounts.settings) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

/// `GET /account/deleted`: the confirmation, shown without a session.
pub async fn deleted(State(state): State<PortalState>, page: Page) -> Response {
    let d = texts(page.chrome.lang);
    respond(
        &state,
        &page,
        StatusCode::OK,
        &MessagePage {
            chrome: &page.chrome,
            title: d.deleted_title,
            text: d.deleted_text,
            extra: None,
            links: vec![("/", page.t.account.register_title)],
        },
        [],
    )
    .into_response()
}
