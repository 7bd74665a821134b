//! "Meine Daten" over the portal's router on SQLite, and on PostgreSQL when `DATABASE_URL` is
//! set: the page and the JSON download show everything held about the citizen and nothing of
//! anyone else, the password change and the account deletion. Named after SECURITY.md rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::StatusCode;
use rathaus_domain::{AuditEvent, Email};
use rathaus_portal::mail::MailKind;
use rathaus_store::own_data::ACCOUNT_TABLES;
use rathaus_store::testing::TestDatabase;
use rathaus_web::Clock;
use serde_json::Value;
use support::{App, Browser, Options, PASSWORD};

const NEW_PASSWORD: &str = "Ein ganz anderer langer Satz";

/// Runs `test` on a fresh portal for every configured backend.
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
    z1_own_data_shows_everything_and_nothing_of_another_account,
    l1_the_download_is_an_uncached_attachment_and_audited,
    s4_posts_without_csrf_token_are_refused_and_change_nothing,
    s2_deleting_the_account_ends_every_session,
    deletion_needs_the_password_and_keeps_applications_under_way_detached,
    a1_changing_the_password_needs_the_current_one_and_ends_other_sessions,
    a5_changing_the_address_needs_the_password_and_a_link_to_the_new_address,
    a5_an_address_in_use_gets_the_same_answer_and_changes_nothing,
);

/// Asks for `new_address` on `/account/email` with `password`; the answer.
async fn request_address(
    browser: &mut Browser<'_>,
    new_address: &str,
    password: &str,
) -> support::Answer {
    browser
        .submit(
            "/account/email",
            "/account/email",
            &[("email", new_address), ("current_password", password)],
        )
        .await
}

/// Follows the newest e-mail change link: the confirmation page, then its button.
async fn confirm_address(app: &App, browser: &mut Browser<'_>) -> (support::Answer, String) {
    let link = app.link(MailKind::EmailChange).await;
    let page = browser.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let answer = browser
        .post(
            "/account/email/confirm",
            &[("csrf", &page.csrf()), ("token", &token)],
        )
        .await;
    (answer, token)
}

async fn events(app: &App) -> Vec<(AuditEvent, Option<String>, String)> {
    let mut entries = app.store.audit_entries(1000).await.unwrap();
    entries.reverse();
    entries
        .into_iter()
        .map(|e| (e.event, e.account_id.map(|a| a.to_string()), e.detail))
        .collect()
}

async fn account_id(app: &App, email: &str) -> rathaus_domain::AccountId {
    app.store
        .account_by_email(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .expect("account exists")
        .id
}

/// Saves the first step of the fixture form as a draft, with `canary` as the given names.
async fn draft(browser: &mut Browser<'_>, canary: &str) {
    let csrf = browser
        .get("/services/local-test-dog/form/owner")
        .await
        .csrf();
    let saved = browser
        .post(
            "/services/local-test-dog/form/owner",
            &[
                ("csrf", csrf.as_str()),
                ("owner_name.given_names", canary),
                ("owner_name.family_name", "Müller"),
                ("owner_address.street", "Kirchenallee"),
                ("owner_address.house_number", "1"),
                ("owner_address.postcode", "20099"),
                ("owner_address.city", "Hamburg"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
}

async fn export(browser: &mut Browser<'_>) -> Value {
    let answer = browser.get("/account/data.json").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    serde_json::from_str(&answer.body).unwrap()
}

mod tests {
    use super::*;

    pub(super) async fn z1_own_data_shows_everything_and_nothing_of_another_account(app: &App) {
        let mut anna = app.browser();
        anna.create_account("anna@example.org").await;
        let reference = anna.apply_for_test_dog("Bello").await;
        draft(&mut anna, "Kanarienvogel").await;
        let mut bob = app.browser();
        bob.create_account("bob@example.org").await;
        draft(&mut bob, "Zaunkoenig").await;

        let page = anna.get("/account/data").await;
        assert_eq!(page.status, StatusCode::OK);
        for expected in [
            "Meine Daten",
            "anna@example.org",
            reference.as_str(),
            "local-test-dog",
            "/account/data.json",
        ] {
            assert!(page.body.contains(expected), "{expected} missing");
        }

        let data = export(&mut anna).await;
        // Every table that holds account data has its section (the store's test keeps the
        // list complete against the schema).
        for (table, coverage) in ACCOUNT_TABLES {
            assert!(
                data.get(coverage.section()).is_some(),
                "{table}: section {} missing from the export",
                coverage.section()
            );
        }
        assert_eq!(data["account"]["email"], "anna@example.org");
        assert_eq!(data["account"]["level"], "basic");
        assert!(data["account"]["email_confirmed_at"].is_string());
        assert_eq!(data["applications"][0]["reference"], reference.as_str());
        assert_eq!(data["applications"][0]["service_key"], "local-test-dog");
        assert_eq!(data["sessions"].as_array().unwrap().len(), 1);
        assert_eq!(data["sessions"][0]["current"], true);
        // The sealed draft is opened for its owner.
        assert_eq!(data["drafts"][0]["service_key"], "local-test-dog");
        let drafts = data["drafts"].to_string();
        assert!(drafts.contains("Kanarienvogel"), "{drafts}");
        let events: Vec<&str> = data["audit"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["event"].as_str())
            .collect();
        assert!(events.contains(&"sign_in"), "{events:?}");
        assert!(events.contains(&"application_submitted"), "{events:?}");

        // Nothing of Bob's reaches Anna, nothing of Anna's reaches Bob.
        let everything = format!("{}{data}", page.body);
        for foreign in ["bob@example.org", "Zaunkoenig"] {
            assert!(!everything.contains(foreign), "{foreign} leaked to anna");
        }
        let bobs = format!(
            "{}{}",
            bob.get("/account/data").await.body,
            export(&mut bob).await
        );
        for foreign in ["anna@example.org", "Kanarienvogel", reference.as_str()] {
            assert!(!bobs.contains(foreign), "{foreign} leaked to bob");
        }
        let bob_id = account_id(app, "bob@example.org").await.to_string();
        assert!(!everything.contains(&bob_id));
    }

    pub(super) async fn l1_the_download_is_an_uncached_attachment_and_audited(app: &App) {
        let mut anna = app.browser();
        anna.create_account("anna@example.org").await;
        let answer = anna.get("/account/data.json").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.headers["content-type"], "application/json");
        assert_eq!(answer.headers["cache-control"], "no-store");
        assert_eq!(answer.headers["x-content-type-options"], "nosniff");
        let disposition = answer.headers["content-disposition"].to_str().unwrap();
        assert!(
            disposition.starts_with("attachment; filename=\"rathaus-meine-daten-"),
            "{disposition}"
        );
        let id = account_id(app, "anna@example.org").await.to_string();
        let logged = events(app).await;
        let exported: Vec<_> = logged
            .iter()
            .filter(|(e, _, _)| *e == AuditEvent::DataExported)
            .collect();
        assert_eq!(exported.len(), 1, "{logged:?}");
        assert_eq!(exported[0].1.as_deref(), Some(id.as_str()));
        // The entry names sections, never the data.
        assert!(
            !exported[0].2.contains("anna@example.org"),
            "{}",
            exported[0].2
        );
        // Without a session there is nothing to download.
        let mut stranger = app.browser();
        let refused = stranger.get("/account/data.json").await;
        assert_eq!(refused.status, StatusCode::SEE_OTHER);
        assert!(refused.location().starts_with("/account/sign-in"));
    }

    pub(super) async fn s4_posts_without_csrf_token_are_refused_and_change_nothing(app: &App) {
        let mut anna = app.browser();
        anna.create_account("anna@example.org").await;
        let id = account_id(app, "anna@example.org").await;
        let before = app.store.account(id).await.unwrap().unwrap();
        let forged = [
            (
                "/account/password",
                vec![("current_password", PASSWORD), ("password", NEW_PASSWORD)],
            ),
            ("/account/delete", vec![("password", PASSWORD)]),
            (
                "/account/email",
                vec![
                    ("email", "anna.neu@example.org"),
                    ("current_password", PASSWORD),
                ],
            ),
        ];
        for (path, fields) in &forged {
            let none = anna.post(path, fields).await;
            assert_eq!(none.status, StatusCode::FORBIDDEN, "{path}");
            let mut wrong = vec![("csrf", "not-the-token")];
            wrong.extend_from_slice(fields);
            assert_eq!(
                anna.post(path, &wrong).await.status,
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }
        let after = app.store.account(id).await.unwrap().unwrap();
        assert_eq!(before.password_hash, after.password_hash);
        assert_eq!(before.email, after.email);
        assert!(
            app.store
                .pending_email_change(&id, app.clock.now())
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(anna.get("/account").await.status, StatusCode::OK);
        assert!(!events(app).await.iter().any(|(e, _, _)| matches!(
            e,
            AuditEvent::AccountDeleted | AuditEvent::PasswordChanged
        )));
    }

    pub(super) async fn s2_deleting_the_account_ends_every_session(app: &App) {
        let mut anna = app.browser();
        anna.create_account("anna@example.org").await;
        let mut laptop = app.browser();
        assert_eq!(
            laptop.sign_in("anna@example.org", PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        let id = account_id(app, "anna@example.org").await;
        let old_cookie = anna.cookies.clone();

        let deleted = anna
            .submit(
                "/account/delete",
                "/account/delete",
                &[("password", PASSWORD)],
            )
            .await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
        assert_eq!(deleted.location(), "/account/deleted");
        let done = anna.get("/account/deleted").await;
        assert!(done.body.contains("Konto gelöscht"), "{}", done.body);

        // Replaying the old cookie, and the other device, are both signed out (S2).
        let mut replay = app.browser();
        replay.cookies = old_cookie;
        for browser in [&mut replay, &mut laptop] {
            let refused = browser.get("/account/data").await;
            assert_eq!(refused.status, StatusCode::SEE_OTHER);
            assert!(refused.location().starts_with("/account/sign-in"));
        }
        assert!(app.store.account(id).await.unwrap().is_none());
        let failed = app.browser().sign_in("anna@example.org", PASSWORD).await;
        assert_eq!(failed.status, StatusCode::UNAUTHORIZED);

        // L1: the deletion is logged with the pseudonymous id and counts, no address.
        let logged = events(app).await;
        let entry = logged
            .iter()
            .find(|(e, _, _)| *e == AuditEvent::AccountDeleted)
            .expect("AccountDeleted logged");
        assert_eq!(entry.1.as_deref(), Some(id.to_string().as_str()));
        assert!(entry.2.contains("sessions: 2"), "{}", entry.2);
        assert!(!entry.2.contains("anna@"), "{}", entry.2);

        // The address is free again: a new registration is a new account.
        let mut again = app.browser();
        again.create_account("anna@example.org").await;
        assert_ne!(account_id(app, "anna@example.org").await, id);
        let fresh = export(&mut again).await;
        assert!(fresh["applications"].as_array().unwrap().is_empty());
    }

    pub(super) async fn deletion_needs_the_password_and_keeps_applications_under_way_detached(
        app: &App,
    ) {
        let mut anna = app.browser();
        anna.create_account("anna@example.org").await;
        let reference = anna.apply_for_test_dog("Bello").await;
        draft(&mut anna, "Kanarienvogel").await;
        let id = account_id(app, "anna@example.org").await;

        let wrong = anna
            .submit(
                "/account/delete",
                "/account/delete",
                &[("password", "falsch falsch falsch")],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
        assert!(
            wrong.body.contains("Das jetzige Passwort stimmt nicht."),
            "{}",
            wrong.body
        );
        assert!(app.store.account(id).await.unwrap().is_some());
        assert_eq!(
            export(&mut anna).await["drafts"].as_array().unwrap().len(),
            1
        );

        let deleted = anna
            .submit(
                "/account/delete",
                "/account/delete",
                &[("password", PASSWORD)],
            )
            .await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER);
        let now = rathaus_web::Clock::now(&app.clock);
        assert!(app.store.drafts(&id, now).await.unwrap().is_empty());
        assert!(app.store.applications(&id).await.unwrap().is_empty());
        // The application has not reached its authority yet: its delivery still goes out.
        let due = app
            .store
            .claim_deliveries(now, now + chrono::Duration::minutes(5), 10)
            .await
            .unwrap();
        assert_eq!(due.len(), 1, "{reference}");
    }

    pub(super) async fn a1_changing_the_password_needs_the_current_one_and_ends_other_sessions(
        app: &App,
    ) {
        let mut anna = app.browser();
        anna.create_account("anna@example.org").await;
        let mut laptop = app.browser();
        laptop.sign_in("anna@example.org", PASSWORD).await;

        let wrong = anna
            .submit(
                "/account/password",
                "/account/password",
                &[
                    ("current_password", "nicht das Passwort"),
                    ("password", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
        assert!(wrong.body.contains("Das jetzige Passwort stimmt nicht."));
        // A2: a listed password is refused here too; A1: too short is refused.
        for refused in ["password1234", "kurz"] {
            let answer = anna
                .submit(
                    "/account/password",
                    "/account/password",
                    &[("current_password", PASSWORD), ("password", refused)],
                )
                .await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{refused}");
        }
        assert_eq!(laptop.get("/account").await.status, StatusCode::OK);

        let changed = anna
            .submit(
                "/account/password",
                "/account/password",
                &[("current_password", PASSWORD), ("password", NEW_PASSWORD)],
            )
            .await;
        assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
        assert_eq!(changed.location(), "/account/password?changed=1");
        assert!(
            anna.get(changed.location())
                .await
                .body
                .contains("Ihr Passwort ist geändert")
        );
        // This session stays, the other one ended.
        assert_eq!(anna.get("/account").await.status, StatusCode::OK);
        assert_eq!(laptop.get("/account").await.status, StatusCode::SEE_OTHER);
        let mut fresh = app.browser();
        assert_eq!(
            fresh.sign_in("anna@example.org", PASSWORD).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            fresh.sign_in("anna@example.org", NEW_PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        let logged = events(app).await;
        let entry = logged
            .iter()
            .find(|(e, _, _)| *e == AuditEvent::PasswordChanged)
            .expect("PasswordChanged logged");
        assert_eq!(entry.2, "other sessions ended: 1");
        assert!(
            !logged
                .iter()
                .any(|(_, _, d)| d.contains(NEW_PASSWORD) || d.contains(PASSWORD))
        );
    }

    pub(super) async fn a5_changing_the_address_needs_the_password_and_a_link_to_the_new_address(
        app: &App,
    ) {
        let mut anna = app.browser();
        anna.create_account("anna@example.org").await;
        let id = account_id(app, "anna@example.org").await;

        // The wrong password, the same address, a malformed one: refused, nothing stored.
        for (address, password) in [
            ("anna.neu@example.org", "nicht das richtige Passwort"),
            ("Anna@Example.org", PASSWORD),
            ("keine adresse", PASSWORD),
        ] {
            let refused = request_address(&mut anna, address, password).await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{address}");
            assert!(refused.body.contains("kern-error"), "{}", refused.body);
        }
        assert!(
            app.store
                .pending_email_change(&id, app.clock.now())
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            !app.mails()
                .await
                .iter()
                .any(|m| m.kind == MailKind::EmailChange)
        );

        let asked = request_address(&mut anna, "anna.neu@example.org", PASSWORD).await;
        assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
        assert_eq!(asked.location(), "/account/email?sent=1");
        let page = anna.get("/account/email?sent=1").await;
        assert!(page.body.contains("id=\"email-sent\""), "{}", page.body);
        assert!(
            page.body.contains("anna.neu@example.org"),
            "pending address shown"
        );
        let mails = app.mails().await;
        let to_new = mails
            .iter()
            .filter(|m| m.kind == MailKind::EmailChange)
            .collect::<Vec<_>>();
        assert_eq!(to_new.len(), 1);
        assert_eq!(to_new[0].to.as_str(), "anna.neu@example.org");
        let notice = mails
            .iter()
            .find(|m| m.kind == MailKind::EmailChangeNotice)
            .expect("old address told");
        assert_eq!(notice.to.as_str(), "anna@example.org");
        assert!(
            !notice.body.contains("anna.neu"),
            "the notice does not name the new address"
        );
        // The open request is the citizen's data.
        let data = export(&mut anna).await;
        let links = data["email_links"].as_array().unwrap();
        assert!(
            links
                .iter()
                .any(|l| l["purpose"] == "change" && l["new_email"] == "anna.neu@example.org"),
            "{links:?}"
        );

        // Until the link is followed, the old address is the one that signs in.
        assert_eq!(
            app.browser()
                .sign_in("anna.neu@example.org", PASSWORD)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        let (changed, token) = confirm_address(app, &mut app.browser()).await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
        assert!(changed.body.contains("anna.neu@example.org"));
        let account = app.store.account(id).await.unwrap().unwrap();
        assert_eq!(account.email.as_str(), "anna.neu@example.org");
        assert!(account.email_confirmed_at.is_some());
        let mut again = app.browser();
        assert_eq!(
            again.sign_in("anna.neu@example.org", PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            app.browser()
                .sign_in("anna@example.org", PASSWORD)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        // The link is single-use.
        let used = again
            .get(&format!("/account/email/confirm?token={token}"))
            .await;
        assert_eq!(used.status, StatusCode::BAD_REQUEST);
        // The log names the events, never an address.
        let logged: Vec<_> = events(app)
            .await
            .into_iter()
            .filter(|(e, a, _)| {
                matches!(
                    e,
                    AuditEvent::EmailChangeRequested | AuditEvent::EmailChanged
                ) && a.as_deref() == Some(id.to_string().as_str())
            })
            .collect();
        assert_eq!(logged.len(), 2, "{logged:?}");
        assert!(
            logged.iter().all(|(_, _, detail)| !detail.contains('@')),
            "{logged:?}"
        );
    }

    pub(super) async fn a5_an_address_in_use_gets_the_same_answer_and_changes_nothing(app: &App) {
        let mut bob = app.browser();
        bob.create_account("bob@example.org").await;
        let mut anna = app.browser();
        anna.create_account("anna@example.org").await;
        let id = account_id(app, "anna@example.org").await;

        let free = request_address(&mut anna, "anna.neu@example.org", PASSWORD).await;
        let taken = request_address(&mut anna, "bob@example.org", PASSWORD).await;
        assert_eq!(free.status, taken.status);
        assert_eq!(free.location(), taken.location());
        let page = anna.get("/account/email?sent=1").await;
        assert!(
            page.body.contains("bob@example.org"),
            "shown as waiting like any address"
        );
        // Bob is told, and gets no link; the older link (to the free address) stopped working.
        let mails = app.mails().await;
        let to_bob: Vec<_> = mails
            .iter()
            .filter(|m| m.to.as_str() == "bob@example.org")
            .map(|m| m.kind)
            .collect();
        assert!(to_bob.contains(&MailKind::AddressInUse), "{to_bob:?}");
        assert!(!to_bob.contains(&MailKind::EmailChange), "{to_bob:?}");
        let stale = app.link(MailKind::EmailChange).await;
        assert!(stale.contains("token="), "{stale}");
        assert_eq!(anna.get(&stale).await.status, StatusCode::BAD_REQUEST);

        // A free address that is registered by someone else before the link is followed.
        request_address(&mut anna, "carl@example.org", PASSWORD).await;
        let mut carl = app.browser();
        carl.create_account("carl@example.org").await;
        let (refused, _) = confirm_address(app, &mut app.browser()).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
        assert_eq!(
            app.store.account(id).await.unwrap().unwrap().email.as_str(),
            "anna@example.org"
        );
        assert_eq!(
            app.browser()
                .sign_in("anna@example.org", PASSWORD)
                .await
                .status,
            StatusCode::SEE_OTHER
        );
    }
}
