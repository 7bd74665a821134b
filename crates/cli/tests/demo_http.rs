//! The demo over real HTTP: pages, API, finder, languages, headers and hostile input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Demo, get, get_json};

#[tokio::test]
async fn demo_serves_pages_in_german_and_english() {
    let demo = Demo::start(&[]);
    assert!(
        demo.nodes.len() >= 3,
        "expected the demo tenant's authority nodes, got {:?}",
        demo.nodes
    );

    let (status, _, body) = get(&demo.url("/")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("<html lang=\"de\">") && body.contains("Lebenslagen"),
        "{body}"
    );
    assert!(body.contains("href=\"/life-situations/moving\""));

    let (status, headers, body) = get(&demo.url("/?lang=en")).await;
    assert_eq!(status, 200);
    assert!(body.contains("<html lang=\"en\">") && body.contains("Life situations"));
    let cookie = headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cookie.starts_with("lang=en") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let remembered = common::client()
        .get(demo.url("/life-situations"))
        .header("cookie", "lang=en")
        .send()
        .await
        .unwrap();
    assert!(
        remembered
            .text()
            .await
            .unwrap()
            .contains("<html lang=\"en\">")
    );
    let accepted = common::client()
        .get(demo.url("/"))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert!(
        accepted
            .text()
            .await
            .unwrap()
            .contains("<html lang=\"en\">")
    );

    let (status, _, body) = get(&demo.url("/search?q=Ummeldung")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("/services/99115005104000"),
        "search page lacks the residence registration"
    );

    let (status, _, body) = get(&demo.url("/life-situations/moving")).await;
    assert_eq!(status, 200);
    assert!(body.contains("/services/99115005104000"));

    let (status, _, body) = get(&demo.url("/services/99115005104000")).await;
    assert_eq!(status, 200);
    for needle in [
        "Online-Antrag starten",
        "Rechtsgrundlagen",
        "Zuständige Stelle",
        "Bundesmeldegesetz",
    ] {
        assert!(body.contains(needle), "service page lacks {needle}");
    }
    let (status, _, body) = get(&demo.url("/services/99115005104000/apply?lang=en")).await;
    assert_eq!(status, 200);
    assert!(body.contains("Before you start"));

    for path in ["/imprint", "/privacy", "/accessibility", "/life-situations"] {
        assert_eq!(get(&demo.url(path)).await.0, 200, "{path}");
    }
    for (_, node) in &demo.nodes {
        let (status, _, body) = get(&format!("{node}/")).await;
        assert_eq!(status, 200);
        assert!(body.contains("<table"), "authority node start page: {body}");
        assert!(
            body.contains(&format!("{}/imprint", demo.portal)),
            "the node links the portal's imprint"
        );
        assert_eq!(get(&format!("{node}/readyz")).await.0, 200);
    }
}

#[tokio::test]
async fn finder_names_the_authority_for_a_postcode() {
    let demo = Demo::start(&[]);
    let (status, body) =
        get_json(&demo.url("/api/v1/responsibility?service=99115005104000&postcode=22765")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "found");
    assert_eq!(body["authorities"][0]["district"]["id"], "altona");
    assert_eq!(body["authorities"][0]["kind"], "kundenzentrum");

    let (_, body) =
        get_json(&demo.url("/api/v1/responsibility?service=99115005104000&postcode=80331")).await;
    assert_eq!(body["status"], "outside_area");

    for (query, param) in [
        ("service=99115005104000&postcode=2276", "postcode"),
        ("service=99115005104000", "postcode"),
        ("postcode=22765", "service"),
        ("service=..%2F..%2Fetc&postcode=22765", "service"),
    ] {
        let (status, headers, body) =
            get(&demo.url(&format!("/api/v1/responsibility?{query}"))).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(headers["content-type"], "application/problem+json");
        let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["errors"][0]["pointer"], param, "{query}: {body}");
    }

    let (status, _, body) =
        get(&demo.url("/services/99115005104000?postcode=Musterweg+1%2C+22765+Hamburg")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("Kundenzentrum") && body.contains("Altona"),
        "finder result missing"
    );
    let (_, _, body) = get(&demo.url("/services/99115005104000?postcode=abc")).await;
    assert!(body.contains("aria-invalid=\"true\"") && body.contains("fünf Ziffern"));
}

#[tokio::test]
async fn api_searches_and_describes_services() {
    let demo = Demo::start(&[]);
    let (status, body) =
        get_json(&demo.url("/api/v1/services?q=Wohnsitz+anmelden&lang=de&limit=5")).await;
    assert_eq!(status, 200);
    assert!(body["total"].as_u64().unwrap() >= 1);
    let first = &body["items"][0];
    for field in ["id", "name", "summary", "online", "url"] {
        assert!(!first[field].is_null(), "missing {field}: {first}");
    }
    assert_eq!(first["id"], "99115005104000", "{body}");

    let (_, body) =
        get_json(&demo.url("/api/v1/services?q=register+my+address&lang=en&limit=3")).await;
    assert_eq!(body["items"][0]["id"], "99115005104000", "{body}");

    let (_, body) = get_json(&demo.url("/api/v1/services?life_situation=pets&limit=100")).await;
    let items = body["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.len() as u64 == body["total"].as_u64().unwrap());

    let (status, body) = get_json(&demo.url("/api/v1/services/99115005104000?lang=en")).await;
    assert_eq!(status, 200);
    assert_eq!(body["assurance_level"], "high");
    assert_eq!(body["authority_kind"], "kundenzentrum");

    let (status, body) = get_json(&demo.url("/api/v1/services/99999999999999")).await;
    assert_eq!((status, body["status"].as_u64()), (404, Some(404)));
    let (status, _) = get_json(&demo.url("/api/v1/services/not-a-key")).await;
    assert_eq!(status, 400);
    let (status, _) = get_json(&demo.url("/api/v1/nothing-here")).await;
    assert_eq!(status, 404);

    let (status, openapi) = get_json(&demo.url("/api/v1/openapi.json")).await;
    assert_eq!(status, 200);
    assert_eq!(openapi["openapi"], "3.1.0");
    for path in [
        "/api/v1/services",
        "/api/v1/services/{id}",
        "/api/v1/responsibility",
    ] {
        assert!(openapi["paths"][path].is_object(), "openapi lacks {path}");
    }
}

#[tokio::test]
async fn v1_v2_v3_hostile_input_gets_clear_errors_and_never_a_server_error() {
    let demo = Demo::start(&[]);
    let long = "Hund ".repeat(2_000);
    let cases = [
        format!("/search?q={long}"),
        format!("/api/v1/services?q={long}"),
        "/search?q=%FF%FE%00%01".to_owned(),
        "/search?q=AND+OR+NOT+%22%28%29%5B%5D%7B%7D*%3F%3A%5E~%5C%2F".to_owned(),
        "/search?q=title%3A%28*%29+-+%2B".to_owned(),
        "/search?q=%E2%80%AE%F0%9F%90%95".to_owned(),
        "/search?q=&page=0".to_owned(),
        "/search?q=hund&page=999999999999999999999".to_owned(),
        "/search?q=hund&life_situation=%3Cscript%3E".to_owned(),
        "/api/v1/services?limit=-1".to_owned(),
        "/api/v1/services?limit=100000".to_owned(),
        "/api/v1/services?offset=abc".to_owned(),
        "/api/v1/services?lang=fr".to_owned(),
        "/services/%FF%FE".to_owned(),
        "/services/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/services/99001001000000%00".to_owned(),
        "/life-situations/%00".to_owned(),
        "/assets/..%2F..%2FCargo.toml".to_owned(),
    ];
    for path in &cases {
        let (status, headers, body) = get(&demo.url(path)).await;
        assert!((200..500).contains(&status), "{path}: {status}");
        assert!(
            !body.contains("panicked") && !body.contains("src/") && !body.contains("sqlx"),
            "{path} leaks internals"
        );
        if status >= 400 && !path.starts_with("/api/") && !path.starts_with("/assets/") {
            assert!(
                body.contains("Fehlerkennung"),
                "{path}: a person gets a readable error page"
            );
        }
        if path.starts_with("/api/") && status >= 400 {
            assert_eq!(
                headers["content-type"], "application/problem+json",
                "{path}"
            );
        }
    }
    let (status, _, body) = get(&demo.url("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")).await;
    assert_eq!(status, 200);
    assert!(!body.contains("<script>alert(1)</script>"));
    assert!(
        body.contains("&lt;script&gt;") || body.contains("&#60;script&#62;"),
        "the query is shown escaped"
    );

    for path in ["/search", "/api/v1/services"] {
        let response = common::client()
            .post(demo.url(path))
            .body("x=1")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{path}");
        let allow: Vec<String> = response.headers()["allow"]
            .to_str()
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_owned())
            .collect();
        assert_eq!(allow, ["GET", "HEAD"], "{path}");
    }

    let (status, _, _) = get(&demo.url(&format!("/search?q={}", "x".repeat(40_000)))).await;
    assert_eq!(status, 414, "over-long URLs are refused quickly");
}

#[tokio::test]
async fn responses_carry_security_headers_health_and_metrics() {
    let demo = Demo::start(&[]);
    let (status, headers, _) = get(&demo.url("/")).await;
    assert_eq!(status, 200);
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert!(headers.contains_key("x-request-id"));
    assert!(
        !headers.contains_key("strict-transport-security"),
        "no HSTS on plain HTTP"
    );

    let (status, body) = get_json(&demo.url("/healthz")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = get_json(&demo.url("/readyz")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("ready")),
        "{body}"
    );
    let (status, _, metrics) = get(&demo.url("/metrics")).await;
    assert_eq!(status, 200);
    assert!(metrics.contains("http_requests_total"), "{metrics}");

    // The demo's operator (printed at start) sees the outbox's status page.
    let mut operator = common::Browser::new(&demo.portal);
    assert_eq!(operator.get("/operator").await.status, 303);
    let signed_in = operator
        .submit(
            "/account/sign-in",
            "/account/sign-in",
            &[
                ("email", "betrieb@rathaus.example"),
                ("password", "Demo-Betrieb-Status"),
            ],
        )
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let page = operator.get("/operator").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Postausgang je Behördenknoten"));
}

#[tokio::test]
async fn the_full_national_catalogue_is_served_beside_the_definitions() {
    let fixture = common::fixture();
    let demo = Demo::start(&["--catalogue", fixture.to_str().unwrap()]);
    let (_, body) = get_json(&demo.url("/api/v1/services?limit=1")).await;
    assert!(body["total"].as_u64().unwrap() > 4_800, "{body}");

    // A catalogue-only entry: German name, marked as such on English pages.
    let (status, _, body) = get(&demo.url("/services/99001001000000?lang=en")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("lang=\"de\">Abfallgebühr"),
        "German-only name must carry lang=de"
    );
    let (_, body) = get_json(&demo.url("/api/v1/services?q=Abfallgeb%C3%BChr&limit=3")).await;
    assert_eq!(body["items"][0]["id"], "99001001000000", "{body}");
}

#[tokio::test]
async fn authority_nodes_end_with_a_killed_demo() {
    let mut demo = Demo::start(&[]);
    let nodes: Vec<String> = demo
        .nodes
        .iter()
        .map(|(_, url)| url.trim_start_matches("http://").to_owned())
        .collect();
    assert!(!nodes.is_empty());
    demo.kill();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let mut alive = nodes.clone();
    while !alive.is_empty() && std::time::Instant::now() < deadline {
        alive.retain(|addr| std::net::TcpStream::connect(addr).is_ok());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(
        alive.is_empty(),
        "authority nodes outlived the killed demo: {alive:?}"
    );
}
