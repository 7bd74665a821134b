#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Delivery from the portal to a real authority node over HTTP (issue 5): the content reaches
//! the node encrypted to its key and leaves no plaintext at the portal (C1); signed messages
//! are checked and replays refused (C3); a node that is down gets the application later (F3).

mod support;

use std::sync::Arc;

use http::StatusCode;
use rathaus_authority::{DeliveryKeys, NodeState};
use rathaus_domain::AuditEvent;
use rathaus_portal::delivery::{DeliverySettings, http_client, run_round};
use rathaus_seal::protocol::{DELIVERY_TYP, DeliveryPayload};
use rathaus_store::testing::TestDatabase;
use rathaus_store::{ApplicationStatus, Backend, OutboxListing, Store};
use support::{App, OPERATOR, Options, PASSWORD, responsible_node, start_time, test_keys};

const CANARY: &str = "Kanarienvogel-7f3a9c";

/// An authority node serving on a random port, with its own database.
struct Node {
    url: String,
    store: Arc<dyn Store>,
    node: rathaus_domain::NodeId,
    db: TestDatabase,
    server: tokio::task::JoinHandle<()>,
}

async fn start_node(app: &App, node: &str) -> Node {
    let db = match app.db.backend() {
        Backend::Sqlite => TestDatabase::sqlite().unwrap(),
        Backend::Postgres => TestDatabase::postgres_from_env().await.unwrap().unwrap(),
    };
    let store = db.open().await.unwrap();
    let node_id: rathaus_domain::NodeId = node.parse().unwrap();
    let assets = rathaus_web::assets::Assets::discover(std::path::Path::new("/nonexistent"));
    let (node_keys, portal_keys) = test_keys();
    let state = NodeState::new(
        &node_id,
        Arc::clone(&app.state.tenant),
        Arc::clone(&store),
        &assets,
        None,
        start_time(),
    )
    .await
    .unwrap()
    .with_delivery(DeliveryKeys {
        own: Arc::new(node_keys.clone()),
        portal: Arc::new(portal_keys.public()),
        clock: Arc::new(app.clock.clone()),
    });
    let router = rathaus_authority::router(state, &assets, &Default::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Node {
        url,
        store,
        node: node_id,
        db,
        server,
    }
}

/// Registers `node` at an address where nothing listens.
async fn register_closed_endpoint(app: &App, node: &rathaus_domain::NodeId) {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    app.store
        .register_node_endpoint(node, &dead_url, start_time())
        .await
        .unwrap();
}

/// Anna fills in and submits the fixture form with `canary` as the dog's name.
async fn submit_application(app: &App, canary: &str) -> String {
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    anna.apply_for_test_dog(canary).await
}

#[tokio::test]
async fn c1_delivered_content_is_only_at_the_authority_and_encrypted_to_it() {
    c1_on(TestDatabase::sqlite().unwrap()).await;
}

#[tokio::test]
async fn c1_on_postgresql_delivered_content_is_only_at_the_authority_and_encrypted_to_it() {
    let Some(db) = TestDatabase::postgres_from_env().await.unwrap() else {
        eprintln!("DATABASE_URL names no PostgreSQL server; skipped");
        return;
    };
    c1_on(db).await;
}

async fn c1_on(db: TestDatabase) {
    let app = App::on(db, Options::default()).await;
    let (node_id, authority) = responsible_node(&app);
    let node = start_node(&app, &node_id).await;
    app.store
        .register_node_endpoint(&node.node, &node.url, start_time())
        .await
        .unwrap();
    let reference = submit_application(&app, CANARY).await;

    let round = run_round(
        &app.state,
        &http_client().unwrap(),
        &DeliverySettings::default(),
    )
    .await
    .unwrap();
    assert_eq!(round.delivered, 1, "{round:?}");
    let stats = app.store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.delivered), (0, 1));

    // The citizen sees it delivered.
    let account = app.account("anna@example.org").await;
    let application = app
        .store
        .application(&account.id, &reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        application.status,
        rathaus_store::ApplicationStatus::Delivered
    );

    // At the node: one case, whose envelope opens with the node's key and holds the canary.
    let cases = node.store.cases(&authority).await.unwrap();
    assert_eq!(cases.len(), 1);
    let jwe = String::from_utf8(cases[0].envelope.clone()).unwrap();
    assert!(!jwe.contains(CANARY), "stored encrypted at rest");
    let plain = rathaus_seal::open(&jwe, &test_keys().0, start_time()).unwrap();
    assert!(String::from_utf8(plain).unwrap().contains(CANARY));

    // At the portal: the canary is nowhere in the database (on SQLite in no file: db, WAL,
    // shm; on PostgreSQL in no column), now that the draft, the outbox's ciphertext and the
    // receipt are sealed or gone. The check finds it where it is, as the node's database shows.
    app.store.close().await;
    assert!(
        !app.db.contains(CANARY).await.unwrap(),
        "plaintext canary found at the portal ({:?})",
        app.db.backend()
    );
    assert!(
        !node.db.contains(CANARY).await.unwrap(),
        "sealed at the node too"
    );
    assert!(
        node.db.contains(&reference).await.unwrap(),
        "the check finds what is there"
    );
    node.server.abort();
}

#[tokio::test]
async fn f3_a_node_that_is_down_gets_the_application_when_it_is_back() {
    f3_on(TestDatabase::sqlite().unwrap()).await;
}

#[tokio::test]
async fn f3_on_postgresql_a_node_that_is_down_gets_the_application_when_it_is_back() {
    if let Some(db) = TestDatabase::postgres_from_env().await.unwrap() {
        f3_on(db).await;
    }
}

async fn f3_on(db: TestDatabase) {
    let app = App::on(db, Options::default()).await;
    let (node_id, authority) = responsible_node(&app);
    let id: rathaus_domain::NodeId = node_id.parse().unwrap();
    register_closed_endpoint(&app, &id).await;
    submit_application(&app, CANARY).await;
    let client = http_client().unwrap();
    let settings = DeliverySettings::default();
    let round = run_round(&app.state, &client, &settings).await.unwrap();
    assert_eq!((round.delivered, round.failed), (0, 1));
    assert_eq!(app.store.outbox_stats().await.unwrap().pending, 1);
    // Not due again before the backoff has passed.
    let round = run_round(&app.state, &client, &settings).await.unwrap();
    assert_eq!((round.delivered, round.failed), (0, 0));

    let node = start_node(&app, &node_id).await;
    app.store
        .register_node_endpoint(&node.node, &node.url, start_time())
        .await
        .unwrap();
    app.advance(chrono::Duration::minutes(5));
    let round = run_round(&app.state, &client, &settings).await.unwrap();
    assert_eq!(round.delivered, 1);
    assert_eq!(node.store.cases(&authority).await.unwrap().len(), 1);
    node.server.abort();
}

#[tokio::test]
async fn c3_forged_tampered_and_replayed_deliveries_are_refused() {
    let app = App::new().await;
    let (node_id, authority) = responsible_node(&app);
    let node = start_node(&app, &node_id).await;
    let (node_keys, portal_keys) = test_keys();
    let envelope = rathaus_seal::seal(b"{}", "application/json", &node_keys.public(), start_time())
        .unwrap()
        .jwe;
    let payload = serde_json::to_value(DeliveryPayload {
        delivery_id: uuid::Uuid::new_v4().to_string(),
        reference: "HA-2026-TEST-0001".into(),
        service_key: "local-test-dog".into(),
        authority: authority.clone(),
        node: node_id.clone(),
        envelope,
        in_reply_to: None,
    })
    .unwrap();
    let client = http_client().unwrap();
    let url = format!("{}/api/v1/deliveries", node.url);
    let send = |body: String| {
        let client = client.clone();
        let url = url.clone();
        async move { client.post(&url).body(body).send().await.unwrap().status() }
    };

    // Signed with the node's own key instead of the portal's: refused.
    let forged = rathaus_seal::sign(&payload, DELIVERY_TYP, node_keys, start_time()).unwrap();
    assert_eq!(send(forged).await, StatusCode::UNAUTHORIZED);
    // One byte changed in the payload: refused.
    let good = rathaus_seal::sign(&payload, DELIVERY_TYP, portal_keys, start_time()).unwrap();
    let mut tampered = good.clone().into_bytes();
    let middle = good.find('.').unwrap() + 10;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        send(String::from_utf8(tampered).unwrap()).await,
        StatusCode::UNAUTHORIZED
    );
    // Too old: refused.
    let old = rathaus_seal::sign(
        &payload,
        DELIVERY_TYP,
        portal_keys,
        start_time() - chrono::Duration::minutes(10),
    )
    .unwrap();
    assert_eq!(send(old).await, StatusCode::UNAUTHORIZED);
    assert!(
        node.store.cases(&authority).await.unwrap().is_empty(),
        "nothing stored"
    );
    // The genuine one is stored; the very same message again is a replay.
    assert_eq!(send(good.clone()).await, StatusCode::OK);
    assert_eq!(send(good).await, StatusCode::CONFLICT);
    // The same delivery signed anew (a retry) is acknowledged, and stored once.
    let retry = rathaus_seal::sign(&payload, DELIVERY_TYP, portal_keys, start_time()).unwrap();
    assert_eq!(send(retry).await, StatusCode::OK);
    assert_eq!(node.store.cases(&authority).await.unwrap().len(), 1);
    node.server.abort();
}

/// The operator's status page: only a listed account sees it; it shows the outbox per node,
/// the failing entries with their error and the dead letters, and a retry sends a dead letter
/// again with a new delivery window, audited, and only with the session's token.
#[tokio::test]
async fn r2_the_operator_sees_the_outbox_and_sends_a_dead_letter_again() {
    r2_on(TestDatabase::sqlite().unwrap()).await;
}

#[tokio::test]
async fn r2_on_postgresql_the_operator_sees_the_outbox_and_sends_a_dead_letter_again() {
    if let Some(db) = TestDatabase::postgres_from_env().await.unwrap() {
        r2_on(db).await;
    }
}

async fn r2_on(db: TestDatabase) {
    let app = App::on(db, Options::default()).await;
    let (node_id, authority) = responsible_node(&app);
    let id: rathaus_domain::NodeId = node_id.parse().unwrap();
    let mut citizen = app.browser();
    citizen.create_account("anna@example.org").await;
    let mut operator = app.browser();
    operator.create_account(OPERATOR).await;

    // Not an operator: the page does not exist for her, and neither does the retry.
    assert_eq!(citizen.get("/operator").await.status, StatusCode::NOT_FOUND);
    assert!(!citizen.get("/account").await.body.contains("/operator"));
    let page = operator.get("/operator").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Der Postausgang ist leer."));
    assert!(
        operator
            .get("/account")
            .await
            .body
            .contains("href=\"/operator\"")
    );

    // An application whose node does not answer: failing, with its error.
    register_closed_endpoint(&app, &id).await;
    let reference = citizen.apply_for_test_dog(CANARY).await;
    let client = http_client().unwrap();
    let settings = DeliverySettings::default();
    run_round(&app.state, &client, &settings).await.unwrap();
    let page = operator.get("/operator").await.body;
    assert!(page.contains("id=\"outbox-failing\""), "{page}");
    assert!(page.contains(&reference));
    assert!(page.contains("sending failed"), "{page}");
    assert!(!page.contains(CANARY));

    // Fourteen days on the sweep gives up: a dead letter with a retry button.
    app.advance(chrono::Duration::days(14) + chrono::Duration::minutes(1));
    rathaus_portal::delivery::sweep(&app.state, &settings)
        .await
        .unwrap();
    operator.sign_in(OPERATOR, PASSWORD).await;
    citizen.sign_in("anna@example.org", PASSWORD).await;
    let page = operator.get("/operator").await;
    assert!(page.body.contains("id=\"outbox-dead\""), "{}", page.body);
    let entry = app
        .store
        .outbox_entries(OutboxListing::Dead, 10)
        .await
        .unwrap()
        .remove(0);
    let retry = format!("/operator/dead-letters/{}/retry", entry.id);
    assert!(page.body.contains(&retry));
    let account = app.account("anna@example.org").await;
    let status = || async {
        app.store
            .application(&account.id, &reference)
            .await
            .unwrap()
            .unwrap()
            .status
    };
    assert_eq!(status().await, ApplicationStatus::Undeliverable);

    // Refused: without the token, by a citizen, for an unknown id. Nothing changes.
    let token = page.csrf();
    assert_eq!(
        operator.post(&retry, &[("csrf", "wrong")]).await.status,
        StatusCode::FORBIDDEN
    );
    let citizen_token = citizen.get("/account").await.csrf();
    assert_eq!(
        citizen
            .post(&retry, &[("csrf", &citizen_token)])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let unknown = format!("/operator/dead-letters/{}/retry", uuid::Uuid::new_v4());
    assert_eq!(
        operator.post(&unknown, &[("csrf", &token)]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(status().await, ApplicationStatus::Undeliverable);

    // The operator sends it again: queued, audited, and delivered once the node is back.
    let answer = operator.post(&retry, &[("csrf", &token)]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/operator?retried=1");
    assert!(
        operator
            .get("/operator?retried=1")
            .await
            .body
            .contains("erneut eingeplant")
    );
    assert_eq!(status().await, ApplicationStatus::Queued);
    assert_eq!(
        operator.post(&retry, &[("csrf", &token)]).await.status,
        StatusCode::NOT_FOUND,
        "a dead letter is sent again once"
    );
    let audit = app.store.audit_entries(5).await.unwrap();
    let retried = audit
        .iter()
        .find(|e| e.event == AuditEvent::DeliveryRetried)
        .unwrap();
    assert!(retried.detail.contains(&reference) && retried.detail.contains(&node_id));
    let operator_account = app.account(OPERATOR).await;
    assert_eq!(retried.account_id, Some(operator_account.id));

    let node = start_node(&app, &node_id).await;
    app.store
        .register_node_endpoint(&node.node, &node.url, start_time())
        .await
        .unwrap();
    let round = run_round(&app.state, &client, &settings).await.unwrap();
    assert_eq!(round.delivered, 1);
    assert_eq!(node.store.cases(&authority).await.unwrap().len(), 1);
    assert_eq!(status().await, ApplicationStatus::Delivered);
    node.server.abort();
}
