//! "Did you mean …?" suggestions for misspelt names.

/// The candidate closest to `input`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(input: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let input_lower = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let score = strsim::jaro_winkler(&input_lower, &c.to_ascii_lowercase());
            // A prefix/suffix relation ("need" vs "needs", "env" vs "environment") counts
            // as close even when the similarity score alone would not.
            let related = c.len() >= 2
                && input.len() >= 2
                && (c.starts_with(&input_lower) || input_lower.starts_with(c));
            (c, if related { score.max(0.85) } else { score })
        })
        .filter(|(_, score)| *score >= 0.8)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["needs", "steps", "env", "executor", "timeout"];
        assert_eq!(did_you_mean("need", keys), Some("needs"));
        assert_eq!(did_you_mean("setps", keys), Some("steps"));
        assert_eq!(did_you_mean("timout", keys), Some("timeout"));
        assert_eq!(did_you_mean("banana", keys), None);
    }
}
