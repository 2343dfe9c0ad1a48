//! supervise, svc, svstat, svok and tai64n are linked without the C library on
//! x86_64 Linux: static, no start files, no ld.so; src/nolibc.rs provides
//! the C functions they call. Elsewhere they link the C library as the
//! other programs do.
fn main() {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if arch == "x86_64" && os == "linux" {
        for bin in ["supervise", "svc", "svstat", "svok", "tai64n"] {
            for arg in ["-nostartfiles", "-nostdlib", "-static"] {
                println!("cargo:rustc-link-arg-bin={bin}={arg}");
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
