//! A portal router on a fresh SQLite database with a manual clock, cheap password hashing and
//! a mailer that keeps mails in memory; and a small browser that keeps cookies.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod node;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use chrono::{DateTime, TimeZone, Utc};
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use rathaus_auth::{Hasher, Policy};
use rathaus_domain::Blocklist;
use rathaus_portal::mail::{MailError, MailKind, Mailer, OutgoingMail};
use rathaus_portal::{AccountServices, AccountSettings};
use rathaus_store::Store;
use rathaus_store::testing::TestDatabase;
use rathaus_web::ManualClock;
use rathaus_web::assets::Assets;
use rathaus_web::layers::LayerOptions;
use tower::ServiceExt;

pub const PASSWORD: &str = "Ein langer Satz als Passwort";

/// The one account in `portal.operators` of the test portal.
pub const OPERATOR: &str = "betrieb@example.org";

pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap()
}

/// Keeps every mail; tests read them instead of a mailbox.
#[derive(Debug, Default)]
pub struct Outbox(Mutex<Vec<OutgoingMail>>);

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError> {
        self.0.lock().unwrap().push(mail);
        Ok(())
    }
}

/// Key sets generated once per test binary (RSA 4096 takes seconds): one for every authority
/// node of the demo tenant, one for the portal.
pub fn test_keys() -> &'static (rathaus_seal::PrivateKeySet, rathaus_seal::PrivateKeySet) {
    static KEYS: std::sync::OnceLock<(rathaus_seal::PrivateKeySet, rathaus_seal::PrivateKeySet)> =
        std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let from = start_time() - chrono::Duration::days(1);
        let year = chrono::Duration::days(365);
        (
            rathaus_seal::PrivateKeySet::generate("test-node", from, year).unwrap(),
            rathaus_seal::PrivateKeySet::generate("test-portal", from, year).unwrap(),
        )
    })
}

pub struct App {
    pub state: rathaus_portal::PortalState,
    pub router: Router,
    pub clock: ManualClock,
    pub store: Arc<dyn Store>,
    pub outbox: Arc<Outbox>,
    pub db: TestDatabase,
}

pub struct Options {
    /// The virus scanner uploads pass, if any.
    pub scanner: Option<Arc<dyn rathaus_portal::scan::Scanner>>,
    pub policy: Policy,
    pub workers: usize,
    pub wait: Duration,
    pub secure_cookies: bool,
    /// The eID service to raise the level with (tests start a test provider on port 0).
    pub eid: Option<rathaus_portal::EidSettings>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            scanner: None,
            policy: Policy::weak_for_tests(),
            workers: 2,
            wait: Duration::from_secs(10),
            secure_cookies: true,
            eid: None,
        }
    }
}

impl App {
    pub async fn new() -> Self {
        Self::with(Options::default()).await
    }

    pub async fn with(options: Options) -> Self {
        let db = TestDatabase::sqlite().unwrap();
        Self::on(db, options).await
    }

    pub async fn on(db: TestDatabase, options: Options) -> Self {
        let store = db.open().await.unwrap();
        let clock = ManualClock::new(start_time());
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let tenant_path = root.join("demo/tenant.toml");
        let tenant = rathaus_domain::TenantDirectory::parse(
            &tenant_path,
            &std::fs::read_to_string(&tenant_path).unwrap(),
        )
        .unwrap();
        // A small fixture with a form, so online applications can be tested without depending
        // on the shipped content.
        let catalog = rathaus_catalog::Catalog::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/services"),
            None,
            &tenant,
        )
        .unwrap();
        let assets = Assets::discover(&root.join("web"));
        let site = rathaus_portal::site_info(&tenant, &assets);
        let outbox = Arc::new(Outbox::default());
        let mut settings = AccountSettings::new("https://portal.example.org");
        settings.secure_cookies = options.secure_cookies;
        settings.client_ip_header = Some(http::HeaderName::from_static("x-forwarded-for"));
        let accounts = AccountServices {
            settings,
            hasher: Hasher::new(options.policy, options.workers, options.wait)
                .await
                .unwrap(),
            mailer: outbox.clone(),
            csrf_key: rathaus_portal::shared_csrf_key(store.as_ref(), start_time())
                .await
                .unwrap(),
            blocklist: Blocklist::shipped(),
        };
        let state = rathaus_portal::state(
            Arc::new(catalog),
            Arc::new(tenant),
            Arc::clone(&store),
            site,
            true,
            Arc::new(clock.clone()),
            accounts,
        );
        let (node_keys, portal_keys) = test_keys();
        for node in &state.tenant.nodes {
            store
                .pin_node_keys(
                    node.id.as_str(),
                    &node_keys.public().to_json().unwrap(),
                    start_time(),
                )
                .await
                .unwrap();
        }
        let mut state = state.with_delivery_keys(portal_keys.clone());
        if let Some(scanner) = options.scanner.clone() {
            state = state.with_scanner(scanner);
        }
        let state = match options.eid {
            Some(settings) => state.with_eid(rathaus_portal::EidClient::new(settings).unwrap()),
            None => state,
        };
        let state = state.with_operators(rathaus_portal::Operators::new(&[
            rathaus_domain::Email::parse(OPERATOR).unwrap(),
        ]));
        let router = rathaus_portal::router(state.clone(), &assets, &LayerOptions::default());
        Self {
            state,
            router,
            clock,
            store,
            outbox,
            db,
        }
    }

    /// The account registered with `email`; it must exist.
    pub async fn account(&self, email: &str) -> rathaus_store::AccountRecord {
        self.store
            .account_by_email(&rathaus_domain::Email::parse(email).unwrap())
            .await
            .unwrap()
            .expect("an account with this address")
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }

    pub fn browser(&self) -> Browser<'_> {
        Browser {
            app: self,
            cookies: BTreeMap::new(),
            ip: "192.0.2.10".to_owned(),
        }
    }

    /// The mails sent so far (background tasks are given the chance to finish first).
    pub async fn mails(&self) -> Vec<OutgoingMail> {
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        self.outbox.0.lock().unwrap().clone()
    }

    /// The link in the newest mail of `kind`, as a path and query on the portal.
    pub async fn link(&self, kind: MailKind) -> String {
        let mails = self.mails().await;
        let mail = mails
            .iter()
            .rev()
            .find(|m| m.kind == kind)
            .expect("no such mail");
        let start = mail.body.find("https://portal.example.org").unwrap();
        let url: String = mail.body[start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        url.trim_start_matches("https://portal.example.org")
            .to_owned()
    }
}

/// A response as tests look at it.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The `csrf` field of the first form on the page.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("no csrf field") + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
}

pub struct Browser<'a> {
    pub app: &'a App,
    pub cookies: BTreeMap<String, String>,
    pub ip: String,
}

impl Browser<'_> {
    pub async fn send(&mut self, mut request: Request<Body>) -> Answer {
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request
                .headers_mut()
                .insert(header::COOKIE, jar.join("; ").parse().unwrap());
        }
        request
            .headers_mut()
            .insert("x-forwarded-for", self.ip.parse().unwrap());
        let response = self.app.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for cookie in headers.get_all(header::SET_COOKIE) {
            let text = cookie.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    /// GETs `form_path`, then posts `fields` with the page's CSRF token.
    pub async fn submit(
        &mut self,
        form_path: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Answer {
        let csrf = self.get(form_path).await.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    pub async fn register(&mut self, email: &str, password: &str) -> Answer {
        self.submit(
            "/account/register",
            "/account/register",
            &[("email", email), ("password", password)],
        )
        .await
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Answer {
        self.submit(
            "/account/sign-in",
            "/account/sign-in",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// The session cookie's value, whichever name it has.
    pub fn session_cookie(&self) -> Option<String> {
        self.cookies
            .iter()
            .find(|(k, _)| k.ends_with("rathaus_session"))
            .map(|(_, v)| v.clone())
    }

    /// Registers, confirms through the mailed link, and signs in.
    pub async fn create_account(&mut self, email: &str) {
        let answer = self.register(email, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let link = self.app.link(MailKind::Confirm).await;
        let page = self.get(&link).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let token = link.split("token=").nth(1).unwrap().to_owned();
        let confirmed = self
            .post(
                "/account/confirm",
                &[("csrf", &page.csrf()), ("token", &token)],
            )
            .await;
        assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
        let signed_in = self.sign_in(email, PASSWORD).await;
        assert_eq!(
            signed_in.status,
            StatusCode::SEE_OTHER,
            "{}",
            signed_in.body
        );
        assert_eq!(signed_in.location(), "/account");
    }
}

impl Browser<'_> {
    /// Fills in and submits the fixture service `local-test-dog` (signed in), with `dog_name` as
    /// the dog's name and an address in 20099; returns the application's reference.
    pub async fn apply_for_test_dog(&mut self, dog_name: &str) -> String {
        self.apply_for_dog_service("local-test-dog", dog_name).await
    }

    /// Like `apply_for_test_dog`, for a fixture service with the same form (`service`).
    pub async fn apply_for_dog_service(&mut self, service: &str, dog_name: &str) -> String {
        self.apply_for_dog_service_with(service, dog_name, &[])
            .await
    }

    /// Like [`Self::apply_for_dog_service`], with `extra` fields posted with the submit (the
    /// applicant of a service for businesses).
    pub async fn apply_for_dog_service_with(
        &mut self,
        service: &str,
        dog_name: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let mut fields = vec![("declaration", "yes")];
        fields.extend_from_slice(extra);
        let done = self.fill_and_submit(service, dog_name, &fields).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        done.location()
            .trim_start_matches("/applications/")
            .to_owned()
    }

    /// Fills in every step of a dog service and posts the review page's form with `extra`
    /// (the declaration is not given unless `extra` has it); the answer to the submit.
    pub async fn fill_and_submit(
        &mut self,
        service: &str,
        dog_name: &str,
        extra: &[(&str, &str)],
    ) -> Answer {
        let csrf = self
            .get(&format!("/services/{service}/form/owner"))
            .await
            .csrf();
        let steps: [(&str, Vec<(&str, &str)>); 3] = [
            (
                "owner",
                vec![
                    ("owner_name.given_names", "Anna"),
                    ("owner_name.family_name", "Müller"),
                    ("owner_address.street", "Kirchenallee"),
                    ("owner_address.house_number", "1"),
                    ("owner_address.postcode", "20099"),
                    ("owner_address.city", "Hamburg"),
                ],
            ),
            (
                "dogs",
                vec![
                    ("dogs.count", "1"),
                    ("dogs.0.dog_name", dog_name),
                    ("dogs.0.breed", "mixed"),
                ],
            ),
            ("keeping", vec![("since", "2026-06-01")]),
        ];
        for (step, fields) in steps {
            let mut all = vec![("csrf", csrf.as_str()), ("step", step), ("action", "next")];
            all.extend(fields);
            let answer = self
                .post(&format!("/services/{service}/form/{step}"), &all)
                .await;
            assert_eq!(
                answer.status,
                StatusCode::SEE_OTHER,
                "{step}: {}",
                answer.body
            );
        }
        let review = self.get(&format!("/services/{service}/review")).await;
        let submission = review
            .body
            .split("name=\"submission\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let mut fields = vec![("csrf", csrf.as_str()), ("submission", submission.as_str())];
        fields.extend_from_slice(extra);
        self.post(&format!("/services/{service}/submit"), &fields)
            .await
    }
}

/// The customer centre responsible for 20099 (where `apply_for_test_dog` lives): its node id
/// and its authority id.
pub fn responsible_node(app: &App) -> (String, String) {
    let tenant = &app.state.tenant;
    let districts = tenant.districts_for("20099".parse().unwrap());
    let authority = tenant
        .authorities
        .iter()
        .find(|a| {
            a.kind.as_str() == "kundenzentrum"
                && a.district
                    .as_ref()
                    .is_some_and(|d| districts.iter().any(|x| &x.id == d))
        })
        .unwrap();
    (authority.node.to_string(), authority.id.to_string())
}
