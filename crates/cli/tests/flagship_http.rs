#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The five flagship online services over real HTTP against `rathaus demo` (issue 4): for each,
//! the messages of its first step posted empty, a logic branch that asks more and one whose
//! questions must not reach the review, a rule across fields or dates, the upload limits (U1),
//! and the whole way through review and submit to a reference, a PDF receipt and the encrypted
//! delivery acknowledged by the authority node. One more test covers a double submit, a value
//! for an undeclared field (Z3), a post without CSRF token (S4), a tampered hidden field and a
//! post after the session ended (S2), on the dog registration.
//!
//! One demo per test; the services at level `substantial` and `high` are opened after the
//! demo's TEST identity provider raised the account to `high` (A7).

mod common;

use std::time::{Duration, Instant};

use common::{Answer, Browser, Demo, confirm_account, register_account};

const PASSWORD: &str = "Ein langer Satz als Passwort";

const DOG: &str = "99110009104000";
const PARKING: &str = "99108001001000";
const DAYCARE: &str = "local-daycare-voucher";
const BUILDING: &str = "99012008001000";
const RESIDENCE: &str = "99115005104000";

/// A small but real PDF.
const PDF: &[u8] =
    b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

/// A real 1 × 1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// Text that claims to be a PDF by its name only.
const FAKE_PDF: &[u8] = b"Dies ist kein PDF, nur Text mit der Endung .pdf\n";

/// A PDF just over `mb` megabytes.
fn pdf_over(mb: usize) -> Vec<u8> {
    let mut big = PDF.to_vec();
    big.resize(mb * 1024 * 1024 + 1, b' ');
    big
}

/// A date `offset` days from today as date pickers send it: the demo runs on the system clock.
/// The portal's "today" is Berlin's; every date here keeps a margin of days, so the hour of the
/// run does not matter.
fn day(offset: i64) -> String {
    let today = rathaus_web::Clock::now(&rathaus_web::SystemClock).date_naive();
    (today + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

fn form_path(key: &str) -> String {
    format!("/services/{key}/form")
}

fn step_path(key: &str, step: &str) -> String {
    format!("/services/{key}/form/{step}")
}

fn review_path(key: &str) -> String {
    format!("/services/{key}/review")
}

// ---- the citizen ------------------------------------------------------------------------------

/// Registers, confirms and signs in an account at level `basic`.
async fn citizen(demo: &Demo, email: &str) -> Browser {
    let mut browser = Browser::new(&demo.portal);
    let mails = demo.mail_count();
    register_account(&mut browser, email, PASSWORD).await;
    let mail = demo.newest_mail("confirm", mails);
    confirm_account(&mut browser, &mail, &demo.portal).await;
    sign_in(&mut browser, email).await;
    browser
}

async fn sign_in(browser: &mut Browser, email: &str) {
    let signed_in = browser
        .submit(
            "/account/sign-in",
            "/account/sign-in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
}

/// The service refuses a password session below its level and links to the level page; the
/// demo's TEST identity provider lends Erika Mustermann's identity (level `high`), and the
/// citizen is back at the form.
async fn raise_to_high(demo: &Demo, browser: &mut Browser, key: &str) {
    let form = form_path(key);
    let gate = browser.get(&form).await;
    assert_eq!(
        gate.status, 403,
        "{key} needs a higher level: {}",
        gate.body
    );
    let raise = format!("/account/level?return_to={}", form.replace('/', "%2F"));
    assert!(
        gate.body.contains(&format!("href=\"{raise}\"")),
        "{}",
        gate.body
    );
    let level = browser.get(&raise).await;
    assert_eq!(level.status, 200);
    let started = browser
        .post(
            "/account/level/eid",
            &[("csrf", &level.csrf()), ("return_to", &form)],
        )
        .await;
    assert_eq!(started.status, 303, "{}", started.body);
    let authorize = started.location().to_owned();
    let query = authorize.split_once('?').unwrap().1;
    let mut fields: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    fields.push(("identity".into(), "erika".into()));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let idp = demo.test_idp.clone().expect("the demo's test eID provider");
    let chosen = browser.post(&format!("{idp}/authorize"), &fields).await;
    assert_eq!(chosen.status, 303, "{}", chosen.body);
    let callback = chosen.location().to_owned();
    let back = browser.get(&callback).await;
    assert_eq!((back.status, back.location()), (303, form.as_str()));
}

// ---- steps ------------------------------------------------------------------------------------

/// Opens the form and checks that it begins at `first`.
async fn start(browser: &mut Browser, key: &str, first: &str) {
    let start = browser.get(&form_path(key)).await;
    assert_eq!(
        (start.status, start.location()),
        (303, step_path(key, first).as_str()),
        "{}",
        start.body
    );
}

/// Shows a step (it must open) and posts `fields` with its CSRF token, `step` and `action`.
async fn post_step(
    browser: &mut Browser,
    key: &str,
    step: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> Answer {
    let csrf = open_step(browser, key, step).await.csrf();
    let mut all = vec![("csrf", csrf.as_str()), ("step", step), ("action", action)];
    all.extend_from_slice(fields);
    browser.post(&step_path(key, step), &all).await
}

/// Like `post_step`, as `multipart/form-data` with files `(input, file name, content)`.
async fn post_step_files(
    browser: &mut Browser,
    key: &str,
    step: &str,
    action: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> Answer {
    let page = open_step(browser, key, step).await;
    assert!(
        page.body.contains("enctype=\"multipart/form-data\""),
        "{step} has uploads and posts multipart"
    );
    let csrf = page.csrf();
    let mut all = vec![("csrf", csrf.as_str()), ("step", step), ("action", action)];
    all.extend_from_slice(fields);
    let (content_type, body) = multipart(&all, files);
    browser
        .post_body(&step_path(key, step), &content_type, body)
        .await
}

async fn open_step(browser: &mut Browser, key: &str, step: &str) -> Answer {
    let page = browser.get(&step_path(key, step)).await;
    assert_eq!(page.status, 200, "{step} opens: {}", page.location());
    page
}

/// A multipart body as a browser sends it; every file claims to be a PDF, so only the content
/// can tell.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----rathaus-flagship-4711";
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
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The answer moved on to `next` (a step id, or `review`).
#[track_caller]
fn moved_to(answer: &Answer, key: &str, next: &str) {
    let expected = if next == "review" {
        review_path(key)
    } else {
        step_path(key, next)
    };
    assert_eq!(
        (answer.status, answer.location()),
        (303, expected.as_str()),
        "expected to go on to {next}; messages: {:?}",
        summary(&answer.body)
    );
}

/// The error summary's links: (anchor, message).
fn summary(body: &str) -> Vec<(String, String)> {
    let Some(start) = body.find("id=\"error-summary\"") else {
        return Vec::new();
    };
    let end = body[start..]
        .find("</ul>")
        .map_or(body.len(), |e| start + e);
    body[start..end]
        .split("href=\"#")
        .skip(1)
        .map(|link| {
            let (anchor, rest) = link.split_once('"').unwrap();
            let message = rest
                .trim_start_matches('>')
                .split("</a>")
                .next()
                .unwrap()
                .to_owned();
            (anchor.to_owned(), message)
        })
        .collect()
}

/// A 422 whose error summary links exactly the inputs `inputs` (`persons.0.sex`), each to an
/// element on the page (for an address or a name: its first part), in the page's order.
#[track_caller]
fn refused_with(answer: &Answer, inputs: &[&str]) -> Vec<String> {
    assert_eq!(
        answer.status,
        422,
        "expected messages for {inputs:?}: {}",
        answer.location()
    );
    let links = summary(&answer.body);
    let anchors: Vec<&str> = links.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        anchors.len(),
        inputs.len(),
        "expected messages for {inputs:?}, got {links:?}"
    );
    for (anchor, input) in anchors.iter().zip(inputs) {
        let id = format!("f-{}", input.replace('.', "-"));
        assert!(
            *anchor == id || anchor.starts_with(&format!("{id}-")),
            "the summary links {anchor} for {input}: {links:?}"
        );
        assert!(
            answer.body.contains(&format!("id=\"{anchor}\"")),
            "the summary's link #{anchor} leads nowhere on the page"
        );
    }
    // Each message is shown at its field too.
    for (_, message) in &links {
        assert!(
            answer.body.matches(message.as_str()).count() >= 2,
            "„{message}“ is shown at the field too"
        );
    }
    links.into_iter().map(|(_, m)| m).collect()
}

/// A 422 that says `message` somewhere in its error summary.
#[track_caller]
fn refused_saying(answer: &Answer, message: &str) {
    assert_eq!(answer.status, 422, "expected „{message}“");
    let links = summary(&answer.body);
    assert!(
        links.iter().any(|(_, m)| m.contains(message)),
        "expected „{message}“ in {links:?}"
    );
}

async fn review(browser: &mut Browser, key: &str) -> Answer {
    let page = browser.get(&review_path(key)).await;
    assert_eq!(page.status, 200, "review opens: {}", page.location());
    page
}

/// The review's section headings and its rows as `label: value`, without markup.
fn review_text(page: &Answer) -> String {
    let main = page
        .body
        .split("<main")
        .nth(1)
        .unwrap_or(&page.body)
        .split("</main>")
        .next()
        .unwrap();
    let mut text = String::new();
    let mut in_tag = false;
    for c in main.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[track_caller]
fn shows(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "the review shows {needle}: {text}");
    }
}

#[track_caller]
fn hides(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            !text.contains(needle),
            "the review must not show {needle}: {text}"
        );
    }
}

fn submission_of(page: &Answer) -> String {
    page.body
        .split("name=\"submission\" value=\"")
        .nth(1)
        .expect("the review carries the submission id")
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

/// Submits from the review page (first without the declaration), then checks the reference
/// page, the receipt and the delivery. Returns the reference.
async fn submit(browser: &mut Browser, key: &str) -> String {
    let page = review(browser, key).await;
    let csrf = page.csrf();
    let submission = submission_of(&page);
    let submit = format!("/services/{key}/submit");
    let undeclared = browser
        .post(&submit, &[("csrf", &csrf), ("submission", &submission)])
        .await;
    assert_eq!(undeclared.status, 422, "the declaration is needed");
    assert!(undeclared.body.contains("href=\"#declaration\""));
    let done = browser
        .post(
            &submit,
            &[
                ("csrf", &csrf),
                ("submission", &submission),
                ("declaration", "yes"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let location = done.location().to_owned();
    let reference = location
        .strip_prefix("/applications/")
        .unwrap_or_else(|| panic!("{location}"))
        .to_owned();
    // A second click on "submit" finds the first application: the same reference, no second.
    let again = browser
        .post(
            &submit,
            &[
                ("csrf", &csrf),
                ("submission", &submission),
                ("declaration", "yes"),
            ],
        )
        .await;
    assert_eq!((again.status, again.location()), (303, location.as_str()));
    let list = browser.get("/applications").await;
    assert_eq!(
        list.body
            .matches(&format!("href=\"/applications/{reference}\""))
            .count(),
        1,
        "one application for {key}"
    );
    assert!(
        reference.starts_with("HA-") && reference.len() == 17,
        "{reference}"
    );
    let confirmation = browser.get(&location).await;
    assert_eq!(confirmation.status, 200);
    assert!(confirmation.body.contains(&reference));
    let receipt = browser.get(&format!("{location}/receipt.pdf")).await;
    assert_eq!(receipt.status, 200);
    assert_eq!(receipt.headers["content-type"], "application/pdf");
    assert!(receipt.body.starts_with("%PDF-"), "a PDF receipt");
    // The draft is gone with the submit.
    assert_eq!(
        browser.get(&form_path(key)).await.location(),
        step_path(key, first_step(key)),
        "a new start after the submit"
    );
    wait_delivered(browser, &reference).await;
    reference
}

fn first_step(key: &str) -> &'static str {
    match key {
        DOG => "owner",
        PARKING | BUILDING => "applicant",
        DAYCARE => "child",
        _ => "new_home",
    }
}

/// The row of `reference` on `/applications`.
fn application_row(page: &str, reference: &str) -> Option<String> {
    let at = page.find(&format!("href=\"/applications/{reference}\""))?;
    let row = &page[at..];
    Some(row[..row.find("</tr>").unwrap_or(row.len())].to_owned())
}

/// Waits up to 15 s for the authority node's acknowledgement: the envelope, encrypted to the
/// node's key, was delivered.
async fn wait_delivered(browser: &mut Browser, reference: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let list = browser.get("/applications").await;
        assert_eq!(list.status, 200);
        let row = application_row(&list.body, reference)
            .unwrap_or_else(|| panic!("{reference} is listed: {}", list.body));
        if row.contains("<td>Zugestellt</td>") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{reference} was not delivered within 15 s: {row}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---- 1. dog registration (basic) --------------------------------------------------------------

fn dog_owner() -> Vec<(&'static str, &'static str)> {
    vec![
        ("owner_name.given_names", "Anna"),
        ("owner_name.family_name", "Schulz"),
        ("owner_birth_date", "1987-05-14"),
        ("owner_address.street", "Osterstraße"),
        ("owner_address.house_number", "112"),
        ("owner_address.postcode", "20259"),
        ("owner_address.city", "Hamburg"),
    ]
}

fn dog_insurance() -> Vec<(&'static str, &'static str)> {
    vec![
        ("insurer", "Hanseatische Tierhalter-Versicherung"),
        ("policy_number", "TH-2024-77812"),
        ("insurance_meets_minimum", "yes"),
    ]
}

#[tokio::test]
async fn v1_u1_dog_registration_over_http() {
    let demo = Demo::start(&[]);
    let mut anna = citizen(&demo, "anna@example.org").await;
    start(&mut anna, DOG, "owner").await;
    // Later steps cannot be opened before the earlier ones are done (S4).
    let jump = anna.get(&step_path(DOG, "insurance")).await;
    assert_eq!(jump.location(), step_path(DOG, "owner"));

    let empty = post_step(&mut anna, DOG, "owner", "next", &[]).await;
    let messages = refused_with(&empty, &["owner_name", "owner_birth_date", "owner_address"]);
    assert!(messages[0].contains("Ihr Name"), "{messages:?}");
    let owner = post_step(&mut anna, DOG, "owner", "next", &dog_owner()).await;
    moved_to(&owner, DOG, "dog");

    // The listed breed: whether it is a cross is asked, then the dangerous-dog step.
    let born = day(-700);
    let since = day(-30);
    let before_birth = day(-800);
    let mut dog = vec![
        ("dog_name", "Bella"),
        ("dog_sex", "female"),
        ("breed", "rottweiler"),
        ("dog_birth_date", born.as_str()),
        ("shoulder_height", "61"),
        ("chip_number", "276098106543210"),
        ("keeping_since", since.as_str()),
    ];
    let cross = post_step(&mut anna, DOG, "dog", "next", &dog).await;
    refused_with(&cross, &["breed_is_cross"]);
    assert!(cross.body.contains("value=\"Bella\""), "typed answers stay");
    dog.push(("breed_is_cross", "no"));
    // The dates across fields: not kept before the dog was born.
    let mut early = dog.clone();
    early.retain(|(k, _)| *k != "keeping_since");
    early.push(("keeping_since", before_birth.as_str()));
    let early = post_step(&mut anna, DOG, "dog", "next", &early).await;
    refused_with(&early, &["keeping_since"]);
    refused_saying(&early, "nicht vor seiner Geburt");
    // A chip number is 15 digits.
    let mut chip = dog.clone();
    chip.retain(|(k, _)| *k != "chip_number");
    chip.push(("chip_number", "2760 9810 6543"));
    let chip = post_step(&mut anna, DOG, "dog", "next", &chip).await;
    refused_saying(&chip, "genau 15 Ziffern");
    moved_to(
        &post_step(&mut anna, DOG, "dog", "next", &dog).await,
        DOG,
        "insurance",
    );

    let mut insurance = dog_insurance();
    insurance[2].1 = "no";
    let low = post_step(&mut anna, DOG, "insurance", "next", &insurance).await;
    refused_with(&low, &["insurance_meets_minimum"]);
    refused_saying(&low, "mindestens 1 Million Euro");
    let insured = post_step(&mut anna, DOG, "insurance", "next", &dog_insurance()).await;
    moved_to(&insured, DOG, "dangerous_dog");

    // Uploads on the dangerous-dog step (PDF, PNG or JPEG, 10 MB, 3 files).
    let dangerous = [
        ("dangerous_status", "exemption"),
        ("dangerous_reference", "HH-GH-2026-0815"),
    ];
    let fake = post_step_files(
        &mut anna,
        DOG,
        "dangerous_dog",
        "next",
        &dangerous,
        &[("temperament_test", "wesenstest.pdf", FAKE_PDF)],
    )
    .await;
    refused_with(&fake, &["temperament_test"]);
    refused_saying(&fake, "der Inhalt zählt");
    let big = pdf_over(10);
    let large = post_step_files(
        &mut anna,
        DOG,
        "dangerous_dog",
        "next",
        &dangerous,
        &[("temperament_test", "wesenstest.pdf", &big)],
    )
    .await;
    refused_saying(&large, "größer als 10 MB");
    let four = post_step_files(
        &mut anna,
        DOG,
        "dangerous_dog",
        "next",
        &dangerous,
        &[
            ("temperament_test", "wesenstest-1.pdf", PDF),
            ("temperament_test", "wesenstest-2.png", PNG),
            ("temperament_test", "wesenstest-3.pdf", PDF),
            ("temperament_test", "wesenstest-4.pdf", PDF),
        ],
    )
    .await;
    refused_saying(&four, "höchstens 3 Dateien");
    // The three that fit are kept.
    let done = post_step_files(&mut anna, DOG, "dangerous_dog", "next", &dangerous, &[]).await;
    moved_to(&done, DOG, "review");
    let page = review(&mut anna, DOG).await;
    let text = review_text(&page);
    shows(
        &text,
        &[
            "Erlaubnis für gefährliche Hunde",
            "Rottweiler",
            "HH-GH-2026-0815",
            "wesenstest-1.pdf",
            "wesenstest-2.png",
            "wesenstest-3.pdf",
            "Anna Schulz",
            "Osterstraße 112, 20259 Hamburg",
            "Zentrales Hunderegister",
        ],
    );
    hides(&text, &["wesenstest-4", "Rasse oder Kreuzung"]);

    // Another breed after all: the dangerous-dog step and its answers and files are gone, and
    // a posted answer to the hidden cross question is not kept.
    let mut other = dog.clone();
    other.retain(|(k, _)| *k != "breed");
    other.push(("breed", "other"));
    other.push(("breed_description", "Labrador-Mischling"));
    other.retain(|(k, v)| *k != "breed_is_cross" || *v == "no");
    let changed = post_step(&mut anna, DOG, "dog", "next", &other).await;
    moved_to(&changed, DOG, "insurance");
    let page = review(&mut anna, DOG).await;
    let text = review_text(&page);
    shows(
        &text,
        &["Labrador-Mischling", "Hanseatische Tierhalter-Versicherung"],
    );
    hides(
        &text,
        &[
            "Erlaubnis für gefährliche Hunde",
            "Rottweiler",
            "Kreuzung mit dieser Rasse",
            "HH-GH-2026-0815",
            "wesenstest",
        ],
    );
    let dangerous_step = anna.get(&step_path(DOG, "dangerous_dog")).await;
    assert_eq!(dangerous_step.status, 303, "a hidden step does not open");

    submit(&mut anna, DOG).await;
}

// ---- 2. resident parking permit (substantial) -------------------------------------------------

#[tokio::test]
async fn v1_u1_resident_parking_permit_over_http() {
    let demo = Demo::start(&[]);
    let mut erika = citizen(&demo, "erika@example.org").await;
    raise_to_high(&demo, &mut erika, PARKING).await;
    start(&mut erika, PARKING, "applicant").await;

    let empty = post_step(&mut erika, PARKING, "applicant", "next", &[]).await;
    refused_with(&empty, &["given_names", "family_name", "address"]);
    // A partly filled address is a message too.
    let partial = post_step(
        &mut erika,
        PARKING,
        "applicant",
        "next",
        &[
            ("given_names", "Erika"),
            ("family_name", "Mustermann"),
            ("address.street", "Heidestraße"),
            ("address.postcode", "51147"),
        ],
    )
    .await;
    refused_with(&partial, &["address"]);
    // The zone comes from the address: an address outside every residents' parking zone is
    // told so, and the step cannot be completed.
    let outside = post_step(
        &mut erika,
        PARKING,
        "applicant",
        "next",
        &[
            ("given_names", "Erika"),
            ("family_name", "Mustermann"),
            ("address.street", "Sander Damm"),
            ("address.house_number", "8"),
            ("address.postcode", "21029"),
            ("address.city", "Hamburg"),
        ],
    )
    .await;
    refused_with(&outside, &["parking_zone"]);
    refused_saying(
        &outside,
        "An dieser Anschrift gibt es kein Bewohnerparkgebiet",
    );
    let applicant = [
        ("given_names", "Erika"),
        ("family_name", "Mustermann"),
        ("address.street", "Osterstraße"),
        ("address.house_number", "17"),
        ("address.postcode", "20259"),
        ("address.city", "Hamburg"),
    ];
    moved_to(
        &post_step(&mut erika, PARKING, "applicant", "next", &applicant).await,
        PARKING,
        "vehicle",
    );

    // The number plate follows its pattern.
    let plate = post_step_files(
        &mut erika,
        PARKING,
        "vehicle",
        "next",
        &[
            ("number_plate", "HH 12345"),
            ("is_registered_keeper", "yes"),
        ],
        &[("registration_certificate", "fahrzeugschein.png", PNG)],
    )
    .await;
    refused_with(&plate, &["number_plate"]);
    refused_saying(&plate, "deutsches Kennzeichen");
    // Someone else's car: why, and a confirmation, are asked for.
    let borrowed = post_step_files(
        &mut erika,
        PARKING,
        "vehicle",
        "next",
        &[
            ("number_plate", "HH-EM 2024E"),
            ("is_registered_keeper", "no"),
        ],
        &[],
    )
    .await;
    refused_with(&borrowed, &["keeper_relation", "keeper_permission"]);
    // The PNG of the first post was kept; uploads are checked by content, size and count
    // (PDF, PNG or JPEG, 10 MB, 2 files).
    let vehicle = [
        ("number_plate", "HH-EM 2024E"),
        ("is_registered_keeper", "yes"),
        // Hidden for one's own car: not kept.
        ("keeper_relation", "company_car"),
    ];
    let fake = post_step_files(
        &mut erika,
        PARKING,
        "vehicle",
        "next",
        &vehicle,
        &[("registration_certificate", "rueckseite.pdf", FAKE_PDF)],
    )
    .await;
    refused_with(&fake, &["registration_certificate"]);
    refused_saying(&fake, "der Inhalt zählt");
    let big = pdf_over(10);
    let large = post_step_files(
        &mut erika,
        PARKING,
        "vehicle",
        "next",
        &vehicle,
        &[("registration_certificate", "rueckseite.pdf", &big)],
    )
    .await;
    refused_saying(&large, "größer als 10 MB");
    let many = post_step_files(
        &mut erika,
        PARKING,
        "vehicle",
        "next",
        &vehicle,
        &[
            ("registration_certificate", "rueckseite.pdf", PDF),
            ("registration_certificate", "nochmal.pdf", PDF),
        ],
    )
    .await;
    refused_saying(&many, "höchstens 2 Dateien");
    let permission = post_step_files(
        &mut erika,
        PARKING,
        "vehicle",
        "next",
        &vehicle,
        &[("keeper_permission", "arbeitgeber.pdf", PDF)],
    )
    .await;
    moved_to(&permission, PARKING, "permit");

    let renewal = post_step(
        &mut erika,
        PARKING,
        "permit",
        "next",
        &[
            ("application_kind", "renewal"),
            ("current_permit_number", ""),
        ],
    )
    .await;
    refused_with(&renewal, &["duration"]);
    // The fee is worked out by the portal; a posted fee is not what the page sent (Z3).
    let open = open_step(&mut erika, PARKING, "permit").await;
    shows(
        &open.body,
        &[
            "Gebühr",
            "wird ermittelt, sobald die nötigen Angaben vorliegen",
        ],
    );
    let forged = post_step(
        &mut erika,
        PARKING,
        "permit",
        "next",
        &[
            ("application_kind", "first"),
            ("duration", "two_years"),
            ("fee", "0.00"),
        ],
    )
    .await;
    assert_eq!(forged.status, 400, "a posted fee is refused");
    let permit = [
        ("application_kind", "first"),
        // Only asked for a renewal or change: not kept.
        ("current_permit_number", "BP-2023-4711"),
        ("duration", "two_years"),
    ];
    moved_to(
        &post_step(&mut erika, PARKING, "permit", "next", &permit).await,
        PARKING,
        "review",
    );
    let page = review(&mut erika, PARKING).await;
    let text = review_text(&page);
    shows(
        &text,
        &[
            "Erika",
            "Mustermann",
            "Osterstraße 17, 20259 Hamburg",
            "HH-EM 2024E",
            "fahrzeugschein.png",
            "rueckseite.pdf",
            "mein erster Bewohnerparkausweis",
            // The fee and the zone are shown before submitting, worked out by the portal.
            "2 Jahre – 130,00 Euro",
            "Gebühr (vom Portal ermittelt)",
            "130,00 €",
            "Ihre Bewohnerparkzone (vom Portal ermittelt)",
            "E 1 Eimsbüttel-Süd",
            "Landesbetrieb Verkehr",
        ],
    );
    hides(
        &text,
        &[
            "Warum nutzen Sie das Fahrzeug dauerhaft",
            "Firmenwagen",
            "arbeitgeber.pdf",
            "BP-2023-4711",
            "Nummer des bisherigen Ausweises",
            "nochmal.pdf",
        ],
    );
    submit(&mut erika, PARKING).await;
}

// ---- 3. daycare voucher (substantial) ---------------------------------------------------------

#[tokio::test]
async fn v1_u1_daycare_voucher_over_http() {
    let demo = Demo::start(&[]);
    let mut erika = citizen(&demo, "erika@example.org").await;
    raise_to_high(&demo, &mut erika, DAYCARE).await;
    start(&mut erika, DAYCARE, "child").await;

    let empty = post_step(&mut erika, DAYCARE, "child", "next", &[]).await;
    refused_with(&empty, &["child_name", "child_birth_date", "child_address"]);
    let school_child = day(-8 * 365);
    let three = day(-3 * 365 - 40);
    let mut child = vec![
        ("child_name.given_names", "Mia"),
        ("child_name.family_name", "Mustermann"),
        ("child_birth_date", school_child.as_str()),
        ("child_address.street", "Wandsbeker Marktstraße"),
        ("child_address.house_number", "73"),
        ("child_address.postcode", "22041"),
        ("child_address.city", "Hamburg"),
        ("german_main_language", "yes"),
        // Asked only when German is not the main language: not kept.
        ("home_language", "Türkisch"),
    ];
    let old = post_step(&mut erika, DAYCARE, "child", "next", &child).await;
    refused_with(&old, &["child_birth_date"]);
    refused_saying(&old, "bis zur Einschulung");
    child[2].1 = three.as_str();
    moved_to(
        &post_step(&mut erika, DAYCARE, "child", "next", &child).await,
        DAYCARE,
        "care",
    );

    // Care cannot start in the past.
    let past = day(-10);
    let later = day(60);
    let care = post_step(
        &mut erika,
        DAYCARE,
        "care",
        "next",
        &[("care_hours", "h5"), ("care_start", past.as_str())],
    )
    .await;
    refused_with(&care, &["care_start"]);
    refused_saying(&care, "nicht in der Vergangenheit");
    let care = [("care_hours", "h5"), ("care_start", later.as_str())];
    moved_to(
        &post_step(&mut erika, DAYCARE, "care", "next", &care).await,
        DAYCARE,
        "parents",
    );
    // Five hours for a three-year-old: no employment questions, no income step.
    let parent = [
        ("parents.count", "1"),
        ("parents.0.parent_name.given_names", "Erika"),
        ("parents.0.parent_name.family_name", "Mustermann"),
    ];
    let parents = post_step_files(&mut erika, DAYCARE, "parents", "next", &parent, &[]).await;
    moved_to(&parents, DAYCARE, "review");
    let text = review_text(&review(&mut erika, DAYCARE).await);
    shows(
        &text,
        &[
            "Mia Mustermann",
            "5 Stunden",
            "Elternteil 1: Name",
            "Erika Mustermann",
        ],
    );
    hides(
        &text,
        &["Türkisch", "Was trifft zu?", "Einkommen", "Nachweis"],
    );

    // Eight hours: each parent's work is asked, with proof, and then the income.
    let care = [("care_hours", "h8"), ("care_start", later.as_str())];
    moved_to(
        &post_step(&mut erika, DAYCARE, "care", "next", &care).await,
        DAYCARE,
        "parents",
    );
    let review_now = erika.get(&review_path(DAYCARE)).await;
    assert_eq!(
        review_now.location(),
        step_path(DAYCARE, "income"),
        "the income step is new and not done"
    );
    let unanswered = post_step_files(&mut erika, DAYCARE, "parents", "next", &parent, &[]).await;
    refused_with(&unanswered, &["parents.0.employment_status"]);
    let mut employed = parent.to_vec();
    employed.extend([
        ("parents.0.employment_status", "employed"),
        ("parents.0.weekly_hours", "38,5"),
    ]);
    let no_proof = post_step_files(&mut erika, DAYCARE, "parents", "next", &employed, &[]).await;
    refused_with(&no_proof, &["parents.0.employment_proof"]);
    // Uploads inside a group entry (PDF, PNG or JPEG, 10 MB, 3 files).
    let fake = post_step_files(
        &mut erika,
        DAYCARE,
        "parents",
        "next",
        &employed,
        &[("parents.0.employment_proof", "arbeitgeber.pdf", FAKE_PDF)],
    )
    .await;
    refused_with(&fake, &["parents.0.employment_proof"]);
    refused_saying(&fake, "der Inhalt zählt");
    let big = pdf_over(10);
    let large = post_step_files(
        &mut erika,
        DAYCARE,
        "parents",
        "next",
        &employed,
        &[("parents.0.employment_proof", "arbeitgeber.pdf", &big)],
    )
    .await;
    refused_saying(&large, "größer als 10 MB");
    let many = post_step_files(
        &mut erika,
        DAYCARE,
        "parents",
        "next",
        &employed,
        &[
            (
                "parents.0.employment_proof",
                "arbeitgeberbescheinigung.pdf",
                PDF,
            ),
            ("parents.0.employment_proof", "arbeitsvertrag.pdf", PDF),
            ("parents.0.employment_proof", "gehalt.png", PNG),
            ("parents.0.employment_proof", "zuviel.pdf", PDF),
        ],
    )
    .await;
    refused_saying(&many, "höchstens 3 Dateien");
    // A second parent, looking for work (proof optional).
    let added = post_step_files(
        &mut erika,
        DAYCARE,
        "parents",
        "add:parents",
        &employed,
        &[],
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(
        added
            .body
            .contains("name=\"parents.1.parent_name.given_names\"")
    );
    let mut both = employed.clone();
    both[0].1 = "2";
    both.extend([
        ("parents.1.parent_name.given_names", "Max"),
        ("parents.1.parent_name.family_name", "Mustermann"),
        ("parents.1.employment_status", "job_seeking"),
        // Asked only for work or training: not kept.
        ("parents.1.weekly_hours", "20"),
    ]);
    moved_to(
        &post_step_files(&mut erika, DAYCARE, "parents", "next", &both, &[]).await,
        DAYCARE,
        "income",
    );
    let income = [("monthly_income", "3200,50"), ("household_size", "4")];
    let no_proof = post_step_files(&mut erika, DAYCARE, "income", "next", &income, &[]).await;
    refused_with(&no_proof, &["income_proof"]);
    moved_to(
        &post_step_files(
            &mut erika,
            DAYCARE,
            "income",
            "next",
            &income,
            &[("income_proof", "gehaltsabrechnungen.pdf", PDF)],
        )
        .await,
        DAYCARE,
        "review",
    );
    let text = review_text(&review(&mut erika, DAYCARE).await);
    shows(
        &text,
        &[
            "8 Stunden",
            "Elternteil 1: Was trifft zu? angestellt oder verbeamtet",
            "38,5 Stunden",
            "arbeitgeberbescheinigung.pdf",
            "arbeitsvertrag.pdf",
            "gehalt.png",
            "Elternteil 2: Name Max Mustermann",
            "arbeitsuchend",
            "3200,50 Euro",
            "gehaltsabrechnungen.pdf",
            "Fachamt Jugend- und Familienhilfe Wandsbek",
        ],
    );
    hides(&text, &["zuviel.pdf", "Türkisch", "20 Stunden"]);
    submit(&mut erika, DAYCARE).await;
}

// ---- 4. building permit (substantial) ---------------------------------------------------------

#[tokio::test]
async fn v1_u1_building_permit_over_http() {
    let demo = Demo::start(&[]);
    let mut erika = citizen(&demo, "erika@example.org").await;
    raise_to_high(&demo, &mut erika, BUILDING).await;
    start(&mut erika, BUILDING, "applicant").await;

    let empty = post_step(&mut erika, BUILDING, "applicant", "next", &[]).await;
    refused_with(
        &empty,
        &[
            "applicant_kind",
            "applicant_name",
            "applicant_address",
            "applicant_phone",
            "applicant_email",
        ],
    );
    // A company applies: its name is asked for.
    let mut applicant = vec![
        ("applicant_kind", "company"),
        ("applicant_name.given_names", "Erika"),
        ("applicant_name.family_name", "Mustermann"),
        ("applicant_address.street", "Max-Brauer-Allee"),
        ("applicant_address.house_number", "20"),
        ("applicant_address.postcode", "22765"),
        ("applicant_address.city", "Hamburg"),
        ("applicant_phone", "+49 40 428 11-0"),
        ("applicant_email", "erika@example.org"),
    ];
    let company = post_step(&mut erika, BUILDING, "applicant", "next", &applicant).await;
    refused_with(&company, &["company_name"]);
    applicant.push(("company_name", "Mustermann Wohnbau GmbH"));
    moved_to(
        &post_step(&mut erika, BUILDING, "applicant", "next", &applicant).await,
        BUILDING,
        "designer",
    );

    let mut designer = vec![
        ("designer_name.given_names", "Jan"),
        ("designer_name.family_name", "Petersen"),
        ("designer_office", "Petersen Architekten"),
        ("designer_chamber", "other"),
        ("designer_membership_number", "A-12345"),
        ("designer_address.street", "Ballindamm"),
        ("designer_address.house_number", "3"),
        ("designer_address.postcode", "20095"),
        ("designer_address.city", "Hamburg"),
        ("designer_email", "kein-at-zeichen"),
    ];
    let chamber = post_step(&mut erika, BUILDING, "designer", "next", &designer).await;
    refused_with(&chamber, &["designer_chamber_other", "designer_email"]);
    designer[3].1 = "architects_hamburg";
    designer[9].1 = "buero@petersen-architekten.example";
    moved_to(
        &post_step(&mut erika, BUILDING, "designer", "next", &designer).await,
        BUILDING,
        "plot",
    );

    // The plot lies in Bergedorf; the applicant's address is in Altona.
    let mut plot = vec![
        ("plot_address.street", "Sander Damm"),
        ("plot_address.house_number", "8"),
        ("plot_address.postcode", "21029"),
        ("plot_address.city", "Hamburg"),
        ("cadastral_district", "Bergedorf"),
        ("cadastral_flur", ""),
        ("cadastral_parcels", "12a"),
        ("applicant_is_owner", "yes"),
        // Asked only when someone else owns the plot: not kept.
        ("owner_name", "Hans Eigner"),
    ];
    let parcels = post_step_files(&mut erika, BUILDING, "plot", "next", &plot, &[]).await;
    refused_with(&parcels, &["cadastral_parcels"]);
    plot[6].1 = "1234/5, 1236";
    moved_to(
        &post_step_files(&mut erika, BUILDING, "plot", "next", &plot, &[]).await,
        BUILDING,
        "project",
    );

    // A new building on a listed site: costs and the heritage step are asked.
    let mut project = vec![
        ("project_type", "new_building"),
        ("procedure", "simplified"),
        (
            "project_title",
            "Neubau eines Einfamilienhauses mit Carport",
        ),
        (
            "project_description",
            "Einfamilienhaus mit zwei Vollgeschossen und Satteldach.\nCarport an der Grundstücksgrenze.",
        ),
        ("listed_building", "yes"),
    ];
    let costs = post_step(&mut erika, BUILDING, "project", "next", &project).await;
    refused_with(&costs, &["construction_costs"]);
    project.push(("construction_costs", "450000"));
    moved_to(
        &post_step(&mut erika, BUILDING, "project", "next", &project).await,
        BUILDING,
        "heritage",
    );
    let heritage = [("heritage_permit_exists", "yes")];
    let missing = post_step_files(&mut erika, BUILDING, "heritage", "next", &heritage, &[]).await;
    refused_with(&missing, &["heritage_permit"]);
    // PDF only: a real image is refused by its content, whatever its name.
    let image = post_step_files(
        &mut erika,
        BUILDING,
        "heritage",
        "next",
        &heritage,
        &[("heritage_permit", "genehmigung.pdf", PNG)],
    )
    .await;
    refused_saying(&image, "der Inhalt zählt");
    moved_to(
        &post_step_files(
            &mut erika,
            BUILDING,
            "heritage",
            "next",
            &heritage,
            &[("heritage_permit", "denkmalgenehmigung.pdf", PDF)],
        )
        .await,
        BUILDING,
        "documents",
    );

    // Documents: drawings are needed for everything but a demolition.
    let site_plan = ("site_plan", "lageplan.pdf", PDF);
    let description = ("building_description", "baubeschreibung.pdf", PDF);
    let no_drawings = post_step_files(
        &mut erika,
        BUILDING,
        "documents",
        "next",
        &[],
        &[site_plan, description],
    )
    .await;
    refused_with(&no_drawings, &["building_drawings"]);
    let fake = post_step_files(
        &mut erika,
        BUILDING,
        "documents",
        "next",
        &[],
        &[("building_drawings", "grundriss.pdf", FAKE_PDF)],
    )
    .await;
    refused_with(&fake, &["building_drawings"]);
    refused_saying(&fake, "der Inhalt zählt");
    let big = pdf_over(20);
    let large = post_step_files(
        &mut erika,
        BUILDING,
        "documents",
        "next",
        &[],
        &[("site_plan", "lageplan-gross.pdf", &big)],
    )
    .await;
    refused_saying(&large, "größer als 20 MB");
    let many = post_step_files(
        &mut erika,
        BUILDING,
        "documents",
        "next",
        &[],
        &[
            ("site_plan", "lageplan-2.pdf", PDF),
            ("site_plan", "lageplan-3.pdf", PDF),
            ("site_plan", "lageplan-4.pdf", PDF),
        ],
    )
    .await;
    refused_saying(&many, "höchstens 3 Dateien");
    moved_to(
        &post_step_files(
            &mut erika,
            BUILDING,
            "documents",
            "next",
            &[],
            &[
                ("building_drawings", "grundrisse.pdf", PDF),
                ("building_drawings", "ansichten.pdf", PDF),
            ],
        )
        .await,
        BUILDING,
        "review",
    );
    let text = review_text(&review(&mut erika, BUILDING).await);
    shows(
        &text,
        &[
            "Mustermann Wohnbau GmbH",
            "Jan Petersen",
            "Hamburgische Architektenkammer",
            "Sander Damm 8, 21029 Hamburg",
            "1234/5, 1236",
            "450000 Euro",
            "Genehmigung des Denkmalschutzamts",
            "denkmalgenehmigung.pdf",
            "lageplan.pdf",
            "lageplan-3.pdf",
            "grundrisse.pdf",
            "baubeschreibung.pdf",
            // The building authority of the plot's district, not of the applicant's.
            "Zentrum für Wirtschaftsförderung, Bauen und Umwelt Bergedorf – Bauprüfabteilung",
        ],
    );
    hides(
        &text,
        &["Hans Eigner", "lageplan-4.pdf", "Abbruch", "Altona"],
    );

    // A demolition of an unlisted building instead: no costs, no heritage step, and the
    // demolition step.
    let demolition = [
        ("project_type", "demolition"),
        ("procedure", "simplified"),
        ("project_title", "Abbruch eines Einfamilienhauses"),
        (
            "project_description",
            "Abbruch des Wohnhauses, Baujahr 1962, zwei Geschosse, mit Keller.",
        ),
        ("construction_costs", "450000"),
        ("listed_building", "no"),
    ];
    moved_to(
        &post_step(&mut erika, BUILDING, "project", "next", &demolition).await,
        BUILDING,
        "demolition",
    );
    let hazardous = [
        (
            "demolition_object",
            "Einfamilienhaus, Baujahr 1962, zwei Geschosse, mit Keller",
        ),
        ("hazardous_materials", "yes"),
    ];
    let describe =
        post_step_files(&mut erika, BUILDING, "demolition", "next", &hazardous, &[]).await;
    refused_with(&describe, &["hazardous_description"]);
    let mut hazardous = hazardous.to_vec();
    hazardous.push(("hazardous_description", "Asbestzement-Platten auf dem Dach"));
    moved_to(
        &post_step_files(
            &mut erika,
            BUILDING,
            "demolition",
            "next",
            &hazardous,
            &[("hazardous_survey", "schadstoffgutachten.pdf", PDF)],
        )
        .await,
        BUILDING,
        "documents",
    );
    let text = review_text(&review(&mut erika, BUILDING).await);
    shows(
        &text,
        &[
            "Abbruch",
            "Asbestzement-Platten auf dem Dach",
            "schadstoffgutachten.pdf",
        ],
    );
    hides(
        &text,
        &[
            "Genehmigung des Denkmalschutzamts",
            "denkmalgenehmigung.pdf",
            "Geschätzte Baukosten",
            "450000",
        ],
    );
    submit(&mut erika, BUILDING).await;
}

// ---- 5. residence registration (high) ---------------------------------------------------------

#[tokio::test]
async fn v1_u1_residence_registration_over_http() {
    let demo = Demo::start(&[]);
    let mut erika = citizen(&demo, "erika@example.org").await;
    raise_to_high(&demo, &mut erika, RESIDENCE).await;
    start(&mut erika, RESIDENCE, "new_home").await;

    let empty = post_step(&mut erika, RESIDENCE, "new_home", "next", &[]).await;
    refused_with(&empty, &["new_address", "move_in_date", "residence_kind"]);
    let too_early = day(30);
    let moved_in = day(-3);
    let mut new_home = vec![
        ("new_address.street", "Ottenser Hauptstraße"),
        ("new_address.house_number", "10"),
        ("new_address.postcode", "22765"),
        ("new_address.city", "Hamburg"),
        ("new_address_addition", "3. OG links"),
        ("move_in_date", too_early.as_str()),
        ("residence_kind", "secondary"),
    ];
    // More than 14 days ahead, and a secondary residence asks for the main one.
    let early = post_step(&mut erika, RESIDENCE, "new_home", "next", &new_home).await;
    refused_with(&early, &["move_in_date", "main_residence_address"]);
    refused_saying(&early, "höchstens 14 Tage in der Zukunft");
    new_home[5].1 = moved_in.as_str();
    new_home.extend([
        ("main_residence_address.street", "Sachsentor"),
        ("main_residence_address.house_number", "2"),
        ("main_residence_address.postcode", "21029"),
        ("main_residence_address.city", "Hamburg"),
    ]);
    moved_to(
        &post_step(&mut erika, RESIDENCE, "new_home", "next", &new_home).await,
        RESIDENCE,
        "previous_home",
    );

    let mut previous = vec![
        ("moved_from_abroad", "yes"),
        ("previous_address.street", "Bahnhofstraße"),
        ("previous_address.house_number", "5"),
        ("previous_address.postcode", "24103"),
        ("previous_address.city", "Kiel"),
        ("previous_home_kept", "yes"),
    ];
    let abroad = post_step(&mut erika, RESIDENCE, "previous_home", "next", &previous).await;
    refused_with(&abroad, &["moved_from_abroad"]);
    refused_saying(&abroad, "persönlich in einem Kundenzentrum");
    previous[0].1 = "no";
    moved_to(
        &post_step(&mut erika, RESIDENCE, "previous_home", "next", &previous).await,
        RESIDENCE,
        "persons",
    );

    // The people moving in: an adult and a child whose father stays behind.
    let issued = day(-2 * 365);
    let valid = day(8 * 365);
    let before_issue = day(-3 * 365);
    let mut persons = vec![
        ("persons.count", "1"),
        ("persons.0.family_name", "Mustermann"),
        ("persons.0.birth_name", "Gabler"),
        ("persons.0.given_names", "Erika"),
        ("persons.0.sex", "female"),
        ("persons.0.birth_date", "1964-08-12"),
        ("persons.0.birth_place", "Berlin"),
        ("persons.0.german_citizen", "yes"),
        ("persons.0.religion", "other"),
        ("persons.0.marital_status", "divorced"),
        ("persons.0.relation", "first_person"),
        ("persons.0.id_document", "id_card"),
        ("persons.0.id_number", "T22000129"),
        ("persons.0.id_authority", "Freie und Hansestadt Hamburg"),
        ("persons.0.id_issued_on", issued.as_str()),
        ("persons.0.id_valid_until", before_issue.as_str()),
    ];
    let first = post_step(&mut erika, RESIDENCE, "persons", "next", &persons).await;
    refused_with(
        &first,
        &["persons.0.religion_other", "persons.0.id_valid_until"],
    );
    refused_saying(&first, "nach dem Ausstellungsdatum");
    persons[15].1 = valid.as_str();
    persons[8].1 = "none";
    let added = post_step(&mut erika, RESIDENCE, "persons", "add:persons", &persons).await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(added.body.contains("name=\"persons.1.family_name\""));
    persons[0].1 = "2";
    let child_born = day(-6 * 365);
    persons.extend([
        ("persons.1.family_name", "Mustermann"),
        ("persons.1.given_names", "Leon Maximilian"),
        ("persons.1.usual_given_name", "Leon"),
        ("persons.1.sex", "male"),
        ("persons.1.birth_date", child_born.as_str()),
        ("persons.1.birth_place", "Hamburg"),
        ("persons.1.german_citizen", "no"),
        ("persons.1.religion", "none"),
        ("persons.1.marital_status", "single"),
        ("persons.1.relation", "child"),
        ("persons.1.all_guardians_move", "no"),
        ("persons.1.id_document", "none"),
        // Hidden without a document: not kept.
        ("persons.1.id_number", "C0X1Y2Z3"),
    ]);
    let child = post_step(&mut erika, RESIDENCE, "persons", "next", &persons).await;
    refused_with(
        &child,
        &[
            "persons.1.other_nationalities",
            "persons.1.other_guardian_name",
            "persons.1.other_guardian_address",
        ],
    );
    persons.extend([
        ("persons.1.other_nationalities", "dänisch"),
        ("persons.1.other_guardian_name.given_names", "Max"),
        ("persons.1.other_guardian_name.family_name", "Mustermann"),
        ("persons.1.other_guardian_address.street", "Lange Reihe"),
        ("persons.1.other_guardian_address.house_number", "9"),
        ("persons.1.other_guardian_address.postcode", "20099"),
        ("persons.1.other_guardian_address.city", "Hamburg"),
    ]);
    moved_to(
        &post_step(&mut erika, RESIDENCE, "persons", "next", &persons).await,
        RESIDENCE,
        "landlord",
    );

    // The landlord's confirmation as a document (PDF, PNG or JPEG, 10 MB, 2 files).
    let upload = [("landlord_confirmation", "upload")];
    let none = post_step_files(&mut erika, RESIDENCE, "landlord", "next", &upload, &[]).await;
    refused_with(&none, &["landlord_confirmation_file"]);
    let fake = post_step_files(
        &mut erika,
        RESIDENCE,
        "landlord",
        "next",
        &upload,
        &[("landlord_confirmation_file", "bestaetigung.pdf", FAKE_PDF)],
    )
    .await;
    refused_saying(&fake, "der Inhalt zählt");
    let big = pdf_over(10);
    let large = post_step_files(
        &mut erika,
        RESIDENCE,
        "landlord",
        "next",
        &upload,
        &[("landlord_confirmation_file", "bestaetigung.pdf", &big)],
    )
    .await;
    refused_saying(&large, "größer als 10 MB");
    let many = post_step_files(
        &mut erika,
        RESIDENCE,
        "landlord",
        "next",
        &upload,
        &[
            ("landlord_confirmation_file", "wgb-seite-1.pdf", PDF),
            ("landlord_confirmation_file", "wgb-seite-2.png", PNG),
            ("landlord_confirmation_file", "wgb-seite-3.pdf", PDF),
        ],
    )
    .await;
    refused_saying(&many, "höchstens 2 Dateien");
    moved_to(
        &post_step_files(&mut erika, RESIDENCE, "landlord", "next", &upload, &[]).await,
        RESIDENCE,
        "review",
    );
    let text = review_text(&review(&mut erika, RESIDENCE).await);
    shows(
        &text,
        &[
            "Ottenser Hauptstraße 10, 22765 Hamburg",
            "meine Nebenwohnung",
            "Anschrift Ihrer Hauptwohnung Sachsentor 2, 21029 Hamburg",
            "Bahnhofstraße 5, 24103 Kiel",
            "Person 1: Vornamen Erika",
            "Person 2: Vornamen Leon Maximilian",
            "Person 2: Name der sorgeberechtigten Person, die nicht mit einzieht Max Mustermann",
            "wgb-seite-1.pdf",
            "wgb-seite-2.png",
            // Registration happens where the new home is.
            "Kundenzentrum Altona",
        ],
    );
    hides(
        &text,
        &["C0X1Y2Z3", "wgb-seite-3", "Kundenzentrum Bergedorf"],
    );

    // Sole residence after all, and the electronic confirmation: the main residence's address
    // and the uploaded files are gone.
    new_home.truncate(6);
    new_home.push(("residence_kind", "sole"));
    previous[5].1 = "no";
    moved_to(
        &post_step(&mut erika, RESIDENCE, "new_home", "next", &new_home).await,
        RESIDENCE,
        "previous_home",
    );
    let kept = post_step(
        &mut erika,
        RESIDENCE,
        "previous_home",
        "next",
        &[
            ("moved_from_abroad", "no"),
            ("previous_address.street", "Bahnhofstraße"),
            ("previous_address.house_number", "5"),
            ("previous_address.postcode", "24103"),
            ("previous_address.city", "Kiel"),
            ("previous_home_kept", "yes"),
        ],
    )
    .await;
    // Keeping the previous home contradicts "my only home".
    refused_saying(&kept, "nicht Ihre einzige Wohnung");
    moved_to(
        &post_step(&mut erika, RESIDENCE, "previous_home", "next", &previous).await,
        RESIDENCE,
        "persons",
    );
    let reference = [
        ("landlord_confirmation", "reference"),
        ("landlord_reference", "WGB-2026-4711"),
    ];
    moved_to(
        &post_step_files(&mut erika, RESIDENCE, "landlord", "next", &reference, &[]).await,
        RESIDENCE,
        "review",
    );
    let text = review_text(&review(&mut erika, RESIDENCE).await);
    shows(
        &text,
        &[
            "meine einzige Wohnung in Deutschland",
            "WGB-2026-4711",
            "Kundenzentrum Altona",
        ],
    );
    hides(
        &text,
        &[
            "Anschrift Ihrer Hauptwohnung",
            "Sachsentor",
            "wgb-seite",
            "Wohnungsgeberbestätigung",
        ],
    );
    let reference = submit(&mut erika, RESIDENCE).await;
    // Two recipients (issue 5): the registration office and the ID card office of the new home,
    // each with its own copy, both acknowledged.
    let page = erika.get(&format!("/applications/{reference}")).await;
    for office in ["Kundenzentrum Altona", "Personalausweisbehörde Altona"] {
        assert!(
            page.body
                .contains(&format!("<strong>{office}</strong>: Zugestellt")),
            "{office}: {}",
            page.body
        );
    }
    let node = demo.data_dir().join("nodes/kundenzentren.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}?mode=ro", node.display()))
        .await
        .unwrap();
    let cases: Vec<(String, String)> = sqlx::query_as(
        "SELECT authority_id, delivery_id FROM cases WHERE reference = $1 ORDER BY authority_id",
    )
    .bind(&reference)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        cases.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        ["kundenzentrum-altona", "personalausweisbehoerde-altona"]
    );
    assert_ne!(cases[0].1, cases[1].1, "one delivery id per recipient");
}

// ---- double submit, undeclared field, CSRF, tampering, ended session --------------------------

#[tokio::test]
async fn s4_z3_s2_double_submit_undeclared_field_no_token_tampering_and_ended_session() {
    let demo = Demo::start(&[]);
    let mut anna = citizen(&demo, "anna@example.org").await;
    let owner_path = step_path(DOG, "owner");
    let csrf = open_step(&mut anna, DOG, "owner").await.csrf();
    let mut owner = vec![("step", "owner"), ("action", "next")];
    owner.extend(dog_owner());

    // Without the CSRF token: 403, nothing stored (S4).
    let forbidden = anna.post(&owner_path, &owner).await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);
    let mut wrong = owner.clone();
    wrong.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(anna.post(&owner_path, &wrong).await.status, 403);
    // With it, but with a value the form does not declare: 400, nothing stored (Z3).
    let mut with_token = owner.clone();
    with_token.push(("csrf", csrf.as_str()));
    for extra in [("is_admin", "true"), ("chip_number", "276098106543210")] {
        let mut fields = with_token.clone();
        fields.push(extra);
        let refused = anna.post(&owner_path, &fields).await;
        assert_eq!(refused.status, 400, "{extra:?}: {}", refused.body);
        assert!(!refused.body.contains(extra.0), "V3: no echo of the input");
    }
    // A tampered hidden `step`: the URL decides, and the later step's fields are undeclared.
    let mut tampered = with_token.clone();
    tampered[0].1 = "insurance";
    tampered.extend(dog_insurance());
    assert_eq!(anna.post(&owner_path, &tampered).await.status, 400);
    let list = anna.get("/applications").await;
    assert!(
        !list.body.contains("Begonnene Anträge") && !list.body.contains(&form_path(DOG)),
        "nothing was stored: {}",
        list.body
    );

    // The form filled in.
    moved_to(&anna.post(&owner_path, &with_token).await, DOG, "dog");
    let born = day(-1200);
    let since = day(-20);
    let dog = [
        ("dog_name", "Bello"),
        ("dog_sex", "male"),
        ("breed", "other"),
        ("breed_description", "Labrador-Mischling"),
        ("dog_birth_date", born.as_str()),
        ("shoulder_height", "55"),
        ("chip_number", "276098106543210"),
        ("keeping_since", since.as_str()),
    ];
    moved_to(
        &post_step(&mut anna, DOG, "dog", "next", &dog).await,
        DOG,
        "insurance",
    );
    moved_to(
        &post_step(&mut anna, DOG, "insurance", "next", &dog_insurance()).await,
        DOG,
        "review",
    );
    let page = review(&mut anna, DOG).await;
    let submission = submission_of(&page);
    let old_csrf = page.csrf();

    // The session ends (signing out stands in for the 30-minute idle timeout, which the
    // router tests drive with a clock); posts with the old cookie change nothing (S2).
    let old_session = anna.session_cookie().unwrap();
    let out = anna.post("/account/sign-out", &[("csrf", &old_csrf)]).await;
    assert_eq!(out.status, 303);
    let mut stale = Browser::new(&demo.portal);
    stale
        .cookies
        .insert("rathaus_session".into(), old_session.clone());
    let mut insurance = vec![
        ("csrf", old_csrf.as_str()),
        ("step", "insurance"),
        ("action", "next"),
    ];
    insurance.extend(dog_insurance());
    insurance[3].1 = "Betrug & Partner Versicherung";
    let late = stale.post(&step_path(DOG, "insurance"), &insurance).await;
    assert_eq!(late.status, 303, "{}", late.body);
    assert!(
        late.location().starts_with("/account/sign-in"),
        "{}",
        late.location()
    );
    let late_submit = stale
        .post(
            &format!("/services/{DOG}/submit"),
            &[
                ("csrf", old_csrf.as_str()),
                ("submission", submission.as_str()),
                ("declaration", "yes"),
            ],
        )
        .await;
    assert_eq!(late_submit.status, 303);
    assert!(late_submit.location().starts_with("/account/sign-in"));

    sign_in(&mut anna, "anna@example.org").await;
    assert_ne!(anna.session_cookie().unwrap(), old_session);
    let page = review(&mut anna, DOG).await;
    let text = review_text(&page);
    shows(&text, &["Hanseatische Tierhalter-Versicherung"]);
    hides(&text, &["Betrug"]);
    let list = anna.get("/applications").await;
    assert!(list.body.contains("Sie haben noch keinen Antrag gestellt."));

    // A double click on "submit": the same reference, one application.
    let csrf = page.csrf();
    assert_eq!(
        submission_of(&page),
        submission,
        "the draft keeps its submission id"
    );
    let fields = [
        ("csrf", csrf.as_str()),
        ("submission", submission.as_str()),
        ("declaration", "yes"),
    ];
    let submit_path = format!("/services/{DOG}/submit");
    let mut first_tab = Browser::new(&demo.portal);
    first_tab.cookies = anna.cookies.clone();
    let mut second_tab = Browser::new(&demo.portal);
    second_tab.cookies = anna.cookies.clone();
    let (first, second) = tokio::join!(
        first_tab.post(&submit_path, &fields),
        second_tab.post(&submit_path, &fields)
    );
    assert_eq!(first.status, 303, "{}", first.body);
    assert_eq!(second.status, 303, "{}", second.body);
    assert_eq!(first.location(), second.location());
    let again = anna.post(&submit_path, &fields).await;
    assert_eq!(again.location(), first.location());
    let reference = first.location().strip_prefix("/applications/").unwrap();
    let list = anna.get("/applications").await;
    assert_eq!(
        list.body
            .matches(&format!("href=\"/applications/{reference}\""))
            .count(),
        1,
        "{}",
        list.body
    );
    assert_eq!(list.body.matches("<tr><td>").count(), 1, "one application");
    wait_delivered(&mut anna, reference).await;
}

/// The same refusals for the other four flagship services, on their first step: a post without
/// the CSRF token (403), a value the step does not declare or a later step's field under a
/// tampered hidden `step` (400), and a post after the session ended (to sign-in); none of them
/// stores anything. (The double submit of each is checked by `submit`.)
#[tokio::test]
async fn s4_z3_s2_every_flagship_refuses_token_less_undeclared_tampered_and_stale_posts() {
    let demo = Demo::start(&[]);
    let mut erika = citizen(&demo, "erika@example.org").await;
    raise_to_high(&demo, &mut erika, RESIDENCE).await;
    let services = [
        (PARKING, "number_plate"),
        (DAYCARE, "care_hours"),
        (BUILDING, "designer_name"),
        (RESIDENCE, "moved_from_abroad"),
    ];
    let mut tokens = Vec::new();
    for (key, later_field) in services {
        let first = first_step(key);
        start(&mut erika, key, first).await;
        let path = step_path(key, first);
        let csrf = open_step(&mut erika, key, first).await.csrf();
        let base = [("step", first), ("action", "next")];
        let no_token = erika.post(&path, &base).await;
        assert_eq!(no_token.status, 403, "{key}: {}", no_token.body);
        let mut fields = base.to_vec();
        fields.push(("csrf", csrf.as_str()));
        for extra in [
            ("is_admin", "true"),
            ("fee", "0.00"),
            ("parking_zone", "A 1"),
        ] {
            let mut undeclared = fields.clone();
            undeclared.push(extra);
            let refused = erika.post(&path, &undeclared).await;
            assert_eq!(refused.status, 400, "{key} {extra:?}");
            assert!(!refused.body.contains(extra.0), "V3: no echo of the input");
        }
        let mut tampered = fields.clone();
        tampered[0].1 = "review";
        tampered.push((later_field, "x"));
        assert_eq!(erika.post(&path, &tampered).await.status, 400, "{key}");
        let list = erika.get("/applications").await;
        assert!(
            !list.body.contains(&form_path(key)),
            "{key}: nothing was stored: {}",
            list.body
        );
        tokens.push((key, path, csrf));
    }

    // The session ends; posts with the old cookie and token go to sign-in and store nothing.
    let old_session = erika.session_cookie().unwrap();
    let out = erika
        .post("/account/sign-out", &[("csrf", &tokens[0].2)])
        .await;
    assert_eq!(out.status, 303);
    let mut stale = Browser::new(&demo.portal);
    stale.cookies.insert("rathaus_session".into(), old_session);
    for (key, path, csrf) in &tokens {
        let first = first_step(key);
        let late = stale
            .post(path, &[("csrf", csrf), ("step", first), ("action", "save")])
            .await;
        assert_eq!(late.status, 303, "{key}: {}", late.body);
        assert!(late.location().starts_with("/account/sign-in"), "{key}");
    }
    sign_in(&mut erika, "erika@example.org").await;
    let list = erika.get("/applications").await;
    for (key, _, _) in &tokens {
        assert!(!list.body.contains(&form_path(key)), "{key}: {}", list.body);
    }
}
