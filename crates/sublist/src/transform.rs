//! Subject transforms: rewriting a published subject that matches a source pattern into a
//! destination subject, as nats-server 2.9.10's subject mappings do.
//!
//! A [`Transform`] is built from a source pattern (literal tokens, `*`, a final `>`) and a
//! destination. Destination tokens are literals, `$N` (the N-th `*` of the source), or one
//! of 2.9.10's mustache functions, whose names are matched as Go's regular expressions
//! match them (first letter of each word in either case, the rest lower case):
//!
//! | function | result |
//! |---|---|
//! | `{{wildcard(N)}}` | the N-th `*` token (same as `$N`) |
//! | `{{partition(P,N,M…)}}` | FNV-1a 32 of the named tokens concatenated, modulo P |
//! | `{{split(N,d)}}` | the token cut at each `d` into several tokens (empty parts dropped) |
//! | `{{splitfromleft(N,k)}}` / `{{splitfromright(N,k)}}` | cut in two, k bytes from one end |
//! | `{{slicefromleft(N,k)}}` / `{{slicefromright(N,k)}}` | cut into k-byte tokens from one end |
//!
//! Invariants, all as in Go 2.9.10:
//! * A transform whose source has no wildcard returns its destination verbatim (a `$1` or
//!   `{{…}}` there is not interpreted).
//! * A wildcard index of 0 or less reads the source's first token (Go's map lookup default);
//!   an index above the number of `*` tokens is an error.
//! * Each `*` must be referenced by at least as many placeholders as there are `*`s (Go
//!   counts placeholders, not distinct indexes).
//! * A destination ending in `>` receives the tokens the source's `>` matched.
//!
//! The one deliberate difference: a partition count of 0 or less is refused here (Go 2.9.10
//! accepts it and then divides by zero on the first matching publish).
//!
//! This module knows nothing of connections; the caller caches results (transforms are
//! called once per distinct subject, not per message, when the mapping is deterministic).

use std::fmt;

use crate::subject::is_valid_subject;

const SEP: u8 = b'.';

/// Go's `ErrInvalidMappingDestination` family, plus `ErrBadSubject`. `Display` is Go's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransformError {
    /// Source or destination is not a valid subject for a transform (`invalid subject`).
    BadSubject,
    /// A destination token that is empty, follows `>`, or holds whitespace.
    InvalidDestination(Option<String>),
    NotUsingAllWildcards(String),
    UnknownFunction(String),
    IndexOutOfRange(String),
    NotEnoughArguments(String),
    InvalidArgument(String),
    TooManyArguments(String),
}

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const P: &str = "invalid mapping destination";
        match self {
            TransformError::BadSubject => f.write_str("invalid subject"),
            TransformError::InvalidDestination(None) => write!(f, "{P}: invalid subject"),
            TransformError::InvalidDestination(Some(t)) => {
                write!(f, "{P}: invalid subject in {t}")
            }
            TransformError::NotUsingAllWildcards(t) => {
                write!(f, "{P}: not using all of the token wildcard(s) in {t}")
            }
            TransformError::UnknownFunction(t) => write!(f, "{P}: unknown function in {t}"),
            TransformError::IndexOutOfRange(t) => {
                write!(f, "{P}: wildcard index out of range in {t}")
            }
            TransformError::NotEnoughArguments(t) => {
                write!(f, "{P}: not enough arguments passed to the function in {t}")
            }
            TransformError::InvalidArgument(t) => write!(
                f,
                "{P}: function argument is invalid or in the wrong format in {t}"
            ),
            TransformError::TooManyArguments(t) => {
                write!(f, "{P}: too many arguments passed to the function in {t}")
            }
        }
    }
}

impl std::error::Error for TransformError {}

/// One destination token, with source token positions already resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(Box<[u8]>),
    /// The trailing `>`: the source's remaining tokens.
    Rest,
    Wildcard(usize),
    Partition {
        buckets: u32,
        from: Box<[usize]>,
    },
    SplitFromLeft(usize, i64),
    SplitFromRight(usize, i64),
    SliceFromLeft(usize, i64),
    SliceFromRight(usize, i64),
    Split(usize, Box<[u8]>),
}

/// The kinds of function a mustache token may name, before indexes are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Wildcard,
    Partition,
    SplitFromLeft,
    SplitFromRight,
    SliceFromLeft,
    SliceFromRight,
    Split,
}

/// Go's patterns, in the order Go tries them. An upper-case letter stands for `[xX]`.
const FUNCS: [(&str, Func); 7] = [
    ("Wildcard", Func::Wildcard),
    ("Partition", Func::Partition),
    ("SplitFromLeft", Func::SplitFromLeft),
    ("SplitFromRight", Func::SplitFromRight),
    ("SliceFromLeft", Func::SliceFromLeft),
    ("SliceFromRight", Func::SliceFromRight),
    ("Split", Func::Split),
];

/// A compiled subject transform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transform {
    src: String,
    dest: String,
    /// Number of source tokens (the position of a trailing `>` is `src_len - 1`).
    src_len: usize,
    /// Empty when the destination is used verbatim.
    parts: Vec<Part>,
}

fn is_go_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

fn is_mustache(t: &str) -> bool {
    t.len() > 4 && t.starts_with("{{") && t.ends_with("}}")
}

/// Match `{{\s*NAME\s*\((.*)\)\s*}}` anywhere in `t` (leftmost, greedy, `.` not matching a
/// newline), returning the argument text.
fn match_func<'t>(t: &'t str, name: &str) -> Option<&'t str> {
    let b = t.as_bytes();
    let skip_ws = |mut i: usize| {
        while i < b.len() && is_go_space(b[i]) {
            i += 1;
        }
        i
    };
    for start in 0..b.len() {
        if !b[start..].starts_with(b"{{") {
            continue;
        }
        let mut i = skip_ws(start + 2);
        let mut ok = true;
        for n in name.bytes() {
            let Some(&c) = b.get(i) else {
                ok = false;
                break;
            };
            let fits = if n.is_ascii_uppercase() {
                c == n || c == n.to_ascii_lowercase()
            } else {
                c == n
            };
            if !fits {
                ok = false;
                break;
            }
            i += 1;
        }
        if !ok {
            continue;
        }
        i = skip_ws(i);
        if b.get(i) != Some(&b'(') {
            continue;
        }
        let open = i + 1;
        // Greedy: the last `)` (before any newline) that is followed by `\s*}}`.
        let limit = b[open..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |p| open + p);
        let close = (open..limit)
            .rev()
            .find(|&e| b[e] == b')' && b[skip_ws(e + 1)..].starts_with(b"}}"));
        if let Some(e) = close {
            return Some(&t[open..e]);
        }
    }
    None
}

/// Go's `commaSeparatorRegEx.Split(args, -1)`: split at `,\s*`.
fn split_args(args: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = args;
    while let Some(p) = rest.find(',') {
        out.push(&rest[..p]);
        rest = rest[p + 1..].trim_start_matches(|c: char| c.is_ascii() && is_go_space(c as u8));
    }
    out.push(rest);
    out
}

/// Go's `strconv.Atoi` on an argument with spaces (only spaces) trimmed.
fn int_arg(s: &str) -> Option<i64> {
    s.trim_matches(' ').parse::<i64>().ok()
}

/// Go's `ValidateMappingDestination`: token shapes only, before the transform is built.
pub fn validate_destination(dest: &str) -> Result<(), TransformError> {
    let mut after_fwc = false;
    for t in dest.split('.') {
        if t.is_empty() || after_fwc {
            return Err(TransformError::InvalidDestination(Some(t.to_string())));
        }
        if is_mustache(t) {
            if FUNCS.iter().any(|(n, _)| match_func(t, n).is_some()) {
                continue;
            }
            return Err(TransformError::UnknownFunction(t.to_string()));
        }
        if t == ">" {
            after_fwc = true;
        } else if t
            .bytes()
            .any(|b| matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' '))
        {
            return Err(TransformError::InvalidDestination(None));
        }
    }
    Ok(())
}

/// A placeholder: its function and the wildcard indexes (1-based, as written) it reads.
type Placeholder = (Func, Vec<i64>, i64, Option<String>);

/// Go's `indexPlaceHolders` for one destination token: `None` for a literal token.
fn placeholder(t: &str) -> Result<Option<Placeholder>, TransformError> {
    if t.len() <= 1 {
        return Ok(None);
    }
    if let Some(n) = t.strip_prefix('$') {
        // `$x` that is not a number stays a literal (other features use `$` tokens).
        return Ok(n
            .parse::<i64>()
            .ok()
            .map(|i| (Func::Wildcard, vec![i], -1, None)));
    }
    if !is_mustache(t) {
        return Ok(None);
    }
    let own = || t.to_string();
    for (name, func) in FUNCS {
        let Some(raw) = match_func(t, name) else {
            continue;
        };
        let args = split_args(raw);
        return match func {
            Func::Wildcard => {
                if args.len() > 1 {
                    return Err(TransformError::TooManyArguments(own()));
                }
                if args[0].is_empty() {
                    return Err(TransformError::NotEnoughArguments(own()));
                }
                let i = int_arg(args[0]).ok_or_else(|| TransformError::InvalidArgument(own()))?;
                Ok(Some((func, vec![i], -1, None)))
            }
            Func::Partition => {
                if args.len() < 2 {
                    return Err(TransformError::NotEnoughArguments(own()));
                }
                let n = int_arg(args[0]).ok_or_else(|| TransformError::InvalidArgument(own()))?;
                let idx = args[1..]
                    .iter()
                    .map(|a| int_arg(a))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| TransformError::InvalidArgument(own()))?;
                // Go keeps the count as an int32; 0 or less would divide by zero (or wrap).
                let n = n as i32;
                if n <= 0 {
                    return Err(TransformError::InvalidArgument(own()));
                }
                Ok(Some((func, idx, i64::from(n), None)))
            }
            Func::Split => {
                if args.len() < 2 {
                    return Err(TransformError::NotEnoughArguments(own()));
                }
                if args.len() > 2 {
                    return Err(TransformError::TooManyArguments(own()));
                }
                let i = int_arg(args[0]).ok_or_else(|| TransformError::InvalidArgument(own()))?;
                if args[1].contains(' ') || args[1].contains('.') {
                    return Err(TransformError::InvalidArgument(own()));
                }
                Ok(Some((func, vec![i], -1, Some(args[1].to_string()))))
            }
            _ => {
                if args.len() < 2 {
                    return Err(TransformError::NotEnoughArguments(own()));
                }
                if args.len() > 2 {
                    return Err(TransformError::TooManyArguments(own()));
                }
                let i = int_arg(args[0]).ok_or_else(|| TransformError::InvalidArgument(own()))?;
                let k = int_arg(args[1]).ok_or_else(|| TransformError::InvalidArgument(own()))?;
                // Go stores the size as an int32.
                Ok(Some((func, vec![i], i64::from(k as i32), None)))
            }
        };
    }
    Err(TransformError::UnknownFunction(own()))
}

/// Go's `subjectInfo`: (valid, number of `*`, has `>`). Tokens must be non-empty and `>`
/// last; whitespace is not checked here.
fn subject_info(s: &str) -> (bool, usize, bool) {
    let mut pwcs = 0;
    let mut fwc = false;
    for t in s.split('.') {
        if t.is_empty() || fwc {
            return (false, 0, false);
        }
        match t {
            "*" => pwcs += 1,
            ">" => fwc = true,
            _ => {}
        }
    }
    (true, pwcs, fwc)
}

impl Transform {
    /// Build a transform from `src` to `dest` (Go's `newTransform`; the caller runs
    /// [`validate_destination`] first when it wants Go's full checks for mappings).
    pub fn new(src: &str, dest: &str) -> Result<Transform, TransformError> {
        let (sv, npwcs, s_fwc) = subject_info(src);
        let (dv, dpwcs, d_fwc) = subject_info(dest);
        if !sv || !dv || dpwcs > 0 || s_fwc != d_fwc {
            return Err(TransformError::BadSubject);
        }
        let src_tokens: Vec<&str> = src.split('.').collect();
        let mut parts = Vec::new();
        if npwcs > 0 || s_fwc {
            // Position in the source of the i-th `*` (1-based).
            let stars: Vec<usize> = src_tokens
                .iter()
                .enumerate()
                .filter(|(_, t)| **t == "*")
                .map(|(i, _)| i)
                .collect();
            let mut placeholders = 0;
            for t in dest.split('.') {
                let Some((func, idx, int, string)) = placeholder(t)? else {
                    parts.push(if t == ">" {
                        Part::Rest
                    } else {
                        Part::Literal(t.as_bytes().into())
                    });
                    continue;
                };
                placeholders += 1;
                let mut from = Vec::with_capacity(idx.len());
                for i in idx {
                    if i > npwcs as i64 {
                        return Err(TransformError::IndexOutOfRange(format!("{t}: [{i}]")));
                    }
                    from.push(if i >= 1 { stars[i as usize - 1] } else { 0 });
                }
                parts.push(match func {
                    Func::Wildcard => Part::Wildcard(from[0]),
                    Func::Partition => Part::Partition {
                        buckets: int as u32,
                        from: from.into(),
                    },
                    Func::SplitFromLeft => Part::SplitFromLeft(from[0], int),
                    Func::SplitFromRight => Part::SplitFromRight(from[0], int),
                    Func::SliceFromLeft => Part::SliceFromLeft(from[0], int),
                    Func::SliceFromRight => Part::SliceFromRight(from[0], int),
                    Func::Split => {
                        Part::Split(from[0], string.unwrap_or_default().into_bytes().into())
                    }
                });
            }
            if placeholders < npwcs {
                return Err(TransformError::NotUsingAllWildcards(dest.to_string()));
            }
        }
        Ok(Transform {
            src: src.to_string(),
            dest: dest.to_string(),
            src_len: src_tokens.len(),
            parts,
        })
    }

    pub fn source(&self) -> &str {
        &self.src
    }

    pub fn destination(&self) -> &str {
        &self.dest
    }

    /// Does the result depend on the subject? (False: [`Transform::destination`] is it.)
    pub fn is_verbatim(&self) -> bool {
        self.parts.is_empty()
    }

    /// Write the transformed `subject` (already known to match the source) into `out`.
    /// `out` is cleared first.
    pub fn apply(&self, subject: &[u8], out: &mut Vec<u8>) {
        out.clear();
        if self.parts.is_empty() {
            out.extend_from_slice(self.dest.as_bytes());
            return;
        }
        let mut stack: [&[u8]; 16] = [&[]; 16];
        let heap: Vec<&[u8]>;
        let n = subject.split(|&b| b == SEP).count();
        let tokens: &[&[u8]] = if n <= stack.len() {
            for (slot, t) in stack.iter_mut().zip(subject.split(|&b| b == SEP)) {
                *slot = t;
            }
            &stack[..n]
        } else {
            heap = subject.split(|&b| b == SEP).collect();
            &heap
        };
        let tok = |i: usize| tokens.get(i).copied().unwrap_or_default();
        let last = self.parts.len() - 1;
        for (pi, part) in self.parts.iter().enumerate() {
            match part {
                Part::Rest => {
                    let from = self.src_len - 1;
                    for (k, t) in tokens.iter().enumerate().skip(from) {
                        if k > from {
                            out.push(SEP);
                        }
                        out.extend_from_slice(t);
                    }
                    return;
                }
                Part::Literal(l) => out.extend_from_slice(l),
                Part::Wildcard(i) => out.extend_from_slice(tok(*i)),
                Part::Partition { buckets, from } => {
                    let mut h = Fnv1a32::new();
                    for &i in from.iter() {
                        h.write(tok(i));
                    }
                    let mut b = itoa_buf(h.finish() % buckets);
                    out.append(&mut b);
                }
                Part::SplitFromLeft(i, k) => {
                    let t = tok(*i);
                    match usize::try_from(*k) {
                        Ok(k) if k > 0 && k < t.len() => {
                            out.extend_from_slice(&t[..k]);
                            out.push(SEP);
                            out.extend_from_slice(&t[k..]);
                        }
                        _ => out.extend_from_slice(t),
                    }
                }
                Part::SplitFromRight(i, k) => {
                    let t = tok(*i);
                    match usize::try_from(*k) {
                        Ok(k) if k > 0 && k < t.len() => {
                            out.extend_from_slice(&t[..t.len() - k]);
                            out.push(SEP);
                            out.extend_from_slice(&t[t.len() - k..]);
                        }
                        _ => out.extend_from_slice(t),
                    }
                }
                Part::SliceFromLeft(i, k) => {
                    let t = tok(*i);
                    match usize::try_from(*k) {
                        Ok(k) if k > 0 && k < t.len() => {
                            // Full slices from the left; a short remainder is the last token.
                            for (ci, chunk) in t.chunks(k).enumerate() {
                                if ci > 0 {
                                    out.push(SEP);
                                }
                                out.extend_from_slice(chunk);
                            }
                        }
                        _ => out.extend_from_slice(t),
                    }
                }
                Part::SliceFromRight(i, k) => {
                    let t = tok(*i);
                    match usize::try_from(*k) {
                        Ok(k) if k > 0 && k < t.len() => {
                            // A short remainder first, then full slices.
                            let r = t.len() % k;
                            if r > 0 {
                                out.extend_from_slice(&t[..r]);
                                out.push(SEP);
                            }
                            for (ci, chunk) in t[r..].chunks(k).enumerate() {
                                if ci > 0 {
                                    out.push(SEP);
                                }
                                out.extend_from_slice(chunk);
                            }
                        }
                        _ => out.extend_from_slice(t),
                    }
                }
                Part::Split(i, delim) => split_token(tok(*i), delim, out),
            }
            if pi < last {
                out.push(SEP);
            }
        }
    }

    /// Transform into a new `String` (tests and tools; the server uses [`Transform::apply`]).
    pub fn apply_str(&self, subject: &str) -> String {
        let mut out = Vec::new();
        self.apply(subject.as_bytes(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Go's `split` function: the pieces of `strings.Split(t, delim)`, empty pieces dropped, a
/// `.` written between two pieces when the next one is not empty and the current one is not
/// a leading empty piece.
fn split_token(t: &[u8], delim: &[u8], out: &mut Vec<u8>) {
    let pieces = go_split(t, delim);
    for (j, p) in pieces.iter().enumerate() {
        out.extend_from_slice(p);
        let next_nonempty = pieces.get(j + 1).is_some_and(|n| !n.is_empty());
        if next_nonempty && !(j == 0 && p.is_empty()) {
            out.push(SEP);
        }
    }
}

/// `strings.Split`: with an empty separator, one piece per UTF-8 sequence (an invalid byte
/// is a piece of its own).
fn go_split<'a>(t: &'a [u8], delim: &[u8]) -> Vec<&'a [u8]> {
    if delim.is_empty() {
        let mut v = Vec::new();
        let mut i = 0;
        while i < t.len() {
            let n = utf8_len(&t[i..]);
            v.push(&t[i..i + n]);
            i += n;
        }
        return v;
    }
    let mut v = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + delim.len() <= t.len() {
        if &t[i..i + delim.len()] == delim {
            v.push(&t[start..i]);
            i += delim.len();
            start = i;
        } else {
            i += 1;
        }
    }
    v.push(&t[start..]);
    v
}

fn utf8_len(b: &[u8]) -> usize {
    let want = match b[0] {
        0x00..=0x7f => return 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return 1,
    };
    if b.len() >= want && std::str::from_utf8(&b[..want]).is_ok() {
        want
    } else {
        1
    }
}

fn itoa_buf(n: u32) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// FNV-1a, 32 bits (Go's `hash/fnv.New32a`).
pub struct Fnv1a32(u32);

impl Fnv1a32 {
    pub fn new() -> Fnv1a32 {
        Fnv1a32(0x811c_9dc5)
    }

    pub fn write(&mut self, data: &[u8]) {
        for &b in data {
            self.0 ^= u32::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0193);
        }
    }

    pub fn finish(&self) -> u32 {
        self.0
    }
}

impl Default for Fnv1a32 {
    fn default() -> Self {
        Fnv1a32::new()
    }
}

/// Does `subject` match the mapping source `pattern`? (Go's `isSubsetMatch` for a published
/// subject: a wildcard in the subject is matched only by a wildcard.)
pub fn source_matches(pattern: &str, subject: &[u8]) -> bool {
    crate::subject::subject_matches(pattern.as_bytes(), subject)
}

/// Is `src` usable as a mapping source (Go's `IsValidSubject`)?
pub fn is_valid_source(src: &str) -> bool {
    is_valid_subject(src.as_bytes())
}

/// Go's `transformTokenize`: `foo.*.*` becomes `foo.$1.$2`, the identity destination.
pub fn tokenize_wildcards(subject: &str) -> String {
    let mut n = 0;
    subject
        .split('.')
        .map(|t| {
            if t == "*" {
                n += 1;
                format!("${n}")
            } else {
                t.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}
