//! The README's "Five minutes" block, run as it stands: pasted into a
//! shell at the top of a checkout whose `target/release` holds the
//! binaries this test run built, with mktemp's TMPDIR in a scratch dir.

mod common;

use common::*;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// The indented code blocks of the README section titled `title`.
fn blocks(title: &str) -> Vec<String> {
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find(&format!("\n## {title}\n")).expect("section");
    let section = &readme[start + 1..];
    let section = &section[..section[1..].find("\n## ").map_or(section.len(), |e| e + 1)];
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in section.lines().chain([""]) {
        if let Some(code) = line.strip_prefix("    ") {
            cur.push_str(code);
            cur.push('\n');
        } else if !line.is_empty() && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        } else if line.is_empty() && !cur.is_empty() {
            cur.push('\n');
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out.into_iter()
        .map(|b| b.trim_end().to_string() + "\n")
        .collect()
}

/// Whether `line` is `YYYY-MM-DD HH:MM:SS.NNNNNNNNN TEXT` for this `text`.
fn local_stamp(line: &str, text: &str) -> bool {
    let shape = "dddd-dd-dd dd:dd:dd.ddddddddd ";
    line.len() == shape.len() + text.len()
        && line.ends_with(text)
        && line.bytes().zip(shape.bytes()).all(|(c, s)| match s {
            b'd' => c.is_ascii_digit(),
            _ => c == s,
        })
}

#[test]
fn the_five_minute_block_runs_as_pasted() {
    let section = blocks("Five minutes with svkit");
    assert_eq!(
        section[0], "cargo build --release\n",
        "the build comes first, on its own: cargo test built the binaries"
    );
    let block = &section[1];
    assert!(
        block.starts_with("PATH=$PWD/target/release:$PATH"),
        "{block}"
    );

    let s = Scratch::new("readme");
    let checkout = s.join("checkout");
    fs::create_dir_all(checkout.join("target")).unwrap();
    let built = bin("scan").parent().unwrap().to_path_buf();
    std::os::unix::fs::symlink(&built, checkout.join("target/release")).unwrap();
    let tmp = s.join("tmp");
    fs::create_dir_all(&tmp).unwrap();
    let stdout = fs::File::create(s.join("stdout")).unwrap();

    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(block)
        .current_dir(&checkout)
        .env("TMPDIR", &tmp)
        .stdout(stdout);
    let mut tree = Tree::spawn(&mut sh, s.join("stderr"));
    // Whatever the block leaves behind runs in the demo's service dirs.
    let mut reaper = Reaper::new();
    let demo: PathBuf = wait_for("mktemp's dir", || {
        fs::read_dir(&tmp).ok()?.flatten().next().map(|e| e.path())
    });
    reaper.watch_dir(&demo.join("hello"));
    reaper.watch_dir(&demo.join("hello/log"));

    let status = tree.wait_exit();
    let out = fs::read_to_string(s.join("stdout")).unwrap();
    let err = tree.stderr();
    assert_eq!((status.code(), err.as_str()), (Some(0), ""), "{out}");

    let hello = format!("{}/sv/hello", demo.display());
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() >= 7, "{out}");
    let up = lines[0]
        .strip_prefix(&format!("{hello}: up (pid "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(up.contains(" seconds, ready "), "{out}");
    assert!(
        lines[1].starts_with(&format!("{hello}: down "))
            && lines[1].ends_with(" seconds, normally up"),
        "{out}"
    );
    assert!(
        lines[2].starts_with('{') && lines[2].contains(r#""up":true"#),
        "{out}"
    );
    assert_eq!(lines[3], "up", "{out}");
    // Three starts (linked, svc -u, after svc -k), each ready only once
    // it had said hello, so each line reached the logger.
    let logged = &lines[4..];
    let hellos = logged
        .iter()
        .filter(|l| local_stamp(l, "hello from hello"))
        .count();
    assert_eq!(hellos, 3, "{out}");
    assert!(
        logged
            .iter()
            .all(|l| local_stamp(l, "hello from hello") || local_stamp(l, "still here")),
        "{out}"
    );
    // scan exited after bringing everything down: nothing of it is left.
    for dir in ["hello", "hello/log"] {
        assert_eq!(pids_in(&demo.join(dir)), Vec::<i32>::new(), "{dir}");
    }
}
