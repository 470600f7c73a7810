//! Acceptance tests of deployments on real machines: Debian container hosts with systemd
//! as PID 1 and sshd (gantry-testhost), reached over gantry-infra's ssh transport, running
//! a tiny HTTP service built by cargo (`tests/fixtures/testservice.rs`). One binary
//! (STYLE.md); each test starts its own hosts, in parallel threads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_release;
mod blue_green;
mod canary;
mod docker;
mod images;
mod lock;
mod promote;
mod protect;
mod rolling;
mod secrets;
mod support;
