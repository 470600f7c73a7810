//! Malformed pipelines as data: each `tests/cases/*.yml` is compiled and all of its
//! diagnostics, rendered as a user sees them, are compared with a snapshot.

use std::path::Path;

use crate::{compile_ok, render_all};

#[test]
fn malformed_pipelines_match_their_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 40,
        "expected at least 40 cases, found {}",
        files.len()
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for path in files {
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            let source = std::fs::read_to_string(&path).unwrap();
            let name = format!("cases/{stem}.yml");
            let compiled = compile_ok(&source);
            assert!(
                compiled.has_errors() || !compiled.diagnostics.is_empty(),
                "{name}: a case must produce at least one diagnostic"
            );
            for d in &compiled.diagnostics {
                assert!(
                    !d.message.contains("internal error"),
                    "{name}: {}",
                    d.message
                );
            }
            insta::assert_snapshot!(stem, render_all(&name, &source, &compiled));
        }
    });
}
