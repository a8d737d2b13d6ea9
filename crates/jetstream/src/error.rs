//! `$JS.API` errors as nats-server 2.9.10 sends them: `{"code", "err_code",
//! "description"}`, with its numbers (`server/errors.json`).

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiError {
    pub code: u16,
    pub err_code: u16,
    pub description: String,
}

impl ApiError {
    fn new(code: u16, err_code: u16, description: impl Into<String>) -> ApiError {
        ApiError {
            code,
            err_code,
            description: description.into(),
        }
    }

    pub fn mirror_with_subjects() -> ApiError {
        ApiError::new(400, 10034, "stream mirrors can not contain subjects")
    }
    pub fn mirror_with_sources() -> ApiError {
        ApiError::new(
            400,
            10031,
            "stream mirrors can not also contain other sources",
        )
    }
    pub fn mirror_max_message_size_too_big() -> ApiError {
        ApiError::new(
            400,
            10030,
            "stream mirror must have max message size >= source",
        )
    }
    pub fn source_max_message_size_too_big() -> ApiError {
        ApiError::new(
            400,
            10046,
            "stream source must have max message size >= target",
        )
    }
    pub fn mirror_not_updatable() -> ApiError {
        ApiError::new(400, 10055, "stream mirror configuration can not be updated")
    }
    pub fn invalid_external_deliver_subject(prefix: &str) -> ApiError {
        ApiError::new(
            400,
            10024,
            format!("stream external delivery prefix {prefix} must not contain wildcards"),
        )
    }
    pub fn external_api_overlap(prefix: &str, subject: &str) -> ApiError {
        ApiError::new(
            400,
            10021,
            format!("stream external api prefix {prefix} must not overlap with {subject}"),
        )
    }
    pub fn stream_not_found() -> ApiError {
        ApiError::new(404, 10059, "stream not found")
    }
    pub fn stream_name_exists() -> ApiError {
        ApiError::new(
            400,
            10058,
            "stream name already in use with a different configuration",
        )
    }
    pub fn stream_mismatch() -> ApiError {
        ApiError::new(400, 10056, "stream name in subject does not match request")
    }
    pub fn invalid_json() -> ApiError {
        ApiError::new(400, 10025, "invalid JSON")
    }
    pub fn bad_request() -> ApiError {
        ApiError::new(400, 10003, "bad request")
    }
    pub fn no_message_found() -> ApiError {
        ApiError::new(404, 10037, "no message found")
    }
    pub fn subject_overlap() -> ApiError {
        ApiError::new(400, 10065, "subjects overlap with an existing stream")
    }
    pub fn stream_not_match() -> ApiError {
        ApiError::new(400, 10060, "expected stream does not match")
    }
    pub fn wrong_last_sequence(seq: u64) -> ApiError {
        ApiError::new(400, 10071, format!("wrong last sequence: {seq}"))
    }
    pub fn wrong_last_msg_id(id: &str) -> ApiError {
        ApiError::new(400, 10070, format!("wrong last msg ID: {id}"))
    }
    pub fn message_exceeds_maximum() -> ApiError {
        ApiError::new(400, 10054, "message size exceeds maximum allowed")
    }
    pub fn header_exceeds_maximum() -> ApiError {
        ApiError::new(400, 10097, "header size exceeds maximum allowed of 64k")
    }
    pub fn rollup_failed(why: &str) -> ApiError {
        ApiError::new(500, 10111, why)
    }
    pub fn store_failed(why: &str) -> ApiError {
        ApiError::new(503, 10077, why)
    }
    pub fn invalid_config(why: &str) -> ApiError {
        ApiError::new(500, 10052, why)
    }
    pub fn replicas_not_supported() -> ApiError {
        ApiError::new(
            500,
            10074,
            "replicas > 1 not supported in non-clustered mode",
        )
    }
    pub fn name_contains_path_separators() -> ApiError {
        ApiError::new(400, 10128, "Stream name can not contain path separators")
    }
    pub fn sealed() -> ApiError {
        ApiError::new(400, 10109, "invalid operation on sealed stream")
    }
    pub fn msg_delete_failed(why: &str) -> ApiError {
        ApiError::new(500, 10057, why)
    }
    pub fn purge_failed(why: &str) -> ApiError {
        ApiError::new(500, 10110, why)
    }
    pub fn general(why: &str) -> ApiError {
        ApiError::new(500, 10051, why)
    }
    pub fn not_enabled() -> ApiError {
        ApiError::new(503, 10076, "JetStream not enabled")
    }
    pub fn not_enabled_for_account() -> ApiError {
        ApiError::new(503, 10039, "JetStream not enabled for account")
    }

    // Consumer configuration (`checkConsumerCfg`, `addConsumer`, `jsConsumerCreateRequest`).
    pub fn consumer_replicas_exceeds_stream() -> ApiError {
        ApiError::new(
            400,
            10126,
            "consumer config replica count exceeds parent stream",
        )
    }
    pub fn replicas_count_cannot_be_negative() -> ApiError {
        ApiError::new(400, 10133, "replicas count cannot be negative")
    }
    pub fn consumer_max_deliver_backoff() -> ApiError {
        ApiError::new(
            400,
            10116,
            "max deliver is required to be > length of backoff values",
        )
    }
    pub fn consumer_description_too_long(max: usize) -> ApiError {
        ApiError::new(
            400,
            10107,
            format!("consumer description is too long, maximum allowed is {max}"),
        )
    }
    pub fn consumer_deliver_to_wildcards() -> ApiError {
        ApiError::new(400, 10079, "consumer deliver subject has wildcards")
    }
    pub fn consumer_invalid_deliver_subject() -> ApiError {
        ApiError::new(400, 10112, "invalid push consumer deliver subject")
    }
    pub fn consumer_deliver_cycle() -> ApiError {
        ApiError::new(400, 10081, "consumer deliver subject forms a cycle")
    }
    pub fn consumer_push_max_waiting() -> ApiError {
        ApiError::new(400, 10080, "consumer in push mode can not set max waiting")
    }
    pub fn consumer_max_pending_ack_policy_required() -> ApiError {
        ApiError::new(
            400,
            10082,
            "consumer requires ack policy for max ack pending",
        )
    }
    pub fn consumer_small_heartbeat() -> ApiError {
        ApiError::new(400, 10083, "consumer idle heartbeat needs to be >= 100ms")
    }
    pub fn consumer_pull_requires_ack() -> ApiError {
        ApiError::new(400, 10084, "consumer in pull mode requires ack policy")
    }
    pub fn consumer_pull_with_rate_limit() -> ApiError {
        ApiError::new(
            400,
            10086,
            "consumer in pull mode can not have rate limit set",
        )
    }
    pub fn consumer_max_waiting_negative() -> ApiError {
        ApiError::new(400, 10087, "consumer max waiting needs to be positive")
    }
    pub fn consumer_hb_requires_push() -> ApiError {
        ApiError::new(
            400,
            10088,
            "consumer idle heartbeat requires a push based consumer",
        )
    }
    pub fn consumer_fc_requires_push() -> ApiError {
        ApiError::new(
            400,
            10089,
            "consumer flow control requires a push based consumer",
        )
    }
    pub fn consumer_max_request_batch_negative() -> ApiError {
        ApiError::new(400, 10114, "consumer max request batch needs to be > 0")
    }
    pub fn consumer_max_request_expires_too_small() -> ApiError {
        ApiError::new(
            400,
            10115,
            "consumer max request expires needs to be >= 1ms",
        )
    }
    pub fn consumer_max_request_batch_exceeded(limit: i64) -> ApiError {
        ApiError::new(
            400,
            10125,
            format!("consumer max request batch exceeds server limit of {limit}"),
        )
    }
    pub fn consumer_max_pending_ack_excess(limit: i64) -> ApiError {
        ApiError::new(
            400,
            10121,
            format!("consumer max ack pending exceeds system limit of {limit}"),
        )
    }
    pub fn consumer_direct_requires_push() -> ApiError {
        ApiError::new(400, 10090, "consumer direct requires a push based consumer")
    }
    pub fn consumer_direct_requires_ephemeral() -> ApiError {
        ApiError::new(400, 10091, "consumer direct requires an ephemeral consumer")
    }
    pub fn consumer_filter_not_subset() -> ApiError {
        ApiError::new(
            400,
            10093,
            "consumer filter subject is not a valid subset of the interest subjects",
        )
    }
    /// `JSConsumerInvalidPolicyErrF`: the text is the whole description.
    pub fn consumer_invalid_policy(why: &str) -> ApiError {
        ApiError::new(400, 10094, why)
    }
    /// `why` is Go's error text (`strconv.Atoi: ...`, or `<nil>`).
    pub fn consumer_invalid_sampling(why: &str) -> ApiError {
        ApiError::new(
            400,
            10095,
            format!("failed to parse consumer sampling configuration: {why}"),
        )
    }
    pub fn consumer_flow_control_needs_heartbeats() -> ApiError {
        ApiError::new(
            400,
            10108,
            "consumer with flow control also needs heartbeats",
        )
    }
    pub fn consumer_durable_and_name_mismatch() -> ApiError {
        ApiError::new(
            400,
            10132,
            "Consumer Durable and Name have to be equal if both are provided",
        )
    }
    pub fn consumer_wq_requires_explicit_ack() -> ApiError {
        ApiError::new(400, 10098, "workqueue stream requires explicit ack")
    }
    pub fn consumer_wq_multiple_unfiltered() -> ApiError {
        ApiError::new(
            400,
            10099,
            "multiple non-filtered consumers not allowed on workqueue stream",
        )
    }
    pub fn consumer_wq_not_unique() -> ApiError {
        ApiError::new(
            400,
            10100,
            "filtered consumer not unique on workqueue stream",
        )
    }
    pub fn consumer_wq_not_deliver_all() -> ApiError {
        ApiError::new(
            400,
            10101,
            "consumer must be deliver all on workqueue stream",
        )
    }
    pub fn consumer_name_too_long(max: usize) -> ApiError {
        ApiError::new(
            400,
            10102,
            format!("consumer name is too long, maximum allowed is {max}"),
        )
    }
    pub fn consumer_bad_durable_name() -> ApiError {
        ApiError::new(400, 10103, "durable name can not contain '.', '*', '>'")
    }
    pub fn consumer_config_required() -> ApiError {
        ApiError::new(400, 10078, "consumer config required")
    }
    pub fn consumer_not_found() -> ApiError {
        ApiError::new(404, 10014, "consumer not found")
    }
    pub fn consumer_name_exists() -> ApiError {
        ApiError::new(400, 10013, "consumer name already in use")
    }
    pub fn maximum_consumers_limit() -> ApiError {
        ApiError::new(400, 10026, "maximum consumers limit reached")
    }
    pub fn consumer_durable_name_not_in_subject() -> ApiError {
        ApiError::new(
            400,
            10016,
            "consumer expected to be durable but no durable name set in subject",
        )
    }
    pub fn consumer_durable_name_not_set() -> ApiError {
        ApiError::new(
            400,
            10018,
            "consumer expected to be durable but a durable name was not set",
        )
    }
    pub fn consumer_durable_name_not_match_subject() -> ApiError {
        ApiError::new(
            400,
            10017,
            "consumer name in subject does not match durable name in request",
        )
    }
    pub fn consumer_ephemeral_with_durable_name() -> ApiError {
        ApiError::new(
            400,
            10020,
            "consumer expected to be ephemeral but a durable name was set in request",
        )
    }
    pub fn consumer_name_contains_path_separators() -> ApiError {
        ApiError::new(400, 10127, "Consumer name can not contain path separators")
    }
    pub fn consumer_create_filter_subject_mismatch() -> ApiError {
        ApiError::new(
            400,
            10131,
            "Consumer create request did not match filtered subject from create subject",
        )
    }
}

/// Account resource limits (`accounts { A: { jetstream: { … } } }`).
impl ApiError {
    pub fn maximum_streams_reached() -> ApiError {
        ApiError::new(400, 10027, "maximum number of streams reached")
    }
    pub fn memory_resources_exceeded() -> ApiError {
        ApiError::new(500, 10028, "insufficient memory resources available")
    }
    pub fn storage_resources_exceeded() -> ApiError {
        ApiError::new(500, 10047, "insufficient storage resources available")
    }
    pub fn stream_max_bytes_required() -> ApiError {
        ApiError::new(
            400,
            10113,
            "account requires a stream config to have max bytes set",
        )
    }
    pub fn stream_max_stream_bytes_exceeded() -> ApiError {
        ApiError::new(
            400,
            10122,
            "stream max bytes exceeds account limit max stream bytes",
        )
    }
    pub fn account_resources_exceeded() -> ApiError {
        ApiError::new(400, 10002, "resource limits exceeded for account")
    }
    pub fn stream_snapshot(why: &str) -> ApiError {
        ApiError::new(500, 10064, format!("snapshot failed: {why}"))
    }
    pub fn snapshot_deliver_subject_invalid() -> ApiError {
        ApiError::new(400, 10015, "deliver subject not valid")
    }
    pub fn stream_restore(why: &str) -> ApiError {
        ApiError::new(500, 10062, format!("restore failed: {why}"))
    }
    pub fn stream_name_exist_restore_failed() -> ApiError {
        ApiError::new(400, 10130, "stream name already in use, cannot restore")
    }
    pub fn temp_storage_failed() -> ApiError {
        ApiError::new(
            500,
            10072,
            "JetStream unable to open temp storage for restore",
        )
    }
    pub fn insufficient_resources() -> ApiError {
        ApiError::new(503, 10023, "insufficient resources")
    }
}
