//! Manual-run inputs: the values a user gives (`--input target=production`) checked and
//! typed against `on.manual.inputs`.

use gantry_core::did_you_mean;
use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::trigger::{InputKind, Triggers};

/// Applies defaults, checks required inputs, parses booleans and numbers, checks choices
/// against their options and refuses unknown names. Every problem is returned, each
/// naming its input. An input that is neither given nor defaulted is left out (it reads
/// as empty in expressions).
pub fn resolve_inputs(
    triggers: &Triggers,
    given: &IndexMap<String, String>,
) -> Result<Map<String, Value>, Vec<String>> {
    let empty = IndexMap::new();
    let declared = triggers.manual.as_ref().map_or(&empty, |m| &m.inputs);
    let mut errors = Vec::new();
    for name in given.keys() {
        if !declared.contains_key(name) {
            let mut msg = format!("unknown input '{name}'");
            if let Some(s) = did_you_mean(name, declared.keys().map(String::as_str)) {
                msg.push_str(&format!(" (did you mean '{s}'?)"));
            } else if declared.is_empty() {
                msg.push_str(" (the pipeline declares no inputs)");
            } else {
                let names: Vec<&str> = declared.keys().map(String::as_str).collect();
                msg.push_str(&format!(" (the inputs are: {})", names.join(", ")));
            }
            errors.push(msg);
        }
    }
    let mut out = Map::new();
    for (name, spec) in declared {
        let value = match given.get(name) {
            Some(text) => match spec.kind {
                InputKind::String => Ok(Value::String(text.clone())),
                InputKind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    _ => Err(format!(
                        "input '{name}' must be true or false, got '{text}'"
                    )),
                },
                InputKind::Number => parse_number(text)
                    .ok_or_else(|| format!("input '{name}' must be a number, got '{text}'")),
                InputKind::Choice => {
                    if spec.options.iter().any(|o| o == text) {
                        Ok(Value::String(text.clone()))
                    } else {
                        let hint = did_you_mean(text, spec.options.iter().map(String::as_str))
                            .map_or_else(String::new, |s| format!("; did you mean '{s}'?"));
                        Err(format!(
                            "input '{name}' must be one of {}, got '{text}'{hint}",
                            spec.options.join(", ")
                        ))
                    }
                }
            },
            None => match (&spec.default, spec.required) {
                (Some(default), _) => Ok(default.clone()),
                (None, true) => Err(format!("input '{name}' is required")),
                (None, false) => continue,
            },
        };
        match value {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn parse_number(text: &str) -> Option<Value> {
    let t = text.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(Value::from(i));
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trigger::{InputSpec, ManualTrigger};
    use serde_json::json;

    fn triggers() -> Triggers {
        let mut inputs = IndexMap::new();
        inputs.insert(
            "target".to_string(),
            InputSpec {
                kind: InputKind::Choice,
                options: vec!["staging".into(), "production".into()],
                default: Some(json!("staging")),
                ..Default::default()
            },
        );
        inputs.insert(
            "dry_run".to_string(),
            InputSpec {
                kind: InputKind::Boolean,
                ..Default::default()
            },
        );
        inputs.insert(
            "replicas".to_string(),
            InputSpec {
                kind: InputKind::Number,
                required: true,
                ..Default::default()
            },
        );
        inputs.insert("note".to_string(), InputSpec::default());
        Triggers {
            manual: Some(ManualTrigger { inputs }),
            ..Default::default()
        }
    }

    fn given(pairs: &[(&str, &str)]) -> IndexMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn types_defaults_and_required() {
        let out = resolve_inputs(
            &triggers(),
            &given(&[("dry_run", "TRUE"), ("replicas", "3")]),
        )
        .unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"target": "staging", "dry_run": true, "replicas": 3})
        );
        let out = resolve_inputs(
            &triggers(),
            &given(&[
                ("replicas", "1.5"),
                ("target", "production"),
                ("note", "hi"),
            ]),
        )
        .unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"target": "production", "replicas": 1.5, "note": "hi"})
        );
    }

    #[test]
    fn reports_every_problem_naming_the_input() {
        let errs = resolve_inputs(
            &triggers(),
            &given(&[("targte", "x"), ("dry_run", "yes"), ("target", "prod")]),
        )
        .unwrap_err();
        assert_eq!(
            errs,
            vec![
                "unknown input 'targte' (did you mean 'target'?)",
                "input 'target' must be one of staging, production, got 'prod'; did you mean 'production'?",
                "input 'dry_run' must be true or false, got 'yes'",
                "input 'replicas' is required",
            ]
        );
        let errs = resolve_inputs(&Triggers::default(), &given(&[("x", "1")])).unwrap_err();
        assert_eq!(
            errs,
            vec!["unknown input 'x' (the pipeline declares no inputs)"]
        );
    }
}
