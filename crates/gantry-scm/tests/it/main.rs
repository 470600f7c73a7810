//! Integration tests of gantry-scm: webhooks against forge sample payloads, commit status
//! reporters against a recording HTTP server on 127.0.0.1, and git against real local
//! repositories and a real `git daemon` on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod git_checkout;
mod git_daemon;
mod git_ls_remote;
mod git_repo;
mod hooks;
mod poller;
mod status_reporters;
mod status_server;
mod webhook_errors;
mod webhook_gitea;
mod webhook_github;
mod webhook_gitlab;
mod webhook_props;
