//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json`. Written by
//! hand next to the handlers (a derive-macro framework would tie every handler to it);
//! the server's tests check that every operation in it reaches a route
//! (tests/it/openapi.rs), and scripts/api-fuzz.sh checks the answers against it.

use axum::Json;
use serde_json::{Value, json};

pub(super) fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

pub(super) fn ok_json(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

pub(super) fn id_param(name: &str, what: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": what, "schema": { "type": "integer", "format": "int64" } })
}

pub(super) fn str_param(name: &str, place: &str, what: &str, required: bool) -> Value {
    json!({ "name": name, "in": place, "required": required, "description": what, "schema": { "type": "string" } })
}

pub(super) fn int_query(name: &str, what: &str, min: i64, max: Option<i64>) -> Value {
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

pub(super) fn op(summary: &str, params: Vec<Value>, responses: Value) -> Value {
    json!({ "summary": summary, "parameters": params, "responses": merge(std_errors(), responses) })
}

fn op_body(summary: &str, params: Vec<Value>, body: Value, responses: Value) -> Value {
    let mut o = op(summary, params, responses);
    o["requestBody"] =
        json!({ "required": false, "content": { "application/json": { "schema": body } } });
    o
}

/// An operation whose JSON body is required.
pub(super) fn op_required_body(summary: &str, body: Value, responses: Value) -> Value {
    let mut o = op_body(summary, vec![], body, responses);
    o["requestBody"]["required"] = json!(true);
    o
}

fn ok_tar(description: &str) -> Value {
    json!({ "description": description, "content": { "application/x-tar": { "schema": { "type": "string", "format": "binary" } } } })
}

pub(super) fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The `gantry-agent` header every agent endpoint takes.
fn agent_header() -> Value {
    json!({ "name": "gantry-agent", "in": "header", "required": true,
        "description": "the agent's name: 1 to 64 letters, digits, '-', '_' or '.'",
        "schema": { "type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9._-]+$" } })
}

fn fencing_query() -> Value {
    json!({ "name": "fencing_token", "in": "query", "required": true,
        "description": "the fencing token the job was assigned with",
        "schema": { "type": "integer", "format": "int64" } })
}

/// The answers every agent endpoint may give besides its own. Only agent tokens get in:
/// any other role, admins included, is a 403 before anything else is looked at.
fn agent_errors() -> Value {
    json!({
        "400": error_response("a missing or bad gantry-agent header, or a bad body or parameter (the message names it)"),
        "401": error_response("no valid token"),
        "403": error_response("not an agent token (every other role, admin included), or the agent name is registered with another token"),
        "404": error_response("`unknown_agent`: the agent is not registered (register again); or no such job"),
        "413": { "description": "the body is too large (JSON bodies get a JSON error; tar uploads axum's plain text)",
            "content": { "application/json": { "schema": schema_ref("Error") }, "text/plain": { "schema": { "type": "string" } } } },
        "415": error_response("the body is not JSON"),
    })
}

/// An agent endpoint: `params` after the `gantry-agent` header, an optional body of
/// `(content type, schema)`, and its own responses on top of `agent_errors`.
fn agent_op(
    summary: &str,
    params: Vec<Value>,
    body: Option<(&str, Value)>,
    responses: Value,
) -> Value {
    let mut all = vec![agent_header()];
    all.extend(params);
    let mut o = json!({ "summary": summary, "tags": ["agent protocol"], "parameters": all,
        "responses": merge(agent_errors(), responses) });
    if let Some((content_type, schema)) = body {
        let mut content = json!({ content_type: { "schema": schema } });
        if content_type == "application/x-tar" {
            // The server reads the bytes whatever their type, and generic clients (and
            // schemathesis) only know how to send binary as octet-stream.
            content["application/octet-stream"] = content[content_type].clone();
        }
        o["requestBody"] = json!({ "required": true, "content": content });
    }
    o
}

/// A job endpoint of the agent protocol: 409 when the fencing token is not current.
fn agent_job_op(
    summary: &str,
    query: bool,
    body: Option<(&str, Value)>,
    responses: Value,
) -> Value {
    let mut params = vec![id_param("id", "job id")];
    if query {
        params.push(fencing_query());
    }
    agent_op(
        summary,
        params,
        body,
        merge(
            json!({ "409": error_response("`stale_fencing_token`: the job is no longer this agent's") }),
            responses,
        ),
    )
}

/// The agent protocol's wire types (`gantry_agent::protocol`).
fn agent_schemas() -> Value {
    let strings = json!({ "type": "array", "items": { "type": "string" } });
    let u32_ = json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX });
    let u64_ = json!({ "type": "integer", "minimum": 0 });
    let conclusion =
        json!({ "type": "string", "enum": ["success", "failure", "cancelled", "skipped"] });
    json!({
        "Register": { "type": "object", "required": ["name", "version", "protocol", "labels", "executors", "capacity"], "properties": {
            "name": { "type": "string", "description": "the same as the gantry-agent header" },
            "version": { "type": "string" }, "protocol": u32_,
            "labels": strings, "executors": strings,
            "capacity": { "type": "integer", "minimum": 1, "maximum": 1024 } } },
        "Registered": { "type": "object", "required": ["name", "lease_ms", "poll_wait_ms"], "properties": {
            "name": { "type": "string" }, "lease_ms": u64_, "poll_wait_ms": u64_ } },
        "Poll": { "type": "object", "required": ["free", "draining", "held", "wait_ms"], "properties": {
            "free": u32_, "draining": { "type": "boolean" }, "wait_ms": u64_,
            "held": { "type": "array", "items": { "type": "object", "required": ["job_id", "fencing_token"], "properties": {
                "job_id": { "type": "integer", "format": "int64" }, "fencing_token": { "type": "integer", "format": "int64" } } } } } },
        "PollReply": { "type": "object", "required": ["jobs", "cancel", "lost"], "properties": {
            "jobs": { "type": "array", "items": schema_ref("Assignment") },
            "cancel": { "type": "array", "items": { "type": "integer" } },
            "lost": { "type": "array", "items": { "type": "integer" } } } },
        "Assignment": { "type": "object", "required": ["job_id", "run_id", "fencing_token", "attempt", "index", "key", "name", "project", "pipeline", "run_number", "plan", "git", "inputs", "needs", "log_from", "attempts_before"], "properties": {
            "job_id": { "type": "integer" }, "run_id": { "type": "integer" }, "fencing_token": { "type": "integer" },
            "attempt": { "type": "integer" }, "index": { "type": "integer" }, "key": { "type": "string" }, "name": { "type": "string" },
            "project": { "type": "string" }, "pipeline": { "type": "string" }, "run_number": { "type": "integer" },
            "plan": { "type": "object" }, "git": { "type": "object" }, "inputs": { "type": "object" }, "needs": { "type": "object" },
            "log_from": { "type": "integer" }, "attempts_before": { "type": "integer" } } },
        "CacheQuery": { "type": "object", "required": ["fencing_token", "key"], "properties": {
            "fencing_token": { "type": "integer", "format": "int64" },
            "key": { "type": "string", "minLength": 1, "maxLength": 512 },
            "restore_keys": { "type": "array", "items": { "type": "string", "minLength": 1, "maxLength": 512 } } } },
        "LogChunk": { "type": "object", "required": ["fencing_token", "from", "lines"], "properties": {
            "fencing_token": { "type": "integer", "format": "int64" }, "from": u64_,
            "lines": { "type": "array", "items": { "type": "object", "required": ["ts_ms", "stream", "text"], "properties": {
                "ts_ms": u64_, "stream": { "type": "string", "enum": ["out", "err", "sys"] },
                "step": { "type": ["integer", "null"], "minimum": 0 }, "text": { "type": "string" } } } } } },
        "LogAck": { "type": "object", "required": ["acked"], "properties": { "acked": u64_ } },
        "Finish": { "type": "object", "required": ["fencing_token", "log_lines", "outcome"], "properties": {
            "fencing_token": { "type": "integer", "format": "int64" },
            "log_lines": { "type": "integer", "minimum": 0, "description": "lines in the job's log, counted from 0 across attempts" },
            "outcome": { "type": "object", "required": ["result", "reason", "outputs", "steps"], "properties": {
                "result": conclusion, "reason": { "type": ["string", "null"] },
                "outputs": { "type": "object", "additionalProperties": { "type": "string" } },
                "steps": { "type": "array", "items": { "type": "object", "required": ["index", "name", "result", "outcome", "exit_code", "duration_ms"], "properties": {
                    "index": { "type": "integer", "minimum": 0 }, "name": { "type": "string" }, "result": conclusion, "outcome": conclusion,
                    "exit_code": { "type": ["integer", "null"], "format": "int32" }, "duration_ms": u64_ } } } } } } },
    })
}

/// `POST /agent/jobs/{id}/cache/restore`.
fn cache_restore_path() -> Value {
    let tar =
        json!({ "application/x-tar": { "schema": { "type": "string", "format": "binary" } } });
    json!({ "post": agent_job_op(
        "A cache entry of the job's project as a tar: the key asked for, else the newest starting with a restore key (agent token)",
        false,
        Some(("application/json", schema_ref("CacheQuery"))),
        json!({
            "200": { "description": "the entry's files; the `gantry-cache-key` header names the key found",
                "headers": { "gantry-cache-key": { "schema": { "type": "string" } } }, "content": tar },
            "204": { "description": "no such entry" } })) })
}

/// `PUT /agent/jobs/{id}/cache`.
fn cache_upload_path() -> Value {
    let key = json!({ "name": "key", "in": "query", "required": true, "description": "the entry's key",
        "schema": { "type": "string", "minLength": 1, "maxLength": 512 } });
    let added = json!({ "type": "object", "required": ["key", "added"],
        "properties": { "key": { "type": "string" }, "added": { "type": "boolean" } } });
    let mut op = agent_job_op(
        "Add a cache entry to the job's project from a tar; an existing key is kept as it is (agent token)",
        true,
        Some((
            "application/x-tar",
            json!({ "type": "string", "format": "binary" }),
        )),
        json!({ "200": ok_json("whether the entry was added", added) }),
    );
    if let Some(params) = op["parameters"].as_array_mut() {
        params.push(key);
    }
    json!({ "put": op })
}

/// The registry's and the queue view's schemas (`http/api/agents.rs`).
fn registry_schemas() -> Value {
    let strings = json!({ "type": "array", "items": { "type": "string" } });
    let count = json!({ "type": "integer", "minimum": 0 });
    json!({
        "Agent": { "type": "object", "required": ["name", "version", "labels", "executors", "capacity", "token_id", "registered_at", "last_seen_at", "draining", "running", "online", "queued", "jobs"], "properties": {
            "name": { "type": "string" }, "version": { "type": "string" },
            "labels": strings, "executors": strings, "capacity": count,
            "token_id": { "type": "integer", "description": "the agent token it registered with" },
            "registered_at": { "type": "string" }, "last_seen_at": { "type": "string" },
            "draining": { "type": "boolean" }, "running": count,
            "online": { "type": "boolean", "description": "seen within three leases" },
            "queued": { "allOf": [count], "description": "queued jobs this agent could take" },
            "jobs": { "type": "array", "description": "the jobs it runs now", "items": { "type": "object", "required": ["id", "run_id", "key", "name", "started_at"], "properties": {
                "id": { "type": "integer" }, "run_id": { "type": "integer" }, "key": { "type": "string" }, "name": { "type": "string" },
                "started_at": { "type": ["string", "null"] } } } } } },
        "QueueRoute": { "type": "object", "required": ["runs_on", "queued", "oldest_queued_at", "server", "agents"], "properties": {
            "runs_on": strings, "queued": count, "oldest_queued_at": { "type": ["string", "null"] },
            "server": { "type": "boolean", "description": "the server's own executors take these (only jobs without runs_on, per unlabeled_jobs)" },
            "agents": { "allOf": [strings], "description": "online agents, not draining, whose labels include every one of runs_on" } } },
    })
}

/// Infra in the server (`http/api/infra.rs`): paths.
fn infra_paths() -> Value {
    let apply = json!({ "type": "object", "required": ["apply"], "properties": { "apply": schema_ref("InfraApply") } });
    json!({
        "/infra/hosts": { "get": op("Inventory hosts with their drift state and last check (viewer)", vec![],
            json!({ "200": ok_json("hosts in inventory order", json!({ "type": "object", "required": ["hosts"], "properties": {
                "hosts": { "type": "array", "items": schema_ref("InfraHost") } } })) })) },
        "/infra/hosts/{host}": { "get": op("One host with the report of its latest check, diffs included (viewer)",
            vec![str_param("host", "path", "host name", true)],
            json!({ "200": ok_json("the host", json!({ "type": "object", "required": ["host", "report"], "properties": {
                "host": schema_ref("InfraHost"),
                "report": { "anyOf": [schema_ref("InfraReport"), { "type": "null" }], "description": "null until the host was checked" } } })) })) },
        "/infra/plans": { "post": op_body("Plan now and save the plan for an apply request (developer)", vec![], schema_ref("InfraPlanBody"),
            json!({ "201": ok_json("the saved plan, its summary and report", json!({ "type": "object", "required": ["plan", "summary", "report"], "properties": {
                    "plan": schema_ref("InfraPlan"), "summary": schema_ref("InfraSummary"), "report": schema_ref("InfraReport") } })),
                "415": error_response("not JSON"),
                "422": error_response("no host matches `hosts`, the workspace or its infra declarations have errors, or a host could not be planned (nothing saved)") })) },
        "/infra/applies": {
            "get": op("Apply requests, newest first (viewer)", vec![
                    json!({ "name": "state", "in": "query", "required": false, "schema": { "type": "string", "enum": ["awaiting_approval", "applying", "applied", "failed"] } }),
                    int_query("limit", "page size", 1, Some(500))],
                json!({ "200": ok_json("apply requests", json!({ "type": "object", "required": ["applies"], "properties": {
                    "applies": { "type": "array", "items": schema_ref("InfraApply") } } })) })),
            "post": op_required_body("Request an apply of a saved plan; it waits for approval by someone else (developer)", schema_ref("InfraApplyBody"),
                json!({ "201": ok_json("the request, awaiting approval", apply.clone()),
                    "409": error_response("the plan changes nothing"), "415": error_response("not JSON") })) },
        "/infra/applies/{id}": { "get": op("One apply request (viewer)", vec![id_param("id", "apply request id")],
            json!({ "200": ok_json("the request", apply.clone()) })) },
        "/infra/applies/{id}/approve": { "post": op("Approve an apply request and run it; answers once it finished (developer, not the requester)", vec![id_param("id", "apply request id")],
            json!({ "200": ok_json("the request, applied or failed", apply),
                "403": error_response("the caller's role does not allow this, or `own_request`: the caller requested it"),
                "409": error_response("the request is not awaiting approval") })) },
    })
}

/// Infra in the server: schemas.
fn infra_schemas() -> Value {
    let strings = json!({ "type": "array", "items": { "type": "string" } });
    let count = json!({ "type": "integer", "minimum": 0 });
    let time_or_null = json!({ "type": ["string", "null"] });
    json!({
        "InfraHost": { "type": "object", "required": ["name", "groups", "drift_every_ms", "state", "checked_at", "changes"], "properties": {
            "name": { "type": "string" }, "groups": strings,
            "drift_every_ms": { "type": ["integer", "null"], "minimum": 1, "description": "the shortest `drift: { every: }` of its groups" },
            "state": { "type": "string", "enum": ["in_sync", "drifted", "unreachable", "error", "unknown"] },
            "checked_at": time_or_null, "changes": { "type": ["integer", "null"], "minimum": 0 } } },
        "InfraSummary": { "type": "object", "required": ["changed", "unchanged", "failed", "not_applied", "hosts_unreachable", "hosts_failed"], "properties": {
            "changed": count, "unchanged": count, "failed": count, "not_applied": count, "hosts_unreachable": count, "hosts_failed": count } },
        "InfraReport": { "type": "object", "required": ["mode", "hosts", "summary"], "description": "gantry-infra's report (`gantry infra plan --json`), secrets masked", "properties": {
            "mode": { "type": "string", "enum": ["plan", "apply"] },
            "summary": schema_ref("InfraSummary"),
            "hosts": { "type": "array", "items": { "type": "object", "required": ["host", "status", "facts", "resources", "handlers", "fingerprint"], "properties": {
                "host": { "type": "string" }, "status": { "type": "string", "enum": ["ok", "unreachable", "failed"] },
                "error": { "type": "string" }, "facts": { "type": "object" }, "fingerprint": { "type": "string" },
                "handlers": { "type": "array", "items": { "type": "object", "required": ["name", "status"], "properties": {
                    "name": { "type": "string" }, "status": { "type": "string", "enum": ["would_run", "ran", "failed"] }, "output": { "type": "string" } } } },
                "resources": { "type": "array", "items": { "type": "object", "required": ["id", "type", "location", "status", "fingerprint"], "properties": {
                    "id": { "type": "string" }, "type": { "type": "string" }, "location": { "type": "string" },
                    "status": { "type": "string", "enum": ["unchanged", "change", "applied", "failed", "not_applied"] },
                    "changes": { "type": "array", "items": { "type": "object" } }, "message": { "type": "string" }, "fingerprint": { "type": "string" } } } } } } } } },
        "InfraPlan": { "type": "object", "required": ["id", "created_at", "created_by", "hosts_pattern", "hosts", "changes"], "properties": {
            "id": { "type": "integer", "format": "int64" }, "created_at": { "type": "string" }, "created_by": { "type": "string" },
            "hosts_pattern": { "type": ["string", "null"] }, "hosts": strings, "changes": count } },
        "InfraApply": { "type": "object", "required": ["id", "plan_id", "state", "requested_by", "requested_at", "approved_by", "approved_at", "finished_at", "report"], "properties": {
            "id": { "type": "integer", "format": "int64" }, "plan_id": { "type": "integer", "format": "int64" },
            "state": { "type": "string", "enum": ["awaiting_approval", "applying", "applied", "failed"] },
            "requested_by": { "type": "string" }, "requested_at": { "type": "string" },
            "approved_by": { "type": ["string", "null"] }, "approved_at": time_or_null, "finished_at": time_or_null,
            "report": { "anyOf": [schema_ref("InfraReport"),
                { "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } },
                { "type": "null" }], "description": "the apply's report once finished; `error` when it could not run" } } },
        "InfraPlanBody": { "type": "object", "additionalProperties": false, "properties": {
            "hosts": { "type": "string", "minLength": 1, "maxLength": 200, "description": "globs over host and group names, comma-separated; all targeted hosts when absent" } } },
        "InfraApplyBody": { "type": "object", "additionalProperties": false, "required": ["plan_id"], "properties": {
            "plan_id": { "type": "integer", "format": "int64" } } },
    })
}

/// The document.
pub fn spec() -> Value {
    let run_ref = json!({ "$ref": "#/components/schemas/Run" });
    let status_enum = json!(["queued", "running", "success", "failure", "cancelled"]);
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": { "title": "Gantry API", "version": "1", "description": "Runs, jobs, logs, artifacts, events, triggers, agents, the queue and infra (hosts, drift, plans, approved applies) of a Gantry server, and the agent protocol (`/agent/...`, agent tokens only). Authenticate with `Authorization: Bearer <token>`." },
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
            "/agents": { "get": op("Registered agents with their running jobs (viewer; not agent tokens)", vec![],
                json!({ "200": ok_json("agents by name", json!({ "type": "object", "required": ["agents"], "properties": { "agents": { "type": "array", "items": schema_ref("Agent") } } })) })) },
            "/agents/{name}": { "get": op("One agent", vec![str_param("name", "path", "agent name", true)],
                json!({ "200": ok_json("the agent", json!({ "type": "object", "required": ["agent"], "properties": { "agent": schema_ref("Agent") } })) })) },
            "/queue": { "get": op("Queued jobs per runs_on label set, with who can take them", vec![],
                json!({ "200": ok_json("the queue, biggest set first", json!({ "type": "object", "required": ["queues", "unlabeled_jobs"], "properties": {
                    "queues": { "type": "array", "items": schema_ref("QueueRoute") },
                    "unlabeled_jobs": { "type": "string", "enum": ["server", "agents", "any"] } } })) })) },
            "/agent/register": { "post": agent_op("Register an agent (agent token)", vec![], Some(("application/json", schema_ref("Register"))),
                json!({ "200": ok_json("registered: the timing rules", schema_ref("Registered")),
                        "409": error_response("the name is registered with another token that is still valid") })) },
            "/agent/poll": { "post": agent_op("Renew held leases and wait for jobs or cancellations (agent token)", vec![], Some(("application/json", schema_ref("Poll"))),
                json!({ "200": ok_json("new jobs, cancellations, lost jobs (all empty when the wait ran out)", schema_ref("PollReply")) })) },
            "/agent/jobs/{id}/logs": { "post": agent_job_op("Send log lines of a job (agent token)", false, Some(("application/json", schema_ref("LogChunk"))),
                json!({ "200": ok_json("how many lines the server has", schema_ref("LogAck")) })) },
            "/agent/jobs/{id}/source": { "get": agent_job_op("The run's source tree as a tar (agent token)", true, None,
                json!({ "200": ok_tar("the checkout") })) },
            "/agent/jobs/{id}/needs-artifacts": { "get": agent_job_op("Artifacts of the jobs this one needs, as a tar (agent token)", true, None,
                json!({ "200": ok_tar("the artifacts, one directory per job key") })) },
            "/agent/jobs/{id}/artifacts": { "put": agent_job_op("Upload the job's artifacts as a tar (agent token)", true,
                Some(("application/x-tar", json!({ "type": "string", "format": "binary" }))),
                json!({ "200": ok_json("stored", json!({ "type": "object" })) })) },
            "/agent/jobs/{id}/cache/restore": cache_restore_path(),
            "/agent/jobs/{id}/cache": cache_upload_path(),
            "/agent/jobs/{id}/finish": { "post": agent_job_op("Report how a job ended (agent token)", false, Some(("application/json", schema_ref("Finish"))),
                json!({ "200": ok_json("recorded (also when this finish was already recorded)", json!({ "type": "object" })),
                        "409": error_response("`stale_fencing_token`: the job is no longer this agent's; `log_incomplete`: send the missing log lines first") })) },
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
    });
    // Kept apart so the literal above stays within the macro's recursion limit.
    for more in [infra_paths(), super::openapi_deploy::paths()] {
        if let (Some(paths), Some(more)) = (doc["paths"].as_object_mut(), more.as_object()) {
            paths.extend(more.clone());
        }
    }
    for extra in [
        registry_schemas(),
        agent_schemas(),
        infra_schemas(),
        super::openapi_deploy::schemas(),
    ] {
        if let (Some(schemas), Some(more)) = (
            doc["components"]["schemas"].as_object_mut(),
            extra.as_object(),
        ) {
            schemas.extend(more.clone());
        }
    }
    doc
}

pub async fn document() -> Json<Value> {
    Json(spec())
}
