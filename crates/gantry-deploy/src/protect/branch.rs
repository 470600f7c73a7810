//! `branches:` of an environment: the build's branch must match one of the patterns
//! (`main`, `release/*`; globs with `*` not crossing `/`, as pipeline triggers).

/// `Ok` when the environment takes builds of `branch`.
pub fn check_branch(
    environment: &str,
    allowed: &[String],
    branch: Option<&str>,
) -> Result<(), String> {
    if allowed.is_empty() {
        return Ok(());
    }
    let list = allowed.join(", ");
    let Some(branch) = branch else {
        return Err(format!(
            "{environment} only takes builds of {list}: say which branch this build is from with --branch"
        ));
    };
    let matches = allowed.iter().any(|pattern| {
        globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .is_ok_and(|g| g.compile_matcher().is_match(branch))
    });
    if matches {
        Ok(())
    } else {
        Err(format!(
            "{environment} only takes builds of {list}, not of branch '{branch}'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_match_names_and_globs() {
        let allowed = vec!["main".to_string(), "release/*".to_string()];
        assert!(check_branch("production", &allowed, Some("main")).is_ok());
        assert!(check_branch("production", &allowed, Some("release/1.2")).is_ok());
        let err = check_branch("production", &allowed, Some("release/1.2/hotfix")).unwrap_err();
        assert_eq!(
            err,
            "production only takes builds of main, release/*, not of branch 'release/1.2/hotfix'"
        );
        assert!(
            check_branch("production", &allowed, None)
                .unwrap_err()
                .contains("--branch")
        );
        assert!(check_branch("staging", &[], None).is_ok());
    }
}
