//! Expression → value tables: literals, every operator, coercions, short-circuiting,
//! property and index access, every function, and the status functions.

use gantry_expr::{Scope, Status};
use serde_json::json;

use crate::{eval_with, scope};

fn check_table(scope: &Scope<'_>, cases: &[(&str, serde_json::Value)]) {
    let mut failures = Vec::new();
    for (src, want) in cases {
        match eval_with(src, scope) {
            Ok(got) if got == *want => {}
            Ok(got) => failures.push(format!("{src:?}: want {want}, got {got}")),
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn literals() {
    check_table(
        &scope(),
        &[
            ("1", json!(1)),
            ("-2.5", json!(-2.5)),
            ("0x1F", json!(31)),
            ("-0x10", json!(-16)),
            ("1e3", json!(1000.0)),
            ("2.5E-1", json!(0.25)),
            ("'it''s'", json!("it's")),
            ("''", json!("")),
            ("'ünïcode ✓'", json!("ünïcode ✓")),
            ("true", json!(true)),
            ("false", json!(false)),
            ("null", json!(null)),
            ("  ( 'padded' )  ", json!("padded")),
        ],
    );
}

#[test]
fn equality_and_coercion() {
    check_table(
        &scope(),
        &[
            ("1 == 1.0", json!(true)),
            ("1 == 2", json!(false)),
            ("1 != 2", json!(true)),
            ("'a' == 'a'", json!(true)),
            // Case-sensitive, unlike GitHub Actions: git branch names are case-sensitive.
            ("'Main' == 'main'", json!(false)),
            ("'Main' != 'main'", json!(true)),
            ("'1' == 1", json!(true)),
            ("' 1 ' == 1", json!(true)),
            ("'0x10' == 16", json!(true)),
            ("'1.50' == 1.5", json!(true)),
            ("'' == 0", json!(true)),
            ("'' == null", json!(true)),
            ("null == 0", json!(true)),
            ("null == false", json!(true)),
            ("null == null", json!(true)),
            ("true == 1", json!(true)),
            ("'1' == true", json!(true)),
            ("'true' == true", json!(false)),
            ("'abc' == 0", json!(false)),
            ("'abc' != 0", json!(true)),
            ("'abc' == 'abc '", json!(false)),
            ("env.NUM == 42", json!(true)),
            ("inputs.count == '3'", json!(true)),
            ("matrix.shards == matrix.shards", json!(true)),
            ("from_json('[1,2]') == from_json('[1.0,2]')", json!(true)),
            (
                "from_json('{\"a\":1}') == from_json('{\"a\":1}')",
                json!(true),
            ),
            (
                "from_json('{\"a\":1}') == from_json('{\"a\":2}')",
                json!(false),
            ),
            ("from_json('[1]') == 1", json!(false)),
            ("from_json('[]') == ''", json!(false)),
            ("from_json('[]') != ''", json!(true)),
        ],
    );
}

#[test]
fn ordering() {
    check_table(
        &scope(),
        &[
            ("1 < 2", json!(true)),
            ("2 < 1", json!(false)),
            ("2 <= 2", json!(true)),
            ("3 > 2.5", json!(true)),
            ("2 >= 3", json!(false)),
            ("'b' > 'a'", json!(true)),
            ("'B' < 'a'", json!(true)),
            ("'abc' <= 'abd'", json!(true)),
            ("'10' < 9", json!(false)),
            ("'10' > 9", json!(true)),
            ("'abc' < 1", json!(false)),
            ("'abc' >= 1", json!(false)),
            ("null < 1", json!(true)),
            ("false < true", json!(true)),
            ("from_json('[]') < 1", json!(false)),
            ("from_json('[]') >= from_json('[]')", json!(false)),
            ("run.number > 5", json!(true)),
            ("9007199254740993 > 9007199254740992", json!(true)),
        ],
    );
}

#[test]
fn logic_and_short_circuit() {
    // hash_files is unavailable in this scope, so reaching it would be an error: these rows
    // pass only if the right operand is never evaluated.
    check_table(
        &scope(),
        &[
            ("1 && 'x'", json!("x")),
            ("0 && 'x'", json!(0)),
            ("'' || 'default'", json!("default")),
            ("inputs.target || 'production'", json!("staging")),
            ("inputs.missing || 'production'", json!("production")),
            ("null || false", json!(false)),
            ("false || null", json!(null)),
            ("1 && 2 && 3", json!(3)),
            ("1 && 0 && 3", json!(0)),
            ("0 || '' || 'third'", json!("third")),
            ("false && hash_files('x')", json!(false)),
            ("true || hash_files('x')", json!(true)),
            ("inputs.zero && hash_files('x')", json!(0)),
            ("!0", json!(true)),
            ("!'x'", json!(false)),
            ("!''", json!(true)),
            ("!!inputs.flag", json!(true)),
            ("!from_json('[]')", json!(false)),
            ("!from_json('{}')", json!(false)),
            ("!null", json!(true)),
            ("!0.0", json!(true)),
            // Precedence: ! > comparison > equality > && > ||.
            ("true || false && false", json!(true)),
            ("(true || false) && false", json!(false)),
            ("!true == false", json!(true)),
            ("1 < 2 == true", json!(true)),
            ("1 == 1 && 2 == 2", json!(true)),
            (
                "git.branch == 'main' && git.event == 'push' || false",
                json!(true),
            ),
        ],
    );
}

#[test]
fn property_and_index_access() {
    check_table(
        &scope(),
        &[
            ("git.branch", json!("main")),
            ("git['branch']", json!("main")),
            ("needs.build.outputs.version", json!("1.2.3")),
            ("needs['build'].outputs['version']", json!("1.2.3")),
            ("needs.deploy-staging.result", json!("failure")),
            ("steps.v.outputs.version", json!("0.9")),
            ("steps.v.outcome", json!("success")),
            ("matrix.shards[0]", json!(1)),
            ("matrix.shards[2]", json!(3)),
            ("matrix.shards[1.0]", json!(2)),
            ("matrix.shards[3]", json!(null)),
            ("matrix.shards[-1]", json!(null)),
            ("matrix.shards[1.5]", json!(null)),
            ("matrix.shards['0']", json!(null)),
            ("matrix[0]", json!(null)),
            ("matrix[null]", json!(null)),
            ("matrix[format('{0}', 'os')]", json!("linux")),
            ("matrix[env.KEY]", json!("linux")),
            ("git.nope", json!(null)),
            ("git.nope.deeper['x'][0]", json!(null)),
            ("git.tag", json!(null)),
            ("git.tag.name", json!(null)),
            ("git.branch.length", json!(null)),
            ("job.status", json!(null)),
            ("job", json!({})),
            ("env.EMPTY", json!("")),
            ("secrets.token", json!("s3cr3t-value")),
            ("run", json!({"id": "r1", "number": 7})),
            ("from_json(needs.build.outputs.json).a[1]", json!(2)),
            ("from_json('{\"a\":{\"b\":[10,20]}}')['a'].b[1]", json!(20)),
            ("'text'.x", json!(null)),
            ("git.true", json!(null)),
        ],
    );
}

#[test]
fn functions() {
    check_table(
        &scope(),
        &[
            ("contains('hello world', 'o w')", json!(true)),
            ("contains('Hello', 'hello')", json!(false)),
            ("contains(git.message, 'bug')", json!(true)),
            ("contains(matrix.shards, 2)", json!(true)),
            ("contains(matrix.shards, '2')", json!(true)),
            ("contains(matrix.shards, 5)", json!(false)),
            ("contains(from_json('[\"a\",\"b\"]'), 'b')", json!(true)),
            ("contains(null, '')", json!(true)),
            ("contains(12345, 34)", json!(true)),
            ("starts_with(git.branch, 'ma')", json!(true)),
            ("starts_with('release/1.0', 'release/')", json!(true)),
            ("starts_with('main', 'Ma')", json!(false)),
            ("ends_with('app.tar.gz', '.gz')", json!(true)),
            ("ends_with('x', 'X')", json!(false)),
            ("format('{0} and {1}', 'a', 2)", json!("a and 2")),
            ("format('{{0}} {0}', 'x')", json!("{0} x")),
            ("format('{{{0}}}', 'x')", json!("{x}")),
            ("format('{1}{0}{1}', 'a', 'b')", json!("bab")),
            ("format('v{0}', null)", json!("v")),
            ("format('{0}', from_json('[1,2]'))", json!("[1,2]")),
            ("format('{0}/{1}', 3.0, true)", json!("3/true")),
            ("format('no placeholders')", json!("no placeholders")),
            ("join(matrix.shards)", json!("1,2,3")),
            ("join(matrix.shards, ' | ')", json!("1 | 2 | 3")),
            ("join('abc', '-')", json!("abc")),
            ("join(from_json('[]'))", json!("")),
            ("join(from_json('[\"a\",null,[1]]'), ';')", json!("a;;[1]")),
            ("to_json('a')", json!("\"a\"")),
            ("to_json(matrix.shards)", json!("[1,2,3]")),
            ("to_json(null)", json!("null")),
            (
                "to_json(needs.deploy-staging)",
                json!("{\"result\":\"failure\",\"outputs\":{}}"),
            ),
            ("from_json('{\"a\": 1}').a", json!(1)),
            ("from_json('true')", json!(true)),
            (
                "from_json(to_json(matrix))",
                json!({"toolchain": "stable", "shards": [1, 2, 3], "os": "linux"}),
            ),
            ("from_json(' 3.5 ')", json!(3.5)),
        ],
    );
}

#[test]
fn hash_files_calls_the_scope() {
    let hasher =
        |patterns: &[String]| -> Result<String, String> { Ok(format!("h:{}", patterns.join("+"))) };
    let scope = Scope {
        hash_files: Some(&hasher),
        ..scope()
    };
    check_table(
        &scope,
        &[
            ("hash_files('Cargo.lock')", json!("h:Cargo.lock")),
            ("hash_files('a/**', git.branch, 3)", json!("h:a/**+main+3")),
            (
                "format('cargo-{0}', hash_files('*.toml'))",
                json!("cargo-h:*.toml"),
            ),
        ],
    );
}

#[test]
fn status_functions() {
    let with = |failed, cancelled| Scope {
        status: Status { failed, cancelled },
        ..scope()
    };
    let fns = ["success()", "failure()", "cancelled()", "always()"];
    // (failed, cancelled) → expected values of success, failure, cancelled, always.
    let table = [
        ((false, false), [true, false, false, true]),
        ((true, false), [false, true, false, true]),
        ((false, true), [false, false, true, true]),
        ((true, true), [false, false, true, true]),
    ];
    for ((failed, cancelled), want) in table {
        let cases: Vec<_> = fns.iter().zip(want).map(|(f, w)| (*f, json!(w))).collect();
        check_table(&with(failed, cancelled), &cases);
    }
    check_table(
        &with(true, false),
        &[
            (
                "failure() && needs.deploy-staging.result == 'failure'",
                json!(true),
            ),
            ("!success()", json!(true)),
            ("always() && git.branch", json!("main")),
        ],
    );
}
