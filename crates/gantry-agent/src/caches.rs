//! The agent's caches: a store per project under `<data>/cache/<project>` that keeps
//! the entries jobs on this machine used (a hit there costs no transfer), backed by the
//! server's store of the project: misses are fetched from the server, and entries saved
//! here are sent there, so what one agent saves every other agent (and the server's own
//! pool) restores. A failed transfer only costs the cache, never the job.

use std::io;
use std::path::Path;
use std::sync::Arc;

use gantry_engine::cache::{CacheRemote, CacheStore};
use gantry_engine::fsutil::slug;

use crate::archive;
use crate::client::Client;
use crate::protocol::CacheQuery;

/// The cache store for a job of `project`, with the server behind it.
pub fn job_caches(
    caches_dir: &Path,
    project: &str,
    client: Client,
    job_id: i64,
    fencing_token: i64,
) -> CacheStore {
    CacheStore::new(caches_dir.join(slug(project))).with_remote(Arc::new(ServerCaches {
        client,
        job_id,
        fencing_token,
        runtime: tokio::runtime::Handle::current(),
    }))
}

/// The server's caches, reached through one job's endpoints (the server checks that
/// this agent holds the job).
#[derive(Debug)]
struct ServerCaches {
    client: Client,
    job_id: i64,
    fencing_token: i64,
    /// The engine calls from its blocking pool; requests run on the agent's runtime.
    runtime: tokio::runtime::Handle,
}

impl CacheRemote for ServerCaches {
    fn fetch(&self, key: &str, restore_keys: &[String], dest: &Path) -> io::Result<Option<String>> {
        let tar = dest.with_extension("tar");
        let query = CacheQuery {
            fencing_token: self.fencing_token,
            key: key.to_string(),
            restore_keys: restore_keys.to_vec(),
        };
        let found = self
            .runtime
            .block_on(self.client.cache_restore(self.job_id, &query, &tar))
            .map_err(io::Error::other)?;
        if found.is_some() {
            let unpacked = archive::unpack_file(&tar, dest);
            let _ = std::fs::remove_file(&tar);
            unpacked?;
        }
        Ok(found)
    }

    fn store(&self, key: &str, files: &Path) -> io::Result<()> {
        // In the store's directory, beside (not inside) the entries.
        let root = files.parent().and_then(Path::parent).unwrap_or(files);
        let tmp = tempfile::NamedTempFile::new_in(root)?;
        archive::pack_dir_into(files, tmp.reopen()?)?;
        self.runtime
            .block_on(
                self.client
                    .cache_upload(self.job_id, self.fencing_token, key, tmp.path()),
            )
            .map_err(io::Error::other)
    }
}
