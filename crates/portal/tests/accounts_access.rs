//! Who may do what: CSRF on every state change (S4), deny by default and every route's access
//! (Z1), and log injection (L2).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use http::{Request, StatusCode, header};
use rathaus_domain::{AuditEvent, Email};
use rathaus_portal::Access;
use support::{App, PASSWORD};

async fn account_count(app: &App, email: &str) -> usize {
    usize::from(
        app.store
            .account_by_email(&Email::parse(email).unwrap())
            .await
            .unwrap()
            .is_some(),
    )
}

#[tokio::test]
async fn s4_forms_without_a_valid_token_or_from_another_site_change_nothing() {
    let app = App::new().await;
    let mut visitor = app.browser();
    let fields = [("email", "eve@example.org"), ("password", PASSWORD)];
    // No token, a made-up token, a token without its cookie: 403, nothing stored.
    let none = visitor.post("/account/register", &fields).await;
    assert_eq!(none.status, StatusCode::FORBIDDEN);
    assert!(
        none.body.contains("Es wurde nichts geändert"),
        "{}",
        none.body
    );
    let mut forged = vec![("csrf", "x".repeat(43))];
    forged.extend(fields.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        visitor.post("/account/register", &forged).await.status,
        StatusCode::FORBIDDEN
    );
    let token = visitor.get("/account/register").await.csrf();
    let mut stranger = app.browser(); // has not got the cookie the token belongs to
    let mut stolen = vec![("csrf", token.as_str())];
    stolen.extend_from_slice(&fields);
    assert_eq!(
        stranger.post("/account/register", &stolen).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(account_count(&app, "eve@example.org").await, 0);
    assert!(app.mails().await.is_empty());

    // A valid token, but the browser says the form came from another site.
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let body = serde_urlencoded::to_string(&stolen).unwrap();
        let answer = visitor
            .send(
                Request::post("/account/register")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(name, value)
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{name}");
    }
    assert_eq!(account_count(&app, "eve@example.org").await, 0);

    // Signed-in forms need the session's own token; the form token of the sign-in page
    // is not enough.
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let anonymous = anna.get("/account/register").await.csrf();
    for path in ["/account/sign-out", "/account/sign-out-everywhere"] {
        let refused = anna.post(path, &[("csrf", &anonymous)]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(anna.get("/account").await.status, StatusCode::OK, "{path}");
    }
    // With the right token it works.
    let token = anna.get("/account").await.csrf();
    let out = anna
        .post("/account/sign-out-everywhere", &[("csrf", &token)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(anna.get("/account").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn z1_one_account_cannot_see_or_end_another_accounts_sessions() {
    let app = App::new().await;
    let mut anna = app.browser();
    anna.create_account("anna@example.org").await;
    let mut bob = app.browser();
    bob.create_account("bob@example.org").await;
    let ids = |body: &str| -> Vec<String> {
        body.match_indices("/account/sessions/")
            .map(|(i, _)| body[i + 18..i + 18 + 36].to_owned())
            .collect()
    };
    let anna_ids = ids(&anna.get("/account/sessions").await.body);
    let bob_ids = ids(&bob.get("/account/sessions").await.body);
    assert_eq!((anna_ids.len(), bob_ids.len()), (1, 1));
    assert_ne!(anna_ids, bob_ids);
    assert!(!anna.get("/account").await.body.contains("bob@example.org"));

    // Anna probes Bob's session id, and ids that do not exist: 404 alike, nothing ended.
    let token = anna.get("/account/sessions").await.csrf();
    for probe in [
        bob_ids[0].clone(),
        "00000000-0000-0000-0000-000000000000".to_owned(),
        "not-an-id".to_owned(),
    ] {
        let answer = anna
            .post(
                &format!("/account/sessions/{probe}/end"),
                &[("csrf", &token)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{probe}");
    }
    assert_eq!(bob.get("/account").await.status, StatusCode::OK);
    // Her own id works.
    let own = anna
        .post(
            &format!("/account/sessions/{}/end", anna_ids[0]),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(own.location(), "/account/signed-out");
    assert_eq!(anna.get("/account").await.status, StatusCode::SEE_OTHER);
}

/// Every route and who may use it. A route added to the portal without an entry here fails
/// the test below, and so does an entry whose route does not behave as written.
const EXPECTED: &[(&str, Access)] = &[
    ("/", Access::Public),
    ("/search", Access::Public),
    ("/life-situations", Access::Public),
    ("/life-situations/{slug}", Access::Public),
    ("/services/{id}", Access::Public),
    ("/services/{id}/apply", Access::Public),
    ("/imprint", Access::Public),
    ("/privacy", Access::Public),
    ("/accessibility", Access::Public),
    ("/account/register", Access::Public),
    ("/account/check-mail", Access::Public),
    ("/account/confirm", Access::Public),
    ("/account/sign-in", Access::Public),
    ("/account/sign-in/passkey", Access::Public),
    ("/account/sign-in/passkey/finish", Access::Public),
    ("/account/sign-in/code", Access::Public),
    ("/account/sign-out", Access::SignedIn),
    ("/account/signed-out", Access::Public),
    ("/account/forgot", Access::Public),
    ("/account/forgot/sent", Access::Public),
    ("/account/reset", Access::Public),
    ("/account", Access::SignedIn),
    ("/account/sessions", Access::SignedIn),
    ("/account/sessions/{id}/end", Access::SignedIn),
    ("/account/sign-out-everywhere", Access::SignedIn),
    ("/account/level", Access::SignedIn),
    ("/account/security", Access::SignedIn),
    ("/account/security/totp", Access::SignedIn),
    ("/account/security/totp/confirm", Access::SignedIn),
    ("/account/security/totp/remove", Access::SignedIn),
    ("/account/security/passkeys", Access::SignedIn),
    ("/account/security/passkeys/finish", Access::SignedIn),
    ("/account/security/passkeys/{id}/remove", Access::SignedIn),
    ("/account/level/eid", Access::SignedIn),
    ("/account/level/eid/callback", Access::SignedIn),
    ("/account/level/in-person", Access::SignedIn),
    ("/account/verified-attributes", Access::SignedIn),
    ("/account/verified-attributes/delete", Access::SignedIn),
    ("/account/data", Access::SignedIn),
    ("/account/data.json", Access::SignedIn),
    ("/account/password", Access::SignedIn),
    ("/account/delete", Access::SignedIn),
    ("/account/deleted", Access::Public),
    ("/account/email", Access::SignedIn),
    ("/account/email/confirm", Access::Public),
    ("/account/organisations", Access::SignedIn),
    ("/account/organisations/{id}", Access::SignedIn),
    ("/account/organisations/{id}/invitations", Access::SignedIn),
    (
        "/account/organisations/{id}/invitations/{invitation}/withdraw",
        Access::SignedIn,
    ),
    (
        "/account/organisations/{id}/members/{account}/role",
        Access::SignedIn,
    ),
    (
        "/account/organisations/{id}/members/{account}/remove",
        Access::SignedIn,
    ),
    ("/account/organisations/{id}/leave", Access::SignedIn),
    ("/account/invitation", Access::SignedIn),
    ("/api/v1/services", Access::Public),
    ("/api/v1/services/{id}", Access::Public),
    ("/api/v1/services/{id}/schema", Access::Public),
    ("/api/v1/responsibility", Access::Public),
    ("/api/v1/life-situations", Access::Public),
    ("/api/v1/openapi.json", Access::Public),
    ("/api/v1/problems", Access::Public),
    ("/api/v1/account", Access::SignedIn),
    ("/api/v1/status", Access::Public),
    ("/api/v1/identity-assertions", Access::Public),
    ("/api/v1/messages", Access::Public),
    ("/account/mailbox", Access::SignedIn),
    ("/account/mailbox/{id}", Access::SignedIn),
    ("/account/mailbox/{id}/files/{file}", Access::SignedIn),
    ("/account/mailbox/{id}/reply", Access::SignedIn),
    ("/services/{id}/form", Access::SignedIn),
    ("/services/{id}/form/{step}", Access::SignedIn),
    ("/services/{id}/review", Access::SignedIn),
    ("/services/{id}/submit", Access::SignedIn),
    ("/services/{id}/discard", Access::SignedIn),
    ("/applications", Access::SignedIn),
    ("/applications/{reference}", Access::SignedIn),
    ("/applications/{reference}/receipt.pdf", Access::SignedIn),
    ("/healthz", Access::Public),
    ("/readyz", Access::Public),
    ("/metrics", Access::Public),
    ("/operator", Access::Operator),
    ("/operator/dead-letters/{id}/retry", Access::Operator),
];

#[tokio::test]
async fn z1_every_route_has_an_authorization_expectation() {
    let mut table = rathaus_portal::route_table();
    let mut expected = EXPECTED.to_vec();
    table.sort_by_key(|(path, _)| *path);
    expected.sort_by_key(|(path, _)| *path);
    assert_eq!(
        table, expected,
        "the portal's routes and this test's table differ: add the new route with its access"
    );

    let app = App::new().await;
    for (path, access) in EXPECTED {
        let concrete = path
            .replace("{slug}", "moving")
            .replace("{step}", "owner")
            .replace("{reference}", "HA-2026-ABCD-EFGH")
            .replace("{id}", "00000000-0000-0000-0000-000000000000");
        let mut anonymous = app.browser();
        let get = anonymous.get(&concrete).await;
        let answer = if get.status == StatusCode::METHOD_NOT_ALLOWED {
            anonymous.post(&concrete, &[("csrf", "x")]).await
        } else {
            get
        };
        let to_sign_in = answer.status == StatusCode::SEE_OTHER
            && answer.location().starts_with("/account/sign-in");
        let refused = to_sign_in || answer.status == StatusCode::UNAUTHORIZED;
        match access {
            Access::SignedIn => {
                assert!(refused, "{path}: {} {}", answer.status, answer.location());
                if path.starts_with("/api/") {
                    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
                    assert_eq!(answer.headers["content-type"], "application/problem+json");
                }
            }
            // Signed in but not an operator: tested in `operator.rs`.
            Access::Operator => assert!(refused, "{path}: {} {}", answer.status, answer.location()),
            Access::Public => assert!(!refused, "{path}: {}", answer.status),
        }
    }
}

#[tokio::test]
async fn l2_crlf_in_an_address_creates_no_fake_audit_entry() {
    let app = App::new().await;
    let mut eve = app.browser();
    let before = app.store.audit_entries(100).await.unwrap().len();
    let evil = "eve@example.org\r\n2026-06-01T08:00:00Z sign_in account=admin\u{1b}[2K";
    let answer = eve.sign_in(evil, "irgendein Passwort").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let entries = app.store.audit_entries(100).await.unwrap();
    assert_eq!(entries.len(), before + 1, "exactly one entry");
    let entry = &entries[0];
    assert_eq!(entry.event, AuditEvent::SignInFailed);
    assert!(
        !entry.detail.chars().any(char::is_control),
        "{:?}",
        entry.detail
    );
    assert!(
        entry
            .detail
            .contains("eve@example.org\\r\\n2026-06-01T08:00:00Z sign_in account=admin\\u{1b}[2K"),
        "{}",
        entry.detail
    );
    // The same for a well-formed address with a wrong password, and never the password.
    eve.sign_in("eve@example.org", "Kanarienvogel-4711").await;
    let entries = app.store.audit_entries(100).await.unwrap();
    assert!(entries.iter().all(|e| !e.detail.contains("Kanarienvogel")));
}
