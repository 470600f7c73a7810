//! What resource files declare, once parsed: plays (targets + resources + handlers).
//! Plain data; reading `source:` files happens later, in `load`.

use gantry_core::Span;
use serde::Serialize;

use crate::resource::Spec;

/// One parsed resource file (`infra/web.yml`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InfraFile {
    /// The name diagnostics carry, relative to the workspace.
    pub file: String,
    pub plays: Vec<Play>,
}

/// `- hosts: [web]` with its resources and handlers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Play {
    /// Host and group names, as written.
    pub hosts: Vec<Target>,
    pub resources: Vec<Resource>,
    pub handlers: Vec<Handler>,
}

/// A host or group name in a play's `hosts:` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
}

/// One declared resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    /// `name`, or `<type> <path>` (`file /etc/motd`); unique in its file.
    pub id: String,
    pub spec: Spec,
    /// Ids of resources that must be applied first.
    pub requires: Vec<String>,
    /// Handlers to run once, at the end, when this resource changed.
    pub notify: Vec<String>,
    /// The resource file and where the resource starts in it, for messages.
    pub file: String,
    #[serde(skip)]
    pub span: Span,
}

impl Resource {
    /// `infra/web.yml:12`, for reports.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.span.line)
    }
}

/// A command run once after the resources, when a resource notified it: `run:`, or a
/// service restarted or reloaded (`service: { name: nginx, state: restarted }`), which
/// becomes its `systemctl` command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handler {
    /// Unique in its file; resources notify handlers of their own file.
    pub name: String,
    pub run: String,
    /// The unit, for a `service:` handler.
    pub service: Option<String>,
    /// The resource file declaring it.
    pub file: String,
}
