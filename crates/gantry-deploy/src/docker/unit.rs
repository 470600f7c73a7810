//! The systemd unit that runs a release's container: `docker run --rm --name <name>` in
//! the foreground (systemd watches the docker CLI, which lives as long as the container),
//! `docker stop` to stop it, and `docker rm -f` of the name before a start and after a
//! stop, so neither a crash nor a kill leaves a container behind. Pure.
//!
//! The container's environment travels through the docker CLI's own environment: the
//! unit reads the release's environment file (`EnvironmentFile=`, mode 0600) and passes
//! each variable by name (`-e NAME`), so values are neither in the unit file nor on a
//! command line. (docker's `--env-file` reads another syntax, without quoting.)

use gantry_workspace::DockerRun;

use super::pinned_image;
use crate::unit::{UnitContext, environment_file, render_template};

/// The unit file for `run` in this context.
pub fn render(run: &DockerRun, cx: &UnitContext<'_>) -> Result<String, String> {
    let name = container_name(run, cx)?;
    let mut words: Vec<String> = ["docker", "run", "--rm", "--name", &name]
        .into_iter()
        .map(String::from)
        .collect();
    // Only the image the install tagged: never a pull from a registry at start time.
    // `--init`: an app that is not written to be PID 1 would ignore `docker stop`'s
    // SIGTERM and be killed 10 s later.
    words.extend(["--pull".into(), "never".into(), "--init".into()]);
    words.extend([
        "--label".into(),
        format!("gantry.service={}", cx.service),
        "--label".into(),
        format!("gantry.version={}", cx.version),
    ]);
    let network = match &run.network {
        Some(t) => Some(one_word(render_template(t, cx, "'network'")?, "'network'")?),
        None => None,
    };
    let shared = network
        .as_deref()
        .is_some_and(|n| n == "host" || n.starts_with("container:"));
    match (cx.port, run.port) {
        (_, Some(_)) if shared => {
            return Err(format!(
                "'port' cannot be published with network {}: the container uses that network's ports",
                network.as_deref().unwrap_or_default()
            ));
        }
        (Some(host), container) if !shared => {
            words.extend(["-p".into(), format!("{host}:{}", container.unwrap_or(host))]);
        }
        (None, Some(_)) => {
            return Err(
                "'port' of the container needs the service's 'port' to publish it on".into(),
            );
        }
        _ => {}
    }
    if let Some(network) = network {
        words.extend(["--network".into(), network]);
    }
    if let Some(user) = &run.user {
        words.extend(["--user".into(), user.clone()]);
    }
    for (n, volume) in run.volumes.iter().enumerate() {
        let what = format!("volume {}", n + 1);
        let volume = render_template(volume, cx, &what)?;
        if volume.trim().is_empty() {
            return Err(format!("{what} renders to nothing"));
        }
        words.extend(["-v".into(), volume]);
    }
    for name in run.env.keys() {
        words.extend(["-e".into(), name.clone()]);
    }
    words.push(pinned_image(cx.service, cx.version));
    for (n, arg) in run.args.iter().enumerate() {
        words.push(render_template(arg, cx, &format!("argument {}", n + 1))?);
    }
    if run
        .user
        .as_deref()
        .is_some_and(|u| u.contains(['\n', '\r']))
    {
        return Err("'user' has a line break".into());
    }
    let exec: Vec<String> = words.iter().map(|w| word(w)).collect();
    let mut out = String::new();
    out.push_str(&format!(
        "# Written by Gantry for service {}, release {}; replaced on the next deploy.\n",
        cx.service, cx.version
    ));
    out.push_str("[Unit]\n");
    out.push_str(&format!(
        "Description=Gantry service {} ({}, container {name})\n",
        cx.service, cx.version
    ));
    out.push_str("After=network-online.target docker.service\nWants=network-online.target\n\n");
    out.push_str("[Service]\nType=simple\n");
    out.push_str(&format!("WorkingDirectory={}\n", cx.release_dir));
    out.push_str(&environment_file(&run.env, cx));
    // `-`: a missing container is what these want, not a failure.
    out.push_str(&format!("ExecStartPre=-docker rm -f {name}\n"));
    out.push_str(&format!("ExecStart={}\n", exec.join(" ")));
    out.push_str(&format!("ExecStop=-docker stop {name}\n"));
    out.push_str(&format!("ExecStopPost=-docker rm -f {name}\n"));
    // docker run exits 128 + the signal that ended the container: a stop, not a failure.
    out.push_str("SuccessExitStatus=130 143\n");
    out.push_str("Restart=on-failure\nRestartSec=1\n\n");
    out.push_str("[Install]\nWantedBy=multi-user.target\n");
    Ok(out)
}

/// The image reference a release of `run` names on this host (`web:v2`): what the
/// install loads or finds, then tags for the unit.
pub fn render_image(run: &DockerRun, cx: &UnitContext<'_>) -> Result<String, String> {
    let image = one_word(render_template(&run.image, cx, "'image'")?, "'image'")?;
    if image.starts_with('-') || !image.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "'image' renders to '{image}', which is not an image name"
        ));
    }
    Ok(image)
}

/// `name` rendered, or `gantry-<service>`; a slot adds `.blue` or `.green`.
fn container_name(run: &DockerRun, cx: &UnitContext<'_>) -> Result<String, String> {
    let base = match &run.name {
        Some(t) => render_template(t, cx, "'name'")?,
        None => format!("gantry-{}", cx.service),
    };
    let name = match cx.slot {
        Some(slot) => format!("{base}.{}", slot.name()),
        None => base,
    };
    // Docker's own rule for container names.
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid {
        return Err(format!(
            "'name' renders to '{name}': a container name has letters, digits, '_', '.' and '-' and starts with a letter or digit"
        ));
    }
    Ok(name)
}

/// A value that must be one non-empty word.
fn one_word(text: String, what: &str) -> Result<String, String> {
    if text.is_empty() || text.chars().any(char::is_whitespace) {
        return Err(format!("{what} renders to '{text}', which is not one word"));
    }
    Ok(text)
}

/// One argument of `ExecStart=` passed as is: double-quoted when it holds a space, a
/// quote, a backslash or `;` (or is empty), and `%` and `$` doubled everywhere, so
/// systemd's specifiers and variable expansion leave it alone.
fn word(arg: &str) -> String {
    let quoted = arg.is_empty()
        || arg
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';'));
    let text = if quoted {
        format!("\"{}\"", arg.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        arg.to_string()
    };
    text.replace('%', "%%").replace('$', "$$")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Slot;
    use indexmap::IndexMap;
    use serde_json::{Value, json};

    fn run() -> DockerRun {
        DockerRun {
            image: "registry.example.com/web:{{ version }}".into(),
            port: Some(3000),
            env: IndexMap::from([
                ("RUST_LOG".to_string(), "info".to_string()),
                (
                    "GREETING".to_string(),
                    "say \"hi\" 100% {{ region }}".to_string(),
                ),
            ]),
            args: vec![
                "--listen".into(),
                "0.0.0.0:3000".into(),
                "--motd".into(),
                "it's a \"fine\" day; 50% off $HOME \\o/".into(),
                String::new(),
            ],
            volumes: vec!["/srv/web/{{ region }}:/data:ro".into()],
            network: Some("backend".into()),
            user: Some("1000:1000".into()),
            name: None,
        }
    }

    fn vars() -> IndexMap<String, Value> {
        IndexMap::from([("region".to_string(), json!("eu"))])
    }

    fn cx<'a>(
        vars: &'a IndexMap<String, Value>,
        slot: Option<Slot>,
        port: Option<u16>,
    ) -> UnitContext<'a> {
        UnitContext {
            service: "web",
            version: "v2",
            release_dir: "/opt/gantry/web/releases/v2",
            port,
            vars,
            slot,
            secrets: Box::leak(Box::default()),
        }
    }

    #[test]
    fn renders_the_container_with_its_port_env_args_and_stop() {
        let vars = vars();
        let unit = render(&run(), &cx(&vars, None, Some(8080))).unwrap();
        let expected = r#"# Written by Gantry for service web, release v2; replaced on the next deploy.
[Unit]
Description=Gantry service web (v2, container gantry-web)
After=network-online.target docker.service
Wants=network-online.target

[Service]
Type=simple
WorkingDirectory=/opt/gantry/web/releases/v2
EnvironmentFile=/opt/gantry/web/releases/v2/.gantry/env
ExecStartPre=-docker rm -f gantry-web
ExecStart=docker run --rm --name gantry-web --pull never --init --label gantry.service=web --label gantry.version=v2 -p 8080:3000 --network backend --user 1000:1000 -v /srv/web/eu:/data:ro -e RUST_LOG -e GREETING gantry/web:v2 --listen 0.0.0.0:3000 --motd "it's a \"fine\" day; 50%% off $$HOME \\o/" ""
ExecStop=-docker stop gantry-web
ExecStopPost=-docker rm -f gantry-web
SuccessExitStatus=130 143
Restart=on-failure
RestartSec=1

[Install]
WantedBy=multi-user.target
"#;
        assert_eq!(unit, expected);
        assert_eq!(
            render_image(&run(), &cx(&vars, None, Some(8080))).unwrap(),
            "registry.example.com/web:v2"
        );
    }

    #[test]
    fn a_slot_has_its_own_container_and_port() {
        let vars = vars();
        let mut r = run();
        r.port = None;
        r.name = Some("app-{{ region }}".into());
        let unit = render(&r, &cx(&vars, Some(Slot::Green), Some(8082))).unwrap();
        assert!(
            unit.contains("ExecStart=docker run --rm --name app-eu.green --pull never --init --label gantry.service=web --label gantry.version=v2 -p 8082:8082 --network backend "),
            "{unit}"
        );
        assert!(
            unit.contains("ExecStop=-docker stop app-eu.green\n"),
            "{unit}"
        );
        assert!(
            unit.contains("ExecStartPre=-docker rm -f app-eu.green\n"),
            "{unit}"
        );
    }

    #[test]
    fn a_shared_network_publishes_nothing() {
        let vars = IndexMap::from([("net".to_string(), json!("container:abc123"))]);
        let r = DockerRun {
            image: "web:{{ version }}".into(),
            port: None,
            env: IndexMap::new(),
            args: vec!["--port".into(), "{{ port }}".into()],
            volumes: Vec::new(),
            network: Some("{{ net }}".into()),
            user: None,
            name: None,
        };
        let unit = render(&r, &cx(&vars, None, Some(8080))).unwrap();
        assert!(
            unit.contains("ExecStart=docker run --rm --name gantry-web --pull never --init --label gantry.service=web --label gantry.version=v2 --network container:abc123 gantry/web:v2 --port 8080\n"),
            "{unit}"
        );
        let err = render(
            &DockerRun {
                port: Some(80),
                ..r.clone()
            },
            &cx(&vars, None, Some(8080)),
        )
        .unwrap_err();
        assert!(
            err.contains("cannot be published with network container:abc123"),
            "{err}"
        );
    }

    #[test]
    fn bad_renders_are_errors_that_never_show_env_values() {
        let vars = vars();
        let mut r = run();
        r.env.insert("TOKEN".into(), "s3cret-{{ nope }}".into());
        let err = crate::env_file::render(
            &gantry_workspace::Run::Docker(r),
            &cx(&vars, None, Some(8080)),
        )
        .unwrap_err();
        assert!(
            err.contains("env 'TOKEN'") && !err.contains("s3cret"),
            "{err}"
        );
        let mut r = run();
        r.image = "web {{ version }}".into();
        let err = render_image(&r, &cx(&vars, None, None)).unwrap_err();
        assert!(err.contains("not one word"), "{err}");
        let mut r = run();
        r.name = Some("-x".into());
        assert!(render(&r, &cx(&vars, None, Some(8080))).is_err());
        let mut r = run();
        r.args.push("a\nb".into());
        let err = render(&r, &cx(&vars, None, Some(8080))).unwrap_err();
        assert!(err.contains("more than one line"), "{err}");
        let err = render(&run(), &cx(&vars, None, None)).unwrap_err();
        assert!(err.contains("needs the service's 'port'"), "{err}");
    }

    #[test]
    fn the_unit_in_docs_deploy_md_is_what_its_example_renders() {
        let docs = include_str!("../../../../docs/deploy.md");
        let section = docs
            .split("## Running a service in a container")
            .nth(1)
            .unwrap();
        let block = |fence: &str| {
            section
                .split(fence)
                .nth(1)
                .and_then(|b| b.split("```").next())
                .unwrap()
        };
        let parsed = gantry_workspace::parse("gantry.yml", block("```yaml\n"));
        let ws = parsed.workspace.unwrap();
        let web = &ws.services["web"];
        let vars = IndexMap::new();
        let cx = UnitContext {
            service: "web",
            version: "v2",
            release_dir: "/opt/gantry/web/releases/v2",
            port: web.port,
            vars: &vars,
            slot: None,
            secrets: &IndexMap::new(),
        };
        let unit = crate::unit::render_unit(&web.run, &cx).unwrap();
        assert_eq!(unit, block("```ini\n"));
    }

    #[test]
    fn words_are_quoted_only_when_systemd_would_split_or_expand_them() {
        assert_eq!(word("plain-word"), "plain-word");
        assert_eq!(word("a b"), "\"a b\"");
        assert_eq!(word(""), "\"\"");
        assert_eq!(word(";"), "\";\"");
        assert_eq!(word("${X}"), "$${X}");
        assert_eq!(word("%n"), "%%n");
        assert_eq!(word("back\\slash"), "\"back\\\\slash\"");
        assert_eq!(word("say \"x\""), "\"say \\\"x\\\"\"");
    }
}
