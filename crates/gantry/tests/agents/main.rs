//! Agents on test hosts: each `gantry agent` runs in its own network namespace with its
//! own address (gantry-testhost), talking to a real `gantry serve` over the lab's
//! bridge. Label routing over a 30-job pipeline with artifacts passed between agents;
//! an agent killed mid-job; network cuts shorter and longer than the lease; a server
//! restart while agents run jobs. Needs root (network namespaces).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod faults;
mod harness;
mod routing;
