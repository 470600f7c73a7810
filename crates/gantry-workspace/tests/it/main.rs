//! Integration tests of the workspace file, one binary (STYLE.md): a full valid file,
//! malformed files with their rendered diagnostics, secret resolution, `load` on real
//! directories, the repository's own examples/gantry.yml, and property tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cases;
mod deploy;
mod examples;
mod inventory;
mod load;
mod props;
mod secrets;
mod valid;

use gantry_workspace::{Parsed, Workspace, parse};

/// Parses `source` as `gantry.yml`, checking the invariant every result must keep.
pub fn parse_ok(source: &str) -> Parsed {
    let parsed = parse("gantry.yml", source);
    assert_eq!(
        parsed.workspace.is_some(),
        !parsed.has_errors(),
        "workspace must be Some exactly when there is no error"
    );
    parsed
}

/// The workspace, or a panic showing the diagnostics.
pub fn workspace_of(source: &str) -> Workspace {
    let parsed = parse_ok(source);
    match parsed.workspace {
        Some(ws) => ws,
        None => panic!("unexpected errors:\n{}", parsed.render(source, false)),
    }
}
