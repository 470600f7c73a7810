//! Planning and applying on hosts: for each selected host (all at once, up to a bound),
//! one check round trip (facts + every resource's state), the comparison, and for an
//! apply one round trip with the changed resources and one with the notified handlers.
//! A host that cannot be reached or fails is reported on its own; the others go on.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gantry_core::{Masker, Secret};
use gantry_workspace::{Host, Inventory};
use indexmap::IndexMap;
use serde::Serialize;

use crate::context::{mask, redact_diffs, template_context};
use crate::declaration::{Handler, Resource};
use crate::load::Declarations;
use crate::progress::{Phase, Progress};
use crate::report::{self, Facts, Observed, Report};
use crate::resource::{Change, Check, FileContent, Spec, touches_units};
use crate::saved::{self, SavedHost, SavedPlan};
use crate::script;
use crate::transport::{Transport, TransportError};

/// Plan only, or plan and apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Plan,
    Apply,
}

/// How a run contacts hosts.
#[derive(Debug, Clone)]
pub struct Options {
    /// Hosts worked on at once.
    pub parallelism: usize,
    pub connect_timeout: Duration,
    /// The workspace's `secrets:`, resolved: `secrets.NAME` in templates, and masked
    /// (`***`) in every diff, message and output of the report.
    pub secrets: IndexMap<String, Secret>,
    /// `apply --plan`: apply on a host only if its check still matches this plan's
    /// fingerprints (hosts not in it are refused).
    pub saved: Option<SavedPlan>,
    /// Told when each host starts a phase and when it is done (live progress).
    pub progress: Option<Progress>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            parallelism: 32,
            connect_timeout: Duration::from_secs(10),
            secrets: IndexMap::new(),
            saved: None,
            progress: None,
        }
    }
}

/// A whole plan or apply, per host.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub mode: Mode,
    pub hosts: Vec<HostReport>,
    pub summary: Summary,
}

/// The counts of the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Resources that would change (plan) or changed (apply).
    pub changed: usize,
    pub unchanged: usize,
    /// Resources that cannot be planned or failed to apply.
    pub failed: usize,
    /// Resources not applied because an earlier one failed.
    pub not_applied: usize,
    pub hosts_unreachable: usize,
    pub hosts_failed: usize,
}

/// One host's part of a run.
#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub host: String,
    pub status: HostStatus,
    /// Why the host is unreachable or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub facts: Facts,
    pub resources: Vec<ResourceReport>,
    pub handlers: Vec<HandlerReport>,
    /// What the check found and the plan would do, hashed (see `saved`); empty when
    /// the host could not be checked.
    pub fingerprint: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    Ok,
    Unreachable,
    Failed,
}

/// One resource on one host.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceReport {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `infra/web.yml:12`.
    pub location: String,
    pub status: ResourceStatus,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The check's report and the planned change, hashed (see `saved`).
    pub fingerprint: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceStatus {
    Unchanged,
    /// Plan: would change.
    Change,
    /// Apply: changed.
    Applied,
    /// The check found it cannot be converged, or applying it failed.
    Failed,
    /// Apply: not attempted, because a resource before it (or one it requires) failed.
    NotApplied,
}

/// One handler on one host.
#[derive(Debug, Clone, Serialize)]
pub struct HandlerReport {
    pub name: String,
    pub status: HandlerStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HandlerStatus {
    WouldRun,
    Ran,
    Failed,
}

impl RunReport {
    /// Plan: 0 no changes, 2 changes, 1 errors (an unreachable host included).
    /// Apply: 0 everything applied, 1 anything failed.
    pub fn exit_code(&self) -> u8 {
        let s = &self.summary;
        if s.failed > 0 || s.hosts_unreachable > 0 || s.hosts_failed > 0 || s.not_applied > 0 {
            return 1;
        }
        if self.mode == Mode::Plan && s.changed > 0 {
            return 2;
        }
        0
    }

    pub fn host(&self, name: &str) -> Option<&HostReport> {
        self.hosts.iter().find(|h| h.host == name)
    }

    /// The report of one host as a run of its own (its summary counts that host only),
    /// as the server stores each host's latest check.
    pub fn only_host(&self, name: &str) -> Option<RunReport> {
        let host = self.host(name)?.clone();
        let hosts = vec![host];
        Some(RunReport {
            mode: self.mode,
            summary: summarize(&hosts),
            hosts,
        })
    }
}

impl HostReport {
    pub fn resource(&self, id: &str) -> Option<&ResourceReport> {
        self.resources.iter().find(|r| r.id == id)
    }
}

/// The hosts a run works on: every host some play targets, in inventory order (`local`
/// last), narrowed to those matching `patterns` (globs over host and group names).
pub fn select_hosts(
    inventory: &Inventory,
    declarations: &Declarations,
    patterns: &[String],
) -> Result<Vec<Host>, String> {
    let mut names: Vec<String> = Vec::new();
    for file in &declarations.files {
        for play in &file.plays {
            for target in &play.hosts {
                for host in inventory.resolve(&target.name) {
                    if !names.contains(&host.name) {
                        names.push(host.name);
                    }
                }
            }
        }
    }
    let order = |n: &String| {
        inventory
            .hosts
            .get_index_of(n)
            .unwrap_or(inventory.hosts.len())
    };
    names.sort_by_key(order);
    let matcher = if patterns.is_empty() {
        None
    } else {
        let mut b = globset::GlobSetBuilder::new();
        for p in patterns.iter().flat_map(|p| p.split(',')) {
            b.add(
                globset::Glob::new(p.trim())
                    .map_err(|e| format!("invalid host pattern '{p}': {e}"))?,
            );
        }
        Some(b.build().map_err(|e| e.to_string())?)
    };
    Ok(names
        .iter()
        .filter_map(|n| inventory.host(n))
        .filter(|h| {
            matcher
                .as_ref()
                .is_none_or(|m| m.is_match(&h.name) || h.groups.iter().any(|g| m.is_match(g)))
        })
        .collect())
}

/// The resources and handlers that apply to `host`, in order: declaration order (file,
/// play, position), moved after what they `require`. Errors on a `requires` cycle or a
/// required resource that does not apply to this host.
pub fn host_work<'a>(
    inventory: &Inventory,
    declarations: &'a Declarations,
    host: &Host,
) -> Result<(Vec<&'a Resource>, Vec<&'a Handler>), String> {
    let mut resources: Vec<&Resource> = Vec::new();
    let mut handlers: Vec<&Handler> = Vec::new();
    for file in &declarations.files {
        for play in &file.plays {
            let applies = play.hosts.iter().any(|t| {
                inventory
                    .resolve(&t.name)
                    .iter()
                    .any(|h| h.name == host.name)
            });
            if !applies {
                continue;
            }
            for r in &play.resources {
                if !resources.iter().any(|x| x.file == r.file && x.id == r.id) {
                    resources.push(r);
                }
            }
            for h in &play.handlers {
                if !handlers
                    .iter()
                    .any(|x| x.file == h.file && x.name == h.name)
                {
                    handlers.push(h);
                }
            }
        }
    }
    // Stable topological order: repeatedly take the first resource whose requirements
    // are all placed.
    let mut placed: Vec<&Resource> = Vec::with_capacity(resources.len());
    let mut pending = resources;
    while !pending.is_empty() {
        let pos = pending.iter().position(|r| {
            r.requires
                .iter()
                .all(|req| placed.iter().any(|p| p.file == r.file && &p.id == req))
        });
        match pos {
            Some(i) => placed.push(pending.remove(i)),
            None => {
                let r = pending[0];
                let missing: Vec<&String> = r
                    .requires
                    .iter()
                    .filter(|req| !placed.iter().any(|p| p.file == r.file && &p.id == *req))
                    .collect();
                let all_here = missing
                    .iter()
                    .all(|m| pending.iter().any(|p| p.file == r.file && &p.id == *m));
                return Err(if all_here {
                    format!("{}: '{}' is part of a `requires` cycle", r.location(), r.id)
                } else {
                    format!(
                        "{}: '{}' requires '{}', which does not apply to host '{}'",
                        r.location(),
                        r.id,
                        missing.first().map_or("", |s| s.as_str()),
                        host.name
                    )
                });
            }
        }
    }
    Ok((placed, handlers))
}

/// Plans (and with [`Mode::Apply`], applies) on `hosts`, all at once up to
/// `options.parallelism`. `workspace_dir` resolves relative SSH key and known_hosts paths.
pub fn run(
    mode: Mode,
    inventory: &Inventory,
    declarations: &Declarations,
    hosts: &[Host],
    workspace_dir: &Path,
    options: &Options,
) -> RunReport {
    let control_dir = tempfile::Builder::new()
        .prefix("gantry-ssh-")
        .tempdir_in("/tmp")
        .ok();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<HostReport>>> = Mutex::new(vec![None; hosts.len()]);
    let workers = options.parallelism.clamp(1, hosts.len().max(1));
    let masker = Masker::new(options.secrets.values().map(Secret::expose));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(host) = hosts.get(i) else { break };
                    let progress = options.progress.as_ref();
                    if let Some(p) = progress {
                        p.phase(&host.name, Phase::Checking);
                    }
                    let report = match &control_dir {
                        Some(dir) => {
                            let transport = transport_for(host, workspace_dir, dir.path(), options);
                            let mut report = run_host(
                                mode,
                                inventory,
                                declarations,
                                host,
                                transport.as_ref(),
                                options,
                            );
                            transport.close();
                            mask(&mut report, &masker);
                            report
                        }
                        None => failed(
                            host,
                            "cannot create a directory for SSH control sockets".into(),
                        ),
                    };
                    if let Some(p) = progress {
                        p.done(&report);
                    }
                    if let Ok(mut results) = results.lock() {
                        results[i] = Some(report);
                    }
                }
            });
        }
    });
    let hosts: Vec<HostReport> = results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect();
    let summary = summarize(&hosts);
    RunReport {
        mode,
        hosts,
        summary,
    }
}

fn transport_for(
    host: &Host,
    workspace_dir: &Path,
    control_dir: &Path,
    options: &Options,
) -> Box<dyn Transport> {
    crate::transport::for_host(host, workspace_dir, control_dir, options.connect_timeout)
}

fn failed(host: &Host, error: String) -> HostReport {
    HostReport {
        host: host.name.clone(),
        status: HostStatus::Failed,
        error: Some(error),
        facts: Facts::default(),
        resources: Vec::new(),
        handlers: Vec::new(),
        fingerprint: String::new(),
    }
}

fn transport_failure(host: &Host, error: TransportError) -> HostReport {
    let status = match error {
        TransportError::Unreachable(_) => HostStatus::Unreachable,
        _ => HostStatus::Failed,
    };
    HostReport {
        status,
        ..failed(host, error.to_string())
    }
}

/// Runs a script and insists on its end marker.
fn run_script(transport: &dyn Transport, script: &str) -> Result<Report, TransportError> {
    let out = transport.run(script)?;
    let report = report::parse(&out.stdout);
    if !report.complete {
        let why = out.stderr.trim();
        return Err(TransportError::Failed(format!(
            "the script on the host stopped early (exit code {}){}{}",
            out.code
                .map_or_else(|| "none".to_string(), |c| c.to_string()),
            if why.is_empty() { "" } else { ": " },
            why
        )));
    }
    Ok(report)
}

fn run_host(
    mode: Mode,
    inventory: &Inventory,
    declarations: &Declarations,
    host: &Host,
    transport: &dyn Transport,
    options: &Options,
) -> HostReport {
    let secrets = &options.secrets;
    // `apply --plan`: `Some(None)` for a host the saved plan does not have.
    let saved: Option<Option<&SavedHost>> = options.saved.as_ref().map(|p| p.host(&host.name));
    let progress = options.progress.as_ref();
    let (resources, handlers) = match host_work(inventory, declarations, host) {
        Ok(work) => work,
        Err(e) => return failed(host, e),
    };
    let check = match run_script(transport, &script::check(&resources)) {
        Ok(report) => report,
        Err(e) => return transport_failure(host, e),
    };
    // Templates render now that the facts are known, into the files they compare and
    // apply as.
    let context = template_context(inventory, host, &check.facts, secrets);
    let kinds: Vec<&'static str> = resources
        .iter()
        .map(|r| r.spec.as_type().type_name())
        .collect();
    let mut render_errors: Vec<Option<String>> = vec![None; resources.len()];
    // Templates rendered with every secret as a mark, to blank old secrets in diffs.
    let mut skeletons: Vec<Option<String>> = vec![None; resources.len()];
    let skeleton_context = (!secrets.is_empty()).then(|| {
        let marks: IndexMap<String, Secret> = secrets
            .keys()
            .map(|k| (k.clone(), Secret::new(crate::resource::SECRET_MARK)))
            .collect();
        template_context(inventory, host, &check.facts, &marks)
    });
    let rendered: Vec<Option<Resource>> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let Spec::Template(t) = &r.spec else {
                return None;
            };
            match t.render(&r.location(), &context) {
                Ok(file) => {
                    if let Some(Ok(skeleton)) = skeleton_context
                        .as_ref()
                        .map(|c| t.render(&r.location(), c))
                        && let FileContent::Inline(text) = skeleton.content
                        && text.contains(crate::resource::SECRET_MARK)
                    {
                        skeletons[i] = Some(text);
                    }
                    Some(Resource {
                        spec: Spec::File(file),
                        ..(*r).clone()
                    })
                }
                Err(e) => {
                    render_errors[i] = Some(e);
                    None
                }
            }
        })
        .collect();
    let resources: Vec<&Resource> = resources
        .iter()
        .zip(&rendered)
        .map(|(r, x)| x.as_ref().unwrap_or(r))
        .collect();
    let empty = Observed::default();
    let observed: Vec<&Observed> = (0..resources.len())
        .map(|i| check.resources.get(&i).unwrap_or(&empty))
        .collect();
    let mut reports: Vec<ResourceReport> = resources
        .iter()
        .zip(&observed)
        .enumerate()
        .map(|(i, (r, o))| {
            // A check that printed nothing for a resource (its shell lines failed) is not
            // evidence that the resource is missing.
            let check = if let Some(message) = &render_errors[i] {
                Check::Error {
                    message: message.clone(),
                }
            } else if o.0.is_empty() {
                Check::Error {
                    message: "the check reported nothing for this resource".into(),
                }
            } else {
                r.spec.as_type().compare(o)
            };
            let check = match (check, &skeletons[i], &r.spec) {
                (Check::Change { mut changes }, Some(skeleton), Spec::File(file)) => {
                    redact_diffs(&mut changes, file, o, skeleton);
                    Check::Change { changes }
                }
                (check, _, _) => check,
            };
            let (status, changes, message) = match check {
                Check::Unchanged => (ResourceStatus::Unchanged, Vec::new(), None),
                Check::Change { changes } => (ResourceStatus::Change, changes, None),
                Check::Error { message } => (ResourceStatus::Failed, Vec::new(), Some(message)),
            };
            ResourceReport {
                id: r.id.clone(),
                kind: kinds[i],
                location: r.location(),
                status,
                changes,
                message,
                fingerprint: String::new(),
            }
        })
        .collect();
    let masker = Masker::new(secrets.values().map(Secret::expose));
    for (i, rep) in reports.iter_mut().enumerate() {
        let mut apply = String::new();
        if rep.status == ResourceStatus::Change {
            resources[i]
                .spec
                .as_type()
                .apply_script(observed[i], &mut apply);
        }
        rep.fingerprint = saved::resource_fingerprint(rep, observed[i], &apply, &masker);
    }
    let fingerprint = saved::host_fingerprint(&check.facts, &reports);
    let notified = |reports: &[ResourceReport], status: ResourceStatus| -> Vec<usize> {
        // Handler names are scoped to their file, as `notify` is checked.
        let names: HashSet<(&str, &str)> = resources
            .iter()
            .zip(reports)
            .filter(|(_, rep)| rep.status == status)
            .flat_map(|(r, _)| r.notify.iter().map(|n| (r.file.as_str(), n.as_str())))
            .collect();
        (0..handlers.len())
            .filter(|i| names.contains(&(handlers[*i].file.as_str(), handlers[*i].name.as_str())))
            .collect()
    };
    let mut host_report = HostReport {
        host: host.name.clone(),
        status: HostStatus::Ok,
        error: None,
        facts: check.facts.clone(),
        resources: Vec::new(),
        handlers: Vec::new(),
        fingerprint,
    };
    if let Some(saved) = saved {
        let why = match saved {
            None => Some("the host is not in the saved plan".to_string()),
            Some(saved) => saved.mismatch(&host_report.fingerprint, &reports),
        };
        if let Some(why) = why {
            for r in reports.iter_mut() {
                if r.status == ResourceStatus::Change {
                    r.status = ResourceStatus::NotApplied;
                    r.message = Some("not applied: the host changed since the saved plan".into());
                }
            }
            host_report.status = HostStatus::Failed;
            host_report.error = Some(format!(
                "refusing to apply the saved plan: {why}; plan again"
            ));
            host_report.resources = reports;
            return host_report;
        }
    }
    if mode == Mode::Plan {
        host_report.handlers = notified(&reports, ResourceStatus::Change)
            .into_iter()
            .map(|i| HandlerReport {
                name: handlers[i].name.clone(),
                status: HandlerStatus::WouldRun,
                output: None,
            })
            .collect();
        host_report.resources = reports;
        return host_report;
    }

    // Apply: the changed resources whose requirements did not fail, in order.
    let mut blocked: HashSet<(&str, &str)> = HashSet::new();
    let mut steps = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        let needs_failed = r
            .requires
            .iter()
            .any(|req| blocked.contains(&(r.file.as_str(), req.as_str())));
        match reports[i].status {
            ResourceStatus::Failed => {
                blocked.insert((&r.file, &r.id));
            }
            ResourceStatus::Change if needs_failed => {
                blocked.insert((&r.file, &r.id));
                reports[i].status = ResourceStatus::NotApplied;
                reports[i].message = Some("a resource it requires failed".into());
            }
            ResourceStatus::Change => steps.push((i, *r, observed[i])),
            _ => {}
        }
    }
    if !steps.is_empty() {
        if let Some(p) = progress {
            p.phase(
                &host.name,
                Phase::Applying {
                    resources: steps.len(),
                },
            );
        }
        match run_script_lenient(transport, &script::apply(&steps)) {
            Ok(applied) => {
                let mut stopped = false;
                for (i, _, _) in &steps {
                    match applied.applied.get(i) {
                        Some(o) if o.code == 0 && !stopped => {
                            reports[*i].status = ResourceStatus::Applied;
                        }
                        Some(o) => {
                            stopped = true;
                            reports[*i].status = ResourceStatus::Failed;
                            reports[*i].message = Some(o.output.trim().to_string());
                        }
                        None => {
                            reports[*i].status = ResourceStatus::NotApplied;
                            reports[*i].message = Some(if stopped {
                                "not attempted: an earlier resource failed".into()
                            } else {
                                "not attempted: the connection ended".into()
                            });
                        }
                    }
                }
                if !applied.complete {
                    host_report.status = HostStatus::Failed;
                    host_report.error =
                        Some("the apply script stopped early (connection lost?)".into());
                }
            }
            Err(e) => {
                for (i, _, _) in &steps {
                    reports[*i].status = ResourceStatus::NotApplied;
                    reports[*i].message = Some(format!("not attempted: {e}"));
                }
                host_report.status = match e {
                    TransportError::Unreachable(_) => HostStatus::Unreachable,
                    _ => HostStatus::Failed,
                };
                host_report.error = Some(e.to_string());
            }
        }
    }
    let to_run: Vec<(usize, &Handler)> = notified(&reports, ResourceStatus::Applied)
        .into_iter()
        .map(|i| (i, handlers[i]))
        .collect();
    if !to_run.is_empty() && host_report.status == HostStatus::Ok {
        if let Some(p) = progress {
            p.phase(
                &host.name,
                Phase::Handlers {
                    handlers: to_run.len(),
                },
            );
        }
        let units_changed = resources
            .iter()
            .zip(&reports)
            .any(|(r, rep)| rep.status == ResourceStatus::Applied && touches_units(&r.spec));
        match run_script_lenient(transport, &script::handlers(&to_run, units_changed)) {
            Ok(ran) => {
                for (i, h) in &to_run {
                    let outcome = ran.handlers.get(i);
                    host_report.handlers.push(HandlerReport {
                        name: h.name.clone(),
                        status: match outcome {
                            Some(o) if o.code == 0 => HandlerStatus::Ran,
                            _ => HandlerStatus::Failed,
                        },
                        output: outcome
                            .map(|o| o.output.trim().to_string())
                            .filter(|o| !o.is_empty()),
                    });
                }
            }
            Err(e) => {
                host_report.status = HostStatus::Failed;
                host_report.error = Some(format!("handlers: {e}"));
            }
        }
    }
    host_report.resources = reports;
    host_report
}

/// Like [`run_script`], but a report cut short is returned (what it says was applied
/// was applied).
fn run_script_lenient(transport: &dyn Transport, script: &str) -> Result<Report, TransportError> {
    let out = transport.run(script)?;
    Ok(report::parse(&out.stdout))
}

fn summarize(hosts: &[HostReport]) -> Summary {
    let mut s = Summary::default();
    for h in hosts {
        match h.status {
            HostStatus::Unreachable => s.hosts_unreachable += 1,
            HostStatus::Failed => s.hosts_failed += 1,
            HostStatus::Ok => {}
        }
        for r in &h.resources {
            match r.status {
                ResourceStatus::Unchanged => s.unchanged += 1,
                ResourceStatus::Change | ResourceStatus::Applied => s.changed += 1,
                ResourceStatus::Failed => s.failed += 1,
                ResourceStatus::NotApplied => s.not_applied += 1,
            }
        }
        s.failed += h
            .handlers
            .iter()
            .filter(|x| x.status == HandlerStatus::Failed)
            .count();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::LocalTransport;
    use std::sync::atomic::AtomicUsize;

    /// The local transport, counting round trips.
    #[derive(Default)]
    struct Counting {
        calls: AtomicUsize,
    }

    impl Transport for Counting {
        fn run(&self, script: &str) -> Result<crate::transport::Output, TransportError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            LocalTransport::default().run(script)
        }
    }

    fn declarations(root: &Path) -> Declarations {
        let r = root.display();
        let source = format!(
            "- hosts: [local]\n  resources:\n    - directory: {{ path: {r}/d }}\n    - file: {{ path: {r}/d/a, content: a }}\n      notify: [h]\n    - file: {{ path: {r}/d/b, content: b }}\n      notify: [h]\n    - line: {{ path: {r}/d/c, line: x }}\n    - symlink: {{ path: {r}/l, target: {r}/d }}\n    - command: {{ run: \"touch {r}/done\", creates: {r}/done }}\n  handlers:\n    h: {{ run: \"echo h >> {r}/h\" }}\n"
        );
        let parsed = crate::parse::parse("infra/t.yml", &source);
        Declarations {
            files: vec![parsed.file.expect("valid")],
            warnings: Vec::new(),
        }
    }

    #[test]
    fn a_plan_is_one_round_trip_and_an_apply_at_most_three() {
        let dir = tempfile::tempdir().expect("tempdir");
        let decls = declarations(dir.path());
        let inventory = Inventory::default();
        let host = inventory.host("local").expect("local is built in");
        let calls = |mode| {
            let t = Counting::default();
            let report = run_host(mode, &inventory, &decls, &host, &t, &Options::default());
            (t.calls.load(Ordering::SeqCst), report)
        };
        let (n, plan) = calls(Mode::Plan);
        assert_eq!(n, 1);
        assert_eq!(plan.resources.len(), 6);
        assert!(
            plan.resources
                .iter()
                .all(|r| r.status == ResourceStatus::Change)
        );
        // Check, apply, handlers.
        let (n, applied) = calls(Mode::Apply);
        assert_eq!(n, 3, "{applied:?}");
        assert!(
            applied
                .resources
                .iter()
                .all(|r| r.status == ResourceStatus::Applied)
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("h")).expect("handler ran"),
            "h\n"
        );
        // Nothing to do: the check only.
        let (n, again) = calls(Mode::Apply);
        assert_eq!(n, 1);
        assert!(
            again
                .resources
                .iter()
                .all(|r| r.status == ResourceStatus::Unchanged)
        );
    }

    #[test]
    fn a_failure_stops_the_host_and_says_what_was_applied() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = dir.path().display();
        let source = format!(
            "- hosts: [local]\n  resources:\n    - file: {{ path: {r}/first, content: a }}\n    - command: {{ run: \"echo boom >&2; exit 3\" }}\n    - file: {{ path: {r}/third, content: c }}\n"
        );
        let decls = Declarations {
            files: vec![
                crate::parse::parse("infra/t.yml", &source)
                    .file
                    .expect("valid"),
            ],
            warnings: Vec::new(),
        };
        let inventory = Inventory::default();
        let host = inventory.host("local").expect("local is built in");
        let report = run_host(
            Mode::Apply,
            &inventory,
            &decls,
            &host,
            &LocalTransport::default(),
            &Options::default(),
        );
        let statuses: Vec<ResourceStatus> = report.resources.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [
                ResourceStatus::Applied,
                ResourceStatus::Failed,
                ResourceStatus::NotApplied
            ]
        );
        assert_eq!(report.resources[1].message.as_deref(), Some("boom"));
        assert!(dir.path().join("first").exists());
        assert!(!dir.path().join("third").exists());
    }

    #[test]
    fn handlers_are_scoped_to_their_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = dir.path().display();
        let a = format!(
            "- hosts: [local]\n  resources:\n    - file: {{ path: {r}/a, content: a }}\n  handlers:\n    h: {{ run: \"echo a >> {r}/ran\" }}\n"
        );
        let b = format!(
            "- hosts: [local]\n  resources:\n    - file: {{ path: {r}/b, content: b }}\n      notify: [h]\n  handlers:\n    h: {{ run: \"echo b >> {r}/ran\" }}\n"
        );
        let decls = Declarations {
            files: vec![
                crate::parse::parse("infra/a.yml", &a).file.expect("valid"),
                crate::parse::parse("infra/b.yml", &b).file.expect("valid"),
            ],
            warnings: Vec::new(),
        };
        let inventory = Inventory::default();
        let host = inventory.host("local").expect("local is built in");
        let report = run_host(
            Mode::Apply,
            &inventory,
            &decls,
            &host,
            &LocalTransport::default(),
            &Options::default(),
        );
        assert_eq!(report.handlers.len(), 1, "{report:?}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("ran")).expect("a handler ran"),
            "b\n"
        );
    }

    #[test]
    fn progress_tells_each_phase_of_a_host_then_its_outcome() {
        use crate::progress::{HostOutcome, Phase, Progress, ProgressEvent};
        use std::sync::Arc;
        let dir = tempfile::tempdir().expect("tempdir");
        let decls = declarations(dir.path());
        let inventory = Inventory::default();
        let host = inventory.host("local").expect("local is built in");
        let seen: Arc<Mutex<Vec<ProgressEvent>>> = Arc::default();
        let sink = Arc::clone(&seen);
        let options = Options {
            progress: Some(Progress::new(move |e| sink.lock().expect("lock").push(e))),
            ..Options::default()
        };
        let events = |mode| {
            seen.lock().expect("lock").clear();
            run(
                mode,
                &inventory,
                &decls,
                std::slice::from_ref(&host),
                dir.path(),
                &options,
            );
            seen.lock().expect("lock").clone()
        };
        let phase = |phase| ProgressEvent::Phase {
            host: "local".into(),
            phase,
        };
        let done = |changed, unchanged| ProgressEvent::Done {
            host: "local".into(),
            outcome: HostOutcome {
                status: HostStatus::Ok,
                changed,
                failed: 0,
                unchanged,
                error: None,
            },
        };
        assert_eq!(events(Mode::Plan), [phase(Phase::Checking), done(6, 0)]);
        assert_eq!(
            events(Mode::Apply),
            [
                phase(Phase::Checking),
                phase(Phase::Applying { resources: 6 }),
                phase(Phase::Handlers { handlers: 1 }),
                done(6, 0)
            ]
        );
        assert_eq!(events(Mode::Apply), [phase(Phase::Checking), done(0, 6)]);
    }
}
