//! Parse errors: exact message, byte offset, length and help for each kind of mistake, in
//! bare expressions, templates and conditions.

use gantry_expr::{ExprError, parse, parse_condition, parse_template};

type Case = (
    &'static str,
    &'static str,
    usize,
    usize,
    Option<&'static str>,
);

fn check(parser: fn(&str) -> Result<(), ExprError>, cases: &[Case]) {
    let mut failures = Vec::new();
    for &(src, message, offset, len, help) in cases {
        let want = ExprError {
            message: message.into(),
            offset,
            len,
            help: help.map(Into::into),
        };
        match parser(src) {
            Err(got) if got == want => {}
            Err(got) => failures.push(format!("{src:?}:\n  want {want:?}\n  got  {got:?}")),
            Ok(()) => failures.push(format!("{src:?}: parsed, want error {message:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bare_expression_errors() {
    check(
        |s| parse(s).map(drop),
        &[
            ("", "empty expression", 0, 0, None),
            ("   ", "empty expression", 0, 3, None),
            (
                "git.branch ==",
                "expected an expression, found the end of the expression",
                13,
                0,
                None,
            ),
            (
                "(git.sha",
                "expected ')' to close '(' opened at offset 0, found the end of the expression",
                8,
                0,
                None,
            ),
            (
                "((git.sha) == 'a'",
                "expected ')' to close '(' opened at offset 0, found the end of the expression",
                17,
                0,
                None,
            ),
            (
                "contains(git.sha, 'a'",
                "expected ')' to close '(' opened at offset 8, found the end of the expression",
                21,
                0,
                None,
            ),
            (
                "contains(git.sha 'a')",
                "expected ')' to close '(' opened at offset 8, found a string",
                17,
                3,
                None,
            ),
            (
                "contains(git.sha,)",
                "expected an expression, found ')'",
                17,
                1,
                None,
            ),
            (
                "git.branch[0",
                "expected ']' to close '[' opened at offset 10, found the end of the expression",
                12,
                0,
                None,
            ),
            (
                "git.sha)",
                "unexpected ')' with no matching '('",
                7,
                1,
                None,
            ),
            (
                "git.sha]",
                "unexpected ']' with no matching '['",
                7,
                1,
                None,
            ),
            (
                "git.sha git.branch",
                "expected an operator or the end of the expression, found 'git'",
                8,
                3,
                None,
            ),
            (
                "git.sha 'x'",
                "expected an operator or the end of the expression, found a string",
                8,
                3,
                None,
            ),
            (
                "git.branch('x')",
                "unexpected '(': only functions can be called",
                10,
                1,
                None,
            ),
            (
                "git.",
                "expected a property name after '.', found the end of the expression",
                3,
                1,
                None,
            ),
            (
                "git.'x'",
                "expected a property name after '.', found a string",
                4,
                3,
                None,
            ),
            (
                "need.build.result",
                "unknown context 'need'",
                0,
                4,
                Some("did you mean 'needs'?"),
            ),
            (
                "Git.branch",
                "unknown context 'Git'",
                0,
                3,
                Some("did you mean 'git'?"),
            ),
            (
                "banana",
                "unknown context 'banana'",
                0,
                6,
                Some("the contexts are: git, env, matrix, needs, steps, inputs, secrets, run, job"),
            ),
            (
                "success",
                "unknown context 'success'",
                0,
                7,
                Some("'success' is a function: call it as 'success()'"),
            ),
            (
                "startsWith(git.branch, 'a')",
                "unknown function 'startsWith'",
                0,
                10,
                Some("did you mean 'starts_with'?"),
            ),
            (
                "toJSON(git)",
                "unknown function 'toJSON'",
                0,
                6,
                Some("did you mean 'to_json'?"),
            ),
            (
                "zzz()",
                "unknown function 'zzz'",
                0,
                3,
                Some(
                    "the functions are: contains, starts_with, ends_with, format, join, to_json, from_json, hash_files, success, failure, always, cancelled",
                ),
            ),
            (
                "contains('a')",
                "'contains' takes 2 arguments, but 1 was given",
                0,
                13,
                None,
            ),
            (
                "success(1)",
                "'success' takes 0 arguments, but 1 was given",
                0,
                10,
                None,
            ),
            (
                "join()",
                "'join' takes 1 or 2 arguments, but 0 were given",
                0,
                6,
                None,
            ),
            (
                "join('a', 'b', 'c')",
                "'join' takes 1 or 2 arguments, but 3 were given",
                0,
                19,
                None,
            ),
            (
                "format()",
                "'format' takes at least 1 argument, but 0 were given",
                0,
                8,
                None,
            ),
            (
                "true && to_json()",
                "'to_json' takes 1 argument, but 0 were given",
                8,
                9,
                None,
            ),
            (
                "'abc",
                "unterminated string: missing closing quote (')",
                0,
                1,
                Some("write '' for a quote inside a string"),
            ),
            (
                "git.sha == 'it's'",
                "unterminated string: missing closing quote (')",
                16,
                1,
                Some("write '' for a quote inside a string"),
            ),
            (
                "git.branch = 'x'",
                "unexpected '='",
                11,
                1,
                Some("use '==' to compare values"),
            ),
            (
                "git.sha & git.sha",
                "unexpected '&'",
                8,
                1,
                Some("use '&&' for 'and'"),
            ),
            (
                "git.sha | git.sha",
                "unexpected '|'",
                8,
                1,
                Some("use '||' for 'or'"),
            ),
            (
                "\"main\"",
                "unexpected '\"'",
                0,
                1,
                Some("strings use single quotes: 'text' (write '' for a quote inside)"),
            ),
            (
                "run.number - 1",
                "unexpected character '-'",
                11,
                1,
                Some("expressions have no arithmetic"),
            ),
            (
                "run.number + 1",
                "unexpected character '+'",
                11,
                1,
                Some("expressions have no arithmetic"),
            ),
            ("git.sha @", "unexpected character '@'", 8, 1, None),
            ("git.sha == 'a' }}", "unexpected character '}'", 15, 1, None),
            ("é", "unexpected character 'é'", 0, 2, None),
            ("1abc", "invalid number", 0, 4, None),
            ("1.2.3", "invalid number", 0, 5, None),
            (
                "0x",
                "invalid number: '0x' needs hex digits after it",
                0,
                2,
                None,
            ),
            ("1e999", "number out of range", 0, 5, None),
            ("0xFFFFFFFFFFFFFFFFFF", "number out of range", 0, 20, None),
            (
                "git.sha == ${{ git.sha }}",
                "unexpected '${{'",
                11,
                3,
                Some("a condition is either a bare expression or one whole '${{ … }}'"),
            ),
        ],
    );
}

#[test]
fn template_errors() {
    check(
        |s| parse_template(s).map(drop),
        &[
            (
                "ci-${{ git.branch",
                "unterminated '${{': missing '}}'",
                3,
                3,
                None,
            ),
            (
                "a ${{ git.sha }} b ${{ ",
                "unterminated '${{': missing '}}'",
                19,
                3,
                None,
            ),
            ("a ${{ }} b", "empty expression in '${{ }}'", 2, 6, None),
            ("${{}}", "empty expression in '${{ }}'", 0, 5, None),
            (
                "x ${{ need.a }}",
                "unknown context 'need'",
                6,
                4,
                Some("did you mean 'needs'?"),
            ),
            (
                "${{ (git.sha }}",
                "expected ')' to close '(' opened at offset 4, found the end of the expression",
                13,
                0,
                None,
            ),
            ("${{ git.sha } }}", "unexpected character '}'", 12, 1, None),
            (
                "${{ 'abc }}",
                "unterminated string: missing closing quote (')",
                4,
                1,
                Some("write '' for a quote inside a string"),
            ),
            (
                "${{ git.sha ${{ x }} }}",
                "unexpected character '$'",
                12,
                1,
                None,
            ),
        ],
    );
}

#[test]
fn condition_errors() {
    check(
        |s| parse_condition(s).map(drop),
        &[
            (
                "${{ git.sha }} && true",
                "a condition must be one expression: either bare or one '${{ … }}' around the whole value",
                15,
                7,
                Some("put the whole condition inside a single '${{ … }}', or drop the '${{ }}'"),
            ),
            (
                "${{ git.sha }}${{ git.sha }}",
                "a condition must be one expression: either bare or one '${{ … }}' around the whole value",
                14,
                14,
                Some("put the whole condition inside a single '${{ … }}', or drop the '${{ }}'"),
            ),
            ("  ${{ }}", "empty expression in '${{ }}'", 2, 6, None),
            ("", "empty expression", 0, 0, None),
            (
                "git.sha == ${{ git.sha }}",
                "unexpected '${{'",
                11,
                3,
                Some("a condition is either a bare expression or one whole '${{ … }}'"),
            ),
        ],
    );
}

#[test]
fn conditions_accept_bare_or_wrapped_forms() {
    for src in [
        "git.branch == 'main'",
        "${{ git.branch == 'main' }}",
        "  ${{git.branch == 'main'}}\n",
        "git.sha == '${{ x }}'",
    ] {
        assert!(
            parse_condition(src).is_ok(),
            "{src:?}: {:?}",
            parse_condition(src)
        );
    }
    let wrapped = parse_condition("  ${{ git.branch == 'main' }}  ");
    assert_eq!(wrapped.map(|e| e.span()), Ok((6, 20)));
    let bare = parse_condition("  git.branch == 'main'  ");
    assert_eq!(bare.map(|e| e.span()), Ok((2, 20)));
}
