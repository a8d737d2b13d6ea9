//! A NATS server: the library behind the `nats-server` binary.
//!
//! Start one in-process with [`Server::start`] (tests do, on port `-1`) and stop it with
//! [`Server::shutdown`]; `main` does the same around [`signals::wait`]. The crate is cut by concern: `client` and `route` hold the
//! two kinds of connection, `conn` what they share (outbound buffers, the writer task),
//! `deliver` the message path, `subs` and `route::Interest` the subscription bookkeeping,
//! `options` flags and config, `monitor` the HTTP endpoints, `logging` the log format.

pub mod account;
pub mod auth;
pub mod client;
pub mod conn;
pub mod deliver;
pub mod guard;
pub mod ids;
pub mod imports;
pub mod jetstream;
pub mod jwt;
pub mod lame_duck;
pub mod latency;
pub mod logging;
pub mod mapping;
pub mod monitor;
pub mod nkey;
pub mod operator;
pub mod options;
pub mod permissions;
pub mod ping;
pub mod readbuf;
pub mod redact;
pub mod reload;
pub mod route;
pub mod server;
pub mod signals;
pub mod sub;
pub mod subs;
pub mod sys;
pub mod tls;
pub mod websocket;

pub use server::Server;
