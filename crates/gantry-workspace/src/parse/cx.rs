//! The parsing context: where diagnostics go, the spans of literal secrets to redact,
//! and the typed readers every section uses ("expected a duration like 60s for 'poll'
//! in project 'web', found a list").

use std::time::Duration;

use gantry_core::{Diagnostic, Span, did_you_mean, parse_duration};
use gantry_pipeline::yaml::{Kind, Node};

#[derive(Debug)]
pub struct Cx<'a> {
    pub file: &'a str,
    pub diags: Vec<Diagnostic>,
    /// Source regions holding secret values (literal secrets, URL credentials), which
    /// renderers blank out before printing a source line.
    pub secret_spans: Vec<Span>,
}

impl<'a> Cx<'a> {
    pub fn new(file: &'a str) -> Self {
        Cx {
            file,
            diags: Vec::new(),
            secret_spans: Vec::new(),
        }
    }

    pub fn error(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(self.file, Some(span), message)
    }

    pub fn warning(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::warning(self.file, Some(span), message)
    }

    pub fn push(&mut self, diag: Diagnostic) {
        self.diags.push(diag);
    }

    /// "expected {expected} for {what}, found a list".
    pub fn type_error(&mut self, node: &Node, expected: &str, what: &str) {
        let mut diag = self.error(
            node.span,
            format!("expected {expected} for {what}, found {}", node.describe()),
        );
        if let Kind::Map(entries) = &node.kind
            && entries.len() == 1
            && expected.starts_with("a string")
        {
            // `branch: a: b` parses as a map; quoting is the usual fix.
            diag =
                diag.with_help("a ': ' inside a value starts a map; put the whole value in quotes");
        }
        self.push(diag);
    }

    /// The entries of a map; anything else is reported.
    pub fn map<'n>(
        &mut self,
        node: &'n Node,
        expected: &str,
        what: &str,
    ) -> Option<&'n [(Node, Node)]> {
        match &node.kind {
            Kind::Map(entries) => Some(entries),
            _ => {
                self.type_error(node, expected, what);
                None
            }
        }
    }

    /// Reports every key not in `valid`, with a suggestion. `place` completes "unknown
    /// key 'x' …", e.g. "in project 'web'".
    pub fn check_keys(&mut self, entries: &[(Node, Node)], valid: &[&str], place: &str) {
        for (key, _) in entries {
            if valid.contains(&key.text.as_str()) {
                continue;
            }
            let underscored = key.text.replace('-', "_");
            let help = if valid.contains(&underscored.as_str()) {
                format!("did you mean '{underscored}'? Gantry keys are written with underscores")
            } else if let Some(s) = did_you_mean(&key.text, valid.iter().copied()) {
                format!("did you mean '{s}'?")
            } else {
                format!("the keys allowed here are: {}", valid.join(", "))
            };
            let diag = self
                .error(key.span, format!("unknown key '{}' {place}", key.text))
                .with_label("unknown key")
                .with_help(help);
            self.push(diag);
        }
    }

    /// A non-empty string; numbers and booleans are taken as written (`main` or `2024`).
    pub fn text(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.kind {
            Kind::Str | Kind::Int(_) | Kind::Bool(_) | Kind::Float(_) => {
                if node.text.trim().is_empty() {
                    let diag = self.error(node.span, format!("{what} is empty"));
                    self.push(diag);
                    return None;
                }
                Some(node.text.clone())
            }
            Kind::Null => {
                let diag = self.error(node.span, format!("{what} has no value"));
                self.push(diag);
                None
            }
            Kind::Seq(_) | Kind::Map(_) => {
                self.type_error(node, "a string", what);
                None
            }
        }
    }

    /// `true` or `false`.
    pub fn flag(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.kind {
            Kind::Bool(b) => Some(b),
            _ => {
                self.type_error(node, "true or false", what);
                None
            }
        }
    }

    /// A duration (`60s`, `5m`); zero is refused.
    pub fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        match &node.kind {
            Kind::Str | Kind::Int(_) | Kind::Float(_) => match parse_duration(&node.text) {
                Ok(d) if d.is_zero() => {
                    let diag = self.error(node.span, format!("{what} must be longer than zero"));
                    self.push(diag);
                    None
                }
                Ok(d) => Some(d),
                Err(err) => {
                    let diag = self
                        .error(
                            node.span,
                            format!("invalid duration for {what}: {}", err.reason),
                        )
                        .with_label("e.g. 30s, 5m or 1h");
                    self.push(diag);
                    None
                }
            },
            _ => {
                self.type_error(node, "a duration like 60s", what);
                None
            }
        }
    }

    /// A whole number in `min..=max`.
    pub fn count(&mut self, node: &Node, what: &str, min: u32, max: u32) -> Option<u32> {
        match node.kind {
            Kind::Int(n) if (i64::from(min)..=i64::from(max)).contains(&n) => u32::try_from(n).ok(),
            Kind::Int(n) => {
                let diag = self.error(
                    node.span,
                    format!("{what} must be between {min} and {max}, found {n}"),
                );
                self.push(diag);
                None
            }
            _ => {
                self.type_error(node, &format!("a whole number from {min} to {max}"), what);
                None
            }
        }
    }

    /// Reports a required key missing from `map`, unless a misspelling of it is there
    /// (already reported as an unknown key with the suggestion).
    pub fn require(&mut self, map: &Node, key: &str, what: &str, help: &str) {
        if map.get(key).is_some() || has_typo_of(map, key) {
            return;
        }
        let diag = self
            .error(map.span, format!("{what} has no '{key}'"))
            .with_help(help.to_string());
        self.push(diag);
    }
}

/// Whether `map` has a key that looks like a misspelling of `key` (`brnach` for `branch`).
/// `[a-z0-9][a-z0-9_-]{0,62}`: the names of projects and services, safe in URL paths,
/// directory names, labels and systemd unit names.
pub fn is_slug(name: &str) -> bool {
    name.len() <= 63
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

pub fn has_typo_of(map: &Node, key: &str) -> bool {
    map.as_map().is_some_and(|entries| {
        entries.iter().any(|(k, _)| {
            k.text != key
                && (k.text.replace('-', "_") == key || did_you_mean(&k.text, [key]).is_some())
        })
    })
}
