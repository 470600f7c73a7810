//! What version runs where, from the deployments the server recorded: for each host,
//! the newest finished deployment that says what the host ended on (the version when it
//! switched and stayed, its previous release when it was put back). Pure.

use gantry_store::Deployment;
use indexmap::IndexMap;
use serde::Serialize;

/// A host's version and the deployment that says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostVersion {
    pub version: String,
    pub deployment: i64,
}

/// `deployments` newest first (one service, one environment); `hosts` in order. A host
/// no recorded deployment touched is missing from the answer.
pub fn running(deployments: &[Deployment], hosts: &[String]) -> IndexMap<String, HostVersion> {
    let mut out = IndexMap::new();
    for host in hosts {
        for d in deployments.iter().filter(|d| d.state.is_final()) {
            let Some(entry) = d.report.as_ref().and_then(|r| {
                r["hosts"]
                    .as_array()?
                    .iter()
                    .find(|h| h["host"].as_str() == Some(host))
            }) else {
                continue;
            };
            let switched = entry["switched"].as_bool().unwrap_or(false);
            let put_back = entry["rolled_back"].as_bool().unwrap_or(false);
            let version = if switched && !put_back {
                // A rollback's record names the version it went back to.
                Some(d.version.clone())
            } else {
                entry["previous_version"].as_str().map(str::to_string)
            };
            if let Some(version) = version {
                out.insert(
                    host.clone(),
                    HostVersion {
                        version,
                        deployment: d.id.0,
                    },
                );
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gantry_store::{DeployState, DeploymentId};
    use serde_json::json;

    fn d(id: i64, version: &str, state: DeployState, hosts: serde_json::Value) -> Deployment {
        Deployment {
            id: DeploymentId(id),
            service: "web".into(),
            environment: "staging".into(),
            version: version.into(),
            kind: "deploy".into(),
            state,
            trigger: "api".into(),
            triggered_by: "ann".into(),
            project: None,
            run_id: None,
            commit_sha: None,
            previous_version: None,
            previous_commit: None,
            changelog: vec![],
            hosts: json!({}),
            created_at: jiff::Timestamp::UNIX_EPOCH,
            finished_at: None,
            report: Some(json!({ "hosts": hosts })),
        }
    }

    #[test]
    fn a_rolled_back_host_runs_its_previous_release() {
        let hosts = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let newest_first = vec![
            d(
                4,
                "v4",
                DeployState::Running,
                json!([{ "host": "a", "switched": true }]),
            ),
            d(
                3,
                "v3",
                DeployState::RolledBack,
                json!([
                    { "host": "a", "switched": true, "rolled_back": true, "previous_version": "v2" },
                    { "host": "b", "switched": false, "previous_version": null }
                ]),
            ),
            d(
                2,
                "v2",
                DeployState::Succeeded,
                json!([{ "host": "a", "switched": true }, { "host": "b", "switched": true }]),
            ),
        ];
        let got = running(&newest_first, &hosts);
        assert_eq!(got["a"].version, "v2");
        assert_eq!(got["a"].deployment, 3);
        assert_eq!((got["b"].version.as_str(), got["b"].deployment), ("v2", 2));
        assert!(!got.contains_key("c"));
    }
}
