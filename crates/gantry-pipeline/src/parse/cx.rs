//! The parsing context: where diagnostics go, and the typed readers every part of the
//! grammar uses ("expected a list of job ids for 'needs' in job 'build', found a map").

use std::time::Duration;

use gantry_core::{Diagnostic, Span, parse_duration};

use gantry_core::did_you_mean;

use crate::model::{EnvVar, Spanned, Text};
use crate::yaml::{Kind, Node};

#[derive(Debug)]
pub struct Cx<'a> {
    pub file: &'a str,
    pub diags: Vec<Diagnostic>,
}

impl<'a> Cx<'a> {
    pub fn new(file: &'a str) -> Self {
        Cx {
            file,
            diags: Vec::new(),
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

    fn type_error(&mut self, node: &Node, expected: &str, what: &str) {
        let found = node.describe();
        let mut diag = self.error(
            node.span,
            format!("expected {expected} for {what}, found {found}"),
        );
        if let Kind::Map(entries) = &node.kind
            && entries.len() == 1
            && expected.starts_with("a string")
        {
            // `run: echo a: b` parses as a map; quoting is the usual fix.
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

    /// Reports every key that is not in `valid`, with a suggestion. `place` completes
    /// "unknown key 'x' …", e.g. "in job 'build'".
    pub fn check_keys(
        &mut self,
        entries: &[(Node, Node)],
        valid: &[&str],
        place: &str,
        hint: fn(&str) -> Option<String>,
    ) {
        for (key, _) in entries {
            if valid.contains(&key.text.as_str()) {
                continue;
            }
            let underscored = key.text.replace('-', "_");
            let help = if let Some(h) = hint(&key.text) {
                h
            } else if valid.contains(&underscored.as_str()) {
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

    /// A string. Numbers and booleans are taken as written (`3` → "3"); a float gets a
    /// warning because other YAML readers would see a number (`1.10` is 1.1 to them).
    pub fn text(&mut self, node: &Node, what: &str) -> Option<Text> {
        match &node.kind {
            Kind::Str | Kind::Int(_) | Kind::Bool(_) => Some(self.as_text(node)),
            Kind::Float(_) => {
                let diag = self
                    .warning(
                        node.span,
                        format!(
                            "{what} is written as a number ({}), but it is used as text",
                            node.text
                        ),
                    )
                    .with_help(format!(
                        "write '{}' in quotes so every YAML reader sees the same text",
                        node.text
                    ));
                self.push(diag);
                Some(self.as_text(node))
            }
            _ => {
                self.type_error(node, "a string", what);
                None
            }
        }
    }

    pub fn as_text(&self, node: &Node) -> Text {
        Text {
            value: node.text.clone(),
            span: node.span,
            style: node.style,
        }
    }

    /// A string that must not be empty.
    pub fn nonempty_text(&mut self, node: &Node, what: &str) -> Option<Text> {
        let text = self.text(node, what)?;
        if text.value.trim().is_empty() {
            let diag = self.error(node.span, format!("{what} is empty"));
            self.push(diag);
            return None;
        }
        Some(text)
    }

    /// One string or a list of strings.
    pub fn texts(&mut self, node: &Node, expected: &str, what: &str) -> Vec<Text> {
        match &node.kind {
            Kind::Seq(items) => items
                .iter()
                .filter_map(|item| {
                    let text = self.text(item, what)?;
                    if text.value.trim().is_empty() {
                        let diag = self.error(item.span, format!("empty entry in {what}"));
                        self.push(diag);
                        return None;
                    }
                    Some(text)
                })
                .collect(),
            Kind::Str | Kind::Int(_) | Kind::Bool(_) | Kind::Float(_) => {
                self.nonempty_text(node, what).into_iter().collect()
            }
            _ => {
                self.type_error(node, expected, what);
                Vec::new()
            }
        }
    }

    pub fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.kind {
            Kind::Bool(b) => Some(b),
            _ => {
                let mut diag = self.error(
                    node.span,
                    format!(
                        "expected true or false for {what}, found {}",
                        node.describe()
                    ),
                );
                if matches!(node.text.as_str(), "yes" | "no" | "on" | "off" | "y" | "n") {
                    diag = diag.with_help(format!(
                        "'{}' is a string in YAML 1.2; write true or false",
                        node.text
                    ));
                } else if node.kind == Kind::Str && matches!(node.text.as_str(), "true" | "false") {
                    diag = diag.with_help("remove the quotes");
                }
                self.push(diag);
                None
            }
        }
    }

    pub fn count(&mut self, node: &Node, what: &str, max: u32) -> Option<u32> {
        match node.kind {
            Kind::Int(n) if (0..=i64::from(max)).contains(&n) => u32::try_from(n).ok(),
            Kind::Int(n) => {
                let diag = self.error(
                    node.span,
                    format!("{what} must be between 0 and {max}, found {n}"),
                );
                self.push(diag);
                None
            }
            _ => {
                self.type_error(node, &format!("a whole number from 0 to {max}"), what);
                None
            }
        }
    }

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
                        .with_label("e.g. 30s, 20m or 1h30m");
                    self.push(diag);
                    None
                }
            },
            _ => {
                self.type_error(node, "a duration such as 30m", what);
                None
            }
        }
    }

    /// A name matching `[A-Za-z_][A-Za-z0-9_-]*` (ids of jobs, steps, inputs, outputs,
    /// services, matrix axes), so it can be read in an expression as `needs.<id>`.
    pub fn ident(&mut self, node: &Node, kind: &str) -> Option<Spanned<String>> {
        if node.kind != Kind::Str {
            let diag = self.error(
                node.span,
                format!("expected a {kind}, found {}", node.describe()),
            );
            self.push(diag);
            return None;
        }
        if !is_ident(&node.text, true) {
            let diag = self
                .error(node.span, format!("invalid {kind} '{}'", node.text))
                .with_help("start with a letter or '_', then use letters, digits, '_' and '-'");
            self.push(diag);
            return None;
        }
        Some(Spanned {
            value: node.text.clone(),
            span: node.span,
        })
    }

    /// An `env` map: names as in a shell, values strings, numbers or booleans.
    pub fn env(&mut self, node: &Node, what: &str) -> Vec<EnvVar> {
        if node.kind == Kind::Null {
            return Vec::new();
        }
        let Some(entries) = self.map(node, "a map of variable names to values", what) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in entries {
            if !is_ident(&key.text, false) {
                let diag = self
                    .error(
                        key.span,
                        format!("invalid environment variable name '{}'", key.text),
                    )
                    .with_help("use letters, digits and '_', not starting with a digit");
                self.push(diag);
                continue;
            }
            let var_what = format!("env '{}'", key.text);
            let text = match &value.kind {
                Kind::Null => {
                    let diag = self
                        .error(value.span, format!("env '{}' has no value", key.text))
                        .with_help(format!("write {}: \"\" for an empty value", key.text));
                    self.push(diag);
                    None
                }
                Kind::Seq(_) | Kind::Map(_) => {
                    self.type_error(value, "a string, number or boolean", &var_what);
                    None
                }
                _ => self.text(value, &var_what),
            };
            if let Some(value) = text {
                out.push(EnvVar {
                    name: Spanned {
                        value: key.text.clone(),
                        span: key.span,
                    },
                    value,
                });
            }
        }
        out
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

/// `[A-Za-z_][A-Za-z0-9_]*`, plus `-` after the first character when `dashes`.
pub fn is_ident(s: &str, dashes: bool) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (dashes && c == '-'))
}

/// Whether `map` has a key that looks like a misspelling of `key` (`need` for `needs`).
pub fn has_typo_of(map: &Node, key: &str) -> bool {
    map.as_map().is_some_and(|entries| {
        entries.iter().any(|(k, _)| {
            k.text != key
                && (k.text.replace('-', "_") == key || did_you_mean(&k.text, [key]).is_some())
        })
    })
}
