//! `gantry logs RUN`: prints the log lines of a run's jobs from the server, page by page;
//! with `--follow`, streams them live (server-sent events) for every job as it starts,
//! resumes each stream where it broke off, and exits with the run's result.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use tokio::sync::mpsc;

use crate::client::{
    Client, EventStream, JobView, LogLine, LogPage, RunDetail, RunView, ServerArgs, api_status,
};
use crate::ui::style::Style;
use crate::ui::summary::fmt_ms;

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// The run's id (the first column of `gantry runs`).
    #[arg(value_name = "RUN")]
    pub run: i64,
    /// Only this job: its key, its id in the pipeline file, or its job id. Repeatable.
    #[arg(long = "job", value_name = "KEY_OR_ID")]
    pub jobs: Vec<String>,
    /// Stream new lines until the run finishes; exit 0 if it succeeded, 1 otherwise.
    #[arg(short, long)]
    pub follow: bool,
    /// Print the lines as they were written: no job prefix, no colours, no markers.
    #[arg(long)]
    pub raw: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

pub fn main(args: LogsArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.server)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        if args.follow {
            follow(&client, args.run, &args.jobs, args.raw).await
        } else {
            print_all(&client, args.run, &args.jobs, args.raw).await
        }
    });
    quiet_on_closed_pipe(result)
}

/// `gantry logs … | head` closes stdout early: that is a normal way to stop, not an error.
pub fn quiet_on_closed_pipe(result: anyhow::Result<ExitCode>) -> anyhow::Result<ExitCode> {
    match result {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(ExitCode::SUCCESS)
        }
        other => other,
    }
}

/// The jobs `filters` name (all of them when there are no filters), in plan order.
fn select(jobs: &[JobView], filters: &[String]) -> anyhow::Result<Vec<JobView>> {
    for f in filters {
        if !jobs.iter().any(|j| matches(j, f)) {
            let mut by_index: Vec<&JobView> = jobs.iter().collect();
            by_index.sort_by_key(|j| j.index);
            let keys: Vec<&str> = by_index.iter().map(|j| j.key.as_str()).collect();
            anyhow::bail!(
                "--job '{f}': the run has no such job (its jobs: {})",
                keys.join(", ")
            );
        }
    }
    let mut selected: Vec<JobView> = jobs
        .iter()
        .filter(|j| filters.is_empty() || filters.iter().any(|f| matches(j, f)))
        .cloned()
        .collect();
    selected.sort_by_key(|j| j.index);
    Ok(selected)
}

/// A `--job` value names a job by key (`test (toolchain=stable)`), by its id in the
/// pipeline file (`test`: every matrix cell) or by its numeric job id.
fn matches(job: &JobView, filter: &str) -> bool {
    job.key == filter || job.job_id == filter || job.id.to_string() == filter
}

async fn run_detail(client: &Client, run: i64) -> anyhow::Result<RunDetail> {
    client.get(&format!("/runs/{run}"), &[]).await
}

/// Every line so far of each selected job, job after job.
async fn print_all(
    client: &Client,
    run: i64,
    filters: &[String],
    raw: bool,
) -> anyhow::Result<ExitCode> {
    let detail = run_detail(client, run).await?;
    let selected = select(&detail.jobs, filters)?;
    let printer = Printer::new(&detail.jobs, &selected, raw);
    for job in &selected {
        let mut offset = 0u64;
        loop {
            let page: LogPage = client
                .get(
                    &format!("/jobs/{}/logs", job.id),
                    &[("offset", offset.to_string())],
                )
                .await?;
            for line in &page.lines {
                printer.line(job.id, line)?;
            }
            if page.lines.is_empty() || page.next_offset <= offset {
                break;
            }
            offset = page.next_offset;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prefixes lines with their job (when several jobs are printed) the way `gantry run`
/// does, with one colour per job on a terminal.
struct Printer {
    style: Style,
    raw: bool,
    prefix: bool,
    width: usize,
    /// job id → (key, plan index for the colour)
    jobs: HashMap<i64, (String, usize)>,
}

impl Printer {
    fn new(all: &[JobView], selected: &[JobView], raw: bool) -> Printer {
        let width = selected
            .iter()
            .map(|j| j.key.chars().count())
            .max()
            .unwrap_or(4)
            .clamp(4, 28);
        Printer {
            style: Style::stdout(),
            raw,
            prefix: selected.len() > 1,
            width,
            jobs: all
                .iter()
                .map(|j| (j.id, (j.key.clone(), j.index)))
                .collect(),
        }
    }

    fn line(&self, job: i64, line: &LogLine) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        if self.raw {
            return writeln!(out, "{}", line.text);
        }
        let text = if line.stream == "sys" {
            self.style.dim(&format!("· {}", line.text))
        } else {
            line.text.clone()
        };
        if !self.prefix {
            return writeln!(out, "{text}");
        }
        let (key, index) = self
            .jobs
            .get(&job)
            .map_or((job.to_string(), 0), |(k, i)| (k.clone(), *i));
        let mut shown: String = key.chars().take(self.width).collect();
        shown.push_str(&" ".repeat(self.width.saturating_sub(shown.chars().count())));
        writeln!(
            out,
            "{} {} {text}",
            self.style.job(index, &shown),
            self.style.dim("│")
        )
    }
}

/// What the stream tasks tell the printing loop.
#[derive(Debug)]
enum Msg {
    Job(JobView),
    /// Boxed: a run is much larger than the other messages.
    Run(Box<RunView>),
    Line(i64, LogLine),
    End(i64),
    Failed(anyhow::Error),
}

/// Waits between reconnection attempts, longer each time, and gives up when the server
/// has been unreachable for `GIVE_UP`.
struct Backoff {
    delay: Duration,
    failing_since: Option<Instant>,
}

const GIVE_UP: Duration = Duration::from_secs(120);

impl Backoff {
    fn new() -> Self {
        Backoff {
            delay: Duration::from_millis(200),
            failing_since: None,
        }
    }

    fn reset(&mut self) {
        *self = Backoff::new();
    }

    /// Sleeps before the next attempt; `Err` once it is time to give up.
    async fn wait(&mut self, error: anyhow::Error) -> anyhow::Result<()> {
        // An answer from the server (404, 401, …) will not change by retrying.
        if api_status(&error).is_some_and(|s| s.is_client_error()) {
            return Err(error);
        }
        let since = *self.failing_since.get_or_insert_with(Instant::now);
        if since.elapsed() > GIVE_UP {
            return Err(error.context(format!(
                "lost the connection to the server for more than {}s",
                GIVE_UP.as_secs()
            )));
        }
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(Duration::from_secs(5));
        Ok(())
    }
}

/// Streams the run's live state: every job and run change, until the run finishes.
async fn watch_run(client: Client, run: i64, tx: mpsc::UnboundedSender<Msg>) {
    let mut backoff = Backoff::new();
    loop {
        let result = async {
            let mut stream = client.events(&format!("/runs/{run}/live"), &[]).await?;
            loop {
                let Some(event) = stream.next().await? else {
                    anyhow::bail!("the server closed the run's live stream");
                };
                backoff.reset();
                match event.event.as_str() {
                    "job" => {
                        let job: JobView = serde_json::from_str(&event.data)?;
                        let _ = tx.send(Msg::Job(job));
                    }
                    "run" => {
                        let r: RunView = serde_json::from_str(&event.data)?;
                        let finished = r.is_finished();
                        let _ = tx.send(Msg::Run(Box::new(r)));
                        if finished {
                            return Ok(());
                        }
                    }
                    _ => {}
                }
            }
        }
        .await;
        match result {
            Ok(()) => return,
            Err(e) => {
                if let Err(e) = backoff.wait(e).await {
                    let _ = tx.send(Msg::Failed(e));
                    return;
                }
            }
        }
    }
}

/// Streams one job's log until its `end` event, resuming from the last offset seen
/// (each `line` event's SSE id) whenever the connection drops.
async fn stream_job(client: Client, job: i64, tx: mpsc::UnboundedSender<Msg>) {
    let mut offset = 0u64;
    let mut backoff = Backoff::new();
    loop {
        let result = async {
            let mut stream: EventStream = client
                .events(
                    &format!("/jobs/{job}/logs/stream"),
                    &[("offset", offset.to_string())],
                )
                .await?;
            loop {
                let Some(event) = stream.next().await? else {
                    anyhow::bail!("the server closed the log stream before its end");
                };
                backoff.reset();
                match event.event.as_str() {
                    "line" => {
                        let line: LogLine = serde_json::from_str(&event.data)?;
                        let next = event.id.as_deref().and_then(|id| id.parse::<u64>().ok());
                        // Only lines past the resume point: a resumed stream never repeats one.
                        if line.offset >= offset {
                            let _ = tx.send(Msg::Line(job, line));
                        }
                        if let Some(next) = next {
                            offset = offset.max(next);
                        }
                    }
                    "end" => return Ok(()),
                    _ => {}
                }
            }
        }
        .await;
        match result {
            Ok(()) => {
                let _ = tx.send(Msg::End(job));
                return;
            }
            Err(e) => {
                if let Err(e) = backoff.wait(e).await {
                    let _ = tx.send(Msg::Failed(e.context(format!("the log of job {job}"))));
                    return;
                }
            }
        }
    }
}

/// Streams the selected jobs' logs live until the run has finished and every log has
/// ended. Exit code: 0 when the run succeeded, 1 otherwise.
pub async fn follow(
    client: &Client,
    run: i64,
    filters: &[String],
    raw: bool,
) -> anyhow::Result<ExitCode> {
    let detail = run_detail(client, run).await?;
    let selected = select(&detail.jobs, filters)?;
    let wanted: HashSet<i64> = selected.iter().map(|j| j.id).collect();
    let printer = Printer::new(&detail.jobs, &selected, raw);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(watch_run(client.clone(), run, tx.clone()));
    let mut streaming: HashSet<i64> = HashSet::new();
    let mut ended: HashSet<i64> = HashSet::new();
    let mut failed_jobs: Vec<String> = Vec::new();
    let mut finished: Option<RunView> = None;
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Job(job) => {
                // A job's log starts when it runs (or when it is skipped or cancelled
                // before that, with Gantry's note saying why): stream it from then on.
                let started = !matches!(job.status.as_str(), "waiting" | "queued");
                if started && wanted.contains(&job.id) && streaming.insert(job.id) {
                    tasks.spawn(stream_job(client.clone(), job.id, tx.clone()));
                }
                if job.status == "failure" && !failed_jobs.contains(&job.key) {
                    failed_jobs.push(job.key);
                }
            }
            Msg::Run(r) => {
                if r.is_finished() {
                    finished = Some(*r);
                }
            }
            Msg::Line(job, line) => printer.line(job, &line)?,
            Msg::End(job) => {
                ended.insert(job);
            }
            Msg::Failed(e) => return Err(e),
        }
        if finished.is_some() && streaming.is_subset(&ended) {
            break;
        }
    }
    tasks.abort_all();
    let Some(r) = finished else {
        anyhow::bail!("internal error: the run's streams stopped before it finished");
    };
    let style = Style::stderr();
    let took = match (
        crate::client::parse_time(r.started_at.as_deref()),
        crate::client::parse_time(r.finished_at.as_deref()),
    ) {
        (Some(s), Some(f)) => format!(
            " in {}",
            fmt_ms(u64::try_from(f.duration_since(s).as_millis()).unwrap_or(0))
        ),
        _ => String::new(),
    };
    let verdict = crate::cmd::runs::status(style, &r.status);
    eprintln!(
        "run {} ({} #{}) {verdict}{took}{}",
        r.id,
        r.pipeline,
        r.number,
        if failed_jobs.is_empty() {
            String::new()
        } else {
            format!(" · failed: {}", failed_jobs.join(", "))
        }
    );
    Ok(if r.status == "success" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: i64, index: usize, key: &str, job_id: &str) -> JobView {
        JobView {
            id,
            index,
            key: key.into(),
            job_id: job_id.into(),
            ..JobView::default()
        }
    }

    #[test]
    fn selects_by_key_pipeline_id_or_job_id() {
        let jobs = vec![
            job(7, 1, "test (os=linux)", "test"),
            job(6, 0, "lint", "lint"),
            job(8, 2, "test (os=mac)", "test"),
        ];
        let keys = |f: &[&str]| {
            let f: Vec<String> = f.iter().map(|s| s.to_string()).collect();
            select(&jobs, &f)
                .unwrap()
                .into_iter()
                .map(|j| j.key)
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&[]), ["lint", "test (os=linux)", "test (os=mac)"]);
        assert_eq!(keys(&["test"]), ["test (os=linux)", "test (os=mac)"]);
        assert_eq!(keys(&["8", "lint"]), ["lint", "test (os=mac)"]);
        let err = select(&jobs, &["build".to_string()]).unwrap_err();
        assert!(
            err.to_string()
                .contains("its jobs: lint, test (os=linux), test (os=mac)"),
            "{err}"
        );
    }
}
