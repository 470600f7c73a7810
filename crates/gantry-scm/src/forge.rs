//! The forges Gantry talks to, and the names they go by in configuration and URL paths.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A git forge. Forgejo is a fork of Gitea that kept Gitea's webhook and API formats, so
/// it is handled as `Gitea`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Forge {
    #[serde(rename = "github")]
    GitHub,
    #[serde(alias = "forgejo")]
    Gitea,
    #[serde(rename = "gitlab")]
    GitLab,
}

impl Forge {
    pub const ALL: [Forge; 3] = [Forge::GitHub, Forge::Gitea, Forge::GitLab];

    /// The lowercase name used in configuration and in `/hooks/<name>`.
    pub fn name(self) -> &'static str {
        match self {
            Forge::GitHub => "github",
            Forge::Gitea => "gitea",
            Forge::GitLab => "gitlab",
        }
    }

    /// The path the server serves this forge's webhooks on.
    pub fn hook_path(self) -> &'static str {
        match self {
            Forge::GitHub => "/hooks/github",
            Forge::Gitea => "/hooks/gitea",
            Forge::GitLab => "/hooks/gitlab",
        }
    }
}

impl fmt::Display for Forge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Forge::GitHub => "GitHub",
            Forge::Gitea => "Gitea",
            Forge::GitLab => "GitLab",
        })
    }
}

/// A forge name that is not one of `github`, `gitea`, `forgejo`, `gitlab`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown forge '{0}' (expected github, gitea, forgejo or gitlab)")]
pub struct UnknownForge(pub String);

impl FromStr for Forge {
    type Err = UnknownForge;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "github" => Ok(Forge::GitHub),
            "gitea" | "forgejo" => Ok(Forge::Gitea),
            "gitlab" => Ok(Forge::GitLab),
            _ => Err(UnknownForge(s.chars().take(40).collect())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_forgejo_is_gitea() {
        for forge in Forge::ALL {
            assert_eq!(forge.name().parse::<Forge>(), Ok(forge));
            assert_eq!(forge.hook_path(), format!("/hooks/{}", forge.name()));
        }
        assert_eq!("Forgejo".parse::<Forge>(), Ok(Forge::Gitea));
        assert_eq!(
            "bitbucket".parse::<Forge>().unwrap_err().to_string(),
            "unknown forge 'bitbucket' (expected github, gitea, forgejo or gitlab)"
        );
        let json = serde_json::to_string(&Forge::GitHub).unwrap();
        assert_eq!(json, "\"github\"");
        assert_eq!(
            serde_json::from_str::<Forge>("\"forgejo\"").unwrap(),
            Forge::Gitea
        );
    }
}
