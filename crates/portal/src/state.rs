//! The portal's shared state: cheap to clone, immutable catalogue, pooled storage.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::request::Parts;
use rathaus_catalog::Catalog;
use rathaus_domain::TenantDirectory;
use rathaus_store::Store;
use rathaus_web::{Chrome, Clock, PageLang, SiteInfo};

use crate::accounts::{AccountServices, has_session_cookie};
use crate::texts::{Texts, texts};

/// The portal's shared state. Every extractor of every request clones it, so it is one `Arc`
/// around [`Shared`]: a clone is one atomic increment instead of one per field (in the profile
/// of a service page under load, cloning and dropping the state with its 16 fields took 6 % of
/// the portal's CPU). Fields read through `Deref`: `state.catalog`.
#[derive(Debug, Clone)]
pub struct PortalState(Arc<Shared>);

impl PortalState {
    pub(crate) fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// For the `with_…` builders, which run before the state is shared.
    pub(crate) fn shared_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }
}

impl std::ops::Deref for PortalState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`PortalState`] holds.
#[derive(Debug, Clone)]
pub struct Shared {
    pub catalog: Arc<Catalog>,
    pub tenant: Arc<TenantDirectory>,
    pub store: Arc<dyn Store>,
    pub site: Arc<SiteInfo>,
    /// Whether the `lang` cookie gets the `Secure` attribute (when the public URL is https).
    pub secure_cookies: bool,
    /// The only source of the current time (tests move a `ManualClock`).
    pub clock: Arc<dyn Clock>,
    /// Accounts and sessions: settings, password hashing, mail, the CSRF key.
    pub accounts: Arc<AccountServices>,
    /// The eID service (OpenID Connect) that raises accounts to level `high`; `None` when the
    /// portal has no `[eid]` configuration.
    pub eid: Option<Arc<crate::accounts::eid::EidClient>>,
    /// The portal as a WebAuthn relying party; `None` when its public URL has no domain name
    /// (browsers offer passkeys only to such sites).
    pub passkeys: Option<Arc<rathaus_auth::passkeys::PasskeyRelyingParty>>,
    /// The portal's signing keys for deliveries to authority nodes; without them applications
    /// wait in the outbox.
    pub delivery_keys: Option<Arc<rathaus_seal::PrivateKeySet>>,
    /// Wakes the delivery worker after a submit, so nobody waits for its next round.
    pub delivery_wake: Arc<tokio::sync::Notify>,
    /// Scans uploads for malware before they are accepted; `None` when not configured.
    pub scanner: Option<Arc<dyn crate::scan::Scanner>>,
    /// Bounds the full-text searches running at once (see `search.rs`).
    pub search_slots: Arc<tokio::sync::Semaphore>,
    /// Full-text answers already computed on this node (see `search.rs`).
    pub search_cache: Arc<crate::search::SearchCache>,
    /// The default retention periods of messages and application records.
    pub retention: Arc<crate::retention::RetentionSettings>,
    /// Who may see the operator's status page (`portal.operators`).
    pub operators: Arc<crate::operator::Operators>,
}

impl PortalState {
    pub fn with_scanner(mut self, scanner: Arc<dyn crate::scan::Scanner>) -> Self {
        self.shared_mut().scanner = Some(scanner);
        self
    }

    pub fn with_retention(mut self, settings: crate::retention::RetentionSettings) -> Self {
        self.shared_mut().retention = Arc::new(settings);
        self
    }

    pub fn with_operators(mut self, operators: crate::operator::Operators) -> Self {
        self.shared_mut().operators = Arc::new(operators);
        self
    }

    pub fn with_delivery_keys(mut self, keys: rathaus_seal::PrivateKeySet) -> Self {
        self.shared_mut().delivery_keys = Some(Arc::new(keys));
        self
    }
}

impl PortalState {
    /// Turns on raising the level with the German eID through `eid`.
    pub fn with_eid(mut self, eid: crate::accounts::eid::EidClient) -> Self {
        self.shared_mut().eid = Some(Arc::new(eid));
        self
    }
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
        let t = texts(lang.lang);
        let mut chrome = Chrome::new(
            Arc::clone(&state.site),
            lang.lang,
            parts.uri.path(),
            parts.uri.query(),
        );
        // Decided by the cookie alone, so that catalogue pages cost no database query; a
        // session that has ended is found out (and its cookie removed) on the next account page.
        let signed_in = has_session_cookie(&parts.headers, state);
        if signed_in {
            chrome.session_idle_secs =
                u32::try_from(state.accounts.settings.session_idle.num_seconds())
                    .ok()
                    .and_then(std::num::NonZeroU32::new);
        }
        chrome.account_link = Some(if signed_in {
            &t.account.nav_account
        } else {
            &t.account.nav_sign_in
        });
        Ok(Self {
            chrome,
            t,
            remember_lang: lang.explicit,
        })
    }
}
