//! Messages and decisions in the back office (issue 5), through the node's router with
//! `oneshot`: a clerk writes to the citizen (a notice, a question, a decision rendered as a
//! PDF/UA document), everything checked before anything is queued (V1, U1, S4), another
//! authority's case takes nothing (Z2), and the queue of messages for the portal waits and
//! retries while the portal is away (F3).
#![allow(clippy::unwrap_used, clippy::expect_used)]

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
use rathaus_domain::{AuditEvent, Blocklist, ClerkId, ClerkRole, Email, NewPassword};
use rathaus_seal::PrivateKeySet;
use rathaus_store::testing::TestDatabase;
use rathaus_store::{CaseRecord, ClerkRecord, Store};
use rathaus_web::ManualClock;
use sha2::Digest;
use tower::ServiceExt;

const PASSWORD: &str = "Ein langer Satz als Passwort";
const CANARY: &str = "Kanarienvogel-b4c1";
const NODE: &str = "kundenzentren";
const MITTE: &str = "kundenzentrum-hamburg-mitte";
const ALTONA: &str = "kundenzentrum-altona";
const PDF: &[u8] = b"%PDF-1.7\n% Versicherungsnachweis\n%%EOF\n";

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap()
}

/// The node's keys, generated once per test binary (RSA 4096 takes seconds).
fn node_keys() -> &'static PrivateKeySet {
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

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Node {
    state: NodeState,
    router: Router,
    store: Arc<dyn Store>,
    clock: ManualClock,
    _db: TestDatabase,
}

struct Case {
    id: uuid::Uuid,
    file: uuid::Uuid,
    document: serde_json::Value,
}

impl Node {
    async fn start() -> Self {
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
            state,
            router,
            store,
            clock,
            _db: db,
        }
    }

    /// Stores a delivered application for `authority`, sealed to the node's key as the portal
    /// does: `{"document": …, "attachments": {id: base64}}`.
    async fn deliver(&self, authority: &str, reference: &str, minute: i64) -> Case {
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
        let plain = serde_json::to_vec(&serde_json::json!({
            "document": document,
            "attachments": {
                file.to_string(): base64::engine::general_purpose::STANDARD.encode(PDF)
            },
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
                service_key: "local-test-dog".to_owned(),
                envelope: jwe.into_bytes(),
                status: "received".to_owned(),
                received_at: at,
                updated_at: at,
            })
            .await
            .unwrap();
        Case { id, file, document }
    }

    fn browser(&self) -> Browser<'_> {
        Browser {
            node: self,
            cookies: BTreeMap::new(),
        }
    }

    async fn status_of(&self, authority: &str, case: uuid::Uuid) -> String {
        self.store
            .authority_case(authority, case)
            .await
            .unwrap()
            .unwrap()
            .status
    }

    async fn audit(&self) -> Vec<rathaus_store::AuditRecord> {
        self.store.audit_entries(1000).await.unwrap()
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    bytes: Vec<u8>,
}

impl Answer {
    fn body(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The `csrf` field of the first form on the page.
    fn csrf(&self) -> String {
        let body = self.body();
        let marker = "name=\"csrf\" value=\"";
        let start = body.find(marker).expect("no csrf field") + marker.len();
        body[start..].split('"').next().unwrap().to_owned()
    }
}

struct Browser<'a> {
    node: &'a Node,
    cookies: BTreeMap<String, String>,
}

impl Browser<'_> {
    async fn send(&mut self, mut request: Request<Body>) -> Answer {
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

    async fn get(&mut self, path: &str) -> Answer {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    async fn sign_in(&mut self, email: &str, password: &str) -> Answer {
        let csrf = self.get("/back-office/sign-in").await.csrf();
        self.post(
            "/back-office/sign-in",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }

    async fn signed_in<'n>(node: &'n Node, email: &str) -> Browser<'n> {
        let mut browser = node.browser();
        let answer = browser.sign_in(email, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body());
        assert_eq!(answer.location(), "/back-office");
        browser
    }
}
impl Browser<'_> {
    /// Posts the message form of a case as multipart, with the page's token unless `csrf` is
    /// given.
    async fn write(
        &mut self,
        case: uuid::Uuid,
        csrf: Option<&str>,
        fields: &[(&str, &str)],
        files: &[(&str, &[u8])],
    ) -> Answer {
        let token = match csrf {
            Some(token) => token.to_owned(),
            None => self.get(&format!("/back-office/cases/{case}")).await.csrf(),
        };
        let boundary = "----rathaus-test-boundary";
        let mut body = Vec::new();
        for (name, value) in [("csrf", token.as_str())].iter().chain(fields) {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        for (file_name, content) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; \
                     filename=\"{file_name}\"\r\nContent-Type: application/pdf\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.send(
            Request::post(format!("/back-office/cases/{case}/messages"))
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }
}

/// The content of a queued message, opened with the node's key.
fn opened(envelope: &[u8]) -> rathaus_seal::protocol::MessageContent {
    let plain = rathaus_seal::open(
        std::str::from_utf8(envelope).unwrap(),
        node_keys(),
        start_time(),
    )
    .unwrap();
    serde_json::from_slice(&plain).unwrap()
}

#[tokio::test]
async fn a_decision_is_a_pdf_ua_attachment_and_decides_the_case_in_one_step() {
    let node = Node::start().await;
    let case = node.deliver(MITTE, "HA-2026-MMMM-0001", 1).await;
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    let answer = erika
        .write(
            case.id,
            None,
            &[
                ("kind", "decision"),
                ("subject", "Ihr Bescheid"),
                ("text", "Anbei erhalten Sie den Bescheid."),
                (
                    "decision",
                    "Dem Antrag wird stattgegeben.\nBegründung: Alle Unterlagen liegen vor.",
                ),
            ],
            &[("Merkblatt.pdf", PDF)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body());
    assert_eq!(node.status_of(MITTE, case.id).await, "decided");
    let queued = node
        .store
        .pending_case_messages(start_time(), 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    assert!(queued[0].decision);
    assert_eq!(queued[0].reference, case.document["reference"]);
    // Kept encrypted at rest, like the case.
    assert!(!String::from_utf8_lossy(&queued[0].envelope).contains("stattgegeben"));
    let content = opened(&queued[0].envelope);
    assert_eq!(content.subject, "Ihr Bescheid");
    assert_eq!(content.attachments.len(), 2);
    let decision = &content.attachments[0];
    assert_eq!(decision.name, "Bescheid-HA-2026-MMMM-0001.pdf");
    assert_eq!(decision.media_type, "application/pdf");
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(&decision.data)
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(
        String::from_utf8_lossy(&pdf).contains("/StructTreeRoot"),
        "tagged"
    );
    assert_eq!(content.attachments[1].name, "Merkblatt.pdf");
    // The status message for the portal and the audit entry go with it.
    let status = node.store.pending_status_messages(10).await.unwrap();
    assert_eq!(
        status.last().unwrap().status,
        rathaus_domain::CaseStatus::Decided
    );
    assert!(
        node.audit()
            .await
            .iter()
            .any(|e| e.event == AuditEvent::CaseStatusChanged && !e.detail.contains("stattgegeben"))
    );
    // The case page shows the message, waiting for the portal, with both files to download.
    let page = erika.get(&format!("/back-office/cases/{}", case.id)).await;
    let body = page.body();
    assert!(body.contains("Ihr Bescheid") && body.contains("wartet auf Zustellung"));
    let message = queued[0].id;
    let link = format!(
        "/back-office/cases/{}/messages/{message}/files/{}",
        case.id, decision.id
    );
    assert!(body.contains(&link));
    let download = erika.get(&link).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.bytes, pdf);
    assert_eq!(download.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    // A decided case takes no second decision.
    let again = erika
        .write(
            case.id,
            None,
            &[
                ("kind", "decision"),
                ("subject", "Noch ein Bescheid"),
                ("text", "x"),
                ("decision", "y"),
            ],
            &[],
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        node.store
            .pending_case_messages(start_time(), 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_question_makes_the_case_wait_for_information_and_a_notice_keeps_the_status() {
    let node = Node::start().await;
    let case = node.deliver(MITTE, "HA-2026-MMMM-0001", 1).await;
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    let notice = erika
        .write(
            case.id,
            None,
            &[
                ("kind", "message"),
                ("subject", "Eingang"),
                ("text", "Danke."),
            ],
            &[],
        )
        .await;
    assert_eq!(notice.status, StatusCode::SEE_OTHER);
    assert_eq!(node.status_of(MITTE, case.id).await, "received");
    let question = erika
        .write(
            case.id,
            None,
            &[
                ("kind", "question"),
                ("subject", "Rückfrage"),
                ("text", "Bitte senden Sie den Impfpass."),
            ],
            &[],
        )
        .await;
    assert_eq!(question.status, StatusCode::SEE_OTHER);
    assert_eq!(node.status_of(MITTE, case.id).await, "needs_information");
    // A second question while waiting is fine and changes nothing more.
    let again = erika
        .write(
            case.id,
            None,
            &[
                ("kind", "question"),
                ("subject", "Erinnerung"),
                ("text", "Bitte."),
            ],
            &[],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(
        node.store
            .pending_case_messages(start_time(), 10)
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn v1_u1_bad_messages_are_refused_with_the_form_kept_and_nothing_is_queued() {
    let node = Node::start().await;
    let case = node.deliver(MITTE, "HA-2026-MMMM-0001", 1).await;
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    let disguised: &[u8] = b"<html><script>alert(1)</script></html>";
    let big = vec![b'%'; 11 * 1024 * 1024];
    type Fields<'a> = Vec<(&'a str, &'a str)>;
    type Files<'a> = Vec<(&'a str, &'a [u8])>;
    let cases: Vec<(Fields, Files, &str)> = vec![
        (
            vec![
                ("kind", "message"),
                ("subject", ""),
                ("text", "Text bleibt"),
            ],
            vec![],
            "Betreff",
        ),
        (
            vec![
                ("kind", "message"),
                ("subject", "Zeile\r\nBcc: x"),
                ("text", "Text bleibt"),
            ],
            vec![],
            "Betreff",
        ),
        (
            vec![
                ("kind", "message"),
                ("subject", "Betreff bleibt"),
                ("text", "  "),
            ],
            vec![],
            "Nachricht",
        ),
        (
            vec![
                ("kind", "decision"),
                ("subject", "Betreff bleibt"),
                ("text", "Text bleibt"),
            ],
            vec![],
            "Bescheids",
        ),
        (
            vec![
                ("kind", "gift"),
                ("subject", "Betreff bleibt"),
                ("text", "Text bleibt"),
            ],
            vec![],
            "Art der Nachricht",
        ),
        (
            vec![
                ("kind", "message"),
                ("subject", "Betreff bleibt"),
                ("text", "Text bleibt"),
            ],
            vec![("bescheid.pdf", disguised)],
            "Dateiarten",
        ),
        (
            vec![
                ("kind", "message"),
                ("subject", "Betreff bleibt"),
                ("text", "Text bleibt"),
            ],
            vec![("gross.pdf", big.as_slice())],
            "größer als 10 MB",
        ),
    ];
    for (fields, files, expected) in cases {
        let answer = erika.write(case.id, None, &fields, &files).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{fields:?}");
        let body = answer.body();
        assert!(body.contains(expected), "{expected}: {fields:?}");
        assert!(
            body.contains("Text bleibt") || body.contains("Betreff bleibt"),
            "the form keeps what was typed"
        );
    }
    assert!(
        node.store
            .pending_case_messages(start_time(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(node.status_of(MITTE, case.id).await, "received");
}

#[tokio::test]
async fn s4_z2_without_the_token_or_for_another_authoritys_case_nothing_is_written() {
    let node = Node::start().await;
    let own = node.deliver(MITTE, "HA-2026-MMMM-0001", 1).await;
    let foreign = node.deliver(ALTONA, "HA-2026-AAAA-0002", 2).await;
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    let fields = [
        ("kind", "decision"),
        ("subject", "S"),
        ("text", "T"),
        ("decision", "D"),
    ];
    let forged = erika.write(own.id, Some("falsch"), &fields, &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let token = erika.get("/back-office").await.csrf();
    let foreign_write = erika.write(foreign.id, Some(&token), &fields, &[]).await;
    assert_eq!(foreign_write.status, StatusCode::NOT_FOUND);
    assert!(!foreign_write.body().contains("HA-2026-AAAA-0002"));
    // A message of another authority's case is not found either, nor a made-up one.
    let mut otto = Browser::signed_in(&node, "otto@altona.example.org").await;
    let answer = otto
        .write(
            foreign.id,
            None,
            &[
                ("kind", "message"),
                ("subject", "Von Altona"),
                ("text", "Hallo"),
            ],
            &[("brief.pdf", PDF)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let message = node.store.case_messages(foreign.id).await.unwrap()[0].id;
    let file = opened(&node.store.case_messages(foreign.id).await.unwrap()[0].envelope).attachments
        [0]
    .id
    .clone();
    for path in [
        format!(
            "/back-office/cases/{}/messages/{message}/files/{file}",
            foreign.id
        ),
        format!(
            "/back-office/cases/{}/messages/{message}/files/{file}",
            own.id
        ),
        format!(
            "/back-office/cases/{}/messages/{}/files/{file}",
            foreign.id,
            uuid::Uuid::new_v4()
        ),
    ] {
        assert_eq!(
            erika.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert!(node.store.case_messages(own.id).await.unwrap().is_empty());
    assert_eq!(node.status_of(MITTE, own.id).await, "received");
    assert_eq!(node.status_of(ALTONA, foreign.id).await, "received");
    assert!(
        !node
            .audit()
            .await
            .iter()
            .any(|e| e.detail.contains(&own.file.to_string()))
    );
}

#[tokio::test]
async fn f3_a_message_waits_while_the_portal_is_away_and_is_tried_again_later() {
    let node = Node::start().await;
    let case = node.deliver(MITTE, "HA-2026-MMMM-0001", 1).await;
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    erika
        .write(
            case.id,
            None,
            &[
                ("kind", "message"),
                ("subject", "Hinweis"),
                ("text", "Text"),
            ],
            &[],
        )
        .await;
    // Nothing listens at the portal's address.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut away = node.state.clone();
    away.portal_url = Some(format!("http://{}", closed.local_addr().unwrap()));
    drop(closed);
    let client = rathaus_authority::status::http_client().unwrap();
    let round = rathaus_authority::messages::send_pending(&away, &client)
        .await
        .unwrap();
    assert_eq!((round.sent, round.failed), (0, 1));
    // Kept, with the error, and not due again before its backoff.
    let kept = &node.store.case_messages(case.id).await.unwrap()[0];
    assert_eq!((kept.attempts, kept.sent_at), (1, None));
    assert!(
        kept.last_error
            .as_deref()
            .unwrap()
            .contains("sending failed")
    );
    assert!(
        node.store
            .pending_case_messages(start_time(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    node.clock.advance(chrono::Duration::seconds(11));
    let due = node
        .store
        .pending_case_messages(start_time() + chrono::Duration::seconds(11), 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
}
