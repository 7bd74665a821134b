//! `rathaus test-idp`, and the test identity provider that `rathaus demo` runs in-process.

use std::sync::Arc;

use anyhow::Context;
use rathaus_testidp::{ClientRegistration, IdpConfig, TestIdp};
use rathaus_web::SystemClock;
use tokio::net::TcpListener;

use crate::TestIdpArgs;

/// The provider for one client, on the system clock.
pub fn provider(issuer: &str, client: ClientRegistration) -> anyhow::Result<TestIdp> {
    TestIdp::new(
        IdpConfig {
            issuer: issuer.to_owned(),
            clients: vec![client],
            fault: None,
        },
        Arc::new(SystemClock),
    )
    .context("cannot set up the test identity provider")
}

/// Serves `idp` on `listener` until `shutdown` completes.
pub async fn serve(
    idp: &TestIdp,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    rathaus_web::server::serve(listener, idp.router(), shutdown)
        .await
        .context("the test identity provider stopped")
}

pub async fn run(args: TestIdpArgs) -> anyhow::Result<()> {
    let listener = rathaus_web::server::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let issuer = args.issuer.unwrap_or_else(|| format!("http://{addr}"));
    let idp = provider(
        &issuer,
        ClientRegistration {
            client_id: args.client_id,
            client_secret: args.client_secret,
            redirect_uri: args.redirect_url,
        },
    )?;
    tracing::warn!(
        %addr,
        issuer = idp.issuer(),
        "TEST identity provider listening: not a real eID, anyone can pick any identity"
    );
    serve(&idp, listener, rathaus_web::server::shutdown_signal()).await
}
