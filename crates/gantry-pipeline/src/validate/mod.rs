//! Checks that need more than one place of the file: the job graph, expressions and
//! their references, executors versus images and services, step ids, matrix sizes.

mod graph;
mod refs;
pub mod schedule;

use gantry_core::Span;

use crate::matrix;
use crate::model::{Job, Pipeline};
use crate::parse::Cx;
use crate::plan::ExecutorKind;
use crate::yaml::LineIndex;

/// The most matrix cells one job may expand to.
pub const MAX_MATRIX_CELLS: usize = 256;

pub fn pipeline(cx: &mut Cx, source: &str, index: &LineIndex, pipeline: &Pipeline) {
    graph::check(cx, &pipeline.jobs);
    for job in &pipeline.jobs {
        executor(cx, job);
        step_ids(cx, job);
        matrix_size(cx, job);
    }
    refs::check(cx, source, index, pipeline);
}

fn executor(cx: &mut Cx, job: &Job) {
    if !job.executor_known {
        return;
    }
    let jid = &job.id.value;
    let at = job.executor_span.unwrap_or(job.id.span);
    match job.executor {
        ExecutorKind::Docker => {
            if job.image.is_none() {
                let diag = cx
                    .error(
                        at,
                        format!("job '{jid}' uses the docker executor but has no 'image'"),
                    )
                    .with_help("add e.g. `image: \"rust:1.80\"`");
                cx.push(diag);
            }
        }
        ExecutorKind::Host | ExecutorKind::Sandbox => {
            let kind = job.executor.as_str();
            if let Some(image) = &job.image {
                let diag = cx
                    .warning(
                        image.span,
                        format!("'image' is ignored: job '{jid}' runs on the {kind} executor"),
                    )
                    .with_help("add `executor: docker` to run the job in this image");
                cx.push(diag);
            }
            if !job.services.is_empty() {
                let span = job.services_span.unwrap_or(job.id.span);
                let diag = cx
                    .error(span, format!("job '{jid}' has services, which need the docker executor, but it runs on the {kind} executor"))
                    .with_help("add `executor: docker` and an `image`");
                cx.push(diag);
            }
        }
    }
}

fn step_ids(cx: &mut Cx, job: &Job) {
    let mut seen: Vec<(&str, Span)> = Vec::new();
    for step in &job.steps {
        let Some(id) = &step.id else { continue };
        if let Some((_, first)) = seen.iter().find(|(s, _)| *s == id.value) {
            let diag = cx
                .error(
                    id.span,
                    format!(
                        "job '{}' has two steps with id '{}'",
                        job.id.value, id.value
                    ),
                )
                .with_help("step ids must be unique within a job")
                .with_note(format!(
                    "the first is at line {}, column {}",
                    first.line, first.col
                ));
            cx.push(diag);
        } else {
            seen.push((&id.value, id.span));
        }
    }
}

fn matrix_size(cx: &mut Cx, job: &Job) {
    let Some(m) = &job.matrix else { return };
    let size = match matrix::cell_count(m) {
        Ok(size) => size,
        Err(product) => {
            let diag = cx
                .error(m.span, format!("the matrix of job '{}' has {product} combinations; the limit is {MAX_MATRIX_CELLS} jobs", job.id.value))
                .with_help("remove axis values; a job needs a smaller matrix");
            cx.push(diag);
            return;
        }
    };
    if size > MAX_MATRIX_CELLS {
        let diag = cx
            .error(m.span, format!("the matrix of job '{}' expands to {size} jobs; the limit is {MAX_MATRIX_CELLS}", job.id.value))
            .with_help("remove axis values, or drop combinations with `exclude`");
        cx.push(diag);
    } else if size == 0 {
        let diag = cx.error(
            m.span,
            format!(
                "the matrix of job '{}' has no cells: 'exclude' removes every combination",
                job.id.value
            ),
        );
        cx.push(diag);
    }
}
