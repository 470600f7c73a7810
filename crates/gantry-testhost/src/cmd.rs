//! Running the system tools (`ip`, `nft`) that do the actual network plumbing, with errors
//! that name the command and carry its stderr.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Where the tools usually live; tests run from `cargo test` often lack the sbin
/// directories in `PATH`, so these are searched before it.
const SBIN_DIRS: [&str; 4] = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// The full path of a system tool, or `None` when it is not installed.
pub(crate) fn find_tool(name: &str) -> Option<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    SBIN_DIRS
        .iter()
        .map(PathBuf::from)
        .chain(path_dirs)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The `ip` binary; resolved once because every namespace operation spawns it.
pub(crate) fn ip_path() -> &'static Path {
    static IP: OnceLock<PathBuf> = OnceLock::new();
    IP.get_or_init(|| find_tool("ip").unwrap_or_else(|| PathBuf::from("ip")))
}

/// The `nft` binary.
pub(crate) fn nft_path() -> &'static Path {
    static NFT: OnceLock<PathBuf> = OnceLock::new();
    NFT.get_or_init(|| find_tool("nft").unwrap_or_else(|| PathBuf::from("nft")))
}

/// Runs `program args…` with `stdin` fed in, returning stdout; a non-zero exit becomes an
/// error that shows the command line and what the tool printed.
pub(crate) fn run(program: &Path, args: &[&str], stdin: Option<&str>) -> io::Result<String> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let describe = || format!("`{} {}`", program.display(), args.join(" "));
    let mut child = cmd
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", describe())))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(io::Error::other(format!(
            "{} failed ({}): {}",
            describe(),
            output.status,
            stderr.trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `ip args…` in the root namespace.
pub(crate) fn ip(args: &[&str]) -> io::Result<String> {
    run(ip_path(), args, None)
}

/// Several `ip` commands in one process inside `netns` (one `ip -batch`), which keeps
/// creating a host to a handful of spawns.
pub(crate) fn ip_batch(netns: &str, lines: &[String]) -> io::Result<()> {
    run(
        ip_path(),
        &["-n", netns, "-batch", "-"],
        Some(&(lines.join("\n") + "\n")),
    )
    .map(drop)
}

/// Loads an nft script inside `netns`; `nft` has no namespace option of its own.
pub(crate) fn nft(netns: &str, script: &str) -> io::Result<()> {
    let nft = nft_path().to_string_lossy().into_owned();
    run(
        ip_path(),
        &["netns", "exec", netns, &nft, "-f", "-"],
        Some(script),
    )
    .map(drop)
}
