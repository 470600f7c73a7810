//! A stand-in forge API for the status reporter tests: an axum server on 127.0.0.1 that
//! records every request (method, raw path, headers, JSON body) and answers from a script.
//! The hosted GitHub, Gitea and GitLab APIs cannot be reached from this machine, so the
//! tests check the exact requests against this server instead.

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path as sent, percent-encoding kept (`/projects/a%2Fb/…`).
    pub path: String,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One scripted answer: status, body, and a delay before answering.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
}

pub fn answer(status: u16, body: &str) -> Answer {
    Answer {
        status,
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

#[derive(Default)]
struct State {
    requests: Mutex<Vec<Recorded>>,
    answers: Mutex<VecDeque<Answer>>,
}

pub struct TestForge {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl TestForge {
    /// Starts the server; once `answers` run out it answers 201 with a status object.
    pub async fn start(answers: Vec<Answer>) -> TestForge {
        let state = Arc::new(State {
            requests: Mutex::default(),
            answers: Mutex::new(answers.into()),
        });
        let shared = state.clone();
        let app = axum::Router::new().fallback(move |request: Request| {
            let state = shared.clone();
            async move {
                let (parts, body) = request.into_parts();
                let bytes = axum::body::to_bytes(body, 1 << 20)
                    .await
                    .unwrap_or_default();
                state.requests.lock().unwrap().push(Recorded {
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_string(),
                    headers: parts.headers,
                    body: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
                });
                let next = state.answers.lock().unwrap().pop_front();
                let next = next.unwrap_or_else(|| answer(201, r#"{"id": 1, "state": "success"}"#));
                tokio::time::sleep(next.delay).await;
                (
                    StatusCode::from_u16(next.status).unwrap(),
                    [(header::CONTENT_TYPE, "application/json")],
                    next.body,
                )
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestForge { addr, state, task }
    }

    pub fn url(&self, prefix: &str) -> String {
        format!("http://{}{prefix}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }
}

impl Drop for TestForge {
    fn drop(&mut self) {
        self.task.abort();
    }
}
