#![no_main]
//! Client-connection parser: arbitrary bytes never panic and parse the same however split.

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::check(nats_proto::Kind::Client, data));
