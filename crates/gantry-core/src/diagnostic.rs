//! User-facing diagnostics: `file:line:col: error: message`, the source line, a caret
//! under the offending text, and a `help:` suggestion.
//!
//! Rendered by hand rather than with miette's graphical handler because the first line
//! must be the one-line `file:line:col: severity: message` form that editors, CI log
//! parsers and grep understand (STYLE.md's error format).

use serde::Serialize;
use std::fmt::Write as _;

use crate::span::{SourceFile, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One problem found in user input. A compiler returns all of them at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file the problem is in, as the user named it.
    pub file: String,
    pub span: Option<Span>,
    pub message: String,
    /// Short text shown under the caret.
    pub label: Option<String>,
    /// What to do about it ("did you mean 'needs'?").
    pub help: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(file: impl Into<String>, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.into(),
            span,
            message: message.into(),
            label: None,
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn warning(
        file: impl Into<String>,
        span: Option<Span>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, span, message)
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets `help` only if `help` is `Some` (convenient with `did_you_mean`).
    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col` (or just `file` without a span).
    pub fn location(&self) -> String {
        match self.span {
            Some(s) => format!("{}:{}:{}", self.file, s.line, s.col),
            None => self.file.clone(),
        }
    }

    /// The one-line form: `ci.yml:14:7: error: unknown key 'need' (did you mean 'needs'?)`.
    pub fn one_line(&self) -> String {
        let mut s = format!(
            "{}: {}: {}",
            self.location(),
            self.severity_word(),
            self.message
        );
        if let Some(help) = &self.help {
            let _ = write!(s, " ({help})");
        }
        s
    }

    fn severity_word(&self) -> &'static str {
        match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }

    /// The full form with the source line and a caret. `source` must be the file named
    /// by `self.file`; without it (or without a span) only the message lines are printed.
    pub fn render(&self, source: Option<&SourceFile>, color: bool) -> String {
        let (bold, red, yellow, blue, cyan, reset) = if color {
            (
                "\x1b[1m",
                "\x1b[1;31m",
                "\x1b[1;33m",
                "\x1b[1;34m",
                "\x1b[1;36m",
                "\x1b[0m",
            )
        } else {
            ("", "", "", "", "", "")
        };
        let sev_color = if self.is_error() { red } else { yellow };
        let mut out = format!(
            "{bold}{}{reset}: {sev_color}{}{reset}: {bold}{}{reset}\n",
            self.location(),
            self.severity_word(),
            self.message
        );
        if let (Some(span), Some(src)) = (self.span, source)
            && let Some(line) = src.line_text(span.line)
        {
            let num = span.line.to_string();
            let pad = " ".repeat(num.len());
            // Tabs are kept as-is in the source line, so the caret line copies them
            // to stay aligned in any terminal.
            let prefix: String = line
                .chars()
                .take(span.col.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let rest_chars = line.chars().count().saturating_sub(prefix.chars().count());
            let span_chars = src
                .text
                .get(span.offset..(span.offset + span.len).min(src.text.len()))
                .map_or(1, |t| t.split('\n').next().unwrap_or("").chars().count());
            let width = span_chars.clamp(1, rest_chars.max(1));
            let _ = writeln!(out, "{blue}{pad} |{reset}");
            let _ = writeln!(out, "{blue}{num} |{reset} {line}");
            let _ = write!(
                out,
                "{blue}{pad} |{reset} {prefix}{sev_color}{}",
                "^".repeat(width)
            );
            if let Some(label) = &self.label {
                let _ = write!(out, " {label}");
            }
            let _ = writeln!(out, "{reset}");
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "  {cyan}= help:{reset} {help}");
        }
        for note in &self.notes {
            let _ = writeln!(out, "  {cyan}= note:{reset} {note}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_source_line_caret_and_help() {
        let src = SourceFile::new("ci.yml", "jobs:\n  build:\n    need: [lint]\n");
        let d = Diagnostic::error(
            "ci.yml",
            Some(src.span_at(19, 4)),
            "unknown key 'need' in job 'build'",
        )
        .with_label("unknown key")
        .with_help("did you mean 'needs'?");
        let text = d.render(Some(&src), false);
        assert_eq!(
            text,
            "ci.yml:3:5: error: unknown key 'need' in job 'build'\n  |\n3 |     need: [lint]\n  |     ^^^^ unknown key\n  = help: did you mean 'needs'?\n"
        );
        assert_eq!(
            d.one_line(),
            "ci.yml:3:5: error: unknown key 'need' in job 'build' (did you mean 'needs'?)"
        );
    }

    #[test]
    fn renders_without_span() {
        let d = Diagnostic::error("ci.yml", None, "empty file");
        assert_eq!(d.render(None, false), "ci.yml: error: empty file\n");
    }
}
