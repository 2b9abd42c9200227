//! Code points that Unicode compatibility normalization (NFKC) turns into nothing but
//! dots or a path separator: an upstream that normalizes would see `.`, `..`, `/` or `\`.
//! The list is every such code point of Unicode 14; tests/e2e/test_lookalikes.py
//! recomputes it from Python's `unicodedata`. Forms that mix in letters or digits
//! (`⒈` is `1.`, `℅` is `c/o`) cannot make a dot segment and are left alone.

/// How many dots the code point stands for, if it is a dot lookalike.
pub fn dots(c: char) -> Option<usize> {
    match c {
        '.' | '\u{2024}' | '\u{FE52}' | '\u{FF0E}' => Some(1),
        '\u{2025}' | '\u{FE30}' => Some(2),
        '\u{2026}' | '\u{FE19}' => Some(3),
        _ => None,
    }
}

/// `/` and `\` and what normalizes to them.
pub fn is_separator(c: char) -> bool {
    matches!(c, '/' | '\\' | '\u{FF0F}' | '\u{FF3C}' | '\u{FE68}')
}

/// A non-ASCII code point that normalizes to dots or a separator.
pub fn is_lookalike(c: char) -> bool {
    !c.is_ascii() && (dots(c).is_some() || is_separator(c))
}

/// Every lookalike, for tests and documentation.
pub const ALL: [char; 10] = [
    '\u{2024}', '\u{2025}', '\u{2026}', '\u{FE19}', '\u{FE30}', '\u{FE52}', '\u{FE68}', '\u{FF0E}',
    '\u{FF0F}', '\u{FF3C}',
];
