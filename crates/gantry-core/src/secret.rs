//! Secret values and the masker that removes them from every line Gantry prints or stores.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use std::fmt;

/// What a masked secret is replaced with.
pub const MASK: &str = "***";

/// A secret value. Its `Debug` and `Display` never show the value; only `expose` does,
/// and only code that hands the value to a step's environment should call it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// Replaces every known secret form in a text with `***`: the value itself, each line of
/// a multi-line value, and the value's base64 encodings (standard and URL-safe, padded or
/// not, and at each of the three byte alignments so a secret inside a longer base64 blob
/// is caught too).
#[derive(Clone, Default)]
pub struct Masker {
    matcher: Option<AhoCorasick>,
    count: usize,
}

impl fmt::Debug for Masker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Masker")
            .field("patterns", &self.count)
            .finish()
    }
}

/// Lines and encodings shorter than this are not masked on their own: masking every `a`
/// or `{` would destroy the log without protecting anything. Whole values are always
/// masked, whatever their length.
const MIN_FRAGMENT: usize = 4;

impl Masker {
    pub fn new<'a, I>(secrets: I) -> Self
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut patterns: Vec<String> = Vec::new();
        for value in secrets {
            if value.is_empty() {
                continue;
            }
            patterns.push(value.to_string());
            let trimmed = value.trim();
            if trimmed.len() >= MIN_FRAGMENT {
                patterns.push(trimmed.to_string());
            }
            if value.contains('\n') {
                for line in value.lines().map(str::trim) {
                    if line.len() >= MIN_FRAGMENT {
                        patterns.push(line.to_string());
                    }
                }
            }
            for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
                patterns.push(engine.encode(value));
            }
            patterns.extend(base64_alignments(value.as_bytes()));
        }
        patterns.retain(|p| !p.is_empty());
        patterns.sort();
        patterns.dedup();
        let count = patterns.len();
        let matcher = if patterns.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .ok()
        };
        Masker { matcher, count }
    }

    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// The text with every secret form replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        match &self.matcher {
            Some(m) if m.is_match(text) => m.replace_all(text, &vec![MASK; self.count]),
            _ => text.to_string(),
        }
    }
}

/// The base64 text that encodes `value` when it starts at byte offset 0, 1 or 2 of a
/// longer stream: the characters fully determined by the value's bytes alone.
fn base64_alignments(value: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for offset in 0..3usize {
        let mut buf = vec![0u8; offset];
        buf.extend_from_slice(value);
        let encoded = STANDARD_NO_PAD.encode(&buf);
        // The first `offset` bytes influence the first ceil(offset*8/6) characters.
        let skip = (offset * 8).div_ceil(6);
        // The trailing partial group may mix in bytes that follow the value.
        let total_bits = buf.len() * 8;
        let full_chars = total_bits / 6;
        if full_chars > skip {
            let middle = &encoded[skip..full_chars];
            if middle.len() >= MIN_FRAGMENT {
                out.push(middle.to_string());
                out.push(middle.replace('+', "-").replace('/', "_"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
    }

    #[test]
    fn masks_value_lines_and_base64() {
        let m = Masker::new(["s3cr3t-value", "line-one-xyz\nline-two-abc"]);
        assert_eq!(m.mask("token=s3cr3t-value!"), "token=***!");
        assert_eq!(m.mask("got line-two-abc here"), "got *** here");
        let b64 = STANDARD.encode("s3cr3t-value");
        assert_eq!(m.mask(&format!("auth {b64}")), "auth ***");
        assert_eq!(m.mask("nothing here"), "nothing here");
    }

    #[test]
    fn masks_base64_of_a_secret_inside_a_longer_blob() {
        let m = Masker::new(["p4ssw0rd-long"]);
        for prefix in ["", "a", "ab", "abc"] {
            let blob = STANDARD.encode(format!("{prefix}user:p4ssw0rd-long;"));
            let masked = m.mask(&blob);
            assert!(
                masked.contains(MASK),
                "prefix {prefix:?}: {blob} -> {masked}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn masked_text_never_contains_the_secret(secret in "[ -~]{4,20}", before in "[ -~]{0,20}", after in "[ -~]{0,20}") {
            let m = Masker::new([secret.as_str()]);
            let out = m.mask(&format!("{before}{secret}{after}"));
            proptest::prop_assert!(!out.contains(&secret));
        }
    }
}
