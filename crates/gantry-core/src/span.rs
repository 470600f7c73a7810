//! Byte spans into a source text, with the 1-based line and column of their start.

use serde::Serialize;

/// A region of a source file. `line` and `col` are 1-based and count characters, not
/// bytes, so they match what an editor shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
    pub line: u32,
    pub col: u32,
}

impl Span {
    pub fn new(offset: usize, len: usize, line: u32, col: u32) -> Self {
        Span {
            offset,
            len,
            line,
            col,
        }
    }

    /// A span covering `self` through the end of `other` (both in the same file).
    pub fn to(self, other: Span) -> Span {
        let end = (other.offset + other.len).max(self.offset + self.len);
        Span {
            len: end.saturating_sub(self.offset),
            ..self
        }
    }

    /// A sub-span `start..start+len` bytes into this span, on the same line (used to
    /// point at a part of a scalar, e.g. one expression inside a string).
    pub fn sub(self, start: usize, len: usize) -> Span {
        Span {
            offset: self.offset + start,
            len,
            line: self.line,
            col: self.col + start as u32,
        }
    }
}

/// A named source text: what diagnostics are rendered against.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }

    /// The text of 1-based line `line`, without its line ending.
    pub fn line_text(&self, line: u32) -> Option<&str> {
        if line == 0 {
            return None;
        }
        self.text
            .split('\n')
            .nth(line as usize - 1)
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
    }

    /// The span of `offset..offset+len`, computing line and column by scanning the text.
    pub fn span_at(&self, offset: usize, len: usize) -> Span {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() as u32 + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() as u32 + 1;
        Span {
            offset,
            len,
            line,
            col,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_at_counts_lines_and_chars() {
        let f = SourceFile::new("a.yml", "ab\nçd: x\n");
        let s = f.span_at(6, 1);
        assert_eq!((s.line, s.col), (2, 3));
        assert_eq!(f.line_text(2), Some("çd: x"));
        assert_eq!(f.line_text(9), None);
    }
}
