//! The docker run mode (`run: { docker: … }`): a release's container is started and
//! stopped by a systemd unit (`unit.rs`), so rolling, blue-green and canary work on it
//! exactly as on a plain unit. The image comes in the release as an image archive
//! (`docker save` output, loaded at install) or is on the host already; either way the
//! install tags it `gantry/<service>:<version>` and the unit runs that tag, so each
//! release runs the image it was installed with even when the image's own tag
//! (`web:latest`) moves on. `script.rs` holds the shell for loading, re-loading and
//! pruning images.

pub(crate) mod script;
pub(crate) mod unit;

use gantry_workspace::{Run, Service};

use crate::layout::Layout;
use crate::prune::ReleaseEntry;

/// The name an image archive has in a release directory: a file artifact is shipped
/// under it, a directory artifact may hold it.
pub const IMAGE_ARCHIVE: &str = "image.tar";

/// `gantry/<service>:<version>`, the tag the release's image gets on the host. A Docker
/// tag cannot hold `+`, so `1.0+b5` is tagged `1.0_b5` ([`tag_clash`] keeps two releases
/// off one tag).
pub fn pinned_image(service: &str, version: &str) -> String {
    format!("gantry/{service}:{}", version.replace('+', "_"))
}

/// Another release on the host whose pinned tag would be `version`'s, if any.
pub fn tag_clash<'a>(
    service: &str,
    version: &str,
    releases: &'a [ReleaseEntry],
) -> Option<&'a str> {
    let mine = pinned_image(service, version);
    releases
        .iter()
        .find(|r| r.version != version && pinned_image(service, &r.version) == mine)
        .map(|r| r.version.as_str())
}

/// Shell run just before a unit of `version` starts (a switch, a slot start): for a
/// docker service, its image loaded again from the release's archive if someone removed
/// it (`docker image prune -a` removes images no container uses, such as the previous
/// release's); nothing for a systemd service.
pub fn before_start(service: &Service, layout: &Layout, version: &str) -> String {
    match &service.run {
        Run::Docker(_) => script::ensure_image(layout, version),
        Run::Systemd(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_are_tagged_by_version_and_a_shared_tag_is_found() {
        assert_eq!(pinned_image("web", "v2"), "gantry/web:v2");
        assert_eq!(pinned_image("web", "1.0.0+b5"), "gantry/web:1.0.0_b5");
        let releases = [
            ReleaseEntry {
                version: "1.0_a".into(),
                installed_at: 1,
            },
            ReleaseEntry {
                version: "1.0+b".into(),
                installed_at: 2,
            },
        ];
        assert_eq!(tag_clash("web", "1.0+a", &releases), Some("1.0_a"));
        assert_eq!(tag_clash("web", "1.0+b", &releases), None, "itself");
        assert_eq!(tag_clash("web", "2.0", &releases), None);
    }
}
