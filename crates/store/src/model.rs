//! The values the store takes and returns. Plain data, independent of the backend.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rathaus_domain::{
    AccountId, AssuranceLevel, AuditEvent, AuthorityId, AuthorityKindId, CaseStatus, ClerkId,
    ClerkRole, DistrictId, Email, NodeId, SessionId, TenantId, Text,
};

/// Which database sits behind a [`Store`](crate::Store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// A lowercase name for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the connection pool behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Upper bound of open connections per process. PostgreSQL's own `max_connections` must
    /// cover this times the number of portal processes.
    pub max_connections: u32,
    /// How long to wait for a connection (and, with SQLite, for a lock) before reporting the
    /// database as unavailable. Short enough that /readyz and requests fail fast instead of
    /// piling up while the database is down.
    pub connect_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// What [`Store::sync_directory`](crate::Store::sync_directory) changed, counted over districts,
/// authority kinds, authorities and nodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Rows that were not active before: new ones, and retired ones that came back.
    pub added: u64,
    /// Active rows whose values changed.
    pub updated: u64,
    /// Active rows that are no longer in the directory and are now retired.
    pub retired: u64,
}

impl SyncReport {
    /// Whether the database already matched the directory.
    pub fn is_unchanged(&self) -> bool {
        *self == Self::default()
    }
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} added, {} updated, {} retired",
            self.added, self.updated, self.retired
        )
    }
}

/// An active authority as the portal stores it: enough to route a submission and to show the
/// authority's name; addresses and opening hours stay in the directory file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityRecord {
    pub id: AuthorityId,
    pub tenant: TenantId,
    pub kind: AuthorityKindId,
    pub district: Option<DistrictId>,
    pub name: Text,
    pub node: NodeId,
}

/// Where an authority node listens, as registered with the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEndpoint {
    pub node: NodeId,
    /// The node's base URL, for example `http://127.0.0.1:8081`, stored as given.
    pub base_url: String,
    /// When the node last registered.
    pub registered_at: DateTime<Utc>,
}

/// Which node an authority node's database belongs to; written once, on first start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    pub node: NodeId,
    pub created_at: DateTime<Utc>,
}

/// An account as stored. `password_hash` is an argon2id PHC string.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: AccountId,
    pub email: Email,
    pub password_hash: String,
    /// When the address was confirmed through the mailed link; `None` until then.
    pub email_confirmed_at: Option<DateTime<Utc>>,
    pub level: AssuranceLevel,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl fmt::Debug for AccountRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountRecord")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("email_confirmed_at", &self.email_confirmed_at)
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

/// A server-side session. The cookie carries a random token; the store knows only its digest.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the cookie's token.
    pub token_hash: String,
    /// The public id, for the list of sessions.
    pub id: SessionId,
    pub account_id: AccountId,
    /// The secret that every state-changing form of this session must carry (CSRF).
    pub csrf_secret: String,
    /// The assurance level this session was established at.
    pub level: AssuranceLevel,
    pub created_at: DateTime<Utc>,
    /// The last request seen (written at most about once a minute).
    pub last_seen_at: DateTime<Utc>,
    /// The absolute end of the session, whatever the activity.
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("level", &self.level)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What a single-use e-mail link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailTokenPurpose {
    /// Confirms the address after registration.
    Confirm,
    /// Sets a new password.
    Reset,
}

impl EmailTokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Reset => "reset",
        }
    }
}

/// A new single-use e-mail link, by the digest of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEmailToken {
    pub token_hash: String,
    pub account_id: AccountId,
    pub purpose: EmailTokenPurpose,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Ascending in the order of writing (0 for an entry not yet written).
    pub id: i64,
    pub at: DateTime<Utc>,
    pub event: AuditEvent,
    pub account_id: Option<AccountId>,
    /// One line, already escaped (`rathaus_domain::log_safe`); never a password or token.
    pub detail: String,
}

// ---- online applications (portal) ------------------------------------------------------------

/// An unfinished application, sealed at rest by the portal; the store never sees its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRecord {
    pub id: uuid::Uuid,
    pub account: AccountId,
    pub service_key: String,
    pub sealed: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A draft as the account page lists it, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftSummary {
    pub id: uuid::Uuid,
    pub service_key: String,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Where an application stands, as the citizen sees it (issue 5 moves it along).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplicationStatus {
    /// Submitted and waiting in the outbox.
    Queued,
    /// Every receiving authority node has acknowledged it.
    Delivered,
    /// The authority has opened it.
    Received,
    InProgress,
    NeedsInformation,
    Decided,
    /// Could not be delivered; the citizen is told to apply another way.
    Undeliverable,
}

impl ApplicationStatus {
    pub const ALL: [Self; 7] = [
        Self::Queued,
        Self::Delivered,
        Self::Received,
        Self::InProgress,
        Self::NeedsInformation,
        Self::Decided,
        Self::Undeliverable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Delivered => "delivered",
            Self::Received => "received",
            Self::InProgress => "in_progress",
            Self::NeedsInformation => "needs_information",
            Self::Decided => "decided",
            Self::Undeliverable => "undeliverable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

/// One receiving authority's copy of an application, encrypted to that authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub id: uuid::Uuid,
    pub authority: AuthorityId,
    pub node: NodeId,
    /// The JWE, encrypted to the authority's public key.
    pub envelope: Vec<u8>,
}

/// Everything a submit writes, in one transaction (C4): the application's metadata, one
/// outbox entry per recipient, the sealed receipt, and the removal of the draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApplication {
    pub reference: String,
    pub submission_id: uuid::Uuid,
    pub account: AccountId,
    pub service_key: String,
    pub submitted_at: DateTime<Utc>,
    pub deliveries: Vec<NewDelivery>,
    /// The organisation the application is made for (a business account the applicant is a
    /// member of), with its name as it is now.
    pub organisation: Option<(
        rathaus_domain::OrganisationId,
        rathaus_domain::OrganisationName,
    )>,
    /// The receipt PDF sealed at rest, and when it is deleted.
    pub receipt: Option<(Vec<u8>, DateTime<Utc>)>,
}

/// What a submit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    Submitted,
    /// The same submission was stored before (a second click); nothing new was written.
    AlreadySubmitted {
        reference: String,
    },
}

/// An application's metadata; its content lives only at the authority (R3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRecord {
    pub reference: String,
    pub service_key: String,
    /// The name of the organisation it was made for, as it was then.
    pub organisation: Option<String>,
    pub status: ApplicationStatus,
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a clean-up run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub drafts: u64,
    pub receipts: u64,
    /// Expired e-mail changes, invitations and passkey ceremonies.
    pub links: u64,
}

// ---- delivery (portal and authority nodes) ---------------------------------------------------

/// An outbox entry a delivery worker has claimed (leased) for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDelivery {
    pub id: uuid::Uuid,
    pub reference: String,
    pub service_key: String,
    pub authority: String,
    pub node: String,
    /// The JWE for the authority.
    pub envelope: Vec<u8>,
    /// Attempts made before this one.
    pub attempts: u32,
    /// Where the delivery window began (R2): the submission, or an operator's last retry of
    /// the dead letter.
    pub created_at: DateTime<Utc>,
    /// For a citizen's reply: the case (delivery) at the node it answers.
    pub in_reply_to: Option<uuid::Uuid>,
}

/// The outbox at a glance, for the status page and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxStats {
    pub pending: u64,
    pub dead: u64,
    pub delivered: u64,
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// One authority node's part of the outbox, for the operator's status page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeOutbox {
    pub node: String,
    pub pending: u64,
    /// Pending entries whose last attempt failed.
    pub failing: u64,
    pub dead: u64,
    pub delivered: u64,
    /// Delivery attempts over all entries still in the table.
    pub attempts: u64,
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// Which entries of the outbox an operator lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxListing {
    /// Pending entries with at least one failed attempt.
    Failing,
    /// Dead letters.
    Dead,
}

/// An outbox entry as an operator sees it: metadata only, never the ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: uuid::Uuid,
    pub reference: String,
    pub authority: String,
    pub node: String,
    pub attempts: u32,
    /// Where the delivery window began: the submission or the last retry.
    pub since: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// A citizen's reply rather than an application.
    pub reply: bool,
    /// The ciphertext is still there, so the entry can be sent again.
    pub retryable: bool,
}

/// A dead letter put back into the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetriedDelivery {
    pub reference: String,
    pub node: String,
    pub reply: bool,
}

/// Where one recipient's delivery stands (several recipients per service, issue 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientRecord {
    pub authority: String,
    pub node: String,
    pub state: DeliveryState,
    /// What the authority reported about its case (received, in progress, …), once delivered.
    pub case_status: Option<ApplicationStatus>,
    pub attempts: u32,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// The state of one outbox entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for (another) attempt.
    Pending,
    /// Acknowledged by the node with a signed receipt; the ciphertext is gone.
    Delivered,
    /// Given up (too many attempts or 14 days, R2); retryable by an operator.
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Dead]
            .into_iter()
            .find(|state| state.as_str() == s)
    }
}

/// An outbox entry waiting longer than it should (R2); metadata only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueDelivery {
    pub reference: String,
    pub authority: String,
    pub node: String,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub last_error: Option<String>,
}

/// A case as an authority node stores it: the envelope as it arrived, still encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    pub delivery_id: uuid::Uuid,
    pub reference: String,
    pub authority: String,
    pub service_key: String,
    pub envelope: Vec<u8>,
    pub status: String,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

// ---- back office (authority node) and the status back channel --------------------------------

/// A clerk account at an authority node. `password_hash` is an argon2id PHC string.
#[derive(Clone, PartialEq, Eq)]
pub struct ClerkRecord {
    pub id: ClerkId,
    /// The one authority whose cases the clerk works (Z2).
    pub authority: String,
    pub email: Email,
    pub display_name: String,
    pub password_hash: String,
    pub role: ClerkRole,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl fmt::Debug for ClerkRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClerkRecord")
            .field("id", &self.id)
            .field("authority", &self.authority)
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A clerk's server-side session; the cookie carries a random token, the store its digest.
#[derive(Clone, PartialEq, Eq)]
pub struct ClerkSessionRecord {
    pub token_hash: String,
    pub clerk_id: ClerkId,
    /// The secret every state-changing form of this session must carry (CSRF).
    pub csrf_secret: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The absolute end of the session, whatever the activity.
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for ClerkSessionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClerkSessionRecord")
            .field("clerk_id", &self.clerk_id)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Which cases of one authority the inbox shows: newest first, optionally of one status or
/// with a reference containing `reference` (compared in uppercase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseQuery {
    pub authority: String,
    pub status: Option<CaseStatus>,
    pub reference: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

/// A case as the inbox lists it, without its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSummary {
    pub delivery_id: uuid::Uuid,
    pub reference: String,
    pub service_key: String,
    pub status: String,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A status change by a clerk: written with its history entry and its message for the portal
/// in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseStatusChange {
    pub case_id: uuid::Uuid,
    /// The clerk's authority: a case of another authority is never changed (Z2).
    pub authority: String,
    pub clerk: ClerkId,
    /// The status the clerk saw; if the case has moved on meanwhile, nothing is changed.
    pub from: CaseStatus,
    pub to: CaseStatus,
    pub at: DateTime<Utc>,
    /// When the case is to be deleted: set when it is decided (from the service's
    /// `[retention] case_days`), `None` for every other status (R1).
    pub retain_until: Option<DateTime<Utc>>,
}

/// What happened to a case, without content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseEvent {
    pub at: DateTime<Utc>,
    pub clerk: Option<ClerkId>,
    /// `opened` or `status_changed`.
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
}

/// A status message waiting for the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMessage {
    /// Ascending in the order of the changes; messages are sent in this order.
    pub id: i64,
    pub case_id: uuid::Uuid,
    pub reference: String,
    pub status: CaseStatus,
    pub created_at: DateTime<Utc>,
}

/// Where a delivery went, as the portal recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRoute {
    pub reference: String,
    pub authority: String,
    pub node: String,
    /// The application's service, for its retention periods.
    pub service_key: String,
}

/// The result of checking the audit log's hash chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditVerification {
    /// Entries checked.
    pub entries: u64,
    /// The first entry whose hash or link does not match, if any.
    pub first_broken: Option<i64>,
}

// ---- messages between authority and citizen (the Postfach) -----------------------------------

/// Which way a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageDirection {
    /// From a clerk at the authority to the citizen.
    ToCitizen,
    /// The citizen's reply to the authority.
    FromCitizen,
}

impl MessageDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ToCitizen => "to_citizen",
            Self::FromCitizen => "from_citizen",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "to_citizen" => Some(Self::ToCitizen),
            "from_citizen" => Some(Self::FromCitizen),
            _ => None,
        }
    }
}

/// A message of a case as the authority node keeps it: the content is a JWE to the node's own
/// key, in either direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseMessage {
    pub id: uuid::Uuid,
    pub case_id: uuid::Uuid,
    pub direction: MessageDirection,
    /// Who wrote it (messages to the citizen).
    pub clerk: Option<ClerkId>,
    /// Whether it carries the authority's decision.
    pub decision: bool,
    pub envelope: Vec<u8>,
    pub created_at: DateTime<Utc>,
    /// When the portal accepted it (messages to the citizen).
    pub sent_at: Option<DateTime<Utc>>,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// A clerk's message to the citizen, to be written in one transaction with the status change a
/// decision makes (the case becomes `decided`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCaseMessage {
    pub id: uuid::Uuid,
    pub case_id: uuid::Uuid,
    /// The clerk's authority: another authority's case is not written to (Z2).
    pub authority: String,
    pub clerk: ClerkId,
    pub decision: bool,
    /// The content as JWE to the node's own key.
    pub envelope: Vec<u8>,
    pub at: DateTime<Utc>,
    /// The status change that goes with it (a decision), checked like any other.
    pub status_change: Option<CaseStatusChange>,
}

/// A message to the citizen waiting at the node for the portal to accept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub id: uuid::Uuid,
    pub case_id: uuid::Uuid,
    pub reference: String,
    pub decision: bool,
    /// The content as JWE to the node's own key (sealed anew for the portal when sent).
    pub envelope: Vec<u8>,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
}

/// A message in a citizen's mailbox at the portal. `sealed` holds subject, text and the list
/// of files, sealed at rest for the owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxMessage {
    pub id: uuid::Uuid,
    pub reference: String,
    pub account: AccountId,
    /// The delivery (the case at the node) the message belongs to.
    pub delivery_id: uuid::Uuid,
    pub authority: String,
    pub direction: MessageDirection,
    pub decision: bool,
    pub sealed: Vec<u8>,
    pub received_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    /// For a reply: where its delivery stands (`pending`, `delivered`, `dead`); `None` for a
    /// message from the authority, or a reply whose outbox entry is gone.
    pub delivery_state: Option<String>,
}

/// A citizen's reply: the sealed copy for the mailbox and the outbox entry that carries it,
/// encrypted to the authority, to the node (written in one transaction, C4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReply {
    /// `id` is also the outbox entry's id (the idempotency key at the node).
    pub message: MailboxMessage,
    /// The files, each sealed for the owner.
    pub files: Vec<(uuid::Uuid, Vec<u8>)>,
    pub node: String,
    /// The JWE for the authority.
    pub envelope: Vec<u8>,
}
