//! The `Store` trait: everything the server, the dispatcher and agents' endpoints may ask
//! of persistence. Backend-agnostic and object-safe (`Box<dyn Store>`); every state change
//! it makes appends its events in the same transaction.

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use gantry_core::Secret;
use gantry_pipeline::Plan;

use crate::error::StoreError;
use crate::model::{
    Agent, AgentRegistration, CancelledRun, ClaimedJob, CreatedSession, CreatedToken, Deployment,
    DeploymentFilter, DeploymentLine, Enqueued, Event, EventFilter, FinishedApply,
    FinishedDeployment, FinishedJob, HostCheck, InfraApply, InfraPlan, Job, JobOutcome,
    LeaseStatus, NewDelivery, NewDeployment, NewEvent, NewHostCheck, NewInfraPlan, NewRun,
    NewToken, NewUser, QueueView, Recovery, Route, Run, RunFilter, Session, Step, TokenInfo, User,
};
use crate::types::{
    ApplyState, DeploymentId, HostState, InfraApplyId, InfraPlanId, JobId, RunId, RunStatus,
    TokenId, UserId,
};

#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Checks that the database answers (for health checks).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Closes the connections; later calls fail.
    async fn close(&self);

    // ---- the run queue -------------------------------------------------------------

    /// Inserts a run (numbered per project + pipeline, from 1) and a job per planned job,
    /// queues the jobs that need nothing, and applies the concurrency group: with
    /// `cancel_in_progress`, older unfinished runs of the group are cancelled ("superseded
    /// by run #N") and returned so their running jobs can be stopped; without it, the run
    /// is held until they finish.
    async fn enqueue_run(&self, run: NewRun) -> Result<Enqueued, StoreError>;

    /// Atomically moves up to `limit` queued jobs without `runs_on` (oldest first) to
    /// running for `owner`, with a new fencing token and a lease of `lease`; marks their
    /// runs running. The same as `claim_jobs_routed` with `Route::unlabeled()`: the
    /// server's own pool has no labels, so it never takes a job that asks for some. On
    /// PostgreSQL jobs whose run another transaction is changing at that instant are
    /// skipped, so a claim may return fewer jobs than are queued: claim again shortly.
    /// Whether a claimed job runs or is skipped (`if:`, failed needs) is the caller's
    /// decision; it reports a skip with `finish_job`.
    async fn claim_jobs(
        &self,
        owner: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedJob>, StoreError>;

    /// `claim_jobs` for the queued jobs `route` accepts (see `Route`), oldest first: a
    /// claimer finds its jobs however many older jobs of other routes wait. Agents claim
    /// as `agent_owner(name)`.
    async fn claim_jobs_routed(
        &self,
        owner: &str,
        route: &Route,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedJob>, StoreError>;

    /// Renews a running job's lease to now + `lease`. `StaleFencingToken` when the token
    /// is not the current one; the answer says whether the run is being cancelled.
    async fn extend_lease(
        &self,
        job: JobId,
        fencing_token: i64,
        lease: Duration,
    ) -> Result<LeaseStatus, StoreError>;

    /// Records how a running job ended (`outcome.result` has the engine's `JobResult`
    /// values; steps map from its `StepReport`s). `StaleFencingToken` when `fencing_token` is not
    /// current (the job was re-claimed or already finished). Then queues waiting jobs whose
    /// needs have all finished, and settles the run when nothing is left.
    async fn finish_job(
        &self,
        job: JobId,
        fencing_token: i64,
        outcome: JobOutcome,
    ) -> Result<FinishedJob, StoreError>;

    /// Cancels a run's waiting and queued jobs and returns its running ones for the caller
    /// to stop (the run settles as cancelled once they are reported). A finished run is
    /// left unchanged.
    async fn cancel_run(&self, run: RunId, actor: Option<&str>)
    -> Result<CancelledRun, StoreError>;

    /// A new run with the same plan, commit, inputs and concurrency group as a finished
    /// run. With `failed_only`, jobs that succeeded (and need no job that runs again) keep
    /// their result and outputs.
    async fn rerun(
        &self,
        run: RunId,
        failed_only: bool,
        actor: Option<&str>,
    ) -> Result<Enqueued, StoreError>;

    /// After a crash: every job still running for `owner` is queued again (attempt + 1)
    /// while `attempt <= max_retry`, else failed with "server restarted" ("agent
    /// restarted" for an `agent:` owner; cancelled if its run was being cancelled); runs
    /// left with nothing unfinished are settled.
    async fn recover_after_restart(&self, owner: &str) -> Result<Recovery, StoreError>;

    /// The same for running jobs whose lease ended before `now` ("lease expired").
    async fn requeue_expired_leases(&self, now: Timestamp) -> Result<Recovery, StoreError>;

    // ---- reads ---------------------------------------------------------------------

    async fn get_run(&self, run: RunId) -> Result<Option<Run>, StoreError>;
    async fn get_run_by_number(
        &self,
        project: &str,
        pipeline: &str,
        number: i64,
    ) -> Result<Option<Run>, StoreError>;
    /// The plan a run was enqueued with (`ClaimedJob::index` indexes its jobs).
    async fn get_plan(&self, run: RunId) -> Result<Option<Plan>, StoreError>;
    /// Runs newest first; see `RunFilter` for paging.
    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, StoreError>;
    async fn get_job(&self, job: JobId) -> Result<Option<Job>, StoreError>;
    /// A run's jobs in plan order.
    async fn jobs_of_run(&self, run: RunId) -> Result<Vec<Job>, StoreError>;
    async fn steps_of_job(&self, job: JobId) -> Result<Vec<Step>, StoreError>;
    async fn events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError>;
    /// Jobs waiting to be claimed.
    async fn queue_depth(&self) -> Result<u64, StoreError>;
    /// Every run status with its count (zeros included).
    async fn runs_by_status(&self) -> Result<Vec<(RunStatus, u64)>, StoreError>;
    /// Queued jobs grouped by their `runs_on` set, biggest group first.
    async fn queue_by_route(&self) -> Result<Vec<QueueView>, StoreError>;
    /// Jobs currently running for `owner` (any owner string), oldest claim first.
    async fn running_jobs_of(&self, owner: &str) -> Result<Vec<Job>, StoreError>;

    // ---- agents --------------------------------------------------------------------

    /// Inserts or updates the agent by name (version, labels, executors and capacity;
    /// draining cleared, last seen now) and appends `agent.registered`. A name is bound to
    /// the token that first registered it: another token gets `Conflict` naming the agent,
    /// unless the bound token is revoked or expired, when the new token takes the name
    /// over. Labels and executors are stored sorted and deduplicated. `Invalid` for a bad
    /// name (1-128 letters, digits, '.', '_', '-'), label (the `runs_on` alphabet) or
    /// executor, capacity 0, or a revoked or expired `token_id`; `NotFound` for an unknown
    /// one.
    async fn register_agent(&self, reg: AgentRegistration) -> Result<Agent, StoreError>;
    /// A heartbeat: last seen now, and whether the agent is draining. Appends no event
    /// (it comes every few seconds). `NotFound` for an unknown agent.
    async fn agent_seen(&self, name: &str, draining: bool) -> Result<(), StoreError>;
    /// Every agent, by name.
    async fn list_agents(&self) -> Result<Vec<Agent>, StoreError>;
    async fn get_agent(&self, name: &str) -> Result<Option<Agent>, StoreError>;

    // ---- infra: host checks, saved plans, apply requests ----------------------------

    /// Records a host's latest check (replacing the one before) and returns the previous
    /// check's state. A change of state appends `infra.drift_detected` (to drifted) or
    /// `infra.host_state_changed`; the same state again, or a first check that finds the
    /// host in sync, appends nothing.
    async fn record_host_check(&self, check: NewHostCheck)
    -> Result<Option<HostState>, StoreError>;
    /// Every host's latest check, by host name.
    async fn host_checks(&self) -> Result<Vec<HostCheck>, StoreError>;
    async fn host_check(&self, host: &str) -> Result<Option<HostCheck>, StoreError>;
    /// Saves a plan; appends `infra.planned`.
    async fn create_infra_plan(&self, plan: NewInfraPlan) -> Result<InfraPlan, StoreError>;
    async fn get_infra_plan(&self, id: InfraPlanId) -> Result<Option<InfraPlan>, StoreError>;
    /// A request to apply a saved plan, awaiting approval; appends
    /// `infra.apply_requested`. `NotFound` for an unknown plan, `Conflict` for a plan
    /// that changes nothing.
    async fn request_infra_apply(
        &self,
        plan: InfraPlanId,
        requested_by: &str,
    ) -> Result<InfraApply, StoreError>;
    /// awaiting_approval → applying; appends `infra.apply_approved`. `Conflict` when it
    /// is not awaiting approval or `approved_by` is its requester (someone else must
    /// approve), `NotFound` for an unknown request.
    async fn approve_infra_apply(
        &self,
        id: InfraApplyId,
        approved_by: &str,
    ) -> Result<InfraApply, StoreError>;
    /// applying → applied | failed with the apply's report; appends `infra.applied`.
    async fn finish_infra_apply(
        &self,
        id: InfraApplyId,
        finished: FinishedApply,
    ) -> Result<InfraApply, StoreError>;
    /// After a restart: applies still applying are failed (the server stopped mid-way).
    async fn fail_interrupted_infra_applies(&self) -> Result<Vec<InfraApplyId>, StoreError>;
    async fn get_infra_apply(&self, id: InfraApplyId) -> Result<Option<InfraApply>, StoreError>;
    /// Apply requests newest first, optionally only those in `state`; `limit` 1 to 500.
    async fn list_infra_applies(
        &self,
        state: Option<ApplyState>,
        limit: u32,
    ) -> Result<Vec<InfraApply>, StoreError>;

    // ---- deployments the server runs ---------------------------------------------

    /// Records a deployment as running (its hosts `waiting`); appends `deploy.started`
    /// with the commit range and changelog. `Invalid` for a kind other than deploy or
    /// rollback.
    async fn create_deployment(&self, new: NewDeployment) -> Result<Deployment, StoreError>;
    /// Appends a progress line (returns its number); a line about `host` becomes that
    /// host's phase and appends `deploy.host_progress`. `Conflict` once finished.
    async fn add_deployment_line(
        &self,
        id: DeploymentId,
        host: Option<&str>,
        line: &str,
    ) -> Result<u64, StoreError>;
    /// running ↔ waiting_approval (nothing when it is in neither).
    async fn set_deployment_waiting(
        &self,
        id: DeploymentId,
        waiting: bool,
    ) -> Result<(), StoreError>;
    /// → succeeded | failed | rolled_back with gantry-deploy's record; appends
    /// `deploy.finished`. `Conflict` when it had finished already.
    async fn finish_deployment(
        &self,
        id: DeploymentId,
        finished: FinishedDeployment,
    ) -> Result<Deployment, StoreError>;
    /// After a restart: deployments still running are failed (the server stopped).
    async fn fail_interrupted_deployments(&self) -> Result<Vec<DeploymentId>, StoreError>;
    async fn get_deployment(&self, id: DeploymentId) -> Result<Option<Deployment>, StoreError>;
    /// Newest first.
    async fn list_deployments(
        &self,
        filter: &DeploymentFilter,
    ) -> Result<Vec<Deployment>, StoreError>;
    /// Progress lines numbered above `after`, in order, at most `limit`.
    async fn deployment_lines(
        &self,
        id: DeploymentId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<DeploymentLine>, StoreError>;

    // ---- event log and webhooks ----------------------------------------------------

    /// Appends an event from another part of Gantry (deploys, infra, incidents).
    async fn append_event(&self, event: NewEvent) -> Result<(), StoreError>;

    /// Records a webhook delivery; false when `(forge, delivery_id)` was seen before.
    async fn record_delivery(&self, delivery: NewDelivery) -> Result<bool, StoreError>;

    /// Forgets webhook deliveries received before `before`; returns how many.
    async fn prune_deliveries(&self, before: Timestamp) -> Result<u64, StoreError>;

    // ---- API tokens ----------------------------------------------------------------

    /// Creates a token; its value is in the result and nowhere else.
    async fn create_token(&self, token: NewToken) -> Result<CreatedToken, StoreError>;
    /// The token's record when `token` is valid, not revoked and not expired.
    async fn verify_token(&self, token: &str) -> Result<Option<TokenInfo>, StoreError>;
    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;
    /// False when it was already revoked.
    async fn revoke_token(&self, id: TokenId, actor: Option<&str>) -> Result<bool, StoreError>;

    // ---- users and sessions --------------------------------------------------------

    async fn create_user(&self, user: NewUser, actor: Option<&str>) -> Result<User, StoreError>;
    /// The user when the password is right; None otherwise (unknown users take as long).
    async fn verify_password(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<Option<User>, StoreError>;
    /// Also ends the user's sessions.
    async fn set_password(
        &self,
        username: &str,
        password: &Secret,
        actor: Option<&str>,
    ) -> Result<(), StoreError>;
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    async fn delete_user(&self, username: &str, actor: Option<&str>) -> Result<bool, StoreError>;
    async fn create_session(
        &self,
        user: UserId,
        ttl: Duration,
    ) -> Result<CreatedSession, StoreError>;
    /// The live (unexpired) session for a cookie value.
    async fn get_session(&self, token: &str) -> Result<Option<Session>, StoreError>;
    async fn delete_session(&self, token: &str) -> Result<bool, StoreError>;
    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError>;
}
