//! Helpers: copy a project into a fresh git repository, run `gantry` in it, parse reports.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn gantry_bin() -> &'static str {
    env!("CARGO_BIN_EXE_gantry")
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// A temporary git repository holding a project, and a data directory for runs.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub data: tempfile::TempDir,
}

fn sh(dir: &Path, script: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Project {
    /// A copy of `examples/<name>` committed on branch main.
    pub fn example(name: &str) -> Project {
        let p = Project::empty();
        let src = repo_root().join("examples").join(name);
        sh(
            Path::new("/"),
            &format!("cp -a '{}/.' '{}/'", src.display(), p.dir.path().display()),
        );
        p.commit();
        p
    }

    /// A project with one pipeline file `.gantry/pipelines/ci.yml`.
    pub fn with_pipeline(yaml: &str) -> Project {
        let p = Project::empty();
        let dir = p.dir.path().join(".gantry/pipelines");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("ci.yml"), yaml).expect("write");
        p.commit();
        p
    }

    fn empty() -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        sh(dir.path(), "git init -q -b main");
        Project {
            dir,
            data: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn commit(&self) {
        sh(
            self.dir.path(),
            "git add -A && git -c user.email=dev@example.com -c user.name=Dev commit -qm 'initial commit'",
        );
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(gantry_bin());
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("GANTRY_DATA", self.data.path())
            .env("NO_COLOR", "1")
            .env_remove("CI");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run gantry")
    }

    /// `gantry run --json ARGS`: the exit code and the parsed report.
    pub fn run_json(&self, args: &[&str]) -> (i32, Value, Output) {
        let mut all = vec!["run", "--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not a JSON report ({e}).\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), report, out)
    }
}

/// The report of the job with `key`.
pub fn job<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["jobs"]
        .as_array()
        .and_then(|jobs| jobs.iter().find(|j| j["key"] == key))
        .unwrap_or_else(|| panic!("no job '{key}' in report: {report:#}"))
}

pub fn results(report: &Value) -> Vec<(String, String)> {
    report["jobs"]
        .as_array()
        .map(|jobs| {
            jobs.iter()
                .map(|j| {
                    (
                        j["key"].as_str().unwrap_or("").to_string(),
                        j["result"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// gantry-deploy's test service (a tiny HTTP server: `GET /` answers its `--version`,
/// `/healthz` fails when a file `unhealthy` lies beside it), compiled once per test
/// binary with rustc: it is std only, and cargo builds it as a binary of gantry-deploy,
/// which this package's tests cannot name.
pub fn testservice() -> PathBuf {
    static BUILT: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let source = repo_root().join("crates/gantry-deploy/tests/fixtures/testservice.rs");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gantry-deploy-testservice");
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let result = Command::new(rustc)
            .args([
                "--edition",
                "2024",
                "-C",
                "opt-level=1",
                "-C",
                "strip=debuginfo",
                "-o",
            ])
            .arg(&out)
            .arg(&source)
            .output()
            .map_err(|e| format!("cannot run rustc: {e}"))?;
        if result.status.success() {
            Ok(out)
        } else {
            Err(format!(
                "rustc {}: {}",
                source.display(),
                String::from_utf8_lossy(&result.stderr)
            ))
        }
    });
    built.clone().unwrap_or_else(|e| panic!("{e}"))
}
