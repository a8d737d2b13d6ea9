//! Reading typed values out of the config tree, with nats-server's wording for problems.
//!
//! nats-server asserts Go types (`v.(string)`) and turns the resulting panic into
//! `interface conversion: interface {} is int64, not string` at the key's position; we
//! produce the same text without panicking. Every problem is appended to the report and
//! the caller moves on, so one run reports all of them, as nats-server does.

use super::ConfigReport;
use nats_conf::{Entry, Item, Map, Pos, Value};

/// Go's name for the dynamic type nats-server sees for a value.
pub(crate) fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Int(_) => "int64",
        Value::Float(_) => "float64",
        Value::Bool(_) => "bool",
        Value::String(_) => "string",
        Value::DateTime(_) => "time.Time",
        Value::Array(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
    }
}

/// Go's `%v` of a config value (good enough for the messages that print one).
pub(crate) fn go_display(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format!("{f}"),
        Value::Bool(b) => b.to_string(),
        Value::String(s) | Value::DateTime(s) => s.clone(),
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(|i| go_display(&i.value)).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Map(m) => {
            let mut parts: Vec<String> = m
                .entries
                .iter()
                .map(|e| format!("{}:{}", e.key, go_display(&e.item.value)))
                .collect();
            parts.sort();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// Go's `%q` of a string.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Where problems go, and how nats-server words each kind.
pub(crate) struct Diag<'r> {
    pub report: &'r mut ConfigReport,
}

impl Diag<'_> {
    pub fn error(&mut self, pos: &Pos, msg: impl AsRef<str>) {
        self.report.errors.push(format!("{pos}: {}", msg.as_ref()));
    }

    /// nats-server's own warnings (`configWarningErr`).
    pub fn warn_field(&mut self, pos: &Pos, field: &str, reason: &str) {
        self.report.warnings.push(format!(
            "{pos}: invalid use of field {}: {reason}",
            go_quote(field)
        ));
    }

    pub fn unknown(&mut self, e: &Entry) {
        if !e.used_as_variable {
            self.report
                .errors
                .push(format!("{}: unknown field {}", e.key_pos, go_quote(&e.key)));
        }
    }

    /// A key nats-server accepts (in 2.9 or a later release) that this server does not
    /// implement: reported, never fatal.
    pub fn unsupported(&mut self, e: &Entry, what: &str) {
        self.report.unsupported.push(format!(
            "{}: field {} is not supported by this server and is ignored ({what})",
            e.key_pos,
            go_quote(&e.key)
        ));
    }

    /// A key whose meaning is a restriction (permissions and the like): ignoring it would
    /// grant more than the configuration says, so it is an error.
    pub fn refuse(&mut self, e: &Entry, what: &str) {
        self.report.errors.push(format!(
            "{}: field {} is not supported by this server ({what}); refusing to run without enforcing it",
            e.key_pos,
            go_quote(&e.key)
        ));
    }

    fn conversion(&mut self, pos: &Pos, v: &Value, want: &str) {
        self.error(
            pos,
            format!(
                "interface conversion: interface {{}} is {}, not {want}",
                go_type(v)
            ),
        );
    }

    pub fn string(&mut self, pos: &Pos, v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            other => {
                self.conversion(pos, other, "string");
                None
            }
        }
    }

    pub fn int(&mut self, pos: &Pos, v: &Value) -> Option<i64> {
        match v {
            Value::Int(i) => Some(*i),
            other => {
                self.conversion(pos, other, "int64");
                None
            }
        }
    }

    /// An int that must fit the i32 fields (ports); Go's `int` is 64-bit, so it would only
    /// fail later, at bind time.
    pub fn int32(&mut self, pos: &Pos, v: &Value) -> Option<i32> {
        let i = self.int(pos, v)?;
        match i32::try_from(i) {
            Ok(n) => Some(n),
            Err(_) => {
                self.error(pos, format!("value {i} is out of range"));
                None
            }
        }
    }

    pub fn bool(&mut self, pos: &Pos, v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                self.conversion(pos, other, "bool");
                None
            }
        }
    }

    pub fn map<'m>(&mut self, pos: &Pos, v: &'m Value) -> Option<&'m Map> {
        match v {
            Value::Map(m) => Some(m),
            other => {
                self.conversion(pos, other, "map[string]interface {}");
                None
            }
        }
    }

    pub fn array<'m>(&mut self, pos: &Pos, v: &'m Value) -> Option<&'m [Item]> {
        match v {
            Value::Array(a) => Some(a),
            other => {
                self.conversion(pos, other, "[]interface {}");
                None
            }
        }
    }
}

/// The entries nats-server would see: its maps keep only the last of duplicate keys
/// (keys are compared exactly there; case-insensitive matching happens afterwards).
/// File order is kept so that problems are reported top to bottom.
pub(crate) fn effective(m: &Map) -> Vec<&Entry> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<&Entry> = m
        .entries
        .iter()
        .rev()
        .filter(|e| seen.insert(e.key.as_str()))
        .collect();
    out.reverse();
    out
}
