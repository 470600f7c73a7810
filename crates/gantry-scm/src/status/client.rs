//! The HTTP side every reporter shares: one reqwest client (rustls, timeouts, no
//! redirects), the token header, the single retry, and error messages with the token
//! masked out.

use super::{ReporterConfig, StatusError};
use crate::forge::Forge;
use gantry_core::{Masker, Secret};
use http::{HeaderName, HeaderValue};
use std::time::Duration;

/// How much of a forge's error answer is kept for the error message.
const MAX_ERROR_BODY: usize = 4096;
const MAX_MESSAGE_CHARS: usize = 300;

#[derive(Debug)]
pub(super) struct StatusClient {
    forge: Forge,
    base_url: String,
    http: reqwest::Client,
    token: Secret,
    retry_delay: Duration,
    masker: Masker,
}

impl StatusClient {
    pub(super) fn new(forge: Forge, config: &ReporterConfig) -> Result<Self, StatusError> {
        let invalid = |field: &'static str, reason: &str| StatusError::InvalidConfig {
            forge,
            field,
            reason: reason.to_string(),
        };
        let base_url = config.base_url.trim().trim_end_matches('/').to_string();
        let parsed =
            reqwest::Url::parse(&base_url).map_err(|e| invalid("base_url", &e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid("base_url", "expected an http:// or https:// URL"));
        }
        // Credentials belong in `token`; in the URL they would end up in error messages.
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid(
                "base_url",
                "must not contain a user name or password; set the token instead",
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(invalid("base_url", "must not contain a query or fragment"));
        }
        if config.token.expose().trim().is_empty() {
            return Err(invalid("token", "is empty"));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("gantry/", env!("CARGO_PKG_VERSION")))
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            // A status API never redirects; following one could carry a token header that
            // reqwest does not know is sensitive to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| invalid("client", &error_chain(&e)))?;
        Ok(StatusClient {
            forge,
            base_url,
            http,
            masker: Masker::new([config.token.expose()]),
            token: config.token.clone(),
            retry_delay: config.retry_delay,
        })
    }

    /// `header: <prefix><token>`, marked sensitive so no debug output shows it.
    pub(super) fn auth_header(
        &self,
        name: &'static str,
        prefix: &str,
    ) -> Result<(HeaderName, HeaderValue), StatusError> {
        let mut value = HeaderValue::from_str(&format!("{prefix}{}", self.token.expose().trim()))
            .map_err(|_| StatusError::InvalidConfig {
            forge: self.forge,
            field: "token",
            reason: "contains characters not allowed in an HTTP header".to_string(),
        })?;
        value.set_sensitive(true);
        Ok((HeaderName::from_static(name), value))
    }

    /// POSTs `body` as JSON to `base_url + path`, retrying once after a 5xx or a
    /// connection failure.
    pub(super) async fn post_json(
        &self,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: &serde_json::Value,
    ) -> Result<(), StatusError> {
        match self.post_once(path, headers, body).await {
            Err(e) if e.is_retryable() => {
                tokio::time::sleep(self.retry_delay).await;
                self.post_once(path, headers, body).await
            }
            other => other,
        }
    }

    async fn post_once(
        &self,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: &serde_json::Value,
    ) -> Result<(), StatusError> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .json(body);
        for (name, value) in headers {
            request = request.header(name.clone(), value.clone());
        }
        let mut response = request.send().await.map_err(|e| StatusError::Transport {
            forge: self.forge,
            path: path.to_string(),
            message: self.masker.mask(&error_chain(&e.without_url())),
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let mut raw = Vec::new();
        // A read error here only shortens the message; the status is what matters.
        while let Ok(Some(chunk)) = response.chunk().await {
            raw.extend_from_slice(&chunk);
            if raw.len() >= MAX_ERROR_BODY {
                raw.truncate(MAX_ERROR_BODY);
                break;
            }
        }
        Err(StatusError::Http {
            forge: self.forge,
            status: status.as_u16(),
            path: path.to_string(),
            message: self.masker.mask(&error_message(status, &raw)),
        })
    }
}

/// The forge's `message` field when the answer is JSON (all three send one), else the
/// start of the body, else the status's reason phrase.
fn error_message(status: reqwest::StatusCode, body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_string))
        });
    let text = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    let text = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no message")
            .to_string()
    } else {
        text
    };
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_MESSAGE_CHARS)
        .collect()
}

/// An error and its causes on one line: reqwest's own message alone ("error sending
/// request") does not say what went wrong.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
