//! `hash_files(patterns…)` for expressions: a SHA-256 over the matching files of a work
//! directory (paths and contents, in sorted path order), empty when nothing matches.

use globset::{Glob, GlobSetBuilder};
use sha2::{Digest, Sha256};
use std::path::Path;

pub fn hash_files(workspace: &Path, patterns: &[String]) -> Result<String, String> {
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        builder.add(Glob::new(p).map_err(|e| format!("hash_files: bad pattern '{p}': {e}"))?);
    }
    let set = builder.build().map_err(|e| format!("hash_files: {e}"))?;
    let mut files: Vec<_> = walkdir::WalkDir::new(workspace)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            let rel = e.path().strip_prefix(workspace).ok()?.to_path_buf();
            set.is_match(&rel).then_some(rel)
        })
        .collect();
    if files.is_empty() {
        return Ok(String::new());
    }
    files.sort();
    let mut total = Sha256::new();
    for rel in files {
        let bytes = std::fs::read(workspace.join(&rel))
            .map_err(|e| format!("hash_files: {}: {e}", rel.display()))?;
        total.update(rel.to_string_lossy().as_bytes());
        total.update([0]);
        total.update(Sha256::digest(&bytes));
    }
    Ok(hex::encode(total.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_changes_with_content_and_is_empty_without_matches() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(ws.path().join("Cargo.lock"), "v1").unwrap();
        let a = hash_files(ws.path(), &["Cargo.lock".into()]).unwrap();
        assert_eq!(a.len(), 64);
        std::fs::write(ws.path().join("Cargo.lock"), "v2").unwrap();
        assert_ne!(hash_files(ws.path(), &["Cargo.lock".into()]).unwrap(), a);
        assert_eq!(hash_files(ws.path(), &["*.nothing".into()]).unwrap(), "");
        assert!(hash_files(ws.path(), &["[".into()]).is_err());
    }
}
