//! `package`, `service` and `cron` resources and service handlers: read as written, and
//! every bad field reported at its file:line:col with a suggestion.

use gantry_infra::parse::parse;
use gantry_infra::resource::{PackageState, ServiceState, Spec, State};

/// Renders the diagnostics of a malformed file.
fn errors(source: &str) -> String {
    let parsed = parse("infra/sys.yml", source);
    assert!(parsed.file.is_none(), "expected errors");
    let file = gantry_core::SourceFile::new("infra/sys.yml", source);
    parsed
        .diagnostics
        .iter()
        .map(|d| d.render(Some(&file), false))
        .collect::<Vec<_>>()
        .join("\n")
}

fn expect_all(out: &str, expected: &[&str]) {
    for e in expected {
        assert!(out.contains(e), "missing {e:?} in:\n{out}");
    }
}

const GOOD: &str = r#"- hosts: [web]
  resources:
    - package: { name: nginx }
    - package: { names: [curl, git], state: latest, update_cache: true }
    - package: { name: gantry-hello, version: "1.0" }
    - package: { name: telnet, state: absent }
    - file: { path: /etc/nginx/nginx.conf, content: "events {}\n" }
      notify: [restart nginx]
    - service: { name: nginx, enabled: true, state: running }
    - service: { name: cups.service, enabled: false }
    - cron: { name: backup, schedule: "30 3 * * *", command: "/usr/local/bin/backup", env: { MAILTO: ops@example.com } }
    - cron: { name: cleanup, user: www-data, schedule: "@daily", command: "find /tmp -mtime +7 -delete" }
    - cron: { name: old, state: absent }
  handlers:
    restart nginx: { service: { name: nginx, state: restarted } }
    reload app: { service: { name: app@1, state: reloaded } }
    say: { run: "logger hi" }
"#;

#[test]
fn packages_services_cron_entries_and_service_handlers_are_read_as_written() {
    let parsed = parse("infra/sys.yml", GOOD);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let play = &parsed.file.unwrap().plays[0];
    let ids: Vec<&str> = play.resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "package nginx",
            "package curl git",
            "package gantry-hello",
            "package telnet",
            "file /etc/nginx/nginx.conf",
            "service nginx",
            "service cups.service",
            "cron backup",
            "cron cleanup",
            "cron old"
        ]
    );
    let Spec::Package(nginx) = &play.resources[0].spec else {
        panic!("a package")
    };
    assert_eq!(
        (nginx.state, nginx.update_cache, nginx.version.as_deref()),
        (PackageState::Present, false, None)
    );
    let Spec::Package(tools) = &play.resources[1].spec else {
        panic!("a package")
    };
    assert_eq!(tools.names, ["curl", "git"]);
    assert_eq!(
        (tools.state, tools.update_cache),
        (PackageState::Latest, true)
    );
    let Spec::Package(hello) = &play.resources[2].spec else {
        panic!("a package")
    };
    assert_eq!(hello.version.as_deref(), Some("1.0"));
    let Spec::Service(svc) = &play.resources[5].spec else {
        panic!("a service")
    };
    assert_eq!(
        (svc.name.as_str(), svc.enabled, svc.state),
        ("nginx", Some(true), Some(ServiceState::Running))
    );
    let Spec::Service(cups) = &play.resources[6].spec else {
        panic!("a service")
    };
    assert_eq!((cups.enabled, cups.state), (Some(false), None));
    let Spec::Cron(backup) = &play.resources[7].spec else {
        panic!("a cron entry")
    };
    assert_eq!(backup.user, "root", "root by default");
    assert_eq!(backup.schedule, "30 3 * * *");
    assert_eq!(
        backup.env,
        [("MAILTO".to_string(), "ops@example.com".to_string())]
    );
    let Spec::Cron(old) = &play.resources[9].spec else {
        panic!("a cron entry")
    };
    assert_eq!((old.state, old.command.as_str()), (State::Absent, ""));

    let runs: Vec<(&str, &str, Option<&str>)> = play
        .handlers
        .iter()
        .map(|h| (h.name.as_str(), h.run.as_str(), h.service.as_deref()))
        .collect();
    assert_eq!(
        runs,
        [
            (
                "restart nginx",
                "systemctl restart -- 'nginx'",
                Some("nginx")
            ),
            ("reload app", "systemctl reload -- 'app@1'", Some("app@1")),
            ("say", "logger hi", None)
        ]
    );
}

#[test]
fn bad_package_fields_are_reported_each_at_its_place() {
    let source = r#"- hosts: [web]
  resources:
    - package: { name: "nginx=1.2", state: installed }
    - package: { names: [curl, git], version: "1.0" }
    - package: { name: a, names: [b] }
    - package: { nmae: curl }
    - package: { name: curl, state: latest, version: "7.0" }
    - package: { name: curl, update_cache: yes please }
"#;
    let out = errors(source);
    expect_all(
        &out,
        &[
            "infra/sys.yml:3:24: error: invalid package name 'nginx=1.2' in a 'package' resource",
            "for a version use `version:`",
            "infra/sys.yml:3:44: error: invalid state 'installed' in a 'package' resource",
            "expected one of present, absent, latest",
            "help: write `state: present`",
            "infra/sys.yml:4:47: error: invalid 'version' in a 'package' resource: 'version' only goes with one package",
            "infra/sys.yml:5:34: error: a 'package' resource has both 'name' and 'names'",
            "infra/sys.yml:6:18: error: unknown key 'nmae' in a 'package' resource",
            "did you mean 'name'?",
            "infra/sys.yml:7:54: error: invalid 'version' in a 'package' resource: 'version' only goes with `state: present`",
            "infra/sys.yml:8:44: error: expected true or false for 'update_cache' in a 'package' resource",
        ],
    );
    assert!(
        !out.contains("has no 'name'"),
        "a misspelt key is reported once: {out}"
    );
}

#[test]
fn bad_service_fields_and_handlers_are_reported_each_at_its_place() {
    let source = r#"- hosts: [web]
  resources:
    - service: { name: nginx, state: restarted }
    - service: { name: "bad name", enabled: yes, state: runing }
    - service: { enabled: true }
    - service: { name: idle }
    - file: { path: /etc/x, content: x }
      notify: [restart]
  handlers:
    restart: { service: { name: nginx, state: running } }
    both: { run: "true", service: { name: nginx, state: restarted } }
    neither: { servce: { name: nginx } }
"#;
    let out = errors(source);
    expect_all(
        &out,
        &[
            "infra/sys.yml:3:38: error: invalid state 'restarted' in a 'service' resource",
            "restarting or reloading is a handler's job",
            "infra/sys.yml:4:24: error: invalid unit name 'bad name'",
            "infra/sys.yml:4:45: error: expected true or false for 'enabled' in a 'service' resource",
            "infra/sys.yml:4:57: error: invalid state 'runing' in a 'service' resource",
            "did you mean 'running'?",
            "infra/sys.yml:5:16: error: a 'service' resource has no 'name'",
            "infra/sys.yml:6:16: error: a 'service' resource has neither 'enabled' nor 'state'",
            "infra/sys.yml:10:47: error: invalid state 'running' in a service handler 'restart'",
            "belongs to a `service` resource",
            "infra/sys.yml:11:35: error: handler 'both' has both 'run' and 'service'",
            "infra/sys.yml:12:16: error: unknown key 'servce' in handler 'neither'",
            "did you mean 'service'?",
        ],
    );
}

#[test]
fn bad_cron_fields_are_reported_each_at_its_place() {
    let source = r#"- hosts: [web]
  resources:
    - cron: { name: a, schedule: "61 * * * *", command: x }
    - cron: { name: b, schedule: "* * * *", command: x }
    - cron: { name: c, schedule: "@dialy", command: x }
    - cron: { name: d, schedule: "0 3 * * *" }
    - cron: { name: e, user: "Bad User", schedule: "0 3 * * *", command: x, env: { 1X: y } }
    - cron: { name: f, schedule: "0 3 * * *", command: x, state: gone }
    - cron: { name: g, schedual: "0 3 * * *", command: x }
"#;
    let out = errors(source);
    expect_all(
        &out,
        &[
            "infra/sys.yml:3:34: error: invalid schedule '61 * * * *' in a 'cron' resource",
            "write five fields: minute hour day-of-month month day-of-week",
            "infra/sys.yml:4:34: error: invalid schedule '* * * *' in a 'cron' resource: expected 5 fields, found 4",
            "infra/sys.yml:5:34: error: invalid schedule '@dialy' in a 'cron' resource: unknown nickname (did you mean '@daily'?)",
            "infra/sys.yml:6:13: error: a 'cron' resource has no 'command'",
            "infra/sys.yml:7:30: error: invalid user 'Bad User' in a 'cron' resource",
            "infra/sys.yml:7:84: error: invalid variable name '1X' in 'env'",
            "infra/sys.yml:8:66: error: invalid state 'gone' in a 'cron' resource",
            "infra/sys.yml:9:24: error: unknown key 'schedual' in a 'cron' resource",
            "did you mean 'schedule'?",
        ],
    );
    assert!(
        !out.contains("has no 'schedule'"),
        "a misspelt key is reported once: {out}"
    );
}

/// The example in docs/infra.md, exactly.
#[test]
fn a_bad_schedule_reads_as_documented() {
    let out = errors(
        "- hosts: [web]\n  resources:\n    - cron: { name: bad, schedule: \"0 25 * * *\", command: x }\n",
    );
    let out = out.replace("infra/sys.yml", "infra/cron.yml");
    let docs = include_str!("../../../../docs/infra.md");
    assert!(
        docs.contains(out.trim_end()),
        "docs/infra.md should show:\n{out}"
    );
}
