//! Integration tests of rathaus-seal, one binary so that RSA keys are generated once.
//!
//! Security tests are named after their requirement ids in `shared/SECURITY.md` (C1–C3).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod envelope;
mod files;
mod fixtures;
mod keys;
mod signed;
