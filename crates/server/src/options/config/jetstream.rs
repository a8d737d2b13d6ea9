//! The `jetstream` block as nats-server 2.9.10's `parseJetStream` reads it: a bool,
//! `enabled`/`disabled`, or a map (which enables unless `enabled: false`).

use nats_conf::{Entry, Value};

use super::value::{effective, Diag};
use crate::options::Options;

pub(crate) fn parse(o: &mut Options, e: &Entry, d: &mut Diag) {
    let (pos, v) = (&e.item.pos, &e.item.value);
    match v {
        Value::Bool(b) => o.jetstream.enabled = *b,
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "enabled" | "enable" => o.jetstream.enabled = true,
            "disabled" | "disable" => o.jetstream.enabled = false,
            _ => d.error(
                pos,
                format!("Expected 'enabled' or 'disabled' for string value, got '{s}'"),
            ),
        },
        Value::Map(m) => {
            let mut enable = true;
            for f in effective(m) {
                let (fpos, fv) = (&f.item.pos, &f.item.value);
                match f.key.to_ascii_lowercase().as_str() {
                    "store" | "store_dir" | "storedir" => {
                        if !o.jetstream.store_dir.is_empty() {
                            d.error(fpos, "Duplicate 'store_dir' configuration");
                        } else if let Some(s) = d.string(fpos, fv) {
                            o.jetstream.store_dir = s;
                        }
                    }
                    "max_memory_store" | "max_mem_store" | "max_mem" => match storage_size(fv) {
                        Ok(n) => o.jetstream.max_memory = n,
                        Err(err) => d.error(fpos, format!("max_mem_store {err}")),
                    },
                    "max_file_store" | "max_file" => match storage_size(fv) {
                        Ok(n) => o.jetstream.max_store = n,
                        Err(err) => d.error(fpos, format!("max_file_store {err}")),
                    },
                    "domain" => {
                        if let Some(s) = d.string(fpos, fv) {
                            o.jetstream.domain = s;
                        }
                    }
                    "enable" | "enabled" => {
                        if let Some(b) = d.bool(fpos, fv) {
                            enable = b;
                        }
                    }
                    "sync_interval" => {
                        if let Some(dur) = super::duration(d, "sync_interval", fpos, fv) {
                            o.jetstream.sync_interval = Some(dur);
                        }
                    }
                    "key" | "ek" | "encryption_key" | "cipher" => {
                        d.refuse(f, "encryption at rest is not implemented")
                    }
                    "extension_hint" | "unique_tag" | "max_outstanding_catchup" | "limits" => {
                        d.unsupported(f, "a JetStream clustering or limits option")
                    }
                    _ => d.unknown(f),
                }
            }
            o.jetstream.enabled = enable;
        }
        other => d.error(
            pos,
            format!(
                "Expected map, bool or string to define JetStream, got {}",
                super::value::go_type(other)
            ),
        ),
    }
}

/// An account's `jetstream { … }` limits (Go's `parseJetStreamForAccount`): sizes and
/// counts are plain integers (the config's size suffixes allowed), unknown keys are
/// errors.
pub(crate) fn account_limits(m: &nats_conf::Map, d: &mut Diag) -> crate::options::AccountJsLimits {
    let mut l = crate::options::AccountJsLimits::default();
    for f in effective(m) {
        let (fpos, fv) = (&f.item.pos, &f.item.value);
        let key = f.key.as_str();
        let size = |d: &mut Diag| match fv {
            Value::Int(n) => Some(*n),
            other => {
                d.error(
                    fpos,
                    format!(
                        "Expected a parseable size for {key:?}, got {}",
                        value_text(other)
                    ),
                );
                None
            }
        };
        match key.to_ascii_lowercase().as_str() {
            "max_memory" | "max_mem" | "mem" | "memory" => {
                if let Some(n) = size(d) {
                    l.max_memory = n;
                }
            }
            "max_store" | "max_file" | "max_disk" | "store" | "disk" => {
                if let Some(n) = size(d) {
                    l.max_store = n;
                }
            }
            "max_streams" | "streams" => {
                if let Some(n) = size(d) {
                    l.max_streams = n;
                }
            }
            "max_consumers" | "consumers" => {
                if let Some(n) = size(d) {
                    l.max_consumers = n;
                }
            }
            "max_bytes_required" | "max_stream_bytes" | "max_bytes" => match fv {
                Value::Bool(b) => l.max_bytes_required = *b,
                other => d.error(
                    fpos,
                    format!(
                        "Expected a parseable bool for {key:?}, got {}",
                        value_text(other)
                    ),
                ),
            },
            "mem_max_stream_bytes" | "memory_max_stream_bytes" => {
                if let Some(n) = size(d) {
                    l.memory_max_stream_bytes = n;
                }
            }
            "disk_max_stream_bytes" | "store_max_stream_bytes" => {
                if let Some(n) = size(d) {
                    l.store_max_stream_bytes = n;
                }
            }
            "max_ack_pending" => {
                if let Some(n) = size(d) {
                    l.max_ack_pending = n;
                }
            }
            _ => d.unknown(f),
        }
    }
    l
}

/// A value as Go's `%v` prints it, for error texts.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        other => super::value::go_type(other).to_string(),
    }
}

/// nats-server's `getStorageSize`: a number, or a string with a K/M/G/T suffix (powers
/// of 1024, an optional trailing `B`).
fn storage_size(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(n) => Ok(*n),
        Value::String(s) => {
            let t = s.trim().to_ascii_uppercase();
            let t = t.strip_suffix('B').unwrap_or(&t);
            let (num, mult) = match t.chars().last() {
                Some('K') => (&t[..t.len() - 1], 1i64 << 10),
                Some('M') => (&t[..t.len() - 1], 1 << 20),
                Some('G') => (&t[..t.len() - 1], 1 << 30),
                Some('T') => (&t[..t.len() - 1], 1 << 40),
                _ => (t, 1),
            };
            num.trim()
                .parse::<i64>()
                .map(|n| n.saturating_mul(mult))
                .map_err(|_| format!("could not parse storage size {s:?}"))
        }
        _ => Err("should be a number or a size string".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(storage_size(&Value::String("1G".into())), Ok(1 << 30));
        assert_eq!(storage_size(&Value::String("512MB".into())), Ok(512 << 20));
        assert_eq!(storage_size(&Value::Int(42)), Ok(42));
        assert!(storage_size(&Value::String("lots".into())).is_err());
    }
}
