//! Manual inputs declared in a file and resolved against the values a user gives.

use gantry_pipeline::resolve_inputs;
use indexmap::IndexMap;
use serde_json::{Value, json};

use crate::plan_of;

const SOURCE: &str = r#"
on:
  manual:
    inputs:
      target: { options: [staging, production], default: staging, description: Where to deploy }
      replicas: { type: number, required: true }
      dry_run: { type: boolean, default: false }
      note: { type: string }
jobs:
  deploy:
    deploy: { service: web, environment: "${{ inputs.target }}" }
"#;

fn given(pairs: &[(&str, &str)]) -> IndexMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn inputs_are_typed_defaulted_and_checked() {
    let plan = plan_of(SOURCE);
    let out = resolve_inputs(&plan.on, &given(&[("replicas", "3"), ("dry_run", "true")])).unwrap();
    assert_eq!(
        Value::Object(out),
        json!({"target": "staging", "replicas": 3, "dry_run": true})
    );
    let errors =
        resolve_inputs(&plan.on, &given(&[("target", "prod"), ("replica", "2")])).unwrap_err();
    assert_eq!(
        errors,
        [
            "unknown input 'replica' (did you mean 'replicas'?)",
            "input 'target' must be one of staging, production, got 'prod'; did you mean 'production'?",
            "input 'replicas' is required",
        ]
    );
    let errors = resolve_inputs(&plan.on, &given(&[("replicas", "many")])).unwrap_err();
    assert_eq!(errors, ["input 'replicas' must be a number, got 'many'"]);
}
