//! Templates: rendering text with several `${{ }}`, single-expression values, literal text.

use gantry_expr::{Value, parse_template, to_display_string, truthy};
use serde_json::json;

use crate::scope;

fn render(src: &str) -> Result<String, String> {
    let t = parse_template(src).map_err(|e| format!("{e:?}"))?;
    t.render(&scope()).map_err(|e| e.to_string())
}

#[test]
fn renders_several_expressions() {
    let cases = [
        ("ci-${{ git.branch }}", "ci-main"),
        (
            "${{ git.sha }}/${{ run.number }}/${{ inputs.flag }}/${{ git.tag }}",
            "abc123/7/true/",
        ),
        (
            "v${{needs.build.outputs.version}}-${{ matrix.toolchain }}.tar",
            "v1.2.3-stable.tar",
        ),
        ("${{ matrix.shards }} ${{ job }}", "[1,2,3] {}"),
        ("${{ format('{{{0}}}', 'x') }}", "{x}"),
        ("${{ '}}' }}", "}}"),
        ("a }} b ${ c $ {{ d", "a }} b ${ c $ {{ d"),
        ("ünï ${{ 'cødé' }} ✓", "ünï cødé ✓"),
        ("${{ 1 }}${{ 2.0 }}${{ 2.5 }}", "122.5"),
        (
            "echo \"${{ env.RUST_LOG }}\"\nexit 0",
            "echo \"info\"\nexit 0",
        ),
        // The examples given in docs/expressions.md.
        ("${{ '${{' }} literal", "${{ literal"),
        ("${{ format('{0}-{1}', git.branch, run.number) }}", "main-7"),
        ("${{ join(matrix.shards, ' ') }}", "1 2 3"),
    ];
    for (src, want) in cases {
        assert_eq!(render(src), Ok(want.to_string()), "{src}");
    }
}

#[test]
fn a_single_expression_keeps_its_value() {
    let s = scope();
    let eval = |src: &str| {
        parse_template(src)
            .map_err(|e| e.message)
            .and_then(|t| t.eval(&s).map_err(|e| e.0))
    };
    assert_eq!(eval("${{ matrix.shards }}"), Ok(json!([1, 2, 3])));
    assert_eq!(eval("${{ inputs.count }}"), Ok(json!(3)));
    assert_eq!(eval("${{ git.tag }}"), Ok(Value::Null));
    // Any text around it, even a space, makes the result a string.
    assert_eq!(eval(" ${{ matrix.shards }}"), Ok(json!(" [1,2,3]")));
    assert_eq!(
        eval("${{ inputs.count }}${{ inputs.count }}"),
        Ok(json!("33"))
    );
    assert_eq!(eval("plain"), Ok(json!("plain")));
    assert_eq!(eval(""), Ok(json!("")));
}

#[test]
fn literal_templates_and_expression_listing() {
    let t = parse_template("just text }} here");
    assert_eq!(t.as_ref().map(|t| t.is_literal()), Ok(true));
    assert_eq!(t.as_ref().map(|t| t.exprs().count()), Ok(0));
    let t = parse_template("a ${{ git.sha }} b ${{ run.id }}");
    assert_eq!(t.as_ref().map(|t| t.is_literal()), Ok(false));
    let spans: Result<Vec<_>, _> = t.map(|t| t.exprs().map(|e| e.span()).collect());
    assert_eq!(spans, Ok(vec![(6, 7), (23, 6)]));
}

#[test]
fn truthiness_and_display() {
    for v in [json!(null), json!(false), json!(0), json!(0.0), json!("")] {
        assert!(!truthy(&v), "{v}");
    }
    for v in [
        json!(true),
        json!(1),
        json!(-0.5),
        json!("0"),
        json!("false"),
        json!([]),
        json!({}),
    ] {
        assert!(truthy(&v), "{v}");
    }
    let display = [
        (json!("a b"), "a b"),
        (json!(null), ""),
        (json!(true), "true"),
        (json!(3), "3"),
        (json!(3.0), "3"),
        (json!(-0.25), "-0.25"),
        (json!([1, "a", null]), "[1,\"a\",null]"),
        (json!({"k": {"n": 1}}), "{\"k\":{\"n\":1}}"),
    ];
    for (v, want) in display {
        assert_eq!(to_display_string(&v), want);
    }
}
