//! The portal on PostgreSQL: the same binary, a `postgres://` URL (when `DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rathaus_store::testing::TestDatabase;

#[tokio::test]
async fn the_portal_runs_on_postgresql() {
    let Some(database) = TestDatabase::postgres_from_env().await.unwrap() else {
        eprintln!("DATABASE_URL is not set: skipping the PostgreSQL run (CI sets it)");
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mail = tempfile::tempdir().unwrap();
    let mut child = common::rathaus()
        .env("RATHAUS_MAIL__DIR", mail.path())
        .env(
            "RATHAUS_PORTAL__PUBLIC_URL",
            format!("http://127.0.0.1:{port}"),
        )
        .env("RATHAUS_PORTAL__SECURE_COOKIES", "false")
        .args([
            "portal",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            database.url(),
        ])
        .env("RATHAUS_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut ready = false;
    while Instant::now() < deadline && !ready {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            ready = line.contains("portal listening");
            assert!(!line.contains("ERROR"), "{line}");
        }
    }
    assert!(ready, "the portal did not start on PostgreSQL");
    let base = format!("http://127.0.0.1:{port}");
    let (status, body) = common::get_json(&format!("{base}/readyz")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        common::get_json(&format!("{base}/api/v1/services?q=Personalausweis")).await;
    assert_eq!(status, 200);
    assert!(body["total"].as_u64().unwrap() > 0);

    // The Servicekonto on PostgreSQL: register, confirm by the mailed link, sign in, sign out.
    let mut anna = common::Browser::new(&base);
    let registered = anna
        .submit(
            "/account/register",
            "/account/register",
            &[
                ("email", "anna@example.org"),
                ("password", "ein langer Satz auf PostgreSQL"),
            ],
        )
        .await;
    assert_eq!(registered.status, 303, "{}", registered.body);
    let confirm = wait_for_link(mail.path(), &format!("{base}/account/confirm?token="));
    let page = anna.get(&confirm).await;
    let token = confirm.split("token=").nth(1).unwrap();
    let confirmed = anna
        .post(
            "/account/confirm",
            &[("csrf", &page.csrf()), ("token", token)],
        )
        .await;
    assert_eq!(confirmed.status, 200);
    let signed_in = anna
        .submit(
            "/account/sign-in",
            "/account/sign-in",
            &[
                ("email", "anna@example.org"),
                ("password", "ein langer Satz auf PostgreSQL"),
            ],
        )
        .await;
    assert_eq!((signed_in.status, signed_in.location()), (303, "/account"));
    let account = anna.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(account.body.contains("anna@example.org"));
    let out = anna
        .post("/account/sign-out", &[("csrf", &account.csrf())])
        .await;
    assert_eq!(out.status, 303);
    assert_eq!(anna.get("/account").await.status, 303);

    let _ = child.kill();
    let _ = child.wait();
    database.cleanup().await.unwrap();
}

/// Waits (up to 10 s) for a mail file in `dir` with a link starting with `prefix`.
fn wait_for_link(dir: &std::path::Path, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
            if text.contains(prefix) {
                return common::link_in(&text, prefix);
            }
        }
        assert!(Instant::now() < deadline, "no mail with {prefix}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
