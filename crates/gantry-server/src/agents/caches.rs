//! Caches on the server: one store per project (`<data>/caches/<project>`), used by the
//! project's jobs on the server's own pool and, through the agent endpoints, by its
//! jobs on agents, so an entry saved on any machine is restored on every other.

use std::io;
use std::path::{Path, PathBuf};

use gantry_engine::cache::CacheStore;
use gantry_engine::fsutil::slug;

use crate::state::ServerState;

/// The cache store of `project`.
pub fn project_caches(state: &ServerState, project: &str) -> CacheStore {
    CacheStore::new(caches_dir(&state.data_dir, project))
}

fn caches_dir(data_dir: &Path, project: &str) -> PathBuf {
    data_dir.join("caches").join(slug(project))
}

/// A tar of the entry `key` (or the newest matching one of `restore_keys`) of
/// `project`'s caches, written to a temporary file: the key found and the file, `None`
/// when there is no such entry. Blocking.
pub fn pack_entry(
    data_dir: &Path,
    project: &str,
    key: &str,
    restore_keys: &[String],
) -> io::Result<Option<(String, tempfile::NamedTempFile)>> {
    let dir = caches_dir(data_dir, project);
    let Some((found, files)) = CacheStore::new(dir.clone()).lookup(key, restore_keys) else {
        return Ok(None);
    };
    let tmp = tempfile::Builder::new()
        .prefix(".sending-")
        .tempfile_in(&dir)?;
    let mut builder = tar::Builder::new(tmp.reopen()?);
    builder.follow_symlinks(false);
    builder.append_dir_all(".", &files)?;
    builder.into_inner()?;
    Ok(Some((found, tmp)))
}

/// Adds the entry `key` to `project`'s caches from the tar in `tar` (an agent's
/// upload), unless the key exists (entries are immutable; the first one saved wins).
/// Returns whether it was added. Blocking.
pub fn install_entry(data_dir: &Path, project: &str, key: &str, tar: &Path) -> io::Result<bool> {
    CacheStore::new(caches_dir(data_dir, project))
        .insert(key, |files| gantry_agent::archive::unpack_file(tar, files))
}
