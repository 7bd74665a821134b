//! An authority node with its back office for the portal's tests: its own database of the
//! portal's backend, the fixture services, one clerk, serving on a random port, registered
//! with the portal and reporting to it.

use std::sync::Arc;
use std::time::Duration;

use rathaus_authority::{
    BackOffice, BackOfficeSettings, DeliveryKeys, NodeState, ServiceForm, ServiceForms,
};
use rathaus_domain::{Blocklist, ClerkId, ClerkRole, Email, NewPassword};
use rathaus_store::testing::TestDatabase;
use rathaus_store::{Backend, ClerkRecord, Store};

use super::{App, PASSWORD, start_time, test_keys};

pub struct Node {
    pub url: String,
    /// The authority of the node's one clerk.
    pub authority: String,
    pub state: NodeState,
    pub store: Arc<dyn Store>,
    _db: TestDatabase,
}

/// A database for the node of the same backend as the portal's.
pub async fn node_database(backend: Backend) -> TestDatabase {
    match backend {
        Backend::Sqlite => TestDatabase::sqlite().unwrap(),
        Backend::Postgres => TestDatabase::postgres_from_env().await.unwrap().unwrap(),
    }
}

/// An authority node with its back office and the clerk `clerk` (password [`PASSWORD`]) of
/// `authority`, serving on a random port, registered with the portal and reporting to `portal`.
pub async fn start_node(app: &App, node: &str, authority: &str, portal: &str, clerk: &str) -> Node {
    let db = node_database(app.db.backend()).await;
    let store = db.open().await.unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let assets = rathaus_web::assets::Assets::discover(&root.join("../../web"));
    let loaded = rathaus_catalog::load_definitions(
        &root.join("tests/fixtures/services"),
        Some(&app.state.tenant),
    );
    let services = ServiceForms::new(loaded.definitions.iter().map(|(_, d)| {
        (
            d.key.to_string(),
            ServiceForm::of(d, loaded.forms.get(&d.key).cloned()),
        )
    }));
    let hasher = Arc::new(
        rathaus_auth::Hasher::new(
            rathaus_auth::Policy::weak_for_tests(),
            2,
            Duration::from_secs(10),
        )
        .await
        .unwrap(),
    );
    let office = BackOffice::new(
        store.as_ref(),
        BackOfficeSettings::default(),
        Arc::clone(&hasher),
        services,
        Arc::new(app.clock.clone()),
    )
    .await
    .unwrap();
    let (node_keys, portal_keys) = test_keys();
    let state = NodeState::new(
        &node.parse().unwrap(),
        Arc::clone(&app.state.tenant),
        Arc::clone(&store),
        &assets,
        Some(portal),
        start_time(),
    )
    .await
    .unwrap()
    .with_delivery(DeliveryKeys {
        own: Arc::new(node_keys.clone()),
        portal: Arc::new(portal_keys.public()),
        clock: Arc::new(app.clock.clone()),
    })
    .with_back_office(office);
    let hash = hasher
        .hash(&NewPassword::parse(PASSWORD, Blocklist::shipped(), None).unwrap())
        .await
        .unwrap();
    store
        .create_clerk(&ClerkRecord {
            id: ClerkId::random(),
            authority: authority.to_owned(),
            email: Email::parse(clerk).unwrap(),
            display_name: "Erika Muster".to_owned(),
            password_hash: hash.into_string(),
            role: ClerkRole::Clerk,
            created_at: start_time(),
            updated_at: start_time(),
        })
        .await
        .unwrap();
    let router = rathaus_authority::router(state.clone(), &assets, &Default::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    app.store
        .register_node_endpoint(&node.parse().unwrap(), &url, start_time())
        .await
        .unwrap();
    Node {
        url,
        authority: authority.to_owned(),
        state,
        store,
        _db: db,
    }
}
