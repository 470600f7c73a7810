//! Reading the resource files of a workspace: the `infra:` globs expanded, each file
//! parsed, play targets checked against the inventory, `source:` files read. The only IO
//! before hosts are contacted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gantry_core::{Diagnostic, SourceFile, did_you_mean};
use gantry_workspace::{ALL_GROUP, Inventory};

use crate::declaration::InfraFile;
use crate::resource::{FileContent, Spec, syntax_error};

/// Largest `source:` file accepted (it travels inside a script).
pub const MAX_SOURCE_BYTES: u64 = 16 * 1024 * 1024;

/// Every resource file of a workspace, parsed and checked.
#[derive(Debug, Clone, Default)]
pub struct Declarations {
    pub files: Vec<InfraFile>,
    /// Warnings, rendered against their files.
    pub warnings: Vec<Diagnostic>,
}

/// Resource files with errors: every diagnostic, and the sources to render them with.
#[derive(Debug, Clone)]
pub struct Invalid {
    pub diagnostics: Vec<Diagnostic>,
    sources: BTreeMap<String, String>,
}

impl Invalid {
    /// Every diagnostic rendered with its source line and caret.
    pub fn render(&self, color: bool) -> String {
        render(&self.diagnostics, &self.sources, color)
    }
}

fn render(diagnostics: &[Diagnostic], sources: &BTreeMap<String, String>, color: bool) -> String {
    diagnostics
        .iter()
        .map(|d| {
            let file = sources
                .get(&d.file)
                .map(|text| SourceFile::new(d.file.clone(), text.clone()));
            d.render(file.as_ref(), color)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The resource files `inventory.infra` names under `dir`, in path order.
pub fn find_files(dir: &Path, globs: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut builder = globset::GlobSetBuilder::new();
    for glob in globs {
        let glob = globset::GlobBuilder::new(glob)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("invalid 'infra' glob '{glob}': {e}"))?;
        builder.add(glob);
    }
    let set = builder
        .build()
        .map_err(|e| format!("invalid 'infra' globs: {e}"))?;
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .max_depth(8)
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0 || !(name.starts_with('.') || name == "target")
        })
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            e.path()
                .strip_prefix(dir)
                .is_ok_and(|rel| set.is_match(rel))
        })
        .map(|e| e.into_path())
        .collect();
    files.sort();
    Ok(files)
}

/// Reads, parses and checks every resource file of the workspace at `dir`.
pub fn load(dir: &Path, inventory: &Inventory) -> Result<Declarations, Invalid> {
    let mut sources = BTreeMap::new();
    let mut diagnostics = Vec::new();
    let mut files = Vec::new();
    let paths = match find_files(dir, &inventory.infra) {
        Ok(paths) => paths,
        Err(message) => {
            return Err(Invalid {
                diagnostics: vec![Diagnostic::error("gantry.yml", None, message)],
                sources,
            });
        }
    };
    for path in paths {
        let name = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                diagnostics.push(Diagnostic::error(&name, None, format!("cannot read: {e}")));
                continue;
            }
        };
        let parsed = crate::parse::parse(&name, &text);
        diagnostics.extend(parsed.diagnostics);
        if let Some(mut file) = parsed.file {
            check_targets(&file, inventory, &mut diagnostics);
            read_sources(dir, &mut file, &mut diagnostics);
            files.push(file);
        }
        sources.insert(name, text);
    }
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(Invalid {
            diagnostics,
            sources,
        });
    }
    Ok(Declarations {
        files,
        warnings: diagnostics,
    })
}

fn check_targets(file: &InfraFile, inventory: &Inventory, diags: &mut Vec<Diagnostic>) {
    let mut known: Vec<&str> = inventory.hosts.keys().map(String::as_str).collect();
    known.extend(inventory.groups.keys().map(String::as_str));
    known.extend(
        inventory
            .hosts
            .values()
            .flat_map(|h| h.groups.iter().map(String::as_str)),
    );
    known.push(ALL_GROUP);
    known.push(gantry_workspace::LOCAL_HOST);
    for play in &file.plays {
        for target in &play.hosts {
            if inventory.host(&target.name).is_some() || inventory.is_group(&target.name) {
                continue;
            }
            let help = did_you_mean(&target.name, known.iter().copied()).map_or_else(
                || "declare it under `hosts:` in gantry.yml, or in a host's `groups:`".to_string(),
                |s| format!("did you mean '{s}'?"),
            );
            diags.push(
                Diagnostic::error(
                    &file.file,
                    Some(target.span),
                    format!(
                        "'{}' is neither a host nor a group of the inventory",
                        target.name
                    ),
                )
                .with_help(help),
            );
        }
    }
}

fn read_sources(dir: &Path, file: &mut InfraFile, diags: &mut Vec<Diagnostic>) {
    for play in &mut file.plays {
        for resource in &mut play.resources {
            let is_template = matches!(resource.spec, Spec::Template(_));
            let content = match &mut resource.spec {
                Spec::File(spec) => &mut spec.content,
                Spec::Template(spec) => &mut spec.template,
                _ => continue,
            };
            let FileContent::Source { path, bytes } = content else {
                continue;
            };
            let rel = Path::new(path.as_str());
            if rel.is_absolute() || rel.components().any(|c| c.as_os_str() == "..") {
                diags.push(
                    Diagnostic::error(
                        &resource.file,
                        Some(resource.span),
                        format!("'source' must be a path inside the workspace, found '{path}'"),
                    )
                    .with_help("write it relative to the workspace directory, e.g. files/motd"),
                );
                continue;
            }
            let full = dir.join(rel);
            match std::fs::metadata(&full) {
                Ok(meta) if meta.len() > MAX_SOURCE_BYTES => diags.push(Diagnostic::error(
                    &resource.file,
                    Some(resource.span),
                    format!("'source' file {path} is larger than 16 MiB"),
                )),
                _ => match std::fs::read(&full) {
                    Ok(content) => {
                        if is_template
                            && let Some(error) = std::str::from_utf8(&content)
                                .map_or(Some("not UTF-8 text".to_string()), syntax_error)
                        {
                            diags.push(
                                Diagnostic::error(
                                    &resource.file,
                                    Some(resource.span),
                                    format!("template {path} does not parse: {error}"),
                                )
                                .with_help("templates use minijinja (Jinja2) syntax: {{ var }}, {% if … %}…{% endif %}"),
                            );
                        }
                        *bytes = Some(content)
                    }
                    Err(e) => diags.push(
                        Diagnostic::error(
                            &resource.file,
                            Some(resource.span),
                            format!("cannot read 'source' file {path}: {e}"),
                        )
                        .with_help("'source' is relative to the workspace directory"),
                    ),
                },
            }
        }
    }
}
