//! Saved plans (`gantry infra plan --out FILE`, `apply --plan FILE`): per host, the
//! resources to change and fingerprints of what the plan's check found. An apply of a
//! saved plan checks again and applies on a host only if every fingerprint still
//! matches, so it does exactly what the reviewed plan said.
//!
//! A resource's fingerprint is the sha256 of its id, location, status, its check's
//! report (the host's actual state) and the shell that would converge it (the declared
//! state, rendered templates included); a host's adds its facts. The workspace's
//! secret values are masked before hashing, so a plan file cannot be used to guess a
//! short secret offline (a change of a secret's value alone is therefore not caught by
//! the fingerprints; the plan showed it as `***` anyway). A value on a host that is no
//! longer one of the secrets (an older secret) is hashed as found.

use gantry_core::Masker;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::report::{Facts, Observed};
use crate::run::{HostReport, ResourceReport, ResourceStatus};

/// Bumped when the fingerprints change meaning.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format: u32,
    pub hosts: Vec<SavedHost>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedHost {
    pub host: String,
    pub fingerprint: String,
    /// Ids of the resources the plan would change, in order.
    pub to_change: Vec<String>,
    pub resources: Vec<SavedResource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedResource {
    pub id: String,
    /// `infra/web.yml:12`.
    pub location: String,
    pub fingerprint: String,
}

/// One resource's fingerprint; `apply` is its apply script when it would change.
pub(crate) fn resource_fingerprint(
    report: &ResourceReport,
    observed: &Observed,
    apply: &str,
    masker: &Masker,
) -> String {
    let mut h = Sha256::new();
    for part in [report.id.as_str(), &report.location, &masker.mask(apply)] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(format!("{:?}", report.status).as_bytes());
    for (k, v) in &observed.0 {
        h.update([0]);
        h.update(k.as_bytes());
        h.update([1]);
        h.update(masker.mask(v).as_bytes());
    }
    hex::encode(h.finalize())
}

/// A host's fingerprint: its facts and every resource's fingerprint.
pub(crate) fn host_fingerprint(facts: &Facts, resources: &[ResourceReport]) -> String {
    let mut h = Sha256::new();
    for (k, v) in &facts.0 {
        h.update(k.as_bytes());
        h.update([1]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    for r in resources {
        h.update(r.fingerprint.as_bytes());
    }
    hex::encode(h.finalize())
}

impl SavedPlan {
    /// The plan of the hosts that were planned; an unreachable or failed host makes
    /// the plan unsavable (it could not be applied as reviewed).
    pub fn from_report(hosts: &[HostReport]) -> Result<SavedPlan, String> {
        let mut out = Vec::new();
        for host in hosts {
            if let Some(error) = &host.error {
                return Err(format!(
                    "host '{}' could not be planned ({error}); a saved plan needs every host",
                    host.host
                ));
            }
            out.push(SavedHost {
                host: host.host.clone(),
                fingerprint: host.fingerprint.clone(),
                to_change: host
                    .resources
                    .iter()
                    .filter(|r| r.status == ResourceStatus::Change)
                    .map(|r| r.id.clone())
                    .collect(),
                resources: host
                    .resources
                    .iter()
                    .map(|r| SavedResource {
                        id: r.id.clone(),
                        location: r.location.clone(),
                        fingerprint: r.fingerprint.clone(),
                    })
                    .collect(),
            });
        }
        Ok(SavedPlan {
            format: FORMAT,
            hosts: out,
        })
    }

    /// Reads a saved plan, checking its format.
    pub fn parse(text: &str) -> Result<SavedPlan, String> {
        let plan: SavedPlan =
            serde_json::from_str(text).map_err(|e| format!("not a saved plan: {e}"))?;
        if plan.format != FORMAT {
            return Err(format!(
                "saved plan format {} is not {FORMAT}: plan again with this version",
                plan.format
            ));
        }
        Ok(plan)
    }

    pub fn host(&self, name: &str) -> Option<&SavedHost> {
        self.hosts.iter().find(|h| h.host == name)
    }
}

impl SavedHost {
    /// Why the host's fresh check does not match the saved plan, or `None`.
    pub(crate) fn mismatch(
        &self,
        facts_and_all: &str,
        resources: &[ResourceReport],
    ) -> Option<String> {
        if self.fingerprint == facts_and_all {
            return None;
        }
        for r in resources {
            match self
                .resources
                .iter()
                .find(|s| s.id == r.id && s.location == r.location)
            {
                None => {
                    return Some(format!(
                        "'{}' ({}) is not in the saved plan",
                        r.id, r.location
                    ));
                }
                Some(s) if s.fingerprint != r.fingerprint => {
                    return Some(format!(
                        "'{}' ({}) differs from when the plan was made",
                        r.id, r.location
                    ));
                }
                Some(_) => {}
            }
        }
        if let Some(s) = self.resources.iter().find(|s| {
            !resources
                .iter()
                .any(|r| r.id == s.id && r.location == s.location)
        }) {
            return Some(format!(
                "'{}' ({}) of the saved plan is no longer declared",
                s.id, s.location
            ));
        }
        Some("the host's facts differ from when the plan was made".into())
    }
}
