//! Property tests: no input makes parsing or evaluation panic, and text without `${{`
//! renders unchanged.

use gantry_expr::{parse, parse_condition, parse_template};
use proptest::prelude::*;

use crate::scope;

/// Strings built from the characters the grammar cares about, so generated input reaches
/// deep into the parser rather than failing on the first character.
fn expression_like() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "git",
        "env",
        "matrix",
        "needs",
        "steps",
        "inputs",
        "secrets",
        "run",
        "job",
        ".",
        "[",
        "]",
        "(",
        ")",
        ",",
        "'",
        "''",
        "'a'",
        "0",
        "-1",
        "2.5",
        "0x1f",
        "true",
        "false",
        "null",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "&&",
        "||",
        "!",
        " ",
        "branch",
        "shards",
        "outputs",
        "contains(",
        "starts_with(",
        "ends_with(",
        "format(",
        "'{0}'",
        "'{{'",
        "'}'",
        "join(",
        "to_json(",
        "from_json(",
        "'[1,{\"a\":2}]'",
        "hash_files(",
        "success()",
        "failure()",
        "always()",
        "cancelled()",
        "${{",
        "}}",
        "é",
        "\"",
    ]);
    prop::collection::vec(atoms, 0..40).prop_map(|parts| parts.concat())
}

/// Well-formed expressions built from the grammar, so properties can require success.
fn valid_expression() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec![
        "git.branch",
        "git.tag",
        "matrix.shards",
        "matrix.shards[1]",
        "needs.build.outputs['version']",
        "needs.deploy-staging",
        "inputs.count",
        "inputs.flag",
        "env.NUM",
        "job",
        "'a'",
        "''",
        "'it''s'",
        "0",
        "-1.5",
        "0x10",
        "true",
        "false",
        "null",
        "success()",
        "failure()",
    ])
    .prop_map(str::to_string);
    leaf.prop_recursive(4, 48, 3, |inner| {
        (inner.clone(), inner, 0..12usize).prop_map(|(a, b, op)| match op {
            0 => format!("({a} == {b})"),
            1 => format!("({a} != {b})"),
            2 => format!("({a} < {b})"),
            3 => format!("({a} >= {b})"),
            4 => format!("({a} && {b})"),
            5 => format!("({a} || {b})"),
            6 => format!("!{a}"),
            7 => format!("contains({a}, {b})"),
            8 => format!("format('{{0}}-{{1}}', {a}, {b})"),
            9 => format!("join({a}, {b})"),
            10 => format!("from_json(to_json({a}))"),
            _ => format!("({a})[0]"),
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(src in any::<String>()) {
        let scope = scope();
        if let Ok(e) = parse(&src) {
            let _ = e.eval(&scope);
            let _ = e.references();
        }
        if let Ok(t) = parse_template(&src) {
            let _ = t.render(&scope);
        }
        let _ = parse_condition(&src);
    }

    #[test]
    fn expression_like_text_never_panics(src in expression_like()) {
        let hasher = |p: &[String]| -> Result<String, String> { Ok(p.join(",")) };
        let scope = gantry_expr::Scope { hash_files: Some(&hasher), ..scope() };
        for candidate in [src.clone(), format!("x ${{{{ {src} }}}} y")] {
            if let Ok(t) = parse_template(&candidate) {
                let _ = t.eval(&scope);
                for r in t.references() {
                    prop_assert!(candidate.get(r.offset..r.offset + r.len).is_some());
                }
            }
        }
        if let Ok(e) = parse_condition(&src) {
            let _ = e.eval(&scope);
            let _ = e.uses_status_function();
            let (offset, len) = e.span();
            prop_assert!(src.get(offset..offset + len).is_some());
        }
        // Error spans must be usable to slice the source (the caller draws a caret there).
        let wrapped = format!("x ${{{{ {src} }}}} y");
        let errors = [
            (src.as_str(), parse(&src).err()),
            (src.as_str(), parse_condition(&src).err()),
            (src.as_str(), parse_template(&src).err()),
            (wrapped.as_str(), parse_template(&wrapped).err()),
        ];
        for (text, err) in errors {
            if let Some(err) = err {
                prop_assert!(text.get(err.offset..err.offset + err.len).is_some(), "{:?} out of range for {:?}", err, text);
            }
        }
    }

    #[test]
    fn literal_templates_render_unchanged(src in any::<String>().prop_filter("no ${{", |s| !s.contains("${{"))) {
        let t = parse_template(&src);
        prop_assert!(t.is_ok());
        if let Ok(t) = t {
            prop_assert!(t.is_literal());
            prop_assert_eq!(t.render(&scope()).ok(), Some(src.clone()));
        }
    }

    #[test]
    fn valid_expressions_parse_and_agree_with_templates(src in valid_expression()) {
        let scope = scope();
        let expr = parse(&src);
        prop_assert!(expr.is_ok(), "{:?}: {:?}", src, expr);
        let Ok(expr) = expr else { return Ok(()) };
        let template = parse_template(&format!("${{{{ {src} }}}}"));
        prop_assert!(template.is_ok(), "{:?}: {:?}", src, template);
        let Ok(template) = template else { return Ok(()) };
        let value = expr.eval(&scope);
        prop_assert_eq!(&template.eval(&scope), &value);
        prop_assert_eq!(template.render(&scope), value.as_ref().map(gantry_expr::to_display_string).map_err(Clone::clone));
        if value.is_ok() {
            let round_trip = parse(&format!("from_json(to_json({src})) == ({src})")).map(|e| e.eval(&scope));
            prop_assert_eq!(round_trip, Ok(Ok(serde_json::json!(true))), "{}", src);
        }
    }
}
