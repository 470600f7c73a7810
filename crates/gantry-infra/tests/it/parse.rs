//! Resource files: every type read as written, ids, ordering fields, and malformed files
//! reported with file:line:col and a suggestion.

use gantry_infra::parse::parse;
use gantry_infra::resource::{FileContent, Spec, State};

const GOOD: &str = r#"
- hosts: [web, local]
  resources:
    - directory: { path: /srv/app, mode: "0755", owner: root, group: root }
    - name: config
      file: { path: /srv/app/app.conf, content: "port = 80\n", mode: "0640" }
      requires: [directory /srv/app]
      notify: [reload]
    - file: { path: /etc/motd, source: files/motd }
    - symlink: { path: /srv/current, target: /srv/app }
    - line: { path: /etc/hosts.allow, line: "ALL: 10.0.0.0/8", regexp: "^ALL:" }
    - command: { run: "make install", creates: /usr/local/bin/app, unless: "false", only_if: "true" }
  handlers:
    reload: { run: "systemctl reload app" }
"#;

#[test]
fn every_type_is_read_as_written() {
    let parsed = parse("infra/web.yml", GOOD);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let file = parsed.file.unwrap();
    let play = &file.plays[0];
    let targets: Vec<&str> = play.hosts.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(targets, ["web", "local"]);
    let ids: Vec<&str> = play.resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "directory /srv/app",
            "config",
            "file /etc/motd",
            "symlink /srv/current",
            "line /etc/hosts.allow",
            "command make install"
        ]
    );
    let config = &play.resources[1];
    assert_eq!(config.requires, ["directory /srv/app"]);
    assert_eq!(config.notify, ["reload"]);
    assert_eq!(config.location(), "infra/web.yml:5");
    let Spec::File(spec) = &config.spec else {
        panic!("a file")
    };
    assert_eq!(spec.mode, Some(0o640));
    assert_eq!(spec.content, FileContent::Inline("port = 80\n".into()));
    let Spec::File(motd) = &play.resources[2].spec else {
        panic!("a file")
    };
    assert!(matches!(&motd.content, FileContent::Source { path, .. } if path == "files/motd"));
    let Spec::Command(cmd) = &play.resources[5].spec else {
        panic!("a command")
    };
    assert_eq!(cmd.creates.as_deref(), Some("/usr/local/bin/app"));
    assert_eq!(cmd.unless.as_deref(), Some("false"));
    assert_eq!(cmd.only_if.as_deref(), Some("true"));
    assert_eq!(play.handlers[0].name, "reload");
}

/// Renders the diagnostics of a malformed file.
fn errors(source: &str) -> String {
    let parsed = parse("infra/web.yml", source);
    assert!(parsed.file.is_none(), "expected errors");
    let file = gantry_core::SourceFile::new("infra/web.yml", source);
    parsed
        .diagnostics
        .iter()
        .map(|d| d.render(Some(&file), false))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn unknown_keys_name_file_line_and_a_suggestion() {
    let out = errors("- hosts: [web]\n  resources:\n    - file: { path: /a, contnet: x }\n");
    assert!(
        out.contains("infra/web.yml:3:25: error: unknown key 'contnet' in a 'file' resource"),
        "{out}"
    );
    assert!(out.contains("did you mean 'content'?"), "{out}");
    assert!(
        !out.contains("neither"),
        "a misspelt key is reported once: {out}"
    );

    let out = errors("- hosts: [web]\n  resourcs: []\n");
    assert!(
        out.contains("infra/web.yml:2:3: error: unknown key 'resourcs' in a play"),
        "{out}"
    );
    assert!(out.contains("did you mean 'resources'?"), "{out}");

    let out = errors("- hosts: [web]\n  resources:\n    - flie: { path: /a }\n");
    assert!(
        out.contains("infra/web.yml:3:7: error: unknown key 'flie'"),
        "{out}"
    );
    assert!(out.contains("did you mean 'file'?"), "{out}");
}

#[test]
fn bad_values_are_reported_each_at_its_place() {
    let source = "- hosts: [web]\n  resources:\n    - file: { path: etc/motd, content: x, mode: rwx }\n    - line: { path: /a }\n    - directory: { path: /d }\n      requires: [directory /e]\n      notify: [relod]\n  handlers:\n    reload: { run: x }\n";
    let out = errors(source);
    assert!(
        out.contains("infra/web.yml:3:21: error: 'path' must be absolute, found 'etc/motd'"),
        "{out}"
    );
    assert!(
        out.contains("infra/web.yml:3:49: error: invalid mode 'rwx'"),
        "{out}"
    );
    assert!(
        out.contains("infra/web.yml:4:13: error: a 'line' resource has no 'line'"),
        "{out}"
    );
    assert!(
        out.contains("'directory /d' requires 'directory /e', which is not declared in this file"),
        "{out}"
    );
    assert!(
        out.contains("'directory /d' notifies 'relod', which is not a handler in this file"),
        "{out}"
    );
    assert!(out.contains("did you mean 'reload'?"), "{out}");
}

#[test]
fn structure_errors_and_yaml_errors_have_places_too() {
    let out = errors("hosts: [web]\n");
    assert!(
        out.contains("infra/web.yml:1:1: error: expected a list of plays"),
        "{out}"
    );
    let out = errors("- hosts: [web\n");
    assert!(out.contains("infra/web.yml:"), "{out}");
    let out = errors("- resources: []\n");
    assert!(out.contains("a play has no 'hosts'"), "{out}");
    let out = errors(
        "- hosts: [web]\n  resources:\n    - file: { path: /a, content: x }\n      directory: { path: /b }\n",
    );
    assert!(
        out.contains("infra/web.yml:4:7: error: a resource has more than one type"),
        "{out}"
    );
    let out = errors(
        "- hosts: [web]\n  resources:\n    - file: { path: /a, content: x }\n    - file: { path: /a, content: y }\n",
    );
    assert!(out.contains("two resources have the id 'file /a'"), "{out}");
}

#[test]
fn an_empty_file_declares_nothing() {
    let parsed = parse("infra/empty.yml", "");
    assert!(parsed.diagnostics.is_empty());
    assert!(parsed.file.unwrap().plays.is_empty());
}

#[test]
fn templates_are_read_as_files_are_and_their_syntax_checked() {
    let source = "- hosts: [web]\n  resources:\n    - template: { path: /etc/app.conf, source: templates/app.conf.j2, mode: \"0640\" }\n    - template: { path: /etc/motd, content: \"hello {{ host.name }}\\n\" }\n";
    let parsed = parse("infra/web.yml", source);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let play = &parsed.file.unwrap().plays[0];
    let ids: Vec<&str> = play.resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["template /etc/app.conf", "template /etc/motd"]);
    let Spec::Template(t) = &play.resources[0].spec else {
        panic!("a template")
    };
    assert_eq!(t.mode, Some(0o640));
    assert!(
        matches!(&t.template, FileContent::Source { path, .. } if path == "templates/app.conf.j2")
    );

    let out = errors(
        "- hosts: [web]\n  resources:\n    - template: { path: /a, content: \"x\\n{% if %}\\n\" }\n",
    );
    assert!(
        out.contains("infra/web.yml:3:38: error: the template in 'content' does not parse: line 2: syntax error"),
        "{out}"
    );
    let out = errors("- hosts: [web]\n  resources:\n    - template: { path: /a }\n");
    assert!(
        out.contains(
            "infra/web.yml:3:17: error: a 'template' resource has neither 'content' nor 'source'"
        ),
        "{out}"
    );
    let out = errors("- hosts: [web]\n  resources:\n    - template: { path: /a, sorce: t.j2 }\n");
    assert!(out.contains("did you mean 'source'?"), "{out}");
}

#[test]
fn git_checkouts_default_to_head_and_need_a_repo() {
    let source = "- hosts: [web]\n  resources:\n    - git: { path: /srv/app, repo: \"https://git.example.com/app.git\", ref: v1.2 }\n    - git: { path: /srv/tools, repo: /srv/tools.git }\n";
    let parsed = parse("infra/web.yml", source);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let play = &parsed.file.unwrap().plays[0];
    let ids: Vec<&str> = play.resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["git /srv/app", "git /srv/tools"]);
    let (Spec::Git(app), Spec::Git(tools)) = (&play.resources[0].spec, &play.resources[1].spec)
    else {
        panic!("git checkouts")
    };
    assert_eq!(
        (app.repo.as_str(), app.reference.as_str()),
        ("https://git.example.com/app.git", "v1.2")
    );
    assert_eq!(tools.reference, "HEAD");

    let out = errors("- hosts: [web]\n  resources:\n    - git: { path: srv/app, rev: main }\n");
    assert!(
        out.contains("infra/web.yml:3:12: error: a 'git' resource has no 'repo'"),
        "{out}"
    );
    assert!(out.contains("unknown key 'rev'"), "{out}");
    assert!(out.contains("did you mean 'ref'?"), "{out}");
}

#[test]
fn users_and_groups_are_read_as_written() {
    let source = "- hosts: [web]\n  resources:\n    - group: { name: app, gid: 1500, system: true }\n    - user: { name: app, uid: 1500, group: app, groups: [adm, www-data], home: /srv/app, shell: /bin/sh, system: true }\n    - user: { name: old, state: absent }\n";
    let parsed = parse("infra/web.yml", source);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let play = &parsed.file.unwrap().plays[0];
    let ids: Vec<&str> = play.resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["group app", "user app", "user old"]);
    let Spec::Group(group) = &play.resources[0].spec else {
        panic!("a group")
    };
    assert_eq!((group.gid, group.system), (Some(1500), true));
    let Spec::User(user) = &play.resources[1].spec else {
        panic!("a user")
    };
    assert_eq!(user.uid, Some(1500));
    assert_eq!(user.group.as_deref(), Some("app"));
    assert_eq!(
        user.groups.as_deref(),
        Some(&["adm".to_string(), "www-data".to_string()][..])
    );
    assert_eq!(user.home.as_deref(), Some("/srv/app"));
    assert_eq!(user.shell.as_deref(), Some("/bin/sh"));
    assert_eq!(user.state, State::Present);
    let Spec::User(old) = &play.resources[2].spec else {
        panic!("a user")
    };
    assert_eq!((old.state, old.groups.is_none()), (State::Absent, true));
}

#[test]
fn bad_user_and_group_fields_are_reported_each_at_its_place() {
    let source = "- hosts: [web]\n  resources:\n    - user: { name: Bad Name, uid: -1, shell: bin/sh, system: maybe, state: presnt }\n    - group: { gid: x }\n    - user: { name: ok, homedir: /x }\n";
    let out = errors(source);
    for expected in [
        "infra/web.yml:3:21: error: invalid name 'Bad Name' in a 'user' resource",
        "infra/web.yml:3:36: error: 'uid' in a 'user' resource must be between 0 and",
        "infra/web.yml:3:47: error: 'shell' must be an absolute path, found 'bin/sh'",
        "infra/web.yml:3:63: error: expected true or false for 'system' in a 'user' resource",
        "infra/web.yml:3:77: error: invalid state 'presnt' in a 'user' resource",
        "did you mean 'present'?",
        "infra/web.yml:4:14: error: a 'group' resource has no 'name'",
        "infra/web.yml:5:25: error: unknown key 'homedir' in a 'user' resource",
        "did you mean 'home'?",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}
