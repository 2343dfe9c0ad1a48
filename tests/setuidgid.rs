//! setuidgid as root, checked from inside the program it runs. These tests
//! need root (CI runs them as root); as anyone else they fail loudly.

mod common;

use common::*;
use std::ffi::CString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// (uid, gid) of an account, from the passwd database.
fn ids(name: &str) -> (u32, u32) {
    let c = CString::new(name).unwrap();
    // SAFETY: the test reads the entry before any other lookup.
    let pw = unsafe { libc::getpwnam(c.as_ptr()) };
    assert!(!pw.is_null(), "no account {name} on this machine");
    unsafe { ((*pw).pw_uid, (*pw).pw_gid) }
}

/// An account's groups as coreutils' `id -G` finds them, sorted.
fn id_groups(name: &str) -> Vec<u32> {
    let o = Command::new("id").args(["-G", name]).output().unwrap();
    assert!(o.status.success());
    sorted(
        String::from_utf8(o.stdout)
            .unwrap()
            .split_whitespace()
            .map(|g| g.parse().unwrap())
            .collect(),
    )
}

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v.dedup();
    v
}

/// setuidgid with `args`, started with supplementary groups 0, 4 and 27 so
/// that a test sees whether they are really taken away.
fn setuidgid(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let mut cmd = Command::new(bin("setuidgid"));
    cmd.args(args).current_dir(cwd);
    // SAFETY: setgroups is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            let extra: [libc::gid_t; 3] = [0, 4, 27];
            match libc::setgroups(3, extra.as_ptr()) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    outcome(&cmd.output().unwrap())
}

/// The ids of the process that printed `/proc/self/status`:
/// (Uid's four fields, Gid's four fields, Groups sorted).
fn creds(status: &str) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let field = |key: &str| -> Vec<u32> {
        let line = status
            .lines()
            .find(|l| l.starts_with(&format!("{key}:")))
            .unwrap_or_else(|| panic!("no {key} in {status}"));
        line[key.len() + 1..]
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect()
    };
    (field("Uid"), field("Gid"), sorted(field("Groups")))
}

#[test]
fn nobody_gets_its_uid_gid_and_its_gid_alone() {
    let s = Scratch::new("suid-nobody");
    let (uid, gid) = ids("nobody");
    let (code, out, err) = setuidgid(&["nobody", "cat", "/proc/self/status"], &s.path);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(creds(&out), (vec![uid; 4], vec![gid; 4], vec![gid]));
}

#[test]
fn dash_s_gives_the_groups_of_the_group_database() {
    let s = Scratch::new("suid-groups");
    let (uid, gid) = ids("nobody");
    let (code, out, err) = setuidgid(&["-s", "nobody", "cat", "/proc/self/status"], &s.path);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        creds(&out),
        (vec![uid; 4], vec![gid; 4], id_groups("nobody"))
    );

    // nobody is rarely in a group of its own; an account listed as a
    // member of some group shows that -s adds them.
    let group = fs::read_to_string("/etc/group").unwrap();
    let member = group
        .lines()
        .filter_map(|l| l.split(':').nth(3))
        .flat_map(|m| m.split(','))
        .find(|m| !m.is_empty() && id_groups(m).len() > 1);
    let Some(member) = member else {
        eprintln!("no account with supplementary groups here: -s checked on nobody only");
        return;
    };
    let (uid, gid) = ids(member);
    let (code, out, err) = setuidgid(&["-s", member, "cat", "/proc/self/status"], &s.path);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(creds(&out), (vec![uid; 4], vec![gid; 4], id_groups(member)));
    let (_, out, _) = setuidgid(&[member, "cat", "/proc/self/status"], &s.path);
    assert_eq!(creds(&out).2, vec![gid], "without -s: the gid alone");
}

#[test]
fn numeric_uid_gid_is_used_as_given() {
    let s = Scratch::new("suid-numeric");
    for args in [&["12345:23456"][..], &["-s", "12345:23456"]] {
        let args: Vec<&str> = args
            .iter()
            .chain(&["cat", "/proc/self/status"])
            .copied()
            .collect();
        let (code, out, err) = setuidgid(&args, &s.path);
        assert_eq!((code, err.as_str()), (0, ""), "{args:?}");
        assert_eq!(creds(&out), (vec![12345; 4], vec![23456; 4], vec![23456]));
    }
}

#[test]
fn prog_arguments_pass_untouched() {
    let s = Scratch::new("suid-args");
    let (code, out, _) = setuidgid(
        &[
            "nobody",
            "sh",
            "-c",
            "printf '%s|' \"$@\"",
            "sh",
            "-s",
            "--",
            "a b",
            "",
        ],
        &s.path,
    );
    assert_eq!((code, out.as_str()), (0, "-s|--|a b||"));
}

/// A directory nobody may write to, so that a PROG run as nobody could
/// leave a file there; returns it with proof that nobody can.
fn nobody_writable(s: &Scratch) -> std::path::PathBuf {
    let (uid, gid) = ids("nobody");
    let w = s.join("w");
    fs::create_dir(&w).unwrap();
    std::os::unix::fs::chown(&w, Some(uid), Some(gid)).unwrap();
    fs::set_permissions(&s.path, fs::Permissions::from_mode(0o755)).unwrap();
    let control = w.join("control");
    let (code, _, err) = setuidgid(&["nobody", "touch", control.to_str().unwrap()], &s.path);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(
        control.exists(),
        "as nobody, PROG can create files in {w:?}"
    );
    w
}

#[test]
fn an_unknown_account_exits_111_before_prog_runs() {
    let s = Scratch::new("suid-unknown");
    let w = nobody_writable(&s);
    let marker = w.join("ran");
    let (code, out, err) = setuidgid(&["nobodyx", "touch", marker.to_str().unwrap()], &s.path);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (111, "", "setuidgid: fatal: unknown account nobodyx\n")
    );
    assert!(!marker.exists(), "PROG ran");
}

#[test]
fn a_caller_that_is_not_root_exits_111_before_prog_runs() {
    let s = Scratch::new("suid-notroot");
    let w = nobody_writable(&s);
    let inner = bin_copy(&s, "setuidgid");
    let marker = w.join("ran");
    let (code, out, err) = setuidgid(
        &[
            "nobody",
            inner.to_str().unwrap(),
            "nobody",
            "touch",
            marker.to_str().unwrap(),
        ],
        &s.path,
    );
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            111,
            "",
            "setuidgid: fatal: unable to setgroups: Operation not permitted\n"
        )
    );
    assert!(!marker.exists(), "PROG ran");
}

#[test]
fn the_leave_unchanged_id_is_a_usage_error() {
    let s = Scratch::new("suid-minus1");
    let marker = s.join("ran");
    for account in ["4294967295:4294967295", "0:4294967295", "x:1", "1:"] {
        let (code, _, err) = setuidgid(&[account, "touch", marker.to_str().unwrap()], &s.path);
        assert_eq!(
            (code, err),
            (
                100,
                format!(
                    "setuidgid: fatal: account {account} is neither a name nor UID:GID\n\
                     setuidgid: usage: setuidgid [-s] account prog...\n"
                )
            )
        );
    }
    assert!(!marker.exists(), "PROG ran");
}

#[test]
fn a_prog_that_cannot_run_exits_111() {
    let s = Scratch::new("suid-noprog");
    let (code, _, err) = setuidgid(&["nobody", "/nonexistent/prog"], &s.path);
    assert_eq!(
        (code, err.as_str()),
        (
            111,
            "setuidgid: fatal: unable to run /nonexistent/prog: No such file or directory\n"
        )
    );
}

#[test]
fn bad_command_lines_exit_100() {
    let s = Scratch::new("suid-usage");
    let usage = "setuidgid: usage: setuidgid [-s] account prog...\n";
    for (args, why) in [
        (&[][..], "missing account"),
        (&["nobody"], "missing prog"),
        (&["-s", "nobody"], "missing prog"),
        (&["-x", "nobody", "true"], "invalid option -x"),
        (&["--user", "nobody", "true"], "invalid option --user"),
    ] {
        let (code, out, err) = setuidgid(args, &s.path);
        assert_eq!(
            (code, out.as_str(), err),
            (100, "", format!("setuidgid: fatal: {why}\n{usage}")),
            "{args:?}"
        );
    }
}
