//! Interoperability with daemontools and runit, both ways: their tools on
//! services svkit supervises, and svkit's tools on services theirs do.
//! .ci/run installs both from Debian's packages.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// Runs a peer's tool; fails the test with the install hint when missing.
fn peer(prog: &str, args: &[&str], cwd: &Path) -> (i32, String) {
    let o = Command::new(prog)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("{prog}: {e}; install daemontools and runit (see .ci/run)"));
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

/// Waits until `f` gives the same text twice in a row around a second
/// boundary: svstat lines count seconds, so two tools asked one after the
/// other may straddle one.
fn settled(mut f: impl FnMut() -> (String, String)) -> (String, String) {
    wait_for("both tools to agree", || {
        let (a, b) = f();
        (a == b).then_some((a, b))
    })
}

fn sleeper(dir: &Path) {
    script(dir.join("run"), "exec sleep 1000");
}

#[test]
fn daemontools_tools_read_and_control_an_svkit_service() {
    let s = Scratch::new("interop-dt");
    let web = s.join("web");
    sleeper(&web);
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    let (ours, theirs) = settled(|| {
        (
            call("svstat", &["web"], &s.path).1,
            peer("/usr/bin/svstat", &["web"], &s.path).1,
        )
    });
    assert!(
        theirs.starts_with(&format!("web: up (pid {pid}) ")),
        "{theirs}"
    );
    assert_eq!(ours, theirs);
    assert_eq!(peer("/usr/bin/svok", &["web"], &s.path).0, 0);

    assert_eq!(peer("/usr/bin/svc", &["-d", "web"], &s.path).0, 0);
    wait_down(&web);
    let (ours, theirs) = settled(|| {
        (
            call("svstat", &["web"], &s.path).1,
            peer("/usr/bin/svstat", &["web"], &s.path).1,
        )
    });
    assert!(
        theirs.starts_with("web: down ") && theirs.ends_with(" seconds, normally up\n"),
        "{theirs}"
    );
    assert_eq!(ours, theirs);

    assert_eq!(peer("/usr/bin/svc", &["-u", "web"], &s.path).0, 0);
    wait_up(&mut r, &web, pid);
    assert_eq!(peer("/usr/bin/svc", &["-dx", "web"], &s.path).0, 0);
    wait_for("supervise to exit", || {
        (peer("/usr/bin/svok", &["web"], &s.path).0 == 100).then_some(())
    });
}

#[test]
fn runit_sv_reads_and_controls_an_svkit_service() {
    let s = Scratch::new("interop-sv");
    let web = s.join("web");
    sleeper(&web);
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    let dir = web.to_str().unwrap();
    let (code, out) = peer("sv", &["status", dir], &s.path);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(&format!("run: {dir}: (pid {pid}) ")),
        "{out}"
    );

    let (code, _) = peer("sv", &["down", dir], &s.path);
    assert_eq!(code, 0);
    wait_down(&web);
    let out = peer("sv", &["status", dir], &s.path).1;
    assert!(
        out.starts_with(&format!("down: {dir}: ")) && out.ends_with("normally up\n"),
        "{out}"
    );

    let (code, _) = peer("sv", &["up", dir], &s.path);
    assert_eq!(code, 0);
    let new = wait_up(&mut r, &web, 0);
    let out = peer("sv", &["status", dir], &s.path).1;
    assert!(
        out.starts_with(&format!("run: {dir}: (pid {new}) ")),
        "{out}"
    );
}

#[test]
fn svkit_tools_read_and_control_a_daemontools_service() {
    let s = Scratch::new("interop-dt-sup");
    let web = s.join("web");
    sleeper(&web);
    let mut r = Reaper::new();
    r.spawn(Command::new("/usr/bin/supervise").arg(&web));
    r.watch_dir(&web);
    let pid = wait_up(&mut r, &web, 0);
    assert_eq!(
        status_bytes(&web).unwrap().len(),
        18,
        "daemontools' own format"
    );
    let (ours, theirs) = settled(|| {
        (
            call("svstat", &["web"], &s.path).1,
            peer("/usr/bin/svstat", &["web"], &s.path).1,
        )
    });
    assert!(ours.starts_with(&format!("web: up (pid {pid}) ")), "{ours}");
    assert_eq!(ours, theirs);
    assert_eq!(call("svok", &["web"], &s.path).0, 0);

    // daemontools' supervise ignores commands for a second after a start.
    assert_eq!(
        call("svc", &["-d", "-wd", "-T", "10000", "web"], &s.path).0,
        0
    );
    assert_eq!(status_pid(&web), 0);
    assert_eq!(
        call("svc", &["-u", "-wu", "-T", "10000", "web"], &s.path).0,
        0
    );
    wait_up(&mut r, &web, 0);
    let (code, out, _) = call("svstat", &["--json", "web"], &s.path);
    assert_eq!(code, 0);
    assert!(
        out.contains("\"up\":true") && !out.contains("deaths"),
        "no svkit extension to show: {out}"
    );
}

#[test]
fn svkit_tools_read_and_control_a_runit_service() {
    let s = Scratch::new("interop-runsv");
    let web = s.join("web");
    sleeper(&web);
    let mut r = Reaper::new();
    r.spawn(Command::new("/usr/bin/runsv").arg(&web));
    r.watch_dir(&web);
    let pid = wait_up(&mut r, &web, 0);
    assert_eq!(status_bytes(&web).unwrap().len(), 20, "runit's own format");
    let (ours, theirs) = settled(|| {
        (
            call("svstat", &["web"], &s.path).1,
            peer("/usr/bin/svstat", &["web"], &s.path).1,
        )
    });
    assert!(ours.starts_with(&format!("web: up (pid {pid}) ")), "{ours}");
    assert_eq!(ours, theirs);

    assert_eq!(
        call("svc", &["-d", "-wD", "-T", "10000", "web"], &s.path).0,
        0
    );
    assert_eq!(status_pid(&web), 0);
    assert_eq!(
        peer("sv", &["status", web.to_str().unwrap()], &s.path)
            .1
            .split(':')
            .next(),
        Some("down")
    );
    assert_eq!(
        call("svc", &["-u", "-wu", "-T", "10000", "web"], &s.path).0,
        0
    );
    wait_up(&mut r, &web, 0);
    assert_eq!(call("svstat", &["-u", "web"], &s.path).0, 0);
}
