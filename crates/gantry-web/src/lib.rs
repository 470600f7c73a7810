//! Gantry's web UI: server-rendered HTML pages and the static files they use. Pure
//! rendering — functions from view data to HTML strings — with no IO and no HTTP; the
//! routes live in gantry-server.
//!
//! # Pages
//!
//! | function | route |
//! |---|---|
//! | [`login_page`] | `GET /login` (form: `POST /login`) |
//! | [`dashboard`] | `GET /` |
//! | [`project_page`] | `GET /projects/{project}` |
//! | [`run_page`] | `GET /runs/{run_id}?job={job_id}` |
//! | [`events_page`] | `GET /events?before={event_id}` |
//! | [`agents_page`] | `GET /agents` |
//! | [`infra_page`] | `GET /infra?plan={plan_id}` (forms: `POST /infra/plan`, `POST /infra/applies`, `POST /infra/applies/{id}/approve`) |
//! | [`infra_host_page`] | `GET /infra/hosts/{host}` |
//! | [`environments_page`] | `GET /environments` |
//! | [`environment_page`] | `GET /environments/{name}` (forms: `POST /deployments`, `POST /rollbacks`) |
//! | [`deployment_page`] | `GET /deployments/{id}` (form: `POST /deployments/{id}/approve`) |
//! | [`error_page`] | any 4xx/5xx |
//! | [`asset`] | `GET /static/app.css`, `GET /static/app.js` |
//!
//! Every page takes a [`Layout`] (signed-in user, CSRF token, flash message, "now") and
//! its own data struct borrowing the store's types:
//!
//! ```
//! use gantry_web::{DashboardData, Layout, dashboard};
//! let layout = Layout::new(Some("ada".into()), "csrf-token");
//! let html = dashboard(&layout, &DashboardData { counts: &[], runs: &[], projects: &[] });
//! assert!(html.contains("/static/app.css"));
//! ```
//!
//! Every POST form carries a hidden `csrf` field with `Layout::csrf`; the server checks
//! it. All text from users, repositories and logs is HTML-escaped by the templates
//! (askama's default); nothing untrusted is marked safe. Rendering never panics: a
//! template error yields a built-in error page.
//!
//! # Live updates
//!
//! The run page loads `/static/app.js`, which listens to `GET /runs/{run_id}/live`
//! (SSE events `job` and `run` carrying the store's `Job` and `Run` as JSON) and
//! `GET /api/v1/jobs/{job_id}/logs/stream?offset=0` (events `line` and `end`). The
//! page works without JavaScript; it is just not live. No inline scripts or styles are
//! used, so a `Content-Security-Policy: default-src 'self'` fits.
#![forbid(unsafe_code)]

mod assets;
pub mod dag;
pub mod format;
mod layout;
mod pages;
mod render;
mod status;
pub mod triggers;
pub mod urls;

pub use assets::asset;
pub use layout::Layout;
pub use pages::agents::{AgentEntry, AgentsData, QueueEntry, agents_page};
pub use pages::dashboard::{DashboardData, ProjectSummary, dashboard};
pub use pages::deploy::{
    DeploymentData, EnvironmentData, EnvironmentEntry, EnvironmentsData, ServiceEntry,
    deployment_page, environment_page, environments_page,
};
pub use pages::error::error_page;
pub use pages::events::{EventsData, events_page};
pub use pages::infra::{InfraData, InfraHostData, InfraHostEntry, infra_host_page, infra_page};
pub use pages::login::{LoginForm, login_page};
pub use pages::project::{PipelineEntry, ProjectData, project_page};
pub use pages::run::{RunPageData, run_page};
