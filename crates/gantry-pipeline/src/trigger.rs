//! The `on:` section: which events start a pipeline, and matching an event against it.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Triggers {
    pub push: Option<PushTrigger>,
    pub pull_request: Option<PullRequestTrigger>,
    pub schedule: Vec<ScheduleTrigger>,
    pub manual: Option<ManualTrigger>,
}

/// `on.push`: branch, tag and path globs. An empty list means "any"; with `tags` set and
/// `branches` empty, only tag pushes match (and vice versa), as in GitHub Actions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PushTrigger {
    pub branches: Vec<String>,
    pub branches_ignore: Vec<String>,
    pub tags: Vec<String>,
    pub paths: Vec<String>,
    pub paths_ignore: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PullRequestTrigger {
    /// Globs over the target (base) branch.
    pub branches: Vec<String>,
    pub paths: Vec<String>,
    pub paths_ignore: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleTrigger {
    pub cron: String,
    /// IANA time zone name; `UTC` when not given.
    pub timezone: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ManualTrigger {
    pub inputs: IndexMap<String, InputSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    #[default]
    String,
    Boolean,
    Number,
    /// One of `options`.
    Choice,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InputSpec {
    pub kind: InputKind,
    pub description: Option<String>,
    pub default: Option<serde_json::Value>,
    pub options: Vec<String>,
    pub required: bool,
}

/// What happened, as far as trigger matching needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TriggerEvent {
    Push {
        branch: Option<String>,
        tag: Option<String>,
        /// Files changed by the pushed commits; `None` when unknown (path filters then match).
        changed_files: Option<Vec<String>>,
    },
    PullRequest {
        base_branch: String,
        changed_files: Option<Vec<String>>,
    },
    Schedule,
    Manual,
}

/// Compiles a trigger glob: `*` and `?` stay within one path segment (`release/*` does
/// not match `release/a/b`), `**` crosses segments, `{a,b}` and `[abc]` work as usual.
/// Parsing is cheap; the matcher (a regex) is built only by `compile_matcher`, so the
/// compiler validates with `glob` alone.
pub(crate) fn glob(pattern: &str) -> Result<globset::Glob, globset::Error> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
}

fn any_match(patterns: &[String], text: &str) -> bool {
    patterns
        .iter()
        .any(|p| glob(p).is_ok_and(|g| g.compile_matcher().is_match(text)))
}

/// The path filters pass when the changed files are unknown, or when at least one
/// changed file matches `paths` (or `paths` is empty) and is not matched by
/// `paths_ignore`.
fn paths_match(paths: &[String], paths_ignore: &[String], changed: Option<&[String]>) -> bool {
    let Some(files) = changed else { return true };
    if paths.is_empty() && paths_ignore.is_empty() {
        return true;
    }
    files
        .iter()
        .any(|f| (paths.is_empty() || any_match(paths, f)) && !any_match(paths_ignore, f))
}

impl PushTrigger {
    pub fn matches(
        &self,
        branch: Option<&str>,
        tag: Option<&str>,
        changed_files: Option<&[String]>,
    ) -> bool {
        let branch_filters = !self.branches.is_empty() || !self.branches_ignore.is_empty();
        let tag_filters = !self.tags.is_empty();
        if let Some(tag) = tag {
            // Path filters are not applied to tag pushes: a tag names a commit, it does
            // not change files.
            let branches_only = branch_filters && !tag_filters;
            return !branches_only && (self.tags.is_empty() || any_match(&self.tags, tag));
        }
        let Some(branch) = branch else { return false };
        if tag_filters && !branch_filters {
            return false;
        }
        (self.branches.is_empty() || any_match(&self.branches, branch))
            && !any_match(&self.branches_ignore, branch)
            && paths_match(&self.paths, &self.paths_ignore, changed_files)
    }
}

impl ScheduleTrigger {
    /// The first time strictly after `after` at which this schedule fires, in its time
    /// zone (DST-correct: a wall time skipped by a spring-forward is not invented, one
    /// repeated in autumn fires once). `None` when the expression or zone is invalid
    /// (the compiler refuses those) or it never fires again.
    pub fn next_after(&self, after: jiff::Timestamp) -> Option<jiff::Timestamp> {
        let cron = crate::validate::schedule::parse_cron(&self.cron).ok()?;
        let tz = jiff::tz::TimeZone::get(&self.timezone).ok()?;
        let start = after.to_zoned(tz);
        cron.find_next_occurrence(&start, false)
            .ok()
            .map(|z| z.timestamp())
    }
}

impl PullRequestTrigger {
    pub fn matches(&self, base_branch: &str, changed_files: Option<&[String]>) -> bool {
        (self.branches.is_empty() || any_match(&self.branches, base_branch))
            && paths_match(&self.paths, &self.paths_ignore, changed_files)
    }
}

impl Triggers {
    /// Whether `event` starts this pipeline.
    pub fn matches(&self, event: &TriggerEvent) -> bool {
        match event {
            TriggerEvent::Push {
                branch,
                tag,
                changed_files,
            } => self.push.as_ref().is_some_and(|p| {
                p.matches(branch.as_deref(), tag.as_deref(), changed_files.as_deref())
            }),
            TriggerEvent::PullRequest {
                base_branch,
                changed_files,
            } => self
                .pull_request
                .as_ref()
                .is_some_and(|p| p.matches(base_branch, changed_files.as_deref())),
            TriggerEvent::Schedule => !self.schedule.is_empty(),
            TriggerEvent::Manual => self.manual.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(branch: Option<&str>, tag: Option<&str>, files: Option<&[&str]>) -> TriggerEvent {
        TriggerEvent::Push {
            branch: branch.map(str::to_string),
            tag: tag.map(str::to_string),
            changed_files: files.map(|f| f.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn globs_keep_star_within_a_segment() {
        let g = glob("release/*").unwrap().compile_matcher();
        assert!(g.is_match("release/1.0"));
        assert!(!g.is_match("release/1.0/hotfix"));
        let g = glob("src/**").unwrap().compile_matcher();
        assert!(g.is_match("src/a/b/c.rs"));
        assert!(glob("a[").is_err());
    }

    #[test]
    fn push_trigger_table() {
        let only_branches = Triggers {
            push: Some(PushTrigger {
                branches: strings(&["main", "release/*"]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let only_tags = Triggers {
            push: Some(PushTrigger {
                tags: strings(&["v*"]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let both = Triggers {
            push: Some(PushTrigger {
                branches: strings(&["main"]),
                tags: strings(&["v*"]),
                paths: strings(&["src/**"]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let any = Triggers {
            push: Some(PushTrigger::default()),
            ..Default::default()
        };
        let ignore = Triggers {
            push: Some(PushTrigger {
                branches_ignore: strings(&["wip/**"]),
                paths_ignore: strings(&["docs/**", "*.md"]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let cases: &[(&Triggers, TriggerEvent, bool)] = &[
            (&only_branches, push(Some("main"), None, None), true),
            (&only_branches, push(Some("release/1.2"), None, None), true),
            (
                &only_branches,
                push(Some("release/1.2/x"), None, None),
                false,
            ),
            (&only_branches, push(Some("dev"), None, None), false),
            (&only_branches, push(None, Some("v1.0"), None), false),
            (&only_tags, push(None, Some("v1.0"), None), true),
            (&only_tags, push(None, Some("1.0"), None), false),
            (&only_tags, push(Some("main"), None, None), false),
            (&both, push(Some("main"), None, Some(&["src/lib.rs"])), true),
            (&both, push(Some("main"), None, Some(&["README.md"])), false),
            (&both, push(Some("main"), None, None), true),
            (&both, push(None, Some("v2"), Some(&["README.md"])), true),
            (&any, push(Some("anything"), None, Some(&[])), true),
            (&any, push(None, Some("x"), None), true),
            (&any, push(None, None, None), false),
            (&ignore, push(Some("wip/a/b"), None, None), false),
            (
                &ignore,
                push(Some("main"), None, Some(&["docs/a.md", "README.md"])),
                false,
            ),
            (
                &ignore,
                push(Some("main"), None, Some(&["docs/a.md", "src/x.rs"])),
                true,
            ),
            (&ignore, push(None, Some("v1"), None), false),
            (&any, TriggerEvent::Manual, false),
        ];
        for (i, (t, event, want)) in cases.iter().enumerate() {
            assert_eq!(t.matches(event), *want, "case {i}: {event:?}");
        }
    }

    #[test]
    fn pull_request_schedule_and_manual() {
        let t = Triggers {
            pull_request: Some(PullRequestTrigger {
                branches: strings(&["main"]),
                paths: strings(&["src/**"]),
                ..Default::default()
            }),
            schedule: vec![ScheduleTrigger {
                cron: "0 3 * * *".into(),
                timezone: "UTC".into(),
            }],
            manual: None,
            push: None,
        };
        let pr = |base: &str, files: Option<&[&str]>| TriggerEvent::PullRequest {
            base_branch: base.to_string(),
            changed_files: files.map(|f| f.iter().map(|s| s.to_string()).collect()),
        };
        assert!(t.matches(&pr("main", Some(&["src/a.rs"]))));
        assert!(!t.matches(&pr("main", Some(&["docs/a.md"]))));
        assert!(!t.matches(&pr("dev", None)));
        assert!(t.matches(&TriggerEvent::Schedule));
        assert!(!t.matches(&TriggerEvent::Manual));
        assert!(!t.matches(&push(Some("main"), None, None)));
    }
}

#[cfg(test)]
mod schedule_tests {
    use super::ScheduleTrigger;

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn next_fire_time_respects_the_time_zone() {
        let daily3 = ScheduleTrigger {
            cron: "0 3 * * *".into(),
            timezone: "Europe/Berlin".into(),
        };
        // 03:00 in Berlin in winter is 02:00 UTC.
        assert_eq!(
            daily3.next_after(at("2026-01-10T12:00:00Z")),
            Some(at("2026-01-11T02:00:00Z"))
        );
        // Strictly after: at the fire time itself, the next one is a day later.
        assert_eq!(
            daily3.next_after(at("2026-01-11T02:00:00Z")),
            Some(at("2026-01-12T02:00:00Z"))
        );
        // Summer time: 03:00 in Berlin is 01:00 UTC.
        assert_eq!(
            daily3.next_after(at("2026-07-01T12:00:00Z")),
            Some(at("2026-07-02T01:00:00Z"))
        );
        let bad = ScheduleTrigger {
            cron: "not cron".into(),
            timezone: "UTC".into(),
        };
        assert_eq!(bad.next_after(at("2026-01-01T00:00:00Z")), None);
    }
}
