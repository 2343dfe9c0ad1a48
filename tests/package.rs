//! package/: the list of commands, the install script and the Debian
//! package, checked against what src/bin and man/ hold.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binaries package/commands lists, in its order.
fn commands() -> Vec<String> {
    fs::read_to_string(root().join("package/commands"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// The names of the files in `dir` that end in `.ext`, without it.
fn stems(dir: &Path, ext: &str) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
        .collect()
}

#[test]
fn commands_lists_exactly_the_binaries_in_src_bin() {
    let listed = commands();
    let set: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(set.len(), listed.len(), "a name listed twice: {listed:?}");
    assert!(
        listed.iter().all(|n| !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
        "package/commands has a blank or odd line: {listed:?}"
    );
    assert_eq!(
        set,
        stems(&root().join("src/bin"), "rs"),
        "package/commands vs src/bin/*.rs"
    );
}

#[test]
fn every_command_has_a_section_8_man_page() {
    let pages = stems(&root().join("man"), "8");
    let missing: Vec<String> = commands()
        .into_iter()
        .filter(|c| !pages.contains(c))
        .collect();
    assert!(missing.is_empty(), "no man/NAME.8 for {missing:?}");
    assert!(root().join("man/svkit.7").is_file(), "no man/svkit.7");
}
