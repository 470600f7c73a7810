//! Fuzzes the expression language: parsing any text as a template, and rendering what
//! parses against an empty scope, must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|src: &str| {
    if let Ok(template) = gantry_expr::parse_template(src) {
        let _ = template.references();
        let _ = template.render(&gantry_expr::Scope::default());
    }
    if let Ok(expr) = gantry_expr::parse_condition(src) {
        let _ = expr.references();
        let _ = expr.eval(&gantry_expr::Scope::default());
    }
});
