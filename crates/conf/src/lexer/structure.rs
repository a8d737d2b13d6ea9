//! The lexer states for structure: the top level, keys (and the `include` keyword), the
//! start of a value, arrays and maps.
//!
//! Each state consumes input, emits a token, or hands over to another state, exactly as the
//! corresponding state of nats-server's lexer does (see the parent module for positions).

use super::{is_nl, is_sep, is_ws, show, Kind, Lexer, State, EOF};

impl Lexer<'_> {
    pub(super) fn top(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_whitespace() || c == '{' {
            self.ignore();
            return Some(State::Top);
        }
        if c == '#' || c == '/' {
            if let Ok(s) = self.try_comment(c, State::Top) {
                return s;
            }
            return self.eof_or_error();
        }
        if c == EOF {
            return self.eof_or_error();
        }
        self.backup();
        self.push(State::TopValueEnd);
        Some(State::KeyStart)
    }

    pub(super) fn top_value_end(&mut self) -> Option<State> {
        let c = self.next();
        if c == '#' || c == '/' {
            if let Ok(s) = self.try_comment(c, State::Top) {
                return s;
            }
            // A lone '/' is skipped like whitespace (Go falls through to that case).
            return Some(State::TopValueEnd);
        }
        if is_ws(c) {
            return Some(State::TopValueEnd);
        }
        if is_nl(c) || c == EOF || c == ';' || c == ',' || c == '}' {
            self.ignore();
            return Some(State::Top);
        }
        self.error(format!(
            "Expected a top-level value to end with a new line, comment or EOF, but got '{}' instead.",
            show(c)
        ))
    }

    pub(super) fn key_start(&mut self) -> Option<State> {
        let c = self.peek();
        if is_sep(c) {
            return self.error(format!("Unexpected key separator '{}'", show(c)));
        }
        if c.is_whitespace() {
            self.next();
            self.ignore();
            return Some(State::KeyStart);
        }
        if c == '"' || c == '\'' {
            self.next();
            self.ignore();
            return Some(State::QuotedKey {
                quote: c,
                in_map: false,
            });
        }
        self.ignore();
        self.next();
        Some(State::Key)
    }

    pub(super) fn quoted_key(&mut self, quote: char, in_map: bool) -> Option<State> {
        let c = self.peek();
        if c == quote {
            self.emit(Kind::Key);
            self.next();
            self.ignore();
            return Some(if in_map {
                State::MapKeyEnd
            } else {
                State::KeyEnd
            });
        }
        if c == EOF {
            if !in_map {
                return self.eof_or_error();
            }
            let what = if quote == '"' {
                "double quoted"
            } else {
                "quoted"
            };
            return self.error(format!("Unexpected EOF processing {what} map key."));
        }
        self.next();
        Some(State::QuotedKey { quote, in_map })
    }

    /// A key followed by whitespace may be the `include` keyword.
    pub(super) fn key_or_keyword(&mut self, then: State, push: Option<State>) -> Option<State> {
        if self.slice().eq_ignore_ascii_case(b"include") {
            self.ignore();
            if let Some(p) = push {
                self.push(p);
            }
            return Some(State::IncludeStart);
        }
        self.emit(Kind::Key);
        Some(then)
    }

    pub(super) fn key(&mut self) -> Option<State> {
        let c = self.peek();
        if c.is_whitespace() {
            return self.key_or_keyword(State::KeyEnd, None);
        }
        if is_sep(c) || c == EOF {
            self.emit(Kind::Key);
            return Some(State::KeyEnd);
        }
        self.next();
        Some(State::Key)
    }

    pub(super) fn key_end(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_whitespace() {
            self.ignore();
            return Some(State::KeyEnd);
        }
        if is_sep(c) {
            self.ignore();
            return Some(State::Value);
        }
        if c == EOF {
            self.emit(Kind::Eof);
            return None;
        }
        self.backup();
        Some(State::Value)
    }

    pub(super) fn value(&mut self) -> Option<State> {
        let c = self.next();
        if is_ws(c) {
            self.ignore();
            return Some(State::Value);
        }
        match c {
            '[' => {
                self.ignore();
                self.emit(Kind::ArrayStart);
                Some(State::ArrayValue)
            }
            '{' => {
                self.ignore();
                self.emit(Kind::MapStart);
                Some(State::MapKeyStart)
            }
            '\'' => {
                self.ignore();
                Some(State::SqString)
            }
            '"' => {
                self.ignore();
                self.string_state = State::DqString;
                Some(State::DqString)
            }
            '-' => Some(State::NegNumberStart),
            '(' => {
                self.ignore();
                Some(State::Block)
            }
            c if c.is_ascii_digit() => {
                self.backup();
                Some(State::NumberStart)
            }
            '.' => self.error("Floats must start with a digit".to_string()),
            c if is_nl(c) => self.error("Expected value but found new line".to_string()),
            _ => {
                self.backup();
                self.string_state = State::BareString;
                Some(State::BareString)
            }
        }
    }

    pub(super) fn array_value(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_whitespace() {
            self.ignore();
            return Some(State::ArrayValue);
        }
        if c == '#' || c == '/' {
            if let Ok(s) = self.try_comment(c, State::ArrayValue) {
                return s;
            }
            return self.error("Unexpected array value terminator ','.".to_string());
        }
        if c == ',' {
            return self.error("Unexpected array value terminator ','.".to_string());
        }
        if c == ']' {
            return Some(State::ArrayEnd);
        }
        self.backup();
        self.push(State::ArrayValueEnd);
        Some(State::Value)
    }

    pub(super) fn array_value_end(&mut self) -> Option<State> {
        let c = self.next();
        if is_ws(c) {
            self.ignore();
            return Some(State::ArrayValueEnd);
        }
        if c == '#' || c == '/' {
            if let Ok(s) = self.try_comment(c, State::ArrayValueEnd) {
                return s;
            }
            self.ignore();
            return Some(State::ArrayValue);
        }
        if c == ',' || is_nl(c) {
            self.ignore();
            return Some(State::ArrayValue);
        }
        if c == ']' {
            return Some(State::ArrayEnd);
        }
        self.error(format!(
            "Expected an array value terminator \",\" or an array terminator \"]\", but got '{}' instead.",
            show(c)
        ))
    }

    pub(super) fn map_key_start(&mut self) -> Option<State> {
        let c = self.peek();
        if is_sep(c) {
            return self.error(format!("Unexpected key separator '{}'.", show(c)));
        }
        if c == ']' {
            return self.error(format!(
                "Unexpected array end '{}' processing map.",
                show(c)
            ));
        }
        if c.is_whitespace() {
            self.next();
            self.ignore();
            return Some(State::MapKeyStart);
        }
        match c {
            '}' => {
                self.next();
                self.ignore();
                return Some(State::MapEnd);
            }
            '#' => {
                self.next();
                return self.comment(State::MapKeyStart);
            }
            '/' => {
                self.next();
                if self.next() == '/' {
                    return self.comment(State::MapKeyStart);
                }
                self.backup();
            }
            '\'' | '"' => {
                self.next();
                self.ignore();
                return Some(State::QuotedKey {
                    quote: c,
                    in_map: true,
                });
            }
            EOF => return self.error("Unexpected EOF processing map.".to_string()),
            _ => {}
        }
        self.ignore();
        self.next();
        Some(State::MapKey)
    }

    pub(super) fn map_key(&mut self) -> Option<State> {
        let c = self.peek();
        if c == EOF {
            return self.error("Unexpected EOF processing map key.".to_string());
        }
        if c.is_whitespace() {
            return self.key_or_keyword(State::MapKeyEnd, Some(State::MapValueEnd));
        }
        if is_sep(c) {
            self.emit(Kind::Key);
            return Some(State::MapKeyEnd);
        }
        self.next();
        Some(State::MapKey)
    }

    pub(super) fn map_key_end(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_whitespace() {
            self.ignore();
            return Some(State::MapKeyEnd);
        }
        if is_sep(c) {
            self.ignore();
            return Some(State::MapValue);
        }
        self.backup();
        Some(State::MapValue)
    }

    pub(super) fn map_value(&mut self) -> Option<State> {
        let c = self.next();
        if c.is_whitespace() {
            self.ignore();
            return Some(State::MapValue);
        }
        if c == ',' {
            return self.error("Unexpected map value terminator \",\".".to_string());
        }
        if c == '}' {
            self.ignore();
            return Some(State::MapEnd);
        }
        self.backup();
        self.push(State::MapValueEnd);
        Some(State::Value)
    }

    pub(super) fn map_value_end(&mut self) -> Option<State> {
        let c = self.next();
        if is_ws(c) {
            self.ignore();
            return Some(State::MapValueEnd);
        }
        if c == '#' || c == '/' {
            if let Ok(s) = self.try_comment(c, State::MapValueEnd) {
                return s;
            }
            self.ignore();
            return Some(State::MapKeyStart);
        }
        if c == ';' || c == ',' || is_nl(c) {
            self.ignore();
            return Some(State::MapKeyStart);
        }
        if c == '}' {
            self.ignore();
            return Some(State::MapEnd);
        }
        self.error(format!(
            "Expected a map value terminator \",\" or a map terminator \"}}\", but got '{}' instead.",
            show(c)
        ))
    }
}
