//! Matrix expansion as GitHub Actions does it: product, exclude, include (extend or
//! add), keys and names in axis order.

use serde_json::{Value, json};

use crate::plan_of;

fn cells(source: &str) -> Vec<(String, Value)> {
    plan_of(source)
        .jobs
        .into_iter()
        .map(|j| (j.key, serde_json::to_value(j.matrix).unwrap()))
        .collect()
}

#[test]
fn include_extends_matching_cells_and_adds_the_rest() {
    // The example from GitHub's documentation of `include`.
    let got = cells(
        r#"
jobs:
  job:
    matrix:
      fruit: [apple, pear]
      animal: [cat, dog]
      include:
        - color: green
        - color: pink
          animal: cat
        - fruit: apple
          shape: circle
        - fruit: banana
        - fruit: banana
          animal: cat
    steps: [x]
"#,
    );
    let want = vec![
        (
            "job (apple, cat)".to_string(),
            json!({"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"}),
        ),
        (
            "job (apple, dog)".to_string(),
            json!({"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"}),
        ),
        (
            "job (pear, cat)".to_string(),
            json!({"fruit": "pear", "animal": "cat", "color": "pink"}),
        ),
        (
            "job (pear, dog)".to_string(),
            json!({"fruit": "pear", "animal": "dog", "color": "green"}),
        ),
        ("job (banana)".to_string(), json!({"fruit": "banana"})),
        (
            "job (banana, cat)".to_string(),
            json!({"fruit": "banana", "animal": "cat"}),
        ),
    ];
    assert_eq!(got, want);
}

#[test]
fn exclude_removes_cells_matching_every_key_of_an_entry() {
    let got = cells(
        "jobs:\n  t:\n    name: Test\n    matrix:\n      os: [linux, mac, windows]\n      rust: [stable, beta]\n      exclude: [{ os: windows, rust: beta }, { os: mac }]\n    steps: [x]\n",
    );
    let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "t (linux, stable)",
            "t (linux, beta)",
            "t (windows, stable)"
        ]
    );
    let plan =
        plan_of("jobs:\n  t:\n    name: Test\n    matrix: { os: [linux] }\n    steps: [x]\n");
    assert_eq!(plan.jobs[0].name, "Test (linux)");
}

#[test]
fn exclude_applies_before_include() {
    let got = cells(
        "jobs:\n  t:\n    matrix:\n      os: [linux, mac]\n      exclude: [{ os: mac }]\n      include: [{ os: mac, extra: 1 }]\n    steps: [x]\n",
    );
    assert_eq!(
        got,
        vec![
            ("t (linux)".to_string(), json!({"os": "linux"})),
            ("t (mac)".to_string(), json!({"os": "mac", "extra": 1}))
        ]
    );
}

#[test]
fn include_only_matrices_and_scalar_rendering() {
    let got = cells(
        "jobs:\n  t:\n    matrix:\n      include: [{ os: linux }, { os: mac, arch: arm }]\n    steps: [x]\n",
    );
    assert_eq!(
        got,
        vec![
            ("t (linux)".to_string(), json!({"os": "linux"})),
            (
                "t (mac, arm)".to_string(),
                json!({"os": "mac", "arch": "arm"})
            )
        ]
    );
    let got = cells(
        "jobs:\n  t:\n    matrix: { node: [18, 20], debug: [true], py: [\"3.10\"] }\n    steps: [x]\n",
    );
    let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["t (18, true, 3.10)", "t (20, true, 3.10)"]);
    assert_eq!(got[0].1, json!({"node": 18, "debug": true, "py": "3.10"}));
}

#[test]
fn an_include_may_overwrite_what_another_include_added() {
    let got = cells(
        "jobs:\n  t:\n    matrix:\n      os: [linux]\n      include: [{ cc: gcc }, { cc: clang }]\n    steps: [x]\n",
    );
    assert_eq!(
        got,
        vec![(
            "t (linux)".to_string(),
            json!({"os": "linux", "cc": "clang"})
        )]
    );
}

#[test]
fn matrix_needs_wait_for_every_cell_and_the_limit_is_exact() {
    let plan = plan_of(
        "jobs:\n  t: { matrix: { a: [1, 2], b: [x, y] }, steps: [x] }\n  after: { needs: t, steps: [y] }\n",
    );
    assert_eq!(plan.jobs[4].needs_index, [0, 1, 2, 3]);
    let values = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    plan_of(&format!(
        "jobs:\n  t: {{ matrix: {{ a: [{}], b: [{}] }}, steps: [x] }}\n",
        values(16),
        values(16)
    ));
    let compiled = crate::compile_ok(&format!(
        "jobs:\n  t: {{ matrix: {{ a: [{}], b: [{}] }}, steps: [x] }}\n",
        values(16),
        values(17)
    ));
    let messages: Vec<&str> = compiled
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        messages,
        ["the matrix of job 't' expands to 272 jobs; the limit is 256"]
    );
}
