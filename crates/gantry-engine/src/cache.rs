//! Caches: directories restored into a job's work directory by key before its steps
//! run, and saved under a new key after it succeeds. Entries are immutable (a key that
//! exists is never overwritten, as in GitHub Actions), saved atomically (written to a
//! temporary directory, then renamed), and shared by all runs on this data directory.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::fsutil::{contained, copy_entry, copy_tree, slug};

#[derive(Debug, Clone)]
pub struct CacheStore {
    root: PathBuf,
}

const KEY_FILE: &str = "key";
const FILES: &str = "files";

impl CacheStore {
    pub fn new(root: PathBuf) -> Self {
        CacheStore { root }
    }

    fn entry(&self, key: &str) -> PathBuf {
        self.root.join(slug(key))
    }

    /// Restores the entry for `key`, or else the newest entry whose key starts with one
    /// of `restore_keys` (tried in order). Returns the key that was restored. Blocking.
    pub fn restore(
        &self,
        key: &str,
        restore_keys: &[String],
        workspace: &Path,
    ) -> std::io::Result<Option<String>> {
        let exact = self.entry(key);
        if exact.join(KEY_FILE).exists() {
            copy_tree(&exact.join(FILES), workspace)?;
            return Ok(Some(key.to_string()));
        }
        for prefix in restore_keys {
            if let Some((found, dir)) = self.newest_with_prefix(prefix) {
                copy_tree(&dir.join(FILES), workspace)?;
                return Ok(Some(found));
            }
        }
        Ok(None)
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

    /// Saves `paths` (relative to `workspace`) under `key` unless that key exists.
    /// Returns whether a new entry was written. Blocking.
    pub fn save(&self, key: &str, paths: &[String], workspace: &Path) -> std::io::Result<bool> {
        let final_dir = self.entry(key);
        if final_dir.join(KEY_FILE).exists() {
            return Ok(false);
        }
        std::fs::create_dir_all(&self.root)?;
        let tmp = tempfile::Builder::new()
            .prefix(".saving-")
            .tempdir_in(&self.root)?;
        let files = tmp.path().join(FILES);
        std::fs::create_dir_all(&files)?;
        for rel in paths {
            let Some(src) = contained(workspace, rel.trim_end_matches('/')) else {
                return Err(std::io::Error::other(format!(
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
}
