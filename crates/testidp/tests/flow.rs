//! The test provider over its router: the page, the choice, the code exchange and its rules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{Duration, TimeZone, Utc};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use rathaus_testidp::{ClientRegistration, Fault, IdpConfig, TestIdp};
use rathaus_web::ManualClock;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

const ISSUER: &str = "https://idp.example";
const REDIRECT: &str = "https://portal.example/account/level/eid/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

struct Idp {
    router: Router,
    clock: ManualClock,
    idp: TestIdp,
}

fn idp(fault: Option<Fault>) -> Idp {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap());
    let idp = TestIdp::new(
        IdpConfig {
            issuer: format!("{ISSUER}/"),
            clients: vec![ClientRegistration {
                client_id: "portal".into(),
                client_secret: "s3cret: with spaces & symbols".into(),
                redirect_uri: REDIRECT.into(),
            }],
            fault,
        },
        Arc::new(clock.clone()),
    )
    .unwrap();
    Idp {
        router: idp.router(),
        clock,
        idp,
    }
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .map_or("", |v| v.to_str().unwrap())
    }

    /// The query parameters of the redirect.
    fn redirect_params(&self) -> Vec<(String, String)> {
        let query = self.location().split_once('?').unwrap().1;
        serde_urlencoded::from_str(query).unwrap()
    }

    fn param(&self, name: &str) -> Option<String> {
        self.redirect_params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

impl Idp {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Answer {
        let mut request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some((id, secret)) = basic {
            let enc = |s: &str| serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_owned();
            let credentials = STANDARD.encode(format!("{}:{}", enc(id), enc(secret)));
            request = request.header(header::AUTHORIZATION, format!("Basic {credentials}"));
        }
        self.send(
            request
                .body(Body::from(serde_urlencoded::to_string(fields).unwrap()))
                .unwrap(),
        )
        .await
    }

    /// The parameters of an authorization request as the portal sends it.
    fn request(scope: &str) -> Vec<(&'static str, String)> {
        vec![
            ("response_type", "code".into()),
            ("client_id", "portal".into()),
            ("redirect_uri", REDIRECT.into()),
            ("scope", scope.into()),
            ("state", "the-state".into()),
            ("nonce", "the-nonce".into()),
            (
                "code_challenge",
                URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes())),
            ),
            ("code_challenge_method", "S256".into()),
            ("acr_values", rathaus_testidp::ACR_HIGH.into()),
        ]
    }

    /// Chooses `identity` and returns the code.
    async fn code_for(&self, identity: &str, scope: &str) -> String {
        let mut fields = Self::request(scope);
        fields.push(("identity", identity.into()));
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = self.post("/authorize", &refs, None).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        assert!(
            answer.location().starts_with(REDIRECT),
            "{}",
            answer.location()
        );
        assert_eq!(answer.param("state").as_deref(), Some("the-state"));
        assert_eq!(answer.param("iss").as_deref(), Some(ISSUER));
        answer.param("code").unwrap()
    }

    async fn exchange(&self, code: &str, verifier: &str) -> Answer {
        self.post(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier),
            ],
            Some(("portal", "s3cret: with spaces & symbols")),
        )
        .await
    }
}

/// The claims of a compact JWS, checked against the provider's JWKS.
async fn verified_claims(idp: &Idp, token: &str) -> Result<Value, String> {
    let jwks = idp.get("/jwks").await.json();
    let jwk = josekit::jwk::Jwk::from_bytes(serde_json::to_vec(&jwks["keys"][0]).unwrap()).unwrap();
    let verifier = josekit::jws::RS256.verifier_from_jwk(&jwk).unwrap();
    let (payload, header) =
        josekit::jwt::decode_with_verifier(token, &verifier).map_err(|e| e.to_string())?;
    assert_eq!(header.algorithm(), Some("RS256"));
    Ok(Value::Object(payload.claims_set().clone()))
}

fn url_with(path: &str, fields: &[(&str, String)]) -> String {
    format!("{path}?{}", serde_urlencoded::to_string(fields).unwrap())
}

#[tokio::test]
async fn discovery_and_jwks_describe_the_provider() {
    let idp = idp(None);
    let discovery = idp.get("/.well-known/openid-configuration").await.json();
    assert_eq!(discovery["issuer"], ISSUER, "the trailing slash is dropped");
    assert_eq!(
        discovery["authorization_endpoint"],
        format!("{ISSUER}/authorize")
    );
    assert_eq!(discovery["token_endpoint"], format!("{ISSUER}/token"));
    assert_eq!(discovery["code_challenge_methods_supported"][0], "S256");
    let jwks = idp.get("/jwks").await.json();
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["alg"].as_str()),
        (Some("RSA"), Some("RS256"))
    );
    assert!(key.get("d").is_none(), "no private part: {key}");
    assert_eq!(idp.idp.issuer(), ISSUER);
}

#[tokio::test]
async fn the_page_is_marked_as_a_test_provider_and_lists_the_identities() {
    let idp = idp(None);
    let page = idp
        .get(&url_with("/authorize", &Idp::request("openid profile")))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "TEST-Identitätsanbieter – kein echter Online-Ausweis",
        "TEST identity provider — not a real eID",
        "Erika Mustermann",
        "12.08.1964",
        "Heidestraße 17, 51147 Köln",
        "Gabler",
        "Dr. Ludwig Großkopf-Bäumler",
        "Minderjährig",
        "name=\"identity\" value=\"erika\"",
        "name=\"cancel\"",
        "Vor- und Familienname, Geburtsdatum",
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    assert!(!page.body.contains("<script"), "no JavaScript");
    assert!(
        !page
            .body
            .contains("Anschrift <span lang=\"en\">/ address</span></li>")
    );
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("form-action 'self' https://portal.example"),
        "{csp}"
    );
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn cancel_returns_access_denied_with_the_state() {
    let idp = idp(None);
    let mut fields = Idp::request("openid");
    fields.push(("cancel", "1".into()));
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = idp.post("/authorize", &refs, None).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.param("error").as_deref(), Some("access_denied"));
    assert_eq!(answer.param("state").as_deref(), Some("the-state"));
    assert!(answer.param("code").is_none());
    assert_eq!(idp.idp.pending_codes(), 0);
}

#[tokio::test]
async fn an_unknown_client_or_redirect_uri_gets_a_page_and_no_redirect() {
    let idp = idp(None);
    for (name, value) in [
        ("client_id", "intruder"),
        ("redirect_uri", "https://evil.example/cb"),
        (
            "redirect_uri",
            "https://portal.example/account/level/eid/callback/../x",
        ),
    ] {
        let mut fields = Idp::request("openid");
        fields.retain(|(k, _)| *k != name);
        fields.push((name, value.into()));
        let answer = idp.get(&url_with("/authorize", &fields)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{name}={value}");
        assert!(answer.location().is_empty());
        assert!(answer.body.contains("Fehlerhafte Anmeldeanfrage"));
    }
}

#[tokio::test]
async fn pkce_s256_and_openid_scope_are_required() {
    let idp = idp(None);
    let cases: [(&str, Option<&str>, &str); 4] = [
        ("code_challenge_method", Some("plain"), "invalid_request"),
        ("code_challenge_method", None, "invalid_request"),
        ("code_challenge", Some("too-short"), "invalid_request"),
        ("scope", Some("profile"), "invalid_scope"),
    ];
    for (name, value, error) in cases {
        let mut fields = Idp::request("openid");
        fields.retain(|(k, _)| *k != name);
        if let Some(value) = value {
            fields.push((name, value.into()));
        }
        let answer = idp.get(&url_with("/authorize", &fields)).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{name}");
        assert_eq!(answer.param("error").as_deref(), Some(error), "{name}");
        assert_eq!(answer.param("state").as_deref(), Some("the-state"));
    }
}

#[tokio::test]
async fn the_id_token_is_signed_and_carries_only_the_requested_attributes() {
    let idp = idp(None);
    let code = idp.code_for("erika", "openid address").await;
    let answer = idp.exchange(&code, VERIFIER).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
    let body = answer.json();
    assert_eq!(body["token_type"], "Bearer");
    let claims = verified_claims(&idp, body["id_token"].as_str().unwrap())
        .await
        .unwrap();
    let now = idp.clock_now();
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], "portal");
    assert_eq!(claims["nonce"], "the-nonce");
    assert_eq!(claims["acr"], rathaus_testidp::ACR_HIGH);
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["exp"], now + 300);
    assert_eq!(claims["address"]["street_address"], "Heidestraße 17");
    assert_eq!(claims["address"]["postal_code"], "51147");
    for absent in [
        "given_name",
        "family_name",
        "birthdate",
        "birth_name",
        "place_of_birth",
    ] {
        assert!(
            claims.get(absent).is_none(),
            "{absent} was not asked for: {claims}"
        );
    }
    // The same person towards the same client: the same pseudonym.
    let again = idp.code_for("erika", "openid").await;
    let body = idp.exchange(&again, VERIFIER).await.json();
    let second = verified_claims(&idp, body["id_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(second["sub"], claims["sub"]);
    assert!(second.get("address").is_none());
}

impl Idp {
    fn clock_now(&self) -> i64 {
        use rathaus_web::Clock;
        self.clock.now().timestamp()
    }
}

#[tokio::test]
async fn all_attributes_when_all_are_asked_for() {
    let idp = idp(None);
    let code = idp
        .code_for(
            "ludwig",
            "openid profile address birth_name place_of_birth doctoral_degree",
        )
        .await;
    let body = idp.exchange(&code, VERIFIER).await.json();
    let claims = verified_claims(&idp, body["id_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(claims["given_name"], "Ludwig");
    assert_eq!(claims["family_name"], "Großkopf-Bäumler");
    assert_eq!(claims["birthdate"], "1951-03-01");
    assert_eq!(claims["doctoral_degree"], "Dr.");
    assert_eq!(claims["place_of_birth"]["locality"], "München");
    assert!(claims.get("birth_name").is_none(), "Ludwig has none");
}

#[tokio::test]
async fn a_code_works_once_only_within_60_seconds_and_only_with_its_verifier() {
    let idp = idp(None);
    let code = idp.code_for("erika", "openid").await;
    assert_eq!(idp.exchange(&code, VERIFIER).await.status, StatusCode::OK);
    let twice = idp.exchange(&code, VERIFIER).await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert_eq!(twice.json()["error"], "invalid_grant");

    let late = idp.code_for("erika", "openid").await;
    idp.clock.advance(Duration::seconds(60));
    assert_eq!(
        idp.exchange(&late, VERIFIER).await.json()["error"],
        "invalid_grant"
    );
    assert_eq!(idp.idp.pending_codes(), 0, "the expired code is gone");

    let wrong = idp.code_for("erika", "openid").await;
    let other_verifier = "x".repeat(43);
    assert_eq!(
        idp.exchange(&wrong, &other_verifier).await.json()["error"],
        "invalid_grant"
    );
    // A failed try spends the code.
    assert_eq!(
        idp.exchange(&wrong, VERIFIER).await.json()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn the_client_must_authenticate_and_name_the_same_redirect_uri() {
    let idp = idp(None);
    let code = idp.code_for("erika", "openid").await;
    let fields = |redirect: &'static str| {
        vec![
            ("grant_type", "authorization_code"),
            ("code", ""),
            ("redirect_uri", redirect),
            ("code_verifier", VERIFIER),
        ]
    };
    let mut wrong_secret = fields(REDIRECT);
    wrong_secret[1].1 = &code;
    let refused = idp
        .post("/token", &wrong_secret, Some(("portal", "guess")))
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json()["error"], "invalid_client");
    let none = idp.post("/token", &wrong_secret, None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);

    // client_secret_post works too; a failed client authentication did not spend the code.
    let mut post = wrong_secret.clone();
    post.push(("client_id", "portal"));
    post.push(("client_secret", "s3cret: with spaces & symbols"));
    assert_eq!(idp.post("/token", &post, None).await.status, StatusCode::OK);

    let code = idp.code_for("erika", "openid").await;
    let mut other_redirect = fields("https://portal.example/elsewhere");
    other_redirect[1].1 = &code;
    let answer = idp
        .post(
            "/token",
            &other_redirect,
            Some(("portal", "s3cret: with spaces & symbols")),
        )
        .await;
    assert_eq!(answer.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn faults_for_relying_party_tests() {
    let idp = idp(Some(Fault::UnpublishedKey));
    let code = idp.code_for("erika", "openid").await;
    let body = idp.exchange(&code, VERIFIER).await.json();
    assert!(
        verified_claims(&idp, body["id_token"].as_str().unwrap())
            .await
            .is_err(),
        "signed by a key the JWKS does not hold"
    );

    let idp = idp_with(Fault::AcrSubstantial);
    let code = idp.code_for("erika", "openid").await;
    let body = idp.exchange(&code, VERIFIER).await.json();
    let claims = verified_claims(&idp, body["id_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(claims["acr"], rathaus_testidp::ACR_SUBSTANTIAL);
}

fn idp_with(fault: Fault) -> Idp {
    idp(Some(fault))
}
