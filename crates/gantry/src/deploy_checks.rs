//! `gantry validate`'s checks of a plan's deploy jobs that the pipeline compiler cannot
//! make alone: a deploy job with `runs_on` (only agents would take it, and agents do not
//! deploy) and, given the workspace, services and environments it does not declare and a
//! service whose `artifact.job` the deploy job does not need. Warnings only: the
//! workspace the pipeline will meet at run time may differ from the one given here.

use gantry_core::Diagnostic;
use gantry_pipeline::Plan;
use gantry_workspace::Workspace;

/// The warnings for `plan`'s deploy jobs; `file` names the pipeline file. Fields holding
/// `${{ }}` are only known at run time and are not checked.
pub fn check(file: &str, plan: &Plan, workspace: Option<&Workspace>) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for job in &plan.jobs {
        // One warning per job, not per matrix cell.
        let Some(deploy) = &job.deploy else { continue };
        if !seen.insert(job.job_id.as_str()) {
            continue;
        }
        let id = &job.job_id;
        if !job.runs_on.is_empty() {
            found.push(
                Diagnostic::warning(
                    file,
                    None,
                    format!("deploy job '{id}' has `runs_on`, so only agents take it, and agents do not deploy"),
                )
                .with_help("remove `runs_on`: deploy jobs run with `gantry run` or on the server's own pool"),
            );
        }
        let Some(ws) = workspace else { continue };
        let literal = |s: &str| !s.contains("${{");
        if literal(&deploy.environment) && !ws.environments.contains_key(&deploy.environment) {
            found.push(unknown(
                file,
                id,
                "environment",
                &deploy.environment,
                ws.environments.keys(),
            ));
        }
        if !literal(&deploy.service) {
            continue;
        }
        let Some(service) = ws.services.get(&deploy.service) else {
            found.push(unknown(
                file,
                id,
                "service",
                &deploy.service,
                ws.services.keys(),
            ));
            continue;
        };
        if let Some(from) = &service.artifact.job
            && !job.needs.contains(from)
        {
            found.push(
                Diagnostic::warning(
                    file,
                    None,
                    format!(
                        "deploy job '{id}' ships the artifact of job '{from}' (service '{}', `artifact.job` in {}), but does not need '{from}'",
                        service.name, ws.file
                    ),
                )
                .with_help(format!("add '{from}' to the `needs` of job '{id}'")),
            );
        }
    }
    found
}

fn unknown<'a>(
    file: &str,
    job: &str,
    what: &str,
    name: &str,
    known: impl Iterator<Item = &'a String>,
) -> Diagnostic {
    let known: Vec<&str> = known.map(String::as_str).collect();
    let diag = Diagnostic::warning(
        file,
        None,
        format!("deploy job '{job}': the workspace declares no {what} '{name}'"),
    );
    match gantry_core::did_you_mean(name, known.iter().copied()) {
        Some(close) => diag.with_help(format!("did you mean '{close}'?")),
        None => diag.with_note(format!(
            "the workspace's {what}s: {}",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const WORKSPACE: &str = r#"
hosts:
  app1: { address: 10.0.0.1 }
environments:
  staging: { hosts: [app1] }
services:
  web:
    artifact: { job: build, path: dist/app }
    run: { systemd: { exec: "{{ release_dir }}/app" } }
"#;

    fn messages(pipeline: &str, with_workspace: bool) -> Vec<String> {
        let plan = gantry_pipeline::compile("ci.yml", pipeline).plan.unwrap();
        let parsed = gantry_workspace::parse("gantry.yml", WORKSPACE);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let ws = parsed.workspace.unwrap();
        check("ci.yml", &plan, with_workspace.then_some(&ws))
            .iter()
            .map(|d| format!("{} / {}", d.message, d.help.clone().unwrap_or_default()))
            .collect()
    }

    #[test]
    fn deploy_jobs_are_checked_against_the_workspace() {
        let good = "jobs:\n  build: { steps: [make] }\n  ship:\n    needs: [build]\n    deploy: { service: web, environment: staging }\n";
        assert!(messages(good, true).is_empty());

        let no_needs = "jobs:\n  build: { steps: [make] }\n  ship:\n    deploy: { service: web, environment: staging }\n";
        assert_eq!(
            messages(no_needs, true),
            [
                "deploy job 'ship' ships the artifact of job 'build' (service 'web', `artifact.job` in gantry.yml), but does not need 'build' / add 'build' to the `needs` of job 'ship'"
            ]
        );
        // Without the workspace there is nothing to compare with.
        assert!(messages(no_needs, false).is_empty());

        let typos = "jobs:\n  ship:\n    deploy: { service: wbe, environment: stagign }\n";
        assert_eq!(
            messages(typos, true),
            [
                "deploy job 'ship': the workspace declares no environment 'stagign' / did you mean 'staging'?",
                "deploy job 'ship': the workspace declares no service 'wbe' / did you mean 'web'?",
            ]
        );
        let templated = "on: { manual: { inputs: { to: { default: staging } } } }\njobs:\n  ship:\n    deploy: { service: web, environment: \"${{ inputs.to }}\" }\n";
        assert_eq!(messages(templated, true).len(), 1, "only the missing needs");
    }

    #[test]
    fn a_deploy_job_with_runs_on_is_warned_about_without_a_workspace() {
        let pipeline = "jobs:\n  ship:\n    runs_on: [linux]\n    deploy: { service: web, environment: staging }\n";
        let found = messages(pipeline, false);
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("agents do not deploy"), "{found:?}");
    }
}
