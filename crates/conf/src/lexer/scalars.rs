//! The lexer states that read scalar values: quoted, bare and block strings with their
//! escapes, numbers with units, floats, addresses, datetimes, and `include` operands.
//!
//! Each state consumes input, emits a token, or hands over to another state, exactly as the
//! corresponding state of nats-server's lexer does (see the parent module for positions).

use super::{ends_number, is_nl, is_unit, is_ws, show, Kind, Lexer, State, EOF};

impl Lexer<'_> {
    pub(super) fn sq_string(&mut self) -> Option<State> {
        let c = self.next();
        if c == '\'' {
            self.backup();
            self.emit(Kind::String);
            self.next();
            self.ignore();
            return self.pop();
        }
        if c == EOF {
            return self.eof_or_error();
        }
        Some(State::SqString)
    }

    pub(super) fn dq_string(&mut self) -> Option<State> {
        let c = self.next();
        match c {
            '\\' => {
                self.add_current_part(1);
                Some(State::Escape)
            }
            '"' => {
                self.backup();
                self.emit(Kind::String);
                self.next();
                self.ignore();
                self.pop()
            }
            EOF => self.eof_or_error(),
            _ => Some(State::DqString),
        }
    }

    pub(super) fn bare_string(&mut self) -> Option<State> {
        let c = self.next();
        if c == '\\' {
            self.add_current_part(1);
            return Some(State::Escape);
        }
        if is_nl(c) || c == EOF || c == ';' || c == ',' || c == ']' || c == '}' || is_ws(c) {
            self.backup();
            if self.has_parts {
                self.emit(Kind::String);
            } else if is_bool_word(self.slice()) {
                self.emit(Kind::Bool);
            } else if self.slice().first() == Some(&b'$') {
                self.start += 1;
                self.emit(Kind::Variable);
            } else {
                self.emit(Kind::String);
            }
            return self.pop();
        }
        if c == '\'' {
            self.backup();
            self.emit(Kind::String);
            self.next();
            self.ignore();
            return self.pop();
        }
        Some(State::BareString)
    }

    /// `( ... )`: raw text up to a `)` that stands alone on its line.
    pub(super) fn block(&mut self) -> Option<State> {
        let c = self.next();
        if c == EOF {
            // Also a NUL byte: Go reads rune 0 as end of input here.
            return self.error("Unexpected EOF processing block.".to_string());
        }
        if c != ')' {
            return Some(State::Block);
        }
        self.backup();
        self.backup();
        if self.next() != '\n' {
            self.next();
            return Some(State::Block);
        }
        self.next();
        let after = self.next();
        if after == '\n' || after == EOF {
            self.backup();
            self.backup();
            self.emit(Kind::String);
            self.next();
            self.ignore();
            return self.pop();
        }
        self.backup();
        Some(State::Block)
    }

    pub(super) fn escape(&mut self) -> Option<State> {
        let c = self.next();
        match c {
            'x' => Some(State::HexEscape),
            't' => self.add_part(b"\t"),
            'n' => self.add_part(b"\n"),
            'r' => self.add_part(b"\r"),
            '"' => self.add_part(b"\""),
            '\\' => self.add_part(b"\\"),
            _ => self.error(format!(
                "Invalid escape character '{}'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\.",
                show(c)
            )),
        }
    }

    pub(super) fn hex_escape(&mut self) -> Option<State> {
        const EOL: &str = "Expected two hexadecimal digits after '\\x', but hit end of line";
        if is_nl(self.next()) || is_nl(self.next()) {
            return self.error(EOL.to_string());
        }
        let from = self.pos.saturating_sub(2);
        let pair = self.input.get(from..self.pos).unwrap_or(&[]).to_vec();
        match decode_hex_pair(&pair) {
            Some(b) => self.add_part(&[b]),
            None => self.error(format!(
                "Expected two hexadecimal digits after '\\x', but got '{}'",
                String::from_utf8_lossy(&pair)
            )),
        }
    }

    pub(super) fn number(&mut self) -> Option<State> {
        let c = self.next();
        match c {
            '-' => {
                if self.pos - self.start != 5 {
                    return self.error("All ISO8601 dates must be in full Zulu form.".to_string());
                }
                Some(State::DateAfterYear)
            }
            c if c.is_ascii_digit() => Some(State::Number),
            '.' => Some(State::FloatStart),
            c if is_unit(c) => Some(State::UnitSuffix),
            c if !ends_number(c) => {
                self.string_state = State::BareString;
                Some(State::BareString)
            }
            _ => {
                self.backup();
                self.emit(Kind::Integer);
                self.pop()
            }
        }
    }

    pub(super) fn unit_suffix(&mut self) -> Option<State> {
        let c = self.next();
        if matches!(c, 'b' | 'B' | 'i' | 'I') {
            return Some(State::UnitSuffix);
        }
        self.backup();
        if ends_number(c) || c.is_ascii_digit() {
            self.emit(Kind::Integer);
            return self.pop();
        }
        self.string_state = State::BareString;
        Some(State::BareString)
    }

    pub(super) fn date_after_year(&mut self) -> Option<State> {
        // '0' stands for any digit; everything else must match exactly.
        for f in "00-00T00:00:00Z".chars() {
            let c = self.next();
            if f == '0' {
                if !c.is_ascii_digit() {
                    return self.error(format!(
                        "Expected digit in ISO8601 datetime, but found '{}' instead.",
                        show(c)
                    ));
                }
            } else if f != c {
                return self.error(format!(
                    "Expected '{}' in ISO8601 datetime, but found '{}' instead.",
                    show(f),
                    show(c)
                ));
            }
        }
        self.emit(Kind::Datetime);
        self.pop()
    }

    pub(super) fn include(&mut self) -> Option<State> {
        let c = self.next();
        let found = match c {
            '\'' | '"' => {
                self.ignore();
                return Some(State::IncludeQuoted(c));
            }
            '[' => "start of an array",
            '{' => "start of a map",
            '(' => "start of a block",
            '-' => "start of a number",
            c if c.is_ascii_digit() => "start of a number",
            '\\' => "escape sequence",
            c if is_nl(c) => "new line",
            _ => {
                self.backup();
                return Some(State::IncludeBare);
            }
        };
        self.error(format!("Expected include value but found {found}"))
    }

    pub(super) fn number_start(&mut self, then: State) -> Option<State> {
        let c = self.next();
        if !c.is_ascii_digit() {
            return if c == '.' {
                self.error("Floats must start with a digit, not '.'.".to_string())
            } else {
                self.error(format!("Expected a digit but got '{}'.", show(c)))
            };
        }
        Some(then)
    }

    pub(super) fn neg_number(&mut self) -> Option<State> {
        let c = self.next();
        match c {
            c if c.is_ascii_digit() => Some(State::NegNumber),
            '.' => Some(State::FloatStart),
            c if is_unit(c) => Some(State::UnitSuffix),
            _ => {
                self.backup();
                self.emit(Kind::Integer);
                self.pop()
            }
        }
    }

    pub(super) fn float_start(&mut self) -> Option<State> {
        let c = self.next();
        if !c.is_ascii_digit() {
            return self.error(format!(
                "Floats must have a digit after the '.', but got '{}' instead.",
                show(c)
            ));
        }
        Some(State::Float)
    }

    pub(super) fn float(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_ascii_digit() {
            return Some(State::Float);
        }
        if c == '.' {
            // A second dot: not a float after all but an address like 127.0.0.1:4222.
            return Some(State::IpAddr);
        }
        self.backup();
        self.emit(Kind::Float);
        self.pop()
    }

    pub(super) fn ip_addr(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_ascii_digit() || c == '.' || c == ':' || c == '-' {
            return Some(State::IpAddr);
        }
        self.backup();
        self.emit(Kind::String);
        self.pop()
    }

    pub(super) fn include_start(&mut self) -> Option<State> {
        if is_ws(self.next()) {
            self.ignore();
            return Some(State::IncludeStart);
        }
        self.backup();
        Some(State::Include)
    }

    pub(super) fn include_quoted(&mut self, q: char) -> Option<State> {
        let c = self.next();
        if c == q {
            self.backup();
            self.emit(Kind::Include);
            self.next();
            self.ignore();
            return self.pop();
        }
        if c == EOF {
            let what = if q == '"' { "double quoted" } else { "quoted" };
            return self.error(format!("Unexpected EOF in {what} include"));
        }
        Some(State::IncludeQuoted(q))
    }

    pub(super) fn include_bare(&mut self) -> Option<State> {
        let c = self.next();
        if is_nl(c) || c == EOF || c == ';' || c == '}' || is_ws(c) {
            self.backup();
            self.emit(Kind::Include);
            return self.pop();
        }
        if c == '\'' {
            self.backup();
            self.emit(Kind::Include);
            self.next();
            self.ignore();
            return self.pop();
        }
        Some(State::IncludeBare)
    }
}

fn is_bool_word(s: &[u8]) -> bool {
    ["true", "false", "on", "off", "yes", "no"]
        .iter()
        .any(|w| s.eq_ignore_ascii_case(w.as_bytes()))
}

fn decode_hex_pair(p: &[u8]) -> Option<u8> {
    if p.len() != 2 {
        return None;
    }
    let hi = (p[0] as char).to_digit(16)?;
    let lo = (p[1] as char).to_digit(16)?;
    Some((hi * 16 + lo) as u8)
}
