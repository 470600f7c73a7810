//! Docker images of the test service, made here because no registry can be reached:
//! a root file system holding only the cargo-built binary and the shared libraries `ldd`
//! names for it (a few MB, not a whole distribution), imported with `docker import`,
//! saved with `docker save` as the release's artifact, then removed from the engine, so
//! a deploy must bring the image itself. [`Images`] removes what a test left behind.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The images of one test: its repository and the service whose pinned tags
/// (`gantry/<service>:<version>`) the deploys make, removed from the engine when dropped.
pub struct Images {
    pub repository: String,
    service: String,
}

impl Images {
    pub fn new(repository: &str, service: &str) -> Images {
        Images {
            repository: repository.to_string(),
            service: service.to_string(),
        }
    }

    /// Builds `<repository>:<tag>` from the test service (answering 500 on `/healthz`
    /// when `unhealthy`), saves it to `<dir>/<tag>.tar` and removes it from the engine.
    pub fn archive(&self, dir: &Path, tag: &str, unhealthy: bool) -> PathBuf {
        let image = format!("{}:{tag}", self.repository);
        let rootfs = rootfs(unhealthy);
        let mut import = Command::new("docker")
            .args(["import", "--change", "ENTRYPOINT [\"/app\"]", "-", &image])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        import.stdin.take().unwrap().write_all(&rootfs).unwrap();
        assert!(import.wait().unwrap().success(), "docker import {image}");
        let path = dir.join(format!("{tag}.tar"));
        docker(&["save", "-o", &path.to_string_lossy(), &image]);
        docker(&["rmi", &image]);
        path
    }

    /// Whether the machine's engine has `reference`.
    pub fn exists(reference: &str) -> bool {
        Command::new("docker")
            .args(["image", "inspect", reference])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    }
}

impl Drop for Images {
    fn drop(&mut self) {
        for reference in [self.repository.clone(), format!("gantry/{}", self.service)] {
            let out = Command::new("docker")
                .args(["images", "--format", "{{.Repository}}:{{.Tag}}", &reference])
                .output();
            if let Ok(out) = out {
                for image in String::from_utf8_lossy(&out.stdout).lines() {
                    let _ = Command::new("docker").args(["rmi", "-f", image]).output();
                }
            }
        }
    }
}

/// Runs `docker args…`, which must succeed.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A tar of `/app` (the test service), its shared libraries at the paths `ldd` names,
/// and `/unhealthy` beside the binary for a bad release.
fn rootfs(unhealthy: bool) -> Vec<u8> {
    let app = Path::new(env!("CARGO_BIN_EXE_gantry-deploy-testservice"));
    let ldd = Command::new("ldd").arg(app).output().unwrap();
    let libs: Vec<String> = String::from_utf8_lossy(&ldd.stdout)
        .lines()
        .filter_map(|line| {
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
            let path = line.split("=>").last()?.split_whitespace().next()?;
            path.starts_with('/').then(|| path.to_string())
        })
        .collect();
    assert!(
        !libs.is_empty(),
        "ldd found no libraries for {}",
        app.display()
    );
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(true);
    tar.append_path_with_name(app, "app").unwrap();
    let mut dirs: Vec<&Path> = libs
        .iter()
        .flat_map(|l| Path::new(l.trim_start_matches('/')).ancestors().skip(1))
        .filter(|d| !d.as_os_str().is_empty())
        .collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_size(0);
        header.set_mode(0o755);
        header.set_cksum();
        tar.append_data(&mut header, dir, std::io::empty()).unwrap();
    }
    for lib in &libs {
        tar.append_path_with_name(lib, lib.trim_start_matches('/'))
            .unwrap();
    }
    if unhealthy {
        let mut header = tar::Header::new_gnu();
        header.set_size(0);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, "unhealthy", std::io::empty())
            .unwrap();
    }
    tar.into_inner().unwrap()
}
