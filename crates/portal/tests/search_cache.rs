//! The node's cache of search answers (issue 7): a repeated query is answered from it with the
//! same result as the first time, over the API and the search page; browsing and over-long
//! queries are not cached.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::App;

async fn api(app: &App, query: &str) -> serde_json::Value {
    let answer = app
        .browser()
        .get(&format!("/api/v1/services?{query}"))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    serde_json::from_str(&answer.body).unwrap()
}

#[tokio::test]
async fn a_repeated_search_is_answered_from_the_cache_with_the_same_result() {
    let app = App::new().await;
    assert!(app.state.search_cache.is_empty());

    let first = api(&app, "q=Testhund").await;
    assert_eq!(first["total"], 2, "{first}");
    assert_eq!(app.state.search_cache.len(), 1);
    let again = api(&app, "q=Testhund").await;
    assert_eq!(again, first);
    assert_eq!(
        app.state.search_cache.len(),
        1,
        "the second answer came from the cache"
    );

    // Every parameter the answer depends on is part of the key.
    let english = api(&app, "q=Testhund&lang=en").await;
    let second_page = api(&app, "q=Testhund&offset=1&limit=1").await;
    assert_eq!(second_page["items"].as_array().unwrap().len(), 1);
    assert_eq!(second_page["total"], 2);
    assert_ne!(
        second_page["items"][0]["id"], first["items"][0]["id"],
        "offset 1 is the second hit, not the cached first page"
    );
    assert_eq!(english["total"], 2);
    assert_eq!(app.state.search_cache.len(), 3);

    // A miss finds nothing, and that answer is cached too.
    let nothing = api(&app, "q=Zeppelinlandeplatz").await;
    assert_eq!(nothing["total"], 0);
    assert_eq!(app.state.search_cache.len(), 4);

    // The search page shares the cache: its first page is the API's first page (20 hits).
    let page = app.browser().get("/search?q=Testhund").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Testhund anmelden"), "{}", page.body);
    assert_eq!(app.state.search_cache.len(), 4);
    let english = app.browser().get("/search?q=Testhund&lang=en").await;
    assert_eq!(english.status, 200);
    assert!(
        english.body.contains("Register a test dog"),
        "{}",
        english.body
    );
    assert_eq!(app.state.search_cache.len(), 4, "the API's English page");
    let again = app.browser().get("/search?q=Testhund").await;
    assert_eq!(again.body, page.body);
    assert_eq!(app.state.search_cache.len(), 4);
}

#[tokio::test]
async fn browsing_and_over_long_queries_are_not_cached() {
    let app = App::new().await;
    let all = api(&app, "q=").await;
    assert_eq!(all["total"], 2);
    let long = format!("q=Testhund{}", "%20anmelden".repeat(30));
    let found = api(&app, &long).await;
    assert_eq!(found["total"], 2, "{found}");
    api(&app, &long).await;
    assert!(
        app.state.search_cache.is_empty(),
        "{} entries",
        app.state.search_cache.len()
    );
}
