//! Integration tests of gantry-infra, one binary (STYLE.md): resource files parsed with
//! their diagnostics, and plan/apply against real OpenSSH servers on test hosts (network
//! namespaces with their own addresses) plus the `local` host, and `package`, `service`
//! and `cron` against container hosts (Debian with systemd, apt and cron).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod containers;
mod hosts;
mod parse;
mod parse_system;
mod props;
mod users;
