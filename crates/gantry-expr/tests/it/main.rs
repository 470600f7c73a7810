//! Integration tests of the expression language through its public API only.

mod eval_errors;
mod eval_table;
mod limits;
mod parse_errors;
mod props;
mod references;
mod templates;

use gantry_expr::{Scope, Status, Value};
use serde_json::json;

/// The contexts every table test runs against. `job` is deliberately absent, to check that
/// a missing context reads as an empty object.
pub fn contexts() -> serde_json::Map<String, Value> {
    let v = json!({
        "git": { "sha": "abc123", "branch": "main", "tag": null, "event": "push",
                 "message": "Fix bug in parser", "author": "ana" },
        "env": { "RUST_LOG": "info", "EMPTY": "", "NUM": "42", "KEY": "os" },
        "matrix": { "toolchain": "stable", "shards": [1, 2, 3], "os": "linux" },
        "needs": {
            "build": { "result": "success",
                       "outputs": { "version": "1.2.3", "json": "{\"a\":[1,2]}" } },
            "deploy-staging": { "result": "failure", "outputs": {} }
        },
        "steps": { "v": { "outputs": { "version": "0.9" }, "outcome": "success" } },
        "inputs": { "target": "staging", "count": 3, "flag": true, "zero": 0 },
        "secrets": { "token": "s3cr3t-value" },
        "run": { "id": "r1", "number": 7 }
    });
    match v {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

pub fn scope() -> Scope<'static> {
    Scope {
        contexts: contexts(),
        status: Status::default(),
        hash_files: None,
    }
}

/// Parses and evaluates a bare expression, turning any error into a readable string so a
/// table row can show which case failed.
pub fn eval_with(src: &str, scope: &Scope<'_>) -> Result<Value, String> {
    let expr = gantry_expr::parse(src).map_err(|e| format!("parse error in {src:?}: {e:?}"))?;
    expr.eval(scope)
        .map_err(|e| format!("eval error in {src:?}: {e}"))
}
