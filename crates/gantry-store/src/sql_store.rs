//! `SqlStore`: the one implementation of `Store`, over either backend. Each write runs in
//! a transaction that is retried a few times when the database reports contention.

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use gantry_core::Secret;
use gantry_pipeline::Plan;

use crate::auth::{crypto, sessions, tokens, users};
use crate::db::{Db, Sql};
use crate::error::StoreError;
use crate::model::{
    Agent, AgentRegistration, CancelledRun, ClaimedJob, CreatedSession, CreatedToken, Deployment,
    DeploymentFilter, DeploymentLine, Enqueued, Event, EventFilter, FinishedApply,
    FinishedDeployment, FinishedJob, HostCheck, InfraApply, InfraPlan, Job, JobOutcome,
    LeaseStatus, NewDelivery, NewDeployment, NewEvent, NewHostCheck, NewInfraPlan, NewRun,
    NewToken, NewUser, QueueView, Recovery, Route, Run, RunFilter, Session, Step, TokenInfo, User,
};
use crate::queue::recover::{self, Lost};
use crate::queue::{cancel, claim, enqueue, finish};
use crate::store::Store;
use crate::time::{duration_ms, to_ms};
use crate::types::{
    ApplyState, DeploymentId, HostState, InfraApplyId, InfraPlanId, JobId, RunId, RunStatus,
    TokenId, UserId,
};
use crate::{agents, deployments, infra, log, reads};

const MAX_ATTEMPTS: u32 = 5;

/// Runs `$body` (which uses `$tx`, a fresh `Tx`) and commits, retrying the whole
/// transaction on contention. The body must be safe to run again: it only borrows its
/// inputs.
macro_rules! write_tx {
    ($db:expr, |$tx:ident| $body:expr) => {{
        let mut attempt = 1u32;
        loop {
            let result: Result<_, StoreError> = async {
                let mut $tx = $db.begin().await?;
                let value = $body;
                $tx.commit().await?;
                Ok(value)
            }
            .await;
            match result {
                Err(e) if e.is_busy() && attempt < MAX_ATTEMPTS => {
                    // Back off a little more each time, so contenders spread out.
                    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 20)).await;
                    attempt += 1;
                }
                other => break other,
            }
        }
    }};
}

pub(crate) struct SqlStore {
    db: Db,
}

impl SqlStore {
    pub(crate) fn new(db: Db) -> Self {
        SqlStore { db }
    }

    async fn recover(&self, lost: Lost) -> Result<Recovery, StoreError> {
        let jobs = recover::find_lost(&self.db, &lost).await?;
        let mut out = Recovery::default();
        let mut runs: Vec<RunId> = jobs.iter().map(|j| j.run_id).collect();
        runs.dedup();
        for run in runs {
            let of_run: Vec<_> = jobs.iter().filter(|j| j.run_id == run).copied().collect();
            // Collected per transaction, so a retried transaction does not count twice.
            let part = write_tx!(self.db, |tx| {
                let mut part = Recovery::default();
                recover::recover_run(&mut tx, run, &of_run, &lost, &mut part).await?;
                part
            })?;
            merge(&mut out, part);
        }
        for run in recover::stuck_runs(&self.db).await? {
            let part = write_tx!(self.db, |tx| {
                let mut part = Recovery::default();
                recover::settle_stuck(&mut tx, run, &mut part).await?;
                part
            })?;
            merge(&mut out, part);
        }
        Ok(out)
    }
}

fn merge(out: &mut Recovery, part: Recovery) {
    out.requeued.extend(part.requeued);
    out.failed.extend(part.failed);
    out.cancelled.extend(part.cancelled);
    out.settled_runs.extend(part.settled_runs);
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Connection options (which hold the database password) are deliberately not shown.
        f.debug_struct("SqlStore")
            .field("backend", &self.db.backend().name())
            .finish()
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.db.backend().name()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.db
            .fetch_one(Sql::new("SELECT 1 AS one"))
            .await
            .map(|_| ())
    }

    async fn close(&self) {
        self.db.close().await;
    }

    async fn enqueue_run(&self, run: NewRun) -> Result<Enqueued, StoreError> {
        write_tx!(self.db, |tx| enqueue::enqueue_run(&mut tx, &run).await?)
    }

    async fn claim_jobs(
        &self,
        owner: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        self.claim_jobs_routed(owner, &Route::unlabeled(), limit, lease)
            .await
    }

    async fn claim_jobs_routed(
        &self,
        owner: &str,
        route: &Route,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        let lease = duration_ms(lease);
        write_tx!(self.db, |tx| claim::claim_jobs(
            &mut tx, owner, route, limit, lease
        )
        .await?)
    }

    async fn extend_lease(
        &self,
        job: JobId,
        fencing_token: i64,
        lease: Duration,
    ) -> Result<LeaseStatus, StoreError> {
        let lease = duration_ms(lease);
        write_tx!(self.db, |tx| claim::extend_lease(
            &mut tx,
            job,
            fencing_token,
            lease
        )
        .await?)
    }

    async fn finish_job(
        &self,
        job: JobId,
        fencing_token: i64,
        outcome: JobOutcome,
    ) -> Result<FinishedJob, StoreError> {
        write_tx!(self.db, |tx| finish::finish_job(
            &mut tx,
            job,
            fencing_token,
            &outcome
        )
        .await?)
    }

    async fn cancel_run(
        &self,
        run: RunId,
        actor: Option<&str>,
    ) -> Result<CancelledRun, StoreError> {
        write_tx!(self.db, |tx| cancel::cancel_run(&mut tx, run, actor)
            .await?)
    }

    async fn rerun(
        &self,
        run: RunId,
        failed_only: bool,
        actor: Option<&str>,
    ) -> Result<Enqueued, StoreError> {
        write_tx!(self.db, |tx| enqueue::rerun(
            &mut tx,
            run,
            failed_only,
            actor
        )
        .await?)
    }

    async fn recover_after_restart(&self, owner: &str) -> Result<Recovery, StoreError> {
        self.recover(Lost::Owner(owner.to_string())).await
    }

    async fn requeue_expired_leases(&self, now: Timestamp) -> Result<Recovery, StoreError> {
        self.recover(Lost::LeaseEndedBefore(to_ms(now))).await
    }

    async fn get_run(&self, run: RunId) -> Result<Option<Run>, StoreError> {
        reads::get_run(&self.db, run).await
    }

    async fn get_run_by_number(
        &self,
        project: &str,
        pipeline: &str,
        number: i64,
    ) -> Result<Option<Run>, StoreError> {
        reads::get_run_by_number(&self.db, project, pipeline, number).await
    }

    async fn get_plan(&self, run: RunId) -> Result<Option<Plan>, StoreError> {
        reads::get_plan(&self.db, run).await
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, StoreError> {
        reads::list_runs(&self.db, filter).await
    }

    async fn get_job(&self, job: JobId) -> Result<Option<Job>, StoreError> {
        reads::get_job(&self.db, job).await
    }

    async fn jobs_of_run(&self, run: RunId) -> Result<Vec<Job>, StoreError> {
        reads::jobs_of_run(&self.db, run).await
    }

    async fn steps_of_job(&self, job: JobId) -> Result<Vec<Step>, StoreError> {
        reads::steps_of_job(&self.db, job).await
    }

    async fn events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError> {
        reads::events(&self.db, filter).await
    }

    async fn queue_depth(&self) -> Result<u64, StoreError> {
        reads::queue_depth(&self.db).await
    }

    async fn runs_by_status(&self) -> Result<Vec<(RunStatus, u64)>, StoreError> {
        reads::runs_by_status(&self.db).await
    }

    async fn queue_by_route(&self) -> Result<Vec<QueueView>, StoreError> {
        reads::queue_by_route(&self.db).await
    }

    async fn running_jobs_of(&self, owner: &str) -> Result<Vec<Job>, StoreError> {
        reads::running_jobs_of(&self.db, owner).await
    }

    async fn register_agent(&self, reg: AgentRegistration) -> Result<Agent, StoreError> {
        let reg = agents::check_registration(&reg)?;
        write_tx!(self.db, |tx| agents::register_agent(&mut tx, &reg).await?)
    }

    async fn agent_seen(&self, name: &str, draining: bool) -> Result<(), StoreError> {
        write_tx!(self.db, |tx| agents::agent_seen(&mut tx, name, draining)
            .await?)
    }

    async fn list_agents(&self) -> Result<Vec<Agent>, StoreError> {
        agents::list_agents(&self.db).await
    }

    async fn get_agent(&self, name: &str) -> Result<Option<Agent>, StoreError> {
        agents::get_agent(&self.db, name).await
    }

    async fn record_host_check(
        &self,
        check: NewHostCheck,
    ) -> Result<Option<HostState>, StoreError> {
        write_tx!(self.db, |tx| infra::record_host_check(&mut tx, &check)
            .await?)
    }

    async fn host_checks(&self) -> Result<Vec<HostCheck>, StoreError> {
        infra::host_checks(&self.db).await
    }

    async fn host_check(&self, host: &str) -> Result<Option<HostCheck>, StoreError> {
        infra::host_check(&self.db, host).await
    }

    async fn create_infra_plan(&self, plan: NewInfraPlan) -> Result<InfraPlan, StoreError> {
        write_tx!(self.db, |tx| infra::create_plan(&mut tx, &plan).await?)
    }

    async fn get_infra_plan(&self, id: InfraPlanId) -> Result<Option<InfraPlan>, StoreError> {
        infra::get_plan(&self.db, id).await
    }

    async fn request_infra_apply(
        &self,
        plan: InfraPlanId,
        requested_by: &str,
    ) -> Result<InfraApply, StoreError> {
        write_tx!(self.db, |tx| infra::request_apply(
            &mut tx,
            plan,
            requested_by
        )
        .await?)
    }

    async fn approve_infra_apply(
        &self,
        id: InfraApplyId,
        approved_by: &str,
    ) -> Result<InfraApply, StoreError> {
        write_tx!(self.db, |tx| infra::approve_apply(&mut tx, id, approved_by)
            .await?)
    }

    async fn finish_infra_apply(
        &self,
        id: InfraApplyId,
        finished: FinishedApply,
    ) -> Result<InfraApply, StoreError> {
        write_tx!(self.db, |tx| infra::finish_apply(&mut tx, id, &finished)
            .await?)
    }

    async fn fail_interrupted_infra_applies(&self) -> Result<Vec<InfraApplyId>, StoreError> {
        write_tx!(self.db, |tx| infra::fail_interrupted(&mut tx).await?)
    }

    async fn get_infra_apply(&self, id: InfraApplyId) -> Result<Option<InfraApply>, StoreError> {
        infra::get_apply(&self.db, id).await
    }

    async fn list_infra_applies(
        &self,
        state: Option<ApplyState>,
        limit: u32,
    ) -> Result<Vec<InfraApply>, StoreError> {
        infra::list_applies(&self.db, state, limit).await
    }

    async fn create_deployment(&self, new: NewDeployment) -> Result<Deployment, StoreError> {
        write_tx!(self.db, |tx| deployments::create(&mut tx, &new).await?)
    }

    async fn add_deployment_line(
        &self,
        id: DeploymentId,
        host: Option<&str>,
        line: &str,
    ) -> Result<u64, StoreError> {
        write_tx!(self.db, |tx| deployments::add_line(&mut tx, id, host, line)
            .await?)
    }

    async fn set_deployment_waiting(
        &self,
        id: DeploymentId,
        waiting: bool,
    ) -> Result<(), StoreError> {
        write_tx!(self.db, |tx| deployments::set_waiting(&mut tx, id, waiting)
            .await?)
    }

    async fn finish_deployment(
        &self,
        id: DeploymentId,
        finished: FinishedDeployment,
    ) -> Result<Deployment, StoreError> {
        write_tx!(self.db, |tx| deployments::finish(&mut tx, id, &finished)
            .await?)
    }

    async fn fail_interrupted_deployments(&self) -> Result<Vec<DeploymentId>, StoreError> {
        write_tx!(self.db, |tx| deployments::fail_interrupted(&mut tx).await?)
    }

    async fn get_deployment(&self, id: DeploymentId) -> Result<Option<Deployment>, StoreError> {
        deployments::get(&self.db, id).await
    }

    async fn list_deployments(
        &self,
        filter: &DeploymentFilter,
    ) -> Result<Vec<Deployment>, StoreError> {
        deployments::list(&self.db, filter).await
    }

    async fn deployment_lines(
        &self,
        id: DeploymentId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<DeploymentLine>, StoreError> {
        deployments::lines(&self.db, id, after, limit).await
    }

    async fn append_event(&self, event: NewEvent) -> Result<(), StoreError> {
        log::check_event(&event)?;
        write_tx!(self.db, |tx| tx.event(event.clone()))
    }

    async fn record_delivery(&self, delivery: NewDelivery) -> Result<bool, StoreError> {
        write_tx!(self.db, |tx| log::record_delivery(&mut tx, &delivery)
            .await?)
    }

    async fn prune_deliveries(&self, before: Timestamp) -> Result<u64, StoreError> {
        let before = to_ms(before);
        write_tx!(self.db, |tx| log::prune_deliveries(&mut tx, before).await?)
    }

    async fn create_token(&self, new: NewToken) -> Result<CreatedToken, StoreError> {
        let token = crypto::new_api_token()?;
        let info = write_tx!(self.db, |tx| tokens::create_token(&mut tx, &new, &token)
            .await?)?;
        Ok(CreatedToken { info, token })
    }

    async fn verify_token(&self, token: &str) -> Result<Option<TokenInfo>, StoreError> {
        tokens::verify_token(&self.db, token).await
    }

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        tokens::list_tokens(&self.db).await
    }

    async fn revoke_token(&self, id: TokenId, actor: Option<&str>) -> Result<bool, StoreError> {
        write_tx!(self.db, |tx| tokens::revoke_token(&mut tx, id, actor)
            .await?)
    }

    async fn create_user(&self, user: NewUser, actor: Option<&str>) -> Result<User, StoreError> {
        users::check_username(&user.username)?;
        users::check_password(&user.password)?;
        let hash = crypto::hash_password(&user.password).await?;
        write_tx!(self.db, |tx| users::create_user(
            &mut tx,
            &user.username,
            user.role,
            &hash,
            actor
        )
        .await?)
    }

    async fn verify_password(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<Option<User>, StoreError> {
        users::verify_password(&self.db, username, password).await
    }

    async fn set_password(
        &self,
        username: &str,
        password: &Secret,
        actor: Option<&str>,
    ) -> Result<(), StoreError> {
        users::check_password(password)?;
        let hash = crypto::hash_password(password).await?;
        write_tx!(self.db, |tx| users::set_password(
            &mut tx, username, &hash, actor
        )
        .await?)
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        users::list_users(&self.db).await
    }

    async fn delete_user(&self, username: &str, actor: Option<&str>) -> Result<bool, StoreError> {
        write_tx!(self.db, |tx| users::delete_user(&mut tx, username, actor)
            .await?)
    }

    async fn create_session(
        &self,
        user: UserId,
        ttl: Duration,
    ) -> Result<CreatedSession, StoreError> {
        let (token, csrf) = sessions::new_session_secrets()?;
        let ttl = duration_ms(ttl);
        write_tx!(self.db, |tx| sessions::create_session(
            &mut tx, user, ttl, &token, &csrf
        )
        .await?)
    }

    async fn get_session(&self, token: &str) -> Result<Option<Session>, StoreError> {
        sessions::get_session(&self.db, token).await
    }

    async fn delete_session(&self, token: &str) -> Result<bool, StoreError> {
        write_tx!(self.db, |tx| sessions::delete_session(&mut tx, token)
            .await?)
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        let now = to_ms(now);
        write_tx!(self.db, |tx| sessions::delete_expired_sessions(
            &mut tx, now
        )
        .await?)
    }
}
