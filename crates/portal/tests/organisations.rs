//! Business accounts over the portal's router on SQLite, and on PostgreSQL when `DATABASE_URL`
//! is set: creating one, inviting by e-mail, accepting with the invited address only, roles,
//! the last owner, applying in the organisation's name, and who may see and do what (Z1, S4).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::StatusCode;
use rathaus_domain::AuditEvent;
use rathaus_portal::mail::MailKind;
use rathaus_store::testing::TestDatabase;
use support::{Answer, App, Browser, Options, PASSWORD};

macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                for db in TestDatabase::all().await.unwrap() {
                    let app = App::on(db, Options::default()).await;
                    tests::$test(&app).await;
                }
            }
        )*
    };
}

on_every_backend!(
    a_business_account_is_created_joined_by_invitation_and_used_to_apply,
    z1_only_members_see_an_organisation_and_only_owners_change_it,
    an_organisation_keeps_an_owner_and_its_last_owner_cannot_delete_the_account,
    s4_posts_without_csrf_token_change_nothing,
);

/// Creates an organisation named `name`; its page's path.
async fn create(browser: &mut Browser<'_>, name: &str) -> String {
    let created = browser
        .submit(
            "/account/organisations",
            "/account/organisations",
            &[("name", name)],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let location = created.location().to_owned();
    assert!(location.ends_with("?done=created"), "{location}");
    location.trim_end_matches("?done=created").to_owned()
}

async fn invite(browser: &mut Browser<'_>, org: &str, email: &str, role: &str) -> Answer {
    browser
        .submit(
            org,
            &format!("{org}/invitations"),
            &[("email", email), ("role", role)],
        )
        .await
}

/// Opens the newest invitation link and accepts it.
async fn accept(app: &App, browser: &mut Browser<'_>) -> Answer {
    let link = app.link(MailKind::Invitation).await;
    let page = browser.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let token = link.split("token=").nth(1).unwrap().to_owned();
    browser
        .post(
            "/account/invitation",
            &[("csrf", &page.csrf()), ("token", &token)],
        )
        .await
}

/// The path of the form that changes or removes the member shown with `email` on `page`.
fn member_action(page: &str, email: &str, action: &str) -> String {
    let row = page
        .split("<tr class=\"kern-table__row\">")
        .find(|row| row.contains(email) && row.contains("/members/"))
        .unwrap_or_else(|| panic!("no member row for {email}"));
    let start = row.find("/account/organisations/").unwrap();
    let actions: Vec<&str> = row[start..]
        .split('"')
        .filter(|s| s.starts_with("/account/organisations/"))
        .collect();
    actions
        .into_iter()
        .find(|a| a.ends_with(action))
        .unwrap_or_else(|| panic!("no {action} for {email}"))
        .to_owned()
}

mod tests {
    use super::*;

    pub(super) async fn a_business_account_is_created_joined_by_invitation_and_used_to_apply(
        app: &App,
    ) {
        let mut anna = app.browser();
        anna.create_account("anna@example.org").await;
        assert!(
            anna.get("/account")
                .await
                .body
                .contains("id=\"organisations-link\"")
        );

        // A name that is no name is refused next to the field.
        let refused = anna
            .submit(
                "/account/organisations",
                "/account/organisations",
                &[("name", "  ")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(
            refused.body.contains("id=\"name-error\""),
            "{}",
            refused.body
        );

        let org = create(&mut anna, "Hundeschule   Pfote GmbH").await;
        let page = anna.get(&org).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Hundeschule Pfote GmbH"));
        assert!(
            page.body.contains("id=\"your-role\">Inhaber/in"),
            "{}",
            page.body
        );
        let list = anna.get("/account/organisations").await;
        assert!(list.body.contains("Hundeschule Pfote GmbH"));

        // The invitation goes to Bob's address; Carl, signed in with another, cannot use it.
        let invited = invite(&mut anna, &org, "Bob@Example.org", "member").await;
        assert_eq!(invited.status, StatusCode::SEE_OTHER, "{}", invited.body);
        let mail = app
            .mails()
            .await
            .into_iter()
            .rev()
            .find(|m| m.kind == MailKind::Invitation)
            .unwrap();
        assert_eq!(mail.to.as_str(), "Bob@example.org");
        assert!(anna.get(&org).await.body.contains("id=\"invitations\""));
        let mut carl = app.browser();
        carl.create_account("carl@example.org").await;
        let link = app.link(MailKind::Invitation).await;
        assert_eq!(carl.get(&link).await.status, StatusCode::FORBIDDEN);
        // Not signed in, the link leads to the sign-in page and back.
        let anonymous = app.browser().get(&link).await;
        assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
        assert!(
            anonymous.location().starts_with("/account/sign-in?next="),
            "{}",
            anonymous.location()
        );

        let mut bob = app.browser();
        bob.create_account("bob@example.org").await;
        let joined = accept(app, &mut bob).await;
        assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
        assert_eq!(joined.location(), format!("{org}?done=joined"));
        let bobs = bob.get(&org).await;
        assert!(
            bobs.body.contains("id=\"your-role\">Mitglied"),
            "{}",
            bobs.body
        );
        assert!(bobs.body.contains("anna@example.org") && bobs.body.contains("bob@example.org"));
        // Members see neither the invitations nor the owners' buttons.
        assert!(!bobs.body.contains("id=\"invitations-title\""));
        assert!(!bobs.body.contains("/members/"));
        // The link is spent.
        assert_eq!(bob.get(&link).await.status, StatusCode::BAD_REQUEST);

        // The dog register is also for businesses: its review page asks for whom Bob applies
        // (without the declaration the review page comes back, with the choice kept).
        let review = bob
            .fill_and_submit("local-test-dog-register", "Rex", &[])
            .await;
        assert_eq!(review.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(review.body.contains("id=\"applicant\""), "{}", review.body);
        assert!(review.body.contains("Hundeschule Pfote GmbH"));
        // A service for citizens only does not ask, nor does it for someone without one.
        let citizens = bob.fill_and_submit("local-test-dog", "Rex", &[]).await;
        assert!(!citizens.body.contains("id=\"applicant\""));
        let alone = carl
            .fill_and_submit("local-test-dog-register", "Rex", &[])
            .await;
        assert!(!alone.body.contains("id=\"applicant\""));
        let own = bob
            .apply_for_dog_service("local-test-dog-register", "Rex")
            .await;
        assert!(
            !bob.get(&format!("/applications/{own}"))
                .await
                .body
                .contains("on-behalf-of")
        );
        let org_id = org.trim_start_matches("/account/organisations/").to_owned();
        let reference = bob
            .apply_for_dog_service_with(
                "local-test-dog-register",
                "Bello",
                &[("applicant", &org_id)],
            )
            .await;
        let done = bob.get(&format!("/applications/{reference}")).await;
        assert!(
            done.body
                .contains("id=\"on-behalf-of\">Hundeschule Pfote GmbH"),
            "{}",
            done.body
        );
        // Every member sees the organisation's applications, with who made them.
        let annas = anna.get(&org).await;
        assert!(annas.body.contains(&reference), "{}", annas.body);
        assert!(annas.body.contains("id=\"organisation-applications\""));
        let table = annas
            .body
            .split("id=\"organisation-applications\"")
            .nth(1)
            .unwrap()
            .split("<tbody")
            .nth(1)
            .unwrap()
            .split("</tbody>")
            .next()
            .unwrap();
        assert!(table.contains("bob@example.org"));
        assert_eq!(
            table.matches("<tr class=\"kern-table__row\">").count(),
            1,
            "only the one in its name"
        );

        // An organisation the account is not a member of is refused and nothing submitted.
        let forged = carl
            .fill_and_submit(
                "local-test-dog-register",
                "Fremd",
                &[("declaration", "yes"), ("applicant", &org_id)],
            )
            .await;
        assert_eq!(forged.status, StatusCode::BAD_REQUEST);
        assert!(
            app.store
                .applications(&app.account("carl@example.org").await.id)
                .await
                .unwrap()
                .is_empty()
        );

        let events: Vec<AuditEvent> = app
            .store
            .audit_entries(1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect();
        for event in [
            AuditEvent::OrganisationCreated,
            AuditEvent::MemberInvited,
            AuditEvent::MemberJoined,
        ] {
            assert!(events.contains(&event), "{event:?}");
        }
        let details: Vec<String> = app
            .store
            .audit_entries(1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.detail)
            .collect();
        assert!(
            details
                .iter()
                .all(|d| !d.contains("@") && !d.contains("Pfote")),
            "{details:?}"
        );
    }

    pub(super) async fn z1_only_members_see_an_organisation_and_only_owners_change_it(app: &App) {
        let mut anna = app.browser();
        anna.create_account("anna@example.org").await;
        let org = create(&mut anna, "Imbiss am Markt").await;
        invite(&mut anna, &org, "bob@example.org", "member").await;
        let mut bob = app.browser();
        bob.create_account("bob@example.org").await;
        accept(app, &mut bob).await;
        let mut eve = app.browser();
        eve.create_account("eve@example.org").await;

        let page = anna.get(&org).await.body;
        let bob_role = member_action(&page, "bob@example.org", "/role");
        let bob_remove = member_action(&page, "bob@example.org", "/remove");
        let anna_role = member_action(&page, "anna@example.org", "/role");
        invite(&mut anna, &org, "zoe@example.org", "member").await;
        let page = anna.get(&org).await.body;
        let withdraw = page
            .split('"')
            .find(|s| s.ends_with("/withdraw"))
            .unwrap()
            .to_owned();

        // Someone else: 404 for the page and every action, like an id that does not exist.
        let unknown = format!("/account/organisations/{}", uuid::Uuid::new_v4());
        for path in [
            org.as_str(),
            unknown.as_str(),
            "/account/organisations/not-an-id",
        ] {
            assert_eq!(eve.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
        }
        let owner_actions: Vec<(String, Vec<(&str, &str)>)> = vec![
            (
                format!("{org}/invitations"),
                vec![("email", "eve2@example.org"), ("role", "owner")],
            ),
            (withdraw.clone(), vec![]),
            (bob_role.clone(), vec![("role", "owner")]),
            (bob_remove.clone(), vec![]),
            (anna_role.clone(), vec![("role", "member")]),
        ];
        for (actor, name) in [(&mut eve, "eve"), (&mut bob, "bob")] {
            let csrf = actor.get("/account").await.csrf();
            for (path, fields) in &owner_actions {
                let mut all = vec![("csrf", csrf.as_str())];
                all.extend_from_slice(fields);
                assert_eq!(
                    actor.post(path, &all).await.status,
                    StatusCode::NOT_FOUND,
                    "{name}: {path}"
                );
            }
        }
        let csrf = eve.get("/account").await.csrf();
        assert_eq!(
            eve.post(&format!("{org}/leave"), &[("csrf", &csrf)])
                .await
                .status,
            StatusCode::NOT_FOUND
        );

        // Nothing changed.
        let page = anna.get(&org).await.body;
        assert!(page.contains("zoe@example.org"), "invitation still open");
        assert!(!page.contains("eve2@example.org"));
        let members = page
            .split("id=\"members\"")
            .nth(1)
            .unwrap()
            .split("</table>")
            .next()
            .unwrap();
        assert_eq!(members.matches("Inhaber/in").count(), 1, "{members}");
        assert!(members.contains("bob@example.org"));

        // The owner's actions work.
        let csrf = anna.get(&org).await.csrf();
        assert_eq!(
            anna.post(&withdraw, &[("csrf", &csrf)]).await.status,
            StatusCode::SEE_OTHER
        );
        assert!(!anna.get(&org).await.body.contains("zoe@example.org"));
        assert_eq!(
            anna.post(&withdraw, &[("csrf", &csrf)]).await.status,
            StatusCode::NOT_FOUND
        );
        let removed = anna.post(&bob_remove, &[("csrf", &csrf)]).await;
        assert_eq!(removed.location(), format!("{org}?done=removed"));
        assert_eq!(bob.get(&org).await.status, StatusCode::NOT_FOUND);
    }

    pub(super) async fn an_organisation_keeps_an_owner_and_its_last_owner_cannot_delete_the_account(
        app: &App,
    ) {
        let mut anna = app.browser();
        anna.create_account("anna@example.org").await;
        let org = create(&mut anna, "Tierpension Nord").await;
        invite(&mut anna, &org, "bob@example.org", "member").await;
        let mut bob = app.browser();
        bob.create_account("bob@example.org").await;
        accept(app, &mut bob).await;
        let csrf = anna.get(&org).await.csrf();
        let page = anna.get(&org).await.body;
        let anna_role = member_action(&page, "anna@example.org", "/role");
        let bob_role = member_action(&page, "bob@example.org", "/role");

        // The only owner can neither leave nor step down.
        let left = anna.post(&format!("{org}/leave"), &[("csrf", &csrf)]).await;
        assert_eq!(left.status, StatusCode::CONFLICT);
        assert!(left.body.contains("id=\"problem\""));
        let down = anna
            .post(&anna_role, &[("csrf", &csrf), ("role", "member")])
            .await;
        assert_eq!(down.status, StatusCode::CONFLICT);
        // Nor delete the account while others depend on the organisation.
        let form = anna.get("/account/delete").await;
        assert!(form.body.contains("id=\"delete-blocked\""), "{}", form.body);
        assert!(form.body.contains("Tierpension Nord"));
        let refused = anna
            .submit(
                "/account/delete",
                "/account/delete",
                &[("password", PASSWORD)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::CONFLICT);
        assert_eq!(anna.get("/account").await.status, StatusCode::OK);

        // With Bob as a second owner, Anna can go.
        let up = anna
            .post(&bob_role, &[("csrf", &csrf), ("role", "owner")])
            .await;
        assert_eq!(up.location(), format!("{org}?done=role"));
        assert!(
            bob.get(&org)
                .await
                .body
                .contains("id=\"your-role\">Inhaber/in")
        );
        let left = anna.post(&format!("{org}/leave"), &[("csrf", &csrf)]).await;
        assert_eq!(left.location(), "/account/organisations?done=left");
        assert_eq!(anna.get(&org).await.status, StatusCode::NOT_FOUND);
        assert!(
            anna.get("/account/organisations")
                .await
                .body
                .contains("id=\"no-organisations\"")
        );

        // Bob, the only member now, may delete his account; the organisation goes with it.
        let deleted = bob
            .submit(
                "/account/delete",
                "/account/delete",
                &[("password", PASSWORD)],
            )
            .await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
        let id: rathaus_domain::OrganisationId = org
            .trim_start_matches("/account/organisations/")
            .parse()
            .unwrap();
        assert!(
            app.store
                .organisation_members(&id)
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub(super) async fn s4_posts_without_csrf_token_change_nothing(app: &App) {
        let mut anna = app.browser();
        anna.create_account("anna@example.org").await;
        let org = create(&mut anna, "Gärtnerei Blüte").await;
        for (path, fields) in [
            (
                "/account/organisations".to_owned(),
                vec![("name", "Zweite GmbH")],
            ),
            (
                format!("{org}/invitations"),
                vec![("email", "bob@example.org"), ("role", "owner")],
            ),
            (format!("{org}/leave"), vec![]),
        ] {
            assert_eq!(
                anna.post(&path, &fields).await.status,
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }
        let list = anna.get("/account/organisations").await.body;
        assert!(!list.contains("Zweite GmbH"));
        assert!(
            !app.mails()
                .await
                .iter()
                .any(|m| m.kind == MailKind::Invitation)
        );
        assert!(anna.get(&org).await.body.contains("Gärtnerei Blüte"));
    }
}
