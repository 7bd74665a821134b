#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The status back channel end to end over real HTTP (issue 5): the portal and an authority
//! node with its back office both listen on ports; an application is delivered, a clerk signs
//! in and changes its status, the node signs the change and posts it to the portal, and the
//! citizen sees it. Forged, tampered, old, replayed and misdirected status messages are refused
//! and change nothing (C3); a portal that cannot be reached gets the change later.

mod support;

use http::StatusCode;
use rathaus_domain::{ClerkId, Email};
use rathaus_portal::delivery::{DeliverySettings, http_client, run_round};
use rathaus_seal::protocol::{STATUS_TYP, StatusPayload};
use rathaus_store::ApplicationStatus;
use support::node::start_node;
use support::{App, PASSWORD, responsible_node, start_time, test_keys};

const CLERK: &str = "erika@mitte.example.org";

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

/// Anna fills in and submits the fixture form; returns her browser and the reference.
async fn submit(app: &App) -> (support::Browser<'_>, String) {
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let reference = anna.apply_for_test_dog("Bello").await;
    (anna, reference)
}

/// A clerk in a browser over HTTP: cookies kept by hand.
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

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(http::header::COOKIE, self.cookies.join("; "))
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
            .header(http::header::COOKIE, self.cookies.join("; "))
            .form(fields)
            .send()
            .await
            .unwrap();
        self.keep(&response);
        let location = response
            .headers()
            .get(http::header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (response.status(), location)
    }
}

fn csrf(body: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker).unwrap() + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

async fn application_status(app: &App, reference: &str) -> ApplicationStatus {
    let account = app
        .store
        .account_by_email(&Email::parse("anna@example.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    app.store
        .application(&account.id, reference)
        .await
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test]
async fn a_status_change_at_the_node_reaches_the_citizens_application() {
    let app = App::new().await;
    let portal = serve_portal(&app).await;
    let (node_id, authority) = responsible_node(&app);
    let node = start_node(&app, &node_id, &authority, &portal, CLERK).await;
    let (mut anna, reference) = submit(&app).await;
    let round = run_round(
        &app.state,
        &http_client().unwrap(),
        &DeliverySettings::default(),
    )
    .await
    .unwrap();
    assert_eq!(round.delivered, 1);
    assert_eq!(
        application_status(&app, &reference).await,
        ApplicationStatus::Delivered
    );
    let case_id = node.store.cases(&authority).await.unwrap()[0].delivery_id;

    // The clerk signs in at the node, opens the case and starts working on it.
    let mut erika = Clerk::new(&node.url);
    let (_, form) = erika.get("/back-office/sign-in").await;
    let token = csrf(&form);
    let (status, location) = erika
        .post(
            "/back-office/sign-in",
            &[("csrf", &token), ("email", CLERK), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/back-office")
    );
    let (status, inbox) = erika.get("/back-office").await;
    assert_eq!(status, StatusCode::OK);
    assert!(inbox.contains(&reference));
    let (status, page) = erika.get(&format!("/back-office/cases/{case_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Bello"));
    let (status, _) = erika
        .post(
            &format!("/back-office/cases/{case_id}/status"),
            &[
                ("csrf", &csrf(&page)),
                ("from", "received"),
                ("status", "in_progress"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // The node sends both changes ("received" at the first look, then "in progress").
    let client = rathaus_authority::status::http_client().unwrap();
    let sent = rathaus_authority::status::send_pending(&node.state, &client)
        .await
        .unwrap();
    assert_eq!((sent.sent, sent.dropped, sent.waiting), (2, 0, 0));
    assert_eq!(
        application_status(&app, &reference).await,
        ApplicationStatus::InProgress
    );
    let shown = anna.get(&format!("/applications/{reference}")).await;
    assert!(shown.body.contains("In Bearbeitung"), "{}", shown.body);

    // Decided: the citizen sees it too.
    let (_, page) = erika.get(&format!("/back-office/cases/{case_id}")).await;
    erika
        .post(
            &format!("/back-office/cases/{case_id}/status"),
            &[
                ("csrf", &csrf(&page)),
                ("from", "in_progress"),
                ("status", "decided"),
            ],
        )
        .await;
    rathaus_authority::status::send_pending(&node.state, &client)
        .await
        .unwrap();
    assert_eq!(
        application_status(&app, &reference).await,
        ApplicationStatus::Decided
    );
    assert!(
        node.store
            .pending_status_messages(10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn f3_a_portal_that_cannot_be_reached_gets_the_change_later_in_order() {
    let app = App::new().await;
    let portal = serve_portal(&app).await;
    let (node_id, authority) = responsible_node(&app);
    let node = start_node(&app, &node_id, &authority, &portal, CLERK).await;
    let (_anna, reference) = submit(&app).await;
    run_round(
        &app.state,
        &http_client().unwrap(),
        &DeliverySettings::default(),
    )
    .await
    .unwrap();
    let case_id = node.store.cases(&authority).await.unwrap()[0].delivery_id;
    for (from, to) in [
        ("received", "in_progress"),
        ("in_progress", "needs_information"),
    ] {
        assert!(
            node.store
                .change_case_status(&rathaus_store::CaseStatusChange {
                    case_id,
                    authority: authority.clone(),
                    clerk: ClerkId::random(),
                    from: from.parse_status(),
                    to: to.parse_status(),
                    at: start_time(),
                    retain_until: None,
                })
                .await
                .unwrap()
        );
    }
    // Nothing listens at the portal's address: both changes wait at the node.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut unreachable = node.state.clone();
    unreachable.portal_url = Some(format!("http://{}", closed.local_addr().unwrap()));
    drop(closed);
    let client = rathaus_authority::status::http_client().unwrap();
    let round = rathaus_authority::status::send_pending(&unreachable, &client)
        .await
        .unwrap();
    assert_eq!((round.sent, round.waiting), (0, 2));
    assert_eq!(
        node.store.pending_status_messages(10).await.unwrap().len(),
        2
    );
    assert_eq!(
        application_status(&app, &reference).await,
        ApplicationStatus::Delivered
    );
    // Back: both arrive, in order, and the last one counts.
    app.advance(chrono::Duration::minutes(10));
    let round = rathaus_authority::status::send_pending(&node.state, &client)
        .await
        .unwrap();
    assert_eq!((round.sent, round.waiting), (2, 0));
    assert_eq!(
        application_status(&app, &reference).await,
        ApplicationStatus::NeedsInformation
    );
}

trait ParseStatus {
    fn parse_status(&self) -> rathaus_domain::CaseStatus;
}

impl ParseStatus for &str {
    fn parse_status(&self) -> rathaus_domain::CaseStatus {
        rathaus_domain::CaseStatus::parse(self).unwrap()
    }
}

#[tokio::test]
async fn c3_forged_tampered_old_replayed_and_misdirected_status_messages_change_nothing() {
    let app = App::new().await;
    let portal = serve_portal(&app).await;
    let (node_id, authority) = responsible_node(&app);
    let _node = start_node(&app, &node_id, &authority, &portal, CLERK).await;
    let (_anna, reference) = submit(&app).await;
    run_round(
        &app.state,
        &http_client().unwrap(),
        &DeliverySettings::default(),
    )
    .await
    .unwrap();
    let delivery = _node.store.cases(&authority).await.unwrap()[0].delivery_id;
    let (node_keys, portal_keys) = test_keys();
    let payload = |node: &str, reference: &str, delivery: String, status: &str| {
        serde_json::to_value(StatusPayload {
            reference: reference.to_owned(),
            delivery_id: delivery,
            node: node.to_owned(),
            status: status.to_owned(),
        })
        .unwrap()
    };
    let decided = payload(&node_id, &reference, delivery.to_string(), "decided");
    let client = http_client().unwrap();
    let url = format!("{portal}/api/v1/status");
    let send = |body: String| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let response = client.post(&url).body(body).send().await.unwrap();
            let status = response.status();
            let content_type = response
                .headers()
                .get(http::header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap().to_owned());
            (status, content_type)
        }
    };
    let problem = Some("application/problem+json".to_owned());

    // Signed with the portal's own key instead of the node's: refused.
    let forged = rathaus_seal::sign(&decided, STATUS_TYP, portal_keys, start_time()).unwrap();
    assert_eq!(
        send(forged).await,
        (StatusCode::UNAUTHORIZED, problem.clone())
    );
    // One byte of the payload changed: refused.
    let good = rathaus_seal::sign(&decided, STATUS_TYP, node_keys, start_time()).unwrap();
    let mut tampered = good.clone().into_bytes();
    let middle = good.find('.').unwrap() + 10;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert!(send(tampered).await.0.is_client_error());
    // Too old: refused.
    let old = rathaus_seal::sign(
        &decided,
        STATUS_TYP,
        node_keys,
        start_time() - chrono::Duration::minutes(10),
    )
    .unwrap();
    assert_eq!(send(old).await, (StatusCode::UNAUTHORIZED, problem.clone()));
    // A delivery receipt is not a status message.
    let wrong_type =
        rathaus_seal::sign(&decided, "rathaus-receipt+jws", node_keys, start_time()).unwrap();
    assert_eq!(send(wrong_type).await.0, StatusCode::UNAUTHORIZED);
    // Another node (whose keys verify) may not report on this node's delivery, nor may the
    // node report under another reference.
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
        payload(&other_node, &reference, delivery.to_string(), "decided"),
        payload(
            &node_id,
            "HA-2026-XXXX-XXXX",
            delivery.to_string(),
            "decided",
        ),
    ] {
        let jws = rathaus_seal::sign(&misdirected, STATUS_TYP, node_keys, start_time()).unwrap();
        assert_eq!(send(jws).await, (StatusCode::CONFLICT, problem.clone()));
    }
    // An unknown delivery, an unknown status, garbage.
    let unknown = payload(
        &node_id,
        &reference,
        uuid::Uuid::new_v4().to_string(),
        "decided",
    );
    let jws = rathaus_seal::sign(&unknown, STATUS_TYP, node_keys, start_time()).unwrap();
    assert_eq!(send(jws).await.0, StatusCode::NOT_FOUND);
    let odd = payload(&node_id, &reference, delivery.to_string(), "queued");
    let jws = rathaus_seal::sign(&odd, STATUS_TYP, node_keys, start_time()).unwrap();
    assert_eq!(send(jws).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(send("csrf=x".to_owned()).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        application_status(&app, &reference).await,
        ApplicationStatus::Delivered,
        "nothing changed"
    );

    // The genuine message is accepted once; the very same message again is a replay.
    assert_eq!(send(good.clone()).await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        application_status(&app, &reference).await,
        ApplicationStatus::Decided
    );
    assert_eq!(send(good).await, (StatusCode::CONFLICT, problem));
}
