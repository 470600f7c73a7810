//! Keeps secret values out of everything gantry-deploy hands back: every progress line,
//! every error and the deployment record go through gantry-core's `Masker` over
//! `Options::secrets` at the API's edge (`deploy`, `rollback`, `fetch_current`), so no
//! path inside (a host's error output, a hook's last line, minijinja's message) can leak
//! one.

use gantry_core::{Masker, Secret};

use crate::error::DeployError;
use crate::report::DeploymentReport;
use crate::request::Options;
use crate::rollout::Progress;

/// A caller's progress callback and the masker for one call.
pub(crate) struct Masked<'a> {
    masker: Masker,
    progress: Progress<'a>,
}

impl<'a> Masked<'a> {
    pub fn new(options: &Options, progress: Progress<'a>) -> Masked<'a> {
        Masked {
            masker: Masker::new(options.secrets.values().map(Secret::expose)),
            progress,
        }
    }

    /// The callback to hand inward: each line masked, then passed on.
    pub fn progress(&self) -> impl Fn(&str) + Sync + '_ {
        move |line: &str| (self.progress)(&self.masker.mask(line))
    }

    pub fn error(&self, e: DeployError) -> DeployError {
        let m = |s: String| self.masker.mask(&s);
        match e {
            DeployError::Version(s) => DeployError::Version(m(s)),
            DeployError::Artifact(s) => DeployError::Artifact(m(s)),
            DeployError::Setup(s) => DeployError::Setup(m(s)),
            DeployError::Protected(s) => DeployError::Protected(m(s)),
            DeployError::Cancelled(s) => DeployError::Cancelled(m(s)),
            DeployError::Lock(lock) => {
                // Lock errors quote the lock file, which holds no secret; should one
                // ever show up, the masked text replaces the typed error.
                let text = lock.to_string();
                let masked = self.masker.mask(&text);
                if masked == text {
                    DeployError::Lock(lock)
                } else {
                    DeployError::Setup(masked)
                }
            }
            other @ (DeployError::UnknownService { .. }
            | DeployError::UnknownEnvironment { .. }) => other,
        }
    }

    pub fn result(
        &self,
        result: Result<DeploymentReport, DeployError>,
    ) -> Result<DeploymentReport, DeployError> {
        match result {
            Ok(mut report) => {
                report.mask(&self.masker);
                Ok(report)
            }
            Err(e) => Err(self.error(e)),
        }
    }
}

impl DeploymentReport {
    /// Every free text of the record (errors, health results, canary reasons) masked.
    pub(crate) fn mask(&mut self, masker: &Masker) {
        if masker.is_empty() {
            return;
        }
        let mask = |s: &mut Option<String>| {
            if let Some(text) = s {
                *text = masker.mask(text);
            }
        };
        mask(&mut self.error);
        for host in &mut self.hosts {
            mask(&mut host.error);
            for health in [&mut host.health, &mut host.rollback_health]
                .into_iter()
                .flatten()
            {
                mask(&mut health.error);
            }
        }
        for step in &mut self.canary {
            mask(&mut step.reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::HealthResult;
    use crate::report::Kind;

    #[test]
    fn lines_errors_and_the_record_are_masked() {
        let options = Options {
            secrets: [("db".to_string(), Secret::new("hunter2-secret"))].into(),
            ..Options::default()
        };
        let seen = std::sync::Mutex::new(Vec::new());
        let sink = |line: &str| seen.lock().unwrap().push(line.to_string());
        let masked = Masked::new(&options, &sink);
        (masked.progress())("pre hook said hunter2-secret");
        assert_eq!(*seen.lock().unwrap(), ["pre hook said ***"]);
        let e = masked.error(DeployError::Setup("bad hunter2-secret".into()));
        assert_eq!(e.to_string(), "bad ***");

        let mut report = DeploymentReport::begin(Kind::Deploy, "web", "prod", "v2", ["a".into()]);
        report.error = Some("the pre hook failed: hunter2-secret".into());
        report.hosts[0].error = Some("x hunter2-secret".into());
        report.hosts[0].health = Some(HealthResult {
            healthy: false,
            attempts: 1,
            error: Some("body: hunter2-secret".into()),
            duration_ms: 0,
        });
        let report = masked.result(Ok(report)).unwrap();
        let json = serde_json::to_string(&report).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
        assert!(json.contains("the pre hook failed: ***"), "{json}");
        assert!(!format!("{options:?}").contains("hunter2"));
    }
}
