//! scan started in a directory that is plainly not a service tree.

mod common;

use common::*;
use std::fs;
use std::process::Command;

#[test]
fn scan_in_a_source_checkout_warns_in_one_line() {
    let s = Scratch::new("scan-checkout");
    let dir = s.join("checkout");
    for f in [
        "Cargo.toml",
        "README.md",
        "build.rs",
        "src/lib.rs",
        "tests/t.rs",
    ] {
        fs::create_dir_all(dir.join(f).parent().unwrap()).unwrap();
        fs::write(dir.join(f), "x\n").unwrap();
    }
    fs::create_dir_all(dir.join("target")).unwrap();
    // No argument: the current directory, as daemontools' svscan.
    let tree = Tree::spawn(
        Command::new(bin("scan")).current_dir(&dir),
        s.join("scan.err"),
    );
    let line = "scan: warning: not a service tree: none of its 6 entries is a \
                directory with a run; waiting for one to appear\n";
    wait_for("the summary", || (tree.stderr() == line).then_some(()));

    // Later listings (a rescan, a service added) name nothing again, and
    // a service that appears is started.
    kill(tree.pid, libc::SIGHUP);
    let mut r = Reaper::new();
    let web = dir.join("web");
    r.watch_dir(&web);
    // Prepared under a dot name, then renamed into place: scan must not
    // catch the directory before its run is written and executable.
    script(dir.join(".web/run"), "exec sleep 1000");
    fs::rename(dir.join(".web"), &web).unwrap();
    wait_up(&mut r, &web, 0);
    kill(tree.pid, libc::SIGHUP);
    fs::write(dir.join("notes.txt"), "x\n").unwrap();
    wait_for("notes.txt named", || {
        tree.stderr()
            .ends_with("unable to supervise notes.txt: not a directory\n")
            .then_some(())
    });
    assert_eq!(
        tree.stderr(),
        format!("{line}scan: warning: unable to supervise notes.txt: not a directory\n")
    );
}

#[test]
fn a_tree_with_a_broken_service_still_names_each_entry() {
    let s = Scratch::new("scan-broken");
    let dir = s.join("sv");
    fs::create_dir_all(dir.join("db")).unwrap();
    fs::write(dir.join("db/run"), "#!/bin/sh\n").unwrap(); // not executable
    fs::write(dir.join("notes.txt"), "x\n").unwrap();
    let tree = Tree::scan(&dir);
    let want = "scan: warning: unable to supervise db: db/run is not executable\n\
                scan: warning: unable to supervise notes.txt: not a directory\n";
    wait_for("both named", || (tree.stderr() == want).then_some(()));
}
