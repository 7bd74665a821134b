//! The citizen-facing portal: catalogue pages, service pages with the responsibility finder,
//! and the JSON API. Where a request enters: [`router`].

mod api;
mod pages;
mod params;
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

pub use api::OPENAPI;
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
    }
}

/// The whole portal: pages, API, health, metrics and assets, behind the standard layers.
pub fn router(state: PortalState, assets: &Assets, options: &LayerOptions) -> Router {
    let app = Router::new()
        .merge(pages::router())
        .merge(api::router())
        .route("/healthz", get(rathaus_web::health::healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(rathaus_web::metrics::render))
        .fallback(pages::not_found)
        .method_not_allowed_fallback(pages::method_not_allowed)
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
) -> PortalState {
    PortalState {
        catalog,
        tenant,
        store,
        site: Arc::new(site),
        secure_cookies,
    }
}
