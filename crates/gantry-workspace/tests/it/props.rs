//! Property tests and budgets: no input makes `parse` panic or break its invariants,
//! and oversize, deep or alias-bomb files are refused with a diagnostic.

use gantry_workspace::parse;
use proptest::prelude::*;

fn check_invariants(source: &str) {
    let parsed = parse("gantry.yml", source);
    assert_eq!(parsed.workspace.is_some(), !parsed.has_errors());
    for d in &parsed.diagnostics {
        if let Some(span) = d.span {
            assert!(span.offset <= source.len() && span.line >= 1 && span.col >= 1);
        }
    }
    // Rendering (with secret blanking) must not panic either.
    let _ = parsed.render(source, false);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_arbitrary_text(source in "\\PC{0,400}") {
        check_invariants(&source);
    }

    #[test]
    fn never_panics_on_workspace_shaped_text(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("projects:".to_string()),
                Just("server:".to_string()),
                "  [a-zA-Z_-]{1,8}:",
                "    (repo|path|branch|poll|pipelines|webhook_secret|forge|kind|token|env|file|api_url): [ -~]{0,24}",
                "      (kind|repo|token|api_url): [ -~]{0,24}",
                "[ -~]{0,30}",
            ],
            0..24,
        )
    ) {
        check_invariants(&lines.join("\n"));
    }

    #[test]
    fn never_panics_on_deploy_shaped_text(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("hosts:\n  a: { address: 10.0.0.1, groups: [web] }".to_string()),
                Just("environments:".to_string()),
                Just("services:".to_string()),
                "  [a-z_-]{1,8}:",
                "    (hosts|approvals|branches|lock_lease|artifact|run|port|health|hooks|strategy|keep): [ -~]{0,24}",
                "      (systemd|docker|http|tcp|command|rolling|interval|retries|pre|path): [ -~]{0,24}",
                "        (exec|env|user|batch|pause|expect|port|timeout|image|args|volumes|network|name): [ -~]{0,24}",
                "[ -~]{0,30}",
            ],
            0..24,
        )
    ) {
        check_invariants(&lines.join("\n"));
    }
}

#[test]
fn oversize_deep_and_alias_bomb_files_are_refused() {
    let huge = format!(
        "projects:\n  web: {{ repo: \"https://h/{}\" }}\n",
        "a".repeat(2 * 1024 * 1024)
    );
    let parsed = parse("gantry.yml", &huge);
    assert!(
        parsed.diagnostics[0]
            .message
            .contains("workspace files are limited to"),
        "{:?}",
        parsed.diagnostics[0]
    );

    let deep = format!("x-deep: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let parsed = parse("gantry.yml", &deep);
    assert!(
        parsed.diagnostics[0].message.contains("nested deeper than"),
        "{:?}",
        parsed.diagnostics
    );

    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..9 {
        let prev = (b'a' + i) as char;
        let next = (b'a' + i + 1) as char;
        bomb.push_str(&format!("{next}: &{next} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
    }
    let parsed = parse("gantry.yml", &bomb);
    assert!(
        parsed.diagnostics[0]
            .message
            .contains("aliases expand to more than"),
        "{:?}",
        parsed.diagnostics
    );
}
