//! Python literals: the subset of Python's syntax a `.npy` header can use,
//! parsed exactly as `ast.literal_eval` reads it, and printed the way Python's
//! `repr` does.
//!
//! numpy writes the header with `repr` and reads it with `ast.literal_eval`
//! (numpy/lib/_format_impl.py, `_read_array_header`), so owning both
//! directions is what lets us produce headers byte-identical to `np.save` and
//! accept every header numpy accepts — and nothing more.
//!
//! What `ast.literal_eval` accepts and this parser follows (docs/FORMAT.md
//! has the full list): Python's tokenizer rules for whitespace, comments,
//! backslash continuations and indentation at the top level; integers in
//! decimal, hex, octal and binary with `_` separators; one unary `+`/`-` on
//! a number; strings with any quote style, `r`/`u` prefixes, triple quotes,
//! every escape but `\N{...}`, adjacent strings concatenated; tuples, lists,
//! dicts (a repeated key keeps its last value, as a Python dict does),
//! `True`, `False`, `None`. Values that `literal_eval` accepts but no valid
//! header can hold (floats, complex numbers, bytes, sets, `...`) are refused
//! here with a clear message: numpy would refuse the header a step later.
//!
//! [`parse_header`] adds numpy's Python 2 filter (`_filter_header`), tried
//! for version 1.0 and 2.0 headers only: a name token `L` right after a
//! number token is dropped, so `(3L, 4L)` reads as `(3, 4)`, and the text
//! goes through `tokenize`/`untokenize`, which drops the whitespace of a
//! last line holding nothing else.

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
    /// A float, complex number or `...`, kept as written: `literal_eval`
    /// reads them, and a header may hold one where a repeated key's later
    /// value replaces it, but no value npy reads can be one.
    Other(String),
}

/// Why a literal did not parse; `pos` is a character offset into the text
/// (after Python's newline translation: `\r\n` and `\r` count as `\n`).
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

/// Parses `text` as `ast.literal_eval(text)` would (Python 3 syntax).
pub fn parse(text: &str) -> Result<Py, ParseError> {
    parse_with(text, false).map(|(v, _)| v)
}

/// Parses a header's dict text as numpy's `_read_array_header` does:
/// `python2` (versions 1.0 and 2.0) also drops Python 2 `L` suffixes.
pub fn parse_header(text: &str, python2: bool) -> Result<Py, ParseError> {
    parse_with(text, python2).map(|(v, _)| v)
}

/// Where the items of the header's shape tuple are written in `text` (a
/// header's dict text, read as [`parse_header`] reads it): one range of
/// character offsets per dimension, from an item's first character to its
/// last (an `L` suffix included; surrounding spaces and comments not). For a
/// repeated `shape` key, the last one, whose value counts. `None` when the
/// text does not parse or its top-level `shape` is not a tuple.
pub fn shape_item_spans(text: &str, python2: bool) -> Option<Vec<std::ops::Range<usize>>> {
    parse_with(text, python2).ok()?.1
}

type Parsed = (Py, Option<Vec<std::ops::Range<usize>>>);

fn parse_with(original: &str, python2: bool) -> Result<Parsed, ParseError> {
    let text = original;
    // numpy's retry reads lines with Python's `tokenize`, which splits
    // lines at `\n` only and passes a line whose first character (after
    // spaces) is `\r` through whole, as one blank-line token: no `L` is
    // dropped on such a line (see `cr_line`).
    // For the same reason, indentation at the end after a lone `\r` is not
    // on a line of its own for the retry.
    let trailing_ok = python2 && !text.trim_end_matches([' ', '\t', '\x0c']).ends_with('\r');
    if let Some(p) = text.find('\0') {
        return Err(ParseError {
            pos: text[..p].chars().count(),
            msg: "NUL character in the header".into(),
        });
    }
    // literal_eval strips leading spaces and tabs; CPython's tokenizer then
    // translates \r\n and \r to \n.
    let text = text.trim_start_matches([' ', '\t']);
    // numpy's 1.0/2.0 retry rebuilds the text with untokenize, which turns
    // the first line's indentation (form feeds included) into spaces that
    // literal_eval then strips.
    let text = if python2 {
        text.trim_start_matches([' ', '\t', '\x0c'])
    } else {
        text
    };
    let mut s = Vec::with_capacity(text.len());
    let mut cr_line = Vec::with_capacity(text.len());
    // Per character of `s`: its offset in `original`, in characters.
    let lead = original[..original.len() - text.len()].chars().count();
    let mut orig = Vec::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut on_cr_line = false;
    let mut line_start = true;
    // Bracket depth, counted roughly (quotes toggle a string): tokenize
    // passes a `\r` line through only outside brackets, and when such a
    // line opens a bracket it does not close, tokenize loses count and the
    // retry fails.
    let (mut depth, mut quote) = (0i64, None);
    let mut retry_fails = false;
    let mut k = 0;
    while k < chars.len() {
        if line_start {
            let first = chars[k..]
                .iter()
                .find(|c| !matches!(c, ' ' | '\t' | '\x0c'));
            on_cr_line = first == Some(&'\r') && depth == 0 && quote.is_none();
            line_start = false;
        }
        let c = chars[k];
        k += 1;
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            _ => {}
        }
        if c == '\r' {
            if chars.get(k) == Some(&'\n') {
                continue;
            }
            s.push('\n');
            orig.push(lead + k - 1);
        } else {
            if c == '\n' {
                retry_fails |= on_cr_line && depth > 0;
                line_start = true;
            }
            s.push(c);
            orig.push(lead + k - 1);
        }
        cr_line.push(on_cr_line);
    }
    retry_fails |= on_cr_line && depth > 0;
    let python2 = python2 && !retry_fails;
    let trailing_ok = trailing_ok && !retry_fails;
    let mut p = Parser {
        s,
        cr_line,
        i: 0,
        python2,
        trailing_ok,
        last_tuple: Vec::new(),
        shape_spans: None,
    };
    p.line_start()?;
    p.ws(0)?;
    let v = p.value(0)?.0;
    p.ws(0)?;
    if p.i != p.s.len() {
        return Err(p.err("unexpected text after the value"));
    }
    let spans = p.shape_spans.map(|spans| {
        spans
            .into_iter()
            .map(|(a, b)| orig[a]..orig[b - 1] + 1)
            .collect()
    });
    Ok((v, spans))
}

struct Parser {
    s: Vec<char>,
    /// Per character: on a physical line that starts with `\r`, which
    /// numpy's retry leaves as it is.
    cr_line: Vec<bool>,
    i: usize,
    python2: bool,
    /// Indentation on a last line of its own is forgiven (numpy's retry).
    trailing_ok: bool,
    /// Where the items of the tuple parsed last are, in `s`.
    last_tuple: Vec<(usize, usize)>,
    /// Where the items of the `shape` tuple of the dict closed last are, in
    /// `s` (the top-level dict's, once parsed).
    shape_spans: Option<Vec<(usize, usize)>>,
}

/// Whether Python can hash the value (a dict key must be hashable).
fn hashable(v: &Py) -> bool {
    match v {
        Py::List(_) | Py::Dict(_) => false,
        Py::Tuple(items) => items.iter().all(hashable),
        _ => true,
    }
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

impl Parser {
    fn err(&self, msg: &str) -> ParseError {
        ParseError {
            pos: self.i,
            msg: msg.to_string(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn at(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    /// At the start of a physical line outside brackets: Python's
    /// indentation rule. A line holding only whitespace and a comment is
    /// blank; any other indented line, or trailing indentation at the end
    /// of the text, is an `IndentationError`.
    fn line_start(&mut self) -> Result<(), ParseError> {
        loop {
            let mut col = 0;
            while let Some(c) = self.peek() {
                match c {
                    ' ' | '\t' => col += 1,
                    '\x0c' => col = 0,
                    _ => break,
                }
                self.i += 1;
            }
            match self.peek() {
                Some('\n') => {
                    self.i += 1;
                }
                Some('#') => {
                    while !matches!(self.peek(), None | Some('\n')) {
                        self.i += 1;
                    }
                }
                // numpy retries a 1.0/2.0 header that fails to parse through
                // tokenize/untokenize (`_filter_header`), which drops the
                // whitespace of a last line that has nothing else.
                None if col > 0 && !self.trailing_ok => {
                    return Err(self.err("unexpected indentation at the end"))
                }
                None => return Ok(()),
                Some(_) if col > 0 => return Err(self.err("unexpected indentation")),
                Some(_) => return Ok(()),
            }
        }
    }

    /// Skips whitespace, comments and line continuations; inside brackets
    /// (`depth > 0`) newlines too, outside them with Python's line rules.
    fn ws(&mut self, depth: usize) -> Result<(), ParseError> {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\x0c' => self.i += 1,
                '#' => {
                    while !matches!(self.peek(), None | Some('\n')) {
                        self.i += 1;
                    }
                }
                '\\' if self.at(1) == Some('\n') => {
                    self.i += 2;
                    if self.peek().is_none() {
                        return Err(self.err("line continuation at the end of the text"));
                    }
                }
                '\n' => {
                    self.i += 1;
                    if depth == 0 {
                        self.line_start()?;
                    }
                }
                _ => break,
            }
        }
        Ok(())
    }

    /// Skips what [`ws`] skips but never fails; returns whether it moved.
    fn try_ws(&mut self, depth: usize) {
        let save = self.i;
        if self.ws(depth).is_err() {
            self.i = save;
        }
    }

    /// One literal. The flag says whether it is a bare number (what a unary
    /// sign may apply to; parentheses keep it).
    fn value(&mut self, depth: usize) -> Result<(Py, bool), ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        let Some(c) = self.peek() else {
            return Err(self.err("unexpected end of header"));
        };
        let v = match c {
            '{' => {
                self.i += 1;
                (self.dict(depth + 1)?, false)
            }
            '[' => {
                self.i += 1;
                let items = self.seq(depth + 1, ']', &mut Vec::new())?.0;
                (Py::List(items.into_iter().map(|(v, _)| v).collect()), false)
            }
            '(' => {
                self.i += 1;
                let mut spans = Vec::new();
                let (mut items, comma) = self.seq(depth + 1, ')', &mut spans)?;
                if items.len() == 1 && !comma {
                    // `(x)` is just x in Python.
                    return Ok(items.pop().expect("one item"));
                }
                self.last_tuple = spans;
                (
                    Py::Tuple(items.into_iter().map(|(v, _)| v).collect()),
                    false,
                )
            }
            '\'' | '"' => (self.strings(depth)?, false),
            '0'..='9' => (self.number()?, true),
            '.' if matches!(self.at(1), Some('0'..='9')) => (self.float(self.i)?, true),
            '.' if self.at(1) == Some('.') && self.at(2) == Some('.') => {
                self.i += 3;
                (Py::Other("...".into()), false)
            }
            '+' | '-' => {
                self.i += 1;
                self.ws(depth)?;
                let (v, is_num) = self.value(depth + 1)?;
                match v {
                    Py::Int(n) if is_num => (Py::Int(if c == '-' { -n } else { n }), false),
                    Py::Other(t) if is_num => (Py::Other(format!("{c}{t}")), false),
                    _ => return Err(self.err("a sign applies to a number only")),
                }
            }
            c if is_ident_start(c) => {
                let start = self.i;
                while self.peek().is_some_and(is_ident) {
                    self.i += 1;
                }
                let word: String = self.s[start..self.i].iter().collect();
                if matches!(self.peek(), Some('\'' | '"')) {
                    let lower = word.to_ascii_lowercase();
                    match lower.as_str() {
                        "r" | "u" => {
                            self.i = start;
                            (self.strings(depth)?, false)
                        }
                        "b" | "br" | "rb" => {
                            self.i = start;
                            return Err(self.err("bytes are not allowed in a header"));
                        }
                        "f" | "fr" | "rf" => {
                            self.i = start;
                            return Err(self.err("f-strings are not literals"));
                        }
                        _ => {
                            self.i = start;
                            return Err(self.err("unexpected name (only literals are allowed)"));
                        }
                    }
                } else {
                    match word.as_str() {
                        "True" => (Py::Bool(true), false),
                        "False" => (Py::Bool(false), false),
                        "None" => (Py::None, false),
                        _ => {
                            self.i = start;
                            return Err(self.err("unexpected name (only literals are allowed)"));
                        }
                    }
                }
            }
            _ => return Err(self.err("unexpected character")),
        };
        Ok(v)
    }

    /// Items up to `close`, comma separated, a trailing comma allowed; the
    /// flag says whether any comma was seen.
    /// `spans` gets where each item is, in `s`.
    fn seq(
        &mut self,
        depth: usize,
        close: char,
        spans: &mut Vec<(usize, usize)>,
    ) -> Result<(Vec<(Py, bool)>, bool), ParseError> {
        let mut items = Vec::new();
        let mut comma = false;
        loop {
            self.ws(depth)?;
            if self.peek() == Some(close) {
                self.i += 1;
                return Ok((items, comma));
            }
            let start = self.i;
            items.push(self.value(depth)?);
            spans.push((start, self.i));
            self.ws(depth)?;
            match self.peek() {
                Some(',') => {
                    self.i += 1;
                    comma = true;
                }
                Some(c) if c == close => {}
                _ => return Err(self.err("expected ',' or a closing bracket")),
            }
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Py, ParseError> {
        let mut items = Vec::new();
        let mut shape = None;
        loop {
            self.ws(depth)?;
            if self.peek() == Some('}') {
                self.i += 1;
                // The outermost dict closes last, so its spans stay.
                self.shape_spans = shape;
                return Ok(Py::Dict(items));
            }
            if self.peek() == Some('*') {
                return Err(self.err("'**' is not allowed in a header"));
            }
            let k = self.value(depth)?.0;
            if !hashable(&k) {
                return Err(self.err("a dict key that is a list or a dict (unhashable)"));
            }
            self.ws(depth)?;
            match self.peek() {
                Some(':') => self.i += 1,
                Some(',' | '}') if items.is_empty() => {
                    return Err(self.err("sets are not allowed in a header"))
                }
                _ => return Err(self.err("expected ':' in dict")),
            }
            self.ws(depth)?;
            let v = self.value(depth)?.0;
            if k == Py::Str("shape".into()) {
                shape = matches!(v, Py::Tuple(_)).then(|| std::mem::take(&mut self.last_tuple));
            }
            items.push((k, v));
            self.ws(depth)?;
            match self.peek() {
                Some(',') => self.i += 1,
                Some('}') => {}
                _ => return Err(self.err("expected ',' or '}' in dict")),
            }
        }
    }

    /// An integer literal as Python's tokenizer reads it, then (in Python 2
    /// mode) an `L` name token after it.
    fn number(&mut self) -> Result<Py, ParseError> {
        let start = self.i;
        let radix = match (self.peek(), self.at(1)) {
            (Some('0'), Some('x' | 'X')) => 16,
            (Some('0'), Some('o' | 'O')) => 8,
            (Some('0'), Some('b' | 'B')) => 2,
            _ => 10,
        };
        let mut digits = String::new();
        if radix != 10 {
            self.i += 2;
            // 0x_1 is allowed: an underscore may follow the prefix.
            loop {
                if self.peek() == Some('_') {
                    self.i += 1;
                }
                match self.peek() {
                    Some(c) if c.is_digit(radix) => {
                        digits.push(c);
                        self.i += 1;
                    }
                    _ => break,
                }
                if self.peek() != Some('_') && !self.peek().is_some_and(|c| c.is_digit(radix)) {
                    break;
                }
            }
            if digits.is_empty() || self.s[self.i - 1] == '_' {
                return Err(self.err("invalid number"));
            }
        } else {
            while let Some(c @ '0'..='9') = self.peek() {
                digits.push(c);
                self.i += 1;
                if self.peek() == Some('_') && matches!(self.at(1), Some('0'..='9')) {
                    self.i += 1;
                }
            }
            if matches!(self.peek(), Some('.' | 'e' | 'E' | 'j' | 'J')) {
                return self.float(start);
            }
            if digits.len() > 1 && digits.starts_with('0') && digits.bytes().any(|b| b != b'0') {
                self.i = start;
                return Err(self.err("integer with leading zeros"));
            }
        }
        let after = self.i;
        if self.python2 && !self.cr_line[start] {
            // numpy's _filter_header: a NAME token `L` right after a NUMBER
            // token is dropped (spaces and continuations may sit between).
            let mut j = self.i;
            loop {
                match self.s.get(j) {
                    Some(' ' | '\t' | '\x0c') => j += 1,
                    Some('\\') if self.s.get(j + 1) == Some(&'\n') => j += 2,
                    _ => break,
                }
            }
            if self.s.get(j) == Some(&'L') && !self.s.get(j + 1).is_some_and(|&c| is_ident(c)) {
                self.i = j + 1;
            }
        }
        if self.i == after && self.peek().is_some_and(is_ident) {
            if self.peek() == Some('L') && !self.at(1).is_some_and(is_ident) {
                return Err(self.err(
                    "Python 2 'L' suffix (numpy drops it in version 1.0 and 2.0 headers only)",
                ));
            }
            return Err(self.err("invalid number"));
        }
        let v = i128::from_str_radix(&digits, radix).map_err(|_| ParseError {
            pos: start,
            msg: "integer too large".into(),
        })?;
        Ok(Py::Int(v))
    }

    /// A float or imaginary literal starting at `start` (Python's
    /// `floatnumber` and `imagnumber`), kept as written.
    fn float(&mut self, start: usize) -> Result<Py, ParseError> {
        self.i = start;
        let digits = |p: &mut Self| {
            let from = p.i;
            while let Some('0'..='9') = p.peek() {
                p.i += 1;
                if p.peek() == Some('_') && matches!(p.at(1), Some('0'..='9')) {
                    p.i += 1;
                }
            }
            p.i > from
        };
        let whole = digits(self);
        let mut frac = false;
        if self.peek() == Some('.') {
            self.i += 1;
            frac = digits(self);
        }
        if !whole && !frac {
            return Err(self.err("invalid number"));
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.i += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.err("invalid number"));
            }
        }
        if matches!(self.peek(), Some('j' | 'J')) {
            self.i += 1;
        }
        if self.peek().is_some_and(is_ident) {
            return Err(self.err("invalid number"));
        }
        Ok(Py::Other(self.s[start..self.i].iter().collect()))
    }

    /// One string literal or several adjacent ones, concatenated.
    fn strings(&mut self, depth: usize) -> Result<Py, ParseError> {
        let mut out = String::new();
        self.string(&mut out)?;
        loop {
            let save = self.i;
            self.try_ws(depth);
            let starts = match self.peek() {
                Some('\'' | '"') => true,
                Some(c) if is_ident_start(c) => {
                    let mut j = self.i;
                    while self.s.get(j).is_some_and(|&c| is_ident(c)) {
                        j += 1;
                    }
                    matches!(self.s.get(j), Some('\'' | '"')) && j - self.i <= 2
                }
                _ => false,
            };
            if !starts {
                self.i = save;
                return Ok(Py::Str(out));
            }
            self.string(&mut out)?;
        }
    }

    /// One string literal, prefix included, appended to `out`.
    fn string(&mut self, out: &mut String) -> Result<(), ParseError> {
        let mut raw = false;
        let mut prefix = String::new();
        while let Some(c) = self.peek() {
            if c == '\'' || c == '"' {
                break;
            }
            prefix.push(c.to_ascii_lowercase());
            self.i += 1;
        }
        match prefix.as_str() {
            "" | "u" => {}
            "r" => raw = true,
            "b" | "br" | "rb" => return Err(self.err("bytes are not allowed in a header")),
            "f" | "fr" | "rf" => return Err(self.err("f-strings are not literals")),
            _ => return Err(self.err("unsupported string prefix")),
        }
        let q = self.peek().expect("at a quote");
        let triple = self.at(1) == Some(q) && self.at(2) == Some(q);
        self.i += if triple { 3 } else { 1 };
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            self.i += 1;
            if c == q {
                if !triple {
                    return Ok(());
                }
                if self.peek() == Some(q) && self.at(1) == Some(q) {
                    self.i += 2;
                    return Ok(());
                }
                out.push(c);
                continue;
            }
            if c == '\n' && !triple {
                return Err(self.err("newline inside a string"));
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(e) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            self.i += 1;
            if raw {
                // A backslash escapes nothing in a raw string, but the
                // character after it never ends the string.
                out.push('\\');
                out.push(e);
                continue;
            }
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
                            Some(d @ '0'..='7') => {
                                v = v * 8 + (d as u32 - '0' as u32);
                                self.i += 1;
                            }
                            _ => break,
                        }
                    }
                    out.push(char::from_u32(v).expect("at most 0o777"));
                }
                'x' | 'u' | 'U' => {
                    let n = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex: String = self.s[self.i..].iter().take(n).collect();
                    if hex.chars().count() != n || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                        return Err(self.err("truncated \\x, \\u or \\U escape"));
                    }
                    let v = u32::from_str_radix(&hex, 16).expect("hex digits");
                    self.i += n;
                    match char::from_u32(v) {
                        Some(ch) => out.push(ch),
                        None if (0xd800..0xe000).contains(&v) => {
                            return Err(self.err("lone surrogate escapes are not supported"))
                        }
                        None => return Err(self.err("escape out of the Unicode range")),
                    }
                }
                'N' => return Err(self.err("\\N{...} escapes are not supported")),
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
            Py::Other(t) => out.push_str(t),
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
            Py::Other(t) => Value::String(t.clone()),
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

/// Python 3's `repr(str)` as a new string (see `repr_str`).
pub fn str_repr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    repr_str(s, &mut out);
    out
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

/// Python's `str.isprintable` for one character, from the table generated
/// out of Python's own `unicodedata` (see [`super::printable`]).
pub fn is_printable(c: char) -> bool {
    let v = c as u32;
    let t = &super::printable::NOT_PRINTABLE;
    let i = t.partition_point(|&(_, end)| end < v);
    !(i < t.len() && t[i].0 <= v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(items: &[(&str, Py)]) -> Py {
        Py::Dict(
            items
                .iter()
                .map(|(k, v)| (Py::Str(k.to_string()), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn parses_numpy_header() {
        let v = parse("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }   \n").unwrap();
        assert_eq!(
            v,
            dict(&[
                ("descr", Py::Str("<f8".into())),
                ("fortran_order", Py::Bool(false)),
                ("shape", Py::Tuple(vec![Py::Int(3), Py::Int(4)])),
            ])
        );
    }

    #[test]
    fn python2_long_suffix_only_when_asked() {
        let t = "{ \"shape\" :(2L,3 L ,0x4L),'fortran_order':True,'descr':'|u1'}";
        let Py::Dict(items) = parse_header(t, true).unwrap() else {
            panic!()
        };
        assert_eq!(
            items[0].1,
            Py::Tuple(vec![Py::Int(2), Py::Int(3), Py::Int(4)])
        );
        assert!(parse_header(t, false).is_err());
        assert!(parse_header("(3l,)", true).is_err());
        assert!(parse_header("(3_L,)", true).is_err());
        assert!(parse_header("(3Lx,)", true).is_err());
        // untokenize drops an indented last line; literal_eval alone refuses it
        assert!(parse_header("{'a': 1}\n   ", true).is_ok());
        assert!(parse_header("{'a': 1}\n   ", false).is_err());
        assert!(parse_header(" \x0c {'a': 1}", true).is_ok());
        assert!(parse_header(" \x0c {'a': 1}", false).is_err());
        assert!(parse_header("\n  {'a': 1}", true).is_err());
        // tokenize splits lines at \n only, and skips a line starting with \r
        assert!(parse_header("{'a': 1}\r   ", true).is_err());
        assert!(parse_header("\r{'a': (3L,)}", true).is_err());
        assert!(parse_header("{'a': (3L,)\n\r}", true).is_ok());
        assert!(parse_header("\r{'a':\n (3L,)}", true).is_err());
        assert!(parse_header("{'a': (3L,)}\r\n", true).is_ok());
    }

    #[test]
    fn what_literal_eval_accepts() {
        let a = |k: &str, v: i128| (Py::Str(k.into()), Py::Int(v));
        for (text, want) in [
            ("0x1F", Py::Int(31)),
            ("0o17", Py::Int(15)),
            ("0b101", Py::Int(5)),
            ("0x_1", Py::Int(1)),
            ("1_000", Py::Int(1000)),
            ("00", Py::Int(0)),
            ("-(1)", Py::Int(-1)),
            ("+ 1", Py::Int(1)),
            ("- 0x1", Py::Int(-1)),
            (r"r'\x'", Py::Str(r"\x".into())),
            ("R'a' U'b' 'c'", Py::Str("abc".into())),
            ("('a'\n'b')", Py::Str("ab".into())),
            ("'''a\nb'''", Py::Str("a\nb".into())),
            (r"'\777'", Py::Str("\u{1ff}".into())),
            (r"'\8\q'", Py::Str(r"\8\q".into())),
            ("'a\\\nb'", Py::Str("ab".into())),
            ("{'a': 1, 'a': 2}", Py::Dict(vec![a("a", 1), a("a", 2)])),
            ("{'a':1} # note", dict(&[("a", Py::Int(1))])),
            ("\n{'a':1}\n\n  # x\n", dict(&[("a", Py::Int(1))])),
            ("\x0c{'a':\r1}\r", dict(&[("a", Py::Int(1))])),
            ("{'a':[1]\\\n}", dict(&[("a", Py::List(vec![Py::Int(1)]))])),
            ("  \t{'a':1}\t", dict(&[("a", Py::Int(1))])),
            ("[1,]", Py::List(vec![Py::Int(1)])),
            ("(\n)", Py::Tuple(vec![])),
            ("1.5", Py::Other("1.5".into())),
            ("-1e3", Py::Other("-1e3".into())),
            ("01.5", Py::Other("01.5".into())),
            (".5j", Py::Other(".5j".into())),
            ("...", Py::Other("...".into())),
        ] {
            assert_eq!(parse(text).unwrap(), want, "{text:?}");
        }
    }

    #[test]
    fn what_literal_eval_refuses() {
        for text in [
            "\n  {'a':1}",
            " \x0c {'a':1}",
            "{'a':1}\n  ",
            "{'a':1}  \\\n",
            "'a\rb'",
            "\u{feff}{'a':1}",
            "{'a':\u{a0}1}",
            "-(-1)",
            "--1",
            "+True",
            "{'a':1,,}",
            "(,)",
            "'a' b'b'",
            "b'a'",
            "f'a'",
            "ur'a'",
            r"'\x4'",
            r"'\u12'",
            r"'\U00110000'",
            r"'\N{BULLET}'",
            "'''a''''",
            "0_",
            "1__0",
            "0xg",
            "0o8",
            "09",
            "1+1j",
            "1.5x",
            "1e",
            "{[1]: 2}",
            "set()",
            "{1}",
            "{'a':1,**{}}",
            "{'a':1}\0",
            "{'a':1}\x0b",
            "{'a':1};",
            "(3L,)",
            "99999999999999999999999999999999999999999",
            "'abc",
            "",
        ] {
            assert!(parse(text).is_err(), "{text:?}");
        }
        let deep = "[".repeat(100_000);
        assert!(parse(&deep).is_err());
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
            Py::Str("a\u{202f}b\u{e000}\u{2066}".into()).repr(),
            r"'a\u202fb\ue000\u2066'"
        );
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
    fn printable_table() {
        assert!(is_printable('a') && is_printable(' ') && is_printable('é'));
        for c in [
            '\n', '\u{85}', '\u{a0}', '\u{202f}', '\u{61c}', '\u{180e}', '\u{2066}', '\u{e000}',
            '\u{378}',
        ] {
            assert!(!is_printable(c), "{c:?}");
        }
    }

    #[test]
    fn shape_item_spans_point_at_the_written_items() {
        let cases: [(&str, bool, &[&str]); 6] = [
            ("{'shape': (3, 4), 'descr': '<f8'}", false, &["3", "4"]),
            (
                "  {'shape': (0x3 ,( 4 ),) # c\r\n}",
                false,
                &["0x3", "( 4 )"],
            ),
            ("{'shape': (3L, 4 L)}", true, &["3L", "4 L"]),
            ("{'shape': (1,), 'shape': (7,)}", false, &["7"]),
            (
                "({'a': {'shape': (9,)}, 'shape': ((5, 6))})",
                false,
                &["5", "6"],
            ),
            ("{'descr': 'é', 'shape': (2,)}", false, &["2"]),
        ];
        for (text, py2, want) in cases {
            let spans = shape_item_spans(text, py2).unwrap();
            let chars: Vec<char> = text.chars().collect();
            let got: Vec<String> = spans
                .iter()
                .map(|r| chars[r.clone()].iter().collect())
                .collect();
            assert_eq!(got, want, "{text:?}");
        }
        assert_eq!(shape_item_spans("{'shape': [3]}", false), None);
        assert_eq!(shape_item_spans("{'shape': (3,)", false), None);
    }
}
