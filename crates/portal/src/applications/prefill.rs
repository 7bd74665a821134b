//! Verified attributes of the signed-in citizen, for prefilling forms: read and kept through
//! the store ([`rathaus_store::Store::save_verified_attributes`]), sealed at rest with the
//! drafts' vault and bound to the account, so a blob copied to another account does not open.
//!
//! This is the API that every identity check uses to hand over what it confirmed: the eID
//! sign-in (`accounts/eid.rs`) and the in-person check at an authority's counter call
//! [`keep`] with a [`VerifiedAttributes`] and the scope the citizen chose.

use chrono::{DateTime, Utc};
use rathaus_domain::{AccountId, VerifiedAttributes};
use rathaus_forms::definition::{Attribute, FieldKind};
use rathaus_forms::prefill::{Filled, Provenance, Source};
use rathaus_forms::{Answer, Step};
use rathaus_store::{AttributeScope, StoreError, VerifiedAttributesRecord};

use super::vault;
use crate::state::PortalState;

fn owner(account: &AccountId) -> String {
    format!("verified-attributes:{account}")
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum KeepError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] vault::VaultError),
    /// The session is not the account's, or it ended meanwhile.
    #[error("the session has ended")]
    SessionGone,
}

/// Keeps what an identity check confirmed, for this session only or (with the citizen's
/// consent) with the account; a later check of the same scope replaces it.
pub(crate) async fn keep(
    state: &PortalState,
    account: &AccountId,
    scope: AttributeScope,
    attributes: &VerifiedAttributes,
) -> Result<(), KeepError> {
    let plain = serde_json::to_vec(attributes).unwrap_or_default();
    let sealed = super::vault(state).seal(&plain, &owner(account))?;
    let kept = state
        .store
        .save_verified_attributes(&VerifiedAttributesRecord {
            id: uuid::Uuid::new_v4(),
            account: *account,
            scope,
            source: attributes.source,
            verified_at: attributes.verified_at,
            sealed,
            created_at: state.clock.now(),
        })
        .await?;
    if kept {
        Ok(())
    } else {
        Err(KeepError::SessionGone)
    }
}

/// The verified attributes this session may use, with how they are kept: the session's own
/// first, then the remembered ones. A set that does not open is skipped.
pub(crate) async fn available(
    state: &PortalState,
    account: &AccountId,
    session: rathaus_domain::SessionId,
) -> Result<Vec<(AttributeScope, VerifiedAttributes)>, StoreError> {
    let records = state.store.verified_attributes(account, session).await?;
    let vault = super::vault(state);
    Ok(records
        .into_iter()
        .filter_map(|record| {
            let plain = vault.open(&record.sealed, &owner(account)).ok()?;
            let attributes = serde_json::from_slice::<VerifiedAttributes>(&plain).ok()?;
            Some((record.scope, attributes))
        })
        .collect())
}

/// What fills a field: the first verified set that has the attribute, or, for an e-mail
/// field, the account's confirmed address.
pub(crate) fn source<'a>(
    sets: &'a [(AttributeScope, VerifiedAttributes)],
    email: Option<(&'a str, DateTime<Utc>)>,
) -> impl Fn(Attribute, &FieldKind) -> Option<Filled> + 'a {
    move |attribute, kind| {
        if attribute == Attribute::Email {
            let (address, confirmed_at) = email?;
            return matches!(kind, FieldKind::Email).then(|| {
                (
                    Answer::Text(address.to_owned()),
                    Provenance::Account,
                    confirmed_at,
                )
            });
        }
        sets.iter().find_map(|(_, attributes)| {
            rathaus_forms::prefill::value(attribute, attributes, kind)
                .map(|answer| (answer, attributes.source.into(), attributes.verified_at))
        })
    }
}

/// Whether anything available fills at least one field of the step.
pub(crate) fn fills_any(step: &Step, source: &Source<'_>) -> bool {
    rathaus_forms::prefill::prefillable(step)
        .any(|(field, attribute)| source(attribute, &field.kind).is_some())
}

// ---- the account's page of verified attributes ------------------------------------------------

/// One kept set, as the citizen sees it: their own data, where it came from, how long it stays.
#[derive(Debug)]
pub(crate) struct KeptView {
    pub remembered: bool,
    pub source: &'static str,
    pub verified: String,
    pub rows: Vec<(&'static str, String)>,
}

#[derive(askama::Template)]
#[template(path = "portal/form/verified.html")]
struct VerifiedPage<'a> {
    chrome: &'a rathaus_web::Chrome,
    f: &'static crate::form_texts::FormTexts,
    csrf: &'a str,
    kept: Vec<KeptView>,
    deleted: bool,
}

fn kept_view(
    scope: AttributeScope,
    attributes: &VerifiedAttributes,
    f: &crate::form_texts::FormTexts,
    lang: rathaus_domain::Lang,
) -> KeptView {
    use crate::form_texts::attribute_label;
    let mut rows = Vec::new();
    if let Some(v) = &attributes.given_names {
        rows.push((attribute_label(Attribute::GivenNames, lang), v.clone()));
    }
    if let Some(v) = &attributes.family_name {
        rows.push((attribute_label(Attribute::FamilyName, lang), v.clone()));
    }
    if let Some(v) = &attributes.birth_name {
        rows.push((attribute_label(Attribute::BirthName, lang), v.clone()));
    }
    if let Some(v) = attributes.date_of_birth {
        rows.push((
            attribute_label(Attribute::DateOfBirth, lang),
            super::view::date(v, lang),
        ));
    }
    if let Some(v) = &attributes.place_of_birth {
        rows.push((attribute_label(Attribute::PlaceOfBirth, lang), v.clone()));
    }
    if let Some(a) = &attributes.address {
        rows.push((
            attribute_label(Attribute::Address, lang),
            format!("{} {}, {} {}", a.street, a.house_number, a.postcode, a.city)
                .replace("  ", " "),
        ));
    }
    KeptView {
        remembered: scope == AttributeScope::Remembered,
        source: super::view::source_label(attributes.source.into(), f),
        verified: super::view::date(attributes.verified_at.date_naive(), lang),
        rows,
    }
}

/// `GET /account/verified-attributes`: what is kept for prefill, and the way to delete it.
pub(crate) async fn page(
    axum::extract::State(state): axum::extract::State<PortalState>,
    page: crate::state::Page,
    user: crate::accounts::AuthUser,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> axum::response::Response {
    let sets = match available(&state, &user.account.id, user.session.id).await {
        Ok(sets) => sets,
        Err(e) => return crate::accounts::session::page_store_error(&page, &e),
    };
    let f = page.t.form;
    let lang = page.chrome.lang;
    crate::accounts::forms::respond(
        &state,
        &page,
        http::StatusCode::OK,
        &VerifiedPage {
            chrome: &page.chrome,
            f,
            csrf: &user.session.csrf_secret,
            kept: sets
                .iter()
                .map(|(scope, attributes)| kept_view(*scope, attributes, f, lang))
                .collect(),
            deleted: query.as_deref() == Some("deleted=1"),
        },
        [],
    )
}

/// `POST /account/verified-attributes/delete` (`scope` = `remembered` or `session`).
pub(crate) async fn delete(
    axum::extract::State(state): axum::extract::State<PortalState>,
    page: crate::state::Page,
    user: crate::accounts::AuthUser,
    form: crate::accounts::forms::PostedForm,
) -> axum::response::Response {
    if !crate::accounts::csrf::verify_session(&user, form.get(crate::accounts::csrf::FIELD)) {
        return crate::accounts::csrf::forbidden(&page);
    }
    let scope = match form.get("scope") {
        "remembered" => AttributeScope::Remembered,
        "session" => AttributeScope::Session(user.session.id),
        _ => {
            return rathaus_web::PageError::new(rathaus_web::PageProblem::BadRequest, page.chrome)
                .into_response();
        }
    };
    match state
        .store
        .delete_verified_attributes(&user.account.id, scope)
        .await
    {
        Ok(n) => {
            tracing::info!(account = %user.account.id, sets = n, "verified attributes deleted by the citizen");
            crate::accounts::see_other("/account/verified-attributes?deleted=1")
        }
        Err(e) => crate::accounts::session::page_store_error(&page, &e),
    }
}

use axum::response::IntoResponse;
