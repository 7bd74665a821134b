//! The domain of rathaus: pure types and rules, no I/O and no async.
//!
//! Raw strings from files, forms and URLs become these types at the edge ("parse, don't
//! validate"); everything inside the product works with them.

pub mod account;
pub mod assurance;
pub mod audit;
pub mod clerk;
pub mod iban;
mod id;
pub mod keys;
pub mod lang;
pub mod life_situation;
pub mod money;
pub mod organisation;
pub mod passkey;
pub mod password;
pub mod postcode;
pub mod service;
pub mod source;
pub mod tenant;
pub mod verified;

pub use account::{AccountId, Email, EmailError, SessionId};
pub use assurance::AssuranceLevel;
pub use audit::{AuditEvent, log_safe};
pub use clerk::{CaseStatus, ClerkId, ClerkRole};
pub use iban::{Iban, IbanError};
pub use keys::{LeikaKey, LocalKey, ServiceKey};
pub use lang::{Lang, Localized, Text};
pub use life_situation::{Audience, LifeSituation};
pub use money::{Euros, Fee};
pub use organisation::{OrganisationId, OrganisationName, OrganisationNameError, OrganisationRole};
pub use passkey::{PasskeyId, PasskeyName, PasskeyNameError};
pub use password::{Blocklist, NewPassword, PasswordAttempt, PasswordError};
pub use postcode::Postcode;
pub use service::{AuthorityKindId, Retention, ServiceAudience, ServiceDefinition};
pub use source::{Position, SourceError};
pub use tenant::{Authority, AuthorityId, DistrictId, NodeId, TenantDirectory, TenantId};
pub use verified::{AttributeSource, VerifiedAddress, VerifiedAttributes};
