//! The event log: everything that happened, newest first, filterable.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use gantry_store::{EventFilter, EventId, JobId, Role, RunId};
use serde_json::{Value, json};

use super::query::Params;
use crate::http::auth::Caller;
use crate::http::error::ApiResult;
use crate::state::ServerState;

pub async fn list(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let p = Params::parse(q);
    let limit = p.limit(100, 500)?;
    let filter = EventFilter {
        project: p.str("project").map(str::to_string),
        run_id: p.get::<i64>("run", "a run id")?.map(RunId),
        job_id: p.get::<i64>("job", "a job id")?.map(JobId),
        kind_prefix: p.str("kind").map(str::to_string),
        after_id: p.get::<i64>("after", "an event id")?.map(EventId),
        before_id: p.get::<i64>("before", "an event id")?.map(EventId),
        limit,
        newest_first: p.str("after").is_none(),
    };
    let events = state.store.events(&filter).await?;
    Ok(Json(json!({ "events": events })))
}
