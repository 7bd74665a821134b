//! The second factor of the Servicekonto: an authenticator app (TOTP) and its recovery codes
//! (SECURITY.md A4, S4, L1; the sign-in step that asks for the code is in [`super::sign_in`]).
//!
//! - `GET /account/security`: whether a factor is on, how many recovery codes are left, and
//!   the forms to set one up or to remove it.
//! - `POST /account/security/totp`: a new secret, sealed at rest, not yet switched on;
//!   `GET /account/security/totp` shows it as a QR code and as text.
//! - `POST /account/security/totp/confirm`: a current code switches it on; the answer shows the
//!   recovery codes, once (only their keyed digests are stored).
//! - `POST /account/security/totp/remove`: the password and a current code switch it off.
//!
//! Every code is checked by [`check_code`]: ±1 time step, a step only once (the newest accepted
//! step is stored), recovery codes once each, and wrong codes throttled per account with
//! [`ThrottleRule::SECOND_FACTOR`], independently of the password's throttle.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use rathaus_auth::{Throttle, ThrottleRule, Verification, tokens};
use rathaus_domain::{AccountId, AuditEvent, PasswordAttempt};
use rathaus_store::{StoreError, TotpFactorRecord};
use rathaus_web::{Chrome, PageError};

use super::forms::{ClientIp, FormErrors, PostedForm, respond, wait_text};
use super::in_person::{Qr, qr};
use super::passkeys::PasskeySection;
use super::session::page_store_error;
use super::totp::{EnteredCode, RECOVERY_CODES, RecoveryCode, TotpCode, TotpSecret};
use super::{AuthUser, audit, csrf, hash_failure, see_other};
use crate::account_texts::AccountTexts;
use crate::applications::vault::{Vault, VaultError};
use crate::params::Params;
use crate::state::{Page, PortalState};

/// The at-rest key of TOTP secrets: derived from the portal secret for this purpose only, so
/// it opens neither drafts nor anything else sealed with a sibling key.
fn vault(state: &PortalState) -> Vault {
    Vault::from_shared_secret(
        tokens::sign(&state.accounts.csrf_key, b"rathaus totp secrets at rest v1").as_bytes(),
    )
}

/// The associated data of an account's sealed secret: a secret copied to another account's
/// row does not open.
fn owner(account: AccountId) -> String {
    format!("totp:{account}")
}

fn open_secret(
    state: &PortalState,
    factor: &TotpFactorRecord,
    account: AccountId,
) -> Result<TotpSecret, CheckError> {
    vault(state)
        .open(&factor.secret_sealed, &owner(account))
        .map(TotpSecret::from_bytes)
        .map_err(CheckError::Vault)
}

/// The throttle key of an account's second factor: separate from the password's key, which a
/// right password clears, so that entering the password again does not buy new guesses.
fn throttle_key(account: AccountId) -> String {
    format!("second-factor:{}", tokens::digest(&account.to_string()))
}

/// What can go wrong beside a wrong code.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CheckError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sealed TOTP secret: {0}")]
    Vault(VaultError),
    #[error(transparent)]
    Random(#[from] rathaus_auth::RandomError),
}

impl CheckError {
    pub(crate) fn page(&self, page: &Page) -> Response {
        match self {
            Self::Store(e) => page_store_error(page, e),
            other => PageError::internal(page.chrome.clone(), other).into_response(),
        }
    }
}

/// The outcome of one entered code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checked {
    Accepted {
        recovery: bool,
    },
    Refused,
    /// Too many wrong codes lately: try again after this many seconds.
    Throttled(u64),
}

/// The account's confirmed authenticator, if it has one.
pub(crate) async fn confirmed_factor(
    state: &PortalState,
    account: AccountId,
) -> Result<Option<TotpFactorRecord>, StoreError> {
    Ok(state
        .store
        .totp_factor(&account)
        .await?
        .filter(|f| f.confirmed_at.is_some()))
}

/// Whether the account may try a code now.
async fn throttled(state: &PortalState, account: AccountId) -> Result<Option<u64>, StoreError> {
    let rule = ThrottleRule::SECOND_FACTOR;
    let now = state.clock.now();
    let failures = state
        .store
        .sign_in_failures(&throttle_key(account), now - rule.horizon())
        .await?;
    Ok(match rule.check(&failures, now) {
        Throttle::Allowed => None,
        wait => Some(wait.retry_after_secs().unwrap_or(1)),
    })
}

/// Counts a wrong answer against the account's second factor and logs it (never the code).
async fn refused(
    state: &PortalState,
    account: AccountId,
    reason: &str,
    client: &str,
) -> Result<(), StoreError> {
    state
        .store
        .record_sign_in_failure(&[throttle_key(account)], state.clock.now())
        .await?;
    audit::record(
        state,
        AuditEvent::SecondFactorFailed,
        Some(account),
        &format!("{reason} client={client}"),
    )
    .await;
    Ok(())
}

/// Checks a code the citizen entered for their confirmed authenticator: throttle first, then
/// the code; a right code is used up, a wrong one counted.
pub(crate) async fn check_code(
    state: &PortalState,
    account: AccountId,
    entered: &EnteredCode,
    client: &str,
    context: &str,
) -> Result<Checked, CheckError> {
    if let Some(wait) = throttled(state, account).await? {
        return Ok(Checked::Throttled(wait));
    }
    let Some(factor) = confirmed_factor(state, account).await? else {
        refused(
            state,
            account,
            &format!("{context}: no authenticator"),
            client,
        )
        .await?;
        return Ok(Checked::Refused);
    };
    let now = state.clock.now();
    let (accepted, recovery, reason) = match entered {
        EnteredCode::Totp(code) => {
            let secret = open_secret(state, &factor, account)?;
            match secret.verify(code, now) {
                Some(step) if state.store.claim_totp_step(&account, step).await? => {
                    (true, false, "")
                }
                Some(_) => (false, false, "code used before"),
                None => (false, false, "wrong code"),
            }
        }
        EnteredCode::Recovery(code) => {
            let digest = code.digest(&state.accounts.csrf_key, &account);
            let used = state
                .store
                .use_recovery_code(&account, &digest, now)
                .await?;
            (used, true, "unknown or used recovery code")
        }
    };
    if !accepted {
        refused(state, account, &format!("{context}: {reason}"), client).await?;
        return Ok(Checked::Refused);
    }
    state
        .store
        .clear_sign_in_failures(&throttle_key(account))
        .await?;
    if recovery {
        audit::record(
            state,
            AuditEvent::RecoveryCodeUsed,
            Some(account),
            &format!("{context} client={client}"),
        )
        .await;
    }
    Ok(Checked::Accepted { recovery })
}

/// The alert and `Retry-After` of a throttled code.
pub(crate) fn throttled_alert(a: &'static AccountTexts, seconds: u64) -> String {
    a.err_throttled.replace("{wait}", &wait_text(a, seconds))
}

pub(crate) fn with_retry_after(mut response: Response, seconds: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

// --- the security page ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal/account/security.html")]
struct SecurityPage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    csrf: &'a str,
    enabled: bool,
    recovery_left: String,
    notice: Option<String>,
    alert: Option<String>,
    errors: &'a FormErrors,
    passkeys: Option<PasskeySection>,
}

/// What the security page shows besides the account's factors.
pub(super) struct Shown {
    pub status: StatusCode,
    pub notice: Option<String>,
    pub alert: Option<String>,
    pub errors: FormErrors,
    /// The passkey name entered, shown again after an error.
    pub passkey_name: String,
}

impl Default for Shown {
    fn default() -> Self {
        Self {
            status: StatusCode::OK,
            notice: None,
            alert: None,
            errors: FormErrors::default(),
            passkey_name: String::new(),
        }
    }
}

/// The security page: the authenticator app and the passkeys.
pub(super) async fn show_security(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    shown: Shown,
) -> Response {
    let factor = match confirmed_factor(state, user.account.id).await {
        Ok(factor) => factor,
        Err(e) => return page_store_error(page, &e),
    };
    let passkeys = match super::passkeys::section(state, page, user, shown.passkey_name).await {
        Ok(section) => section,
        Err(e) => return page_store_error(page, &e),
    };
    let a = page.t.account;
    respond(
        state,
        page,
        shown.status,
        &SecurityPage {
            chrome: &page.chrome,
            a,
            csrf: &user.session.csrf_secret,
            enabled: factor.is_some(),
            recovery_left: a.tf_recovery_left.replace(
                "{n}",
                &factor.map_or(0, |f| f.recovery_codes_left).to_string(),
            ),
            notice: shown.notice,
            alert: shown.alert,
            errors: &shown.errors,
            passkeys,
        },
        [],
    )
}

/// `GET /account/security`
pub async fn security(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    let a = page.t.account;
    let p = super::passkeys::texts(page.chrome.lang);
    let notice = if params.get("removed").is_some() {
        Some(a.tf_removed.to_owned())
    } else if params.get("passkey") == Some("added") {
        Some(p.added.to_owned())
    } else if params.get("passkey") == Some("removed") {
        Some(p.removed.to_owned())
    } else if params.get("recovered").is_some() {
        match confirmed_factor(&state, user.account.id).await {
            Ok(factor) => Some(a.tf_recovery_used.replace(
                "{n}",
                &factor.map_or(0, |f| f.recovery_codes_left).to_string(),
            )),
            Err(e) => return page_store_error(&page, &e),
        }
    } else {
        None
    };
    show_security(
        &state,
        &page,
        &user,
        Shown {
            notice,
            ..Shown::default()
        },
    )
    .await
}

/// `POST /account/security/totp`: a fresh secret, waiting for confirmation.
pub async fn start(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let secret = match TotpSecret::generate() {
        Ok(secret) => secret,
        Err(e) => return CheckError::from(e).page(&page),
    };
    let sealed = match vault(&state).seal(secret.as_bytes(), &owner(user.account.id)) {
        Ok(sealed) => sealed,
        Err(e) => return CheckError::Vault(e).page(&page),
    };
    match state
        .store
        .start_totp_enrolment(&user.account.id, &sealed, state.clock.now())
        .await
    {
        // An authenticator that is on stays: it has to be removed (password and code) first.
        Ok(false) => see_other("/account/security"),
        Ok(true) => see_other("/account/security/totp"),
        Err(e) => page_store_error(&page, &e),
    }
}

#[derive(Template)]
#[template(path = "portal/account/totp_setup.html")]
struct SetupPage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    csrf: &'a str,
    qr: Option<Qr>,
    key: String,
    errors: &'a FormErrors,
}

/// The setup page of the account's unconfirmed secret; to the security page when there is none.
async fn show_setup(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    status: StatusCode,
    errors: FormErrors,
) -> Response {
    let factor = match state.store.totp_factor(&user.account.id).await {
        Ok(Some(factor)) if factor.confirmed_at.is_none() => factor,
        Ok(_) => return see_other("/account/security"),
        Err(e) => return page_store_error(page, &e),
    };
    let secret = match open_secret(state, &factor, user.account.id) {
        Ok(secret) => secret,
        Err(e) => return e.page(page),
    };
    let uri = secret.uri(page.chrome.site_name(), user.account.email.as_str());
    respond(
        state,
        page,
        status,
        &SetupPage {
            chrome: &page.chrome,
            a: page.t.account,
            csrf: &user.session.csrf_secret,
            qr: qr(&uri),
            key: secret.grouped(),
            errors: &errors,
        },
        [],
    )
}

/// `GET /account/security/totp`
pub async fn setup(State(state): State<PortalState>, page: Page, user: AuthUser) -> Response {
    show_setup(&state, &page, &user, StatusCode::OK, FormErrors::default()).await
}

#[derive(Template)]
#[template(path = "portal/account/recovery_codes.html")]
struct RecoveryPage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    codes: Vec<String>,
}

/// `POST /account/security/totp/confirm`: a current code switches the authenticator on.
pub async fn confirm(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    ClientIp(client): ClientIp,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let a = page.t.account;
    let account = user.account.id;
    let factor = match state.store.totp_factor(&account).await {
        Ok(Some(factor)) if factor.confirmed_at.is_none() => factor,
        Ok(_) => return see_other("/account/security"),
        Err(e) => return page_store_error(&page, &e),
    };
    let mut errors = FormErrors::default();
    let Some(code) = TotpCode::parse(form.get("code")) else {
        errors.add("code", a.err_code_digits);
        return show_setup(&state, &page, &user, StatusCode::BAD_REQUEST, errors).await;
    };
    let secret = match open_secret(&state, &factor, account) {
        Ok(secret) => secret,
        Err(e) => return e.page(&page),
    };
    let now = state.clock.now();
    let Some(step) = secret.verify(&code, now) else {
        errors.add("code", a.err_code_wrong);
        return show_setup(&state, &page, &user, StatusCode::BAD_REQUEST, errors).await;
    };
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        match RecoveryCode::generate() {
            Ok(code) => codes.push(code),
            Err(e) => return CheckError::from(e).page(&page),
        }
    }
    let digests: Vec<String> = codes
        .iter()
        .map(|c| c.digest(&state.accounts.csrf_key, &account))
        .collect();
    match state
        .store
        .confirm_totp(&account, step, &digests, now)
        .await
    {
        Ok(true) => {}
        // Confirmed meanwhile (a second tab): the codes shown there are the valid ones.
        Ok(false) => return see_other("/account/security"),
        Err(e) => return page_store_error(&page, &e),
    }
    audit::record(
        &state,
        AuditEvent::SecondFactorAdded,
        Some(account),
        &format!("totp, {RECOVERY_CODES} recovery codes client={client}"),
    )
    .await;
    respond(
        &state,
        &page,
        StatusCode::OK,
        &RecoveryPage {
            chrome: &page.chrome,
            a,
            codes: codes.iter().map(RecoveryCode::shown).collect(),
        },
        [],
    )
}

/// `POST /account/security/totp/remove`: the password and a current code switch it off.
pub async fn remove(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    ClientIp(client): ClientIp,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let a = page.t.account;
    let account = user.account.id;
    let refuse = |status, errors, alert| Shown {
        status,
        alert,
        errors,
        ..Shown::default()
    };
    let mut errors = FormErrors::default();
    let attempt = PasswordAttempt::parse(form.get("password"))
        .map_err(|_| errors.add("password", a.err_password_missing))
        .ok();
    let raw_code = form.get("code");
    let code = EnteredCode::parse(raw_code);
    if code.is_none() {
        let message = if raw_code.trim().is_empty() {
            a.err_code_missing
        } else {
            a.err_code_format
        };
        errors.add("code", message);
    }
    let (Some(attempt), Some(code)) = (attempt, code) else {
        let shown = refuse(StatusCode::BAD_REQUEST, errors, None);
        return show_security(&state, &page, &user, shown).await;
    };
    match throttled(&state, account).await {
        Ok(None) => {}
        Ok(Some(wait)) => {
            let shown = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                FormErrors::default(),
                Some(throttled_alert(a, wait)),
            );
            return with_retry_after(show_security(&state, &page, &user, shown).await, wait);
        }
        Err(e) => return page_store_error(&page, &e),
    }
    // The password is checked before the code, so a wrong password does not use up a code.
    match state
        .accounts
        .hasher
        .verify(&attempt, Some(&user.account.password_hash))
        .await
    {
        Ok(Verification::Match { .. }) => {}
        Ok(Verification::Mismatch) => {
            if let Err(e) = refused(&state, account, "removal: wrong password", &client).await {
                return page_store_error(&page, &e);
            }
            let mut errors = FormErrors::default();
            errors.add("password", a.err_password_wrong);
            let shown = refuse(StatusCode::UNAUTHORIZED, errors, None);
            return show_security(&state, &page, &user, shown).await;
        }
        Err(e) => return hash_failure(&page, &e),
    }
    match check_code(&state, account, &code, &client, "removal").await {
        Ok(Checked::Accepted { .. }) => {}
        Ok(Checked::Refused) => {
            let mut errors = FormErrors::default();
            errors.add("code", a.err_code_wrong);
            let shown = refuse(StatusCode::UNAUTHORIZED, errors, None);
            return show_security(&state, &page, &user, shown).await;
        }
        Ok(Checked::Throttled(wait)) => {
            let shown = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                FormErrors::default(),
                Some(throttled_alert(a, wait)),
            );
            return with_retry_after(show_security(&state, &page, &user, shown).await, wait);
        }
        Err(e) => return e.page(&page),
    }
    if let Err(e) = state.store.remove_totp(&account).await {
        return page_store_error(&page, &e);
    }
    audit::record(
        &state,
        AuditEvent::SecondFactorRemoved,
        Some(account),
        &format!("totp client={client}"),
    )
    .await;
    see_other("/account/security?removed=1")
}
