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
                "    - (file|template|directory|symlink|line|command|git|user|group|package|service|cron|name|requires|notify): [ -~]{0,24}",
                "      (path|content|source|mode|owner|group|target|line|regexp|run|creates|unless|only_if|requires|notify|name|names|state|version|update_cache|enabled|user|schedule|command|env|service): [ -~]{0,24}",
                "    (package|service|cron): \\{ (name|names|state|version|schedule|command|env|enabled|user|update_cache): [ -~]{0,16} \\}",
                "    [a-z]{1,8}: \\{ (run|service): [ -~]{0,24} \\}",
                "[ -~]{0,30}",
            ],
            0..24,
        )
    ) {
        check_invariants(&lines.join("\n"));
    }
}

/// A crontab as the shell reads it back: trailing empty lines dropped.
fn settled(crontab: &str) -> String {
    let kept = crontab.trim_end_matches('\n');
    if kept.is_empty() {
        String::new()
    } else {
        format!("{kept}\n")
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Editing a crontab: idempotent, removable, and every line outside the block kept.
    #[test]
    fn crontab_edits_settle_and_keep_other_lines(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("# gantry: job".to_string()),
                Just("# gantry: other".to_string()),
                "[A-Z]{1,4}=[ -~]{0,8}",
                "[0-9*/,]{1,4} \\* \\* \\* \\* [ -~]{0,12}",
                "#?[ -~]{0,16}",
            ],
            0..12,
        ),
        env in proptest::collection::vec("[A-Z]{1,4}=[a-z]{0,4}", 0..3),
    ) {
        use gantry_infra::resource::edit_crontab as edit;
        let crontab: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let marker = "# gantry: job";
        let mut block = vec![marker.to_string()];
        block.extend(env);
        block.push("5 4 * * * /bin/job".to_string());
        let block = block.join("\n");
        let once = edit(&crontab, marker, Some(&block));
        // Settled, up to trailing empty lines (which `$(crontab -l)` drops on the host).
        prop_assert_eq!(edit(&once, marker, Some(&block)), settled(&once));
        prop_assert_eq!(once.lines().filter(|l| *l == marker).count(), 1);
        let removed = edit(&once, marker, None);
        prop_assert!(!removed.lines().any(|l| l == marker));
        prop_assert_eq!(edit(&removed, marker, None), settled(&removed));
        if !lines.iter().any(|l| l == marker) {
            // Nothing of ours before: adding appends, removing gives the crontab back
            // (without trailing empty lines, which `$(crontab -l)` drops too).
            let kept = settled(&crontab);
            prop_assert_eq!(once, format!("{kept}{block}\n"));
            prop_assert_eq!(removed, kept);
        }
    }
}
