//! The step pages: show a step, read its post, move on.

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use rathaus_forms::engine::{self, MAX_POSTED_VALUES};
use rathaus_forms::{Action, FieldError, Posted, Upload};
use rathaus_web::form_body::{self, FormLimits};
use rathaus_web::{Chrome, PageError, PageProblem};

use super::view::{self, BlockView, ErrorView, Values};
use super::{
    Draft, OnlineService, load_draft, online_service, review_href, save_draft, step_href, today,
    vault,
};
use crate::accounts::forms::respond;
use crate::accounts::session::page_store_error;
use crate::accounts::{AuthUser, csrf, see_other};
use crate::form_texts::FormTexts;
use crate::state::{Page, PortalState};

/// Most files one post may carry.
const MAX_UPLOADS: usize = 40;

#[derive(Debug)]
struct ProgressItem {
    title: String,
    href: Option<String>,
    current: bool,
}

#[derive(Template)]
#[template(path = "portal/form/step.html")]
struct StepPage<'a> {
    chrome: &'a Chrome,
    f: &'static FormTexts,
    service_name: &'a str,
    service_href: String,
    action: String,
    csrf: &'a str,
    step_id: &'a str,
    title: &'a str,
    intro: Option<&'a str>,
    position: String,
    progress: Vec<ProgressItem>,
    blocks: Vec<BlockView>,
    errors: Vec<ErrorView>,
    multipart: bool,
    has_back: bool,
    last: bool,
    /// A status line after an action that stays on the step (saved, prefilled).
    notice: Option<String>,
    computed: Vec<view::ComputedView>,
    notes: Vec<view::NoteView>,
    prefill: Option<view::PrefillView>,
}

#[derive(Template)]
#[template(path = "portal/form/level.html")]
struct LevelPage<'a> {
    chrome: &'a Chrome,
    f: &'static FormTexts,
    service_name: &'a str,
    service_href: String,
    text: String,
    yours: String,
    /// The account's level page, which returns to this form afterwards.
    raise_href: String,
}

/// Answers 403 with an explanation when the session's level is below the service's.
pub(crate) fn level_gate(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    service: &OnlineService,
) -> Option<Response> {
    let required = service.definition.assurance_level;
    if user.session.level.satisfies(required) {
        return None;
    }
    let lang = page.chrome.lang;
    let f = page.t.form;
    Some(respond(
        state,
        page,
        StatusCode::FORBIDDEN,
        &LevelPage {
            chrome: &page.chrome,
            f,
            service_name: service.definition.name.get(lang),
            service_href: format!("/services/{}", service.key),
            text: f.level_text.replace("{required}", required.label(lang)),
            yours: f
                .level_yours
                .replace("{yours}", user.session.level.label(lang)),
            raise_href: format!(
                "/account/level?return_to={}",
                crate::pages::encode(&format!("/services/{}/form", service.key))
            ),
        },
        [],
    ))
}

/// `/services/{id}/form`: resumes where the citizen stopped, or opens the first step.
pub async fn start(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let service = match online_service(&state, id, &page) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if let Some(denied) = level_gate(&state, &page, &user, &service) {
        return denied;
    }
    let draft = match load_draft(&state, &user, &service).await {
        Ok(d) => d,
        Err(e) => return page_store_error(&page, &e),
    };
    see_other(&resume_href(&state, &service, &draft))
}

/// The first step not yet done, or the review page.
fn resume_href(state: &PortalState, service: &OnlineService, draft: &Draft) -> String {
    match engine::first_incomplete(&service.form, &draft.answers, &draft.progress, today(state)) {
        Some(i) => step_href(service, service.form.steps[i].id.as_str()),
        None => review_href(service),
    }
}

pub async fn show(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let Ok(Path((id, step))) = path else {
        return PageError::new(PageProblem::BadRequest, page.chrome).into_response();
    };
    let service = match online_service(&state, Ok(Path(id)), &page) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if let Some(denied) = level_gate(&state, &page, &user, &service) {
        return denied;
    }
    let Some((index, _)) = service.form.step(&step) else {
        return PageError::new(PageProblem::NotFound, page.chrome).into_response();
    };
    let draft = match load_draft(&state, &user, &service).await {
        Ok(d) => d,
        Err(e) => return page_store_error(&page, &e),
    };
    // Steps cannot be skipped by URL (S4): anything ahead sends the citizen back.
    if !engine::may_open(
        &service.form,
        index,
        &draft.answers,
        &draft.progress,
        today(&state),
    ) {
        return see_other(&resume_href(&state, &service, &draft));
    }
    render_step(
        &state,
        &page,
        &user,
        &service,
        &draft,
        index,
        None,
        &[],
        StatusCode::OK,
        None,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn render_step(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    service: &OnlineService,
    draft: &Draft,
    index: usize,
    posted: Option<&Posted>,
    errors: &[FieldError],
    status: StatusCode,
    notice: Option<String>,
) -> Response {
    let lang = page.chrome.lang;
    let f = page.t.form;
    let form = &service.form;
    let step = &form.steps[index];
    let today = today(state);
    let visible = engine::visible_steps(form, &draft.answers, today);
    let position = visible.iter().position(|&i| i == index).unwrap_or(0);
    let progress = visible
        .iter()
        .map(|&i| {
            let s = &form.steps[i];
            let done = draft.progress.completed.contains(s.id.as_str());
            ProgressItem {
                title: s.title.get(lang).to_owned(),
                href: (done && i != index).then(|| step_href(service, s.id.as_str())),
                current: i == index,
            }
        })
        .collect();
    let values = Values {
        raw: posted.map(Posted::raw),
        lang,
    };
    let prefill = match prefill_view(state, user, service, step, f, lang).await {
        Ok(view) => view,
        Err(e) => return page_store_error(page, &e),
    };
    let eid_shown = prefill.as_ref().is_some_and(|p| p.eid);
    let mut response = respond(
        state,
        page,
        status,
        &StepPage {
            chrome: &page.chrome,
            f,
            service_name: service.definition.name.get(lang),
            service_href: format!("/services/{}", service.key),
            action: step_href(service, step.id.as_str()),
            csrf: &user.session.csrf_secret,
            step_id: step.id.as_str(),
            title: step.title.get(lang),
            intro: step.intro.as_ref().map(|t| t.get(lang)),
            position: f
                .step_of
                .replace("{n}", &(position + 1).to_string())
                .replace("{total}", &visible.len().to_string()),
            progress,
            blocks: view::step_blocks(step, &draft.answers, &draft.verified, &values, errors, f),
            errors: view::errors_view(step, errors, lang),
            multipart: step.has_uploads(),
            has_back: position > 0,
            last: engine::next_visible(form, index, &draft.answers, today).is_none(),
            notice,
            computed: view::computed_views(form, step, &draft.answers, errors, f, lang, today),
            notes: view::note_views(step, &draft.answers, lang, today),
            prefill,
        },
        [],
    );
    // The eID button posts to the portal, which redirects to the provider: the page's policy
    // has to let the form go there (CSP `form-action` applies to redirects too).
    if eid_shown {
        crate::accounts::eid::allow_provider_form(state, &mut response).await;
    }
    response
}

/// The box that offers prefill on a step with fields that declare an attribute: the button
/// that applies what is available (the citizen's consent), and the eID sign-in that reads the
/// attributes this form declares, and nothing else (R3).
async fn prefill_view(
    state: &PortalState,
    user: &AuthUser,
    service: &OnlineService,
    step: &rathaus_forms::Step,
    f: &'static FormTexts,
    lang: rathaus_domain::Lang,
) -> Result<Option<view::PrefillView>, rathaus_store::StoreError> {
    let declared: Vec<(String, rathaus_forms::definition::Attribute)> =
        rathaus_forms::prefill::prefillable(step)
            .map(|(field, attribute)| (field.label.get(lang).to_owned(), attribute))
            .collect();
    if declared.is_empty() {
        return Ok(None);
    }
    let sets = super::prefill::available(state, &user.account.id, user.session.id).await?;
    let email = user
        .account
        .email_confirmed_at
        .map(|at| (user.account.email.as_str(), at));
    let source = super::prefill::source(&sets, email);
    let can_apply = super::prefill::fills_any(step, &source);
    // The eID can fill what the ID card holds; offered while something of it is missing.
    let eid_attributes: Vec<_> = service
        .form
        .prefill_attributes()
        .into_iter()
        .filter(|a| !rathaus_forms::prefill::claims(*a).is_empty())
        .collect();
    let step_needs_eid = rathaus_forms::prefill::prefillable(step).any(|(field, attribute)| {
        !rathaus_forms::prefill::claims(attribute).is_empty()
            && source(attribute, &field.kind).is_none()
    });
    let eid = state.eid.is_some() && step_needs_eid;
    if !can_apply && !eid {
        return Ok(None);
    }
    let available = sets.first().map(|(_, attributes)| {
        f.prefill_available
            .replace("{source}", view::source_label(attributes.source.into(), f))
            .replace(
                "{date}",
                &view::date(attributes.verified_at.date_naive(), lang),
            )
    });
    Ok(Some(view::PrefillView {
        text: f.prefill_text.replace(
            "{fields}",
            &declared
                .iter()
                .map(|(label, _)| label.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        can_apply,
        available,
        eid,
        eid_text: f.prefill_eid_text.replace(
            "{attributes}",
            &eid_attributes
                .iter()
                .map(|a| crate::form_texts::attribute_label(*a, lang))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        return_to: step_href(service, step.id.as_str()),
        service_key: service.key.clone(),
    }))
}

/// The body of a step post, url-encoded or (with uploads) multipart. Empty file parts are
/// kept: the engine tells "no file chosen" from an empty file.
async fn read_body(
    request: Request,
    state: &PortalState,
) -> Result<(Posted, Vec<Upload>), PageProblem> {
    let limits = FormLimits {
        max_fields: MAX_POSTED_VALUES,
        max_files: MAX_UPLOADS,
    };
    let form = form_body::read(request, state, limits).await?;
    let uploads = form
        .files
        .into_iter()
        .map(|f| Upload {
            input: f.input,
            file_name: f.file_name,
            content: f.content,
        })
        .collect();
    Ok((Posted::from_pairs(form.fields), uploads))
}

pub async fn post(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    path: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    let Ok(Path((id, step))) = path else {
        return PageError::new(PageProblem::BadRequest, page.chrome).into_response();
    };
    let service = match online_service(&state, Ok(Path(id)), &page) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let (posted, uploads) = match read_body(request, &state).await {
        Ok(body) => body,
        Err(problem) => return PageError::new(problem, page.chrome).into_response(),
    };
    if !csrf::verify_session(&user, values_first(&posted, csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    if let Some(denied) = level_gate(&state, &page, &user, &service) {
        return denied;
    }
    let Some((index, _)) = service.form.step(&step) else {
        return PageError::new(PageProblem::NotFound, page.chrome).into_response();
    };
    let Some(action) = Action::parse(values_first(&posted, "action")) else {
        return PageError::new(PageProblem::BadRequest, page.chrome).into_response();
    };
    let mut draft = match load_draft(&state, &user, &service).await {
        Ok(d) => d,
        Err(e) => return page_store_error(&page, &e),
    };
    let today = today(&state);
    if !engine::may_open(&service.form, index, &draft.answers, &draft.progress, today) {
        return see_other(&resume_href(&state, &service, &draft));
    }
    // Every upload passes the malware scanner first (U1); an infected file, or one that
    // could not be checked, never reaches the draft.
    let (uploads, scan_errors) = scan_uploads(&state, &service, index, uploads).await;
    let outcome = match engine::read_step(
        &service.form,
        index,
        &posted,
        uploads,
        &action,
        &draft.answers,
        today,
    ) {
        Ok(outcome) => outcome,
        // A value the step does not declare: not what our page sent (Z3). Nothing is stored.
        Err(error) => {
            tracing::info!(%error, "refused a form post");
            return PageError::new(PageProblem::BadRequest, page.chrome).into_response();
        }
    };

    let mut outcome = outcome;
    // The scanner's message replaces a "file missing" for the same input.
    outcome
        .errors
        .retain(|e| !scan_errors.iter().any(|s| s.input == e.input));
    outcome.errors.extend(scan_errors);
    // Store new files before the draft that refers to them, so a crash leaves at worst an
    // orphan file (deleted with the draft), never a reference to nothing.
    let sealer = vault(&state);
    let now = state.clock.now();
    if !draft.stored {
        if let Err(e) = save_draft(&state, &user, &service, &draft).await {
            return PageError::internal(page.chrome, e).into_response();
        }
        draft.stored = true;
    }
    for (file, content) in &outcome.new_files {
        let sealed = match sealer.seal(content, &super::file_owner(&user, file.id)) {
            Ok(s) => s,
            Err(e) => return PageError::internal(page.chrome, e).into_response(),
        };
        if let Err(e) = state
            .store
            .put_draft_file(draft.id, file.id, &sealed, now)
            .await
        {
            return page_store_error(&page, &e);
        }
    }
    let step_id = service.form.steps[index].id.to_string();
    draft.answers = outcome.answers;
    let mut notice = None;
    if action == Action::Prefill {
        // The citizen asked for it on the page: fill the step's declared fields from what an
        // identity check confirmed, and mark them.
        let sets = match super::prefill::available(&state, &user.account.id, user.session.id).await
        {
            Ok(sets) => sets,
            Err(e) => return page_store_error(&page, &e),
        };
        let email = user
            .account
            .email_confirmed_at
            .map(|at| (user.account.email.as_str(), at));
        let source = super::prefill::source(&sets, email);
        let filled = rathaus_forms::prefill::apply(
            &service.form.steps[index],
            &mut draft.answers,
            &mut draft.verified,
            &source,
        );
        // A field the logic hides now is not kept, filled or not (R4).
        engine::prune(&service.form, &mut draft.answers, today);
        engine::compute(&service.form, &mut draft.answers, today);
        let f = page.t.form;
        notice = Some(if filled.is_empty() {
            f.prefill_nothing.to_owned()
        } else {
            f.prefill_done.replace("{n}", &filled.len().to_string())
        });
    }
    // A value the citizen changed is no longer the verified one.
    rathaus_forms::prefill::keep_unchanged(&mut draft.verified, &draft.answers);
    let advance = action.validates() && outcome.errors.is_empty();
    if advance {
        draft.progress.completed.insert(step_id);
    } else if action.validates() {
        draft.progress.completed.remove(&step_id);
    }
    if let Err(e) = save_draft(&state, &user, &service, &draft).await {
        return PageError::internal(page.chrome, e).into_response();
    }
    if let Err(e) = state
        .store
        .delete_draft_files(draft.id, &outcome.dropped_files)
        .await
    {
        return page_store_error(&page, &e);
    }

    match action {
        Action::Next if advance => {
            match engine::next_visible(&service.form, index, &draft.answers, today) {
                Some(next) => see_other(&step_href(&service, service.form.steps[next].id.as_str())),
                None => see_other(&super::review_href(&service)),
            }
        }
        Action::Next => {
            render_step(
                &state,
                &page,
                &user,
                &service,
                &draft,
                index,
                Some(&posted),
                &outcome.errors,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            )
            .await
        }
        Action::Back => {
            match engine::previous_visible(&service.form, index, &draft.answers, today) {
                Some(previous) => see_other(&step_href(
                    &service,
                    service.form.steps[previous].id.as_str(),
                )),
                None => see_other(&format!("/services/{}/apply", service.key)),
            }
        }
        Action::Save => see_other("/applications?saved=1"),
        // Adding or removing an entry or a file shows the same step again, from the stored
        // answers, without messages about fields the citizen has not reached yet.
        Action::Add(_) | Action::Remove(..) | Action::RemoveFile(..) => {
            render_step(
                &state,
                &page,
                &user,
                &service,
                &draft,
                index,
                None,
                &[],
                StatusCode::OK,
                Some(page.t.form.draft_saved.to_owned()),
            )
            .await
        }
        Action::Prefill => {
            render_step(
                &state,
                &page,
                &user,
                &service,
                &draft,
                index,
                None,
                &[],
                StatusCode::OK,
                notice,
            )
            .await
        }
    }
}

fn values_first<'a>(posted: &'a Posted, name: &str) -> &'a str {
    posted
        .raw()
        .get(name)
        .and_then(|v| v.first())
        .map_or("", String::as_str)
}

/// Scans each non-empty upload; returns the clean ones and a message for each refused one.
async fn scan_uploads(
    state: &PortalState,
    service: &OnlineService,
    index: usize,
    uploads: Vec<Upload>,
) -> (Vec<Upload>, Vec<FieldError>) {
    let Some(scanner) = &state.scanner else {
        return (uploads, Vec::new());
    };
    let mut clean = Vec::with_capacity(uploads.len());
    let mut errors = Vec::new();
    for upload in uploads {
        if upload.content.is_empty() {
            clean.push(upload);
            continue;
        }
        let label = field_label(service, index, &upload.input);
        match scanner.scan(&upload.content).await {
            Ok(crate::scan::Verdict::Clean) => clean.push(upload),
            Ok(crate::scan::Verdict::Infected(name)) => {
                tracing::warn!(service = %service.key, signature = %name, "an uploaded file was refused by the virus scanner");
                errors.push(FieldError {
                    input: upload.input,
                    message: rathaus_forms::Msg {
                        de: format!(
                            "Die Datei für „{}“ enthält Schadsoftware und wurde nicht angenommen.",
                            label.0
                        ),
                        en: format!(
                            "The file for “{}” contains malware and was not accepted.",
                            label.1
                        ),
                    },
                });
            }
            Err(e) => {
                tracing::error!(error = %e, "uploads cannot be scanned");
                errors.push(FieldError {
                    input: upload.input,
                    message: rathaus_forms::Msg {
                        de: format!("Die Datei für „{}“ konnte gerade nicht auf Schadsoftware geprüft werden. Bitte versuchen Sie es in einigen Minuten noch einmal.", label.0),
                        en: format!("The file for “{}” could not be checked for malware just now. Please try again in a few minutes.", label.1),
                    },
                });
            }
        }
    }
    (clean, errors)
}

/// The German and English label of the field an input belongs to.
fn field_label(service: &OnlineService, index: usize, input: &str) -> (String, String) {
    let name = input.rsplit('.').next().unwrap_or(input);
    let step = &service.form.steps[index];
    let field = step.fields.iter().find_map(|f| {
        if f.name.as_str() == name {
            return Some(f);
        }
        match &f.kind {
            rathaus_forms::FieldKind::Group { fields, .. } => {
                fields.iter().find(|g| g.name.as_str() == name)
            }
            _ => None,
        }
    });
    field.map_or_else(
        || (name.to_owned(), name.to_owned()),
        |f| (f.label.de().to_owned(), f.label.en().to_owned()),
    )
}
