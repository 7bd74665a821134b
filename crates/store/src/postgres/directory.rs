//! The tenant directory on PostgreSQL. The plan comes from [`crate::directory`].

use chrono::{DateTime, Utc};
use rathaus_domain::{TenantDirectory, TenantId};
use sqlx::PgPool;

use crate::directory::{TABLES, desired_rows, plan};
use crate::error::StoreError;
use crate::model::{AuthorityRecord, SyncReport};
use crate::rows::{AuthorityRow, convert, stored_row};

pub(super) async fn sync(
    pool: &PgPool,
    directory: &TenantDirectory,
    now: DateTime<Utc>,
) -> Result<SyncReport, StoreError> {
    let mut tx = pool.begin().await?;
    // Writing the tenant row first locks it until commit, so portal processes that start at
    // once sync one after the other and each reads what the one before wrote.
    sqlx::query(
        "INSERT INTO tenants (id, name_de, name_en, created_at, synced_at) VALUES ($1, $2, $3, $4, $4) \
         ON CONFLICT (id) DO UPDATE SET name_de = excluded.name_de, name_en = excluded.name_en, \
         synced_at = excluded.synced_at",
    )
    .bind(directory.id.as_str())
    .bind(directory.name.de())
    .bind(directory.name.en())
    .bind(now)
    .execute(&mut *tx)
    .await?;

    let mut report = SyncReport::default();
    for (table, desired) in TABLES.into_iter().zip(desired_rows(directory)) {
        let stored = sqlx::query(&table.select_sql())
            .bind(directory.id.as_str())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| stored_row(row, table.columns.len()))
            .collect::<Result<Vec<_>, _>>()?;
        let plan = plan(stored, desired);
        let upsert = table.upsert_sql();
        for row in &plan.upsert {
            let mut query = sqlx::query(&upsert)
                .bind(directory.id.as_str())
                .bind(&row.id);
            for value in &row.values {
                query = query.bind(value);
            }
            query.bind(now).bind(now).execute(&mut *tx).await?;
        }
        let retire = table.retire_sql();
        for id in &plan.retire {
            sqlx::query(&retire)
                .bind(now)
                .bind(directory.id.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        report += plan.report;
    }
    tx.commit().await?;
    Ok(report)
}

pub(super) async fn authorities(
    pool: &PgPool,
    tenant: &TenantId,
) -> Result<Vec<AuthorityRecord>, StoreError> {
    let rows: Vec<AuthorityRow> = sqlx::query_as(
        "SELECT tenant_id, id, kind_id, district_id, name_de, name_en, node_id FROM authorities \
         WHERE tenant_id = $1 AND retired_at IS NULL ORDER BY id COLLATE \"C\"",
    )
    .bind(tenant.as_str())
    .fetch_all(pool)
    .await?;
    convert(rows)
}
