//! The mailbox over the real demo (issue 5): a citizen applies for a dog registration, the
//! application is delivered to the responsible authority's node, the demo's clerk asks a question
//! and later decides; the node sends both to the portal on its own, the citizen gets a mail
//! without content, reads the question, replies with a file (through the outbox to the node,
//! where the clerk sees it), and downloads the decision's PDF. Every process is a real
//! `rathaus` with its own database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Answer, Browser, Demo, confirm_account, register_account};

const PASSWORD: &str = "Ein langer Satz als Passwort";
const DOG: &str = "99110009104000";
const CLERK_PASSWORD: &str = "Demo-Sachbearbeitung";
const PDF: &[u8] =
    b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----rathaus-mailbox-4711";
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
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"{file_name}\"\r\nContent-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn citizen(demo: &Demo, email: &str) -> Browser {
    let mut browser = Browser::new(&demo.portal);
    let mails = demo.mail_count();
    register_account(&mut browser, email, PASSWORD).await;
    let mail = demo.newest_mail("confirm", mails);
    confirm_account(&mut browser, &mail, &demo.portal).await;
    let signed_in = browser
        .submit(
            "/account/sign-in",
            "/account/sign-in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    browser
}

async fn step(browser: &mut Browser, name: &str, fields: &[(&str, &str)]) -> Answer {
    let path = format!("/services/{DOG}/form/{name}");
    let csrf = browser.get(&path).await.csrf();
    let mut all = vec![("csrf", csrf.as_str()), ("step", name), ("action", "next")];
    all.extend_from_slice(fields);
    let answer = browser.post(&path, &all).await;
    assert_eq!(answer.status, 303, "{name}: {}", answer.body);
    answer
}

/// A dog registration for an ordinary dog; returns the reference.
async fn apply(browser: &mut Browser) -> String {
    browser.get(&format!("/services/{DOG}/form")).await;
    step(
        browser,
        "owner",
        &[
            ("owner_name.given_names", "Anna"),
            ("owner_name.family_name", "Schulz"),
            ("owner_birth_date", "1987-05-14"),
            ("owner_address.street", "Osterstraße"),
            ("owner_address.house_number", "112"),
            ("owner_address.postcode", "20259"),
            ("owner_address.city", "Hamburg"),
        ],
    )
    .await;
    // The demo runs on the system clock; the dates keep a margin of days.
    let today = rathaus_web::Clock::now(&rathaus_web::SystemClock).date_naive();
    let born = (today - chrono::Duration::days(700)).to_string();
    let since = (today - chrono::Duration::days(30)).to_string();
    step(
        browser,
        "dog",
        &[
            ("dog_name", "Bello"),
            ("dog_sex", "male"),
            ("breed", "other"),
            ("breed_description", "Labrador-Mischling"),
            ("dog_birth_date", born.as_str()),
            ("shoulder_height", "55"),
            ("chip_number", "276098106543211"),
            ("keeping_since", since.as_str()),
        ],
    )
    .await;
    let insured = step(
        browser,
        "insurance",
        &[
            ("insurer", "Hanseatische Tierhalter-Versicherung"),
            ("policy_number", "TH-2024-77812"),
            ("insurance_meets_minimum", "yes"),
        ],
    )
    .await;
    assert_eq!(insured.location(), format!("/services/{DOG}/review"));
    let review = browser.get(&format!("/services/{DOG}/review")).await;
    let submission = review
        .body
        .split("name=\"submission\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let done = browser
        .post(
            &format!("/services/{DOG}/submit"),
            &[
                ("csrf", &review.csrf()),
                ("submission", &submission),
                ("declaration", "yes"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    done.location()
        .strip_prefix("/applications/")
        .unwrap()
        .to_owned()
}

/// Waits 200 ms before the next look, and fails once 20 s have passed since `since`.
async fn wait(what: &str, since: Instant) {
    assert!(
        since.elapsed() < Duration::from_secs(20),
        "{what} did not happen within 20 s"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// The node, authority and case of the application, found in the nodes' databases.
async fn case_at_node(demo: &Demo, reference: &str) -> Option<(String, String, String)> {
    for (node, _) in &demo.nodes {
        let file = demo.data_dir().join(format!("nodes/{node}.db"));
        let Ok(pool) =
            sqlx::SqlitePool::connect(&format!("sqlite:{}?mode=ro", file.display())).await
        else {
            continue;
        };
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT authority_id, delivery_id FROM cases WHERE reference = $1")
                .bind(reference)
                .fetch_optional(&pool)
                .await
                .ok()
                .flatten();
        pool.close().await;
        if let Some((authority, case)) = row {
            return Some((node.clone(), authority, case));
        }
    }
    None
}

/// Posts the message form of a case with the page's token.
async fn write(clerk: &mut Browser, case: &str, fields: &[(&str, &str)]) -> Answer {
    let page = clerk.get(&format!("/back-office/cases/{case}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.csrf();
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    let (content_type, body) = multipart(&all, &[]);
    clerk
        .post_body(
            &format!("/back-office/cases/{case}/messages"),
            &content_type,
            body,
        )
        .await
}

/// The first link on a page that starts with `prefix`, up to its closing quote.
fn first_link(body: &str, prefix: &str) -> String {
    let at = body
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix}: {body}"));
    let end = body[at..].find('"').unwrap() + at;
    body[at..end].to_owned()
}

#[tokio::test]
async fn r7_submit_question_reply_and_decision_over_the_real_demo() {
    let demo = Demo::start(&[]);
    let mut anna = citizen(&demo, "anna@example.org").await;
    let reference = apply(&mut anna).await;
    let since = Instant::now();
    let found = loop {
        if let Some(found) = case_at_node(&demo, &reference).await {
            break found;
        }
        wait("the delivery", since).await;
    };
    let (node, authority, case) = found;
    let node = demo
        .nodes
        .iter()
        .find(|(id, _)| *id == node)
        .map(|(_, url)| url.clone())
        .unwrap();

    // The demo's clerk of that authority asks a question.
    let mut clerk = Browser::new(&node);
    let signed_in = clerk
        .submit(
            "/back-office/sign-in",
            "/back-office/sign-in",
            &[
                ("email", &format!("{authority}@behoerde.example")),
                ("password", CLERK_PASSWORD),
            ],
        )
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let mails = demo.mail_count();
    let asked = write(
        &mut clerk,
        &case,
        &[
            ("kind", "question"),
            ("subject", "Rückfrage zum Chip"),
            ("text", "Bitte senden Sie uns den Impfpass von Bello."),
        ],
    )
    .await;
    assert_eq!(asked.status, 303, "{}", asked.body);

    // The node sends it on its own; the citizen is told by a mail without content.
    let since = Instant::now();
    while demo.mail_count() <= mails {
        wait("the mail about the question", since).await;
    }
    let mail = demo.newest_mail("new-message", mails);
    assert!(mail.contains("/account/mailbox"), "{mail}");
    for secret in ["Rückfrage", "Chip", "Impfpass", "Bello", reference.as_str()] {
        assert!(!mail.contains(secret), "{secret} in the mail: {mail}");
    }
    let list = anna.get("/account/mailbox").await;
    assert!(list.body.contains("Rückfrage zum Chip"), "{}", list.body);
    let message = first_link(&list.body, "/account/mailbox/");
    let shown = anna.get(&message).await;
    assert!(
        shown
            .body
            .contains("Bitte senden Sie uns den Impfpass von Bello.")
    );

    // The reply with a file goes to the node; the clerk sees it.
    let (content_type, body) = multipart(
        &[("csrf", &shown.csrf()), ("text", "Der Impfpass liegt bei.")],
        &[("files", "impfpass.pdf", PDF)],
    );
    let replied = anna
        .post_body(&format!("{message}/reply"), &content_type, body)
        .await;
    assert_eq!(replied.status, 303, "{}", replied.body);
    let since = Instant::now();
    while !clerk
        .get(&format!("/back-office/cases/{case}"))
        .await
        .body
        .contains("Der Impfpass liegt bei.")
    {
        wait("the reply at the node", since).await;
    }

    // The decision reaches the citizen as a PDF, and the application is decided.
    let decided = write(
        &mut clerk,
        &case,
        &[
            ("kind", "decision"),
            ("subject", "Ihr Bescheid"),
            ("text", "Anbei erhalten Sie den Bescheid."),
            ("decision", "Der Hund Bello ist angemeldet."),
        ],
    )
    .await;
    assert_eq!(decided.status, 303, "{}", decided.body);
    let since = Instant::now();
    while !anna
        .get("/account/mailbox")
        .await
        .body
        .contains("Ihr Bescheid")
    {
        wait("the decision in the mailbox", since).await;
    }
    let list = anna.get("/account/mailbox").await;
    let at = list.body.find("Ihr Bescheid").unwrap();
    let decision = first_link(
        &list.body[..at][list.body[..at].rfind("href=\"").unwrap() + 6..],
        "/account/mailbox/",
    );
    let shown = anna.get(&decision).await;
    let pdf = anna
        .get(&first_link(&shown.body, &format!("{decision}/files/")))
        .await;
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    assert!(pdf.body.starts_with("%PDF-"));
    let since = Instant::now();
    while !anna
        .get(&format!("/applications/{reference}"))
        .await
        .body
        .contains("Entschieden")
    {
        wait("the decided status", since).await;
    }
}
