//! The [`Store`] trait: everything the rest of rathaus may ask of the database.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rathaus_domain::{
    AccountId, CaseStatus, ClerkId, Email, NodeId, SessionId, TenantDirectory, TenantId,
};

use crate::error::StoreError;
use crate::model::{
    AccountRecord, ApplicationRecord, ApplicationStatus, AuditRecord, AuthorityRecord, Backend,
    CaseEvent, CaseQuery, CaseRecord, CaseStatusChange, CaseSummary, ClerkRecord,
    ClerkSessionRecord, DeliveryRoute, DraftRecord, DraftSummary, EmailTokenPurpose,
    NewApplication, NewEmailToken, NodeEndpoint, NodeIdentity, OutboxStats, PendingDelivery,
    PurgeReport, SessionRecord, StatusMessage, SubmitOutcome, SyncReport,
};

/// Persistence of rathaus, implemented once per backend and used as `Arc<dyn Store>`.
///
/// The trait is grouped by feature (health, directory, node registry, node identity, accounts,
/// e-mail links, sessions, sign-in throttling, audit log, shared secrets; the outbox will follow). Each backend keeps one module per feature and its impl
/// of this trait only dispatches, so growing the trait grows small modules, not one large file.
///
/// Times are always passed in (`now`): the store never reads the clock, so tests control time.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    // --- health ---------------------------------------------------------------------------

    /// Which backend this is, for logs and `/readyz`.
    fn backend(&self) -> Backend;

    /// Runs a trivial query; fails with [`StoreError::Unavailable`] when the database is down.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Closes the pool and waits for open connections to finish; for graceful shutdown and for
    /// tests that drop their database afterwards. Calls after this fail as unavailable.
    async fn close(&self);

    // --- tenant directory (portal) --------------------------------------------------------

    /// Makes the stored directory of `directory.id` equal to the file, in one transaction:
    /// inserts new districts, authority kinds, authorities and nodes, updates changed ones and
    /// retires (never deletes) those no longer listed. Running it again changes nothing.
    async fn sync_directory(
        &self,
        directory: &TenantDirectory,
        now: DateTime<Utc>,
    ) -> Result<SyncReport, StoreError>;

    /// The tenant's active authorities, ordered by id.
    async fn authorities(&self, tenant: &TenantId) -> Result<Vec<AuthorityRecord>, StoreError>;

    // --- node registry (portal) -----------------------------------------------------------

    /// Records (or replaces) where an authority node listens.
    async fn register_node_endpoint(
        &self,
        node: &NodeId,
        base_url: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Every registered node endpoint, ordered by node id.
    async fn node_endpoints(&self) -> Result<Vec<NodeEndpoint>, StoreError>;

    // --- node identity (authority node's own database) ------------------------------------

    /// Which node this database belongs to, if it has been initialised.
    async fn node_identity(&self) -> Result<Option<NodeIdentity>, StoreError>;

    /// Initialises the database for `node` on first start and returns the stored identity after
    /// that. Fails with [`StoreError::NodeMismatch`] if the database belongs to another node.
    async fn init_node_identity(
        &self,
        node: &NodeId,
        now: DateTime<Utc>,
    ) -> Result<NodeIdentity, StoreError>;

    // --- accounts (portal) ------------------------------------------------------------------

    /// Creates an unconfirmed account at level `basic`. Fails with [`StoreError::Conflict`]
    /// when an account with the same address (compared in lowercase) exists.
    async fn create_account(
        &self,
        id: AccountId,
        email: &Email,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The account with this address (compared in lowercase).
    async fn account_by_email(&self, email: &Email) -> Result<Option<AccountRecord>, StoreError>;

    async fn account(&self, id: AccountId) -> Result<Option<AccountRecord>, StoreError>;

    /// Replaces the password hash (a new password, or a rehash under a stronger policy).
    async fn set_password_hash(
        &self,
        id: AccountId,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Marks the address as confirmed; `true` if it was not confirmed before.
    async fn confirm_email(&self, id: AccountId, now: DateTime<Utc>) -> Result<bool, StoreError>;

    // --- single-use e-mail links (portal) ----------------------------------------------------

    async fn create_email_token(&self, token: &NewEmailToken) -> Result<(), StoreError>;

    /// The account of an unused, unexpired link with this digest and purpose, without using it.
    async fn email_token(
        &self,
        token_hash: &str,
        purpose: EmailTokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<AccountId>, StoreError>;

    /// Uses the link: marks it used and returns its account, atomically, so that of two
    /// requests with the same link only one succeeds. `None` for unknown, used or expired links.
    async fn use_email_token(
        &self,
        token_hash: &str,
        purpose: EmailTokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<AccountId>, StoreError>;

    // --- sessions (portal) -------------------------------------------------------------------

    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;

    /// The session with this token digest and its account, whether expired or not (the caller
    /// applies the timeouts, so that it can log the expiry).
    async fn session(
        &self,
        token_hash: &str,
    ) -> Result<Option<(SessionRecord, AccountRecord)>, StoreError>;

    /// Records activity: sets `last_seen_at`.
    async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Ends one session by its token digest; `true` if it existed.
    async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError>;

    /// Ends one session of `account` by its public id; `false` if `account` has no such session
    /// (another account's session id is treated exactly like an unknown one).
    async fn delete_account_session(
        &self,
        account: AccountId,
        id: SessionId,
    ) -> Result<bool, StoreError>;

    /// Ends every session of the account; returns how many there were.
    async fn delete_sessions_of(&self, account: AccountId) -> Result<u64, StoreError>;

    /// The account's live sessions (seen after `idle_since`, not past `expires_at` at `now`),
    /// newest first.
    async fn sessions_of(
        &self,
        account: AccountId,
        idle_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionRecord>, StoreError>;

    /// Deletes every session idle since `idle_since` or past its absolute end at `now`.
    async fn purge_sessions(
        &self,
        idle_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    // --- sign-in throttling (portal) ---------------------------------------------------------

    /// Records one failed sign-in at `at` under each key (account, client address).
    async fn record_sign_in_failure(
        &self,
        keys: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The times of the key's failed sign-ins after `since`, oldest first (at most 1,000).
    async fn sign_in_failures(
        &self,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError>;

    /// Forgets the key's failures (after a successful sign-in of the account).
    async fn clear_sign_in_failures(&self, key: &str) -> Result<(), StoreError>;

    /// Deletes failures recorded before `before`; returns how many.
    async fn purge_sign_in_failures(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    // --- audit log (portal) --------------------------------------------------------------------

    /// Appends an entry; its `id` is ignored and assigned by the database.
    async fn append_audit(&self, entry: &AuditRecord) -> Result<(), StoreError>;

    /// The newest `limit` entries, newest first.
    async fn audit_entries(&self, limit: u32) -> Result<Vec<AuditRecord>, StoreError>;

    /// Recomputes the audit log's hash chain and names the first entry that does not match
    /// (C5).
    async fn verify_audit(&self) -> Result<crate::model::AuditVerification, StoreError>;

    // --- secrets shared by all portal nodes --------------------------------------------------

    /// The secret stored under `name`; the first caller stores `candidate`, every later caller
    /// (on any node) gets that first value.
    async fn shared_secret(
        &self,
        name: &str,
        candidate: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Vec<u8>, StoreError>;

    // --- online applications (portal) -----------------------------------------------------

    /// Creates or replaces the account's draft for a service (one per service and account).
    async fn save_draft(&self, draft: &DraftRecord) -> Result<(), StoreError>;

    /// The account's unexpired draft for a service.
    async fn draft(
        &self,
        account: &AccountId,
        service_key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DraftRecord>, StoreError>;

    /// The account's unexpired drafts, newest first, without content.
    async fn drafts(
        &self,
        account: &AccountId,
        now: DateTime<Utc>,
    ) -> Result<Vec<DraftSummary>, StoreError>;

    /// Deletes the account's draft for a service with its files.
    async fn delete_draft(&self, account: &AccountId, service_key: &str) -> Result<(), StoreError>;

    /// Stores a sealed uploaded file of a draft.
    async fn put_draft_file(
        &self,
        draft: uuid::Uuid,
        file: uuid::Uuid,
        sealed: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// A sealed draft file, only if it belongs to a draft of `account`.
    async fn draft_file(
        &self,
        account: &AccountId,
        file: uuid::Uuid,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Deletes files of a draft.
    async fn delete_draft_files(
        &self,
        draft: uuid::Uuid,
        files: &[uuid::Uuid],
    ) -> Result<(), StoreError>;

    /// Writes a submitted application in one transaction: metadata, one outbox entry per
    /// recipient, the sealed receipt, and the removal of the draft (C4). A second submit with
    /// the same `submission_id` writes nothing and names the first one's reference.
    async fn submit_application(
        &self,
        application: &NewApplication,
    ) -> Result<SubmitOutcome, StoreError>;

    /// The account's applications, newest first.
    async fn applications(&self, account: &AccountId)
    -> Result<Vec<ApplicationRecord>, StoreError>;

    /// The account's application submitted with this `submission_id` (a second click on
    /// "submit" after the first went through).
    async fn application_by_submission(
        &self,
        account: &AccountId,
        submission_id: uuid::Uuid,
    ) -> Result<Option<ApplicationRecord>, StoreError>;

    /// One application of the account; another account's reference finds nothing.
    async fn application(
        &self,
        account: &AccountId,
        reference: &str,
    ) -> Result<Option<ApplicationRecord>, StoreError>;

    /// The sealed receipt of one of the account's applications, while it is kept.
    async fn receipt(
        &self,
        account: &AccountId,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Sets the account's assurance level (after an eID sign-in or an in-person check);
    /// `false` when there is no such account. Callers start a new session afterwards.
    async fn set_assurance_level(
        &self,
        account: &AccountId,
        level: rathaus_domain::AssuranceLevel,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deletes expired drafts (with their files) and receipts (R1).
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<PurgeReport, StoreError>;

    // --- delivery (portal: outbox, pinned keys; authority node: cases) --------------------

    /// Pins (or replaces) the public keys of an authority node, as a JWKS checked by the caller.
    async fn pin_node_keys(
        &self,
        node: &str,
        jwks: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The pinned public keys of a node.
    async fn node_keys(&self, node: &str) -> Result<Option<String>, StoreError>;

    /// Leases up to `limit` due outbox entries until `lease_until`; on PostgreSQL several
    /// workers can claim at once without taking the same row.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingDelivery>, StoreError>;

    /// Marks a delivery acknowledged by its authority, drops its ciphertext, and marks the
    /// application delivered when every recipient has it.
    async fn delivery_succeeded(
        &self,
        id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Records a failed attempt; `dead` moves it to the dead letters and the application to
    /// undeliverable.
    async fn delivery_failed(
        &self,
        id: uuid::Uuid,
        error: &str,
        next_attempt_at: DateTime<Utc>,
        dead: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError>;

    /// Remembers a signed message's nonce; `false` if it was seen before (a replay, C3).
    async fn accept_nonce(
        &self,
        signer: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    async fn purge_nonces(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Stores a received case once; `false` when the same delivery was stored before.
    async fn store_case(&self, case: &CaseRecord) -> Result<bool, StoreError>;

    /// An authority's cases, newest first.
    async fn cases(&self, authority: &str) -> Result<Vec<CaseRecord>, StoreError>;

    async fn case(&self, delivery_id: uuid::Uuid) -> Result<Option<CaseRecord>, StoreError>;

    // --- back office (authority node) -------------------------------------------------------

    /// Creates a clerk account. Fails with [`StoreError::Conflict`] when a clerk with the same
    /// address (compared in lowercase) exists on this node.
    async fn create_clerk(&self, clerk: &ClerkRecord) -> Result<(), StoreError>;

    /// The clerk with this address (compared in lowercase).
    async fn clerk_by_email(&self, email: &Email) -> Result<Option<ClerkRecord>, StoreError>;

    /// Replaces a clerk's password hash (a rehash under a stronger policy).
    async fn set_clerk_password_hash(
        &self,
        id: ClerkId,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn create_clerk_session(&self, session: &ClerkSessionRecord) -> Result<(), StoreError>;

    /// The clerk session with this token digest and its clerk, whether expired or not (the
    /// caller applies the timeouts).
    async fn clerk_session(
        &self,
        token_hash: &str,
    ) -> Result<Option<(ClerkSessionRecord, ClerkRecord)>, StoreError>;

    async fn touch_clerk_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Ends a clerk session; `true` if it existed.
    async fn delete_clerk_session(&self, token_hash: &str) -> Result<bool, StoreError>;

    /// Deletes every clerk session idle since `idle_since` or past its absolute end at `now`.
    async fn purge_clerk_sessions(
        &self,
        idle_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// One page of an authority's cases, newest first, without their envelopes.
    async fn case_inbox(&self, query: &CaseQuery) -> Result<Vec<CaseSummary>, StoreError>;

    /// A case of `authority`; another authority's case finds nothing, exactly like an unknown
    /// id (Z2).
    async fn authority_case(
        &self,
        authority: &str,
        delivery_id: uuid::Uuid,
    ) -> Result<Option<CaseRecord>, StoreError>;

    /// Records that a clerk opened a case. The first look at a case nobody has worked on yet
    /// writes its history entry and a `received` message for the portal, in one transaction,
    /// and answers `true`; later looks change nothing.
    async fn case_opened(
        &self,
        case_id: uuid::Uuid,
        clerk: ClerkId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Changes a case's status together with its history entry and its message for the
    /// portal, in one transaction; `false` (and nothing changed) when the case is not the
    /// authority's or no longer has the status `change.from`.
    async fn change_case_status(&self, change: &CaseStatusChange) -> Result<bool, StoreError>;

    /// What happened to a case, oldest first.
    async fn case_history(&self, case_id: uuid::Uuid) -> Result<Vec<CaseEvent>, StoreError>;

    /// The oldest `limit` status messages not yet accepted by the portal, in order.
    async fn pending_status_messages(&self, limit: u32) -> Result<Vec<StatusMessage>, StoreError>;

    /// The portal accepted (or finally refused) a status message: it is deleted.
    async fn status_message_sent(&self, id: i64) -> Result<(), StoreError>;

    /// A status message could not be sent; it stays for the next try.
    async fn status_message_failed(&self, id: i64, error: &str) -> Result<(), StoreError>;

    // --- status back channel (portal) -----------------------------------------------------

    /// Where a delivery of the outbox went (reference, authority, node).
    async fn delivery_route(
        &self,
        delivery_id: uuid::Uuid,
    ) -> Result<Option<DeliveryRoute>, StoreError>;

    /// Records the status an authority reported for its delivery and sets the application's
    /// status from all of its deliveries, in one transaction; returns that status, or `None`
    /// for an unknown delivery.
    async fn record_case_status(
        &self,
        delivery_id: uuid::Uuid,
        status: CaseStatus,
        now: DateTime<Utc>,
    ) -> Result<Option<ApplicationStatus>, StoreError>;
}
