//! Reads a secret reference: `{ env: NAME }`, `{ file: PATH }`, or a literal string,
//! which is accepted with a warning (it would be kept in git).

use std::path::PathBuf;

use gantry_core::Secret;
use gantry_pipeline::yaml::{Kind, Node};

use super::cx::Cx;
use crate::secret_ref::{SecretRef, SecretSource};

const REF_KEYS: &[&str] = &["env", "file"];

/// `what` names the field ("'token' in the forge of project 'web'"); `env_hint` is the
/// variable name suggested when a literal is found (`WEB_FORGE_TOKEN`).
pub fn secret_ref(cx: &mut Cx, node: &Node, what: &str, env_hint: &str) -> Option<SecretRef> {
    let help = format!("write {{ env: {env_hint} }} or {{ file: PATH }}");
    let source = match &node.kind {
        Kind::Map(entries) => {
            cx.check_keys(entries, REF_KEYS, "in a secret reference");
            let env = node.get("env");
            let file = node.get("file");
            match (env, file) {
                (Some(_), Some(file)) => {
                    let diag = cx
                        .error(
                            file.span,
                            format!(
                                "{what} has both 'env' and 'file'; a secret comes from one place"
                            ),
                        )
                        .with_help("keep one of them");
                    cx.push(diag);
                    None
                }
                (Some(env), None) => env_name(cx, env, what).map(SecretSource::Env),
                (None, Some(file)) => cx
                    .text(file, &format!("'file' of {what}"))
                    .map(|p| SecretSource::File(PathBuf::from(p))),
                (None, None) => {
                    if entries
                        .iter()
                        .all(|(k, _)| REF_KEYS.contains(&k.text.as_str()))
                    {
                        let diag = cx
                            .error(node.span, format!("{what} is an empty secret reference"))
                            .with_help(help);
                        cx.push(diag);
                    }
                    None
                }
            }
        }
        Kind::Str | Kind::Int(_) | Kind::Float(_) | Kind::Bool(_) => {
            let value = cx.text(node, what)?;
            // Recorded before anything else so that even an invalid file's rendered
            // diagnostics never print the value.
            cx.secret_spans.push(node.span);
            let diag = cx
                .warning(
                    node.span,
                    "a literal secret in gantry.yml is kept in git; use { env: NAME } or { file: PATH }",
                )
                .with_label("literal secret")
                .with_help(format!(
                    "move the value to an environment variable of the server: {{ env: {env_hint} }}"
                ));
            cx.push(diag);
            Some(SecretSource::Literal(Secret::new(value)))
        }
        Kind::Null => {
            let diag = cx
                .error(node.span, format!("{what} has no value"))
                .with_help(help);
            cx.push(diag);
            None
        }
        Kind::Seq(_) => {
            cx.type_error(node, "{ env: NAME } or { file: PATH }", what);
            None
        }
    }?;
    Some(SecretRef {
        source,
        span: node.span,
    })
}

/// An environment variable name as a shell writes it.
fn env_name(cx: &mut Cx, node: &Node, what: &str) -> Option<String> {
    let name = cx.text(node, &format!("'env' of {what}"))?;
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        let diag = cx
            .error(
                node.span,
                format!("invalid environment variable name '{name}' for {what}"),
            )
            .with_help("use letters, digits and '_', not starting with a digit");
        cx.push(diag);
        return None;
    }
    Some(name)
}

/// The variable name suggested for a literal secret: `my-app` + `FORGE_TOKEN` →
/// `MY_APP_FORGE_TOKEN`.
pub fn env_hint(project: &str, suffix: &str) -> String {
    let mut name: String = project
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    format!("{name}_{suffix}")
}
