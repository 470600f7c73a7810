//! `git`: a checkout of `repo` at `ref` (a branch, a tag or a commit), detached at the
//! ref's commit. The check reads the checkout's HEAD and the repository's refs
//! (`git ls-remote`, read-only); the comparison resolves `ref` to a commit here, and the
//! apply checks out exactly that commit, so an apply does what its plan showed even if
//! the branch moved in between.

use serde::Serialize;

use super::{Change, Check, ResourceType};
use crate::report::Observed;
use crate::shell::quote;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitSpec {
    /// The checkout's directory on the host.
    pub path: String,
    /// A URL or a path on the host, as `git clone` takes it.
    pub repo: String,
    /// A branch, a tag, a commit (7 to 40 hex digits) or `HEAD` (the default).
    #[serde(rename = "ref")]
    pub reference: String,
}

impl GitSpec {
    /// The commit `ref` names, from the `git ls-remote` output of the check; a ref
    /// that names no branch or tag and looks like a commit is taken as one.
    pub fn resolve(&self, ls_remote: &str) -> Option<String> {
        let r = &self.reference;
        let find = |name: &str| {
            ls_remote.lines().find_map(|line| {
                let (sha, refname) = line.split_once('\t')?;
                (refname == name).then(|| sha.to_string())
            })
        };
        let named = if r == "HEAD" {
            find("HEAD")
        } else {
            find(&format!("refs/tags/{r}^{{}}"))
                .or_else(|| find(&format!("refs/tags/{r}")))
                .or_else(|| find(&format!("refs/heads/{r}")))
                .or_else(|| r.starts_with("refs/").then(|| find(r)).flatten())
        };
        named.or_else(|| is_commit(r).then(|| r.to_lowercase()))
    }
}

/// 7 to 40 hex digits: a (possibly abbreviated) commit.
fn is_commit(r: &str) -> bool {
    (7..=40).contains(&r.len()) && r.chars().all(|c| c.is_ascii_hexdigit())
}

impl ResourceType for GitSpec {
    fn type_name(&self) -> &'static str {
        "git"
    }

    fn default_id(&self) -> String {
        format!("git {}", self.path)
    }

    fn check_script(&self, index: usize, out: &mut String) {
        let p = quote(&self.path);
        // Only the refs `ref` may name are reported: a repository can have thousands,
        // and a saved plan must not go stale when an unrelated branch moves.
        // `.git` first: a directory inside some other checkout must not report that
        // checkout's HEAD.
        out.push_str(&format!(
            "_gstat {index} {p}\n\
             if [ -e {p}/.git ]; then echo \"R {index} head $(git -C {p} rev-parse -q --verify HEAD 2>/dev/null)\"; \
             elif [ -d {p} ] && [ -z \"$(ls -A -- {p})\" ]; then echo \"R {index} empty 1\"; fi\n\
             if _o=$(git ls-remote -- {repo} 2>&1); then echo \"R {index} remote $(printf '%s\\n' \"$_o\" | awk -F '\\t' -v r={r} '$2 == r || $2 == \"refs/heads/\" r || $2 == \"refs/tags/\" r || $2 == \"refs/tags/\" r \"^{{}}\"' | base64 -w0)\"; \
             else echo \"R {index} remote_error $(printf '%s' \"$_o\" | tail -c 2000 | base64 -w0)\"; fi\n",
            repo = quote(&self.repo),
            r = quote(&self.reference),
        ));
    }

    fn compare(&self, observed: &Observed) -> Check {
        if let Some(error) = observed.text("remote_error") {
            return Check::Error {
                message: format!("cannot read {}: {}", self.repo, error.trim()),
            };
        }
        let Some(want) = self.resolve(&observed.text("remote").unwrap_or_default()) else {
            return Check::Error {
                message: format!(
                    "'{}' is no branch, tag or commit of {}",
                    self.reference, self.repo
                ),
            };
        };
        let head = observed.get("head").filter(|h| !h.is_empty());
        match (observed.kind(), head) {
            ("none", _) => Check::Change {
                changes: vec![Change::new(
                    "clone",
                    None,
                    Some(format!("{} at {want}", self.repo)),
                )],
            },
            ("dir", Some(head)) if head.starts_with(&want) => Check::Unchanged,
            ("dir", head) if head.is_some() || observed.get("empty").is_some() => Check::Change {
                changes: vec![Change::new("commit", head.map(String::from), Some(want))],
            },
            ("dir", _) => Check::Error {
                message: format!(
                    "{} is a directory that is neither empty nor a git checkout",
                    self.path
                ),
            },
            (other, _) => Check::Error {
                message: format!("{} exists and is not a directory ({other})", self.path),
            },
        }
    }

    fn apply_script(&self, observed: &Observed, out: &mut String) {
        let p = quote(&self.path);
        let repo = quote(&self.repo);
        let want = self
            .resolve(&observed.text("remote").unwrap_or_default())
            .unwrap_or_else(|| self.reference.clone());
        let want = quote(&want);
        out.push_str(&format!(
            "if [ ! -e {p}/.git ]; then git clone -q --no-checkout -- {repo} {p}; fi\n\
             git -C {p} fetch -q --tags -- {repo} '+refs/heads/*:refs/remotes/origin/*' 2>/dev/null || true\n\
             git -C {p} cat-file -e {want}^{{commit}} 2>/dev/null || git -C {p} fetch -q -- {repo} {want}\n\
             git -C {p} -c advice.detachedHead=false checkout -q --force --detach {want}\n",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const C: &str = "3333333333333333333333333333333333333333";

    fn spec(r: &str) -> GitSpec {
        GitSpec {
            path: "/srv/app".into(),
            repo: "/srv/repo.git".into(),
            reference: r.into(),
        }
    }

    fn remote() -> String {
        format!(
            "{A}\tHEAD\n{A}\trefs/heads/main\n{B}\trefs/tags/v1\n{C}\trefs/tags/v1^{{}}\n{B}\trefs/heads/dev\n"
        )
    }

    #[test]
    fn refs_resolve_to_commits_annotated_tags_peeled() {
        let r = remote();
        assert_eq!(spec("HEAD").resolve(&r).as_deref(), Some(A));
        assert_eq!(spec("main").resolve(&r).as_deref(), Some(A));
        assert_eq!(spec("v1").resolve(&r).as_deref(), Some(C));
        assert_eq!(spec("refs/heads/dev").resolve(&r).as_deref(), Some(B));
        assert_eq!(spec("abcdef1").resolve(&r).as_deref(), Some("abcdef1"));
        assert_eq!(spec("nope").resolve(&r), None);
    }

    #[test]
    fn head_is_compared_with_the_refs_commit() {
        let obs = |pairs: &[(&str, String)]| {
            Observed(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            )
        };
        let remote = STANDARD.encode(remote());
        let at = |head: &str| {
            obs(&[
                ("type", "dir".into()),
                ("head", head.into()),
                ("remote", remote.clone()),
            ])
        };
        assert_eq!(spec("main").compare(&at(A)), Check::Unchanged);
        let Check::Change { changes } = spec("v1").compare(&at(A)) else {
            panic!("a change")
        };
        assert_eq!(
            (changes[0].from.as_deref(), changes[0].to.as_deref()),
            (Some(A), Some(C))
        );
        let none = obs(&[("type", "none".into()), ("remote", remote.clone())]);
        assert!(matches!(spec("main").compare(&none), Check::Change { .. }));
        let full = obs(&[("type", "dir".into()), ("remote", remote.clone())]);
        assert!(matches!(spec("main").compare(&full), Check::Error { .. }));
        let missing = spec("nope").compare(&at(A));
        assert!(matches!(missing, Check::Error { message } if message.contains("'nope'")));
    }
}
