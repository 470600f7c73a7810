//! Fuzzes the workspace file parser: arbitrary bytes (read as lossy UTF-8) must never
//! make `parse` panic, its result must keep the workspace/diagnostics invariant, and
//! rendering the diagnostics (with secrets blanked) must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    let parsed = gantry_workspace::parse("gantry.yml", &source);
    assert_eq!(parsed.workspace.is_some(), !parsed.has_errors());
    for d in &parsed.diagnostics {
        if let Some(span) = d.span {
            assert!(span.offset <= source.len() && span.line >= 1 && span.col >= 1);
        }
    }
    let _ = parsed.render(&source, false);
});
