//! Malformed workspace files and the diagnostics a user sees for them, rendered as
//! `gantry validate` prints them. Add a case: one more entry in `CASES` with an empty
//! expectation, run with `WS_DUMP=/tmp/some-dir` to get the output in `<name>.txt`, read
//! it, and paste it in.

use crate::parse_ok;

/// Renders every diagnostic of `source` and compares with `expected`.
fn check(name: &str, source: &str, expected: &str) {
    let parsed = parse_ok(source);
    assert!(parsed.workspace.is_none(), "{name}: expected an error");
    let actual = parsed.render(source, false);
    if let Ok(dir) = std::env::var("WS_DUMP") {
        let out = format!("{dir}/{name}.txt");
        std::fs::write(out, &actual).unwrap();
    }
    if actual != expected {
        panic!("case {name}\n--- actual ---\n{actual}\n--- expected ---\n{expected}");
    }
}

const CASES: &[(&str, &str, &str)] = &[
    (
        "sudo_not_a_flag",
        "hosts:\n  web1: { address: 10.0.0.1, sudo: yes }\n",
        r#"gantry.yml:2:36: error: expected true or false for 'sudo' in host 'web1', found a string
  |
2 |   web1: { address: 10.0.0.1, sudo: yes }
  |                                    ^^^
"#,
    ),
    (
        "typo_branch",
        "projects:\n  web:\n    repo: https://h/w.git\n    brnach: main\n",
        r#"gantry.yml:4:5: error: unknown key 'brnach' in project 'web'
  |
4 |     brnach: main
  |     ^^^^^^ unknown key
  = help: did you mean 'branch'?
"#,
    ),
    (
        "poll_list",
        "projects:\n  web:\n    repo: https://h/w.git\n    poll: [1, 2]\n",
        r#"gantry.yml:4:11: error: expected a duration like 60s for 'poll' in project 'web', found a list
  |
4 |     poll: [1, 2]
  |           ^^^^^^
"#,
    ),
    (
        "repo_and_path",
        "projects:\n  web:\n    repo: https://h/w.git\n    path: ../web\n",
        r#"gantry.yml:4:5: error: project 'web' has both 'repo' and 'path'
  |
4 |     path: ../web
  |     ^^^^
  = help: keep one: `repo` for a git URL, `path` for a local directory
"#,
    ),
    (
        "neither",
        "projects:\n  web:\n    branch: main\n",
        r#"gantry.yml:2:3: error: project 'web' has neither 'repo' nor 'path'
  |
2 |   web:
  |   ^^^
  = help: add `repo:` with a git URL, or `path:` with a directory
"#,
    ),
    (
        "null_project",
        "projects:\n  web:\n",
        r#"gantry.yml:2:3: error: project 'web' has neither 'repo' nor 'path'
  |
2 |   web:
  |   ^^^
  = help: add `repo:` with a git URL, or `path:` with a directory
"#,
    ),
    (
        "bad_name",
        "projects:\n  Web_App:\n    repo: https://h/w.git\n  -x:\n    path: x\n",
        r#"gantry.yml:2:3: error: invalid project name 'Web_App'
  |
2 |   Web_App:
  |   ^^^^^^^ invalid name
  = help: a project name has lowercase letters, digits, '-' and '_', starts with a letter or digit, and is at most 63 characters long; e.g. 'web_app'

gantry.yml:4:3: error: invalid project name '-x'
  |
4 |   -x:
  |   ^^ invalid name
  = help: a project name has lowercase letters, digits, '-' and '_', starts with a letter or digit, and is at most 63 characters long
"#,
    ),
    (
        "bad_forge_kind",
        "projects:\n  web:\n    repo: https://h/w.git\n    forge: { kind: gihub, repo: a/b, token: { env: T } }\n",
        r#"gantry.yml:4:20: error: unknown forge kind 'gihub'
  |
4 |     forge: { kind: gihub, repo: a/b, token: { env: T } }
  |                    ^^^^^ unknown kind
  = help: did you mean 'github'? The kinds are: github, gitea, forgejo, gitlab
"#,
    ),
    (
        "gitea_no_api_url",
        "projects:\n  web:\n    repo: https://h/w.git\n    forge:\n      kind: gitea\n      repo: a/b\n      token: { env: T }\n",
        r#"gantry.yml:5:7: error: the forge of project 'web' has no 'api_url'; gitea has no default
  |
5 |       kind: gitea
  |       ^^^^^^^^^^^
  = help: add the API root of your gitea instance, e.g. `api_url: https://git.example.com/api/v1`
"#,
    ),
    (
        "poll_too_short",
        "projects:\n  web:\n    repo: https://h/w.git\n    poll: 2s\n",
        r#"gantry.yml:4:11: error: 'poll' in project 'web' must be at least 5s, found 2s
  |
4 |     poll: 2s
  |           ^^
  = help: poll less often, or write `poll: off` and let webhooks start runs
"#,
    ),
    (
        "poll_false",
        "projects:\n  web:\n    repo: https://h/w.git\n    poll: false\n",
        r#"gantry.yml:4:11: error: expected a duration like 60s or off for 'poll' in project 'web', found a boolean
  |
4 |     poll: false
  |           ^^^^^
  = help: write `poll: off` to turn polling off
"#,
    ),
    (
        "poll_bad",
        "projects:\n  web:\n    repo: https://h/w.git\n    poll: 60\n",
        r#"gantry.yml:4:11: error: invalid duration for 'poll' in project 'web': a unit is required; write e.g. 30s, 20m or 1h30m
  |
4 |     poll: 60
  |           ^^ e.g. 30s, 5m or 1h
"#,
    ),
    (
        "bad_url_scheme",
        "projects:\n  web:\n    repo: ftp://h/w.git\n",
        r#"gantry.yml:3:11: error: invalid git URL 'ftp://h/w.git' for 'repo' in project 'web': unsupported scheme 'ftp://'
  |
3 |     repo: ftp://h/w.git
  |           ^^^^^^^^^^^^^
  = help: use an https://, http://, ssh://, git:// or file:// URL, or user@host:path
"#,
    ),
    (
        "repo_is_a_path",
        "projects:\n  web:\n    repo: ../web\n",
        r#"gantry.yml:3:11: error: invalid git URL '../web' for 'repo' in project 'web': this is not a git URL
  |
3 |     repo: ../web
  |           ^^^^^^
  = help: for a local directory write `path: ../web`; for a remote repository use https://, ssh:// or user@host:path
"#,
    ),
    (
        "bad_port",
        "projects:\n  web:\n    repo: https://h:99999/w.git\n",
        r#"gantry.yml:3:11: error: invalid git URL 'https://h:99999/w.git' for 'repo' in project 'web': invalid port '99999'; a port is a number from 1 to 65535
  |
3 |     repo: https://h:99999/w.git
  |           ^^^^^^^^^^^^^^^^^^^^^
"#,
    ),
    (
        "unknown_top",
        "projects:\n  web: { repo: https://h/w.git }\nprojets: {}\nfoo: 1\n",
        r#"gantry.yml:3:1: error: unknown key 'projets' at the top level of the workspace
  |
3 | projets: {}
  | ^^^^^^^ unknown key
  = help: did you mean 'projects'?

gantry.yml:4:1: error: unknown key 'foo' at the top level of the workspace
  |
4 | foo: 1
  | ^^^ unknown key
  = help: the keys allowed here are: server, projects, hosts, groups, environments, services, infra, monitors, oncall, secrets
"#,
    ),
    (
        "server_problems",
        "server:\n  url: ci.example.com\n  parallelism: 0\n  listen: 1\nprojects:\n  web: { repo: https://h/w.git }\n",
        r#"gantry.yml:2:8: error: invalid URL for 'url' in 'server': expected an http:// or https:// URL
  |
2 |   url: ci.example.com
  |        ^^^^^^^^^^^^^^
  = help: write https://ci.example.com

gantry.yml:3:16: error: 'parallelism' in 'server' must be between 1 and 1024, found 0
  |
3 |   parallelism: 0
  |                ^

gantry.yml:4:3: error: unknown key 'listen' in 'server'
  |
4 |   listen: 1
  |   ^^^^^^ unknown key
  = help: the keys allowed here are: url, parallelism, unlabeled_jobs, agent_lease
"#,
    ),
    (
        "secret_ref_problems",
        "projects:\n  web:\n    repo: https://h/w.git\n    webhook_secret: { env: 1BAD }\n  api:\n    repo: https://h/a.git\n    webhook_secret: { env: A, file: b }\n  ops:\n    repo: https://h/o.git\n    webhook_secret: { envv: A }\n",
        r#"gantry.yml:4:28: error: invalid environment variable name '1BAD' for 'webhook_secret' in project 'web'
  |
4 |     webhook_secret: { env: 1BAD }
  |                            ^^^^
  = help: use letters, digits and '_', not starting with a digit

gantry.yml:7:37: error: 'webhook_secret' in project 'api' has both 'env' and 'file'; a secret comes from one place
  |
7 |     webhook_secret: { env: A, file: b }
  |                                     ^
  = help: keep one of them

gantry.yml:10:23: error: unknown key 'envv' in a secret reference
   |
10 |     webhook_secret: { envv: A }
   |                       ^^^^ unknown key
  = help: did you mean 'env'?
"#,
    ),
    (
        "forge_missing_fields",
        "projects:\n  web:\n    repo: https://h/w.git\n    forge: { kind: github }\n",
        r#"gantry.yml:4:12: error: the forge of project 'web' has no 'repo'
  |
4 |     forge: { kind: github }
  |            ^^^^^^^^^^^^^^^^
  = help: add `repo:` with the repository on the forge: owner/name, or the GitLab project path

gantry.yml:4:12: error: the forge of project 'web' has no 'token'
  |
4 |     forge: { kind: github }
  |            ^^^^^^^^^^^^^^^^
  = help: add `token: { env: WEB_FORGE_TOKEN }` with a token that may set commit statuses
"#,
    ),
    (
        "forge_bad_repo",
        "projects:\n  web:\n    repo: https://h/w.git\n    forge: { kind: github, repo: web, token: { env: T }, api_url: \"https://u:p@h\" }\n",
        r#"gantry.yml:4:34: error: invalid forge repository 'web' for 'repo' in the forge of project 'web'
  |
4 |     forge: { kind: github, repo: web, token: { env: T }, api_url: ****************}
  |                                  ^^^
  = help: write owner/name, e.g. team/web

gantry.yml:4:67: error: invalid URL 'https://h' for 'api_url' in the forge of project 'web': the URL must not contain credentials
  |
4 |     forge: { kind: github, repo: web, token: { env: T }, api_url: ****************}
  |                                                                   ^^^^^^^^^^^^^^^^
  = help: remove the user:password@ part; give a token with `token:`
"#,
    ),
    (
        "pipelines_outside",
        "projects:\n  web:\n    repo: https://h/w.git\n    pipelines: ../x\n    branch: \"feature..x\"\n",
        r#"gantry.yml:4:16: error: 'pipelines' in project 'web' must be a directory inside the repository, found '../x'
  |
4 |     pipelines: ../x
  |                ^^^^
  = help: write a relative path without '..', e.g. .gantry/pipelines

gantry.yml:5:13: error: invalid branch name 'feature..x' for 'branch' in project 'web': it contains '..', '@{' or '//'
  |
5 |     branch: "feature..x"
  |             ^^^^^^^^^^^^
"#,
    ),
    (
        "wrong_types",
        "projects: [web]\nserver: yes\n",
        r#"gantry.yml:1:11: error: expected a map of project names to projects for 'projects', found a list
  |
1 | projects: [web]
  |           ^^^^^

gantry.yml:2:9: error: expected a map (url, parallelism, unlabeled_jobs, agent_lease) for 'server', found a string
  |
2 | server: yes
  |         ^^^
"#,
    ),
    (
        "empty_file",
        "# nothing here\n",
        r#"gantry.yml: error: the workspace file is empty
  = help: declare the projects to build under `projects:`, see docs/workspace.md
"#,
    ),
    (
        "yaml_syntax",
        "projects:\n  web: { repo: https://h/w.git\n",
        r#"gantry.yml:3:1: error: invalid YAML: while parsing a flow mapping, did not find expected ',' or '}'
  |
3 | 
  | ^
  = help: inside [ ] and { }, a value containing '{', '}', '[', ']' or ',' must be quoted
"#,
    ),
    (
        "duplicate_project",
        "projects:\n  web: { repo: https://h/w.git }\n  web: { repo: https://h/x.git }\n",
        r#"gantry.yml:3:3: error: duplicate key 'web'
  |
3 |   web: { repo: https://h/x.git }
  |   ^^^ defined again here
  = help: remove one of them; YAML keeps only one value per key
  = note: first defined at line 2, column 3
"#,
    ),
    (
        "two_documents",
        "projects: {}\n---\nprojects: {}\n",
        r#"gantry.yml:1:1: warning: the workspace declares no projects
  |
1 | projects: {}
  | ^^^^^^^^
  = help: add `projects:` with a project, e.g. `projects: { web: { repo: https://git.example.com/team/web.git } }`

gantry.yml:2:1: error: the workspace file holds one YAML document, but a second one starts here
  |
2 | ---
  | ^^^ second document
  = help: remove the `---` line, or merge the two documents into one
"#,
    ),
    (
        "dash_key",
        "projects:\n  web:\n    repo: https://h/w.git\n    webhook-secret: { env: X }\n",
        r#"gantry.yml:4:5: error: unknown key 'webhook-secret' in project 'web'
  |
4 |     webhook-secret: { env: X }
  |     ^^^^^^^^^^^^^^ unknown key
  = help: did you mean 'webhook_secret'? Gantry keys are written with underscores
"#,
    ),
    (
        "host_typo",
        "hosts:\n  web1:\n    adress: 10.0.0.1\n    groups: [web]\n",
        r#"gantry.yml:3:5: error: unknown key 'adress' in host 'web1'
  |
3 |     adress: 10.0.0.1
  |     ^^^^^^ unknown key
  = help: did you mean 'address'?
"#,
    ),
    (
        "host_problems",
        "hosts:\n  Web1: { address: 10.0.0.1 }\n  db: { address: [1], port: 70000, groups: web }\n  local: { address: 10.0.0.9 }\n",
        r#"gantry.yml:2:3: error: invalid host name 'Web1'
  |
2 |   Web1: { address: 10.0.0.1 }
  |   ^^^^ invalid name
  = help: a host name has lowercase letters, digits, '-', '_' and '.', starts with a letter or digit, and is at most 63 characters long

gantry.yml:3:18: error: expected a string for 'address' in host 'db', found a list
  |
3 |   db: { address: [1], port: 70000, groups: web }
  |                  ^^^

gantry.yml:3:29: error: 'port' in host 'db' must be between 1 and 65535, found 70000
  |
3 |   db: { address: [1], port: 70000, groups: web }
  |                             ^^^^^

gantry.yml:3:44: error: expected a list of names for 'groups' in host 'db', found a string
  |
3 |   db: { address: [1], port: 70000, groups: web }
  |                                            ^^^

gantry.yml:4:12: error: 'address' does not apply to the built-in host 'local'
  |
4 |   local: { address: 10.0.0.9 }
  |            ^^^^^^^
  = help: 'local' is this machine, reached without SSH; it takes only `groups`, `vars` and `sudo`
"#,
    ),
    (
        "group_and_vars",
        "hosts:\n  a: { address: 10.0.0.1, vars: { 1x: 2, ok: 3 } }\ngroups:\n  web: { var: { a: 1 } }\ninfra: [/etc/*.yml]\n",
        r#"gantry.yml:2:35: error: invalid var name '1x' in 'vars' in host 'a'
  |
2 |   a: { address: 10.0.0.1, vars: { 1x: 2, ok: 3 } }
  |                                   ^^
  = help: a var name has letters, digits and '_', and does not start with a digit (templates refer to it by name)

gantry.yml:4:10: error: unknown key 'var' in group 'web'
  |
4 |   web: { var: { a: 1 } }
  |          ^^^ unknown key
  = help: did you mean 'vars'?

gantry.yml:5:9: error: an 'infra' glob must stay inside the workspace
  |
5 | infra: [/etc/*.yml]
  |         ^^^^^^^^^^
  = help: write it relative to the workspace directory, e.g. infra/*.yml
"#,
    ),
    (
        "group_drift",
        "groups:\n  web: { drift: { every: soon } }\n  db: { drift: { evry: 5m } }\n",
        r#"gantry.yml:1:1: warning: the workspace declares no projects
  |
1 | groups:
  | ^^^^^^^
  = help: add `projects:` with a project, e.g. `projects: { web: { repo: https://git.example.com/team/web.git } }`

gantry.yml:2:26: error: invalid duration for 'every' in 'drift' in group 'web': expected a number with a unit (ms, s, m, h, d), e.g. 30s, 20m or 1h30m
  |
2 |   web: { drift: { every: soon } }
  |                          ^^^^ e.g. 30s, 5m or 1h

gantry.yml:3:16: error: 'drift' in group 'db' needs 'every'
  |
3 |   db: { drift: { evry: 5m } }
  |                ^^^^^^^^^^^^^ missing 'every'

gantry.yml:3:18: error: unknown key 'evry' in 'drift' in group 'db'
  |
3 |   db: { drift: { evry: 5m } }
  |                  ^^^^ unknown key
  = help: did you mean 'every'?
"#,
    ),
];

#[test]
fn malformed_files_render_their_diagnostics() {
    let mut failures = Vec::new();
    for (name, source, expected) in CASES {
        if let Err(e) = std::panic::catch_unwind(|| check(name, source, expected)) {
            failures.push(e.downcast_ref::<String>().cloned().unwrap_or_default());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n=====\n"));
}
