//! Messages and decisions in the back office (issue 5), through the node's router with
//! `oneshot`: a clerk writes to the citizen (a notice, a question, a decision rendered as a
//! PDF/UA document), everything checked before anything is queued (V1, U1, S4), another
//! authority's case takes nothing (Z2), and the queue of messages for the portal waits and
//! retries while the portal is away (F3).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use base64::Engine;
use http::{Request, StatusCode, header};
use rathaus_domain::AuditEvent;

use support::*;

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
