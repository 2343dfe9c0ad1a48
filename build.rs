//! How each program is linked. supervise, svc, svstat, svok, tai64n, scan
//! and logsink (and svscan and multilog, their daemontools names) start
//! through origin and make their system calls through rustix: static, no
//! start files, no C library on the link line at all, so a C function
//! that one of them came to call fails the link instead of being taken
//! from libc.a. The other programs link the C library (setuidgid needs
//! its NSS; see README.md, "Why no_std"), which rustc's no_std link does
//! not add by itself.
const WITHOUT_LIBC: [&str; 9] = [
    "supervise",
    "svc",
    "svstat",
    "svok",
    "tai64n",
    "scan",
    "svscan",
    "logsink",
    "multilog",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/bin");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let bins = std::fs::read_dir("src/bin").expect("src/bin");
    for entry in bins.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(bin) = name.strip_suffix(".rs") else {
            continue;
        };
        // origin starts programs on Linux only, on every architecture it
        // supports; that is the choice, not the architecture.
        if os == "linux" && WITHOUT_LIBC.contains(&bin) {
            for arg in ["-nostartfiles", "-nostdlib", "-static"] {
                println!("cargo:rustc-link-arg-bin={bin}={arg}");
            }
        } else {
            println!("cargo:rustc-link-arg-bin={bin}=-lc");
        }
    }
}
