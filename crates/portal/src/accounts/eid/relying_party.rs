//! The portal as an OpenID Connect relying party (the `openidconnect` crate over reqwest):
//! discovery (cached for an hour), the authorization URL with state, nonce, PKCE S256 and
//! `acr_values`, the code exchange, and the checks of the ID token — signature by a key of the
//! provider's JWKS (RS256, PS256 or ES256 only; never `none` or an HMAC under the client
//! secret), `iss`, `aud`, `exp`, `nonce` and `acr` = eIDAS high.

use std::fmt;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, TokenResponse,
};
use tokio::sync::RwLock;

/// `acr` of the German eID: eIDAS level of assurance "high".
pub const ACR_HIGH: &str = "http://eidas.europa.eu/LoA/high";

/// Discovery document and JWKS are fetched again after this long.
const DISCOVERY_TTL: Duration = Duration::hours(1);

/// How the portal reaches its eID service; from the `[eid]` configuration.
#[derive(Clone)]
pub struct EidSettings {
    /// The provider's issuer identifier (its discovery document is below it).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The portal's callback, `…/account/level/eid/callback`, as registered at the provider.
    pub redirect_url: String,
}

impl fmt::Debug for EidSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EidSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_url", &self.redirect_url)
            .finish()
    }
}

/// A configuration the relying party cannot work with.
#[derive(Debug, thiserror::Error)]
pub enum EidConfigError {
    #[error("`eid.{0}` is not a valid URL")]
    Url(&'static str),
    #[error(
        "`eid.{0}` must use https (plain http only for a provider on this machine, such as the test provider)"
    )]
    NotHttps(&'static str),
    #[error("`eid.client_id` and `eid.client_secret` must not be empty")]
    Client,
    #[error("the HTTP client cannot be built: {0}")]
    Http(String),
}

/// What went wrong talking to the provider or with its answer. Logged, never shown.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EidError {
    #[error("the provider could not be reached or described itself wrongly: {0}")]
    Unreachable(String),
    #[error("the provider refused the code: {0}")]
    Refused(String),
    #[error("the ID token is not acceptable: {0}")]
    Token(String),
}

/// The eID relying party: settings, an HTTP client that never follows redirects, and the
/// provider's metadata (with its keys), cached.
pub struct EidClient {
    settings: EidSettings,
    issuer: IssuerUrl,
    redirect: RedirectUrl,
    http: reqwest::Client,
    cache: RwLock<Option<(CoreProviderMetadata, DateTime<Utc>)>>,
}

impl fmt::Debug for EidClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EidClient")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Whether `url` is https, or http to this machine.
fn secure_enough(url: &reqwest::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(openidconnect::url::Host::Domain(name)) => name == "localhost",
            Some(openidconnect::url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(openidconnect::url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

/// What the portal remembers between the start and the callback.
#[derive(Debug)]
pub(crate) struct Started {
    pub authorize_url: String,
}

/// The facts of a verified ID token that the portal uses: the level, and the attributes the
/// portal asked for to prefill a form (none otherwise).
#[derive(Debug)]
pub(crate) struct Verified {
    pub acr: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub birthdate: Option<String>,
    /// Street line, postcode, city and country of the `address` claim.
    pub address: Option<(String, String, String, String)>,
}

/// The `claims` request parameter (OpenID Connect Core 5.5) asking for exactly these claims in
/// the ID token; `None` when none are asked for.
pub(crate) fn claims_request(claims: &[String]) -> Option<String> {
    if claims.is_empty() {
        return None;
    }
    let id_token: serde_json::Map<String, serde_json::Value> = claims
        .iter()
        .map(|c| (c.clone(), serde_json::json!({ "essential": true })))
        .collect();
    Some(serde_json::json!({ "id_token": id_token }).to_string())
}

impl EidClient {
    pub fn new(settings: EidSettings) -> Result<Self, EidConfigError> {
        let issuer =
            IssuerUrl::new(settings.issuer.clone()).map_err(|_| EidConfigError::Url("issuer"))?;
        if !secure_enough(issuer.url()) {
            return Err(EidConfigError::NotHttps("issuer"));
        }
        let redirect = RedirectUrl::new(settings.redirect_url.clone())
            .map_err(|_| EidConfigError::Url("redirect_url"))?;
        if settings.client_id.is_empty() || settings.client_secret.is_empty() {
            return Err(EidConfigError::Client);
        }
        let http = reqwest::Client::builder()
            // Following a redirect from the provider could be turned against internal hosts.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(StdDuration::from_secs(5))
            .timeout(StdDuration::from_secs(10))
            .build()
            .map_err(|e| EidConfigError::Http(e.to_string()))?;
        Ok(Self {
            settings,
            issuer,
            redirect,
            http,
            cache: RwLock::new(None),
        })
    }

    pub fn settings(&self) -> &EidSettings {
        &self.settings
    }

    /// The provider's metadata and keys: cached, fetched when older than an hour or when
    /// `refresh` asks for it (an ID token signed by a key not known yet).
    async fn metadata(
        &self,
        now: DateTime<Utc>,
        refresh: bool,
    ) -> Result<CoreProviderMetadata, EidError> {
        if !refresh
            && let Some((metadata, fetched)) = self.cache.read().await.as_ref()
            && now < *fetched + DISCOVERY_TTL
        {
            return Ok(metadata.clone());
        }
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| EidError::Unreachable(error_chain(&e)))?;
        if !secure_enough(metadata.authorization_endpoint().url())
            || metadata
                .token_endpoint()
                .is_none_or(|t| !secure_enough(t.url()))
        {
            return Err(EidError::Unreachable(
                "the provider's endpoints are not https".into(),
            ));
        }
        *self.cache.write().await = Some((metadata.clone(), now));
        Ok(metadata)
    }

    fn client(&self, metadata: CoreProviderMetadata) -> RpClient {
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    /// `scheme://host[:port]` of the provider's authorization endpoint (for the page's
    /// `form-action`), from the cached metadata, else from the issuer.
    /// A provider that does not answer within two seconds is not waited for here.
    pub(crate) async fn authorize_origin(&self, now: DateTime<Utc>) -> String {
        let fetch = tokio::time::timeout(StdDuration::from_secs(2), self.metadata(now, false));
        let url = match fetch.await {
            Ok(Ok(metadata)) => metadata.authorization_endpoint().url().clone(),
            _ => self.issuer.url().clone(),
        };
        url.origin().ascii_serialization()
    }

    /// The URL that sends the browser to the provider, asking for eIDAS high. Without `claims`
    /// it asks for no attribute (scope `openid` alone: the level, not the data; R4); for a
    /// prefill it asks for exactly the claims given, which the caller derives from what the
    /// form declares (R3: requested ⊆ declared).
    pub(crate) async fn start(
        &self,
        now: DateTime<Utc>,
        state: &str,
        nonce: &str,
        pkce_verifier: &str,
        claims: &[String],
    ) -> Result<Started, EidError> {
        let client = self.client(self.metadata(now, false).await?);
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            pkce_verifier.to_owned(),
        ));
        let (state, nonce) = (state.to_owned(), nonce.to_owned());
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state.clone()),
                move || Nonce::new(nonce.clone()),
            )
            .add_auth_context_value(AuthenticationContextClass::new(ACR_HIGH.to_owned()))
            .set_pkce_challenge(challenge);
        if let Some(claims) = claims_request(claims) {
            request = request.add_extra_param("claims", claims);
        }
        let (url, _, _) = request.url();
        Ok(Started {
            authorize_url: url.into(),
        })
    }

    /// Exchanges `code` and verifies the ID token. `now` is the portal's clock.
    pub(crate) async fn finish(
        &self,
        now: DateTime<Utc>,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<Verified, EidError> {
        let client = self.client(self.metadata(now, false).await?);
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| EidError::Unreachable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| EidError::Refused(error_chain(&e)))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| EidError::Token("the answer holds no ID token".into()))?;
        let nonce = Nonce::new(nonce.to_owned());
        let verify = |client: &RpClient| {
            let verifier = client
                .id_token_verifier()
                .set_allowed_algs([
                    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
                    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
                ])
                .set_time_fn(move || now)
                .set_auth_context_verifier_fn(|acr| match acr {
                    Some(acr) if acr.as_str() == ACR_HIGH => Ok(()),
                    Some(acr) => Err(format!("acr is {}, not {ACR_HIGH}", acr.as_str())),
                    None => Err("no acr".to_owned()),
                });
            id_token.claims(&verifier, &nonce).map(|claims| Verified {
                acr: claims
                    .auth_context_ref()
                    .map(|acr| acr.as_str().to_owned())
                    .unwrap_or_default(),
                given_name: claims
                    .given_name()
                    .and_then(|n| n.get(None))
                    .map(|n| n.as_str().to_owned()),
                family_name: claims
                    .family_name()
                    .and_then(|n| n.get(None))
                    .map(|n| n.as_str().to_owned()),
                birthdate: claims.birthdate().map(|d| d.as_str().to_owned()),
                address: claims.address().map(|a| {
                    let part = |p: Option<String>| p.unwrap_or_default();
                    (
                        part(a.street_address.as_ref().map(|s| s.as_str().to_owned())),
                        part(a.postal_code.as_ref().map(|s| s.as_str().to_owned())),
                        part(a.locality.as_ref().map(|s| s.as_str().to_owned())),
                        part(a.country.as_ref().map(|s| s.as_str().to_owned())),
                    )
                }),
            })
        };
        match verify(&client) {
            Ok(verified) => Ok(verified),
            // The provider may have rotated its key since the keys were fetched: fetch them
            // once more, and try once more.
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey,
            )) => {
                let client = self.client(self.metadata(now, true).await?);
                verify(&client).map_err(|e| EidError::Token(error_chain(&e)))
            }
            Err(e) => Err(EidError::Token(error_chain(&e))),
        }
    }
}

type RpClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// An error with its causes, for the log.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(issuer: &str) -> EidSettings {
        EidSettings {
            issuer: issuer.into(),
            client_id: "portal".into(),
            client_secret: "secret".into(),
            redirect_url: "https://portal.example/account/level/eid/callback".into(),
        }
    }

    #[test]
    fn the_provider_must_be_https_unless_it_runs_on_this_machine() {
        assert!(EidClient::new(settings("https://eid.example")).is_ok());
        assert!(EidClient::new(settings("http://127.0.0.1:8090")).is_ok());
        assert!(EidClient::new(settings("http://localhost:8090")).is_ok());
        assert!(matches!(
            EidClient::new(settings("http://eid.example")),
            Err(EidConfigError::NotHttps("issuer"))
        ));
        assert!(matches!(
            EidClient::new(settings("not a url")),
            Err(EidConfigError::Url("issuer"))
        ));
        let mut empty = settings("https://eid.example");
        empty.client_secret.clear();
        assert!(matches!(EidClient::new(empty), Err(EidConfigError::Client)));
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let client =
            EidClient::new(settings("https://eid.example")).unwrap_or_else(|_| unreachable!());
        let shown = format!("{client:?}");
        assert!(!shown.contains("\"secret\""), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
