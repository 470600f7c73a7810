//! Query strings and JSON bodies parsed so that a bad one is a 400 naming the parameter
//! or field (axum's own rejections are plain text).

use std::collections::HashMap;
use std::str::FromStr;

use axum::Json;
use axum::extract::rejection::JsonRejection;

use crate::http::error::ApiError;

/// A query string's parameters.
#[derive(Debug, Default)]
pub struct Params(pub HashMap<String, String>);

impl Params {
    pub fn parse(raw: Option<String>) -> Params {
        let map = raw
            .map(|q| {
                url_decode_pairs(&q)
                    .into_iter()
                    .collect::<HashMap<String, String>>()
            })
            .unwrap_or_default();
        Params(map)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// A parsed parameter; a value that does not parse is a 400 naming it.
    pub fn get<T: FromStr>(&self, name: &str, expected: &str) -> Result<Option<T>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "query parameter '{name}': expected {expected}, found '{v}'"
                ))
            }),
        }
    }
}

fn url_decode_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A JSON body, or a 400 whose message names the field at fault.
pub fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(v)| v).map_err(|e| {
        let status = e.status();
        ApiError::new(status, "bad_body", e.body_text())
    })
}
