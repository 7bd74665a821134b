//! Business accounts (Unternehmenskonten, issue 3): an organisation with members who are owners
//! or members; invitations by e-mail; services for businesses applied for in the
//! organisation's name ([`applicant`]).
//!
//! Access is by membership, looked up for the signed-in account on every request: someone who
//! is not a member gets 404 for every page and action of an organisation, exactly like an
//! unknown id, and a member gets 404 for the owners' actions (SECURITY.md Z1). An invitation is
//! for an address: only an account with that address (confirmed at registration or through a
//! change of address) can accept it, so a forwarded link lets nobody else in. An organisation
//! always keeps an owner: the last one can neither leave, be demoted nor delete their account.

pub(crate) mod applicant;
mod texts;

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Duration;
use http::StatusCode;
use rathaus_auth::SecretToken;
use rathaus_domain::{
    AccountId, AuditEvent, Email, OrganisationId, OrganisationName, OrganisationNameError,
    OrganisationRole,
};
use rathaus_store::organisations::{Acceptance, MemberChange, Membership, NewInvitation};
use rathaus_web::{Chrome, PageError, PageProblem};

use crate::account_texts::AccountTexts;
use crate::accounts::forms::{FormErrors, PostedForm, email_message, respond};
use crate::accounts::session::page_store_error;
use crate::accounts::{AuthUser, Failure, absolute, audit, csrf, see_other, send_in_background};
use crate::mail::{MailKind, compose};
use crate::params::Params;
use crate::routes::Routes;
use crate::state::{Page, PortalState};
use crate::texts::day as when;
pub(crate) use texts::{OrganisationTexts, texts};

/// How long an invitation link is valid.
const INVITATION_VALIDITY: Duration = Duration::days(14);

pub(crate) fn routes(routes: Routes) -> Routes {
    routes
        .signed_in("/account/organisations", get(list).post(create))
        .signed_in("/account/organisations/{id}", get(organisation))
        .signed_in("/account/organisations/{id}/invitations", post(invite))
        .signed_in(
            "/account/organisations/{id}/invitations/{invitation}/withdraw",
            post(withdraw),
        )
        .signed_in(
            "/account/organisations/{id}/members/{account}/role",
            post(change_role),
        )
        .signed_in(
            "/account/organisations/{id}/members/{account}/remove",
            post(remove),
        )
        .signed_in("/account/organisations/{id}/leave", post(leave))
        .signed_in("/account/invitation", get(invitation).post(accept))
}

fn not_found(page: &Page) -> Response {
    PageError::new(PageProblem::NotFound, page.chrome.clone()).into_response()
}

fn name_message(o: &'static OrganisationTexts, error: OrganisationNameError) -> &'static str {
    match error {
        OrganisationNameError::Empty => o.err_name_missing,
        OrganisationNameError::TooShort => o.err_name_short,
        OrganisationNameError::TooLong => o.err_name_long,
        OrganisationNameError::ControlCharacter => o.err_name_control,
    }
}

/// The signed-in account's membership of the organisation in the path; `Err` is the 404 (or
/// the store's error page) for anyone else and for ids that are no organisation's.
async fn member(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    id: Result<Path<Vec<(String, String)>>, PathRejection>,
) -> Result<(Membership, Vec<(String, String)>), Response> {
    let Ok(Path(params)) = id else {
        return Err(not_found(page));
    };
    let Some(org) = param::<OrganisationId>(&params, "id") else {
        return Err(not_found(page));
    };
    match state.store.membership_of(&org, &user.account.id).await {
        Ok(Some(membership)) => Ok((membership, params)),
        Ok(None) => Err(not_found(page)),
        Err(e) => Err(page_store_error(page, &e)),
    }
}

/// Like [`member`], for the owners' actions: also checks the form's CSRF token. Members who
/// are not owners get 404 too.
async fn owner(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    id: Result<Path<Vec<(String, String)>>, PathRejection>,
    form: &PostedForm,
) -> Result<(Membership, Vec<(String, String)>), Response> {
    if !csrf::verify_session(user, form.get(csrf::FIELD)) {
        return Err(csrf::forbidden(page));
    }
    let (membership, params) = member(state, page, user, id).await?;
    if membership.role != OrganisationRole::Owner {
        return Err(not_found(page));
    }
    Ok((membership, params))
}

fn param<T: std::str::FromStr>(params: &[(String, String)], name: &str) -> Option<T> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.parse().ok())
}

fn organisation_href(id: &OrganisationId, notice: &str) -> String {
    format!("/account/organisations/{id}?done={notice}")
}

// ---- the list and creating ---------------------------------------------------------------

#[derive(Debug)]
struct MembershipRow {
    href: String,
    name: String,
    role: &'static str,
    since: String,
}

#[derive(Template)]
#[template(path = "portal/organisations/list.html")]
struct ListPage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    o: &'static OrganisationTexts,
    csrf: &'a str,
    rows: Vec<MembershipRow>,
    name: &'a str,
    errors: &'a FormErrors,
    left: bool,
}

async fn show_list(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    status: StatusCode,
    name: &str,
    errors: &FormErrors,
    left: bool,
) -> Response {
    let lang = page.chrome.lang;
    let o = texts(lang);
    let memberships = match state.store.organisations_of(&user.account.id).await {
        Ok(m) => m,
        Err(e) => return page_store_error(page, &e),
    };
    let rows = memberships
        .into_iter()
        .map(|m| MembershipRow {
            href: format!("/account/organisations/{}", m.organisation.id),
            name: m.organisation.name.as_str().to_owned(),
            role: o.role(m.role),
            since: when(m.joined_at, lang),
        })
        .collect();
    respond(
        state,
        page,
        status,
        &ListPage {
            chrome: &page.chrome,
            a: page.t.account,
            o,
            csrf: &user.session.csrf_secret,
            rows,
            name,
            errors,
            left,
        },
        [],
    )
}

/// `GET /account/organisations`.
pub(crate) async fn list(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    RawQuery(query): RawQuery,
) -> Response {
    let left = Params::parse(query.as_deref()).get("done") == Some("left");
    show_list(
        &state,
        &page,
        &user,
        StatusCode::OK,
        "",
        &FormErrors::default(),
        left,
    )
    .await
}

/// `POST /account/organisations`: a new organisation with the account as its owner.
pub(crate) async fn create(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let o = texts(page.chrome.lang);
    let name = match OrganisationName::parse(form.get("name")) {
        Ok(name) => name,
        Err(e) => {
            let mut errors = FormErrors::default();
            errors.add("name", name_message(o, e));
            let status = StatusCode::BAD_REQUEST;
            return show_list(
                &state,
                &page,
                &user,
                status,
                form.get("name"),
                &errors,
                false,
            )
            .await;
        }
    };
    let id = OrganisationId::random();
    let now = state.clock.now();
    if let Err(e) = state
        .store
        .create_organisation(&id, &name, &user.account.id, now)
        .await
    {
        return page_store_error(&page, &e);
    }
    audit::record(
        &state,
        AuditEvent::OrganisationCreated,
        Some(user.account.id),
        &format!("organisation={id}"),
    )
    .await;
    see_other(&organisation_href(&id, "created"))
}

// ---- one organisation -------------------------------------------------------------------

#[derive(Debug)]
struct MemberRow {
    account: String,
    email: String,
    role: &'static str,
    is_owner: bool,
    is_you: bool,
    since: String,
}

#[derive(Debug)]
struct InvitationRow {
    id: String,
    email: String,
    role: &'static str,
    until: String,
}

#[derive(Debug)]
struct ApplicationRow {
    reference: String,
    service: String,
    status: &'static str,
    submitted: String,
    by: String,
}

#[derive(Template)]
#[template(path = "portal/organisations/organisation.html")]
struct OrganisationPage<'a> {
    chrome: &'a Chrome,
    a: &'static AccountTexts,
    o: &'static OrganisationTexts,
    csrf: &'a str,
    id: String,
    name: &'a str,
    role: &'static str,
    owner: bool,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    applications: Vec<ApplicationRow>,
    notice: Option<&'static str>,
    problem: Option<&'static str>,
    invite_email: &'a str,
    errors: &'a FormErrors,
}

struct Shown<'a> {
    status: StatusCode,
    notice: Option<&'static str>,
    problem: Option<&'static str>,
    invite_email: &'a str,
    errors: FormErrors,
}

impl Shown<'_> {
    fn ok(notice: Option<&'static str>) -> Shown<'static> {
        Shown {
            status: StatusCode::OK,
            notice,
            problem: None,
            invite_email: "",
            errors: FormErrors::default(),
        }
    }
}

async fn show_organisation(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    membership: &Membership,
    shown: Shown<'_>,
) -> Response {
    let lang = page.chrome.lang;
    let o = texts(lang);
    let org = &membership.organisation;
    let owner = membership.role == OrganisationRole::Owner;
    let now = state.clock.now();
    let (members, invitations, applications) = match tokio::try_join!(
        state.store.organisation_members(&org.id),
        async {
            if owner {
                state.store.open_invitations(&org.id, now).await
            } else {
                Ok(Vec::new())
            }
        },
        state.store.organisation_applications(&org.id),
    ) {
        Ok(found) => found,
        Err(e) => return page_store_error(page, &e),
    };
    let members = members
        .into_iter()
        .map(|m| MemberRow {
            account: m.account_id.to_string(),
            email: m.email.as_str().to_owned(),
            role: o.role(m.role),
            is_owner: m.role == OrganisationRole::Owner,
            is_you: m.account_id == user.account.id,
            since: when(m.joined_at, lang),
        })
        .collect();
    let invitations = invitations
        .into_iter()
        .map(|i| InvitationRow {
            id: i.id.to_string(),
            email: i.email.as_str().to_owned(),
            role: o.role(i.role),
            until: when(i.expires_at, lang),
        })
        .collect();
    let applications = applications
        .into_iter()
        .map(|a| ApplicationRow {
            service: crate::applications::service_name(state, &a.application.service_key, lang),
            status: page.t.form.status(a.application.status),
            submitted: when(a.application.submitted_at, lang),
            reference: a.application.reference,
            by: a
                .submitted_by
                .map_or_else(|| o.deleted_account.to_owned(), |e| e.as_str().to_owned()),
        })
        .collect();
    respond(
        state,
        page,
        shown.status,
        &OrganisationPage {
            chrome: &page.chrome,
            a: page.t.account,
            o,
            csrf: &user.session.csrf_secret,
            id: org.id.to_string(),
            name: org.name.as_str(),
            role: o.role(membership.role),
            owner,
            members,
            invitations,
            applications,
            notice: shown.notice,
            problem: shown.problem,
            invite_email: shown.invite_email,
            errors: &shown.errors,
        },
        [],
    )
}

fn notice(o: &'static OrganisationTexts, done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "created" => o.notice_created,
        "invited" => o.notice_invited,
        "withdrawn" => o.notice_withdrawn,
        "role" => o.notice_role,
        "removed" => o.notice_removed,
        "joined" => o.notice_joined,
        _ => return None,
    })
}

/// `GET /account/organisations/{id}`: members, open invitations (owners), applications.
pub(crate) async fn organisation(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    id: Result<Path<Vec<(String, String)>>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    let (membership, _) = match member(&state, &page, &user, id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let o = texts(page.chrome.lang);
    let done = notice(o, Params::parse(query.as_deref()).get("done"));
    show_organisation(&state, &page, &user, &membership, Shown::ok(done)).await
}

/// `POST /account/organisations/{id}/invitations` (owners): mails a link to the address.
pub(crate) async fn invite(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    id: Result<Path<Vec<(String, String)>>, PathRejection>,
    form: PostedForm,
) -> Response {
    let (membership, _) = match owner(&state, &page, &user, id, &form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let o = texts(page.chrome.lang);
    let mut errors = FormErrors::default();
    let email = match Email::parse(form.get("email")) {
        Ok(email) => Some(email),
        Err(e) => {
            errors.add("email", email_message(page.t.account, e));
            None
        }
    };
    let role = form.get("role").parse::<OrganisationRole>().ok();
    if role.is_none() {
        errors.add("role", o.invite_role);
    }
    let org = membership.organisation.id;
    if let Some(email) = &email {
        match state.store.organisation_members(&org).await {
            Ok(members) if members.iter().any(|m| m.email.key() == email.key()) => {
                errors.add("email", o.err_already_member);
            }
            Ok(_) => {}
            Err(e) => return page_store_error(&page, &e),
        }
    }
    let (Some(email), Some(role), true) = (email, role, errors.is_empty()) else {
        let shown = Shown {
            status: StatusCode::BAD_REQUEST,
            notice: None,
            problem: None,
            invite_email: form.get("email"),
            errors,
        };
        return show_organisation(&state, &page, &user, &membership, shown).await;
    };
    match send_invitation(&state, &user, &membership, email, role).await {
        Ok(()) => see_other(&organisation_href(&org, "invited")),
        Err(e) => e.page(&page),
    }
}

async fn send_invitation(
    state: &PortalState,
    user: &AuthUser,
    membership: &Membership,
    email: Email,
    role: OrganisationRole,
) -> Result<(), Failure> {
    let token = SecretToken::generate()?;
    let now = state.clock.now();
    let org = membership.organisation.id;
    state
        .store
        .invite_member(&NewInvitation {
            id: uuid::Uuid::new_v4(),
            token_hash: token.digest(),
            organisation: org,
            email: email.clone(),
            role,
            created_at: now,
            expires_at: now + INVITATION_VALIDITY,
        })
        .await?;
    let link = absolute(
        state,
        &format!("/account/invitation?token={}", token.expose()),
    );
    send_in_background(state, compose(MailKind::Invitation, email, &link));
    audit::record(
        state,
        AuditEvent::MemberInvited,
        Some(user.account.id),
        &format!("organisation={org} role={role}"),
    )
    .await;
    Ok(())
}

/// `POST /account/organisations/{id}/invitations/{invitation}/withdraw` (owners).
pub(crate) async fn withdraw(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    id: Result<Path<Vec<(String, String)>>, PathRejection>,
    form: PostedForm,
) -> Response {
    let (membership, params) = match owner(&state, &page, &user, id, &form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let org = membership.organisation.id;
    let Some(invitation) = param::<uuid::Uuid>(&params, "invitation") else {
        return not_found(&page);
    };
    match state.store.revoke_invitation(&org, invitation).await {
        Ok(true) => see_other(&organisation_href(&org, "withdrawn")),
        Ok(false) => not_found(&page),
        Err(e) => page_store_error(&page, &e),
    }
}

/// What an owner's change of a member did, as the organisation's page shows it.
async fn after_change(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    membership: &Membership,
    change: Result<MemberChange, rathaus_store::StoreError>,
    event: (AuditEvent, String),
    done: &str,
) -> Response {
    match change {
        Ok(MemberChange::Done) => {
            audit::record(state, event.0, Some(user.account.id), &event.1).await;
            if done == "left" {
                return see_other("/account/organisations?done=left");
            }
            see_other(&organisation_href(&membership.organisation.id, done))
        }
        Ok(MemberChange::LastOwner) => {
            let o = texts(page.chrome.lang);
            let shown = Shown {
                status: StatusCode::CONFLICT,
                notice: None,
                problem: Some(o.last_owner),
                invite_email: "",
                errors: FormErrors::default(),
            };
            show_organisation(state, page, user, membership, shown).await
        }
        Ok(MemberChange::NotMember) => not_found(page),
        Err(e) => page_store_error(page, &e),
    }
}

/// `POST /account/organisations/{id}/members/{account}/role` (owners).
pub(crate) async fn change_role(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    id: Result<Path<Vec<(String, String)>>, PathRejection>,
    form: PostedForm,
) -> Response {
    let (membership, params) = match owner(&state, &page, &user, id, &form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (Some(account), Ok(role)) = (
        param::<AccountId>(&params, "account"),
        form.get("role").parse::<OrganisationRole>(),
    ) else {
        return not_found(&page);
    };
    let org = membership.organisation.id;
    let change = state.store.set_member_role(&org, &account, role).await;
    let event = (
        AuditEvent::MemberRoleChanged,
        format!("organisation={org} member={account} role={role}"),
    );
    after_change(&state, &page, &user, &membership, change, event, "role").await
}

/// `POST /account/organisations/{id}/members/{account}/remove` (owners; oneself: leave).
pub(crate) async fn remove(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    id: Result<Path<Vec<(String, String)>>, PathRejection>,
    form: PostedForm,
) -> Response {
    let (membership, params) = match owner(&state, &page, &user, id, &form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(account) = param::<AccountId>(&params, "account") else {
        return not_found(&page);
    };
    let org = membership.organisation.id;
    let change = state.store.remove_member(&org, &account).await;
    let event = (
        AuditEvent::MemberRemoved,
        format!("organisation={org} member={account}"),
    );
    let done = if account == user.account.id {
        "left"
    } else {
        "removed"
    };
    after_change(&state, &page, &user, &membership, change, event, done).await
}

/// `POST /account/organisations/{id}/leave` (every member; the last owner cannot).
pub(crate) async fn leave(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    id: Result<Path<Vec<(String, String)>>, PathRejection>,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let (membership, _) = match member(&state, &page, &user, id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let org = membership.organisation.id;
    let change = state.store.remove_member(&org, &user.account.id).await;
    let event = (
        AuditEvent::MemberRemoved,
        format!("organisation={org} left"),
    );
    after_change(&state, &page, &user, &membership, change, event, "left").await
}

// ---- accepting an invitation -------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal/organisations/invitation.html")]
struct InvitationPage<'a> {
    chrome: &'a Chrome,
    o: &'static OrganisationTexts,
    csrf: &'a str,
    token: &'a str,
    name: &'a str,
    role: &'static str,
    until: String,
}

fn invitation_message(
    state: &PortalState,
    page: &Page,
    status: StatusCode,
    title: &str,
    text: &str,
) -> Response {
    let o = texts(page.chrome.lang);
    respond(
        state,
        page,
        status,
        &crate::accounts::MessagePage {
            chrome: &page.chrome,
            title,
            text,
            extra: None,
            links: vec![("/account/organisations", o.back)],
        },
        [],
    )
}

fn invalid_invitation(state: &PortalState, page: &Page) -> Response {
    let a = page.t.account;
    invitation_message(
        state,
        page,
        StatusCode::BAD_REQUEST,
        a.link_invalid_title,
        a.link_invalid_text,
    )
}

/// `GET /account/invitation?token=…`: who invites, for which role, and the button. Not
/// signed in, the sign-in page leads back here.
pub(crate) async fn invitation(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    let Some(token) = params.get("token").and_then(SecretToken::from_received) else {
        return invalid_invitation(&state, &page);
    };
    let lang = page.chrome.lang;
    let o = texts(lang);
    let invitation = match state
        .store
        .invitation(&token.digest(), state.clock.now())
        .await
    {
        Ok(Some(invitation)) => invitation,
        Ok(None) => return invalid_invitation(&state, &page),
        Err(e) => return page_store_error(&page, &e),
    };
    if invitation.email.key() != user.account.email.key() {
        return invitation_message(
            &state,
            &page,
            StatusCode::FORBIDDEN,
            o.invitation_other_title,
            o.invitation_other_text,
        );
    }
    respond(
        &state,
        &page,
        StatusCode::OK,
        &InvitationPage {
            chrome: &page.chrome,
            o,
            csrf: &user.session.csrf_secret,
            token: token.expose(),
            name: invitation.organisation.name.as_str(),
            role: o.role(invitation.role),
            until: when(invitation.expires_at, lang),
        },
        [],
    )
}

/// `POST /account/invitation`: joins the organisation.
pub(crate) async fn accept(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    form: PostedForm,
) -> Response {
    if !csrf::verify_session(&user, form.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let Some(token) = SecretToken::from_received(form.get("token")) else {
        return invalid_invitation(&state, &page);
    };
    let o = texts(page.chrome.lang);
    let accepted = state
        .store
        .accept_invitation(
            &token.digest(),
            &user.account.id,
            &user.account.email,
            state.clock.now(),
        )
        .await;
    match accepted {
        Ok(Acceptance::Joined { organisation, role }) => {
            audit::record(
                &state,
                AuditEvent::MemberJoined,
                Some(user.account.id),
                &format!("organisation={organisation} role={role}"),
            )
            .await;
            see_other(&organisation_href(&organisation, "joined"))
        }
        Ok(Acceptance::AlreadyMember { organisation }) => {
            see_other(&format!("/account/organisations/{organisation}"))
        }
        Ok(Acceptance::OtherAddress) => invitation_message(
            &state,
            &page,
            StatusCode::FORBIDDEN,
            o.invitation_other_title,
            o.invitation_other_text,
        ),
        Ok(Acceptance::Invalid) => invalid_invitation(&state, &page),
        Err(e) => page_store_error(&page, &e),
    }
}
