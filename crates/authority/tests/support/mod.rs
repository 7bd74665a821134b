//! What the back-office tests share: an authority node with its back office on a fresh
//! database behind a manual clock, cases sealed to the node's key as the portal delivers them,
//! and a small browser that keeps cookies.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use rathaus_auth::{Hasher, Policy};
use rathaus_authority::{
    BackOffice, BackOfficeSettings, DeliveryKeys, NodeState, ServiceForm, ServiceForms,
};
use rathaus_domain::{Blocklist, ClerkId, ClerkRole, Email, NewPassword};
use rathaus_seal::PrivateKeySet;
use rathaus_store::testing::TestDatabase;
use rathaus_store::{CaseRecord, ClerkRecord, Store};
use rathaus_web::ManualClock;
use sha2::Digest;
use tower::ServiceExt;

pub const PASSWORD: &str = "Ein langer Satz als Passwort";
pub const CANARY: &str = "Kanarienvogel-b4c1";
pub const NODE: &str = "kundenzentren";
pub const MITTE: &str = "kundenzentrum-hamburg-mitte";
pub const ALTONA: &str = "kundenzentrum-altona";
pub const PDF: &[u8] = b"%PDF-1.7\n% Versicherungsnachweis\n%%EOF\n";

pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap()
}

/// The node's keys, generated once per test binary (RSA 4096 takes seconds).
pub fn node_keys() -> &'static PrivateKeySet {
    static KEYS: OnceLock<PrivateKeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        PrivateKeySet::generate(
            "test-node",
            start_time() - chrono::Duration::days(1),
            chrono::Duration::days(365),
        )
        .unwrap()
    })
}

pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub struct Node {
    pub router: Router,
    pub state: NodeState,
    pub store: Arc<dyn Store>,
    pub clock: ManualClock,
    pub _db: TestDatabase,
}

pub struct Case {
    pub id: uuid::Uuid,
    pub file: uuid::Uuid,
    pub document: serde_json::Value,
}

impl Node {
    pub async fn start() -> Self {
        let db = TestDatabase::sqlite().unwrap();
        let store = db.open().await.unwrap();
        let clock = ManualClock::new(start_time());
        let tenant_path = root().join("demo/tenant.toml");
        let tenant = rathaus_domain::TenantDirectory::parse(
            &tenant_path,
            &std::fs::read_to_string(&tenant_path).unwrap(),
        )
        .unwrap();
        // The portal's test form (a group, a choice, a file), so labels come from a definition.
        let loaded = rathaus_catalog::load_definitions(
            &root().join("crates/portal/tests/fixtures/services"),
            Some(&tenant),
        );
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let services = ServiceForms::new(loaded.definitions.iter().map(|(_, d)| {
            (
                d.key.to_string(),
                ServiceForm::of(d, loaded.forms.get(&d.key).cloned()),
            )
        }));
        let assets = rathaus_web::assets::Assets::discover(&root().join("web"));
        let hasher = Arc::new(
            Hasher::new(Policy::weak_for_tests(), 2, Duration::from_secs(10))
                .await
                .unwrap(),
        );
        let office = BackOffice::new(
            store.as_ref(),
            BackOfficeSettings::default(),
            Arc::clone(&hasher),
            services,
            Arc::new(clock.clone()),
        )
        .await
        .unwrap();
        let state = NodeState::new(
            &NODE.parse().unwrap(),
            Arc::new(tenant),
            Arc::clone(&store),
            &assets,
            Some("https://portal.example.org"),
            start_time(),
        )
        .await
        .unwrap()
        .with_delivery(DeliveryKeys {
            own: Arc::new(node_keys().clone()),
            portal: Arc::new(node_keys().public()),
            clock: Arc::new(clock.clone()),
        })
        .with_back_office(office);
        let router = rathaus_authority::router(state.clone(), &assets, &Default::default());
        for (authority, email, role) in [
            (MITTE, "erika@mitte.example.org", ClerkRole::Clerk),
            (MITTE, "leitung@mitte.example.org", ClerkRole::Lead),
            (ALTONA, "otto@altona.example.org", ClerkRole::Clerk),
        ] {
            let hash = hasher
                .hash(&NewPassword::parse(PASSWORD, Blocklist::shipped(), None).unwrap())
                .await
                .unwrap();
            store
                .create_clerk(&ClerkRecord {
                    id: ClerkId::random(),
                    authority: authority.to_owned(),
                    email: Email::parse(email).unwrap(),
                    display_name: format!("Clerk {email}"),
                    password_hash: hash.into_string(),
                    role,
                    created_at: start_time(),
                    updated_at: start_time(),
                })
                .await
                .unwrap();
        }
        Self {
            router,
            state,
            store,
            clock,
            _db: db,
        }
    }

    /// Stores a delivered application for `authority`, sealed to the node's key as the portal
    /// does: `{"document": …, "attachments": {id: base64}}`.
    pub async fn deliver(&self, authority: &str, reference: &str, minute: i64) -> Case {
        let file = uuid::Uuid::new_v4();
        let file_ref = serde_json::json!({
            "id": file,
            "name": "Versicherung \"2026\".pdf",
            "media_type": "application/pdf",
            "size": PDF.len(),
            "sha256": format!("{:x}", sha2::Sha256::digest(PDF)),
        });
        let document = serde_json::json!({
            "format": "rathaus-submission/1",
            "service": { "key": "local-test-dog", "name": "Testhund anmelden" },
            "reference": reference,
            "submitted_at": "2026-06-01T08:00:00Z",
            "language": "de",
            "answers": {
                "owner_name": { "given_names": "Anna", "family_name": "Müller" },
                "owner_address": { "street": "Kirchenallee", "house_number": "1",
                                   "postcode": "20099", "city": "Hamburg" },
                "dogs": [ { "dog_name": CANARY, "breed": "pitbull_terrier",
                            "permit_reference": "G-77" } ],
                "since": "2026-05-20",
                "insurance_proof": [ file_ref.clone() ],
                "retired_field": "kept from an older form",
            },
            "attachments": [ file_ref ],
        });
        let attachments = serde_json::json!({
            file.to_string(): base64::engine::general_purpose::STANDARD.encode(PDF)
        });
        let id = self
            .store_sealed(authority, reference, minute, &document, attachments)
            .await;
        Case { id, file, document }
    }

    /// Stores `document` as a case delivered `minute` minutes after the start, sealed to the
    /// node's key with its `attachments` (file id → base64).
    pub async fn store_sealed(
        &self,
        authority: &str,
        reference: &str,
        minute: i64,
        document: &serde_json::Value,
        attachments: serde_json::Value,
    ) -> uuid::Uuid {
        let plain = serde_json::to_vec(&serde_json::json!({
            "document": document,
            "attachments": attachments,
        }))
        .unwrap();
        let jwe = rathaus_seal::seal(
            &plain,
            "application/json",
            &node_keys().public(),
            start_time(),
        )
        .unwrap()
        .jwe;
        let id = uuid::Uuid::new_v4();
        let at = start_time() + chrono::Duration::minutes(minute);
        self.store
            .store_case(&CaseRecord {
                delivery_id: id,
                reference: reference.to_owned(),
                authority: authority.to_owned(),
                service_key: document["service"]["key"].as_str().unwrap().to_owned(),
                envelope: jwe.into_bytes(),
                status: "received".to_owned(),
                received_at: at,
                updated_at: at,
            })
            .await
            .unwrap();
        id
    }

    pub fn browser(&self) -> Browser<'_> {
        Browser {
            node: self,
            cookies: BTreeMap::new(),
        }
    }

    pub async fn status_of(&self, authority: &str, case: uuid::Uuid) -> String {
        self.store
            .authority_case(authority, case)
            .await
            .unwrap()
            .unwrap()
            .status
    }

    pub async fn audit(&self) -> Vec<rathaus_store::AuditRecord> {
        self.store.audit_entries(1000).await.unwrap()
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn body(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The `csrf` field of the first form on the page.
    pub fn csrf(&self) -> String {
        let body = self.body();
        let marker = "name=\"csrf\" value=\"";
        let start = body.find(marker).expect("no csrf field") + marker.len();
        body[start..].split('"').next().unwrap().to_owned()
    }
}

pub struct Browser<'a> {
    pub node: &'a Node,
    pub cookies: BTreeMap<String, String>,
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
        let response = self.node.router.clone().oneshot(request).await.unwrap();
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
        let bytes = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Answer {
            status,
            headers,
            bytes,
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

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Answer {
        let csrf = self.get("/back-office/sign-in").await.csrf();
        self.post(
            "/back-office/sign-in",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }

    pub async fn signed_in<'n>(node: &'n Node, email: &str) -> Browser<'n> {
        let mut browser = node.browser();
        let answer = browser.sign_in(email, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body());
        assert_eq!(answer.location(), "/back-office");
        browser
    }
}
