//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json`. Written by
//! hand next to the handlers (a derive-macro framework would tie every handler to it);
//! the server's tests check that every route in it answers and that no route is missing.

use axum::Json;
use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn ok_json(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn id_param(name: &str, what: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": what, "schema": { "type": "integer", "format": "int64" } })
}

fn str_param(name: &str, place: &str, what: &str, required: bool) -> Value {
    json!({ "name": name, "in": place, "required": required, "description": what, "schema": { "type": "string" } })
}

fn int_query(name: &str, what: &str, min: i64, max: Option<i64>) -> Value {
    let mut schema = json!({ "type": "integer", "format": "int64", "minimum": min });
    if let Some(max) = max {
        schema["maximum"] = json!(max);
    }
    json!({ "name": name, "in": "query", "required": false, "description": what, "schema": schema })
}

fn std_errors() -> Value {
    json!({
        "400": error_response("bad request (the message names the parameter or field)"),
        "401": error_response("no valid token or session"),
        "403": error_response("the caller's role does not allow this"),
        "404": error_response("not found"),
    })
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Some(b)) = (a.as_object_mut(), b.as_object()) {
        for (k, v) in b {
            a.insert(k.clone(), v.clone());
        }
    }
    a
}

fn op(summary: &str, params: Vec<Value>, responses: Value) -> Value {
    json!({ "summary": summary, "parameters": params, "responses": merge(std_errors(), responses) })
}

fn op_body(summary: &str, params: Vec<Value>, body: Value, responses: Value) -> Value {
    let mut o = op(summary, params, responses);
    o["requestBody"] =
        json!({ "required": false, "content": { "application/json": { "schema": body } } });
    o
}

/// An operation whose JSON body is required.
fn op_required_body(summary: &str, body: Value, responses: Value) -> Value {
    let mut o = op_body(summary, vec![], body, responses);
    o["requestBody"]["required"] = json!(true);
    o
}

/// The document.
pub fn spec() -> Value {
    let run_ref = json!({ "$ref": "#/components/schemas/Run" });
    let status_enum = json!(["queued", "running", "success", "failure", "cancelled"]);
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Gantry API", "version": "1", "description": "Runs, jobs, logs, artifacts, events and triggers of a Gantry server. Authenticate with `Authorization: Bearer <token>`." },
        "servers": [{ "url": "/api/v1" }],
        "security": [{ "bearer": [] }],
        "paths": {
            "/health": { "get": { "summary": "Server and database health", "security": [], "responses": {
                "200": ok_json("healthy", json!({ "type": "object" })),
                "503": ok_json("database unavailable", json!({ "type": "object" })) } } },
            "/projects": { "get": op("List projects", vec![], json!({ "200": ok_json("projects", json!({ "type": "object", "required": ["projects"], "properties": { "projects": { "type": "array", "items": { "type": "object" } } } })) })) },
            "/projects/{project}/pipelines": { "get": op("A project's pipelines at its branch head",
                vec![str_param("project", "path", "project name", true)],
                json!({ "200": ok_json("pipelines", json!({ "type": "object", "required": ["sha", "pipelines"] })), "502": error_response("the repository could not be read") })) },
            "/projects/{project}/pipelines/{pipeline}/trigger": { "post": op_body("Start a manual run",
                vec![str_param("project", "path", "project name", true), str_param("pipeline", "path", "pipeline name or file", true)],
                json!({ "$ref": "#/components/schemas/TriggerBody" }),
                json!({ "201": ok_json("runs started", json!({ "type": "object", "required": ["runs"] })),
                        "415": error_response("not JSON"), "422": error_response("invalid inputs or pipeline"), "502": error_response("the repository could not be read") })) },
            "/reload": { "post": op("Reload gantry.yml (admin)", vec![], json!({ "200": ok_json("reloaded", json!({ "type": "object" })), "422": error_response("the new workspace has errors; the old one stays") })) },
            "/runs": { "get": op("List runs, newest first", vec![
                    str_param("project", "query", "project name", false),
                    str_param("pipeline", "query", "pipeline name", false),
                    json!({ "name": "status", "in": "query", "required": false, "schema": { "type": "string", "enum": status_enum } }),
                    int_query("limit", "page size", 1, Some(200)),
                    int_query("before", "return runs older than this run id", i64::MIN, None)],
                json!({ "200": ok_json("a page of runs", json!({ "type": "object", "required": ["runs", "next_before"], "properties": { "runs": { "type": "array", "items": run_ref }, "next_before": { "type": ["integer", "null"] } } })) })) },
            "/runs/{run}": { "get": op("A run with its jobs and steps", vec![id_param("run", "run id")],
                json!({ "200": ok_json("the run", json!({ "type": "object", "required": ["run", "jobs"], "properties": { "run": run_ref, "jobs": { "type": "array", "items": { "$ref": "#/components/schemas/Job" } } } })) })) },
            "/runs/{run}/cancel": { "post": op("Cancel a run", vec![id_param("run", "run id")], json!({ "200": ok_json("cancelled", json!({ "type": "object" })) })) },
            "/runs/{run}/rerun": { "post": op_body("Rerun a finished run (all jobs or the failed ones)", vec![id_param("run", "run id")],
                json!({ "type": "object", "additionalProperties": false, "properties": { "failed_only": { "type": "boolean" } } }),
                json!({ "201": ok_json("the new run", json!({ "type": "object", "required": ["run_id", "number"] })), "409": error_response("the run has not finished"), "415": error_response("not JSON") })) },
            "/runs/{run}/artifacts": { "get": op("A run's artifact files", vec![id_param("run", "run id")], json!({ "200": ok_json("files", json!({ "type": "object", "required": ["artifacts"] })) })) },
            "/runs/{run}/artifacts/{path}": { "get": op("Download an artifact file", vec![id_param("run", "run id"), str_param("path", "path", "file path inside the artifacts", true)],
                json!({ "200": { "description": "the file", "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } } })) },
            "/runs/{run}/live": { "get": op("Live run state (server-sent events `job` and `run`)", vec![id_param("run", "run id")],
                json!({ "200": { "description": "event stream", "content": { "text/event-stream": {} } } })) },
            "/jobs/{job}": { "get": op("A job with its steps", vec![id_param("job", "job id")], json!({ "200": ok_json("the job", json!({ "type": "object", "required": ["job", "steps"] })) })) },
            "/jobs/{job}/logs": { "get": op("A page of a job's log", vec![id_param("job", "job id"), int_query("offset", "byte offset from an earlier page", 0, None), int_query("limit", "bytes per page", 1, None)],
                json!({ "200": ok_json("log records", json!({ "type": "object", "required": ["lines", "next_offset", "complete"], "properties": { "lines": { "type": "array", "items": { "$ref": "#/components/schemas/LogRecord" } }, "next_offset": { "type": "integer" }, "complete": { "type": "boolean" } } })) })) },
            "/jobs/{job}/logs/raw": { "get": op("A job's log as plain text", vec![id_param("job", "job id")],
                json!({ "200": { "description": "the log", "content": { "text/plain": { "schema": { "type": "string" } } } } })) },
            "/jobs/{job}/logs/stream": { "get": op("A job's log, live (server-sent events `line`, then `end`)", vec![id_param("job", "job id"), int_query("offset", "byte offset to start from", 0, None)],
                json!({ "200": { "description": "event stream", "content": { "text/event-stream": {} } } })) },
            "/events": { "get": op("The event log", vec![
                    str_param("project", "query", "project name", false),
                    int_query("run", "run id", i64::MIN, None), int_query("job", "job id", i64::MIN, None),
                    str_param("kind", "query", "kind or kind prefix such as 'run.'", false),
                    int_query("after", "events after this id, oldest first", i64::MIN, None),
                    int_query("before", "events before this id", i64::MIN, None),
                    int_query("limit", "page size", 1, Some(500))],
                json!({ "200": ok_json("events", json!({ "type": "object", "required": ["events"] })) })) },
            "/tokens": {
                "get": op("API tokens (admin)", vec![], json!({ "200": ok_json("tokens", json!({ "type": "object", "required": ["tokens"] })) })),
                "post": op_required_body("Create an API token (admin); its value is shown once", json!({ "$ref": "#/components/schemas/CreateToken" }),
                    json!({ "201": ok_json("the token", json!({ "type": "object", "required": ["token", "info"] })), "415": error_response("not JSON") })) },
            "/tokens/{id}": { "delete": op("Revoke a token (admin)", vec![id_param("id", "token id")], json!({ "204": { "description": "revoked" } })) },
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": { "code": { "type": "string" }, "message": { "type": "string" } } } } },
                "Run": { "type": "object", "required": ["id", "project", "pipeline", "number", "status", "trigger", "git", "created_at"], "properties": {
                    "id": { "type": "integer" }, "project": { "type": "string" }, "pipeline": { "type": "string" }, "number": { "type": "integer" },
                    "status": { "type": "string", "enum": ["queued", "running", "success", "failure", "cancelled"] },
                    "trigger": { "type": "string", "enum": ["push", "tag", "pull_request", "schedule", "manual", "api"] },
                    "git": { "type": "object" }, "inputs": { "type": "object" }, "reason": { "type": ["string", "null"] },
                    "created_at": { "type": "string" }, "started_at": { "type": ["string", "null"] }, "finished_at": { "type": ["string", "null"] } } },
                "Job": { "type": "object", "required": ["id", "run_id", "key", "name", "status", "steps"], "properties": {
                    "id": { "type": "integer" }, "run_id": { "type": "integer" }, "key": { "type": "string" }, "name": { "type": "string" },
                    "status": { "type": "string", "enum": ["waiting", "queued", "running", "success", "failure", "cancelled", "skipped"] },
                    "needs": { "type": "array", "items": { "type": "integer" } }, "outputs": { "type": "object" },
                    "steps": { "type": "array", "items": { "type": "object" } } } },
                "LogRecord": { "type": "object", "required": ["offset", "line", "ts", "stream", "text"], "properties": {
                    "offset": { "type": "integer" }, "line": { "type": "integer" }, "ts": { "type": "string" },
                    "stream": { "type": "string", "enum": ["out", "err", "sys"] }, "step": { "type": ["integer", "null"] }, "text": { "type": "string" } } },
                "TriggerBody": { "type": "object", "additionalProperties": false, "properties": {
                    "branch": { "type": "string" }, "inputs": { "type": "object", "additionalProperties": { "type": "string" } } } },
                "CreateToken": { "type": "object", "additionalProperties": false, "required": ["name", "role"], "properties": {
                    "name": { "type": "string", "minLength": 1, "maxLength": 100 },
                    "role": { "type": "string", "enum": ["viewer", "developer", "admin", "agent"] },
                    "expires_in_days": { "type": ["integer", "null"], "minimum": 0, "maximum": 36500 } } },
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(spec())
}
