//! Compiles `proto/` into Rust with `protox`, a pure-Rust protobuf compiler, so that a machine
//! with only Rust builds the project: no system `protoc`, whatever `PROTOC` says. Also links
//! the unwinder statically on GNU/Linux (see [`static_unwinder`]).
//!
//! Both halves are generated: the server is the plugin; the client is what the protocol tests
//! use to talk to the binary exactly as Terraform does.

use std::path::Path;

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
    static_unwinder()?;
    Ok(())
}

/// Links GCC's unwinder (`libgcc_eh.a`) into every binary and test of the package instead of
/// loading `libgcc_s.so.1` at run time.
///
/// Rust's std on `*-linux-gnu` asks the linker for `-lgcc_s` (only its unwinder: backtraces,
/// and panics in tests). Loading that library costs every launch of the provider (3 or 4 per
/// Terraform command) its mmaps and page faults, and its constructor `__cpu_indicator_init`
/// runs `cpuid`, which traps in virtual machines: ~0.17 ms of a ~1.5 ms start-up measured
/// (issue 22). The same unwinder code is in `libgcc_eh.a`, which std itself links instead
/// under `crt-static`; taking it without a static glibc keeps DNS (NSS) and the rest of libc
/// dynamic.
///
/// How: the linker resolves `-lgcc_s` to the first `libgcc_s.so` on its search path, so a
/// linker script of that name in `OUT_DIR`, searched before the compiler's own directory,
/// redirects it to `-lgcc_eh` (`-lgcc` follows, as in GCC's own `libgcc_s.so` script, for the
/// few helpers `libgcc_eh` uses). This works wherever the package builds (`cargo install`
/// included) without `RUSTFLAGS` or a `.cargo/config.toml`, which `cargo install` of a
/// published crate never reads; `libgcc_eh.a` ships with GCC beside the `libgcc.a` every Rust
/// link on GNU/Linux already uses.
///
/// The price: GCC 12 and later, built for glibc 2.35 and later, find unwind tables with glibc's
/// `_dl_find_object`, so a binary linked on such a system (Debian 12, Ubuntu 22.04) needs glibc
/// 2.35 at run time, where it needed 2.34 (RHEL 9 and Amazon Linux 2023 have 2.34). Release
/// binaries meant for those must be linked on them or on an older system.
fn static_unwinder() -> std::io::Result<()> {
    let var = |name| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux" || var("CARGO_CFG_TARGET_ENV") != "gnu" {
        return Ok(());
    }
    let out_dir = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    let dir = Path::new(&out_dir).join("static-unwinder");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("libgcc_s.so"), "INPUT(-lgcc_eh -lgcc)\n")?;
    println!("cargo:rustc-link-search=native={}", dir.display());
    Ok(())
}
