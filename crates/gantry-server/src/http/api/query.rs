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
        self.0.get(name).map(String::as_str)
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

    /// `limit`: a page size from 1 to `max`, `default` when absent; anything else is a
    /// 400 naming the range.
    pub fn limit(&self, default: u32, max: u32) -> Result<u32, ApiError> {
        let expected = format!("a number from 1 to {max}");
        let limit: u32 = self.get("limit", &expected)?.unwrap_or(default);
        if !(1..=max).contains(&limit) {
            return Err(ApiError::bad_request(format!(
                "query parameter 'limit': expected {expected}, found {limit}"
            )));
        }
        Ok(limit)
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

/// A JSON body, or a 400 whose message names the field at fault (415 when the request
/// is not JSON at all, 413 when it is too large).
pub fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(v)| v).map_err(|e| match e {
        JsonRejection::MissingJsonContentType(_) | JsonRejection::BytesRejection(_) => {
            // 415 not JSON, 413 too large: the status says more than a 400 would.
            ApiError::new(e.status(), "bad_body", e.body_text())
        }
        other => ApiError::bad_request(other.body_text()),
    })
}

/// Path parameters, or a JSON 400 naming the one that does not parse (axum's own
/// rejection is plain text).
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|e| ApiError::bad_request(format!("path: {}", e.body_text())))
    }
}

/// A JSON body as an extractor: a bad one is a JSON 400 naming the field (415 when the
/// request is not JSON), as [`body`] makes it.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        body(Json::<T>::from_request(req, state).await).map(JsonBody)
    }
}

/// A typed query string: a missing or bad parameter is a JSON 400 naming it.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(|e| ApiError::bad_request(format!("query: {}", e.body_text())))
    }
}
