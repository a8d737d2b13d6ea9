//! Sans-IO NATS protocol: everything about the bytes on the wire, nothing about sockets.
//!
//! * [`parser`]: a resumable, zero-copy parser for client and route connections. Ops borrow
//!   from the caller's read buffer; a frame split across reads is the normal case, not an
//!   error path.
//! * [`encode`]: writers for the server-to-client and server-to-route control lines
//!   (`MSG`, `HMSG`, `RMSG`, `RS+`, `RS-`, `INFO`), formatting numbers without allocation.
//! * [`info`]: the INFO and CONNECT JSON documents, field for field as nats-server 2.9.10
//!   emits and accepts them.
//! * [`errors`]: every `-ERR '…'` text a client can see, in one table.

pub mod encode;
pub mod errors;
pub mod info;
pub mod parser;

pub use parser::{Kind, Op, ParseError, Parser, PubMsg, RoutedMsg};
