//! The Servicekonto over real HTTP against `rathaus demo`: the whole journey with the mails the
//! demo writes as files, the audit log without secrets (L1), cookies (S3), CSRF (S4), answers
//! for unknown accounts (A5) and a sign-in storm (F6). Timeouts and throttling, which need a
//! clock, are tested at router level in `crates/portal/tests/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Browser, Demo, DemoOptions, link_in};
use rathaus_domain::AuditEvent;

/// The two tests that measure time or load the machine run one after the other.
static TIMING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const CANARY: &str = "Kanarienvogel-Passwort-4711";
const CANARY_NEW: &str = "Zweiter-Kanarienvogel-0815";

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn l1_the_whole_journey_works_and_is_audited_without_secrets() {
    let demo = Demo::start_with(DemoOptions {
        log_filter: Some("info,tantivy=warn"),
        ..DemoOptions::default()
    });
    let mut anna = Browser::new(&demo.portal);

    let start = anna.get("/").await;
    assert!(
        start.body.contains("href=\"/account/sign-in\""),
        "navigation offers sign-in"
    );
    assert!(start.body.contains(">Anmelden<"));

    // Register; the confirmation link arrives as an .eml file in DATA/mail.
    let form = anna.get("/account/register").await;
    assert!(form.body.contains("autocomplete=\"new-password\""));
    assert!(form.body.contains("autocomplete=\"email\""));
    assert!(
        form.body.contains("mindestens 12 Zeichen") || form.body.contains("Mindestens 12 Zeichen")
    );
    let listed = anna
        .post(
            "/account/register",
            &[
                ("csrf", &form.csrf()),
                ("email", "anna@example.org"),
                ("password", "passwort1234"),
            ],
        )
        .await;
    assert_eq!(listed.status, 400, "A2: a listed password is refused");
    let mails = demo.mail_count();
    let registered = anna
        .submit(
            "/account/register",
            "/account/register",
            &[("email", "anna@example.org"), ("password", CANARY)],
        )
        .await;
    assert_eq!(registered.status, 303);
    assert_eq!(registered.location(), "/account/check-mail");
    let mail = demo.newest_mail("confirm", mails);
    assert!(mail.contains("To: anna@example.org"), "{mail}");
    let confirm = link_in(&mail, &format!("{}/account/confirm?token=", demo.portal));
    let confirm_token = confirm.split("token=").nth(1).unwrap().to_owned();
    // Registering again with the same address: the same answer, a different mail.
    let mails = demo.mail_count();
    let again = Browser::new(&demo.portal)
        .submit(
            "/account/register",
            "/account/register",
            &[
                ("email", "anna@example.org"),
                ("password", "ein ganz anderes Passwort"),
            ],
        )
        .await;
    assert_eq!(
        (again.status, again.location()),
        (303, "/account/check-mail")
    );
    demo.newest_mail("already-registered", mails);

    let page = anna.get(&confirm).await;
    assert_eq!(page.status, 200);
    let confirmed = anna
        .post(
            "/account/confirm",
            &[("csrf", &page.csrf()), ("token", &confirm_token)],
        )
        .await;
    assert_eq!(confirmed.status, 200);

    // A wrong password, then the right one.
    let wrong = anna
        .submit(
            "/account/sign-in",
            "/account/sign-in",
            &[
                ("email", "anna@example.org"),
                ("password", "Kanarienvogel-falsch"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    let form = anna.get("/account/sign-in").await;
    assert!(form.body.contains("autocomplete=\"current-password\""));
    let signed_in = anna
        .post(
            "/account/sign-in",
            &[
                ("csrf", &form.csrf()),
                ("email", "anna@example.org"),
                ("password", CANARY),
            ],
        )
        .await;
    assert_eq!((signed_in.status, signed_in.location()), (303, "/account"));
    // S3 in the plain-HTTP demo: no `Secure` and so no `__Host-` prefix, everything else kept.
    let cookie = signed_in
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("rathaus_session="))
        .unwrap();
    assert!(
        cookie.ends_with("; Path=/; HttpOnly; SameSite=Lax"),
        "{cookie}"
    );
    let session_token = anna.session_cookie().unwrap();
    assert_eq!(session_token.len(), 43);

    let account = anna.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(account.body.contains("anna@example.org"));
    assert!(
        account.body.contains(">Mein Konto<"),
        "navigation offers the account"
    );
    let (status, json) = {
        let api = anna.get("/api/v1/account").await;
        (
            api.status,
            serde_json::from_str::<serde_json::Value>(&api.body).unwrap(),
        )
    };
    assert_eq!((status, json["level"].as_str()), (200, Some("basic")));
    let out = anna
        .post("/account/sign-out", &[("csrf", &account.csrf())])
        .await;
    assert_eq!((out.status, out.location()), (303, "/account/signed-out"));
    let mut replay = Browser::new(&demo.portal);
    replay
        .cookies
        .insert("rathaus_session".into(), session_token.clone());
    assert_eq!(
        replay.get("/account").await.status,
        303,
        "S2: the old cookie is dead"
    );

    // Forgotten password: a one-hour link by mail.
    let mails = demo.mail_count();
    let sent = anna
        .submit(
            "/account/forgot",
            "/account/forgot",
            &[("email", "anna@example.org")],
        )
        .await;
    assert_eq!(sent.location(), "/account/forgot/sent");
    let mail = demo.newest_mail("reset", mails);
    let reset = link_in(&mail, &format!("{}/account/reset?token=", demo.portal));
    let reset_token = reset.split("token=").nth(1).unwrap().to_owned();
    let form = anna.get(&reset).await;
    let done = anna
        .post(
            "/account/reset",
            &[
                ("csrf", &form.csrf()),
                ("token", &reset_token),
                ("password", CANARY_NEW),
            ],
        )
        .await;
    assert_eq!(
        (done.status, done.location()),
        (303, "/account/sign-in?changed=1")
    );
    let back = anna
        .submit(
            "/account/sign-in",
            "/account/sign-in",
            &[("email", "anna@example.org"), ("password", CANARY_NEW)],
        )
        .await;
    assert_eq!(back.status, 303);

    // L1: the events are in the audit log, in UTC …
    let db = demo.data_dir().join("portal.db");
    let store = rathaus_store::open(&format!("sqlite:{}", db.display()), &Default::default())
        .await
        .unwrap();
    let entries = store.audit_entries(100).await.unwrap();
    for event in [
        AuditEvent::Register,
        AuditEvent::EmailConfirmed,
        AuditEvent::SignInFailed,
        AuditEvent::SignIn,
        AuditEvent::SignOut,
        AuditEvent::PasswordReset,
    ] {
        assert!(
            entries.iter().any(|e| e.event == event),
            "{event} missing: {entries:?}"
        );
    }
    store.close().await;
    let log = demo.log();
    assert!(log.contains("rathaus::audit"), "audit lines in the log");
    assert!(
        log.contains("mail written"),
        "mail files are named in the log"
    );
    // … and no password, session token or mailed token is in the log or the database.
    let mut files = vec![("log".to_owned(), log.into_bytes())];
    for name in ["portal.db", "portal.db-wal"] {
        if let Ok(bytes) = std::fs::read(demo.data_dir().join(name)) {
            files.push((name.to_owned(), bytes));
        }
    }
    for (name, bytes) in &files {
        for secret in [
            CANARY,
            CANARY_NEW,
            &session_token,
            &confirm_token,
            &reset_token,
        ] {
            assert!(!contains(bytes, secret), "{name} contains a secret");
        }
    }
}

#[tokio::test]
async fn s4_cross_site_and_token_less_posts_are_refused_over_http() {
    let demo = Demo::start(&[]);
    let mut eve = Browser::new(&demo.portal);
    let fields = [("email", "eve@example.org"), ("password", CANARY)];
    assert_eq!(eve.post("/account/register", &fields).await.status, 403);
    let csrf = eve.get("/account/register").await.csrf();
    let with_token = [("csrf", csrf.as_str()), fields[0], fields[1]];
    let cross = eve
        .post_with(
            "/account/register",
            &with_token,
            &[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
    assert_eq!(cross.status, 403);
    // The same form from the portal's own origin is fine.
    let own = eve
        .post_with(
            "/account/register",
            &with_token,
            &[("origin", &demo.portal), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(own.status, 303);
}

/// Signs in `email` with a wrong password and returns how long it took.
async fn failed_sign_in(portal: &str, email: &str) -> Duration {
    let mut browser = Browser::new(portal);
    let csrf = browser.get("/account/sign-in").await.csrf();
    let started = Instant::now();
    let answer = browser
        .post(
            "/account/sign-in",
            &[
                ("csrf", &csrf),
                ("email", email),
                ("password", "nicht das Passwort"),
            ],
        )
        .await;
    let took = started.elapsed();
    assert_eq!(answer.status, 401);
    took
}

#[tokio::test]
async fn a5_unknown_addresses_take_as_long_as_known_ones() {
    let _serial = TIMING.lock().await;
    let demo = Demo::start(&[]);
    let mut anna = Browser::new(&demo.portal);
    anna.submit(
        "/account/register",
        "/account/register",
        &[("email", "anna@example.org"), ("password", CANARY)],
    )
    .await;
    // Four tries each (fewer than the free failures per account); compare the fastest. Without
    // the dummy hash an unknown address would answer in about a millisecond, more than ten
    // times faster than argon2; a factor of 3 leaves room for a busy test machine.
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..4 {
        known.push(failed_sign_in(&demo.portal, "anna@example.org").await);
        unknown.push(failed_sign_in(&demo.portal, &format!("niemand{i}@example.org")).await);
    }
    let known = known.into_iter().min().unwrap();
    let unknown = unknown.into_iter().min().unwrap();
    eprintln!("fastest failed sign-in: known {known:?}, unknown {unknown:?}");
    assert!(
        unknown * 3 >= known && known * 3 >= unknown,
        "known {known:?} vs unknown {unknown:?}: both must hash"
    );
}

#[tokio::test]
async fn f6_a_sign_in_storm_gets_429_with_retry_after_and_the_node_stays_responsive() {
    let _serial = TIMING.lock().await;
    // One password worker and a short wait, so that a small burst is a storm.
    let demo = Demo::start_with(DemoOptions {
        env: &[
            ("RATHAUS_PORTAL__PASSWORD_WORKERS", "1"),
            ("RATHAUS_PORTAL__PASSWORD_WAIT_MS", "20"),
        ],
        ..DemoOptions::default()
    });
    let mut tries = Vec::new();
    for i in 0..24 {
        let portal = demo.portal.clone();
        tries.push(tokio::spawn(async move {
            let mut browser = Browser::new(&portal);
            let csrf = browser.get("/account/sign-in").await.csrf();
            browser
                .post(
                    "/account/sign-in",
                    &[
                        ("csrf", &csrf),
                        ("email", &format!("sturm{i}@example.org")),
                        ("password", "ein Passwort im Sturm"),
                    ],
                )
                .await
        }));
    }
    // While the storm lasts, other pages answer promptly.
    let started = Instant::now();
    let mut visitor = Browser::new(&demo.portal);
    assert_eq!(visitor.get("/").await.status, 200);
    assert_eq!(visitor.get("/healthz").await.status, 200);
    let page_time = started.elapsed();
    let mut busy = 0;
    let mut answered = 0;
    for answer in tries {
        let answer = answer.await.unwrap();
        match answer.status {
            429 => {
                busy += 1;
                assert_eq!(answer.headers["retry-after"], "2");
                assert!(
                    answer.body.contains("gleich noch einmal"),
                    "a friendly page"
                );
            }
            401 => answered += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    eprintln!("storm: {answered} answered, {busy} told to retry; pages took {page_time:?}");
    assert!(busy > 0, "the bounded pool refused some");
    assert!(answered > 0, "and served others");
    assert!(page_time < Duration::from_secs(5), "{page_time:?}");
    // After the storm, sign-ins are served again (`failed_sign_in` asserts the 401).
    failed_sign_in(&demo.portal, "danach@example.org").await;
}
