//! End-to-end tests of `gantry serve` in process: a real git repository served by `git
//! daemon` on loopback, the real store (SQLite and PostgreSQL), the real engine, and the
//! HTTP API and webhooks over a real socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent_registry;
mod control;
mod cron;
mod deploy;
mod e2e;
mod git_daemon;
mod git_repo;
mod infra;
mod openapi;
mod ops;
mod server;
mod ui;
