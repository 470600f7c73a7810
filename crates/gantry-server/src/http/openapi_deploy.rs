//! The OpenAPI paths and schemas of deployments and environments (kept apart from
//! openapi.rs so each stays readable; merged into the one document there).

use serde_json::{Value, json};

use super::openapi::{
    error_response, id_param, int_query, ok_json, op, op_required_body, schema_ref, str_param,
};

pub fn paths() -> Value {
    let one = json!({ "type": "object", "required": ["deployment"], "properties": { "deployment": schema_ref("Deployment") } });
    let states = json!([
        "waiting_approval",
        "running",
        "succeeded",
        "failed",
        "rolled_back",
        "cancelled"
    ]);
    json!({
        "/deployments": {
            "get": op("Deployments the server ran, newest first (viewer)", vec![
                    str_param("service", "query", "only this service", false),
                    str_param("environment", "query", "only this environment", false),
                    json!({ "name": "state", "in": "query", "required": false, "schema": { "type": "string", "enum": states } }),
                    int_query("limit", "page size", 1, Some(500))],
                json!({ "200": ok_json("deployments", json!({ "type": "object", "required": ["deployments"], "properties": {
                    "deployments": { "type": "array", "items": schema_ref("Deployment") } } })) })),
            "post": op_required_body("Deploy a service's release to an environment; answers once it started (developer)", schema_ref("DeployBody"),
                json!({ "201": ok_json("the deployment, running or waiting for approval", one.clone()),
                    "409": error_response("refused by the environment's protection (branch, deploy window)"),
                    "415": error_response("not JSON"),
                    "422": error_response("the workspace cannot serve it: no build to deploy, a bad version, workspace errors") })) },
        "/rollbacks": {
            "post": op_required_body("Roll a service back on an environment (to `to`, or each host to its previous release) (developer)", schema_ref("RollbackBody"),
                json!({ "201": ok_json("the rollback, running", one.clone()),
                    "415": error_response("not JSON"),
                    "422": error_response("a bad version or workspace errors") })) },
        "/deployments/{id}": { "get": op("One deployment with its progress lines (viewer)", vec![id_param("id", "deployment id")],
            json!({ "200": ok_json("the deployment", json!({ "type": "object", "required": ["deployment", "lines"], "properties": {
                "deployment": schema_ref("Deployment"),
                "lines": { "type": "array", "items": schema_ref("DeploymentLine") } } })) })) },
        "/deployments/{id}/approve": { "post": op("Approve a deployment waiting for approval (developer, not the one who started it)", vec![id_param("id", "deployment id")],
            json!({ "200": ok_json("who approved the release so far", json!({ "type": "object", "required": ["approved_by"], "properties": {
                    "approved_by": { "type": "array", "items": { "type": "string" } } } })),
                "409": error_response("the deployment is not waiting for approval, or the caller started it"),
                "422": error_response("the approval could not be recorded on the environment's host") })) },
        "/deployments/{id}/cancel": { "post": op("Cancel a deployment that has not changed a host yet (waiting for approvals or the lock); one past that finishes or rolls back on its own (developer)", vec![id_param("id", "deployment id")],
            json!({ "202": ok_json("cancel requested", json!({ "type": "object", "required": ["deployment", "cancel_requested"], "properties": {
                    "deployment": schema_ref("Deployment"), "cancel_requested": { "type": "boolean" } } })),
                "409": error_response("the deployment has ended, or is not running on this server") })) },
        "/deployments/{id}/live": { "get": op("A deployment's live view as server-sent events: `line`, `deployment`, then `end` (viewer)", vec![id_param("id", "deployment id")],
            json!({ "200": { "description": "an event stream", "content": { "text/event-stream": { "schema": { "type": "string" } } } } })) },
        "/environments": { "get": op("Environments with what version of each service runs on which host (viewer)", vec![],
            json!({ "200": ok_json("environments in workspace order", json!({ "type": "object", "required": ["environments"], "properties": {
                "environments": { "type": "array", "items": schema_ref("Environment") } } })) })) },
        "/environments/{name}": { "get": op("One environment (viewer)", vec![str_param("name", "path", "environment name", true)],
            json!({ "200": ok_json("the environment", json!({ "type": "object", "required": ["environment"], "properties": {
                "environment": schema_ref("Environment") } })) })) },
    })
}

pub fn schemas() -> Value {
    let strings = json!({ "type": "array", "items": { "type": "string" } });
    let name = json!({ "type": "string", "minLength": 1, "maxLength": 200 });
    let time_or_null = json!({ "type": ["string", "null"] });
    json!({
        "Deployment": { "type": "object", "required": ["id", "service", "environment", "version", "kind", "state", "trigger", "triggered_by",
                "project", "run_id", "commit_sha", "previous_version", "previous_commit", "changelog", "hosts", "created_at", "finished_at", "report"], "properties": {
            "id": { "type": "integer", "format": "int64" },
            "service": { "type": "string" }, "environment": { "type": "string" }, "version": { "type": "string" },
            "kind": { "type": "string", "enum": ["deploy", "rollback"] },
            "state": { "type": "string", "enum": ["waiting_approval", "running", "succeeded", "failed", "rolled_back", "cancelled"] },
            "trigger": { "type": "string" }, "triggered_by": { "type": "string" },
            "project": { "type": ["string", "null"] }, "run_id": { "type": ["integer", "null"] },
            "commit_sha": { "type": ["string", "null"] }, "previous_version": { "type": ["string", "null"] }, "previous_commit": { "type": ["string", "null"] },
            "changelog": { "type": "array", "items": { "type": "object", "required": ["sha", "author", "subject"], "properties": {
                "sha": { "type": "string" }, "author": { "type": "string" }, "subject": { "type": "string" } } } },
            "hosts": { "type": "object", "description": "per host its latest phase", "additionalProperties": { "type": "object", "required": ["phase", "at"], "properties": {
                "phase": { "type": "string" }, "at": { "type": "integer" } } } },
            "created_at": { "type": "string" }, "finished_at": time_or_null,
            "report": { "type": ["object", "null"], "description": "gantry-deploy's deployment record once finished (`gantry deploy --json`), or `{ error }` when it could not run" } } },
        "DeploymentLine": { "type": "object", "required": ["seq", "at", "host", "line"], "properties": {
            "seq": { "type": "integer", "minimum": 1 }, "at": { "type": "string" }, "host": { "type": ["string", "null"] }, "line": { "type": "string" } } },
        "Environment": { "type": "object", "required": ["name", "hosts", "approvals", "branches", "windows", "services"], "properties": {
            "name": { "type": "string" }, "hosts": strings, "approvals": { "type": "integer", "minimum": 0 }, "branches": strings,
            "windows": { "type": "array", "items": { "type": "object" } },
            "services": { "type": "array", "items": { "type": "object", "required": ["service", "running", "latest"], "properties": {
                "service": { "type": "string" },
                "running": { "type": "object", "description": "per host the version it runs and the deployment that says so", "additionalProperties": {
                    "type": "object", "required": ["version", "deployment"], "properties": { "version": { "type": "string" }, "deployment": { "type": "integer" } } } },
                "latest": { "anyOf": [schema_ref("Deployment"), { "type": "null" }] } } } } } },
        "DeployBody": { "type": "object", "additionalProperties": false, "required": ["service", "environment"], "properties": {
            "service": name, "environment": name,
            "version": { "type": "string", "minLength": 1, "maxLength": 200, "description": "the release's name; default: the build job's `version` output, else the commit's first 12 digits" },
            "run": { "type": "integer", "format": "int64", "minimum": 1, "description": "the run whose build is deployed; default: the newest run of the service's project whose `artifact.job` succeeded" },
            "outside_window": { "type": "boolean", "description": "deploy outside the environment's deploy windows (in the record)" },
            "from": { "type": "string", "minLength": 1, "maxLength": 200, "description": "promote: deploy the build and version this environment last deployed successfully (without `version` or `run`)" } } },
        "RollbackBody": { "type": "object", "additionalProperties": false, "required": ["service", "environment"], "properties": {
            "service": name, "environment": name,
            "to": { "type": "string", "minLength": 1, "maxLength": 200, "description": "the release to go back to; default: each host's previous release" } } },
    })
}
