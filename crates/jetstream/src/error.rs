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
}
