//! supervise, svc, svstat, svok, tai64n, scan and logsink (and svscan
//! and multilog, their daemontools names) run without the C library
//! (build.rs):
//! static, nothing left for a loader to resolve, and no C library code
//! linked in, so a C function one of them came to call would have failed
//! their link instead of being taken from libc.a.

mod common;

use common::*;
use std::process::Command;

/// build.rs's list of the programs linked without the C library, read
/// from its source so that it is written once.
fn without_libc() -> Vec<String> {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/build.rs")).unwrap();
    let list = src
        .split("const WITHOUT_LIBC")
        .nth(1)
        .expect("WITHOUT_LIBC in build.rs");
    let list = &list[list.find("= [").unwrap()..];
    let list = &list[..list.find(']').unwrap()];
    let names: Vec<String> = list
        .split('"')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect();
    assert!(names.len() >= 4, "build.rs lists {names:?}");
    names
}
fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} (binutils): {e}"));
    assert!(out.status.success(), "{name} {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_programs_without_the_c_library_link_none_of_it() {
    for name in &without_libc() {
        let path = bin(name);
        let path = path.to_str().unwrap();
        let program = tool("readelf", &["--program-headers", "--wide", path]);
        assert!(!program.contains("INTERP"), "{name} asks for a loader");
        assert!(!program.contains("DYNAMIC"), "{name} is linked dynamically");
        // build.rs: -z norelro, whose page the kernel would dirty.
        assert!(!program.contains("GNU_RELRO"), "{name} has a RELRO segment");
        assert_eq!(tool("nm", &["--undefined-only", path]), "", "{name}");
        // The test build keeps its symbols: the C library's start-up and
        // its errno, or a malloc, would show up here had libc.a been linked.
        let symbols = tool("nm", &["--defined-only", path]);
        let names: Vec<&str> = symbols
            .lines()
            .filter_map(|l| l.split(' ').nth(2))
            .collect();
        assert!(
            names.contains(&"origin_main"),
            "{name} starts through origin"
        );
        for libc in ["__libc_start_main", "__errno_location", "malloc", "getenv"] {
            assert!(
                !names.contains(&libc),
                "{name} holds the C library's {libc}"
            );
        }
    }
}

/// build.rs's LAYOUT: no unwind tables in the file, and `.data` (with
/// `.bss` after it) starting a page, so that the writable data of an idle
/// supervise stays on as few pages as its size allows.
#[test]
fn the_programs_without_the_c_library_have_the_compact_layout() {
    for name in &without_libc() {
        let path = bin(name);
        let sections = tool(
            "readelf",
            &["--section-headers", "--wide", path.to_str().unwrap()],
        );
        assert!(!sections.contains(".eh_frame"), "{name}: {sections}");
        let data = sections
            .lines()
            .find(|l| l.contains(" .data "))
            .unwrap_or_else(|| panic!("{name} has no .data: {sections}"));
        let address = data.split_whitespace().skip_while(|w| *w != ".data").nth(2);
        let address = u64::from_str_radix(address.unwrap(), 16).unwrap();
        assert_eq!(address % 4096, 0, "{name}: {data}");
    }
}

#[test]
fn the_others_link_the_c_library_dynamically() {
    // setuidgid needs the system's account database (NSS).
    let path = bin("setuidgid");
    let dynamic = tool("readelf", &["--dynamic", path.to_str().unwrap()]);
    assert!(dynamic.contains("libc.so"), "{dynamic}");
}
