//! Remote URLs: removing credentials before a URL is shown, and refusing URLs git would
//! read as something else.

use super::GitError;
use super::error::excerpt;

/// The URL without its `user:password@` part, for messages and logs.
/// `https://bot:s3cret@git.example.com/a.git` → `https://git.example.com/a.git`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some((authority, path)) = rest.split_at_checked(authority_end) else {
        return url.to_string();
    };
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{path}"),
        None => url.to_string(),
    }
}

/// The secret parts of a URL's user info (the whole `user:password` and the password,
/// raw and percent-decoded), to mask in git's error output.
pub(super) fn url_secrets(url: &str) -> Vec<String> {
    let Some((_, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return Vec::new();
    };
    let mut secrets = vec![userinfo.to_string()];
    if let Some((_, password)) = userinfo.split_once(':') {
        secrets.push(password.to_string());
        secrets.push(
            percent_encoding::percent_decode_str(password)
                .decode_utf8_lossy()
                .into_owned(),
        );
    } else {
        // A lone user info is often a token (`https://<token>@host/…`).
        secrets.push(
            percent_encoding::percent_decode_str(userinfo)
                .decode_utf8_lossy()
                .into_owned(),
        );
    }
    secrets.retain(|s| !s.is_empty());
    secrets
}

/// A URL git will treat as a repository: not empty, not an option, no control characters.
pub(super) fn check_url(url: &str) -> Result<(), GitError> {
    let invalid = |reason| GitError::InvalidUrl {
        url: excerpt(&redact_url(url)),
        reason,
    };
    if url.trim().is_empty() {
        return Err(invalid("empty"));
    }
    if url.starts_with('-') {
        return Err(invalid("starts with '-'"));
    }
    if url.chars().any(char::is_control) {
        return Err(invalid("contains control characters"));
    }
    if url.len() > 4096 {
        return Err(invalid("longer than 4096 bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
            redact_url("https://a:b@c@host/x?y=@z"),
            "https://host/x?y=@z"
        );
        assert_eq!(
            redact_url("git@github.com:acme/web.git"),
            "git@github.com:acme/web.git"
        );
        assert_eq!(redact_url("/srv/git/web.git"), "/srv/git/web.git");
        assert_eq!(
            redact_url("git://127.0.0.1:9418/r.git"),
            "git://127.0.0.1:9418/r.git"
        );
    }

    #[test]
    fn secrets_include_decoded_password() {
        let s = url_secrets("https://bot:p%40ss@host/x");
        assert!(s.contains(&"bot:p%40ss".to_string()));
        assert!(s.contains(&"p@ss".to_string()));
        assert!(url_secrets("https://host/x").is_empty());
    }

    #[test]
    fn refuses_option_like_urls() {
        assert!(check_url("--upload-pack=touch /tmp/pwned").is_err());
        assert!(check_url("").is_err());
        assert!(check_url("https://h/x\n").is_err());
        assert!(check_url("https://h/x.git").is_ok());
    }
}
