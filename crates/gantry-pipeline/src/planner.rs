//! From a validated model to the [`Plan`]: matrix cells become jobs, jobs are put in a
//! stable topological order (declaration order among the jobs that are ready), and each
//! job's `needs` is resolved to the plan indices of every cell it waits for.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use indexmap::IndexMap;

use crate::matrix;
use crate::model::{EnvVar, Job, Pipeline, Step};
use crate::plan::{CacheSpec, Concurrency, DeploySpec, Plan, PlannedJob, PlannedStep, ServiceSpec};

/// Longest default step name (the first line of `run`), in characters.
const STEP_NAME_MAX: usize = 60;

/// Builds the plan. The model must be free of errors (unknown needs, cycles), which the
/// caller guarantees; should a cycle slip through, the jobs in it are left out rather
/// than looping.
pub fn plan(file: &str, pipeline: &Pipeline) -> Plan {
    let name = pipeline
        .name
        .as_ref()
        .map_or_else(|| file_stem(file), |n| n.value.clone());
    let mut jobs = Vec::new();
    let mut cells_of: HashMap<&str, std::ops::Range<usize>> = HashMap::new();
    for i in order(&pipeline.jobs) {
        let Some(job) = pipeline.jobs.get(i) else {
            continue;
        };
        let needs_index: Vec<usize> = job
            .needs
            .iter()
            .filter_map(|n| cells_of.get(n.value.as_str()))
            .flat_map(|r| r.clone())
            .collect();
        let start = jobs.len();
        jobs.extend(
            cells(job)
                .into_iter()
                .map(|(key, name, cell)| planned_job(job, key, name, cell, needs_index.clone())),
        );
        cells_of.insert(&job.id.value, start..jobs.len());
    }
    Plan {
        name,
        file: file.to_string(),
        on: pipeline.on.clone(),
        env: env(&pipeline.env),
        concurrency: pipeline.concurrency.as_ref().map(|c| Concurrency {
            group: c.group.value.clone(),
            cancel_in_progress: c.cancel_in_progress,
        }),
        jobs,
    }
}

/// `ci` for `.gantry/pipelines/ci.yml`.
fn file_stem(file: &str) -> String {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    let stem = match base.rfind('.') {
        Some(i) if i > 0 => base.get(..i).unwrap_or(base),
        _ => base,
    };
    if stem.is_empty() {
        "pipeline".to_string()
    } else {
        stem.to_string()
    }
}

/// Kahn's algorithm, always taking the earliest-declared ready job.
fn order(jobs: &[Job]) -> Vec<usize> {
    let index: HashMap<&str, usize> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.id.value.as_str(), i))
        .collect();
    let mut waiting: Vec<usize> = vec![0; jobs.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); jobs.len()];
    for (i, job) in jobs.iter().enumerate() {
        for need in &job.needs {
            if let Some(&n) = index.get(need.value.as_str())
                && let (Some(w), Some(d)) = (waiting.get_mut(i), dependents.get_mut(n))
            {
                *w += 1;
                d.push(i);
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = waiting
        .iter()
        .enumerate()
        .filter(|(_, w)| **w == 0)
        .map(|(i, _)| Reverse(i))
        .collect();
    let mut out = Vec::with_capacity(jobs.len());
    while let Some(Reverse(i)) = ready.pop() {
        out.push(i);
        for &d in dependents.get(i).map_or(&[][..], Vec::as_slice) {
            if let Some(w) = waiting.get_mut(d) {
                *w -= 1;
                if *w == 0 {
                    ready.push(Reverse(d));
                }
            }
        }
    }
    out
}

/// (key, display name, matrix values) for each job the model job becomes.
fn cells(job: &Job) -> Vec<(String, String, IndexMap<String, serde_json::Value>)> {
    let display = job
        .name
        .as_ref()
        .map_or(job.id.value.as_str(), |n| n.value.as_str());
    let Some(m) = &job.matrix else {
        return vec![(job.id.value.clone(), display.to_string(), IndexMap::new())];
    };
    let cells = matrix::expand(m);
    let suffixes = matrix::suffixes(m, &cells);
    cells
        .into_iter()
        .zip(suffixes)
        .map(|(cell, suffix)| {
            (
                format!("{} ({suffix})", job.id.value),
                format!("{display} ({suffix})"),
                cell,
            )
        })
        .collect()
}

fn env(vars: &[EnvVar]) -> IndexMap<String, String> {
    vars.iter()
        .map(|v| (v.name.value.clone(), v.value.value.clone()))
        .collect()
}

fn planned_job(
    job: &Job,
    key: String,
    name: String,
    matrix: IndexMap<String, serde_json::Value>,
    needs_index: Vec<usize>,
) -> PlannedJob {
    PlannedJob {
        key,
        job_id: job.id.value.clone(),
        name,
        matrix,
        needs: job.needs.iter().map(|n| n.value.clone()).collect(),
        needs_index,
        condition: job.condition.as_ref().map(|c| c.value.clone()),
        executor: job.executor,
        network: job.network,
        image: job.image.as_ref().map(|i| i.value.clone()),
        services: job
            .services
            .iter()
            .map(|s| {
                let spec = ServiceSpec {
                    image: s.image.value.clone(),
                    env: env(&s.env),
                    command: s
                        .command
                        .as_ref()
                        .map(|c| c.iter().map(|t| t.value.clone()).collect()),
                };
                (s.name.value.clone(), spec)
            })
            .collect(),
        timeout: job.timeout,
        retry: job.retry,
        continue_on_error: job.continue_on_error,
        env: env(&job.env),
        cache: job
            .cache
            .iter()
            .map(|c| CacheSpec {
                key: c.key.value.clone(),
                paths: c.paths.iter().map(|p| p.value.clone()).collect(),
                restore_keys: c.restore_keys.iter().map(|p| p.value.clone()).collect(),
            })
            .collect(),
        artifacts: job.artifacts.iter().map(|a| a.value.clone()).collect(),
        runs_on: {
            let mut labels: Vec<String> = job.runs_on.iter().map(|l| l.value.clone()).collect();
            labels.sort();
            labels.dedup();
            labels
        },
        outputs: job
            .outputs
            .iter()
            .map(|o| (o.name.value.clone(), o.value.value.clone()))
            .collect(),
        steps: job
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| planned_step(i, s))
            .collect(),
        deploy: job.deploy.as_ref().map(|d| DeploySpec {
            service: d.service.value.clone(),
            environment: d.environment.value.clone(),
            version: d.version.as_ref().map(|v| v.value.clone()),
        }),
    }
}

fn planned_step(index: usize, step: &Step) -> PlannedStep {
    PlannedStep {
        index,
        id: step.id.as_ref().map(|i| i.value.clone()),
        name: step
            .name
            .as_ref()
            .map_or_else(|| default_step_name(&step.run.value), |n| n.value.clone()),
        run: step.run.value.clone(),
        shell: step.shell.clone(),
        working_directory: step.working_directory.as_ref().map(|w| w.value.clone()),
        env: env(&step.env),
        condition: step.condition.as_ref().map(|c| c.value.clone()),
        timeout: step.timeout,
        continue_on_error: step.continue_on_error,
        retry: step.retry,
    }
}

/// The first non-blank line of the script, cut to [`STEP_NAME_MAX`] characters.
pub fn default_step_name(run: &str) -> String {
    let line = run
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if line.chars().count() <= STEP_NAME_MAX {
        return line.to_string();
    }
    let mut cut: String = line.chars().take(STEP_NAME_MAX - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems() {
        assert_eq!(file_stem(".gantry/pipelines/ci.yml"), "ci");
        assert_eq!(file_stem("release.v2.yaml"), "release.v2");
        assert_eq!(file_stem("C:\\x\\deploy.yml"), "deploy");
        assert_eq!(file_stem(".yml"), ".yml");
        assert_eq!(file_stem(""), "pipeline");
    }

    #[test]
    fn step_names_take_the_first_line() {
        assert_eq!(
            default_step_name("\n  cargo test --all\nsecond"),
            "cargo test --all"
        );
        let long = "x".repeat(100);
        let name = default_step_name(&long);
        assert_eq!(name.chars().count(), STEP_NAME_MAX);
        assert!(name.ends_with('…'));
    }
}
