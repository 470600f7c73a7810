//! Container hosts that drive this machine's Docker Engine: the docker CLI and the
//! engine's socket bind-mounted in, so a test can deploy containers "on" a host without
//! a Docker Engine inside it (which would need privileges this engine refuses). The
//! containers such a host starts are its siblings on the machine's engine; those that
//! join the host's network namespace (`--network container:<host>`) answer on the host's
//! address as a service of the host would, and are removed with it.

use std::io;
use std::path::PathBuf;
use std::process::Command;

use crate::cmd;

/// Where the engine's socket is mounted inside the host; `/run/docker.sock` (the CLI's
/// default, through Debian's `/var/run` link) is made a link to it once `/run`, a tmpfs,
/// is up.
const SOCKET_IN_HOST: &str = "/gantry/docker.sock";

/// The `docker run` arguments that give a host the machine's docker CLI and engine.
/// The CLI must run in the host's Debian: a static binary (as Docker's own builds are)
/// or one linked against a glibc no newer than Debian bookworm's.
pub(crate) fn mount_args() -> io::Result<Vec<String>> {
    let cli = cmd::find_tool("docker")
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the docker CLI is missing"))?;
    let socket = socket_path();
    if !socket.exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("the Docker Engine's socket {} is missing", socket.display()),
        ));
    }
    Ok(vec![
        "-v".into(),
        format!("{}:/usr/local/bin/docker:ro", cli.display()),
        "-v".into(),
        format!("{}:{SOCKET_IN_HOST}", socket.display()),
    ])
}

/// Run inside the host once it is up: the CLI's default socket path pointed at the
/// mounted one, and the CLI checked against the engine.
pub(crate) const SETUP: &str = "ln -sfn /gantry/docker.sock /run/docker.sock\n\
docker version --format '{{.Server.Version}}' >/dev/null\n";

/// `$DOCKER_HOST` when it names a unix socket, else the engine's default socket.
fn socket_path() -> PathBuf {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"))
}

/// Removes the containers that joined container `id`'s network namespace (docker lets
/// the host go first and leaves them running otherwise). `id` may be a short id.
pub(crate) fn remove_dependents(docker: &std::path::Path, id: &str) -> io::Result<usize> {
    let all = cmd::run(docker, &["ps", "-aq", "--no-trunc"], None)?;
    let ids: Vec<&str> = all.split_whitespace().collect();
    if ids.is_empty() {
        return Ok(0);
    }
    let mut args = vec!["inspect", "--format", "{{.Id}} {{.HostConfig.NetworkMode}}"];
    args.extend(&ids);
    // A container may go between `ps` and `inspect`: what could be read is enough.
    let out = Command::new(docker).args(&args).output()?;
    let listing = String::from_utf8_lossy(&out.stdout);
    let prefix = format!("container:{id}");
    let mut removed = 0;
    for line in listing.lines() {
        let mut parts = line.split_whitespace();
        let (Some(dependent), Some(mode)) = (parts.next(), parts.next()) else {
            continue;
        };
        if mode.starts_with(&prefix) {
            let _ = Command::new(docker).args(["rm", "-f", dependent]).output();
            removed += 1;
        }
    }
    Ok(removed)
}
