//! svc against real supervise processes.

mod common;

use common::*;
use std::fs;
use std::path::Path;

/// A service that records every signal it can trap, then sleeps.
fn trapper(dir: &Path) {
    let traps: String = [
        "HUP", "ALRM", "INT", "TERM", "QUIT", "USR1", "USR2", "WINCH", "ABRT",
    ]
    .iter()
    .map(|s| format!("trap 'echo {s} >> signals' {s}; "))
    .collect();
    script(
        dir.join("run"),
        &format!("{traps} echo ready > ready; while :; do sleep 0.02; done"),
    );
}

#[test]
fn every_signal_letter_reaches_the_service() {
    let s = Scratch::new("svc-signals");
    let web = s.join("web");
    trapper(&web);
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    wait_for("traps set", || web.join("ready").exists().then_some(()));
    let expect = [
        ("h", "HUP"),
        ("a", "ALRM"),
        ("i", "INT"),
        ("t", "TERM"),
        ("q", "QUIT"),
        ("1", "USR1"),
        ("2", "USR2"),
        ("y", "WINCH"),
        ("b", "ABRT"),
    ];
    for (n, (letter, name)) in expect.iter().enumerate() {
        assert_eq!(call("svc", &[&format!("-{letter}"), "web"], &s.path).0, 0);
        wait_for(name, || {
            (lines(&web.join("signals")).len() == n + 1).then_some(())
        });
        assert_eq!(lines(&web.join("signals"))[n], *name);
    }
    assert_eq!(status_pid(&web), pid, "trapped signals do not restart it");
    call("svc", &["-k", "web"], &s.path);
    let new = wait_up(&mut r, &web, pid);
    assert!(!alive(pid) && alive(new));
}

#[test]
fn pause_and_continue() {
    let s = Scratch::new("svc-pause");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    let state = || {
        fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap()
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    call("svc", &["-p", "web"], &s.path);
    wait_for("stopped", || (state() == "T").then_some(()));
    call("svc", &["-c", "web"], &s.path);
    wait_for("continued", || (state() == "S").then_some(()));
}

#[test]
fn once_starts_and_does_not_restart() {
    let s = Scratch::new("svc-once");
    let web = s.join("web");
    script(web.join("run"), "echo x >> starts; sleep 0.2");
    fs::write(web.join("down"), "").unwrap();
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    call("svc", &["-o", "web"], &s.path);
    wait_for("one start", || {
        (lines(&web.join("starts")).len() == 1).then_some(())
    });
    assert_eq!(call("svc", &["-wD", "-T", "10000", "web"], &s.path).0, 0);
    assert_eq!(lines(&web.join("starts")).len(), 1);
}

#[test]
fn waits_for_up_down_finished_restarted_and_ready() {
    let s = Scratch::new("svc-wait");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    script(web.join("finish"), "sleep 0.3; echo done >> finished");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let first = wait_up(&mut r, &web, 0);

    assert_eq!(
        call("svc", &["-d", "-wd", "-T", "10000", "web"], &s.path),
        (0, String::new(), String::new())
    );
    assert_eq!(status_pid(&web), 0);
    assert_eq!(call("svc", &["-wD", "-T", "10000", "web"], &s.path).0, 0);
    assert_eq!(
        lines(&web.join("finished")).len(),
        1,
        "-wD waits for finish"
    );

    assert_eq!(
        call("svc", &["-u", "-wu", "-T", "10000", "web"], &s.path).0,
        0
    );
    let second = status_pid(&web);
    r.adopt(second);
    assert!(second != 0 && second != first);

    assert_eq!(
        call("svc", &["-r", "-wR", "-T", "10000", "web"], &s.path).0,
        0
    );
    let third = status_pid(&web);
    r.adopt(third);
    assert!(third != 0 && third != second, "-wr waits for a new run");
    assert_eq!(call("svc", &["-wU", "-T", "10000", "web"], &s.path).0, 0);
}

#[test]
fn a_wait_that_times_out_exits_1() {
    let s = Scratch::new("svc-timeout");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    fs::write(web.join("down"), "").unwrap();
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let (code, out, err) = call("svc", &["-wu", "-T", "200", "web"], &s.path);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (1, "", "svc: warning: unable to wait for web: timed out\n")
    );
}

#[test]
fn an_ordered_start_stops_at_the_first_failure() {
    let s = Scratch::new("svc-order");
    let mut r = Reaper::new();
    for name in ["db", "app", "web"] {
        let d = s.join(name);
        match name {
            // app cannot start: its run is missing.
            "app" => fs::create_dir_all(&d).unwrap(),
            _ => script(d.join("run"), "exec sleep 1000"),
        }
        fs::write(d.join("down"), "").unwrap();
        start_supervise(&mut r, &d);
    }
    let (code, _, err) = call(
        "svc",
        &["-u", "-wu", "-T", "500", "db", "app", "web"],
        &s.path,
    );
    assert_eq!(
        (code, err.as_str()),
        (1, "svc: warning: unable to wait for app: timed out\n")
    );
    assert_ne!(status_pid(&s.join("db")), 0, "db was started first");
    r.adopt(status_pid(&s.join("db")));
    assert_eq!(
        status_bytes(&s.join("web")).unwrap()[17],
        b'd',
        "web never got its u"
    );
}

#[test]
fn big_d_and_big_u_manage_the_down_file() {
    let s = Scratch::new("svc-downfile");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    assert_eq!(
        call("svc", &["-D", "-wd", "-T", "10000", "web"], &s.path).0,
        0
    );
    assert!(web.join("down").exists());
    assert_eq!(
        call("svc", &["-U", "-wu", "-T", "10000", "web"], &s.path).0,
        0
    );
    assert!(!web.join("down").exists());
    r.adopt(status_pid(&web));
}

#[test]
fn not_running_is_a_warning_and_the_other_dirs_still_get_the_command() {
    let s = Scratch::new("svc-notrunning");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    fs::create_dir_all(s.join("idle")).unwrap();
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    let (code, _, err) = call("svc", &["-d", "idle", "missing", "web"], &s.path);
    assert_eq!(code, 111);
    assert_eq!(
        err,
        "svc: warning: unable to control idle: supervise not running\n\
         svc: warning: unable to control missing: No such file or directory\n"
    );
    wait_down(&web);
}

#[test]
fn usage_errors_exit_100() {
    let s = Scratch::new("svc-usage");
    let usage = "svc: usage: svc [-udoxrpchaitkq12ybDUR] [-w udDUrR] [-T ms] dir...\n";
    for (args, msg) in [
        (&[][..], "missing dir"),
        (&["-z", "x"][..], "invalid option -z"),
        (&["-wx", "x"][..], "-w takes one of u U d D r R"),
        (&["-T", "soon", "x"][..], "-T takes milliseconds"),
        (&["-T"][..], "missing argument for -T"),
    ] {
        let (code, _, err) = call("svc", args, &s.path);
        assert_eq!(
            (code, err),
            (100, format!("svc: fatal: {msg}\n{usage}")),
            "{args:?}"
        );
    }
}

/// Starts svkit's svc with `args` in `cwd`, to wait for it later.
fn spawn_svc(r: &mut Reaper, args: &[&str], cwd: &Path) -> i32 {
    r.spawn(
        std::process::Command::new(bin("svc"))
            .args(args)
            .current_dir(cwd)
            .stdout(std::process::Stdio::null()),
    )
}

#[test]
fn a_bounded_wait_waits_for_the_supervise_to_start() {
    let s = Scratch::new("svc-early");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    fs::write(web.join("down"), "").unwrap();
    let mut r = Reaper::new();
    let svc = spawn_svc(&mut r, &["-u", "-wu", "-T", "20000", "web"], &s.path);
    // Still there and asleep in poll: it did not give up at once.
    wait_for("svc to wait for supervise/", || {
        idle_in_poll(svc).then_some(())
    });
    assert!(!web.join("supervise").exists());
    start_supervise(&mut r, &web);
    assert_eq!(r.wait_exit(svc).code(), Some(0));
    assert_ne!(status_pid(&web), 0, "the u reached the new supervise");
    r.adopt(status_pid(&web));
}

#[test]
fn a_bounded_wait_waits_for_a_supervise_to_come_back() {
    let s = Scratch::new("svc-early-stale");
    let web = s.join("web");
    script(web.join("run"), "echo x >> starts; exec sleep 1000");
    let mut r = Reaper::new();
    let sup = start_supervise(&mut r, &web);
    let first = wait_up(&mut r, &web, 0);
    wait_for("the first start", || {
        web.join("starts").exists().then_some(())
    });
    // supervise/ and its FIFOs stay behind, with nobody reading them.
    kill(sup, libc::SIGKILL);
    kill(first, libc::SIGKILL);
    wait_for("supervise gone", || (!alive(sup)).then_some(()));
    wait_for("service gone", || (!alive(first)).then_some(()));
    fs::remove_file(web.join("starts")).unwrap();
    // -D: the down file is there before the supervise starts, so the
    // service never runs.
    let svc = spawn_svc(&mut r, &["-D", "-wd", "-T", "20000", "web"], &s.path);
    wait_for("svc to wait for the control FIFO", || {
        idle_in_poll(svc).then_some(())
    });
    start_supervise(&mut r, &web);
    assert_eq!(r.wait_exit(svc).code(), Some(0));
    assert!(web.join("down").exists());
    assert!(!web.join("starts").exists(), "run never started");
}

#[test]
fn a_bounded_wait_for_a_supervise_that_never_starts_exits_1() {
    let s = Scratch::new("svc-early-timeout");
    fs::create_dir_all(s.join("idle")).unwrap();
    let (code, out, err) = call("svc", &["-u", "-wu", "-T", "200", "idle"], &s.path);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            1,
            "",
            "svc: warning: unable to wait for idle: timed out, supervise not running\n"
        )
    );
    // A dir that does not exist is a mistake, not a service on its way.
    let (code, _, err) = call("svc", &["-u", "-wu", "-T", "20000", "missing"], &s.path);
    assert_eq!(
        (code, err.as_str()),
        (
            111,
            "svc: warning: unable to control missing: No such file or directory\n"
        )
    );
}
