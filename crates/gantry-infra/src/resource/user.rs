//! `user`: a local account, read with `getent passwd` and `id` in the check script and
//! converged with `useradd`, `usermod` or `userdel`.

use serde::Serialize;

use super::{Change, Check, ResourceType};
use crate::report::Observed;
use crate::shell::quote;

/// Whether an account (or group) should exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Present,
    Absent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserSpec {
    pub name: String,
    pub uid: Option<u32>,
    /// The primary group, by name.
    pub group: Option<String>,
    /// The supplementary groups, exactly (the primary group aside); `None` leaves them.
    pub groups: Option<Vec<String>>,
    pub home: Option<String>,
    pub shell: Option<String>,
    /// A system account (`useradd -r`, no home directory created); used at creation only.
    pub system: bool,
    pub state: State,
}

/// The passwd fields of an existing account.
struct Account<'a> {
    uid: &'a str,
    home: &'a str,
    shell: &'a str,
}

fn account(observed: &Observed) -> Option<Account<'_>> {
    let fields: Vec<&str> = observed.get("passwd")?.split(':').collect();
    match fields.as_slice() {
        [_, _, uid, _, _, home, shell] => Some(Account { uid, home, shell }),
        _ => None,
    }
}

impl UserSpec {
    /// The supplementary groups the check found (sorted, without the primary group).
    fn observed_groups(observed: &Observed) -> Vec<String> {
        let primary = observed.get("gid_name").unwrap_or_default();
        let mut groups: Vec<String> = observed
            .get("groups")
            .unwrap_or_default()
            .split_whitespace()
            .filter(|g| *g != primary)
            .map(String::from)
            .collect();
        groups.sort();
        groups.dedup();
        groups
    }

    fn changes(&self, observed: &Observed) -> Result<Vec<Change>, String> {
        let Some(account) = account(observed) else {
            return Err(format!(
                "cannot read the account '{}' from getent passwd",
                self.name
            ));
        };
        let mut changes = Vec::new();
        let mut compare = |field: &str, have: &str, want: Option<String>| {
            if let Some(want) = want
                && want != have
            {
                changes.push(Change::new(field, Some(have.to_string()), Some(want)));
            }
        };
        compare("uid", account.uid, self.uid.map(|u| u.to_string()));
        compare(
            "group",
            observed.get("gid_name").unwrap_or_default(),
            self.group.clone(),
        );
        if let Some(groups) = &self.groups {
            let mut want = groups.clone();
            want.sort();
            want.dedup();
            let have = Self::observed_groups(observed);
            if want != have {
                changes.push(Change::new(
                    "groups",
                    Some(have.join(",")),
                    Some(want.join(",")),
                ));
            }
        }
        let mut compare = |field: &str, have: &str, want: Option<&String>| {
            if let Some(want) = want
                && want != have
            {
                changes.push(Change::new(
                    field,
                    Some(have.to_string()),
                    Some(want.clone()),
                ));
            }
        };
        compare("home", account.home, self.home.as_ref());
        compare("shell", account.shell, self.shell.as_ref());
        Ok(changes)
    }
}

impl ResourceType for UserSpec {
    fn type_name(&self) -> &'static str {
        "user"
    }

    fn default_id(&self) -> String {
        format!("user {}", self.name)
    }

    fn check_script(&self, index: usize, out: &mut String) {
        let n = quote(&self.name);
        out.push_str(&format!(
            "if _gl=$(getent passwd {n}); then echo \"R {index} type user\"; \
             echo \"R {index} passwd $_gl\"; echo \"R {index} gid_name $(id -gn {n} 2>/dev/null)\"; \
             echo \"R {index} groups $(id -Gn {n} 2>/dev/null)\"; \
             else echo \"R {index} type none\"; fi\n"
        ));
    }

    fn compare(&self, observed: &Observed) -> Check {
        match (self.state, observed.kind()) {
            (State::Absent, "none") => Check::Unchanged,
            (State::Absent, _) => Check::Change {
                changes: vec![Change::new("remove", Some(self.name.clone()), None)],
            },
            (State::Present, "none") => Check::Change {
                changes: vec![Change::new("create", None, Some(self.name.clone()))],
            },
            (State::Present, _) => match self.changes(observed) {
                Ok(changes) if changes.is_empty() => Check::Unchanged,
                Ok(changes) => Check::Change { changes },
                Err(message) => Check::Error { message },
            },
        }
    }

    fn apply_script(&self, observed: &Observed, out: &mut String) {
        let n = quote(&self.name);
        if self.state == State::Absent {
            out.push_str(&format!("userdel {n}\n"));
            return;
        }
        let mut args = String::new();
        let creating = observed.kind() == "none";
        let changed: Vec<String> = if creating {
            Vec::new()
        } else {
            self.changes(observed)
                .unwrap_or_default()
                .into_iter()
                .map(|c| c.field)
                .collect()
        };
        let wanted = |field: &str| creating || changed.iter().any(|c| c == field);
        if let Some(uid) = self.uid
            && wanted("uid")
        {
            args.push_str(&format!(" -u {uid}"));
        }
        if let Some(group) = &self.group
            && wanted("group")
        {
            args.push_str(&format!(" -g {}", quote(group)));
        }
        if let Some(groups) = &self.groups
            && wanted("groups")
            && !(creating && groups.is_empty())
        {
            args.push_str(&format!(" -G {}", quote(&groups.join(","))));
        }
        if let Some(home) = &self.home
            && wanted("home")
        {
            args.push_str(&format!(" -d {}", quote(home)));
        }
        if let Some(shell) = &self.shell
            && wanted("shell")
        {
            args.push_str(&format!(" -s {}", quote(shell)));
        }
        if creating {
            let kind = if self.system { " -r" } else { " -m" };
            out.push_str(&format!("useradd{kind}{args} {n}\n"));
        } else {
            out.push_str(&format!("usermod{args} {n}\n"));
        }
    }
}
