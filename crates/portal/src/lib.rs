//! The citizen-facing portal: catalogue pages, service pages with the responsibility finder,
//! the Servicekonto (accounts and sessions), and the JSON API. Where a request enters:
//! [`router`].

mod account_texts;
mod accounts;
mod api;
mod applications;
pub mod delivery;
mod form_texts;
pub mod mail;
mod mailbox;
mod operator;
mod organisations;
mod pages;
mod params;
pub mod retention;
mod routes;
mod search;
mod state;
mod texts;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use rathaus_domain::Text;
use rathaus_web::health::{Check, readiness};
use rathaus_web::layers::LayerOptions;
use rathaus_web::{SiteInfo, assets::Assets};

pub use accounts::eid::{EidClient, EidConfigError, EidSettings};
pub use accounts::{AccountServices, AccountSettings, AuthUser, MaybeAuthUser};
pub use api::OPENAPI;
pub use applications::scan;
pub use operator::Operators;
pub use retention::{
    DEFAULT_MESSAGE_RETENTION_DAYS, DEFAULT_RECORD_RETENTION_DAYS, RetentionSettings,
    purge_expired_records,
};
pub use routes::Access;
pub use state::PortalState;

/// The portal's site frame for a tenant.
pub fn site_info(tenant: &rathaus_domain::TenantDirectory, assets: &Assets) -> SiteInfo {
    let nav = |path: &str, de: &str, en: &str| {
        Text::new(de, en).ok().map(|label| (path.to_owned(), label))
    };
    SiteInfo {
        name: Text::new("Serviceportal", "Service portal").unwrap_or_else(|_| tenant.name.clone()),
        tagline: tenant.name.clone(),
        kern_assets: assets.kern_available(),
        navigation: [
            nav("/", "Start", "Start"),
            nav("/life-situations", "Lebenslagen", "Life situations"),
            nav("/search", "Suche", "Search"),
        ]
        .into_iter()
        .flatten()
        .collect(),
        legal_base: Some(String::new()),
    }
}

/// Every route of the portal with who may use it.
fn routes() -> routes::Routes {
    let routes = routes::Routes::new();
    let routes = pages::routes(routes);
    let routes = accounts::routes(routes);
    let routes = applications::routes(routes);
    let routes = mailbox::routes(routes);
    let routes = operator::routes(routes);
    let routes = organisations::routes(routes);
    api::routes(routes)
        .public("/healthz", get(rathaus_web::health::healthz))
        .public("/readyz", get(readyz))
        .public("/metrics", get(rathaus_web::metrics::render))
}

/// The table of routes (path as written in the router) and who may use each; the assets under
/// `/assets/` are public files and not listed.
pub fn route_table() -> Vec<(&'static str, Access)> {
    routes().table().to_vec()
}

/// The whole portal: pages, accounts, API, health, metrics and assets, behind the standard
/// layers and the cross-site check for state-changing requests.
pub fn router(state: PortalState, assets: &Assets, options: &LayerOptions) -> Router {
    let app = routes()
        .into_router()
        .fallback(pages::not_found)
        .method_not_allowed_fallback(pages::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            accounts::csrf::check_origin,
        ))
        .with_state(state);
    rathaus_web::layers::apply(app.merge(assets.router()), options)
}

async fn readyz(State(state): State<PortalState>) -> Response {
    let database = state.store.ping().await.is_ok();
    readiness(vec![
        Check {
            name: "database",
            ok: database,
        },
        Check {
            name: "catalogue",
            ok: !state.catalog.is_empty(),
        },
    ])
}

/// Builds the state from loaded parts.
pub fn state(
    catalog: Arc<rathaus_catalog::Catalog>,
    tenant: Arc<rathaus_domain::TenantDirectory>,
    store: Arc<dyn rathaus_store::Store>,
    site: SiteInfo,
    secure_cookies: bool,
    clock: Arc<dyn rathaus_web::Clock>,
    accounts: AccountServices,
) -> PortalState {
    let passkeys = match rathaus_auth::passkeys::PasskeyRelyingParty::new(
        &accounts.settings.public_url,
        site.name.get(rathaus_domain::Lang::De),
    ) {
        Ok(rp) => Some(Arc::new(rp)),
        Err(error) => {
            tracing::info!(%error, "passkeys are not offered");
            None
        }
    };
    PortalState::new(state::Shared {
        catalog,
        tenant,
        store,
        site: Arc::new(site),
        secure_cookies,
        clock,
        accounts: Arc::new(accounts),
        eid: None,
        passkeys,
        delivery_keys: None,
        delivery_wake: Arc::new(tokio::sync::Notify::new()),
        scanner: None,
        search_slots: Arc::new(tokio::sync::Semaphore::new(search::default_slots())),
        search_cache: Arc::new(search::SearchCache::default()),
        retention: Arc::new(retention::RetentionSettings::default()),
        operators: Arc::new(operator::Operators::default()),
    })
}

/// The key that signs the tokens of forms shown before sign-in: the same on every portal node,
/// because the first node stores it in the shared database and the others read it.
pub async fn shared_csrf_key(
    store: &dyn rathaus_store::Store,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<u8>, accounts::KeyError> {
    let candidate = rathaus_auth::tokens::random_bytes::<32>()?;
    Ok(store
        .shared_secret("csrf-form-key", &candidate, now)
        .await?)
}
