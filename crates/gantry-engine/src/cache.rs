//! Caches: directories restored into a job's work directory by key before its steps
//! run, and saved under a new key after it succeeds. Entries are immutable (a key that
//! exists is never overwritten, as in GitHub Actions), saved atomically (written to a
//! temporary directory, then renamed), and shared by all runs on this data directory.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::fsutil::{contained, copy_entry, copy_tree, slug};

/// Where caches live beyond this directory: an agent's server, so every machine of the
/// fleet restores what any of them saved. The methods block (they are called from the
/// engine's blocking pool).
pub trait CacheRemote: Send + Sync + fmt::Debug {
    /// Fetches the entry for `key`, or else the newest entry whose key starts with one
    /// of `restore_keys` (tried in order), writing its files under `dest`. Returns the
    /// key fetched, `None` when there is none.
    fn fetch(&self, key: &str, restore_keys: &[String], dest: &Path) -> io::Result<Option<String>>;

    /// Stores the new entry `key` whose files are under `files`.
    fn store(&self, key: &str, files: &Path) -> io::Result<()>;
}

#[derive(Debug, Clone)]
pub struct CacheStore {
    root: PathBuf,
    remote: Option<Arc<dyn CacheRemote>>,
}

const KEY_FILE: &str = "key";
const FILES: &str = "files";

impl CacheStore {
    pub fn new(root: PathBuf) -> Self {
        CacheStore { root, remote: None }
    }

    /// This store as a local copy of `remote`: misses are fetched from it (and kept
    /// here), new entries are sent to it.
    pub fn with_remote(mut self, remote: Arc<dyn CacheRemote>) -> Self {
        self.remote = Some(remote);
        self
    }

    fn entry(&self, key: &str) -> PathBuf {
        self.root.join(slug(key))
    }

    /// The entry for `key`, or else the newest entry whose key starts with one of
    /// `restore_keys` (tried in order): its key and its files directory. Local only.
    /// Blocking.
    pub fn lookup(&self, key: &str, restore_keys: &[String]) -> Option<(String, PathBuf)> {
        let exact = self.entry(key);
        if exact.join(KEY_FILE).exists() {
            return Some((key.to_string(), exact.join(FILES)));
        }
        restore_keys.iter().find_map(|prefix| {
            self.newest_with_prefix(prefix)
                .map(|(found, dir)| (found, dir.join(FILES)))
        })
    }

    /// Restores the entry for `key`, or else the newest entry whose key starts with one
    /// of `restore_keys` (tried in order). Returns the key that was restored. With a
    /// remote, an exact local entry is used as is; otherwise the remote is asked first
    /// (it has what every machine saved) and this directory is the fallback when it
    /// has nothing or cannot be reached. Blocking.
    pub fn restore(
        &self,
        key: &str,
        restore_keys: &[String],
        workspace: &Path,
    ) -> io::Result<Option<String>> {
        let exact = self.entry(key);
        if exact.join(KEY_FILE).exists() {
            copy_tree(&exact.join(FILES), workspace)?;
            return Ok(Some(key.to_string()));
        }
        if let Some(remote) = &self.remote
            && let Ok(Some((found, files))) = self.fetch(remote.as_ref(), key, restore_keys)
        {
            copy_tree(&files, workspace)?;
            return Ok(Some(found));
        }
        match self.lookup(key, restore_keys) {
            Some((found, files)) => {
                copy_tree(&files, workspace)?;
                Ok(Some(found))
            }
            None => Ok(None),
        }
    }

    /// Fetches from `remote` into a new local entry; its key and files directory.
    fn fetch(
        &self,
        remote: &dyn CacheRemote,
        key: &str,
        restore_keys: &[String],
    ) -> io::Result<Option<(String, PathBuf)>> {
        std::fs::create_dir_all(&self.root)?;
        let tmp = tempfile::Builder::new()
            .prefix(".fetching-")
            .tempdir_in(&self.root)?;
        let Some(found) = remote.fetch(key, restore_keys, &tmp.path().join(FILES))? else {
            return Ok(None);
        };
        std::fs::write(tmp.path().join(KEY_FILE), &found)?;
        let entry = self.entry(&found);
        let tmp_path = tmp.keep();
        if std::fs::rename(&tmp_path, &entry).is_err() {
            // Fetched twice at once (or kept already): either copy is the entry.
            let _ = std::fs::remove_dir_all(&tmp_path);
        }
        Ok(Some((found, entry.join(FILES))))
    }

    fn newest_with_prefix(&self, prefix: &str) -> Option<(String, PathBuf)> {
        let mut best: Option<(SystemTime, String, PathBuf)> = None;
        for entry in std::fs::read_dir(&self.root).ok()?.flatten() {
            let dir = entry.path();
            let Ok(key) = std::fs::read_to_string(dir.join(KEY_FILE)) else {
                continue;
            };
            if !key.starts_with(prefix) {
                continue;
            }
            let mtime = std::fs::metadata(dir.join(KEY_FILE))
                .and_then(|m| m.modified())
                .ok()?;
            if best.as_ref().is_none_or(|(t, _, _)| mtime > *t) {
                best = Some((mtime, key, dir));
            }
        }
        best.map(|(_, k, d)| (k, d))
    }

    /// Saves `paths` (relative to `workspace`) under `key` unless that key exists, and
    /// sends the new entry to the remote if there is one. Returns whether a new entry
    /// was written. Blocking.
    pub fn save(&self, key: &str, paths: &[String], workspace: &Path) -> io::Result<bool> {
        let saved = self.insert(key, |files| {
            std::fs::create_dir_all(files)?;
            for rel in paths {
                let Some(src) = contained(workspace, rel.trim_end_matches('/')) else {
                    return Err(io::Error::other(format!(
                        "cache path '{rel}' is outside the work directory"
                    )));
                };
                let Ok(meta) = src.symlink_metadata() else {
                    continue;
                };
                let dest = files.join(rel.trim_end_matches('/'));
                if meta.is_dir() {
                    copy_tree(&src, &dest)?;
                } else {
                    copy_entry(&src, &dest, meta.file_type().is_symlink())?;
                }
            }
            Ok(())
        })?;
        if saved && let Some(remote) = &self.remote {
            remote
                .store(key, &self.entry(key).join(FILES))
                .map_err(|e| io::Error::other(format!("saved here, but not sent on: {e}")))?;
        }
        Ok(saved)
    }

    /// Adds entry `key` whose files `fill` writes into the directory it is given,
    /// atomically (a temporary directory renamed into place), unless `key` exists.
    /// Returns whether a new entry was written. Blocking.
    pub fn insert(
        &self,
        key: &str,
        fill: impl FnOnce(&Path) -> io::Result<()>,
    ) -> io::Result<bool> {
        let final_dir = self.entry(key);
        if final_dir.join(KEY_FILE).exists() {
            return Ok(false);
        }
        std::fs::create_dir_all(&self.root)?;
        let tmp = tempfile::Builder::new()
            .prefix(".saving-")
            .tempdir_in(&self.root)?;
        fill(&tmp.path().join(FILES))?;
        std::fs::create_dir_all(tmp.path().join(FILES))?;
        std::fs::write(tmp.path().join(KEY_FILE), key)?;
        let tmp_path = tmp.keep();
        if std::fs::rename(&tmp_path, &final_dir).is_err() {
            // Another job saved the same key first; theirs wins.
            let _ = std::fs::remove_dir_all(&tmp_path);
            return Ok(false);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn miss_save_hit_and_prefix_restore() {
        let root = tempfile::tempdir().unwrap();
        let store = CacheStore::new(root.path().join("cache"));
        let ws = tempfile::tempdir().unwrap();
        assert_eq!(store.restore("deps-1", &[], ws.path()).unwrap(), None);
        std::fs::create_dir_all(ws.path().join("target/debug")).unwrap();
        std::fs::write(ws.path().join("target/debug/x"), "built").unwrap();
        assert!(store.save("deps-1", &["target".into()], ws.path()).unwrap());
        assert!(
            !store.save("deps-1", &["target".into()], ws.path()).unwrap(),
            "keys are immutable"
        );

        let fresh = tempfile::tempdir().unwrap();
        assert_eq!(
            store
                .restore("deps-1", &[], fresh.path())
                .unwrap()
                .as_deref(),
            Some("deps-1")
        );
        assert_eq!(
            std::fs::read_to_string(fresh.path().join("target/debug/x")).unwrap(),
            "built"
        );

        let other = tempfile::tempdir().unwrap();
        let hit = store
            .restore("deps-2", &["nope-".into(), "deps-".into()], other.path())
            .unwrap();
        assert_eq!(hit.as_deref(), Some("deps-1"));
        assert!(store.save("x", &["../etc".into()], ws.path()).is_err());
    }

    /// A remote that is another directory's store (the server's, in production).
    #[derive(Debug)]
    struct DirRemote {
        store: CacheStore,
        down: std::sync::atomic::AtomicBool,
    }

    impl CacheRemote for DirRemote {
        fn fetch(&self, key: &str, rk: &[String], dest: &Path) -> io::Result<Option<String>> {
            if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(io::Error::other("unreachable"));
            }
            match self.store.lookup(key, rk) {
                Some((found, files)) => {
                    copy_tree(&files, dest)?;
                    Ok(Some(found))
                }
                None => Ok(None),
            }
        }

        fn store(&self, key: &str, files: &Path) -> io::Result<()> {
            if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(io::Error::other("unreachable"));
            }
            self.store
                .insert(key, |dest| copy_tree(files, dest).map(|_| ()))
                .map(|_| ())
        }
    }

    #[test]
    fn a_remote_shares_entries_between_machines_and_local_copies_serve_when_it_is_down() {
        let server = tempfile::tempdir().unwrap();
        let remote = Arc::new(DirRemote {
            store: CacheStore::new(server.path().to_path_buf()),
            down: false.into(),
        });
        let (m1, m2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let one = CacheStore::new(m1.path().join("c")).with_remote(remote.clone());
        let two = CacheStore::new(m2.path().join("c")).with_remote(remote.clone());

        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(ws.path().join("deps")).unwrap();
        std::fs::write(ws.path().join("deps/lib"), "v1").unwrap();
        assert!(one.save("deps-1", &["deps".into()], ws.path()).unwrap());
        assert!(
            remote.store.lookup("deps-1", &[]).is_some(),
            "sent to the remote"
        );

        // Another machine restores it, by exact key and by prefix.
        let fresh = tempfile::tempdir().unwrap();
        let hit = two.restore("deps-1", &[], fresh.path()).unwrap();
        assert_eq!(hit.as_deref(), Some("deps-1"));
        assert_eq!(
            std::fs::read_to_string(fresh.path().join("deps/lib")).unwrap(),
            "v1"
        );
        let other = tempfile::tempdir().unwrap();
        let hit = two
            .restore("deps-2", &["deps-".into()], other.path())
            .unwrap();
        assert_eq!(hit.as_deref(), Some("deps-1"));

        // The second machine kept a copy: with the remote down it still restores.
        remote.down.store(true, std::sync::atomic::Ordering::SeqCst);
        let offline = tempfile::tempdir().unwrap();
        let hit = two
            .restore("deps-3", &["deps-".into()], offline.path())
            .unwrap();
        assert_eq!(hit.as_deref(), Some("deps-1"));
        // Saving while the remote is down keeps the entry here and says so.
        let err = two.save("deps-9", &["deps".into()], ws.path()).unwrap_err();
        assert!(err.to_string().contains("not sent on"), "{err}");
        assert!(two.lookup("deps-9", &[]).is_some());
    }
}
