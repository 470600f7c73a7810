//! What a host's templates see (its merged vars, `facts`, `host`, `secrets`), and
//! keeping secret values out of reports: the masker over every printed text, and diffs
//! of templates made again with the host's older secrets blanked.

use gantry_core::{Masker, Secret};
use gantry_workspace::{Connection, Host, Inventory};
use indexmap::IndexMap;

use crate::report::{Facts, Observed};
use crate::resource::{Change, FileSpec};
use crate::run::HostReport;

/// What templates see on `host`: its merged vars, `facts`, `host` (name, address,
/// groups) and `secrets`. Vars named `facts`, `host` or `secrets` are shadowed.
pub fn template_context(
    inventory: &Inventory,
    host: &Host,
    facts: &Facts,
    secrets: &IndexMap<String, Secret>,
) -> serde_json::Value {
    let mut map: serde_json::Map<String, serde_json::Value> =
        inventory.vars(host).into_iter().collect();
    let address = match &host.connection {
        Connection::Local => "127.0.0.1".to_string(),
        Connection::Ssh(target) => target.address.clone(),
    };
    map.insert(
        "host".into(),
        serde_json::json!({ "name": host.name, "address": address, "groups": host.groups }),
    );
    map.insert("facts".into(), serde_json::json!(facts.0));
    let secrets: serde_json::Map<String, serde_json::Value> = secrets
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.expose().to_string())))
        .collect();
    map.insert("secrets".into(), serde_json::Value::Object(secrets));
    serde_json::Value::Object(map)
}

/// A template with secrets: its content diff made again from the old content with
/// old secrets blanked (the masker then blanks the current ones).
pub(crate) fn redact_diffs(
    changes: &mut [Change],
    file: &FileSpec,
    observed: &Observed,
    skeleton: &str,
) {
    let new = String::from_utf8_lossy(file.content.bytes());
    // Too large or binary: the diff shows no content already.
    let Some(old) = observed.text("content") else {
        return;
    };
    for change in changes.iter_mut().filter(|c| c.field == "content") {
        let old = crate::resource::redact_old(&old, skeleton, &new);
        change.diff = Some(crate::resource::unified_diff(
            &file.path,
            old.as_bytes(),
            new.as_bytes(),
        ));
    }
}

/// Every secret value in the report's changes, messages and outputs becomes `***`.
pub(crate) fn mask(report: &mut HostReport, masker: &Masker) {
    if masker.is_empty() {
        return;
    }
    let m = |s: &mut String| *s = masker.mask(s);
    for r in &mut report.resources {
        r.message.iter_mut().for_each(m);
        for c in &mut r.changes {
            c.from.iter_mut().for_each(m);
            c.to.iter_mut().for_each(m);
            c.diff.iter_mut().for_each(m);
        }
    }
    for h in &mut report.handlers {
        h.output.iter_mut().for_each(m);
    }
    report.error.iter_mut().for_each(m);
}
