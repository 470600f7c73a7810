//! `gantry runs` and `gantry runs show RUN`: the runs of a server as a table, and one run
//! with its jobs and steps (or the API's JSON with `--json`).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::Value;

use crate::client::{Client, JobView, RunDetail, RunView, ServerArgs, parse_time};
use crate::ui::style::Style;
use crate::ui::summary::fmt_ms;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: Option<RunsCommand>,
    #[command(flatten)]
    pub list: ListArgs,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// Show one run with its jobs and steps.
    Show(ShowArgs),
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only runs of this project.
    #[arg(long, value_name = "P")]
    pub project: Option<String>,
    /// Only runs of this pipeline.
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,
    /// Only runs with this status: queued, running, success, failure, cancelled.
    #[arg(long, value_name = "S")]
    pub status: Option<String>,
    /// How many runs, newest first.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=200))]
    pub limit: u32,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The run's id (the first column of `gantry runs`).
    #[arg(value_name = "RUN")]
    pub run: i64,
    /// Print the API's JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn main(args: RunsArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.server)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match args.command {
            Some(RunsCommand::Show(show_args)) => show(&client, show_args).await,
            None => list(&client, args.list).await,
        }
    })
}

async fn list(client: &Client, args: ListArgs) -> anyhow::Result<ExitCode> {
    let mut query = vec![("limit", args.limit.to_string())];
    for (name, value) in [
        ("project", args.project),
        ("pipeline", args.pipeline),
        ("status", args.status),
    ] {
        if let Some(v) = value {
            query.push((name, v));
        }
    }
    let body: Value = client.get("/runs", &query).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(ExitCode::SUCCESS);
    }
    let runs: Vec<RunView> = serde_json::from_value(body["runs"].clone())?;
    if runs.is_empty() {
        eprintln!("no runs");
        return Ok(ExitCode::SUCCESS);
    }
    let style = Style::stdout();
    let now = jiff::Timestamp::now();
    let header = [
        "ID", "PROJECT", "PIPELINE", "#", "STATUS", "TRIGGER", "REF", "SHA", "AGE", "DURATION",
    ];
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.project.clone(),
                r.pipeline.clone(),
                format!("#{}", r.number),
                r.status.clone(),
                r.trigger.clone(),
                git_ref(r),
                short_sha(&r.git.sha),
                age(r.created_at.as_deref(), now),
                run_duration(r, now),
            ]
        })
        .collect();
    // Colour is applied after padding: escape codes would otherwise count as width.
    print!(
        "{}",
        table(&header, &rows, |col, text| match col {
            4 => status(style, text),
            0 => style.bold(text),
            _ => text.to_string(),
        })
    );
    Ok(ExitCode::SUCCESS)
}

async fn show(client: &Client, args: ShowArgs) -> anyhow::Result<ExitCode> {
    let body: Value = client.get(&format!("/runs/{}", args.run), &[]).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(ExitCode::SUCCESS);
    }
    let detail: RunDetail = serde_json::from_value(body)?;
    print!("{}", render_detail(&detail, client, Style::stdout()));
    Ok(ExitCode::SUCCESS)
}

fn render_detail(d: &RunDetail, client: &Client, style: Style) -> String {
    let r = &d.run;
    let now = jiff::Timestamp::now();
    let mut out = format!(
        "{} {} / {} #{}  {}\n",
        style.bold(&format!("run {}", r.id)),
        r.project,
        r.pipeline,
        r.number,
        status(style, &r.status),
    );
    let mut facts = vec![format!("trigger {}", r.trigger)];
    if let Some(actor) = &r.actor {
        facts.push(format!("by {actor}"));
    }
    if let Some(rerun_of) = r.rerun_of {
        facts.push(format!("rerun of run {rerun_of}"));
    }
    out.push_str(&format!("  {}\n", facts.join(" · ")));
    out.push_str(&format!(
        "  {} {}  {}{}\n",
        git_ref(r),
        short_sha(&r.git.sha),
        r.git.message,
        if r.git.author.is_empty() {
            String::new()
        } else {
            style.dim(&format!(" ({})", r.git.author))
        }
    ));
    if !r.inputs.is_empty() {
        let inputs: Vec<String> = r
            .inputs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    v.as_str().map_or_else(|| v.to_string(), str::to_string)
                )
            })
            .collect();
        out.push_str(&format!("  inputs: {}\n", inputs.join(", ")));
    }
    out.push_str(&format!(
        "  created {} ago · duration {}\n",
        age(r.created_at.as_deref(), now),
        run_duration(r, now)
    ));
    if r.held {
        out.push_str("  held: waiting for an older run of its concurrency group\n");
    }
    if let Some(reason) = &r.reason {
        out.push_str(&format!("  {}\n", style.yellow(reason)));
    }
    out.push_str(&format!("  {}\n\n", client.run_url(r.id)));

    let rows: Vec<Vec<String>> = d
        .jobs
        .iter()
        .map(|j| {
            vec![
                j.id.to_string(),
                j.key.clone(),
                j.status.clone(),
                job_duration(j, now),
                j.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let header = ["JOB ID", "JOB", "STATUS", "DURATION", ""];
    let table = table(&header, &rows, |col, text| match col {
        2 => status(style, text),
        _ => text.to_string(),
    });
    // The table's lines, each job followed by its steps.
    let mut lines = table.lines();
    if let Some(h) = lines.next() {
        out.push_str(h.trim_end());
        out.push('\n');
    }
    let indent = rows
        .iter()
        .map(|r| r[0].chars().count())
        .chain(std::iter::once(header[0].len()))
        .max()
        .unwrap_or(0)
        + 2;
    for (job, line) in d.jobs.iter().zip(lines) {
        out.push_str(line.trim_end());
        out.push('\n');
        for s in &job.steps {
            let mark = match s.result.as_str() {
                "success" => style.green("✔"),
                "failure" => style.red("✘"),
                "cancelled" => style.yellow("■"),
                _ => style.dim("○"),
            };
            let exit = match s.exit_code {
                Some(code) if code != 0 => format!(" exit {code}"),
                _ => String::new(),
            };
            let outcome = if s.outcome != s.result && !s.outcome.is_empty() {
                format!(" ({} ignored)", s.outcome)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "{}{mark} {} {}{}\n",
                " ".repeat(indent),
                s.name,
                style.dim(&format!("{}{exit}", fmt_ms(s.duration_ms))),
                outcome,
            ));
        }
    }
    out
}

/// Left-aligned columns separated by two spaces; `paint(column, padded text)` styles a cell.
pub fn table(
    header: &[&str],
    rows: &[Vec<String>],
    paint: impl Fn(usize, &str) -> String,
) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let pad = |text: &str, w: usize| {
        let mut s = text.to_string();
        s.push_str(&" ".repeat(w.saturating_sub(text.chars().count())));
        s
    };
    let mut out = String::new();
    let header_line: Vec<String> = header
        .iter()
        .zip(&widths)
        .map(|(h, &w)| pad(h, w))
        .collect();
    out.push_str(header_line.join("  ").trim_end());
    out.push('\n');
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, &w))| {
                let fill = " ".repeat(w.saturating_sub(cell.chars().count()));
                format!("{}{fill}", paint(i, cell))
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A run or job status, coloured by what it means.
pub fn status(style: Style, s: &str) -> String {
    match s {
        "success" => style.green(s),
        "failure" => style.red(s),
        "cancelled" => style.yellow(s),
        "running" => style.bold(s),
        _ => style.dim(s),
    }
}

fn git_ref(r: &RunView) -> String {
    match (&r.git.tag, &r.git.branch) {
        (Some(tag), _) if !tag.is_empty() => format!("tag {tag}"),
        (_, Some(branch)) if !branch.is_empty() => branch.clone(),
        _ => "-".into(),
    }
}

fn short_sha(sha: &str) -> String {
    sha.chars().take(8).collect()
}

/// `5s`, `3m`, `2h`, `4d`: how long ago.
fn age(at: Option<&str>, now: jiff::Timestamp) -> String {
    let Some(t) = parse_time(at) else {
        return "-".into();
    };
    let secs = now.duration_since(t).as_secs().max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// From start to finish, or to now while running; `-` before it starts.
fn span(started: Option<&str>, finished: Option<&str>, now: jiff::Timestamp) -> String {
    let Some(start) = parse_time(started) else {
        return "-".into();
    };
    let end = parse_time(finished).unwrap_or(now);
    let ms = end.duration_since(start).as_millis().max(0);
    fmt_ms(u64::try_from(ms).unwrap_or(0))
}

fn run_duration(r: &RunView, now: jiff::Timestamp) -> String {
    span(r.started_at.as_deref(), r.finished_at.as_deref(), now)
}

fn job_duration(j: &JobView, now: jiff::Timestamp) -> String {
    span(j.started_at.as_deref(), j.finished_at.as_deref(), now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_before_painting() {
        let rows = vec![
            vec!["1".to_string(), "success".to_string()],
            vec!["22".to_string(), "failure".to_string()],
        ];
        let t = table(&["ID", "STATUS"], &rows, |c, s| {
            if c == 1 {
                format!("<{s}>")
            } else {
                s.to_string()
            }
        });
        assert_eq!(t, "ID  STATUS\n1   <success>\n22  <failure>\n");
    }

    #[test]
    fn ages_and_spans() {
        let now: jiff::Timestamp = "2025-01-01T12:00:00Z".parse().unwrap();
        assert_eq!(age(Some("2025-01-01T11:59:30Z"), now), "30s");
        assert_eq!(age(Some("2025-01-01T09:00:00Z"), now), "3h");
        assert_eq!(age(None, now), "-");
        assert_eq!(
            span(
                Some("2025-01-01T11:59:58Z"),
                Some("2025-01-01T11:59:59.500Z"),
                now
            ),
            "1.5s"
        );
        assert_eq!(span(None, None, now), "-");
    }
}
