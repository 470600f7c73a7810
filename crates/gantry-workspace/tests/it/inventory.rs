//! The inventory sections: `hosts:`, `groups:` and `infra:` read as written, the
//! built-in `local` host, the defaults, and vars merged with their documented precedence.

use std::path::PathBuf;

use gantry_workspace::{Connection, DEFAULT_INFRA_GLOB, LOCAL_HOST};
use serde_json::json;

use crate::workspace_of;

const INVENTORY: &str = r#"
hosts:
  web1:
    address: 10.0.0.11
    user: deploy
    ssh_key: keys/deploy
    known_hosts: keys/known_hosts
    groups: [web, staging]
    vars: { port: 8081, tier: host }
  db1: { address: db.example.com, port: 2222, groups: [db] }
  local: { groups: [web], vars: { tier: laptop } }
groups:
  web: { vars: { port: 80, tier: web, nginx: { workers: 4 } } }
  staging: { vars: { tier: staging, debug: true } }
  empty:
infra: [infra/*.yml, hosts/**/*.yml]
"#;

#[test]
fn hosts_groups_and_infra_are_read_as_written() {
    let ws = workspace_of(INVENTORY);
    let inv = &ws.inventory;
    let names: Vec<&str> = inv.hosts.keys().map(String::as_str).collect();
    assert_eq!(names, ["web1", "db1", "local"]);
    let Connection::Ssh(web1) = &inv.hosts["web1"].connection else {
        panic!("web1 is reached over ssh");
    };
    assert_eq!(web1.address, "10.0.0.11");
    assert_eq!(web1.port, 22);
    assert_eq!(web1.user.as_deref(), Some("deploy"));
    assert_eq!(web1.ssh_key, Some(PathBuf::from("keys/deploy")));
    assert_eq!(web1.known_hosts, Some(PathBuf::from("keys/known_hosts")));
    let Connection::Ssh(db1) = &inv.hosts["db1"].connection else {
        panic!("db1 is reached over ssh");
    };
    assert_eq!(
        (db1.port, db1.user.as_deref(), db1.ssh_key.as_ref()),
        (2222, None, None)
    );
    assert_eq!(inv.hosts["local"].connection, Connection::Local);
    assert_eq!(inv.infra, ["infra/*.yml", "hosts/**/*.yml"]);
    assert!(inv.groups.contains_key("empty"));
}

#[test]
fn vars_apply_groups_in_order_then_the_host() {
    let ws = workspace_of(INVENTORY);
    let inv = &ws.inventory;
    let vars = inv.vars(&inv.hosts["web1"]);
    // web then staging, then the host's own: the host wins, staging beats web.
    assert_eq!(vars["port"], json!(8081));
    assert_eq!(vars["tier"], json!("host"));
    assert_eq!(vars["debug"], json!(true));
    assert_eq!(vars["nginx"], json!({ "workers": 4 }));
    let local = inv.vars(&inv.hosts["local"]);
    assert_eq!(local["tier"], json!("laptop"));
    assert_eq!(local["port"], json!(80));
}

#[test]
fn groups_resolve_to_their_hosts_and_local_is_built_in() {
    let ws = workspace_of(INVENTORY);
    let inv = &ws.inventory;
    let names = |t: &str| -> Vec<String> { inv.resolve(t).into_iter().map(|h| h.name).collect() };
    assert_eq!(names("web"), ["web1", "local"]);
    assert_eq!(names("all"), ["web1", "db1", "local"]);
    assert_eq!(names("db1"), ["db1"]);
    assert!(names("nope").is_empty());
    assert!(inv.is_group("staging") && inv.is_group("empty") && !inv.is_group("web1"));

    let bare = workspace_of("hosts:\n  a: { address: 10.0.0.1 }\n");
    assert_eq!(bare.inventory.infra, [DEFAULT_INFRA_GLOB]);
    let local = bare.inventory.host(LOCAL_HOST).unwrap();
    assert_eq!(local.connection, Connection::Local);
    assert!(
        bare.inventory
            .resolve("all")
            .iter()
            .all(|h| h.name != "local")
    );
}

#[test]
fn an_infrastructure_only_workspace_needs_no_projects() {
    let parsed = crate::parse_ok("hosts:\n  a: { address: 10.0.0.1 }\n");
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
}

#[test]
fn infra_secrets_are_references_resolved_by_name_and_never_shown() {
    let ws = workspace_of(
        "hosts:\n  web1: { address: 10.0.0.1 }\nsecrets:\n  db_password: { env: DB_PASSWORD }\n  tls_key: { file: keys/tls.key }\n",
    );
    let secrets = &ws.inventory.secrets;
    let names: Vec<&str> = secrets.keys().map(String::as_str).collect();
    assert_eq!(names, ["db_password", "tls_key"]);
    let resolved = ws
        .inventory
        .resolve_secrets(
            "gantry.yml",
            |name| (name == "DB_PASSWORD").then(|| "s3cret-pw".to_string()),
            |path| {
                assert_eq!(path, PathBuf::from("keys/tls.key"));
                Ok("KEY\n".to_string())
            },
        )
        .unwrap();
    assert_eq!(resolved["db_password"].expose(), "s3cret-pw");
    assert_eq!(resolved["tls_key"].expose(), "KEY");
    assert!(!format!("{resolved:?}").contains("s3cret"));

    let err = ws
        .inventory
        .resolve_secrets("gantry.yml", |_| None, |_| Ok("x".into()))
        .unwrap_err();
    assert!(
        err[0]
            .message
            .contains("environment variable 'DB_PASSWORD' for secret 'db_password' is not set"),
        "{err:?}"
    );
    assert_eq!(err[0].span.map(|s| s.line), Some(4));
    // A deploy resolves only what its service reads: the unset variable is not needed.
    let only_tls = ws
        .inventory
        .resolve_named_secrets(
            "gantry.yml",
            &["tls_key".to_string()],
            |_| None,
            |_| Ok("KEY".into()),
        )
        .unwrap();
    assert_eq!(only_tls.keys().collect::<Vec<_>>(), ["tls_key"]);

    let source = "hosts:\n  web1: { address: 10.0.0.1 }\nsecrets:\n  db: { evn: X }\n";
    let text = crate::parse_ok(source).render(source, false);
    assert!(
        text.contains("gantry.yml:4:9: error: unknown key 'evn'"),
        "{text}"
    );
}

#[test]
fn groups_may_schedule_drift_checks() {
    let ws = workspace_of("groups:\n  web: { drift: { every: 30m } }\n  db: { vars: { a: 1 } }\n");
    let groups = &ws.inventory.groups;
    assert_eq!(
        groups["web"].drift.map(|d| d.every),
        Some(std::time::Duration::from_secs(1800))
    );
    assert_eq!(groups["db"].drift, None);
}
