//! `references()`: the static context paths an expression reads, with their source spans.

use gantry_expr::{Reference, parse, parse_condition, parse_template};

fn refs(list: Vec<Reference>) -> Vec<(String, usize, usize)> {
    list.into_iter()
        .map(|r| (r.path.join("/"), r.offset, r.len))
        .collect()
}

fn owned(list: &[(&str, usize, usize)]) -> Vec<(String, usize, usize)> {
    list.iter()
        .map(|&(p, o, l)| (p.to_string(), o, l))
        .collect()
}

/// Expected references as (path joined with '/', offset, len).
type Expected = &'static [(&'static str, usize, usize)];

#[test]
fn expression_references() {
    let cases: &[(&str, Expected)] = &[
        (
            "needs.build.outputs['version']",
            &[("needs/build/outputs/version", 0, 30)],
        ),
        ("matrix[format('x')]", &[("matrix", 0, 6)]),
        ("matrix[env.KEY].x", &[("matrix", 0, 6), ("env/KEY", 7, 7)]),
        ("matrix.shards[0]", &[("matrix/shards/0", 0, 16)]),
        (
            "needs.deploy-staging.result",
            &[("needs/deploy-staging/result", 0, 27)],
        ),
        ("secrets", &[("secrets", 0, 7)]),
        ("'literal' == 1", &[]),
        ("from_json(env.J).a", &[("env/J", 10, 5)]),
        (
            "contains(git.branch, 'x') && needs.a.result == 'success'",
            &[("git/branch", 9, 10), ("needs/a/result", 29, 14)],
        ),
        (
            "!(inputs.x || inputs['y'])",
            &[("inputs/x", 2, 8), ("inputs/y", 14, 11)],
        ),
        ("git[git.sha].x", &[("git", 0, 3), ("git/sha", 4, 7)]),
        ("(git).branch", &[("git/branch", 1, 11)]),
    ];
    for (src, want) in cases {
        let got = parse(src).map(|e| refs(e.references()));
        assert_eq!(got, Ok(owned(want)), "{src}");
    }
}

#[test]
fn template_and_condition_references_are_relative_to_the_whole_string() {
    let t = parse_template("ci-${{ git.branch }}-${{ run.number }}");
    assert_eq!(
        t.map(|t| refs(t.references())),
        Ok(owned(&[("git/branch", 7, 10), ("run/number", 25, 10)]))
    );
    let c = parse_condition("  ${{ steps.v.outcome == 'success' }}");
    assert_eq!(
        c.map(|e| refs(e.references())),
        Ok(owned(&[("steps/v/outcome", 6, 15)]))
    );
}

#[test]
fn status_function_detection() {
    let cases = [
        ("git.branch == 'main'", false),
        ("success()", true),
        ("always()", true),
        ("!cancelled()", true),
        ("failure() || git.branch == 'main'", true),
        ("contains(format('{0}', failure()), 'true')", true),
        ("matrix[to_json(always())]", true),
        ("to_json(git)", false),
    ];
    for (src, want) in cases {
        assert_eq!(
            parse(src).map(|e| e.uses_status_function()),
            Ok(want),
            "{src}"
        );
    }
}
