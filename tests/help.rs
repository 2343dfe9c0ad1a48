//! Every program in package/commands answers --help and --version on
//! stdout with exit 0, without reading stdin or running anything.
mod common;
use common::*;
use std::process::{Command, Stdio};

fn commands() -> Vec<String> {
    let list =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/package/commands")).unwrap();
    let names: Vec<String> = list.split_whitespace().map(String::from).collect();
    assert!(names.len() >= 10, "package/commands lists {names:?}");
    names
}

fn answer(name: &str, flag: &str) -> (i32, String, String) {
    // stdin stays an open pipe: a program that read it would hang the test.
    let child = Command::new(bin(name))
        .arg(flag)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    outcome(&child.wait_with_output().unwrap())
}

#[test]
fn every_program_answers_help_with_its_usage_and_man_page() {
    for name in commands() {
        let (code, out, err) = answer(&name, "--help");
        assert_eq!((code, err.as_str()), (0, ""), "{name} --help");
        assert!(out.contains(&format!("usage: {name}")), "{name}: {out}");
        assert!(out.contains("man/"), "{name} names no man page: {out}");
    }
}

#[test]
fn every_program_answers_version() {
    for name in commands() {
        let (code, out, err) = answer(&name, "--version");
        assert_eq!((code, err.as_str()), (0, ""), "{name} --version");
        assert_eq!(
            out,
            format!("{name} (svkit) {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}
