//! The NATS configuration language, as nats-server's `conf` package reads it.
//!
//! `key: value`, `key = value` or `key value`; maps `{}` and arrays `[]`; `#` and `//`
//! comments; double-quoted (with escapes), single-quoted and bare strings; integers with
//! size suffixes (`k`=1000, `kb`=1024, `m`=10^6, `mb`=2^20, …); floats; booleans
//! (`true/false/yes/no/on/off`); ISO-8601 datetimes; `$VAR` references resolved through the
//! enclosing maps and then the environment (an environment value is parsed as a value);
//! `include path` relative to the including file; raw `( … )` blocks. The JSON that the
//! NATS Helm chart renders is valid input too.
//!
//! Every value and key carries its position so that errors (and the server's "unknown
//! field" check) can say `file:line:col`.
//!
//! Compatibility with nats-server 2.9's `conf` package is the design goal, including its
//! quirks (see the `lexer` module); where Go would silently drop a value or loop forever (unknown
//! size units, integer overflow, include or variable cycles, an unterminated map), we
//! return an error instead.
//!
//! Invariants:
//! * Parsing never panics, whatever the input, and never recurses without bound.
//! * Positions use nats-server's numbering: lines from 1; columns are byte offsets from
//!   the previous newline, so the first line counts from 0 and later lines from 1. A map
//!   entry's errors are reported at its key (`Entry::key_pos`), an array element's at
//!   the element (`Item::pos`).
//! * Keys keep their spelling; [`Map::get`] matches case-insensitively as the server does,
//!   while `$VAR` references match keys exactly, as nats-server does.

mod lexer;
mod parser;

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a key or value starts. `file` is `None` for text parsed from a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pos {
    pub file: Option<Arc<PathBuf>>,
    pub line: u32,
    pub col: u32,
}

impl std::fmt::Display for Pos {
    /// `file:line:col` (or `line:col` without a file), as nats-server prints positions.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{}:{}:{}", file.display(), self.line, self.col),
            None => write!(f, "{}:{}", self.line, self.col),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    String(String),
    /// An ISO-8601 Zulu datetime, kept as written.
    DateTime(String),
    Array(Vec<Item>),
    Map(Map),
}

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub value: Value,
    pub pos: Pos,
}

/// One `key: value` of a map.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub item: Item,
    /// The key was referenced as `$key` somewhere; nats-server does not report such keys
    /// as unknown fields.
    pub used_as_variable: bool,
}

/// A map in file order. Later duplicates of a key override earlier ones on lookup.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Map {
    pub entries: Vec<Entry>,
}

impl Map {
    /// Case-insensitive lookup (the server matches keys case-insensitively); the last
    /// entry wins.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.key.eq_ignore_ascii_case(key))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfError {
    /// Syntax or semantic error at a position: displays as `file:line:col: message`.
    #[error("{pos}: {msg}")]
    At { pos: Pos, msg: String },
    /// The file (or an included file) could not be read.
    #[error("{msg}")]
    Io { msg: String },
}

/// Parse a config file (following includes relative to it).
pub fn parse_file(path: &Path) -> Result<Map, ConfError> {
    let bytes = parser::read_limited(path).map_err(|e| ConfError::Io {
        msg: format!("open {}: {}", path.display(), parser::io_text(&e)),
    })?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut shared = parser::Shared::default();
    shared
        .includes
        .push(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()));
    parser::Parser::new(&bytes, Some(Arc::new(path.to_path_buf())), dir).run(&mut shared)
}

/// Parse config text. Includes are resolved relative to `base_dir` (the current directory
/// if `None`); positions carry no file name.
pub fn parse_str(src: &str, base_dir: Option<&Path>) -> Result<Map, ConfError> {
    let dir = base_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    parser::Parser::new(src.as_bytes(), None, dir).run(&mut parser::Shared::default())
}

/// SHA-256 of the file's bytes, hex, as nats-server's `config_digest`.
pub fn digest_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let bytes = std::fs::read(path)?;
    let sum = sha2::Sha256::digest(&bytes);
    Ok(sum.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests;
