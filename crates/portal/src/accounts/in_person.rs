//! Raising an account to assurance level `substantial` in person, once (issue 3; SECURITY.md A6,
//! A8, L1; R4).
//!
//! 1. On the level page a citizen signed in at `basic` asks for a one-time identification code
//!    (`POST /account/level/in-person`, with the session's CSRF token). The answer shows the code
//!    once, with a QR code of it; the portal keeps only its keyed digest, bound to the account,
//!    for 14 days. Asking again replaces the code.
//! 2. At an authority's counter a clerk types or scans the code, checks the ID card and
//!    confirms; the authority node signs an identity assertion and posts it to
//!    `POST /api/v1/identity-assertions` (`crate::api::identity`), which redeems the code once,
//!    raises the account and ends its sessions (A8: the citizen signs in again and gets a new
//!    session at the new level).
//!
//! The code says nothing about the person: it is random, and only the portal can map it to an
//! account. The verified attributes in the assertion go to
//! [`hand_over_verified_attributes`] and nowhere else: not into a log, not into the audit log.
//! They are kept for prefill only when the citizen ticked "keep the checked details" when
//! asking for the code (R4).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use http::StatusCode;
use rathaus_auth::IdentificationCode;
use rathaus_domain::{
    AccountId, AssuranceLevel, AttributeSource, AuditEvent, Lang, VerifiedAddress,
    VerifiedAttributes,
};
use rathaus_seal::protocol::IdentityAttributes;
use rathaus_store::AttributeScope;
use rathaus_web::Chrome;

use super::forms::{PostedForm, respond};
use super::session::page_store_error;
use super::{AuthUser, Failure, audit, csrf, see_other};
use crate::account_texts::AccountTexts;
use crate::state::{Page, PortalState};

/// How long a code can be used.
pub(crate) const CODE_VALIDITY: Duration = Duration::days(14);

/// The keyed digest the portal stores for `code`. The key is the portal's shared form key
/// (every portal node has the same); the digest is labelled, so it never equals a form token.
pub(crate) fn code_digest(state: &PortalState, code: &IdentificationCode) -> String {
    code.digest(&state.accounts.csrf_key)
}

/// What the level page says about the in-person check.
#[derive(Debug, Clone)]
pub(crate) struct InPersonView {
    /// The session is at `basic`: a code can be asked for.
    pub can_ask: bool,
    /// When the account's unused code ends, if it has one.
    pub active_until: Option<String>,
}

/// The level page's part about the in-person check, for `user`.
pub(crate) async fn view(
    state: &PortalState,
    user: &AuthUser,
    lang: Lang,
) -> Result<InPersonView, rathaus_store::StoreError> {
    let can_ask = user.session.level == AssuranceLevel::Basic;
    let active_until = if can_ask {
        state
            .store
            .identification_code(&user.account.id, state.clock.now())
            .await?
            .map(|issued| day(issued.expires_at, lang))
    } else {
        None
    };
    Ok(InPersonView {
        can_ask,
        active_until,
    })
}

/// A date as people read it, in UTC like every time the portal shows.
fn day(at: DateTime<Utc>, lang: Lang) -> String {
    match lang {
        Lang::De => at.format("%d.%m.%Y, %H:%M UTC").to_string(),
        Lang::En => at.format("%-d %B %Y, %H:%M UTC").to_string(),
    }
}

#[derive(Template)]
#[template(path = "portal/account/in_person.html")]
struct CodePage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    code: String,
    qr: Option<Qr>,
    valid_until: String,
}

/// A QR code as an SVG path (one `h1v1h-1z` square per dark module), rendered on the server so
/// the page needs no script and no image request.
#[derive(Debug, Clone)]
pub(crate) struct Qr {
    /// The side in modules, including the quiet zone.
    pub(crate) size: usize,
    pub(crate) path: String,
}

/// Modules of white border around the symbol, as the QR standard asks.
const QUIET_ZONE: usize = 4;

pub(crate) fn qr(text: &str) -> Option<Qr> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    let width = code.width();
    let mut path = String::new();
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = (i % width + QUIET_ZONE, i / width + QUIET_ZONE);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    Some(Qr {
        size: width + 2 * QUIET_ZONE,
        path,
    })
}

/// `POST /account/level/in-person`: a new code for the signed-in account, shown once.
pub async fn request_code(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    // Only `basic` has something to gain; a higher session goes back to the level page.
    if user.session.level != AssuranceLevel::Basic {
        return see_other("/account/level");
    }
    let code = match IdentificationCode::generate() {
        Ok(code) => code,
        Err(e) => return Failure::from(e).page(&page),
    };
    let now = state.clock.now();
    let expires_at = now + CODE_VALIDITY;
    // Consent to keep what the clerk will verify is given here, by the citizen, signed in.
    let remember = form.get("remember") == "yes";
    if let Err(e) = state
        .store
        .issue_identification_code(
            &user.account.id,
            &code_digest(&state, &code),
            now,
            expires_at,
            remember,
        )
        .await
    {
        return page_store_error(&page, &e);
    }
    audit::record(
        &state,
        AuditEvent::IdentificationCodeIssued,
        Some(user.account.id),
        &format!("valid until {}", expires_at.to_rfc3339()),
    )
    .await;
    let shown = code.expose();
    respond(
        &state,
        &page,
        StatusCode::OK,
        &CodePage {
            chrome: &page.chrome,
            a: page.t.account,
            qr: qr(&shown),
            code: shown,
            valid_until: day(expires_at, page.chrome.lang),
        },
        [],
    )
}

/// Keeps what the clerk verified against the ID document as the account's verified attributes
/// for prefill, when the citizen agreed to it while asking for the code (`remember`); without
/// that consent nothing is kept: the citizen is not signed in at the counter, so there is no
/// session the attributes could be bound to instead (R4).
///
/// This is the only place attributes from the counter reach in the portal. They are never
/// logged or written to the audit log (L1); a failure to keep them is logged without them and
/// does not undo the identity check, which has already raised the level.
pub(crate) async fn hand_over_verified_attributes(
    state: &PortalState,
    account: AccountId,
    attributes: IdentityAttributes,
    verified_at: DateTime<Utc>,
    remember: bool,
) {
    if !remember {
        return;
    }
    let verified = counter_attributes(attributes, verified_at);
    if verified.is_empty() {
        return;
    }
    if let Err(e) = crate::applications::keep_verified_attributes(
        state,
        &account,
        AttributeScope::Remembered,
        &verified,
    )
    .await
    {
        tracing::warn!(account = %account, error = %e, "the attributes checked at the counter could not be kept");
    }
}

/// The attributes of an identity assertion as the prefill store keeps them. A clerk checks a
/// German ID document, whose address is in Germany; values that do not read (a date that is
/// not one, a control character) are dropped rather than kept.
fn counter_attributes(
    attributes: IdentityAttributes,
    verified_at: DateTime<Utc>,
) -> VerifiedAttributes {
    let IdentityAttributes {
        family_name,
        given_names,
        birth_date,
        street,
        house_number,
        postcode,
        city,
        document_type: _,
    } = attributes;
    let mut verified = VerifiedAttributes::new(AttributeSource::Counter, verified_at);
    verified.family_name = Some(family_name);
    verified.given_names = Some(given_names);
    verified.date_of_birth = NaiveDate::parse_from_str(&birth_date, "%Y-%m-%d").ok();
    verified.address = Some(VerifiedAddress {
        street,
        house_number,
        postcode,
        city,
        country: "DE".to_owned(),
    });
    verified.sanitised()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_qr_code_is_a_square_of_dark_modules_with_a_quiet_zone() {
        let code = IdentificationCode::generate().unwrap().expose();
        let qr = qr(&code).unwrap();
        // 19 characters at level M fit into version 1 (21 modules) or 2 (25).
        assert!(qr.size == 21 + 8 || qr.size == 25 + 8, "{}", qr.size);
        assert!(qr.path.starts_with('M'));
        assert!(
            qr.path
                .chars()
                .all(|c| c.is_ascii_digit() || "Mhvz- ".contains(c))
        );
        // The finder pattern's corner module is dark.
        assert!(
            qr.path
                .starts_with(&format!("M{QUIET_ZONE} {QUIET_ZONE}h1"))
        );
    }
}
