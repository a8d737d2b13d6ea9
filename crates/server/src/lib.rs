//! A NATS server: the `nats-server` binary's library.
pub mod options;
