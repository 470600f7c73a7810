//! Fuzzes the resource file parser (`infra/*.yml`): arbitrary bytes (read as lossy UTF-8)
//! must never make `parse` panic, a file must come back exactly when there is no error,
//! and rendering the diagnostics must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    let parsed = gantry_infra::parse::parse("infra/x.yml", &source);
    let has_errors = parsed.diagnostics.iter().any(|d| d.is_error());
    assert_eq!(parsed.file.is_some(), !has_errors);
    let file = gantry_core::SourceFile::new("infra/x.yml", source.to_string());
    for d in &parsed.diagnostics {
        if let Some(span) = d.span {
            assert!(span.offset <= source.len() && span.line >= 1 && span.col >= 1);
        }
        let _ = d.render(Some(&file), false);
    }
});
