//! Property tests: no input makes the resource file parser panic or break its
//! invariant (a file exactly when there is no error; spans inside the source).

use gantry_infra::parse::parse;
use proptest::prelude::*;

fn check_invariants(source: &str) {
    let parsed = parse("infra/x.yml", source);
    let has_errors = parsed.diagnostics.iter().any(|d| d.is_error());
    assert_eq!(parsed.file.is_some(), !has_errors);
    let file = gantry_core::SourceFile::new("infra/x.yml", source);
    for d in &parsed.diagnostics {
        if let Some(span) = d.span {
            assert!(span.offset <= source.len() && span.line >= 1 && span.col >= 1);
        }
        let _ = d.render(Some(&file), false);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_arbitrary_text(source in "\\PC{0,400}") {
        check_invariants(&source);
    }

    #[test]
    fn never_panics_on_resource_shaped_text(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("- hosts: [web]".to_string()),
                Just("  resources:".to_string()),
                Just("  handlers:".to_string()),
                "    - (file|template|directory|symlink|line|command|git|name|requires|notify): [ -~]{0,24}",
                "      (path|content|source|mode|owner|group|target|line|regexp|run|creates|unless|only_if|requires|notify): [ -~]{0,24}",
                "[ -~]{0,30}",
            ],
            0..24,
        )
    ) {
        check_invariants(&lines.join("\n"));
    }
}
