//! `rathaus clerk add`: clerk accounts for an authority node's back office (issue 5), written
//! straight into the node's own database. The password is read from standard input (or a
//! file), never from the command line, where other users of the machine could see it.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use rathaus_auth::{Hasher, PasswordHash, Policy};
use rathaus_domain::{
    AuditEvent, Blocklist, ClerkId, ClerkRole, Email, NewPassword, NodeId, PasswordError,
    TenantDirectory,
};
use rathaus_store::{AuditRecord, ClerkRecord, Store};
use rathaus_web::{Clock, SystemClock};

use crate::config::Config;

/// The password of the demo's clerks (documented in the README; the demo only).
pub const DEMO_PASSWORD: &str = "Demo-Sachbearbeitung";

#[derive(Debug, Subcommand)]
pub enum ClerkCommand {
    /// Create a clerk account for one authority of a node. Reads the password from standard
    /// input (the first line) unless `--password-file` is given; refuses short and common
    /// passwords.
    Add {
        /// The node id from the tenant file.
        #[arg(long, value_name = "ID")]
        node: String,
        /// The authority (on that node) whose cases the clerk works.
        #[arg(long, value_name = "ID")]
        authority: String,
        /// The clerk's e-mail address; they sign in with it.
        #[arg(long, value_name = "ADDRESS")]
        email: String,
        /// The name shown in the back office.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// `clerk`, or `lead` (may also reopen decided cases).
        #[arg(long, value_name = "ROLE", default_value = "clerk", value_parser = ["clerk", "lead"])]
        role: String,
        /// The node's database (default: `authority.database_url`).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// Read the password from this file's first line instead of standard input.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
}

pub async fn run(config: Config, command: ClerkCommand) -> anyhow::Result<()> {
    let ClerkCommand::Add {
        node,
        authority,
        email,
        name,
        role,
        database_url,
        password_file,
    } = command;
    let tenant = crate::serve::load_tenant(&config.catalog.tenant)?;
    let node: NodeId = node.parse().map_err(|e| anyhow!("--node: {e}"))?;
    check_authority(&tenant, &node, &authority)?;
    let email = Email::parse(&email).map_err(|e| anyhow!("--email: {e}"))?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        bail!("--name: give the clerk's name, at most 100 characters");
    }
    let role = ClerkRole::parse(&role).ok_or_else(|| anyhow!("--role: clerk or lead"))?;
    let raw = read_password(password_file.as_deref())?;
    let password = NewPassword::parse(&raw, Blocklist::shipped(), Some(&email))
        .map_err(|e| anyhow!("the password is refused: {}", password_problem(e)))?;
    let url = database_url.unwrap_or_else(|| config.authority.database_url.clone());
    let store = crate::serve::open_store(&url, 2).await?;
    bind_to_node(store.as_ref(), &node).await?;
    let hasher = Hasher::new(Policy::production(), 1, Duration::from_secs(30))
        .await
        .context("cannot prepare password hashing")?;
    let hash = hasher
        .hash(&password)
        .await
        .context("cannot hash the password")?;
    let clerk = new_clerk(&authority, email, name, role, hash);
    match store.create_clerk(&clerk).await {
        Ok(()) => {}
        Err(e) if e.is_conflict() => bail!("a clerk with this e-mail address exists on this node"),
        Err(e) => return Err(e).context("cannot store the clerk"),
    }
    audit_added(store.as_ref(), &clerk).await;
    store.close().await;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Clerk {} ({}) added for {authority} on node {node}.",
        clerk.email.as_str(),
        clerk.role
    )?;
    Ok(())
}

fn check_authority(tenant: &TenantDirectory, node: &NodeId, authority: &str) -> anyhow::Result<()> {
    if !tenant.nodes.iter().any(|n| &n.id == node) {
        bail!("the tenant has no node `{node}`; see [[nodes]] in the tenant file");
    }
    if !tenant
        .authorities_on(node)
        .any(|a| a.id.as_str() == authority)
    {
        bail!(
            "the node `{node}` hosts no authority `{authority}`; see [[authorities]] in the tenant file"
        );
    }
    Ok(())
}

fn password_problem(error: PasswordError) -> &'static str {
    match error {
        PasswordError::TooShort => "it must have at least 12 characters",
        PasswordError::TooLong => "it must have at most 1024 characters",
        PasswordError::ControlCharacter => "it must not contain control characters",
        PasswordError::Common => "it is on the list of common or breached passwords",
        PasswordError::IsEmail => "it must not be the e-mail address",
    }
}

/// The first line of the file or of standard input, without its line break.
fn read_password(file: Option<&std::path::Path>) -> anyhow::Result<String> {
    let mut line = String::new();
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            line = text.lines().next().unwrap_or_default().to_owned();
        }
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(
                    err,
                    "Password for the clerk (shown as you type; a pipe or --password-file avoids that):"
                );
            }
            stdin
                .lock()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
        }
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Binds an empty database to `node` (as the node does on its first start) and refuses one
/// that belongs to another node.
async fn bind_to_node(store: &dyn Store, node: &NodeId) -> anyhow::Result<()> {
    match store.node_identity().await? {
        Some(identity) if &identity.node != node => bail!(
            "this database belongs to node `{}`, not `{node}`",
            identity.node
        ),
        Some(_) => Ok(()),
        None => {
            store.init_node_identity(node, SystemClock.now()).await?;
            Ok(())
        }
    }
}

fn new_clerk(
    authority: &str,
    email: Email,
    name: &str,
    role: ClerkRole,
    hash: PasswordHash,
) -> ClerkRecord {
    let now = SystemClock.now();
    ClerkRecord {
        id: ClerkId::random(),
        authority: authority.to_owned(),
        email,
        display_name: name.to_owned(),
        password_hash: hash.into_string(),
        role,
        created_at: now,
        updated_at: now,
    }
}

async fn audit_added(store: &dyn Store, clerk: &ClerkRecord) {
    let entry = AuditRecord {
        id: 0,
        at: SystemClock.now(),
        event: AuditEvent::ClerkAdded,
        account_id: None,
        detail: format!(
            "clerk={} authority={} role={}",
            clerk.id, clerk.authority, clerk.role
        ),
    };
    if let Err(error) = store.append_audit(&entry).await {
        tracing::warn!(%error, "the audit entry for the new clerk could not be written");
    }
}

/// The demo's clerk of an authority: `<authority id>@behoerde.example`.
pub fn demo_email(authority: &str) -> String {
    format!("{authority}@behoerde.example")
}

/// Creates, on the first start of the demo, one clerk (role `lead`) with [`DEMO_PASSWORD`]
/// for every authority of `node` in the node's database; later starts find them and add none.
pub async fn ensure_demo_clerks(
    database_url: &str,
    tenant: &TenantDirectory,
    node: &NodeId,
    hash: &PasswordHash,
) -> anyhow::Result<usize> {
    let store: Arc<dyn Store> = crate::serve::open_store(database_url, 2).await?;
    bind_to_node(store.as_ref(), node).await?;
    let mut added = 0;
    for authority in tenant.authorities_on(node) {
        let email = Email::parse(&demo_email(authority.id.as_str()))
            .map_err(|e| anyhow!("demo clerk of {}: {e}", authority.id))?;
        if store.clerk_by_email(&email).await?.is_some() {
            continue;
        }
        let name = "Erika Mustermann (Demo)";
        let clerk = new_clerk(
            authority.id.as_str(),
            email,
            name,
            ClerkRole::Lead,
            hash.clone(),
        );
        store
            .create_clerk(&clerk)
            .await
            .with_context(|| format!("cannot create the demo clerk of {}", authority.id))?;
        audit_added(store.as_ref(), &clerk).await;
        added += 1;
    }
    store.close().await;
    Ok(added)
}

/// The demo password's hash, made once for all demo clerks.
pub async fn demo_password_hash() -> anyhow::Result<PasswordHash> {
    password_hash(DEMO_PASSWORD).await
}

/// The hash of a demo account's password, checked against the same policy as any other.
pub async fn password_hash(password: &str) -> anyhow::Result<PasswordHash> {
    let password = NewPassword::parse(password, Blocklist::shipped(), None)
        .map_err(|e| anyhow!("the demo password is refused: {}", password_problem(e)))?;
    let hasher = Hasher::new(Policy::production(), 1, Duration::from_secs(30))
        .await
        .context("cannot prepare password hashing")?;
    Ok(hasher.hash(&password).await?)
}
