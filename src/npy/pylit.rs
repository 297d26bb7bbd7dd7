//! Python literals: the small subset of Python's syntax that a `.npy` header
//! uses (dicts, lists, tuples, strings, integers, booleans), parsed the way
//! `ast.literal_eval` reads them, and printed the way Python's `repr` does.
//!
//! numpy writes the header with `repr` and reads it with `literal_eval`, so
//! owning both directions is what lets us produce headers byte-identical to
//! `np.save` and accept every header numpy accepts (any spacing, trailing
//! commas, Python 2 `L` suffixes) without pulling in a Python parser.

use std::fmt::Write as _;

/// Deepest nesting of brackets accepted. numpy has no limit, but a hostile
/// header must not be able to exhaust the stack; real descrs nest a handful
/// of levels.
pub const MAX_DEPTH: usize = 200;

/// A Python literal value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Py {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<Py>),
    List(Vec<Py>),
    Dict(Vec<(Py, Py)>),
}

/// Why a literal did not parse; `pos` is a byte offset into the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub pos: usize,
    pub msg: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at character {}", self.msg, self.pos)
    }
}

/// Parses `text` as one Python literal surrounded by optional whitespace.
pub fn parse(text: &str) -> Result<Py, ParseError> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("unexpected text after the header dict"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn err(&self, msg: &str) -> ParseError {
        ParseError {
            pos: self.i,
            msg: msg.to_string(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if c == b' ' || c == b'\t' || c == b'\n' || c == b'\r' || c == b'\x0c' {
                self.i += 1;
            } else if c == b'\\' && self.s.get(self.i + 1) == Some(&b'\n') {
                // explicit line continuation
                self.i += 2;
            } else {
                break;
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Py, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        match self.peek() {
            None => Err(self.err("unexpected end of header")),
            Some(b'{') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                        return Ok(Py::Dict(items));
                    }
                    let k = self.value(depth + 1)?;
                    self.ws();
                    if self.peek() != Some(b':') {
                        return Err(self.err("expected ':' in dict"));
                    }
                    self.i += 1;
                    self.ws();
                    let v = self.value(depth + 1)?;
                    items.push((k, v));
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {}
                        _ => return Err(self.err("expected ',' or '}' in dict")),
                    }
                }
            }
            Some(open @ (b'[' | b'(')) => {
                let close = if open == b'[' { b']' } else { b')' };
                self.i += 1;
                let mut items = Vec::new();
                let mut saw_comma = false;
                loop {
                    self.ws();
                    if self.peek() == Some(close) {
                        self.i += 1;
                        break;
                    }
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => {
                            self.i += 1;
                            saw_comma = true;
                        }
                        Some(c) if c == close => {}
                        _ => return Err(self.err("expected ',' or closing bracket")),
                    }
                }
                if open == b'[' {
                    Ok(Py::List(items))
                } else if items.len() == 1 && !saw_comma {
                    // `(x)` is just x in Python
                    Ok(items.pop().expect("one item"))
                } else {
                    Ok(Py::Tuple(items))
                }
            }
            Some(b'\'' | b'"') => self.string(),
            Some(b'u' | b'U' | b'b' | b'B')
                if matches!(self.s.get(self.i + 1), Some(b'\'' | b'"')) =>
            {
                self.i += 1;
                self.string()
            }
            Some(b'-' | b'+' | b'0'..=b'9') => self.int(),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.i;
                while let Some(c) = self.peek() {
                    if c.is_ascii_alphanumeric() || c == b'_' {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                match &self.text[start..self.i] {
                    "True" => Ok(Py::Bool(true)),
                    "False" => Ok(Py::Bool(false)),
                    "None" => Ok(Py::None),
                    _ => {
                        self.i = start;
                        Err(self.err("unexpected name (only literals are allowed)"))
                    }
                }
            }
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn int(&mut self) -> Result<Py, ParseError> {
        let start = self.i;
        let mut neg = false;
        while let Some(c @ (b'-' | b'+')) = self.peek() {
            if c == b'-' {
                neg = !neg;
            }
            self.i += 1;
            self.ws();
        }
        let digits_start = self.i;
        while let Some(b'0'..=b'9' | b'_') = self.peek() {
            self.i += 1;
        }
        if self.i == digits_start {
            return Err(self.err("expected a number"));
        }
        let digits: String = self.text[digits_start..self.i]
            .chars()
            .filter(|&c| c != '_')
            .collect();
        if digits.len() > 1 && digits.starts_with('0') && digits.bytes().any(|b| b != b'0') {
            self.i = start;
            return Err(self.err("integer with leading zeros"));
        }
        // Python 2 long suffix, written by old numpy on Windows: `(2L, 3L)`.
        if let Some(b'L' | b'l') = self.peek() {
            self.i += 1;
        }
        if let Some(c) = self.peek() {
            if c == b'.' || c == b'e' || c == b'E' || c == b'j' || c.is_ascii_alphabetic() {
                return Err(self.err("only integers are allowed here"));
            }
        }
        let mag: i128 = digits.parse().map_err(|_| ParseError {
            pos: start,
            msg: "integer too large".into(),
        })?;
        Ok(Py::Int(if neg { -mag } else { mag }))
    }

    fn string(&mut self) -> Result<Py, ParseError> {
        let q = self.s[self.i];
        if self.s.get(self.i + 1) == Some(&q) && self.s.get(self.i + 2) == Some(&q) {
            return Err(self.err("triple-quoted strings are not supported"));
        }
        self.i += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.i..];
            let mut chars = rest.chars();
            let c = match chars.next() {
                None => return Err(self.err("unterminated string")),
                Some(c) => c,
            };
            self.i += c.len_utf8();
            if c as u32 == q as u32 {
                return Ok(Py::Str(out));
            }
            if c == '\n' {
                return Err(self.err("newline inside a string"));
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let e = match self.text[self.i..].chars().next() {
                None => return Err(self.err("unterminated string")),
                Some(e) => e,
            };
            self.i += e.len_utf8();
            match e {
                '\n' => {}
                '\\' => out.push('\\'),
                '\'' => out.push('\''),
                '"' => out.push('"'),
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'v' => out.push('\x0b'),
                '0'..='7' => {
                    let mut v = e as u32 - '0' as u32;
                    for _ in 0..2 {
                        match self.peek() {
                            Some(d @ b'0'..=b'7') => {
                                v = v * 8 + (d - b'0') as u32;
                                self.i += 1;
                            }
                            _ => break,
                        }
                    }
                    out.push(char::from_u32(v).ok_or_else(|| self.err("bad escape"))?);
                }
                'x' | 'u' | 'U' => {
                    let n = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex = self
                        .text
                        .get(self.i..self.i + n)
                        .ok_or_else(|| self.err("truncated escape"))?;
                    let v = u32::from_str_radix(hex, 16).map_err(|_| self.err("bad escape"))?;
                    self.i += n;
                    out.push(char::from_u32(v).ok_or_else(|| self.err("bad escape"))?);
                }
                other => {
                    // Python keeps unknown escapes as written.
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }
}

impl Py {
    /// Python's `repr` of the value, as numpy writes it into a header.
    pub fn repr(&self) -> String {
        let mut s = String::new();
        self.write_repr(&mut s);
        s
    }

    fn write_repr(&self, out: &mut String) {
        match self {
            Py::Str(s) => repr_str(s, out),
            Py::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Py::Bool(true) => out.push_str("True"),
            Py::Bool(false) => out.push_str("False"),
            Py::None => out.push_str("None"),
            Py::Tuple(items) => {
                out.push('(');
                for (n, it) in items.iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    it.write_repr(out);
                }
                if items.len() == 1 {
                    out.push(',');
                }
                out.push(')');
            }
            Py::List(items) => {
                out.push('[');
                for (n, it) in items.iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    it.write_repr(out);
                }
                out.push(']');
            }
            Py::Dict(items) => {
                out.push('{');
                for (n, (k, v)) in items.iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    k.write_repr(out);
                    out.push_str(": ");
                    v.write_repr(out);
                }
                out.push('}');
            }
        }
    }

    /// The value as JSON (tuples become lists), for `inspect --json`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Py::Str(s) => Value::String(s.clone()),
            Py::Int(i) => match i64::try_from(*i) {
                Ok(v) => Value::from(v),
                Err(_) => match u64::try_from(*i) {
                    Ok(v) => Value::from(v),
                    Err(_) => Value::String(i.to_string()),
                },
            },
            Py::Bool(b) => Value::Bool(*b),
            Py::None => Value::Null,
            Py::Tuple(items) | Py::List(items) => {
                Value::Array(items.iter().map(Py::to_json).collect())
            }
            Py::Dict(items) => Value::Object(
                items
                    .iter()
                    .map(|(k, v)| match k {
                        Py::Str(s) => (s.clone(), v.to_json()),
                        other => (other.repr(), v.to_json()),
                    })
                    .collect(),
            ),
        }
    }
}

/// Python 3's `repr(str)`: single quotes unless the text holds a single quote
/// and no double quote; printable characters kept, the rest escaped.
fn repr_str(s: &str, out: &mut String) {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c => {
                let v = c as u32;
                let _ = if v < 0x100 {
                    write!(out, "\\x{v:02x}")
                } else if v < 0x10000 {
                    write!(out, "\\u{v:04x}")
                } else {
                    write!(out, "\\U{v:08x}")
                };
            }
        }
    }
    out.push(q);
}

/// An approximation of Python's `str.isprintable` that is exact for ASCII and
/// Latin-1 and treats other characters as printable unless they are control,
/// separator or unassigned-surrogate code points.
fn is_printable(c: char) -> bool {
    let v = c as u32;
    if v < 0x20 || v == 0x7f {
        return false;
    }
    if (0x80..=0xa0).contains(&v) || v == 0xad {
        return false;
    }
    !matches!(v, 0x2028 | 0x2029 | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0xfeff | 0xe000..=0xf8ff | 0xfff9..=0xfffb)
        && !c.is_control()
        && !(0x2000..=0x200a).contains(&v)
        && v != 0x3000
        && v != 0x1680
        && v != 0x205f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numpy_header() {
        let v = parse("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }   \n").unwrap();
        assert_eq!(
            v,
            Py::Dict(vec![
                (Py::Str("descr".into()), Py::Str("<f8".into())),
                (Py::Str("fortran_order".into()), Py::Bool(false)),
                (
                    Py::Str("shape".into()),
                    Py::Tuple(vec![Py::Int(3), Py::Int(4)])
                ),
            ])
        );
    }

    #[test]
    fn python2_long_suffix_and_odd_spacing() {
        let v = parse("{ \"shape\" :(2L,3l ,),'fortran_order':True,'descr':'|u1'}").unwrap();
        let Py::Dict(items) = v else { panic!() };
        assert_eq!(items[0].1, Py::Tuple(vec![Py::Int(2), Py::Int(3)]));
    }

    #[test]
    fn repr_matches_python() {
        assert_eq!(Py::Tuple(vec![]).repr(), "()");
        assert_eq!(Py::Tuple(vec![Py::Int(3)]).repr(), "(3,)");
        assert_eq!(Py::Tuple(vec![Py::Int(3), Py::Int(-4)]).repr(), "(3, -4)");
        assert_eq!(Py::Str("it's".into()).repr(), "\"it's\"");
        assert_eq!(Py::Str("a'b\"c".into()).repr(), "'a\\'b\"c'");
        assert_eq!(Py::Str("température".into()).repr(), "'température'");
        assert_eq!(Py::Str("\x00\u{85}".into()).repr(), "'\\x00\\x85'");
        assert_eq!(
            Py::List(vec![Py::Tuple(vec![
                Py::Str("a".into()),
                Py::Str("<f8".into()),
                Py::Tuple(vec![Py::Int(2)])
            ])])
            .repr(),
            "[('a', '<f8', (2,))]"
        );
    }

    #[test]
    fn parenthesised_value_is_not_a_tuple() {
        assert_eq!(parse("(3)").unwrap(), Py::Int(3));
        assert_eq!(parse("(3,)").unwrap(), Py::Tuple(vec![Py::Int(3)]));
    }

    #[test]
    fn refuses_non_literals_and_deep_nesting() {
        assert!(parse("{'a': foo}").is_err());
        assert!(parse("1.5").is_err());
        assert!(parse("99999999999999999999999999999999999999999").is_err());
        let deep = "[".repeat(100_000);
        assert!(parse(&deep).is_err());
        assert!(parse("'abc").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn string_escapes() {
        assert_eq!(parse(r"'a\x41\u00e9\n'").unwrap(), Py::Str("aAé\n".into()));
    }
}
