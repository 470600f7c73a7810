//! `template`: a `file` whose content is a minijinja template (inline or from a file in
//! the workspace), rendered per host with the host's vars, its facts, `host` (name,
//! address, groups) and `secrets`. Undefined variables are errors. The facts come from
//! the same round trip as the checks, so the check fetches the file's sha256 and content
//! and the comparison happens here, after rendering: a template renders into a
//! [`FileSpec`], which compares and applies as a file does.

use serde::Serialize;

use super::file::file_check_script;
use super::{Check, FileContent, FileSpec, ResourceType};
use crate::report::Observed;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateSpec {
    pub path: String,
    /// The template text: inline `content:` or a `source:` file in the workspace.
    pub template: FileContent,
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// A template's syntax error, with the template's line: `line 2: syntax error (…)`.
/// Pure, so parsing reports inline templates' mistakes before any host is contacted.
pub fn syntax_error(text: &str) -> Option<String> {
    let env = minijinja::Environment::new();
    let err = env.template_from_str(text).err()?;
    let mut what = err.kind().to_string();
    if let Some(detail) = err.detail() {
        what.push_str(&format!(" ({detail})"));
    }
    Some(match err.line() {
        Some(line) => format!("line {line}: {what}"),
        None => what,
    })
}

impl TemplateSpec {
    /// The file this template renders to for one host. `location` is the resource's
    /// `infra/x.yml:12`; errors name it, the template and the template's line.
    pub fn render(&self, location: &str, context: &serde_json::Value) -> Result<FileSpec, String> {
        let (name, where_) = match &self.template {
            FileContent::Inline(_) => (location.to_string(), "its content".to_string()),
            FileContent::Source { path, .. } => (path.clone(), format!("template '{path}'")),
        };
        let fail = |line: Option<usize>, what: String| {
            let at = line.map_or_else(String::new, |l| format!(", line {l}"));
            format!("{location}: cannot render {where_}{at}: {what}")
        };
        let text = std::str::from_utf8(self.template.bytes())
            .map_err(|_| fail(None, "the template is not UTF-8 text".into()))?;
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        // Config files end with a newline; Jinja's default drops it.
        if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
        {
            env.set_syntax(syntax);
        }
        let rendered = env
            .render_named_str(
                &name,
                text,
                minijinja::Value::from(minijinja::value::Serde(context)),
            )
            .map_err(|e| {
                let mut what = e.kind().to_string();
                if let Some(detail) = e.detail() {
                    what.push_str(&format!(" ({detail})"));
                }
                fail(e.line(), what)
            })?;
        Ok(FileSpec {
            path: self.path.clone(),
            content: FileContent::Inline(rendered),
            mode: self.mode,
            owner: self.owner.clone(),
            group: self.group.clone(),
        })
    }
}

/// Stands for a secret in a template's skeleton (see [`redact_old`]).
pub(crate) const SECRET_MARK: &str = "\u{1}gantry-secret\u{1}";

/// The old content of a file rendered from a template with secrets, with what were
/// (probably) secrets blanked: the value on the host may be an older secret, which no
/// masker knows. `skeleton` is the template rendered with every secret as
/// [`SECRET_MARK`]; an old line not in `new` that matches a skeleton line holding a
/// secret (same text before the first secret and after the last) has the part between
/// them replaced with `***`. Conservative: a line that is only a secret matches any line.
pub(crate) fn redact_old(old: &str, skeleton: &str, new: &str) -> String {
    let patterns: Vec<(&str, &str)> = skeleton
        .lines()
        .filter_map(|l| {
            let first = l.find(SECRET_MARK)?;
            let last = l.rfind(SECRET_MARK)? + SECRET_MARK.len();
            Some((&l[..first], &l[last..]))
        })
        .collect();
    let new_lines: std::collections::HashSet<&str> = new.lines().collect();
    let mut out = String::with_capacity(old.len());
    for line in old.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let hit = (!new_lines.contains(body))
            .then(|| {
                patterns.iter().find(|(pre, post)| {
                    body.len() >= pre.len() + post.len()
                        && body.starts_with(pre)
                        && body.ends_with(post)
                })
            })
            .flatten();
        match hit {
            Some((pre, post)) => {
                out.push_str(pre);
                out.push_str(gantry_core::secret::MASK);
                out.push_str(post);
                out.push_str(end);
            }
            None => out.push_str(line),
        }
    }
    out
}

impl ResourceType for TemplateSpec {
    fn type_name(&self) -> &'static str {
        "template"
    }

    fn default_id(&self) -> String {
        format!("template {}", self.path)
    }

    fn check_script(&self, index: usize, out: &mut String) {
        file_check_script(index, &self.path, None, out);
    }

    /// Never reached: `run` renders a template into a file before comparing.
    fn compare(&self, _observed: &Observed) -> Check {
        Check::Error {
            message: "internal error: the template was not rendered".into(),
        }
    }

    fn apply_script(&self, _observed: &Observed, out: &mut String) {
        out.push_str("echo 'internal error: the template was not rendered' >&2; exit 1\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> TemplateSpec {
        TemplateSpec {
            path: "/etc/app.conf".into(),
            template: FileContent::Inline(text.into()),
            mode: None,
            owner: None,
            group: None,
        }
    }

    #[test]
    fn renders_vars_facts_and_host_keeping_the_last_newline() {
        let context = serde_json::json!({
            "port": 8080,
            "facts": { "cpus": "4" },
            "host": { "name": "web1", "address": "10.0.0.1", "groups": ["web"] },
        });
        let file = spec("listen {{ host.address }}:{{ port }}\nworkers {{ facts.cpus }}\n{% for g in host.groups %}{{ g }}{% endfor %}\n")
            .render("infra/a.yml:3", &context)
            .expect("renders");
        assert_eq!(
            file.content.bytes(),
            b"listen 10.0.0.1:8080\nworkers 4\nweb\n"
        );
    }

    #[test]
    fn an_undefined_variable_names_the_resource_and_the_template_line() {
        let err = spec("a\nb = {{ nope }}\n")
            .render("infra/a.yml:3", &serde_json::json!({}))
            .expect_err("strict undefined");
        assert!(err.starts_with("infra/a.yml:3: cannot render"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("undefined"), "{err}");
    }

    #[test]
    fn old_secrets_are_blanked_on_lines_shaped_like_the_template() {
        let skeleton = format!("user = app\npassword = {SECRET_MARK}\n");
        let old = "user = old\npassword = old-secret\nother\n";
        let new = "user = app\npassword = new-secret\n";
        assert_eq!(
            redact_old(old, &skeleton, new),
            "user = old\npassword = ***\nother\n"
        );
        // An unchanged line stays for the masker of known secrets.
        let same = "user = app\npassword = new-secret\n";
        assert_eq!(redact_old(same, &skeleton, new), same);
    }

    #[test]
    fn a_source_template_is_named_in_errors() {
        let t = TemplateSpec {
            template: FileContent::Source {
                path: "templates/app.conf.j2".into(),
                bytes: Some(b"{% if %}".to_vec()),
            },
            ..spec("")
        };
        let err = t
            .render("infra/a.yml:3", &serde_json::json!({}))
            .expect_err("syntax error");
        assert!(
            err.contains("template 'templates/app.conf.j2', line 1"),
            "{err}"
        );
    }
}
