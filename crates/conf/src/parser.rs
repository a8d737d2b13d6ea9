//! Builds the value tree from the lexer's tokens: typed values, `$VAR` references,
//! `include` directives, with a position on every key and value.
//!
//! Invariants:
//! * `frames[0]` is the top-level map; maps and arrays being read are pushed on top of it,
//!   at most [`MAX_DEPTH`] deep (so dropping or cloning a tree never exhausts the stack).
//! * Variables resolve against keys already defined in the enclosing maps, innermost
//!   first (exact case, as nats-server does), then the environment. An environment value is
//!   parsed as if written `pk=<value>`; environment references that lead back to a
//!   variable already being resolved are reported as a cycle instead of recursing forever.
//! * Includes are read relative to the including file's directory (even when written with
//!   a leading `/`, like nats-server's `filepath.Join`), at most [`MAX_INCLUDE_DEPTH`] deep and
//!   never recursively into a file already being read.

use crate::lexer::{Kind, Lexer, Token};
use crate::{ConfError, Entry, Item, Map, Pos, Value};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Deepest nesting of maps and arrays we accept.
pub(crate) const MAX_DEPTH: usize = 512;
/// Deepest chain of includes we follow.
pub(crate) const MAX_INCLUDE_DEPTH: usize = 32;

/// Largest config file (or include) we read: a config is small, and a path to a device
/// such as `/dev/zero` must not exhaust memory.
pub(crate) const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a whole config file, refusing anything larger than [`MAX_FILE_BYTES`].
pub(crate) fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "file larger than {MAX_FILE_BYTES} bytes"
        )));
    }
    Ok(buf)
}

/// Key of the temporary map an environment value is parsed into (nats-server uses `pk`).
const ENV_KEY: &str = "pk";
/// Unquoted values starting `$2a$` are bcrypt hashes, not variables.
const BCRYPT_PREFIX: &str = "2a$";

enum Frame {
    Map(Map, Pos),
    Array(Vec<Item>, Pos),
}

/// State shared by a parse and the parses it starts (includes, environment values).
#[derive(Default)]
pub(crate) struct Shared {
    /// Files being read, outermost first (for include cycles).
    pub includes: Vec<PathBuf>,
    /// Environment variables being resolved (for reference cycles).
    pub env_chain: Vec<String>,
}

pub(crate) struct Parser<'a> {
    lx: Lexer<'a>,
    file: Option<Arc<PathBuf>>,
    base_dir: PathBuf,
    frames: Vec<Frame>,
    keys: Vec<(String, Pos)>,
}

impl<'a> Parser<'a> {
    pub fn new(src: &'a [u8], file: Option<Arc<PathBuf>>, base_dir: PathBuf) -> Self {
        let root = Pos {
            file: file.clone(),
            line: 1,
            col: 0,
        };
        Parser {
            lx: Lexer::new(src),
            file,
            base_dir,
            frames: vec![Frame::Map(Map::default(), root)],
            keys: Vec::new(),
        }
    }

    fn pos(&self, t: &Token) -> Pos {
        Pos {
            file: self.file.clone(),
            line: t.line,
            col: t.col,
        }
    }

    fn err(&self, t: &Token, msg: String) -> ConfError {
        ConfError::At {
            pos: self.pos(t),
            msg,
        }
    }

    pub fn run(mut self, shared: &mut Shared) -> Result<Map, ConfError> {
        loop {
            let t = self.lx.next_token();
            if t.kind == Kind::Eof {
                break;
            }
            self.process(t, shared)?;
        }
        if self.frames.len() != 1 {
            let pos = match self.frames.last() {
                Some(Frame::Map(_, p)) | Some(Frame::Array(_, p)) => p.clone(),
                None => Pos {
                    file: self.file.clone(),
                    line: 1,
                    col: 0,
                },
            };
            return Err(ConfError::At {
                pos,
                msg: "Unexpected EOF: unterminated map or array.".into(),
            });
        }
        match self.frames.pop() {
            Some(Frame::Map(m, _)) => Ok(m),
            _ => Err(ConfError::At {
                pos: Pos {
                    file: self.file.clone(),
                    line: 1,
                    col: 0,
                },
                msg: "internal parser error: top level is not a map".into(),
            }),
        }
    }

    fn process(&mut self, t: Token, shared: &mut Shared) -> Result<(), ConfError> {
        match t.kind {
            Kind::Eof => Ok(()),
            // Go words lexer errors `Parse error on line N: '…'` (tools match on it); we
            // keep that text behind the file:line:col every error carries.
            Kind::Error => Err(self.err(
                &t,
                format!("Parse error on line {}: '{}'", t.line, t.text()),
            )),
            Kind::Key => {
                let p = self.pos(&t);
                self.keys.push((t.text(), p));
                Ok(())
            }
            Kind::MapStart | Kind::ArrayStart => {
                if self.frames.len() >= MAX_DEPTH {
                    return Err(self.err(
                        &t,
                        format!("maps and arrays nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                let p = self.pos(&t);
                self.frames.push(if t.kind == Kind::MapStart {
                    Frame::Map(Map::default(), p)
                } else {
                    Frame::Array(Vec::new(), p)
                });
                Ok(())
            }
            Kind::MapEnd | Kind::ArrayEnd => {
                let item = match (t.kind, self.frames.len() > 1) {
                    (Kind::MapEnd, true) => match self.frames.pop() {
                        Some(Frame::Map(m, pos)) => Item {
                            value: Value::Map(m),
                            pos,
                        },
                        _ => return Err(self.err(&t, "unbalanced '}'".into())),
                    },
                    (Kind::ArrayEnd, true) => match self.frames.pop() {
                        Some(Frame::Array(a, pos)) => Item {
                            value: Value::Array(a),
                            pos,
                        },
                        _ => return Err(self.err(&t, "unbalanced ']'".into())),
                    },
                    _ => return Err(self.err(&t, "unbalanced closing bracket".into())),
                };
                // Go's token for a map or array inside an array is its closing bracket
                // (inside a map, the key's position is used instead, as `set_value` does).
                let mut item = item;
                if matches!(self.frames.last(), Some(Frame::Array(..))) {
                    item.pos = self.pos(&t);
                }
                self.set_value(item, &t)
            }
            Kind::String => self.set(&t, Value::String(t.text())),
            Kind::Bool => {
                let v = matches!(
                    t.text().to_ascii_lowercase().as_str(),
                    "true" | "yes" | "on"
                );
                self.set(&t, Value::Bool(v))
            }
            Kind::Integer => {
                let v = parse_int(&t.text()).map_err(|m| self.err(&t, m))?;
                self.set(&t, Value::Int(v))
            }
            Kind::Float => {
                let s = t.text();
                match s.parse::<f64>() {
                    Ok(f) if f.is_finite() => self.set(&t, Value::Float(f)),
                    Ok(_) => Err(self.err(&t, format!("float '{s}' is out of the range"))),
                    Err(_) => Err(self.err(&t, format!("expected float, but got '{s}'"))),
                }
            }
            Kind::Datetime => {
                let s = t.text();
                if !valid_zulu(&s) {
                    return Err(self.err(
                        &t,
                        format!("expected Zulu formatted DateTime, but got '{s}'"),
                    ));
                }
                self.set(&t, Value::DateTime(s))
            }
            Kind::Variable => {
                let value = self.lookup(&t, shared)?;
                self.set(&t, value)
            }
            Kind::Include => self.include(&t, shared),
        }
    }

    fn set(&mut self, t: &Token, value: Value) -> Result<(), ConfError> {
        let item = Item {
            value,
            pos: self.pos(t),
        };
        self.set_value(item, t)
    }

    fn set_value(&mut self, item: Item, t: &Token) -> Result<(), ConfError> {
        match self.frames.last_mut() {
            Some(Frame::Array(a, _)) => {
                a.push(item);
                Ok(())
            }
            Some(Frame::Map(m, _)) => match self.keys.pop() {
                Some((key, key_pos)) => {
                    m.entries.push(Entry {
                        key,
                        key_pos,
                        item,
                        used_as_variable: false,
                    });
                    Ok(())
                }
                None => Err(self.err(t, "value without a key".into())),
            },
            None => Err(self.err(t, "internal parser error: no open map".into())),
        }
    }

    /// `$name`: a bcrypt hash, a key of an enclosing map, or an environment variable.
    fn lookup(&mut self, t: &Token, shared: &mut Shared) -> Result<Value, ConfError> {
        let name = t.text();
        if name.starts_with(BCRYPT_PREFIX) {
            return Ok(Value::String(format!("${name}")));
        }
        for frame in self.frames.iter_mut().rev() {
            if let Frame::Map(m, _) = frame {
                if let Some(e) = m.entries.iter_mut().rev().find(|e| e.key == name) {
                    e.used_as_variable = true;
                    return Ok(e.item.value.clone());
                }
            }
        }
        let Some(raw) = std::env::var_os(&name) else {
            return Err(self.err(
                t,
                format!(
                    "variable reference for '{name}' on line {} can not be found",
                    t.line
                ),
            ));
        };
        if shared.env_chain.contains(&name) {
            let chain = shared.env_chain.join("' -> '");
            return Err(self.err(
                t,
                format!("variable reference cycle for '{name}' ('{chain}' -> '{name}')"),
            ));
        }
        let text = format!("{ENV_KEY}={}", raw.to_string_lossy());
        shared.env_chain.push(name.clone());
        let parsed = Parser::new(text.as_bytes(), None, self.base_dir.clone()).run(shared);
        shared.env_chain.pop();
        let map = parsed.map_err(|e| {
            self.err(
                t,
                format!(
                    "variable reference for '{name}' on line {} could not be parsed: {e}",
                    t.line
                ),
            )
        })?;
        match map.entries.into_iter().rev().find(|e| e.key == ENV_KEY) {
            Some(e) => {
                let mut item = e.item;
                relocate(&mut item, &self.pos(t));
                Ok(item.value)
            }
            None => Err(self.err(
                t,
                format!(
                    "variable reference for '{name}' on line {} can not be found",
                    t.line
                ),
            )),
        }
    }

    fn include(&mut self, t: &Token, shared: &mut Shared) -> Result<(), ConfError> {
        let name = t.text();
        let path = join_clean(&self.base_dir, &name);
        if shared.includes.len() >= MAX_INCLUDE_DEPTH {
            return Err(self.err(
                t,
                format!("error parsing include file '{name}', includes nested too deeply"),
            ));
        }
        let identity = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if shared.includes.contains(&identity) {
            return Err(self.err(
                t,
                format!("error parsing include file '{name}', it includes itself"),
            ));
        }
        let bytes = read_limited(&path).map_err(|e| {
            self.err(
                t,
                format!(
                    "error parsing include file '{name}', open {}: {}",
                    path.display(),
                    io_text(&e)
                ),
            )
        })?;
        shared.includes.push(identity);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let parsed = Parser::new(&bytes, Some(Arc::new(path)), dir).run(shared);
        shared.includes.pop();
        let included = parsed?;
        match self.frames.last_mut() {
            Some(Frame::Map(m, _)) => {
                m.entries.extend(included.entries);
                Ok(())
            }
            _ => Err(self.err(t, "include is only allowed where a key is expected".into())),
        }
    }
}

/// Integer with an optional unit suffix (`k`=10^3, `kb`/`ki`/`kib`=2^10, ... up to `e`).
pub(crate) fn parse_int(s: &str) -> Result<i64, String> {
    let digits = s
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'-')
        .count();
    let (num, suffix) = s.split_at(digits);
    let n: i64 = num
        .parse()
        .map_err(|e: std::num::ParseIntError| match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                format!("integer '{s}' is out of the range")
            }
            _ => format!("expected integer, but got '{s}'"),
        })?;
    let suffix = suffix.trim().to_ascii_lowercase();
    let (base, exp): (i64, u32) = match suffix.as_str() {
        "" => (1, 0),
        "k" => (1000, 1),
        "kb" | "ki" | "kib" => (1024, 1),
        "m" => (1000, 2),
        "mb" | "mi" | "mib" => (1024, 2),
        "g" => (1000, 3),
        "gb" | "gi" | "gib" => (1024, 3),
        "t" => (1000, 4),
        "tb" | "ti" | "tib" => (1024, 4),
        "p" => (1000, 5),
        "pb" | "pi" | "pib" => (1024, 5),
        "e" => (1000, 6),
        "eb" | "ei" | "eib" => (1024, 6),
        // nats-server silently drops such a key; an error is kinder.
        _ => return Err(format!("expected integer with a size unit, but got '{s}'")),
    };
    base.checked_pow(exp)
        .and_then(|m| n.checked_mul(m))
        .ok_or_else(|| format!("integer '{s}' is out of the range"))
}

/// `YYYY-MM-DDTHH:MM:SSZ` with real calendar ranges (Go's `time.Parse` checks them).
fn valid_zulu(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 20 {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(se)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d) && h < 24 && mi < 60 && se < 60
}

/// Values that came from the environment have no place of their own: they are reported
/// where the `$VAR` reference was written.
fn relocate(item: &mut Item, pos: &Pos) {
    item.pos = pos.clone();
    match &mut item.value {
        Value::Array(a) => a.iter_mut().for_each(|i| relocate(i, pos)),
        Value::Map(m) => m.entries.iter_mut().for_each(|e| {
            e.key_pos = pos.clone();
            relocate(&mut e.item, pos);
        }),
        _ => {}
    }
}

/// `dir/name`, lexically cleaned like Go's `filepath.Join` (which also makes an absolute
/// `name` relative to `dir`).
pub(crate) fn join_clean(dir: &Path, name: &str) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    let joined = dir.join(name.trim_start_matches('/'));
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) | Some(Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

/// An I/O error as Go words it: lower-case `strerror` text without Rust's "(os error N)".
pub(crate) fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => &s[..i],
        None => &s,
    };
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
