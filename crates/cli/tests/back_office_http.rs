//! The back office with real processes (issue 5): `rathaus clerk add` writes a clerk into a
//! node's database (argon2id, weak passwords refused, A1–A3), and the demo's clerks sign in at
//! their node over HTTP and see only their own authority's inbox (Z2).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::Stdio;

use rathaus_domain::{ClerkRole, Email};

fn clerk_add(database_url: &str, email: &str, password: &str, extra: &[&str]) -> (bool, String) {
    let mut child = common::rathaus()
        .args([
            "clerk",
            "add",
            "--node",
            "kundenzentren",
            "--authority",
            "kundenzentrum-altona",
            "--email",
            email,
            "--name",
            "Erika Muster",
            "--database-url",
            database_url,
        ])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn a2_a3_clerk_add_refuses_weak_passwords_and_stores_an_argon2id_hash() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("kundenzentren.db").display());
    let (ok, text) = clerk_add(&url, "erika@altona.example.org", "zu kurz", &[]);
    assert!(!ok && text.contains("at least 12 characters"), "{text}");
    let (ok, text) = clerk_add(&url, "erika@altona.example.org", "passwordpassword", &[]);
    assert!(!ok && text.contains("common"), "{text}");
    let (ok, text) = clerk_add(
        &url,
        "erika@altona.example.org",
        "Ein langer Satz als Passwort",
        &["--role", "lead"],
    );
    assert!(ok, "{text}");
    assert!(text.contains("Clerk erika@altona.example.org (lead) added"));
    let (ok, text) = clerk_add(
        &url,
        "Erika@Altona.example.org",
        "Ein langer Satz als Passwort",
        &[],
    );
    assert!(!ok && text.contains("exists"), "{text}");
    // Another authority than the node's, or another node's database: refused.
    let mut other = common::rathaus()
        .args([
            "clerk",
            "add",
            "--node",
            "jugendaemter",
            "--authority",
            "jugendamt-altona",
            "--email",
            "otto@altona.example.org",
            "--name",
            "Otto",
            "--database-url",
            &url,
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(other.stdin.take().unwrap(), "Ein langer Satz als Passwort").unwrap();
    let output = other.wait_with_output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("belongs to node `kundenzentren`"));

    let store = rathaus_store::open(&url, &Default::default())
        .await
        .unwrap();
    let clerk = store
        .clerk_by_email(&Email::parse("erika@altona.example.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(clerk.authority, "kundenzentrum-altona");
    assert_eq!(clerk.role, ClerkRole::Lead);
    assert!(
        clerk
            .password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        clerk.password_hash
    );
    let identity = store.node_identity().await.unwrap().unwrap();
    assert_eq!(identity.node.as_str(), "kundenzentren");
    let audit = store.audit_entries(10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert!(!audit[0].detail.contains("Passwort"));
    store.close().await;
}

/// Signs in at a node's back office; returns the session cookie pair (`name=value`).
async fn sign_in(node: &str, email: &str, password: &str) -> (u16, Option<String>) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = client
        .get(format!("{node}/back-office/sign-in"))
        .send()
        .await
        .unwrap();
    let cookie = form.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body = form.text().await.unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker).unwrap() + marker.len();
    let csrf = body[start..].split('"').next().unwrap().to_owned();
    let answer = client
        .post(format!("{node}/back-office/sign-in"))
        .header("cookie", cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let session = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("rathaus_clerk="));
    (answer.status().as_u16(), session)
}

#[tokio::test]
async fn z2_the_demos_clerks_sign_in_at_their_node_and_see_their_own_inbox() {
    let demo = common::Demo::start(&[]);
    let node = |id: &str| {
        demo.nodes
            .iter()
            .find(|(n, _)| n == id)
            .map(|(_, url)| url.clone())
            .unwrap()
    };
    let customer_centres = node("kundenzentren");
    let (status, session) = sign_in(
        &customer_centres,
        "kundenzentrum-altona@behoerde.example",
        "Demo-Sachbearbeitung",
    )
    .await;
    assert_eq!(status, 303);
    let session = session.expect("the plain-HTTP demo sets `rathaus_clerk`");
    let inbox = common::client()
        .get(format!("{customer_centres}/back-office"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(inbox.status().as_u16(), 200);
    let body = inbox.text().await.unwrap();
    assert!(body.contains("Posteingang") && body.contains("Kundenzentrum Altona"));

    // A clerk of another node's authority is unknown here: the same answer as a wrong password.
    let (status, session) = sign_in(
        &customer_centres,
        "jugendamt-altona@behoerde.example",
        "Demo-Sachbearbeitung",
    )
    .await;
    assert_eq!((status, session), (401, None));
    let (status, _) = sign_in(
        &node("jugendaemter"),
        "jugendamt-altona@behoerde.example",
        "Demo-Sachbearbeitung",
    )
    .await;
    assert_eq!(status, 303);
}
