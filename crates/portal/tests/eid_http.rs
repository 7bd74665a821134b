//! Raising the level with the German eID (OpenID Connect) against the shipped TEST provider,
//! which runs over real HTTP on port 0, because the portal's callback calls its token endpoint:
//! the happy path with a new session (A8), cancel, wrong and replayed state, tokens that must be
//! refused (another key, nonce, audience, expiry, `acr` below high: A7), a code used twice, and
//! a return path to another site.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use chrono::Duration;
use http::{StatusCode, header};
use rathaus_domain::{AssuranceLevel, AuditEvent, Email};
use rathaus_portal::EidSettings;
use rathaus_testidp::{ClientRegistration, Fault, IdpConfig, TestIdp};
use rathaus_web::ManualClock;
use support::{App, Browser, Options};

const PORTAL: &str = "https://portal.example.org";
const CALLBACK: &str = "https://portal.example.org/account/level/eid/callback";
const SECRET: &str = "the portal's client secret";
const FORM: &str = "/services/local-test-dog/form";

/// The test provider, served on a free port of this machine for one test.
struct Provider {
    issuer: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Provider {
    /// A provider whose clock runs `offset` from the portal's start time.
    async fn start(fault: Option<Fault>, offset: Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let clock = ManualClock::new(support::start_time() + offset);
        let idp = TestIdp::new(
            IdpConfig {
                issuer: issuer.clone(),
                clients: vec![ClientRegistration {
                    client_id: "portal".into(),
                    client_secret: SECRET.into(),
                    redirect_uri: CALLBACK.into(),
                }],
                fault,
            },
            Arc::new(clock),
        )
        .unwrap();
        let router = idp.router();
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self { issuer, server }
    }

    async fn honest() -> Self {
        Self::start(None, Duration::zero()).await
    }

    fn settings(&self) -> EidSettings {
        EidSettings {
            issuer: self.issuer.clone(),
            client_id: "portal".into(),
            client_secret: SECRET.into(),
            redirect_url: CALLBACK.into(),
        }
    }

    async fn portal(&self) -> App {
        App::with(Options {
            eid: Some(self.settings()),
            ..Options::default()
        })
        .await
    }
}

/// A client for the provider's pages, which follows no redirects (the browser of the test
/// carries the answer to the portal).
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Presses "Mit dem Online-Ausweis anmelden" on the level page, posting `return_to`, and
/// returns the provider's authorization URL the portal redirects to.
async fn start(browser: &mut Browser<'_>, provider: &Provider, return_to: Option<&str>) -> String {
    let page = browser.get("/account/level").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // The session's token (the level page has no form once the level is high).
    let csrf = browser.get("/account").await.csrf();
    let mut fields = vec![("csrf", csrf.as_str())];
    if let Some(return_to) = return_to {
        fields.push(("return_to", return_to));
    }
    let answer = browser.post("/account/level/eid", &fields).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let location = answer.location().to_owned();
    assert!(
        location.starts_with(&format!("{}/authorize?", provider.issuer)),
        "{location}"
    );
    location
}

/// At the provider: shows the page, then presses the button of `choice` (`("identity", key)`
/// or `("cancel", "1")`). Returns the portal path the provider sends the browser back to.
async fn choose(authorize_url: &str, choice: (&str, &str)) -> String {
    let page = http().get(authorize_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("TEST identity provider — not a real eID"));
    let (endpoint, query) = authorize_url.split_once('?').unwrap();
    let mut fields: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    fields.push((choice.0.to_owned(), choice.1.to_owned()));
    let answer = http().post(endpoint).form(&fields).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(CALLBACK), "{location}");
    location.trim_start_matches(PORTAL).to_owned()
}

/// The value of query parameter `name` in `url`.
fn param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    pairs.into_iter().find(|(k, _)| k == name).unwrap().1
}

/// `url` with query parameter `name` set to `value`.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let (path, query) = url.split_once('?').unwrap();
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    for pair in &mut pairs {
        if pair.0 == name {
            pair.1 = value.to_owned();
        }
    }
    format!("{path}?{}", serde_urlencoded::to_string(&pairs).unwrap())
}

async fn level_of(app: &App, email: &str) -> AssuranceLevel {
    app.store
        .account_by_email(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .level
}

async fn level_changes(app: &App) -> usize {
    app.store
        .audit_entries(200)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.event == AuditEvent::LevelChanged)
        .count()
}

fn has_attempt_cookie(browser: &Browser<'_>) -> bool {
    browser.cookies.keys().any(|k| k.ends_with("rathaus_eid"))
}

#[tokio::test]
async fn a8_eid_raises_the_account_to_high_and_starts_a_new_session() {
    let provider = Provider::honest().await;
    let app = provider.portal().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let account_page = anna.get("/account").await;
    assert!(account_page.body.contains("href=\"/account/level\""));

    let page = anna.get(&format!("/account/level?return_to={FORM}")).await;
    assert!(page.body.contains("Basis (registriert)"), "{}", page.body);
    assert!(page.body.contains("Mit dem Online-Ausweis anmelden (eID)"));
    assert!(
        page.body
            .contains(&format!("name=\"return_to\" value=\"{FORM}\""))
    );
    // The form may go to the provider (CSP `form-action` applies to the redirect too).
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains(&format!("form-action 'self' {}", provider.issuer)),
        "{csp}"
    );
    let old_session = anna.session_cookie().unwrap();
    let old_csrf = page.csrf();

    let authorize = start(&mut anna, &provider, Some(FORM)).await;
    assert!(has_attempt_cookie(&anna));
    assert_eq!(
        param(&authorize, "scope"),
        "openid",
        "no attributes asked for (R4)"
    );
    assert_eq!(
        param(&authorize, "acr_values"),
        "http://eidas.europa.eu/LoA/high"
    );
    assert_eq!(param(&authorize, "code_challenge_method"), "S256");
    assert_eq!(param(&authorize, "redirect_uri"), CALLBACK);
    assert!(param(&authorize, "state").len() >= 43);
    assert!(param(&authorize, "nonce").len() >= 43);

    let callback = choose(&authorize, ("identity", "erika")).await;
    let done = anna.get(&callback).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), FORM, "back to the form it started from");
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::High
    );
    assert!(!has_attempt_cookie(&anna), "the attempt is used up");

    // A new session at level high; the old session id no longer works (A8).
    let new_session = anna.session_cookie().unwrap();
    assert_ne!(new_session, old_session);
    let page = anna.get("/account/level").await;
    assert!(page.body.contains("Hoch (Online-Ausweis)"), "{}", page.body);
    assert!(page.body.contains("höchste Vertrauensniveau"));
    assert!(!page.body.contains("action=\"/account/level/eid\""));
    assert_ne!(
        anna.get("/account").await.csrf(),
        old_csrf,
        "the new session has its own form token"
    );
    let mut old = app.browser();
    old.cookies
        .insert("__Host-rathaus_session".into(), old_session.clone());
    let refused = old.get("/account").await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert!(refused.location().starts_with("/account/sign-in"));
    let json = anna.get("/api/v1/account").await;
    assert!(json.body.contains("\"level\":\"high\""), "{}", json.body);

    // L1: the level change is audited, without anything from the card (R4: nothing is kept).
    let entries = app.store.audit_entries(50).await.unwrap();
    let raised: Vec<_> = entries
        .iter()
        .filter(|e| e.event == AuditEvent::LevelChanged)
        .collect();
    assert_eq!(raised.len(), 1);
    assert!(
        raised[0].detail.contains("basic -> high"),
        "{}",
        raised[0].detail
    );
    for entry in &entries {
        for personal in ["Erika", "Mustermann", "1964", "Köln"] {
            assert!(!entry.detail.contains(personal), "{}", entry.detail);
        }
    }
    assert!(!json.body.contains("Mustermann"));
}

#[tokio::test]
async fn eid_pages_speak_english_too() {
    let provider = Provider::honest().await;
    let app = provider.portal().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let page = anna.get("/account/level?lang=en").await;
    assert!(
        page.body.contains("Sign in with the German eID card (eID)"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Basic (registered)"));
}

#[tokio::test]
async fn eid_cancel_at_the_provider_changes_nothing() {
    let provider = Provider::honest().await;
    let app = provider.portal().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let session = anna.session_cookie();
    let authorize = start(&mut anna, &provider, Some(FORM)).await;
    let callback = choose(&authorize, ("cancel", "1")).await;
    assert_eq!(param(&callback, "error"), "access_denied");
    let answer = anna.get(&callback).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.body.contains("abgebrochen"), "{}", answer.body);
    assert!(answer.body.contains("Vertrauensniveau ist unverändert"));
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Basic
    );
    assert_eq!(anna.session_cookie(), session, "the session goes on");
    assert!(!has_attempt_cookie(&anna));
    assert_eq!(anna.get("/account").await.status, StatusCode::OK);
    assert_eq!(level_changes(&app).await, 0);
}

#[tokio::test]
async fn a8_a_wrong_or_replayed_state_changes_nothing() {
    let provider = Provider::honest().await;
    let app = provider.portal().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let session = anna.session_cookie();

    // A wrong state: refused, and the attempt is spent, so the right answer no longer works.
    let authorize = start(&mut anna, &provider, None).await;
    let callback = choose(&authorize, ("identity", "erika")).await;
    let forged = with_param(&callback, "state", "a-state-the-portal-never-made");
    let refused = anna.get(&forged).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("Vertrauensniveau ist unverändert"));
    let late = anna.get(&callback).await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Basic
    );
    assert_eq!(anna.session_cookie(), session);

    // Replaying an answer after it worked: refused, nothing happens a second time.
    let authorize = start(&mut anna, &provider, None).await;
    let callback = choose(&authorize, ("identity", "erika")).await;
    assert_eq!(anna.get(&callback).await.status, StatusCode::SEE_OTHER);
    let raised_session = anna.session_cookie();
    let replayed = anna.get(&callback).await;
    assert_eq!(
        replayed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        replayed.body
    );
    assert_eq!(anna.session_cookie(), raised_session);
    assert_eq!(level_changes(&app).await, 1);
}

#[tokio::test]
async fn a8_an_attempt_from_another_session_is_refused() {
    // Mallory starts a sign-in with her own card and plants her attempt and the provider's
    // answer in Anna's browser (login CSRF): Anna's account must not get Mallory's identity.
    let provider = Provider::honest().await;
    let app = provider.portal().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let mut mallory = app.browser();
    mallory.create_account("mallory@example.org").await;
    let authorize = start(&mut mallory, &provider, None).await;
    let callback = choose(&authorize, ("identity", "ludwig")).await;
    let (name, attempt) = mallory
        .cookies
        .iter()
        .find(|(k, _)| k.ends_with("rathaus_eid"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    anna.cookies.insert(name, attempt);
    let refused = anna.get(&callback).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Basic
    );
    assert_eq!(
        level_of(&app, "mallory@example.org").await,
        AssuranceLevel::Basic
    );
}

#[tokio::test]
async fn eid_an_attempt_older_than_ten_minutes_is_refused() {
    let provider = Provider::honest().await;
    let app = provider.portal().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let authorize = start(&mut anna, &provider, None).await;
    let callback = choose(&authorize, ("identity", "erika")).await;
    app.advance(Duration::minutes(10));
    let refused = anna.get(&callback).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("älter als 10 Minuten"));
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Basic
    );
}

/// Runs the whole journey against a provider that misbehaves, and checks that the ID token is
/// refused with a page and that nothing changed.
async fn refused_token(fault: Option<Fault>, provider_clock: Duration) {
    let provider = Provider::start(fault, provider_clock).await;
    let app = provider.portal().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let session = anna.session_cookie();
    let authorize = start(&mut anna, &provider, Some(FORM)).await;
    let callback = choose(&authorize, ("identity", "erika")).await;
    let refused = anna.get(&callback).await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "{fault:?}: {}",
        refused.body
    );
    assert!(
        refused.body.contains("hat nicht geklappt"),
        "{fault:?}: {}",
        refused.body
    );
    assert!(!refused.body.contains("openidconnect") && !refused.body.contains("Claims"));
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Basic
    );
    assert_eq!(
        anna.session_cookie(),
        session,
        "{fault:?}: the session stays"
    );
    assert!(!has_attempt_cookie(&anna));
    assert_eq!(level_changes(&app).await, 0);
    // The session keeps its level, so the forms that need `high` still refuse (A7).
    let page = anna.get("/account/level").await;
    assert!(page.body.contains("Basis (registriert)"), "{}", page.body);
}

#[tokio::test]
async fn eid_a_token_signed_by_another_key_is_refused() {
    refused_token(Some(Fault::UnpublishedKey), Duration::zero()).await;
}

#[tokio::test]
async fn eid_a_token_with_the_wrong_nonce_is_refused() {
    refused_token(Some(Fault::WrongNonce), Duration::zero()).await;
}

#[tokio::test]
async fn eid_a_token_for_another_audience_is_refused() {
    refused_token(Some(Fault::WrongAudience), Duration::zero()).await;
}

#[tokio::test]
async fn eid_an_expired_token_is_refused() {
    // The provider's clock is ten minutes behind: its five-minute tokens arrive expired.
    refused_token(None, -Duration::minutes(10)).await;
}

#[tokio::test]
async fn a7_an_acr_below_high_does_not_raise_the_level() {
    refused_token(Some(Fault::AcrSubstantial), Duration::zero()).await;
}

#[tokio::test]
async fn eid_a_code_used_twice_is_refused() {
    let provider = Provider::honest().await;
    let app = provider.portal().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let authorize = start(&mut anna, &provider, None).await;
    let callback = choose(&authorize, ("identity", "erika")).await;
    assert_eq!(anna.get(&callback).await.status, StatusCode::SEE_OTHER);
    let used_code = param(&callback, "code");

    // Bob's own attempt, answered with Anna's code that the portal has already exchanged.
    let mut bob = app.browser();
    bob.create_account("bob@example.org").await;
    let authorize = start(&mut bob, &provider, None).await;
    let own = choose(&authorize, ("identity", "ludwig")).await;
    let injected = with_param(&own, "code", &used_code);
    let refused = bob.get(&injected).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(
        level_of(&app, "bob@example.org").await,
        AssuranceLevel::Basic
    );
    assert_eq!(level_changes(&app).await, 1, "only Anna's");
}

#[tokio::test]
async fn eid_return_to_another_site_is_ignored() {
    let provider = Provider::honest().await;
    let app = provider.portal().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let page = anna
        .get("/account/level?return_to=//evil.example/phish")
        .await;
    assert!(!page.body.contains("name=\"return_to\""), "{}", page.body);
    for (i, target) in [
        "//evil.example/phish",
        "https://evil.example/",
        "/\\evil.example",
    ]
    .into_iter()
    .enumerate()
    {
        let authorize = start(&mut anna, &provider, Some(target)).await;
        let callback = choose(&authorize, ("identity", "erika")).await;
        let done = anna.get(&callback).await;
        assert_eq!(
            done.status,
            StatusCode::SEE_OTHER,
            "{target}: {}",
            done.body
        );
        assert_eq!(done.location(), "/account", "{target}");
        assert_eq!(level_changes(&app).await, i + 1);
    }
}

#[tokio::test]
async fn s4_starting_eid_needs_the_session_token() {
    let provider = Provider::honest().await;
    let app = provider.portal().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let anonymous = anna.get("/account/register").await.csrf();
    for fields in [vec![], vec![("csrf", anonymous.as_str())]] {
        let refused = anna.post("/account/level/eid", &fields).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(!has_attempt_cookie(&anna));
    }
}

#[tokio::test]
async fn eid_without_configuration_the_level_page_says_so() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let page = anna.get("/account/level").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("noch nicht eingerichtet"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("action=\"/account/level/eid\""));
    let csrf = anna.get("/account").await.csrf();
    let answer = anna.post("/account/level/eid", &[("csrf", &csrf)]).await;
    assert_eq!(answer.location(), "/account/level");
    let callback = anna.get("/account/level/eid/callback?code=x&state=y").await;
    assert_eq!(callback.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Basic
    );
}

#[tokio::test]
async fn eid_an_unreachable_provider_changes_nothing() {
    // A port that was free a moment ago: nothing answers there.
    let issuer = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let app = App::with(Options {
        eid: Some(EidSettings {
            issuer,
            client_id: "portal".into(),
            client_secret: SECRET.into(),
            redirect_url: CALLBACK.into(),
        }),
        ..Options::default()
    })
    .await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let csrf = anna.get("/account/level").await.csrf();
    let answer = anna.post("/account/level/eid", &[("csrf", &csrf)]).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.body);
    assert!(answer.body.contains("nicht erreichbar"));
    assert!(!has_attempt_cookie(&anna));
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Basic
    );
}

#[tokio::test]
async fn a7_a_password_sign_in_after_eid_gives_substantial_not_high() {
    let provider = Provider::honest().await;
    let app = provider.portal().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    anna.get("/account/level").await;
    let authorize = start(&mut anna, &provider, None).await;
    let callback = choose(&authorize, ("identity", "erika")).await;
    anna.get(&callback).await;
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::High
    );

    // Only a sign-in with the card gives `high`; a later password sign-in keeps the verified
    // identity (`substantial`) but must use the eID again for `high` services.
    let mut later = app.browser();
    let signed_in = later.sign_in("anna@example.org", support::PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let account = app.account("anna@example.org").await;
    let now = rathaus_web::Clock::now(&app.clock);
    let sessions = app
        .store
        .sessions_of(account.id, now - chrono::Duration::minutes(30), now)
        .await
        .unwrap();
    let mut levels: Vec<AssuranceLevel> = sessions.iter().map(|s| s.level).collect();
    levels.sort_by_key(|l| l.as_str());
    assert_eq!(
        levels,
        vec![AssuranceLevel::High, AssuranceLevel::Substantial]
    );
}

// ---- prefill from the eID (issue 4) ---------------------------------------------------------

const OWNER_STEP: &str = "/services/local-test-dog/form/owner";

/// Presses "read from my online ID card" in the owner step's prefill box and returns the
/// provider's authorization URL.
async fn start_prefill(browser: &mut Browser<'_>, provider: &Provider, remember: bool) -> String {
    let page = browser.get(OWNER_STEP).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("form=\"prefill-eid\""), "{}", page.body);
    assert!(
        page.body
            .contains("name=\"prefill\" value=\"local-test-dog\"")
    );
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains(&format!("form-action 'self' {}", provider.issuer)),
        "{csp}"
    );
    let csrf = page.csrf();
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("return_to", OWNER_STEP),
        ("prefill", "local-test-dog"),
    ];
    if remember {
        fields.push(("remember", "yes"));
    }
    let answer = browser.post("/account/level/eid", &fields).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    answer.location().to_owned()
}

/// The claims an authorization URL asks for in its `claims` parameter, sorted.
fn requested_claims(authorize: &str) -> Vec<String> {
    let claims: serde_json::Value = serde_json::from_str(&param(authorize, "claims")).unwrap();
    let mut names: Vec<String> = claims["id_token"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

async fn prefill_from_eid(browser: &mut Browser<'_>, provider: &Provider, remember: bool) {
    let authorize = start_prefill(browser, provider, remember).await;
    let callback = choose(&authorize, ("identity", "erika")).await;
    let back = browser.get(&callback).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(
        back.location(),
        OWNER_STEP,
        "back to the step it started from"
    );
}

#[tokio::test]
async fn r3_prefill_asks_the_eid_for_exactly_the_attributes_the_form_declares() {
    let provider = Provider::honest().await;
    let app = provider.portal().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let authorize = start_prefill(&mut anna, &provider, false).await;
    // The fixture form declares a person name and an address: given and family name and the
    // address are asked for, the date of birth and everything else are not.
    assert_eq!(
        requested_claims(&authorize),
        ["address", "family_name", "given_name"]
    );
    assert_eq!(param(&authorize, "scope"), "openid");
    assert_eq!(
        param(&authorize, "acr_values"),
        "http://eidas.europa.eu/LoA/high"
    );
    // The provider's page names exactly those, and releases exactly those.
    let shown = http()
        .get(&authorize)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        shown.contains("Anschrift") && shown.contains("Familienname"),
        "{shown}"
    );
    assert!(!shown.contains("Geburtsdatum"), "{shown}");

    // A prefill for something that is not an online service with a form asks for nothing.
    let csrf = anna.get("/account").await.csrf();
    for key in ["no-such-service", "99108001001000x", "../account"] {
        let refused = anna
            .post(
                "/account/level/eid",
                &[("csrf", &csrf), ("return_to", OWNER_STEP), ("prefill", key)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{key}");
    }
    assert_eq!(
        level_of(&app, "anna@example.org").await,
        AssuranceLevel::Basic
    );
}

#[tokio::test]
async fn prefill_happens_only_on_request_is_marked_and_loses_the_mark_when_changed() {
    let provider = Provider::honest().await;
    let app = provider.portal().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    prefill_from_eid(&mut anna, &provider, false).await;

    // Back on the step: nothing is filled in yet, the box offers to.
    let page = anna.get(OWNER_STEP).await;
    assert!(
        !page.body.contains("value=\"Mustermann\""),
        "no prefill without consent"
    );
    assert!(
        page.body
            .contains("Geprüfte Angaben liegen vor: Online-Ausweis (eID)")
    );
    assert!(page.body.contains("name=\"action\" value=\"prefill\""));
    let csrf = page.csrf();

    // Consent: the declared fields are filled and marked, accessibly.
    let filled = anna
        .post(
            OWNER_STEP,
            &[("csrf", &csrf), ("step", "owner"), ("action", "prefill")],
        )
        .await;
    assert_eq!(filled.status, StatusCode::OK, "{}", filled.body);
    assert!(
        filled.body.contains("2 Angaben wurden übernommen"),
        "{}",
        filled.body
    );
    for value in ["Erika", "Mustermann", "Heidestraße", "17", "51147", "Köln"] {
        assert!(
            filled.body.contains(&format!("value=\"{value}\"")),
            "{value}"
        );
    }
    assert!(
        filled
            .body
            .contains("id=\"f-owner_name-given_names-verified\"")
    );
    assert!(filled.body.contains("Geprüft: Online-Ausweis (eID)"));
    assert!(
        filled.body.contains(
            "aria-describedby=\"f-owner_address-street-verified f-owner_address-street-purpose\""
        ),
        "{}",
        filled.body
    );

    // Unchanged values keep the mark on the review page; a changed one loses it.
    let owner = |family: &'static str| {
        vec![
            ("step", "owner"),
            ("action", "next"),
            ("owner_name.given_names", "Erika"),
            ("owner_name.family_name", family),
            ("owner_address.street", "Heidestraße"),
            ("owner_address.house_number", "17"),
            ("owner_address.postcode", "51147"),
            ("owner_address.city", "Köln"),
        ]
    };
    let mut fields = owner("Mustermann");
    fields.push(("csrf", &csrf));
    let next = anna.post(OWNER_STEP, &fields).await;
    assert_eq!(next.status, StatusCode::SEE_OTHER, "{}", next.body);
    let again = anna.get(OWNER_STEP).await;
    assert_eq!(
        again.body.matches("Geprüft: Online-Ausweis (eID)").count(),
        2
    );
    let mut fields = owner("Musterfrau");
    fields.push(("csrf", &csrf));
    anna.post(OWNER_STEP, &fields).await;
    let changed = anna.get(OWNER_STEP).await;
    assert_eq!(
        changed
            .body
            .matches("Geprüft: Online-Ausweis (eID)")
            .count(),
        1
    );
    assert!(
        !changed
            .body
            .contains("id=\"f-owner_name-given_names-verified\"")
    );
    assert!(
        changed
            .body
            .contains("id=\"f-owner_address-street-verified\"")
    );
}

#[tokio::test]
async fn r4_session_attributes_end_at_sign_out_and_remembered_ones_until_deleted() {
    let provider = Provider::honest().await;
    let app = provider.portal().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    prefill_from_eid(&mut anna, &provider, false).await;
    let kept = anna.get("/account/verified-attributes").await;
    assert!(kept.body.contains("Nur für diese Sitzung"), "{}", kept.body);
    assert!(kept.body.contains("Mustermann") && kept.body.contains("Heidestraße 17, 51147 Köln"));
    assert!(
        !kept.body.contains("1964"),
        "the date of birth was not asked for"
    );
    assert!(
        anna.get("/account")
            .await
            .body
            .contains("href=\"/account/verified-attributes\"")
    );

    // Sign-out ends them on the server.
    let csrf = anna.get("/account").await.csrf();
    anna.post("/account/sign-out", &[("csrf", &csrf)]).await;
    anna.sign_in("anna@example.org", support::PASSWORD).await;
    let kept = anna.get("/account/verified-attributes").await;
    assert!(kept.body.contains("id=\"kept-none\""), "{}", kept.body);
    let step = anna.get(OWNER_STEP).await;
    assert!(!step.body.contains("name=\"action\" value=\"prefill\""));

    // Remembered with consent: they outlive the session, until the citizen deletes them.
    prefill_from_eid(&mut anna, &provider, true).await;
    let csrf = anna.get("/account").await.csrf();
    anna.post("/account/sign-out", &[("csrf", &csrf)]).await;
    app.advance(Duration::hours(2));
    anna.sign_in("anna@example.org", support::PASSWORD).await;
    let kept = anna.get("/account/verified-attributes").await;
    assert!(kept.body.contains("Im Konto gespeichert"), "{}", kept.body);
    let csrf = kept.csrf();
    // Without the form token nothing is deleted (S4).
    let refused = anna
        .post(
            "/account/verified-attributes/delete",
            &[("scope", "remembered")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let bad = anna
        .post(
            "/account/verified-attributes/delete",
            &[("csrf", &csrf), ("scope", "everything")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        anna.get("/account/verified-attributes")
            .await
            .body
            .contains("Im Konto gespeichert")
    );
    let deleted = anna
        .post(
            "/account/verified-attributes/delete",
            &[("csrf", &csrf), ("scope", "remembered")],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let kept = anna.get(deleted.location()).await;
    assert!(kept.body.contains("Die Angaben wurden gelöscht."));
    assert!(kept.body.contains("id=\"kept-none\""));
}
