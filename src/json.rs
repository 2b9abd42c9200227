//! The JSON reader for the plugin configuration (RFC 8259), strict and small.
//!
//! Strict: a key repeated in one object is an error at any depth (a map that keeps
//! the last of repeated keys would let `"fallback":"spa"` silently mean something
//! else), as are a byte-order mark, trailing commas, comments and anything after the
//! value. Small: a general-purpose JSON library with its float formatting is most of
//! a module this size, while a configuration needs only strings, booleans, whole
//! numbers, arrays and objects. Numbers are kept as their checked literal and read
//! as integers where a key needs one; `tests/json_reader.rs` compares this reader
//! with serde_json on generated documents.

use std::fmt;

/// Deeper nesting than this is refused: the configuration needs three levels, and a
/// bound keeps hostile input from exhausting the VM's stack.
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json {
    Null,
    Bool(bool),
    /// The number's literal, as written (grammar checked).
    Number(String),
    String(String),
    Array(Vec<Json>),
    /// Members in document order; keys are unique.
    Object(Vec<(String, Json)>),
}

/// Why the text is not JSON, and where (1-based line and column, in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub problem: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.problem, self.line, self.column
        )
    }
}

impl std::error::Error for JsonError {}

/// Parses one JSON document.
pub fn parse(bytes: &[u8]) -> Result<Json, JsonError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
            let text = std::str::from_utf8(valid).unwrap_or_default();
            return Err(Reader::new(text).error_at(valid.len(), "invalid UTF-8"));
        }
    };
    let mut reader = Reader::new(text);
    reader.skip_space();
    let value = reader.value(0)?;
    reader.skip_space();
    if reader.pos < reader.bytes.len() {
        return Err(reader.error("trailing characters"));
    }
    Ok(value)
}

/// A string quoted as JSON would, so that a hostile value cannot forge a log line:
/// `"`, `\` and control characters are escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        Reader {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn error(&self, problem: &str) -> JsonError {
        self.error_at(self.pos, problem)
    }

    fn error_at(&self, pos: usize, problem: &str) -> JsonError {
        let before = self.text.get(..pos).unwrap_or(self.text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        JsonError {
            problem: problem.to_owned(),
            line: before.matches('\n').count() + 1,
            column: before.get(line_start..).map_or(0, |l| l.chars().count()) + 1,
        }
    }

    fn eof_or(&self, problem: &str) -> JsonError {
        if self.pos >= self.bytes.len() {
            self.error("unexpected end of input")
        } else {
            self.error(problem)
        }
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, JsonError> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.eof_or("expected a JSON value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Json::String),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.eof_or("expected a JSON value")),
        }
    }

    fn enter(&self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error(&format!("nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<Json, JsonError> {
        let mut items = Vec::new();
        self.elements(depth, b']', "expected ',' or ']'", |reader| {
            items.push(reader.value(depth)?);
            Ok(())
        })?;
        Ok(Json::Array(items))
    }

    fn object(&mut self, depth: usize) -> Result<Json, JsonError> {
        let mut members: Vec<(String, Json)> = Vec::new();
        self.elements(depth, b'}', "expected ',' or '}'", |reader| {
            let key_at = reader.pos;
            if reader.peek() != Some(b'"') {
                return Err(reader.eof_or("expected a key in double quotes"));
            }
            let key = reader.string()?;
            if members.iter().any(|(k, _)| *k == key) {
                let problem = format!("duplicate key {}", quote(&key));
                return Err(reader.error_at(key_at, &problem));
            }
            reader.skip_space();
            if reader.peek() != Some(b':') {
                return Err(reader.eof_or("expected ':'"));
            }
            reader.pos += 1;
            reader.skip_space();
            let value = reader.value(depth)?;
            members.push((key, value));
            Ok(())
        })?;
        Ok(Json::Object(members))
    }

    /// The elements of an array or object, from its opening byte through `close`: each is
    /// read by `element`, separated by commas; a comma before `close` is refused.
    fn elements(
        &mut self,
        depth: usize,
        close: u8,
        expected: &str,
        mut element: impl FnMut(&mut Self) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.enter(depth)?;
        self.pos += 1; // '[' or '{'
        self.skip_space();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_space();
            if self.peek() == Some(close) {
                return Err(self.error("trailing comma"));
            }
            element(self)?;
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b) if b == close => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.eof_or(expected)),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.eof_or("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.eof_or("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.eof_or("invalid number"));
            }
        }
        let literal = self.text.get(start..self.pos).unwrap_or_default();
        Ok(Json::Number(literal.to_owned()))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self
                .peek()
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or_else(|| self.eof_or("invalid \\u escape"))?;
            code = code * 16 + digit;
            self.pos += 1;
        }
        Ok(code)
    }

    /// A `\uXXXX` escape, joined with its low surrogate when it is a high one.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let at = self.pos;
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                    return Err(self.error_at(at, "lone surrogate in \\u escape"));
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error_at(at, "lone surrogate in \\u escape"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error_at(at, "lone surrogate in \\u escape")),
            code => code,
        };
        char::from_u32(code).ok_or_else(|| self.error_at(at, "invalid \\u escape"))
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // '"'
        let mut out = String::new();
        loop {
            // Copy the run up to the next quote, backslash or control byte in one go.
            let run = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(self.text.get(run..self.pos).unwrap_or_default());
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let escaped = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            out.push(self.unicode_escape()?);
                            continue;
                        }
                        _ => return Err(self.eof_or("invalid escape")),
                    };
                    self.pos += 1;
                    out.push(escaped);
                }
                Some(_) => return Err(self.error("control character in string")),
                None => return Err(self.error("unexpected end of input")),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn values() {
        let v = parse(br#" {"a":[1,-2.5e3,true,false,null,"x\u00e9\ud83d\ude00\n"],"b":{}} "#);
        let expected = Json::Object(vec![
            (
                "a".into(),
                Json::Array(vec![
                    Json::Number("1".into()),
                    Json::Number("-2.5e3".into()),
                    Json::Bool(true),
                    Json::Bool(false),
                    Json::Null,
                    Json::String("x\u{e9}\u{1f600}\n".into()),
                ]),
            ),
            ("b".into(), Json::Object(vec![])),
        ]);
        assert_eq!(v.unwrap(), expected);
    }

    #[test]
    fn errors_say_what_and_where() {
        let rows = [
            ("{", "unexpected end of input at line 1 column 2"),
            ("{\"a\":1,}", "trailing comma at line 1 column 8"),
            ("[1,]", "trailing comma at line 1 column 4"),
            (
                "{\"a\":1,\n \"a\":2}",
                "duplicate key \"a\" at line 2 column 2",
            ),
            ("[01]", "expected ',' or ']' at line 1 column 3"),
            ("[1.]", "invalid number at line 1 column 4"),
            ("\"\\x\"", "invalid escape at line 1 column 3"),
            (
                "\"\\ud800\"",
                "lone surrogate in \\u escape at line 1 column 4",
            ),
            ("\"a\tb\"", "control character in string at line 1 column 3"),
            ("{} x", "trailing characters at line 1 column 4"),
            ("\u{feff}{}", "expected a JSON value at line 1 column 1"),
            ("tru", "expected a JSON value at line 1 column 1"),
            ("// c\n{}", "expected a JSON value at line 1 column 1"),
        ];
        for (text, message) in rows {
            assert_eq!(err(text), message, "{text:?}");
        }
        assert_eq!(
            parse(b"[\"\xff\"]").unwrap_err().to_string(),
            "invalid UTF-8 at line 1 column 3"
        );
    }

    #[test]
    fn depth_is_bounded() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = "[".repeat(100_000);
        assert_eq!(
            err(&deep),
            format!("nested deeper than {MAX_DEPTH} levels at line 1 column 33")
        );
    }

    #[test]
    fn quote_escapes_what_could_forge_a_line() {
        assert_eq!(quote("a\"b\\c\r\n\u{1}é"), r#""a\"b\\c\r\n\u0001é""#);
    }
}
