//! The HTTP client the CLI uses to talk to `gantry serve`: the server's URL and API
//! token, JSON requests whose `{"error": {...}}` answers become errors carrying the
//! server's message, the API's run/job/log shapes, and a server-sent events reader.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use gantry_core::Secret;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Where `gantry serve` listens unless told otherwise.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// How long an ordinary request may take; streams have no overall limit.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The server sends a keep-alive comment every 15 s, so a stream silent for longer than
/// this is a dead connection (a vanished peer does not always close the socket).
const STREAM_IDLE: Duration = Duration::from_secs(45);

/// The server to talk to; flattened into every client subcommand.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// The Gantry server's URL.
    #[arg(long, value_name = "URL", env = "GANTRY_URL", default_value = DEFAULT_URL, global = true)]
    pub url: String,
    /// An API token of that server (prefer the GANTRY_TOKEN variable: a flag is visible in `ps`).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "GANTRY_TOKEN",
        hide_env_values = true,
        value_parser = parse_token,
        global = true
    )]
    pub token: Option<Secret>,
}

fn parse_token(s: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(s.trim()))
}

/// An error answer of the API. Its `Display` is the server's message plus, for
/// authentication problems, what to do about them.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match self.status {
            StatusCode::UNAUTHORIZED => f.write_str(
                "\nhint: set GANTRY_TOKEN (or --token) to an API token of this server; the first `gantry serve` printed one",
            ),
            StatusCode::FORBIDDEN => f.write_str(
                "\nhint: the token in GANTRY_TOKEN lacks the role this needs; use a token with a higher role",
            ),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for ApiError {}

/// A client of one server. `Debug` never shows the token (`Secret` redacts it).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The base URL without a trailing `/`.
    base: String,
    /// The base URL as shown in messages: without any `user:password@`.
    shown: String,
    auth: Option<Secret>,
}

/// `scheme://user:pass@host/…` → `scheme://host/…`, so a credential put into GANTRY_URL
/// never reaches a message.
fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

impl Client {
    pub fn new(args: &ServerArgs) -> anyhow::Result<Client> {
        let base = args.url.trim().trim_end_matches('/').to_string();
        let shown = without_credentials(&base);
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            anyhow::bail!(
                "GANTRY_URL '{shown}': expected an http:// or https:// URL, like {DEFAULT_URL}"
            );
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("gantry-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot set up the HTTP client")?;
        let auth = args
            .token
            .as_ref()
            .filter(|t| !t.expose().is_empty())
            .map(|t| Secret::new(format!("Bearer {}", t.expose())));
        if let Some(a) = &auth {
            HeaderValue::from_str(a.expose()).map_err(|_| {
                anyhow::anyhow!("GANTRY_TOKEN holds characters that cannot be sent in an HTTP header; copy the token again")
            })?;
        }
        Ok(Client {
            http,
            base,
            shown,
            auth,
        })
    }

    /// The web UI's page for a run.
    pub fn run_url(&self, run: i64) -> String {
        format!("{}/runs/{run}", self.shown)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some(a) = &self.auth
            && let Ok(mut value) = HeaderValue::from_str(a.expose())
        {
            // Keeps the value out of any debug output of the request.
            value.set_sensitive(true);
            req = req.header(AUTHORIZATION, value);
        }
        req
    }

    /// Sends a request; a failure to reach the server names the URL and what to check.
    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let resp = req.send().await.map_err(|e| self.transport_error(e))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(api_error(resp).await.into())
    }

    fn transport_error(&self, e: reqwest::Error) -> anyhow::Error {
        let shown = &self.shown;
        if e.is_connect() {
            anyhow::anyhow!(
                "cannot connect to the Gantry server at {shown} ({}); is `gantry serve` running there? Set GANTRY_URL (or --url) to its address",
                root_cause(&e)
            )
        } else if e.is_timeout() {
            anyhow::anyhow!("the Gantry server at {shown} did not answer in time")
        } else {
            // `without_url`: the request URL could carry credentials from GANTRY_URL.
            anyhow::anyhow!(
                "talking to the Gantry server at {shown} failed: {}",
                root_cause(&e.without_url())
            )
        }
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<T> {
        let req = self
            .request(reqwest::Method::GET, path)
            .query(query)
            .timeout(REQUEST_TIMEOUT);
        self.json(self.send(req).await?).await
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> anyhow::Result<T> {
        let req = self
            .request(reqwest::Method::POST, path)
            .json(body)
            .timeout(REQUEST_TIMEOUT);
        self.json(self.send(req).await?).await
    }

    async fn json<T: DeserializeOwned>(&self, resp: reqwest::Response) -> anyhow::Result<T> {
        let bytes = resp.bytes().await.map_err(|e| self.transport_error(e))?;
        serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "the server at {} answered with JSON this gantry does not understand (is it the same version?)",
                self.shown
            )
        })
    }

    /// Opens a server-sent events stream. `last_event_id` resumes a dropped stream.
    pub async fn events(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<EventStream> {
        let req = self
            .request(reqwest::Method::GET, path)
            .query(query)
            .header(reqwest::header::ACCEPT, "text/event-stream");
        let resp = self.send(req).await?;
        Ok(EventStream {
            resp,
            parser: SseParser::default(),
            ready: VecDeque::new(),
        })
    }
}

/// `s` as one URL path segment: everything but unreserved characters percent-encoded, so
/// a pipeline named `ci/nightly` or `deploy prod` stays one segment.
pub fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The innermost cause of a transport error ("Connection refused (os error 111)").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

async fn api_error(resp: reqwest::Response) -> ApiError {
    #[derive(Deserialize)]
    struct Body {
        error: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        message: String,
    }
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    match serde_json::from_str::<Body>(&text) {
        Ok(b) => ApiError {
            status,
            message: b.error.message,
        },
        // Not the API's shape: a proxy's page, or not a Gantry server at all.
        Err(_) => {
            let snippet: String = text.trim().chars().take(200).collect();
            ApiError {
                status,
                message: format!(
                    "the server answered {status}{}",
                    if snippet.is_empty() {
                        String::new()
                    } else {
                        format!(": {snippet}")
                    }
                ),
            }
        }
    }
}

/// The API error inside `e`, if the server answered with one.
pub fn api_status(e: &anyhow::Error) -> Option<StatusCode> {
    e.downcast_ref::<ApiError>().map(|a| a.status)
}

/// One server-sent event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field (`message` when absent).
    pub event: String,
    pub data: String,
    /// The `id:` field of this event, if it had one.
    pub id: Option<String>,
}

/// An open event stream.
#[derive(Debug)]
pub struct EventStream {
    resp: reqwest::Response,
    parser: SseParser,
    ready: VecDeque<SseEvent>,
}

impl EventStream {
    /// The next event; `None` when the server closed the stream. A stream silent for
    /// longer than the keep-alive interval allows is an error (the connection is dead).
    pub async fn next(&mut self) -> anyhow::Result<Option<SseEvent>> {
        loop {
            if let Some(e) = self.ready.pop_front() {
                return Ok(Some(e));
            }
            let chunk = tokio::time::timeout(STREAM_IDLE, self.resp.chunk())
                .await
                .map_err(|_| anyhow::anyhow!("the event stream went silent"))?
                .map_err(|e| anyhow::anyhow!("the event stream broke: {}", root_cause(&e)))?;
            match chunk {
                Some(bytes) => self.ready.extend(self.parser.feed(&bytes)),
                None => return Ok(None),
            }
        }
    }
}

/// The `text/event-stream` line format: `field: value` lines, an empty line ends an
/// event, lines starting with `:` are comments (keep-alives).
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of an unfinished line (a chunk may end anywhere, even inside a UTF-8 char).
    partial: Vec<u8>,
    event: String,
    data: Vec<String>,
    id: Option<String>,
    /// The last line ended with `\r`: a `\n` starting the next chunk belongs to it.
    after_cr: bool,
}

impl SseParser {
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in bytes {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = String::from_utf8_lossy(&self.partial).into_owned();
                    self.partial.clear();
                    if let Some(e) = self.line(&line) {
                        out.push(e);
                    }
                }
                _ => self.partial.push(b),
            }
        }
        out
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.event);
            let data = std::mem::take(&mut self.data);
            let id = self.id.take();
            if data.is_empty() && event.is_empty() {
                return None;
            }
            return Some(SseEvent {
                event: if event.is_empty() {
                    "message".into()
                } else {
                    event
                },
                data: data.join("\n"),
                id,
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.event = value.to_string(),
            "data" => self.data.push(value.to_string()),
            "id" => self.id = Some(value.to_string()),
            _ => {} // `retry` and unknown fields: nothing to do for a CLI.
        }
        None
    }
}

// The API's shapes, as far as the CLI reads them. Defaults everywhere so a newer server
// with more (or fewer optional) fields still works.

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GitView {
    pub sha: String,
    pub branch: Option<String>,
    pub tag: Option<String>,
    pub message: String,
    pub author: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunView {
    pub id: i64,
    pub project: String,
    pub pipeline: String,
    pub number: i64,
    pub status: String,
    pub trigger: String,
    pub git: GitView,
    pub inputs: Map<String, Value>,
    pub held: bool,
    pub cancel_requested: bool,
    pub reason: Option<String>,
    pub rerun_of: Option<i64>,
    pub actor: Option<String>,
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

impl RunView {
    pub fn is_finished(&self) -> bool {
        matches!(self.status.as_str(), "success" | "failure" | "cancelled")
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StepView {
    pub index: usize,
    pub name: String,
    pub result: String,
    pub outcome: String,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct JobView {
    pub id: i64,
    pub run_id: i64,
    pub index: usize,
    pub key: String,
    pub job_id: String,
    pub name: String,
    pub status: String,
    pub attempt: u32,
    pub reason: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub steps: Vec<StepView>,
}

/// `GET /runs/{id}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunDetail {
    pub run: RunView,
    pub jobs: Vec<JobView>,
}

/// One stored log line (`GET /jobs/{id}/logs` pages, `line` events).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LogLine {
    pub offset: u64,
    pub line: u64,
    /// `out`, `err` or `sys` (Gantry's own notes about the job).
    pub stream: String,
    pub step: Option<usize>,
    pub text: String,
}

/// `GET /jobs/{id}/logs`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LogPage {
    pub lines: Vec<LogLine>,
    pub next_offset: u64,
    pub complete: bool,
}

/// A timestamp of the API, parsed.
pub fn parse_time(s: Option<&str>) -> Option<jiff::Timestamp> {
    s.and_then(|s| s.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, data: &str, id: Option<&str>) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
            id: id.map(str::to_string),
        }
    }

    #[test]
    fn parses_events_split_anywhere() {
        let text = b": keep-alive\n\nevent: line\nid: 42\ndata: {\"a\":1}\n\nevent: end\r\ndata: {}\r\n\r\ndata: x\ndata: y\n\n";
        let whole = SseParser::default().feed(text);
        let expected = vec![
            ev("line", "{\"a\":1}", Some("42")),
            ev("end", "{}", None),
            ev("message", "x\ny", None),
        ];
        assert_eq!(whole, expected);
        // Byte by byte: chunks can end inside a line or between `\r` and `\n`.
        let mut p = SseParser::default();
        let mut one = Vec::new();
        for b in text {
            one.extend(p.feed(std::slice::from_ref(b)));
        }
        assert_eq!(one, expected);
    }

    #[test]
    fn keeps_multibyte_text_split_across_chunks() {
        let text = "event: line\ndata: héllo ✓\n\n".as_bytes();
        let mut p = SseParser::default();
        let mut out = p.feed(&text[..17]);
        out.extend(p.feed(&text[17..]));
        assert_eq!(out, vec![ev("line", "héllo ✓", None)]);
    }

    #[test]
    fn hides_credentials_and_token() {
        assert_eq!(
            without_credentials("https://bot:pw@ci.example.com/gantry"),
            "https://ci.example.com/gantry"
        );
        assert_eq!(
            without_credentials("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
        let c = Client::new(&ServerArgs {
            url: "http://127.0.0.1:1/".into(),
            token: Some(Secret::new("s3cr3t-token")),
        })
        .unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert_eq!(c.run_url(5), "http://127.0.0.1:1/runs/5");
        assert_eq!(segment("deploy prod/é"), "deploy%20prod%2F%C3%A9");
    }
}
