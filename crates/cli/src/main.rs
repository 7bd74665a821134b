//! `rathaus`: one binary for the demo, the portal, authority nodes and service-definition tools.

mod audit;
mod check;
mod clerk;
mod config;
mod demo;
mod keys;
mod serve;
mod test_idp;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, LogFormat};

/// mimalloc instead of the system's malloc: every password hash (argon2id) takes 19 MiB on a
/// blocking thread, and glibc kept that memory in each thread's arena, so the portal grew to
/// 0.5–1.2 GiB after a few hundred sign-ins; mimalloc returns freed pages to the system.
/// See docs/performance.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// rathaus — an open-source online service platform for public administration.
#[derive(Debug, Parser)]
#[command(name = "rathaus", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Configuration file (TOML); see `rathaus config default`.
    #[arg(long, global = true, env = "RATHAUS_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, global = true, value_name = "FORMAT", value_parser = ["text", "json"])]
    log_format: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole product locally: the portal and every authority node of the demo tenant,
    /// each with its own SQLite database under the data directory, seeded with demo data.
    Demo(DemoArgs),
    /// Run a portal node.
    Portal(PortalArgs),
    /// Run an authority node for one node id of the tenant file.
    Authority(AuthorityArgs),
    /// Run the TEST identity provider (OpenID Connect with the German eID test identities) for
    /// one portal. Not a real eID service: anyone can pick any identity.
    TestIdp(TestIdpArgs),
    /// Work with service definitions.
    #[command(subcommand)]
    Services(ServicesCommand),
    /// Show configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Create key pairs and pin authority nodes' public keys at the portal.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Check the tamper-evident audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Clerk accounts for an authority node's back office.
    #[command(subcommand)]
    Clerk(clerk::ClerkCommand),
}

/// Where the catalogue comes from; shared by `demo` and `portal`.
#[derive(Debug, Args, Clone, Default)]
struct CatalogArgs {
    /// Directory of service definitions to serve (default: `services`).
    #[arg(long, value_name = "DIR")]
    services: Option<PathBuf>,
    /// A national catalogue export (LeiKa CSV) to list beside the definitions.
    #[arg(long, value_name = "FILE.csv")]
    catalogue: Option<PathBuf>,
    /// The tenant file: districts, authorities, nodes (default: `demo/tenant.toml`).
    #[arg(long, value_name = "FILE")]
    tenant: Option<PathBuf>,
    /// Directory with `static/` and the npm-installed KERN UX assets (default: `web`).
    #[arg(long, value_name = "DIR")]
    web_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Where the demo keeps its databases (one per node).
    #[arg(long, value_name = "DIR", default_value = "data/demo")]
    data_dir: PathBuf,
    /// Address of the portal; the authority nodes take the next free ports after it.
    /// Port 0 picks a free port.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Run on PostgreSQL instead of SQLite: `postgres://USER@HOST/NAME`. The portal uses the
    /// database NAME and each authority node NAME_<node>, created when missing (the user must
    /// be allowed to create databases). Keys and mail stay in the data directory.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    #[command(flatten)]
    catalog: CatalogArgs,
}

#[derive(Debug, Args)]
struct PortalArgs {
    /// Address to listen on (overrides `portal.listen`).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Database URL, `sqlite:PATH` or `postgres://…` (overrides `portal.database_url`).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    #[command(flatten)]
    catalog: CatalogArgs,
}

#[derive(Debug, Args)]
struct AuthorityArgs {
    /// The node id from the tenant file (overrides `authority.node`).
    #[arg(long, value_name = "ID")]
    node: Option<String>,
    /// Address to listen on (overrides `authority.listen`).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Database URL of this node (overrides `authority.database_url`).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// The tenant file.
    #[arg(long, value_name = "FILE")]
    tenant: Option<PathBuf>,
    /// Directory with the web assets.
    #[arg(long, value_name = "DIR")]
    web_dir: Option<PathBuf>,
    /// Directory of service definitions, for the field labels in the back office (overrides
    /// `catalog.services_dir`).
    #[arg(long, value_name = "DIR")]
    services: Option<PathBuf>,
    /// The portal's public address, for links to its legal pages and where status changes are
    /// sent (overrides `authority.portal_url`).
    #[arg(long, value_name = "URL")]
    portal_url: Option<String>,
    /// This node's private key file (overrides `authority.keys_file`).
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// The portal's public key file (overrides `authority.portal_keys_file`).
    #[arg(long, value_name = "FILE")]
    portal_keys: Option<PathBuf>,
    /// Stop when the parent process ends: `rathaus demo` starts its nodes with this, so they
    /// end with the demo even when it is killed.
    #[arg(long, hide = true)]
    exit_with_parent: bool,
}

#[derive(Debug, Args)]
struct TestIdpArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// The issuer URL the portal is configured with (default: `http://` plus the listen address).
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
    /// The portal's client id (`eid.client_id` of the portal).
    #[arg(long, value_name = "ID", default_value = "rathaus-portal")]
    client_id: String,
    /// The portal's client secret (`eid.client_secret` of the portal).
    #[arg(
        long,
        value_name = "SECRET",
        env = "RATHAUS_TEST_IDP_CLIENT_SECRET",
        hide_env_values = true
    )]
    client_secret: String,
    /// The portal's callback, e.g. `http://127.0.0.1:8080/account/level/eid/callback`.
    #[arg(long, value_name = "URL")]
    redirect_url: String,
}

#[derive(Debug, Subcommand)]
enum ServicesCommand {
    /// Validate service definitions and report every error with file, line and message.
    /// Exits with 1 when any definition is invalid.
    Check {
        /// Directory of `*.toml` definitions.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Also check that every authority kind exists in this tenant file.
        #[arg(long, value_name = "FILE")]
        tenant: Option<PathBuf>,
        /// Also check a catalogue export (LeiKa CSV).
        #[arg(long, value_name = "FILE.csv")]
        catalogue: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the default configuration as TOML.
    Default,
    /// Print the effective configuration (defaults, file and environment merged).
    Show,
}

#[allow(clippy::print_stdout)] // printing is what these subcommands are for
fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("rathaus: invalid configuration:\n{message}");
            return ExitCode::from(2);
        }
    };
    config.locate_shipped_files();
    if let Some(format) = &cli.log_format {
        config.log.format = if format == "json" {
            LogFormat::Json
        } else {
            LogFormat::Text
        };
    }
    match cli.command {
        Command::Services(ServicesCommand::Check {
            dir,
            tenant,
            catalogue,
        }) => check::run(&dir, tenant.as_deref(), catalogue.as_deref()),
        Command::Config(ConfigCommand::Default) => {
            print!("{}", Config::default_toml());
            ExitCode::SUCCESS
        }
        Command::Config(ConfigCommand::Show) => {
            let mut shown = config.clone();
            // Database URLs may carry passwords; never print them.
            shown.portal.database_url = rathaus_store::redact_url(&shown.portal.database_url);
            shown.authority.database_url = rathaus_store::redact_url(&shown.authority.database_url);
            shown.mail.smtp_url = rathaus_store::redact_url(&shown.mail.smtp_url);
            if let Some(eid) = &mut shown.eid {
                eid.client_secret = "[redacted]".to_owned();
            }
            print!("{}", toml::to_string_pretty(&shown).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Command::Demo(args) => run_async(&config, demo::run(config.clone(), args)),
        Command::Keys(command) => run_async(&config, keys::run(config.clone(), command)),
        Command::Audit(command) => run_async_code(&config, audit::run(config.clone(), command)),
        Command::Clerk(command) => run_async(&config, clerk::run(config.clone(), command)),
        Command::Portal(args) => run_async(&config, serve::portal(config.clone(), args)),
        Command::Authority(args) => run_async(&config, serve::authority(config.clone(), args)),
        Command::TestIdp(args) => run_async(&config, test_idp::run(args)),
    }
}

fn run_async(
    config: &Config,
    task: impl std::future::Future<Output = anyhow::Result<()>>,
) -> ExitCode {
    init_logging(config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("rathaus: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rathaus: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Like [`run_async`], for commands that choose their own exit status.
fn run_async_code(
    config: &Config,
    task: impl std::future::Future<Output = anyhow::Result<ExitCode>>,
) -> ExitCode {
    init_logging(config);
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(task).unwrap_or_else(|e| {
            eprintln!("rathaus: {e:#}");
            ExitCode::FAILURE
        }),
        Err(e) => {
            eprintln!("rathaus: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("RATHAUS_LOG")
        .or_else(|_| EnvFilter::try_new(&config.log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
