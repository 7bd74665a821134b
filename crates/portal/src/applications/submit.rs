//! The review page, submitting, the confirmation with its receipt, and the list of
//! applications in the account.

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{HeaderValue, StatusCode, header};
use rathaus_catalog::{Responsible, find_responsible};
use rathaus_domain::tenant::Authority;
use rathaus_domain::{Lang, Postcode};
use rathaus_forms::definition::FieldKind;
use rathaus_forms::{Answer, Answers, engine};
use rathaus_store::{NewApplication, NewDelivery, SubmitOutcome};
use rathaus_web::{Chrome, PageError, PageProblem};

use super::view::display;
use super::{OnlineService, load_draft, online_service, step_href, today, vault};
use crate::accounts::forms::{PostedForm, respond};
use crate::accounts::session::page_store_error;
use crate::accounts::{AuthUser, csrf, see_other};
use crate::form_texts::FormTexts;
use crate::state::{Page, PortalState};
use crate::texts::date_time as when;

/// How long the receipt with the answers is kept for download (R4).
const RECEIPT_HOURS: i64 = 24;

#[derive(Debug)]
struct ReviewRow {
    label: String,
    value: String,
    change: String,
    /// "Verified: …" for an unchanged prefilled answer.
    verified: Option<String>,
}

#[derive(Debug)]
struct ReviewSection {
    title: String,
    change: String,
    rows: Vec<ReviewRow>,
}

#[derive(Template)]
#[template(path = "portal/form/review.html")]
struct ReviewPage<'a> {
    chrome: &'a Chrome,
    f: &'static FormTexts,
    service_name: &'a str,
    service_key: &'a str,
    csrf: &'a str,
    sections: Vec<ReviewSection>,
    declaration: &'a str,
    submission: String,
    recipients: Vec<String>,
    error: Option<&'static str>,
    applicants: crate::organisations::applicant::Applicants,
}

/// Rows for every shown answer, by step; used by the review page and the receipt.
fn sections(
    service: &OnlineService,
    answers: &Answers,
    marks: &rathaus_forms::prefill::Marks,
    lang: Lang,
    f: &FormTexts,
    today: chrono::NaiveDate,
) -> Vec<ReviewSection> {
    engine::visible_steps(&service.form, answers, today)
        .into_iter()
        .map(|i| {
            let step = &service.form.steps[i];
            let href = step_href(service, step.id.as_str());
            let mut rows = Vec::new();
            for field in &step.fields {
                let Some(answer) = answers.get(field.name.as_str()) else {
                    continue;
                };
                if let (
                    FieldKind::Group {
                        fields, item_label, ..
                    },
                    Answer::Items(items),
                ) = (&field.kind, answer)
                {
                    for (n, item) in items.iter().enumerate() {
                        for inner in fields {
                            if let Some(a) = item.get(inner.name.as_str()) {
                                rows.push(ReviewRow {
                                    label: format!(
                                        "{} {}: {}",
                                        item_label.get(lang),
                                        n + 1,
                                        inner.label.get(lang)
                                    ),
                                    value: display(inner, a, lang, f),
                                    change: format!(
                                        "{href}#{}",
                                        super::view::input_id(&format!(
                                            "{}.{n}.{}",
                                            field.name, inner.name
                                        ))
                                    ),
                                    verified: None,
                                });
                            }
                        }
                    }
                    continue;
                }
                rows.push(ReviewRow {
                    label: field.label.get(lang).to_owned(),
                    value: display(field, answer, lang, f),
                    change: format!("{href}#{}", super::view::input_id(field.name.as_str())),
                    verified: marks
                        .get(field.name.as_str())
                        .map(|mark| super::view::verified_label(mark, f, lang)),
                });
            }
            // Values the portal worked out (a fee, a zone) show before submit, with the step
            // whose answers decide them.
            for value in service.form.computed_on(step.id.as_str()) {
                rows.push(ReviewRow {
                    label: format!("{} ({})", value.label.get(lang), f.computed_by_portal),
                    value: answers
                        .get(value.name.as_str())
                        .map_or_else(|| f.computed_pending.to_owned(), |a| value.display(a, lang)),
                    change: href.clone(),
                    verified: None,
                });
            }
            ReviewSection {
                title: step.title.get(lang).to_owned(),
                change: href,
                rows,
            }
        })
        .collect()
}

/// The authorities that receive the application: found from the address the form names as
/// deciding (`responsible_address`, the plot of a building permit), or else from the first
/// address, in the order of the form, that lies in the tenant's area (for authorities serving
/// the whole tenant, any will do).
fn recipients<'a>(
    state: &'a PortalState,
    service: &OnlineService,
    answers: &Answers,
) -> Option<Vec<&'a Authority>> {
    let postcode = |answer: Option<&Answer>| -> Option<Postcode> {
        match answer {
            Some(Answer::Parts(parts)) => parts.get("postcode").and_then(|p| p.parse().ok()),
            _ => None,
        }
    };
    let mut postcodes: Vec<Postcode> = Vec::new();
    if let Some(name) = &service.form.responsible_address {
        postcodes.extend(postcode(answers.get(name.as_str())));
    }
    if postcodes.is_empty() {
        for (_, field) in service.form.fields() {
            match &field.kind {
                FieldKind::Address => postcodes.extend(postcode(answers.get(field.name.as_str()))),
                FieldKind::Group { fields, .. } => {
                    for item in answers.items(field.name.as_str()) {
                        for inner in fields {
                            if matches!(inner.kind, FieldKind::Address) {
                                postcodes.extend(postcode(item.get(inner.name.as_str())));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    // A form without any address still has a recipient when one authority serves everyone.
    if postcodes.is_empty() {
        postcodes.extend(
            state
                .tenant
                .districts
                .iter()
                .flat_map(|d| d.postcodes.first().copied())
                .take(1),
        );
    }
    // On a postcode shared by two districts, the first one's authority takes it; it forwards
    // within the administration when the street lies in the other.
    let first = |responsibility: &rathaus_domain::service::Responsibility, postcode| {
        match find_responsible(&state.tenant, Some(responsibility), postcode) {
            Responsible::Found(found) => found.first().map(|f| f.authority),
            _ => None,
        }
    };
    let responsibility = service.definition.responsibility.as_ref()?;
    let (postcode, responsible) = postcodes
        .into_iter()
        .find_map(|postcode| first(responsibility, postcode).map(|a| (postcode, a)))?;
    // Further recipients come from the same address; the application goes to all or none.
    let mut all = vec![responsible];
    for recipient in &service.definition.recipients {
        let kind = rathaus_domain::service::Responsibility {
            authority_kind: recipient.authority_kind.clone(),
        };
        all.push(first(&kind, postcode)?);
    }
    Some(all)
}

pub async fn review(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let service = match online_service(&state, id, &page) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if let Some(denied) = super::steps::level_gate(&state, &page, &user, &service) {
        return denied;
    }
    let draft = match load_draft(&state, &user, &service).await {
        Ok(d) => d,
        Err(e) => return page_store_error(&page, &e),
    };
    let today = today(&state);
    if let Some(i) = engine::first_incomplete(&service.form, &draft.answers, &draft.progress, today)
    {
        return see_other(&step_href(&service, service.form.steps[i].id.as_str()));
    }
    render_review(
        &state,
        &page,
        &user,
        &service,
        &draft.answers,
        &draft.verified,
        draft.submission_id,
        None,
        StatusCode::OK,
        "",
    )
    .await
}

/// The review page; for a service also for businesses it offers the account's organisations
/// as applicant, with `selected` (a posted choice) kept.
#[allow(clippy::too_many_arguments)]
async fn render_review(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    service: &OnlineService,
    answers: &Answers,
    marks: &rathaus_forms::prefill::Marks,
    submission: uuid::Uuid,
    error: Option<&'static str>,
    status: StatusCode,
    selected: &str,
) -> Response {
    let lang = page.chrome.lang;
    let applicants = match crate::organisations::applicant::choices(
        state, user, service, lang, selected,
    )
    .await
    {
        Ok(applicants) => applicants,
        Err(e) => return page_store_error(page, &e),
    };
    let f = page.t.form;
    // Further recipients say why they get a copy: the citizen sees who receives their data.
    let purposes = std::iter::once(None).chain(
        service
            .definition
            .recipients
            .iter()
            .map(|r| Some(r.purpose.get(lang))),
    );
    let recipients = recipients(state, service, answers)
        .unwrap_or_default()
        .into_iter()
        .zip(purposes)
        .map(|(a, purpose)| match purpose {
            Some(purpose) => format!("{} ({purpose})", a.name.get(lang)),
            None => a.name.get(lang).to_owned(),
        })
        .collect::<Vec<_>>();
    let error = error.or((recipients.is_empty()).then_some(f.routing_failed));
    respond(
        state,
        page,
        status,
        &ReviewPage {
            chrome: &page.chrome,
            f,
            service_name: service.definition.name.get(lang),
            service_key: &service.key,
            csrf: &user.session.csrf_secret,
            sections: sections(service, answers, marks, lang, f, today(state)),
            declaration: service.form.declaration.get(lang),
            submission: submission.to_string(),
            recipients,
            error,
            applicants,
        },
        [],
    )
}

/// A reference people can read out on the phone: tenant letters, year, 8 characters from an
/// alphabet without look-alikes (40 random bits).
fn new_reference(state: &PortalState) -> Option<String> {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let bytes = rathaus_auth::tokens::random_bytes::<8>().ok()?;
    let code: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    let prefix: String = state
        .tenant
        .id
        .as_str()
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(2)
        .collect::<String>()
        .to_ascii_uppercase();
    let year = chrono::Datelike::year(&state.clock.now());
    Some(format!("{prefix}-{year}-{}-{}", &code[..4], &code[4..]))
}

pub async fn submit(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    id: Result<Path<String>, PathRejection>,
    form: PostedForm,
) -> Response {
    let service = match online_service(&state, id, &page) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    if let Some(denied) = super::steps::level_gate(&state, &page, &user, &service) {
        return denied;
    }
    let draft = match load_draft(&state, &user, &service).await {
        Ok(d) => d,
        Err(e) => return page_store_error(&page, &e),
    };
    // A second click after the first went through: the draft is gone, the application is
    // there; show it instead of a second submission.
    if !draft.stored {
        if let Ok(posted) = form.get("submission").parse::<uuid::Uuid>()
            && let Ok(Some(app)) = state
                .store
                .application_by_submission(&user.account.id, posted)
                .await
        {
            return see_other(&format!("/applications/{}", app.reference));
        }
        return see_other(&super::form_href(&service));
    }
    let today = today(&state);
    if let Some(i) = engine::first_incomplete(&service.form, &draft.answers, &draft.progress, today)
    {
        return see_other(&step_href(&service, service.form.steps[i].id.as_str()));
    }
    // Answers of earlier steps may have changed what later rules say: check everything again.
    if let Some((i, _)) = engine::check_all(&service.form, &draft.answers, today) {
        let mut draft = draft;
        draft
            .progress
            .completed
            .remove(service.form.steps[i].id.as_str());
        if let Err(e) = super::save_draft(&state, &user, &service, &draft).await {
            return PageError::internal(page.chrome, e).into_response();
        }
        return see_other(&step_href(&service, service.form.steps[i].id.as_str()));
    }
    let f = page.t.form;
    let organisation = match crate::organisations::applicant::chosen(
        &state,
        &user,
        &service,
        form.get("applicant"),
    )
    .await
    {
        Ok(Ok(organisation)) => organisation,
        Ok(Err(())) => return PageError::new(PageProblem::BadRequest, page.chrome).into_response(),
        Err(e) => return page_store_error(&page, &e),
    };
    if form.get("declaration") != "yes" {
        return render_review(
            &state,
            &page,
            &user,
            &service,
            &draft.answers,
            &draft.verified,
            draft.submission_id,
            Some(f.declaration_missing),
            StatusCode::UNPROCESSABLE_ENTITY,
            form.get("applicant"),
        )
        .await;
    }
    let Some(recipients) = recipients(&state, &service, &draft.answers) else {
        return render_review(
            &state,
            &page,
            &user,
            &service,
            &draft.answers,
            &draft.verified,
            draft.submission_id,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            form.get("applicant"),
        )
        .await;
    };
    let Some(reference) = new_reference(&state) else {
        return PageError::new(PageProblem::Unavailable, page.chrome).into_response();
    };
    let now = state.clock.now();
    let lang = page.chrome.lang;
    let mut document = rathaus_forms::document::submission_document(
        &service.definition.key,
        service.definition.name.de(),
        &reference,
        now,
        lang,
        &draft.answers,
        &draft.verified,
    );
    // The authority sees in whose name the application is made; the person who made it is
    // the applicant's representative, as on a paper form signed for a company.
    if let (Some((id, name)), Some(fields)) = (&organisation, document.as_object_mut()) {
        fields.insert(
            "on_behalf_of".to_owned(),
            serde_json::json!({ "organisation_id": id.to_string(), "name": name.as_str() }),
        );
    }
    let sealer = vault(&state);
    // The attachments travel inside the envelope with the document.
    let mut attachments = serde_json::Map::new();
    for file in draft.answers.files() {
        let sealed = match state.store.draft_file(&user.account.id, file.id).await {
            Ok(Some(sealed)) => sealed,
            Ok(None) => {
                return PageError::internal(
                    page.chrome,
                    "an uploaded file of the draft is missing",
                )
                .into_response();
            }
            Err(e) => return page_store_error(&page, &e),
        };
        match sealer.open(&sealed, &super::file_owner(&user, file.id)) {
            Ok(content) => {
                attachments.insert(
                    file.id.to_string(),
                    serde_json::Value::String(base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD,
                        content,
                    )),
                );
            }
            Err(e) => return PageError::internal(page.chrome, e).into_response(),
        }
    }
    let plain = serde_json::to_vec(&serde_json::json!({
        "document": document,
        "attachments": attachments,
    }))
    .unwrap_or_default();
    let plain = std::sync::Arc::new(plain);
    // One envelope per recipient, each encrypted to that authority node's pinned key (C1, C2);
    // without a valid pinned key nothing is submitted.
    let mut deliveries = Vec::new();
    for authority in &recipients {
        let keys = match crate::delivery::node_public_keys(&state, authority.node.as_str(), now)
            .await
        {
            Ok(keys) => keys,
            Err(e) => {
                tracing::error!(node = %authority.node, error = %e, "no usable key for the recipient");
                return PageError::new(PageProblem::Unavailable, page.chrome).into_response();
            }
        };
        let plain = std::sync::Arc::clone(&plain);
        let sealed = tokio::task::spawn_blocking(move || {
            rathaus_seal::seal(&plain, "application/json", &keys, now)
        })
        .await;
        match sealed {
            Ok(Ok(sealed)) => deliveries.push(NewDelivery {
                id: uuid::Uuid::new_v4(),
                authority: authority.id.clone(),
                node: authority.node.clone(),
                envelope: sealed.jwe.into_bytes(),
            }),
            Ok(Err(e)) => return PageError::internal(page.chrome, e).into_response(),
            Err(e) => return PageError::internal(page.chrome, e).into_response(),
        }
    }
    let receipt = build_receipt(
        &service,
        &draft.answers,
        &draft.verified,
        &reference,
        now,
        lang,
        f,
        &recipients,
        today,
    );
    // What the receipt says is kept, sealed; the PDF is rendered when it is downloaded (fonts,
    // layout and compression were two fifths of a submit's CPU time, and not everyone
    // downloads it; rendering is deterministic, so it is the same document either way).
    let kept = match serde_json::to_vec(&receipt) {
        Ok(kept) => kept,
        Err(e) => return PageError::internal(page.chrome, e).into_response(),
    };
    let sealed_receipt = match sealer.seal(&kept, &receipt_owner(&user, &reference)) {
        Ok(s) => s,
        Err(e) => return PageError::internal(page.chrome, e).into_response(),
    };
    let application = NewApplication {
        reference: reference.clone(),
        submission_id: draft.submission_id,
        account: user.account.id,
        service_key: service.key.clone(),
        submitted_at: now,
        deliveries,
        organisation,
        receipt: Some((sealed_receipt, now + chrono::Duration::hours(RECEIPT_HOURS))),
    };
    match state.store.submit_application(&application).await {
        Ok(SubmitOutcome::Submitted) => {
            rathaus_failpoint::hit(rathaus_failpoint::SUBMIT_AFTER_COMMIT);
            tracing::info!(reference = %reference, service = %service.key, "application submitted");
            state.delivery_wake.notify_one();
            crate::accounts::audit::record(
                &state,
                rathaus_domain::AuditEvent::ApplicationSubmitted,
                Some(user.account.id),
                &format!("reference={reference} service={}", service.key),
            )
            .await;
            see_other(&format!("/applications/{reference}"))
        }
        Ok(SubmitOutcome::AlreadySubmitted { reference }) => {
            see_other(&format!("/applications/{reference}"))
        }
        Err(e) => page_store_error(&page, &e),
    }
}

/// Binds a sealed receipt to its account and application.
fn receipt_owner(user: &AuthUser, reference: &str) -> String {
    format!("receipt:{}:{reference}", user.account.id)
}

/// Why a kept receipt could not be turned into a PDF.
#[derive(Debug, thiserror::Error)]
enum KeptReceiptError {
    #[error("the kept receipt is not readable: {0}")]
    Unreadable(#[from] serde_json::Error),
    #[error(transparent)]
    Render(#[from] rathaus_receipt::ReceiptError),
}

/// The PDF of a kept receipt. Receipts kept before rendering moved to the download are the
/// PDF itself; they are deleted after [`RECEIPT_HOURS`], so this branch can go after that.
fn render_kept(kept: &[u8]) -> Result<Vec<u8>, KeptReceiptError> {
    if kept.starts_with(b"%PDF-") {
        return Ok(kept.to_vec());
    }
    let receipt: rathaus_receipt::Receipt = serde_json::from_slice(kept)?;
    Ok(rathaus_receipt::render(&receipt)?)
}

#[allow(clippy::too_many_arguments)]
fn build_receipt(
    service: &OnlineService,
    answers: &Answers,
    marks: &rathaus_forms::prefill::Marks,
    reference: &str,
    now: DateTime<Utc>,
    lang: Lang,
    f: &FormTexts,
    recipients: &[&Authority],
    today: chrono::NaiveDate,
) -> rathaus_receipt::Receipt {
    rathaus_receipt::Receipt {
        lang: lang.code(),
        title: f.receipt_title.to_owned(),
        portal_name: match lang {
            Lang::De => "Serviceportal".to_owned(),
            Lang::En => "Service portal".to_owned(),
        },
        service_name: service.definition.name.get(lang).to_owned(),
        reference_label: f.reference.to_owned(),
        reference: reference.to_owned(),
        submitted_label: f.submitted_at.to_owned(),
        submitted_at: when(now, lang),
        authority_label: f.recipient.to_owned(),
        authorities: recipients
            .iter()
            .map(|a| a.name.get(lang).to_owned())
            .collect(),
        sections: sections(service, answers, marks, lang, f, today)
            .into_iter()
            .map(|s| rathaus_receipt::Section {
                heading: s.title,
                rows: s
                    .rows
                    .into_iter()
                    .map(|r| rathaus_receipt::Row {
                        label: r.label,
                        // The receipt says which values came verified, like the review page.
                        value: match r.verified {
                            Some(mark) => format!("{} ({mark})", r.value),
                            None => r.value,
                        },
                    })
                    .collect(),
            })
            .collect(),
        attachments_label: f.attachments.to_owned(),
        attachments: answers
            .files()
            .iter()
            .map(|file| format!("{} ({})", file.name, super::view::human_size(file.size)))
            .collect(),
        footer: f.receipt_footer.to_owned(),
    }
}

pub async fn discard(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    id: Result<Path<String>, PathRejection>,
    form: PostedForm,
) -> Response {
    let service = match online_service(&state, id, &page) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    match state
        .store
        .delete_draft(&user.account.id, &service.key)
        .await
    {
        Ok(()) => see_other("/applications"),
        Err(e) => page_store_error(&page, &e),
    }
}

#[derive(Debug)]
struct ApplicationRow {
    reference: String,
    service: String,
    submitted: String,
    status: &'static str,
}

#[derive(Debug)]
struct DraftRow {
    service: String,
    href: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "portal/form/applications.html")]
struct ApplicationsPage<'a> {
    chrome: &'a Chrome,
    f: &'static FormTexts,
    applications: Vec<ApplicationRow>,
    drafts: Vec<DraftRow>,
    saved: bool,
}

pub(crate) fn service_name(state: &PortalState, key: &str, lang: Lang) -> String {
    key.parse()
        .ok()
        .and_then(|k| state.catalog.get(&k))
        .map_or_else(|| key.to_owned(), |e| e.name(lang).text.to_owned())
}

pub async fn list(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    RawQuery(query): RawQuery,
) -> Response {
    let lang = page.chrome.lang;
    let now = state.clock.now();
    let (applications, drafts) = match (
        state.store.applications(&user.account.id).await,
        state.store.drafts(&user.account.id, now).await,
    ) {
        (Ok(a), Ok(d)) => (a, d),
        (Err(e), _) | (_, Err(e)) => return page_store_error(&page, &e),
    };
    let f = page.t.form;
    respond(
        &state,
        &page,
        StatusCode::OK,
        &ApplicationsPage {
            chrome: &page.chrome,
            f,
            applications: applications
                .into_iter()
                .map(|a| ApplicationRow {
                    service: service_name(&state, &a.service_key, lang),
                    submitted: when(a.submitted_at, lang),
                    status: f.status(a.status),
                    reference: a.reference,
                })
                .collect(),
            drafts: drafts
                .into_iter()
                .map(|d| DraftRow {
                    service: service_name(&state, &d.service_key, lang),
                    href: format!("/services/{}/form", d.service_key),
                    expires: when(d.expires_at, lang),
                })
                .collect(),
            saved: query.as_deref() == Some("saved=1"),
        },
        [],
    )
}

#[derive(Template)]
#[template(path = "portal/form/done.html")]
struct DonePage<'a> {
    chrome: &'a Chrome,
    f: &'static FormTexts,
    service: String,
    reference: &'a str,
    submitted: String,
    status: &'static str,
    /// The organisation it was made for, with the label.
    on_behalf_of: Option<(&'static str, String)>,
    receipt: bool,
    undeliverable: bool,
    service_href: String,
    recipients: Vec<RecipientRow>,
}

/// One receiving authority on the application page, with where its copy stands; an
/// undeliverable one with its contact, so the citizen can apply there another way (R2).
#[derive(Debug)]
struct RecipientRow {
    name: String,
    status: &'static str,
    contact: Option<RecipientContact>,
}

#[derive(Debug)]
struct RecipientContact {
    address: String,
    phone: Option<String>,
    email: Option<String>,
    hours: Option<String>,
}

fn recipient_rows(
    state: &PortalState,
    records: Vec<rathaus_store::RecipientRecord>,
    lang: Lang,
    f: &'static FormTexts,
) -> Vec<RecipientRow> {
    use rathaus_store::{ApplicationStatus as S, DeliveryState};
    records
        .into_iter()
        .map(|record| {
            let authority = record
                .authority
                .parse()
                .ok()
                .and_then(|id| state.tenant.authority(&id));
            let dead = record.state == DeliveryState::Dead;
            RecipientRow {
                // An authority no longer in the tenant file still shows by its id.
                name: authority
                    .map_or_else(|| record.authority.clone(), |a| a.name.get(lang).to_owned()),
                // Each office reports on its own copy (received, in progress, decided, …).
                status: f.status(match record.state {
                    DeliveryState::Pending => S::Queued,
                    DeliveryState::Delivered => record.case_status.unwrap_or(S::Delivered),
                    DeliveryState::Dead => S::Undeliverable,
                }),
                contact: authority.filter(|_| dead).map(|a| RecipientContact {
                    address: format!(
                        "{}, {} {}",
                        a.address.street, a.address.postcode, a.address.city
                    ),
                    phone: a.phone.clone(),
                    email: a.email.clone(),
                    hours: a.opening_hours.as_ref().map(|h| h.get(lang).to_owned()),
                }),
            }
        })
        .collect()
}

pub async fn done(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    reference: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(reference)) = reference else {
        return PageError::new(PageProblem::BadRequest, page.chrome).into_response();
    };
    let lang = page.chrome.lang;
    let now = state.clock.now();
    // Looked up by (account, reference): another account's reference is simply not found (Z1).
    let application = match state.store.application(&user.account.id, &reference).await {
        Ok(Some(a)) => a,
        Ok(None) => return PageError::new(PageProblem::NotFound, page.chrome).into_response(),
        Err(e) => return page_store_error(&page, &e),
    };
    let receipt = match state.store.receipt(&user.account.id, &reference, now).await {
        Ok(r) => r.is_some(),
        Err(e) => return page_store_error(&page, &e),
    };
    let f = page.t.form;
    let recipients = match state.store.recipients(&user.account.id, &reference).await {
        Ok(records) => recipient_rows(&state, records, lang, f),
        Err(e) => return page_store_error(&page, &e),
    };
    respond(
        &state,
        &page,
        StatusCode::OK,
        &DonePage {
            chrome: &page.chrome,
            f,
            service: service_name(&state, &application.service_key, lang),
            reference: &application.reference,
            submitted: when(application.submitted_at, lang),
            status: f.status(application.status),
            on_behalf_of: application
                .organisation
                .clone()
                .map(|name| (crate::organisations::texts(lang).applicant_for, name)),
            receipt,
            undeliverable: application.status == rathaus_store::ApplicationStatus::Undeliverable,
            service_href: format!("/services/{}", application.service_key),
            recipients,
        },
        [],
    )
}

pub async fn receipt(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    reference: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(reference)) = reference else {
        return PageError::new(PageProblem::BadRequest, page.chrome).into_response();
    };
    let now = state.clock.now();
    let sealed = match state.store.receipt(&user.account.id, &reference, now).await {
        Ok(Some(s)) => s,
        Ok(None) => return PageError::new(PageProblem::NotFound, page.chrome).into_response(),
        Err(e) => return page_store_error(&page, &e),
    };
    let kept = match vault(&state).open(&sealed, &receipt_owner(&user, &reference)) {
        Ok(kept) => kept,
        Err(e) => return PageError::internal(page.chrome, e).into_response(),
    };
    let pdf = match tokio::task::spawn_blocking(move || render_kept(&kept)).await {
        Ok(Ok(pdf)) => pdf,
        Ok(Err(e)) => return PageError::internal(page.chrome, e).into_response(),
        Err(e) => return PageError::internal(page.chrome, e).into_response(),
    };
    let disposition = format!(
        "attachment; filename=\"{}.pdf\"",
        reference.replace(['"', '\\'], "")
    );
    let mut response = pdf.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt() -> rathaus_receipt::Receipt {
        rathaus_receipt::Receipt {
            lang: "de",
            title: "Eingangsbestätigung".into(),
            portal_name: "Serviceportal".into(),
            service_name: "Hund anmelden".into(),
            reference_label: "Aktenzeichen".into(),
            reference: "HH-2026-7KQ4-9XPM".into(),
            submitted_label: "Eingegangen am".into(),
            submitted_at: "07.12.2026, 09:05 UTC".into(),
            authority_label: "Zuständige Behörde".into(),
            authorities: vec!["Bezirksamt Altona".into()],
            sections: vec![rathaus_receipt::Section {
                heading: "Hund".into(),
                rows: vec![rathaus_receipt::Row {
                    label: "Name".into(),
                    value: "Bella".into(),
                }],
            }],
            attachments_label: "Anlagen".into(),
            attachments: Vec::new(),
            footer: "Automatisch erstellt.".into(),
        }
    }

    #[test]
    fn a_kept_receipt_renders_as_the_pdf_rendering_it_at_once_gives() {
        let receipt = receipt();
        let at_once = rathaus_receipt::render(&receipt).unwrap();
        let kept = serde_json::to_vec(&receipt).unwrap();
        assert_eq!(render_kept(&kept).unwrap(), at_once);
        // A receipt kept as a PDF (before rendering moved to the download) is served as it is.
        assert_eq!(render_kept(&at_once).unwrap(), at_once);
    }

    #[test]
    fn a_damaged_kept_receipt_is_an_error_not_a_pdf() {
        assert!(matches!(
            render_kept(b"{\"lang\":\"de\""),
            Err(KeptReceiptError::Unreadable(_))
        ));
        assert!(matches!(
            render_kept(b""),
            Err(KeptReceiptError::Unreadable(_))
        ));
    }
}
