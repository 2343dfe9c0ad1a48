//! daemontools' toolbelt under its own names (tai64n, setlock, envuidgid,
//! pgrphack, fghack, readproctitle, svscan, svscanboot), each run side by
//! side with daemontools' own on the same input.
mod common;
use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// daemontools' program `name`.
fn peer(name: &str) -> PathBuf {
    Path::new("/usr/bin").join(name)
}

/// Runs `prog args` with `input` on stdin: (exit code, stdout, stderr).
fn with_input(prog: &Path, args: &[&str], input: &[u8], cwd: &Path) -> (i32, String, String) {
    let mut child = Command::new(prog)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    outcome(&child.wait_with_output().unwrap())
}

/// The exit code of `prog args`, and whether stderr said anything.
fn code(prog: &Path, args: &[&str], cwd: &Path) -> (i32, bool) {
    let (c, _, err) = with_input(prog, args, b"", cwd);
    (c, !err.is_empty())
}

#[test]
fn usage_errors_exit_100_with_daemontools_usage_line() {
    let s = Scratch::new("dt-usage");
    for (name, args, usage) in [
        (
            "setlock",
            &[][..],
            "setlock: usage: setlock [ -nNxX ] file program [ arg ... ]",
        ),
        (
            "setlock",
            &["-z", "f", "true"][..],
            "setlock: usage: setlock [ -nNxX ] file program [ arg ... ]",
        ),
        (
            "setlock",
            &["f"][..],
            "setlock: usage: setlock [ -nNxX ] file program [ arg ... ]",
        ),
        (
            "envuidgid",
            &["root"][..],
            "envuidgid: usage: envuidgid account child",
        ),
        (
            "envuidgid",
            &[][..],
            "envuidgid: usage: envuidgid account child",
        ),
        ("pgrphack", &[][..], "pgrphack: usage: pgrphack child"),
        ("fghack", &[][..], "fghack: usage: fghack child"),
    ] {
        let (c, _, err) = with_input(&bin(name), args, b"", &s.path);
        let (pc, _, perr) = with_input(&peer(name), args, b"", &s.path);
        assert_eq!((c, pc), (100, 100), "{name} {args:?}: {err} / {perr}");
        // Exactly daemontools' lines, getopt's complaint included.
        assert_eq!(err, perr, "{name} {args:?}");
        assert!(err.ends_with(&format!("{usage}\n")), "{name}: {err}");
    }
    // These take no options: a leading dash is the account or program.
    for (name, args) in [
        ("envuidgid", &["-x", "true"][..]),
        ("pgrphack", &["-x"][..]),
    ] {
        let ours = code(&bin(name), args, &s.path);
        assert_eq!(ours, code(&peer(name), args, &s.path), "{name} {args:?}");
        assert_eq!(ours, (111, true), "{name} {args:?}");
    }
    // readproctitle says nothing, as daemontools' does.
    for args in [&[][..], &["abc"][..]] {
        let ours = code(&bin("readproctitle"), args, &s.path);
        assert_eq!(ours, code(&peer("readproctitle"), args, &s.path));
        assert_eq!(ours, (100, false));
    }
}

#[test]
fn tai64n_labels_each_line_as_daemontools_does() {
    let s = Scratch::new("dt-tai64n");
    let input = b"one\n\nthree\npartial";
    let (c, ours, _) = with_input(&bin("tai64n"), &[], input, &s.path);
    let (pc, theirs, _) = with_input(&peer("tai64n"), &[], input, &s.path);
    assert_eq!((c, pc), (0, 0));
    let strip = |out: &str| -> Vec<String> {
        out.split_inclusive('\n')
            .map(|l| {
                assert!(
                    l.starts_with("@4000000") && l.as_bytes()[25] == b' ',
                    "{l:?}"
                );
                assert!(l[1..25].bytes().all(|b| b.is_ascii_hexdigit()), "{l:?}");
                l[25..].to_string()
            })
            .collect()
    };
    assert_eq!(strip(&ours), strip(&theirs));
    assert_eq!(strip(&ours), [" one\n", " \n", " three\n", " partial"]);
}

#[test]
fn setlock_holds_the_lock_and_exits_as_daemontools_does() {
    let s = Scratch::new("dt-setlock");
    let mut r = Reaper::new();
    let held = s.join("held");
    let holder = r.spawn(
        Command::new(peer("setlock"))
            .arg(&held)
            .args(["sleep", "30"]),
    );
    wait_for("the lock to be taken", || {
        let (c, _) = code(
            &peer("setlock"),
            &["-n", held.to_str().unwrap(), "true"],
            &s.path,
        );
        (c == 111).then_some(())
    });
    let h = held.to_str().unwrap();
    let missing = s.join("no/such/file");
    let m = missing.to_str().unwrap();
    for args in [
        &["-n", h, "true"][..],
        &["-nx", h, "true"],
        &["-nX", h, "true"],
        &["-x", m, "true"],
        &[m, "true"],
        &[s.join("free").to_str().unwrap(), "sh", "-c", "exit 7"],
        &[
            "-n",
            s.join("free2").to_str().unwrap(),
            "nonexistent-program-xyz",
        ],
    ] {
        let ours = code(&bin("setlock"), args, &s.path);
        assert_eq!(
            ours,
            code(&peer("setlock"), args, &s.path),
            "setlock {args:?}"
        );
    }
    kill(holder, libc::SIGKILL);
    r.wait_exit(holder);
    // svkit's setlock holds it for its program, as daemontools' must see.
    let ours = r.spawn(
        Command::new(bin("setlock"))
            .arg(&held)
            .args(["sleep", "30"]),
    );
    wait_for("svkit's setlock to take the lock", || {
        let (c, _) = code(&peer("setlock"), &["-n", h, "true"], &s.path);
        (c == 111).then_some(())
    });
    kill(ours, libc::SIGKILL);
}

#[test]
fn envuidgid_sets_uid_and_gid_like_daemontools() {
    let s = Scratch::new("dt-envuidgid");
    let show = ["nobody", "sh", "-c", "echo $UID:$GID"];
    let ours = with_input(&bin("envuidgid"), &show, b"", &s.path);
    assert_eq!(ours, with_input(&peer("envuidgid"), &show, b"", &s.path));
    assert_eq!(ours.0, 0);
    assert_eq!(ours.1, "65534:65534\n");
    let bad = ["no-such-account-xyz", "true"];
    let (c, _, err) = with_input(&bin("envuidgid"), &bad, b"", &s.path);
    let (pc, _, perr) = with_input(&peer("envuidgid"), &bad, b"", &s.path);
    assert_eq!((c, err.as_str()), (pc, perr.as_str()));
}

#[test]
fn pgrphack_runs_the_child_as_a_session_leader() {
    let s = Scratch::new("dt-pgrphack");
    // The child prints its pid, process group and session from /proc.
    let show = [
        "sh",
        "-c",
        "read -r a b c d e f g < /proc/$$/stat; echo $$ $e $f",
    ];
    for prog in [bin("pgrphack"), peer("pgrphack")] {
        let (c, out, _) = with_input(&prog, &show, b"", &s.path);
        assert_eq!(c, 0);
        let ids: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(ids.len(), 3, "{out}");
        assert!(ids[0] == ids[1] && ids[1] == ids[2], "{prog:?}: {out}");
    }
}

#[test]
fn fghack_waits_for_the_daemon_and_exits_as_daemontools_does() {
    let s = Scratch::new("dt-fghack");
    for args in [&["sh", "-c", "exit 3"][..], &["sh", "-c", "kill -9 $$"]] {
        let ours = code(&bin("fghack"), args, &s.path);
        assert_eq!(
            ours,
            code(&peer("fghack"), args, &s.path),
            "fghack {args:?}"
        );
    }
    // A daemon that forks away and closes nothing keeps fghack waiting.
    let flag = s.join("daemon-done");
    let daemon = format!("(sleep 1; : > {}) & exit 0", flag.display());
    let (c, _, _) = with_input(&bin("fghack"), &["sh", "-c", &daemon], b"", &s.path);
    assert_eq!(c, 0);
    assert!(flag.exists(), "fghack returned before the daemon ended");
}

#[test]
fn readproctitle_scrolls_input_through_its_last_argument() {
    let s = Scratch::new("dt-readproctitle");
    let mut r = Reaper::new();
    let mut titles = Vec::new();
    for prog in [bin("readproctitle"), peer("readproctitle")] {
        let mut child = Command::new(&prog)
            .args(["service", "errors:", "...................."])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        r.adopt(pid);
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"svscan: warning: x\n").unwrap();
        let title = wait_for("the title to change", || {
            let c = cmdline(pid);
            (c.last().is_some_and(|t| t.contains("x"))).then_some(c)
        });
        titles.push(title[1..].to_vec());
        drop(stdin);
        assert!(child.wait().unwrap().success());
    }
    assert_eq!(titles[0], titles[1]);
    let _ = &s;
}

/// A service tree with one service that records it ran.
fn one_service(s: &Scratch) -> PathBuf {
    let tree = s.join("service");
    script(
        tree.join("hello/run"),
        "echo started > ran; echo hello from the child >&2; exec sleep 60",
    );
    tree
}

#[test]
fn svscan_supervises_the_tree_as_scan_does() {
    let s = Scratch::new("dt-svscan");
    let tree = one_service(&s);
    // Not a service directory: svscan warns about it.
    std::fs::write(tree.join("afile"), "").unwrap();
    let mut r = Reaper::new();
    r.watch_dir(&tree.join("hello"));
    let t = Tree::spawn(
        Command::new(bin("svscan")).current_dir(&tree),
        s.join("svscan.err"),
    );
    wait_for("the service to run", || {
        tree.join("hello/ran").exists().then_some(())
    });
    // daemontools' svstat reads what svkit's supervise publishes.
    let out = Command::new(peer("svstat"))
        .arg(tree.join("hello"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(": up (pid "));
    drop(t);
    // Its messages carry daemontools' name.
    let said = wait_for("a warning about afile", || {
        let e = std::fs::read_to_string(s.join("svscan.err")).unwrap_or_default();
        e.contains("afile").then_some(e)
    });
    assert!(
        said.contains("svscan: warning: unable to supervise afile: not a directory"),
        "{said}"
    );
    // svscan's missing directory: the same exit code as daemontools'.
    let missing = s.join("missing");
    let m = missing.to_str().unwrap();
    assert_eq!(
        code(&bin("svscan"), &[m], &s.path),
        code(&peer("svscan"), &[m], &s.path)
    );
}

#[test]
fn svscanboot_runs_svscan_with_its_errors_in_readproctitle() {
    let s = Scratch::new("dt-svscanboot");
    let tree = one_service(&s);
    let mut r = Reaper::new();
    r.watch_dir(&tree.join("hello"));
    let t = Tree::spawn(
        Command::new(bin("svscanboot")).arg(&tree),
        s.join("boot.err"),
    );
    wait_for("the service to run", || {
        tree.join("hello/ran").exists().then_some(())
    });
    // svscanboot became readproctitle, whose title shows the service's
    // stderr (scan passes it on), and its child is svscan.
    let title = wait_for("the message in the title", || {
        let c = cmdline(t.pid);
        c.last()
            .is_some_and(|l| l.contains("hello from the child"))
            .then_some(c)
    });
    assert_eq!(&title[1..3], ["service", "errors:"], "{title:?}");
    assert!(title[0].ends_with("readproctitle"), "{title:?}");
    let kids = children(t.pid);
    assert_eq!(kids.len(), 1, "{kids:?}");
    assert!(
        cmdline(kids[0])[0].ends_with("svscan"),
        "{:?}",
        cmdline(kids[0])
    );
}

/// stdout of `prog` fed `input` from another thread (the output is larger
/// than a pipe holds).
fn filtered(prog: &Path, input: Vec<u8>) -> Vec<u8> {
    let mut child = Command::new(prog)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(out.status.success(), "{prog:?}: {out:?}");
    out.stdout
}

#[test]
fn tai64n_labels_lines_of_every_length_as_daemontools_does() {
    // Lengths around each of the moves tai64n copies with (src/batch.rs),
    // lines longer than its buffer, runs of empty lines, a partial end.
    let mut input = Vec::new();
    for round in 0..50u8 {
        for len in [
            0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 1000, 70000,
        ] {
            input.extend((0..len).map(|i| b'a' + ((i + round as usize) % 26) as u8));
            input.push(b'\n');
        }
    }
    input.extend(std::iter::repeat_n(b'\n', 70000));
    input.extend(b"partial");
    let ours = filtered(&bin("tai64n"), input.clone());
    let theirs = filtered(&peer("tai64n"), input);
    // Each line "@" + 24 hex digits + " " + the line: the stamps differ.
    let strip = |out: &[u8]| -> Vec<Vec<u8>> {
        out.split_inclusive(|&b| b == b'\n')
            .map(|l| {
                assert!(
                    l.len() > 25 && l[0] == b'@' && l[25] == b' ',
                    "{:?}",
                    String::from_utf8_lossy(&l[..l.len().min(40)])
                );
                assert!(l[1..25].iter().all(u8::is_ascii_hexdigit));
                l[26..].to_vec()
            })
            .collect()
    };
    let (ours, theirs) = (strip(&ours), strip(&theirs));
    assert_eq!(ours.len(), 50 * 17 + 70000 + 1);
    assert!(ours == theirs, "tai64n's lines differ from daemontools'");
}
