//! Security events of the audit log (SECURITY.md L1) and the escaping that keeps a logged value
//! from forging entries (L2).

use std::fmt;
use std::str::FromStr;

/// What happened. The audit log records these, in UTC, with the account when known and a short
/// detail; never passwords, tokens or the content of mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditEvent {
    Register,
    EmailConfirmed,
    SignIn,
    SignInFailed,
    SignOut,
    SessionExpired,
    PasswordReset,
    /// The account's assurance level was raised (eID, in-person check).
    LevelChanged,
    /// An application was submitted (reference and service only, never answers).
    ApplicationSubmitted,
    /// A clerk opened a case in the back office (case and clerk only, never answers).
    CaseViewed,
    /// A clerk downloaded an attachment of a case.
    AttachmentDownloaded,
    /// A clerk exported a case (JSON).
    CaseExported,
    /// A clerk changed a case's status.
    CaseStatusChanged,
    /// A clerk account was created at an authority node.
    ClerkAdded,
    /// A citizen asked for a one-time identification code (never the code itself).
    IdentificationCodeIssued,
    /// An identification at an authority's counter: at the node who confirmed it and the
    /// outcome, at the portal a refused code; never the person's attributes.
    IdentityChecked,
    /// A citizen confirmed an authenticator app (TOTP) as second factor.
    SecondFactorAdded,
    /// A citizen removed their authenticator app.
    SecondFactorRemoved,
    /// A wrong or reused second-factor code (never the code).
    SecondFactorFailed,
    /// A recovery code was used instead of the authenticator (never the code).
    RecoveryCodeUsed,
    /// The citizen downloaded their own data (sections only, never the data).
    DataExported,
    /// The citizen changed their password while signed in (never the password).
    PasswordChanged,
    /// The citizen deleted their account; the entry keeps only the pseudonymous id and counts.
    AccountDeleted,
    /// A record was deleted because its retention period had passed (R1): at a node a decided
    /// case, at the portal an application's metadata; reference and service only.
    RetentionDeleted,
    /// An operator put a dead letter back into the delivery outbox (reference and node only).
    DeliveryRetried,
    /// The citizen asked to change their e-mail address (never an address).
    EmailChangeRequested,
    /// The new address was confirmed and is the account's address now (never an address).
    EmailChanged,
    /// A business account (organisation) was created; its id only.
    OrganisationCreated,
    /// An owner invited someone into an organisation (organisation id and role, never the
    /// address).
    MemberInvited,
    /// An invitation was accepted.
    MemberJoined,
    /// A member was removed by an owner, or left.
    MemberRemoved,
    /// An owner changed a member's role.
    MemberRoleChanged,
    /// A passkey was added to the account (its portal id and name only).
    PasskeyAdded,
    /// A passkey was removed from the account.
    PasskeyRemoved,
    /// A sign-in with a passkey was refused (why, and the client; never the credential).
    PasskeySignInFailed,
}

impl AuditEvent {
    pub const ALL: [AuditEvent; 35] = [
        Self::Register,
        Self::EmailConfirmed,
        Self::SignIn,
        Self::SignInFailed,
        Self::SignOut,
        Self::SessionExpired,
        Self::PasswordReset,
        Self::LevelChanged,
        Self::ApplicationSubmitted,
        Self::CaseViewed,
        Self::AttachmentDownloaded,
        Self::CaseExported,
        Self::CaseStatusChanged,
        Self::ClerkAdded,
        Self::IdentificationCodeIssued,
        Self::IdentityChecked,
        Self::SecondFactorAdded,
        Self::SecondFactorRemoved,
        Self::SecondFactorFailed,
        Self::RecoveryCodeUsed,
        Self::DataExported,
        Self::PasswordChanged,
        Self::AccountDeleted,
        Self::RetentionDeleted,
        Self::DeliveryRetried,
        Self::EmailChangeRequested,
        Self::EmailChanged,
        Self::OrganisationCreated,
        Self::MemberInvited,
        Self::MemberJoined,
        Self::MemberRemoved,
        Self::MemberRoleChanged,
        Self::PasskeyAdded,
        Self::PasskeyRemoved,
        Self::PasskeySignInFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::EmailConfirmed => "email_confirmed",
            Self::SignIn => "sign_in",
            Self::SignInFailed => "sign_in_failed",
            Self::SignOut => "sign_out",
            Self::SessionExpired => "session_expired",
            Self::PasswordReset => "password_reset",
            Self::LevelChanged => "level_changed",
            Self::ApplicationSubmitted => "application_submitted",
            Self::CaseViewed => "case_viewed",
            Self::AttachmentDownloaded => "attachment_downloaded",
            Self::CaseExported => "case_exported",
            Self::CaseStatusChanged => "case_status_changed",
            Self::ClerkAdded => "clerk_added",
            Self::IdentificationCodeIssued => "identification_code_issued",
            Self::IdentityChecked => "identity_checked",
            Self::SecondFactorAdded => "second_factor_added",
            Self::SecondFactorRemoved => "second_factor_removed",
            Self::SecondFactorFailed => "second_factor_failed",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::DataExported => "data_exported",
            Self::PasswordChanged => "password_changed",
            Self::AccountDeleted => "account_deleted",
            Self::RetentionDeleted => "retention_deleted",
            Self::DeliveryRetried => "delivery_retried",
            Self::EmailChangeRequested => "email_change_requested",
            Self::EmailChanged => "email_changed",
            Self::OrganisationCreated => "organisation_created",
            Self::MemberInvited => "member_invited",
            Self::MemberJoined => "member_joined",
            Self::MemberRemoved => "member_removed",
            Self::MemberRoleChanged => "member_role_changed",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
            Self::PasskeySignInFailed => "passkey_sign_in_failed",
        }
    }
}

impl fmt::Display for AuditEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditEvent {
    type Err = UnknownEvent;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or(UnknownEvent)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit event")]
pub struct UnknownEvent;

/// `value` made safe for one line of a log: control characters (CR, LF, NUL, ESC, …) and
/// backslashes are written as escapes (`\r`, `\n`, `\u{1b}`, `\\`), and the result is cut at
/// `max_chars` characters (marked with `…`). A logged value can therefore never start a new,
/// fake entry.
pub fn log_safe(value: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(value.len().min(max_chars * 2));
    for (i, c) in value.chars().enumerate() {
        if i == max_chars {
            out.push('…');
            break;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn l2_line_breaks_and_control_characters_are_escaped() {
        assert_eq!(
            log_safe("x@y.de\r\n2026-01-01 sign_in ok", 100),
            "x@y.de\\r\\n2026-01-01 sign_in ok"
        );
        assert_eq!(log_safe("a\u{1b}[31mb\0", 100), "a\\u{1b}[31mb\\u{0}");
        assert_eq!(log_safe("back\\slash", 100), "back\\\\slash");
        assert_eq!(log_safe("abcdef", 3), "abc…");
    }

    #[test]
    fn events_round_trip() {
        for event in AuditEvent::ALL {
            assert_eq!(event.as_str().parse(), Ok(event));
        }
    }

    proptest! {
        #[test]
        fn l2_escaped_values_contain_no_control_characters(s in any::<String>()) {
            let safe = log_safe(&s, 200);
            prop_assert!(!safe.chars().any(|c| c.is_control()));
        }
    }
}
