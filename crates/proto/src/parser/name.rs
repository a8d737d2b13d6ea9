//! Op-name recognition: the first 2–7 bytes of every op, matched one byte at a time so an
//! impossible byte is reported the moment it arrives (`PUX` fails before any newline).
//!
//! States carry nats-server 2.9.10's parser state numbers, so the `state=N` in our
//! `parser ERROR` log lines means the same thing as in Go's. Which first bytes are legal
//! depends on the connection [`Kind`]: `R`, `L`, `A` (and `HM…`) exist only on routes, `M`
//! exists for nobody.

use super::{unknown_op, Kind, ParseError, Verb};

/// Go parser state numbers (the order of the `parserState` constants in `parser.go`).
pub(super) mod st {
    pub const START: u8 = 0;
    pub const PLUS: u8 = 1;
    pub const PLUS_O: u8 = 2;
    pub const PLUS_OK: u8 = 3;
    pub const MINUS: u8 = 4;
    pub const MINUS_E: u8 = 5;
    pub const MINUS_ER: u8 = 6;
    pub const MINUS_ERR: u8 = 7;
    pub const C: u8 = 10;
    pub const CO: u8 = 11;
    pub const CON: u8 = 12;
    pub const CONN: u8 = 13;
    pub const CONNE: u8 = 14;
    pub const CONNEC: u8 = 15;
    pub const CONNECT: u8 = 16;
    pub const H: u8 = 18;
    pub const HP: u8 = 19;
    pub const HPU: u8 = 20;
    pub const HPUB: u8 = 21;
    pub const HM: u8 = 24;
    pub const HMS: u8 = 25;
    pub const HMSG: u8 = 26;
    pub const P: u8 = 29;
    pub const PU: u8 = 30;
    pub const PUB: u8 = 31;
    pub const PI: u8 = 34;
    pub const PIN: u8 = 35;
    pub const PING: u8 = 36;
    pub const PO: u8 = 37;
    pub const PON: u8 = 38;
    pub const PONG: u8 = 39;
    pub const MSG_END_R: u8 = 41;
    pub const MSG_END_N: u8 = 42;
    pub const S: u8 = 43;
    pub const SU: u8 = 44;
    pub const SUB: u8 = 45;
    pub const A: u8 = 48;
    pub const ASUB: u8 = 49;
    pub const AUSUB: u8 = 52;
    pub const L: u8 = 55;
    pub const LS: u8 = 56;
    pub const R: u8 = 57;
    pub const RS: u8 = 58;
    pub const U: u8 = 59;
    pub const UN: u8 = 60;
    pub const UNS: u8 = 61;
    pub const UNSU: u8 = 62;
    pub const UNSUB: u8 = 63;
    pub const M: u8 = 66;
    pub const MS: u8 = 67;
    pub const MSG: u8 = 68;
    pub const I: u8 = 71;
    pub const IN: u8 = 72;
    pub const INF: u8 = 73;
    pub const INFO: u8 = 74;
}

/// Result of scanning the op name at the start of a buffer.
pub(super) enum Name {
    /// The buffer ends inside a valid prefix of some op name.
    Partial,
    /// `len` bytes spell `verb`; `state` is the Go state after the last letter, reported if
    /// the byte after the name is not an acceptable separator.
    Done { verb: Verb, len: usize, state: u8 },
}

/// Match the op name at the start of `buf`.
#[inline(always)] // the op loop's first step (see `Parser::parse_from`)
pub(super) fn scan(kind: Kind, buf: &[u8]) -> Result<Name, ParseError> {
    if let Some(done) = fast(kind, buf) {
        return Ok(done);
    }
    let mut state = st::START;
    let first = buf.first().copied().unwrap_or(0).to_ascii_uppercase();
    for (i, &b) in buf.iter().enumerate() {
        state = match step(kind, state, b) {
            Some(next) => next,
            None => return Err(unknown_op(state, i, buf)),
        };
        if let Some(verb) = terminal(state, first) {
            return Ok(Name::Done {
                verb,
                len: i + 1,
                state,
            });
        }
    }
    Ok(Name::Partial)
}

/// The names on the message path, recognised with one 4-byte compare. Only letter
/// positions are lower-cased (`| 0x20` maps exactly `X` and `x` to `x`), so this accepts
/// precisely what the automaton accepts; anything else takes the byte-by-byte path.
#[inline]
fn fast(kind: Kind, buf: &[u8]) -> Option<Name> {
    let w = u32::from_le_bytes(buf.get(..4)?.try_into().ok()?);
    let le = |s: &[u8; 4]| u32::from_le_bytes(*s);
    let three = (w | 0x0020_2020) & 0x00ff_ffff;
    let four = w | 0x2020_2020;
    let (verb, len, state) = if three == le(b"pub\0") {
        (Verb::Pub, 3, st::PUB)
    } else if four == le(b"hpub") {
        (Verb::Hpub, 4, st::HPUB)
    } else if three == le(b"sub\0") {
        (Verb::Sub, 3, st::SUB)
    } else if four == le(b"ping") {
        (Verb::Ping, 4, st::PING)
    } else if four == le(b"pong") {
        (Verb::Pong, 4, st::PONG)
    } else if kind == Kind::Route && four == le(b"rmsg") {
        (Verb::RouteMsg, 4, st::MSG)
    } else if kind == Kind::Route && four == le(b"hmsg") {
        (Verb::RouteHmsg, 4, st::HMSG)
    } else if kind == Kind::Route && (w | 0x2020) & 0x00ff_ffff == le(b"rs+\0") {
        (Verb::RouteSub, 3, st::SUB)
    } else if kind == Kind::Route && (w | 0x2020) & 0x00ff_ffff == le(b"rs-\0") {
        (Verb::RouteUnsub, 3, st::UNSUB)
    } else {
        return None;
    };
    Some(Name::Done { verb, len, state })
}

/// One transition of the name automaton; `None` for a byte no op can continue with.
fn step(kind: Kind, state: u8, raw: u8) -> Option<u8> {
    let route = kind == Kind::Route;
    if state == st::A {
        // Go accepts `A+`, `A-` and, by accident of its switch, lower-case `Au` (not `AU`).
        return match raw {
            b'+' => Some(st::ASUB),
            b'-' | b'u' => Some(st::AUSUB),
            _ => None,
        };
    }
    let next = match (state, raw.to_ascii_uppercase()) {
        (st::START, b'P') => st::P,
        (st::START, b'H') => st::H,
        (st::START, b'S') => st::S,
        (st::START, b'U') => st::U,
        (st::START, b'C') => st::C,
        (st::START, b'I') => st::I,
        (st::START, b'+') => st::PLUS,
        (st::START, b'-') => st::MINUS,
        (st::START, b'R') if route => st::R,
        (st::START, b'L') if route => st::L,
        (st::START, b'A') if route => st::A,

        (st::P, b'U') => st::PU,
        (st::P, b'I') => st::PI,
        (st::P, b'O') => st::PO,
        (st::PU, b'B') => st::PUB,
        (st::PI, b'N') => st::PIN,
        (st::PIN, b'G') => st::PING,
        (st::PO, b'N') => st::PON,
        (st::PON, b'G') => st::PONG,

        (st::H, b'P') => st::HP,
        // Clients send HPUB, never HMSG. Go would only fail later (or misparse, depending
        // on read boundaries); we fail at the `M`.
        (st::H, b'M') if route => st::HM,
        (st::HP, b'U') => st::HPU,
        (st::HPU, b'B') => st::HPUB,
        (st::HM, b'S') => st::HMS,
        (st::HMS, b'G') => st::HMSG,

        (st::S, b'U') => st::SU,
        (st::SU, b'B') => st::SUB,
        (st::U, b'N') => st::UN,
        (st::UN, b'S') => st::UNS,
        (st::UNS, b'U') => st::UNSU,
        (st::UNSU, b'B') => st::UNSUB,

        (st::C, b'O') => st::CO,
        (st::CO, b'N') => st::CON,
        (st::CON, b'N') => st::CONN,
        (st::CONN, b'E') => st::CONNE,
        (st::CONNE, b'C') => st::CONNEC,
        (st::CONNEC, b'T') => st::CONNECT,

        (st::I, b'N') => st::IN,
        (st::IN, b'F') => st::INF,
        (st::INF, b'O') => st::INFO,

        (st::PLUS, b'O') => st::PLUS_O,
        (st::PLUS_O, b'K') => st::PLUS_OK,
        (st::MINUS, b'E') => st::MINUS_E,
        (st::MINUS_E, b'R') => st::MINUS_ER,
        (st::MINUS_ER, b'R') => st::MINUS_ERR,

        // Route ops share Go's SUB/UNSUB/MSG states; the first byte tells them apart.
        (st::R, b'S') => st::RS,
        (st::R, b'M') => st::M,
        (st::L, b'S') => st::LS,
        (st::L, b'M') => st::M,
        (st::RS | st::LS, b'+') => st::SUB,
        (st::RS | st::LS, b'-') => st::UNSUB,
        (st::M, b'S') => st::MS,
        (st::MS, b'G') => st::MSG,
        _ => return None,
    };
    Some(next)
}

/// The op a name-complete state stands for; `first` is the upper-cased first byte.
fn terminal(state: u8, first: u8) -> Option<Verb> {
    Some(match state {
        st::PUB => Verb::Pub,
        st::HPUB => Verb::Hpub,
        st::SUB => match first {
            b'R' => Verb::RouteSub,
            b'L' => Verb::LeafSub,
            _ => Verb::Sub,
        },
        st::UNSUB => match first {
            b'R' => Verb::RouteUnsub,
            b'L' => Verb::LeafUnsub,
            _ => Verb::Unsub,
        },
        st::MSG => match first {
            b'L' => Verb::LeafMsg,
            _ => Verb::RouteMsg,
        },
        st::HMSG => Verb::RouteHmsg,
        st::PING => Verb::Ping,
        st::PONG => Verb::Pong,
        st::PLUS_OK => Verb::Ok,
        st::MINUS_ERR => Verb::Err,
        st::CONNECT => Verb::Connect,
        st::INFO => Verb::Info,
        st::ASUB => Verb::AccSub,
        st::AUSUB => Verb::AccUnsub,
        _ => return None,
    })
}
