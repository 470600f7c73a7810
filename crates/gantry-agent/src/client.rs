//! The agent's HTTP client of the server's `/api/v1/agent` endpoints: typed calls, the
//! agent token on every request, and errors sorted into "lost the job", "try again" and
//! "give up".

use std::time::Duration;

use gantry_core::Secret;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::protocol::{
    Assignment, CacheQuery, ErrorBody, Finish, LogAck, LogChunk, Poll, PollReply, Register,
    Registered, codes, paths,
};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The job's fencing token is no longer current: another owner has it.
    #[error("the job was taken away from this agent")]
    Stale,
    /// The server answered with an error.
    #[error("{status} {code}: {message}")]
    Status {
        status: u16,
        code: String,
        message: String,
    },
    /// The server could not be reached or the connection broke.
    #[error("{0}")]
    Transport(String),
}

impl ClientError {
    /// Worth trying again later: the network, a restarting server, overload.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Transport(_) => true,
            ClientError::Status { status, .. } => *status >= 500 || *status == 429,
            ClientError::Stale => false,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Status { code, .. } => Some(code),
            ClientError::Stale => Some(codes::STALE),
            ClientError::Transport(_) => None,
        }
    }
}

fn transport(e: reqwest::Error) -> ClientError {
    // reqwest's Display hides the cause ("error sending request"); the chain says why.
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    ClientError::Transport(text)
}

/// The client: cheap to clone (one connection pool).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Secret,
}

/// The header naming the agent on every request (one token may serve several agents).
pub const AGENT_HEADER: &str = "gantry-agent";

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Longest a request other than a poll may take before it counts as a network failure
/// (and is retried): a cut connection must not stall an agent for minutes.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a cache transfer may take (entries can be gigabytes).
const CACHE_TIMEOUT: Duration = Duration::from_secs(3600);

impl Client {
    pub fn new(server: &str, token: Secret, name: &str) -> Result<Self, ClientError> {
        let mut headers = reqwest::header::HeaderMap::new();
        let value = reqwest::header::HeaderValue::from_str(name).map_err(|_| {
            ClientError::Transport(format!("agent name {name:?} is not a valid header value"))
        })?;
        headers.insert(AGENT_HEADER, value);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .user_agent(concat!("gantry-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(transport)?;
        Ok(Client {
            http,
            base: server.trim_end_matches('/').to_string(),
            token,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn check(resp: reqwest::Response) -> Result<reqwest::Response, ClientError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = resp.text().await.unwrap_or_default();
        let (code, message) = match serde_json::from_str::<ErrorBody>(&body) {
            Ok(e) => (e.error.code, e.error.message),
            Err(_) => (String::new(), body.chars().take(200).collect()),
        };
        if code == codes::STALE {
            return Err(ClientError::Stale);
        }
        Err(ClientError::Status {
            status: status.as_u16(),
            code,
            message,
        })
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        timeout: Duration,
    ) -> Result<T, ClientError> {
        let resp = self
            .http
            .post(self.url(path))
            .bearer_auth(self.token.expose())
            .timeout(timeout)
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        Self::check(resp).await?.json().await.map_err(transport)
    }

    pub async fn register(&self, body: &Register) -> Result<Registered, ClientError> {
        self.post(paths::REGISTER, body, REQUEST_TIMEOUT).await
    }

    /// A poll; the timeout allows for the server's wait plus a margin (half the wait,
    /// 0.5 to 2 s). The margin is short on purpose: a poll stuck on a connection the
    /// network dropped must be given up and sent again on a new one while the leases it
    /// renews still run (a poll waits at most a third of the lease).
    pub async fn poll(&self, body: &Poll) -> Result<PollReply, ClientError> {
        let wait = Duration::from_millis(body.wait_ms);
        let margin = (wait / 2).clamp(Duration::from_millis(500), Duration::from_secs(2));
        let timeout = wait + margin;
        self.post(paths::POLL, body, timeout).await
    }

    pub async fn logs(&self, job: i64, chunk: &LogChunk) -> Result<LogAck, ClientError> {
        self.post(&paths::job(paths::LOGS, job), chunk, REQUEST_TIMEOUT)
            .await
    }

    pub async fn finish(&self, job: i64, body: &Finish) -> Result<(), ClientError> {
        let _: serde_json::Value = self
            .post(&paths::job(paths::FINISH, job), body, REQUEST_TIMEOUT)
            .await?;
        Ok(())
    }

    async fn get_bytes(&self, path: &str, a: &Assignment) -> Result<Vec<u8>, ClientError> {
        let resp = self
            .http
            .get(self.url(&paths::job(path, a.job_id)))
            .bearer_auth(self.token.expose())
            .query(&[("fencing_token", a.fencing_token)])
            .timeout(Duration::from_secs(300))
            .send()
            .await
            .map_err(transport)?;
        let resp = Self::check(resp).await?;
        Ok(resp.bytes().await.map_err(transport)?.to_vec())
    }

    /// The job's source tree (a tar of the run's commit).
    pub async fn source(&self, a: &Assignment) -> Result<Vec<u8>, ClientError> {
        self.get_bytes(paths::SOURCE, a).await
    }

    /// The artifacts of the jobs this one needs: a tar of `<job slug>/<path>` entries.
    pub async fn needs_artifacts(&self, a: &Assignment) -> Result<Vec<u8>, ClientError> {
        self.get_bytes(paths::NEEDS_ARTIFACTS, a).await
    }

    /// Downloads the cache entry `q` asks for into the file `dest`: the key found, or
    /// `None` when the server has no such entry.
    pub async fn cache_restore(
        &self,
        job: i64,
        q: &CacheQuery,
        dest: &std::path::Path,
    ) -> Result<Option<String>, ClientError> {
        use tokio::io::AsyncWriteExt;
        let resp = self
            .http
            .post(self.url(&paths::job(paths::CACHE_RESTORE, job)))
            .bearer_auth(self.token.expose())
            .timeout(CACHE_TIMEOUT)
            .json(q)
            .send()
            .await
            .map_err(transport)?;
        let mut resp = Self::check(resp).await?;
        if resp.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let key = resp
            .headers()
            .get(paths::CACHE_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| percent_encoding::percent_decode_str(v).decode_utf8().ok())
            .map(|k| k.into_owned())
            .ok_or_else(|| ClientError::Transport("the cache answer names no key".into()))?;
        let io = |e: std::io::Error| ClientError::Transport(format!("{}: {e}", dest.display()));
        let mut file = tokio::fs::File::create(dest).await.map_err(io)?;
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        Ok(Some(key))
    }

    /// Uploads the new cache entry `key` of job `job` from the tar file `tar`.
    pub async fn cache_upload(
        &self,
        job: i64,
        fencing_token: i64,
        key: &str,
        tar: &std::path::Path,
    ) -> Result<(), ClientError> {
        let file = tokio::fs::File::open(tar)
            .await
            .map_err(|e| ClientError::Transport(format!("{}: {e}", tar.display())))?;
        let resp = self
            .http
            .put(self.url(&paths::job(paths::CACHE, job)))
            .bearer_auth(self.token.expose())
            .query(&[
                ("fencing_token", fencing_token.to_string()),
                ("key", key.to_string()),
            ])
            .header("content-type", "application/x-tar")
            .timeout(CACHE_TIMEOUT)
            .body(reqwest::Body::wrap_stream(
                tokio_util::io::ReaderStream::new(file),
            ))
            .send()
            .await
            .map_err(transport)?;
        Self::check(resp).await.map(|_| ())
    }

    /// Uploads the job's artifacts (a tar of its artifact directory).
    pub async fn upload_artifacts(&self, a: &Assignment, tar: Vec<u8>) -> Result<(), ClientError> {
        let resp = self
            .http
            .put(self.url(&paths::job(paths::ARTIFACTS, a.job_id)))
            .bearer_auth(self.token.expose())
            .query(&[("fencing_token", a.fencing_token)])
            .header("content-type", "application/x-tar")
            .timeout(Duration::from_secs(300))
            .body(tar)
            .send()
            .await
            .map_err(transport)?;
        Self::check(resp).await.map(|_| ())
    }
}
