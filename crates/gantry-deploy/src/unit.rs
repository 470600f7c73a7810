//! The systemd unit of a release: `run.systemd` rendered (minijinja, strict undefined)
//! with `release_dir`, `port`, `version`, `service` and the host's vars; `run.docker`
//! goes to `docker::unit`, which shares the templates. The env values are not in the
//! unit: it names the release's environment file (`env_file.rs`), the only place
//! templates see `secrets`. Pure.

use gantry_core::Secret;
use gantry_workspace::{Run, SECRETS_VAR, SystemdRun};
use indexmap::IndexMap;
use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Value, json};

use crate::docker;
use crate::env_file;
use crate::layout::Slot;

/// What the templates of one release on one host see.
#[derive(Debug, Clone)]
pub struct UnitContext<'a> {
    pub service: &'a str,
    pub version: &'a str,
    pub release_dir: &'a str,
    pub port: Option<u16>,
    /// The host's merged vars; the names above hide vars of the same name.
    pub vars: &'a IndexMap<String, Value>,
    /// The blue-green slot the unit runs in (`None`: the service's plain unit). Not a
    /// template name: it tells a container's name apart from the other slot's.
    pub slot: Option<Slot>,
    /// The resolved secrets, `secrets.NAME` in env values only (anything else would put
    /// them in the unit file or on a command line).
    pub secrets: &'a IndexMap<String, Secret>,
}

impl UnitContext<'_> {
    fn value(&self, with_secrets: bool) -> Value {
        let mut map: serde_json::Map<String, Value> = self
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        map.insert("service".into(), json!(self.service));
        map.insert("version".into(), json!(self.version));
        map.insert("release_dir".into(), json!(self.release_dir));
        map.insert("port".into(), self.port.map_or(Value::Null, |p| json!(p)));
        if with_secrets {
            let secrets: serde_json::Map<String, Value> = self
                .secrets
                .iter()
                .map(|(k, v)| (k.clone(), json!(v.expose())))
                .collect();
            map.insert(SECRETS_VAR.into(), Value::Object(secrets));
        } else {
            map.remove(SECRETS_VAR);
        }
        Value::Object(map)
    }
}

/// Renders one template; `what` names it in errors.
pub fn render_template(template: &str, cx: &UnitContext<'_>, what: &str) -> Result<String, String> {
    let text =
        render(template, cx.value(false)).map_err(|e| format!("cannot render {what}: {e}"))?;
    if text.contains(['\n', '\r']) {
        return Err(format!("{what} renders to more than one line"));
    }
    Ok(text)
}

/// Renders the value of env variable `name`, with `secrets` in the context. The error
/// names the variable; minijinja's message says what failed, not the values.
pub(crate) fn render_env_value(
    template: &str,
    cx: &UnitContext<'_>,
    name: &str,
) -> Result<String, String> {
    render(template, cx.value(true)).map_err(|e| format!("cannot render env '{name}': {e}"))
}

fn render(template: &str, context: Value) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.render_str(template, minijinja::value::Serde(context))
}

/// The whole unit file for `run` in this context.
pub fn render_unit(run: &Run, cx: &UnitContext<'_>) -> Result<String, String> {
    match run {
        Run::Systemd(systemd) => render_systemd(systemd, cx),
        Run::Docker(d) => docker::unit::render(d, cx),
    }
}

fn render_systemd(run: &SystemdRun, cx: &UnitContext<'_>) -> Result<String, String> {
    let exec = render_template(&run.exec, cx, "'exec'")?;
    if exec.trim().is_empty() {
        return Err("'exec' renders to nothing".into());
    }
    let mut out = String::new();
    out.push_str(&format!(
        "# Written by Gantry for service {}, release {}; replaced on the next deploy.\n",
        cx.service, cx.version
    ));
    out.push_str("[Unit]\n");
    out.push_str(&format!(
        "Description=Gantry service {} ({})\n",
        cx.service, cx.version
    ));
    out.push_str("After=network-online.target\nWants=network-online.target\n\n");
    out.push_str("[Service]\nType=simple\n");
    out.push_str(&format!("ExecStart={exec}\n"));
    out.push_str(&format!("WorkingDirectory={}\n", cx.release_dir));
    if let Some(user) = &run.user {
        if user.contains(['\n', '\r']) {
            return Err("'user' has a line break".into());
        }
        out.push_str(&format!("User={user}\n"));
    }
    out.push_str(&environment_file(&run.env, cx));
    out.push_str("Restart=on-failure\nRestartSec=1\n\n");
    out.push_str("[Install]\nWantedBy=multi-user.target\n");
    Ok(out)
}

/// `EnvironmentFile=` naming the release's env file, when there are variables: the
/// values themselves stay out of the unit, which anyone on the host may read.
pub(crate) fn environment_file(env: &IndexMap<String, String>, cx: &UnitContext<'_>) -> String {
    if env.is_empty() {
        return String::new();
    }
    // `%` would start a systemd specifier.
    let path = env_file::path(cx.release_dir, cx.slot).replace('%', "%%");
    format!("EnvironmentFile={path}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(exec: &str) -> Run {
        Run::Systemd(SystemdRun {
            exec: exec.into(),
            env: IndexMap::from([
                ("RUST_LOG".to_string(), "info".to_string()),
                (
                    "GREETING".to_string(),
                    "say \"hi\" 100% {{ region }}".to_string(),
                ),
                ("DB_PASSWORD".to_string(), "{{ secrets.db }}".to_string()),
            ]),
            user: Some("www-data".into()),
        })
    }

    fn secrets() -> IndexMap<String, Secret> {
        IndexMap::from([("db".to_string(), Secret::new("pa$$ \"w0rd\""))])
    }

    fn vars() -> IndexMap<String, Value> {
        IndexMap::from([
            ("region".to_string(), json!("eu")),
            ("version".to_string(), json!("hidden")),
        ])
    }

    #[test]
    fn renders_exec_env_and_user_from_the_templates() {
        let vars = vars();
        let secrets = secrets();
        let cx = UnitContext {
            service: "web",
            version: "v2",
            release_dir: "/opt/gantry/web/releases/v2",
            port: Some(8080),
            vars: &vars,
            slot: None,
            secrets: &secrets,
        };
        let unit = render_unit(
            &run("{{ release_dir }}/app --port {{ port }} --version {{ version }} --region {{ region }}"),
            &cx,
        )
        .unwrap();
        let expected =
            "# Written by Gantry for service web, release v2; replaced on the next deploy.
[Unit]
Description=Gantry service web (v2)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=/opt/gantry/web/releases/v2/app --port 8080 --version v2 --region eu
WorkingDirectory=/opt/gantry/web/releases/v2
User=www-data
EnvironmentFile=/opt/gantry/web/releases/v2/.gantry/env
Restart=on-failure
RestartSec=1

[Install]
WantedBy=multi-user.target
";
        assert_eq!(unit, expected);
        // The values are in the env file only, quoted as systemd and sh read them.
        let env = env_file::render(&run("/app"), &cx).unwrap();
        assert_eq!(
            env,
            "# Written by Gantry for service web, release v2: the service's environment. Only root may read it.
RUST_LOG=\"info\"
GREETING=\"say \\\"hi\\\" 100% eu\"
DB_PASSWORD=\"pa\\$\\$ \\\"w0rd\\\"\"
"
        );
        let slot = UnitContext {
            slot: Some(Slot::Blue),
            ..cx
        };
        assert!(
            render_unit(&run("/app"), &slot)
                .unwrap()
                .contains("\nEnvironmentFile=/opt/gantry/web/releases/v2/.gantry/env.blue\n")
        );
    }

    #[test]
    fn secrets_are_seen_by_env_values_only() {
        let vars = vars();
        let secrets = secrets();
        let cx = UnitContext {
            service: "web",
            version: "v2",
            release_dir: "/r",
            port: None,
            vars: &vars,
            slot: None,
            secrets: &secrets,
        };
        let err = render_unit(&run("/app {{ secrets.db }}"), &cx).unwrap_err();
        assert!(err.contains("undefined") && !err.contains("w0rd"), "{err}");
        let mut r = run("/app");
        if let Run::Systemd(s) = &mut r {
            s.env.insert("BAD".into(), "{{ secrets.nope }}".into());
        }
        let err = env_file::render(&r, &cx).unwrap_err();
        assert!(err.contains("env 'BAD'") && !err.contains("w0rd"), "{err}");
        let unit = render_unit(&r, &cx).unwrap();
        assert!(!unit.contains("w0rd") && !unit.contains("info"), "{unit}");
    }

    #[test]
    fn undefined_names_and_line_breaks_are_errors() {
        let vars = vars();
        let secrets = secrets();
        let cx = UnitContext {
            service: "web",
            version: "v2",
            release_dir: "/r",
            port: None,
            vars: &vars,
            slot: None,
            secrets: &secrets,
        };
        let err = render_unit(&run("{{ release_dir }}/app {{ nope }}"), &cx).unwrap_err();
        assert!(
            err.contains("cannot render 'exec'") && err.contains("undefined"),
            "{err}"
        );
        let err =
            render_unit(&run("{{ release_dir }}/app\nExecStartPre=/bin/evil"), &cx).unwrap_err();
        assert!(err.contains("more than one line"), "{err}");
    }
}
