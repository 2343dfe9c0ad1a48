//! envdir against real directories, checked with `env -0` in the program
//! it runs.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

/// Runs envdir with `args` in `cwd`, with OLD and GONE in its environment.
fn envdir(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let o = Command::new(bin("envdir"))
        .args(args)
        .current_dir(cwd)
        .env("OLD", "old")
        .env("GONE", "here")
        .output()
        .unwrap();
    outcome(&o)
}

/// The environment `env -0` printed.
fn vars(out: &str) -> BTreeMap<String, String> {
    out.split('\0')
        .filter(|v| !v.is_empty())
        .map(|v| {
            let (k, v) = v.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn files_set_override_and_unset_variables() {
    let s = Scratch::new("envdir-set");
    let env = s.join("env");
    fs::create_dir(&env).unwrap();
    fs::write(env.join("NEW"), "new value \t \nsecond line\n").unwrap();
    fs::write(env.join("OLD"), "replaced").unwrap();
    fs::write(env.join("GONE"), "").unwrap();
    fs::write(env.join("BLANK"), "\n").unwrap();
    fs::write(env.join(".hidden"), "dotfiles are skipped\n").unwrap();
    let (code, out, err) = envdir(&["env", "env", "-0"], &s.path);
    assert_eq!((code, err.as_str()), (0, ""));
    let v = vars(&out);
    assert_eq!(v.get("NEW").map(String::as_str), Some("new value"));
    assert_eq!(v.get("OLD").map(String::as_str), Some("replaced"));
    assert_eq!(v.get("BLANK").map(String::as_str), Some(""));
    assert_eq!(v.get("GONE"), None, "an empty file removes the variable");
    assert_eq!(v.get(".hidden"), None);
}

#[test]
fn nuls_become_newlines() {
    let s = Scratch::new("envdir-nul");
    let env = s.join("env");
    fs::create_dir(&env).unwrap();
    fs::write(env.join("CERT"), b"line 1\0line 2\0  \nnot this\n").unwrap();
    let (code, out, _) = envdir(&["env", "env", "-0"], &s.path);
    assert_eq!(code, 0);
    // Trailing blanks go before NULs turn into newlines (daemontools'
    // order): the blanks after the last NUL go, the NUL stays a newline.
    assert_eq!(
        vars(&out).get("CERT").map(String::as_str),
        Some("line 1\nline 2\n")
    );
}

#[test]
fn prog_arguments_pass_untouched() {
    let s = Scratch::new("envdir-args");
    fs::create_dir(s.join("env")).unwrap();
    let (code, out, _) = envdir(
        &[
            "env",
            "sh",
            "-c",
            "printf '%s|' \"$@\"",
            "sh",
            "-x",
            "--",
            "a b",
        ],
        &s.path,
    );
    assert_eq!((code, out.as_str()), (0, "-x|--|a b|"));
}

#[test]
fn a_name_with_equals_is_refused_before_prog_runs() {
    let s = Scratch::new("envdir-eq");
    let env = s.join("env");
    fs::create_dir(&env).unwrap();
    fs::write(env.join("A=B"), "c\n").unwrap();
    let (code, out, err) = envdir(&["env", "touch", "ran"], &s.path);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            111,
            "",
            "envdir: fatal: bad variable name env/A=B: contains =\n"
        )
    );
    assert!(!s.join("ran").exists(), "PROG ran");
}

#[test]
fn an_unreadable_dir_or_file_exits_111_before_prog_runs() {
    let s = Scratch::new("envdir-unreadable");
    let (code, _, err) = envdir(&["nope", "touch", "ran"], &s.path);
    assert_eq!(
        (code, err.as_str()),
        (
            111,
            "envdir: fatal: unable to read nope: No such file or directory\n"
        )
    );
    fs::create_dir_all(s.join("env/SUB")).unwrap();
    let (code, _, err) = envdir(&["env", "touch", "ran"], &s.path);
    assert_eq!(
        (code, err.as_str()),
        (
            111,
            "envdir: fatal: unable to read env/SUB: Is a directory\n"
        )
    );
    assert!(!s.join("ran").exists(), "PROG ran");
}

#[test]
fn a_prog_that_cannot_run_exits_111() {
    let s = Scratch::new("envdir-noprog");
    fs::create_dir(s.join("env")).unwrap();
    let (code, _, err) = envdir(&["env", "./nonexistent"], &s.path);
    assert_eq!(
        (code, err.as_str()),
        (
            111,
            "envdir: fatal: unable to run ./nonexistent: No such file or directory\n"
        )
    );
}

#[test]
fn bad_command_lines_exit_100() {
    let s = Scratch::new("envdir-usage");
    fs::create_dir(s.join("env")).unwrap();
    let usage = "envdir: usage: envdir dir prog...\n";
    for (args, why) in [
        (&[][..], "missing dir"),
        (&["env"], "missing prog"),
        (&["-x", "env", "true"], "invalid option -x"),
    ] {
        let (code, out, err) = envdir(args, &s.path);
        assert_eq!(
            (code, out.as_str(), err),
            (100, "", format!("envdir: fatal: {why}\n{usage}")),
            "{args:?}"
        );
    }
}
