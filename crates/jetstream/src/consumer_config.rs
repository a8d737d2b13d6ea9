//! A consumer's configuration as `$JS.API.CONSUMER.CREATE` reads it and `CONSUMER.INFO`
//! writes it: nats-server 2.9.10's field names, order and `omitempty` rules, its defaults
//! (`setConsumerConfigDefaults`, the ephemeral inactive threshold) and its checks
//! (`checkConsumerCfg` and the single-stream checks of `addConsumer`), with its error
//! codes and texts.
//!
//! What needs more than the consumer and its stream is the caller's: other consumers
//! (name in use, `max_consumers`, a work queue's second unfiltered or overlapping
//! filtered consumer, the durable update path), the request subject (`DURABLE.CREATE`
//! vs `CREATE`, which stamps `name` for the new-style API), and the generated name of a
//! legacy ephemeral (Go leaves `name` out of the echoed config for those).

use nats_sublist::subject::{is_subset_match, is_valid_subject};
use serde::{Deserialize, Serialize};

use crate::config::{is_valid_name, Retention, StreamConfig};
use crate::error::ApiError;
use crate::time::GoTime;

/// Go's `JsAckWaitDefault`: 30 s in nanoseconds.
pub const DEFAULT_ACK_WAIT: i64 = 30_000_000_000;
/// Go's `JsDefaultMaxAckPending`.
pub const DEFAULT_MAX_ACK_PENDING: i64 = 1000;
/// Go's `JSWaitQueueDefaultMax`: pull requests that may wait.
pub const DEFAULT_MAX_WAITING: i64 = 512;
/// Go's `JsDeleteWaitTimeDefault`: what an ephemeral's `inactive_threshold` becomes.
pub const DEFAULT_INACTIVE_THRESHOLD: i64 = 5_000_000_000;
const MAX_NAME_LEN: usize = 255;
const MAX_DESCRIPTION_LEN: usize = 4 * 1024;
const MIN_HEARTBEAT: i64 = 100_000_000;
const MIN_MAX_EXPIRES: i64 = 1_000_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliverPolicy {
    /// Go also reads `"undefined"` as all.
    #[default]
    #[serde(alias = "undefined")]
    All,
    Last,
    New,
    ByStartSequence,
    ByStartTime,
    LastPerSubject,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AckPolicy {
    #[default]
    None,
    All,
    Explicit,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplayPolicy {
    #[default]
    Instant,
    Original,
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// The fields are in nats-server's order; all but the three policies and
/// `num_replicas` are `omitempty` there and skipped here when zero. Durations are
/// nanoseconds. `Default` is Go's zero value: what `{}` decodes to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumerConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub durable_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub deliver_policy: DeliverPolicy,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub opt_start_seq: u64,
    /// Written in UTC: Go echoes the zone offset the client sent, we fold it away.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<GoTime>,
    pub ack_policy: AckPolicy,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub ack_wait: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_deliver: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backoff: Vec<i64>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub filter_subject: String,
    pub replay_policy: ReplayPolicy,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub rate_limit_bps: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sample_freq: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_waiting: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_ack_pending: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub idle_heartbeat: i64,
    #[serde(skip_serializing_if = "is_false")]
    pub flow_control: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub headers_only: bool,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_batch: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_expires: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_bytes: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub deliver_subject: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub deliver_group: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub inactive_threshold: i64,
    pub num_replicas: i64,
    #[serde(skip_serializing_if = "is_false")]
    pub mem_storage: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub direct: bool,
}

/// The server's (`jetstream: {limits: ...}`) and the account's consumer limits; zero
/// is unlimited, and all zero is what a server without such configuration has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConsumerLimits {
    /// Server `max_ack_pending`.
    pub max_ack_pending: i64,
    /// Server `max_request_batch`.
    pub max_request_batch: i64,
    /// The account tier's `max_ack_pending`.
    pub account_max_ack_pending: i64,
}

/// What a stream's sources add to the subjects a filter may pick from (Go's
/// `gatherSourceMirrorSubjects`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SourceSubjects<'a> {
    /// The subjects of the streams this one mirrors or sources, transitively.
    pub subjects: &'a [String],
    /// A mirror or source in another domain/account: Go then skips the filter check.
    pub has_external: bool,
}

/// Go's `subjectIsLiteral`: no token is a lone `*` or `>`.
fn subject_is_literal(s: &str) -> bool {
    !s.split('.').any(|t| t == "*" || t == ">")
}

/// Go's `validFilteredSubject`.
fn valid_filtered_subject(filter: &str, subjects: &[String]) -> bool {
    if !is_valid_subject(filter.as_bytes()) {
        return false;
    }
    let wildcard = !subject_is_literal(filter);
    subjects
        .iter()
        .any(|s| is_subset_match(filter, s) || (wildcard && is_subset_match(s, filter)))
}

/// Go's `strconv.Atoi` on the sampling percentage, with its error text (`<nil>` for a
/// negative number, as Go prints its nil error).
fn parse_sample_freq(freq: &str) -> Result<i64, String> {
    let s = freq.strip_suffix('%').unwrap_or(freq);
    match s.parse::<i64>() {
        Ok(v) if v < 0 => Err("<nil>".into()),
        Ok(v) => Ok(v),
        Err(e) => {
            let why = match e.kind() {
                std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                    "value out of range"
                }
                _ => "invalid syntax",
            };
            Err(format!("strconv.Atoi: parsing {s:?}: {why}"))
        }
    }
}

fn bad_start(dp: &str, start: &str) -> ApiError {
    ApiError::consumer_invalid_policy(&format!(
        "consumer delivery policy is deliver {dp}, but optional start {start} is also set"
    ))
}

fn not_set(dp: &str, what: &str) -> ApiError {
    ApiError::consumer_invalid_policy(&format!(
        "consumer delivery policy is deliver {dp}, but optional {what} is not set"
    ))
}

impl ConsumerConfig {
    /// A pull consumer: no deliver subject.
    pub fn is_pull(&self) -> bool {
        self.deliver_subject.is_empty()
    }

    /// A durable: `durable_name` set (in 2.9.10 a `name` alone makes an ephemeral).
    pub fn is_durable(&self) -> bool {
        !self.durable_name.is_empty()
    }

    /// Go's `setConsumerConfigDefaults` and `checkConsumerCfg` for a single
    /// (non-clustered) server with no JetStream limits configured, then `addConsumer`'s
    /// own checks against the stream (work queue, name) and the ephemeral inactive
    /// threshold: the config as Go stores and echoes it, or the error Go answers with.
    /// A sourcing or mirroring stream's filter check is skipped here (its sources'
    /// subjects are not known): use [`ConsumerConfig::normalized_with`].
    pub fn normalized(self, stream: &StreamConfig) -> Result<ConsumerConfig, ApiError> {
        let sources = SourceSubjects {
            subjects: &[],
            has_external: stream.mirror.is_some() || !stream.sources.is_empty(),
        };
        self.normalized_with(stream, &ConsumerLimits::default(), sources)
    }

    /// [`ConsumerConfig::normalized`] with the server's and account's limits and the
    /// subjects the stream's sources bring.
    pub fn normalized_with(
        self,
        stream: &StreamConfig,
        limits: &ConsumerLimits,
        sources: SourceSubjects<'_>,
    ) -> Result<ConsumerConfig, ApiError> {
        // `jsConsumerCreateRequest`, single server, before the stream is looked up.
        if self.num_replicas > 1 {
            return Err(ApiError::replicas_not_supported());
        }
        let mut cfg = self;
        cfg.set_defaults(limits);
        cfg.check(stream, limits, sources)?;
        // `addConsumer`: the work queue's own rules (what needs the other consumers
        // — one unfiltered consumer, unique filters — is the caller's, between these).
        if stream.retention == Retention::Workqueue && !cfg.direct {
            if cfg.ack_policy != AckPolicy::Explicit {
                return Err(ApiError::consumer_wq_requires_explicit_ack());
            }
            if cfg.deliver_policy != DeliverPolicy::All {
                return Err(ApiError::consumer_wq_not_deliver_all());
            }
        }
        if cfg.is_durable() {
            if cfg.durable_name.len() > MAX_NAME_LEN {
                return Err(ApiError::consumer_name_too_long(MAX_NAME_LEN));
            }
            if !is_valid_name(&cfg.durable_name) {
                return Err(ApiError::consumer_bad_durable_name());
            }
        } else {
            // The name Go checks is the given one; a generated one is always valid.
            if !cfg.name.is_empty() && !is_valid_name(&cfg.name) {
                return Err(ApiError::consumer_bad_durable_name());
            }
            // `updateInactiveThreshold`: ephemerals always have one.
            if cfg.inactive_threshold <= 0 {
                cfg.inactive_threshold = DEFAULT_INACTIVE_THRESHOLD;
            }
        }
        Ok(cfg)
    }

    /// Go's `setConsumerConfigDefaults`.
    fn set_defaults(&mut self, limits: &ConsumerLimits) {
        let acks = self.ack_policy != AckPolicy::None;
        if self.is_pull() && self.max_waiting == 0 {
            self.max_waiting = DEFAULT_MAX_WAITING;
        }
        if self.ack_wait == 0 && acks {
            self.ack_wait = DEFAULT_ACK_WAIT;
        }
        if self.max_deliver == 0 {
            self.max_deliver = -1;
        }
        if let Some(&first) = self.backoff.first() {
            self.ack_wait = first;
        }
        if acks && self.max_ack_pending == 0 {
            let mut pending = DEFAULT_MAX_ACK_PENDING;
            for lim in [limits.max_ack_pending, limits.account_max_ack_pending] {
                if lim > 0 && lim < pending {
                    pending = lim;
                }
            }
            self.max_ack_pending = pending;
        }
        if self.is_pull() && self.max_batch == 0 && limits.max_request_batch > 0 {
            self.max_batch = limits.max_request_batch;
        }
    }

    /// Go's `checkConsumerCfg` (not recovering), in its order.
    fn check(
        &self,
        stream: &StreamConfig,
        limits: &ConsumerLimits,
        sources: SourceSubjects<'_>,
    ) -> Result<(), ApiError> {
        if self.num_replicas > 0 && self.num_replicas > stream.num_replicas {
            return Err(ApiError::consumer_replicas_exceeds_stream());
        }
        if self.num_replicas < 0 {
            return Err(ApiError::replicas_count_cannot_be_negative());
        }
        if !self.backoff.is_empty() && self.max_deliver <= self.backoff.len() as i64 {
            return Err(ApiError::consumer_max_deliver_backoff());
        }
        if self.description.len() > MAX_DESCRIPTION_LEN {
            return Err(ApiError::consumer_description_too_long(MAX_DESCRIPTION_LEN));
        }
        if !self.is_pull() {
            let ds = &self.deliver_subject;
            if !subject_is_literal(ds) {
                return Err(ApiError::consumer_deliver_to_wildcards());
            }
            if !is_valid_subject(ds.as_bytes()) {
                return Err(ApiError::consumer_invalid_deliver_subject());
            }
            if stream.subjects.iter().any(|s| is_subset_match(ds, s)) {
                return Err(ApiError::consumer_deliver_cycle());
            }
            if self.max_waiting != 0 {
                return Err(ApiError::consumer_push_max_waiting());
            }
            if self.max_ack_pending > 0 && self.ack_policy == AckPolicy::None {
                return Err(ApiError::consumer_max_pending_ack_policy_required());
            }
            if self.idle_heartbeat > 0 && self.idle_heartbeat < MIN_HEARTBEAT {
                return Err(ApiError::consumer_small_heartbeat());
            }
        } else {
            if self.ack_policy == AckPolicy::None && stream.retention == Retention::Workqueue {
                return Err(ApiError::consumer_pull_requires_ack());
            }
            if self.rate_limit_bps > 0 {
                return Err(ApiError::consumer_pull_with_rate_limit());
            }
            if self.max_waiting < 0 {
                return Err(ApiError::consumer_max_waiting_negative());
            }
            if self.idle_heartbeat > 0 {
                return Err(ApiError::consumer_hb_requires_push());
            }
            if self.flow_control {
                return Err(ApiError::consumer_fc_requires_push());
            }
            if self.max_batch < 0 {
                return Err(ApiError::consumer_max_request_batch_negative());
            }
            if self.max_expires != 0 && self.max_expires < MIN_MAX_EXPIRES {
                return Err(ApiError::consumer_max_request_expires_too_small());
            }
            if limits.max_request_batch > 0 && self.max_batch > limits.max_request_batch {
                return Err(ApiError::consumer_max_request_batch_exceeded(
                    limits.max_request_batch,
                ));
            }
        }
        for lim in [limits.max_ack_pending, limits.account_max_ack_pending] {
            if lim > 0 && self.max_ack_pending > lim {
                return Err(ApiError::consumer_max_pending_ack_excess(lim));
            }
        }
        if self.direct {
            if self.is_pull() {
                return Err(ApiError::consumer_direct_requires_push());
            }
            if self.is_durable() {
                return Err(ApiError::consumer_direct_requires_ephemeral());
            }
        }
        if !self.filter_subject.is_empty() && !sources.has_external {
            let mut subjects = stream.subjects.clone();
            subjects.extend_from_slice(sources.subjects);
            if !valid_filtered_subject(&self.filter_subject, &subjects) {
                return Err(ApiError::consumer_filter_not_subset());
            }
        }
        self.check_start()?;
        if !self.sample_freq.is_empty() {
            if let Err(why) = parse_sample_freq(&self.sample_freq) {
                return Err(ApiError::consumer_invalid_sampling(&why));
            }
        }
        if self.flow_control && self.idle_heartbeat == 0 {
            return Err(ApiError::consumer_flow_control_needs_heartbeats());
        }
        if !self.durable_name.is_empty() && !self.name.is_empty() && self.name != self.durable_name
        {
            return Err(ApiError::consumer_durable_and_name_mismatch());
        }
        Ok(())
    }

    /// The deliver policy against the optional start sequence and time.
    fn check_start(&self) -> Result<(), ApiError> {
        let seq = self.opt_start_seq > 0;
        let time = self.opt_start_time.is_some();
        let plain = |dp: &str| {
            if seq {
                Err(bad_start(dp, "sequence"))
            } else if time {
                Err(bad_start(dp, "time"))
            } else {
                Ok(())
            }
        };
        match self.deliver_policy {
            DeliverPolicy::All => plain("all"),
            DeliverPolicy::Last => plain("last"),
            DeliverPolicy::New => plain("new"),
            DeliverPolicy::LastPerSubject => {
                plain("last per subject")?;
                if self.filter_subject.is_empty() {
                    return Err(not_set("last per subject", "filter subject"));
                }
                Ok(())
            }
            DeliverPolicy::ByStartSequence => {
                if !seq {
                    return Err(not_set("by start sequence", "start sequence"));
                }
                if time {
                    return Err(bad_start("by start sequence", "time"));
                }
                Ok(())
            }
            DeliverPolicy::ByStartTime => {
                if !time {
                    return Err(not_set("by start time", "start time"));
                }
                if seq {
                    return Err(bad_start("by start time", "start sequence"));
                }
                Ok(())
            }
        }
    }

    /// The sampling percentage (`sample_freq` without its `%`), 0 when unset; only
    /// meaningful on a normalized config.
    pub fn sample_frequency(&self) -> i64 {
        parse_sample_freq(&self.sample_freq).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(json: &str) -> StreamConfig {
        serde_json::from_str::<StreamConfig>(json)
            .unwrap()
            .normalized()
            .unwrap()
    }

    fn norm(stream_json: &str, json: &str) -> Result<String, ApiError> {
        let c: ConsumerConfig = serde_json::from_str(json).unwrap();
        c.normalized(&stream(stream_json))
            .map(|c| serde_json::to_string(&c).unwrap())
    }

    const S: &str = r#"{"name":"S","subjects":["s.>"]}"#;
    const W: &str = r#"{"name":"W","subjects":["w.>"],"retention":"workqueue"}"#;

    #[test]
    fn zero_value_is_gos() {
        let c: ConsumerConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, ConsumerConfig::default());
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"deliver_policy":"all","ack_policy":"none","replay_policy":"instant","num_replicas":0}"#
        );
        let c: ConsumerConfig = serde_json::from_str(r#"{"deliver_policy":"undefined"}"#).unwrap();
        assert_eq!(c.deliver_policy, DeliverPolicy::All);
        assert!(serde_json::from_str::<ConsumerConfig>(r#"{"deliver_policy":"x"}"#).is_err());
    }

    // The expected texts are the `config` objects nats-server 2.9.10 echoed.
    #[test]
    fn defaults_as_go() {
        assert_eq!(
            norm(S, "{}").unwrap(),
            r#"{"deliver_policy":"all","ack_policy":"none","max_deliver":-1,"replay_policy":"instant","max_waiting":512,"inactive_threshold":5000000000,"num_replicas":0}"#
        );
        assert_eq!(
            norm(S, r#"{"deliver_subject":"x"}"#).unwrap(),
            r#"{"deliver_policy":"all","ack_policy":"none","max_deliver":-1,"replay_policy":"instant","deliver_subject":"x","inactive_threshold":5000000000,"num_replicas":0}"#
        );
        assert_eq!(
            norm(S, r#"{"durable_name":"D1","ack_policy":"explicit"}"#).unwrap(),
            r#"{"durable_name":"D1","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0}"#
        );
        assert_eq!(
            norm(S, r#"{"durable_name":"N2","name":"N2","ack_policy":"explicit","backoff":[1000000000,2000000000],"max_deliver":5}"#).unwrap(),
            r#"{"durable_name":"N2","name":"N2","deliver_policy":"all","ack_policy":"explicit","ack_wait":1000000000,"max_deliver":5,"backoff":[1000000000,2000000000],"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0}"#
        );
        assert_eq!(
            norm(S, r#"{"name":"N1","ack_policy":"all","deliver_subject":"y","opt_start_time":"2023-01-01T08:00:00Z","deliver_policy":"by_start_time"}"#).unwrap(),
            r#"{"name":"N1","deliver_policy":"by_start_time","opt_start_time":"2023-01-01T08:00:00Z","ack_policy":"all","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_ack_pending":1000,"deliver_subject":"y","inactive_threshold":5000000000,"num_replicas":0}"#
        );
    }

    fn err(stream_json: &str, json: &str) -> (u16, String) {
        let e = norm(stream_json, json).unwrap_err();
        (e.err_code, e.description)
    }

    #[test]
    fn errors_as_go() {
        assert_eq!(
            err(S, r#"{"sample_freq":"-5%","deliver_subject":"x"}"#),
            (
                10095,
                "failed to parse consumer sampling configuration: <nil>".into()
            )
        );
        assert_eq!(
            err(S, r#"{"sample_freq":"abc","deliver_subject":"x"}"#).1,
            r#"failed to parse consumer sampling configuration: strconv.Atoi: parsing "abc": invalid syntax"#
        );
        assert_eq!(
            err(S, r#"{"sample_freq":"99999999999999999999"}"#).1,
            r#"failed to parse consumer sampling configuration: strconv.Atoi: parsing "99999999999999999999": value out of range"#
        );
        assert_eq!(err(S, r#"{"durable_name":"a.b"}"#).0, 10103);
        assert_eq!(err(S, r#"{"name":"a b"}"#).0, 10103);
        assert_eq!(err(S, r#"{"filter_subject":"t.x"}"#).0, 10093);
        assert!(norm(S, r#"{"filter_subject":">"}"#).is_ok());
        assert_eq!(err(S, r#"{"deliver_subject":"s.x"}"#).0, 10081);
        assert_eq!(err(S, r#"{"max_waiting":-1}"#).0, 10087);
        assert_eq!(err(S, r#"{"max_deliver":-3,"backoff":[1]}"#).0, 10116);
        assert_eq!(err(S, r#"{"max_expires":-1}"#).0, 10115);
        assert_eq!(err(S, r#"{"durable_name":"A","name":"B"}"#).0, 10132);
        assert_eq!(err(S, r#"{"num_replicas":2}"#).0, 10074);
        assert_eq!(err(S, r#"{"num_replicas":-1}"#).0, 10133);
        assert_eq!(
            err(
                S,
                r#"{"deliver_policy":"by_start_time","deliver_subject":"x"}"#
            )
            .1,
            "consumer delivery policy is deliver by start time, but optional start time is not set"
        );
        assert_eq!(
            err(S, r#"{"opt_start_seq":3}"#).1,
            "consumer delivery policy is deliver all, but optional start sequence is also set"
        );
        assert_eq!(err(S, r#"{"idle_heartbeat":1000000000}"#).0, 10088);
        assert_eq!(err(S, r#"{"flow_control":true}"#).0, 10089);
        assert_eq!(
            err(S, r#"{"deliver_subject":"x","flow_control":true}"#).0,
            10108
        );
        assert_eq!(
            err(S, r#"{"deliver_subject":"x","max_waiting":3}"#).0,
            10080
        );
        assert_eq!(err(S, r#"{"deliver_subject":"x.*"}"#).0, 10079);
        assert_eq!(err(S, r#"{"rate_limit_bps":8}"#).0, 10086);
        assert_eq!(err(S, r#"{"direct":true}"#).0, 10090);
        assert_eq!(err(W, r#"{}"#).0, 10084);
        assert_eq!(err(W, r#"{"ack_policy":"all"}"#).0, 10098);
        assert_eq!(
            err(W, r#"{"ack_policy":"explicit","deliver_policy":"new"}"#).0,
            10101
        );
        assert!(norm(W, r#"{"ack_policy":"explicit"}"#).is_ok());
    }

    #[test]
    fn sampling() {
        let c = ConsumerConfig {
            sample_freq: "+50%".into(),
            ..Default::default()
        };
        assert_eq!(c.sample_frequency(), 50);
    }
}
