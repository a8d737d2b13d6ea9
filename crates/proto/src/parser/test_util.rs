//! Helpers shared by the parser's unit tests.

use super::{Kind, Op, ParseError, Parser};

pub(super) const MCL: usize = 4096;
pub(super) const MAX_PAYLOAD: usize = 1024 * 1024;

/// Clients get the default limits; routes none (the server gives routes caps of its own,
/// see `routes_take_the_callers_caps`).
pub(super) fn parser(kind: Kind) -> Parser {
    match kind {
        Kind::Client => Parser::new(kind, MCL, MAX_PAYLOAD),
        Kind::Route => Parser::new(kind, 0, 0),
    }
}

/// Parse the first op of `input` with default limits.
pub(super) fn first(kind: Kind, input: &[u8]) -> Result<Option<(Op<'_>, usize)>, ParseError> {
    parser(kind).parse(input)
}

/// The first op, which must be complete.
pub(super) fn op(kind: Kind, input: &[u8]) -> Op<'_> {
    match first(kind, input) {
        Ok(Some((op, _))) => op,
        other => panic!(
            "{:?}: expected an op, got {other:?}",
            String::from_utf8_lossy(input)
        ),
    }
}

/// The error the first op produces.
pub(super) fn err(kind: Kind, input: &[u8]) -> ParseError {
    match first(kind, input) {
        Err(e) => e,
        other => panic!(
            "{:?}: expected an error, got {other:?}",
            String::from_utf8_lossy(input)
        ),
    }
}

/// The BadArgs message of the first op.
pub(super) fn bad(kind: Kind, input: &[u8]) -> String {
    match err(kind, input) {
        ParseError::BadArgs(m) => m,
        e => panic!(
            "{:?}: expected BadArgs, got {e:?}",
            String::from_utf8_lossy(input)
        ),
    }
}

/// Parse every op of `input`, returning their Debug forms and the bytes consumed (the rest
/// is an incomplete op).
pub(super) fn all(p: &mut Parser, input: &[u8]) -> Result<(Vec<String>, usize), ParseError> {
    let mut pos = 0;
    let mut ops = Vec::new();
    while let Some((op, used)) = p.parse(&input[pos..])? {
        ops.push(format!("{op:?}"));
        pos += used;
    }
    Ok((ops, pos))
}

/// Feed `input` one byte more at a time, as a slow reader would, and collect the ops.
pub(super) fn trickle(kind: Kind, input: &[u8]) -> Result<Vec<String>, ParseError> {
    let mut p = parser(kind);
    let mut pos = 0;
    let mut ops = Vec::new();
    for end in 0..=input.len() {
        while let Some((op, used)) = p.parse(&input[pos..end])? {
            ops.push(format!("{op:?}"));
            pos += used;
        }
    }
    Ok(ops)
}

pub(super) fn unknown(e: &ParseError) -> (u8, usize, &str) {
    match e {
        ParseError::UnknownOp {
            state,
            offset,
            snippet,
        } => (*state, *offset, snippet.as_str()),
        other => panic!("expected UnknownOp, got {other:?}"),
    }
}
