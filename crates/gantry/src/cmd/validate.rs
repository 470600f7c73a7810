//! `gantry validate [FILES]`: compiles pipeline files and prints every diagnostic, with
//! the source line and a caret, plus warnings about deploy jobs (deploy_checks.rs; against
//! the workspace given with `--workspace`). Exits 1 when any file has an error.

use clap::Args;
use gantry_core::SourceFile;
use std::process::ExitCode;

use crate::pipelines;
use crate::ui::style::Style;

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Pipeline files (default: every file in .gantry/pipelines/ of this checkout).
    pub files: Vec<std::path::PathBuf>,
    /// Print the diagnostics as one JSON document.
    #[arg(long)]
    pub json: bool,
    /// Also check deploy jobs against this workspace (the directory holding gantry.yml):
    /// their services, environments and the jobs whose artifacts they ship.
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<std::path::PathBuf>,
}

pub fn main(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let root = pipelines::checkout_root(&cwd);
    let files = if args.files.is_empty() {
        pipelines::discover(&root)
    } else {
        args.files.clone()
    };
    if files.is_empty() {
        anyhow::bail!(
            "no pipeline files given and none in {}",
            root.join(pipelines::PIPELINE_DIR).display()
        );
    }
    let style = Style::stderr();
    let mut any_error = false;
    let loaded = match &args.workspace {
        None => None,
        Some(dir) => match crate::cmd::deploy::load_workspace(dir) {
            Ok((loaded, warnings)) => {
                eprint!("{warnings}");
                Some(loaded)
            }
            Err(errors) => {
                eprint!("{errors}");
                eprintln!(
                    "{}: cannot use the workspace in {}; deploy jobs are not checked against it",
                    style.red("error"),
                    dir.display()
                );
                any_error = true;
                None
            }
        },
    };
    let workspace = loaded.as_ref().map(|l| &l.workspace);
    let mut json_files = Vec::new();
    for path in &files {
        let name = pipelines::display_name(&root, path);
        let text = match pipelines::read(path) {
            Ok(t) => t,
            Err(e) => {
                any_error = true;
                eprintln!("{name}: {}: {e:#}", style.red("error"));
                json_files.push(
                    serde_json::json!({ "file": name, "ok": false, "error": format!("{e:#}") }),
                );
                continue;
            }
        };
        let mut compiled = gantry_pipeline::compile(&name, &text);
        if let Some(plan) = &compiled.plan {
            let found = crate::deploy_checks::check(&name, plan, workspace);
            compiled.diagnostics.extend(found);
        }
        let errors = compiled.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = compiled.diagnostics.len() - errors;
        any_error |= errors > 0;
        if args.json {
            json_files.push(serde_json::json!({
                "file": name,
                "ok": errors == 0,
                "diagnostics": compiled.diagnostics,
                "jobs": compiled.plan.as_ref().map(|p| p.jobs.len()),
            }));
            continue;
        }
        let source = SourceFile::new(name.clone(), text);
        for d in &compiled.diagnostics {
            eprint!("{}", d.render(Some(&source), style.enabled()));
            eprintln!();
        }
        match &compiled.plan {
            Some(plan) => println!(
                "{name}: {} — {} job(s){}",
                style.green("ok"),
                plan.jobs.len(),
                if warnings > 0 {
                    format!(", {warnings} warning(s)")
                } else {
                    String::new()
                }
            ),
            None => println!("{name}: {} error(s), {warnings} warning(s)", errors),
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "files": json_files }))?
        );
    }
    Ok(if any_error {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
