#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The in-person identification (issue 3) end to end over real HTTP: the portal and authority
//! nodes with their back office listen on ports; a citizen shows a one-time code, a clerk at
//! the counter enters it with the ID card's details, the node signs an identity assertion and
//! the portal raises the account to `substantial` (A6, A8). Reused, expired, replaced and
//! foreign codes, forged, tampered, old and replayed assertions, a node speaking for another
//! node's authority, and guessing are all refused and change nothing (A6, C3, Z2, L1).
//! The SQLite run is always on; `DATABASE_URL` adds the same flow on PostgreSQL.

mod support;

use http::StatusCode;
use rathaus_domain::{AssuranceLevel, AuditEvent, Email};
use rathaus_seal::protocol::{IDENTITY_TYP, IdentityAttributes, IdentityPayload};
use rathaus_store::testing::TestDatabase;
use support::node::{Node, start_node};
use support::{App, Browser, Options, PASSWORD, responsible_node, start_time, test_keys};

const CLERK: &str = "theke@mitte.example.org";
/// The family name the clerk records; it must never reach a log or the audit log (L1).
const CANARY: &str = "Kanarienvogel-Mustermann";

async fn serve_portal(app: &App) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    url
}

/// A clerk's browser over HTTP, cookies kept by hand.
struct Clerk {
    base: String,
    client: reqwest::Client,
    cookies: Vec<String>,
}

impl Clerk {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(http::header::SET_COOKIE) {
            let pair = value
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned();
            let name = pair.split('=').next().unwrap().to_owned();
            self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            self.cookies.push(pair);
        }
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(http::header::COOKIE, self.cookies.join("; "))
            .send()
            .await
            .unwrap();
        self.keep(&response);
        let location = location(&response);
        (response.status(), location, response.text().await.unwrap())
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header(http::header::COOKIE, self.cookies.join("; "))
            .form(fields)
            .send()
            .await
            .unwrap();
        self.keep(&response);
        let location = location(&response);
        (response.status(), location, response.text().await.unwrap())
    }

    async fn sign_in(&mut self) {
        let (_, _, form) = self.get("/back-office/sign-in").await;
        let (status, location, _) = self
            .post(
                "/back-office/sign-in",
                &[
                    ("csrf", &csrf(&form)),
                    ("email", CLERK),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(
            (status, location.as_str()),
            (StatusCode::SEE_OTHER, "/back-office")
        );
    }

    /// Fills in the counter form for `code` and confirms; the answer's status and body.
    async fn identify(&mut self, code: &str) -> (StatusCode, String) {
        let (status, _, page) = self.get("/back-office/counter").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let (status, _, body) = self
            .post(
                "/back-office/counter",
                &[
                    ("csrf", &csrf(&page)),
                    ("code", code),
                    ("family_name", CANARY),
                    ("given_names", "Erika"),
                    ("birth_date", "1964-08-12"),
                    ("street", "Heidestraße"),
                    ("house_number", "17"),
                    ("postcode", "20099"),
                    ("city", "Hamburg"),
                    ("document_type", "personalausweis"),
                    ("checked", "yes"),
                ],
            )
            .await;
        (status, body)
    }
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(http::header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn csrf(body: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker).unwrap() + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

/// Asks for a code on the level page; returns it as shown.
async fn show_code(citizen: &mut Browser<'_>) -> String {
    show_code_with(citizen, false).await
}

/// Asks for a code, agreeing (`remember`) or not that the checked details are kept for prefill.
async fn show_code_with(citizen: &mut Browser<'_>, remember: bool) -> String {
    let level = citizen.get("/account/level").await;
    assert_eq!(level.status, StatusCode::OK);
    assert!(
        level.body.contains("/account/level/in-person"),
        "{}",
        level.body
    );
    let csrf = level.csrf();
    let mut fields = vec![("csrf", csrf.as_str())];
    if remember {
        fields.push(("remember", "yes"));
    }
    let page = citizen.post("/account/level/in-person", &fields).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(page.body.contains("<svg class=\"identification-qr\""));
    let marker = "id=\"identification-code\">";
    let start = page.body.find(marker).unwrap() + marker.len();
    page.body[start..].split('<').next().unwrap().to_owned()
}

async fn level_of(app: &App, email: &str) -> AssuranceLevel {
    app.store
        .account_by_email(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .level
}

async fn setup(app: &App) -> (String, Node) {
    let portal = serve_portal(app).await;
    let (node_id, authority) = responsible_node(app);
    let node = start_node(app, &node_id, &authority, &portal, CLERK).await;
    (portal, node)
}

async fn whole_flow(app: App) {
    let (_portal, node) = setup(&app).await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;

    // S4: without the session's token no code is made.
    let refused = anna
        .post("/account/level/in-person", &[("csrf", "x")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let code = show_code(&mut anna).await;
    assert_eq!(code.len(), 19);
    let level = anna.get("/account/level").await;
    assert!(level.body.contains("id=\"in-person-active\""));
    let old_cookie = anna.session_cookie().unwrap();

    let mut theo = Clerk::new(&node.url);
    theo.sign_in().await;
    let (status, body) = theo.identify(&code.to_lowercase()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Identität bestätigt"), "{body}");
    assert!(
        !body.contains("anna@example.org"),
        "the clerk learns nothing of the account"
    );
    assert!(!body.contains(CANARY), "a fresh form for the next person");
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Substantial
    );

    // A8: the session from before the level change is over; a new sign-in is at the new level.
    let after = anna.get("/account").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after.location().starts_with("/account/sign-in"));
    anna.sign_in("anna@example.org", PASSWORD).await;
    assert_ne!(anna.session_cookie().unwrap(), old_cookie);
    let level = anna.get("/account/level").await;
    assert!(level.body.contains("Substanziell"), "{}", level.body);
    assert!(level.body.contains("id=\"in-person-done\""));
    // A session above `basic` asks for no code.
    let csrf = anna.get("/account").await.csrf();
    let again = anna
        .post("/account/level/in-person", &[("csrf", &csrf)])
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);

    // A6: the same code again is refused as used, and nothing changes.
    let (status, body) = theo.identify(&code).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("bereits verwendet"), "{body}");

    // L1: the level change and both checks are audited, never with the person's details.
    let portal_audit = app.store.audit_entries(100).await.unwrap();
    assert!(
        portal_audit
            .iter()
            .any(|e| e.event == AuditEvent::LevelChanged
                && e.detail.contains("basic -> substantial in person")
                && e.detail.contains(&node.authority))
    );
    assert!(
        portal_audit
            .iter()
            .any(|e| e.event == AuditEvent::IdentificationCodeIssued)
    );
    let node_audit = node.store.audit_entries(100).await.unwrap();
    assert_eq!(
        node_audit
            .iter()
            .filter(|e| e.event == AuditEvent::IdentityChecked)
            .count(),
        2
    );
    for entry in portal_audit.iter().chain(&node_audit) {
        assert!(!entry.detail.contains(CANARY), "{}", entry.detail);
        assert!(!entry.detail.contains("1964"), "{}", entry.detail);
        assert!(!entry.detail.contains(&code), "{}", entry.detail);
    }
}

#[tokio::test]
async fn a6_a8_the_counter_raises_the_account_once_and_ends_its_sessions_sqlite() {
    whole_flow(App::new().await).await;
}

#[tokio::test]
async fn a6_a8_the_counter_raises_the_account_once_and_ends_its_sessions_postgres() {
    let Some(db) = TestDatabase::postgres_from_env().await.unwrap() else {
        eprintln!("DATABASE_URL is not set; PostgreSQL run skipped");
        return;
    };
    whole_flow(App::on(db, Options::default()).await).await;
}

#[tokio::test]
async fn a6_a_code_expires_after_14_days_to_the_second() {
    let app = App::new().await;
    let (_portal, node) = setup(&app).await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let code = show_code(&mut anna).await;
    app.advance(chrono::Duration::days(14) + chrono::Duration::seconds(1));
    let mut theo = Clerk::new(&node.url);
    theo.sign_in().await;
    let (status, body) = theo.identify(&code).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("abgelaufen"), "{body}");
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Basic
    );

    // One second before the end, a new code works.
    let mut anna = app.browser();
    anna.sign_in("anna@example.org", PASSWORD).await;
    let code = show_code(&mut anna).await;
    app.advance(chrono::Duration::days(14) - chrono::Duration::seconds(1));
    let mut theo = Clerk::new(&node.url);
    theo.sign_in().await;
    let (status, body) = theo.identify(&code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Substantial
    );
}

#[tokio::test]
async fn a6_a_code_raises_only_its_own_account_and_a_new_code_replaces_the_old() {
    let app = App::new().await;
    let (_portal, node) = setup(&app).await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let mut bob = app.browser();
    bob.create_account("bob@example.org").await;
    let first = show_code(&mut anna).await;
    let second = show_code(&mut anna).await;
    assert_ne!(first, second);
    let bobs = show_code(&mut bob).await;

    let mut theo = Clerk::new(&node.url);
    theo.sign_in().await;
    // Anna's replaced code is unknown now.
    let (status, body) = theo.identify(&first).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("kennt das Portal nicht"), "{body}");
    // Bob's code raises Bob, and Anna stays where she was.
    let (status, _) = theo.identify(&bobs).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        level_of(&app, "bob@example.org").await,
        AssuranceLevel::Substantial
    );
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Basic
    );
    assert_eq!(anna.get("/account").await.status, StatusCode::OK);
    let (status, _) = theo.identify(&second).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Substantial
    );
}

#[tokio::test]
async fn r4_counter_details_are_kept_for_prefill_only_with_the_citizens_consent() {
    let app = App::new().await;
    let (_portal, node) = setup(&app).await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let mut bob = app.browser();
    bob.create_account("bob@example.org").await;
    let annas = show_code_with(&mut anna, true).await;
    let bobs = show_code_with(&mut bob, false).await;

    let mut theo = Clerk::new(&node.url);
    theo.sign_in().await;
    for code in [&annas, &bobs] {
        let (status, body) = theo.identify(code).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // Anna agreed: after signing in again she finds what the clerk checked, marked as
    // checked at an authority, and can delete it.
    anna.sign_in("anna@example.org", PASSWORD).await;
    let kept = anna.get("/account/verified-attributes").await;
    assert_eq!(kept.status, StatusCode::OK);
    assert!(kept.body.contains(CANARY), "{}", kept.body);
    assert!(kept.body.contains("Heidestraße"), "{}", kept.body);
    assert!(
        kept.body.contains("Identitätsprüfung in der Behörde"),
        "{}",
        kept.body
    );
    assert!(!kept.body.contains("id=\"kept-none\""));
    // Bob did not: nothing of his check is kept anywhere.
    bob.sign_in("bob@example.org", PASSWORD).await;
    let kept = bob.get("/account/verified-attributes").await;
    assert_eq!(kept.status, StatusCode::OK);
    assert!(kept.body.contains("id=\"kept-none\""), "{}", kept.body);
    assert!(!kept.body.contains(CANARY));
}

fn attributes() -> IdentityAttributes {
    IdentityAttributes {
        family_name: CANARY.to_owned(),
        given_names: "Erika".to_owned(),
        birth_date: "1964-08-12".to_owned(),
        street: "Heidestraße".to_owned(),
        house_number: "17".to_owned(),
        postcode: "20099".to_owned(),
        city: "Hamburg".to_owned(),
        document_type: "personalausweis".to_owned(),
    }
}

fn assertion(code: &str, node: &str, authority: &str) -> serde_json::Value {
    serde_json::to_value(IdentityPayload {
        code: code.to_owned(),
        node: node.to_owned(),
        authority: authority.to_owned(),
        clerk: uuid::Uuid::new_v4().to_string(),
        attributes: attributes(),
    })
    .unwrap()
}

async fn post_assertion(portal: &str, body: String) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .post(format!("{portal}/api/v1/identity-assertions"))
        .header(http::header::CONTENT_TYPE, "application/jose")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn c3_forged_tampered_old_and_replayed_assertions_change_nothing() {
    let app = App::new().await;
    let (portal, _node) = setup(&app).await;
    let (node_id, authority) = responsible_node(&app);
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let code = show_code(&mut anna).await;
    let (node_keys, portal_keys) = test_keys();
    let payload = assertion(&code, &node_id, &authority);

    // Signed with a key the portal has not pinned for the node (its own): refused.
    let forged = rathaus_seal::sign(&payload, IDENTITY_TYP, portal_keys, start_time()).unwrap();
    assert_eq!(
        post_assertion(&portal, forged).await.0,
        StatusCode::UNAUTHORIZED
    );
    // One byte of the payload changed: refused.
    let good = rathaus_seal::sign(&payload, IDENTITY_TYP, node_keys, start_time()).unwrap();
    let mut tampered = good.clone().into_bytes();
    let middle = good.find('.').unwrap() + 12;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let (status, _) = post_assertion(&portal, String::from_utf8(tampered).unwrap()).await;
    assert!(
        status == StatusCode::UNAUTHORIZED || status == StatusCode::BAD_REQUEST,
        "{status}"
    );
    // Too old: refused.
    let old = rathaus_seal::sign(
        &payload,
        IDENTITY_TYP,
        node_keys,
        start_time() - chrono::Duration::minutes(10),
    )
    .unwrap();
    assert_eq!(
        post_assertion(&portal, old).await.0,
        StatusCode::UNAUTHORIZED
    );
    // A status message is not an identity assertion.
    let wrong_type =
        rathaus_seal::sign(&payload, "rathaus-status+jws", node_keys, start_time()).unwrap();
    assert_eq!(
        post_assertion(&portal, wrong_type).await.0,
        StatusCode::UNAUTHORIZED
    );
    // An unknown document type, a bad date, garbage: 400.
    let mut odd = payload.clone();
    odd["attributes"]["document_type"] = "library-card".into();
    let odd = rathaus_seal::sign(&odd, IDENTITY_TYP, node_keys, start_time()).unwrap();
    assert_eq!(
        post_assertion(&portal, odd).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post_assertion(&portal, "not a jws".to_owned()).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Basic
    );

    // The genuine assertion is accepted once; the very same message again is a replay.
    let (status, body) = post_assertion(&portal, good.clone()).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"outcome":"verified"}"#)
    );
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Substantial
    );
    let (status, body) = post_assertion(&portal, good).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body.contains("#replay"), "{body}");
    // L1: nothing of the person in the audit log.
    for entry in app.store.audit_entries(100).await.unwrap() {
        assert!(!entry.detail.contains(CANARY), "{}", entry.detail);
    }
}

#[tokio::test]
async fn z2_a_node_speaks_only_for_its_own_authorities_and_clerks_only_at_their_node() {
    let app = App::new().await;
    let (portal, node) = setup(&app).await;
    let (node_id, authority) = responsible_node(&app);
    let tenant = &app.state.tenant;
    let elsewhere = tenant
        .authorities
        .iter()
        .find(|a| a.node.as_str() != node_id)
        .unwrap();
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let code = show_code(&mut anna).await;
    let (node_keys, _) = test_keys();
    // This node claims an authority that another node hosts: refused, nothing changed.
    for (claimed_node, claimed_authority) in [
        (node_id.as_str(), elsewhere.id.as_str()),
        (elsewhere.node.as_str(), authority.as_str()),
    ] {
        let jws = rathaus_seal::sign(
            &assertion(&code, claimed_node, claimed_authority),
            IDENTITY_TYP,
            node_keys,
            start_time(),
        )
        .unwrap();
        let (status, body) = post_assertion(&portal, jws).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Basic
    );

    // A clerk signed in at this node is a stranger at another node's counter.
    let other = start_node(
        &app,
        elsewhere.node.as_str(),
        elsewhere.id.as_str(),
        &portal,
        CLERK,
    )
    .await;
    let mut theo = Clerk::new(&node.url);
    theo.sign_in().await;
    let mut visiting = Clerk::new(&other.url);
    visiting.cookies = theo.cookies.clone();
    let (status, location, _) = visiting.get("/back-office/counter").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/back-office/sign-in"), "{location}");
    let (status, location, _) = visiting
        .post("/back-office/counter", &[("csrf", "x"), ("code", &code)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/back-office/sign-in"), "{location}");
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Basic
    );
}

/// A code in the right format (its check character matches) that nobody was given.
fn made_up_code() -> String {
    rathaus_auth::IdentificationCode::generate()
        .unwrap()
        .expose()
}

#[tokio::test]
async fn a6_guessing_is_throttled_per_clerk_and_per_node() {
    let app = App::new().await;
    let (portal, node) = setup(&app).await;
    let mut theo = Clerk::new(&node.url);
    theo.sign_in().await;
    // Five wrong codes cost nothing more; the sixth try waits, and is not sent at all.
    for _ in 0..5 {
        let (status, _) = theo.identify(&made_up_code()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let code = show_code(&mut anna).await;
    let (status, body) = theo.identify(&code).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.contains("Zu viele erfolglose Versuche"), "{body}");
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Basic
    );
    // A mistyped code (check character) never counts: it is caught before sending.
    app.advance(chrono::Duration::minutes(16));
    let mut theo = Clerk::new(&node.url);
    theo.sign_in().await;
    let (status, body) = theo.identify("0000-0000-0000-0001").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("vertippt"), "{body}");
    let (status, body) = theo.identify(&code).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The portal limits each node as a whole: after 20 wrong codes within 15 minutes it
    // answers 429 with Retry-After before looking at the code.
    let (node_id, authority) = responsible_node(&app);
    let (node_keys, _) = test_keys();
    let now = rathaus_web::Clock::now(&app.clock);
    let mut last = (StatusCode::OK, String::new());
    let mut refused = 0;
    for _ in 0..25 {
        let jws = rathaus_seal::sign(
            &assertion(&made_up_code(), &node_id, &authority),
            IDENTITY_TYP,
            node_keys,
            now,
        )
        .unwrap();
        last = post_assertion(&portal, jws).await;
        if last.0 == StatusCode::NOT_FOUND {
            refused += 1;
        } else {
            break;
        }
    }
    // The clerk's five failures are older than the 15 minutes by now: 20 more are free.
    assert_eq!(refused, 20);
    assert_eq!(last.0, StatusCode::TOO_MANY_REQUESTS, "{}", last.1);
}
