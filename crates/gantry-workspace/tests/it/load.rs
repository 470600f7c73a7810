//! `load` on real directories: a missing file, relative `path:` projects resolved and
//! canonicalised, a missing directory reported at its `path:`, `{ file: }` secrets read
//! from the workspace directory.

use std::fs;

use gantry_workspace::{LoadError, ProjectSource, SecretSource, load};

#[test]
fn a_missing_workspace_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let err = load(dir.path()).unwrap_err();
    let expected = dir.path().join("gantry.yml");
    assert!(
        matches!(&err, LoadError::Missing { path } if *path == expected),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&expected.display().to_string()),
        "{err}"
    );
}

#[test]
fn resolves_paths_and_reads_file_secrets_from_the_workspace_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("ops")).unwrap();
    fs::create_dir_all(root.join("web/.gantry/pipelines")).unwrap();
    fs::create_dir_all(root.join("ops/secrets")).unwrap();
    fs::write(root.join("ops/secrets/hook"), "from-a-file\n").unwrap();
    fs::write(
        root.join("ops/gantry.yml"),
        "projects:\n  web:\n    path: ../web\n    webhook_secret: { file: secrets/hook }\n  tools:\n    path: ../ops\n    poll: off\n",
    )
    .unwrap();

    let loaded = load(&root.join("ops")).unwrap();
    let canonical = root.canonicalize().unwrap();
    assert_eq!(loaded.dir, canonical.join("ops"));
    let web = loaded.workspace.project("web").unwrap();
    assert_eq!(web.source, ProjectSource::Path(canonical.join("web")));
    assert_eq!(
        web.git_url(),
        format!("file://{}", canonical.join("web").display())
    );
    assert_eq!(
        web.webhook_secret.as_ref().unwrap().source,
        SecretSource::File(canonical.join("ops/secrets/hook"))
    );
    // `tools` has no .gantry/pipelines: a warning at its `path:`, not an error.
    assert_eq!(loaded.diagnostics.len(), 1, "{:?}", loaded.diagnostics);
    let warning = &loaded.diagnostics[0];
    assert!(!warning.is_error());
    assert_eq!(warning.span.map(|s| (s.line, s.col)), Some((6, 11)));
    assert!(
        warning
            .message
            .starts_with("project 'tools' has no pipeline directory '.gantry/pipelines'")
    );
    assert!(
        loaded
            .render(&loaded.diagnostics, false)
            .contains("6 |     path: ../ops\n")
    );

    let secrets = loaded.resolve_secrets().unwrap();
    assert_eq!(
        secrets
            .project("web")
            .unwrap()
            .webhook_secret
            .as_ref()
            .unwrap()
            .expose(),
        "from-a-file"
    );
    assert!(!format!("{loaded:?}").contains("from-a-file"));
}

#[test]
fn a_missing_project_directory_is_an_error_at_its_path() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("gantry.yml"),
        "projects:\n  web:\n    path: nowhere\n  api:\n    repo: https://h/a.git\n    webhook_secret: literal-hook-secret\n",
    )
    .unwrap();
    let err = load(dir.path()).unwrap_err();
    let LoadError::Invalid(invalid) = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    let errors: Vec<_> = invalid
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].span.map(|s| (s.line, s.col)), Some((3, 11)));
    assert!(
        errors[0]
            .message
            .starts_with("directory 'nowhere' of project 'web' does not exist (looked for "),
        "{}",
        errors[0].message
    );
    let rendered = invalid.render(false);
    assert!(
        rendered.contains("3 |     path: nowhere\n  |           ^^^^^^^"),
        "{rendered}"
    );
    assert!(!rendered.contains("literal-hook-secret"), "{rendered}");
    let display = err.to_string();
    assert!(
        display.contains("has 1 error(s)") && display.contains(":3:11: error: directory 'nowhere'"),
        "{display}"
    );
    assert!(
        !display.contains("literal-hook-secret")
            && !format!("{err:?}").contains("literal-hook-secret")
    );
}

#[test]
fn a_path_to_a_file_is_not_a_project_directory() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("notes.txt"), "x").unwrap();
    fs::write(
        dir.path().join("gantry.yml"),
        "projects:\n  web: { path: notes.txt }\n",
    )
    .unwrap();
    let LoadError::Invalid(invalid) = load(dir.path()).unwrap_err() else {
        panic!("expected Invalid");
    };
    assert!(
        invalid.diagnostics[0]
            .message
            .starts_with("'path' of project 'web' is not a directory: ")
    );
}

#[test]
fn parse_errors_come_back_with_the_source_to_render() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("gantry.yml"),
        "projects:\n  web: { repo: https://h/w.git, pol: 1m }\n",
    )
    .unwrap();
    let LoadError::Invalid(invalid) = load(dir.path()).unwrap_err() else {
        panic!("expected Invalid");
    };
    let file = dir.path().join("gantry.yml").display().to_string();
    assert_eq!(
        invalid.render(false),
        format!(
            "{file}:2:33: error: unknown key 'pol' in project 'web'\n  |\n2 |   web: {{ repo: https://h/w.git, pol: 1m }}\n  |                                 ^^^ unknown key\n  = help: did you mean 'poll'?\n"
        )
    );
}
