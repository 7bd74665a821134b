//! The `Store` implementation is the same for every backend: each method hands the pool to the
//! function of the same name in the backend's `accounts`, `directory`, `nodes`, `applications`,
//! `delivery` and `back_office` modules, which hold the backend's SQL. This macro writes that
//! delegation once.

/// Implements [`crate::Store`] for a backend store with a `pool` field, delegating to the
/// `accounts`, `directory` and `nodes` modules in scope where it is invoked.
///
/// Reads on the hot paths (the session of every signed-in request, drafts, lists, the
/// mailbox count) go to `self.readers()`; everything else, every write included, to
/// `self.pool`. On PostgreSQL both are the same pool; on SQLite `pool` is the one writing
/// connection and `readers()` a pool of reading ones (see `sqlite/mod.rs`). A read left on
/// `pool` is only serialised with the writes, never wrong.
macro_rules! delegate_store {
    ($store:ty, $backend:expr) => {
        #[async_trait::async_trait]
        impl crate::store::Store for $store {
            fn backend(&self) -> Backend {
                $backend
            }

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                sqlx::query("SELECT 1").execute(self.readers()).await?;
                Ok(())
            }

            async fn close(&self) {
                // Readers first: on SQLite the last connection to close checkpoints the WAL
                // into the database file and removes it, and only the writer may.
                self.readers().close().await;
                self.pool.close().await;
            }

            async fn sync_directory(
                &self,
                directory: &TenantDirectory,
                now: DateTime<Utc>,
            ) -> Result<SyncReport, StoreError> {
                directory::sync(&self.pool, directory, now).await
            }

            async fn authorities(
                &self,
                tenant: &TenantId,
            ) -> Result<Vec<AuthorityRecord>, StoreError> {
                directory::authorities(self.readers(), tenant).await
            }

            async fn register_node_endpoint(
                &self,
                node: &NodeId,
                base_url: &str,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                nodes::register_endpoint(&self.pool, node, base_url, now).await
            }

            async fn node_endpoints(&self) -> Result<Vec<NodeEndpoint>, StoreError> {
                nodes::endpoints(&self.pool).await
            }

            async fn node_identity(&self) -> Result<Option<NodeIdentity>, StoreError> {
                nodes::identity(&self.pool).await
            }

            async fn init_node_identity(
                &self,
                node: &NodeId,
                now: DateTime<Utc>,
            ) -> Result<NodeIdentity, StoreError> {
                nodes::init_identity(&self.pool, node, now).await
            }

            async fn create_account(
                &self,
                id: AccountId,
                email: &Email,
                password_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                accounts::create_account(&self.pool, id, email, password_hash, now).await
            }

            async fn account_by_email(
                &self,
                email: &Email,
            ) -> Result<Option<AccountRecord>, StoreError> {
                accounts::account_by_email(self.readers(), email).await
            }

            async fn account(&self, id: AccountId) -> Result<Option<AccountRecord>, StoreError> {
                accounts::account(self.readers(), id).await
            }

            async fn set_password_hash(
                &self,
                id: AccountId,
                password_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                accounts::set_password_hash(&self.pool, id, password_hash, now).await
            }

            async fn confirm_email(
                &self,
                id: AccountId,
                now: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                accounts::confirm_email(&self.pool, id, now).await
            }

            async fn create_email_token(&self, token: &NewEmailToken) -> Result<(), StoreError> {
                accounts::create_email_token(&self.pool, token).await
            }

            async fn email_token(
                &self,
                token_hash: &str,
                purpose: EmailTokenPurpose,
                now: DateTime<Utc>,
            ) -> Result<Option<AccountId>, StoreError> {
                accounts::email_token(&self.pool, token_hash, purpose, now).await
            }

            async fn use_email_token(
                &self,
                token_hash: &str,
                purpose: EmailTokenPurpose,
                now: DateTime<Utc>,
            ) -> Result<Option<AccountId>, StoreError> {
                accounts::use_email_token(&self.pool, token_hash, purpose, now).await
            }

            async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
                accounts::create_session(&self.pool, session).await
            }

            async fn session(
                &self,
                token_hash: &str,
            ) -> Result<Option<(SessionRecord, AccountRecord)>, StoreError> {
                accounts::session(self.readers(), token_hash).await
            }

            async fn touch_session(
                &self,
                token_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                accounts::touch_session(&self.pool, token_hash, now).await
            }

            async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError> {
                accounts::delete_session(&self.pool, token_hash).await
            }

            async fn delete_account_session(
                &self,
                account: AccountId,
                id: SessionId,
            ) -> Result<bool, StoreError> {
                accounts::delete_account_session(&self.pool, account, id).await
            }

            async fn delete_sessions_of(&self, account: AccountId) -> Result<u64, StoreError> {
                accounts::delete_sessions_of(&self.pool, account).await
            }

            async fn sessions_of(
                &self,
                account: AccountId,
                idle_since: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> Result<Vec<SessionRecord>, StoreError> {
                accounts::sessions_of(self.readers(), account, idle_since, now).await
            }

            async fn purge_sessions(
                &self,
                idle_since: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> Result<u64, StoreError> {
                accounts::purge_sessions(&self.pool, idle_since, now).await
            }

            async fn record_sign_in_failure(
                &self,
                keys: &[String],
                at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                accounts::record_sign_in_failure(&self.pool, keys, at).await
            }

            async fn sign_in_failures(
                &self,
                key: &str,
                since: DateTime<Utc>,
            ) -> Result<Vec<DateTime<Utc>>, StoreError> {
                accounts::sign_in_failures(&self.pool, key, since).await
            }

            async fn clear_sign_in_failures(&self, key: &str) -> Result<(), StoreError> {
                accounts::clear_sign_in_failures(&self.pool, key).await
            }

            async fn purge_sign_in_failures(
                &self,
                before: DateTime<Utc>,
            ) -> Result<u64, StoreError> {
                accounts::purge_sign_in_failures(&self.pool, before).await
            }

            async fn append_audit(&self, entry: &AuditRecord) -> Result<(), StoreError> {
                accounts::append_audit(&self.pool, entry).await
            }

            async fn audit_entries(&self, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
                accounts::audit_entries(self.readers(), limit).await
            }

            async fn verify_audit(&self) -> Result<crate::model::AuditVerification, StoreError> {
                accounts::verify_audit(&self.pool).await
            }

            async fn shared_secret(
                &self,
                name: &str,
                candidate: &[u8],
                now: DateTime<Utc>,
            ) -> Result<Vec<u8>, StoreError> {
                accounts::shared_secret(&self.pool, name, candidate, now).await
            }

            async fn save_draft(&self, draft: &DraftRecord) -> Result<(), StoreError> {
                applications::save_draft(&self.pool, draft).await
            }

            async fn draft(
                &self,
                account: &AccountId,
                service_key: &str,
                now: DateTime<Utc>,
            ) -> Result<Option<DraftRecord>, StoreError> {
                applications::draft(self.readers(), account, service_key, now).await
            }

            async fn drafts(
                &self,
                account: &AccountId,
                now: DateTime<Utc>,
            ) -> Result<Vec<DraftSummary>, StoreError> {
                applications::drafts(self.readers(), account, now).await
            }

            async fn delete_draft(
                &self,
                account: &AccountId,
                service_key: &str,
            ) -> Result<(), StoreError> {
                applications::delete_draft(&self.pool, account, service_key).await
            }

            async fn put_draft_file(
                &self,
                draft: uuid::Uuid,
                file: uuid::Uuid,
                sealed: &[u8],
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                applications::put_draft_file(&self.pool, draft, file, sealed, now).await
            }

            async fn draft_file(
                &self,
                account: &AccountId,
                file: uuid::Uuid,
            ) -> Result<Option<Vec<u8>>, StoreError> {
                applications::draft_file(self.readers(), account, file).await
            }

            async fn delete_draft_files(
                &self,
                draft: uuid::Uuid,
                files: &[uuid::Uuid],
            ) -> Result<(), StoreError> {
                applications::delete_draft_files(&self.pool, draft, files).await
            }

            async fn submit_application(
                &self,
                application: &NewApplication,
            ) -> Result<SubmitOutcome, StoreError> {
                applications::submit_application(&self.pool, application).await
            }

            async fn applications(
                &self,
                account: &AccountId,
            ) -> Result<Vec<ApplicationRecord>, StoreError> {
                applications::applications(self.readers(), account).await
            }

            async fn application_by_submission(
                &self,
                account: &AccountId,
                submission_id: uuid::Uuid,
            ) -> Result<Option<ApplicationRecord>, StoreError> {
                applications::application_by_submission(self.readers(), account, submission_id)
                    .await
            }

            async fn application(
                &self,
                account: &AccountId,
                reference: &str,
            ) -> Result<Option<ApplicationRecord>, StoreError> {
                applications::application(self.readers(), account, reference).await
            }

            async fn receipt(
                &self,
                account: &AccountId,
                reference: &str,
                now: DateTime<Utc>,
            ) -> Result<Option<Vec<u8>>, StoreError> {
                applications::receipt(self.readers(), account, reference, now).await
            }

            async fn set_assurance_level(
                &self,
                account: &AccountId,
                level: rathaus_domain::AssuranceLevel,
                now: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                applications::set_assurance_level(&self.pool, account, level, now).await
            }

            async fn save_verified_attributes(
                &self,
                record: &crate::VerifiedAttributesRecord,
            ) -> Result<bool, StoreError> {
                verified::save_verified_attributes(&self.pool, record).await
            }

            async fn verified_attributes(
                &self,
                account: &AccountId,
                session: rathaus_domain::SessionId,
            ) -> Result<Vec<crate::VerifiedAttributesRecord>, StoreError> {
                verified::verified_attributes(self.readers(), account, session).await
            }

            async fn delete_verified_attributes(
                &self,
                account: &AccountId,
                scope: crate::AttributeScope,
            ) -> Result<u64, StoreError> {
                verified::delete_verified_attributes(&self.pool, account, scope).await
            }

            async fn issue_identification_code(
                &self,
                account: &AccountId,
                code_hash: &str,
                now: DateTime<Utc>,
                expires_at: DateTime<Utc>,
                remember_attributes: bool,
            ) -> Result<(), StoreError> {
                identification::issue_identification_code(
                    &self.pool,
                    account,
                    code_hash,
                    now,
                    expires_at,
                    remember_attributes,
                )
                .await
            }

            async fn identification_code(
                &self,
                account: &AccountId,
                now: DateTime<Utc>,
            ) -> Result<Option<crate::IssuedCode>, StoreError> {
                identification::identification_code(&self.pool, account, now).await
            }

            async fn redeem_identification_code(
                &self,
                code_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<crate::Redemption, StoreError> {
                identification::redeem_identification_code(&self.pool, code_hash, now).await
            }

            async fn start_totp_enrolment(
                &self,
                account: &AccountId,
                secret_sealed: &[u8],
                now: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                second_factor::start_totp_enrolment(&self.pool, account, secret_sealed, now).await
            }

            async fn totp_factor(
                &self,
                account: &AccountId,
            ) -> Result<Option<crate::TotpFactorRecord>, StoreError> {
                second_factor::totp_factor(self.readers(), account).await
            }

            async fn confirm_totp(
                &self,
                account: &AccountId,
                step: i64,
                recovery_hashes: &[String],
                now: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                second_factor::confirm_totp(&self.pool, account, step, recovery_hashes, now).await
            }

            async fn claim_totp_step(
                &self,
                account: &AccountId,
                step: i64,
            ) -> Result<bool, StoreError> {
                second_factor::claim_totp_step(&self.pool, account, step).await
            }

            async fn use_recovery_code(
                &self,
                account: &AccountId,
                code_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                second_factor::use_recovery_code(&self.pool, account, code_hash, now).await
            }

            async fn remove_totp(&self, account: &AccountId) -> Result<bool, StoreError> {
                second_factor::remove_totp(&self.pool, account).await
            }

            async fn create_pending_sign_in(
                &self,
                record: &crate::PendingSignInRecord,
            ) -> Result<(), StoreError> {
                second_factor::create_pending_sign_in(&self.pool, record).await
            }

            async fn pending_sign_in(
                &self,
                token_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<Option<crate::PendingSignInRecord>, StoreError> {
                second_factor::pending_sign_in(&self.pool, token_hash, now).await
            }

            async fn pending_sign_in_failed(
                &self,
                token_hash: &str,
                max_failures: u32,
            ) -> Result<bool, StoreError> {
                second_factor::pending_sign_in_failed(&self.pool, token_hash, max_failures).await
            }

            async fn finish_pending_sign_in(
                &self,
                token_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                second_factor::finish_pending_sign_in(&self.pool, token_hash, now).await
            }

            async fn add_passkey(
                &self,
                passkey: &crate::passkeys::NewPasskey,
            ) -> Result<bool, StoreError> {
                passkeys::add_passkey(&self.pool, passkey).await
            }

            async fn passkeys_of(
                &self,
                account: &AccountId,
            ) -> Result<Vec<crate::passkeys::PasskeyRecord>, StoreError> {
                passkeys::passkeys_of(self.readers(), account).await
            }

            async fn passkey_by_credential(
                &self,
                credential_id: &str,
            ) -> Result<Option<crate::passkeys::PasskeyRecord>, StoreError> {
                passkeys::passkey_by_credential(&self.pool, credential_id).await
            }

            async fn passkey_used(
                &self,
                id: &rathaus_domain::PasskeyId,
                credential: Option<&str>,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                passkeys::passkey_used(&self.pool, id, credential, now).await
            }

            async fn remove_passkey(
                &self,
                account: &AccountId,
                id: &rathaus_domain::PasskeyId,
            ) -> Result<bool, StoreError> {
                passkeys::remove_passkey(&self.pool, account, id).await
            }

            async fn start_passkey_ceremony(
                &self,
                ceremony: &crate::passkeys::PasskeyCeremonyRecord,
            ) -> Result<(), StoreError> {
                passkeys::start_passkey_ceremony(&self.pool, ceremony).await
            }

            async fn take_passkey_ceremony(
                &self,
                token_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<Option<crate::passkeys::PasskeyCeremonyRecord>, StoreError> {
                passkeys::take_passkey_ceremony(&self.pool, token_hash, now).await
            }

            async fn request_email_change(
                &self,
                change: &crate::email_change::NewEmailChange,
            ) -> Result<(), StoreError> {
                email_change::request_email_change(&self.pool, change).await
            }

            async fn email_change(
                &self,
                token_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<Option<crate::email_change::EmailChangeRecord>, StoreError> {
                email_change::email_change(&self.pool, token_hash, now).await
            }

            async fn pending_email_change(
                &self,
                account: &AccountId,
                now: DateTime<Utc>,
            ) -> Result<Option<crate::email_change::EmailChangeRecord>, StoreError> {
                email_change::pending_email_change(&self.pool, account, now).await
            }

            async fn apply_email_change(
                &self,
                token_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<crate::email_change::EmailChangeOutcome, StoreError> {
                email_change::apply_email_change(&self.pool, token_hash, now).await
            }

            async fn create_organisation(
                &self,
                id: &OrganisationId,
                name: &OrganisationName,
                owner: &AccountId,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                organisations::create_organisation(&self.pool, id, name, owner, now).await
            }

            async fn organisations_of(
                &self,
                account: &AccountId,
            ) -> Result<Vec<crate::organisations::Membership>, StoreError> {
                organisations::organisations_of(self.readers(), account).await
            }

            async fn membership_of(
                &self,
                organisation: &OrganisationId,
                account: &AccountId,
            ) -> Result<Option<crate::organisations::Membership>, StoreError> {
                organisations::membership_of(self.readers(), organisation, account).await
            }

            async fn organisation_members(
                &self,
                organisation: &OrganisationId,
            ) -> Result<Vec<crate::organisations::MemberRecord>, StoreError> {
                organisations::organisation_members(&self.pool, organisation).await
            }

            async fn invite_member(
                &self,
                invitation: &crate::organisations::NewInvitation,
            ) -> Result<bool, StoreError> {
                organisations::invite_member(&self.pool, invitation).await
            }

            async fn open_invitations(
                &self,
                organisation: &OrganisationId,
                now: DateTime<Utc>,
            ) -> Result<Vec<crate::organisations::InvitationRecord>, StoreError> {
                organisations::open_invitations(&self.pool, organisation, now).await
            }

            async fn invitation(
                &self,
                token_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<Option<crate::organisations::InvitationRecord>, StoreError> {
                organisations::invitation(&self.pool, token_hash, now).await
            }

            async fn revoke_invitation(
                &self,
                organisation: &OrganisationId,
                id: uuid::Uuid,
            ) -> Result<bool, StoreError> {
                organisations::revoke_invitation(&self.pool, organisation, id).await
            }

            async fn accept_invitation(
                &self,
                token_hash: &str,
                account: &AccountId,
                email: &Email,
                now: DateTime<Utc>,
            ) -> Result<crate::organisations::Acceptance, StoreError> {
                organisations::accept_invitation(&self.pool, token_hash, account, email, now).await
            }

            async fn remove_member(
                &self,
                organisation: &OrganisationId,
                account: &AccountId,
            ) -> Result<crate::organisations::MemberChange, StoreError> {
                organisations::remove_member(&self.pool, organisation, account).await
            }

            async fn set_member_role(
                &self,
                organisation: &OrganisationId,
                account: &AccountId,
                role: OrganisationRole,
            ) -> Result<crate::organisations::MemberChange, StoreError> {
                organisations::set_member_role(&self.pool, organisation, account, role).await
            }

            async fn sole_owned_organisations(
                &self,
                account: &AccountId,
            ) -> Result<Vec<crate::organisations::OrganisationRecord>, StoreError> {
                organisations::sole_owned_organisations(&self.pool, account).await
            }

            async fn organisation_applications(
                &self,
                organisation: &OrganisationId,
            ) -> Result<Vec<crate::organisations::OrganisationApplication>, StoreError> {
                organisations::organisation_applications(&self.pool, organisation).await
            }

            async fn audit_entries_of(
                &self,
                account: &AccountId,
                limit: u32,
            ) -> Result<Vec<crate::own_data::OwnAuditEntry>, StoreError> {
                own_data::audit_entries_of(&self.pool, account, limit).await
            }

            async fn email_links_of(
                &self,
                account: &AccountId,
                now: DateTime<Utc>,
            ) -> Result<Vec<crate::own_data::OwnEmailLink>, StoreError> {
                own_data::email_links_of(&self.pool, account, now).await
            }

            async fn second_factor_of(
                &self,
                account: &AccountId,
            ) -> Result<Option<crate::own_data::OwnSecondFactor>, StoreError> {
                own_data::second_factor_of(self.readers(), account).await
            }

            async fn delete_account(
                &self,
                account: &AccountId,
            ) -> Result<Option<crate::own_data::DeletionReport>, StoreError> {
                own_data::delete_account(&self.pool, account).await
            }

            async fn purge_detached_applications(&self) -> Result<u64, StoreError> {
                own_data::purge_detached_applications(&self.pool).await
            }

            async fn purge_decided_cases(
                &self,
                now: DateTime<Utc>,
            ) -> Result<Vec<crate::retention::RetentionDeleted>, StoreError> {
                retention::purge_decided_cases(&self.pool, now).await
            }

            async fn case_retain_until(
                &self,
                delivery_id: uuid::Uuid,
            ) -> Result<Option<DateTime<Utc>>, StoreError> {
                retention::case_retain_until(&self.pool, delivery_id).await
            }

            async fn application_service_keys(&self) -> Result<Vec<String>, StoreError> {
                retention::application_service_keys(&self.pool).await
            }

            async fn purge_application_records(
                &self,
                service_key: &str,
                changed_before: DateTime<Utc>,
            ) -> Result<Vec<crate::retention::RetentionDeleted>, StoreError> {
                retention::purge_application_records(&self.pool, service_key, changed_before).await
            }

            async fn account_tables(&self) -> Result<Vec<String>, StoreError> {
                own_data::account_columns(&self.pool).await
            }

            async fn purge_expired(&self, now: DateTime<Utc>) -> Result<PurgeReport, StoreError> {
                applications::purge_expired(&self.pool, now).await
            }

            async fn pin_node_keys(
                &self,
                node: &str,
                jwks: &str,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                delivery::pin_node_keys(&self.pool, node, jwks, now).await
            }

            async fn node_keys(&self, node: &str) -> Result<Option<String>, StoreError> {
                delivery::node_keys(self.readers(), node).await
            }

            async fn claim_deliveries(
                &self,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: u32,
            ) -> Result<Vec<crate::model::PendingDelivery>, StoreError> {
                delivery::claim_deliveries(&self.pool, now, lease_until, limit).await
            }

            async fn delivery_succeeded(
                &self,
                id: uuid::Uuid,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                delivery::delivery_succeeded(&self.pool, id, now).await
            }

            async fn delivery_failed(
                &self,
                id: uuid::Uuid,
                error: &str,
                next_attempt_at: DateTime<Utc>,
                dead: bool,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                delivery::delivery_failed(&self.pool, id, error, next_attempt_at, dead, now).await
            }

            async fn outbox_stats(&self) -> Result<crate::model::OutboxStats, StoreError> {
                delivery::outbox_stats(self.readers()).await
            }

            async fn outbox_by_node(&self) -> Result<Vec<crate::model::NodeOutbox>, StoreError> {
                delivery::outbox_by_node(&self.pool).await
            }

            async fn outbox_entries(
                &self,
                listing: crate::model::OutboxListing,
                limit: u32,
            ) -> Result<Vec<crate::model::OutboxEntry>, StoreError> {
                delivery::outbox_entries(&self.pool, listing, limit).await
            }

            async fn retry_dead_letter(
                &self,
                id: uuid::Uuid,
                now: DateTime<Utc>,
            ) -> Result<Option<crate::model::RetriedDelivery>, StoreError> {
                delivery::retry_dead_letter(&self.pool, id, now).await
            }

            async fn recipients(
                &self,
                account: &rathaus_domain::AccountId,
                reference: &str,
            ) -> Result<Vec<crate::model::RecipientRecord>, StoreError> {
                // Ownership is checked through the application, whose query knows how each
                // backend binds an account id.
                if applications::application(self.readers(), account, reference)
                    .await?
                    .is_none()
                {
                    return Ok(Vec::new());
                }
                delivery::recipients(self.readers(), reference).await
            }

            async fn overdue_deliveries(
                &self,
                before: DateTime<Utc>,
                limit: u32,
            ) -> Result<Vec<crate::model::OverdueDelivery>, StoreError> {
                delivery::overdue_deliveries(&self.pool, before, limit).await
            }

            async fn expire_deliveries(
                &self,
                before: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> Result<u64, StoreError> {
                delivery::expire_deliveries(&self.pool, before, now).await
            }

            async fn accept_nonce(
                &self,
                signer: &str,
                nonce: &str,
                now: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                delivery::accept_nonce(&self.pool, signer, nonce, now).await
            }

            async fn purge_nonces(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
                delivery::purge_nonces(&self.pool, before).await
            }

            async fn store_case(
                &self,
                case: &crate::model::CaseRecord,
            ) -> Result<bool, StoreError> {
                delivery::store_case(&self.pool, case).await
            }

            async fn cases(
                &self,
                authority: &str,
            ) -> Result<Vec<crate::model::CaseRecord>, StoreError> {
                delivery::cases(&self.pool, authority).await
            }

            async fn case(
                &self,
                delivery_id: uuid::Uuid,
            ) -> Result<Option<crate::model::CaseRecord>, StoreError> {
                delivery::case(&self.pool, delivery_id).await
            }

            async fn create_clerk(
                &self,
                clerk: &crate::model::ClerkRecord,
            ) -> Result<(), StoreError> {
                back_office::create_clerk(&self.pool, clerk).await
            }

            async fn clerk_by_email(
                &self,
                email: &Email,
            ) -> Result<Option<crate::model::ClerkRecord>, StoreError> {
                back_office::clerk_by_email(&self.pool, email).await
            }

            async fn set_clerk_password_hash(
                &self,
                id: rathaus_domain::ClerkId,
                password_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                back_office::set_clerk_password_hash(&self.pool, id, password_hash, now).await
            }

            async fn create_clerk_session(
                &self,
                session: &crate::model::ClerkSessionRecord,
            ) -> Result<(), StoreError> {
                back_office::create_clerk_session(&self.pool, session).await
            }

            async fn clerk_session(
                &self,
                token_hash: &str,
            ) -> Result<
                Option<(crate::model::ClerkSessionRecord, crate::model::ClerkRecord)>,
                StoreError,
            > {
                back_office::clerk_session(self.readers(), token_hash).await
            }

            async fn touch_clerk_session(
                &self,
                token_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                back_office::touch_clerk_session(&self.pool, token_hash, now).await
            }

            async fn delete_clerk_session(&self, token_hash: &str) -> Result<bool, StoreError> {
                back_office::delete_clerk_session(&self.pool, token_hash).await
            }

            async fn purge_clerk_sessions(
                &self,
                idle_since: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> Result<u64, StoreError> {
                back_office::purge_clerk_sessions(&self.pool, idle_since, now).await
            }

            async fn case_inbox(
                &self,
                query: &crate::model::CaseQuery,
            ) -> Result<Vec<crate::model::CaseSummary>, StoreError> {
                back_office::case_inbox(self.readers(), query).await
            }

            async fn authority_case(
                &self,
                authority: &str,
                delivery_id: uuid::Uuid,
            ) -> Result<Option<crate::model::CaseRecord>, StoreError> {
                back_office::authority_case(self.readers(), authority, delivery_id).await
            }

            async fn case_opened(
                &self,
                case_id: uuid::Uuid,
                clerk: rathaus_domain::ClerkId,
                now: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                back_office::case_opened(&self.pool, case_id, clerk, now).await
            }

            async fn change_case_status(
                &self,
                change: &crate::model::CaseStatusChange,
            ) -> Result<bool, StoreError> {
                back_office::change_case_status(&self.pool, change).await
            }

            async fn case_history(
                &self,
                case_id: uuid::Uuid,
            ) -> Result<Vec<crate::model::CaseEvent>, StoreError> {
                back_office::case_history(&self.pool, case_id).await
            }

            async fn pending_status_messages(
                &self,
                limit: u32,
            ) -> Result<Vec<crate::model::StatusMessage>, StoreError> {
                back_office::pending_status_messages(&self.pool, limit).await
            }

            async fn status_message_sent(&self, id: i64) -> Result<(), StoreError> {
                back_office::status_message_sent(&self.pool, id).await
            }

            async fn status_message_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
                back_office::status_message_failed(&self.pool, id, error).await
            }

            async fn delivery_route(
                &self,
                delivery_id: uuid::Uuid,
            ) -> Result<Option<crate::model::DeliveryRoute>, StoreError> {
                back_office::delivery_route(&self.pool, delivery_id).await
            }

            async fn record_case_status(
                &self,
                delivery_id: uuid::Uuid,
                status: rathaus_domain::CaseStatus,
                now: DateTime<Utc>,
            ) -> Result<Option<crate::model::ApplicationStatus>, StoreError> {
                back_office::record_case_status(&self.pool, delivery_id, status, now).await
            }

            async fn record_case_message(
                &self,
                message: &crate::model::NewCaseMessage,
            ) -> Result<bool, StoreError> {
                messages::record_case_message(&self.pool, message).await
            }

            async fn store_reply(
                &self,
                case_id: uuid::Uuid,
                authority: &str,
                reference: &str,
                id: uuid::Uuid,
                envelope: &[u8],
                now: DateTime<Utc>,
            ) -> Result<Option<bool>, StoreError> {
                messages::store_reply(&self.pool, case_id, authority, reference, id, envelope, now)
                    .await
            }

            async fn case_messages(
                &self,
                case_id: uuid::Uuid,
            ) -> Result<Vec<crate::model::CaseMessage>, StoreError> {
                messages::case_messages(self.readers(), case_id).await
            }

            async fn pending_case_messages(
                &self,
                now: DateTime<Utc>,
                limit: u32,
            ) -> Result<Vec<crate::model::OutgoingMessage>, StoreError> {
                messages::pending_case_messages(&self.pool, now, limit).await
            }

            async fn case_message_sent(
                &self,
                id: uuid::Uuid,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                messages::case_message_sent(&self.pool, id, now).await
            }

            async fn case_message_failed(
                &self,
                id: uuid::Uuid,
                error: &str,
                next_attempt_at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                messages::case_message_failed(&self.pool, id, error, next_attempt_at).await
            }

            async fn store_mailbox_message(
                &self,
                message: &crate::model::MailboxMessage,
                files: &[(uuid::Uuid, Vec<u8>)],
            ) -> Result<bool, StoreError> {
                messages::store_mailbox_message(&self.pool, message, files).await
            }

            async fn submit_reply(&self, reply: &crate::model::NewReply) -> Result<(), StoreError> {
                messages::submit_reply(&self.pool, reply).await
            }

            async fn mailbox_messages(
                &self,
                account: &AccountId,
                now: DateTime<Utc>,
            ) -> Result<Vec<crate::model::MailboxMessage>, StoreError> {
                messages::mailbox_messages(self.readers(), account, now).await
            }

            async fn mailbox_message(
                &self,
                account: &AccountId,
                id: uuid::Uuid,
                now: DateTime<Utc>,
            ) -> Result<Option<crate::model::MailboxMessage>, StoreError> {
                messages::mailbox_message_of(&self.pool, account, id, now).await
            }

            async fn mailbox_file(
                &self,
                account: &AccountId,
                message: uuid::Uuid,
                file: uuid::Uuid,
                now: DateTime<Utc>,
            ) -> Result<Option<Vec<u8>>, StoreError> {
                messages::mailbox_file(&self.pool, account, message, file, now).await
            }

            async fn mark_message_read(
                &self,
                account: &AccountId,
                id: uuid::Uuid,
                now: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                messages::mark_message_read(&self.pool, account, id, now).await
            }

            async fn unread_messages(
                &self,
                account: &AccountId,
                now: DateTime<Utc>,
            ) -> Result<u64, StoreError> {
                messages::unread_messages(self.readers(), account, now).await
            }

            async fn application_account(
                &self,
                reference: &str,
            ) -> Result<Option<AccountId>, StoreError> {
                messages::application_account(&self.pool, reference).await
            }

            async fn purge_messages(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
                messages::purge_messages(&self.pool, now).await
            }
        }
    };
}
