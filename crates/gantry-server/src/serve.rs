//! Starting the server: open the store, load the workspace, recover what a crash left
//! running, make sure someone can sign in, then run the dispatcher, the triggers and
//! the HTTP listener until shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use gantry_core::Secret;
use gantry_engine::Executors;
use gantry_scm::Git;
use gantry_store::logs::LogFiles;
use gantry_store::{NewToken, NewUser, Role};
use tokio_util::sync::CancellationToken;

use crate::dispatch::{self, OWNER};
use crate::live::Change;
use crate::state::ServerState;

/// How long open HTTP connections (live streams, slow clients) may take to finish
/// once shutdown begins.
const HTTP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub workspace_dir: PathBuf,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// `postgres://…`; default: SQLite in the data directory.
    pub database_url: Option<String>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Workspace(String),
    #[error("the database: {0}")]
    Store(#[from] gantry_store::StoreError),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("listening on {addr}: {message}")]
    Listen { addr: SocketAddr, message: String },
}

/// What the first start created, printed once for the operator.
#[derive(Debug)]
pub struct Bootstrap {
    pub token: Secret,
    pub password: Secret,
}

fn random_secret() -> Secret {
    let mut bytes = [0u8; 18];
    // getrandom only fails when the OS has no entropy source, in which case nothing
    // secure can be made: fall back to a value that is refused below.
    let _ = getrandom::fill(&mut bytes);
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// Creates an admin token and an `admin` user when the store has neither tokens nor
/// users (the first start), so the operator can sign in.
async fn bootstrap(state: &ServerState) -> Result<Option<Bootstrap>, ServeError> {
    if !state.store.list_tokens().await?.is_empty() || !state.store.list_users().await?.is_empty() {
        return Ok(None);
    }
    let token = state
        .store
        .create_token(NewToken {
            name: "bootstrap".into(),
            role: Role::Admin,
            expires_at: None,
            created_by: Some("gantry serve".into()),
        })
        .await?;
    let password = random_secret();
    state
        .store
        .create_user(
            NewUser {
                username: "admin".into(),
                password: password.clone(),
                role: Role::Admin,
            },
            Some("gantry serve"),
        )
        .await?;
    Ok(Some(Bootstrap {
        token: token.token,
        password,
    }))
}

/// A started server: its address, and the first-start credentials if any.
#[derive(Debug)]
pub struct Started {
    pub addr: SocketAddr,
    pub bootstrap: Option<Bootstrap>,
    pub warnings: String,
    pub state: Arc<ServerState>,
    done: tokio::task::JoinHandle<()>,
}

impl Started {
    /// Waits until the server has shut down (after `shutdown` was cancelled).
    pub async fn wait(self) {
        let _ = self.done.await;
    }
}

/// Starts everything and returns once the listener is bound.
pub async fn start(opts: ServeOptions, shutdown: CancellationToken) -> Result<Started, ServeError> {
    let io = |path: &PathBuf| {
        let path = path.display().to_string();
        move |e: std::io::Error| ServeError::Io {
            path,
            message: e.to_string(),
        }
    };
    tokio::fs::create_dir_all(&opts.data_dir)
        .await
        .map_err(io(&opts.data_dir))?;
    let data_dir = tokio::fs::canonicalize(&opts.data_dir)
        .await
        .map_err(io(&opts.data_dir))?;
    let loaded = crate::workspace::load(&opts.workspace_dir, opts.listen).await?;
    let url = match &opts.database_url {
        Some(u) => u.clone(),
        None => data_dir.join("gantry.db").display().to_string(),
    };
    let store: Arc<dyn gantry_store::Store> = Arc::from(gantry_store::open(&url).await?);
    // Pipeline deploy jobs on the server's own pool deploy through the server's
    // deployments (recorded, approvals, the live view).
    let deployer = Arc::new(crate::deploy::pipeline::ServerDeployer::new(
        tokio::runtime::Handle::current(),
    ));
    let state = Arc::new(ServerState {
        store,
        hub: Default::default(),
        logs: LogFiles::new(data_dir.join("logs")),
        data_dir: data_dir.clone(),
        executors: Arc::new(Executors::new().with_deployer(deployer.clone())),
        parallelism: loaded.parallelism,
        running: Default::default(),
        sessions: Default::default(),
        projects: RwLock::new(Arc::new(loaded.projects)),
        public_url: loaded.public_url,
        git: Git::default(),
        workspace_dir: opts.workspace_dir.clone(),
        listen: opts.listen,
        agents: Default::default(),
        metrics: Default::default(),
        infra: Default::default(),
        deploys: Default::default(),
    });
    deployer.attach(&state);
    state.agents.set_settings(loaded.agents);
    // Jobs this server was running when it stopped are retried or failed now, so no
    // run stays "running" forever.
    let recovery = state.store.recover_after_restart(OWNER).await?;
    if !recovery.requeued.is_empty() || !recovery.failed.is_empty() {
        tracing::warn!(
            requeued = recovery.requeued.len(),
            failed = recovery.failed.len(),
            "recovered jobs that were running when the server stopped"
        );
    }
    for (run, status) in &recovery.settled_runs {
        state.run_finished(*run, *status).await;
    }
    // An apply the server was running when it stopped did not finish: say so.
    let interrupted = state.store.fail_interrupted_infra_applies().await?;
    if !interrupted.is_empty() {
        tracing::warn!(
            applies = interrupted.len(),
            "infra applies were running when the server stopped; marked failed"
        );
    }
    // Likewise a deployment: its hosts may be half-way; the record says to look.
    let interrupted = state.store.fail_interrupted_deployments().await?;
    if !interrupted.is_empty() {
        tracing::warn!(
            deployments = interrupted.len(),
            "deployments were running when the server stopped; marked failed"
        );
    }
    let bootstrap = bootstrap(&state).await?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| ServeError::Listen {
            addr: opts.listen,
            message: e.to_string(),
        })?;
    let addr = listener.local_addr().map_err(|e| ServeError::Listen {
        addr: opts.listen,
        message: e.to_string(),
    })?;
    let app = crate::http::router(state.clone());
    let s = state.clone();
    let done = tokio::spawn(async move {
        let dispatcher = tokio::spawn(dispatch::run(s.clone(), shutdown.clone()));
        let poller = tokio::spawn(crate::triggers::poll::run(s.clone(), shutdown.clone()));
        let cron = tokio::spawn(crate::triggers::cron::run(s.clone(), shutdown.clone()));
        let drift = tokio::spawn(crate::infra::drift::run(s.clone(), shutdown.clone()));
        s.hub.publish(Change::Enqueued);
        let stop = shutdown.clone();
        let mut server = tokio::spawn(async move {
            // Nagle's algorithm would hold a response body back until the client's
            // delayed ACK (about 40 ms) whenever headers and body leave in two writes.
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!("setting TCP_NODELAY failed: {e}");
                }
            });
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        });
        // On shutdown the listener stops accepting and requests in flight finish; live
        // streams (SSE) never end by themselves, so they get a bounded grace period.
        let http = tokio::select! {
            r = &mut server => Some(r),
            _ = shutdown.cancelled() => None,
        };
        let http = match http {
            Some(r) => r,
            None => match tokio::time::timeout(HTTP_GRACE, &mut server).await {
                Ok(r) => r,
                Err(_) => {
                    tracing::info!("closing the HTTP connections still open");
                    server.abort();
                    Ok(Ok(()))
                }
            },
        };
        match http {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("the HTTP server stopped: {e}"),
            Err(e) => tracing::error!("the HTTP server stopped: {e}"),
        }
        // The dispatcher cancels the jobs it runs and waits until each is recorded.
        let _ = tokio::join!(dispatcher, poller, cron, drift);
        tracing::info!("stopped");
    });
    Ok(Started {
        addr,
        bootstrap,
        warnings: loaded.warnings,
        state,
        done,
    })
}
