#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The mailbox (Postfach) end to end over real HTTP (issue 5): the portal and an authority node
//! with its back office listen on ports; an application is delivered, the clerk asks a
//! question with an attachment, the node sends it signed with its content sealed to the
//! portal, the citizen gets a mail without content, reads the message, downloads the file and
//! replies with a file; the reply travels through the outbox encrypted to the authority and
//! shows in the case; the clerk decides, and the citizen downloads the decision's PDF. Forged,
//! tampered, old, replayed and misdirected messages are refused and change nothing (C3);
//! another citizen finds nothing (Z1); messages go after their retention period (R1).

mod support;

use axum::body::Body;
use http::{Request, StatusCode, header};
use rathaus_domain::AccountId;
use rathaus_portal::delivery::{DeliverySettings, http_client, run_round};
use rathaus_portal::mail::MailKind;
use rathaus_seal::protocol::{
    DELIVERY_TYP, DeliveryPayload, MESSAGE_TYP, MessageContent, MessagePayload,
};
use rathaus_store::testing::TestDatabase;
use rathaus_store::{ApplicationStatus, MessageDirection};
use support::node::{Node, start_node};
use support::{App, Browser, Options, PASSWORD, responsible_node, start_time, test_keys};

const CLERK: &str = "erika@mitte.example.org";
const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52, 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89, 0, 0, 0, 0x0A, 0x49, 0x44, 0x41, 0x54,
    0x78, 0x9C, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0D, 0x0A, 0x2D, 0xB4, 0, 0, 0, 0, 0x49, 0x45, 0x4E,
    0x44, 0xAE, 0x42, 0x60, 0x82,
];
const PDF: &[u8] =
    b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

/// The portal's router on a random port, so that the node can post to it.
async fn serve_portal(app: &App) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    url
}

/// A `multipart/form-data` body: text fields, then files as (input, file name, content).
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----rathaus-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file_name, content) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A clerk in a browser over HTTP: cookies kept by hand.
struct Clerk {
    base: String,
    client: reqwest::Client,
    cookies: Vec<String>,
}

impl Clerk {
    async fn signed_in(base: &str) -> Self {
        let mut clerk = Self {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        };
        let (_, form) = clerk.get("/back-office/sign-in").await;
        let (status, _) = clerk
            .post(
                "/back-office/sign-in",
                &[
                    ("csrf", &csrf(&form)),
                    ("email", CLERK),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        clerk
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(header::SET_COOKIE) {
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

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(header::COOKIE, self.cookies.join("; "))
            .send()
            .await
            .unwrap();
        self.keep(&response);
        (response.status(), response.text().await.unwrap())
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header(header::COOKIE, self.cookies.join("; "))
            .form(fields)
            .send()
            .await
            .unwrap();
        self.keep(&response);
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (response.status(), location)
    }

    /// Writes to the citizen from the case page; returns the status and the redirect or body.
    async fn write(
        &mut self,
        case: uuid::Uuid,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> (StatusCode, String) {
        let (_, page) = self.get(&format!("/back-office/cases/{case}")).await;
        let token = csrf(&page);
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        let (content_type, body) = multipart(&all, files);
        let response = self
            .client
            .post(format!("{}/back-office/cases/{case}/messages", self.base))
            .header(header::COOKIE, self.cookies.join("; "))
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        (status, location.unwrap_or(body))
    }
}

fn csrf(body: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker).unwrap() + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

async fn account(app: &App, email: &str) -> AccountId {
    app.account(email).await.id
}

async fn application_status(app: &App, reference: &str) -> ApplicationStatus {
    app.store
        .application(&account(app, "anna@example.org").await, reference)
        .await
        .unwrap()
        .unwrap()
        .status
}

/// Posts a reply from the citizen's browser (multipart, with the page's token).
async fn reply(
    anna: &mut Browser<'_>,
    message: uuid::Uuid,
    text: &str,
    files: &[(&str, &str, &[u8])],
) -> support::Answer {
    let token = anna
        .get(&format!("/account/mailbox/{message}"))
        .await
        .csrf();
    let (content_type, body) = multipart(&[("csrf", &token), ("text", text)], files);
    anna.send(
        Request::post(format!("/account/mailbox/{message}/reply"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

async fn deliver_all(app: &App) -> usize {
    run_round(
        &app.state,
        &http_client().unwrap(),
        &DeliverySettings::default(),
    )
    .await
    .unwrap()
    .delivered
}

async fn send_from_node(node: &Node) -> (usize, usize) {
    let client = rathaus_authority::status::http_client().unwrap();
    let messages = rathaus_authority::messages::send_pending(&node.state, &client)
        .await
        .unwrap();
    let statuses = rathaus_authority::status::send_pending(&node.state, &client)
        .await
        .unwrap();
    (messages.sent, statuses.sent)
}

/// Everything up to a delivered application whose case the clerk has open.
struct Scene<'a> {
    anna: Browser<'a>,
    reference: String,
    node: Node,
    case: uuid::Uuid,
    clerk: Clerk,
    portal: String,
}

async fn scene(app: &App) -> Scene<'_> {
    let portal = serve_portal(app).await;
    let (node_id, authority) = responsible_node(app);
    let node = start_node(app, &node_id, &authority, &portal, CLERK).await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let reference = anna.apply_for_test_dog("Bello").await;
    assert_eq!(deliver_all(app).await, 1);
    let case = node.store.cases(&authority).await.unwrap()[0].delivery_id;
    let clerk = Clerk::signed_in(&node.url).await;
    Scene {
        anna,
        reference,
        node,
        case,
        clerk,
        portal,
    }
}

async fn the_flow(app: &App) {
    let Scene {
        mut anna,
        reference,
        node,
        case,
        mut clerk,
        ..
    } = scene(app).await;

    // The clerk asks a question with an attachment: the case waits for information.
    let (status, location) = clerk
        .write(
            case,
            &[
                ("kind", "question"),
                ("subject", "Rückfrage Impfpass"),
                ("text", "Bitte senden Sie uns den Impfpass von Bello."),
            ],
            &[("files", "Merkblatt.png", PNG_1X1)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    assert_eq!(
        location,
        format!("/back-office/cases/{case}?sent=1#messages")
    );
    let (_, page) = clerk.get(&format!("/back-office/cases/{case}")).await;
    assert!(page.contains("Rückfrage Impfpass") && page.contains("Merkblatt.png"));
    assert_eq!(
        send_from_node(&node).await,
        (1, 2),
        "message; received + question"
    );
    assert_eq!(
        application_status(app, &reference).await,
        ApplicationStatus::NeedsInformation
    );

    // The citizen is told by mail, without a word of the message.
    let mails = app.mails().await;
    let mail = mails
        .iter()
        .find(|m| m.kind == MailKind::NewMessage)
        .unwrap();
    assert_eq!(mail.to.as_str(), "anna@example.org");
    assert!(
        mail.body
            .contains("https://portal.example.org/account/mailbox")
    );
    for secret in [
        "Rückfrage",
        "Impfpass",
        "Bello",
        "Merkblatt",
        reference.as_str(),
    ] {
        assert!(!mail.subject.contains(secret), "{secret} in the subject");
        assert!(!mail.body.contains(secret), "{secret} in the body");
    }

    // Unread in the account's navigation and in the mailbox; reading marks it read.
    assert!(
        anna.get("/account")
            .await
            .body
            .contains("1 ungelesene Nachricht")
    );
    let list = anna.get("/account/mailbox").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("Rückfrage Impfpass"));
    assert!(list.body.contains("class=\"mailbox-unread\""));
    assert!(list.body.contains(&reference));
    let messages = app
        .store
        .mailbox_messages(&account(app, "anna@example.org").await, app.clock_now())
        .await
        .unwrap();
    assert_eq!(messages.len(), 1);
    let question = messages[0].id;
    let shown = anna.get(&format!("/account/mailbox/{question}")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(
        shown
            .body
            .contains("Bitte senden Sie uns den Impfpass von Bello.")
    );
    assert!(!anna.get("/account").await.body.contains("ungelesen"));
    let href = file_link(&shown.body);
    let file = anna.get(&href).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(file.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(
        file.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"Merkblatt.png\"")
    );
    assert_eq!(file.body, String::from_utf8_lossy(PNG_1X1));

    // The reply with a file goes through the outbox to the case, which is worked on again.
    app.advance(chrono::Duration::minutes(5));
    let sent = reply(
        &mut anna,
        question,
        "Hier ist der Impfpass.",
        &[("files", "impfpass.pdf", PDF)],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert!(sent.location().ends_with("?sent=1"));
    assert_eq!(deliver_all(app).await, 1);
    let at_node = node.store.case_messages(case).await.unwrap();
    assert_eq!(at_node.len(), 2);
    assert_eq!(at_node[1].direction, MessageDirection::FromCitizen);
    assert_eq!(
        node.store.case(case).await.unwrap().unwrap().status,
        "in_progress"
    );
    let (_, page) = clerk.get(&format!("/back-office/cases/{case}")).await;
    assert!(page.contains("Hier ist der Impfpass.") && page.contains("impfpass.pdf"));
    assert_eq!(send_from_node(&node).await, (0, 1));
    assert_eq!(
        application_status(app, &reference).await,
        ApplicationStatus::InProgress
    );
    let own = anna.get(sent.location()).await;
    assert!(
        own.body.contains("bei der Behörde eingegangen"),
        "{}",
        own.body
    );
    // The ciphertext of the reply is gone from the portal once the node has it (R3).
    assert_eq!(app.store.outbox_stats().await.unwrap().pending, 0);

    // The decision: a PDF the citizen downloads; the application is decided.
    app.advance(chrono::Duration::minutes(5));
    let (status, _) = clerk
        .write(
            case,
            &[
                ("kind", "decision"),
                ("subject", "Ihr Bescheid"),
                ("text", "Anbei erhalten Sie den Bescheid."),
                (
                    "decision",
                    "Dem Antrag wird stattgegeben.\nDie Steuer beträgt 90 Euro.",
                ),
            ],
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        node.store.case(case).await.unwrap().unwrap().status,
        "decided"
    );
    assert_eq!(send_from_node(&node).await, (1, 1));
    assert_eq!(
        application_status(app, &reference).await,
        ApplicationStatus::Decided
    );
    let list = anna.get("/account/mailbox").await.body;
    assert!(list.contains("Ihr Bescheid") && list.contains("(Bescheid)"));
    let decision = app
        .store
        .mailbox_messages(&account(app, "anna@example.org").await, app.clock_now())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.decision)
        .unwrap();
    let shown = anna.get(&format!("/account/mailbox/{}", decision.id)).await;
    assert!(shown.body.contains("Bescheid-"));
    let pdf = anna.get(&file_link(&shown.body)).await;
    assert_eq!(pdf.headers[header::CONTENT_TYPE], "application/pdf");
    assert!(pdf.body.starts_with("%PDF-"));
}

trait Now {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}

impl Now for App {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use rathaus_web::Clock;
        self.clock.now()
    }
}

/// The first file link on a message page.
fn file_link(body: &str) -> String {
    let at = body.find("/files/").unwrap();
    let start = body[..at].rfind('"').unwrap() + 1;
    let end = body[at..].find('"').unwrap() + at;
    body[start..end].to_owned()
}

#[tokio::test]
async fn r7_question_reply_and_decision_travel_between_clerk_and_citizen() {
    for db in TestDatabase::all().await.unwrap() {
        let app = App::on(db, Options::default()).await;
        the_flow(&app).await;
    }
}

/// The clerk's question, sent; returns the scene and the message's id at the portal.
async fn with_question(app: &App) -> (Scene<'_>, uuid::Uuid) {
    let mut scene = scene(app).await;
    let (status, _) = scene
        .clerk
        .write(
            scene.case,
            &[
                ("kind", "message"),
                ("subject", "Hinweis"),
                ("text", "Ihr Antrag ist vollständig."),
            ],
            &[("files", "hinweis.pdf", PDF)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    send_from_node(&scene.node).await;
    let id = app
        .store
        .mailbox_messages(&account(app, "anna@example.org").await, app.clock_now())
        .await
        .unwrap()[0]
        .id;
    (scene, id)
}

#[tokio::test]
async fn z1_another_citizen_finds_neither_message_nor_file_and_cannot_reply() {
    let app = App::new().await;
    let (mut scene, id) = with_question(&app).await;
    let shown = scene.anna.get(&format!("/account/mailbox/{id}")).await;
    let file = file_link(&shown.body);
    let mut bob = app.browser();
    bob.create_account("bob@example.org").await;
    for path in [format!("/account/mailbox/{id}"), file.clone()] {
        let answer = bob.get(&path).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!answer.body.contains("vollständig"));
    }
    // With his own valid token, still nothing to reply to.
    let token = bob.get("/account").await.csrf();
    let (content_type, body) = multipart(&[("csrf", &token), ("text", "Ich bin nicht Anna.")], &[]);
    let answer = bob
        .send(
            Request::post(format!("/account/mailbox/{id}/reply"))
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let list = bob.get("/account/mailbox").await;
    assert!(!list.body.contains("Hinweis") && !list.body.contains(&scene.reference));
    assert_eq!(
        app.store.outbox_stats().await.unwrap().pending,
        0,
        "no reply queued"
    );
    // A stranger's id and garbage are the same 404.
    for path in [
        "/account/mailbox/nope",
        "/account/mailbox/00000000-0000-0000-0000-000000000000",
    ] {
        assert_eq!(scene.anna.get(path).await.status, StatusCode::NOT_FOUND);
    }
    // Without the session's token nothing is sent (S4).
    let (content_type, body) = multipart(&[("csrf", "x"), ("text", "Hallo")], &[]);
    let forged = scene
        .anna
        .send(
            Request::post(format!("/account/mailbox/{id}/reply"))
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // A reply without text or with a disguised file is refused and changes nothing (U1).
    let empty = reply(&mut scene.anna, id, "  ", &[]).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    let disguised = reply(
        &mut scene.anna,
        id,
        "Anbei",
        &[(
            "files",
            "bild.pdf",
            b"<html><script>alert(1)</script></html>",
        )],
    )
    .await;
    assert_eq!(disguised.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.store.outbox_stats().await.unwrap().pending, 0);
}

#[tokio::test]
async fn r1_messages_and_then_the_record_are_deleted_after_their_services_periods() {
    let app = App::new().await;
    let (mut scene, id) = with_question(&app).await;
    let owner = account(&app, "anna@example.org").await;
    let shown = scene.anna.get(&format!("/account/mailbox/{id}")).await;
    let file: uuid::Uuid = file_link(&shown.body)
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // The test service keeps messages 60 days (`[retention] message_days`), not the portal's
    // 365, and the mailbox names that day, not the portal's default.
    let list = scene.anna.get("/account/mailbox").await.body;
    let arrived = app.clock_now();
    let day = |d: i64| {
        (arrived + chrono::Duration::days(d))
            .format("%d.%m.%Y")
            .to_string()
    };
    assert!(list.contains("Gelöscht am"), "{list}");
    assert!(list.contains(&format!("<td>{}</td>", day(60))), "{list}");
    assert!(!list.contains(&format!("<td>{}</td>", day(365))));
    // A day before the end it is still there, and the purge leaves it.
    app.advance(chrono::Duration::days(59));
    assert_eq!(app.store.purge_messages(app.clock_now()).await.unwrap(), 0);
    scene.anna.sign_in("anna@example.org", PASSWORD).await;
    assert_eq!(
        scene
            .anna
            .get(&format!("/account/mailbox/{id}"))
            .await
            .status,
        StatusCode::OK
    );
    app.advance(chrono::Duration::days(1));
    assert_eq!(app.store.purge_messages(app.clock_now()).await.unwrap(), 1);
    // The file is gone with the message, even when asked for as of the day it arrived.
    assert!(
        app.store
            .mailbox_file(&owner, id, file, start_time())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        app.store
            .mailbox_messages(&owner, start_time())
            .await
            .unwrap()
            .is_empty()
    );
    scene.anna.sign_in("anna@example.org", PASSWORD).await;
    assert_eq!(
        scene
            .anna
            .get(&format!("/account/mailbox/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // The application's record (`record_days = 90` after its last change) stays until then.
    let reference = scene.reference.clone();
    assert_eq!(
        rathaus_portal::purge_expired_records(&app.state)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        app.store.application_account(&reference).await.unwrap(),
        Some(owner)
    );
    app.advance(chrono::Duration::days(31));
    assert_eq!(
        rathaus_portal::purge_expired_records(&app.state)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app.store.application_account(&reference).await.unwrap(),
        None
    );
    let audit = app.store.audit_entries(1000).await.unwrap();
    let deleted: Vec<_> = audit
        .iter()
        .filter(|e| e.event == rathaus_domain::AuditEvent::RetentionDeleted)
        .collect();
    assert_eq!(deleted.len(), 1);
    assert!(
        deleted[0].detail.contains(&reference),
        "{}",
        deleted[0].detail
    );
    scene.anna.sign_in("anna@example.org", PASSWORD).await;
    assert_eq!(
        scene
            .anna
            .get(&format!("/applications/{reference}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn c3_forged_tampered_old_replayed_and_misdirected_messages_change_nothing() {
    let app = App::new().await;
    let Scene {
        reference,
        node,
        case,
        portal,
        ..
    } = scene(&app).await;
    let node_id = node.state.node.id.to_string();
    let (node_keys, portal_keys) = test_keys();
    let owner = account(&app, "anna@example.org").await;
    let content = |keys: &rathaus_seal::PrivateKeySet| {
        let plain = serde_json::to_vec(&MessageContent {
            subject: "Geheimer Betreff".into(),
            text: "Geheimer Text".into(),
            attachments: Vec::new(),
        })
        .unwrap();
        rathaus_seal::seal(&plain, "application/json", &keys.public(), start_time())
            .unwrap()
            .jwe
    };
    let payload = |node: &str, reference: &str, delivery: String, content: String| {
        serde_json::to_value(MessagePayload {
            message_id: "7b0c1c56-2f1e-4c7a-9d55-5a3a4a0b8e01".into(),
            reference: reference.to_owned(),
            delivery_id: delivery,
            node: node.to_owned(),
            decision: false,
            content,
        })
        .unwrap()
    };
    let good_payload = payload(&node_id, &reference, case.to_string(), content(portal_keys));
    let client = http_client().unwrap();
    let url = format!("{portal}/api/v1/messages");
    let send = |body: String| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let response = client
                .post(&url)
                .header(header::CONTENT_TYPE, "application/jose")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap().to_owned());
            (status, content_type)
        }
    };
    let problem = Some("application/problem+json".to_owned());
    let sign = |value: &serde_json::Value, keys, at| {
        rathaus_seal::sign(value, MESSAGE_TYP, keys, at).unwrap()
    };

    // Signed with the portal's own key instead of the node's: refused.
    assert_eq!(
        send(sign(&good_payload, portal_keys, start_time())).await,
        (StatusCode::UNAUTHORIZED, problem.clone())
    );
    // One byte of the payload changed: refused.
    let good = sign(&good_payload, node_keys, start_time());
    let mut tampered = good.clone().into_bytes();
    let middle = good.find('.').unwrap() + 10;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    assert!(
        send(String::from_utf8(tampered).unwrap())
            .await
            .0
            .is_client_error()
    );
    // Too old: refused.
    let old = sign(
        &good_payload,
        node_keys,
        start_time() - chrono::Duration::minutes(10),
    );
    assert_eq!(send(old).await, (StatusCode::UNAUTHORIZED, problem.clone()));
    // A status message is not a message.
    let wrong_type =
        rathaus_seal::sign(&good_payload, "rathaus-status+jws", node_keys, start_time()).unwrap();
    assert_eq!(send(wrong_type).await.0, StatusCode::UNAUTHORIZED);
    // Another node (whose keys verify) may not write about this node's delivery, nor may the
    // node write under another reference.
    let other_node = app
        .state
        .tenant
        .nodes
        .iter()
        .find(|n| n.id.as_str() != node_id)
        .unwrap()
        .id
        .to_string();
    for misdirected in [
        payload(
            &other_node,
            &reference,
            case.to_string(),
            content(portal_keys),
        ),
        payload(
            &node_id,
            "HA-2026-XXXX-XXXX",
            case.to_string(),
            content(portal_keys),
        ),
    ] {
        let jws = sign(&misdirected, node_keys, start_time());
        assert_eq!(send(jws).await, (StatusCode::CONFLICT, problem.clone()));
    }
    // An unknown delivery; content the portal cannot open; garbage.
    let unknown = payload(
        &node_id,
        &reference,
        uuid::Uuid::new_v4().to_string(),
        content(portal_keys),
    );
    assert_eq!(
        send(sign(&unknown, node_keys, start_time())).await.0,
        StatusCode::NOT_FOUND
    );
    let sealed_elsewhere = payload(&node_id, &reference, case.to_string(), content(node_keys));
    assert_eq!(
        send(sign(&sealed_elsewhere, node_keys, start_time())).await,
        (StatusCode::UNPROCESSABLE_ENTITY, problem.clone())
    );
    assert_eq!(send("csrf=x".to_owned()).await.0, StatusCode::BAD_REQUEST);
    assert!(
        app.store
            .mailbox_messages(&owner, start_time())
            .await
            .unwrap()
            .is_empty(),
        "nothing stored"
    );
    assert!(
        app.mails()
            .await
            .iter()
            .all(|m| m.kind != MailKind::NewMessage)
    );

    // The genuine message is accepted once; the very same JWS again is a replay; the same
    // message signed anew (a retry after a lost answer) is acknowledged and stored once.
    assert_eq!(send(good.clone()).await.0, StatusCode::CREATED);
    assert_eq!(send(good).await, (StatusCode::CONFLICT, problem));
    assert_eq!(
        send(sign(&good_payload, node_keys, start_time())).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.store
            .mailbox_messages(&owner, start_time())
            .await
            .unwrap()
            .len(),
        1
    );
    let mails = app.mails().await;
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.kind == MailKind::NewMessage)
            .count(),
        1
    );
    // Stored sealed: neither subject nor text is in the portal's row.
    let stored = &app
        .store
        .mailbox_messages(&owner, start_time())
        .await
        .unwrap()[0];
    let raw = String::from_utf8_lossy(&stored.sealed);
    assert!(!raw.contains("Geheim"));
}

#[tokio::test]
async fn z2_a_reply_naming_another_case_or_reference_is_refused_at_the_node() {
    let app = App::new().await;
    let Scene {
        reference,
        node,
        case,
        ..
    } = scene(&app).await;
    let (node_keys, portal_keys) = test_keys();
    let authority = node.store.case(case).await.unwrap().unwrap().authority;
    let envelope = |text: &str| {
        let plain = serde_json::to_vec(&MessageContent {
            subject: "AW: Hinweis".into(),
            text: text.into(),
            attachments: Vec::new(),
        })
        .unwrap();
        rathaus_seal::seal(
            &plain,
            "application/json",
            &node_keys.public(),
            start_time(),
        )
        .unwrap()
        .jwe
    };
    let reply = |reference: &str, in_reply_to: String| {
        serde_json::to_value(DeliveryPayload {
            delivery_id: uuid::Uuid::new_v4().to_string(),
            reference: reference.to_owned(),
            service_key: "local-test-dog".into(),
            authority: authority.clone(),
            node: node.state.node.id.to_string(),
            envelope: envelope("Eingeschmuggelt"),
            in_reply_to: Some(in_reply_to),
        })
        .unwrap()
    };
    let client = http_client().unwrap();
    let url = format!("{}/api/v1/deliveries", node.url);
    let send = |value: serde_json::Value| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let body = rathaus_seal::sign(&value, DELIVERY_TYP, portal_keys, start_time()).unwrap();
            client.post(&url).body(body).send().await.unwrap().status()
        }
    };
    assert_eq!(
        send(reply("HA-2026-XXXX-XXXX", case.to_string())).await,
        StatusCode::NOT_FOUND,
        "another reference"
    );
    assert_eq!(
        send(reply(&reference, uuid::Uuid::new_v4().to_string())).await,
        StatusCode::NOT_FOUND,
        "an unknown case"
    );
    assert_eq!(
        send(reply(&reference, "nope".into())).await,
        StatusCode::BAD_REQUEST
    );
    assert!(node.store.case_messages(case).await.unwrap().is_empty());
    // The genuine reply is stored once, however often it arrives.
    let genuine = reply(&reference, case.to_string());
    assert_eq!(send(genuine.clone()).await, StatusCode::OK);
    assert_eq!(send(genuine).await, StatusCode::OK);
    assert_eq!(node.store.case_messages(case).await.unwrap().len(), 1);
}
