//! Static assets: the KERN UX design system (installed with npm into `web/node_modules`) and
//! rathaus's own styles. Pages stay usable without them; the log says what is missing.

use std::path::{Path, PathBuf};

use axum::Router;
use http::{HeaderValue, header};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// Where the assets were found.
#[derive(Debug, Clone)]
pub struct Assets {
    pub own: Option<PathBuf>,
    pub kern: Option<PathBuf>,
}

impl Assets {
    /// Looks for `static/` and `node_modules/@kern-ux/native/dist` below `web_dir`.
    pub fn discover(web_dir: &Path) -> Self {
        let own = web_dir.join("static");
        let kern = web_dir.join("node_modules/@kern-ux/native/dist");
        let own = own.join("rathaus.css").is_file().then_some(own);
        let kern = kern.join("kern.min.css").is_file().then_some(kern);
        if own.is_none() {
            tracing::warn!(dir = %web_dir.display(), "rathaus styles not found; pages are served unstyled");
        }
        if kern.is_none() {
            tracing::warn!(
                dir = %web_dir.display(),
                "KERN UX assets not found (run `npm ci --prefix web`); pages fall back to plain styles"
            );
        }
        Self { own, kern }
    }

    pub fn kern_available(&self) -> bool {
        self.kern.is_some()
    }

    /// Routes `/assets/…` (own files) and `/assets/kern/…` (KERN UX) with a day of caching.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let mut router = Router::new();
        if let Some(kern) = &self.kern {
            router = router.nest_service("/assets/kern", ServeDir::new(kern));
        }
        if let Some(own) = &self.own {
            router = router.nest_service("/assets", ServeDir::new(own));
        }
        router.layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=86400"),
        ))
    }
}
