//! The Servicekonto through the portal's router, with a manual clock: sessions and their
//! timeouts, throttling, CSRF, access control, enumeration and the audit log. Named after the
//! rows of SECURITY.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::Duration;
use http::StatusCode;
use rathaus_auth::{Hasher, Policy};
use rathaus_domain::{AccountId, AuditEvent, Blocklist, Email, NewPassword};
use rathaus_portal::mail::MailKind;
use support::{App, Options, PASSWORD};

fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

async fn events(app: &App) -> Vec<(AuditEvent, String)> {
    let mut entries = app.store.audit_entries(1000).await.unwrap();
    entries.reverse();
    entries.into_iter().map(|e| (e.event, e.detail)).collect()
}

#[tokio::test]
async fn s1_idle_timeout_30_minutes() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;

    // 29:59 after the last request: still signed in (and this request counts as activity).
    app.advance(Duration::minutes(30) - secs(1));
    assert_eq!(anna.get("/account").await.status, StatusCode::OK);
    // Activity reset the idle clock: another 29:59 later it is still valid.
    app.advance(Duration::minutes(30) - secs(1));
    assert_eq!(anna.get("/account").await.status, StatusCode::OK);
    // Exactly 30:00 without a request: over.
    app.advance(Duration::minutes(30));
    let refused = anna.get("/account/sessions").await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(
        refused.location(),
        "/account/sign-in?next=%2Faccount%2Fsessions"
    );
    assert!(
        refused
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("__Host-rathaus_session=;") && c.contains("Max-Age=0")),
        "the dead cookie is removed: {:?}",
        refused.set_cookies()
    );
    let notice = anna.get(refused.location()).await;
    assert!(notice.body.contains("30 Minuten"), "{}", notice.body);
    let logged = events(&app).await;
    assert!(
        logged
            .iter()
            .any(|(e, d)| *e == AuditEvent::SessionExpired && d == "idle timeout"),
        "{logged:?}"
    );
}

#[tokio::test]
async fn s1_the_absolute_lifetime_holds_despite_activity() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let mut elapsed = Duration::zero();
    // A request every 29 minutes keeps the session alive until 12 hours after sign-in …
    while elapsed + Duration::minutes(29) < Duration::hours(12) {
        app.advance(Duration::minutes(29));
        elapsed += Duration::minutes(29);
        assert_eq!(
            anna.get("/account").await.status,
            StatusCode::OK,
            "{elapsed}"
        );
    }
    app.advance(Duration::hours(12) - elapsed - secs(1));
    assert_eq!(
        anna.get("/account").await.status,
        StatusCode::OK,
        "11:59:59"
    );
    // … and not a second longer.
    app.advance(secs(1));
    assert_eq!(anna.get("/account").await.status, StatusCode::SEE_OTHER);
    let api = anna.get("/api/v1/account").await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert!(
        events(&app)
            .await
            .iter()
            .any(|(e, d)| *e == AuditEvent::SessionExpired && d == "absolute lifetime reached")
    );
}

#[tokio::test]
async fn s2_sign_out_and_a_new_password_end_sessions_on_the_server() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let cookie = anna.session_cookie().unwrap();
    let page = anna.get("/account/sign-out").await;
    let out = anna
        .post("/account/sign-out", &[("csrf", &page.csrf())])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/account/signed-out");
    assert!(anna.session_cookie().is_none(), "cookie removed");
    // Replaying the old cookie: the session is gone on the server.
    let mut replay = app.browser();
    replay
        .cookies
        .insert("__Host-rathaus_session".into(), cookie);
    assert_eq!(replay.get("/account").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        replay.get("/api/v1/account").await.status,
        StatusCode::UNAUTHORIZED
    );

    // A new password through the mailed link ends every session of the account.
    let mut laptop = app.browser();
    laptop.sign_in("anna@example.org", PASSWORD).await;
    let mut phone = app.browser();
    phone.sign_in("anna@example.org", PASSWORD).await;
    assert_eq!(phone.get("/account").await.status, StatusCode::OK);
    let sent = phone
        .submit(
            "/account/forgot",
            "/account/forgot",
            &[("email", "anna@example.org")],
        )
        .await;
    assert_eq!(sent.location(), "/account/forgot/sent");
    let link = app.link(MailKind::Reset).await;
    let form = phone.get(&link).await;
    let token = link.split("token=").nth(1).unwrap();
    let reset = phone
        .post(
            "/account/reset",
            &[
                ("csrf", &form.csrf()),
                ("token", token),
                ("password", "Ein ganz neuer Satz fürs Konto"),
            ],
        )
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER, "{}", reset.body);
    assert_eq!(reset.location(), "/account/sign-in?changed=1");
    assert_eq!(laptop.get("/account").await.status, StatusCode::SEE_OTHER);
    assert_eq!(phone.get("/account").await.status, StatusCode::SEE_OTHER);
    // The link works once; the old password no longer, the new one does.
    let again = phone
        .post(
            "/account/reset",
            &[
                ("csrf", &form.csrf()),
                ("token", token),
                ("password", "Noch ein anderer langer Satz"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        phone.sign_in("anna@example.org", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        phone
            .sign_in("anna@example.org", "Ein ganz neuer Satz fürs Konto")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn s3_the_session_cookie_is_host_only_secure_http_only_and_carries_256_random_bits() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.register("anna@example.org", PASSWORD).await;
    let link = app.link(MailKind::Confirm).await;
    let page = anna.get(&link).await;
    let token = link.split("token=").nth(1).unwrap();
    anna.post(
        "/account/confirm",
        &[("csrf", &page.csrf()), ("token", token)],
    )
    .await;
    let answer = anna.sign_in("anna@example.org", PASSWORD).await;
    let cookie = answer
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-rathaus_session="))
        .expect("a session cookie");
    let (pair, attributes) = cookie.split_once(';').unwrap();
    assert_eq!(attributes, " Path=/; HttpOnly; SameSite=Lax; Secure");
    let value = pair.trim_start_matches("__Host-rathaus_session=");
    assert_eq!(value.len(), 43, "32 bytes, base64url");
    assert!(
        value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    // The database keeps only a digest of it.
    let stored = app.store.session(value).await.unwrap();
    assert!(stored.is_none(), "the token itself is no key");
    let digest = rathaus_auth::tokens::digest(value);
    assert!(app.store.session(&digest).await.unwrap().is_some());
    // Account pages are never cached.
    let account = anna.get("/account").await;
    assert_eq!(account.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn a8_sign_in_starts_a_new_session_and_the_old_cookie_is_refused() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let first = anna.session_cookie().unwrap();
    // Signing in again from the same browser, which sends the old cookie along (the form is
    // fetched without it: a signed-in person is sent on from the sign-in page).
    anna.cookies.remove("__Host-rathaus_session");
    let csrf = anna.get("/account/sign-in").await.csrf();
    anna.cookies
        .insert("__Host-rathaus_session".into(), first.clone());
    let again = anna
        .post(
            "/account/sign-in",
            &[
                ("csrf", &csrf),
                ("email", "anna@example.org"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let second = anna.session_cookie().unwrap();
    assert_ne!(first, second);
    assert_eq!(anna.get("/account").await.status, StatusCode::OK);
    let mut old = app.browser();
    old.cookies.insert("__Host-rathaus_session".into(), first);
    assert_eq!(old.get("/account").await.status, StatusCode::SEE_OTHER);
    // A cookie value planted before sign-in (session fixation) is never adopted.
    let mut planted = app.browser();
    let chosen = "A".repeat(43);
    planted
        .cookies
        .insert("__Host-rathaus_session".into(), chosen.clone());
    planted.sign_in("anna@example.org", PASSWORD).await;
    assert_ne!(planted.session_cookie().unwrap(), chosen);
}

#[tokio::test]
async fn a4_rising_delays_per_account_and_the_owner_gets_back_in() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let mut attacker = app.browser();
    attacker.ip = "198.51.100.7".into();
    for _ in 0..5 {
        let wrong = attacker
            .sign_in("anna@example.org", "falsches Passwort!")
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    }
    // The sixth try must wait 1 s, then 2 s, 4 s …; a throttled try checks no password.
    let mut expected = 1;
    for _ in 0..6 {
        let throttled = attacker.sign_in("anna@example.org", PASSWORD).await;
        assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            throttled.headers["retry-after"],
            expected.to_string().as_str()
        );
        assert!(
            throttled.body.contains("zu viele fehlgeschlagene"),
            "{}",
            throttled.body
        );
        app.advance(secs(expected));
        let wrong = attacker
            .sign_in("anna@example.org", "falsches Passwort!")
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        expected *= 2;
    }
    // Even from her own address the owner waits now, but never for ever: after the window
    // the right password works.
    let mut owner = app.browser();
    assert_eq!(
        owner.sign_in("anna@example.org", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.advance(Duration::minutes(15));
    assert_eq!(
        owner.sign_in("anna@example.org", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a4_the_101st_try_from_one_address_within_an_hour_is_refused() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let start = app.clock_now();
    let mut attacker = app.browser();
    attacker.ip = "203.0.113.66".into();
    let mut failures = 0;
    let mut refusal = None;
    // Different addresses each time, so only the per-address rule of the client applies;
    // whenever told to wait, the attacker waits exactly that long.
    for i in 0..200 {
        let answer = attacker
            .sign_in(&format!("nobody{i}@example.org"), "irgendein Passwort")
            .await;
        match answer.status {
            StatusCode::UNAUTHORIZED => failures += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let wait: i64 = answer.headers["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                if failures == 100 {
                    refusal = Some(wait);
                    break;
                }
                app.advance(secs(wait));
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(failures, 100);
    let wait = refusal.expect("the 101st try was refused");
    let elapsed = app.clock_now() - start;
    assert!(elapsed < Duration::hours(1), "{elapsed}");
    // Refused until the first failure is an hour old, not longer.
    assert!(
        elapsed + secs(wait) <= Duration::hours(1) + secs(1),
        "{wait}"
    );
    app.advance(secs(wait));
    let mut owner = app.browser();
    owner.ip = "203.0.113.66".into();
    assert_eq!(
        owner.sign_in("anna@example.org", PASSWORD).await.status,
        StatusCode::SEE_OTHER,
        "after the window the right password works"
    );
}

#[tokio::test]
async fn a3_a_weak_hash_is_replaced_at_sign_in() {
    let db = rathaus_store::testing::TestDatabase::sqlite().unwrap();
    {
        let store = db.open().await.unwrap();
        let weak = Hasher::new(
            Policy::weak_with_memory(64),
            1,
            std::time::Duration::from_secs(5),
        )
        .await
        .unwrap();
        let password = NewPassword::parse(PASSWORD, Blocklist::shipped(), None).unwrap();
        let hash = weak.hash(&password).await.unwrap();
        let email = Email::parse("old@example.org").unwrap();
        let id = AccountId::random();
        store
            .create_account(id, &email, hash.as_str(), support::start_time())
            .await
            .unwrap();
        store
            .confirm_email(id, support::start_time())
            .await
            .unwrap();
        store.close().await;
    }
    let app = App::on(
        db,
        Options {
            policy: Policy::weak_with_memory(128),
            ..Options::default()
        },
    )
    .await;
    let mut old = app.browser();
    assert_eq!(
        old.sign_in("old@example.org", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let account = app
        .store
        .account_by_email(&Email::parse("old@example.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        account
            .password_hash
            .starts_with("$argon2id$v=19$m=128,t=1,p=1$"),
        "{}",
        account.password_hash
    );
    // And the new hash verifies the same password.
    let mut again = app.browser();
    assert_eq!(
        again.sign_in("old@example.org", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

trait ClockNow {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}

impl ClockNow for App {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use rathaus_web::Clock;
        self.clock.now()
    }
}

/// The page with the address replaced, to compare answers for different addresses.
fn without(body: &str, email: &str) -> String {
    body.replace(email, "EMAIL")
}

#[tokio::test]
async fn a5_known_and_unknown_addresses_get_the_same_answers() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let mut probe = app.browser();
    probe.ip = "198.51.100.9".into();

    // Sign-in: a wrong password and an unknown address look alike.
    let known = probe
        .sign_in("anna@example.org", "nicht das Passwort")
        .await;
    let unknown = probe
        .sign_in("niemand@example.org", "nicht das Passwort")
        .await;
    assert_eq!(known.status, StatusCode::UNAUTHORIZED);
    assert_eq!(known.status, unknown.status);
    assert_eq!(
        without(&known.body, "anna@example.org"),
        without(&unknown.body, "niemand@example.org")
    );

    // Registration: the same redirect; the existing account gets a different mail.
    let before = app.mails().await.len();
    let known = probe
        .register("anna@example.org", "ein anderes langes Passwort")
        .await;
    let unknown = probe
        .register("neu@example.org", "ein anderes langes Passwort")
        .await;
    assert_eq!(known.status, StatusCode::SEE_OTHER);
    assert_eq!(
        (known.status, known.location()),
        (unknown.status, unknown.location())
    );
    assert_eq!(known.set_cookies(), unknown.set_cookies());
    let mails = app.mails().await;
    let kinds: Vec<_> = mails[before..]
        .iter()
        .map(|m| (m.kind, m.to.to_string()))
        .collect();
    assert!(kinds.contains(&(MailKind::AlreadyRegistered, "anna@example.org".into())));
    assert!(kinds.contains(&(MailKind::Confirm, "neu@example.org".into())));
    // The existing account was not changed: the old password still works.
    let mut again = app.browser();
    assert_eq!(
        again.sign_in("anna@example.org", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    // Forgotten password: the same redirect; only the account gets a mail.
    let before = app.mails().await.len();
    let known = probe
        .submit(
            "/account/forgot",
            "/account/forgot",
            &[("email", "anna@example.org")],
        )
        .await;
    let unknown = probe
        .submit(
            "/account/forgot",
            "/account/forgot",
            &[("email", "wer@example.org")],
        )
        .await;
    assert_eq!(
        (known.status, known.location()),
        (unknown.status, unknown.location())
    );
    assert_eq!(known.body, unknown.body);
    let mails = app.mails().await;
    assert_eq!(mails.len(), before + 1);
    assert_eq!(mails[before].kind, MailKind::Reset);
}

#[tokio::test]
async fn a1_long_unicode_passwords_work_and_short_ones_are_explained() {
    let app = App::new().await;
    let mut visitor = app.browser();
    let short = visitor.register("kurz@example.org", "elf Zeichen").await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(
        short.body.contains("mindestens 12 Zeichen"),
        "{}",
        short.body
    );
    assert!(short.body.contains("aria-invalid=\"true\""));
    assert!(
        short.body.contains("href=\"#password\""),
        "the summary links to the field"
    );
    assert!(
        short.body.contains("value=\"kurz@example.org\""),
        "the address is kept"
    );
    assert!(
        !short.body.contains("elf Zeichen"),
        "the password is never echoed"
    );

    // 1024 characters, many of them outside ASCII: accepted and never truncated.
    let long: String = "Grüße aus Köln 🌷 ".chars().cycle().take(1024).collect();
    let mut owner = app.browser();
    assert_eq!(
        owner.register("lang@example.org", &long).await.status,
        StatusCode::SEE_OTHER
    );
    let link = app.link(MailKind::Confirm).await;
    let page = owner.get(&link).await;
    let token = link.split("token=").nth(1).unwrap();
    owner
        .post(
            "/account/confirm",
            &[("csrf", &page.csrf()), ("token", token)],
        )
        .await;
    assert_eq!(
        owner.sign_in("lang@example.org", &long).await.status,
        StatusCode::SEE_OTHER
    );
    let mut other = app.browser();
    let cut: String = long.chars().take(1023).collect();
    assert_eq!(
        other.sign_in("lang@example.org", &cut).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a2_listed_passwords_are_refused_at_registration_and_reset() {
    let app = App::new().await;
    let mut visitor = app.browser();
    for listed in [
        "password1234",
        "Passwort1234",
        "123456789012",
        "qwertzuiop123",
    ] {
        let answer = visitor.register("anna@example.org", listed).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{listed}");
        assert!(answer.body.contains("sehr verbreitet"), "{listed}");
    }
    assert!(app.mails().await.is_empty(), "nothing was registered");
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    anna.submit(
        "/account/forgot",
        "/account/forgot",
        &[("email", "anna@example.org")],
    )
    .await;
    let link = app.link(MailKind::Reset).await;
    let form = anna.get(&link).await;
    let token = link.split("token=").nth(1).unwrap();
    for refused in ["iloveyou1234", "anna@example.org"] {
        let answer = anna
            .post(
                "/account/reset",
                &[
                    ("csrf", &form.csrf()),
                    ("token", token),
                    ("password", refused),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{refused}");
    }
    // The link was not used up by the refused passwords.
    let ok = anna
        .post(
            "/account/reset",
            &[
                ("csrf", &form.csrf()),
                ("token", token),
                ("password", "ein guter neuer Satz"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn mailed_links_are_single_use_and_expire() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.register("anna@example.org", PASSWORD).await;
    // Unconfirmed: the right password does not sign in, and a new link is sent.
    let unconfirmed = anna.sign_in("anna@example.org", PASSWORD).await;
    assert_eq!(unconfirmed.status, StatusCode::FORBIDDEN);
    assert!(unconfirmed.body.contains("bestätigen Sie zuerst"));
    assert!(anna.session_cookie().is_none());
    let confirmations = app
        .mails()
        .await
        .iter()
        .filter(|m| m.kind == MailKind::Confirm)
        .count();
    assert_eq!(confirmations, 2);

    // A confirmation link expires after 24 hours.
    let link = app.link(MailKind::Confirm).await;
    app.advance(Duration::hours(24));
    assert_eq!(anna.get(&link).await.status, StatusCode::BAD_REQUEST);
    // A fresh one works once.
    anna.sign_in("anna@example.org", PASSWORD).await;
    let link = app.link(MailKind::Confirm).await;
    let page = anna.get(&link).await;
    let token = link.split("token=").nth(1).unwrap();
    let first = anna
        .post(
            "/account/confirm",
            &[("csrf", &page.csrf()), ("token", token)],
        )
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let second = anna
        .post(
            "/account/confirm",
            &[("csrf", &page.csrf()), ("token", token)],
        )
        .await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST);

    // A reset link expires after one hour: at 59:59 it opens, at 1:00:00 it does not.
    anna.submit(
        "/account/forgot",
        "/account/forgot",
        &[("email", "anna@example.org")],
    )
    .await;
    let link = app.link(MailKind::Reset).await;
    app.advance(Duration::hours(1) - secs(1));
    assert_eq!(anna.get(&link).await.status, StatusCode::OK);
    app.advance(secs(1));
    assert_eq!(anna.get(&link).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn account_pages_speak_german_and_english() {
    let app = App::new().await;
    let mut visitor = app.browser();
    for (path, de, en) in [
        (
            "/account/register",
            "Servicekonto anlegen",
            "Create an account",
        ),
        (
            "/account/sign-in",
            "Passwort vergessen?",
            "Forgotten your password?",
        ),
        ("/account/forgot", "Link anfordern", "Send link"),
        (
            "/account/check-mail",
            "Bitte prüfen Sie",
            "Please check your e-mail",
        ),
    ] {
        let german = visitor.get(&format!("{path}?lang=de")).await;
        assert!(german.body.contains(de), "{path}");
        assert!(german.body.contains(">Anmelden<"), "{path}: navigation");
        let english = visitor.get(&format!("{path}?lang=en")).await;
        assert!(english.body.contains(en), "{path}");
        assert!(english.body.contains(">Sign in<"), "{path}: navigation");
    }
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let english = anna.get("/account?lang=en").await;
    assert!(english.body.contains("Sign out everywhere"));
    assert!(english.body.contains(">My account<"));
    assert!(english.body.contains("Basic (registered)"));
    let sessions = anna.get("/account/sessions?lang=en").await;
    assert!(sessions.body.contains("This session"));
}
