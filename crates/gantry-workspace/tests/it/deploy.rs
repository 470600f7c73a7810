//! The deploy sections: `environments:` and `services:` read as written with their
//! defaults, and every mistake reported at its line and column with a suggestion. Add a
//! case: one more entry in `CASES` with an empty expectation, run with
//! `WS_DUMP=/tmp/some-dir`, read `<name>.txt` and paste it in.

use std::path::PathBuf;
use std::time::Duration;

use gantry_workspace::{
    Batch, DEFAULT_DRAIN, DEFAULT_HEALTH_RETRIES, DEFAULT_KEEP, DEFAULT_LOCK_LEASE, HealthCheck,
    Run, Strategy,
};

use crate::{parse_ok, workspace_of};

const HOSTS: &str = "hosts:
  app1: { address: 10.0.0.11, groups: [web, staging] }
  app2: { address: 10.0.0.12, groups: [web] }
  app3: { address: 10.0.0.13, groups: [web] }
";

const FULL: &str = r#"projects:
  web: { repo: "https://git.example.com/team/web.git" }
environments:
  staging: { hosts: [staging], auto_deploy: { branch: main } }
  production:
    hosts: [web, app1]
    approvals: 1
    branches: [main, "release/*"]
    lock_lease: 2m
services:
  web:
    project: web
    artifact: { job: build, path: target/release/app }
    run:
      systemd:
        exec: "{{ release_dir }}/app --port {{ port }}"
        env: { RUST_LOG: info, VERSION: "{{ version }}" }
        user: www-data
    port: 8080
    health:
      http: { path: /healthz, expect: 204, timeout: 2s }
      tcp: {}
      command: "systemctl is-active gantry-web"
      interval: 500ms
      retries: 3
      timeout: 1s
    hooks: { pre: "echo pre", post: "echo post" }
    strategy: { rolling: { batch: "25%", pause: 10s } }
    keep: 3
  worker:
    run: { systemd: { exec: "{{ release_dir }}/worker" } }
"#;

fn full() -> String {
    format!("{HOSTS}{FULL}")
}

#[test]
fn environments_and_services_are_read_as_written() {
    let source = full();
    let parsed = parse_ok(&source);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let ws = parsed.workspace.unwrap();

    let staging = &ws.environments["staging"];
    assert_eq!(staging.hosts, ["staging"]);
    assert_eq!(staging.approvals, 0);
    assert!(staging.branches.is_empty());
    assert_eq!(staging.lock_lease, DEFAULT_LOCK_LEASE);
    assert_eq!(
        staging.auto_deploy.as_ref().map(|a| a.branch.as_str()),
        Some("main")
    );
    let prod = &ws.environments["production"];
    assert_eq!(prod.auto_deploy, None);
    assert_eq!(prod.approvals, 1);
    assert_eq!(prod.branches, ["main", "release/*"]);
    assert_eq!(prod.lock_lease, Duration::from_secs(120));
    let names: Vec<String> = prod
        .resolve_hosts(&ws.inventory)
        .into_iter()
        .map(|h| h.name)
        .collect();
    assert_eq!(names, ["app1", "app2", "app3"], "each host once");

    let web = &ws.services["web"];
    assert_eq!(web.project.as_deref(), Some("web"));
    assert_eq!(web.artifact.job.as_deref(), Some("build"));
    assert_eq!(web.artifact.path, Some(PathBuf::from("target/release/app")));
    let Run::Systemd(run) = &web.run else {
        panic!("{:?}", web.run)
    };
    assert_eq!(run.exec, "{{ release_dir }}/app --port {{ port }}");
    assert_eq!(run.env["VERSION"], "{{ version }}");
    assert_eq!(run.user.as_deref(), Some("www-data"));
    assert_eq!(web.port, Some(8080));
    let health = web.health.as_ref().unwrap();
    assert_eq!(health.interval, Duration::from_millis(500));
    assert_eq!(
        (health.retries, health.timeout),
        (3, Duration::from_secs(1))
    );
    assert_eq!(
        health.checks,
        [
            HealthCheck::Http {
                path: "/healthz".into(),
                expect: 204,
                port: None,
                timeout: Some(Duration::from_secs(2)),
            },
            HealthCheck::Tcp {
                port: None,
                timeout: None
            },
            HealthCheck::Command {
                run: "systemctl is-active gantry-web".into()
            },
        ]
    );
    assert_eq!(web.hooks.pre.as_deref(), Some("echo pre"));
    let Strategy::Rolling(rolling) = &web.strategy else {
        panic!("{:?}", web.strategy)
    };
    assert_eq!(rolling.batch, Batch::Percent(25));
    assert_eq!(rolling.pause, Some(Duration::from_secs(10)));
    assert_eq!(web.keep, 3);

    let worker = &ws.services["worker"];
    assert_eq!(worker.keep, DEFAULT_KEEP);
    assert!(worker.health.is_none() && worker.port.is_none());
    assert_eq!(worker.strategy, Strategy::default());
    assert_eq!(DEFAULT_HEALTH_RETRIES, 10);
}

#[test]
fn a_blue_green_strategy_is_read_with_its_defaults() {
    let source = format!(
        "{HOSTS}services:\n  web:\n    run: {{ systemd: {{ exec: /bin/app }} }}\n    port: 8080\n    strategy: {{ blue_green: {{ ports: [8081, 8082] }} }}\n  api:\n    run: {{ systemd: {{ exec: /bin/api }} }}\n    port: 9000\n    strategy: {{ blue_green: {{ ports: [9001, 9002], drain: 30s, batch: 2 }} }}\n"
    );
    let ws = workspace_of(&source);
    let Strategy::BlueGreen(web) = &ws.services["web"].strategy else {
        panic!("{:?}", ws.services["web"].strategy)
    };
    assert_eq!(web.ports, [8081, 8082]);
    assert_eq!(web.drain, DEFAULT_DRAIN);
    assert_eq!(web.batch, Batch::Percent(100));
    let Strategy::BlueGreen(api) = &ws.services["api"].strategy else {
        panic!("{:?}", ws.services["api"].strategy)
    };
    assert_eq!(api.drain, Duration::from_secs(30));
    assert_eq!(api.batch, Batch::Count(2));
}

#[test]
fn the_canary_example_in_docs_deploy_md_is_valid() {
    let docs = include_str!("../../../../docs/deploy.md");
    let block = docs
        .split("```yaml\n")
        .find(|b| b.contains("canary:") && b.contains("api:"))
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let ws = workspace_of(block);
    let Strategy::Canary(c) = &ws.services["api"].strategy else {
        panic!("{:?}", ws.services["api"].strategy)
    };
    assert_eq!(c.ports, [9001, 9002]);
    let weights: Vec<u32> = c.steps.iter().map(|s| s.weight).collect();
    assert_eq!(weights, [10, 50]);
    assert_eq!(c.steps[1].hold, Duration::from_secs(300));
    assert!((c.analysis.max_error_rate - 0.01).abs() < 1e-12);
    assert_eq!(c.analysis.max_latency, Some(Duration::from_millis(300)));
    assert_eq!(c.analysis.min_requests, 50);
    let prom = c.analysis.prometheus.as_ref().unwrap();
    assert_eq!(prom.url, "http://prometheus.internal:9090");
    assert!(prom.query.ends_with("or vector(0)"));
    assert!((prom.max - 0.01).abs() < 1e-12);
    assert_eq!(c.drain, Duration::from_secs(10));
}

#[test]
fn deploy_windows_are_read_with_their_days_hours_and_zone() {
    let source = format!(
        "{HOSTS}environments:\n  production:\n    hosts: [web]\n    windows:\n      - {{ days: mon-fri, from: \"09:00\", to: \"17:00\", timezone: Europe/Berlin }}\n      - {{ days: \"fri-mon\", from: \"22:00\", to: \"02:00\" }}\n"
    );
    let ws = workspace_of(&source);
    let w = &ws.environments["production"].windows;
    assert_eq!(w.len(), 2);
    assert_eq!((w[0].days, w[0].from, w[0].to), (0b0001_1111, 540, 1020));
    assert_eq!(w[0].timezone, "Europe/Berlin");
    assert_eq!(w[0].text, "mon-fri 09:00-17:00 Europe/Berlin");
    assert_eq!((w[1].days, w[1].from, w[1].to), (0b0111_0001, 1320, 120));
    assert_eq!(w[1].timezone, "UTC");
    assert!(w[1].contains(6, 23 * 60) && w[1].contains(0, 60) && !w[1].contains(2, 23 * 60));
}

#[test]
fn the_worked_example_in_docs_deploy_md_is_valid() {
    let docs = include_str!("../../../../docs/deploy.md");
    let block = docs
        .split("```yaml\n")
        .find(|b| b.contains("stage1:"))
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let ws = workspace_of(block);
    let production = &ws.environments["production"];
    assert_eq!(production.approvals, 1);
    assert_eq!(production.branches, ["main"]);
    assert_eq!(
        production.windows[0].text,
        "mon-thu 09:00-16:00 Europe/Berlin"
    );
    let Strategy::Canary(c) = &ws.services["web"].strategy else {
        panic!("{:?}", ws.services["web"].strategy)
    };
    assert_eq!(c.analysis.min_requests, 100);
}

#[test]
fn batch_sizes_round_percentages_up_and_never_reach_zero() {
    assert_eq!(Batch::Count(2).size(4), 2);
    assert_eq!(Batch::Count(5).size(4), 5);
    assert_eq!(Batch::Percent(25).size(4), 1);
    assert_eq!(Batch::Percent(25).size(5), 2);
    assert_eq!(Batch::Percent(50).size(3), 2);
    assert_eq!(Batch::Percent(1).size(1), 1);
    assert_eq!(Batch::Percent(100).size(7), 7);
    assert_eq!(Batch::Percent(10).size(0), 1);
}

#[test]
fn a_docker_service_is_read_as_written() {
    let source = format!(
        r#"{HOSTS}services:
  api:
    artifact: {{ path: build/api-image.tar }}
    run:
      docker:
        image: "registry.example.com/api:{{{{ version }}}}"
        port: 3000
        env: {{ RUST_LOG: info, API_TOKEN: "s3cret-{{{{ region }}}}" }}
        args: [--listen, "0.0.0.0:3000", ""]
        volumes: ["/srv/api:/data:ro"]
        network: backend
        user: "1000"
        name: "api-{{{{ region }}}}"
    port: 8080
  worker:
    run: {{ docker: {{ image: worker, network: host, args: [--port, "{{{{ port }}}}"] }} }}
    port: 9000
"#
    );
    let ws = workspace_of(&source);
    let Run::Docker(api) = &ws.services["api"].run else {
        panic!("{:?}", ws.services["api"].run)
    };
    assert_eq!(api.image, "registry.example.com/api:{{ version }}");
    assert_eq!(api.port, Some(3000));
    assert_eq!(api.env["API_TOKEN"], "s3cret-{{ region }}");
    assert_eq!(api.args, ["--listen", "0.0.0.0:3000", ""]);
    assert_eq!(api.volumes, ["/srv/api:/data:ro"]);
    assert_eq!(api.network.as_deref(), Some("backend"));
    assert_eq!(api.user.as_deref(), Some("1000"));
    assert_eq!(api.name.as_deref(), Some("api-{{ region }}"));
    // Env values may be credentials: Debug names the variables only.
    let debug = format!("{:?}", ws.services["api"]);
    assert!(
        debug.contains("API_TOKEN") && !debug.contains("s3cret"),
        "{debug}"
    );
    let Run::Docker(worker) = &ws.services["worker"].run else {
        panic!("{:?}", ws.services["worker"].run)
    };
    assert_eq!(worker.port, None);
    assert!(worker.env.is_empty() && worker.volumes.is_empty() && worker.name.is_none());
    let json = serde_json::to_value(&ws.services["worker"].run).unwrap();
    assert_eq!(json["docker"]["image"], "worker");
}

#[test]
fn the_docker_example_in_docs_deploy_md_is_valid() {
    let docs = include_str!("../../../../docs/deploy.md");
    let block = docs
        .split("```yaml\n")
        .find(|b| b.contains("docker:") && b.contains("image:"))
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let ws = workspace_of(block);
    let Run::Docker(run) = &ws.services["web"].run else {
        panic!("{:?}", ws.services["web"].run)
    };
    assert_eq!(run.image, "web:{{ version }}");
    assert_eq!(run.port, Some(3000));
}

/// Renders every diagnostic of `HOSTS + source` and compares with `expected`.
fn check(name: &str, source: &str, expected: &str) -> Result<(), String> {
    let source = format!("{HOSTS}{source}");
    let parsed = parse_ok(&source);
    assert!(parsed.workspace.is_none(), "{name}: expected an error");
    let actual = parsed.render(&source, false);
    if let Ok(dir) = std::env::var("WS_DUMP") {
        std::fs::write(format!("{dir}/deploy_{name}.txt"), &actual).unwrap();
    }
    if actual != expected {
        return Err(format!(
            "case {name}\n--- actual ---\n{actual}\n--- expected ---\n{expected}"
        ));
    }
    Ok(())
}

#[test]
fn env_values_read_declared_secrets() {
    let source = format!(
        "{HOSTS}secrets:\n  db: {{ file: keys/db }}\n  api: {{ env: API_TOKEN }}\nservices:
  web:
    run:
      systemd:
        exec: \"{{{{ release_dir }}}}/app\"
        env: {{ DB_PASSWORD: \"{{{{ secrets.db }}}}\", URL: \"https://x:{{{{ secrets.api | urlencode }}}}@h/{{{{ secrets.db }}}}\", MODE: x y }}
  box:
    run: {{ docker: {{ image: box, env: {{ TOKEN: \"{{{{ secrets.api }}}}\" }} }} }}
"
    );
    let ws = workspace_of(&source);
    assert_eq!(ws.services["web"].run.secrets_used(), ["api", "db"]);
    assert_eq!(ws.services["box"].run.secrets_used(), ["api"]);
    assert!(ws.services["web"].run.env()["MODE"] == "x y");
}

const CASES: &[(&str, &str, &str)] = &[
    (
        "secret_unknown",
        "secrets:\n  db_password: { file: keys/db }\nservices:\n  web:\n    run: { systemd: { exec: /bin/app, env: { DB: \"x{{ secrets.db_pasword }}\" } } }\n",
        r#"gantry.yml:9:55: error: unknown secret 'db_pasword' in 'DB' in 'env' in 'systemd' in service 'web'
  |
9 |     run: { systemd: { exec: /bin/app, env: { DB: "x{{ secrets.db_pasword }}" } } }
  |                                                       ^^^^^^^^^^^^^^^^^^ not in `secrets:`
  = help: did you mean 'db_password'?
"#,
    ),
    (
        "secret_undeclared",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app, env: { DB: \"{{ secrets.db }}\" } } }\n",
        r#"gantry.yml:7:54: error: unknown secret 'db' in 'DB' in 'env' in 'systemd' in service 'web'
  |
7 |     run: { systemd: { exec: /bin/app, env: { DB: "{{ secrets.db }}" } } }
  |                                                      ^^^^^^^^^^ not in `secrets:`
  = help: declare it at the top level, e.g. `secrets: { db: { file: keys/db } }` or `{ env: VARIABLE }`
"#,
    ),
    (
        "secret_in_exec",
        "secrets:\n  db: { file: keys/db }\nservices:\n  web:\n    run: { systemd: { exec: \"/bin/app --password {{ secrets.db }}\" } }\n",
        r#"gantry.yml:9:53: error: secrets cannot be used in 'exec' in 'systemd' in service 'web'
  |
9 |     run: { systemd: { exec: "/bin/app --password {{ secrets.db }}" } }
  |                                                     ^^^^^^^ would be in the unit file or on a command line, readable on the host
  = help: pass it in `env:` (`DB_PASSWORD: "{{ secrets.db }}"`), which the service reads from a file only root can read, and use the variable
"#,
    ),
    (
        "secret_in_docker_args_and_whole",
        "secrets:\n  db: { file: keys/db }\nservices:\n  web:\n    run: { docker: { image: \"web:{{ secrets.db }}\", args: [\"--token={{ secrets.db }}\"], env: { ALL: \"{{ secrets | tojson }}\" } } }\n",
        r#"gantry.yml:9:37: error: secrets cannot be used in 'image' in 'docker' in service 'web'
  |
9 |     run: { docker: { image: "web:{{ secrets.db }}", args: ["--token={{ secrets.db }}"], env: { ALL: "{{ secrets | tojson }}" } } }
  |                                     ^^^^^^^ would be in the unit file or on a command line, readable on the host
  = help: pass it in `env:` (`DB_PASSWORD: "{{ secrets.db }}"`), which the service reads from a file only root can read, and use the variable

gantry.yml:9:72: error: secrets cannot be used in item 1 of 'args' in 'docker' in service 'web'
  |
9 |     run: { docker: { image: "web:{{ secrets.db }}", args: ["--token={{ secrets.db }}"], env: { ALL: "{{ secrets | tojson }}" } } }
  |                                                                        ^^^^^^^ would be in the unit file or on a command line, readable on the host
  = help: pass it in `env:` (`DB_PASSWORD: "{{ secrets.db }}"`), which the service reads from a file only root can read, and use the variable

gantry.yml:9:105: error: 'ALL' in 'env' in 'docker' in service 'web' reads `secrets` as a whole
  |
9 |     run: { docker: { image: "web:{{ secrets.db }}", args: ["--token={{ secrets.db }}"], env: { ALL: "{{ secrets | tojson }}" } } }
  |                                                                                                         ^^^^^^^ which secret?
  = help: name one secret: {{ secrets.NAME }}
"#,
    ),
    (
        "auto_deploy_without_branch",
        "environments:\n  staging: { hosts: [web], auto_deploy: { brnch: main } }\n",
        r#"gantry.yml:6:43: error: unknown key 'brnch' in 'auto_deploy' in environment 'staging'
  |
6 |   staging: { hosts: [web], auto_deploy: { brnch: main } }
  |                                           ^^^^^ unknown key
  = help: did you mean 'branch'?
"#,
    ),
    (
        "auto_deploy_not_a_map",
        "environments:\n  staging: { hosts: [web], auto_deploy: main }\n",
        r#"gantry.yml:6:41: error: expected a map with 'branch', e.g. `{ branch: main }` for 'auto_deploy' in environment 'staging', found a string
  |
6 |   staging: { hosts: [web], auto_deploy: main }
  |                                         ^^^^
"#,
    ),
    (
        "unknown_host",
        "environments:\n  staging: { hosts: [stagign] }\n",
        r#"gantry.yml:6:22: error: unknown host or group 'stagign' in environment 'staging'
  |
6 |   staging: { hosts: [stagign] }
  |                      ^^^^^^^ not in the inventory
  = help: did you mean 'staging'?
"#,
    ),
    (
        "environment_typo",
        "environments:\n  staging: { hosts: [web], lock_leas: 30s }\n",
        r#"gantry.yml:6:28: error: unknown key 'lock_leas' in environment 'staging'
  |
6 |   staging: { hosts: [web], lock_leas: 30s }
  |                            ^^^^^^^^^ unknown key
  = help: did you mean 'lock_lease'?
"#,
    ),
    (
        "lease_too_short",
        "environments:\n  staging: { hosts: [web], lock_lease: 1s }\n",
        r#"gantry.yml:6:40: error: 'lock_lease' must be between 3s and 1h
  |
6 |   staging: { hosts: [web], lock_lease: 1s }
  |                                        ^^
  = help: 60s suits most deploys: a crashed deployer's lock frees itself a minute later
"#,
    ),
    (
        "no_hosts",
        "environments:\n  staging: { hosts: [] }\n",
        r#"gantry.yml:6:21: error: environment 'staging' has no hosts
  |
6 |   staging: { hosts: [] }
  |                     ^^^
  = help: name at least one host or group, e.g. `hosts: [staging]`
"#,
    ),
    (
        "service_typo",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app } }\n    kep: 3\n",
        r#"gantry.yml:8:5: error: unknown key 'kep' in service 'web'
  |
8 |     kep: 3
  |     ^^^ unknown key
  = help: did you mean 'keep'?
"#,
    ),
    (
        "no_run",
        "services:\n  web: { port: 80 }\n",
        r#"gantry.yml:6:8: error: service 'web' has no 'run'
  |
6 |   web: { port: 80 }
  |        ^^^^^^^^^^^^
  = help: add `run: { systemd: { exec: "{{ release_dir }}/app --port {{ port }}" } }`
"#,
    ),
    (
        "bad_template",
        "services:\n  web:\n    run: { systemd: { exec: \"{{ release_dir /app\" } }\n",
        r#"gantry.yml:7:29: error: invalid template in 'exec' in 'systemd' in service 'web': syntax error
  |
7 |     run: { systemd: { exec: "{{ release_dir /app" } }
  |                             ^^^^^^^^^^^^^^^^^^^^^^ unexpected end of input, expected end of variable block
  = help: templates use {{ name }}: release_dir, port, version, service and the host's vars
"#,
    ),
    (
        "batch_zero_percent",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app } }\n    strategy: { rolling: { batch: \"0%\" } }\n",
        r#"gantry.yml:8:35: error: 'batch' in 'rolling' in service 'web' must be a percentage from 1% to 100%
  |
8 |     strategy: { rolling: { batch: "0%" } }
  |                                   ^^^^^
  = help: e.g. "25%": a quarter of the environment's hosts at a time
"#,
    ),
    (
        "batch_list",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app } }\n    strategy: { rolling: { batch: [1] } }\n",
        r#"gantry.yml:8:35: error: expected a host count or a percentage for 'batch' in 'rolling' in service 'web', found a list
  |
8 |     strategy: { rolling: { batch: [1] } }
  |                                   ^^^^
  = help: e.g. `batch: 2` or `batch: "25%"`
"#,
    ),
    (
        "health_without_port",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app } }\n    health: { http: { path: /healthz } }\n",
        r#"gantry.yml:8:21: error: 'http' in 'health' in service 'web' has no port to probe
  |
8 |     health: { http: { path: /healthz } }
  |                     ^^^^^^^^^^^^^^^^^^^
  = help: set `port:` on the service, or `port:` in the check
"#,
    ),
    (
        "health_typo",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app } }\n    port: 80\n    health: { http: { path: /healthz }, retires: 3 }\n",
        r#"gantry.yml:9:41: error: unknown key 'retires' in 'health' in service 'web'
  |
9 |     health: { http: { path: /healthz }, retires: 3 }
  |                                         ^^^^^^^ unknown key
  = help: did you mean 'retries'?
"#,
    ),
    (
        "window_mistakes",
        "environments:\n  production: { hosts: [web], windows: [{ days: mon-frx, from: 9am, to: \"25:00\", timezone: Mars/Base }] }\n",
        r#"gantry.yml:6:49: error: 'days' in window 1 of 'windows' in environment 'production' must name days like mon-fri or sat,sun
  |
6 |   production: { hosts: [web], windows: [{ days: mon-frx, from: 9am, to: "25:00", timezone: Mars/Base }] }
  |                                                 ^^^^^^^
  = help: days are mon, tue, wed, thu, fri, sat, sun; a range wraps round the week (fri-mon)

gantry.yml:6:64: error: 'from' in window 1 of 'windows' in environment 'production' must be a time of day like "09:00"
  |
6 |   production: { hosts: [web], windows: [{ days: mon-frx, from: 9am, to: "25:00", timezone: Mars/Base }] }
  |                                                                ^^^
  = help: hours 00 to 23, minutes 00 to 59; quote it in YAML

gantry.yml:6:73: error: 'to' in window 1 of 'windows' in environment 'production' must be a time of day like "09:00"
  |
6 |   production: { hosts: [web], windows: [{ days: mon-frx, from: 9am, to: "25:00", timezone: Mars/Base }] }
  |                                                                         ^^^^^^^
  = help: hours 00 to 23, minutes 00 to 59; quote it in YAML

gantry.yml:6:92: error: unknown time zone 'Mars/Base' in window 1 of 'windows' in environment 'production'
  |
6 |   production: { hosts: [web], windows: [{ days: mon-frx, from: 9am, to: "25:00", timezone: Mars/Base }] }
  |                                                                                            ^^^^^^^^^
  = help: use an IANA name such as Europe/Berlin, America/New_York or UTC
"#,
    ),
    (
        "canary_no_steps",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app } }\n    port: 8080\n    strategy: { canary: { ports: [8081, 8082], steps: [] } }\n",
        r#"gantry.yml:9:55: error: 'steps' in 'canary' in service 'web' is empty
  |
9 |     strategy: { canary: { ports: [8081, 8082], steps: [] } }
  |                                                       ^^^
  = help: give at least one step, e.g. `[{ weight: 10, hold: 1m }]`
"#,
    ),
    (
        "canary_step_mistakes",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app } }\n    port: 8080\n    strategy: { canary: { ports: [8081, 8082], steps: [{ weight: 100, hold: 1m }, { wieght: 5 }] } }\n",
        r#"gantry.yml:9:66: error: 'weight' in step 1 of 'steps' in 'canary' in service 'web' must be between 1 and 99, found 100
  |
9 |     strategy: { canary: { ports: [8081, 8082], steps: [{ weight: 100, hold: 1m }, { wieght: 5 }] } }
  |                                                                  ^^^

gantry.yml:9:83: error: step 2 of 'steps' in 'canary' in service 'web' has no 'hold'
  |
9 |     strategy: { canary: { ports: [8081, 8082], steps: [{ weight: 100, hold: 1m }, { wieght: 5 }] } }
  |                                                                                   ^^^^^^^^^^^^^
  = help: how long the step lasts while the analysis runs, e.g. `hold: 1m`

gantry.yml:9:85: error: unknown key 'wieght' in step 2 of 'steps' in 'canary' in service 'web'
  |
9 |     strategy: { canary: { ports: [8081, 8082], steps: [{ weight: 100, hold: 1m }, { wieght: 5 }] } }
  |                                                                                     ^^^^^^ unknown key
  = help: did you mean 'weight'?
"#,
    ),
    (
        "canary_analysis_mistakes",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app } }\n    port: 8080\n    strategy: { canary: { ports: [8081, 8082], steps: [{ weight: 10, hold: 1m }], analysis: { max_error_rate: 5, prometheus: { url: prom:9090, query: up } } } }\n",
        r#"gantry.yml:9:111: error: 'max_error_rate' in 'analysis' in 'canary' in service 'web' must be a percentage from 0% to 100%
  |
9 |     strategy: { canary: { ports: [8081, 8082], steps: [{ weight: 10, hold: 1m }], analysis: { max_error_rate: 5, prometheus: { url: prom:9090, query: up } } } }
  |                                                                                                               ^
  = help: e.g. "5%": the analysis fails when more than 5% of the canary's requests get a 5xx

gantry.yml:9:126: error: 'prometheus' in 'analysis' in 'canary' in service 'web' has no 'max'
  |
9 |     strategy: { canary: { ports: [8081, 8082], steps: [{ weight: 10, hold: 1m }], analysis: { max_error_rate: 5, prometheus: { url: prom:9090, query: up } } } }
  |                                                                                                                              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  = help: e.g. `prometheus: { url: "http://prometheus:9090", query: "sum(rate(http_errors_total{version='canary'}[1m])) or vector(0)", max: 0.05 }`

gantry.yml:9:133: error: 'url' in 'prometheus' in 'analysis' in 'canary' in service 'web' must start with http:// or https://
  |
9 |     strategy: { canary: { ports: [8081, 8082], steps: [{ weight: 10, hold: 1m }], analysis: { max_error_rate: 5, prometheus: { url: prom:9090, query: up } } } }
  |                                                                                                                                     ^^^^^^^^^
  = help: the base URL of the Prometheus server, e.g. http://prometheus:9090
"#,
    ),
    (
        "blue_green_no_ports",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app } }\n    port: 8080\n    strategy: { blue_green: { drain: 2s } }\n",
        r#"gantry.yml:9:29: error: 'blue_green' in service 'web' has no 'ports'
  |
9 |     strategy: { blue_green: { drain: 2s } }
  |                             ^^^^^^^^^^^^^^
  = help: give the two slots' ports, e.g. `blue_green: { ports: [8081, 8082] }`: the service's `port` is where nginx listens
"#,
    ),
    (
        "blue_green_same_ports",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app } }\n    port: 8080\n    strategy: { blue_green: { ports: [8081, 8081] } }\n",
        r#"gantry.yml:9:38: error: 'ports' in 'blue_green' in service 'web' lists port 8081 twice
  |
9 |     strategy: { blue_green: { ports: [8081, 8081] } }
  |                                      ^^^^^^^^^^^^^
  = help: each slot needs its own port
"#,
    ),
    (
        "blue_green_three_ports",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app } }\n    port: 8080\n    strategy: { blue_green: { ports: [8081, 8082, 8083] } }\n",
        r#"gantry.yml:9:38: error: 'ports' in 'blue_green' in service 'web' must list two ports (blue, green), found 3
  |
9 |     strategy: { blue_green: { ports: [8081, 8082, 8083] } }
  |                                      ^^^^^^^^^^^^^^^^^^^
  = help: e.g. [8081, 8082]
"#,
    ),
    (
        "blue_green_needs_port",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app } }\n    strategy: { blue_green: { ports: [8081, 8082] } }\n",
        r#"gantry.yml:8:15: error: the blue_green strategy of service 'web' needs the service's 'port'
  |
8 |     strategy: { blue_green: { ports: [8081, 8082] } }
  |               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  = help: add `port: 8080`: nginx listens there and sends requests to the live slot
"#,
    ),
    (
        "blue_green_port_is_a_slot",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app } }\n    port: 8082\n    strategy: { blue_green: { ports: [8081, 8082] } }\n",
        r#"gantry.yml:9:15: error: service 'web' listens on port 8082, which is also a blue_green slot's port
  |
9 |     strategy: { blue_green: { ports: [8081, 8082] } }
  |               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  = help: nginx listens on `port`; the slots need two other ports
"#,
    ),
    (
        "bad_env_name",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app, env: { 1X: a } } }\n",
        r#"gantry.yml:7:46: error: invalid environment variable name '1X' in 'env' in 'systemd' in service 'web'
  |
7 |     run: { systemd: { exec: /bin/app, env: { 1X: a } } }
  |                                              ^^
  = help: a variable name has letters, digits and '_', and does not start with a digit
"#,
    ),
    (
        "keep_one",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app } }\n    keep: 1\n",
        r#"gantry.yml:8:11: error: 'keep' in service 'web' must be between 2 and 100, found 1
  |
8 |     keep: 1
  |           ^
"#,
    ),
    (
        "unknown_project",
        "services:\n  web:\n    project: wbe\n    run: { systemd: { exec: /bin/app } }\n",
        r#"gantry.yml:7:14: error: unknown project 'wbe' in service 'web'
  |
7 |     project: wbe
  |              ^^^
  = help: name a project of `projects:`
"#,
    ),
    (
        "bad_service_name",
        "services:\n  Web:\n    run: { systemd: { exec: /bin/app } }\n",
        r#"gantry.yml:6:3: error: invalid service name 'Web'
  |
6 |   Web:
  |   ^^^ invalid name
  = help: a service name has lowercase letters, digits, '-' and '_', starts with a letter or digit, and is at most 63 characters long (it names the systemd unit gantry-<service>.service)
"#,
    ),
    (
        "run_both_ways",
        "services:\n  web:\n    run: { systemd: { exec: /bin/app }, docker: { image: web } }\n",
        r#"gantry.yml:7:41: error: 'run' in service 'web' has both 'systemd' and 'docker'
  |
7 |     run: { systemd: { exec: /bin/app }, docker: { image: web } }
  |                                         ^^^^^^ second way to run
  = help: a service runs one way: as a systemd unit (`systemd:`) or as a container (`docker:`); keep one
"#,
    ),
    (
        "run_neither_way",
        "services:\n  web:\n    run: {}\n",
        r#"gantry.yml:7:10: error: 'run' in service 'web' has neither 'systemd' nor 'docker'
  |
7 |     run: {}
  |          ^^
  = help: add `systemd: { exec: "{{ release_dir }}/app --port {{ port }}" }` (a unit running a program of the release) or `docker: { image: "web:{{ version }}" }` (a container)
"#,
    ),
    (
        "run_misspelt",
        "services:\n  web:\n    run: { dokcer: { image: web } }\n",
        r#"gantry.yml:7:12: error: unknown key 'dokcer' in 'run' in service 'web'
  |
7 |     run: { dokcer: { image: web } }
  |            ^^^^^^ unknown key
  = help: did you mean 'docker'?
"#,
    ),
    (
        "docker_no_image",
        "services:\n  web:\n    run: { docker: { args: [--verbose] } }\n",
        r#"gantry.yml:7:20: error: 'docker' in service 'web' has no 'image'
  |
7 |     run: { docker: { args: [--verbose] } }
  |                    ^^^^^^^^^^^^^^^^^^^^^^
  = help: add `image:` with the image a release runs, e.g. "web:{{ version }}"
"#,
    ),
    (
        "docker_mistakes",
        "services:\n  web:\n    run: { docker: { image: \"web:{{ version\", args: \"--port 80\", envv: {}, volumes: [/data, { a: b }] } }\n",
        r#"gantry.yml:7:29: error: invalid template in 'image' in 'docker' in service 'web': syntax error
  |
7 |     run: { docker: { image: "web:{{ version", args: "--port 80", envv: {}, volumes: [/data, { a: b }] } }
  |                             ^^^^^^^^^^^^^^^^ unexpected end of input, expected end of variable block
  = help: templates use {{ name }}: release_dir, port, version, service and the host's vars

gantry.yml:7:53: error: expected a list of strings for 'args' in 'docker' in service 'web', found a string
  |
7 |     run: { docker: { image: "web:{{ version", args: "--port 80", envv: {}, volumes: [/data, { a: b }] } }
  |                                                     ^^^^^^^^^^^

gantry.yml:7:66: error: unknown key 'envv' in 'docker' in service 'web'
  |
7 |     run: { docker: { image: "web:{{ version", args: "--port 80", envv: {}, volumes: [/data, { a: b }] } }
  |                                                                  ^^^^ unknown key
  = help: did you mean 'env'?

gantry.yml:7:93: error: expected a string for item 2 of 'volumes' in 'docker' in service 'web', found a map
  |
7 |     run: { docker: { image: "web:{{ version", args: "--port 80", envv: {}, volumes: [/data, { a: b }] } }
  |                                                                                             ^^^^^^^^
  = help: a ': ' inside a value starts a map; put the whole value in quotes
"#,
    ),
    (
        "docker_port_without_service_port",
        "services:\n  web:\n    run: { docker: { image: web, port: 80 } }\n",
        r#"gantry.yml:7:34: error: service 'web' publishes the container's port but has no 'port'
  |
7 |     run: { docker: { image: web, port: 80 } }
  |                                  ^^^^
  = help: add `port:` to the service: the host port the container's port is published on, where health checks and nginx reach it
"#,
    ),
    (
        "docker_port_on_a_shared_network",
        "services:\n  web:\n    run: { docker: { image: web, port: 80, network: host } }\n    port: 8080\n",
        r#"gantry.yml:7:40: error: 'port' in 'docker' in service 'web' cannot be published with `network: host`
  |
7 |     run: { docker: { image: web, port: 80, network: host } }
  |                                        ^^ no port mapping in this network mode
  = help: the container uses that network's ports directly: remove `port:` and have it listen on the service's port ("{{ port }}" in `args` or `env`)
"#,
    ),
    (
        "docker_env_for_the_cli",
        "services:\n  web:\n    run: { docker: { image: web, env: { DOCKER_HOST: tcp://x:2375 } } }\n",
        r#"gantry.yml:7:41: error: 'DOCKER_HOST' in 'env' in 'docker' in service 'web' would configure the docker CLI
  |
7 |     run: { docker: { image: web, env: { DOCKER_HOST: tcp://x:2375 } } }
  |                                         ^^^^^^^^^^^ read by the docker CLI that starts the container
  = help: the unit passes the container's variables through the docker CLI's own environment, where DOCKER_* names change what the CLI does; rename it
"#,
    ),
    (
        "docker_service_name",
        "services:\n  web_:\n    run: { docker: { image: web } }\n",
        r#"gantry.yml:6:3: error: service name 'web_' cannot name a Docker image (gantry/web_:<version>)
  |
6 |   web_:
  |   ^^^^ not a Docker image name
  = help: a service run with `docker:` starts and ends with a letter or digit and separates words with '-', '_' or '__' (e.g. web-api)
"#,
    ),
];

#[test]
fn mistakes_are_reported_at_their_place_with_a_suggestion() {
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|(name, source, expected)| check(name, source, expected).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_mistake_in_one_file_is_reported_at_once() {
    let source = format!(
        "{HOSTS}environments:
  staging: {{ hosts: [stagign] }}
services:
  web:
    run: {{ systemd: {{ exec: \"{{{{ release_dir }}/app\" }} }}
    strategy: {{ rolling: {{ batch: \"0%\" }} }}
    kep: 3
"
    );
    let parsed = parse_ok(&source);
    let messages: Vec<&str> = parsed
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert!(workspace_of(&full()).services.contains_key("web"));
}

#[test]
fn the_example_in_docs_deploy_md_is_valid() {
    let docs = include_str!("../../../../docs/deploy.md");
    let block = docs
        .split("```yaml\n")
        .find(|b| b.contains("rolling: { batch: \"25%\""))
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let ws = workspace_of(block);
    let names: Vec<&str> = ws.environments.keys().map(String::as_str).collect();
    assert_eq!(names, ["staging", "production"]);
    let web = &ws.services["web"];
    let Strategy::Rolling(rolling) = &web.strategy else {
        panic!("{:?}", web.strategy)
    };
    assert_eq!(rolling.batch, Batch::Percent(25));
    assert_eq!(web.hooks.pre.as_deref(), Some("./migrate.sh"));
}

#[test]
fn the_blue_green_example_in_docs_deploy_md_is_valid() {
    let docs = include_str!("../../../../docs/deploy.md");
    let block = docs
        .split("```yaml\n")
        .find(|b| b.contains("blue_green:"))
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let ws = workspace_of(block);
    let Strategy::BlueGreen(bg) = &ws.services["web"].strategy else {
        panic!("{:?}", ws.services["web"].strategy)
    };
    assert_eq!(bg.ports, [8081, 8082]);
    assert_eq!(bg.drain, Duration::from_secs(10));
}
