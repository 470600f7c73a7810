//! Turns the YAML parser's character positions into `gantry_core::Span`s (byte offsets,
//! 1-based line and character column) that `Diagnostic::render` understands.

use gantry_core::Span;

/// Line and character tables for one source text, built once per compile so that every
/// span costs a binary search instead of a rescan of the text.
#[derive(Debug)]
pub struct LineIndex {
    len: usize,
    /// Byte offset of each character, plus the text length; empty for ASCII text, where
    /// character and byte positions coincide.
    char_bytes: Vec<u32>,
    /// Byte offset where each line starts (lines end at `\n`, as in `SourceFile`).
    line_starts: Vec<usize>,
}

impl LineIndex {
    /// Texts must be under 4 GiB (the compiler refuses anything over 1 MiB first).
    pub fn new(text: &str) -> Self {
        let char_bytes = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices()
                .map(|(i, _)| i as u32)
                .chain(std::iter::once(text.len() as u32))
                .collect()
        };
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex {
            len: text.len(),
            char_bytes,
            line_starts,
        }
    }

    /// The byte offset of character number `index` (clamped to the text).
    pub fn byte_of_char(&self, index: usize) -> usize {
        if self.char_bytes.is_empty() {
            index.min(self.len)
        } else {
            self.char_bytes.get(index).map_or(self.len, |b| *b as usize)
        }
    }

    fn char_of_byte(&self, byte: usize) -> usize {
        if self.char_bytes.is_empty() {
            byte
        } else {
            self.char_bytes.partition_point(|b| (*b as usize) < byte)
        }
    }

    /// The span of bytes `start..end`; `start` is clamped into the text and moved back to
    /// a character boundary, `end` is clamped to at least `start`.
    pub fn span(&self, start: usize, end: usize) -> Span {
        let start = start.min(self.len);
        let start_char = self.char_of_byte(start);
        let start = self.byte_of_char(start_char);
        let end = end.clamp(start, self.len);
        let line_idx = self
            .line_starts
            .partition_point(|s| *s <= start)
            .saturating_sub(1);
        let line_start = self.line_starts.get(line_idx).copied().unwrap_or(0);
        let col = start_char - self.char_of_byte(line_start) + 1;
        Span::new(start, end - start, line_idx as u32 + 1, col as u32)
    }

    /// The span between two character positions (as the YAML parser reports them).
    pub fn span_chars(&self, start: usize, end: usize) -> Span {
        self.span(self.byte_of_char(start), self.byte_of_char(end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gantry_core::SourceFile;

    #[test]
    fn agrees_with_source_file_on_ascii_and_unicode() {
        for text in ["ab\ncd: x\n\nlast", "äb\nçd: x\n\u{1F600} yé\n"] {
            let index = LineIndex::new(text);
            let file = SourceFile::new("f", text);
            for (offset, _) in text.char_indices() {
                assert_eq!(
                    index.span(offset, offset + 1),
                    file.span_at(offset, 1),
                    "{text:?} at {offset}"
                );
            }
        }
    }

    #[test]
    fn converts_character_positions() {
        let index = LineIndex::new("é: x\n");
        let span = index.span_chars(3, 4);
        assert_eq!((span.offset, span.len, span.line, span.col), (4, 1, 1, 4));
    }
}
