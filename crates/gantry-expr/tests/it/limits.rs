//! Hostile input: nesting, length and result-size limits give errors, never a crash.

use gantry_expr::{MAX_DEPTH, MAX_EXPR_LEN, MAX_STRING_LEN, Scope, parse, parse_template};
use serde_json::json;

use crate::scope;

fn message(src: &str) -> Option<String> {
    parse(src).err().map(|e| e.message)
}

const TOO_DEEP: &str = "expression is nested too deeply (more than 64 levels)";

#[test]
fn nesting_limit() {
    assert_eq!(MAX_DEPTH, 64);
    let parens = |n: usize| format!("{}true{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(
        parse(&parens(MAX_DEPTH)).map(|e| e.eval(&scope())),
        Ok(Ok(json!(true)))
    );
    assert_eq!(message(&parens(MAX_DEPTH + 1)).as_deref(), Some(TOO_DEEP));
    assert_eq!(message(&parens(20_000)).as_deref(), Some(TOO_DEEP));
    assert_eq!(message(&"(".repeat(30_000)).as_deref(), Some(TOO_DEEP));
    assert_eq!(
        message(&"[".repeat(30_000)).as_deref(),
        Some("expected an expression, found '['")
    );
    assert_eq!(
        message(&format!("git{}", "[git".repeat(10_000))).as_deref(),
        Some(TOO_DEEP)
    );
    assert_eq!(
        message(&format!(
            "{}0){}",
            "format('',".repeat(5_000),
            ")".repeat(5_000)
        ))
        .as_deref(),
        Some(TOO_DEEP)
    );

    let nots = |n: usize| format!("{}true", "!".repeat(n));
    assert_eq!(
        parse(&nots(MAX_DEPTH - 1)).map(|e| e.eval(&scope())),
        Ok(Ok(json!(false)))
    );
    assert_eq!(message(&nots(MAX_DEPTH)).as_deref(), Some(TOO_DEEP));
    assert_eq!(message(&nots(60_000)).as_deref(), Some(TOO_DEEP));

    let eqs = |n: usize| format!("1{}", " == 1".repeat(n));
    assert!(parse(&eqs(MAX_DEPTH - 1)).is_ok());
    assert_eq!(message(&eqs(10_000)).as_deref(), Some(TOO_DEEP));
}

#[test]
fn long_flat_chains_are_fine() {
    // `&&`, `||` and property paths are flat, so only the length limit bounds them.
    let ands = format!("true{}", " && true".repeat(5_000));
    assert_eq!(parse(&ands).map(|e| e.eval(&scope())), Ok(Ok(json!(true))));
    let path = format!("git{}", ".a".repeat(20_000));
    assert_eq!(parse(&path).map(|e| e.eval(&scope())), Ok(Ok(json!(null))));
}

#[test]
fn length_limits() {
    let long = format!("'{}'", "x".repeat(MAX_EXPR_LEN));
    let err = parse(&long).err();
    assert_eq!(
        err.as_ref().map(|e| e.message.as_str()),
        Some("expression is too long (65538 bytes; the limit is 65536)")
    );
    assert_eq!(err.map(|e| (e.offset, e.len)), Some((0, MAX_EXPR_LEN + 2)));
    let in_template = format!("abc ${{{{ {long} }}}}");
    let err = parse_template(&in_template).err();
    assert_eq!(
        err.map(|e| (e.message, e.offset, e.len)),
        Some((
            "expression is too long (65540 bytes; the limit is 65536)".into(),
            7,
            65540
        ))
    );
    // Long literal text around short expressions is fine up to the template limit.
    let script = format!("{}${{{{ git.sha }}}}", "echo hi\n".repeat(50_000));
    assert_eq!(parse_template(&script).map(|t| t.exprs().count()), Ok(1));
    let huge = "x".repeat(gantry_expr::MAX_TEMPLATE_LEN + 1);
    assert_eq!(
        parse_template(&huge).err().map(|e| e.message),
        Some("text is too long (1048577 bytes; the limit is 1048576)".into())
    );
}

#[test]
fn string_results_are_capped() {
    let mut s = scope();
    let big = "x".repeat(MAX_STRING_LEN / 2 + 1);
    s.contexts.insert(
        "env".into(),
        json!({ "BIG": big, "LIST": vec![big.clone(), big.clone()] }),
    );
    let eval = |src: &str, s: &Scope<'_>| {
        parse(src)
            .map_err(|e| e.message)
            .and_then(|e| e.eval(s).map_err(|e| e.0))
    };
    assert_eq!(
        eval("format('{0}{0}', env.BIG)", &s),
        Err("format: the result is longer than 1048576 bytes".into())
    );
    assert_eq!(
        eval("join(env.LIST)", &s),
        Err("join: the result is longer than 1048576 bytes".into())
    );
    assert_eq!(
        eval("to_json(env.LIST)", &s),
        Err("to_json: the result is longer than 1048576 bytes".into())
    );
    assert_eq!(
        eval("format('{0}', env.BIG) == env.BIG", &s),
        Ok(json!(true))
    );
    let t = parse_template("${{ env.BIG }}${{ env.BIG }}");
    assert_eq!(
        t.map(|t| t.render(&s).map_err(|e| e.0)),
        Ok(Err("the rendered text is longer than 1048576 bytes".into()))
    );
}
