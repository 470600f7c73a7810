//! `cron`: one entry of a user's crontab, found by its marker comment
//! (`# gantry: <name>`) and written as a block: the marker, the entry's variable lines
//! (`env`), the entry. The check reads `crontab -l`; the apply edits the crontab as it is
//! on the host at that moment (the block replaced in place, or appended, or removed) and
//! installs it with `crontab -u USER -`, so every other line is kept and several cron
//! resources of one user compose. [`edit`] is that edit in Rust, for the plan's diff.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use super::{Change, Check, ResourceType, State, unified_diff};
use crate::report::Observed;
use crate::shell::quote;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CronSpec {
    /// The entry's identity, written in its marker comment.
    pub name: String,
    /// Whose crontab (default root).
    pub user: String,
    /// Five fields (`30 3 * * *`) or a nickname (`@daily`); empty for `state: absent`.
    pub schedule: String,
    /// The command; empty for `state: absent`.
    pub command: String,
    /// `NAME=value` lines written above the entry.
    pub env: Vec<(String, String)>,
    pub state: State,
}

/// The awk twin of [`edit`]: `_gmark` is the marker line, `_gblock` the new block (empty
/// to remove). A block is its marker, the variable lines after it and the next line.
const EDIT_AWK: &str = r#"BEGIN { m = ENVIRON["_gmark"]; b = ENVIRON["_gblock"] }
skip && /^[A-Za-z_][A-Za-z0-9_]*[ \t]*=/ { next }
skip { skip = 0; next }
$0 == m { skip = 1; if (!done && b != "") print b; done = 1; next }
{ print }
END { if (!done && b != "") print b }"#;

fn is_variable(line: &str) -> bool {
    let mut chars = line.chars();
    if !chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    {
        return false;
    }
    let rest = line.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
    rest.trim_start_matches([' ', '\t']).starts_with('=')
}

/// `crontab` with the block marked `marker` replaced by `block` (appended when there is
/// none; removed when `block` is `None`). Lines end with `\n`.
pub fn edit(crontab: &str, marker: &str, block: Option<&str>) -> String {
    let mut out = String::new();
    let (mut skip, mut done) = (false, false);
    let mut put = |text: &str| {
        out.push_str(text);
        out.push('\n');
    };
    for line in lines(crontab) {
        if skip {
            skip = false;
            if is_variable(line) {
                skip = true;
            }
            continue;
        }
        if line == marker {
            skip = true;
            if !done && let Some(block) = block {
                put(block);
            }
            done = true;
            continue;
        }
        put(line);
    }
    if !done && let Some(block) = block {
        put(block);
    }
    out
}

/// The lines of a crontab as the shell sees them: trailing newlines dropped.
fn lines(crontab: &str) -> impl Iterator<Item = &str> {
    let text = crontab.trim_end_matches('\n');
    text.split('\n').filter(move |_| !text.is_empty())
}

/// `crontab` normalised as [`edit`] writes it.
fn normalised(crontab: &str) -> String {
    lines(crontab).map(|l| format!("{l}\n")).collect()
}

impl CronSpec {
    fn marker(&self) -> String {
        format!("# gantry: {}", self.name)
    }

    /// The block this resource writes, without its last newline.
    fn block(&self) -> String {
        let mut lines = vec![self.marker()];
        lines.extend(self.env.iter().map(|(k, v)| format!("{k}={v}")));
        lines.push(format!("{} {}", self.schedule, self.command));
        lines.join("\n")
    }

    fn wanted(&self) -> Option<String> {
        (self.state == State::Present).then(|| self.block())
    }

    /// The entry line of this resource's block in `crontab`, if it has one.
    fn current_entry(&self, crontab: &str) -> Option<String> {
        let marker = self.marker();
        let mut it = lines(crontab).skip_while(|l| *l != marker).skip(1);
        it.find(|l| !is_variable(l)).map(String::from)
    }
}

impl ResourceType for CronSpec {
    fn type_name(&self) -> &'static str {
        "cron"
    }

    fn default_id(&self) -> String {
        format!("cron {}", self.name)
    }

    fn check_script(&self, index: usize, out: &mut String) {
        let u = quote(&self.user);
        out.push_str(&format!(
            "echo \"R {index} type cron\"\n\
             if ! command -v crontab >/dev/null 2>&1; then echo \"R {index} crontab_cmd 0\"; \
             else _gc=$(crontab -l -u {u} 2>/dev/null) || _gc=; \
             if [ -n \"$_gc\" ]; then echo \"R {index} crontab $(printf '%s\\n' \"$_gc\" | base64 -w0)\"; \
             else echo \"R {index} crontab \"; fi; fi\n"
        ));
    }

    fn compare(&self, observed: &Observed) -> Check {
        if observed.get("crontab_cmd") == Some("0") {
            return Check::Error {
                message: "crontab is not installed on this host (install the cron package)".into(),
            };
        }
        let Some(old) = observed.text("crontab") else {
            return Check::Error {
                message: format!("cannot read the crontab of '{}'", self.user),
            };
        };
        let new = edit(&old, &self.marker(), self.wanted().as_deref());
        let old = normalised(&old);
        if new == old {
            return Check::Unchanged;
        }
        let mut change = match (&self.state, self.current_entry(&old)) {
            (State::Absent, entry) => Change::new("remove", entry, None),
            (State::Present, entry) => Change::new(
                "entry",
                entry,
                Some(format!("{} {}", self.schedule, self.command)),
            ),
        };
        change.diff = Some(unified_diff(
            &format!("crontab of {}", self.user),
            old.as_bytes(),
            new.as_bytes(),
        ));
        Check::Change {
            changes: vec![change],
        }
    }

    fn apply_script(&self, _observed: &Observed, out: &mut String) {
        let u = quote(&self.user);
        let block = STANDARD.encode(self.wanted().unwrap_or_default());
        out.push_str(&format!(
            "_gmark={}; _gblock=$(printf '%s' '{block}' | base64 -d); export _gmark _gblock\n\
             _gc=$(crontab -l -u {u} 2>/dev/null) || _gc=\n\
             {{ if [ -n \"$_gc\" ]; then printf '%s\\n' \"$_gc\"; fi; }} | awk {} | crontab -u {u} -\n",
            quote(&self.marker()),
            quote(EDIT_AWK),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(state: State) -> CronSpec {
        CronSpec {
            name: "backup".into(),
            user: "root".into(),
            schedule: "30 3 * * *".into(),
            command: "/usr/local/bin/backup --all".into(),
            env: vec![("MAILTO".into(), "ops@example.com".into())],
            state,
        }
    }

    fn observed(crontab: &str) -> Observed {
        let mut o = Observed::default();
        o.0.insert("type".into(), "cron".into());
        o.0.insert("crontab".into(), STANDARD.encode(crontab));
        o
    }

    const MINE: &str =
        "# gantry: backup\nMAILTO=ops@example.com\n30 3 * * * /usr/local/bin/backup --all\n";

    #[test]
    fn edits_add_replace_and_remove_only_the_block() {
        let other = "# hand-written\nPATH=/usr/bin:/bin\n0 * * * * /bin/true\n";
        let s = spec(State::Present);
        let added = edit(other, &s.marker(), Some(&s.block()));
        assert_eq!(added, format!("{other}{MINE}"));
        // Replaced in place, other lines kept, idempotent.
        let old = format!("{other}# gantry: backup\n0 1 * * * old\n5 5 * * * /bin/after\n");
        let replaced = edit(&old, &s.marker(), Some(&s.block()));
        assert_eq!(replaced, format!("{other}{MINE}5 5 * * * /bin/after\n"));
        assert_eq!(edit(&replaced, &s.marker(), Some(&s.block())), replaced);
        // Removed with its variable lines, nothing else.
        assert_eq!(
            edit(&replaced, &s.marker(), None),
            format!("{other}5 5 * * * /bin/after\n")
        );
        assert_eq!(edit("", &s.marker(), None), "");
    }

    #[test]
    fn the_plan_shows_the_entry_and_a_diff() {
        let s = spec(State::Present);
        let Check::Change { changes } = s.compare(&observed("0 * * * * /bin/true\n")) else {
            panic!("a change")
        };
        assert_eq!(changes[0].field, "entry");
        assert_eq!(changes[0].from, None);
        let diff = changes[0].diff.as_deref().unwrap_or_default();
        assert!(diff.contains("+# gantry: backup"), "{diff}");
        assert!(
            diff.contains("+30 3 * * * /usr/local/bin/backup --all"),
            "{diff}"
        );
        assert!(!diff.contains("-0 * * * *"), "{diff}");
        assert_eq!(s.compare(&observed(MINE)), Check::Unchanged);
        let Check::Change { changes } = spec(State::Absent).compare(&observed(MINE)) else {
            panic!("a change")
        };
        assert_eq!(changes[0].field, "remove");
        assert_eq!(
            changes[0].from.as_deref(),
            Some("30 3 * * * /usr/local/bin/backup --all")
        );
        assert_eq!(spec(State::Absent).compare(&observed("")), Check::Unchanged);
    }

    #[test]
    fn a_missing_crontab_command_is_an_error() {
        let mut o = Observed::default();
        o.0.insert("crontab_cmd".into(), "0".into());
        assert!(matches!(
            spec(State::Present).compare(&o),
            Check::Error { .. }
        ));
    }

    /// What the apply script's awk makes of `crontab`, as the shell reads it.
    fn awk_edit(crontab: &str, marker: &str, block: Option<&str>) -> String {
        let script = format!(
            "_gmark={}; _gblock={}; export _gmark _gblock\n\
             _gc=$(printf '%s' {})\n\
             {{ if [ -n \"$_gc\" ]; then printf '%s\\n' \"$_gc\"; fi; }} | awk {}",
            quote(marker),
            quote(block.unwrap_or_default()),
            quote(crontab),
            quote(EDIT_AWK)
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .expect("sh runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// The plan's diff (Rust) and the apply (awk on the host) make the same crontab.
        #[test]
        fn the_awk_edit_matches_the_rust_edit_on_any_crontab(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("# gantry: backup".to_string()),
                    "[A-Z_]{1,4} ?= ?[ -~]{0,8}",
                    "[0-9*/,]{1,4} \\* \\* \\* \\* [ -~]{0,12}",
                    "[ -~]{0,16}",
                ],
                0..10,
            ),
            remove in proptest::bool::ANY,
        ) {
            let crontab: String = lines.iter().map(|l| format!("{l}\n")).collect();
            let s = spec(State::Present);
            let block = (!remove).then(|| s.block());
            proptest::prop_assert_eq!(
                awk_edit(&crontab, &s.marker(), block.as_deref()),
                edit(&crontab, &s.marker(), block.as_deref())
            );
        }
    }

    /// The awk in the apply script does what `edit` does, on awkward text too.
    #[test]
    fn the_awk_edit_matches_the_rust_edit() {
        let s = CronSpec {
            command: r"date +\%F > /tmp/d; echo 'a\tb' $HOME".into(),
            ..spec(State::Present)
        };
        let cases = [
            "",
            "0 * * * * /bin/true\n",
            "# gantry: backup\nX=1\nY = 2\n1 1 * * * old\n# gantry: backup\n2 2 * * * dup\nZ=3\n",
        ];
        for crontab in cases {
            for block in [Some(s.block()), None] {
                let script = format!(
                    "_gmark={}; _gblock={}; export _gmark _gblock\nprintf '%s' {} | awk {}",
                    quote(&s.marker()),
                    quote(block.as_deref().unwrap_or_default()),
                    quote(crontab),
                    quote(EDIT_AWK)
                );
                let out = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(&script)
                    .output()
                    .expect("sh runs");
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout),
                    edit(crontab, &s.marker(), block.as_deref()),
                    "{crontab:?} {block:?}"
                );
            }
        }
    }
}
