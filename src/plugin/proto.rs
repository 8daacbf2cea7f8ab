//! Generated code for the protocol files in `proto/` (compiled by `build.rs` with protox).
//!
//! Public so that tests (and tools) can drive the plugin through the same generated client that
//! mirrors what Terraform speaks; nothing outside [`crate::plugin`] needs it otherwise.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// Terraform's plugin protocol, version 6 (`tfplugin6`).
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

/// go-plugin's own services: controller (Shutdown), stdio and broker.
pub mod go_plugin {
    tonic::include_proto!("plugin");
}

/// The standard gRPC health service; go-plugin clients ask it about service `plugin`.
pub mod health {
    tonic::include_proto!("grpc.health.v1");
}
