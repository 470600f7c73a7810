//! Property tests: the compiler never panics, on arbitrary text and on YAML built from
//! the grammar's own keys; and a valid generated pipeline always plans in an order that
//! respects `needs`.

use proptest::prelude::*;

use crate::compile_ok;

/// Every key of the grammar, at any level, plus a few near misses.
const KEYS: &[&str] = &[
    "name",
    "on",
    "env",
    "concurrency",
    "jobs",
    "push",
    "pull_request",
    "schedule",
    "manual",
    "branches",
    "branches_ignore",
    "tags",
    "paths",
    "paths_ignore",
    "cron",
    "timezone",
    "inputs",
    "type",
    "description",
    "default",
    "options",
    "required",
    "group",
    "cancel_in_progress",
    "needs",
    "if",
    "executor",
    "network",
    "image",
    "services",
    "matrix",
    "timeout",
    "retry",
    "continue_on_error",
    "cache",
    "artifacts",
    "outputs",
    "steps",
    "deploy",
    "id",
    "run",
    "shell",
    "working_directory",
    "key",
    "restore_keys",
    "command",
    "service",
    "environment",
    "version",
    "include",
    "exclude",
    "build",
    "test",
    "os",
    "need",
    "<<",
];

const SCALARS: &[&str] = &[
    "x",
    "",
    "~",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "11",
    "1.10",
    "30m",
    "0s",
    "docker",
    "host",
    "sandbox",
    "choice",
    "boolean",
    "number",
    "\"0 3 * * *\"",
    "'@daily'",
    "Europe/Berlin",
    "\"${{ git.branch }}\"",
    "\"${{ needs.build.outputs.v }}\"",
    "\"${{ steps.a.outputs.b }}\"",
    "\"${{ matrix.os }}\"",
    "\"${{ inputs.target }}\"",
    "\"${{ ) }}\"",
    "'release/*'",
    "\"[\"",
    "*a",
    "&a x",
    "!!str 1",
    "\"{0}\"",
    "build",
    "test",
];

#[derive(Debug, Clone)]
enum Tree {
    Scalar(&'static str),
    Seq(Vec<Tree>),
    Map(Vec<(&'static str, Tree)>),
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = proptest::sample::select(SCALARS).prop_map(Tree::Scalar);
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Tree::Seq),
            proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..6)
                .prop_map(Tree::Map),
        ]
    })
}

/// Block-style YAML, with flow style for small collections now and then.
fn render(tree: &Tree, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match tree {
        Tree::Scalar(s) => {
            out.push(' ');
            out.push_str(s);
            out.push('\n');
        }
        Tree::Seq(items) if items.is_empty() => out.push_str(" []\n"),
        Tree::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
        Tree::Seq(items) => {
            out.push('\n');
            for item in items {
                out.push_str(&pad);
                out.push('-');
                render(item, indent + 2, out);
            }
        }
        Tree::Map(entries) => {
            out.push('\n');
            for (k, v) in entries {
                out.push_str(&pad);
                out.push_str(k);
                out.push(':');
                render(v, indent + 2, out);
            }
        }
    }
}

fn top(entries: Vec<(&'static str, Tree)>) -> String {
    let mut out = String::new();
    for (k, v) in &entries {
        out.push_str(k);
        out.push(':');
        render(v, 2, &mut out);
    }
    out
}

fn no_internal_error(source: &str) {
    let compiled = compile_ok(source);
    for d in &compiled.diagnostics {
        assert!(!d.message.contains("internal error"), "{source:?}");
        if let Some(span) = d.span {
            assert!(
                span.offset <= source.len() && span.line >= 1 && span.col >= 1,
                "bad span {span:?} for {source:?}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_text(source in "\\PC{0,200}") {
        no_internal_error(&source);
    }

    #[test]
    fn never_panics_on_yaml_like_text(source in "[ \\-:\\[\\]{},#&*!|>'\"\\n\\tazAZ09$.]{0,200}") {
        no_internal_error(&source);
    }

    #[test]
    fn never_panics_on_grammar_shaped_yaml(entries in proptest::collection::vec((proptest::sample::select(KEYS), tree()), 0..6)) {
        no_internal_error(&top(entries));
    }

    #[test]
    fn valid_pipelines_plan_in_needs_order(
        jobs in proptest::collection::vec((proptest::collection::vec(any::<proptest::sample::Index>(), 0..4), 0usize..3, any::<bool>()), 1..10),
        order in any::<proptest::sample::Index>(),
    ) {
        // Job i may need only jobs before it in a random rank order, so the graph is acyclic,
        // but they are declared in another order, so the planner must reorder them.
        let n = jobs.len();
        let shift = order.index(n);
        let rank = |i: usize| (i + shift) % n;
        let mut source = String::from("jobs:\n");
        for (i, (needs, axis_len, named)) in jobs.iter().enumerate() {
            let earlier: Vec<usize> = (0..n).filter(|&j| rank(j) < rank(i)).collect();
            let mut picked: Vec<String> = needs.iter().filter(|_| !earlier.is_empty()).map(|ix| format!("j{}", earlier[ix.index(earlier.len())])).collect();
            picked.sort();
            picked.dedup();
            source.push_str(&format!("  j{i}:\n    needs: [{}]\n", picked.join(", ")));
            if *axis_len > 0 {
                let values: Vec<String> = (0..*axis_len).map(|v| format!("v{v}")).collect();
                source.push_str(&format!("    matrix: {{ x: [{}] }}\n", values.join(", ")));
            }
            if *named {
                source.push_str(&format!("    name: Job {i}\n"));
            }
            source.push_str("    steps: [echo hi]\n");
        }
        let compiled = compile_ok(&source);
        prop_assert!(compiled.plan.is_some(), "{source}\n{:?}", compiled.diagnostics);
        let plan = compiled.plan.unwrap();
        let expected_cells: usize = jobs.iter().map(|(_, a, _)| (*a).max(1)).sum();
        prop_assert_eq!(plan.jobs.len(), expected_cells);
        for (index, job) in plan.jobs.iter().enumerate() {
            for need in &job.needs {
                let cells: Vec<usize> = plan.jobs.iter().enumerate().filter(|(_, j)| &j.job_id == need).map(|(i, _)| i).collect();
                prop_assert!(!cells.is_empty());
                prop_assert!(cells.iter().all(|&c| c < index), "{} runs before {need}", job.key);
                for c in &cells {
                    prop_assert!(job.needs_index.contains(c));
                }
            }
            prop_assert!(job.needs_index.iter().all(|&i| i < index));
        }
    }
}
