//! Positions in source files, so that every error in a definition or configuration names
//! the file, line and column a person has to fix.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A 1-based line and column in a text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// Converts a byte offset into a line and a column counted in characters.
    pub fn at(source: &str, offset: usize) -> Self {
        let offset = offset.min(source.len());
        let offset = (0..=offset)
            .rev()
            .find(|i| source.is_char_boundary(*i))
            .unwrap_or(0);
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = source[line_start..offset].chars().count() + 1;
        Self { line, column }
    }

    pub fn of_span(source: &str, span: &Range<usize>) -> Self {
        Self::at(source, span.start)
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// An error found in a file, with the place to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub file: PathBuf,
    pub position: Option<Position>,
    pub message: String,
}

impl SourceError {
    pub fn new(file: &Path, position: Option<Position>, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            position,
            message: message.into(),
        }
    }

    /// Turns a TOML parse error into a located error with just the message.
    pub fn from_toml(file: &Path, source: &str, error: &toml::de::Error) -> Self {
        let position = error.span().map(|span| Position::of_span(source, &span));
        Self::new(file, position, error.message().trim().to_owned())
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(position) => write!(f, "{}:{}: {}", self.file.display(), position, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for SourceError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let src = "a = 1\nbä = 2\n";
        assert_eq!(Position::at(src, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::at(src, 6), Position { line: 2, column: 1 });
        assert_eq!(Position::at(src, 9), Position { line: 2, column: 3 });
        // Inside a multi-byte character and beyond the end: clamped, never a panic.
        assert_eq!(Position::at(src, 8).line, 2);
        assert_eq!(Position::at(src, 1000).line, 3);
    }
}
