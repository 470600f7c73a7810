//! Which host a progress line of gantry-deploy is about, and whether it says the
//! deployment waits for approvals. gantry-deploy writes host lines as `<host>: …` and
//! the approval wait as `waiting for N approval(s) …` / `… approved by …`; pure, so the
//! attribution is tested on its own.

/// What a line changes besides being stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFacts<'a> {
    /// The host it is about: one of `hosts`, named first (`web1: healthy on v2`).
    pub host: Option<&'a str>,
    /// `Some(true)`: now waiting for approvals; `Some(false)`: approved.
    pub waiting: Option<bool>,
}

pub fn facts<'a>(line: &str, hosts: &'a [String]) -> LineFacts<'a> {
    let host = hosts
        .iter()
        .filter(|h| {
            line.strip_prefix(h.as_str())
                .is_some_and(|rest| rest.starts_with(':') || rest.starts_with(' '))
        })
        // The longest name wins (`web1` and `web10`: `web10: …` is about web10).
        .max_by_key(|h| h.len())
        .map(String::as_str);
    let waiting = if line.starts_with("waiting for ") && line.contains("approval") {
        Some(true)
    } else if line.contains(" approved by ") {
        Some(false)
    } else {
        None
    };
    LineFacts { host, waiting }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_attributed_to_the_host_they_name_first() {
        let hosts = vec!["web1".to_string(), "web10".to_string(), "db".to_string()];
        assert_eq!(facts("web10: healthy on v2", &hosts).host, Some("web10"));
        assert_eq!(
            facts("web1: unhealthy on v2: 500", &hosts).host,
            Some("web1")
        );
        assert_eq!(facts("db switched to v2", &hosts).host, Some("db"));
        assert_eq!(facts("running the pre hook on web1", &hosts).host, None);
        assert_eq!(facts("database: up", &hosts).host, None);
        let w = facts(
            "waiting for 1 approval(s) of web v2 to production from someone other than ann (have 0): gantry approve …",
            &hosts,
        );
        assert_eq!(w.waiting, Some(true));
        assert_eq!(
            facts("web v2 to production approved by bob", &hosts).waiting,
            Some(false)
        );
        assert_eq!(facts("web1: healthy on v2", &hosts).waiting, None);
    }
}
