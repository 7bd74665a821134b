//! The step pages: show a step, read its post, move on.

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use rathaus_forms::engine::{self, MAX_POSTED_VALUES};
use rathaus_forms::{Action, FieldError, Posted, Upload};
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
    saved: bool,
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
        false,
    )
}

#[allow(clippy::too_many_arguments)]
fn render_step(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    service: &OnlineService,
    draft: &Draft,
    index: usize,
    posted: Option<&Posted>,
    errors: &[FieldError],
    status: StatusCode,
    saved: bool,
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
    respond(
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
            blocks: view::step_blocks(step, &draft.answers, &values, errors, f),
            errors: view::errors_view(step, errors, lang),
            multipart: step.has_uploads(),
            has_back: position > 0,
            last: engine::next_visible(form, index, &draft.answers, today).is_none(),
            saved,
        },
        [],
    )
}

/// The body of a step post, url-encoded or (with uploads) multipart.
async fn read_body(
    request: Request,
    state: &PortalState,
) -> Result<(Posted, Vec<Upload>), PageProblem> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let too_large = |status: StatusCode| {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            PageProblem::TooLarge
        } else {
            PageProblem::BadRequest
        }
    };
    if !multipart {
        let axum::Form(pairs) = axum::Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(|r| too_large(r.status()))?;
        if pairs.len() > MAX_POSTED_VALUES {
            return Err(PageProblem::TooLarge);
        }
        return Ok((Posted::from_pairs(pairs), Vec::new()));
    }
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|r| too_large(r.status()))?;
    let mut pairs = Vec::new();
    let mut uploads = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| too_large(e.status()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(file_name) = field.file_name().map(str::to_owned) {
            let content = field.bytes().await.map_err(|e| too_large(e.status()))?;
            uploads.push(Upload {
                input: name,
                file_name,
                content: content.to_vec(),
            });
            if uploads.len() > MAX_UPLOADS {
                return Err(PageProblem::TooLarge);
            }
        } else {
            let value = field.text().await.map_err(|e| too_large(e.status()))?;
            pairs.push((name, value));
            if pairs.len() > MAX_POSTED_VALUES {
                return Err(PageProblem::TooLarge);
            }
        }
    }
    Ok((Posted::from_pairs(pairs), uploads))
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
        Action::Next => render_step(
            &state,
            &page,
            &user,
            &service,
            &draft,
            index,
            Some(&posted),
            &outcome.errors,
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
        ),
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
        Action::Add(_) | Action::Remove(..) | Action::RemoveFile(..) => render_step(
            &state,
            &page,
            &user,
            &service,
            &draft,
            index,
            None,
            &[],
            StatusCode::OK,
            true,
        ),
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
