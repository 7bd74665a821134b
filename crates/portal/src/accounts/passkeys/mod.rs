//! Passkeys (WebAuthn): adding them to an account, removing them, and signing in with one
//! (SECURITY.md A3, A4, A8, S4, Z1, L1). The relying party is [`rathaus_auth::passkeys`].
//!
//! Every ceremony takes two requests. The first stores the relying party's state (the
//! challenge) in the shared database under the digest of a fresh 256-bit token, for five
//! minutes and for one use, and answers with a page that carries the options for the browser
//! and a form with the token. `web/static/passkeys.js` asks the authenticator, puts its answer
//! into the form and submits it; the second request takes the ceremony out of the store
//! (whichever node receives it) and checks the answer against it.
//!
//! - `POST /account/security/passkeys`: a name and the current password (a stolen session
//!   alone cannot add a key of its own) start adding a passkey; `…/finish` stores it.
//! - `POST /account/security/passkeys/{id}/remove`: removes one of the account's passkeys;
//!   another account's id is 404 and changes nothing.
//! - `POST /account/sign-in/passkey`: starts a sign-in that asks for no address;
//!   `…/finish` verifies the answer and starts a session with a new id. A passkey with user
//!   verification is two factors, so there is no code step after it. Refused answers count
//!   against the client's sign-in throttle and are audited with the reason, never the answer.
//!
//! Without JavaScript or without a browser that supports passkeys, the pages say so and keep
//! the password sign-in; nothing here is needed for any other journey.

mod texts;

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use http::{HeaderMap, StatusCode};
use rathaus_auth::passkeys::PasskeyError;
use rathaus_auth::{SecretToken, Throttle, ThrottleRule, Verification, tokens};
use rathaus_domain::{AuditEvent, PasskeyId, PasskeyName, PasskeyNameError, PasswordAttempt};
use rathaus_store::{CeremonyPurpose, NewPasskey, PasskeyCeremonyRecord, StoreError};
use rathaus_web::{Chrome, PageError, PageProblem};

use super::forms::{ClientIp, FormErrors, PostedForm, respond};
use super::second_factor::{Shown, show_security, throttled_alert, with_retry_after};
use super::session::page_store_error;
use super::{AuthUser, Failure, audit, csrf, hash_failure, see_other, sign_in};
use crate::state::{Page, PortalState};

pub(crate) use texts::{PasskeyTexts, texts};

/// How long a ceremony waits for the browser's answer.
const CEREMONY_FOR: Duration = Duration::minutes(5);

/// The form fields of adding a passkey; named apart from the authenticator app's removal form
/// on the same page, so an error is shown at the right field.
pub(crate) const NAME_FIELD: &str = "passkey-name";
pub(crate) const PASSWORD_FIELD: &str = "passkey-password";

/// One passkey in the security page's list.
#[derive(Debug)]
pub(crate) struct PasskeyItem {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
    /// The label of its remove button, with its name.
    pub remove_label: String,
}

/// The passkey part of the security page.
#[derive(Debug)]
pub(crate) struct PasskeySection {
    pub p: &'static PasskeyTexts,
    pub items: Vec<PasskeyItem>,
    /// The name entered, shown again after an error.
    pub name: String,
}

/// The section for the account, or `None` when the portal offers no passkeys.
pub(crate) async fn section(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    name: String,
) -> Result<Option<PasskeySection>, StoreError> {
    if state.passkeys.is_none() {
        return Ok(None);
    }
    let lang = page.chrome.lang;
    let p = texts(lang);
    let items = state
        .store
        .passkeys_of(&user.account.id)
        .await?
        .into_iter()
        .map(|k| PasskeyItem {
            id: k.id.to_string(),
            remove_label: p.remove_named.replace("{name}", k.name.as_str()),
            name: k.name.to_string(),
            created: crate::texts::day(k.created_at, lang),
            last_used: k
                .last_used_at
                .map_or_else(|| p.never.to_owned(), |t| crate::texts::date_time(t, lang)),
        })
        .collect();
    Ok(Some(PasskeySection { p, items, name }))
}

fn name_message(p: &'static PasskeyTexts, error: PasskeyNameError) -> &'static str {
    match error {
        PasskeyNameError::Empty => p.err_name_missing,
        PasskeyNameError::TooLong => p.err_name_long,
        PasskeyNameError::ControlCharacter => p.err_name_control,
    }
}

/// Why a ceremony could not be started or finished, beside a wrong answer.
#[derive(Debug, thiserror::Error)]
enum CeremonyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Random(#[from] rathaus_auth::RandomError),
    #[error(transparent)]
    Passkey(#[from] PasskeyError),
}

impl CeremonyError {
    fn page(&self, page: &Page) -> Response {
        match self {
            Self::Store(e) => page_store_error(page, e),
            other => PageError::internal(page.chrome.clone(), other).into_response(),
        }
    }
}

/// 404 for the passkey routes of a portal that offers no passkeys (a public URL without a
/// domain name).
fn not_offered(page: &Page) -> Response {
    PageError::new(PageProblem::NotFound, page.chrome.clone()).into_response()
}

/// The page between the two requests of a ceremony.
#[derive(Template)]
#[template(path = "portal/account/passkey_ceremony.html")]
struct CeremonyPage<'a> {
    chrome: &'a Chrome,
    p: &'static PasskeyTexts,
    csrf: &'a str,
    /// `create` or `get`: which call of `navigator.credentials` the script makes.
    kind: &'static str,
    title: &'static str,
    text: &'static str,
    go: &'static str,
    action: &'static str,
    back: &'static str,
    options: &'a str,
    token: &'a str,
}

/// Stores the ceremony and shows its page.
async fn begin(
    state: &PortalState,
    page: &Page,
    csrf: &str,
    purpose: CeremonyPurpose,
    ceremony: rathaus_auth::passkeys::Ceremony,
    cookies: Option<http::HeaderValue>,
) -> Result<Response, CeremonyError> {
    let token = SecretToken::generate()?;
    let now = state.clock.now();
    let p = texts(page.chrome.lang);
    let (kind, title, text, go, action, back) = match purpose {
        CeremonyPurpose::Register { .. } => (
            "create",
            p.register_title,
            p.register_text,
            p.register_go,
            "/account/security/passkeys/finish",
            "/account/security",
        ),
        CeremonyPurpose::SignIn { .. } => (
            "get",
            p.sign_in_title,
            p.sign_in_text,
            p.sign_in_go,
            "/account/sign-in/passkey/finish",
            "/account/sign-in",
        ),
    };
    state
        .store
        .start_passkey_ceremony(&PasskeyCeremonyRecord {
            token_hash: token.digest(),
            purpose,
            state: ceremony.state_json,
            created_at: now,
            expires_at: now + CEREMONY_FOR,
        })
        .await?;
    Ok(respond(
        state,
        page,
        StatusCode::OK,
        &CeremonyPage {
            chrome: &page.chrome,
            p,
            csrf,
            kind,
            title,
            text,
            go,
            action,
            back,
            options: &ceremony.options_json,
            token: token.expose(),
        },
        [cookies],
    ))
}

/// Takes the ceremony named by the posted token; `None` when it is unknown, used or expired.
async fn take(
    state: &PortalState,
    form: &PostedForm,
) -> Result<Option<PasskeyCeremonyRecord>, StoreError> {
    let Some(token) = SecretToken::from_received(form.get("ceremony")) else {
        return Ok(None);
    };
    state
        .store
        .take_passkey_ceremony(&token.digest(), state.clock.now())
        .await
}

// --- adding and removing ----------------------------------------------------------------------

fn refused_adding(
    status: StatusCode,
    name: &str,
    errors: FormErrors,
    alert: Option<String>,
) -> Shown {
    Shown {
        status,
        alert,
        errors,
        passkey_name: name.to_owned(),
        ..Shown::default()
    }
}

/// `POST /account/security/passkeys`: the name and the password start adding a passkey.
pub async fn start(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    ClientIp(client): ClientIp,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let Some(rp) = state.passkeys.as_deref() else {
        return not_offered(&page);
    };
    let a = page.t.account;
    let p = texts(page.chrome.lang);
    let raw_name = form.get(NAME_FIELD);
    let mut errors = FormErrors::default();
    let name = PasskeyName::parse(raw_name)
        .map_err(|e| errors.add(NAME_FIELD, name_message(p, e)))
        .ok();
    let attempt = PasswordAttempt::parse(form.get(PASSWORD_FIELD))
        .map_err(|_| errors.add(PASSWORD_FIELD, a.err_password_missing))
        .ok();
    let (Some(name), Some(attempt)) = (name, attempt) else {
        let shown = refused_adding(StatusCode::BAD_REQUEST, raw_name, errors, None);
        return show_security(&state, &page, &user, shown).await;
    };
    // The password under the same throttle as the sign-in with this address, so that a
    // stolen session cannot try passwords here faster than on the sign-in page.
    let key = sign_in::account_key(&user.account.email);
    match sign_in::throttle(&state, &[(key.clone(), ThrottleRule::ACCOUNT)]).await {
        Ok(Throttle::Allowed) => {}
        Ok(wait) => {
            let seconds = wait.retry_after_secs().unwrap_or(1);
            let shown = refused_adding(
                StatusCode::TOO_MANY_REQUESTS,
                raw_name,
                FormErrors::default(),
                Some(throttled_alert(a, seconds)),
            );
            return with_retry_after(show_security(&state, &page, &user, shown).await, seconds);
        }
        Err(e) => return page_store_error(&page, &e),
    }
    match state
        .accounts
        .hasher
        .verify(&attempt, Some(&user.account.password_hash))
        .await
    {
        Ok(Verification::Match { .. }) => {}
        Ok(Verification::Mismatch) => {
            if let Err(e) = state
                .store
                .record_sign_in_failure(&[key], state.clock.now())
                .await
            {
                return page_store_error(&page, &e);
            }
            audit::record(
                &state,
                AuditEvent::SignInFailed,
                Some(user.account.id),
                &format!("adding a passkey: wrong password client={client}"),
            )
            .await;
            let mut errors = FormErrors::default();
            errors.add(PASSWORD_FIELD, a.err_password_wrong);
            let shown = refused_adding(StatusCode::UNAUTHORIZED, raw_name, errors, None);
            return show_security(&state, &page, &user, shown).await;
        }
        Err(e) => return hash_failure(&page, &e),
    }
    let existing = match state.store.passkeys_of(&user.account.id).await {
        Ok(keys) => keys
            .into_iter()
            .map(|k| k.credential_id)
            .collect::<Vec<_>>(),
        Err(e) => return page_store_error(&page, &e),
    };
    let ceremony = match rp.start_registration(
        user.account.id.as_uuid(),
        user.account.email.as_str(),
        &existing,
    ) {
        Ok(ceremony) => ceremony,
        Err(e) => return CeremonyError::from(e).page(&page),
    };
    let purpose = CeremonyPurpose::Register {
        account_id: user.account.id,
        name,
    };
    begin(
        &state,
        &page,
        &user.session.csrf_secret,
        purpose,
        ceremony,
        None,
    )
    .await
    .unwrap_or_else(|e| e.page(&page))
}

/// `POST /account/security/passkeys/finish`: the authenticator's answer; the passkey is stored.
pub async fn finish_adding(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    ClientIp(client): ClientIp,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let Some(rp) = state.passkeys.as_deref() else {
        return not_offered(&page);
    };
    let p = texts(page.chrome.lang);
    let refuse = |status, alert: &str| Shown {
        status,
        alert: Some(alert.to_owned()),
        ..Shown::default()
    };
    let ceremony = match take(&state, &form).await {
        Ok(ceremony) => ceremony,
        Err(e) => return page_store_error(&page, &e),
    };
    // A ceremony of another account (or a sign-in's) is as good as none: it is spent, and
    // this account gets nothing from it.
    let Some((ceremony, name)) = ceremony.and_then(|c| match &c.purpose {
        CeremonyPurpose::Register { account_id, name } if *account_id == user.account.id => {
            let name = name.clone();
            Some((c, name))
        }
        _ => None,
    }) else {
        let shown = refuse(StatusCode::BAD_REQUEST, p.err_expired);
        return show_security(&state, &page, &user, shown).await;
    };
    let credential = match rp.finish_registration(&ceremony.state, form.get("credential")) {
        Ok(credential) => credential,
        Err(PasskeyError::Malformed(reason) | PasskeyError::Refused(reason)) => {
            tracing::info!(reason = %rathaus_domain::log_safe(&reason, 200), "passkey not added");
            let shown = refuse(StatusCode::BAD_REQUEST, p.err_refused);
            return show_security(&state, &page, &user, shown).await;
        }
        Err(e) => return CeremonyError::from(e).page(&page),
    };
    let id = PasskeyId::random();
    let added = state
        .store
        .add_passkey(&NewPasskey {
            id,
            account_id: user.account.id,
            name,
            credential_id: credential.credential_id,
            credential: credential.passkey_json,
            created_at: state.clock.now(),
        })
        .await;
    match added {
        Ok(true) => {}
        Ok(false) => {
            let shown = refuse(StatusCode::CONFLICT, p.err_known);
            return show_security(&state, &page, &user, shown).await;
        }
        Err(e) => return page_store_error(&page, &e),
    }
    audit::record(
        &state,
        AuditEvent::PasskeyAdded,
        Some(user.account.id),
        &format!("passkey={id} client={client}"),
    )
    .await;
    see_other("/account/security?passkey=added")
}

/// `POST /account/security/passkeys/{id}/remove`
pub async fn remove(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    ClientIp(client): ClientIp,
    id: Result<Path<String>, PathRejection>,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let not_found = || PageError::new(PageProblem::NotFound, page.chrome.clone()).into_response();
    let Some(id) = id.ok().and_then(|Path(raw)| raw.parse::<PasskeyId>().ok()) else {
        return not_found();
    };
    match state.store.remove_passkey(&user.account.id, &id).await {
        Ok(true) => {}
        // Another account's passkey, or none: the same answer, and nothing changed (Z1).
        Ok(false) => return not_found(),
        Err(e) => return page_store_error(&page, &e),
    }
    audit::record(
        &state,
        AuditEvent::PasskeyRemoved,
        Some(user.account.id),
        &format!("passkey={id} client={client}"),
    )
    .await;
    see_other("/account/security?passkey=removed")
}

// --- signing in -------------------------------------------------------------------------------

/// The throttle key of the client, the same as the password sign-in's.
fn client_key(client: &str) -> String {
    format!("client:{}", tokens::digest(client))
}

/// `POST /account/sign-in/passkey`: a sign-in ceremony for any passkey of this site.
pub async fn sign_in_start(
    State(state): State<PortalState>,
    page: Page,
    headers: HeaderMap,
    form: PostedForm,
) -> Response {
    if !csrf::verify_anon(&state, &headers, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let Some(rp) = state.passkeys.as_deref() else {
        return not_offered(&page);
    };
    let ceremony = match rp.start_sign_in() {
        Ok(ceremony) => ceremony,
        Err(e) => return CeremonyError::from(e).page(&page),
    };
    let token = match csrf::anon_token(&state, &headers) {
        Ok(token) => token,
        Err(e) => return CeremonyError::from(e).page(&page),
    };
    let purpose = CeremonyPurpose::SignIn {
        next_path: sign_in::safe_next(form.get("next")).to_owned(),
    };
    begin(
        &state,
        &page,
        &token.token,
        purpose,
        ceremony,
        token.set_cookie,
    )
    .await
    .unwrap_or_else(|e| e.page(&page))
}

/// Why a sign-in answer was refused, for the audit log.
async fn sign_in_refused(
    state: &PortalState,
    page: &Page,
    headers: &HeaderMap,
    client: &str,
    account: Option<rathaus_domain::AccountId>,
    reason: &str,
) -> Response {
    if let Err(e) = state
        .store
        .record_sign_in_failure(&[client_key(client)], state.clock.now())
        .await
    {
        return page_store_error(page, &e);
    }
    audit::record(
        state,
        AuditEvent::PasskeySignInFailed,
        account,
        &format!("{} client={client}", rathaus_domain::log_safe(reason, 200)),
    )
    .await;
    let p = texts(page.chrome.lang);
    sign_in::show_with_alert(
        state,
        page,
        headers,
        StatusCode::UNAUTHORIZED,
        p.sign_in_failed.to_owned(),
    )
}

/// `POST /account/sign-in/passkey/finish`: the authenticator's answer; a session starts.
pub async fn sign_in_finish(
    State(state): State<PortalState>,
    page: Page,
    headers: HeaderMap,
    ClientIp(client): ClientIp,
    form: PostedForm,
) -> Response {
    if !csrf::verify_anon(&state, &headers, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let Some(rp) = state.passkeys.as_deref() else {
        return not_offered(&page);
    };
    let a = page.t.account;
    let p = texts(page.chrome.lang);
    // Throttled before anything is looked at, like the password (A4).
    match sign_in::throttle(&state, &[(client_key(&client), ThrottleRule::CLIENT)]).await {
        Ok(Throttle::Allowed) => {}
        Ok(wait) => {
            let seconds = wait.retry_after_secs().unwrap_or(1);
            tracing::warn!(client = %rathaus_domain::log_safe(&client, 64), seconds, "passkey sign-in throttled");
            let response = sign_in::show_with_alert(
                &state,
                &page,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                throttled_alert(a, seconds),
            );
            return with_retry_after(response, seconds);
        }
        Err(e) => return page_store_error(&page, &e),
    }
    let ceremony = match take(&state, &form).await {
        Ok(ceremony) => ceremony,
        Err(e) => return page_store_error(&page, &e),
    };
    let Some((ceremony, next)) = ceremony.and_then(|c| match &c.purpose {
        CeremonyPurpose::SignIn { next_path } => {
            let next = next_path.clone();
            Some((c, next))
        }
        CeremonyPurpose::Register { .. } => None,
    }) else {
        return sign_in::show_with_alert(
            &state,
            &page,
            &headers,
            StatusCode::BAD_REQUEST,
            p.err_expired.to_owned(),
        );
    };
    let answer = form.get("credential");
    let claimed = match rp.claimed(answer) {
        Ok(claimed) => claimed,
        Err(e) => {
            return sign_in_refused(&state, &page, &headers, &client, None, &e.to_string()).await;
        }
    };
    let passkey = match state
        .store
        .passkey_by_credential(&claimed.credential_id)
        .await
    {
        Ok(passkey) => passkey,
        Err(e) => return page_store_error(&page, &e),
    };
    // The credential must be known and belong to the account the authenticator names.
    let Some(passkey) = passkey.filter(|k| k.account_id.as_uuid() == claimed.user) else {
        return sign_in_refused(&state, &page, &headers, &client, None, "unknown passkey").await;
    };
    let account_id = passkey.account_id;
    let updated = match rp.finish_sign_in(&ceremony.state, answer, &passkey.credential) {
        Ok(updated) => updated,
        Err(PasskeyError::State(reason)) => {
            return PageError::internal(page.chrome.clone(), PasskeyError::State(reason))
                .into_response();
        }
        Err(e) => {
            return sign_in_refused(
                &state,
                &page,
                &headers,
                &client,
                Some(account_id),
                &e.to_string(),
            )
            .await;
        }
    };
    let now = state.clock.now();
    if let Err(e) = state
        .store
        .passkey_used(&passkey.id, updated.as_deref(), now)
        .await
    {
        return page_store_error(&page, &e);
    }
    let account = match state.store.account(account_id).await {
        Ok(Some(account)) => account,
        // Deleted between the two requests: the passkey went with it.
        Ok(None) => {
            return sign_in_refused(&state, &page, &headers, &client, None, "account gone").await;
        }
        Err(e) => return page_store_error(&page, &e),
    };
    if let Err(e) = state
        .store
        .clear_sign_in_failures(&sign_in::account_key(&account.email))
        .await
    {
        return Failure::from(e).page(&page);
    }
    sign_in::finish(
        &state,
        &page,
        &headers,
        &account,
        &next,
        &client,
        &format!("passkey={}", passkey.id),
    )
    .await
}
