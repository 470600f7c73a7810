//! Showing diagnostics to people: rendering them against a source whose secret values
//! are blanked out, and rewording the YAML layer's messages, which were written for
//! pipeline files, for the workspace file.

use gantry_core::{Diagnostic, SourceFile, Span};

/// Every diagnostic rendered against `source` with `secret_spans` blanked, separated by
/// blank lines, as `gantry validate` prints them.
pub fn render_all(
    diagnostics: &[Diagnostic],
    source: &str,
    secret_spans: &[Span],
    color: bool,
) -> String {
    let redacted = redact(source, secret_spans);
    diagnostics
        .iter()
        .map(|d| {
            let file = SourceFile::new(d.file.clone(), redacted.clone());
            d.render(Some(&file), color)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `source` with every character inside `spans` (line breaks excepted) replaced by `*`,
/// so columns and line numbers stay where the diagnostics point.
pub fn redact(source: &str, spans: &[Span]) -> String {
    if spans.is_empty() {
        return source.to_string();
    }
    source
        .char_indices()
        .map(|(i, c)| {
            let secret = c != '\n'
                && c != '\r'
                && spans.iter().any(|s| i >= s.offset && i < s.offset + s.len);
            if secret { '*' } else { c }
        })
        .collect()
}

/// The YAML layer (shared with the pipeline compiler) names pipeline files in a few
/// messages; these are the workspace file's words for the same problems.
const REWORDS: &[(&str, &str)] = &[
    (
        "pipeline files are limited to",
        "workspace files are limited to",
    ),
    ("the pipeline file is empty", "the workspace file is empty"),
    (
        "a pipeline needs at least `jobs:` with one job, see docs/pipelines.md",
        "declare the projects to build under `projects:`, see docs/workspace.md",
    ),
    (
        "a pipeline file holds one YAML document",
        "the workspace file holds one YAML document",
    ),
    (
        "move the second pipeline to its own file",
        "merge the two documents into one",
    ),
    (
        "a pipeline never needs this much nesting",
        "a workspace never needs this much nesting",
    ),
    (
        "split the pipeline into several files",
        "the workspace file is far larger than any workspace needs",
    ),
];

pub fn reword_yaml_diagnostics(diagnostics: &mut [Diagnostic]) {
    let reword = |text: &mut String| {
        for (from, to) in REWORDS {
            if text.contains(from) {
                *text = text.replace(from, to);
            }
        }
    };
    for d in diagnostics {
        reword(&mut d.message);
        if let Some(help) = &mut d.help {
            reword(help);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_keeping_columns_and_lines() {
        let source = "a: xyz\nb: é\n";
        let out = redact(source, &[Span::new(3, 3, 1, 4), Span::new(10, 2, 2, 4)]);
        assert_eq!(out, "a: ***\nb: *\n");
    }
}
