//! The authority node: a separate process with its own database, hosting one or more
//! authorities of a tenant. Applications are delivered here and stored only here (DESIGN.md R3).
//! This crate starts with the node's identity, its public start page, health and metrics; on it
//! build the delivery endpoint ([`delivery`]), the clerks' back office ([`back_office`]) and the
//! status back channel to the portal ([`status`]), and the identification counter where clerks
//! confirm a citizen's identity in person ([`counter`]).

pub mod back_office;
pub mod counter;
mod delivery;
pub mod messages;
pub mod status;

use std::sync::Arc;

pub use back_office::{
    BackOffice, BackOfficeSettings, DEFAULT_CASE_RETENTION_DAYS, ServiceForm, ServiceForms,
    purge_expired_cases,
};
pub use delivery::DeliveryKeys;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use rathaus_domain::tenant::Node;
use rathaus_domain::{NodeId, TenantDirectory, Text};
use rathaus_store::{NodeIdentity, Store};
use rathaus_web::assets::Assets;
use rathaus_web::health::{Check, readiness};
use rathaus_web::layers::LayerOptions;
use rathaus_web::{Chrome, PageError, PageLang, PageProblem, SiteInfo};

#[derive(Debug, Clone)]
pub struct NodeState {
    pub node: Arc<Node>,
    pub identity: NodeIdentity,
    pub tenant: Arc<TenantDirectory>,
    pub store: Arc<dyn Store>,
    pub site: Arc<SiteInfo>,
    /// Keys to receive applications; without them the delivery endpoint answers 503.
    pub delivery: Option<DeliveryKeys>,
    /// The clerks' back office; without it its pages answer 503.
    pub back_office: Option<Arc<BackOffice>>,
    /// The portal's address, where status changes are sent (`authority.portal_url`).
    pub portal_url: Option<String>,
    /// Wakes the status sender after a status change, so the citizen learns of it at once.
    pub status_wake: Arc<tokio::sync::Notify>,
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("the tenant has no node `{0}`; see [[nodes]] in the tenant file")]
    UnknownNode(String),
    #[error(
        "this database belongs to node `{found}`, not `{expected}`; every node needs its own database"
    )]
    WrongDatabase { expected: NodeId, found: NodeId },
    #[error(transparent)]
    Store(#[from] rathaus_store::StoreError),
}

impl NodeState {
    /// Binds the node to its database: the first start records the node's identity, later
    /// starts refuse a database that belongs to another node.
    pub async fn new(
        node_id: &NodeId,
        tenant: Arc<TenantDirectory>,
        store: Arc<dyn Store>,
        assets: &Assets,
        portal_url: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, NodeError> {
        let node = tenant
            .nodes
            .iter()
            .find(|n| &n.id == node_id)
            .cloned()
            .ok_or_else(|| NodeError::UnknownNode(node_id.to_string()))?;
        let identity = match store.node_identity().await? {
            Some(identity) if &identity.node != node_id => {
                return Err(NodeError::WrongDatabase {
                    expected: node_id.clone(),
                    found: identity.node,
                });
            }
            Some(identity) => identity,
            None => store.init_node_identity(node_id, now).await?,
        };
        let site = SiteInfo {
            name: node.name.clone(),
            tagline: Text::new("Behördenknoten", "Authority node")
                .unwrap_or_else(|_| node.name.clone()),
            kern_assets: assets.kern_available(),
            navigation: Vec::new(),
            // The legal pages are the portal's; without its address the node shows none.
            legal_base: portal_url.map(|url| url.trim_end_matches('/').to_owned()),
        };
        Ok(Self {
            node: Arc::new(node),
            identity,
            tenant,
            store,
            site: Arc::new(site),
            delivery: None,
            back_office: None,
            portal_url: portal_url.map(|url| url.trim_end_matches('/').to_owned()),
            status_wake: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// Enables the clerks' back office.
    pub fn with_back_office(mut self, back_office: BackOffice) -> Self {
        self.back_office = Some(Arc::new(back_office));
        self
    }

    /// Enables receiving applications with the node's own keys and the portal's pinned keys.
    pub fn with_delivery(mut self, keys: DeliveryKeys) -> Self {
        self.delivery = Some(keys);
        self
    }
}

pub fn router(state: NodeState, assets: &Assets, options: &LayerOptions) -> Router {
    let app = Router::new()
        .route("/", get(start))
        .route("/healthz", get(rathaus_web::health::healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(rathaus_web::metrics::render))
        .route("/api/v1/deliveries", axum::routing::post(delivery::receive))
        .merge(back_office::routes())
        .merge(counter::routes())
        .fallback(not_found)
        .with_state(state);
    rathaus_web::layers::apply(app.merge(assets.router()), options)
}

#[derive(Template)]
#[template(path = "authority/start.html")]
struct StartPage<'a> {
    chrome: &'a Chrome,
    node_id: &'a str,
    since: String,
    authorities: Vec<(&'a str, &'a str)>,
}

async fn start(State(state): State<NodeState>, lang: PageLang, uri: http::Uri) -> Response {
    let mut chrome = Chrome::new(Arc::clone(&state.site), lang.lang, uri.path(), uri.query());
    if state.back_office.is_some() {
        chrome.account_link = Some(back_office::nav_link(lang.lang));
    }
    let authorities = state
        .tenant
        .authorities_on(&state.node.id)
        .map(|a| {
            (
                a.name.get(lang.lang),
                state
                    .tenant
                    .kind(&a.kind)
                    .map_or("", |k| k.name.get(lang.lang)),
            )
        })
        .collect();
    let page = StartPage {
        chrome: &chrome,
        node_id: state.node.id.as_str(),
        since: state.identity.created_at.format("%Y-%m-%d").to_string(),
        authorities,
    };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => PageError::internal(chrome, e).into_response(),
    }
}

async fn readyz(State(state): State<NodeState>) -> Response {
    readiness(vec![Check {
        name: "database",
        ok: state.store.ping().await.is_ok(),
    }])
}

async fn not_found(State(state): State<NodeState>, lang: PageLang, uri: http::Uri) -> Response {
    let chrome = Chrome::new(Arc::clone(&state.site), lang.lang, uri.path(), uri.query());
    PageError::new(PageProblem::NotFound, chrome).into_response()
}
