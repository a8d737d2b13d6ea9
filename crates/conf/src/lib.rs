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
//! STUB: the public API below is fixed; the implementation is to be written.

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
        let _ = f;
        todo!()
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
        self.entries.iter().rev().find(|e| e.key.eq_ignore_ascii_case(key))
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
    let _ = path;
    todo!()
}

/// Parse config text. Includes are resolved relative to `base_dir` (the current directory
/// if `None`); positions carry no file name.
pub fn parse_str(src: &str, base_dir: Option<&Path>) -> Result<Map, ConfError> {
    let _ = (src, base_dir);
    todo!()
}

/// SHA-256 of the file's bytes, hex, as nats-server's `config_digest`.
pub fn digest_file(path: &Path) -> std::io::Result<String> {
    let _ = path;
    todo!()
}
