//! Throw-away databases for tests, in this crate and in others (feature `testing`).
//!
//! Every test gets a database of its own, so tests run in parallel and never see each other's
//! rows: a SQLite file in a fresh temporary directory, or, when `DATABASE_URL` names a
//! PostgreSQL server, a fresh database `rathaus_test_<uuid>` on it that is dropped afterwards.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rathaus_store::StoreError> {
//! use rathaus_store::testing::TestDatabase;
//! for db in TestDatabase::all().await? {
//!     let store = db.open().await?;
//!     store.ping().await?;
//!     db.cleanup().await?;
//! }
//! # Ok(()) }
//! ```

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::error::StoreError;
use crate::model::{Backend, StoreOptions};
use crate::store::Store;
use crate::with_database;

/// The environment variable that names the PostgreSQL server for tests.
pub const DATABASE_URL: &str = "DATABASE_URL";

/// A database that exists for one test. Dropping it removes it (the temporary directory, or the
/// PostgreSQL database); [`TestDatabase::cleanup`] does the same without blocking.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    backend: Backend,
    owned: Owned,
}

#[derive(Debug)]
enum Owned {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
    Nothing,
}

impl TestDatabase {
    /// A SQLite database in a new temporary directory. The file does not exist yet (it sits in a
    /// subdirectory that does not exist either), so opening it also tests their creation.
    pub fn sqlite() -> Result<Self, StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Internal(sqlx::Error::Io(e)))?;
        let path = dir.path().join("data").join("rathaus.db");
        Ok(Self {
            url: format!("sqlite://{}", path.display()),
            backend: Backend::Sqlite,
            owned: Owned::Sqlite(dir),
        })
    }

    /// A fresh database on the PostgreSQL server named by `DATABASE_URL`, or `None` when that
    /// variable is unset or does not name a PostgreSQL server.
    pub async fn postgres_from_env() -> Result<Option<Self>, StoreError> {
        match std::env::var(DATABASE_URL) {
            Ok(url) if crate::backend_of(&url).is_ok_and(|b| b == Backend::Postgres) => {
                Self::postgres(&url).await.map(Some)
            }
            _ => Ok(None),
        }
    }

    /// A fresh database on the server of `admin_url`, whose user may create databases.
    pub async fn postgres(admin_url: &str) -> Result<Self, StoreError> {
        let name = format!("rathaus_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = connect_admin(admin_url).await?;
        // `name` is made of ASCII letters, digits and underscores only, so quoting is enough.
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        Ok(Self {
            url: with_database(admin_url, &name),
            backend: Backend::Postgres,
            owned: Owned::Postgres {
                admin_url: admin_url.to_owned(),
                name,
            },
        })
    }

    /// SQLite always, and PostgreSQL too when `DATABASE_URL` is set: run a test against each.
    pub async fn all() -> Result<Vec<Self>, StoreError> {
        let mut all = vec![Self::sqlite()?];
        all.extend(Self::postgres_from_env().await?);
        Ok(all)
    }

    /// The URL to give [`crate::open`] or a process under test.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Options for tests: a small pool, and a timeout long enough for a loaded CI machine.
    pub fn options() -> StoreOptions {
        StoreOptions {
            max_connections: 4,
            connect_timeout: Duration::from_secs(30),
        }
    }

    /// Opens (and migrates) the database with [`TestDatabase::options`].
    pub async fn open(&self) -> Result<Arc<dyn Store>, StoreError> {
        crate::open(&self.url, &Self::options()).await
    }

    /// Whether `needle` is stored anywhere in the database as plain bytes (the C1 canary
    /// check). SQLite: the database file with its WAL and shared-memory files, read raw, so
    /// deleted but not yet overwritten pages count too; close the stores first. PostgreSQL:
    /// every text, JSON and bytea column of every table in the schema.
    pub async fn contains(&self, needle: &str) -> Result<bool, StoreError> {
        match &self.owned {
            Owned::Sqlite(dir) => {
                let io = |e| StoreError::Internal(sqlx::Error::Io(e));
                let data = dir.path().join("data");
                let Ok(entries) = std::fs::read_dir(&data) else {
                    return Ok(false);
                };
                for entry in entries {
                    let bytes = std::fs::read(entry.map_err(io)?.path()).map_err(io)?;
                    if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Owned::Postgres { .. } => {
                let options = PgConnectOptions::from_str(&self.url)
                    .map_err(|e| StoreError::invalid_url(&self.url, e.to_string()))?;
                let mut db = PgConnection::connect_with(&options).await?;
                let columns: Vec<(String, String, String)> = sqlx::query_as(
                    "SELECT table_name::text, column_name::text, data_type::text \
                     FROM information_schema.columns WHERE table_schema = 'public' \
                     AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'bytea')",
                )
                .fetch_all(&mut db)
                .await?;
                let mut found = false;
                for (table, column, kind) in columns {
                    let test = if kind == "bytea" {
                        format!("position(convert_to($1, 'UTF8') in \"{column}\") > 0")
                    } else {
                        format!("strpos(\"{column}\"::text, $1) > 0")
                    };
                    let (hit,): (bool,) = sqlx::query_as(&format!(
                        "SELECT EXISTS (SELECT 1 FROM \"{table}\" WHERE {test})"
                    ))
                    .bind(needle)
                    .fetch_one(&mut db)
                    .await?;
                    if hit {
                        found = true;
                        break;
                    }
                }
                db.close().await?;
                Ok(found)
            }
            Owned::Nothing => Ok(false),
        }
    }

    /// Removes the database now. Stores opened on it should be closed first; PostgreSQL
    /// connections still open are ended.
    pub async fn cleanup(mut self) -> Result<(), StoreError> {
        match std::mem::replace(&mut self.owned, Owned::Nothing) {
            Owned::Postgres { admin_url, name } => drop_database(&admin_url, &name).await,
            Owned::Sqlite(dir) => dir
                .close()
                .map_err(|e| StoreError::Internal(sqlx::Error::Io(e))),
            Owned::Nothing => Ok(()),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Owned::Postgres { admin_url, name } =
            std::mem::replace(&mut self.owned, Owned::Nothing)
        else {
            return; // a TempDir removes itself
        };
        // Drop cannot await, and may run inside a runtime (a failing #[tokio::test]); a thread
        // with its own small runtime can.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime {
                Ok(runtime) => {
                    if let Err(error) = runtime.block_on(drop_database(&admin_url, &name)) {
                        tracing::warn!(%error, database = %name, "could not drop test database");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "could not start a runtime to drop a test database")
                }
            }
        });
        let _ = dropper.join();
    }
}

async fn connect_admin(admin_url: &str) -> Result<PgConnection, StoreError> {
    let options = PgConnectOptions::from_str(admin_url)
        .map_err(|e| StoreError::invalid_url(admin_url, e.to_string()))?;
    Ok(PgConnection::connect_with(&options).await?)
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
    let mut admin = connect_admin(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/t",
            ),
            (
                "postgres://u:p/w@host/db?sslmode=disable",
                "postgres://u:p/w@host/t?sslmode=disable",
            ),
            ("postgresql://host", "postgresql://host/t"),
            ("postgres://host:5432/", "postgres://host:5432/t"),
        ];
        for (url, expected) in cases {
            assert_eq!(with_database(url, "t"), expected, "{url}");
        }
    }
}
