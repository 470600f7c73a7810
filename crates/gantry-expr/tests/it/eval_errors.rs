//! Evaluation errors: functions given unusable values, hash_files unavailable or failing,
//! and none of them revealing a secret.

use gantry_expr::Scope;

use crate::{eval_with, scope};

fn eval_err(src: &str, scope: &Scope<'_>) -> String {
    match eval_with(src, scope) {
        Ok(v) => format!("unexpectedly evaluated to {v}"),
        Err(e) => e
            .trim_start_matches(&format!("eval error in {src:?}: "))
            .to_string(),
    }
}

#[test]
fn function_errors_have_clear_messages() {
    let s = scope();
    let cases = [
        (
            "format('{0} {1}', 'a')",
            "format: placeholder {1} has no argument (1 given)",
        ),
        (
            "format('{x}', 1)",
            "format: invalid placeholder at byte 0 of the format string: expected '{N}' with N a number; write '{{' for a literal '{'",
        ),
        (
            "format('ab{', 1)",
            "format: invalid placeholder at byte 2 of the format string: expected '{N}' with N a number; write '{{' for a literal '{'",
        ),
        (
            "format('{99999999999999999999999}', 1)",
            "format: invalid placeholder at byte 0 of the format string: expected '{N}' with N a number; write '{{' for a literal '{'",
        ),
        (
            "format('a}b')",
            "format: unmatched '}' at byte 1 of the format string; write '}}' for a literal '}'",
        ),
        (
            "format(matrix.shards)",
            "format: argument 1 must be a string, not an array",
        ),
        (
            "starts_with(from_json('[]'), 'a')",
            "starts_with: argument 1 must be a string, not an array",
        ),
        (
            "ends_with('a', git)",
            "ends_with: argument 2 must be a string, not an object",
        ),
        (
            "contains(git, 'a')",
            "contains: argument 1 must be a string, not an object",
        ),
        (
            "join(git)",
            "join: argument 1 must be a string, not an object",
        ),
        (
            "join(matrix.shards, matrix.shards)",
            "join: argument 2 must be a string, not an array",
        ),
        (
            "from_json(1)",
            "from_json: the argument must be a string, not a number",
        ),
        (
            "from_json('nope')",
            "from_json: the argument is not valid JSON (expected ident at line 1 column 2)",
        ),
        (
            "hash_files('Cargo.lock')",
            "hash_files() is not available here: it needs the job's workspace",
        ),
        (
            "hash_files(git)",
            "hash_files: argument 1 must be a string, not an object",
        ),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(src, want)| {
            let got = eval_err(src, &s);
            (got != *want).then(|| format!("{src:?}:\n  want {want}\n  got  {got}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hash_files_failure_is_reported() {
    let hasher = |_: &[String]| -> Result<String, String> { Err("no file matches 'x'".into()) };
    let s = Scope {
        hash_files: Some(&hasher),
        ..scope()
    };
    assert_eq!(
        eval_err("hash_files('x')", &s),
        "hash_files: no file matches 'x'"
    );
}

#[test]
fn errors_do_not_reveal_secret_values() {
    let s = scope();
    for src in [
        "from_json(secrets.token)",
        "format('{1}', secrets.token)",
        "format(format('{0}}}', secrets.token))",
        "starts_with(secrets, secrets.token)",
    ] {
        let err = eval_err(src, &s);
        assert!(
            err.starts_with("from_json")
                || err.starts_with("format")
                || err.starts_with("starts_with"),
            "{src}: {err}"
        );
        assert!(!err.contains("s3cr3t"), "{src}: {err}");
    }
    let debug = format!("{s:?}");
    assert!(
        debug.contains("secrets") && !debug.contains("s3cr3t"),
        "{debug}"
    );
}
