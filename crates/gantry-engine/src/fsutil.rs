//! File-system helpers shared by work directories, artifacts and caches: copying trees
//! (keeping modes and symlinks) and checking that user-given paths stay inside a root.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Copies the tree at `from` into `to` (created if missing): files with their modes,
/// symlinks as symlinks, directories recursively.
pub fn copy_tree(from: &Path, to: &Path) -> io::Result<u64> {
    let mut files = 0;
    std::fs::create_dir_all(to)?;
    for entry in walkdir::WalkDir::new(from).min_depth(1).follow_links(false) {
        let entry = entry.map_err(io::Error::other)?;
        let rel = entry.path().strip_prefix(from).map_err(io::Error::other)?;
        let dest = to.join(rel);
        let ft = entry.file_type();
        if ft.is_dir() {
            std::fs::create_dir_all(&dest)?;
        } else {
            copy_entry(entry.path(), &dest, ft.is_symlink())?;
            files += 1;
        }
    }
    Ok(files)
}

/// Copies one file or symlink, creating parent directories and replacing what is there.
pub fn copy_entry(from: &Path, to: &Path, is_symlink: bool) -> io::Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if to.symlink_metadata().is_ok() {
        std::fs::remove_file(to)?;
    }
    if is_symlink {
        let target = std::fs::read_link(from)?;
        std::os::unix::fs::symlink(target, to)
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}

/// `root.join(rel)` if `rel` is a relative path without `..`, so a pipeline cannot name
/// a file outside the work directory.
pub fn contained(root: &Path, rel: &str) -> Option<PathBuf> {
    let path = Path::new(rel);
    let ok = !rel.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    ok.then(|| root.join(path))
}

/// A file-name-safe, unique form of a job key or cache key: readable characters kept,
/// the rest replaced, plus a short hash of the original so distinct keys never collide.
pub fn slug(key: &str) -> String {
    use sha2::{Digest, Sha256};
    let readable: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(48)
        .collect();
    let hash = hex::encode(&Sha256::digest(key.as_bytes())[..4]);
    format!("{readable}-{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contained_refuses_escapes() {
        let root = Path::new("/w");
        assert_eq!(contained(root, "a/b"), Some(PathBuf::from("/w/a/b")));
        assert_eq!(contained(root, "../x"), None);
        assert_eq!(contained(root, "/etc/passwd"), None);
        assert_eq!(contained(root, "a/../../x"), None);
    }

    #[test]
    fn slugs_are_distinct_and_safe() {
        let a = slug("test (stable, linux)");
        let b = slug("test (stable/linux)");
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
    }

    #[test]
    fn copy_tree_keeps_symlinks_and_modes() {
        use std::os::unix::fs::PermissionsExt;
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(src.path().join("d")).unwrap();
        std::fs::write(src.path().join("d/run.sh"), "echo hi").unwrap();
        std::fs::set_permissions(
            src.path().join("d/run.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("d/run.sh", src.path().join("link")).unwrap();
        assert_eq!(copy_tree(src.path(), dst.path()).unwrap(), 2);
        let mode = std::fs::metadata(dst.path().join("d/run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            std::fs::read_link(dst.path().join("link")).unwrap(),
            PathBuf::from("d/run.sh")
        );
    }
}
