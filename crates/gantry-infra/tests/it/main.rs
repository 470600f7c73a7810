//! Integration tests of gantry-infra, one binary (STYLE.md): resource files parsed with
//! their diagnostics, and plan/apply against real OpenSSH servers on test hosts (network
//! namespaces with their own addresses) plus the `local` host.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod hosts;
mod parse;
mod props;
mod users;
