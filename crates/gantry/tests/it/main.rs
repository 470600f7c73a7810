//! Integration tests of the `gantry` binary: they run the real binary on real git
//! checkouts with the real executors (processes, bubblewrap, the Docker Engine).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod deploy;
mod examples;
mod infra;
mod run_behaviour;
mod serve;
mod support;
mod validate;
