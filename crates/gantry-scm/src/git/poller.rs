//! Polling, the alternative to webhooks: compare two `ls-remote` snapshots and turn new
//! and moved branches and tags into push events. Deleted refs start nothing.

use super::command::Invocation;
use super::url::check_url;
use super::{Git, GitError, RemoteRef, redact_url};
use crate::refs::RefTarget;
use gantry_pipeline::TriggerEvent;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefChangeKind {
    Created,
    Updated,
}

/// A push seen by polling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolledPush {
    pub git_ref: String,
    pub target: RefTarget,
    pub kind: RefChangeKind,
    /// The previous commit; `None` for a new ref.
    pub before: Option<String>,
    pub after: String,
    /// Files changed between `before` and `after`; `None` when unknown (a new ref, a tag,
    /// no cache directory, or the old commit no longer fetchable).
    pub changed_files: Option<Vec<String>>,
}

impl PolledPush {
    /// The push as pipeline triggers see it; `None` for refs that are neither branches
    /// nor tags.
    pub fn trigger_event(&self) -> Option<TriggerEvent> {
        match &self.target {
            RefTarget::Branch(b) => Some(TriggerEvent::Push {
                branch: Some(b.clone()),
                tag: None,
                changed_files: self.changed_files.clone(),
            }),
            RefTarget::Tag(t) => Some(TriggerEvent::Push {
                branch: None,
                tag: Some(t.clone()),
                changed_files: None,
            }),
            RefTarget::Other(_) => None,
        }
    }
}

/// The new and moved refs of `new` compared with `old`, in `new`'s order. Refs missing
/// from `new` were deleted and produce nothing.
pub fn diff_snapshots(old: &[RemoteRef], new: &[RemoteRef]) -> Vec<PolledPush> {
    let previous: HashMap<&str, &str> = old
        .iter()
        .map(|r| (r.name.as_str(), r.sha.as_str()))
        .collect();
    new.iter()
        .filter_map(|r| {
            let (kind, before) = match previous.get(r.name.as_str()) {
                None => (RefChangeKind::Created, None),
                Some(sha) if *sha == r.sha => return None,
                Some(sha) => (RefChangeKind::Updated, Some((*sha).to_string())),
            };
            Some(PolledPush {
                git_ref: r.name.clone(),
                target: r.target(),
                kind,
                before,
                after: r.sha.clone(),
                changed_files: None,
            })
        })
        .collect()
}

/// Polls one remote. The first poll only records a baseline; each later poll reports
/// what changed since the one before. With a cache directory, moved branches also get
/// their changed files (the cache is a bare repository fetched incrementally).
pub struct Poller {
    url: String,
    cache_dir: Option<PathBuf>,
    snapshot: Option<Vec<RemoteRef>>,
}

impl fmt::Debug for Poller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Poller")
            .field("url", &redact_url(&self.url))
            .field("cache_dir", &self.cache_dir)
            .field("refs", &self.snapshot.as_ref().map(Vec::len))
            .finish()
    }
}

impl Poller {
    pub fn new(url: impl Into<String>) -> Self {
        Poller {
            url: url.into(),
            cache_dir: None,
            snapshot: None,
        }
    }

    /// Where to keep the bare repository used to compute changed files.
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Starts from a snapshot saved earlier (e.g. in the store), so a restart does not
    /// lose the pushes made while the server was down.
    pub fn with_snapshot(mut self, refs: Vec<RemoteRef>) -> Self {
        self.snapshot = Some(refs);
        self
    }

    pub fn snapshot(&self) -> Option<&[RemoteRef]> {
        self.snapshot.as_deref()
    }

    /// One poll. On error the previous snapshot is kept, so nothing is missed.
    pub async fn poll(&mut self, git: &Git) -> Result<Vec<PolledPush>, GitError> {
        let refs = git.ls_remote(&self.url).await?;
        let Some(previous) = self.snapshot.replace(refs.clone()) else {
            return Ok(Vec::new());
        };
        let mut pushes = diff_snapshots(&previous, &refs);
        let wants_files = pushes
            .iter()
            .any(|p| p.kind == RefChangeKind::Updated && p.target.branch().is_some());
        if let (Some(cache), true) = (&self.cache_dir, wants_files) {
            // Without the cache's objects the files are unknown, and unknown means path
            // filters match: a failed fetch costs a run at worst, never a missed one.
            if update_cache(git, cache, &self.url).await.is_ok() {
                for push in pushes.iter_mut().filter(|p| p.target.branch().is_some()) {
                    if let Some(before) = &push.before {
                        push.changed_files =
                            git.changed_files(cache, before, &push.after).await.ok();
                    }
                }
            }
        }
        Ok(pushes)
    }
}

/// Creates the bare cache repository if needed and fetches every branch into it.
async fn update_cache(git: &Git, cache: &Path, url: &str) -> Result<(), GitError> {
    check_url(url)?;
    let dir = cache.to_string_lossy().into_owned();
    if !cache.join("HEAD").exists() {
        tokio::fs::create_dir_all(cache)
            .await
            .map_err(|e| GitError::Io {
                path: dir.clone(),
                message: e.to_string(),
            })?;
        git.run(Invocation {
            command: "init",
            args: ["init", "--quiet", "--bare"].map(Into::into).to_vec(),
            cwd: Some(cache),
            target: &dir,
        })
        .await?;
    }
    let args = [
        "fetch",
        "--quiet",
        "--no-tags",
        "--",
        url,
        "+refs/heads/*:refs/heads/*",
    ]
    .map(Into::into)
    .to_vec();
    git.run(Invocation {
        command: "fetch",
        args,
        cwd: Some(cache),
        target: url,
    })
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, sha: char) -> RemoteRef {
        RemoteRef {
            name: name.to_string(),
            sha: sha.to_string().repeat(40),
        }
    }

    #[test]
    fn diff_reports_new_and_moved_refs_but_not_deleted_ones() {
        let old = vec![
            r("refs/heads/main", 'a'),
            r("refs/heads/gone", 'b'),
            r("refs/tags/v1", 'c'),
        ];
        let new = vec![
            r("refs/heads/main", 'd'),
            r("refs/heads/feature", 'e'),
            r("refs/tags/v1", 'c'),
            r("refs/tags/v2", 'f'),
        ];
        let pushes = diff_snapshots(&old, &new);
        let summary: Vec<(&str, RefChangeKind, Option<&str>)> = pushes
            .iter()
            .map(|p| (p.git_ref.as_str(), p.kind, p.before.as_deref()))
            .collect();
        let a = "a".repeat(40);
        assert_eq!(
            summary,
            vec![
                ("refs/heads/main", RefChangeKind::Updated, Some(a.as_str())),
                ("refs/heads/feature", RefChangeKind::Created, None),
                ("refs/tags/v2", RefChangeKind::Created, None),
            ]
        );
        assert_eq!(
            pushes[2].trigger_event(),
            Some(TriggerEvent::Push {
                branch: None,
                tag: Some("v2".into()),
                changed_files: None
            })
        );
        assert!(diff_snapshots(&new, &new).is_empty());
    }

    #[test]
    fn debug_hides_url_credentials() {
        let p = Poller::new("https://bot:hunter2@git.example.com/a.git");
        let text = format!("{p:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("git.example.com/a.git"));
    }
}
