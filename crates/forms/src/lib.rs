//! The forms engine (DESIGN.md R2, R4, R6): an online service is a definition file, not code.
//!
//! - [`parse`] reads the `[form]` part of a service definition and checks it completely;
//! - [`expr`] is the small, safe expression language of conditions and rules;
//! - [`engine`] reads posted steps into typed [`Answers`], applies the logic, and decides
//!   where a citizen may go;
//! - [`uploads`] decides what an uploaded file really is;
//! - [`computed`] works out values such as fees from the answers, never from a post;
//! - [`prefill`] fills declared fields from verified attributes, with consent, and marks them;
//! - [`document`] and [`schema`] describe what an authority receives.
//!
//! Nothing here does I/O; time is passed in.

pub mod answers;
pub mod computed;
pub mod definition;
pub mod document;
pub mod engine;
pub mod expr;
pub mod message;
pub mod parse;
pub mod prefill;
pub mod schema;
pub mod uploads;
pub mod values;

pub use answers::{Answer, AnswerEnv, Answers, FileRef};
pub use definition::{Field, FieldKind, FormDefinition, Name, Step};
pub use engine::{Action, FieldError, PostError, Posted, Progress, StepOutcome};
pub use message::Msg;
pub use parse::parse_form;
pub use uploads::Upload;
