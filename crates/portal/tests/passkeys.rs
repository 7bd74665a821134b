//! Passkeys (WebAuthn) through the portal's router with a manual clock: adding one with the
//! password, signing in with it alone, single-use and expiring ceremonies, other accounts'
//! passkeys, CSRF, throttling and the audit log (SECURITY.md A3, A4, A8, S4, Z1, L1). The
//! browser's part is played by `SoftAuthenticator`, a software authenticator that answers the
//! options exactly as the page carries them. On SQLite always, on PostgreSQL when
//! `DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::Duration;
use http::StatusCode;
use rathaus_auth::passkeys::testing::SoftAuthenticator;
use rathaus_domain::AuditEvent;
use rathaus_store::testing::TestDatabase;
use support::{Answer, App, Browser, Options, PASSWORD};

const ANNA: &str = "anna@example.org";
const BOB: &str = "bob@example.org";
/// The tests' public URL (`support::App`): the only origin the relying party accepts.
const ORIGIN: &str = "https://portal.example.org";

/// Undoes the page's HTML escaping of an attribute value.
fn unescape(text: &str) -> String {
    text.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attribute(page: &Answer, marker: &str) -> String {
    let start = page
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {}", page.body))
        + marker.len();
    unescape(page.body[start..].split('"').next().unwrap())
}

/// The options the ceremony page hands to the script.
fn options(page: &Answer) -> String {
    attribute(page, "data-options=\"")
}

fn ceremony_token(page: &Answer) -> String {
    attribute(page, "name=\"ceremony\" value=\"")
}

async fn events(app: &App) -> Vec<(AuditEvent, String)> {
    let mut entries = app.store.audit_entries(1000).await.unwrap();
    entries.reverse();
    entries.into_iter().map(|e| (e.event, e.detail)).collect()
}

/// Starts adding a passkey named `name`: the ceremony page, or the refusal.
async fn start_adding(browser: &mut Browser<'_>, name: &str, password: &str) -> Answer {
    browser
        .submit(
            "/account/security",
            "/account/security/passkeys",
            &[("passkey-name", name), ("passkey-password", password)],
        )
        .await
}

/// Adds a passkey to the signed-in account through both requests of the ceremony.
async fn add_passkey(browser: &mut Browser<'_>, authenticator: &mut SoftAuthenticator, name: &str) {
    let page = start_adding(browser, name, PASSWORD).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("data-kind=\"create\""));
    let answer = authenticator.create(&options(&page), ORIGIN).unwrap();
    let done = browser
        .post(
            "/account/security/passkeys/finish",
            &[
                ("csrf", &page.csrf()),
                ("ceremony", &ceremony_token(&page)),
                ("credential", &answer),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/account/security?passkey=added");
}

/// The sign-in ceremony page for a browser without a session.
async fn start_sign_in(browser: &mut Browser<'_>, next: &str) -> Answer {
    let page = browser
        .submit(
            "/account/sign-in",
            "/account/sign-in/passkey",
            &[("next", next)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("data-kind=\"get\""));
    page
}

async fn finish_sign_in(browser: &mut Browser<'_>, page: &Answer, answer: &str) -> Answer {
    browser
        .post(
            "/account/sign-in/passkey/finish",
            &[
                ("csrf", &page.csrf()),
                ("ceremony", &ceremony_token(page)),
                ("credential", answer),
            ],
        )
        .await
}

/// A3, L1: a passkey is added with the password and then signs in on its own, with a new
/// session, no password and no code; the audit log names neither the passkey nor the key.
async fn added_with_password_then_signs_in_alone(app: App) {
    let mut anna = app.browser();
    anna.create_account(ANNA).await;
    let security = anna.get("/account/security").await;
    assert!(
        security.body.contains("id=\"passkey-none\""),
        "{}",
        security.body
    );
    assert!(security.body.contains("id=\"passkey-add\""));

    // The wrong password starts nothing.
    let wrong = start_adding(&mut anna, "Laptop", "ein ganz falsches Passwort").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("id=\"passkey-password-error\""));
    assert!(!wrong.body.contains("data-options"));

    let mut authenticator = SoftAuthenticator::new();
    add_passkey(&mut anna, &mut authenticator, "Laptop").await;
    let listed = anna.get("/account/security?passkey=added").await;
    assert!(listed.body.contains("id=\"passkey-list\""));
    assert!(listed.body.contains("Laptop"));
    let anna_id = app.account(ANNA).await.id;
    let stored = app.store.passkeys_of(&anna_id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].last_used_at.is_none());

    // A second device of its own, signed out: the sign-in page offers the passkey.
    let mut phone = app.browser();
    let form = phone.get("/account/sign-in").await;
    assert!(form.body.contains("id=\"passkey-sign-in\""));
    let page = start_sign_in(&mut phone, "/account/sessions").await;
    let answer = authenticator.get(&options(&page), ORIGIN).unwrap();
    let signed_in = finish_sign_in(&mut phone, &page, &answer).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert_eq!(signed_in.location(), "/account/sessions");
    let session = phone.session_cookie().expect("a session");
    assert_ne!(Some(session), anna.session_cookie(), "a session of its own");
    assert_eq!(phone.get("/account").await.status, StatusCode::OK);
    let used = app.store.passkeys_of(&anna_id).await.unwrap();
    assert_eq!(used[0].last_used_at, Some(app.state.clock.now()));

    let log = events(&app).await;
    let added: Vec<_> = log
        .iter()
        .filter(|(e, _)| *e == AuditEvent::PasskeyAdded)
        .collect();
    assert_eq!(added.len(), 1);
    let sign_in = log
        .iter()
        .rev()
        .find(|(e, _)| *e == AuditEvent::SignIn)
        .unwrap();
    assert!(sign_in.1.starts_with("passkey="), "{}", sign_in.1);
    for (_, detail) in &log {
        assert!(
            !detail.contains("Laptop"),
            "the name is not logged: {detail}"
        );
        assert!(
            !detail.contains(&stored[0].credential_id),
            "no credential id: {detail}"
        );
    }
    app.db.cleanup().await.unwrap();
}

#[tokio::test]
async fn a3_passkey_added_with_password_signs_in_alone_sqlite() {
    added_with_password_then_signs_in_alone(App::new().await).await;
}

#[tokio::test]
async fn a3_passkey_added_with_password_signs_in_alone_postgres() {
    let Some(db) = TestDatabase::postgres_from_env().await.unwrap() else {
        eprintln!("DATABASE_URL is not set; PostgreSQL run skipped");
        return;
    };
    added_with_password_then_signs_in_alone(App::on(db, Options::default()).await).await;
}

/// A8: a ceremony answers once, within five minutes; a replayed answer or a late one signs
/// nobody in, and an answer for one challenge does not fit another.
async fn ceremonies_are_single_use_and_expire(app: App) {
    let mut anna = app.browser();
    anna.create_account(ANNA).await;
    let mut authenticator = SoftAuthenticator::new();
    add_passkey(&mut anna, &mut authenticator, "Laptop").await;

    let mut phone = app.browser();
    let page = start_sign_in(&mut phone, "/account").await;
    let answer = authenticator.get(&options(&page), ORIGIN).unwrap();
    let first = finish_sign_in(&mut phone, &page, &answer).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    // Replayed by someone who caught the answer, with a form token of their own.
    let mut thief = app.browser();
    let own = thief.get("/account/sign-in").await;
    let replay = thief
        .post(
            "/account/sign-in/passkey/finish",
            &[
                ("csrf", &own.csrf()),
                ("ceremony", &ceremony_token(&page)),
                ("credential", &answer),
            ],
        )
        .await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);
    assert!(thief.session_cookie().is_none());

    // The old answer under a fresh ceremony: the challenge does not match.
    let fresh = start_sign_in(&mut thief, "/account").await;
    let mismatched = finish_sign_in(&mut thief, &fresh, &answer).await;
    assert_eq!(
        mismatched.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        mismatched.body
    );
    assert!(thief.session_cookie().is_none());

    // Too late: the ceremony is gone after five minutes.
    let mut late = app.browser();
    let page = start_sign_in(&mut late, "/account").await;
    let answer = authenticator.get(&options(&page), ORIGIN).unwrap();
    app.advance(Duration::minutes(5) + Duration::seconds(1));
    let expired = finish_sign_in(&mut late, &page, &answer).await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST, "{}", expired.body);
    assert!(late.session_cookie().is_none());

    // The same holds for adding one (the session lasts 30 minutes idle; re-sign in first).
    let mut anna = app.browser();
    anna.sign_in(ANNA, PASSWORD).await;
    let page = start_adding(&mut anna, "Telefon", PASSWORD).await;
    let answer = SoftAuthenticator::new()
        .create(&options(&page), ORIGIN)
        .unwrap();
    let fields = [
        ("csrf", page.csrf()),
        ("ceremony", ceremony_token(&page)),
        ("credential", answer),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let once = anna
        .post("/account/security/passkeys/finish", &fields)
        .await;
    assert_eq!(once.status, StatusCode::SEE_OTHER, "{}", once.body);
    let twice = anna
        .post("/account/security/passkeys/finish", &fields)
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    let anna_id = app.account(ANNA).await.id;
    assert_eq!(app.store.passkeys_of(&anna_id).await.unwrap().len(), 2);
    app.db.cleanup().await.unwrap();
}

#[tokio::test]
async fn a8_passkey_ceremonies_are_single_use_and_expire_sqlite() {
    ceremonies_are_single_use_and_expire(App::new().await).await;
}

#[tokio::test]
async fn a8_passkey_ceremonies_are_single_use_and_expire_postgres() {
    let Some(db) = TestDatabase::postgres_from_env().await.unwrap() else {
        eprintln!("DATABASE_URL is not set; PostgreSQL run skipped");
        return;
    };
    ceremonies_are_single_use_and_expire(App::on(db, Options::default()).await).await;
}

/// Z1: nobody removes another account's passkey or finishes its ceremony (404 and 400, and
/// nothing changes); a removed passkey signs nobody in.
#[tokio::test]
async fn z1_other_accounts_passkeys_are_out_of_reach() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account(ANNA).await;
    let mut bob = app.browser();
    bob.create_account(BOB).await;
    let mut authenticator = SoftAuthenticator::new();
    add_passkey(&mut anna, &mut authenticator, "Laptop").await;
    let anna_id = app.account(ANNA).await.id;
    let key = app.store.passkeys_of(&anna_id).await.unwrap().remove(0);

    let bobs_page = bob.get("/account/security").await;
    let path = format!("/account/security/passkeys/{}/remove", key.id);
    let probe = bob.post(&path, &[("csrf", &bobs_page.csrf())]).await;
    assert_eq!(probe.status, StatusCode::NOT_FOUND);
    let unknown = bob
        .post(
            &format!(
                "/account/security/passkeys/{}/remove",
                rathaus_domain::PasskeyId::random()
            ),
            &[("csrf", &bobs_page.csrf())],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let garbage = bob
        .post(
            "/account/security/passkeys/not-an-id/remove",
            &[("csrf", &bobs_page.csrf())],
        )
        .await;
    assert_eq!(garbage.status, StatusCode::NOT_FOUND);
    assert_eq!(app.store.passkeys_of(&anna_id).await.unwrap().len(), 1);

    // Anna's ceremony, finished by Bob: spent, and Bob gets no passkey for Anna.
    let page = start_adding(&mut anna, "Telefon", PASSWORD).await;
    let answer = SoftAuthenticator::new()
        .create(&options(&page), ORIGIN)
        .unwrap();
    let stolen = bob
        .post(
            "/account/security/passkeys/finish",
            &[
                ("csrf", &bobs_page.csrf()),
                ("ceremony", &ceremony_token(&page)),
                ("credential", &answer),
            ],
        )
        .await;
    assert_eq!(stolen.status, StatusCode::BAD_REQUEST);
    let bob_id = app.account(BOB).await.id;
    assert!(app.store.passkeys_of(&bob_id).await.unwrap().is_empty());
    assert_eq!(app.store.passkeys_of(&anna_id).await.unwrap().len(), 1);

    // Anna removes hers; it signs nobody in any more.
    let annas_page = anna.get("/account/security").await;
    let removed = anna.post(&path, &[("csrf", &annas_page.csrf())]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(removed.location(), "/account/security?passkey=removed");
    assert!(app.store.passkeys_of(&anna_id).await.unwrap().is_empty());
    let mut phone = app.browser();
    let page = start_sign_in(&mut phone, "/account").await;
    let answer = authenticator.get(&options(&page), ORIGIN).unwrap();
    let refused = finish_sign_in(&mut phone, &page, &answer).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(phone.session_cookie().is_none());
    let log = events(&app).await;
    assert!(
        log.iter()
            .any(|(e, d)| *e == AuditEvent::PasskeyRemoved && d.contains(&key.id.to_string()))
    );
    assert!(log.iter().any(|(e, d)| *e == AuditEvent::PasskeySignInFailed && d.starts_with("unknown passkey")));
    app.db.cleanup().await.unwrap();
}

/// S4: every passkey form without its CSRF token is 403 and changes nothing.
#[tokio::test]
async fn s4_passkey_forms_need_the_csrf_token() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account(ANNA).await;
    let mut authenticator = SoftAuthenticator::new();
    add_passkey(&mut anna, &mut authenticator, "Laptop").await;
    let anna_id = app.account(ANNA).await.id;
    let key = app.store.passkeys_of(&anna_id).await.unwrap().remove(0);

    let start = anna
        .post(
            "/account/security/passkeys",
            &[("passkey-name", "Telefon"), ("passkey-password", PASSWORD)],
        )
        .await;
    assert_eq!(start.status, StatusCode::FORBIDDEN);
    let page = start_adding(&mut anna, "Telefon", PASSWORD).await;
    let answer = SoftAuthenticator::new()
        .create(&options(&page), ORIGIN)
        .unwrap();
    let finish = anna
        .post(
            "/account/security/passkeys/finish",
            &[
                ("ceremony", &ceremony_token(&page)),
                ("credential", &answer),
            ],
        )
        .await;
    assert_eq!(finish.status, StatusCode::FORBIDDEN);
    let remove = anna
        .post(
            &format!("/account/security/passkeys/{}/remove", key.id),
            &[],
        )
        .await;
    assert_eq!(remove.status, StatusCode::FORBIDDEN);
    assert_eq!(app.store.passkeys_of(&anna_id).await.unwrap().len(), 1);

    let mut phone = app.browser();
    phone.get("/account/sign-in").await;
    let sign_in = phone
        .post("/account/sign-in/passkey", &[("next", "/account")])
        .await;
    assert_eq!(sign_in.status, StatusCode::FORBIDDEN);
    let page = start_sign_in(&mut phone, "/account").await;
    let answer = authenticator.get(&options(&page), ORIGIN).unwrap();
    let finish = phone
        .post(
            "/account/sign-in/passkey/finish",
            &[
                ("ceremony", &ceremony_token(&page)),
                ("credential", &answer),
            ],
        )
        .await;
    assert_eq!(finish.status, StatusCode::FORBIDDEN);
    assert!(phone.session_cookie().is_none());
    app.db.cleanup().await.unwrap();
}

/// A3, A4: answers that prove nothing (garbage, a phishing origin, no user verification) are
/// refused with 401, audited and counted against the client, which ends in 429 with
/// `Retry-After`; the passkey's owner can sign in from another address meanwhile.
#[tokio::test]
async fn a4_refused_passkey_answers_are_throttled_per_client() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account(ANNA).await;
    let mut authenticator = SoftAuthenticator::new();
    add_passkey(&mut anna, &mut authenticator, "Laptop").await;

    let mut attacker = app.browser();
    attacker.ip = "203.0.113.66".into();
    let page = start_sign_in(&mut attacker, "/account").await;
    let phished = authenticator
        .get(&options(&page), "https://portal.example.org.evil.example")
        .unwrap();
    assert_eq!(
        finish_sign_in(&mut attacker, &page, &phished).await.status,
        StatusCode::UNAUTHORIZED
    );
    authenticator.user_verification = false;
    let page = start_sign_in(&mut attacker, "/account").await;
    let unverified = authenticator.get(&options(&page), ORIGIN).unwrap();
    assert_eq!(
        finish_sign_in(&mut attacker, &page, &unverified)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    authenticator.user_verification = true;
    let mut last = None;
    for _ in 0..60 {
        let page = start_sign_in(&mut attacker, "/account").await;
        let answer = finish_sign_in(&mut attacker, &page, "{\"not\": \"a credential\"}").await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            last = Some(answer);
            break;
        }
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    }
    let throttled = last.expect("throttled within 60 refused answers");
    assert!(throttled.headers.contains_key(http::header::RETRY_AFTER));
    assert!(attacker.session_cookie().is_none());

    // Not a lockout of the owner: another client signs in with the passkey.
    let mut phone = app.browser();
    phone.ip = "198.51.100.7".into();
    let page = start_sign_in(&mut phone, "/account").await;
    let answer = authenticator.get(&options(&page), ORIGIN).unwrap();
    assert_eq!(
        finish_sign_in(&mut phone, &page, &answer).await.status,
        StatusCode::SEE_OTHER
    );
    let failures = events(&app)
        .await
        .into_iter()
        .filter(|(e, _)| *e == AuditEvent::PasskeySignInFailed)
        .count();
    assert!(
        failures >= 50,
        "every refused answer is audited: {failures}"
    );
    app.db.cleanup().await.unwrap();
}

/// Bad names are refused at their field, and nothing is started.
#[tokio::test]
async fn passkey_names_are_checked() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account(ANNA).await;
    let long = "x".repeat(61);
    for name in ["", "   ", long.as_str(), "Lap\u{7}top"] {
        let page = start_adding(&mut anna, name, PASSWORD).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{name:?}");
        assert!(page.body.contains("id=\"passkey-name-error\""), "{name:?}");
        assert!(!page.body.contains("data-options"));
    }
    // A garbage answer to a real ceremony: refused, nothing stored.
    let page = start_adding(&mut anna, "Laptop", PASSWORD).await;
    let refused = anna
        .post(
            "/account/security/passkeys/finish",
            &[
                ("csrf", &page.csrf()),
                ("ceremony", &ceremony_token(&page)),
                ("credential", &"x".repeat(100_000)),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let anna_id = app.account(ANNA).await.id;
    assert!(app.store.passkeys_of(&anna_id).await.unwrap().is_empty());
    app.db.cleanup().await.unwrap();
}
