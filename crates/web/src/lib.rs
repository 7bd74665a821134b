//! HTTP plumbing shared by the portal and the authority node.

pub mod assets;
pub mod chrome;
pub mod clock;
pub mod error;
pub mod form_body;
pub mod health;
pub mod lang;
pub mod layers;
pub mod metrics;
pub mod server;

pub use chrome::{Chrome, NavLink, SiteInfo};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ApiError, PageError, PageProblem};
pub use lang::PageLang;
