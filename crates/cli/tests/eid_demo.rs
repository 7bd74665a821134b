//! Level `high` in `rathaus demo`, over real HTTP: the residence registration refuses a `basic`
//! account and links to the level page, the demo's in-process TEST identity provider lends
//! Erika Mustermann's identity, and the citizen is back at the form with a new session (A7, A8).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Browser, Demo, get, link_in};

/// Residence registration: requires `high`.
const RESIDENCE_FORM: &str = "/services/99115005104000/form";

#[tokio::test]
async fn a7_a8_the_demo_raises_an_account_to_high_with_the_test_provider() {
    let demo = Demo::start(&[]);
    let idp = demo
        .test_idp
        .clone()
        .expect("the demo prints `Test eID provider: http://…`");
    let (status, _, page) = get(&format!("{idp}/")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("TEST identity provider — not a real eID"),
        "{page}"
    );
    assert!(page.contains("Erika Mustermann"));

    // A confirmed, signed-in account at level basic.
    let mut anna = Browser::new(&demo.portal);
    let mails = demo.mail_count();
    let registered = anna
        .submit(
            "/account/register",
            "/account/register",
            &[
                ("email", "anna@example.org"),
                ("password", "Ein langer Satz als Passwort"),
            ],
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
    let signed_in = anna
        .submit(
            "/account/sign-in",
            "/account/sign-in",
            &[
                ("email", "anna@example.org"),
                ("password", "Ein langer Satz als Passwort"),
            ],
        )
        .await;
    assert_eq!(signed_in.status, 303);
    let basic_session = anna.session_cookie().unwrap();

    // The form needs `high` and says where to raise it (A7).
    let gate = anna.get(RESIDENCE_FORM).await;
    assert_eq!(gate.status, 403, "{}", gate.body);
    let raise = "/account/level?return_to=%2Fservices%2F99115005104000%2Fform";
    assert!(
        gate.body.contains(&format!("href=\"{raise}\"")),
        "{}",
        gate.body
    );
    let level = anna.get(raise).await;
    assert_eq!(level.status, 200);
    let csp = level.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains(&format!("form-action 'self' {idp}")), "{csp}");

    // Off to the test provider and back as Erika Mustermann.
    let started = anna
        .post(
            "/account/level/eid",
            &[("csrf", &level.csrf()), ("return_to", RESIDENCE_FORM)],
        )
        .await;
    assert_eq!(started.status, 303, "{}", started.body);
    let authorize = started.location().to_owned();
    assert!(
        authorize.starts_with(&format!("{idp}/authorize?")),
        "{authorize}"
    );
    let chooser = anna.get(&authorize).await;
    assert_eq!(chooser.status, 200);
    assert!(chooser.body.contains("Als Erika Mustermann anmelden"));
    let query = authorize.split_once('?').unwrap().1;
    let mut fields: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    fields.push(("identity".into(), "erika".into()));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let chosen = anna.post(&format!("{idp}/authorize"), &fields).await;
    assert_eq!(chosen.status, 303);
    let callback = chosen.location().to_owned();
    assert!(
        callback.starts_with(&format!("{}/account/level/eid/callback?", demo.portal)),
        "{callback}"
    );
    let back = anna.get(&callback).await;
    assert_eq!(back.status, 303, "{}", back.body);
    assert_eq!(back.location(), RESIDENCE_FORM);
    assert_ne!(
        anna.session_cookie().unwrap(),
        basic_session,
        "A8: a new session"
    );

    // Now the form opens.
    let form = anna.get(RESIDENCE_FORM).await;
    assert_eq!(form.status, 303, "{}", form.body);
    assert!(
        form.location()
            .starts_with("/services/99115005104000/form/")
    );
    let account = anna.get("/api/v1/account").await;
    assert!(
        account.body.contains("\"level\":\"high\""),
        "{}",
        account.body
    );

    // The old session is gone.
    let mut old = Browser::new(&demo.portal);
    old.cookies.insert("rathaus_session".into(), basic_session);
    assert_eq!(old.get("/account").await.status, 303);
}
