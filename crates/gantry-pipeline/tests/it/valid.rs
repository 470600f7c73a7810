//! Valid pipelines compile to the expected plan: the DESIGN.md example in full, job
//! order, shorthands and defaults.

use std::time::Duration;

use gantry_pipeline::{ExecutorKind, InputKind, TriggerEvent};
use serde_json::json;

use crate::{compile_ok, plan_of};

pub const DESIGN_EXAMPLE: &str = r#"name: ci
on:
  push: { branches: [main, "release/*"], tags: ["v*"], paths: ["src/**", "Cargo.*"] }
  pull_request: {}
  schedule: [{ cron: "0 3 * * *", timezone: "Europe/Berlin" }]
  manual: { inputs: { target: { default: staging, options: [staging, production] } } }
env: { RUST_LOG: info }
concurrency: { group: "ci-${{ git.branch }}", cancel_in_progress: true }
jobs:
  lint:
    steps:
      - run: cargo fmt --check
  test:
    needs: [lint]
    executor: docker            # host | sandbox | docker
    image: "rust:1.80"          # docker only
    services: { db: { image: "postgres:16", env: { POSTGRES_PASSWORD: x } } }
    matrix: { toolchain: [stable, beta], include: [{ toolchain: nightly, experimental: true }] }
    timeout: 30m
    retry: 1
    cache: [{ key: "cargo-${{ hash_files('Cargo.lock') }}", paths: [target] }]
    steps:
      - name: Test
        run: cargo test
        env: { DATABASE_URL: "postgres://postgres:x@db/postgres" }
  build:
    needs: [test]
    if: ${{ git.branch == 'main' }}
    outputs: { version: "${{ steps.v.outputs.version }}" }
    artifacts: [target/release/app]
    steps:
      - id: v
        run: echo "version=$(git describe --always)" >> "$GANTRY_OUTPUT"
      - run: cargo build --release
        timeout: 20m
        continue_on_error: false
  deploy-staging:
    needs: [build]
    deploy: { service: web, environment: staging, version: "${{ needs.build.outputs.version }}" }
"#;

#[test]
fn the_design_example_compiles_to_the_expected_plan() {
    let compiled = compile_ok(DESIGN_EXAMPLE);
    assert_eq!(compiled.diagnostics, vec![], "no warnings either");
    let plan = compiled.plan.unwrap();
    assert_eq!(plan.name, "ci");
    assert_eq!(plan.file, "ci.yml");
    let keys: Vec<&str> = plan.jobs.iter().map(|j| j.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "lint",
            "test (stable)",
            "test (beta)",
            "test (nightly)",
            "build",
            "deploy-staging"
        ]
    );
    let needs_index: Vec<&[usize]> = plan.jobs.iter().map(|j| j.needs_index.as_slice()).collect();
    assert_eq!(needs_index, [&[][..], &[0], &[0], &[0], &[1, 2, 3], &[4]]);

    let test = &plan.jobs[3];
    assert_eq!(test.job_id, "test");
    assert_eq!(test.name, "test (nightly)");
    assert_eq!(
        serde_json::to_value(&test.matrix).unwrap(),
        json!({"toolchain": "nightly", "experimental": true})
    );
    assert_eq!(
        serde_json::to_value(&plan.jobs[1].matrix).unwrap(),
        json!({"toolchain": "stable"})
    );
    assert_eq!(test.executor, ExecutorKind::Docker);
    assert_eq!(test.image.as_deref(), Some("rust:1.80"));
    assert_eq!(test.services["db"].image, "postgres:16");
    assert_eq!(test.services["db"].env["POSTGRES_PASSWORD"], "x");
    assert_eq!(test.timeout, Some(Duration::from_secs(1800)));
    assert_eq!(test.retry, 1);
    assert_eq!(test.cache[0].key, "cargo-${{ hash_files('Cargo.lock') }}");
    assert_eq!(test.cache[0].paths, ["target"]);
    assert_eq!(test.steps[0].name, "Test");
    assert_eq!(
        test.steps[0].env["DATABASE_URL"],
        "postgres://postgres:x@db/postgres"
    );

    let build = &plan.jobs[4];
    assert_eq!(
        build.condition.as_deref(),
        Some("${{ git.branch == 'main' }}")
    );
    assert_eq!(build.outputs["version"], "${{ steps.v.outputs.version }}");
    assert_eq!(build.artifacts, ["target/release/app"]);
    assert_eq!(build.steps[0].id.as_deref(), Some("v"));
    assert_eq!(
        build.steps[0].name,
        "echo \"version=$(git describe --always)\" >> \"$GANTRY_OUTPUT\""
    );
    assert_eq!(build.steps[1].timeout, Some(Duration::from_secs(1200)));
    assert_eq!(build.steps[1].index, 1);

    let deploy = plan.jobs[5].deploy.as_ref().unwrap();
    assert_eq!(
        (deploy.service.as_str(), deploy.environment.as_str()),
        ("web", "staging")
    );
    assert_eq!(
        deploy.version.as_deref(),
        Some("${{ needs.build.outputs.version }}")
    );
    assert!(plan.jobs[5].steps.is_empty());

    assert_eq!(plan.env["RUST_LOG"], "info");
    let concurrency = plan.concurrency.unwrap();
    assert_eq!(
        (concurrency.group.as_str(), concurrency.cancel_in_progress),
        ("ci-${{ git.branch }}", true)
    );
    assert_eq!(plan.on.schedule[0].timezone, "Europe/Berlin");
    let target = &plan.on.manual.as_ref().unwrap().inputs["target"];
    assert_eq!(target.kind, InputKind::Choice);
    assert_eq!(target.default, Some(json!("staging")));
    assert!(plan.on.pull_request.is_some());
    let push = |branch: &str, files: &[&str]| TriggerEvent::Push {
        branch: Some(branch.into()),
        tag: None,
        changed_files: Some(files.iter().map(|s| s.to_string()).collect()),
    };
    assert!(plan.on.matches(&push("release/2.0", &["src/main.rs"])));
    assert!(!plan.on.matches(&push("release/2.0", &["docs/x.md"])));
    assert!(!plan.on.matches(&push("feature/x", &["src/main.rs"])));
}

#[test]
fn ready_jobs_keep_declaration_order() {
    let plan = plan_of(
        "jobs:\n  c: { needs: a, steps: [c] }\n  a: { steps: [a] }\n  b: { steps: [b] }\n  d: { needs: [c, b], steps: [d] }\n",
    );
    let keys: Vec<&str> = plan.jobs.iter().map(|j| j.key.as_str()).collect();
    assert_eq!(keys, ["a", "c", "b", "d"]);
    assert_eq!(plan.jobs[3].needs, ["c", "b"]);
    assert_eq!(plan.jobs[3].needs_index, [1, 2]);
}

#[test]
fn shorthands_and_defaults() {
    let source = "jobs:\n  build:\n    steps:\n      - make all\n      - |\n\n        cargo build --release --target x86_64-unknown-linux-musl --locked --offline\n        second line\n";
    let compiled = gantry_pipeline::compile(".gantry/pipelines/release.yml", source);
    let plan = compiled.plan.unwrap();
    assert_eq!(plan.name, "release");
    assert_eq!(plan.jobs[0].executor, ExecutorKind::Host);
    assert_eq!(plan.jobs[0].steps[0].run, "make all");
    assert_eq!(plan.jobs[0].steps[0].name, "make all");
    assert_eq!(
        plan.jobs[0].steps[1].name,
        "cargo build --release --target x86_64-unknown-linux-musl --…"
    );
    assert_eq!(plan.jobs[0].steps[1].name.chars().count(), 60);
    // Without `on`, every push and a manual start run the pipeline.
    assert!(plan.on.matches(&TriggerEvent::Push {
        branch: Some("any".into()),
        tag: None,
        changed_files: None
    }));
    assert!(plan.on.matches(&TriggerEvent::Manual));
    assert!(!plan.on.matches(&TriggerEvent::Schedule));
}

#[test]
fn on_as_a_name_or_a_list_of_names() {
    let plan = plan_of("on: manual\njobs: { a: { steps: [x] } }\n");
    assert!(plan.on.manual.is_some() && plan.on.push.is_none());
    let plan = plan_of("on: [push, pull_request]\njobs: { a: { steps: [x] } }\n");
    assert!(plan.on.push.is_some() && plan.on.pull_request.is_some() && plan.on.manual.is_none());
}

#[test]
fn anchors_merge_keys_and_x_keys() {
    let source = r#"
x-defaults: &defaults
  executor: docker
  image: alpine:3
  env: { A: "1" }
jobs:
  a:
    <<: *defaults
    env: { B: "2" }
    steps: [make]
"#;
    let plan = plan_of(source);
    let a = &plan.jobs[0];
    assert_eq!(a.executor, ExecutorKind::Docker);
    assert_eq!(a.image.as_deref(), Some("alpine:3"));
    assert_eq!(
        a.env.keys().collect::<Vec<_>>(),
        ["B"],
        "keys written in the map win over merged ones"
    );
}

#[test]
fn warnings_do_not_block_the_plan() {
    let compiled =
        compile_ok("jobs:\n  a:\n    env: { PY: 3.10, N: 3, B: true }\n    steps: [x]\n");
    assert_eq!(compiled.diagnostics.len(), 1);
    assert!(!compiled.diagnostics[0].is_error());
    let plan = compiled.plan.unwrap();
    assert_eq!(
        plan.jobs[0].env["PY"], "3.10",
        "the text is kept as written"
    );
    assert_eq!(plan.jobs[0].env["N"], "3");
    assert_eq!(plan.jobs[0].env["B"], "true");
}

#[test]
fn every_field_reaches_the_plan() {
    let source = r#"
on:
  schedule: [{ cron: "@daily" }, { cron: "*/15 * * * 1-5", timezone: europe/berlin }]
jobs:
  a:
    name: Alpha
    executor: sandbox
    network: true
    continue_on_error: true
    retry: 2
    cache:
      key: k
      paths: target
      restore_keys: k-
    artifacts: dist/app
    steps:
      - id: s1
        name: First
        run: ./x
        shell: "python3 {0}"
        working_directory: sub/dir
        if: success() && git.branch != 'x'
        timeout: 90s
        continue_on_error: true
        retry: 3
  b:
    executor: docker
    image: node:20
    services:
      db: postgres:16
      cache: { image: redis:7, command: redis-server --save "" }
      q: { image: rabbitmq, command: [rabbitmq-server, "--flag with space"] }
    needs: a
    steps: [npm test]
"#;
    let plan = plan_of(source);
    assert_eq!(plan.on.schedule[0].cron, "@daily");
    assert_eq!(plan.on.schedule[0].timezone, "UTC");
    assert_eq!(
        plan.on.schedule[1].timezone, "Europe/Berlin",
        "time zone names are canonicalised"
    );
    let a = &plan.jobs[0];
    assert_eq!(
        (
            a.name.as_str(),
            a.executor,
            a.network,
            a.continue_on_error,
            a.retry
        ),
        ("Alpha", ExecutorKind::Sandbox, true, true, 2)
    );
    assert_eq!(
        (a.cache[0].paths.clone(), a.cache[0].restore_keys.clone()),
        (vec!["target".to_string()], vec!["k-".to_string()])
    );
    assert_eq!(a.artifacts, ["dist/app"]);
    let s = &a.steps[0];
    assert_eq!(s.shell.as_deref(), Some("python3 {0}"));
    assert_eq!(s.working_directory.as_deref(), Some("sub/dir"));
    assert_eq!(
        s.condition.as_deref(),
        Some("success() && git.branch != 'x'")
    );
    assert_eq!(
        (s.timeout, s.continue_on_error, s.retry),
        (Some(Duration::from_secs(90)), true, 3)
    );
    let b = &plan.jobs[1];
    assert_eq!(b.services["db"].image, "postgres:16");
    assert_eq!(
        b.services["cache"].command.as_deref(),
        Some(&["redis-server".to_string(), "--save".into(), "\"\"".into()][..])
    );
    assert_eq!(
        b.services["q"].command.as_deref(),
        Some(&["rabbitmq-server".to_string(), "--flag with space".into()][..])
    );
    assert_eq!(b.needs_index, [0]);
}

/// Every complete example in docs/pipelines.md (a YAML block with a top-level `jobs:`)
/// compiles without errors, so the reference cannot drift from the compiler.
#[test]
fn the_examples_in_the_reference_compile() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/pipelines.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let mut blocks = 0;
    for block in doc
        .split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
    {
        if !block.lines().any(|l| l == "jobs:") {
            continue;
        }
        blocks += 1;
        let compiled = compile_ok(block);
        assert!(
            !compiled.has_errors(),
            "{block}\n{}",
            crate::render_all("ci.yml", block, &compiled)
        );
    }
    assert!(blocks >= 8, "found only {blocks} complete examples");
}

#[test]
fn windows_line_endings_and_a_byte_order_mark() {
    let source = "\u{feff}name: ci\r\njobs:\r\n  build:\r\n    need: [x]\r\n    steps:\r\n      - run: |\r\n          echo ${{ matrix.os }}\r\n          two\r\n";
    let compiled = compile_ok(source);
    let found: Vec<(u32, u32, &str)> = compiled
        .diagnostics
        .iter()
        .map(|d| {
            (
                d.span.unwrap().line,
                d.span.unwrap().col,
                d.message.as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (4, 5, "unknown key 'need' in job 'build'"),
            (7, 20, "job 'build' reads matrix.os but has no matrix")
        ]
    );
    let plan = plan_of(
        "jobs:\r\n  build:\r\n    steps:\r\n      - run: |\r\n          one\r\n          two\r\n",
    );
    assert_eq!(plan.jobs[0].steps[0].run, "one\ntwo\n");
}

#[test]
fn runs_on_labels_are_sorted_deduplicated_and_one_label_may_be_a_string() {
    let plan = plan_of(
        "jobs:\n  a:\n    runs_on: [linux, gpu, linux]\n    steps: [make]\n  b:\n    runs_on: arm64\n    steps: [make]\n  c:\n    steps: [make]\n",
    );
    let labels: Vec<Vec<String>> = plan.jobs.iter().map(|j| j.runs_on.clone()).collect();
    assert_eq!(
        labels,
        [
            vec!["gpu".to_string(), "linux".to_string()],
            vec!["arm64".to_string()],
            vec![]
        ]
    );
    // Jobs without runs_on serialise as before (the stored plans of older runs match).
    let json = serde_json::to_value(&plan.jobs[2]).unwrap();
    assert!(json.get("runs_on").is_none());
}
