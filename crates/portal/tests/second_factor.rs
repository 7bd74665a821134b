//! The second factor of the Servicekonto (an authenticator app, TOTP) through the portal's
//! router with a manual clock: enrolment, the code step of the sign-in, replays, the time
//! window, recovery codes, removal, throttling, CSRF and the audit log. On SQLite always, on
//! PostgreSQL when `DATABASE_URL` is set. Codes are computed here independently of the portal
//! (RFC 6238 with HMAC-SHA-1), from the key the setup page shows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use http::StatusCode;
use rathaus_domain::{AuditEvent, Email};
use rathaus_store::testing::TestDatabase;
use support::{Answer, App, Browser, Options, PASSWORD};

const SESSION: &str = "__Host-rathaus_session";
const PENDING: &str = "__Host-rathaus_pending";
const ANNA: &str = "anna@example.org";

fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        buffer = (buffer << 5) | u32::try_from(ALPHABET.find(c).unwrap()).unwrap();
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).unwrap());
        }
    }
    out
}

fn base32_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buffer, mut bits) = (String::new(), 0u32, 0);
    for b in bytes {
        buffer = (buffer << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    out
}

/// The six-digit code of `key` at `at` (RFC 6238: 30-second steps, HMAC-SHA-1).
fn totp(key: &[u8], at: DateTime<Utc>) -> String {
    let step = at.timestamp().div_euclid(30);
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
    mac.update(&step.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[19] & 0x0f);
    let value = u32::from_be_bytes(hash[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    format!("{:06}", value % 1_000_000)
}

/// A code that is none of the codes of the steps around `at`.
fn wrong_code(key: &[u8], at: DateTime<Utc>) -> String {
    let near: Vec<String> = (-1..=1)
        .map(|i| totp(key, at + Duration::seconds(30 * i)))
        .collect();
    (0..)
        .map(|n: u32| format!("{:06}", (n * 7919) % 1_000_000))
        .find(|c| !near.contains(c))
        .unwrap()
}

fn now(app: &App) -> DateTime<Utc> {
    app.state.clock.now()
}

async fn events(app: &App) -> Vec<(AuditEvent, String)> {
    let mut entries = app.store.audit_entries(1000).await.unwrap();
    entries.reverse();
    entries.into_iter().map(|e| (e.event, e.detail)).collect()
}

async fn account_id(app: &App) -> rathaus_domain::AccountId {
    app.store
        .account_by_email(&Email::parse(ANNA).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn enabled(app: &App) -> bool {
    app.store
        .totp_factor(&account_id(app).await)
        .await
        .unwrap()
        .is_some_and(|f| f.confirmed_at.is_some())
}

/// The recovery codes listed on a page.
fn recovery_codes(page: &Answer) -> Vec<String> {
    page.body
        .split("<code class=\"recovery-code\">")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap().to_owned())
        .collect()
}

/// Sets up an authenticator for the signed-in browser; returns its key and the recovery codes.
/// The clock then moves on one step, so that the code used to confirm is not the current one.
async fn enable_totp(app: &App, anna: &mut Browser<'_>) -> (Vec<u8>, Vec<String>) {
    let security = anna.get("/account/security").await;
    assert_eq!(security.status, StatusCode::OK);
    assert!(security.body.contains("data-enabled=\"no\""));
    let started = anna
        .post("/account/security/totp", &[("csrf", &security.csrf())])
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    assert_eq!(started.location(), "/account/security/totp");
    let setup = anna.get("/account/security/totp").await;
    assert_eq!(setup.status, StatusCode::OK);
    assert!(setup.body.contains("<svg class=\"identification-qr\""));
    let marker = "id=\"totp-key\">";
    let start = setup.body.find(marker).unwrap() + marker.len();
    let key = base32_decode(setup.body[start..].split('<').next().unwrap());
    assert_eq!(key.len(), 20);
    let code = totp(&key, now(app));
    let confirmed = anna
        .post(
            "/account/security/totp/confirm",
            &[("csrf", &setup.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let codes = recovery_codes(&confirmed);
    assert_eq!(codes.len(), 10);
    app.advance(Duration::seconds(30));
    (key, codes)
}

/// A fresh browser that has entered the right password: it holds a pending sign-in.
async fn after_password<'a>(app: &'a App) -> Browser<'a> {
    let mut browser = app.browser();
    let answer = browser.sign_in(ANNA, PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location(), "/account/sign-in/code");
    browser
}

async fn enter_code(browser: &mut Browser<'_>, code: &str) -> Answer {
    browser
        .submit(
            "/account/sign-in/code",
            "/account/sign-in/code",
            &[("code", code)],
        )
        .await
}

async fn sign_out(browser: &mut Browser<'_>) {
    let page = browser.get("/account/sign-out").await;
    let out = browser
        .post("/account/sign-out", &[("csrf", &page.csrf())])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
}

/// Enrol, sign in with a code, with a recovery code (once), remove: on one backend.
async fn whole_flow(app: App) {
    let mut anna = app.browser();
    anna.create_account(ANNA).await;
    let (key, codes) = enable_totp(&app, &mut anna).await;
    assert!(enabled(&app).await);
    let security = anna.get("/account/security").await;
    assert!(security.body.contains("data-enabled=\"yes\""));
    assert!(
        security
            .body
            .contains("Unbenutzte Wiederherstellungscodes: 10")
    );
    // The secret is sealed at rest: the stored bytes do not contain it.
    let stored = app
        .store
        .totp_factor(&account_id(&app).await)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !stored
            .secret_sealed
            .windows(key.len())
            .any(|w| w == key.as_slice())
    );

    // The password alone no longer signs in: it leads to the code step, without a session.
    let mut laptop = after_password(&app).await;
    assert!(laptop.session_cookie().is_none());
    let code = enter_code(&mut laptop, &totp(&key, now(&app))).await;
    assert_eq!(code.status, StatusCode::SEE_OTHER, "{}", code.body);
    assert_eq!(code.location(), "/account");
    assert!(laptop.session_cookie().is_some());
    assert!(!laptop.cookies.contains_key(PENDING));
    assert_eq!(laptop.get("/account").await.status, StatusCode::OK);
    sign_out(&mut laptop).await;

    // A recovery code works once, in any case and without the dash.
    app.advance(Duration::seconds(30));
    let mut phone = after_password(&app).await;
    let typed = codes[3].replace('-', "").to_uppercase();
    let recovered = enter_code(&mut phone, &typed).await;
    assert_eq!(
        recovered.status,
        StatusCode::SEE_OTHER,
        "{}",
        recovered.body
    );
    assert_eq!(recovered.location(), "/account/security?recovered=1");
    let notice = phone.get("/account/security?recovered=1").await;
    assert!(
        notice.body.contains("Unbenutzte Codes: 9"),
        "{}",
        notice.body
    );
    sign_out(&mut phone).await;
    let mut again = after_password(&app).await;
    let refused = enter_code(&mut again, &codes[3]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(again.session_cookie().is_none());
    // A recovery code of another account (or made up) is refused the same way.
    let refused = enter_code(&mut again, "abcde-fghij").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    // Removal needs the password and a current code; a wrong password changes nothing.
    app.advance(Duration::seconds(30));
    let page = anna.get("/account/security").await;
    let wrong = anna
        .post(
            "/account/security/totp/remove",
            &[
                ("csrf", &page.csrf()),
                ("password", "ein ganz anderes Passwort"),
                ("code", &totp(&key, now(&app))),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(enabled(&app).await);
    let no_code = anna
        .post(
            "/account/security/totp/remove",
            &[("csrf", &page.csrf()), ("password", PASSWORD), ("code", "")],
        )
        .await;
    assert_eq!(no_code.status, StatusCode::BAD_REQUEST);
    assert!(enabled(&app).await);
    let removed = anna
        .post(
            "/account/security/totp/remove",
            &[
                ("csrf", &page.csrf()),
                ("password", PASSWORD),
                ("code", &totp(&key, now(&app))),
            ],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert_eq!(removed.location(), "/account/security?removed=1");
    assert!(!enabled(&app).await);
    assert!(
        app.store
            .totp_factor(&account_id(&app).await)
            .await
            .unwrap()
            .is_none()
    );
    // And the password alone signs in again.
    let mut desk = app.browser();
    let answer = desk.sign_in(ANNA, PASSWORD).await;
    assert_eq!(answer.location(), "/account");
    assert!(desk.session_cookie().is_some());

    // L1: the events are there, and neither the key nor any recovery code is in an entry.
    let entries = events(&app).await;
    let key_text = base32_encode(&key);
    for (_, detail) in &entries {
        assert!(!detail.contains(&key_text[..8]), "{detail}");
        for code in &codes {
            assert!(!detail.contains(code.as_str()), "{detail}");
            assert!(!detail.contains(&code.replace('-', "")), "{detail}");
        }
    }
    let logged: Vec<AuditEvent> = entries.into_iter().map(|(e, _)| e).collect();
    for event in [
        AuditEvent::SecondFactorAdded,
        AuditEvent::RecoveryCodeUsed,
        AuditEvent::SecondFactorFailed,
        AuditEvent::SecondFactorRemoved,
    ] {
        assert!(logged.contains(&event), "{event:?} missing: {logged:?}");
    }
    app.db.cleanup().await.unwrap();
}

#[tokio::test]
async fn l1_totp_enrol_sign_in_recover_and_remove_sqlite() {
    whole_flow(App::new().await).await;
}

#[tokio::test]
async fn l1_totp_enrol_sign_in_recover_and_remove_postgres() {
    let Some(db) = TestDatabase::postgres_from_env().await.unwrap() else {
        eprintln!("DATABASE_URL is not set; PostgreSQL run skipped");
        return;
    };
    whole_flow(App::on(db, Options::default()).await).await;
}

#[tokio::test]
async fn enrolment_needs_a_right_code_and_keeps_an_active_factor() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account(ANNA).await;
    let page = anna.get("/account/security").await;
    anna.post("/account/security/totp", &[("csrf", &page.csrf())])
        .await;
    let setup = anna.get("/account/security/totp").await;
    for (code, status) in [
        ("12345", StatusCode::BAD_REQUEST),
        ("abcde-23456", StatusCode::BAD_REQUEST),
    ] {
        let answer = anna
            .post(
                "/account/security/totp/confirm",
                &[("csrf", &setup.csrf()), ("code", code)],
            )
            .await;
        assert_eq!(answer.status, status, "{code}");
        assert!(answer.body.contains("id=\"code-error\""));
    }
    let marker = "id=\"totp-key\">";
    let start = setup.body.find(marker).unwrap() + marker.len();
    let key = base32_decode(setup.body[start..].split('<').next().unwrap());
    let wrong = anna
        .post(
            "/account/security/totp/confirm",
            &[
                ("csrf", &setup.csrf()),
                ("code", &wrong_code(&key, now(&app))),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(!enabled(&app).await);
    // Unconfirmed, the factor does not protect the sign-in yet.
    let mut desk = app.browser();
    assert_eq!(desk.sign_in(ANNA, PASSWORD).await.location(), "/account");

    // Once confirmed, starting again does not replace the active secret.
    let ok = anna
        .post(
            "/account/security/totp/confirm",
            &[("csrf", &setup.csrf()), ("code", &totp(&key, now(&app)))],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let before = app
        .store
        .totp_factor(&account_id(&app).await)
        .await
        .unwrap()
        .unwrap();
    let restart = anna
        .post("/account/security/totp", &[("csrf", &setup.csrf())])
        .await;
    assert_eq!(restart.location(), "/account/security");
    assert_eq!(
        anna.get("/account/security/totp").await.location(),
        "/account/security"
    );
    let after = app
        .store
        .totp_factor(&account_id(&app).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn totp_codes_one_step_either_side_are_accepted_two_steps_are_refused() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account(ANNA).await;
    let (key, _) = enable_totp(&app, &mut anna).await;
    // Each sign-in takes a later step than the one before (no replays): ten minutes apart.
    for offset in [-30, 30] {
        app.advance(Duration::minutes(10));
        let mut browser = after_password(&app).await;
        let answer = enter_code(
            &mut browser,
            &totp(&key, now(&app) + Duration::seconds(offset)),
        )
        .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "±1 step ({offset} s)");
        assert!(browser.session_cookie().is_some());
    }
    for offset in [-60, 60] {
        app.advance(Duration::minutes(10));
        let mut browser = after_password(&app).await;
        let code = totp(&key, now(&app) + Duration::seconds(offset));
        if (-1..=1).any(|i| totp(&key, now(&app) + Duration::seconds(30 * i)) == code) {
            continue; // the far step's code happens to equal a near one (1 in 10⁶)
        }
        let answer = enter_code(&mut browser, &code).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "±2 steps ({offset} s)"
        );
        assert!(browser.session_cookie().is_none());
    }
}

#[tokio::test]
async fn totp_a_code_is_refused_the_second_time_and_an_older_one_after_a_newer() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account(ANNA).await;
    let (key, _) = enable_totp(&app, &mut anna).await;
    let code = totp(&key, now(&app));
    let mut first = after_password(&app).await;
    assert_eq!(
        enter_code(&mut first, &code).await.status,
        StatusCode::SEE_OTHER
    );
    // Someone who watched the code and knows the password, within the same 30 seconds.
    let mut watcher = after_password(&app).await;
    let replay = enter_code(&mut watcher, &code).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert!(watcher.session_cookie().is_none());
    // The previous step's code is still in the window but older than the one used: refused.
    let older = totp(&key, now(&app) - Duration::seconds(30));
    if older != code {
        let answer = enter_code(&mut watcher, &older).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    let failed: Vec<String> = events(&app)
        .await
        .into_iter()
        .filter(|(e, _)| *e == AuditEvent::SecondFactorFailed)
        .map(|(_, d)| d)
        .collect();
    assert!(
        failed.iter().any(|d| d.contains("code used before")),
        "{failed:?}"
    );
    // L1: no code appears in the log.
    let all = events(&app).await;
    assert!(all.iter().all(|(_, d)| !d.contains(&code)));
}

#[tokio::test]
async fn the_pending_sign_in_is_not_a_session_is_single_use_and_expires() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account(ANNA).await;
    let (key, _) = enable_totp(&app, &mut anna).await;

    let mut pending = after_password(&app).await;
    let token = pending.cookies[PENDING].clone();
    assert_eq!(token.len(), 43, "256 random bits");
    for path in [
        "/account",
        "/account/security",
        "/account/sessions",
        "/api/v1/account",
    ] {
        let answer = pending.get(path).await;
        assert!(
            answer.status == StatusCode::UNAUTHORIZED
                || answer.location().starts_with("/account/sign-in"),
            "{path}: {}",
            answer.status
        );
    }
    // The pending token used as a session cookie opens nothing either.
    let mut forged = app.browser();
    forged.cookies.insert(SESSION.into(), token.clone());
    assert_eq!(forged.get("/account").await.status, StatusCode::SEE_OTHER);

    // Finished once; the same pending cookie cannot finish a second sign-in.
    let done = enter_code(&mut pending, &totp(&key, now(&app))).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let mut copy = app.browser();
    copy.cookies.insert(PENDING.into(), token);
    let reused = copy.get("/account/sign-in/code").await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert!(reused.body.contains("Bitte melden Sie sich noch einmal an"));

    // Five minutes to enter the code: at 4:59 the form is there, at 5:00 it is over.
    app.advance(Duration::seconds(30));
    let mut slow = after_password(&app).await;
    app.advance(Duration::seconds(299));
    let form = slow.get("/account/sign-in/code").await;
    assert_eq!(form.status, StatusCode::OK);
    app.advance(Duration::seconds(1));
    let late = slow
        .post(
            "/account/sign-in/code",
            &[("csrf", &form.csrf()), ("code", &totp(&key, now(&app)))],
        )
        .await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);
    assert!(slow.session_cookie().is_none());

    // Five wrong codes end a pending sign-in: the password has to be entered again.
    let mut guesser = after_password(&app).await;
    let wrong = wrong_code(&key, now(&app));
    for _ in 0..4 {
        assert_eq!(
            enter_code(&mut guesser, &wrong).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let ended = enter_code(&mut guesser, &wrong).await;
    assert_eq!(ended.status, StatusCode::BAD_REQUEST);
    assert!(!guesser.cookies.contains_key(PENDING));
}

#[tokio::test]
async fn a4_wrong_codes_are_throttled_per_account_and_the_owner_gets_back_in() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account(ANNA).await;
    let (key, _) = enable_totp(&app, &mut anna).await;
    let start = now(&app);
    // Five wrong codes cost nothing but the pending sign-in …
    let mut guesser = after_password(&app).await;
    for _ in 0..5 {
        enter_code(&mut guesser, &wrong_code(&key, now(&app))).await;
    }
    // … the sixth waits, even with the right code and a fresh password step.
    let mut owner = after_password(&app).await;
    let throttled = enter_code(&mut owner, &totp(&key, now(&app))).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers["retry-after"], "1");
    assert!(owner.session_cookie().is_none());
    // Ten wrong codes an hour at most, however slowly they come.
    let mut guesser = after_password(&app).await;
    for i in 0..5 {
        app.advance(Duration::seconds(20));
        let answer = enter_code(&mut guesser, &wrong_code(&key, now(&app))).await;
        // Each is counted; the fifth also ends this pending sign-in.
        let expected = if i < 4 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(answer.status, expected, "try {i}");
    }
    app.advance(Duration::minutes(20));
    let mut owner = after_password(&app).await;
    let capped = enter_code(&mut owner, &totp(&key, now(&app))).await;
    assert_eq!(capped.status, StatusCode::TOO_MANY_REQUESTS);
    // Once the first failures are an hour old, the owner gets in: never a permanent lock.
    app.advance(start + Duration::hours(1) + Duration::seconds(1) - now(&app));
    let mut owner = after_password(&app).await;
    let back = enter_code(&mut owner, &totp(&key, now(&app))).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert!(owner.session_cookie().is_some());
}

#[tokio::test]
async fn a8_the_completed_sign_in_starts_a_new_session_and_the_old_cookie_is_refused() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account(ANNA).await;
    let (key, _) = enable_totp(&app, &mut anna).await;
    let first = anna.session_cookie().unwrap();
    // Signing in again from the same browser, which sends its old session cookie along.
    anna.cookies.remove(SESSION);
    let csrf = anna.get("/account/sign-in").await.csrf();
    anna.cookies.insert(SESSION.into(), first.clone());
    let password = anna
        .post(
            "/account/sign-in",
            &[("csrf", &csrf), ("email", ANNA), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(password.location(), "/account/sign-in/code");
    // The old session is untouched by the password alone …
    assert_eq!(anna.session_cookie().unwrap(), first);
    let csrf = anna.get("/account/sign-in/code").await.csrf();
    let done = anna
        .post(
            "/account/sign-in/code",
            &[("csrf", &csrf), ("code", &totp(&key, now(&app)))],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    // … and replaced when the sign-in completes.
    let second = anna.session_cookie().unwrap();
    assert_ne!(first, second);
    assert_eq!(anna.get("/account").await.status, StatusCode::OK);
    let mut old = app.browser();
    old.cookies.insert(SESSION.into(), first);
    assert_eq!(old.get("/account").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn s4_second_factor_forms_without_a_valid_token_change_nothing() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account(ANNA).await;
    let anonymous = {
        let mut other = app.browser();
        other.get("/account/sign-in").await.csrf()
    };
    // Enrolment: no token, or a token that is not the session's.
    for token in ["", anonymous.as_str()] {
        let answer = anna
            .post("/account/security/totp", &[("csrf", token)])
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
    }
    assert!(
        app.store
            .totp_factor(&account_id(&app).await)
            .await
            .unwrap()
            .is_none()
    );
    let (key, _) = enable_totp(&app, &mut anna).await;
    // Confirmation without a token: nothing confirmed (a new, unconfirmed secret is not made
    // either, since the forms above were refused).
    let confirm = anna
        .post(
            "/account/security/totp/confirm",
            &[("code", &totp(&key, now(&app)))],
        )
        .await;
    assert_eq!(confirm.status, StatusCode::FORBIDDEN);
    // Removal without a token, with password and a right code: still on.
    let remove = anna
        .post(
            "/account/security/totp/remove",
            &[("password", PASSWORD), ("code", &totp(&key, now(&app)))],
        )
        .await;
    assert_eq!(remove.status, StatusCode::FORBIDDEN);
    assert!(enabled(&app).await);
    // The code step without a token: no session, the code not used up.
    let mut browser = after_password(&app).await;
    let code = totp(&key, now(&app));
    let refused = browser
        .post("/account/sign-in/code", &[("csrf", "x"), ("code", &code)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(browser.session_cookie().is_none());
    let accepted = enter_code(&mut browser, &code).await;
    assert_eq!(
        accepted.status,
        StatusCode::SEE_OTHER,
        "the code was not used up"
    );
}

#[tokio::test]
async fn second_factor_pages_speak_german_and_english() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account(ANNA).await;
    let (key, _) = enable_totp(&app, &mut anna).await;
    let de = anna.get("/account/security").await;
    assert!(de.body.contains("Anmeldung mit zweitem Faktor"));
    let mut browser = after_password(&app).await;
    browser.cookies.insert("lang".into(), "en".into());
    let code_page = browser.get("/account/sign-in/code").await;
    assert!(
        code_page.body.contains("Enter the code from the app"),
        "{}",
        code_page.body
    );
    let wrong = enter_code(&mut browser, "12").await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.body.contains("A code from the app has six digits"));
    let ok = enter_code(&mut browser, &totp(&key, now(&app))).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}
