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
    let mut child = common::rathaus()
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
    let _ = child.kill();
    let _ = child.wait();
    database.cleanup().await.unwrap();
}
