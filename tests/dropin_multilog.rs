//! svkit's `multilog` against daemontools' own, side by side on the same
//! script and input: the same files, names' shape, modes and contents.
mod common;
use common::*;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Lines of every length multilog treats differently (empty, around its
/// 1000-byte line buffer, longer than its 512-byte directory buffer and
/// than `s`), some selected by pattern, and a last line without newline.
fn sample() -> Vec<u8> {
    let mut out = Vec::new();
    let mut seed: u32 = 7;
    for i in 0..3000 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let n = [0, 5, 40, 300, 999, 1000, 1001, 2500, 6000][(seed >> 16) as usize % 9];
        out.extend_from_slice(if i % 7 == 0 { b"STAT " } else { b"x " });
        out.extend((0..n).map(|k| b"abcdefgh "[(k * 7 + i) % 9]));
        out.push(b'\n');
    }
    out.extend_from_slice(b"last line, unterminated");
    out
}

/// Every file under `dir`: name (rotated files numbered in the order of
/// their stamps), mode, content.
fn files(dir: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    let mut paths = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                paths.push(p);
            }
        }
    }
    // A stamp's hex digits sort as its time does.
    paths.sort();
    let mut out = BTreeMap::new();
    let mut nth: BTreeMap<String, usize> = BTreeMap::new();
    for p in paths {
        let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
        let name = match rel.find('@') {
            Some(at) if rel.len() >= at + 25 => {
                let key = format!("{}@{}", &rel[..at], &rel[at + 25..]);
                let n = nth.entry(key.clone()).or_default();
                *n += 1;
                format!("{key}#{n}")
            }
            _ => rel,
        };
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
        out.insert(name, (mode, fs::read(&p).unwrap()));
    }
    out
}

/// Runs `prog` with `script` in a fresh dir, the input from a file.
fn run_in(dir: &Path, prog: &Path, script: &[&str], input: &Path) -> (i32, String) {
    fs::create_dir_all(dir).unwrap();
    let o = Command::new(prog)
        .args(script)
        .current_dir(dir)
        .stdin(fs::File::open(input).unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn side_by_side(script: &[&str]) {
    let s = Scratch::new("multilog");
    let input = s.join("input");
    fs::write(&input, sample()).unwrap();
    let peer = run_in(
        &s.join("peer"),
        Path::new("/usr/bin/multilog"),
        script,
        &input,
    );
    let ours = run_in(&s.join("ours"), &bin("multilog"), script, &input);
    assert_eq!(ours, peer, "{script:?}: exit code and stderr");
    let (p, o) = (files(&s.join("peer")), files(&s.join("ours")));
    assert!(p.len() >= 4, "{script:?}: peer made {:?}", p.keys());
    let names = |m: &BTreeMap<String, (u32, Vec<u8>)>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&o), names(&p), "{script:?}: file names");
    // With `t` first every line starts with its own moment: those differ.
    let stamped = script.first() == Some(&"t");
    let mut labelled = 0;
    for (name, (mode, content)) in &p {
        let (omode, ocontent) = &o[name];
        assert_eq!(omode, mode, "{script:?}: mode of {name}");
        let (ocontent, content) = match stamped {
            true => (unstamped(ocontent), unstamped(content)),
            false => (ocontent.clone(), content.clone()),
        };
        labelled += content
            .windows(26)
            .filter(|w| w.starts_with(b"@000000000000000000000000 "))
            .count();
        assert!(ocontent == content, "{script:?}: {name} differs");
    }
    assert!(!stamped || labelled > 0, "{script:?}: no stamped line");
}

/// `content` with the TAI64N label ("@", 24 hex digits, a space) that
/// starts a line zeroed. A piece of a line split across files has none,
/// and is kept as it is: the other side must have it the same.
fn unstamped(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len());
    for line in content.split_inclusive(|&b| b == b'\n') {
        let label = line.len() > 25
            && line[0] == b'@'
            && line[1..25].iter().all(u8::is_ascii_hexdigit)
            && line[25] == b' ';
        if label {
            out.push(b'@');
            out.extend([b'0'; 24]);
            out.extend(&line[25..]);
        } else {
            out.extend(line);
        }
    }
    out
}

#[test]
fn rotated_files_match_daemontools_byte_for_byte() {
    side_by_side(&["s4096", "n5", "./main"]);
}

#[test]
fn selections_status_files_and_two_dirs_match_daemontools() {
    side_by_side(&[
        "-*", "+STAT*", "=status", "./stat", "s5000", "n2", "+*", "./all",
    ]);
}

#[test]
fn stamped_files_match_daemontools_but_for_the_moments() {
    side_by_side(&["t", "s4096", "n5", "./main"]);
}

#[test]
fn alerts_and_actions_multilog_ignores_match_daemontools() {
    // T, z, a, b and l are logsink's; multilog ignores them, and `t` after
    // the first action.
    side_by_side(&["e", "T", "z", "a5", "l2000", "t", "s10000", "./main"]);
}

#[test]
fn t_stamps_have_multilog_shape() {
    let s = Scratch::new("multilog-t");
    let input = s.join("input");
    fs::write(&input, "one\n\ntwo\n").unwrap();
    for who in ["peer", "ours"] {
        let prog = if who == "peer" {
            Path::new("/usr/bin/multilog").to_path_buf()
        } else {
            bin("multilog")
        };
        assert_eq!(run_in(&s.join(who), &prog, &["t", "./main"], &input).0, 0);
    }
    let shape = |who: &str| -> Vec<String> {
        lines(&s.join(who).join("main/current"))
            .iter()
            .map(|l| {
                let (stamp, rest) = l.split_at(25);
                assert!(stamp.starts_with("@4000000"), "{l}");
                assert!(stamp[1..].bytes().all(|b| b.is_ascii_hexdigit()), "{l}");
                rest.to_string()
            })
            .collect()
    };
    assert_eq!(shape("ours"), shape("peer"));
    assert_eq!(shape("ours"), [" one", " ", " two"]);
}

#[test]
fn messages_carry_multilog_s_name() {
    let s = Scratch::new("multilog-name");
    fs::create_dir(s.join("main")).unwrap();
    // A directory that cannot be made: multilog's own name in the message.
    let (code, _, err) = call("multilog", &["./no/such/dir"], &s.path);
    assert_eq!(code, 111, "{err}");
    assert!(err.starts_with("multilog: fatal: "), "{err}");
}

#[test]
fn processed_files_match_daemontools() {
    side_by_side(&["s4096", "n3", "!tr a-z A-Z", "./main"]);
}
