//! Helpers shared by the integration tests. Each test crate uses only some of them.
#![allow(dead_code)]

pub mod emulator;
pub mod listing;
pub mod markdown;
pub mod msgpack;
pub mod plugin;
pub mod recorder;
pub mod scripted_server;
pub mod sdk;
pub mod terraform;
