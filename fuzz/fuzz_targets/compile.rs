//! Fuzzes the pipeline compiler: arbitrary bytes (read as lossy UTF-8) must never make
//! `compile` panic, and its result must keep the plan/diagnostics invariant.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    let compiled = gantry_pipeline::compile("fuzz.yml", &source);
    assert_eq!(compiled.plan.is_some(), !compiled.has_errors());
    for d in &compiled.diagnostics {
        if let Some(span) = d.span {
            assert!(span.offset <= source.len() && span.line >= 1 && span.col >= 1);
        }
    }
});
