//! The job graph: every `needs` names an existing job other than itself, and the jobs
//! form no cycle.

use std::collections::HashMap;

use gantry_core::did_you_mean;

use crate::model::Job;
use crate::parse::Cx;

pub fn check(cx: &mut Cx, jobs: &[Job]) {
    let index: HashMap<&str, usize> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.id.value.as_str(), i))
        .collect();
    let ids: Vec<&str> = jobs.iter().map(|j| j.id.value.as_str()).collect();
    for job in jobs {
        for need in &job.needs {
            if need.value == job.id.value {
                let diag = cx
                    .error(need.span, format!("job '{}' needs itself", job.id.value))
                    .with_help("remove it from `needs`; a job cannot wait for itself");
                cx.push(diag);
            } else if !index.contains_key(need.value.as_str()) {
                let others = ids.iter().copied().filter(|id| *id != job.id.value);
                let mut diag = cx
                    .error(
                        need.span,
                        format!(
                            "job '{}' needs '{}', which does not exist",
                            job.id.value, need.value
                        ),
                    )
                    .with_help_opt(
                        did_you_mean(&need.value, others).map(|s| format!("did you mean '{s}'?")),
                    );
                diag = diag.with_note(format!("the jobs are: {}", ids.join(", ")));
                cx.push(diag);
            }
        }
    }
    cycles(cx, jobs, &index);
}

/// Finds cycles with an iterative depth-first search (a file may hold thousands of
/// jobs; recursion could overflow the stack) and reports each back edge once.
fn cycles(cx: &mut Cx, jobs: &[Job], index: &HashMap<&str, usize>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Color {
        White,
        Gray,
        Black,
    }
    let edges: Vec<Vec<(usize, usize)>> = jobs
        .iter()
        .enumerate()
        .map(|(i, job)| {
            job.needs
                .iter()
                .enumerate()
                .filter_map(|(n, need)| {
                    index
                        .get(need.value.as_str())
                        .filter(|&&t| t != i)
                        .map(|&t| (t, n))
                })
                .collect()
        })
        .collect();
    let mut color = vec![Color::White; jobs.len()];
    for root in 0..jobs.len() {
        if color[root] != Color::White {
            continue;
        }
        // (job, next edge to follow)
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        color[root] = Color::Gray;
        while let Some(top) = stack.last_mut() {
            let node = top.0;
            let Some(&(target, need_idx)) = edges[node].get(top.1) else {
                color[node] = Color::Black;
                stack.pop();
                continue;
            };
            top.1 += 1;
            match color[target] {
                Color::White => {
                    color[target] = Color::Gray;
                    stack.push((target, 0));
                }
                Color::Gray => {
                    let start = stack.iter().position(|(n, _)| *n == target).unwrap_or(0);
                    let mut names: Vec<&str> = stack[start..]
                        .iter()
                        .map(|(n, _)| jobs[*n].id.value.as_str())
                        .collect();
                    names.push(jobs[target].id.value.as_str());
                    let span = jobs[node].needs[need_idx].span;
                    let diag = cx
                        .error(span, format!("jobs form a cycle: {}", names.join(" → ")))
                        .with_label("this need closes the cycle")
                        .with_help("remove one of these needs; each arrow reads \"needs\"");
                    cx.push(diag);
                }
                Color::Black => {}
            }
        }
    }
}
