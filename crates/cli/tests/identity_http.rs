//! The in-person identification in the real demo (issue 3, README "Trying the levels"): a
//! citizen shows a one-time code, the demo clerk of the Altona customer centre confirms it at
//! the `kundenzentren` node's counter page, the node's signed assertion reaches the portal
//! process, and the account is `substantial` after signing in again (A6, A8, C3, L1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Browser, Demo, DemoOptions, link_in};

const PASSWORD: &str = "Ein langer Satz als Passwort";
const CLERK: &str = "kundenzentrum-altona@behoerde.example";
const CLERK_PASSWORD: &str = "Demo-Sachbearbeitung";
/// What the clerk types as the family name; it must not appear in any log (L1).
const CANARY: &str = "Kanarienvogel-Theke";

fn code_on(body: &str) -> String {
    let marker = "id=\"identification-code\">";
    let start = body.find(marker).expect("no code on the page") + marker.len();
    body[start..].split('<').next().unwrap().to_owned()
}

#[tokio::test]
async fn a6_a8_a_clerk_at_the_demo_counter_raises_an_account_to_substantial() {
    let demo = Demo::start_with(DemoOptions {
        log_filter: Some("info,tantivy=warn"),
        ..DemoOptions::default()
    });
    let node = demo
        .nodes
        .iter()
        .find(|(id, _)| id == "kundenzentren")
        .map(|(_, url)| url.clone())
        .unwrap();

    // Anna registers, confirms and signs in: level `basic`.
    let mut anna = Browser::new(&demo.portal);
    let mails = demo.mail_count();
    let registered = anna
        .submit(
            "/account/register",
            "/account/register",
            &[("email", "anna@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(registered.status, 303);
    let mail = demo.newest_mail("confirm", mails);
    let confirm = link_in(&mail, &format!("{}/account/confirm?token=", demo.portal));
    let token = confirm.split("token=").nth(1).unwrap().to_owned();
    let page = anna.get(&confirm).await;
    let confirmed = anna
        .post(
            "/account/confirm",
            &[("csrf", &page.csrf()), ("token", &token)],
        )
        .await;
    assert_eq!(confirmed.status, 200);
    let sign_in = [("email", "anna@example.org"), ("password", PASSWORD)];
    let signed_in = anna
        .submit("/account/sign-in", "/account/sign-in", &sign_in)
        .await;
    assert_eq!(signed_in.status, 303);

    // The level page offers the code; it is shown once, with its QR code.
    let shown = anna
        .submit("/account/level", "/account/level/in-person", &[])
        .await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(shown.body.contains("<svg class=\"identification-qr\""));
    let code = code_on(&shown.body);

    // The demo clerk signs in at the node and confirms at the counter.
    let mut clerk = Browser::new(&node);
    let signed_in = clerk
        .submit(
            "/back-office/sign-in",
            "/back-office/sign-in",
            &[("email", CLERK), ("password", CLERK_PASSWORD)],
        )
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let inbox = clerk.get("/back-office").await;
    assert!(inbox.body.contains("href=\"/back-office/counter\""));
    let fields = [
        ("code", code.as_str()),
        ("family_name", CANARY),
        ("given_names", "Anna Maria"),
        ("birth_date", "1990-02-03"),
        ("street", "Platz der Republik"),
        ("house_number", "1"),
        ("postcode", "22765"),
        ("city", "Hamburg"),
        ("document_type", "personalausweis"),
        ("checked", "yes"),
    ];
    let done = clerk
        .submit("/back-office/counter", "/back-office/counter", &fields)
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Identität bestätigt"), "{}", done.body);

    // A8: Anna's session has ended; signed in again, she is at `substantial`.
    assert_eq!(anna.get("/account").await.status, 303);
    anna.submit("/account/sign-in", "/account/sign-in", &sign_in)
        .await;
    let level = anna.get("/account/level").await;
    assert!(
        level
            .body
            .contains("Substanziell (Identität einmal geprüft)"),
        "{}",
        level.body
    );

    // A6: the code works once.
    let again = clerk
        .submit("/back-office/counter", "/back-office/counter", &fields)
        .await;
    assert_eq!(again.status, 422);
    assert!(again.body.contains("bereits verwendet"), "{}", again.body);

    // L1: the clerk's entries reach no log line of the portal or the node.
    let log = demo.log();
    assert!(
        log.contains("identity_checked"),
        "the node audits the check"
    );
    assert!(
        log.contains("level_changed"),
        "the portal audits the level change"
    );
    assert!(!log.contains(CANARY), "attributes were logged");
    assert!(!log.contains(&code), "the code was logged");
}
