//! Matrix expansion with GitHub Actions semantics: the cartesian product of the axes in
//! declaration order (first axis varies slowest), minus `exclude`, plus `include`.

use indexmap::IndexMap;
use serde_json::Value;

use crate::model::{Matrix, MatrixEntry};
use crate::parse::matrix::{render, same_value};

/// One cell: key → value, axes first in declaration order.
pub type Cell = IndexMap<String, Value>;

/// Products of the axes beyond this are not expanded just to be counted: `exclude` would
/// have to remove almost all of them to get under the limit of 256 jobs.
const EXPAND_LIMIT: usize = 16_384;
/// Expansion work (cells × include/exclude entries) beyond which a matrix is not expanded.
const EXPAND_WORK_LIMIT: usize = 1_000_000;

/// How many jobs the matrix expands to, or `Err(product of the axes)` when that product
/// is too large to expand.
pub fn cell_count(m: &Matrix) -> Result<usize, usize> {
    let product = m
        .axes
        .iter()
        .fold(1usize, |acc, (_, values)| acc.saturating_mul(values.len()));
    let entries = m
        .include
        .len()
        .saturating_add(m.exclude.len())
        .saturating_add(1);
    if product > EXPAND_LIMIT || product.saturating_mul(entries) > EXPAND_WORK_LIMIT {
        return Err(product);
    }
    Ok(expand(m).len())
}

fn matches(cell: &Cell, entry: &MatrixEntry) -> bool {
    entry
        .value
        .iter()
        .all(|(k, v)| cell.get(&k.value).is_some_and(|c| same_value(c, v)))
}

/// The cells of the matrix, in order: the product after `exclude`, each extended by the
/// `include` entries that agree with its axis values; then the `include` entries that
/// agree with no cell, as cells of their own. Identical cells appear once.
pub fn expand(m: &Matrix) -> Vec<Cell> {
    let mut cells: Vec<Cell> = if m.axes.is_empty() {
        Vec::new()
    } else {
        vec![Cell::new()]
    };
    for (name, values) in &m.axes {
        let mut next = Vec::with_capacity(cells.len() * values.len());
        for cell in &cells {
            for value in values {
                let mut c = cell.clone();
                c.insert(name.value.clone(), value.clone());
                next.push(c);
            }
        }
        cells = next;
    }
    cells.retain(|cell| !m.exclude.iter().any(|e| matches(cell, e)));
    let axes: Vec<&str> = m.axes.iter().map(|(n, _)| n.value.as_str()).collect();
    let original = cells.len();
    for entry in &m.include {
        let mut extended = false;
        for cell in cells.iter_mut().take(original) {
            // An include may overwrite values that earlier includes added, never the
            // cell's own axis values.
            let agrees = entry.value.iter().all(|(k, v)| {
                !axes.contains(&k.value.as_str())
                    || cell.get(&k.value).is_some_and(|c| same_value(c, v))
            });
            if agrees {
                for (k, v) in &entry.value {
                    cell.insert(k.value.clone(), v.clone());
                }
                extended = true;
            }
        }
        if !extended {
            cells.push(
                entry
                    .value
                    .iter()
                    .map(|(k, v)| (k.value.clone(), v.clone()))
                    .collect(),
            );
        }
    }
    let mut seen = std::collections::HashSet::new();
    cells.retain(|cell| seen.insert(canonical(cell)));
    cells
}

/// Equal for cells with the same keys and values (compared as text), in any order.
fn canonical(cell: &Cell) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> =
        cell.iter().map(|(k, v)| (k.clone(), render(v))).collect();
    pairs.sort();
    pairs
}

/// The text in parentheses after the job id for each cell: the axis values in axis
/// order (`test (linux, stable)`); a cell with no axis values shows all its values.
/// Where two cells would get the same text, those cells show every value, and if that
/// is still ambiguous, `key=value` pairs.
pub fn suffixes(m: &Matrix, cells: &[Cell]) -> Vec<String> {
    let axes: Vec<&str> = m.axes.iter().map(|(n, _)| n.value.as_str()).collect();
    let base = |cell: &Cell| {
        let values: Vec<String> = axes
            .iter()
            .filter_map(|a| cell.get(*a))
            .map(render)
            .collect();
        if values.is_empty() {
            cell.values().map(render).collect()
        } else {
            values
        }
    };
    let full = |cell: &Cell| {
        let mut values: Vec<String> = axes
            .iter()
            .filter_map(|a| cell.get(*a))
            .map(render)
            .collect();
        values.extend(
            cell.iter()
                .filter(|(k, _)| !axes.contains(&k.as_str()))
                .map(|(_, v)| render(v)),
        );
        values
    };
    let pairs = |cell: &Cell| {
        cell.iter()
            .map(|(k, v)| format!("{k}={}", render(v)))
            .collect::<Vec<_>>()
    };
    let mut out: Vec<String> = cells.iter().map(|c| base(c).join(", ")).collect();
    for level in [&full as &dyn Fn(&Cell) -> Vec<String>, &pairs] {
        let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for o in &out {
            *counts.entry(o.as_str()).or_default() += 1;
        }
        let clashing: Vec<usize> = out
            .iter()
            .enumerate()
            .filter(|(_, o)| counts.get(o.as_str()).is_some_and(|n| *n > 1))
            .map(|(i, _)| i)
            .collect();
        for i in clashing {
            if let (Some(cell), Some(slot)) = (cells.get(i), out.get_mut(i)) {
                *slot = level(cell).join(", ");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Spanned;
    use gantry_core::Span;
    use serde_json::json;

    fn s(v: &str) -> Spanned<String> {
        Spanned {
            value: v.to_string(),
            span: Span::default(),
        }
    }

    fn entry(pairs: &[(&str, Value)]) -> MatrixEntry {
        Spanned {
            value: pairs.iter().map(|(k, v)| (s(k), v.clone())).collect(),
            span: Span::default(),
        }
    }

    #[test]
    fn clashing_suffixes_fall_back_to_more_detail() {
        let m = Matrix {
            span: Span::default(),
            axes: vec![(s("os"), vec![json!("linux")])],
            include: vec![
                entry(&[("os", json!("mac")), ("x", json!(1))]),
                entry(&[("os", json!("mac")), ("x", json!(2))]),
            ],
            exclude: vec![],
        };
        let cells = expand(&m);
        assert_eq!(suffixes(&m, &cells), vec!["linux", "mac, 1", "mac, 2"]);
    }
}
