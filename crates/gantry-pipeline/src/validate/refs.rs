//! Expressions: every template and condition is parsed with gantry-expr (errors placed at
//! the column of the offending text inside the YAML scalar), and every context it reads
//! is checked against what that place can see (`needs` of this job, earlier step ids,
//! this job's matrix keys, declared inputs).

use std::collections::HashMap;

use gantry_core::{Diagnostic, Span};

use gantry_core::did_you_mean;
use gantry_expr::Reference;

use crate::model::{Job, Pipeline, Step, Text};
use crate::parse::Cx;
use crate::yaml::{LineIndex, Style};

/// Fields of `git` and `run` that the engine fills; others read as empty, so they are
/// most likely typos (warned, not refused, as the engine may add fields).
const GIT_FIELDS: &[&str] = &[
    "sha",
    "short_sha",
    "branch",
    "tag",
    "ref",
    "event",
    "message",
    "author",
];
const RUN_FIELDS: &[&str] = &["id", "number"];

#[derive(Clone, Copy)]
enum Steps<'a> {
    /// `steps` is not readable here (pipeline and job fields other than outputs).
    Unavailable,
    /// A step's own fields: the steps before it.
    Before(&'a [Step]),
    /// Job outputs: every step of the job.
    All(&'a [Step]),
}

#[derive(Clone, Copy)]
struct Place<'a> {
    job: Option<&'a Job>,
    steps: Steps<'a>,
}

pub struct Checker<'a> {
    source: &'a str,
    index: &'a LineIndex,
    pipeline: &'a Pipeline,
    jobs: HashMap<&'a str, &'a Job>,
}

pub fn check(cx: &mut Cx, source: &str, index: &LineIndex, pipeline: &Pipeline) {
    let checker = Checker {
        source,
        index,
        pipeline,
        jobs: pipeline
            .jobs
            .iter()
            .map(|j| (j.id.value.as_str(), j))
            .collect(),
    };
    checker.pipeline(cx);
}

impl<'a> Checker<'a> {
    fn pipeline(&self, cx: &mut Cx) {
        let top = Place {
            job: None,
            steps: Steps::Unavailable,
        };
        if let Some(name) = &self.pipeline.name {
            self.template(cx, name, top);
        }
        for var in &self.pipeline.env {
            self.template(cx, &var.value, top);
        }
        if let Some(c) = &self.pipeline.concurrency {
            self.template(cx, &c.group, top);
        }
        for job in &self.pipeline.jobs {
            self.job(cx, job);
        }
    }

    fn job(&self, cx: &mut Cx, job: &'a Job) {
        let place = Place {
            job: Some(job),
            steps: Steps::Unavailable,
        };
        let mut texts: Vec<&Text> = Vec::new();
        texts.extend(&job.name);
        texts.extend(&job.image);
        for service in &job.services {
            texts.push(&service.image);
            texts.extend(service.env.iter().map(|v| &v.value));
            texts.extend(service.command.iter().flatten());
        }
        texts.extend(job.env.iter().map(|v| &v.value));
        for cache in &job.cache {
            texts.push(&cache.key);
            texts.extend(&cache.paths);
            texts.extend(&cache.restore_keys);
        }
        texts.extend(&job.artifacts);
        if let Some(deploy) = &job.deploy {
            texts.push(&deploy.service);
            texts.push(&deploy.environment);
            texts.extend(&deploy.version);
        }
        for text in texts {
            self.template(cx, text, place);
        }
        if let Some(condition) = &job.condition {
            self.condition(cx, condition, place);
        }
        let outputs = Place {
            job: Some(job),
            steps: Steps::All(&job.steps),
        };
        for output in &job.outputs {
            self.template(cx, &output.value, outputs);
        }
        for (i, step) in job.steps.iter().enumerate() {
            let place = Place {
                job: Some(job),
                steps: Steps::Before(job.steps.get(..i).unwrap_or(&[])),
            };
            let mut texts: Vec<&Text> = vec![&step.run];
            texts.extend(&step.name);
            texts.extend(&step.working_directory);
            texts.extend(step.env.iter().map(|v| &v.value));
            for text in texts {
                self.template(cx, text, place);
            }
            if let Some(condition) = &step.condition {
                self.condition(cx, condition, place);
            }
        }
    }

    fn template(&self, cx: &mut Cx, text: &Text, place: Place<'a>) {
        if !text.value.contains("${{") {
            // No expression; a stray `}}` or `${` is ordinary text.
            return;
        }
        match gantry_expr::parse_template(&text.value) {
            Ok(t) => self.references(cx, text, &t.references(), place),
            Err(e) => self.expr_error(cx, text, e),
        }
    }

    fn condition(&self, cx: &mut Cx, text: &Text, place: Place<'a>) {
        match gantry_expr::parse_condition(&text.value) {
            Ok(e) => self.references(cx, text, &e.references(), place),
            Err(e) => self.expr_error(cx, text, e),
        }
    }

    fn expr_error(&self, cx: &mut Cx, text: &Text, e: gantry_expr::ExprError) {
        let span = self.locate(text, e.offset, e.len);
        let diag = cx.error(span, e.message).with_help_opt(e.help);
        cx.push(diag);
    }

    fn references(&self, cx: &mut Cx, text: &Text, refs: &[Reference], place: Place<'a>) {
        for r in refs {
            if let Some(diag) = self.reference(cx, r, place) {
                let span = self.locate(text, r.offset, r.len);
                cx.push(Diagnostic {
                    span: Some(span),
                    ..diag
                });
            }
        }
    }

    /// The problem with one reference, as a diagnostic without a span.
    fn reference(&self, cx: &Cx, r: &Reference, place: Place<'a>) -> Option<Diagnostic> {
        let path: Vec<&str> = r.path.iter().map(String::as_str).collect();
        let shown = path.join(".");
        let error = |msg: String| Some(Diagnostic::error(cx.file, None, msg));
        let warning = |msg: String| Some(Diagnostic::warning(cx.file, None, msg));
        let who = place.job.map_or_else(
            || "the pipeline".to_string(),
            |j| format!("job '{}'", j.id.value),
        );
        match path.as_slice() {
            ["needs", rest @ ..] => {
                let Some(job) = place.job else {
                    return error(format!("{shown}: 'needs' can only be read inside a job"));
                };
                let [target, rest @ ..] = rest else {
                    return None;
                };
                let listed: Vec<&str> = job.needs.iter().map(|n| n.value.as_str()).collect();
                if !listed.contains(target) {
                    if let Some(needed) = self.jobs.get(target).filter(|_| *target != job.id.value)
                    {
                        return error(format!(
                            "{who} reads needs.{target} but does not list '{target}' in needs"
                        ))
                        .map(|d| {
                            d.with_help(format!(
                                "add it: `needs: [{}]`",
                                listed
                                    .iter()
                                    .chain([&needed.id.value.as_str()])
                                    .copied()
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ))
                        });
                    }
                    let help = did_you_mean(target, listed.iter().copied())
                        .map(|s| format!("did you mean '{s}'?"));
                    return error(format!(
                        "{who} reads needs.{target}, but there is no job '{target}' in its needs"
                    ))
                    .map(|d| {
                        d.with_help_opt(help).with_note(if listed.is_empty() {
                            format!("{who} needs no jobs")
                        } else {
                            format!("{who} needs: {}", listed.join(", "))
                        })
                    });
                }
                match rest {
                    [] | ["result", ..] => None,
                    ["outputs"] => None,
                    ["outputs", name, ..] => {
                        let needed = self.jobs.get(target)?;
                        let names: Vec<&str> = needed
                            .outputs
                            .iter()
                            .map(|o| o.name.value.as_str())
                            .collect();
                        if names.contains(name) {
                            return None;
                        }
                        let help = did_you_mean(name, names.iter().copied())
                            .map(|s| format!("did you mean '{s}'?"));
                        error(format!("job '{target}' has no output '{name}'")).map(|d| {
                            d.with_help_opt(help).with_note(if names.is_empty() {
                                format!("job '{target}' declares no outputs; add `outputs: {{ {name}: \"${{{{ steps.<id>.outputs.{name} }}}}\" }}` to it")
                            } else {
                                format!("the outputs of job '{target}' are: {}", names.join(", "))
                            })
                        })
                    }
                    [other, ..] => error(format!(
                        "needs.{target}.{other}: a needed job has 'outputs' and 'result'"
                    ))
                    .map(|d| {
                        d.with_help_opt(
                            did_you_mean(other, ["outputs", "result"])
                                .map(|s| format!("did you mean '{s}'?")),
                        )
                    }),
                }
            }
            ["steps", rest @ ..] => {
                let (before, all): (&[Step], &[Step]) = match place.steps {
                    Steps::Unavailable => {
                        return error(format!(
                            "{shown}: 'steps' can only be read in a step or in the job's outputs"
                        ))
                        .map(|d| {
                            d.with_help("pass a step's output on through the job's `outputs`")
                        });
                    }
                    Steps::Before(before) => {
                        (before, place.job.map_or(&[], |j| j.steps.as_slice()))
                    }
                    Steps::All(all) => (all, all),
                };
                let [id, rest @ ..] = rest else { return None };
                let earlier: Vec<&str> = before
                    .iter()
                    .filter_map(|s| s.id.as_ref())
                    .map(|i| i.value.as_str())
                    .collect();
                if !earlier.contains(id) {
                    if all
                        .iter()
                        .any(|s| s.id.as_ref().is_some_and(|i| i.value == *id))
                    {
                        return error(format!(
                            "step '{id}' runs after this step, so steps.{id} is not available here"
                        ));
                    }
                    let help = did_you_mean(id, earlier.iter().copied())
                        .map(|s| format!("did you mean '{s}'?"));
                    return error(format!(
                        "{who} has no step with id '{id}' before this point"
                    ))
                    .map(|d| {
                        d.with_help_opt(help).with_note(if earlier.is_empty() {
                            "give the step an id (`id: build`) to read its outputs".to_string()
                        } else {
                            format!("the step ids available here are: {}", earlier.join(", "))
                        })
                    });
                }
                match rest {
                    [] | ["outputs", ..] | ["result", ..] => None,
                    [other, ..] => warning(format!(
                        "steps.{id}.{other}: a step has 'outputs' and 'result'"
                    ))
                    .map(|d| {
                        d.with_help_opt(
                            did_you_mean(other, ["outputs", "result"])
                                .map(|s| format!("did you mean '{s}'?")),
                        )
                    }),
                }
            }
            ["matrix", key, ..] => {
                let Some(job) = place.job else {
                    return error(format!("{shown}: 'matrix' can only be read inside a job"));
                };
                let Some(matrix) = &job.matrix else {
                    return error(format!("{who} reads matrix.{key} but has no matrix"));
                };
                let keys = matrix.keys();
                if keys.contains(key) {
                    return None;
                }
                let help =
                    did_you_mean(key, keys.iter().copied()).map(|s| format!("did you mean '{s}'?"));
                error(format!("{who} has no matrix key '{key}'")).map(|d| {
                    d.with_help_opt(help)
                        .with_note(format!("the matrix keys are: {}", keys.join(", ")))
                })
            }
            ["inputs", name, ..] => {
                if self.pipeline.inputs.iter().any(|i| i == name) {
                    return None;
                }
                let help = did_you_mean(name, self.pipeline.inputs.iter().map(String::as_str))
                    .map(|s| format!("did you mean '{s}'?"));
                error(format!("input '{name}' is not declared")).map(|d| {
                    d.with_help_opt(help)
                        .with_note(if self.pipeline.inputs.is_empty() {
                            "declare inputs under `on: { manual: { inputs: { … } } }`".to_string()
                        } else {
                            format!("the inputs are: {}", self.pipeline.inputs.join(", "))
                        })
                })
            }
            ["git", field, ..] if !GIT_FIELDS.contains(field) => {
                warning(format!("git.{field} is not a field of the git context")).map(|d| {
                    d.with_help(did_you_mean(field, GIT_FIELDS.iter().copied()).map_or_else(
                        || format!("the fields are: {}", GIT_FIELDS.join(", ")),
                        |s| format!("did you mean '{s}'?"),
                    ))
                })
            }
            ["run", field, ..] if !RUN_FIELDS.contains(field) => {
                warning(format!("run.{field} is not a field of the run context")).map(|d| {
                    d.with_help(did_you_mean(field, RUN_FIELDS.iter().copied()).map_or_else(
                        || format!("the fields are: {}", RUN_FIELDS.join(", ")),
                        |s| format!("did you mean '{s}'?"),
                    ))
                })
            }
            _ => None,
        }
    }

    /// The span of bytes `offset..offset+len` of a scalar's value, in the file. Exact for
    /// single-line plain and quoted scalars and for literal blocks; otherwise the text is
    /// searched for in the scalar, and without a unique match the scalar's start is used.
    fn locate(&self, text: &Text, offset: usize, len: usize) -> Span {
        let start = text.span.offset;
        let raw = self.source.get(start..start + text.span.len).unwrap_or("");
        let Some(wanted) = text.value.get(offset..offset + len) else {
            return text.span;
        };
        let at = |pos: usize| self.index.span(pos, pos + len);
        let matches = |pos: usize| self.source.get(pos..pos + len) == Some(wanted);
        let exact = match text.style {
            Style::Plain if raw == text.value => Some(start + offset),
            Style::SingleQuoted | Style::DoubleQuoted
                if raw.get(1..raw.len().saturating_sub(1)) == Some(text.value.as_str()) =>
            {
                Some(start + 1 + offset)
            }
            Style::Literal => literal_position(self.source, text, offset),
            _ => None,
        };
        if let Some(pos) = exact.filter(|p| matches(*p)) {
            return at(pos);
        }
        if !wanted.is_empty()
            && raw.matches(wanted).count() == 1
            && let Some(i) = raw.find(wanted)
        {
            return at(start + i);
        }
        self.index
            .span(start, start + raw.split('\n').next().unwrap_or("").len())
    }
}

/// In a literal block (`|`), line k of the value is line k of the block, behind the
/// block's indentation (the column where its first line starts).
fn literal_position(source: &str, text: &Text, offset: usize) -> Option<usize> {
    let before = text.value.get(..offset)?;
    let line = before.matches('\n').count();
    let col = offset - before.rfind('\n').map_or(0, |i| i + 1);
    let indent = text.span.col.saturating_sub(1) as usize;
    if line == 0 {
        return Some(text.span.offset + col);
    }
    let mut pos = text.span.offset;
    for _ in 0..line {
        pos += source.get(pos..)?.find('\n')? + 1;
    }
    Some(pos + indent + col)
}
