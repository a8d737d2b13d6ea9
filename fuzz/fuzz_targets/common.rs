//! Shared driver for the parser fuzz targets.
//!
//! The first input byte picks the limits and where the stream is cut into reads; the rest
//! is the byte stream. Checked for every input: no panic, every `used` is within the
//! buffer, and the outcome (ops and final error) is the same whether the stream is parsed
//! whole, in the chosen reads, or one byte at a time.

use nats_proto::{Kind, ParseError, Parser};

#[derive(Debug, PartialEq)]
struct Outcome {
    ops: Vec<String>,
    err: Option<ParseError>,
}

fn run(kind: Kind, mcl: usize, mp: usize, data: &[u8], step: usize) -> Outcome {
    let mut p = Parser::new(kind, mcl, mp);
    let mut pos = 0;
    let mut end = 0;
    let mut ops = Vec::new();
    while end < data.len() {
        end = (end + step).min(data.len());
        loop {
            match p.parse(&data[pos..end]) {
                Ok(Some((op, used))) => {
                    assert!(used > 0 && pos + used <= end);
                    ops.push(format!("{op:?}"));
                    pos += used;
                }
                Ok(None) => {
                    let _ = p.needed();
                    break;
                }
                Err(e) => {
                    // The snippet shows whatever had arrived: log text, not part of the outcome.
                    let e = match e {
                        ParseError::UnknownOp { state, offset, .. } => ParseError::UnknownOp {
                            state,
                            offset,
                            snippet: String::new(),
                        },
                        e => e,
                    };
                    return Outcome { ops, err: Some(e) };
                }
            }
        }
    }
    Outcome { ops, err: None }
}

pub fn check(kind: Kind, input: &[u8]) {
    let Some((&knob, data)) = input.split_first() else {
        return;
    };
    let mcl = [0, 8, 64, 4096][usize::from(knob & 3)];
    let mp = [0, 4, 64, 1 << 20][usize::from((knob >> 2) & 3)];
    let step = usize::from(knob >> 4) + 1;
    let whole = run(kind, mcl, mp, data, data.len().max(1));
    assert_eq!(run(kind, mcl, mp, data, step), whole);
    if data.len() < 512 {
        assert_eq!(run(kind, mcl, mp, data, 1), whole);
    }
}
