//! `rathaus portal` and `rathaus authority`: one node each, configured from file, environment
//! and options.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use rathaus_auth::{Hasher, Policy};
use rathaus_catalog::Catalog;
use rathaus_domain::{Email, NodeId, TenantDirectory};
use rathaus_portal::mail::{FileMailer, Mailer, SmtpMailer, parse_sender};
use rathaus_portal::{AccountServices, AccountSettings};
use rathaus_store::{Store, StoreOptions};
use rathaus_web::assets::Assets;
use rathaus_web::layers::LayerOptions;
use rathaus_web::{Clock, SystemClock};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::{AuthorityArgs, CatalogArgs, PortalArgs};

/// Applies the catalogue options on top of the configuration.
pub fn apply_catalog_args(config: &mut Config, args: &CatalogArgs) {
    if let Some(dir) = &args.services {
        config.catalog.services_dir.clone_from(dir);
    }
    if let Some(file) = &args.catalogue {
        config.catalog.catalogue = Some(file.clone());
    }
    if let Some(file) = &args.tenant {
        config.catalog.tenant.clone_from(file);
    }
    if let Some(dir) = &args.web_dir {
        config.catalog.web_dir.clone_from(dir);
    }
}

pub fn load_tenant(path: &Path) -> anyhow::Result<TenantDirectory> {
    crate::check::read_tenant(path).map_err(|e| anyhow!("{e}"))
}

/// Loads definitions and catalogue; on failure lists every error found.
pub fn load_catalog(config: &Config, tenant: &TenantDirectory) -> anyhow::Result<Catalog> {
    let started = std::time::Instant::now();
    let catalog = Catalog::load(
        &config.catalog.services_dir,
        config.catalog.catalogue.as_deref(),
        tenant,
    )
    .map_err(|e| {
        let details: Vec<String> = e
            .details()
            .iter()
            .take(50)
            .map(ToString::to_string)
            .collect();
        anyhow!("{e}:\n{}", details.join("\n"))
    })?;
    tracing::info!(
        services = catalog.len(),
        definitions = catalog.definitions().count(),
        millis = started.elapsed().as_millis() as u64,
        "catalogue loaded"
    );
    Ok(catalog)
}

pub async fn open_store(url: &str, max_connections: u32) -> anyhow::Result<Arc<dyn Store>> {
    let options = StoreOptions {
        max_connections,
        connect_timeout: Duration::from_secs(5),
    };
    rathaus_store::open(url, &options).await.with_context(|| {
        format!(
            "cannot open the database {}",
            rathaus_store::redact_url(url)
        )
    })
}

/// Everything a running portal needs, prepared before it listens.
pub struct PreparedPortal {
    pub router: axum::Router,
    pub store: Arc<dyn Store>,
    pub tenant: Arc<TenantDirectory>,
}

pub async fn prepare_portal(config: &Config) -> anyhow::Result<PreparedPortal> {
    rathaus_web::metrics::install();
    let tenant = Arc::new(load_tenant(&config.catalog.tenant)?);
    let catalog = Arc::new(load_catalog(config, &tenant)?);
    let store = open_store(&config.portal.database_url, config.portal.max_connections).await?;
    let report = store
        .sync_directory(&tenant, SystemClock.now())
        .await
        .context("cannot store the tenant directory")?;
    tracing::info!(tenant = %tenant.id, %report, "tenant directory synchronised");
    let assets = Assets::discover(&config.catalog.web_dir);
    let https = config.portal.public_url.starts_with("https://");
    let site = rathaus_portal::site_info(&tenant, &assets);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let accounts = account_services(config, store.as_ref(), &clock).await?;
    let session_idle = accounts.settings.session_idle;
    let state = rathaus_portal::state(
        catalog,
        Arc::clone(&tenant),
        Arc::clone(&store),
        site,
        https,
        Arc::clone(&clock),
        accounts,
    );
    let state = match eid_client(config)? {
        Some(eid) => state.with_eid(eid),
        None => state,
    };
    let state = state.with_retention(rathaus_portal::RetentionSettings {
        messages: chrono::Duration::days(i64::from(config.portal.message_retention_days.max(1))),
        records: chrono::Duration::days(i64::from(config.portal.record_retention_days.max(1))),
    });
    let operators = config
        .portal
        .operators
        .iter()
        .map(|address| {
            Email::parse(address).map_err(|e| {
                anyhow!("`portal.operators`: {address:?} is not an e-mail address ({e})")
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let state = state.with_operators(rathaus_portal::Operators::new(&operators));
    // Deliveries to the authority nodes: with the portal's signing keys the worker runs; without
    // them applications wait in the outbox until the keys are configured.
    let state = match &config.portal.keys_file {
        Some(path) => {
            let keys = rathaus_seal::read_private(path)?;
            let state = state.with_delivery_keys(keys);
            rathaus_portal::delivery::spawn_worker(state.clone(), delivery_settings(config));
            state
        }
        None => {
            tracing::warn!(
                "no `portal.keys_file`: applications are kept in the outbox and not delivered"
            );
            state
        }
    };
    let state = if config.portal.clamd_address.is_empty() {
        tracing::warn!("no `portal.clamd_address`: uploads are not scanned for malware");
        state
    } else {
        state.with_scanner(Arc::new(rathaus_portal::scan::Clamd {
            address: config.portal.clamd_address.clone(),
            timeout: Duration::from_secs(30),
        }))
    };
    spawn_housekeeping(state.clone(), session_idle);
    let options = LayerOptions {
        request_timeout: Duration::from_secs(config.portal.request_timeout_secs.max(1)),
        body_limit_bytes: config.portal.body_limit_bytes,
        upload_limit_bytes: config.portal.upload_limit_bytes,
        hsts: https,
        ..LayerOptions::default()
    };
    Ok(PreparedPortal {
        router: rathaus_portal::router(state, &assets, &options),
        store,
        tenant,
    })
}

/// Password hashing, mail, session settings and the shared CSRF key, from the configuration.
async fn account_services(
    config: &Config,
    store: &dyn Store,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<AccountServices> {
    let portal = &config.portal;
    let mut settings = AccountSettings::new(&portal.public_url);
    settings.session_idle =
        chrono::Duration::minutes(i64::from(portal.session_idle_minutes.max(1)));
    settings.session_absolute =
        chrono::Duration::hours(i64::from(portal.session_absolute_hours.max(1)));
    settings.secure_cookies = portal.secure_cookies;
    if !portal.client_ip_header.is_empty() {
        settings.client_ip_header = Some(
            portal
                .client_ip_header
                .parse()
                .map_err(|_| anyhow!("`portal.client_ip_header` is not a header name"))?,
        );
    }
    if !settings.secure_cookies {
        if portal.public_url.starts_with("https://") {
            tracing::warn!(
                "`portal.secure_cookies` is off although the portal is served over https"
            );
        } else {
            tracing::info!("session cookies without `Secure`: for serving plain HTTP locally only");
        }
    }
    let wait = Duration::from_millis(portal.password_wait_ms);
    // The dummy hash for unknown accounts is computed here, once.
    let hasher = if portal.password_workers == 0 {
        Hasher::with_cpus(Policy::production(), wait).await
    } else {
        Hasher::new(Policy::production(), portal.password_workers, wait).await
    }
    .context("cannot prepare password hashing")?;
    let from = parse_sender(&config.mail.from)?;
    let mailer: Arc<dyn Mailer> = if config.mail.smtp_url.is_empty() {
        tracing::info!(dir = %config.mail.dir.display(), "mails are written as files");
        Arc::new(
            FileMailer::new(&config.mail.dir, from, Arc::clone(clock)).with_context(|| {
                format!(
                    "cannot create the mail directory {}",
                    config.mail.dir.display()
                )
            })?,
        )
    } else {
        Arc::new(SmtpMailer::new(&config.mail.smtp_url, from)?)
    };
    let csrf_key = rathaus_portal::shared_csrf_key(store, clock.now())
        .await
        .context("cannot read the shared form key from the database")?;
    Ok(AccountServices {
        settings,
        hasher,
        mailer,
        csrf_key,
        blocklist: rathaus_domain::Blocklist::shipped(),
    })
}

/// The eID relying party from `[eid]`, if configured.
fn eid_client(config: &Config) -> anyhow::Result<Option<rathaus_portal::EidClient>> {
    let Some(eid) = &config.eid else {
        tracing::info!("no [eid] configuration: raising the level with the eID is not offered");
        return Ok(None);
    };
    let settings = rathaus_portal::EidSettings {
        issuer: eid.issuer.clone(),
        client_id: eid.client_id.clone(),
        client_secret: eid.client_secret.clone(),
        redirect_url: eid.redirect_url(&config.portal.public_url),
    };
    tracing::info!(issuer = %settings.issuer, redirect_url = %settings.redirect_url, "eID sign-in configured");
    rathaus_portal::EidClient::new(settings)
        .map(Some)
        .map_err(|e| anyhow!("invalid [eid] configuration: {e}"))
}

/// Every minute: deletes ended sessions, old sign-in failures, expired drafts and receipts and
/// old message nonces, and publishes the outbox gauges.
fn spawn_housekeeping(state: rathaus_portal::PortalState, idle: chrono::Duration) {
    let store = Arc::clone(&state.store);
    let clock = Arc::clone(&state.clock);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let now = clock.now();
            match store.purge_sessions(now - idle, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "ended sessions deleted"),
                Err(error) => tracing::warn!(%error, "could not delete ended sessions"),
            }
            if let Err(error) = store
                .purge_sign_in_failures(now - chrono::Duration::hours(1))
                .await
            {
                tracing::warn!(%error, "could not delete old sign-in failures");
            }
            // R1: drafts past their retention and receipts past their 24 hours.
            match store.purge_expired(now).await {
                Ok(report) if report.drafts + report.receipts + report.links > 0 => {
                    tracing::info!(
                        drafts = report.drafts,
                        receipts = report.receipts,
                        links = report.links,
                        "expired drafts, receipts and links deleted"
                    )
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "could not delete expired drafts"),
            }
            // Applications of deleted accounts, kept detached only until delivered.
            match store.purge_detached_applications().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(applications = n, "detached applications deleted"),
                Err(error) => tracing::warn!(%error, "could not delete detached applications"),
            }
            // R1: application records past their service's period, with their messages.
            match rathaus_portal::purge_expired_records(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    applications = n,
                    "application records past their retention deleted"
                ),
                Err(error) => tracing::warn!(%error, "could not delete old application records"),
            }
            // R1: mailbox messages past their retention, with their files.
            match store.purge_messages(now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(messages = n, "expired mailbox messages deleted"),
                Err(error) => tracing::warn!(%error, "could not delete expired messages"),
            }
            if let Err(error) = store.purge_nonces(now - chrono::Duration::hours(1)).await {
                tracing::warn!(%error, "could not delete old message nonces");
            }
            // The outbox for operators: depth, dead letters, and the oldest waiting entry.
            // The R2 alert for entries waiting more than 3 days is the delivery worker's
            // sweep (`rathaus_portal::delivery::sweep`, gauge `rathaus_outbox_overdue`).
            match store.outbox_stats().await {
                Ok(stats) => {
                    metrics::gauge!("rathaus_outbox_pending").set(stats.pending as f64);
                    metrics::gauge!("rathaus_outbox_dead").set(stats.dead as f64);
                    let age = stats
                        .oldest_pending
                        .map_or(0, |t| (now - t).num_seconds().max(0));
                    metrics::gauge!("rathaus_outbox_oldest_pending_seconds").set(age as f64);
                }
                Err(error) => tracing::warn!(%error, "could not read the outbox"),
            }
        }
    });
}

pub async fn portal(mut config: Config, args: PortalArgs) -> anyhow::Result<()> {
    apply_catalog_args(&mut config, &args.catalog);
    if let Some(listen) = args.listen {
        config.portal.listen = listen;
    }
    if let Some(url) = args.database_url {
        config.portal.database_url = url;
    }
    let prepared = prepare_portal(&config).await?;
    let listener = rathaus_web::server::bind(config.portal.listen).await?;
    announce("portal", &listener)?;
    rathaus_web::server::serve(
        listener,
        prepared.router,
        rathaus_web::server::shutdown_signal(),
    )
    .await?;
    prepared.store.close().await;
    Ok(())
}

pub async fn authority(mut config: Config, args: AuthorityArgs) -> anyhow::Result<()> {
    if let Some(node) = args.node.clone() {
        config.authority.node = Some(node);
    }
    if let Some(listen) = args.listen {
        config.authority.listen = listen;
    }
    if let Some(url) = args.portal_url.clone() {
        config.authority.portal_url = Some(url);
    }
    if let Some(url) = args.database_url {
        config.authority.database_url = url;
    }
    if let Some(tenant) = args.tenant.clone() {
        config.catalog.tenant = tenant;
    }
    if let Some(dir) = args.web_dir.clone() {
        config.catalog.web_dir = dir;
    }
    if let Some(dir) = args.services.clone() {
        config.catalog.services_dir = dir;
    }
    if let Some(path) = args.keys.clone() {
        config.authority.keys_file = Some(path);
    }
    if let Some(path) = args.portal_keys.clone() {
        config.authority.portal_keys_file = Some(path);
    }
    rathaus_web::metrics::install();
    let node: NodeId = config
        .authority
        .node
        .as_deref()
        .ok_or_else(|| anyhow!("which node? pass --node ID or set authority.node"))?
        .parse()
        .map_err(|e| anyhow!("--node: {e}"))?;
    let tenant = Arc::new(load_tenant(&config.catalog.tenant)?);
    let store = open_store(&config.authority.database_url, 8).await?;
    let assets = Assets::discover(&config.catalog.web_dir);
    let state = rathaus_authority::NodeState::new(
        &node,
        Arc::clone(&tenant),
        Arc::clone(&store),
        &assets,
        config.authority.portal_url.as_deref(),
        SystemClock.now(),
    )
    .await?;
    let state = match (
        &config.authority.keys_file,
        &config.authority.portal_keys_file,
    ) {
        (Some(own), Some(portal)) => state.with_delivery(rathaus_authority::DeliveryKeys {
            own: Arc::new(rathaus_seal::read_private(own)?),
            portal: Arc::new(rathaus_seal::read_public(portal)?),
            clock: Arc::new(SystemClock),
        }),
        _ => {
            tracing::warn!(
                "no `authority.keys_file` and `authority.portal_keys_file`: this node cannot receive applications"
            );
            state
        }
    };
    let state = state.with_back_office(back_office(&config, &tenant, store.as_ref()).await?);
    // Sends status changes to the portal (and retries while it cannot be reached), and ends
    // old clerk sessions.
    rathaus_authority::status::spawn_background(state.clone(), Duration::from_secs(30));
    let options = LayerOptions {
        request_timeout: Duration::from_secs(config.authority.request_timeout_secs.max(1)),
        body_limit_bytes: config.authority.body_limit_bytes,
        upload_limit_bytes: config.authority.body_limit_bytes,
        ..LayerOptions::default()
    };
    let router = rathaus_authority::router(state, &assets, &options);
    let listener = rathaus_web::server::bind(config.authority.listen).await?;
    announce(&format!("authority node {node}"), &listener)?;
    let exit_with_parent = args.exit_with_parent;
    let shutdown = async move {
        tokio::select! {
            () = rathaus_web::server::shutdown_signal() => {},
            () = parent_gone(), if exit_with_parent => tracing::info!("parent process gone, stopping"),
        }
    };
    rathaus_web::server::serve(listener, router, shutdown).await?;
    store.close().await;
    Ok(())
}

/// The clerks' back office: password hashing, the service definitions (for the labels of the
/// fields in a case) and the session settings.
async fn back_office(
    config: &Config,
    tenant: &TenantDirectory,
    store: &dyn Store,
) -> anyhow::Result<rathaus_authority::BackOffice> {
    let loaded = rathaus_catalog::load_definitions(&config.catalog.services_dir, Some(tenant));
    if !loaded.errors.is_empty() {
        tracing::warn!(
            errors = loaded.errors.len(),
            dir = %config.catalog.services_dir.display(),
            "some service definitions are invalid; their cases show field names instead of labels (see `rathaus services check`)"
        );
    }
    let services = rathaus_authority::ServiceForms::new(loaded.definitions.iter().map(|(_, d)| {
        (
            d.key.to_string(),
            rathaus_authority::ServiceForm::of(d, loaded.forms.get(&d.key).cloned()),
        )
    }));
    let hasher = Hasher::with_cpus(Policy::production(), Duration::from_millis(500))
        .await
        .context("cannot prepare password hashing")?;
    let settings = rathaus_authority::BackOfficeSettings {
        secure_cookies: config.authority.secure_cookies,
        case_retention: chrono::Duration::days(i64::from(
            config.authority.case_retention_days.max(1),
        )),
        ..rathaus_authority::BackOfficeSettings::default()
    };
    if !settings.secure_cookies {
        tracing::info!("back-office cookies without `Secure`: for serving plain HTTP locally only");
    }
    rathaus_authority::BackOffice::new(
        store,
        settings,
        Arc::new(hasher),
        services,
        Arc::new(SystemClock),
    )
    .await
    .context("cannot prepare the back office")
}

/// Completes when the process that started this one is gone (this process is then adopted by
/// another parent). Polling the parent id needs no unsafe code and works after a SIGKILL too.
async fn parent_gone() {
    #[cfg(unix)]
    {
        let parent = std::os::unix::process::parent_id();
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tick.tick().await;
            if std::os::unix::process::parent_id() != parent {
                return;
            }
        }
    }
    #[cfg(not(unix))]
    std::future::pending::<()>().await;
}

fn announce(what: &str, listener: &TcpListener) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, open_files = raise_open_file_limit(), "{what} listening");
    Ok(())
}

/// Every connection is an open file: raises this process's soft limit of open files to its
/// hard limit (service managers often start processes with 1,024 soft) and returns the limit
/// now in force, so the log says how many connections the node can hold. The hard limit is
/// the operator's (`LimitNOFILE=` in a systemd unit, `ulimit -Hn`).
fn raise_open_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            tracing::warn!(%error, "the limit of open files could not be raised");
            rlimit::Resource::NOFILE.get().map_or(0, |(soft, _)| soft)
        }
    }
}

/// The delivery worker's settings from `[portal]`; the R2 deadlines (alert after 3 days, dead
/// letter after 14) are the requirement's and not configurable.
fn delivery_settings(config: &Config) -> rathaus_portal::delivery::DeliverySettings {
    let portal = &config.portal;
    // Between a second and a day: longer leases or first retries only delay deliveries.
    let seconds =
        |s: u64| chrono::Duration::seconds(i64::try_from(s.clamp(1, 86_400)).unwrap_or(1));
    rathaus_portal::delivery::DeliverySettings {
        lease: seconds(portal.delivery_lease_secs),
        first_backoff: seconds(portal.delivery_first_retry_secs),
        max_attempts: portal.delivery_max_attempts.max(1),
        ..rathaus_portal::delivery::DeliverySettings::default()
    }
}
