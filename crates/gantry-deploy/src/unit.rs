//! The systemd unit of a release: `run.systemd` rendered (minijinja, strict undefined)
//! with `release_dir`, `port`, `version`, `service` and the host's vars; `run.docker`
//! goes to `docker::unit`, which shares the templates and the env quoting. Pure.

use gantry_workspace::{Run, SystemdRun};
use indexmap::IndexMap;
use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Value, json};

use crate::docker;
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
}

impl UnitContext<'_> {
    fn value(&self) -> Value {
        let mut map: serde_json::Map<String, Value> = self
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        map.insert("service".into(), json!(self.service));
        map.insert("version".into(), json!(self.version));
        map.insert("release_dir".into(), json!(self.release_dir));
        map.insert("port".into(), self.port.map_or(Value::Null, |p| json!(p)));
        Value::Object(map)
    }
}

/// Renders one template; `what` names it in errors.
pub fn render_template(template: &str, cx: &UnitContext<'_>, what: &str) -> Result<String, String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Keep a trailing newline out of unit lines either way.
    let text = env
        .render_str(template, minijinja::value::Serde(cx.value()))
        .map_err(|e| format!("cannot render {what}: {e}"))?;
    if text.contains(['\n', '\r']) {
        return Err(format!("{what} renders to more than one line"));
    }
    Ok(text)
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
    out.push_str(&environment(&run.env, cx)?);
    out.push_str("Restart=on-failure\nRestartSec=1\n\n");
    out.push_str("[Install]\nWantedBy=multi-user.target\n");
    Ok(out)
}

/// One `Environment="NAME=value"` line per variable, values rendered. An error names
/// the variable, never its value.
pub(crate) fn environment(
    env: &IndexMap<String, String>,
    cx: &UnitContext<'_>,
) -> Result<String, String> {
    let mut out = String::new();
    for (name, template) in env {
        let value = render_template(template, cx, &format!("env '{name}'"))?;
        out.push_str(&format!(
            "Environment=\"{}\"\n",
            escape_env(&format!("{name}={value}"))
        ));
    }
    Ok(out)
}

/// A value inside `Environment="…"`: backslashes and quotes escaped, `%` doubled (systemd
/// specifiers).
fn escape_env(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
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
            ]),
            user: Some("www-data".into()),
        })
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
        let cx = UnitContext {
            service: "web",
            version: "v2",
            release_dir: "/opt/gantry/web/releases/v2",
            port: Some(8080),
            vars: &vars,
            slot: None,
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
Environment=\"RUST_LOG=info\"
Environment=\"GREETING=say \\\"hi\\\" 100%% eu\"
Restart=on-failure
RestartSec=1

[Install]
WantedBy=multi-user.target
";
        assert_eq!(unit, expected);
    }

    #[test]
    fn undefined_names_and_line_breaks_are_errors() {
        let vars = vars();
        let cx = UnitContext {
            service: "web",
            version: "v2",
            release_dir: "/r",
            port: None,
            vars: &vars,
            slot: None,
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
