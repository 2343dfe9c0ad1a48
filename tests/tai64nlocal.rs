//! tai64nlocal against daemontools' and in several time zones.

mod common;

use common::*;
use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `prog` over `input` with TZ set; returns (exit code, stdout).
fn convert(prog: &std::path::Path, tz: &str, input: &[u8]) -> (i32, Vec<u8>) {
    let mut c = Command::new(prog)
        .env("TZ", tz)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}; install daemontools", prog.display()));
    let mut stdin = c.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let o = c.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    (o.status.code().unwrap_or(-1), o.stdout)
}

fn sample() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..2000u64 {
        // Labels from 1970 to 2100, nanoseconds varying.
        let secs = (1u64 << 62) + 10 + i * 2_000_000;
        v.extend(format!("@{secs:016x}{:08x} line {i}\n", i * 7919).as_bytes());
    }
    // Not "@" alone or a short label: daemontools' tool crashes on those.
    v.extend(b"no label\n\nx @400000006b0f61e3097b0da7\n");
    v
}

#[test]
fn output_matches_daemontools() {
    let input = sample();
    for tz in ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"] {
        let (code, ours) = convert(&bin("tai64nlocal"), tz, &input);
        let (dcode, theirs) = convert(std::path::Path::new("/usr/bin/tai64nlocal"), tz, &input);
        assert_eq!((code, dcode), (0, 0));
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "{tz}"
        );
    }
}

#[test]
fn converts_the_epoch_and_keeps_the_rest() {
    let (code, out) = convert(
        &bin("tai64nlocal"),
        "UTC",
        b"@400000000000000a00000005 up\nplain\n@4000 short\npartial",
    );
    assert_eq!(code, 0);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "1970-01-01 00:00:00.000000005 up\nplain\n@4000 short\npartial"
    );
}

#[test]
fn operands_are_a_usage_error() {
    let s = Scratch::new("tai64nlocal-usage");
    let (code, _, err) = call("tai64nlocal", &["x"], &s.path);
    assert_eq!(code, 100);
    assert_eq!(
        err,
        "tai64nlocal: fatal: unexpected argument x\ntai64nlocal: usage: tai64nlocal\n"
    );
}
