//! Directory trees as tar streams: sources, artifacts and caches cross between server
//! and agent this way. Unpacking never writes outside the destination (the `tar` crate
//! refuses `..` and absolute paths) and never follows symlinks while packing.

use std::io;
use std::path::Path;

/// Tar of everything under `dir` (paths relative to it); an empty archive when `dir`
/// does not exist. Blocking.
pub fn pack_dir(dir: &Path) -> io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    if dir.is_dir() {
        builder.append_dir_all(".", dir)?;
    }
    builder.into_inner()
}

/// Tar of everything under `dir` written to `file` (for trees too big to hold in
/// memory: caches). Blocking.
pub fn pack_dir_into(dir: &Path, file: std::fs::File) -> io::Result<()> {
    let mut builder = tar::Builder::new(io::BufWriter::new(file));
    builder.follow_symlinks(false);
    if dir.is_dir() {
        builder.append_dir_all(".", dir)?;
    }
    io::Write::flush(&mut builder.into_inner()?)
}

/// Unpacks a tar made by [`pack_dir`] (or `git archive`) into `dest`, creating it.
/// Blocking.
pub fn unpack(bytes: &[u8], dest: &Path) -> io::Result<()> {
    unpack_from(bytes, dest)
}

/// Like [`unpack`], reading the tar from the file at `tar`. Blocking.
pub fn unpack_file(tar: &Path, dest: &Path) -> io::Result<()> {
    unpack_from(io::BufReader::new(std::fs::File::open(tar)?), dest)
}

fn unpack_from(reader: impl io::Read, dest: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dest)?;
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_overwrite(true);
    archive.unpack(dest)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_tree_round_trips_with_modes_and_symlinks() {
        use std::os::unix::fs::PermissionsExt;
        let src = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(src.path().join("a/b")).unwrap();
        std::fs::write(src.path().join("a/b/f.txt"), "hello").unwrap();
        std::fs::write(src.path().join("run.sh"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            src.path().join("run.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("a/b/f.txt", src.path().join("link")).unwrap();
        let bytes = pack_dir(src.path()).unwrap();
        let dest = tempfile::tempdir().unwrap();
        unpack(&bytes, &dest.path().join("out")).unwrap();
        let out = dest.path().join("out");
        assert_eq!(
            std::fs::read_to_string(out.join("a/b/f.txt")).unwrap(),
            "hello"
        );
        let mode = std::fs::metadata(out.join("run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert!(
            std::fs::symlink_metadata(out.join("link"))
                .unwrap()
                .is_symlink()
        );
    }

    #[test]
    fn a_missing_dir_packs_as_an_empty_archive_and_escapes_are_refused() {
        let dest = tempfile::tempdir().unwrap();
        let empty = pack_dir(&dest.path().join("nope")).unwrap();
        unpack(&empty, &dest.path().join("x")).unwrap();
        assert_eq!(std::fs::read_dir(dest.path().join("x")).unwrap().count(), 0);

        // A hand-made archive with a `../` entry: the tar crate skips it.
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        let mut builder = tar::Builder::new(Vec::new());
        let name = b"../escaped";
        header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
        header.set_cksum();
        builder.append(&header, &b"x"[..]).unwrap();
        let bytes = builder.into_inner().unwrap();
        let inner = dest.path().join("inner");
        let _ = unpack(&bytes, &inner);
        assert!(!dest.path().join("escaped").exists());
    }
}
