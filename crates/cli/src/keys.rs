//! `rathaus keys`: an authority node's (or the portal's) key pairs, and pinning a node's public
//! keys at the portal (issue 5). Key files are JWKS in JSON; the private file is created with
//! mode 0600 and never overwritten unless asked.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Duration;
use clap::Subcommand;
use rathaus_seal::{PrivateKeySet, PublicKeySet};
use rathaus_web::{Clock, SystemClock};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new key set (RSA 4096 for encryption and for signatures) and write the private
    /// file (mode 0600) and the public file to give to the portal's operator.
    Generate {
        /// Whose keys: the node id from the tenant file, or `portal`.
        #[arg(long, value_name = "NAME")]
        owner: String,
        /// The private key file to create.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The public key file to create (default: the private file's name with `.public.json`).
        #[arg(long, value_name = "FILE")]
        public_out: Option<PathBuf>,
        /// How long the keys are valid.
        #[arg(long, value_name = "DAYS", default_value_t = 730)]
        valid_days: i64,
        /// Replace existing files.
        #[arg(long)]
        overwrite: bool,
    },
    /// Pin an authority node's public keys in the portal's database; deliveries are encrypted
    /// to them and receipts checked against them. Weak, expired or wrongly used keys are refused.
    Pin {
        /// The node id from the tenant file.
        #[arg(long, value_name = "ID")]
        node: String,
        /// The node's public key file (from `rathaus keys generate`).
        #[arg(long, value_name = "FILE")]
        public: PathBuf,
        /// The portal's database (default: `portal.database_url`).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
}

pub fn public_path(private: &Path) -> PathBuf {
    let stem = private
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "keys".into());
    private.with_file_name(format!("{stem}.public.json"))
}

/// Generates and writes a key set; refuses to replace files unless `overwrite`.
pub fn generate(
    owner: &str,
    out: &Path,
    public_out: &Path,
    valid: Duration,
    overwrite: bool,
) -> anyhow::Result<PrivateKeySet> {
    let keys = PrivateKeySet::generate(owner, SystemClock.now(), valid)
        .context("cannot generate the keys")?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    rathaus_seal::write_private(out, &keys, overwrite)?;
    rathaus_seal::write_public(public_out, &keys.public(), overwrite)?;
    Ok(keys)
}

/// The key set in `out`, generated first if the file does not exist yet (for the demo).
pub fn ensure(owner: &str, out: &Path) -> anyhow::Result<PrivateKeySet> {
    if out.exists() {
        return Ok(rathaus_seal::read_private(out)?);
    }
    generate(owner, out, &public_path(out), Duration::days(730), false)
}

/// Pins `public` (a JWKS) for `node` after checking it.
pub async fn pin(
    store: &dyn rathaus_store::Store,
    node: &str,
    public: &PublicKeySet,
) -> anyhow::Result<()> {
    let json = public.to_json()?;
    store
        .pin_node_keys(node, &json, SystemClock.now())
        .await
        .context("cannot store the pinned keys")?;
    Ok(())
}

#[allow(clippy::print_stdout)] // reporting is what the command is for
pub async fn run(config: crate::config::Config, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Generate {
            owner,
            out,
            public_out,
            valid_days,
            overwrite,
        } => {
            let public_out = public_out.unwrap_or_else(|| public_path(&out));
            let keys = tokio::task::spawn_blocking({
                let (out, public_out) = (out.clone(), public_out.clone());
                move || {
                    generate(
                        &owner,
                        &out,
                        &public_out,
                        Duration::days(valid_days.max(1)),
                        overwrite,
                    )
                }
            })
            .await??;
            println!("Private keys: {} (keep secret)", out.display());
            println!(
                "Public keys:  {} (give to the portal's operator)",
                public_out.display()
            );
            for key in keys.keys() {
                println!(
                    "  {} {:?} valid until {}",
                    key.kid(),
                    key.purpose(),
                    key.not_after()
                );
            }
            Ok(())
        }
        KeysCommand::Pin {
            node,
            public,
            database_url,
        } => {
            let keys = rathaus_seal::read_public(&public)?;
            // Checks validity now, not only the structure.
            PublicKeySet::pin(&keys.to_json()?, SystemClock.now())?;
            let url = database_url.unwrap_or(config.portal.database_url);
            let store = crate::serve::open_store(&url, 2).await?;
            pin(store.as_ref(), &node, &keys).await?;
            store.close().await;
            println!("Pinned {} key(s) for node {node}.", keys.keys().len());
            Ok(())
        }
    }
}
