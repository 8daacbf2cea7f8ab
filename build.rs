//! Compiles `proto/` into Rust with `protox`, a pure-Rust protobuf compiler, so that a machine
//! with only Rust builds the project: no system `protoc`, whatever `PROTOC` says.
//!
//! Both halves are generated: the server is the plugin; the client is what the protocol tests
//! use to talk to the binary exactly as Terraform does.

const PROTOS: &[&str] = &[
    "proto/tfplugin6.proto",
    "proto/grpc_controller.proto",
    "proto/grpc_stdio.proto",
    "proto/grpc_broker.proto",
    "proto/health.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Unserved RPCs of the full tfplugin6 service answer UNIMPLEMENTED by default.
        .generate_default_stubs(true)
        .compile_fds(descriptors)?;
    Ok(())
}
