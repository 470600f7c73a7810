//! Which of the workspace's `secrets:` a service template reads (`{{ secrets.db }}`),
//! found statically so that the parser can check the names where they are written and a
//! deployer can resolve exactly the secrets a service needs. Pure.

use std::collections::BTreeSet;

/// The name templates reach the resolved secrets by.
pub const SECRETS_VAR: &str = "secrets";

/// One way a template reads the secrets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecretUse {
    /// `secrets.NAME` (also `secrets.NAME | upper`).
    Named(String),
    /// `secrets` itself (`secrets["db"]`, `secrets | tojson`): which secret cannot be
    /// told, so it is refused where it is written.
    Whole,
}

/// The uses of `secrets` in `template`, sorted; none for a template that does not parse
/// (its syntax error is reported on its own).
pub fn secret_uses(template: &str) -> Vec<SecretUse> {
    if !template.contains(SECRETS_VAR) {
        return Vec::new();
    }
    let env = minijinja::Environment::new();
    let Ok(parsed) = env.template_from_str(template) else {
        return Vec::new();
    };
    let uses: BTreeSet<SecretUse> = parsed
        .undeclared_variables(true)
        .into_iter()
        .filter_map(|var| {
            if var == SECRETS_VAR {
                return Some(SecretUse::Whole);
            }
            let rest = var.strip_prefix(SECRETS_VAR)?.strip_prefix('.')?;
            // `secrets.db.x` reads secret `db` (and fails at render time: it is text).
            let name = rest.split('.').next().unwrap_or(rest);
            Some(SecretUse::Named(name.to_string()))
        })
        .collect();
    uses.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_and_whole_uses_are_found() {
        assert_eq!(
            secret_uses("postgres://app:{{ secrets.db }}@{{ host }}/{{ secrets.db | urlencode }}"),
            [SecretUse::Named("db".into())]
        );
        assert_eq!(
            secret_uses("{{ secrets['db'] }}{{ secrets.api.x }}"),
            [SecretUse::Named("api".into()), SecretUse::Whole]
        );
        assert!(secret_uses("{{ secretsx }} secrets.db").is_empty());
        assert!(secret_uses("{{ secrets.db").is_empty(), "syntax error");
        assert!(secret_uses("{% set secrets = 1 %}{{ secrets }}").is_empty());
    }
}
