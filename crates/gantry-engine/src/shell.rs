//! Turning a step's `shell:` into the command that runs its script file.

use gantry_pipeline::ExecutorKind;
use std::sync::OnceLock;

/// The file extension the script is written with (some interpreters care).
pub fn script_extension(shell: Option<&str>) -> &'static str {
    match shell.map(str::trim) {
        Some("python") | Some("python3") => "py",
        _ => "sh",
    }
}

fn host_has_bash() -> bool {
    static HAS_BASH: OnceLock<bool> = OnceLock::new();
    *HAS_BASH.get_or_init(|| {
        std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|dir| dir.join("bash").is_file())
        })
    })
}

/// The argv running `script` (a guest path) with `shell`.
/// - none: bash with `-eo pipefail` (stop at the first failing command, also inside a
///   pipe), or `sh -e` where bash is missing (resolved inside the container for docker);
/// - `bash`, `sh`, `python`: those interpreters;
/// - anything else: a command line where `{0}` stands for the script file (appended
///   when absent), e.g. `perl {0}` or `node`.
pub fn argv(shell: Option<&str>, script: &str, executor: ExecutorKind) -> Vec<String> {
    let bash = || vec!["bash", "--noprofile", "--norc", "-eo", "pipefail", script];
    let v: Vec<&str> = match shell.map(str::trim) {
        None | Some("") => match executor {
            ExecutorKind::Docker => vec![
                "/bin/sh",
                "-c",
                "if command -v bash >/dev/null 2>&1; then exec bash --noprofile --norc -eo pipefail \"$1\"; else exec sh -e \"$1\"; fi",
                "sh",
                script,
            ],
            _ if host_has_bash() => bash(),
            _ => vec!["sh", "-e", script],
        },
        Some("bash") => bash(),
        Some("sh") => vec!["sh", "-e", script],
        Some("python") | Some("python3") => vec!["python3", script],
        Some(custom) => {
            let mut parts: Vec<&str> = custom.split_whitespace().collect();
            if parts.contains(&"{0}") {
                for p in parts.iter_mut() {
                    if *p == "{0}" {
                        *p = script;
                    }
                }
            } else {
                parts.push(script);
            }
            parts
        }
    };
    v.into_iter().map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shells() {
        assert_eq!(
            argv(Some("sh"), "/s", ExecutorKind::Host),
            ["sh", "-e", "/s"]
        );
        assert_eq!(
            argv(Some("python"), "/s", ExecutorKind::Host),
            ["python3", "/s"]
        );
        assert_eq!(
            argv(Some("perl -w {0}"), "/s", ExecutorKind::Host),
            ["perl", "-w", "/s"]
        );
        assert_eq!(argv(Some("node"), "/s", ExecutorKind::Host), ["node", "/s"]);
        assert_eq!(argv(None, "/s", ExecutorKind::Docker)[0], "/bin/sh");
        assert_eq!(
            argv(None, "/s", ExecutorKind::Host)
                .last()
                .map(String::as_str),
            Some("/s")
        );
    }
}
