//! The clerks' back office as a browser sees it (issue 5), through the node's router with
//! `oneshot`: sign-in (S1–S3, A4, A5), the inbox and cases of the clerk's own authority only
//! (Z1, Z2), CSRF on every state change (S4), attachment downloads (U1), the export, and the
//! audit log of every clerk access (L1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use http::{Request, StatusCode, header};
use rathaus_domain::AuditEvent;
use rathaus_web::Clock;

use support::*;

#[tokio::test]
async fn a5_sign_in_answers_alike_for_unknown_clerks_and_wrong_passwords() {
    let node = Node::start().await;
    let mut visitor = node.browser();
    let unknown = visitor
        .sign_in("nobody@mitte.example.org", "irgendein Passwort")
        .await;
    let wrong = visitor
        .sign_in("erika@mitte.example.org", "irgendein Passwort")
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let strip = |body: String| {
        // The only difference allowed: the address typed, shown back in the field.
        body.replace("nobody@mitte.example.org", "X")
            .replace("erika@mitte.example.org", "X")
    };
    assert_eq!(strip(unknown.body()), strip(wrong.body()));
    assert!(!visitor.cookies.keys().any(|k| k.ends_with("rathaus_clerk")));

    // The right password signs in with a secure, host-only session cookie (S3).
    let mut erika = node.browser();
    let answer = erika.sign_in("erika@mitte.example.org", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let cookie = answer
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-rathaus_clerk="))
        .unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("Secure"));
    assert!(cookie.contains("SameSite=Strict") && cookie.contains("Path=/"));
    assert_eq!(cookie.split(['=', ';']).nth(1).unwrap().len(), 43);
    assert_eq!(erika.get("/back-office").await.status, StatusCode::OK);

    // L1: the failures and the sign-in are logged, never the password.
    let audit = node.audit().await;
    let events: Vec<AuditEvent> = audit.iter().map(|e| e.event).collect();
    assert_eq!(
        events,
        [
            AuditEvent::SignIn,
            AuditEvent::SignInFailed,
            AuditEvent::SignInFailed
        ]
    );
    assert!(audit.iter().all(|e| !e.detail.contains("Passwort")));
}

#[tokio::test]
async fn s4_sign_in_without_the_forms_token_is_refused() {
    let node = Node::start().await;
    let mut visitor = node.browser();
    let answer = visitor
        .post(
            "/back-office/sign-in",
            &[
                ("csrf", "x"),
                ("email", "erika@mitte.example.org"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(node.audit().await.is_empty());
}

#[tokio::test]
async fn a4_failed_sign_ins_are_throttled_and_the_owner_gets_back_in_later() {
    let node = Node::start().await;
    let mut eve = node.browser();
    for _ in 0..5 {
        let answer = eve
            .sign_in("erika@mitte.example.org", "falsch falsch")
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    let throttled = eve.sign_in("erika@mitte.example.org", PASSWORD).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers.contains_key(header::RETRY_AFTER));
    node.clock.advance(chrono::Duration::minutes(15));
    let answer = eve.sign_in("erika@mitte.example.org", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn s1_s2_clerk_sessions_end_when_idle_at_their_cap_and_at_sign_out() {
    let node = Node::start().await;
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    node.clock.advance(chrono::Duration::seconds(29 * 60 + 59));
    assert_eq!(erika.get("/back-office").await.status, StatusCode::OK);
    // Activity keeps it alive, but never beyond 12 hours.
    for _ in 0..23 {
        node.clock.advance(chrono::Duration::minutes(29));
        assert_eq!(erika.get("/back-office").await.status, StatusCode::OK);
    }
    node.clock.advance(chrono::Duration::minutes(29));
    let ended = erika.get("/back-office").await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    assert!(ended.location().starts_with("/back-office/sign-in"));

    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    node.clock.advance(chrono::Duration::minutes(30));
    assert_eq!(
        erika.get("/back-office").await.status,
        StatusCode::SEE_OTHER
    );

    // Sign-out ends the session on the server: the old cookie is refused afterwards.
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    let old = erika.cookies.clone();
    let csrf = erika.get("/back-office").await.csrf();
    let out = erika
        .post("/back-office/sign-out", &[("csrf", &csrf)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/back-office/sign-in?signed_out=1");
    let mut replay = node.browser();
    replay.cookies = old;
    assert_eq!(
        replay.get("/back-office").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn z1_every_back_office_page_needs_a_signed_in_clerk() {
    let node = Node::start().await;
    let case = node.deliver(MITTE, "HA-2026-AAAA-0001", 1).await;
    let mut anonymous = node.browser();
    for path in [
        "/back-office".to_owned(),
        "/back-office/counter".to_owned(),
        format!("/back-office/cases/{}", case.id),
        format!("/back-office/cases/{}/attachments/{}", case.id, case.file),
        format!("/back-office/cases/{}/export.json", case.id),
        format!("/back-office/cases/{}/export.xml", case.id),
        format!(
            "/back-office/cases/{}/messages/{}/files/{}",
            case.id,
            uuid::Uuid::new_v4(),
            case.file
        ),
    ] {
        let answer = anonymous.get(&path).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            answer.location().starts_with("/back-office/sign-in?next="),
            "{path}"
        );
    }
    for path in [
        format!("/back-office/cases/{}/status", case.id),
        format!("/back-office/cases/{}/messages", case.id),
        "/back-office/sign-out".to_owned(),
        "/back-office/counter".to_owned(),
    ] {
        let answer = anonymous
            .post(&path, &[("csrf", "x"), ("status", "decided")])
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{path}");
        assert!(answer.location().starts_with("/back-office/sign-in"));
    }
    assert_eq!(node.status_of(MITTE, case.id).await, "received");
    assert!(node.audit().await.is_empty());
}

#[tokio::test]
async fn z1_the_inbox_shows_only_the_clerks_own_authority_newest_first() {
    let node = Node::start().await;
    node.deliver(MITTE, "HA-2026-MMMM-0001", 1).await;
    let newest = node.deliver(MITTE, "HA-2026-MMMM-0002", 2).await;
    node.deliver(ALTONA, "HA-2026-AAAA-0003", 3).await;
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    let inbox = erika.get("/back-office").await.body();
    assert!(inbox.contains("HA-2026-MMMM-0001") && inbox.contains("HA-2026-MMMM-0002"));
    assert!(
        !inbox.contains("HA-2026-AAAA-0003"),
        "another authority's case"
    );
    assert!(inbox.find("MMMM-0002").unwrap() < inbox.find("MMMM-0001").unwrap());
    assert!(inbox.contains("Testhund anmelden"));

    // Search by reference, filter by status.
    let found = erika.get("/back-office?q=mmmm-0001").await.body();
    assert!(found.contains("HA-2026-MMMM-0001") && !found.contains("HA-2026-MMMM-0002"));
    let view = erika
        .get(&format!("/back-office/cases/{}", newest.id))
        .await;
    let csrf = view.csrf();
    erika
        .post(
            &format!("/back-office/cases/{}/status", newest.id),
            &[
                ("csrf", &csrf),
                ("from", "received"),
                ("status", "in_progress"),
            ],
        )
        .await;
    let filtered = erika.get("/back-office?status=in_progress").await.body();
    assert!(filtered.contains("HA-2026-MMMM-0002") && !filtered.contains("HA-2026-MMMM-0001"));
    // Otto at Altona sees only his own case.
    let mut otto = Browser::signed_in(&node, "otto@altona.example.org").await;
    let inbox = otto.get("/back-office").await.body();
    assert!(inbox.contains("HA-2026-AAAA-0003") && !inbox.contains("MMMM"));
}

#[tokio::test]
async fn z2_another_authoritys_case_answers_404_like_an_unknown_one() {
    let node = Node::start().await;
    let foreign = node.deliver(ALTONA, "HA-2026-AAAA-0001", 1).await;
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    let csrf = erika.get("/back-office").await.csrf();
    let unknown = uuid::Uuid::new_v4();
    for id in [
        foreign.id.to_string(),
        unknown.to_string(),
        "nope".to_owned(),
    ] {
        for path in [
            format!("/back-office/cases/{id}"),
            format!("/back-office/cases/{id}/attachments/{}", foreign.file),
            format!("/back-office/cases/{id}/export.json"),
            format!("/back-office/cases/{id}/export.xml"),
        ] {
            let answer = erika.get(&path).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
            assert!(!answer.body().contains(CANARY));
            assert!(!answer.body().contains("HA-2026-AAAA-0001"));
        }
        let answer = erika
            .post(
                &format!("/back-office/cases/{id}/status"),
                &[("csrf", &csrf), ("from", "received"), ("status", "decided")],
            )
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{id}");
    }
    assert_eq!(node.status_of(ALTONA, foreign.id).await, "received");
    assert!(
        node.store
            .pending_status_messages(10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        node.audit()
            .await
            .iter()
            .all(|e| e.event == AuditEvent::SignIn)
    );
}

#[tokio::test]
async fn s4_a_status_change_without_the_sessions_token_changes_nothing() {
    let node = Node::start().await;
    let case = node.deliver(MITTE, "HA-2026-AAAA-0001", 1).await;
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    let path = format!("/back-office/cases/{}/status", case.id);
    let fields = [("from", "received"), ("status", "decided")];
    let no_token = erika.post(&path, &fields).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert!(no_token.body().contains("Es wurde nichts geändert"));
    let mut forged = vec![("csrf", "x".repeat(43))];
    forged.extend(fields.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        erika.post(&path, &forged).await.status,
        StatusCode::FORBIDDEN
    );
    // Another clerk's token does not fit this session.
    let mut lead = Browser::signed_in(&node, "leitung@mitte.example.org").await;
    let other = lead.get("/back-office").await.csrf();
    let mut stolen = vec![("csrf", other.as_str())];
    stolen.extend_from_slice(&fields);
    assert_eq!(
        erika.post(&path, &stolen).await.status,
        StatusCode::FORBIDDEN
    );
    // The right token, but the browser says the form came from another site.
    let own = erika.get("/back-office").await.csrf();
    let mut good = vec![("csrf", own.as_str())];
    good.extend_from_slice(&fields);
    let cross = erika
        .send(
            Request::post(&path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("sec-fetch-site", "cross-site")
                .body(Body::from(serde_urlencoded::to_string(&good).unwrap()))
                .unwrap(),
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    assert_eq!(node.status_of(MITTE, case.id).await, "received");
    assert!(
        node.store
            .pending_status_messages(10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(node.store.case_history(case.id).await.unwrap().is_empty());

    // With the token it works, and is logged and queued for the portal.
    let changed = erika.post(&path, &good).await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        changed.location(),
        format!("/back-office/cases/{}?changed=1", case.id)
    );
    assert_eq!(node.status_of(MITTE, case.id).await, "decided");
    let messages = node.store.pending_status_messages(10).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].status.as_str(), "decided");
    let entry = node
        .audit()
        .await
        .into_iter()
        .find(|e| e.event == AuditEvent::CaseStatusChanged)
        .unwrap();
    assert!(entry.detail.contains(&case.id.to_string()));
    assert!(entry.detail.contains("from=received to=decided"));
}

#[tokio::test]
async fn status_changes_follow_the_order_of_work_and_only_a_lead_reopens() {
    let node = Node::start().await;
    let case = node.deliver(MITTE, "HA-2026-AAAA-0001", 1).await;
    let path = format!("/back-office/cases/{}/status", case.id);
    let page = format!("/back-office/cases/{}", case.id);
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    let csrf = erika.get(&page).await.csrf();
    let post = |from: &'static str, to: &'static str| [("from", from), ("status", to)];
    // Back to "received" is not a way forward.
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(&post("received", "received"));
    let answer = erika.post(&path, &fields).await;
    assert_eq!(answer.location(), format!("{page}?error=choice"));
    let shown = erika.get(answer.location()).await.body();
    assert!(shown.contains("Bitte wählen Sie einen neuen Status."));
    // A stale form: the clerk saw another status.
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(&post("in_progress", "decided"));
    assert_eq!(
        erika.post(&path, &fields).await.location(),
        format!("{page}?error=moved")
    );
    for (from, to) in [
        ("received", "in_progress"),
        ("in_progress", "needs_information"),
        ("needs_information", "decided"),
    ] {
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(&post(from, to));
        let answer = erika.post(&path, &fields).await;
        assert_eq!(answer.location(), format!("{page}?changed=1"), "{to}");
        assert_eq!(node.status_of(MITTE, case.id).await, to);
    }
    // Decided: a clerk cannot reopen it, a lead can.
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(&post("decided", "in_progress"));
    assert_eq!(
        erika.post(&path, &fields).await.location(),
        format!("{page}?error=choice")
    );
    assert!(erika.get(&page).await.body().contains("Nur die Leitung"));
    let mut lead = Browser::signed_in(&node, "leitung@mitte.example.org").await;
    let lead_csrf = lead.get(&page).await.csrf();
    let mut fields = vec![("csrf", lead_csrf.as_str())];
    fields.extend_from_slice(&post("decided", "in_progress"));
    assert_eq!(
        lead.post(&path, &fields).await.location(),
        format!("{page}?changed=1")
    );
    // Every change, and the first look, wait in order for the portal.
    let statuses: Vec<String> = node
        .store
        .pending_status_messages(10)
        .await
        .unwrap()
        .iter()
        .map(|m| m.status.as_str().to_owned())
        .collect();
    assert_eq!(
        statuses,
        [
            "received",
            "in_progress",
            "needs_information",
            "decided",
            "in_progress"
        ]
    );
}

#[tokio::test]
async fn r1_a_decided_case_is_deleted_after_its_services_period_and_logged_without_content() {
    let node = Node::start().await;
    let case = node.deliver(MITTE, "HA-2026-AAAA-0001", 1).await;
    let open = node.deliver(MITTE, "HA-2026-AAAA-0002", 2).await;
    let path = format!("/back-office/cases/{}/status", case.id);
    let page = format!("/back-office/cases/{}", case.id);
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    let csrf = erika.get(&page).await.csrf();
    assert!(!erika.get(&page).await.body().contains("Aufbewahrungsfrist"));
    for (from, to) in [("received", "in_progress"), ("in_progress", "decided")] {
        let fields = [("csrf", csrf.as_str()), ("from", from), ("status", to)];
        assert_eq!(
            erika.post(&path, &fields).await.location(),
            format!("{page}?changed=1")
        );
    }
    // The test service keeps decided cases 30 days (`[retention] case_days`), not the node's
    // five years; the case page says until when.
    let due = node.clock.now() + chrono::Duration::days(30);
    assert_eq!(
        node.store.case_retain_until(case.id).await.unwrap(),
        Some(due)
    );
    let shown = erika.get(&page).await.body();
    assert!(
        shown.contains(&format!(
            "Aufbewahrungsfrist bis {}",
            due.format("%d.%m.%Y")
        )),
        "{shown}"
    );

    node.clock
        .advance(chrono::Duration::days(30) - chrono::Duration::seconds(1));
    assert_eq!(
        rathaus_authority::purge_expired_cases(&node.state)
            .await
            .unwrap(),
        0
    );
    node.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(
        rathaus_authority::purge_expired_cases(&node.state)
            .await
            .unwrap(),
        1
    );
    assert!(
        node.store
            .authority_case(MITTE, case.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        node.store
            .authority_case(MITTE, open.id)
            .await
            .unwrap()
            .is_some(),
        "an undecided case stays"
    );
    // Her session ended long ago; signed in again, the case is gone.
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    assert_eq!(erika.get(&page).await.status, StatusCode::NOT_FOUND);
    let audit = node.audit().await;
    let deleted: Vec<_> = audit
        .iter()
        .filter(|e| e.event == AuditEvent::RetentionDeleted)
        .collect();
    assert_eq!(deleted.len(), 1);
    assert!(
        deleted[0].detail.contains("HA-2026-AAAA-0001"),
        "{}",
        deleted[0].detail
    );
    assert!(audit.iter().all(|e| !e.detail.contains(CANARY)));
}

#[tokio::test]
async fn the_case_shows_every_answer_with_its_label_groups_and_attachments() {
    let node = Node::start().await;
    let case = node.deliver(MITTE, "HA-2026-AAAA-0001", 1).await;
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    let page = erika.get(&format!("/back-office/cases/{}", case.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    let body = page.body();
    for expected in [
        "Testhund anmelden",
        "HA-2026-AAAA-0001",
        "Anna Müller",
        "Kirchenallee 1, 20099 Hamburg",
        // the group as a table: its fields as columns, one row per dog
        "<th class=\"kern-table__header\" scope=\"col\">Name des Hundes</th>",
        "Hund 1",
        CANARY,
        "Pitbull-Terrier",
        "G-77",
        "20.05.2026",
        "Versicherungsnachweis",
        "retired_field",
        "kept from an older form",
        "Zum ersten Mal geöffnet",
    ] {
        assert!(body.contains(expected), "{expected} missing");
    }
    let link = format!("/back-office/cases/{}/attachments/{}", case.id, case.file);
    assert!(body.contains(&link));
    assert!(body.contains(&format!("/back-office/cases/{}/export.json", case.id)));
    // In English, with the English labels.
    let english = erika
        .get(&format!("/back-office/cases/{}?lang=en", case.id))
        .await
        .body();
    for expected in [
        "Proof of insurance",
        "Pit bull terrier",
        "Keeping the dog since",
    ] {
        assert!(english.contains(expected), "{expected} missing");
    }

    // The first look told the portal "received" (once).
    let messages = node.store.pending_status_messages(10).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].status.as_str(), "received");
    assert_eq!(node.status_of(MITTE, case.id).await, "received");
}

#[tokio::test]
async fn u1_attachments_download_as_attachments_with_nosniff() {
    let node = Node::start().await;
    let case = node.deliver(MITTE, "HA-2026-AAAA-0001", 1).await;
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    let file = erika
        .get(&format!(
            "/back-office/cases/{}/attachments/{}",
            case.id, case.file
        ))
        .await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.bytes, PDF);
    assert_eq!(file.headers[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(file.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(file.headers[header::CACHE_CONTROL], "no-store");
    let disposition = file.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"Versicherung__2026_.pdf\""),
        "{disposition}"
    );
    // A file id the case does not have.
    let missing = erika
        .get(&format!(
            "/back-office/cases/{}/attachments/{}",
            case.id,
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let entry = node
        .audit()
        .await
        .into_iter()
        .find(|e| e.event == AuditEvent::AttachmentDownloaded)
        .unwrap();
    assert!(entry.detail.contains(&case.file.to_string()));
}

#[tokio::test]
async fn l1_the_export_is_the_submission_document_and_every_access_is_logged_without_content() {
    let node = Node::start().await;
    let case = node.deliver(MITTE, "HA-2026-AAAA-0001", 1).await;
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;
    erika.get(&format!("/back-office/cases/{}", case.id)).await;
    let export = erika
        .get(&format!("/back-office/cases/{}/export.json", case.id))
        .await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(
        export.headers[header::CONTENT_TYPE],
        "application/json; charset=utf-8"
    );
    assert_eq!(
        export.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"HA-2026-AAAA-0001.json\"; filename*=UTF-8''HA%2D2026%2DAAAA%2D0001%2Ejson"
    );
    let exported: serde_json::Value = serde_json::from_slice(&export.bytes).unwrap();
    assert_eq!(exported, case.document);

    let audit = node.audit().await;
    let events: Vec<AuditEvent> = audit.iter().rev().map(|e| e.event).collect();
    assert_eq!(
        events,
        [
            AuditEvent::SignIn,
            AuditEvent::CaseViewed,
            AuditEvent::CaseExported
        ]
    );
    for entry in &audit[..2] {
        assert!(entry.detail.contains(&case.id.to_string()), "{entry:?}");
        assert!(entry.detail.contains("HA-2026-AAAA-0001"));
    }
    assert!(audit.iter().all(|e| !e.detail.contains(CANARY)));
}

#[tokio::test]
async fn l1_a_residence_registration_also_exports_as_xml_in_the_spirit_of_xmeld() {
    let node = Node::start().await;
    let document = serde_json::json!({
        "format": "rathaus-submission/1",
        "service": { "key": "99115005104000", "name": "Wohnsitz anmelden" },
        "reference": "HA-2026-MELD-0001",
        "submitted_at": "2026-06-01T08:00:00Z",
        "language": "de",
        "answers": {
            "new_address": { "street": "Kirchenallee", "house_number": "1",
                             "postcode": "20099", "city": "Hamburg" },
            "move_in_date": "2026-05-28",
            "residence_kind": "sole",
            "landlord_confirmation": "reference",
            "landlord_reference": "WGB-4711",
            "persons": [ { "family_name": CANARY, "given_names": "Anna", "sex": "female",
                           "birth_date": "1990-01-01", "relation": "first_person",
                           "marital_status": "single" } ],
        },
        "attachments": [],
    });
    let id = node
        .store_sealed(
            MITTE,
            "HA-2026-MELD-0001",
            1,
            &document,
            serde_json::json!({}),
        )
        .await;
    let dog = node.deliver(MITTE, "HA-2026-AAAA-0001", 2).await;
    let mut erika = Browser::signed_in(&node, "erika@mitte.example.org").await;

    let page = erika.get(&format!("/back-office/cases/{id}")).await;
    assert!(
        page.body()
            .contains(&format!("/back-office/cases/{id}/export.xml"))
    );
    let export = erika
        .get(&format!("/back-office/cases/{id}/export.xml"))
        .await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(
        export.headers[header::CONTENT_TYPE],
        "application/xml; charset=utf-8"
    );
    assert!(
        export.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("HA-2026-MELD-0001.xml")
    );
    let xml = String::from_utf8(export.bytes.to_vec()).unwrap();
    assert!(
        xml.contains("<aktenzeichen>HA-2026-MELD-0001</aktenzeichen>"),
        "{xml}"
    );
    assert!(xml.contains(&format!("<familienname>{CANARY}</familienname>")));
    assert!(xml.contains("<zuordnungsmerkmal>WGB-4711</zuordnungsmerkmal>"));
    assert!(xml.contains("<behoerdenkennung>kundenzentrum-hamburg-mitte</behoerdenkennung>"));
    let exported = node
        .audit()
        .await
        .into_iter()
        .find(|e| e.event == AuditEvent::CaseExported)
        .unwrap();
    assert!(exported.detail.contains("format=xml"));
    assert!(!exported.detail.contains(CANARY));

    // Another service has no XML layout: neither the link nor the address exists.
    let page = erika.get(&format!("/back-office/cases/{}", dog.id)).await;
    assert!(!page.body().contains("export.xml"));
    let refused = erika
        .get(&format!("/back-office/cases/{}/export.xml", dog.id))
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
}
