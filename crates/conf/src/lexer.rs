//! The tokenizer: a state machine that reproduces nats-server's `conf/lex.go` token for token.
//!
//! Compatibility is the point, so the odd corners are kept on purpose: a bare word after a
//! number becomes a string (`3xyz`), `2m` is an integer with a unit, `127.0.0.1:4222` is a
//! string, a number followed directly by `]` turns into a string (`2]`), a NUL byte reads
//! as end of input, and `include` is a keyword only when followed by whitespace.
//!
//! Invariants:
//! * Positions are computed exactly as Go computes them: `line` is the line the token
//!   *ends* on, `col` is `end_offset - start_of_line_marker - len(value)` where the line
//!   marker is the byte offset of the last newline consumed (0 on the first line). So the
//!   first line counts columns from 0 and later lines from 1; nats-server prints these
//!   numbers in its `file:line:col` errors and we print the same ones.
//! * The lexer never panics and always terminates: every state either consumes input,
//!   emits a token, or moves to a state that does; after an error or EOF token it only
//!   yields EOF.

use std::collections::VecDeque;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Error,
    Eof,
    Key,
    String,
    Bool,
    Integer,
    Float,
    Datetime,
    ArrayStart,
    ArrayEnd,
    MapStart,
    MapEnd,
    Variable,
    Include,
}

/// One token: its kind, its text (unescaped; may hold non-UTF-8 bytes from `\xHH`), and
/// where Go says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub val: Vec<u8>,
    pub line: u32,
    pub col: u32,
}

impl Token {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.val).into_owned()
    }
}

/// Go's lexer returns rune 0 at end of input; a literal NUL byte decodes to the same rune,
/// and the states treat both alike.
const EOF: char = '\0';

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Top,
    TopValueEnd,
    KeyStart,
    /// A quoted key; `in_map` selects the map flavour (different EOF errors and end state).
    QuotedKey {
        quote: char,
        in_map: bool,
    },
    Key,
    KeyEnd,
    Value,
    ArrayValue,
    ArrayValueEnd,
    ArrayEnd,
    MapKeyStart,
    MapKey,
    MapKeyEnd,
    MapValue,
    MapValueEnd,
    MapEnd,
    SqString,
    DqString,
    BareString,
    Block,
    Escape,
    HexEscape,
    NumberStart,
    Number,
    UnitSuffix,
    DateAfterYear,
    NegNumberStart,
    NegNumber,
    FloatStart,
    Float,
    IpAddr,
    Comment,
    IncludeStart,
    Include,
    IncludeQuoted(char),
    IncludeBare,
}

pub(crate) struct Lexer<'a> {
    input: &'a [u8],
    start: usize,
    pos: usize,
    width: usize,
    line: u32,
    /// Offset of the last newline consumed (Go's `lstart`).
    lstart: usize,
    /// `lstart` as it was when the current token began (Go's `ilstart`).
    ilstart: usize,
    state: Option<State>,
    stack: Vec<State>,
    /// Escaped pieces of the string being read, and the string state to return to.
    parts: Vec<u8>,
    has_parts: bool,
    string_state: State,
    out: VecDeque<Token>,
}

fn is_ws(c: char) -> bool {
    c == ' ' || c == '\t'
}
fn is_nl(c: char) -> bool {
    c == '\n' || c == '\r'
}
fn is_sep(c: char) -> bool {
    c == '=' || c == ':'
}
fn is_unit(c: char) -> bool {
    matches!(
        c,
        'k' | 'K' | 'm' | 'M' | 'g' | 'G' | 't' | 'T' | 'p' | 'P' | 'e' | 'E'
    )
}
/// Characters that end a number (Go's list; note that `]` is not one of them).
fn ends_number(c: char) -> bool {
    is_nl(c) || c == EOF || c == '}' || c == ';' || c == ',' || is_ws(c)
}
/// Go's `%v` of a rune after `escapeSpecial`: newlines shown as `\n`.
fn show(c: char) -> String {
    if c == '\n' {
        "\\n".to_string()
    } else {
        c.to_string()
    }
}

impl<'a> Lexer<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Lexer {
            input,
            start: 0,
            pos: 0,
            width: 0,
            line: 1,
            lstart: 0,
            ilstart: 0,
            state: Some(State::Top),
            stack: Vec::new(),
            parts: Vec::new(),
            has_parts: false,
            string_state: State::BareString,
            out: VecDeque::new(),
        }
    }

    /// The next token; EOF forever once the input (or an error) has been reached.
    pub fn next_token(&mut self) -> Token {
        loop {
            if let Some(t) = self.out.pop_front() {
                return t;
            }
            match self.state.take() {
                Some(s) => self.state = self.step(s),
                None => {
                    return Token {
                        kind: Kind::Eof,
                        val: Vec::new(),
                        line: self.line,
                        col: 0,
                    };
                }
            }
        }
    }

    // ----- cursor -----

    fn next(&mut self) -> char {
        if self.pos >= self.input.len() {
            self.width = 0;
            return EOF;
        }
        if self.input[self.pos] == b'\n' {
            self.line += 1;
            self.lstart = self.pos;
        }
        let (c, w) = decode(&self.input[self.pos..]);
        self.width = w;
        self.pos += w;
        c
    }

    fn backup(&mut self) {
        self.pos = self.pos.saturating_sub(self.width);
        if self.pos < self.input.len() && self.input[self.pos] == b'\n' {
            self.line = self.line.saturating_sub(1);
        }
    }

    fn peek(&mut self) -> char {
        let c = self.next();
        self.backup();
        c
    }

    fn ignore(&mut self) {
        self.start = self.pos;
        self.ilstart = self.lstart;
    }

    fn slice(&self) -> &'a [u8] {
        self.input.get(self.start..self.pos).unwrap_or(&[])
    }

    fn push(&mut self, s: State) {
        self.stack.push(s);
    }

    fn pop(&mut self) -> Option<State> {
        match self.stack.pop() {
            Some(s) => Some(s),
            None => self.error("BUG in lexer: no states to pop.".to_string()),
        }
    }

    // ----- output -----

    fn emit(&mut self, kind: Kind) {
        let mut val = std::mem::take(&mut self.parts);
        self.has_parts = false;
        val.extend_from_slice(self.slice());
        let col = self.pos as i64 - self.ilstart as i64 - val.len() as i64;
        self.out.push_back(Token {
            kind,
            val,
            line: self.line,
            col: col.clamp(0, u32::MAX as i64) as u32,
        });
        self.start = self.pos;
        self.ilstart = self.lstart;
    }

    fn error(&mut self, msg: String) -> Option<State> {
        let col = self.pos.saturating_sub(self.lstart);
        self.out.push_back(Token {
            kind: Kind::Error,
            val: msg.into_bytes(),
            line: self.line,
            col: col.min(u32::MAX as usize) as u32,
        });
        None
    }

    /// End of input inside something that may legitimately be empty: Go reports "Unexpected
    /// EOF." only when characters were pending, and otherwise just ends.
    fn eof_or_error(&mut self) -> Option<State> {
        if self.pos > self.start {
            return self.error("Unexpected EOF.".to_string());
        }
        self.emit(Kind::Eof);
        None
    }

    fn add_current_part(&mut self, backoff: usize) {
        let end = self.pos.saturating_sub(backoff).max(self.start);
        let piece = self.input.get(self.start..end).unwrap_or(&[]).to_vec();
        self.parts.extend_from_slice(&piece);
        self.has_parts = true;
        self.start = self.pos;
    }

    fn add_part(&mut self, bytes: &[u8]) -> Option<State> {
        self.parts.extend_from_slice(bytes);
        self.has_parts = true;
        self.start = self.pos;
        Some(self.string_state)
    }

    fn comment(&mut self, back_to: State) -> Option<State> {
        self.push(back_to);
        self.ignore();
        Some(State::Comment)
    }

    /// Handles `#`/`//` where a comment may start; `Ok` means a comment began, `Err` gives
    /// back the character that followed a lone `/` (already backed up).
    fn try_comment(&mut self, c: char, back_to: State) -> Result<Option<State>, ()> {
        if c == '#' {
            return Ok(self.comment(back_to));
        }
        if c == '/' {
            if self.next() == '/' {
                return Ok(self.comment(back_to));
            }
            self.backup();
        }
        Err(())
    }

    // ----- states -----

    fn step(&mut self, s: State) -> Option<State> {
        use State::*;
        match s {
            Top => self.top(),
            TopValueEnd => self.top_value_end(),
            KeyStart => self.key_start(),
            QuotedKey { quote, in_map } => self.quoted_key(quote, in_map),
            Key => self.key(),
            KeyEnd => self.key_end(),
            Value => self.value(),
            ArrayValue => self.array_value(),
            ArrayValueEnd => self.array_value_end(),
            ArrayEnd => self.close(Kind::ArrayEnd),
            MapKeyStart => self.map_key_start(),
            MapKey => self.map_key(),
            MapKeyEnd => self.map_key_end(),
            MapValue => self.map_value(),
            MapValueEnd => self.map_value_end(),
            MapEnd => self.close(Kind::MapEnd),
            Comment => self.comment_body(),
            SqString => self.sq_string(),
            DqString => self.dq_string(),
            BareString => self.bare_string(),
            Block => self.block(),
            Escape => self.escape(),
            HexEscape => self.hex_escape(),
            NumberStart => self.number_start(Number),
            NegNumberStart => self.number_start(NegNumber),
            Number => self.number(),
            NegNumber => self.neg_number(),
            UnitSuffix => self.unit_suffix(),
            DateAfterYear => self.date_after_year(),
            FloatStart => self.float_start(),
            Float => self.float(),
            IpAddr => self.ip_addr(),
            IncludeStart => self.include_start(),
            Include => self.include(),
            IncludeQuoted(q) => self.include_quoted(q),
            IncludeBare => self.include_bare(),
        }
    }

    fn close(&mut self, kind: Kind) -> Option<State> {
        self.ignore();
        self.emit(kind);
        self.pop()
    }

    fn comment_body(&mut self) -> Option<State> {
        let c = self.peek();
        if is_nl(c) || c == EOF {
            self.ignore();
            return self.pop();
        }
        self.next();
        Some(State::Comment)
    }
}

/// Decodes one UTF-8 character; invalid bytes decode as U+FFFD of width 1, as Go does.
fn decode(b: &[u8]) -> (char, usize) {
    let n = match b.first() {
        None => return (EOF, 0),
        Some(&x) if x < 0x80 => return (x as char, 1),
        Some(&x) if x >= 0xF0 => 4,
        Some(&x) if x >= 0xE0 => 3,
        Some(&x) if x >= 0xC0 => 2,
        Some(_) => return ('\u{FFFD}', 1),
    };
    match b
        .get(..n)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.chars().next())
    {
        Some(c) => (c, n),
        None => ('\u{FFFD}', 1),
    }
}

mod scalars;
mod structure;

#[cfg(test)]
#[path = "lexer_tests.rs"]
mod tests;
