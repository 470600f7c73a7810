//! "Did you mean …?" suggestions for misspelt names.

/// The candidate closest to `input`, if it is close enough to be a likely typo.
///
/// Two measures, because each misses what the other sees: Jaro–Winkler similarity (with a
/// prefix/suffix relation counting as close, "need" → "needs") for longer names, and an
/// optimal-string-alignment distance of one for short names, where one swapped or wrong
/// letter (`rnu` → `run`, `fi` → `if`) ruins a similarity score over three letters.
pub fn did_you_mean<'a, I>(input: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let input_lower = input.to_ascii_lowercase();
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    candidates
        .iter()
        .map(|&c| {
            let score = strsim::jaro_winkler(&input_lower, &c.to_ascii_lowercase());
            let related = c.len() >= 2
                && input.len() >= 2
                && (c.starts_with(&input_lower) || input_lower.starts_with(c));
            (c, if related { score.max(0.85) } else { score })
        })
        .filter(|(_, score)| *score >= 0.8)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c)
        .or_else(|| {
            candidates
                .iter()
                .copied()
                .filter(|c| {
                    c.len() >= 2
                        && input.len() >= 2
                        && strsim::osa_distance(&input_lower, &c.to_ascii_lowercase()) <= 1
                })
                .min_by_key(|c| c.len())
        })
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

    #[test]
    fn catches_short_transpositions() {
        let keys = ["id", "name", "run", "if", "env"];
        assert_eq!(did_you_mean("rnu", keys), Some("run"));
        assert_eq!(did_you_mean("fi", keys), Some("if"));
        assert_eq!(did_you_mean("nmae", keys), Some("name"));
        assert_eq!(did_you_mean("xyz", keys), None);
    }
}
