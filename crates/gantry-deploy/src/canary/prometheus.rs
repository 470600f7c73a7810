//! The canary analysis's optional Prometheus check: an instant query
//! (`GET <url>/api/v1/query?query=…`, the HTTP API every Prometheus-compatible server
//! answers) whose value must stay at or under `max`. A vector answer is judged by its
//! highest sample; no sample at all fails the check, so a query that stops matching
//! cannot pass a bad canary by saying nothing.

use std::time::Duration;

use gantry_workspace::PrometheusCheck;
use serde_json::Value;

/// Runs the query. Blocking (reqwest's blocking client): call it from a plain thread,
/// not from inside an async runtime.
pub fn query(check: &PrometheusCheck, timeout: Duration) -> Result<Option<f64>, String> {
    let url = format!("{}/api/v1/query", check.url);
    // Messages name the server without the credentials its URL may carry.
    let shown = gantry_workspace::redact_url(&url);
    let client = reqwest::blocking::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let response = client
        .get(&url)
        .query(&[("query", check.query.as_str())])
        .send()
        .map_err(|e| format!("GET {shown}: {}", without_url(&e)))?;
    let status = response.status();
    let body = response
        .text()
        .map_err(|e| format!("GET {shown}: reading the answer: {}", without_url(&e)))?;
    if !status.is_success() {
        let why = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| body.chars().take(200).collect());
        return Err(format!("GET {shown}: status {}: {why}", status.as_u16()));
    }
    value(&body).map_err(|e| format!("GET {shown}: {e}"))
}

/// The highest sample of an instant query's answer; `None` when it has none (or only
/// NaN).
pub fn value(body: &str) -> Result<Option<f64>, String> {
    let json: Value =
        serde_json::from_str(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    if json["status"] != "success" {
        return Err(format!(
            "the query failed: {}",
            json["error"].as_str().unwrap_or("no error given")
        ));
    }
    let data = &json["data"];
    let sample = |pair: &Value| -> Option<f64> {
        pair.get(1)?
            .as_str()?
            .parse::<f64>()
            .ok()
            .filter(|v| !v.is_nan())
    };
    let values: Vec<f64> = match data["resultType"].as_str() {
        Some("vector") => data["result"]
            .as_array()
            .map(|series| series.iter().filter_map(|s| sample(&s["value"])).collect())
            .unwrap_or_default(),
        Some("scalar") => sample(&data["result"]).into_iter().collect(),
        Some(other) => {
            return Err(format!(
                "the query gives a {other}; it must give a scalar or an instant vector"
            ));
        }
        None => return Err("the answer has no resultType".into()),
    };
    Ok(values.into_iter().reduce(f64::max))
}

/// Judges the value: at or under `max` passes.
pub fn judge(check: &PrometheusCheck, value: Option<f64>) -> Result<f64, String> {
    match value {
        None => Err(format!(
            "the Prometheus query returned no data (append `or vector(0)` if no data means no errors): {}",
            check.query
        )),
        Some(v) if v > check.max => Err(format!(
            "the Prometheus query gives {v}, above {}: {}",
            check.max, check.query
        )),
        Some(v) => Ok(v),
    }
}

/// reqwest's error text names the URL, which may carry credentials (`https://u:p@…`):
/// the caller names the URL itself, without them.
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "the server");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vectors_scalars_and_errors() {
        let vector = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"slot":"a"},"value":[1700000000.1,"0.02"]},
            {"metric":{"slot":"b"},"value":[1700000000.1,"0.2"]}]}}"#;
        assert_eq!(value(vector), Ok(Some(0.2)));
        let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"3.5"]}}"#;
        assert_eq!(value(scalar), Ok(Some(3.5)));
        let empty = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(value(empty), Ok(None));
        let nan = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"NaN"]}}"#;
        assert_eq!(value(nan), Ok(None));
        let bad = r#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#;
        assert!(value(bad).unwrap_err().contains("parse error at char 4"));
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(value(matrix).unwrap_err().contains("matrix"));
    }

    #[test]
    fn errors_name_the_server_without_its_credentials() {
        let check = PrometheusCheck {
            // Nothing listens on port 1 of loopback: the request fails at once.
            url: "http://reader:s3cr3t-token@127.0.0.1:1".into(),
            query: "up".into(),
            max: 1.0,
        };
        let err = query(&check, Duration::from_secs(2)).unwrap_err();
        assert!(err.contains("GET http://127.0.0.1:1/api/v1/query"), "{err}");
        assert!(
            !err.contains("s3cr3t-token") && !err.contains("reader"),
            "{err}"
        );
        let debug = format!("{check:?}");
        assert!(!debug.contains("s3cr3t-token"), "{debug}");
        let json = serde_json::to_string(&check).unwrap();
        assert!(!json.contains("s3cr3t-token"), "{json}");
    }

    #[test]
    fn no_data_and_values_over_max_fail() {
        let check = PrometheusCheck {
            url: "http://p:9090".into(),
            query: "q".into(),
            max: 0.05,
        };
        assert_eq!(judge(&check, Some(0.05)), Ok(0.05));
        assert!(judge(&check, Some(0.2)).unwrap_err().contains("above 0.05"));
        assert!(judge(&check, None).unwrap_err().contains("no data"));
    }
}
