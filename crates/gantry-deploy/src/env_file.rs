//! The release's environment file: `run.systemd.env` / `run.docker.env` rendered (with
//! `secrets.NAME`) into `<release>/.gantry/env` (a blue-green slot: `env.<slot>`, as its
//! port may differ), mode 0600, which the unit reads with `EnvironmentFile=` and hooks
//! source with `set -a; . file`. One file for every value, secret or not, so no value is
//! in the unit file or on a command line. Pure.
//!
//! Each value is double-quoted with `\`, `"`, `$` and `` ` `` escaped by a backslash:
//! the one quoting systemd's environment-file parser and POSIX `sh` read alike (systemd
//! does not join `'a'\''b'` as sh does). Line breaks and NUL cannot be written so both
//! read them the same, and are refused.

use gantry_workspace::Run;

use crate::layout::Slot;
use crate::unit::{UnitContext, render_env_value};

/// The file a unit of `release_dir` (in `slot`, if any) reads its environment from.
pub fn path(release_dir: &str, slot: Option<Slot>) -> String {
    match slot {
        Some(slot) => format!("{release_dir}/.gantry/env.{}", slot.name()),
        None => format!("{release_dir}/.gantry/env"),
    }
}

/// The file's text for `run` in this context (a comment only when there is no env).
/// An error names the variable, never a value.
pub fn render(run: &Run, cx: &UnitContext<'_>) -> Result<String, String> {
    let mut out = format!(
        "# Written by Gantry for service {}, release {}: the service's environment. Only root may read it.\n",
        cx.service, cx.version
    );
    for (name, template) in run.env() {
        let value = render_env_value(template, cx, name)?;
        out.push_str(&line(name, &value).map_err(|why| format!("env '{name}' {why}"))?);
    }
    Ok(out)
}

/// `NAME="value"\n`; `Err` says why the value cannot be written.
fn line(name: &str, value: &str) -> Result<String, &'static str> {
    if value.contains(['\n', '\r']) {
        return Err("renders to more than one line, which an environment file cannot hold");
    }
    if value.contains('\0') {
        return Err("holds a NUL character");
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    Ok(format!("{name}=\"{quoted}\"\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_double_quoted_with_what_both_readers_unescape() {
        assert_eq!(line("A", "x y").unwrap(), "A=\"x y\"\n");
        assert_eq!(
            line("A", r#"say "hi" to $HOME, `id` \o/ 100% 'ok'"#).unwrap(),
            "A=\"say \\\"hi\\\" to \\$HOME, \\`id\\` \\\\o/ 100% 'ok'\"\n"
        );
        assert_eq!(line("EMPTY", "").unwrap(), "EMPTY=\"\"\n");
        assert!(line("A", "a\nb").is_err());
        assert!(line("A", "a\rb").is_err());
        assert!(line("A", "a\0b").is_err());
    }

    #[test]
    fn slots_have_their_own_file() {
        assert_eq!(path("/r/v2", None), "/r/v2/.gantry/env");
        assert_eq!(path("/r/v2", Some(Slot::Green)), "/r/v2/.gantry/env.green");
    }

    /// What `sh` reads back from the file is the value itself: the hooks' side of the
    /// quoting (systemd's side is checked on the container hosts, tests/it/secrets.rs).
    #[test]
    fn sh_reads_every_value_back_as_written() {
        let values = [
            "plain",
            "x y",
            r#"say "hi" to $HOME and ${USER}, `id`, $(id) \o/ \\ \"#,
            "100% 'quoted' ;|&<>*?[]{}~#!",
            "  spaces around  ",
            "",
        ];
        let mut file = String::new();
        for (i, v) in values.iter().enumerate() {
            file.push_str(&line(&format!("V{i}"), v).unwrap());
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env");
        std::fs::write(&path, &file).unwrap();
        let mut script = format!("set -a; . '{}'; set +a\n", path.display());
        for i in 0..values.len() {
            script.push_str(&format!("printf '%s\\0' \"$V{i}\"\n"));
        }
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let read: Vec<&str> = text.split('\0').take(values.len()).collect();
        assert_eq!(read, values);
    }
}
