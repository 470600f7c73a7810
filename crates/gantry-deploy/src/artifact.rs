//! Packing the artifact for the hosts: a file or a directory as a gzipped tar, base64
//! encoded so it travels inside the install script on the transport's standard input
//! (the `Transport` trait carries one text script per call; one round trip installs a
//! release). A file lands in the release directory under its own name, a directory's
//! contents become the release directory. A docker service's file artifact (an image
//! archive) lands as `image.tar`, where the install looks for it.

use std::io::Write;
use std::path::Path;

use base64::Engine;

use crate::docker::IMAGE_ARCHIVE;

/// The artifact, packed once per deploy and sent to every host.
#[derive(Clone)]
pub struct Packed {
    /// Base64 of the tar.gz, in 76-column lines.
    pub base64: String,
    /// Size of the tar.gz in bytes.
    pub bytes: usize,
}

impl std::fmt::Debug for Packed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packed")
            .field("bytes", &self.bytes)
            .finish()
    }
}

/// Packs `path` (a file or a directory; symlinks are kept as links).
pub fn pack(path: &Path) -> Result<Packed, String> {
    pack_as(path, None)
}

/// Packs a docker service's artifact: a file (a `docker save` archive, gzipped or not)
/// under the name [`IMAGE_ARCHIVE`], a directory as it is (a release fetched by
/// `promote` holds its archive under that name already, or none when its image was on
/// the host).
pub fn pack_image(path: &Path) -> Result<Packed, String> {
    pack_as(path, Some(IMAGE_ARCHIVE))
}

/// `name`: what a file is called in the release (its own name when `None`).
fn pack_as(path: &Path, name: Option<&str>) -> Result<Packed, String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the artifact {}: {e}", path.display()))?;
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    let result = if meta.is_dir() {
        tar.append_dir_all(".", path)
    } else {
        let name = match name {
            Some(n) => std::ffi::OsStr::new(n),
            None => path
                .file_name()
                .ok_or_else(|| format!("the artifact {} has no file name", path.display()))?,
        };
        tar.append_path_with_name(path, name)
    };
    result.map_err(|e| format!("cannot pack the artifact {}: {e}", path.display()))?;
    let gz = tar
        .into_inner()
        .map_err(|e| format!("cannot pack the artifact: {e}"))?;
    let mut gz = gz;
    gz.flush()
        .map_err(|e| format!("cannot pack the artifact: {e}"))?;
    let bytes = gz
        .finish()
        .map_err(|e| format!("cannot pack the artifact: {e}"))?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let mut lines = String::with_capacity(encoded.len() + encoded.len() / 76 + 1);
    for chunk in encoded.as_bytes().chunks(76) {
        lines.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        lines.push('\n');
    }
    Ok(Packed {
        base64: lines,
        bytes: bytes.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unpack(packed: &Packed) -> Vec<String> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(packed.base64.replace('\n', ""))
            .unwrap_or_default();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&raw[..]));
        let mut names: Vec<String> = archive
            .entries()
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| {
                e.path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn packs_a_file_under_its_name_and_a_directory_by_its_contents() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("app");
        std::fs::write(&file, "binary").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            unpack(&pack(&file).unwrap_or_else(|e| panic!("{e}"))),
            ["app"]
        );
        std::fs::create_dir(dir.path().join("static")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("static/x.css"), "x").unwrap_or_else(|e| panic!("{e}"));
        let names = unpack(&pack(dir.path()).unwrap_or_else(|e| panic!("{e}")));
        assert!(
            names.iter().any(|n| n.ends_with("static/x.css")),
            "{names:?}"
        );
        assert!(pack(&dir.path().join("missing")).is_err());
        assert_eq!(
            unpack(&pack_image(&file).unwrap_or_else(|e| panic!("{e}"))),
            ["image.tar"]
        );
    }
}
