//! Configuration: built-in defaults, then a TOML file, then `RATHAUS_…` environment variables,
//! then command-line options. Unknown keys are errors, so a typo never silently does nothing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub portal: PortalConfig,
    pub authority: AuthorityConfig,
    pub catalog: CatalogConfig,
    pub mail: MailConfig,
    pub log: LogConfig,
    /// The eID service (OpenID Connect) that raises accounts to level `high`; without it the
    /// portal says that eID sign-in is not set up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eid: Option<EidConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PortalConfig {
    /// Address and port the portal listens on.
    pub listen: SocketAddr,
    /// `sqlite:PATH` (embedded default) or `postgres://USER@HOST/DB`.
    pub database_url: String,
    /// The address people use to reach the portal; `https://` turns on HSTS and Secure cookies.
    pub public_url: String,
    /// Seconds after which a request is answered with 503.
    pub request_timeout_secs: u64,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// Largest accepted form post with uploads (multipart), in bytes.
    pub upload_limit_bytes: usize,
    /// `host:port` of a ClamAV `clamd` that scans every upload; empty: uploads are not scanned.
    pub clamd_address: String,
    /// Maximum database connections of this process.
    pub max_connections: u32,
    /// A session ends after this many minutes without a request.
    pub session_idle_minutes: u32,
    /// A session ends this many hours after sign-in, whatever the activity.
    pub session_absolute_hours: u32,
    /// `Secure` session cookies with the `__Host-` prefix. Turn off only to serve plain HTTP
    /// (the demo does); then the cookies are called `rathaus_session` and `rathaus_form`.
    pub secure_cookies: bool,
    /// The header a reverse proxy puts the client's address in (e.g. `x-forwarded-for`; its
    /// last value counts), for throttling sign-ins per address. Empty: the peer address.
    pub client_ip_header: String,
    /// Password hashing workers; 0 means one per CPU.
    pub password_workers: usize,
    /// How long a sign-in waits for a free password worker before it gets 429, in milliseconds.
    pub password_wait_ms: u64,
    /// The portal's private key file for signing deliveries (`rathaus keys generate --owner
    /// portal`). Without it, submitted applications wait in the outbox.
    pub keys_file: Option<PathBuf>,
    /// How long one delivery attempt holds its outbox entry, in seconds; a portal that dies
    /// mid-attempt leaves the entry to be tried again after this.
    #[serde(default = "default_delivery_lease_secs")]
    pub delivery_lease_secs: u64,
    /// The first retry of a failed delivery waits this long (doubling up to an hour).
    #[serde(default = "default_delivery_first_retry_secs")]
    pub delivery_first_retry_secs: u64,
    /// Attempts after which a delivery becomes a dead letter.
    #[serde(default = "default_delivery_max_attempts")]
    pub delivery_max_attempts: u32,
    /// Days a message in a citizen's mailbox is kept before the housekeeping deletes it (R1).
    #[serde(default = "default_message_retention_days")]
    pub message_retention_days: u32,
    /// Days an application's metadata is kept after its last change, once delivered, before
    /// the housekeeping deletes it with its messages (R1). A service's `[retention]
    /// record_days` overrides it.
    #[serde(default = "default_record_retention_days")]
    pub record_retention_days: u32,
    /// E-mail addresses of the Servicekonto accounts that may see the operator's status page
    /// (`/operator`: the delivery outbox, dead letters and their retry). Empty: nobody.
    #[serde(default)]
    pub operators: Vec<String>,
}

fn default_message_retention_days() -> u32 {
    365
}

fn default_record_retention_days() -> u32 {
    730
}

fn default_case_retention_days() -> u32 {
    rathaus_authority::DEFAULT_CASE_RETENTION_DAYS
}

fn default_delivery_lease_secs() -> u64 {
    120
}

fn default_delivery_first_retry_secs() -> u64 {
    10
}

fn default_delivery_max_attempts() -> u32 {
    400
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuthorityConfig {
    /// The node id from the tenant file this process runs as.
    pub node: Option<String>,
    pub listen: SocketAddr,
    pub database_url: String,
    pub request_timeout_secs: u64,
    /// The portal's public address; the node's pages link its imprint and privacy notice, and
    /// status changes of cases are sent to it.
    pub portal_url: Option<String>,
    /// This node's private key file (`rathaus keys generate`); needed to receive applications.
    pub keys_file: Option<PathBuf>,
    /// The portal's public key file, pinned: only deliveries it signed are accepted.
    pub portal_keys_file: Option<PathBuf>,
    /// Largest accepted request body, in bytes; deliveries carry the attachments.
    pub body_limit_bytes: usize,
    /// `Secure` back-office cookies with the `__Host-` prefix; off only for a node served over
    /// plain HTTP on this machine (the demo).
    pub secure_cookies: bool,
    /// Days a decided case is kept after its decision before the housekeeping deletes it
    /// (R1). A service's `[retention] case_days` overrides it.
    #[serde(default = "default_case_retention_days")]
    pub case_retention_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// Directory of service definitions (`*.toml`).
    pub services_dir: PathBuf,
    /// The tenant's directory: districts, authorities, nodes.
    pub tenant: PathBuf,
    /// Optional national catalogue export (CSV) listed beside the definitions.
    pub catalogue: Option<PathBuf>,
    /// Where templates' assets live (`static/`, `node_modules/@kern-ux/native`).
    pub web_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// `smtp://host:25`, `smtp://host:587?tls=required` or `smtps://user:password@host:465`.
    /// Empty: every mail is written as an `.eml` file into `dir` instead.
    pub smtp_url: String,
    /// The sender, e.g. `Serviceportal <noreply@example.org>`.
    pub from: String,
    /// Where mails are written when no SMTP server is configured.
    pub dir: PathBuf,
}

/// `[eid]`: the portal as a relying party of an OpenID Connect provider for the German eID.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EidConfig {
    /// The provider's issuer URL (its discovery document is below it); https, or http on this
    /// machine only.
    pub issuer: String,
    pub client_id: String,
    /// Never printed: `config show` and logs show `[redacted]`.
    pub client_secret: String,
    /// The callback registered at the provider; default `{portal.public_url}/account/level/eid/callback`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
}

impl std::fmt::Debug for EidConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EidConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_url", &self.redirect_url)
            .finish()
    }
}

impl EidConfig {
    /// The callback URL: the configured one, or the portal's own.
    pub fn redirect_url(&self, public_url: &str) -> String {
        self.redirect_url.clone().unwrap_or_else(|| {
            format!(
                "{}/account/level/eid/callback",
                public_url.trim_end_matches('/')
            )
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter such as `info` or `rathaus_portal=debug,info`.
    pub filter: String,
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            portal: PortalConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
                database_url: "sqlite:data/portal.db".into(),
                public_url: "http://127.0.0.1:8080".into(),
                request_timeout_secs: 30,
                body_limit_bytes: 1024 * 1024,
                upload_limit_bytes: 64 * 1024 * 1024,
                clamd_address: String::new(),
                max_connections: 16,
                session_idle_minutes: 30,
                session_absolute_hours: 12,
                secure_cookies: true,
                client_ip_header: String::new(),
                password_workers: 0,
                password_wait_ms: 500,
                keys_file: None,
                delivery_lease_secs: default_delivery_lease_secs(),
                delivery_first_retry_secs: default_delivery_first_retry_secs(),
                delivery_max_attempts: default_delivery_max_attempts(),
                message_retention_days: default_message_retention_days(),
                record_retention_days: default_record_retention_days(),
                operators: Vec::new(),
            },
            authority: AuthorityConfig {
                node: None,
                listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
                database_url: "sqlite:data/authority.db".into(),
                request_timeout_secs: 30,
                portal_url: None,
                keys_file: None,
                portal_keys_file: None,
                body_limit_bytes: 128 * 1024 * 1024,
                secure_cookies: true,
                case_retention_days: default_case_retention_days(),
            },
            catalog: CatalogConfig {
                services_dir: "services".into(),
                tenant: "demo/tenant.toml".into(),
                catalogue: None,
                web_dir: "web".into(),
            },
            mail: MailConfig {
                smtp_url: String::new(),
                from: "Serviceportal <noreply@example.invalid>".into(),
                dir: "data/mail".into(),
            },
            log: LogConfig {
                filter: "info,tantivy=warn".into(),
                format: LogFormat::Text,
            },
            eid: None,
        }
    }
}

impl Config {
    /// Loads defaults, then `file` (which must exist when given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, String> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(format!(
                    "the configuration file {} does not exist",
                    file.display()
                ));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        // Only `RATHAUS_SECTION__KEY` variables are configuration; others with the prefix
        // (RATHAUS_LOG, RATHAUS_CONFIG, the test harness's RATHAUS_BIN) mean something else.
        figment = figment.merge(
            Env::prefixed("RATHAUS_")
                .filter(|key| key.as_str().contains("__"))
                .split("__"),
        );
        let config: Self = figment.extract().map_err(|e| {
            e.into_iter()
                .map(|e| {
                    // Name the file (or the environment) the wrong value came from.
                    let source = match (e.metadata.as_ref(), file) {
                        (Some(m), Some(file)) if m.name.contains("TOML") => {
                            file.display().to_string()
                        }
                        (Some(m), _) => m.name.to_string(),
                        (None, _) => "configuration".to_owned(),
                    };
                    let path = e.path.join(".");
                    format!(
                        "{source}: {}{}",
                        if path.is_empty() {
                            String::new()
                        } else {
                            format!("`{path}`: ")
                        },
                        e.kind
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        })?;
        config.check(file)?;
        Ok(config)
    }

    /// What the types cannot say: every operator is an e-mail address.
    fn check(&self, file: Option<&Path>) -> Result<(), String> {
        let source = file.map_or_else(|| "configuration".to_owned(), |f| f.display().to_string());
        for address in &self.portal.operators {
            if let Err(e) = rathaus_domain::Email::parse(address) {
                return Err(format!(
                    "{source}: `portal.operators`: {address:?} is not an e-mail address ({e})"
                ));
            }
        }
        Ok(())
    }

    /// Finds the shipped defaults (`services/`, `demo/tenant.toml`, `web/`) when rathaus is not
    /// started from the repository root: relative default paths missing from the working
    /// directory are looked up beside the executable and its parent directories (the binary
    /// lives in `target/debug/` of a checkout). Paths an operator set are never changed.
    pub fn locate_shipped_files(&mut self) {
        let defaults = Config::default().catalog;
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let locate = |path: &mut PathBuf, default: &Path| {
            if path.as_path() != default || path.exists() {
                return;
            }
            if let Some(found) = exe
                .ancestors()
                .skip(1)
                .map(|dir| dir.join(default))
                .find(|p| p.exists())
            {
                *path = found;
            }
        };
        locate(&mut self.catalog.services_dir, &defaults.services_dir);
        locate(&mut self.catalog.tenant, &defaults.tenant);
        locate(&mut self.catalog.web_dir, &defaults.web_dir);
    }

    /// The default configuration as commented TOML, printed by `rathaus config default`.
    pub fn default_toml() -> String {
        let body = toml::to_string_pretty(&Config::default()).unwrap_or_default();
        format!(
            "# rathaus configuration. Every value can also be set in the environment, e.g.\n\
             # RATHAUS_PORTAL__DATABASE_URL=postgres://rathaus@db/rathaus or RATHAUS_LOG__FORMAT=json.\n\
             # Precedence: built-in defaults < this file < environment < command-line options.\n\
             #\n\
             # [portal]     listen, database_url (sqlite:PATH or postgres://…), public_url (https:// enables\n\
             #              HSTS; links in mails start with it), request_timeout_secs, body_limit_bytes,\n\
             #              max_connections, session_idle_minutes, session_absolute_hours, secure_cookies,\n\
             #              client_ip_header, password_workers (0 = one per CPU), password_wait_ms,\n\
             #              upload_limit_bytes, keys_file (signing keys for deliveries),\n\
             #              delivery_lease_secs, delivery_first_retry_secs, delivery_max_attempts,\n\
             #              message_retention_days (mailbox messages are deleted after it),\n\
             #              record_retention_days (application metadata, after its last change),\n\
             #              operators (e-mail addresses of accounts that see /operator: outbox, dead letters),\n\
             #              clamd_address (host:port of ClamAV for uploads; empty = no scan)\n\
             # [authority]  node (id from the tenant file), listen, database_url, request_timeout_secs,\n\
             #              keys_file, portal_keys_file (pinned portal keys), body_limit_bytes,\n\
             #              secure_cookies (back office; off only for plain HTTP on this machine),\n\
             #              case_retention_days (decided cases are deleted after it)\n\
             # [catalog]    services_dir, tenant, catalogue (optional LeiKa CSV export), web_dir\n\
             # [mail]       smtp_url (empty: write .eml files into dir), from, dir\n\
             # [log]        filter (e.g. \"info\"), format (\"text\" or \"json\")\n\
             # [eid]        optional: issuer, client_id, client_secret, redirect_url (default: public_url +\n\
             #              /account/level/eid/callback); the German eID through OpenID Connect, for level high.\n\
             #              RATHAUS_EID__CLIENT_SECRET=… keeps the secret out of the file.\n\n{body}"
        )
    }
}
