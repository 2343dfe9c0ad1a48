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

/// Added to the linker's own layout for the programs without libc:
/// - their unwind tables go: they abort on panic and nothing walks the
///   stack, yet core's prebuilt code brings `.eh_frame` along (an eighth
///   to a tenth of each file, mapped with the rest of the read-only data);
/// - `.data` starts a page, so that `.data` and `.bss`, a few KiB in all,
///   do not straddle a page boundary and dirty two pages in every
///   process. A single page of padding in the file gets that, where
///   `-z separate-loadable-segments` padded every segment.
///
/// And `-z norelro`: nothing ever made the RELRO segment (the 32-byte
/// `.got`) read-only in these programs, since that is the C library's
/// start-up's job, yet the kernel zero-filled the rest of its page and so
/// dirtied one more page in every process. Without it `.got` is read, and
/// shared, from the file.
const LAYOUT: &str = "\
SECTIONS { /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) } } INSERT AFTER .text;
SECTIONS { .data : ALIGN(CONSTANT(MAXPAGESIZE)) { *(.data .data.*) } } INSERT BEFORE .bss;
";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/bin");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    let layout = std::path::Path::new(&out).join("layout.ld");
    std::fs::write(&layout, LAYOUT).expect("layout.ld");
    let layout = layout.display();
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
            println!("cargo:rustc-link-arg-bin={bin}=-Wl,--no-eh-frame-hdr,-z,norelro,-T,{layout}");
        } else {
            println!("cargo:rustc-link-arg-bin={bin}=-lc");
        }
    }
}
