//! The portal's shared state: cheap to clone, immutable catalogue, pooled storage.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::request::Parts;
use rathaus_catalog::Catalog;
use rathaus_domain::TenantDirectory;
use rathaus_store::Store;
use rathaus_web::{Chrome, PageLang, SiteInfo};

use crate::texts::{Texts, texts};

#[derive(Debug, Clone)]
pub struct PortalState {
    pub catalog: Arc<Catalog>,
    pub tenant: Arc<TenantDirectory>,
    pub store: Arc<dyn Store>,
    pub site: Arc<SiteInfo>,
    /// Whether cookies get the `Secure` attribute (off only for the plain-HTTP demo).
    pub secure_cookies: bool,
}

/// Per-request page context: the frame plus the portal's texts in the request's language.
#[derive(Debug, Clone)]
pub struct Page {
    pub chrome: Chrome,
    pub t: &'static Texts,
    pub remember_lang: bool,
}

impl FromRequestParts<PortalState> for Page {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &PortalState,
    ) -> Result<Self, Self::Rejection> {
        let lang = PageLang::from_parts(parts);
        Ok(Self {
            chrome: Chrome::new(
                Arc::clone(&state.site),
                lang.lang,
                parts.uri.path(),
                parts.uri.query(),
            ),
            t: texts(lang.lang),
            remember_lang: lang.explicit,
        })
    }
}
