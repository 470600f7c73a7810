//! Budgets: oversized, deeply nested and node-heavy inputs are refused quickly with a
//! diagnostic instead of hanging, overflowing the stack or exhausting memory.

use std::time::{Duration, Instant};

use crate::compile_ok;

fn refused_quickly(source: &str, expected: &str) {
    let start = Instant::now();
    let compiled = compile_ok(source);
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert!(compiled.plan.is_none());
    assert!(
        compiled
            .diagnostics
            .iter()
            .any(|d| d.is_error() && d.message.contains(expected)),
        "expected an error containing {expected:?}, got {:?}",
        compiled
            .diagnostics
            .iter()
            .map(|d| &d.message)
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_two_mebibyte_file_is_refused() {
    let source = format!(
        "jobs:\n  a:\n    steps:\n      - run: \"{}\"\n",
        "x".repeat(2 * 1024 * 1024)
    );
    refused_quickly(&source, "pipeline files are limited to 1048576 bytes");
}

#[test]
fn ten_thousand_levels_of_nesting_are_refused() {
    refused_quickly(
        &format!("jobs: {}{}", "[".repeat(10_000), "]".repeat(10_000)),
        "nested deeper than 64 levels",
    );
    refused_quickly(
        &format!("jobs: {}1{}", "{a: ".repeat(10_000), "}".repeat(10_000)),
        "nested deeper than 64 levels",
    );
    let block: String = (0..70)
        .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
        .collect();
    refused_quickly(&block, "nested deeper than 64 levels");
}

#[test]
fn too_many_nodes_are_refused() {
    let items = vec!["1"; 150_000].join(",");
    refused_quickly(
        &format!("x-big: [{items}]\njobs: {{ a: {{ steps: [x] }} }}\n"),
        "more than 100000 YAML nodes",
    );
}

#[test]
fn alias_expansion_is_bounded() {
    let mut source = String::from("x-0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        source.push_str(&format!("x-{i}: &a{i} [{refs}]\n"));
    }
    source.push_str("jobs: { a: { steps: [make] } }\n");
    refused_quickly(&source, "aliases expand to more than 10000 nodes");
}

#[test]
fn a_deep_alias_cannot_exceed_the_depth_limit() {
    let nested = format!("{}1{}", "[".repeat(40), "]".repeat(40));
    let source = format!(
        "x-a: &a {nested}\nx-b: {}*a{}\njobs: {{ a: {{ steps: [make] }} }}\n",
        "[".repeat(30),
        "]".repeat(30)
    );
    refused_quickly(&source, "deeper than 64 levels");
}
