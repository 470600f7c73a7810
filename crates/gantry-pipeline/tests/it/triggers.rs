//! Trigger matching through compiled pipelines: the `on:` text a user writes, against
//! the events Gantry sees.

use gantry_pipeline::TriggerEvent;

use crate::plan_of;

fn push(branch: Option<&str>, tag: Option<&str>, files: Option<&[&str]>) -> TriggerEvent {
    TriggerEvent::Push {
        branch: branch.map(Into::into),
        tag: tag.map(Into::into),
        changed_files: files.map(|f| f.iter().map(|s| s.to_string()).collect()),
    }
}

fn pr(base: &str, files: Option<&[&str]>) -> TriggerEvent {
    TriggerEvent::PullRequest {
        base_branch: base.into(),
        changed_files: files.map(|f| f.iter().map(|s| s.to_string()).collect()),
    }
}

#[test]
fn trigger_matching_table() {
    let cases: &[(&str, TriggerEvent, bool)] = &[
        ("on: push", push(Some("main"), None, None), true),
        ("on: push", push(None, Some("v1"), None), true),
        ("on: push", pr("main", None), false),
        (
            "on: { push: { branches: [main] } }",
            push(Some("main"), None, None),
            true,
        ),
        (
            "on: { push: { branches: [main] } }",
            push(Some("mainline"), None, None),
            false,
        ),
        (
            "on: { push: { branches: [main] } }",
            push(None, Some("v1"), None),
            false,
        ),
        (
            "on: { push: { branches: ['release/*'] } }",
            push(Some("release/1.x"), None, None),
            true,
        ),
        (
            "on: { push: { branches: ['release/*'] } }",
            push(Some("release/1.x/rc"), None, None),
            false,
        ),
        (
            "on: { push: { branches: ['release/**'] } }",
            push(Some("release/1.x/rc"), None, None),
            true,
        ),
        (
            "on: { push: { tags: ['v*'] } }",
            push(None, Some("v1.2.3"), None),
            true,
        ),
        (
            "on: { push: { tags: ['v*'] } }",
            push(Some("main"), None, None),
            false,
        ),
        (
            "on: { push: { branches_ignore: ['dependabot/**'] } }",
            push(Some("dependabot/npm/x"), None, None),
            false,
        ),
        (
            "on: { push: { branches_ignore: ['dependabot/**'] } }",
            push(Some("main"), None, None),
            true,
        ),
        (
            "on: { push: { branches_ignore: ['dependabot/**'] } }",
            push(None, Some("v1"), None),
            false,
        ),
        (
            "on: { push: { paths: ['src/**'] } }",
            push(Some("main"), None, Some(&["src/a/b.rs"])),
            true,
        ),
        (
            "on: { push: { paths: ['src/**'] } }",
            push(Some("main"), None, Some(&["README.md"])),
            false,
        ),
        (
            "on: { push: { paths: ['src/**'] } }",
            push(Some("main"), None, None),
            true,
        ),
        (
            "on: { push: { paths: ['*.md'] } }",
            push(Some("main"), None, Some(&["docs/a.md"])),
            false,
        ),
        (
            "on: { push: { paths_ignore: ['docs/**'] } }",
            push(Some("main"), None, Some(&["docs/a.md"])),
            false,
        ),
        (
            "on: { push: { paths_ignore: ['docs/**'] } }",
            push(Some("main"), None, Some(&["docs/a.md", "src/x"])),
            true,
        ),
        (
            "on: { push: { paths: ['src/**'] } }",
            push(None, Some("v1"), Some(&["README.md"])),
            true,
        ),
        (
            "on: { pull_request: { branches: [main] } }",
            pr("main", None),
            true,
        ),
        (
            "on: { pull_request: { branches: [main] } }",
            pr("develop", None),
            false,
        ),
        (
            "on: { pull_request: { paths: ['src/**'] } }",
            pr("x", Some(&["src/lib.rs"])),
            true,
        ),
        (
            "on: { pull_request: { paths_ignore: ['**/*.md'] } }",
            pr("x", Some(&["a/b/c.md"])),
            false,
        ),
        ("on: { pull_request: }", pr("anything", None), true),
        (
            "on: { schedule: [{ cron: '0 3 * * *' }] }",
            TriggerEvent::Schedule,
            true,
        ),
        ("on: push", TriggerEvent::Schedule, false),
        ("on: { manual: }", TriggerEvent::Manual, true),
        ("on: [push, pull_request]", TriggerEvent::Manual, false),
    ];
    for (on, event, want) in cases {
        let plan = plan_of(&format!("{on}\njobs: {{ a: {{ steps: [x] }} }}\n"));
        assert_eq!(plan.on.matches(event), *want, "{on} / {event:?}");
    }
}
