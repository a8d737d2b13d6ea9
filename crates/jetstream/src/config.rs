//! A stream's configuration as `$JS.API.STREAM.CREATE` reads it and `STREAM.INFO` writes
//! it: nats-server 2.9.10's field names, order and `omitempty` rules, its defaults
//! (`checkStreamCfg`), and its error texts.

use std::collections::HashSet;

use nats_sublist::subject::{is_subset_match, is_valid_subject, subjects_collide};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Go's `StreamDefaultDuplicatesWindow`: two minutes, in nanoseconds.
pub const DEFAULT_DUPLICATE_WINDOW: i64 = 120_000_000_000;
const MAX_NAME_LEN: usize = 255;
const MAX_DESCRIPTION_LEN: usize = 4 * 1024;
const MAX_REPLICAS: i64 = 5;
const MIN_WINDOW: i64 = 100_000_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Retention {
    #[default]
    Limits,
    Interest,
    Workqueue,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Discard {
    #[default]
    Old,
    New,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    #[default]
    File,
    Memory,
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// The fields are in nats-server's order; `omitempty` ones are skipped when zero, as
/// Go's encoder skips them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamConfig {
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    pub retention: Retention,
    pub max_consumers: i64,
    pub max_msgs: i64,
    pub max_bytes: i64,
    /// Nanoseconds.
    pub max_age: i64,
    pub max_msgs_per_subject: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_msg_size: i64,
    pub discard: Discard,
    pub storage: Storage,
    pub num_replicas: i64,
    #[serde(skip_serializing_if = "is_false")]
    pub no_ack: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub template_owner: String,
    /// Nanoseconds.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub duplicate_window: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<StreamSource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<StreamSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub republish: Option<RePublish>,
    pub allow_direct: bool,
    pub mirror_direct: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub discard_new_per_subject: bool,
    pub sealed: bool,
    pub deny_delete: bool,
    pub deny_purge: bool,
    pub allow_rollup_hdrs: bool,
}

/// A `mirror` or one of the `sources`: another stream this one copies from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSource {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub opt_start_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<crate::time::GoTime>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub filter_subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalStream>,
}

impl StreamSource {
    /// The name a source is known by in `Nats-Stream-Source` headers (Go's `iname`):
    /// the stream's name, with a hash of the API prefix for another domain or account.
    pub fn index_name(&self) -> String {
        match &self.external {
            Some(e) => format!("{}:{}", self.name, short_hash(&e.api)),
            None => self.name.clone(),
        }
    }
}

/// Go's `getHash`: 8 characters, each a base-62 digit of one byte of SHA-256.
fn short_hash(s: &str) -> String {
    use sha2::Digest;
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let d = sha2::Sha256::digest(s.as_bytes());
    d.iter()
        .take(8)
        .map(|b| DIGITS[(b % 62) as usize] as char)
        .collect()
}

/// `external`: a stream in another JetStream domain or account, reached through an API
/// prefix (and a delivery prefix).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalStream {
    #[serde(default)]
    pub api: String,
    #[serde(default)]
    pub deliver: String,
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

/// `republish`: every stored message whose subject matches `src` is published again on
/// `dest` (a subject transform of it), with the stream's headers; `headers_only` leaves
/// the payload out and says its size instead.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RePublish {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub src: String,
    #[serde(default)]
    pub dest: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub headers_only: bool,
}

impl RePublish {
    /// The transform from `src` to `dest` (Go's `newTransform`).
    pub fn transform(&self) -> Option<nats_sublist::transform::Transform> {
        nats_sublist::transform::Transform::new(&self.src, &self.dest).ok()
    }
}

fn is_valid_literal(s: &str) -> bool {
    is_valid_subject(s.as_bytes()) && !s.split('.').any(|t| t == "*" || t == ">")
}

fn invalid(why: &str) -> ApiError {
    ApiError::invalid_config(why)
}

/// Go's `isValidName`: not empty, no `.`, `*`, `>` or whitespace.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| matches!(c, '.' | '*' | '>') || c.is_whitespace())
}

impl StreamConfig {
    /// Defaults filled in and the config checked, as `checkStreamCfg` does for a single
    /// server (what needs other streams — subject overlap — is the caller's check).
    pub fn normalized(&self) -> Result<StreamConfig, ApiError> {
        self.normalized_with(|_| None)
    }

    /// [`Self::normalized`], with the account's other streams visible through `lookup`
    /// (a mirror's or source's origin, for Go's checks against it).
    pub fn normalized_with(
        &self,
        lookup: impl Fn(&str) -> Option<StreamConfig>,
    ) -> Result<StreamConfig, ApiError> {
        if !is_valid_name(&self.name) {
            return Err(invalid(
                "stream name is required and can not contain '.', '*', '>'",
            ));
        }
        if self.name.len() > MAX_NAME_LEN {
            return Err(invalid(&format!(
                "stream name is too long, maximum allowed is {MAX_NAME_LEN}"
            )));
        }
        if self.description.len() > MAX_DESCRIPTION_LEN {
            return Err(invalid(&format!(
                "stream description is too long, maximum allowed is {MAX_DESCRIPTION_LEN}"
            )));
        }
        let mut cfg = self.clone();
        if cfg.num_replicas == 0 {
            cfg.num_replicas = 1;
        }
        if cfg.num_replicas > MAX_REPLICAS {
            return Err(invalid(&format!("maximum replicas is {MAX_REPLICAS}")));
        }
        if cfg.num_replicas < 0 {
            return Err(ApiError::replicas_count_cannot_be_negative());
        }
        for v in [
            &mut cfg.max_msgs,
            &mut cfg.max_msgs_per_subject,
            &mut cfg.max_bytes,
            &mut cfg.max_msg_size,
            &mut cfg.max_consumers,
        ] {
            if *v == 0 {
                *v = -1;
            }
        }
        if cfg.duplicate_window == 0 && cfg.mirror.is_none() {
            cfg.duplicate_window = if cfg.max_age != 0 && cfg.max_age < DEFAULT_DUPLICATE_WINDOW {
                cfg.max_age
            } else {
                DEFAULT_DUPLICATE_WINDOW
            };
        }
        if cfg.max_age > 0 && cfg.max_age < MIN_WINDOW {
            return Err(invalid("max age needs to be >= 100ms"));
        }
        if cfg.duplicate_window < 0 {
            return Err(invalid("duplicates window can not be negative"));
        }
        if cfg.max_age != 0 && cfg.duplicate_window > cfg.max_age {
            return Err(invalid("duplicates window can not be larger then max age"));
        }
        if cfg.duplicate_window > 0 && cfg.duplicate_window < MIN_WINDOW {
            return Err(invalid("duplicates window needs to be >= 100ms"));
        }
        if cfg.deny_purge && cfg.allow_rollup_hdrs {
            return Err(invalid("roll-ups require the purge permission"));
        }
        if cfg.discard_new_per_subject {
            if cfg.discard != Discard::New {
                return Err(invalid(
                    "discard new per subject requires discard new policy to be set",
                ));
            }
            if cfg.max_msgs_per_subject <= 0 {
                return Err(invalid(
                    "discard new per subject requires max msgs per subject > 0",
                ));
            }
        }
        cfg.check_origins(&lookup)?;
        if cfg.subjects.is_empty() {
            if cfg.mirror.is_none() && cfg.sources.is_empty() {
                cfg.subjects.push(cfg.name.clone());
            }
        } else {
            let mut seen = HashSet::new();
            for s in &cfg.subjects {
                if !seen.insert(s.as_str()) {
                    return Err(invalid("duplicate subjects detected"));
                }
                if is_subset_match(s, "$JS.API.>") {
                    return Err(invalid("subjects overlap with jetstream api"));
                }
                if !is_valid_subject(s.as_bytes()) {
                    return Err(invalid("invalid subject"));
                }
            }
        }
        for a in &cfg.subjects {
            for b in &cfg.subjects {
                if a != b && subjects_collide(a, b) {
                    return Err(invalid(&format!("subject {a:?} overlaps with {b:?}")));
                }
            }
        }
        if let Some(rp) = &mut cfg.republish {
            if rp.src.is_empty() {
                rp.src = ">".into();
            }
            if !cfg.subjects.iter().any(|s| subjects_collide(&rp.src, s)) {
                return Err(invalid(
                    "stream configuration for republish source is not valid subset of subjects",
                ));
            }
            if cfg.subjects.iter().any(|s| subjects_collide(&rp.dest, s)) {
                return Err(invalid(
                    "stream configuration for republish destination forms a cycle",
                ));
            }
            if rp.transform().is_none() {
                return Err(invalid("stream configuration for republish not valid"));
            }
        }
        Ok(cfg)
    }

    /// Go's checks of a mirror and of sources against their origins (when they exist):
    /// no subjects on a mirror, message sizes, filters that can match, no cycles. A
    /// mirror inherits `mirror_direct` from its origin's `allow_direct`.
    fn check_origins(
        &mut self,
        lookup: &impl Fn(&str) -> Option<StreamConfig>,
    ) -> Result<(), ApiError> {
        let overlaps = |filter: &str, subs: &[String]| {
            filter.is_empty() || subs.is_empty() || subs.iter().any(|s| subjects_collide(s, filter))
        };
        let mut stream_subs: Vec<String> = Vec::new();
        if let Some(m) = &self.mirror {
            if !self.subjects.is_empty() {
                return Err(ApiError::mirror_with_subjects());
            }
            if !self.sources.is_empty() {
                return Err(ApiError::mirror_with_sources());
            }
            if let Some(origin) = lookup(&m.name) {
                stream_subs.extend(origin.subjects.iter().cloned());
                if self.max_msg_size > 0
                    && origin.max_msg_size > 0
                    && self.max_msg_size < origin.max_msg_size
                {
                    return Err(ApiError::mirror_max_message_size_too_big());
                }
                if !overlaps(&m.filter_subject, &origin.subjects) {
                    return Err(invalid(&format!(
                        "mirror '{}' filter subject '{}' does not overlap with any origin stream subject",
                        m.name, m.filter_subject
                    )));
                }
                self.mirror_direct = origin.allow_direct;
            }
        }
        for src in &self.sources {
            if let Some(origin) = lookup(&src.name) {
                stream_subs.extend(origin.subjects.iter().cloned());
                if self.max_msg_size > 0
                    && origin.max_msg_size > 0
                    && self.max_msg_size < origin.max_msg_size
                {
                    return Err(ApiError::source_max_message_size_too_big());
                }
                if !overlaps(&src.filter_subject, &stream_subs) {
                    return Err(invalid(&format!(
                        "source '{}' filter subject '{}' does not overlap with any origin stream subject",
                        src.name, src.filter_subject
                    )));
                }
            }
        }
        let externals = self
            .mirror
            .iter()
            .chain(self.sources.iter())
            .filter_map(|s| s.external.as_ref());
        for ext in externals.clone() {
            if ext.deliver.is_empty() {
                continue;
            }
            if !is_valid_literal(&ext.deliver) {
                return Err(ApiError::invalid_external_deliver_subject(&ext.deliver));
            }
        }
        for ext in externals {
            if ext.api.is_empty() {
                continue;
            }
            if !is_valid_literal(&ext.api) {
                return Err(invalid(&format!(
                    "stream external api prefix {:?} must be a valid subject without wildcards",
                    ext.api
                )));
            }
            if subjects_collide(&ext.api, "$JS.API") {
                return Err(ApiError::external_api_overlap(&ext.api, "$JS.API"));
            }
        }
        // Cycles through sources and mirrors of this account's streams.
        let mut to_visit = vec![self.clone()];
        let mut visited = HashSet::new();
        while let Some(cfg) = to_visit.pop() {
            visited.insert(cfg.name.clone());
            let next = cfg
                .sources
                .iter()
                .chain(cfg.mirror.iter())
                .filter(|s| s.external.is_none());
            for s in next {
                if visited.contains(&s.name) {
                    return Err(invalid("detected cycle"));
                }
                if let Some(c) = lookup(&s.name) {
                    to_visit.push(c);
                }
            }
        }
        Ok(())
    }

    /// Whether `subject` is one this stream captures.
    pub fn captures(&self, subject: &str) -> bool {
        self.subjects
            .iter()
            .any(|s| nats_sublist::subject::subject_matches(s.as_bytes(), subject.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_as_go() {
        let cfg: StreamConfig =
            serde_json::from_str(r#"{"name":"ORDERS","subjects":["orders.>"]}"#).unwrap();
        let n = cfg.normalized().unwrap();
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(
            json,
            r#"{"name":"ORDERS","subjects":["orders.>"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false}"#
        );
    }

    #[test]
    fn errors_as_go() {
        let bad = |j: &str| {
            let c: StreamConfig = serde_json::from_str(j).unwrap();
            c.normalized().unwrap_err().description
        };
        assert_eq!(
            bad(r#"{"name":"a.b"}"#),
            "stream name is required and can not contain '.', '*', '>'"
        );
        assert_eq!(
            bad(r#"{"name":"A","subjects":["x","x"]}"#),
            "duplicate subjects detected"
        );
        assert_eq!(
            bad(r#"{"name":"A","subjects":["x.>","x.y"]}"#),
            r#"subject "x.>" overlaps with "x.y""#
        );
        assert_eq!(
            bad(r#"{"name":"A","max_age":1000000000,"duplicate_window":2000000000}"#),
            "duplicates window can not be larger then max age"
        );
    }
}
