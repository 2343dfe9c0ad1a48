//! svok against a running and a stopped supervise.

mod common;

use common::*;
use std::fs;

#[test]
fn exits_0_while_supervise_runs_and_100_once_it_has_stopped() {
    let s = Scratch::new("svok-running");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    let mut r = Reaper::new();
    let sup = start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    assert_eq!(call("svok", &["web"], &s.path), (0, "".into(), "".into()));

    // Taken down, the service is gone but its supervise still runs.
    call("svc", &["-d", "web"], &s.path);
    wait_down(&web);
    assert_eq!(call("svok", &["web"], &s.path).0, 0);

    call("svc", &["-x", "web"], &s.path);
    assert_eq!(r.wait_exit(sup).code(), Some(0));
    assert_eq!(
        call("svok", &["web"], &s.path),
        (100, "".into(), "".into()),
        "silent, as daemontools' svok"
    );
}

#[test]
fn a_dir_never_supervised_exits_100() {
    let s = Scratch::new("svok-never");
    fs::create_dir(s.join("web")).unwrap();
    assert_eq!(call("svok", &["web"], &s.path), (100, "".into(), "".into()));
}

#[test]
fn trouble_exits_111() {
    let s = Scratch::new("svok-trouble");
    assert_eq!(
        call("svok", &["nope"], &s.path),
        (
            111,
            "".into(),
            "svok: fatal: unable to open nope/supervise/ok: No such file or directory\n".into()
        )
    );
    // supervise/ok that is not a FIFO: something else owns this directory.
    fs::create_dir_all(s.join("web/supervise/ok")).unwrap();
    let (code, _, err) = call("svok", &["web"], &s.path);
    assert_eq!(
        (code, err.as_str()),
        (
            111,
            "svok: fatal: unable to open web/supervise/ok: Is a directory\n"
        )
    );
}

#[test]
fn bad_command_lines_exit_100() {
    let s = Scratch::new("svok-usage");
    for (args, why) in [
        (&[][..], "missing dir"),
        (&["a", "b"], "unexpected argument b"),
        (&["-x", "a"], "invalid option -x"),
    ] {
        assert_eq!(
            call("svok", args, &s.path),
            (
                100,
                "".into(),
                format!("svok: fatal: {why}\nsvok: usage: svok dir\n")
            ),
            "{args:?}"
        );
    }
}

#[test]
fn anyone_learns_whether_a_root_owned_service_is_supervised() {
    let s = Scratch::new("svok-nobody");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    let mut r = Reaper::new();
    let sup = start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    assert_eq!(as_nobody(&s, "svok", &["web"]), (0, "".into(), "".into()));
    // The lock stays the owner's: nobody cannot open it, let alone hold
    // a lock on it that would keep the next supervise from starting.
    let lock = web.join("supervise/lock");
    let o = std::process::Command::new(bin("setuidgid"))
        .args(["nobody", "sh", "-c", ": < web/supervise/lock"])
        .current_dir(&s.path)
        .output()
        .unwrap();
    assert!(!o.status.success(), "nobody opened the lock");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&fs::metadata(&lock).unwrap().permissions())
            & 0o777,
        0o600
    );
    call("svc", &["-x", "-d", "web"], &s.path);
    assert_eq!(r.wait_exit(sup).code(), Some(0));
    assert_eq!(as_nobody(&s, "svok", &["web"]), (100, "".into(), "".into()));
}
