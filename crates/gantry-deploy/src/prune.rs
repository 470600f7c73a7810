//! Which releases to delete after a deploy: all but the newest `keep`, never the current
//! or the previous one. Pure.

/// One release directory on a host: its version and when it was installed (unix time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseEntry {
    pub version: String,
    pub installed_at: i64,
}

/// The versions to delete, oldest first. `current` and `previous` are always kept and
/// count towards `keep`.
pub fn releases_to_delete(
    releases: &[ReleaseEntry],
    keep: usize,
    current: Option<&str>,
    previous: Option<&str>,
) -> Vec<String> {
    let mut sorted: Vec<&ReleaseEntry> = releases.iter().collect();
    // Newest first; equal times by name, so the choice is the same on every host.
    sorted.sort_by(|a, b| {
        b.installed_at
            .cmp(&a.installed_at)
            .then_with(|| b.version.cmp(&a.version))
    });
    let pinned = |v: &str| Some(v) == current || Some(v) == previous;
    let pinned_count = sorted.iter().filter(|r| pinned(&r.version)).count();
    let mut room = keep.saturating_sub(pinned_count);
    let mut delete = Vec::new();
    for r in sorted {
        if pinned(&r.version) {
            continue;
        }
        if room > 0 {
            room -= 1;
        } else {
            delete.push(r.version.clone());
        }
    }
    delete.reverse();
    delete
}

#[cfg(test)]
mod tests {
    use super::*;

    fn releases(list: &[(&str, i64)]) -> Vec<ReleaseEntry> {
        list.iter()
            .map(|(v, t)| ReleaseEntry {
                version: v.to_string(),
                installed_at: *t,
            })
            .collect()
    }

    #[test]
    fn keeps_the_newest_and_deletes_the_oldest() {
        let r = releases(&[("v1", 1), ("v2", 2), ("v3", 3), ("v4", 4), ("v5", 5)]);
        assert_eq!(
            releases_to_delete(&r, 3, Some("v5"), Some("v4")),
            ["v1", "v2"]
        );
        assert!(releases_to_delete(&r, 5, Some("v5"), Some("v4")).is_empty());
    }

    #[test]
    fn never_deletes_current_or_previous_even_when_old() {
        // After a rollback, current is an old release.
        let r = releases(&[("v1", 1), ("v2", 2), ("v3", 3), ("v4", 4)]);
        assert_eq!(
            releases_to_delete(&r, 2, Some("v1"), Some("v4")),
            ["v2", "v3"]
        );
        // keep smaller than the pinned ones: only the pinned stay.
        assert_eq!(
            releases_to_delete(&r, 1, Some("v1"), Some("v2")),
            ["v3", "v4"]
        );
    }

    #[test]
    fn without_current_or_previous_it_keeps_the_newest() {
        let r = releases(&[("b", 5), ("a", 5), ("c", 1)]);
        assert_eq!(releases_to_delete(&r, 2, None, None), ["c"]);
        assert!(releases_to_delete(&[], 2, None, None).is_empty());
    }
}
