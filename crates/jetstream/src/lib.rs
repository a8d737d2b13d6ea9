//! JetStream's stream (and, next, consumer) state machines, sans IO.
//!
//! The server wires these to `$JS.API` requests and to internal subscriptions; here
//! there are no sockets and no clocks. A [`Stream`] takes a publish with the time it
//! happened and returns the acknowledgement bytes nats-server 2.9.10 would send, so the
//! same calls give the same stream — what a replication log will need to drive it.
//! Configurations ([`StreamConfig`]) and errors ([`ApiError`]) use Go's JSON shapes,
//! defaults and texts; the store underneath is `nats-store`.

pub mod advisory;
pub mod config;
pub mod consumer;
pub mod consumer_config;
pub mod error;
pub mod headers;
pub mod stream;
pub mod time;

pub use config::{Discard, Retention, Storage, StreamConfig};
pub use consumer_config::{AckPolicy, ConsumerConfig, DeliverPolicy, ReplayPolicy};
pub use error::ApiError;
pub use stream::{Published, Republished, SourceInfo, StateJson, Stream};

/// Parse a request as Go's `json.Unmarshal` would: a `null` value leaves the field at
/// its default (clients send `"subject": null` and the like).
pub fn from_go_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> serde_json::Result<T> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|_, x| !x.is_null());
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_slice(body)?;
    strip(&mut v);
    serde_json::from_value(v)
}
