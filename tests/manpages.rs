//! Lints every page in man/ with groff, as CI does: any warning fails.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::process::Command;

fn pages() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    pages
}

#[test]
fn every_man_page_renders_without_a_warning() {
    let pages = pages();
    assert!(!pages.is_empty(), "no pages in man/");
    let mut complaints = String::new();
    for page in &pages {
        let out = match Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(page)
            .output()
        {
            Ok(out) => out,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                eprintln!("SKIPPED: groff is not installed (apt-get install groff)");
                return;
            }
            Err(e) => panic!("cannot run groff: {e}"),
        };
        if !out.status.success() || !out.stdout.is_empty() || !out.stderr.is_empty() {
            complaints += &format!(
                "{}: {}\n{}{}",
                page.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    assert!(complaints.is_empty(), "groff -man -ww -z:\n{complaints}");
}
