//! One line saying what starts a pipeline, for the project page:
//! "push to main, release/*; tags v*; schedule 0 3 * * * Europe/Berlin; manual".

use gantry_pipeline::Triggers;

/// The triggers as a sentence fragment; "manual only" style pipelines read "manual", and
/// a pipeline without triggers reads "API only" (it can still be started through the API).
pub fn summary(on: &Triggers) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(push) = &on.push {
        let mut p = match (push.branches.is_empty(), push.tags.is_empty()) {
            (true, true) => "push to any branch".to_string(),
            (false, _) => format!("push to {}", push.branches.join(", ")),
            (true, false) => String::new(),
        };
        if !push.branches_ignore.is_empty() && push.branches.is_empty() {
            p = format!(
                "push to any branch except {}",
                push.branches_ignore.join(", ")
            );
        }
        if !p.is_empty() {
            parts.push(p);
        }
        if !push.tags.is_empty() {
            parts.push(format!("tags {}", push.tags.join(", ")));
        }
    }
    if let Some(pr) = &on.pull_request {
        parts.push(if pr.branches.is_empty() {
            "pull requests".to_string()
        } else {
            format!("pull requests to {}", pr.branches.join(", "))
        });
    }
    for s in &on.schedule {
        parts.push(format!("schedule {} {}", s.cron, s.timezone));
    }
    if on.manual.is_some() {
        parts.push("manual".to_string());
    }
    if parts.is_empty() {
        return "API only".to_string();
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use gantry_pipeline::{ManualTrigger, PullRequestTrigger, PushTrigger, ScheduleTrigger};

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn full_summary() {
        let on = Triggers {
            push: Some(PushTrigger {
                branches: strings(&["main", "release/*"]),
                tags: strings(&["v*"]),
                ..Default::default()
            }),
            pull_request: Some(PullRequestTrigger::default()),
            schedule: vec![ScheduleTrigger {
                cron: "0 3 * * *".into(),
                timezone: "Europe/Berlin".into(),
            }],
            manual: Some(ManualTrigger::default()),
        };
        assert_eq!(
            summary(&on),
            "push to main, release/*; tags v*; pull requests; schedule 0 3 * * * Europe/Berlin; manual"
        );
    }

    #[test]
    fn edge_cases() {
        assert_eq!(summary(&Triggers::default()), "API only");
        let tags_only = Triggers {
            push: Some(PushTrigger {
                tags: strings(&["v*"]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(summary(&tags_only), "tags v*");
        let any = Triggers {
            push: Some(PushTrigger::default()),
            ..Default::default()
        };
        assert_eq!(summary(&any), "push to any branch");
    }
}
