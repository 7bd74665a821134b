//! The PostgreSQL backend: for production and for several portal processes sharing one
//! database.

mod accounts;
mod directory;
mod nodes;

mod applications {
    fn account(id: &rathaus_domain::AccountId) -> uuid::Uuid {
        id.as_uuid()
    }
    fn organisation(id: &rathaus_domain::OrganisationId) -> uuid::Uuid {
        id.as_uuid()
    }
    crate::applications::application_queries!(sqlx::PgPool, account, organisation);
}

mod delivery {
    crate::delivery::delivery_queries!(sqlx::PgPool, " FOR UPDATE SKIP LOCKED");
}

mod identification {
    fn account(id: &rathaus_domain::AccountId) -> uuid::Uuid {
        id.as_uuid()
    }
    crate::identification::identification_queries!(sqlx::PgPool, account);
}

mod second_factor {
    fn account(id: &rathaus_domain::AccountId) -> uuid::Uuid {
        id.as_uuid()
    }
    crate::second_factor::second_factor_queries!(sqlx::PgPool, account);
}

mod organisations {
    fn account(id: &rathaus_domain::AccountId) -> uuid::Uuid {
        id.as_uuid()
    }
    fn organisation(id: &rathaus_domain::OrganisationId) -> uuid::Uuid {
        id.as_uuid()
    }
    fn uuid(id: &uuid::Uuid) -> uuid::Uuid {
        *id
    }
    crate::organisations::organisation_queries!(sqlx::PgPool, account, organisation, uuid);
}

mod passkeys {
    fn account(id: &rathaus_domain::AccountId) -> uuid::Uuid {
        id.as_uuid()
    }
    fn passkey(id: &rathaus_domain::PasskeyId) -> uuid::Uuid {
        id.as_uuid()
    }
    crate::passkeys::passkey_queries!(sqlx::PgPool, account, passkey);
}

mod email_change {
    fn account(id: &rathaus_domain::AccountId) -> uuid::Uuid {
        id.as_uuid()
    }
    crate::email_change::email_change_queries!(sqlx::PgPool, account);
}

mod verified {
    fn account(id: &rathaus_domain::AccountId) -> uuid::Uuid {
        id.as_uuid()
    }
    fn session(id: &rathaus_domain::SessionId) -> uuid::Uuid {
        id.as_uuid()
    }
    crate::verified::verified_queries!(sqlx::PgPool, account, session);
}

mod own_data {
    fn account(id: &rathaus_domain::AccountId) -> uuid::Uuid {
        id.as_uuid()
    }
    crate::own_data::own_data_queries!(
        sqlx::PgPool,
        account,
        "SELECT CAST(table_name AS TEXT) FROM information_schema.columns \
         WHERE table_schema = current_schema() AND column_name = 'account_id'"
    );
}

mod retention {
    crate::retention::retention_queries!(sqlx::PgPool);
}

mod back_office {
    crate::back_office::back_office_queries!(sqlx::PgPool);
}

mod messages {
    fn account(id: &rathaus_domain::AccountId) -> uuid::Uuid {
        id.as_uuid()
    }
    crate::messages::message_queries!(sqlx::PgPool, sqlx::PgConnection, account);
}

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rathaus_domain::{
    AccountId, Email, NodeId, OrganisationId, OrganisationName, OrganisationRole, SessionId,
    TenantDirectory, TenantId,
};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::error::StoreError;
use crate::model::{
    AccountRecord, ApplicationRecord, AuditRecord, AuthorityRecord, Backend, DraftRecord,
    DraftSummary, EmailTokenPurpose, NewApplication, NewEmailToken, NodeEndpoint, NodeIdentity,
    PurgeReport, SessionRecord, StoreOptions, SubmitOutcome, SyncReport,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// A [`Store`] over a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// PostgreSQL runs reads and writes side by side: one pool serves both.
    fn readers(&self) -> &PgPool {
        &self.pool
    }

    /// Connects to and migrates the database at a `postgres://` URL. Migrations take an advisory
    /// lock, so processes starting at once migrate one after the other.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::invalid_url(url, e.to_string()))?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }
}

delegate_store!(PostgresStore, Backend::Postgres);
