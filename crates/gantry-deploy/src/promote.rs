//! `gantry promote`: the release that runs on one environment (every host of it on the
//! same version, healthy by its deploy's gate) fetched byte for byte from its first host
//! and deployed to another environment, through every protection of that one.

use base64::Engine;

use crate::error::DeployError;
use crate::layout::Layout;
use crate::mask::Masked;
use crate::request::{Options, Resolved};
use crate::rollout::{Progress, connect, read_states};

/// The release fetched from the source environment: its version and a directory with
/// its files (without Gantry's `.gantry/` bookkeeping), removed when dropped.
#[derive(Debug)]
pub struct Fetched {
    pub version: String,
    pub dir: tempfile::TempDir,
    pub bytes: usize,
}

/// Fetches the release that `from` (the service on its source environment) runs.
pub fn fetch_current(
    from: &Resolved<'_>,
    options: &Options,
    progress: Progress<'_>,
) -> Result<Fetched, DeployError> {
    let masked = Masked::new(options, progress);
    fetch(from, options, &masked.progress()).map_err(|e| masked.error(e))
}

fn fetch(
    from: &Resolved<'_>,
    options: &Options,
    progress: Progress<'_>,
) -> Result<Fetched, DeployError> {
    let targets = connect(from, options)?;
    let layout = Layout::new(&options.base_dir, &from.service.name);
    let env = &from.environment.name;
    let mut versions = Vec::new();
    for (target, state) in targets
        .hosts
        .iter()
        .zip(read_states(&targets.hosts, &layout))
    {
        let state = state.map_err(|e| {
            DeployError::Setup(format!("cannot read what {} runs: {e}", target.name))
        })?;
        match state.current {
            Some(v) => versions.push((target.name.clone(), v)),
            None => {
                return Err(DeployError::Setup(format!(
                    "{} of {env} runs no release of {}: nothing to promote",
                    target.name, from.service.name
                )));
            }
        }
    }
    let version = versions[0].1.clone();
    if let Some((host, other)) = versions.iter().find(|(_, v)| *v != version) {
        return Err(DeployError::Setup(format!(
            "the hosts of {env} do not run one release ({} runs {version}, {host} runs {other}): finish or roll back that deploy first",
            versions[0].0
        )));
    }
    progress(&format!(
        "{env} runs {} {version}: fetching it from {}",
        from.service.name, targets.hosts[0].name
    ));
    let release = gantry_infra::shell::quote(&layout.release(&version));
    let out = targets.hosts[0]
        .run_ok(&format!(
            "set -eu\ntest -f {release}/.gantry/complete\ntar -C {release} --exclude=./.gantry -czf - . | base64 -w 76\n"
        ))
        .map_err(|e| DeployError::Setup(format!("cannot fetch {version} from {}: {e}", targets.hosts[0].name)))?;
    let clean: String = out.split_whitespace().collect();
    let gz = base64::engine::general_purpose::STANDARD
        .decode(clean.as_bytes())
        .map_err(|e| DeployError::Setup(format!("the fetched release is damaged: {e}")))?;
    let dir = tempfile::tempdir()
        .map_err(|e| DeployError::Setup(format!("cannot make a temp directory: {e}")))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz.as_slice()));
    archive.set_preserve_permissions(true);
    archive
        .unpack(dir.path())
        .map_err(|e| DeployError::Setup(format!("cannot unpack the fetched release: {e}")))?;
    Ok(Fetched {
        version,
        dir,
        bytes: gz.len(),
    })
}
