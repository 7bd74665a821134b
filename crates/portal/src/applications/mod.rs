//! Online applications (issue 4): a signed-in citizen fills in a service's form step by step,
//! reviews it and submits it. Drafts are sealed at rest ([`vault`]); the submitted content
//! leaves the portal only as an envelope for the responsible authority.
//!
//! Paths: `/services/{id}/form` (start or resume), `/services/{id}/form/{step}`,
//! `/services/{id}/review`, `/services/{id}/submit`, `/services/{id}/discard`,
//! `/applications`, `/applications/{reference}`, `/applications/{reference}/receipt.pdf`.

mod prefill;
pub mod scan;
mod steps;
mod submit;
pub(crate) use submit::service_name;
pub(crate) mod vault;
mod view;

use std::sync::Arc;

use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use rathaus_domain::ServiceDefinition;
use rathaus_forms::prefill::Marks;
use rathaus_forms::{Answers, FormDefinition, Progress};
use rathaus_store::DraftRecord;
use rathaus_web::{PageError, PageProblem};
use serde::{Deserialize, Serialize};

use crate::accounts::AuthUser;
use crate::routes::Routes;
use crate::state::{Page, PortalState};
use vault::Vault;

pub(crate) fn routes(routes: Routes) -> Routes {
    routes
        .signed_in("/services/{id}/form", get(steps::start))
        .signed_in(
            "/services/{id}/form/{step}",
            get(steps::show).post(steps::post),
        )
        .signed_in("/services/{id}/review", get(submit::review))
        .signed_in("/services/{id}/submit", post(submit::submit))
        .signed_in("/services/{id}/discard", post(submit::discard))
        .signed_in("/applications", get(submit::list))
        .signed_in("/applications/{reference}", get(submit::done))
        .signed_in(
            "/applications/{reference}/receipt.pdf",
            get(submit::receipt),
        )
        .signed_in("/account/verified-attributes", get(prefill::page))
        .signed_in("/account/verified-attributes/delete", post(prefill::delete))
}

/// A service that can be applied for here, with its form.
#[derive(Debug, Clone)]
pub(crate) struct OnlineService {
    pub key: String,
    pub definition: Arc<ServiceDefinition>,
    pub form: Arc<FormDefinition>,
}

/// Finds the online service of a path; anything else is 404.
pub(crate) fn online_service(
    state: &PortalState,
    id: Result<Path<String>, PathRejection>,
    page: &Page,
) -> Result<OnlineService, Box<Response>> {
    let entry =
        crate::pages::service::lookup(state, id, page).map_err(|e| Box::new(e.into_response()))?;
    match (&entry.definition, &entry.form) {
        (Some(definition), Some(form)) if definition.online => Ok(OnlineService {
            key: entry.key.to_string(),
            definition: Arc::clone(definition),
            form: Arc::clone(form),
        }),
        _ => Err(Box::new(
            PageError::new(PageProblem::NotFound, page.chrome.clone()).into_response(),
        )),
    }
}

/// The part of a draft that is sealed: answers, progress, and the id that makes a second
/// click on "submit" find the first submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DraftContent {
    pub submission_id: uuid::Uuid,
    pub progress: Progress,
    pub answers: serde_json::Value,
    /// Answers prefilled from verified attributes and not changed since.
    #[serde(default)]
    pub verified: Marks,
}

/// A loaded draft, or a new one not yet stored.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub id: uuid::Uuid,
    pub created_at: DateTime<Utc>,
    pub submission_id: uuid::Uuid,
    pub progress: Progress,
    pub answers: Answers,
    pub verified: Marks,
    pub stored: bool,
}

impl Draft {
    fn new(now: DateTime<Utc>) -> Self {
        Self {
            id: uuid::Uuid::new_v4(),
            created_at: now,
            submission_id: uuid::Uuid::new_v4(),
            progress: Progress::default(),
            answers: Answers::default(),
            verified: Marks::default(),
            stored: false,
        }
    }
}

/// Keeps verified attributes for prefill; see [`prefill::keep`]. The entry point for every
/// identity check (eID, the counter).
pub(crate) async fn keep_verified_attributes(
    state: &PortalState,
    account: &rathaus_domain::AccountId,
    scope: rathaus_store::AttributeScope,
    attributes: &rathaus_domain::VerifiedAttributes,
) -> Result<(), prefill::KeepError> {
    prefill::keep(state, account, scope, attributes).await
}

pub(crate) fn vault(state: &PortalState) -> Vault {
    Vault::from_shared_secret(&state.accounts.csrf_key)
}

/// Binds sealed blobs to their owner, so a blob copied into another row does not open.
pub(crate) fn draft_owner(user: &AuthUser, service: &OnlineService) -> String {
    format!("draft:{}:{}", user.account.id, service.key)
}

pub(crate) fn file_owner(user: &AuthUser, file: uuid::Uuid) -> String {
    format!("file:{}:{file}", user.account.id)
}

/// The citizen's draft for the service, or a fresh one. A draft that does not open (damaged,
/// or from another key) is treated as missing rather than shown half.
pub(crate) async fn load_draft(
    state: &PortalState,
    user: &AuthUser,
    service: &OnlineService,
) -> Result<Draft, rathaus_store::StoreError> {
    let now = state.clock.now();
    let Some(record) = state
        .store
        .draft(&user.account.id, &service.key, now)
        .await?
    else {
        return Ok(Draft::new(now));
    };
    let content = vault(state)
        .open(&record.sealed, &draft_owner(user, service))
        .ok()
        .and_then(|plain| serde_json::from_slice::<DraftContent>(&plain).ok());
    let Some(content) = content else {
        tracing::warn!(draft = %record.id, "a stored draft could not be opened; starting afresh");
        return Ok(Draft {
            id: record.id,
            stored: true,
            ..Draft::new(now)
        });
    };
    let fields: Vec<&rathaus_forms::Field> = service.form.fields().map(|(_, f)| f).collect();
    let mut answers = Answers::from_json(&fields, &content.answers);
    // Computed values are never stored: they are worked out again from the answers.
    rathaus_forms::engine::compute(&service.form, &mut answers, today(state));
    let mut verified = content.verified;
    rathaus_forms::prefill::keep_unchanged(&mut verified, &answers);
    Ok(Draft {
        id: record.id,
        created_at: record.created_at,
        submission_id: content.submission_id,
        progress: content.progress,
        answers,
        verified,
        stored: true,
    })
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum SaveError {
    #[error(transparent)]
    Store(#[from] rathaus_store::StoreError),
    #[error(transparent)]
    Vault(#[from] vault::VaultError),
}

pub(crate) async fn save_draft(
    state: &PortalState,
    user: &AuthUser,
    service: &OnlineService,
    draft: &Draft,
) -> Result<(), SaveError> {
    let now = state.clock.now();
    let content = DraftContent {
        submission_id: draft.submission_id,
        progress: draft.progress.clone(),
        answers: stored_answers(service, &draft.answers),
        verified: draft.verified.clone(),
    };
    let plain = serde_json::to_vec(&content).unwrap_or_default();
    let sealed = vault(state).seal(&plain, &draft_owner(user, service))?;
    state
        .store
        .save_draft(&DraftRecord {
            id: draft.id,
            account: user.account.id,
            service_key: service.key.clone(),
            sealed,
            created_at: draft.created_at,
            updated_at: now,
            expires_at: now + chrono::Duration::days(i64::from(service.form.draft_retention_days)),
        })
        .await?;
    Ok(())
}

/// The answers as the draft keeps them: without computed values, which are worked out again
/// whenever the draft is loaded.
fn stored_answers(service: &OnlineService, answers: &Answers) -> serde_json::Value {
    let mut answers = answers.clone();
    for value in &service.form.computed {
        answers.remove(value.name.as_str());
    }
    answers.to_json()
}

/// Today in the portal's time zone; date rules ("not more than 14 days ahead") mean the
/// citizen's calendar day, which for a German portal is Berlin's.
pub(crate) fn today(state: &PortalState) -> NaiveDate {
    let now = state.clock.now();
    // Central European time without a time-zone database: +1 h, +2 h in summer (last Sunday
    // of March to last Sunday of October, at 01:00 UTC).
    let year = chrono::Datelike::year(&now);
    let last_sunday = |month: u32| {
        let last = NaiveDate::from_ymd_opt(year, month, 31).unwrap_or_default();
        last - chrono::Duration::days(i64::from(
            chrono::Datelike::weekday(&last).num_days_from_sunday(),
        ))
    };
    let summer_start = last_sunday(3).and_hms_opt(1, 0, 0).unwrap_or_default();
    let summer_end = last_sunday(10).and_hms_opt(1, 0, 0).unwrap_or_default();
    let naive = now.naive_utc();
    let offset = if naive >= summer_start && naive < summer_end {
        2
    } else {
        1
    };
    (naive + chrono::Duration::hours(offset)).date()
}

/// Where a service's form begins: `/services/{key}/form`.
pub(crate) fn form_href(service: &OnlineService) -> String {
    format!("/services/{}/form", service.key)
}

pub(crate) fn step_href(service: &OnlineService, step: &str) -> String {
    format!("/services/{}/form/{step}", service.key)
}

pub(crate) fn review_href(service: &OnlineService) -> String {
    format!("/services/{}/review", service.key)
}
