//! gantry-testhost's integration tests, in one binary to keep link time low. They need root
//! and fail (never skip) with the reason when the machine cannot host labs.
// Helpers outside #[test] functions unwrap too; a failed step should fail the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cleanup;
mod container;
mod cut;
mod labs;
mod reach;
mod sshd;
mod support;
