//! gantry-web's integration tests: every page rendered from representative data, checked
//! for its links, forms and escaping; plus an ignored test that writes preview files.
// Fixture helpers are not #[test] functions, so clippy's allow-unwrap-in-tests misses them.
#![allow(clippy::unwrap_used)]

mod fixtures;
mod pages;
mod preview;
