//! `rathaus audit verify`: recomputes the hash chain of a database's audit log (C5).

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that no audit entry was changed, removed or reordered; names the first entry that
    /// does not match. Exits with 1 when the chain is broken.
    Verify {
        /// The database to check (default: `portal.database_url`; an authority node's URL
        /// checks that node's log).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
}

#[allow(clippy::print_stdout)] // reporting is what the command is for
pub async fn run(config: crate::config::Config, command: AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify { database_url } = command;
    let url = database_url.unwrap_or(config.portal.database_url);
    let store = crate::serve::open_store(&url, 2).await?;
    let result = store.verify_audit().await;
    store.close().await;
    let verification = result?;
    match verification.first_broken {
        None => {
            println!(
                "The audit log is intact: {} entries checked.",
                verification.entries
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(id) => {
            println!(
                "The audit log has been tampered with: entry {id} does not match the chain ({} entries checked up to it).",
                verification.entries
            );
            Ok(ExitCode::from(1))
        }
    }
}
