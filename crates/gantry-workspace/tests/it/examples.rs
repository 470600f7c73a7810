//! The repository's own examples/gantry.yml loads, with the six example projects.

use std::path::Path;

use gantry_workspace::{ProjectSource, load};

#[test]
fn the_examples_workspace_declares_every_example_project() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let loaded = load(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        loaded.diagnostics.is_empty(),
        "{}",
        loaded.render(&loaded.diagnostics, false)
    );
    let names: Vec<&str> = loaded
        .workspace
        .projects
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        [
            "rust-ci",
            "fan-out",
            "matrix",
            "outputs",
            "failure",
            "docker-service"
        ]
    );
    let examples = dir.canonicalize().unwrap();
    for (name, project) in &loaded.workspace.projects {
        assert_eq!(project.source, ProjectSource::Path(examples.join(name)));
        assert_eq!(project.poll, None, "{name} polls");
        assert!(examples.join(name).join(&project.pipelines_dir).is_dir());
    }
}
