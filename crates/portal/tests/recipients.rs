#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Several recipients per service and the R2 deadlines, against real authority nodes over HTTP.
//!
//! The fixture `local-test-dog-register` goes to the customer centre (node `kundenzentren`)
//! and, as a further recipient, to the central dog register (node `landesbehoerden`): each
//! copy has its own envelope, outbox entry, retries and status. An application not
//! acknowledged after 3 days is an operator alert; after 14 days a dead letter, and the citizen
//! is told to apply another way, with the contact of the authority that did not get it.

mod support;

use std::sync::Arc;

use rathaus_authority::{DeliveryKeys, NodeState};
use rathaus_portal::delivery::{DeliverySettings, http_client, run_round, sweep};
use rathaus_store::testing::TestDatabase;
use rathaus_store::{ApplicationStatus, DeliveryState, Store};
use support::{App, PASSWORD, start_time, test_keys};

const SERVICE: &str = "local-test-dog-register";

/// An authority node serving on a random port, with its own database.
struct Node {
    url: String,
    store: Arc<dyn Store>,
    _db: TestDatabase,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn start_node(app: &App, node: &str) -> Node {
    let db = TestDatabase::sqlite().unwrap();
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
        _db: db,
        server,
    }
}

/// Points `node` at an address where nothing listens.
async fn register_dead_endpoint(app: &App, node: &str) {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    app.store
        .register_node_endpoint(&node.parse().unwrap(), &url, start_time())
        .await
        .unwrap();
}

async fn register(app: &App, node: &str, running: &Node) {
    app.store
        .register_node_endpoint(&node.parse().unwrap(), &running.url, start_time())
        .await
        .unwrap();
}

async fn account(app: &App, email: &str) -> rathaus_domain::AccountId {
    app.account(email).await.id
}

/// The application page's list of receiving offices, as text.
fn recipients_section(body: &str) -> String {
    let start = body.find("id=\"recipients\"").expect("the recipients list");
    let end = body[start..].find("</ul>").unwrap() + start;
    body[start..end].to_owned()
}

#[tokio::test]
async fn several_recipients_get_their_own_envelope_entry_and_status() {
    let app = App::new().await;
    let centres = start_node(&app, "kundenzentren").await;
    register(&app, "kundenzentren", &centres).await;
    // The dog register's node is down at first.
    register_dead_endpoint(&app, "landesbehoerden").await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;

    // The review names both offices, the further one with why it gets a copy.
    let reference = anna.apply_for_dog_service(SERVICE, "Bello").await;
    let id = account(&app, "anna@example.org").await;
    let recipients = app.store.recipients(&id, &reference).await.unwrap();
    assert_eq!(
        recipients
            .iter()
            .map(|r| (r.authority.as_str(), r.state))
            .collect::<Vec<_>>(),
        [
            ("hunderegister", DeliveryState::Pending),
            ("kundenzentrum-hamburg-mitte", DeliveryState::Pending),
        ]
    );

    let client = http_client().unwrap();
    let settings = DeliverySettings::default();
    let round = run_round(&app.state, &client, &settings).await.unwrap();
    assert_eq!((round.delivered, round.failed), (1, 1), "{round:?}");

    // One copy delivered, the other waiting: the page shows each, the application is still
    // on its way.
    let page = anna.get(&format!("/applications/{reference}")).await;
    let section = recipients_section(&page.body);
    assert!(
        section.contains("<strong>Kundenzentrum Hamburg-Mitte</strong>: Zugestellt"),
        "{section}"
    );
    assert!(
        section.contains("<strong>Zentrales Hunderegister</strong>: Wird zugestellt"),
        "{section}"
    );
    let status = app
        .store
        .application(&id, &reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.status, ApplicationStatus::Queued);

    // The register comes back; only its copy is sent again.
    let register_node = start_node(&app, "landesbehoerden").await;
    register(&app, "landesbehoerden", &register_node).await;
    app.advance(chrono::Duration::minutes(5));
    let round = run_round(&app.state, &client, &settings).await.unwrap();
    assert_eq!((round.delivered, round.failed), (1, 0), "{round:?}");
    let status = app
        .store
        .application(&id, &reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.status, ApplicationStatus::Delivered);

    // Each node holds exactly its own case, with its own delivery id and its own ciphertext.
    let at_centre = centres
        .store
        .cases("kundenzentrum-hamburg-mitte")
        .await
        .unwrap();
    let at_register = register_node.store.cases("hunderegister").await.unwrap();
    assert_eq!((at_centre.len(), at_register.len()), (1, 1));
    assert_eq!(at_centre[0].reference, reference);
    assert_eq!(at_register[0].reference, reference);
    assert_ne!(at_centre[0].delivery_id, at_register[0].delivery_id);
    assert_ne!(at_centre[0].envelope, at_register[0].envelope);
    assert!(
        centres
            .store
            .cases("hunderegister")
            .await
            .unwrap()
            .is_empty()
    );
    for case in [&at_centre[0], &at_register[0]] {
        let jwe = String::from_utf8(case.envelope.clone()).unwrap();
        let plain =
            rathaus_seal::open(&jwe, &test_keys().0, rathaus_web::Clock::now(&app.clock)).unwrap();
        assert!(String::from_utf8(plain).unwrap().contains("Bello"));
    }

    // Another account sees neither the application nor its recipients (Z1).
    let mut eve = app.browser();
    eve.create_account("eve@example.org").await;
    let eve_id = account(&app, "eve@example.org").await;
    assert!(
        app.store
            .recipients(&eve_id, &reference)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        eve.get(&format!("/applications/{reference}")).await.status,
        http::StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn r2_an_application_waiting_more_than_three_days_is_an_operator_alert() {
    let app = App::new().await;
    register_dead_endpoint(&app, "kundenzentren").await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let reference = anna.apply_for_test_dog("Bello").await;
    let settings = DeliverySettings::default();

    app.advance(chrono::Duration::days(3) - chrono::Duration::seconds(1));
    let early = sweep(&app.state, &settings).await.unwrap();
    assert!(early.overdue.is_empty(), "{early:?}");

    app.advance(chrono::Duration::seconds(2));
    let late = sweep(&app.state, &settings).await.unwrap();
    assert_eq!(late.expired, 0);
    assert_eq!(late.overdue.len(), 1, "{late:?}");
    assert_eq!(late.overdue[0].reference, reference);
    assert_eq!(late.overdue[0].authority, "kundenzentrum-hamburg-mitte");
    assert_eq!(late.overdue[0].node, "kundenzentren");
    // The alert changes nothing for the citizen: it is still on its way.
    let id = account(&app, "anna@example.org").await;
    let application = app
        .store
        .application(&id, &reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(application.status, ApplicationStatus::Queued);

    // Delivered late, it is no longer overdue.
    let node = start_node(&app, "kundenzentren").await;
    register(&app, "kundenzentren", &node).await;
    let round = run_round(&app.state, &http_client().unwrap(), &settings)
        .await
        .unwrap();
    assert_eq!(round.delivered, 1);
    assert!(
        sweep(&app.state, &settings)
            .await
            .unwrap()
            .overdue
            .is_empty()
    );
}

#[tokio::test]
async fn r2_after_fourteen_days_a_dead_letter_and_the_citizen_is_told_with_the_contact() {
    let app = App::new().await;
    register_dead_endpoint(&app, "kundenzentren").await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let reference = anna.apply_for_test_dog("Bello").await;
    let settings = DeliverySettings::default();
    let id = account(&app, "anna@example.org").await;

    app.advance(chrono::Duration::days(14) - chrono::Duration::seconds(1));
    assert_eq!(sweep(&app.state, &settings).await.unwrap().expired, 0);
    let application = app
        .store
        .application(&id, &reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(application.status, ApplicationStatus::Queued);

    app.advance(chrono::Duration::seconds(2));
    let swept = sweep(&app.state, &settings).await.unwrap();
    assert_eq!(swept.expired, 1);
    assert!(
        swept.overdue.is_empty(),
        "a dead letter is no longer overdue"
    );
    let application = app
        .store
        .application(&id, &reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(application.status, ApplicationStatus::Undeliverable);
    let stats = app.store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.dead), (0, 1));
    // The worker no longer tries it, even when the node is back.
    let node = start_node(&app, "kundenzentren").await;
    register(&app, "kundenzentren", &node).await;
    let round = run_round(&app.state, &http_client().unwrap(), &settings)
        .await
        .unwrap();
    assert_eq!((round.delivered, round.failed), (0, 0));
    assert!(
        node.store
            .cases("kundenzentrum-hamburg-mitte")
            .await
            .unwrap()
            .is_empty()
    );

    // Meine Anträge says to apply another way (two weeks later, after signing in again) …
    anna.sign_in("anna@example.org", PASSWORD).await;
    let list = anna.get("/applications").await;
    assert!(
        list.body
            .contains("Nicht zustellbar – bitte auf anderem Weg stellen"),
        "{}",
        list.body
    );
    // … and the application page names the office and how to reach it.
    let page = anna.get(&format!("/applications/{reference}")).await;
    let section = recipients_section(&page.body);
    for needle in [
        "<strong>Kundenzentrum Hamburg-Mitte</strong>: Nicht zustellbar",
        "Diese Stelle hat Ihren Antrag nicht erhalten",
        "Caffamacherreihe 1-3, 20355 Hamburg",
        "040 115",
    ] {
        assert!(section.contains(needle), "{needle}: {section}");
    }
    assert!(page.body.contains("auf anderem Weg"), "{}", page.body);
    let english = anna
        .get(&format!("/applications/{reference}?lang=en"))
        .await;
    assert!(
        english
            .body
            .contains("This office has not received your application"),
        "{}",
        english.body
    );
}

#[tokio::test]
async fn r2_one_recipient_delivered_and_the_other_a_dead_letter_each_shown_as_it_is() {
    let app = App::new().await;
    let centres = start_node(&app, "kundenzentren").await;
    register(&app, "kundenzentren", &centres).await;
    register_dead_endpoint(&app, "landesbehoerden").await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let reference = anna.apply_for_dog_service(SERVICE, "Bello").await;
    let settings = DeliverySettings::default();
    let round = run_round(&app.state, &http_client().unwrap(), &settings)
        .await
        .unwrap();
    assert_eq!((round.delivered, round.failed), (1, 1));

    app.advance(chrono::Duration::days(15));
    assert_eq!(sweep(&app.state, &settings).await.unwrap().expired, 1);
    anna.sign_in("anna@example.org", PASSWORD).await;
    let page = anna.get(&format!("/applications/{reference}")).await;
    let section = recipients_section(&page.body);
    assert!(section.contains("<strong>Kundenzentrum Hamburg-Mitte</strong>: Zugestellt"));
    assert!(
        section.contains("<strong>Zentrales Hunderegister</strong>: Nicht zustellbar"),
        "{section}"
    );
    // Only the office that did not get it comes with its contact.
    assert_eq!(
        section
            .matches("Diese Stelle hat Ihren Antrag nicht erhalten")
            .count(),
        1,
        "{section}"
    );
}
