//! The shell a docker service adds to a deploy's scripts: the image loaded and tagged at
//! install, loaded again before a start if it went missing, and removed with the
//! releases that are pruned. Every value reaching a script is single-quoted.
//!
//! Each release directory records its image under `.gantry/`: `image` (the reference
//! the workspace names), `image-id` (what it was at install) and `image-loaded` (present
//! when the install loaded it from the release's archive, so Gantry owns the reference
//! and may remove it).

use gantry_infra::shell::quote;

use super::{IMAGE_ARCHIVE, pinned_image};
use crate::layout::Layout;

/// Fails the script when the host has no docker CLI.
const NEEDS_DOCKER: &str = "command -v docker >/dev/null 2>&1 || { echo \"docker is not installed on this host (a service with run.docker needs the Docker Engine and its CLI)\" >&2; exit 6; }\n";

/// Lines for the install script, run on the release directory in `$dir` before it is
/// marked complete: the archive (if the release has one) loaded, `image` looked up, its
/// id recorded and tagged with the release's pinned tag. `fresh`: the release was just
/// unpacked (else it was on the host: its image is loaded only if it went missing).
pub fn install_image(layout: &Layout, version: &str, image: &str, fresh: bool) -> String {
    let pin = quote(&pinned_image(layout.service(), version));
    let image_q = quote(image);
    let mut s = String::from(NEEDS_DOCKER);
    s.push_str(&format!(
        "printf '%s\\n' {image_q} > \"$dir/.gantry/image\"\n"
    ));
    if !fresh {
        s.push_str(&format!(
            "if docker image inspect {pin} >/dev/null 2>&1 && [ -f \"$dir/.gantry/image-id\" ]; then echo image-present; else\n"
        ));
    }
    s.push_str(&format!(
        r#"loaded=
if [ -f "$dir/{IMAGE_ARCHIVE}" ]; then
  loaded=$(docker load -i "$dir/{IMAGE_ARCHIVE}" 2>&1) || {{ printf 'docker load of the image archive failed: %s\n' "$loaded" >&2; exit 7; }}
  : > "$dir/.gantry/image-loaded"
fi
if ! id=$(docker image inspect --format '{{{{.Id}}}}' {image_q} 2>/dev/null); then
  if [ -n "$loaded" ]; then
    printf 'the image archive does not hold %s (it has: %s)\n' {image_q} "$(printf '%s' "$loaded" | sed -n 's/^Loaded image[^:]*: //p' | tr '\n' ' ')" >&2
  else
    printf 'image %s is not on this host and the release brings no image archive: give its `docker save` archive as the artifact, or load it on the host first\n' {image_q} >&2
  fi
  exit 8
fi
printf '%s\n' "$id" > "$dir/.gantry/image-id"
docker tag "$id" {pin}
echo image-tagged
"#
    ));
    if !fresh {
        s.push_str("fi\n");
    }
    s
}

/// Lines run before a unit of `version` starts: when its pinned tag is gone, the image
/// is loaded again from the release's archive and tagged by the id recorded at install.
pub fn ensure_image(layout: &Layout, version: &str) -> String {
    let pin = quote(&pinned_image(layout.service(), version));
    let rel = quote(&layout.release(version));
    format!(
        r#"{NEEDS_DOCKER}if ! docker image inspect {pin} >/dev/null 2>&1; then
  if [ ! -f {rel}/{IMAGE_ARCHIVE} ] || [ ! -f {rel}/.gantry/image-id ]; then
    printf 'image %s is no longer on this host and release %s has no image archive to load it from\n' {pin} {version_q} >&2; exit 8
  fi
  out=$(docker load -i {rel}/{IMAGE_ARCHIVE} 2>&1) || {{ printf 'docker load of the image archive failed: %s\n' "$out" >&2; exit 7; }}
  docker tag "$(cat {rel}/.gantry/image-id)" {pin}
fi
"#,
        version_q = quote(version),
    )
}

/// Deletes old releases and their images: each release's pinned tag, and the image's
/// own reference when the release loaded it, no kept release names it, and it still
/// means the image that release had (`web:latest` may have moved on to a kept one).
/// An image a container still uses stays (`docker rmi` refuses; that is not an error).
pub fn prune(layout: &Layout, versions: &[String]) -> String {
    let releases = quote(&layout.releases());
    let mut s = format!("set -eu\nreleases={releases}\n");
    for v in versions {
        s.push_str(&format!(
            r#"rel={rel}
ref=$(cat "$rel/.gantry/image" 2>/dev/null || true)
id=$(cat "$rel/.gantry/image-id" 2>/dev/null || true)
owned=; [ -f "$rel/.gantry/image-loaded" ] && owned=1
rm -rf "$rel"
docker rmi {pin} >/dev/null 2>&1 || true
if [ -n "$owned" ] && [ -n "$ref" ] && [ -n "$id" ] \
  && ! cat "$releases"/*/.gantry/image 2>/dev/null | grep -qxF -- "$ref" \
  && [ "$(docker image inspect --format '{{{{.Id}}}}' "$ref" 2>/dev/null)" = "$id" ]; then
  docker rmi "$ref" >/dev/null 2>&1 || true
fi
"#,
            rel = quote(&layout.release(v)),
            pin = quote(&pinned_image(layout.service(), v)),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_install_loads_looks_up_and_tags_with_quoted_values() {
        let layout = Layout::new("/opt/gantry", "web");
        let s = install_image(&layout, "v2", "it's/web:v2", true);
        let load = s.find("docker load -i \"$dir/image.tar\"").unwrap();
        let inspect = s
            .find("docker image inspect --format '{{.Id}}' 'it'\\''s/web:v2'")
            .unwrap();
        let tag = s.find("docker tag \"$id\" 'gantry/web:v2'").unwrap();
        assert!(load < inspect && inspect < tag, "{s}");
        assert!(!s.contains("image-present"), "{s}");
        // A release already there is loaded again only when its tag is gone.
        let s = install_image(&layout, "v2", "web:v2", false);
        assert!(s.contains("if docker image inspect 'gantry/web:v2'"), "{s}");
        assert!(s.trim_end().ends_with("fi"), "{s}");
    }

    #[test]
    fn starting_reloads_a_missing_image_and_pruning_removes_only_what_is_owned() {
        let layout = Layout::new("/opt/gantry", "web");
        let s = ensure_image(&layout, "1.0+b");
        assert!(s.contains("docker image inspect 'gantry/web:1.0_b'"), "{s}");
        assert!(
            s.contains("docker load -i '/opt/gantry/web/releases/1.0+b'/image.tar"),
            "{s}"
        );
        let s = prune(&layout, &["v1".to_string()]);
        assert!(s.contains("docker rmi 'gantry/web:v1'"), "{s}");
        assert!(s.contains("grep -qxF -- \"$ref\""), "{s}");
        let rm = s.find("rm -rf \"$rel\"").unwrap();
        let kept = s.find("\"$releases\"/*/.gantry/image").unwrap();
        assert!(
            rm < kept,
            "the pruned release no longer counts as kept: {s}"
        );
    }
}
