//! Accounts, e-mail links, sessions, sign-in throttling, the audit log and shared secrets on
//! PostgreSQL. Kept in step with `sqlite/accounts.rs`; only types and casts differ: ids are
//! `UUID` columns, bound as text and cast (`$1::uuid`), and read back as text.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use rathaus_domain::{AccountId, Email, SessionId};
use sqlx::PgPool;

use crate::error::StoreError;
use crate::model::{AccountRecord, AuditRecord, EmailTokenPurpose, NewEmailToken, SessionRecord};
use crate::rows::{
    AccountRow, AuditRow, SessionAccountRow, SessionRow, account_columns, convert, session_columns,
};

static ACCOUNT_BY_EMAIL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM accounts a WHERE a.email_key = $1",
        account_columns("::text")
    )
});
static ACCOUNT_BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM accounts a WHERE a.id = $1::uuid",
        account_columns("::text")
    )
});
static SESSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, {} FROM sessions s JOIN accounts a ON a.id = s.account_id \
         WHERE s.token_hash = $1",
        session_columns("::text"),
        account_columns("::text")
    )
});
static SESSIONS_OF: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM sessions s WHERE s.account_id = $1::uuid AND s.last_seen_at > $2 \
         AND s.expires_at > $3 ORDER BY s.created_at DESC, s.id",
        session_columns("::text")
    )
});

pub(super) async fn create_account(
    pool: &PgPool,
    id: AccountId,
    email: &Email,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO accounts (id, email, email_key, password_hash, email_confirmed_at, \
         assurance_level, created_at, updated_at) VALUES ($1::uuid, $2, $3, $4, NULL, 'basic', $5, $5)",
    )
    .bind(id.to_string())
    .bind(email.as_str())
    .bind(email.key())
    .bind(password_hash)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn account_by_email(
    pool: &PgPool,
    email: &Email,
) -> Result<Option<AccountRecord>, StoreError> {
    let row: Option<AccountRow> = sqlx::query_as(&ACCOUNT_BY_EMAIL)
        .bind(email.key())
        .fetch_optional(pool)
        .await?;
    row.map(AccountRecord::try_from).transpose()
}

pub(super) async fn account(
    pool: &PgPool,
    id: AccountId,
) -> Result<Option<AccountRecord>, StoreError> {
    let row: Option<AccountRow> = sqlx::query_as(&ACCOUNT_BY_ID)
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
    row.map(AccountRecord::try_from).transpose()
}

pub(super) async fn set_password_hash(
    pool: &PgPool,
    id: AccountId,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE id = $1::uuid")
        .bind(id.to_string())
        .bind(password_hash)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn confirm_email(
    pool: &PgPool,
    id: AccountId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE accounts SET email_confirmed_at = $2, updated_at = $2 \
         WHERE id = $1::uuid AND email_confirmed_at IS NULL",
    )
    .bind(id.to_string())
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn create_email_token(
    pool: &PgPool,
    token: &NewEmailToken,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO email_tokens (token_hash, account_id, purpose, created_at, expires_at) \
         VALUES ($1, $2::uuid, $3, $4, $5)",
    )
    .bind(&token.token_hash)
    .bind(token.account_id.to_string())
    .bind(token.purpose.as_str())
    .bind(token.created_at)
    .bind(token.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn email_token(
    pool: &PgPool,
    token_hash: &str,
    purpose: EmailTokenPurpose,
    now: DateTime<Utc>,
) -> Result<Option<AccountId>, StoreError> {
    let id: Option<String> = sqlx::query_scalar(
        "SELECT account_id::text FROM email_tokens WHERE token_hash = $1 AND purpose = $2 \
         AND used_at IS NULL AND expires_at > $3",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(pool)
    .await?;
    id.map(|id| id.parse().map_err(StoreError::corrupt))
        .transpose()
}

pub(super) async fn use_email_token(
    pool: &PgPool,
    token_hash: &str,
    purpose: EmailTokenPurpose,
    now: DateTime<Utc>,
) -> Result<Option<AccountId>, StoreError> {
    let id: Option<String> = sqlx::query_scalar(
        "UPDATE email_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 \
         AND used_at IS NULL AND expires_at > $3 RETURNING account_id::text",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(pool)
    .await?;
    id.map(|id| id.parse().map_err(StoreError::corrupt))
        .transpose()
}

pub(super) async fn create_session(
    pool: &PgPool,
    session: &SessionRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, id, account_id, csrf_secret, level, created_at, \
         last_seen_at, expires_at) VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6, $7, $8)",
    )
    .bind(&session.token_hash)
    .bind(session.id.to_string())
    .bind(session.account_id.to_string())
    .bind(&session.csrf_secret)
    .bind(session.level.as_str())
    .bind(session.created_at)
    .bind(session.last_seen_at)
    .bind(session.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn session(
    pool: &PgPool,
    token_hash: &str,
) -> Result<Option<(SessionRecord, AccountRecord)>, StoreError> {
    let row: Option<SessionAccountRow> = sqlx::query_as(&SESSION)
        .bind(token_hash)
        .fetch_optional(pool)
        .await?;
    row.map(TryInto::try_into).transpose()
}

pub(super) async fn touch_session(
    pool: &PgPool,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
        .bind(token_hash)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn delete_session(pool: &PgPool, token_hash: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn delete_account_session(
    pool: &PgPool,
    account: AccountId,
    id: SessionId,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE id = $1::uuid AND account_id = $2::uuid")
        .bind(id.to_string())
        .bind(account.to_string())
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn delete_sessions_of(
    pool: &PgPool,
    account: AccountId,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE account_id = $1::uuid")
        .bind(account.to_string())
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn sessions_of(
    pool: &PgPool,
    account: AccountId,
    idle_since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<SessionRecord>, StoreError> {
    let rows: Vec<SessionRow> = sqlx::query_as(&SESSIONS_OF)
        .bind(account.to_string())
        .bind(idle_since)
        .bind(now)
        .fetch_all(pool)
        .await?;
    convert(rows)
}

pub(super) async fn purge_sessions(
    pool: &PgPool,
    idle_since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at <= $1 OR expires_at <= $2")
        .bind(idle_since)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn record_sign_in_failure(
    pool: &PgPool,
    keys: &[String],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for key in keys {
        sqlx::query("INSERT INTO sign_in_attempts (key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(at)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn sign_in_failures(
    pool: &PgPool,
    key: &str,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT at FROM sign_in_attempts WHERE key = $1 AND at > $2 ORDER BY at LIMIT 1000",
    )
    .bind(key)
    .bind(since)
    .fetch_all(pool)
    .await?)
}

pub(super) async fn clear_sign_in_failures(pool: &PgPool, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sign_in_attempts WHERE key = $1")
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn purge_sign_in_failures(
    pool: &PgPool,
    before: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sign_in_attempts WHERE at < $1")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn append_audit(pool: &PgPool, entry: &AuditRecord) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    // The lock conflicts with itself only: readers go on, writers take turns, and no two
    // entries chain to the same predecessor.
    sqlx::query("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let prev: Option<(String,)> =
        sqlx::query_as("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
    let prev_hash = prev.map(|(h,)| h).unwrap_or_default();
    let hash = crate::audit_chain::record_hash(&prev_hash, entry);
    sqlx::query(
        "INSERT INTO audit_log (at, event, account_id, detail, prev_hash, hash) \
         VALUES ($1, $2, $3::uuid, $4, $5, $6)",
    )
    .bind(crate::audit_chain::stored_time(entry.at))
    .bind(entry.event.as_str())
    .bind(entry.account_id.map(|id| id.to_string()))
    .bind(&entry.detail)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn audit_entries(
    pool: &PgPool,
    limit: u32,
) -> Result<Vec<AuditRecord>, StoreError> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, event, account_id::text AS account_id, detail FROM audit_log ORDER BY id DESC LIMIT $1",
    )
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    convert(rows)
}

pub(super) async fn shared_secret(
    pool: &PgPool,
    name: &str,
    candidate: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<u8>, StoreError> {
    sqlx::query(
        "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(candidate)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(pool)
            .await?,
    )
}

crate::audit_chain::verify_audit_fn!(PgPool, "account_id::text");
