//! The back office of an authority node: clerks, their roles, and where a case stands.

use std::fmt;

use serde::{Deserialize, Serialize};

crate::id::uuid_id!(
    /// The id of a clerk account at an authority node: a random UUID.
    ClerkId
);

/// What a clerk may do. Every clerk sees and works the cases of their own authority; a lead
/// may also reopen a decided case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClerkRole {
    Clerk,
    Lead,
}

impl ClerkRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clerk => "clerk",
            Self::Lead => "lead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Clerk, Self::Lead]
            .into_iter()
            .find(|role| role.as_str() == s)
    }
}

impl fmt::Display for ClerkRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a case stands at the authority; every change is reported to the citizen's portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Stored at the node, not yet worked on.
    Received,
    InProgress,
    /// The authority waits for the citizen.
    NeedsInformation,
    /// A decision has been made; the case is closed.
    Decided,
}

impl CaseStatus {
    pub const ALL: [Self; 4] = [
        Self::Received,
        Self::InProgress,
        Self::NeedsInformation,
        Self::Decided,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::InProgress => "in_progress",
            Self::NeedsInformation => "needs_information",
            Self::Decided => "decided",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Whether a clerk with `role` may move a case from `self` to `to`. Work goes forward
    /// (received → in progress → needs information → decided), may go back and forth between
    /// "in progress" and "needs information", and never returns to "received"; only a lead
    /// reopens a decided case.
    pub fn may_become(self, to: Self, role: ClerkRole) -> bool {
        use CaseStatus::{Decided, InProgress, NeedsInformation, Received};
        match (self, to) {
            (Received, InProgress | NeedsInformation | Decided)
            | (InProgress, NeedsInformation | Decided)
            | (NeedsInformation, InProgress | Decided) => true,
            (Decided, InProgress) => role == ClerkRole::Lead,
            _ => false,
        }
    }

    /// The statuses a clerk with `role` may move a case to from here, in the order of work.
    pub fn next(self, role: ClerkRole) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|to| self.may_become(*to, role))
            .collect()
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_roles_round_trip() {
        for status in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(CaseStatus::parse("queued"), None);
        assert_eq!(ClerkRole::parse("lead"), Some(ClerkRole::Lead));
        assert_eq!(ClerkRole::parse("admin"), None);
        let id = ClerkId::random();
        assert_eq!(id.to_string().parse::<ClerkId>(), Ok(id));
    }

    #[test]
    fn work_goes_forward_and_only_a_lead_reopens() {
        use CaseStatus::*;
        assert_eq!(
            Received.next(ClerkRole::Clerk),
            vec![InProgress, NeedsInformation, Decided]
        );
        assert_eq!(
            NeedsInformation.next(ClerkRole::Clerk),
            vec![InProgress, Decided]
        );
        assert!(!InProgress.may_become(Received, ClerkRole::Lead));
        assert!(!InProgress.may_become(InProgress, ClerkRole::Lead));
        assert!(Decided.next(ClerkRole::Clerk).is_empty());
        assert_eq!(Decided.next(ClerkRole::Lead), vec![InProgress]);
    }
}
