//! URL checks for `repo`, `server.url` and `forge.api_url`, and the credential
//! redaction that keeps `https://user:token@host/…` out of messages and `Debug`.
//!
//! Deliberately small: it checks what a typo or a misplaced value gets wrong (scheme,
//! host, port, path), not the whole of RFC 3986; git and the HTTP client report the rest.

use std::ops::Range;

/// Schemes git fetches from that Gantry accepts in `repo:`.
pub const GIT_SCHEMES: &[&str] = &["https", "http", "ssh", "git", "file"];

/// What is wrong with a URL: a reason completing "invalid URL for …: ", and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlProblem {
    pub reason: String,
    pub help: Option<String>,
}

impl UrlProblem {
    fn new(reason: impl Into<String>) -> Self {
        UrlProblem {
            reason: reason.into(),
            help: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// The URL without its `user:password@` part, for messages, logs and the API.
/// `https://bot:s3cret@git.example.com/a.git` → `https://git.example.com/a.git`.
pub fn redact_url(url: &str) -> String {
    match userinfo_range(url) {
        // The range includes the `@`, so removing it leaves `scheme://host…`.
        Some(range) => format!("{}{}", &url[..range.start], &url[range.end..]),
        None => url.to_string(),
    }
}

/// The byte range of `user:password@` in a `scheme://` URL, `@` included.
pub fn userinfo_range(url: &str) -> Option<Range<usize>> {
    let (scheme, rest) = url.split_once("://")?;
    let start = scheme.len() + 3;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let at = authority.rfind('@')?;
    Some(start..start + at + 1)
}

/// Checks a `repo:` value: a URL with one of [`GIT_SCHEMES`], or scp-like `user@host:path`.
pub fn check_git_url(url: &str) -> Result<(), UrlProblem> {
    check_common(url)?;
    let Some((scheme, rest)) = url.split_once("://") else {
        return check_scp_like(url);
    };
    let scheme = scheme.to_ascii_lowercase();
    if !GIT_SCHEMES.contains(&scheme.as_str()) {
        return Err(UrlProblem::new(format!("unsupported scheme '{scheme}://'"))
            .help("use an https://, http://, ssh://, git:// or file:// URL, or user@host:path"));
    }
    if scheme == "file" {
        let path = rest.strip_prefix("localhost").unwrap_or(rest);
        if !path.starts_with('/') || path.trim_matches('/').is_empty() {
            return Err(UrlProblem::new("a file:// URL needs an absolute path")
                .help("write file:///srv/git/web.git, or use `path:` for a directory relative to the workspace"));
        }
        return Ok(());
    }
    let path_start = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    check_authority(&rest[..path_start], true)?;
    if rest[path_start..].trim_matches('/').is_empty() {
        return Err(UrlProblem::new("the URL has no repository path")
            .help("add the repository's path, e.g. https://git.example.com/team/web.git"));
    }
    Ok(())
}

/// Checks an `http://` or `https://` URL (`server.url`, `forge.api_url`). Credentials
/// are refused: a token belongs in `token:`, where it is treated as a secret.
pub fn check_http_url(url: &str) -> Result<(), UrlProblem> {
    check_common(url)?;
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(UrlProblem::new("expected an http:// or https:// URL")
            .help(format!("write https://{url}")));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(UrlProblem::new(format!(
            "unsupported scheme '{scheme}://'; expected http:// or https://"
        )));
    }
    let path_start = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    check_authority(&rest[..path_start], false)
}

fn check_common(url: &str) -> Result<(), UrlProblem> {
    if url.trim().is_empty() {
        return Err(UrlProblem::new("the URL is empty"));
    }
    if url.starts_with('-') {
        // git would read it as an option (`--upload-pack=…`).
        return Err(UrlProblem::new("a URL must not start with '-'"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(
            UrlProblem::new("the URL contains spaces or control characters")
                .help("percent-encode spaces as %20"),
        );
    }
    if url.len() > 4096 {
        return Err(UrlProblem::new("the URL is longer than 4096 bytes"));
    }
    Ok(())
}

/// `[user[:password]@]host[:port]`; an IPv6 host is written in brackets.
fn check_authority(authority: &str, credentials_allowed: bool) -> Result<(), UrlProblem> {
    let host_port = match authority.rsplit_once('@') {
        Some(_) if !credentials_allowed => {
            return Err(UrlProblem::new("the URL must not contain credentials")
                .help("remove the user:password@ part; give a token with `token:`"));
        }
        Some((_, host_port)) => host_port,
        None => authority,
    };
    let (host, port) = if let Some(after) = host_port.strip_prefix('[') {
        let Some((v6, tail)) = after.split_once(']') else {
            return Err(UrlProblem::new(
                "an IPv6 address is missing its closing ']'",
            ));
        };
        if v6.is_empty()
            || !v6
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(UrlProblem::new(format!("invalid IPv6 address '[{v6}]'")));
        }
        match tail {
            "" => (v6, None),
            _ => match tail.strip_prefix(':') {
                Some(port) => (v6, Some(port)),
                None => return Err(UrlProblem::new("unexpected text after the IPv6 address")),
            },
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err(UrlProblem::new("the URL has no host"));
    }
    if !host_port.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(UrlProblem::new(format!(
            "invalid host '{host}'; a host has letters, digits, '.', '-' and '_'"
        )));
    }
    if let Some(port) = port
        && !matches!(port.parse::<u16>(), Ok(p) if p > 0)
    {
        return Err(UrlProblem::new(format!(
            "invalid port '{port}'; a port is a number from 1 to 65535"
        )));
    }
    Ok(())
}

/// git's rule: with no `://`, a `:` before the first `/` makes an scp-like SSH address;
/// anything else is a local path, which belongs in `path:`.
fn check_scp_like(url: &str) -> Result<(), UrlProblem> {
    let colon = url.find(':');
    let slash = url.find('/');
    let Some(colon) = colon.filter(|c| slash.is_none_or(|s| *c < s)) else {
        return Err(UrlProblem::new("this is not a git URL").help(format!(
            "for a local directory write `path: {url}`; for a remote repository use https://, ssh:// or user@host:path"
        )));
    };
    let (user_host, path) = (&url[..colon], &url[colon + 1..]);
    let host = user_host.rsplit_once('@').map_or(user_host, |(_, h)| h);
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(UrlProblem::new(format!("invalid host '{host}'")).help(
            "an scp-like address is written user@host:path, e.g. git@github.com:team/web.git",
        ));
    }
    if path.trim_matches('/').is_empty() {
        return Err(UrlProblem::new("the address has no repository path")
            .help("write user@host:path, e.g. git@github.com:team/web.git"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_git_urls() {
        for url in [
            "https://git.example.com/team/web.git",
            "http://127.0.0.1:3000/a/b",
            "ssh://git@git.example.com:2222/team/web.git",
            "git://127.0.0.1:9418/r.git",
            "file:///srv/git/web.git",
            "file://localhost/srv/git/web.git",
            "git@github.com:team/web.git",
            "github.com:team/web.git",
            "https://[::1]:8443/x.git",
            "https://bot:s3cret@git.example.com/a.git",
        ] {
            assert_eq!(check_git_url(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn refuses_bad_git_urls() {
        for (url, reason) in [
            ("ftp://h/x.git", "unsupported scheme 'ftp://'"),
            ("https://", "the URL has no host"),
            ("https://host", "the URL has no repository path"),
            ("https://host:99999/x", "invalid port '99999'"),
            ("../web", "this is not a git URL"),
            ("web", "this is not a git URL"),
            ("file://srv/x", "a file:// URL needs an absolute path"),
            ("--upload-pack=x", "a URL must not start with '-'"),
            (
                "https://h/a b",
                "the URL contains spaces or control characters",
            ),
            ("git@:x", "invalid host ''"),
        ] {
            let problem = check_git_url(url).unwrap_err();
            assert!(problem.reason.starts_with(reason), "{url}: {problem:?}");
        }
    }

    #[test]
    fn http_urls_refuse_credentials_and_other_schemes() {
        assert_eq!(check_http_url("https://ci.example.com/gantry"), Ok(()));
        assert!(check_http_url("https://u:p@ci.example.com").is_err());
        assert!(check_http_url("ci.example.com").is_err());
        assert!(check_http_url("ssh://ci.example.com").is_err());
    }

    #[test]
    fn redacts_user_info_only() {
        assert_eq!(
            redact_url("https://bot:s3cret@git.example.com/a.git"),
            "https://git.example.com/a.git"
        );
        assert_eq!(
            redact_url("https://tok@git.example.com:8443/a@b.git"),
            "https://git.example.com:8443/a@b.git"
        );
        assert_eq!(
            redact_url("git@github.com:acme/web.git"),
            "git@github.com:acme/web.git"
        );
        assert_eq!(userinfo_range("https://a:b@h/x"), Some(8..12));
    }
}
