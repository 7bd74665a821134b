//! `rathaus demo`: the portal plus one process per authority node of the tenant, each with its
//! own SQLite database under the data directory.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use rathaus_testidp::ClientRegistration;
use rathaus_web::{Clock, SystemClock};
use tokio::process::{Child, Command};

use crate::DemoArgs;
use crate::config::{Config, EidConfig, LogFormat};
use crate::serve::{apply_catalog_args, prepare_portal};

/// How long a node may take to accept connections after it was started.
const NODE_START_TIMEOUT: Duration = Duration::from_secs(20);

/// The demo's operator (`portal.operators`): a confirmed Servicekonto account, made on the
/// first start, that sees `/operator`.
pub const DEMO_OPERATOR: &str = "betrieb@rathaus.example";
pub const DEMO_OPERATOR_PASSWORD: &str = "Demo-Betrieb-Status";

async fn ensure_demo_operator(store: &dyn rathaus_store::Store) -> anyhow::Result<()> {
    let email = rathaus_domain::Email::parse(DEMO_OPERATOR)
        .map_err(|e| anyhow!("the demo operator's address is refused: {e}"))?;
    if store.account_by_email(&email).await?.is_some() {
        return Ok(());
    }
    let hash = crate::clerk::password_hash(DEMO_OPERATOR_PASSWORD).await?;
    let id = rathaus_domain::AccountId::random();
    let now = SystemClock.now();
    store
        .create_account(id, &email, hash.as_str(), now)
        .await
        .context("cannot create the demo operator account")?;
    store.confirm_email(id, now).await?;
    Ok(())
}

struct RunningNode {
    id: String,
    addr: SocketAddr,
    database_url: String,
    child: Child,
}

/// How often a node is started again on another port when it stops during start-up: between
/// finding a port free and the node binding it, another process (another demo, a test running
/// beside this one) may take it.
const NODE_START_ATTEMPTS: u32 = 3;

pub async fn run(mut config: Config, args: DemoArgs) -> anyhow::Result<()> {
    apply_catalog_args(&mut config, &args.catalog);
    std::fs::create_dir_all(&args.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            args.data_dir.display()
        )
    })?;
    let nodes_dir = args.data_dir.join("nodes");
    std::fs::create_dir_all(&nodes_dir)
        .with_context(|| format!("cannot create {}", nodes_dir.display()))?;
    let databases = Databases::new(&args)?;
    config.portal.database_url = databases.portal().await?;
    config.portal.listen = args.listen;

    // Bind first: links in mails must name the real address (port 0 picks one).
    let listener = rathaus_web::server::bind(args.listen).await?;
    let portal_addr = listener.local_addr()?;
    // The demo serves plain HTTP on this machine: no `Secure` cookies, and mails are files.
    // On a loopback address it is `localhost`, not the IP: browsers offer passkeys only to a
    // site with a domain name, and `localhost` is the one that needs no certificate.
    config.portal.public_url = demo_public_url(portal_addr);
    config.portal.secure_cookies = false;
    config.mail.smtp_url.clear();
    config.mail.dir = args.data_dir.join("mail");

    // Keys for encrypted delivery: made once per data directory (RSA 4096 takes seconds, so
    // the sets are made in parallel), then reused.
    let keys_dir = args.data_dir.join("keys");
    let tenant_for_keys = crate::serve::load_tenant(&config.catalog.tenant)?;
    let mut owners: Vec<String> = vec!["portal".into()];
    owners.extend(tenant_for_keys.nodes.iter().map(|n| n.id.to_string()));
    let mut jobs = Vec::new();
    for owner in owners {
        let path = keys_dir.join(format!("{owner}.json"));
        jobs.push(tokio::task::spawn_blocking(move || {
            crate::keys::ensure(&owner, &path).map(|keys| (owner, keys))
        }));
    }
    let mut node_keys = Vec::new();
    for job in jobs {
        let (owner, keys) = job.await??;
        if owner == "portal" {
            config.portal.keys_file = Some(keys_dir.join("portal.json"));
        } else {
            node_keys.push((owner, keys.public()));
        }
    }

    // The TEST identity provider, in-process on the next free port, so that level `high` can
    // be reached in the demo (the portal is its only client).
    let (idp_addr, after_idp) = next_free_port(portal_addr, portal_addr.port().saturating_add(1))?;
    let idp_listener = rathaus_web::server::bind(idp_addr).await?;
    let client = ClientRegistration {
        client_id: "rathaus-demo-portal".to_owned(),
        client_secret: rathaus_auth::SecretToken::generate()
            .context("no random numbers for the test provider's client secret")?
            .expose()
            .to_owned(),
        redirect_uri: format!("{}/account/level/eid/callback", config.portal.public_url),
    };
    let idp = crate::test_idp::provider(&format!("http://{idp_addr}"), client.clone())?;
    config.eid = Some(EidConfig {
        issuer: idp.issuer().to_owned(),
        client_id: client.client_id,
        client_secret: client.client_secret,
        redirect_url: Some(client.redirect_uri),
    });

    // The demo's operator account sees the status page of the delivery outbox.
    config.portal.operators = vec![DEMO_OPERATOR.to_owned()];
    let prepared = prepare_portal(&config).await?;
    ensure_demo_operator(prepared.store.as_ref()).await?;
    for (node, public) in &node_keys {
        crate::keys::pin(prepared.store.as_ref(), node, public).await?;
    }

    let mut nodes: Vec<RunningNode> = Vec::new();
    let mut next_port = after_idp;
    // One clerk per authority in each node's database, on the first start (README: demo).
    let clerk_hash = crate::clerk::demo_password_hash().await?;
    for node in &prepared.tenant.nodes {
        let (addr, following) = next_free_port(portal_addr, next_port)?;
        next_port = following;
        let database_url = databases.node(node.id.as_str(), &nodes_dir).await?;
        crate::clerk::ensure_demo_clerks(&database_url, &prepared.tenant, &node.id, &clerk_hash)
            .await?;
        let child = spawn_node(&config, node.id.as_str(), addr, &database_url, &keys_dir)?;
        nodes.push(RunningNode {
            id: node.id.to_string(),
            addr,
            database_url,
            child,
        });
    }
    for node in &mut nodes {
        let mut attempt = 1;
        while let Err(stopped) = wait_until_listening(node).await? {
            if attempt >= NODE_START_ATTEMPTS {
                bail!(
                    "the authority node {} stopped during start-up ({stopped}); see its log above",
                    node.id
                );
            }
            attempt += 1;
            let (addr, following) = next_free_port(portal_addr, next_port)?;
            next_port = following;
            tracing::warn!(node = %node.id, %addr, "the authority node stopped during start-up; trying another port");
            node.child = spawn_node(&config, &node.id, addr, &node.database_url, &keys_dir)?;
            node.addr = addr;
        }
        prepared
            .store
            .register_node_endpoint(
                &node.id.parse().map_err(|e| anyhow!("{e}"))?,
                &format!("http://{}", node.addr),
                SystemClock.now(),
            )
            .await
            .context("cannot register the authority node")?;
    }

    print_urls(
        &config.portal.public_url,
        idp_addr,
        &nodes,
        &prepared.tenant,
        &args.data_dir,
    );
    let result = tokio::select! {
        served = rathaus_web::server::serve(listener, prepared.router, rathaus_web::server::shutdown_signal()) => served.map_err(Into::into),
        idp_stopped = crate::test_idp::serve(&idp, idp_listener, std::future::pending()) => idp_stopped,
        exited = watch_nodes(&mut nodes) => exited,
    };
    for node in &mut nodes {
        let _ = node.child.start_kill();
        let _ = node.child.wait().await;
    }
    prepared.store.close().await;
    result
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite:{}", path.display())
}

/// Where the demo's processes keep their data: a SQLite file each under the data directory,
/// or, with `--database-url`, a database each on one PostgreSQL server.
enum Databases {
    Sqlite(std::path::PathBuf),
    /// The server's URL and the portal's database name; a node's is `<name>_<node>`.
    Postgres {
        url: String,
        name: String,
    },
}

impl Databases {
    fn new(args: &DemoArgs) -> anyhow::Result<Self> {
        match &args.database_url {
            None => Ok(Self::Sqlite(args.data_dir.clone())),
            Some(url) => match rathaus_store::backend_of(url)? {
                rathaus_store::Backend::Postgres => {
                    let name = rathaus_store::postgres_database_name(url)?;
                    Ok(Self::Postgres {
                        url: url.clone(),
                        name: if name.is_empty() {
                            "rathaus_demo".to_owned()
                        } else {
                            name
                        },
                    })
                }
                rathaus_store::Backend::Sqlite => {
                    bail!(
                        "`--database-url` is for PostgreSQL; without it the demo uses SQLite files"
                    )
                }
            },
        }
    }

    async fn portal(&self) -> anyhow::Result<String> {
        match self {
            Self::Sqlite(dir) => Ok(sqlite_url(&dir.join("portal.db"))),
            Self::Postgres { url, name } => {
                Self::created(rathaus_store::with_database(url, name)).await
            }
        }
    }

    async fn node(&self, node: &str, nodes_dir: &Path) -> anyhow::Result<String> {
        match self {
            Self::Sqlite(_) => Ok(sqlite_url(&nodes_dir.join(format!("{node}.db")))),
            Self::Postgres { url, name } => {
                let node = format!("{name}_{}", node.replace('-', "_"));
                Self::created(rathaus_store::with_database(url, &node)).await
            }
        }
    }

    async fn created(url: String) -> anyhow::Result<String> {
        if rathaus_store::create_postgres_database(&url)
            .await
            .with_context(|| {
                format!(
                    "cannot create the database {}",
                    rathaus_store::redact_url(&url)
                )
            })?
        {
            tracing::info!(url = %rathaus_store::redact_url(&url), "demo database created");
        }
        Ok(url)
    }
}

/// The first port from `start` on the portal's interface that is free right now.
fn next_free_port(portal: SocketAddr, start: u16) -> anyhow::Result<(SocketAddr, u16)> {
    let mut port = start;
    while port < u16::MAX {
        let candidate = SocketAddr::new(portal.ip(), port);
        if std::net::TcpListener::bind(candidate).is_ok() {
            return Ok((candidate, port + 1));
        }
        port += 1;
    }
    bail!("no free port left after {start} for the authority nodes")
}

fn spawn_node(
    config: &Config,
    node: &str,
    addr: SocketAddr,
    database_url: &str,
    keys_dir: &Path,
) -> anyhow::Result<Child> {
    let exe = std::env::current_exe()
        .context("cannot find the rathaus executable to start the authority nodes")?;
    let mut command = Command::new(exe);
    command
        .arg("authority")
        .args(["--node", node])
        .args(["--listen", &addr.to_string()])
        .args(["--database-url", database_url])
        .arg("--tenant")
        .arg(&config.catalog.tenant)
        .arg("--web-dir")
        .arg(&config.catalog.web_dir)
        .args([
            "--log-format",
            if config.log.format == LogFormat::Json {
                "json"
            } else {
                "text"
            },
        ])
        .args(["--portal-url", &config.portal.public_url])
        .arg("--keys")
        .arg(keys_dir.join(format!("{node}.json")))
        .arg("--portal-keys")
        .arg(crate::keys::public_path(&keys_dir.join("portal.json")))
        .arg("--services")
        .arg(&config.catalog.services_dir)
        // The demo serves plain HTTP on this machine: back-office cookies without `Secure`.
        .env("RATHAUS_AUTHORITY__SECURE_COOKIES", "false")
        .arg("--exit-with-parent")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    command
        .spawn()
        .with_context(|| format!("cannot start the authority node {node}"))
}

/// Waits until the node accepts connections (`Ok(Ok(()))`), or reports how it ended when it
/// stopped during start-up (`Ok(Err(status))`).
async fn wait_until_listening(
    node: &mut RunningNode,
) -> anyhow::Result<Result<(), std::process::ExitStatus>> {
    let deadline = tokio::time::Instant::now() + NODE_START_TIMEOUT;
    loop {
        if let Some(status) = node.child.try_wait()? {
            return Ok(Err(status));
        }
        if tokio::net::TcpStream::connect(node.addr).await.is_ok() {
            return Ok(Ok(()));
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "the authority node {} did not start listening on {} in time",
                node.id,
                node.addr
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Completes with an error when any node process ends on its own.
async fn watch_nodes(nodes: &mut [RunningNode]) -> anyhow::Result<()> {
    if nodes.is_empty() {
        std::future::pending::<()>().await;
    }
    let waits = nodes.iter_mut().map(|node| {
        Box::pin(async move {
            let status = node.child.wait().await;
            (node.id.clone(), status)
        })
    });
    let ((id, status), _, _) = futures_select_all(waits).await;
    Err(anyhow!(
        "the authority node {id} stopped unexpectedly ({})",
        status.map_or_else(|e| e.to_string(), |s| s.to_string())
    ))
}

async fn futures_select_all<F: std::future::Future + Unpin>(
    futures: impl IntoIterator<Item = F>,
) -> (F::Output, usize, Vec<F>) {
    futures::future::select_all(futures).await
}

/// The portal's address as people open it: `localhost` for a loopback address (passkeys need a
/// domain name), the address itself otherwise.
fn demo_public_url(addr: SocketAddr) -> String {
    if addr.ip().is_loopback() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

/// Prints where everything is. Write errors are ignored: whoever started the demo may have
/// stopped reading its output (the integration tests do), which must not end the demo.
fn print_urls(
    portal: &str,
    idp: SocketAddr,
    nodes: &[RunningNode],
    tenant: &rathaus_domain::TenantDirectory,
    data_dir: &Path,
) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "rathaus demo is running (press Ctrl-C to stop).");
    let _ = writeln!(out, "  Portal: {portal}/");
    for node in nodes {
        let _ = writeln!(out, "  Authority node {}: http://{}/", node.id, node.addr);
        // One example clerk per node; every authority has one (see the README).
        if let Some(authority) = node
            .id
            .parse()
            .ok()
            .and_then(|id| tenant.authorities_on(&id).next())
        {
            let _ = writeln!(
                out,
                "    Back office: http://{}/back-office (clerk: {} / {})",
                node.addr,
                crate::clerk::demo_email(authority.id.as_str()),
                crate::clerk::DEMO_PASSWORD
            );
        }
    }
    let _ = writeln!(
        out,
        "  Test eID provider: http://{idp}/ (TEST identities, not a real eID; raise the level at {portal}/account/level)"
    );
    let _ = writeln!(
        out,
        "  Mail: {} (every mail as an .eml file)",
        data_dir.join("mail").display()
    );
    let _ = writeln!(
        out,
        "  Operations status: {portal}/operator (operator: {DEMO_OPERATOR} / {DEMO_OPERATOR_PASSWORD})"
    );
    let _ = writeln!(out, "  API: {portal}/api/v1/openapi.json");
    let _ = writeln!(out, "  Data: {}", data_dir.display());
    let _ = out.flush();
}
