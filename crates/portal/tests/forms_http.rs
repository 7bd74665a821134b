#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Online applications over the router: the whole path of a citizen, and the refusals of
//! SECURITY.md S4, Z3, V1 and U1, on the fixture service `local-test-dog`.

mod support;

use http::StatusCode;
use support::App;

const FORM: &str = "/services/local-test-dog/form";

async fn signed_in(app: &App) -> support::Browser<'_> {
    let mut citizen = app.browser();
    citizen.create_account("anna@example.org").await;
    citizen
}

fn owner_fields(csrf: &str) -> Vec<(&'static str, String)> {
    vec![
        ("csrf", csrf.to_owned()),
        ("step", "owner".into()),
        ("action", "next".into()),
        ("owner_name.given_names", "Anna".into()),
        ("owner_name.family_name", "Müller".into()),
        ("owner_address.street", "Kirchenallee".into()),
        ("owner_address.house_number", "1".into()),
        ("owner_address.postcode", "20099".into()),
        ("owner_address.city", "Hamburg".into()),
    ]
}

async fn post(
    browser: &mut support::Browser<'_>,
    path: &str,
    fields: &[(&'static str, String)],
) -> support::Answer {
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post(path, &refs).await
}

#[tokio::test]
async fn a_citizen_completes_the_form_and_gets_a_reference_and_a_receipt() {
    let app = App::new().await;
    let mut anna = signed_in(&app).await;

    let start = anna.get(FORM).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    assert_eq!(start.location(), "/services/local-test-dog/form/owner");
    let page = anna.get(start.location()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Schritt 1 von 3"), "{}", page.body);
    // The step's note: information, no input.
    assert!(page.body.contains("kern-alert--info form-note"));
    assert!(page.body.contains("Halten Sie den Personalausweis bereit."));
    assert!(!page.body.contains("Leinenpflicht"), "a later step's note");
    let csrf = page.csrf();

    let owner = post(
        &mut anna,
        "/services/local-test-dog/form/owner",
        &owner_fields(&csrf),
    )
    .await;
    assert_eq!(
        owner.location(),
        "/services/local-test-dog/form/dogs",
        "{}",
        owner.body
    );
    // A note whose condition reads the earlier step: the address is in 20099, so it shows,
    // paragraph by paragraph, with its title.
    let dogs_page = anna.get("/services/local-test-dog/form/dogs").await.body;
    assert!(
        dogs_page.contains("kern-alert--warning form-note"),
        "{dogs_page}"
    );
    assert!(dogs_page.contains("<h2 class=\"kern-title\">Hundeverordnung</h2>"));
    assert!(dogs_page.contains("<p class=\"kern-body\">In Hamburg-Mitte gilt Leinenpflicht.</p>"));
    assert!(dogs_page.contains("<p class=\"kern-body\">Bitte beachten Sie die Grünanlagen.</p>"));

    // The listed breed asks for the permit: a missing one is a message at the field.
    let mut dogs = vec![
        ("csrf", csrf.clone()),
        ("step", "dogs".into()),
        ("action", "next".into()),
        ("dogs.count", "1".into()),
        ("dogs.0.dog_name", "Bello".into()),
        ("dogs.0.breed", "pitbull_terrier".into()),
    ];
    let missing = post(&mut anna, "/services/local-test-dog/form/dogs", &dogs).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        missing.body.contains("href=\"#f-dogs-0-permit_reference\""),
        "{}",
        missing.body
    );
    assert!(
        missing.body.contains("value=\"Bello\""),
        "typed answers are kept"
    );
    dogs.push(("dogs.0.permit_reference", "HH-2026-17".into()));
    let ok = post(&mut anna, "/services/local-test-dog/form/dogs", &dogs).await;
    assert_eq!(
        ok.location(),
        "/services/local-test-dog/form/keeping",
        "{}",
        ok.body
    );

    // Date rule: not more than 14 days ahead (the test clock starts 2026-06-01).
    let mut keeping = vec![
        ("csrf", csrf.clone()),
        ("step", "keeping".into()),
        ("action", "next".into()),
        ("since", "2026-07-30".into()),
    ];
    let late = post(&mut anna, "/services/local-test-dog/form/keeping", &keeping).await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        late.body.contains("Höchstens 14 Tage in der Zukunft."),
        "{}",
        late.body
    );
    keeping[3].1 = "01.06.2026".into();
    let ok = post(&mut anna, "/services/local-test-dog/form/keeping", &keeping).await;
    assert_eq!(
        ok.location(),
        "/services/local-test-dog/review",
        "{}",
        ok.body
    );

    let review = anna.get("/services/local-test-dog/review").await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.body);
    assert!(review.body.contains("Pitbull-Terrier"));
    assert!(review.body.contains("01.06.2026"));
    assert!(review.body.contains("Kirchenallee 1, 20099 Hamburg"));
    let submission = review
        .body
        .split("name=\"submission\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();

    // Without the declaration, nothing is submitted.
    let undeclared = anna
        .post(
            "/services/local-test-dog/submit",
            &[("csrf", &csrf), ("submission", &submission)],
        )
        .await;
    assert_eq!(undeclared.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        app.store
            .applications(&account(&app).await)
            .await
            .unwrap()
            .is_empty()
    );

    let fields = [
        ("csrf", csrf.as_str()),
        ("submission", &submission),
        ("declaration", "yes"),
    ];
    let done = anna.post("/services/local-test-dog/submit", &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let reference_page = done.location().to_owned();
    assert!(
        reference_page.starts_with("/applications/"),
        "{reference_page}"
    );

    // A second click gets the same reference, and nothing new is stored.
    let again = anna.post("/services/local-test-dog/submit", &fields).await;
    assert_eq!(again.location(), reference_page);
    let apps = app.store.applications(&account(&app).await).await.unwrap();
    assert_eq!(apps.len(), 1);

    let confirmation = anna.get(&reference_page).await;
    assert_eq!(confirmation.status, StatusCode::OK);
    assert!(confirmation.body.contains(&apps[0].reference));
    let receipt = anna.get(&format!("{reference_page}/receipt.pdf")).await;
    assert_eq!(receipt.status, StatusCode::OK);
    assert_eq!(receipt.headers["content-type"], "application/pdf");

    // The draft is gone; another account cannot see the application.
    assert!(
        app.store
            .drafts(&account(&app).await, rathaus_web::Clock::now(&app.clock))
            .await
            .unwrap()
            .is_empty()
    );
    let mut bob = app.browser();
    bob.create_account("bob@example.org").await;
    assert_eq!(bob.get(&reference_page).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        bob.get(&format!("{reference_page}/receipt.pdf"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn account(app: &App) -> rathaus_domain::AccountId {
    let email = rathaus_domain::Email::parse("anna@example.org").unwrap();
    app.store
        .account_by_email(&email)
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test]
async fn s4_steps_cannot_be_skipped_by_url() {
    let app = App::new().await;
    let mut anna = signed_in(&app).await;
    let jump = anna.get("/services/local-test-dog/form/keeping").await;
    assert_eq!(jump.status, StatusCode::SEE_OTHER);
    assert_eq!(jump.location(), "/services/local-test-dog/form/owner");
    let review = anna.get("/services/local-test-dog/review").await;
    assert_eq!(review.location(), "/services/local-test-dog/form/owner");
}

#[tokio::test]
async fn s4_a_step_post_without_csrf_token_changes_nothing() {
    let app = App::new().await;
    let mut anna = signed_in(&app).await;
    let mut fields = owner_fields("wrong");
    fields.remove(0);
    let answer = post(&mut anna, "/services/local-test-dog/form/owner", &fields).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(
        app.store
            .drafts(&account(&app).await, rathaus_web::Clock::now(&app.clock))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn z3_an_undeclared_field_is_refused_and_nothing_stored() {
    let app = App::new().await;
    let mut anna = signed_in(&app).await;
    let csrf = anna.get("/services/local-test-dog/form/owner").await.csrf();
    let mut fields = owner_fields(&csrf);
    fields.push(("is_admin", "true".into()));
    let answer = post(&mut anna, "/services/local-test-dog/form/owner", &fields).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    // A field of a later step posted early is undeclared on this step, too.
    let mut fields = owner_fields(&csrf);
    fields.push(("since", "2026-06-01".into()));
    let answer = post(&mut anna, "/services/local-test-dog/form/owner", &fields).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        app.store
            .drafts(&account(&app).await, rathaus_web::Clock::now(&app.clock))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn v1_nul_in_an_answer_is_a_message_not_a_crash() {
    let app = App::new().await;
    let mut anna = signed_in(&app).await;
    let csrf = anna.get("/services/local-test-dog/form/owner").await.csrf();
    let mut fields = owner_fields(&csrf);
    fields[4].1 = "Mül\u{0}ler".into();
    let answer = post(&mut anna, "/services/local-test-dog/form/owner", &fields).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("Steuerzeichen"), "{}", answer.body);
}

#[tokio::test]
async fn a_post_after_the_session_expired_goes_to_sign_in() {
    let app = App::new().await;
    let mut anna = signed_in(&app).await;
    let csrf = anna.get("/services/local-test-dog/form/owner").await.csrf();
    app.advance(chrono::Duration::minutes(31));
    let answer = post(
        &mut anna,
        "/services/local-test-dog/form/owner",
        &owner_fields(&csrf),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert!(
        answer.location().starts_with("/account/sign-in"),
        "{}",
        answer.location()
    );
}

#[tokio::test]
async fn the_submission_schema_is_published_for_online_services() {
    let app = App::new().await;
    let mut anyone = app.browser();
    let answer = anyone.get("/api/v1/services/local-test-dog/schema").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["content-type"], "application/schema+json");
    let schema: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    let answers = &schema["properties"]["answers"];
    assert_eq!(answers["additionalProperties"], false);
    assert_eq!(answers["properties"]["dogs"]["maxItems"], 3);
    assert!(
        answers["required"]
            .as_array()
            .unwrap()
            .contains(&"owner_name".into())
    );
    let missing = anyone
        .get("/api/v1/services/local-nothing-here/schema")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.headers["content-type"], "application/problem+json");
}

/// A multipart post of text fields and files, as a browser sends it.
async fn post_multipart(
    browser: &mut support::Browser<'_>,
    path: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, Vec<u8>)],
) -> support::Answer {
    let boundary = "----rathaus-test-boundary-4711";
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
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    browser
        .send(
            http::Request::post(path)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(axum::body::Body::from(body))
                .unwrap(),
        )
        .await
}

async fn to_keeping_step(app: &App) -> (support::Browser<'_>, String) {
    let mut anna = signed_in(app).await;
    let csrf = anna.get("/services/local-test-dog/form/owner").await.csrf();
    let owner = post(
        &mut anna,
        "/services/local-test-dog/form/owner",
        &owner_fields(&csrf),
    )
    .await;
    assert_eq!(owner.status, StatusCode::SEE_OTHER);
    let dogs = vec![
        ("csrf", csrf.clone()),
        ("step", "dogs".into()),
        ("action", "next".into()),
        ("dogs.count", "1".into()),
        ("dogs.0.dog_name", "Bello".into()),
        ("dogs.0.breed", "mixed".into()),
    ];
    let answer = post(&mut anna, "/services/local-test-dog/form/dogs", &dogs).await;
    assert_eq!(answer.location(), "/services/local-test-dog/form/keeping");
    (anna, csrf)
}

#[tokio::test]
async fn u1_uploads_are_checked_by_content_size_and_count() {
    let app = App::new().await;
    let (mut anna, csrf) = to_keeping_step(&app).await;
    let path = "/services/local-test-dog/form/keeping";
    let fields = [
        ("csrf", csrf.as_str()),
        ("step", "keeping"),
        ("action", "next"),
        ("since", "2026-06-01"),
    ];
    let pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n".to_vec();

    // A text file named .pdf: refused by its content.
    let fake = post_multipart(
        &mut anna,
        path,
        &fields,
        &[("insurance_proof", "police.pdf", b"just text".to_vec())],
    )
    .await;
    assert_eq!(
        fake.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        fake.body
    );
    assert!(fake.body.contains("der Inhalt zählt"), "{}", fake.body);

    // Larger than the field's 1 MB, though within the portal's upload limit.
    let mut big = pdf.clone();
    big.resize(1024 * 1024 + 10, b' ');
    let large = post_multipart(
        &mut anna,
        path,
        &fields,
        &[("insurance_proof", "gross.pdf", big)],
    )
    .await;
    assert_eq!(large.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(large.body.contains("größer als 1 MB"), "{}", large.body);

    // Three files where two are allowed.
    let three = vec![
        ("insurance_proof", "../../etc/a.pdf", pdf.clone()),
        ("insurance_proof", "b.pdf", pdf.clone()),
        ("insurance_proof", "c.pdf", pdf.clone()),
    ];
    let many = post_multipart(&mut anna, path, &fields, &three).await;
    assert_eq!(many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(many.body.contains("höchstens 2 Dateien"), "{}", many.body);

    // The two that fit were kept (nothing typed or uploaded is lost on a message), with the
    // path stripped from the name; going on without new files now works.
    let ok = post_multipart(&mut anna, path, &fields, &[]).await;
    assert_eq!(
        ok.location(),
        "/services/local-test-dog/review",
        "{}",
        ok.body
    );
    let review = anna.get("/services/local-test-dog/review").await;
    assert!(review.body.contains("a.pdf"), "{}", review.body);
    assert!(review.body.contains("b.pdf"), "{}", review.body);
    assert!(!review.body.contains("c.pdf"), "{}", review.body);
    assert!(!review.body.contains("../"), "{}", review.body);
}

#[tokio::test]
async fn v2_an_oversized_post_is_refused_quickly() {
    let app = App::new().await;
    let mut anna = signed_in(&app).await;
    let csrf = anna.get("/services/local-test-dog/form/owner").await.csrf();
    let huge = "x".repeat(2 * 1024 * 1024);
    let answer = anna
        .post(
            "/services/local-test-dog/form/owner",
            &[
                ("csrf", &csrf),
                ("step", "owner"),
                ("owner_name.given_names", &huge),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// A stand-in for `clamd` that speaks its INSTREAM protocol and finds the EICAR test string.
async fn fake_clamd() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut command = [0u8; 10];
                socket.read_exact(&mut command).await.unwrap();
                assert_eq!(&command, b"zINSTREAM\0");
                let mut content = Vec::new();
                loop {
                    let mut len = [0u8; 4];
                    socket.read_exact(&mut len).await.unwrap();
                    let len = u32::from_be_bytes(len) as usize;
                    if len == 0 {
                        break;
                    }
                    let mut chunk = vec![0; len];
                    socket.read_exact(&mut chunk).await.unwrap();
                    content.extend(chunk);
                }
                let eicar = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE";
                let reply = if content.windows(eicar.len()).any(|w| w == eicar) {
                    "stream: Eicar-Test-Signature FOUND\0"
                } else {
                    "stream: OK\0"
                };
                socket.write_all(reply.as_bytes()).await.unwrap();
            });
        }
    });
    address
}

#[tokio::test]
async fn u1_the_virus_scanner_refuses_eicar_and_nothing_is_stored() {
    let scanner = rathaus_portal::scan::Clamd {
        address: fake_clamd().await,
        timeout: std::time::Duration::from_secs(5),
    };
    let app = App::with(support::Options {
        scanner: Some(std::sync::Arc::new(scanner)),
        ..support::Options::default()
    })
    .await;
    let (mut anna, csrf) = to_keeping_step(&app).await;
    let path = "/services/local-test-dog/form/keeping";
    let fields = [
        ("csrf", csrf.as_str()),
        ("step", "keeping"),
        ("action", "next"),
        ("since", "2026-06-01"),
    ];
    let mut infected = b"%PDF-1.7\n".to_vec();
    infected.extend_from_slice(
        br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    );
    let answer = post_multipart(
        &mut anna,
        path,
        &fields,
        &[("insurance_proof", "eicar.pdf", infected)],
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.body
    );
    assert!(answer.body.contains("Schadsoftware"), "{}", answer.body);
    let clean = b"%PDF-1.7\n%%EOF\n".to_vec();
    let ok = post_multipart(
        &mut anna,
        path,
        &fields,
        &[("insurance_proof", "police.pdf", clean)],
    )
    .await;
    assert_eq!(
        ok.location(),
        "/services/local-test-dog/review",
        "{}",
        ok.body
    );
    let review = anna.get("/services/local-test-dog/review").await;
    assert!(review.body.contains("police.pdf"));
    assert!(!review.body.contains("eicar.pdf"));
}

#[tokio::test]
async fn r1_drafts_expire_and_the_job_deletes_them_with_their_files() {
    let app = App::new().await;
    let (mut anna, csrf) = to_keeping_step(&app).await;
    let pdf = b"%PDF-1.7\n%%EOF\n".to_vec();
    let fields = [
        ("csrf", csrf.as_str()),
        ("step", "keeping"),
        ("action", "save"),
        ("since", "2026-06-01"),
    ];
    let saved = post_multipart(
        &mut anna,
        "/services/local-test-dog/form/keeping",
        &fields,
        &[("insurance_proof", "police.pdf", pdf)],
    )
    .await;
    assert_eq!(saved.location(), "/applications?saved=1");
    let listed = anna.get("/applications?saved=1").await;
    assert!(listed.body.contains("Testhund anmelden"), "{}", listed.body);
    let now = rathaus_web::Clock::now(&app.clock);
    let id = account(&app).await;
    assert_eq!(app.store.drafts(&id, now).await.unwrap().len(), 1);

    // Thirty days later the draft is past its retention: invisible at once, deleted by the job.
    app.advance(chrono::Duration::days(30) + chrono::Duration::minutes(1));
    let now = rathaus_web::Clock::now(&app.clock);
    assert!(app.store.drafts(&id, now).await.unwrap().is_empty());
    let report = app.store.purge_expired(now).await.unwrap();
    assert_eq!(report.drafts, 1);
    // Signing in again (the session has ended) starts the form afresh.
    anna.sign_in("anna@example.org", support::PASSWORD).await;
    let start = anna.get(FORM).await;
    assert_eq!(start.location(), "/services/local-test-dog/form/owner");
}

#[tokio::test]
async fn a_tampered_hidden_field_changes_nothing_it_should_not() {
    let app = App::new().await;
    let mut anna = signed_in(&app).await;
    let csrf = anna.get("/services/local-test-dog/form/owner").await.csrf();
    let owner = post(
        &mut anna,
        "/services/local-test-dog/form/owner",
        &owner_fields(&csrf),
    )
    .await;
    assert_eq!(owner.status, StatusCode::SEE_OTHER);
    // The group's hidden entry count claims 999 entries: at most `max_items` (3) are read.
    let dogs = vec![
        ("csrf", csrf.clone()),
        ("step", "keeping".into()),
        ("action", "next".into()),
        ("dogs.count", "999".into()),
        ("dogs.0.dog_name", "Bello".into()),
        ("dogs.0.breed", "mixed".into()),
    ];
    let answer = post(&mut anna, "/services/local-test-dog/form/dogs", &dogs).await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.body
    );
    assert_eq!(
        answer
            .body
            .matches("class=\"kern-fieldset form-item\"")
            .count(),
        3
    );
    // An entry index beyond the group's limit is not a field of this form.
    let beyond = vec![
        ("csrf", csrf.clone()),
        ("step", "dogs".into()),
        ("action", "next".into()),
        ("dogs.count", "1".into()),
        ("dogs.7.dog_name", "Bello".into()),
    ];
    let answer = post(&mut anna, "/services/local-test-dog/form/dogs", &beyond).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    // The hidden `step` names another step than the URL: the URL decides, the step is not
    // skipped.
    let answer = anna.get("/services/local-test-dog/form/keeping").await;
    assert_eq!(answer.location(), "/services/local-test-dog/form/dogs");
}
