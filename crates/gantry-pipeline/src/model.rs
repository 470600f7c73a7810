//! The parsed pipeline before planning: the grammar's shape with the span of everything
//! that a later check (references, cycles, matrix size) may need to point at.

use std::time::Duration;

use gantry_core::Span;
use serde_json::Value;

use crate::plan::ExecutorKind;
use crate::trigger::Triggers;
use crate::yaml::Style;

/// A string as written in the file. Template fields keep their style so that an error
/// at an offset inside the string can be placed at the right column.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub value: String,
    pub span: Span,
    pub style: Style,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvVar {
    pub name: Spanned<String>,
    pub value: Text,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pipeline {
    pub name: Option<Text>,
    pub on: Triggers,
    /// Declared manual input names, for `inputs.X` checks.
    pub inputs: Vec<String>,
    pub env: Vec<EnvVar>,
    pub concurrency: Option<Concurrency>,
    pub jobs: Vec<Job>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Concurrency {
    pub group: Text,
    pub cancel_in_progress: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: Spanned<String>,
    pub name: Option<Text>,
    pub needs: Vec<Spanned<String>>,
    pub condition: Option<Text>,
    pub executor: ExecutorKind,
    pub executor_span: Option<Span>,
    /// False when `executor:` named no known executor (already reported).
    pub executor_known: bool,
    pub network: bool,
    pub image: Option<Text>,
    pub services: Vec<Service>,
    pub services_span: Option<Span>,
    pub matrix: Option<Matrix>,
    pub timeout: Option<Duration>,
    pub retry: u32,
    pub continue_on_error: bool,
    pub env: Vec<EnvVar>,
    pub cache: Vec<Cache>,
    pub artifacts: Vec<Text>,
    /// `runs_on`: labels an agent must all have to run the job.
    pub runs_on: Vec<Text>,
    pub outputs: Vec<Output>,
    pub steps: Vec<Step>,
    pub deploy: Option<Deploy>,
}

impl Job {
    pub fn new(id: Spanned<String>) -> Self {
        Job {
            id,
            name: None,
            needs: Vec::new(),
            condition: None,
            executor: ExecutorKind::Host,
            executor_span: None,
            executor_known: true,
            network: false,
            image: None,
            services: Vec::new(),
            services_span: None,
            matrix: None,
            timeout: None,
            retry: 0,
            continue_on_error: false,
            env: Vec::new(),
            cache: Vec::new(),
            artifacts: Vec::new(),
            runs_on: Vec::new(),
            outputs: Vec::new(),
            steps: Vec::new(),
            deploy: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: Spanned<String>,
    pub image: Text,
    pub env: Vec<EnvVar>,
    pub command: Option<Vec<Text>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cache {
    pub key: Text,
    pub paths: Vec<Text>,
    pub restore_keys: Vec<Text>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub name: Spanned<String>,
    pub value: Text,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Deploy {
    pub service: Text,
    pub environment: Text,
    pub version: Option<Text>,
}

/// One `matrix.include`/`exclude` entry: axis name → value.
pub type MatrixEntry = Spanned<Vec<(Spanned<String>, Value)>>;

#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub span: Span,
    pub axes: Vec<(Spanned<String>, Vec<Value>)>,
    pub include: Vec<MatrixEntry>,
    pub exclude: Vec<MatrixEntry>,
}

impl Matrix {
    /// Every key a cell of this matrix may have: the axes, then keys only `include` adds.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .axes
            .iter()
            .map(|(name, _)| name.value.as_str())
            .collect();
        for entry in &self.include {
            for (name, _) in &entry.value {
                if !keys.contains(&name.value.as_str()) {
                    keys.push(&name.value);
                }
            }
        }
        keys
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub span: Span,
    pub id: Option<Spanned<String>>,
    pub name: Option<Text>,
    pub run: Text,
    pub shell: Option<String>,
    pub working_directory: Option<Text>,
    pub env: Vec<EnvVar>,
    pub condition: Option<Text>,
    pub timeout: Option<Duration>,
    pub continue_on_error: bool,
    pub retry: u32,
}
