//! The deployment record: what a deploy or rollback did, per host, and how it ended.
//! Serialized for `--json`, rendered as a table for people. Events and the UI read it
//! later.

use serde::Serialize;

use crate::health::HealthResult;

/// How a deployment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every host runs the version and is healthy.
    Succeeded,
    /// A host failed its health gate and every switched host went back to its previous
    /// release, healthy.
    RolledBack,
    /// Anything else: nothing switched (an error before), or the rollback itself failed.
    Failed,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::RolledBack => "rolled back",
            Outcome::Failed => "failed",
        }
    }
}

/// Deploy or rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Deploy,
    Rollback,
}

/// One deployment of a service's version to an environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeploymentReport {
    pub kind: Kind,
    pub service: String,
    pub environment: String,
    pub version: String,
    /// What the first host ran before.
    pub previous_version: Option<String>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Unix time (seconds) the deployment started.
    pub started_at: u64,
    pub duration_ms: u64,
    pub hosts: Vec<HostReport>,
    /// Who started it (`protect::identity()`), and how (`cli`, `pipeline`, …).
    pub triggered_by: String,
    pub trigger: String,
    /// The branch the release was built from, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Who approved it, for a protected environment.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approved_by: Vec<String>,
    /// Started outside the environment's deploy windows (`--outside-window`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub outside_window: bool,
    /// A canary's steps: what each measured and whether it passed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub canary: Vec<crate::canary::StepReport>,
}

impl DeploymentReport {
    /// A record just begun: every host named, nothing done yet, outcome `failed` until
    /// the deploy or rollback says otherwise.
    pub(crate) fn begin(
        kind: Kind,
        service: &str,
        environment: &str,
        version: &str,
        hosts: impl IntoIterator<Item = String>,
    ) -> DeploymentReport {
        DeploymentReport {
            kind,
            service: service.to_string(),
            environment: environment.to_string(),
            version: version.to_string(),
            previous_version: None,
            outcome: Outcome::Failed,
            error: None,
            started_at: crate::rollout::unix_now(),
            duration_ms: 0,
            hosts: hosts
                .into_iter()
                .map(|host| HostReport {
                    host,
                    ..HostReport::default()
                })
                .collect(),
            triggered_by: String::new(),
            trigger: String::new(),
            branch: None,
            approved_by: Vec::new(),
            outside_window: false,
            canary: Vec::new(),
        }
    }

    /// 0 succeeded, 1 failed or rolled back.
    pub fn exit_code(&self) -> u8 {
        match self.outcome {
            Outcome::Succeeded => 0,
            Outcome::RolledBack | Outcome::Failed => 1,
        }
    }

    pub fn host(&self, name: &str) -> Option<&HostReport> {
        self.hosts.iter().find(|h| h.host == name)
    }
}

/// What happened on one host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostReport {
    pub host: String,
    /// The release `current` pointed at before.
    pub previous_version: Option<String>,
    /// The release was unpacked (false: it was on the host already).
    pub uploaded: bool,
    /// The blue-green slot the version was started in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<crate::layout::Slot>,
    /// `current` was switched to the version (for blue-green: nginx sends requests to it).
    pub switched: bool,
    /// The health gate after the switch; `None` when not switched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthResult>,
    /// Switched back to the previous release.
    pub rolled_back: bool,
    /// The health gate after the rollback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_health: Option<HealthResult>,
    /// Old releases deleted after the deploy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pruned: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Time spent on this host: install, switch, health gate and rollback.
    pub duration_ms: u64,
}

impl HostReport {
    pub fn healthy(&self) -> Option<bool> {
        self.health.as_ref().map(|h| h.healthy)
    }

    /// Adds `e` after the host's error so far.
    pub(crate) fn add_error(&mut self, e: String) {
        self.error = Some(match self.error.take() {
            Some(old) => format!("{old}; {e}"),
            None => e,
        });
    }

    /// Records how putting the host back went: `result` of the scripts, the gate of the
    /// release serving again (`unhealthy` names it in the error), the time. True when
    /// the host is back and healthy.
    pub(crate) fn record_put_back(
        &mut self,
        result: Result<(), String>,
        health: Option<HealthResult>,
        ms: u64,
        unhealthy: &str,
    ) -> bool {
        self.duration_ms += ms;
        let mut back = result.is_ok();
        if let Err(e) = result {
            self.add_error(e);
        }
        if let Some(h) = &health
            && !h.healthy
        {
            back = false;
            self.add_error(format!(
                "{unhealthy}: {}",
                h.error.clone().unwrap_or_default()
            ));
        }
        self.rollback_health = health;
        back
    }
}

/// `result`, with `e` added to its error (or as its error).
pub(crate) fn also(result: Result<(), String>, e: String) -> Result<(), String> {
    match result {
        Err(old) => Err(format!("{old}; {e}")),
        Ok(()) => Err(e),
    }
}

/// The human report.
pub fn render(report: &DeploymentReport) -> String {
    let mut out = String::new();
    let what = match report.kind {
        Kind::Deploy => "deploy",
        Kind::Rollback => "rollback",
    };
    let previous = report.previous_version.as_deref().unwrap_or("none");
    out.push_str(&format!(
        "{what} {} {} to {} (previous: {previous}): {} in {}\n",
        report.service,
        report.version,
        report.environment,
        report.outcome.name(),
        seconds(report.duration_ms),
    ));
    let width = report
        .hosts
        .iter()
        .map(|h| h.host.len())
        .max()
        .unwrap_or(4)
        .max(4);
    out.push_str(&format!(
        "  {:width$}  {:9} {:8} {:8} {:12} {:>8}\n",
        "host", "previous", "switched", "healthy", "rolled back", "time"
    ));
    for h in &report.hosts {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let healthy = match (h.healthy(), h.health.as_ref()) {
            (Some(true), Some(r)) if r.attempts > 1 => format!("yes ({})", r.attempts),
            (Some(true), _) => "yes".into(),
            (Some(false), _) => "NO".into(),
            (None, _) => "-".into(),
        };
        let rolled = if h.rolled_back {
            match h.rollback_health.as_ref().map(|r| r.healthy) {
                Some(false) => "yes, UNHEALTHY".into(),
                _ => "yes".to_string(),
            }
        } else {
            "-".into()
        };
        out.push_str(&format!(
            "  {:width$}  {:9} {:8} {:8} {:12} {:>8}\n",
            h.host,
            h.previous_version.as_deref().unwrap_or("-"),
            yes_no(h.switched),
            healthy,
            rolled,
            seconds(h.duration_ms),
        ));
        if let Some(e) = &h.error {
            out.push_str(&format!("      {}: {e}\n", h.host));
        }
    }
    for (n, step) in report.canary.iter().enumerate() {
        let c = &step.canary;
        out.push_str(&format!(
            "  canary step {} ({}%): {} request(s), {} error(s) ({:.1}%), p95 {}{}: {}\n",
            n + 1,
            step.weight,
            c.requests,
            c.errors,
            c.error_rate() * 100.0,
            c.p95_ms.map_or("-".to_string(), |p| format!("{p} ms")),
            step.prometheus
                .map_or(String::new(), |v| format!(", prometheus {v}")),
            if step.passed { "passed" } else { "FAILED" },
        ));
    }
    if let Some(e) = &report.error {
        out.push_str(&format!("error: {e}\n"));
    }
    out
}

fn seconds(ms: u64) -> String {
    format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_table_per_host_and_the_outcome() {
        let report = DeploymentReport {
            kind: Kind::Deploy,
            service: "web".into(),
            environment: "staging".into(),
            version: "v2".into(),
            previous_version: Some("v1".into()),
            outcome: Outcome::RolledBack,
            error: Some("app2 failed its health check".into()),
            started_at: 0,
            duration_ms: 12_345,
            hosts: vec![
                HostReport {
                    host: "app1".into(),
                    previous_version: Some("v1".into()),
                    switched: true,
                    health: Some(HealthResult {
                        healthy: true,
                        attempts: 2,
                        error: None,
                        duration_ms: 900,
                    }),
                    rolled_back: true,
                    duration_ms: 2_000,
                    ..HostReport::default()
                },
                HostReport {
                    host: "app2".into(),
                    previous_version: Some("v1".into()),
                    switched: true,
                    health: Some(HealthResult {
                        healthy: false,
                        attempts: 3,
                        error: Some("status 500".into()),
                        duration_ms: 900,
                    }),
                    rolled_back: true,
                    error: Some("unhealthy: status 500".into()),
                    duration_ms: 3_000,
                    ..HostReport::default()
                },
            ],
            triggered_by: "alice@laptop".into(),
            trigger: "cli".into(),
            branch: None,
            approved_by: Vec::new(),
            outside_window: false,
            canary: Vec::new(),
        };
        let text = render(&report);
        assert_eq!(
            text,
            "deploy web v2 to staging (previous: v1): rolled back in 12.3s
  host  previous  switched healthy  rolled back      time
  app1  v1        yes      yes (2)  yes              2.0s
  app2  v1        yes      NO       yes              3.0s
      app2: unhealthy: status 500
error: app2 failed its health check
"
        );
        assert_eq!(report.exit_code(), 1);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["outcome"], "rolled_back");
        assert_eq!(json["hosts"][1]["health"]["healthy"], false);
    }
}
