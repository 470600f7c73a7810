//! `matrix:`: axes (lists of scalar values), `include` and `exclude` entries.

use gantry_core::did_you_mean;
use serde_json::Value;

use crate::model::{Matrix, MatrixEntry, Spanned};
use crate::yaml::{Kind, Node};

use super::Cx;

pub fn matrix(cx: &mut Cx, node: &Node, jid: &str) -> Option<Matrix> {
    let what = format!("'matrix' in job '{jid}'");
    let entries = cx.map(node, "a map of axes to lists of values", &what)?;
    let errors_before = cx.diags.iter().filter(|d| d.is_error()).count();
    let mut matrix = Matrix {
        span: node.span,
        axes: Vec::new(),
        include: Vec::new(),
        exclude: Vec::new(),
    };
    for (key, value) in entries {
        if matches!(key.text.as_str(), "include" | "exclude") {
            continue;
        }
        if let (Some(s), Kind::Seq(items)) =
            (did_you_mean(&key.text, ["include", "exclude"]), &value.kind)
            && items.iter().any(|i| matches!(i.kind, Kind::Map(_)))
        {
            let diag = cx
                .error(
                    key.span,
                    format!("unknown key '{}' in the matrix of job '{jid}'", key.text),
                )
                .with_label("unknown key")
                .with_help(format!("did you mean '{s}'?"));
            cx.push(diag);
            continue;
        }
        let Some(name) = cx.ident(key, "matrix axis name") else {
            continue;
        };
        if let Some(values) = axis(cx, value, &name.value, jid) {
            matrix.axes.push((name, values));
        }
    }
    for (key, value) in entries {
        match key.text.as_str() {
            "include" => matrix.include = list(cx, value, "include", jid),
            "exclude" => matrix.exclude = list(cx, value, "exclude", jid),
            _ => {}
        }
    }
    check_exclude(cx, &matrix);
    let has_axes = entries
        .iter()
        .any(|(k, _)| !matches!(k.text.as_str(), "include" | "exclude"));
    if !has_axes && matrix.include.is_empty() {
        let diag = cx
            .error(node.span, format!("the matrix of job '{jid}' has no axes"))
            .with_help("add an axis with its values, e.g. `matrix: { os: [linux, mac] }`");
        cx.push(diag);
    }
    // A matrix with errors is not expanded: its size would be misleading.
    let errors_after = cx.diags.iter().filter(|d| d.is_error()).count();
    (errors_after == errors_before).then_some(matrix)
}

fn axis(cx: &mut Cx, node: &Node, name: &str, jid: &str) -> Option<Vec<Value>> {
    let Some(items) = node.as_seq() else {
        let diag = cx
            .error(
                node.span,
                format!(
                    "expected a list of values for matrix axis '{name}' in job '{jid}', found {}",
                    node.describe()
                ),
            )
            .with_help(format!("write `{name}: [a, b]`"));
        cx.push(diag);
        return None;
    };
    if items.is_empty() {
        let diag = cx
            .error(
                node.span,
                format!("matrix axis '{name}' in job '{jid}' has no values"),
            )
            .with_help("give it at least one value, or remove it");
        cx.push(diag);
        return None;
    }
    let mut values: Vec<Value> = Vec::new();
    let mut ok = true;
    for item in items {
        match scalar(cx, item, &format!("matrix axis '{name}'")) {
            Some(v) if values.contains(&v) => {
                let diag = cx.warning(
                    item.span,
                    format!("matrix axis '{name}' lists '{}' twice", item.text),
                );
                cx.push(diag);
            }
            Some(v) => values.push(v),
            None => ok = false,
        }
    }
    ok.then_some(values)
}

/// A matrix value: a string, number or boolean.
fn scalar(cx: &mut Cx, node: &Node, what: &str) -> Option<Value> {
    if !node.is_scalar() || node.kind == Kind::Null {
        let diag = cx.error(
            node.span,
            format!(
                "expected a string, number or boolean in {what}, found {}",
                node.describe()
            ),
        );
        cx.push(diag);
        return None;
    }
    let value = node.scalar_json()?;
    if let (Kind::Float(_), Value::Number(n)) = (&node.kind, &value)
        && n.to_string() != node.text
    {
        let diag = cx
            .warning(
                node.span,
                format!("{} is the number {n} in YAML", node.text),
            )
            .with_help(format!(
                "write '{}' in quotes to keep it as written",
                node.text
            ));
        cx.push(diag);
    }
    Some(value)
}

fn list(cx: &mut Cx, node: &Node, which: &str, jid: &str) -> Vec<MatrixEntry> {
    let what = format!("matrix '{which}' in job '{jid}'");
    let Some(items) = node.as_seq() else {
        let diag = cx
            .error(
                node.span,
                format!(
                    "expected a list of maps for {what}, found {}",
                    node.describe()
                ),
            )
            .with_help(format!(
                "write `{which}: [{{ os: linux, toolchain: beta }}]`"
            ));
        cx.push(diag);
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let Some(fields) = cx.map(
            item,
            "a map of axis names to values",
            &format!("an entry of {what}"),
        ) else {
            continue;
        };
        if fields.is_empty() {
            let diag = cx.error(item.span, format!("empty entry in {what}"));
            cx.push(diag);
            continue;
        }
        let mut entry = Vec::new();
        for (key, value) in fields {
            let Some(name) = cx.ident(key, "matrix key") else {
                continue;
            };
            if let Some(v) = scalar(cx, value, &format!("{what}, key '{}'", name.value)) {
                entry.push((name, v));
            }
        }
        if entry.len() == fields.len() {
            out.push(Spanned {
                value: entry,
                span: item.span,
            });
        }
    }
    out
}

/// An exclude entry that names no axis, or a value no axis has, is almost always a typo:
/// it would silently exclude nothing.
fn check_exclude(cx: &mut Cx, matrix: &Matrix) {
    let axes: Vec<&str> = matrix.axes.iter().map(|(n, _)| n.value.as_str()).collect();
    for entry in &matrix.exclude {
        for (name, value) in &entry.value {
            match matrix
                .axes
                .iter()
                .find(|(axis, _)| axis.value == name.value)
            {
                None => {
                    let help = did_you_mean(&name.value, axes.iter().copied()).map_or_else(
                        || format!("the axes are: {}", axes.join(", ")),
                        |s| format!("did you mean '{s}'?"),
                    );
                    let diag = cx
                        .error(
                            name.span,
                            format!(
                                "matrix exclude uses '{}', which is not a matrix axis",
                                name.value
                            ),
                        )
                        .with_help(help);
                    cx.push(diag);
                }
                Some((_, values)) if !values.iter().any(|v| same_value(v, value)) => {
                    let rendered: Vec<String> = values.iter().map(render).collect();
                    let diag = cx
                        .warning(
                            name.span,
                            format!(
                                "matrix exclude matches no cell: axis '{}' has no value '{}'",
                                name.value,
                                render(value)
                            ),
                        )
                        .with_help(format!(
                            "the values of '{}' are: {}",
                            name.value,
                            rendered.join(", ")
                        ));
                    cx.push(diag);
                }
                Some(_) => {}
            }
        }
    }
}

/// A matrix value as it appears in job keys and names: strings without quotes.
pub fn render(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Matrix values compare by their text, so `3` in an axis and `'3'` in an exclude match.
pub fn same_value(a: &Value, b: &Value) -> bool {
    render(a) == render(b)
}
