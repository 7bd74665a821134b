//! The [`Store`] trait: everything the rest of rathaus may ask of the database.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rathaus_domain::{
    AccountId, CaseStatus, ClerkId, Email, NodeId, OrganisationId, OrganisationName,
    OrganisationRole, SessionId, TenantDirectory, TenantId,
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

    // --- verified attributes for prefill (portal) ------------------------------------------

    /// Keeps verified attributes for a session or, with the citizen's consent, with the
    /// account, replacing the earlier set of the same scope. `false` when the session is not
    /// (or no longer) the account's: nothing is kept then.
    async fn save_verified_attributes(
        &self,
        record: &crate::VerifiedAttributesRecord,
    ) -> Result<bool, StoreError>;

    /// The verified attributes this session may use: its own, then the account's remembered
    /// ones. Session-only sets of other sessions are never returned.
    async fn verified_attributes(
        &self,
        account: &AccountId,
        session: rathaus_domain::SessionId,
    ) -> Result<Vec<crate::VerifiedAttributesRecord>, StoreError>;

    /// Deletes the account's remembered attributes, or a session's; returns how many sets.
    async fn delete_verified_attributes(
        &self,
        account: &AccountId,
        scope: crate::AttributeScope,
    ) -> Result<u64, StoreError>;

    // --- identification codes (portal) ---------------------------------------------------

    /// Stores the keyed digest of the account's new identification code, valid until
    /// `expires_at`; an earlier code of the account stops working (A6). With
    /// `remember_attributes` the citizen agreed that what the clerk verifies is kept for prefill.
    async fn issue_identification_code(
        &self,
        account: &AccountId,
        code_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        remember_attributes: bool,
    ) -> Result<(), StoreError>;

    /// The account's code that can still be used at `now`, if any.
    async fn identification_code(
        &self,
        account: &AccountId,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::IssuedCode>, StoreError>;

    /// Uses the code with this digest, in one transaction: once only, before it expires; the
    /// account rises to `substantial` if it was lower, and then all its sessions end (A8).
    async fn redeem_identification_code(
        &self,
        code_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::Redemption, StoreError>;

    // --- second factor (portal) ------------------------------------------------------------

    /// Stores a new, unconfirmed authenticator secret (sealed) for the account, replacing an
    /// unconfirmed one; `false` when the account has a confirmed authenticator, which stays.
    async fn start_totp_enrolment(
        &self,
        account: &AccountId,
        secret_sealed: &[u8],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// The account's authenticator, confirmed or not, with its unused recovery codes counted.
    async fn totp_factor(
        &self,
        account: &AccountId,
    ) -> Result<Option<crate::TotpFactorRecord>, StoreError>;

    /// Confirms the unconfirmed authenticator with the time step of the code that proved it,
    /// and replaces the recovery codes with these digests, in one transaction; `false` when
    /// there was nothing unconfirmed.
    async fn confirm_totp(
        &self,
        account: &AccountId,
        step: i64,
        recovery_hashes: &[String],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Accepts a code of time step `step` once: `true` if the confirmed authenticator had
    /// accepted no code of this step or a later one, which it now has.
    async fn claim_totp_step(&self, account: &AccountId, step: i64) -> Result<bool, StoreError>;

    /// Uses the recovery code with this digest: `true` once, `false` when unknown or used.
    async fn use_recovery_code(
        &self,
        account: &AccountId,
        code_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Removes the account's authenticator and recovery codes; `true` if there was one.
    async fn remove_totp(&self, account: &AccountId) -> Result<bool, StoreError>;

    /// Stores a sign-in that waits for the second factor (and sweeps expired ones).
    async fn create_pending_sign_in(
        &self,
        record: &crate::PendingSignInRecord,
    ) -> Result<(), StoreError>;

    /// The pending sign-in with this token digest, if it has not expired at `now`.
    async fn pending_sign_in(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::PendingSignInRecord>, StoreError>;

    /// Counts a wrong code against the pending sign-in; at `max_failures` it is deleted and
    /// `true` is returned (the password has to be entered again).
    async fn pending_sign_in_failed(
        &self,
        token_hash: &str,
        max_failures: u32,
    ) -> Result<bool, StoreError>;

    /// Deletes the pending sign-in: `true` exactly once, and only before it expires.
    async fn finish_pending_sign_in(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    // --- passkeys (portal) -------------------------------------------------------------------

    /// Stores a passkey with its account: `false` (and nothing stored) when the credential is
    /// registered already, with this account or another.
    async fn add_passkey(&self, passkey: &crate::passkeys::NewPasskey) -> Result<bool, StoreError>;

    /// The account's passkeys, oldest first.
    async fn passkeys_of(
        &self,
        account: &AccountId,
    ) -> Result<Vec<crate::passkeys::PasskeyRecord>, StoreError>;

    /// The passkey with this credential id, of whichever account.
    async fn passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> Result<Option<crate::passkeys::PasskeyRecord>, StoreError>;

    /// Notes a sign-in with the passkey, with its credential as updated by the sign-in (the
    /// signature counter) when it changed.
    async fn passkey_used(
        &self,
        id: &rathaus_domain::PasskeyId,
        credential: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Removes the account's passkey: `false` when the account has no passkey with this id.
    async fn remove_passkey(
        &self,
        account: &AccountId,
        id: &rathaus_domain::PasskeyId,
    ) -> Result<bool, StoreError>;

    /// Stores a started ceremony (and sweeps expired ones).
    async fn start_passkey_ceremony(
        &self,
        ceremony: &crate::passkeys::PasskeyCeremonyRecord,
    ) -> Result<(), StoreError>;

    /// Takes the ceremony with this token digest out of the store: `Some` exactly once, and
    /// only before it expires.
    async fn take_passkey_ceremony(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::passkeys::PasskeyCeremonyRecord>, StoreError>;

    // --- changing the e-mail address (portal) ----------------------------------------------

    /// Stores a request to change the account's address; an older open request of the
    /// account is dropped, so only the newest link works.
    async fn request_email_change(
        &self,
        change: &crate::email_change::NewEmailChange,
    ) -> Result<(), StoreError>;

    /// The open request with this token digest, if it is neither used nor expired.
    async fn email_change(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::email_change::EmailChangeRecord>, StoreError>;

    /// The account's open request, if any (shown on the account's page).
    async fn pending_email_change(
        &self,
        account: &AccountId,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::email_change::EmailChangeRecord>, StoreError>;

    /// Spends the link and, in the same transaction, gives the account the new (now
    /// confirmed) address, unless another account has it.
    async fn apply_email_change(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::email_change::EmailChangeOutcome, StoreError>;

    // --- business accounts (portal) ---------------------------------------------------------

    /// Creates an organisation with `owner` as its first owner.
    async fn create_organisation(
        &self,
        id: &OrganisationId,
        name: &OrganisationName,
        owner: &AccountId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The organisations the account is a member of, by name.
    async fn organisations_of(
        &self,
        account: &AccountId,
    ) -> Result<Vec<crate::organisations::Membership>, StoreError>;

    /// The account's membership of the organisation; `None` for a non-member (or no such
    /// organisation), which callers answer with 404.
    async fn membership_of(
        &self,
        organisation: &OrganisationId,
        account: &AccountId,
    ) -> Result<Option<crate::organisations::Membership>, StoreError>;

    /// The members, owners first.
    async fn organisation_members(
        &self,
        organisation: &OrganisationId,
    ) -> Result<Vec<crate::organisations::MemberRecord>, StoreError>;

    /// Stores an invitation, replacing an open one for the same address; `false` when the
    /// organisation does not exist.
    async fn invite_member(
        &self,
        invitation: &crate::organisations::NewInvitation,
    ) -> Result<bool, StoreError>;

    /// The organisation's invitations neither accepted nor expired.
    async fn open_invitations(
        &self,
        organisation: &OrganisationId,
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::organisations::InvitationRecord>, StoreError>;

    /// The open invitation with this token digest.
    async fn invitation(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::organisations::InvitationRecord>, StoreError>;

    /// Withdraws an open invitation of the organisation; `false` if there is none.
    async fn revoke_invitation(
        &self,
        organisation: &OrganisationId,
        id: uuid::Uuid,
    ) -> Result<bool, StoreError>;

    /// Accepts the invitation for the account, whose address must be the invited one.
    async fn accept_invitation(
        &self,
        token_hash: &str,
        account: &AccountId,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<crate::organisations::Acceptance, StoreError>;

    /// Removes a member (also: a member leaving); never the last owner.
    async fn remove_member(
        &self,
        organisation: &OrganisationId,
        account: &AccountId,
    ) -> Result<crate::organisations::MemberChange, StoreError>;

    /// Changes a member's role; never demotes the last owner.
    async fn set_member_role(
        &self,
        organisation: &OrganisationId,
        account: &AccountId,
        role: OrganisationRole,
    ) -> Result<crate::organisations::MemberChange, StoreError>;

    /// Organisations with other members in which the account is the only owner: they would
    /// be left without an owner if the account went.
    async fn sole_owned_organisations(
        &self,
        account: &AccountId,
    ) -> Result<Vec<crate::organisations::OrganisationRecord>, StoreError>;

    /// The applications made in the organisation's name, newest first.
    async fn organisation_applications(
        &self,
        organisation: &OrganisationId,
    ) -> Result<Vec<crate::organisations::OrganisationApplication>, StoreError>;

    // --- own data (portal; GDPR art. 15, 17, 20) -------------------------------------------

    /// The newest `limit` audit entries about the account, newest first.
    async fn audit_entries_of(
        &self,
        account: &AccountId,
        limit: u32,
    ) -> Result<Vec<crate::own_data::OwnAuditEntry>, StoreError>;

    /// The account's single-use mail links that can still be used (never their tokens).
    async fn email_links_of(
        &self,
        account: &AccountId,
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::own_data::OwnEmailLink>, StoreError>;

    /// The account's second factor, if one is set up.
    async fn second_factor_of(
        &self,
        account: &AccountId,
    ) -> Result<Option<crate::own_data::OwnSecondFactor>, StoreError>;

    /// Deletes the account in one transaction: sessions, pending sign-ins, the second factor, mail links, drafts and their files,
    /// verified attributes, the identification code and mailbox messages go with it;
    /// applications with a delivery still under way stay without the account, the others go;
    /// the audit log keeps the pseudonymous id. `None` when no such account exists.
    async fn delete_account(
        &self,
        account: &AccountId,
    ) -> Result<Option<crate::own_data::DeletionReport>, StoreError>;

    /// Deletes applications of deleted accounts whose deliveries are done; returns how many.
    async fn purge_detached_applications(&self) -> Result<u64, StoreError>;

    // ---- retention (R1): records whose period has passed ----------------------------------

    /// At an authority node: deletes every decided case whose `retain_until` has come, with
    /// its messages and history.
    async fn purge_decided_cases(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::retention::RetentionDeleted>, StoreError>;

    /// At an authority node: when a case is due for deletion (decided cases only).
    async fn case_retain_until(
        &self,
        delivery_id: uuid::Uuid,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// At the portal: the services that have application records, for the schedule that
    /// applies each one's period.
    async fn application_service_keys(&self) -> Result<Vec<String>, StoreError>;

    /// At the portal: deletes the records of `service_key` last changed before
    /// `changed_before`, unless a copy is still on its way or a message about it is younger;
    /// their mailbox messages go with them.
    async fn purge_application_records(
        &self,
        service_key: &str,
        changed_before: DateTime<Utc>,
    ) -> Result<Vec<crate::retention::RetentionDeleted>, StoreError>;

    /// The tables of the schema that have an `account_id` column, sorted; for the test that
    /// keeps [`crate::own_data::ACCOUNT_TABLES`] complete.
    async fn account_tables(&self) -> Result<Vec<String>, StoreError>;

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

    /// The outbox per authority node (the operator's status page).
    async fn outbox_by_node(&self) -> Result<Vec<crate::model::NodeOutbox>, StoreError>;

    /// Failing or dead entries, oldest delivery window first, at most `limit`.
    async fn outbox_entries(
        &self,
        listing: crate::model::OutboxListing,
        limit: u32,
    ) -> Result<Vec<crate::model::OutboxEntry>, StoreError>;

    /// Puts a dead letter back into the outbox, due now, with its attempts and its delivery
    /// window started again; its application is queued again when no other copy of it is
    /// dead. `None` when `id` is no dead letter whose ciphertext is still there.
    async fn retry_dead_letter(
        &self,
        id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::model::RetriedDelivery>, StoreError>;

    /// Each recipient of one of the account's applications with where its delivery stands,
    /// in the order they were written at submit; empty for another account's reference (Z1).
    async fn recipients(
        &self,
        account: &AccountId,
        reference: &str,
    ) -> Result<Vec<crate::model::RecipientRecord>, StoreError>;

    /// Entries still pending that were submitted before `before` (R2: the operator alert);
    /// oldest first, at most `limit`.
    async fn overdue_deliveries(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<crate::model::OverdueDelivery>, StoreError>;

    /// Moves every entry still pending that was submitted before `before` to the dead letters
    /// and its application to undeliverable (R2: 14 days); returns how many.
    async fn expire_deliveries(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

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

    // --- messages between authority and citizen (authority node) ---------------------------

    /// Writes a clerk's message to the citizen, queued for the portal, together with its
    /// status change (a decision) in one transaction; `false` (and nothing written) when the
    /// case is not the authority's or the status change no longer applies.
    async fn record_case_message(
        &self,
        message: &crate::model::NewCaseMessage,
    ) -> Result<bool, StoreError>;

    /// Stores a citizen's reply to a case of `authority` with this `reference` once per `id`:
    /// `Some(true)` stored, `Some(false)` stored before, `None` no such case.
    async fn store_reply(
        &self,
        case_id: uuid::Uuid,
        authority: &str,
        reference: &str,
        id: uuid::Uuid,
        envelope: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<bool>, StoreError>;

    /// Every message of a case, oldest first.
    async fn case_messages(
        &self,
        case_id: uuid::Uuid,
    ) -> Result<Vec<crate::model::CaseMessage>, StoreError>;

    /// The oldest `limit` messages to citizens due at `now` and not yet accepted by the portal.
    async fn pending_case_messages(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<crate::model::OutgoingMessage>, StoreError>;

    /// The portal accepted a message.
    async fn case_message_sent(&self, id: uuid::Uuid, now: DateTime<Utc>)
    -> Result<(), StoreError>;

    /// A message could not be sent; it is tried again from `next_attempt_at`.
    async fn case_message_failed(
        &self,
        id: uuid::Uuid,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    // --- the mailbox (portal) -------------------------------------------------------------

    /// Stores a message from an authority with its sealed files once per id; `false` when it
    /// was stored before (the node sent it again).
    async fn store_mailbox_message(
        &self,
        message: &crate::model::MailboxMessage,
        files: &[(uuid::Uuid, Vec<u8>)],
    ) -> Result<bool, StoreError>;

    /// Writes a citizen's reply: the sealed copy, its files and its outbox entry, in one
    /// transaction (C4).
    async fn submit_reply(&self, reply: &crate::model::NewReply) -> Result<(), StoreError>;

    /// The account's messages still kept at `now`, newest first.
    async fn mailbox_messages(
        &self,
        account: &AccountId,
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::model::MailboxMessage>, StoreError>;

    /// One message of the account; another account's id finds nothing (Z1).
    async fn mailbox_message(
        &self,
        account: &AccountId,
        id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::model::MailboxMessage>, StoreError>;

    /// A sealed file of one of the account's messages.
    async fn mailbox_file(
        &self,
        account: &AccountId,
        message: uuid::Uuid,
        file: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Marks a message read; `true` if it was unread.
    async fn mark_message_read(
        &self,
        account: &AccountId,
        id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// How many of the account's messages are unread.
    async fn unread_messages(
        &self,
        account: &AccountId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// The account an application belongs to, for a message about it.
    async fn application_account(&self, reference: &str) -> Result<Option<AccountId>, StoreError>;

    /// Deletes messages past their retention period with their files (R1); returns how many.
    async fn purge_messages(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}
