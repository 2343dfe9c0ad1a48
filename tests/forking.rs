//! Services whose run forks the daemon away (S/pidfile), with their own
//! stop and reload programs (S/stop, S/reload), under the real supervise
//! and scan.

mod common;

use common::*;
use std::fs;
use std::path::Path;
use std::process::Command;

fn write(path: impl AsRef<Path>, text: &str) {
    let path = path.as_ref();
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A run that starts `./daemon` the way a daemonizing program does: it
/// forks twice (the daemon's parent exits at once, so the daemon is
/// reparented) in a session of its own, and exits 0.
fn forking_run(dir: &Path, daemon: &str) {
    script(dir.join("daemon"), daemon);
    script(
        dir.join("run"),
        "( setsid ./daemon </dev/null >/dev/null 2>&1 & )\nexit 0",
    );
    write(dir.join("pidfile"), "daemon.pid\n");
}

fn pid_in(path: &Path) -> i32 {
    fs::read_to_string(path)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

fn svc(args: &[&str], dir: &Path) -> (i32, String) {
    let (code, _, err) = call("svc", args, dir);
    (code, err)
}

#[test]
fn a_daemon_that_forks_twice_and_writes_its_pid_file_late_is_the_service() {
    let s = Scratch::new("fork-late");
    let web = s.join("web");
    forking_run(&web, "sleep 0.5; echo $$ > daemon.pid; exec sleep 1000");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let daemon = wait_up(&mut r, &web, 0);
    assert_eq!(daemon, pid_in(&web.join("daemon.pid")));
    assert_eq!(cmdline(daemon), ["sleep", "1000"]);
    assert_eq!(pid_in(&web.join("supervise/pid")), daemon);
    // The daemon's death is the service's: restarted, and the stale pid
    // file is not taken for the new daemon.
    kill(daemon, libc::SIGKILL);
    let second = wait_up(&mut r, &web, daemon);
    assert_eq!(second, pid_in(&web.join("daemon.pid")));
    assert!(alive(second));
    let w = web.to_str().unwrap();
    let (code, err) = svc(&["-d", "-wD", "-T", "20000", w], &s.path);
    assert_eq!(code, 0, "{err}");
    wait_for("the daemon to be gone", || (!alive(second)).then_some(()));
    assert_eq!(supervise_stderr(&web), "");
}

#[test]
fn a_pid_file_naming_an_unrelated_process_is_refused_and_it_is_left_alone() {
    let s = Scratch::new("fork-foreign");
    let web = s.join("web");
    let mut r = Reaper::new();
    let stranger = r.spawn(Command::new("sleep").arg("1000"));
    script(web.join("run"), "exit 0");
    write(web.join("pidfile"), "daemon.pid\n");
    write(web.join("daemon.pid"), &format!("{stranger}\n"));
    write(web.join("pidfile-timeout"), "300\n");
    start_supervise(&mut r, &web);
    let w = web.to_str().unwrap();
    let want = format!(
        "supervise: warning: unable to follow the daemon of {w}/pidfile: \
         {w}/daemon.pid names pid {stranger}, which is not a descendant of \
         supervise: left alone after 300 ms: a failed start\n"
    );
    wait_for("the refusal, twice (retried under the back-off)", || {
        (supervise_stderr(&web).matches(&want).count() >= 2).then_some(())
    });
    assert!(alive(stranger), "never signalled");
    assert_eq!(status_pid(&web), 0);
    let (_, out, _) = call("svstat", &[w], &s.path);
    assert!(out.contains(": down "), "{out}");
}

#[test]
fn a_garbage_or_empty_pidfile_is_reported() {
    let s = Scratch::new("fork-garbage");
    let web = s.join("web");
    script(web.join("run"), "echo garbage > daemon.pid; exit 0");
    write(web.join("pidfile"), "daemon.pid\n");
    write(web.join("pidfile-timeout"), "200\n");
    let plain = s.join("plain");
    script(plain.join("run"), "exec sleep 1000");
    write(plain.join("pidfile"), "\n");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    start_supervise(&mut r, &plain);
    let w = web.to_str().unwrap();
    wait_for("the garbage to be reported", || {
        supervise_stderr(&web)
            .contains(&format!("{w}/daemon.pid holds no pid after 200 ms"))
            .then_some(())
    });
    // An empty pidfile names no file: run is the service, as without one.
    let pid = wait_up(&mut r, &plain, 0);
    assert_eq!(cmdline(pid), ["sleep", "1000"]);
    let p = plain.to_str().unwrap();
    assert!(
        supervise_stderr(&plain).starts_with(&format!(
            "supervise: warning: unable to use {p}/pidfile: a file name expected"
        )),
        "{}",
        supervise_stderr(&plain)
    );
}

/// A daemon that ignores TERM and HUP, records USR1 and exits on it.
const STUBBORN: &str = "trap '' TERM\n\
    trap 'echo hup >> got' HUP\n\
    trap 'echo usr1 >> got; exit 0' USR1\n\
    echo $$ > daemon.pid\n\
    while :; do sleep 0.05; done";

#[test]
fn d_stops_the_daemon_through_stop_with_its_pid() {
    let s = Scratch::new("fork-stop");
    let web = s.join("web");
    forking_run(&web, STUBBORN);
    script(
        web.join("stop"),
        "echo \"$1 $MAINPID $2\" > stopped-with; kill -USR1 \"$1\"",
    );
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let daemon = wait_up(&mut r, &web, 0);
    let w = web.to_str().unwrap();
    let (code, err) = svc(&["-d", "-wD", "-T", "20000", w], &s.path);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        fs::read_to_string(web.join("stopped-with")).unwrap(),
        format!("{daemon} {daemon} web\n")
    );
    assert_eq!(lines(&web.join("got")), ["usr1"]);
    assert!(!alive(daemon));
    assert_eq!(supervise_stderr(&web), "");
}

#[test]
fn a_hanging_stop_is_followed_by_the_down_signal_then_sigkill() {
    let s = Scratch::new("fork-stophang");
    let web = s.join("web");
    forking_run(&web, STUBBORN);
    script(web.join("stop"), "echo $$ > stop.pid; exec sleep 1000");
    write(web.join("timeout-kill"), "300\n");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let daemon = wait_up(&mut r, &web, 0);
    let w = web.to_str().unwrap();
    let (code, err) = svc(&["-d", "-wD", "-T", "20000", w], &s.path);
    assert_eq!(code, 0, "{err}");
    // TERM is ignored: SIGKILL ended it, after the stop was killed.
    assert!(!alive(daemon));
    let stop = pid_in(&web.join("stop.pid"));
    wait_for("the hung stop to be killed", || {
        (!alive(stop)).then_some(())
    });
    wait_for("the killed stop to be reported", || {
        supervise_stderr(&web)
            .contains(&format!(
                "supervise: warning: {w}/stop failed: killed by signal 9\n"
            ))
            .then_some(())
    });
}

#[test]
fn h_runs_reload_instead_of_sending_sighup() {
    let s = Scratch::new("fork-reload");
    let web = s.join("web");
    forking_run(&web, STUBBORN);
    script(web.join("reload"), "echo \"$1 $MAINPID\" >> reloaded");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let daemon = wait_up(&mut r, &web, 0);
    let w = web.to_str().unwrap();
    svc(&["-h", w], &s.path);
    wait_for("reload to run", || {
        (lines(&web.join("reloaded")) == [format!("{daemon} {daemon}")]).then_some(())
    });
    // Without the file, the next daemon gets SIGHUP as always.
    fs::remove_file(web.join("reload")).unwrap();
    // A SIGHUP sent with the reload would run its trap only after the
    // daemon's current sleep: USR1, sent now, comes after it in `got`.
    kill(daemon, libc::SIGUSR1);
    wait_for("USR1's trap", || {
        (!lines(&web.join("got")).is_empty()).then_some(())
    });
    assert_eq!(lines(&web.join("got")), ["usr1"], "no SIGHUP");
    fs::remove_file(web.join("got")).unwrap();
    let daemon = wait_up(&mut r, &web, daemon);
    svc(&["-h", w], &s.path);
    wait_for("SIGHUP", || {
        (lines(&web.join("got")) == ["hup"]).then_some(())
    });
    let _ = daemon;
}

#[test]
fn stop_and_reload_that_are_not_executable_fall_back_to_signals() {
    let s = Scratch::new("fork-noexec");
    let web = s.join("web");
    script(
        web.join("run"),
        "trap 'echo hup >> got' HUP\n\
         trap 'echo term >> got; exit 0' TERM\n\
         echo > trapped\n\
         while :; do sleep 0.05; done",
    );
    write(web.join("stop"), "kill -USR1 $1\n");
    write(web.join("reload"), "kill -USR1 $1\n");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    wait_for("the traps", || web.join("trapped").exists().then_some(()));
    let w = web.to_str().unwrap();
    svc(&["-h", w], &s.path);
    wait_for("SIGHUP", || {
        (lines(&web.join("got")) == ["hup"]).then_some(())
    });
    let (code, err) = svc(&["-d", "-wD", "-T", "20000", w], &s.path);
    assert_eq!(code, 0, "{err}");
    assert_eq!(lines(&web.join("got")), ["hup", "term"]);
    let err = supervise_stderr(&web);
    for (name, fallback) in [("stop", "the down signal"), ("reload", "SIGHUP")] {
        assert!(
            err.contains(&format!(
                "supervise: warning: unable to use {w}/{name}: not an executable file: using {fallback}\n"
            )),
            "{err}"
        );
    }
}

/// What the example's servers logged, in order.
fn events(gse: &Path) -> Vec<String> {
    lines(&gse.join("events"))
}

#[test]
fn the_gse_example_starts_in_order_reloads_restarts_and_stops_in_reverse() {
    let s = Scratch::new("fork-gse");
    let gse = s.join("gse");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gse");
    let o = Command::new("cp")
        .args(["-R", example.to_str().unwrap(), gse.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let services = gse.join("services");
    let mut tree = Tree::scan(&services);
    let names = ["db", "game", "gate"];
    for name in names {
        let dir = services.join(name);
        wait_for("supervise to run", || status_bytes(&dir).map(|_| ()));
    }
    let dirs: Vec<String> = names
        .iter()
        .map(|n| services.join(n).to_str().unwrap().to_string())
        .collect();
    let d: Vec<&str> = dirs.iter().map(|d| d.as_str()).collect();

    // Ordered start: each is up and ready before the next one starts.
    let (code, err) = svc(&["-u", "-wU", "-T", "20000", d[0], d[1], d[2]], &s.path);
    assert_eq!(code, 0, "{err}");
    assert_eq!(events(&gse), ["db started", "game started", "gate started"]);
    let game = status_pid(&services.join("game"));
    assert_eq!(game, pid_in(&services.join("game/server.pid")));

    // Reload through ./reload; restart when the server is SIGKILLed.
    svc(&["-h", d[1]], &s.path);
    wait_for("the reload", || {
        events(&gse)
            .contains(&"game reloaded".to_string())
            .then_some(())
    });
    kill(game, libc::SIGKILL);
    wait_for("game to be restarted", || {
        let p = status_pid(&services.join("game"));
        (p != 0 && p != game).then_some(())
    });
    let (code, err) = svc(&["-wU", "-T", "20000", d[1]], &s.path);
    assert_eq!(code, 0, "{err}");

    // Ordered stop, in reverse, each through its own stop script.
    let before = events(&gse).len();
    let (code, err) = svc(&["-d", "-wD", "-T", "20000", d[2], d[1], d[0]], &s.path);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        events(&gse)[before..],
        ["gate stopped", "game stopped", "db stopped"]
    );

    // Fail-fast: game never gets ready, so gate is not started.
    script(services.join("game/check"), "exit 1");
    let before = events(&gse).len();
    let (code, _) = svc(&["-u", "-wU", "-T", "1500", d[0], d[1], d[2]], &s.path);
    assert_eq!(code, 1);
    assert_eq!(status_pid(&services.join("gate")), 0);
    assert!(!events(&gse)[before..].contains(&"gate started".to_string()));

    // scan's shutdown takes the services down through their stop scripts.
    wait_for("game up again", || {
        (status_pid(&services.join("game")) != 0).then_some(())
    });
    let before = events(&gse).len();
    kill(tree.pid, libc::SIGTERM);
    assert!(tree.wait_exit().success());
    let mut stopped = events(&gse)[before..].to_vec();
    stopped.sort();
    assert_eq!(
        stopped,
        ["db stopped", "game stopped"],
        "{:?}",
        events(&gse)
    );
}

#[test]
fn a_forking_service_is_followed_under_scan_as_pid_1() {
    require_pid_namespaces();
    let s = Scratch::new("fork-pid1");
    let dir = s.join("service");
    let web = dir.join("web");
    forking_run(&web, STUBBORN);
    script(web.join("stop"), "exec kill -USR1 \"$1\"");
    let (mut ns, scan) = scan_as_pid_1(&dir, s.join("scan.err"));
    // Pids as the namespace sees them, in the status as in the pid file.
    let daemon = wait_for("the daemon to be followed", || {
        let p = status_pid(&web);
        (p != 0).then_some(p)
    });
    assert_eq!(daemon, pid_in(&web.join("daemon.pid")));
    let w = web.to_str().unwrap();
    let (code, err) = svc(&["-d", "-wD", "-T", "20000", w], &s.path);
    assert_eq!(code, 0, "{err}");
    assert_eq!(lines(&web.join("got")), ["usr1"]);
    kill(scan, libc::SIGTERM);
    assert_eq!(ns.wait_exit().code(), Some(0), "{}", ns.stderr());
    assert_eq!(ns.stderr(), "");
}

#[test]
fn a_new_supervise_adopts_the_daemon_a_killed_one_followed() {
    let s = Scratch::new("fork-orphan");
    let web = s.join("web");
    forking_run(
        &web,
        "echo $$ >> starts; sleep 0.5; echo $$ > daemon.pid; exec sleep 1000",
    );
    let mut r = Reaper::new();
    let sup = start_supervise(&mut r, &web);
    let daemon = wait_up(&mut r, &web, 0);
    kill(sup, libc::SIGKILL);
    r.wait_exit(sup);
    assert!(alive(daemon));
    // The new supervise takes it for the service at once: no second copy.
    let sup = start_supervise(&mut r, &web);
    wait_for("the new supervise to settle", || {
        idle_in_poll(sup).then_some(())
    });
    assert_eq!(status_pid(&web), daemon);
    assert_eq!(lines(&web.join("starts")), [daemon.to_string()]);
}

#[test]
fn an_unreadable_pid_file_or_pidfile_is_reported() {
    let s = Scratch::new("fork-unreadable");
    let web = s.join("web");
    script(web.join("run"), "exit 0");
    // A directory: even root cannot read it as a file.
    fs::create_dir_all(web.join("daemon.pid")).unwrap();
    write(web.join("pidfile"), "daemon.pid\n");
    write(web.join("pidfile-timeout"), "200\n");
    let plain = s.join("plain");
    script(plain.join("run"), "exec sleep 1000");
    fs::create_dir_all(plain.join("pidfile")).unwrap();
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    start_supervise(&mut r, &plain);
    let w = web.to_str().unwrap();
    wait_for("the unreadable pid file to be reported", || {
        supervise_stderr(&web)
            .contains(&format!(
                "supervise: warning: unable to follow the daemon of {w}/pidfile: \
                 {w}/daemon.pid cannot be read: Is a directory after 200 ms: a failed start\n"
            ))
            .then_some(())
    });
    // An unreadable pidfile counts as absent: run is the service.
    let pid = wait_up(&mut r, &plain, 0);
    assert_eq!(cmdline(pid), ["sleep", "1000"]);
    let p = plain.to_str().unwrap();
    assert!(
        supervise_stderr(&plain).starts_with(&format!(
            "supervise: warning: unable to read {p}/pidfile: Is a directory\n"
        )),
        "{}",
        supervise_stderr(&plain)
    );
}

#[test]
fn a_followed_daemon_left_in_runs_session_is_measured() {
    let s = Scratch::new("fork-metrics");
    let web = s.join("web");
    // No setsid: the daemon stays in the session of run, which exits.
    script(web.join("daemon"), "echo $$ > daemon.pid; exec sleep 1000");
    script(
        web.join("run"),
        "( ./daemon </dev/null >/dev/null 2>&1 & )\nexit 0",
    );
    write(web.join("pidfile"), "daemon.pid\n");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let daemon = wait_up(&mut r, &web, 0);
    let w = web.to_str().unwrap();
    let (code, out, err) = call("svstat", &["--prometheus", w], &s.path);
    assert_eq!((code, err.as_str()), (0, ""));
    let want = format!("svkit_processes{{service=\"{w}\"}} 1\n");
    assert!(out.contains(&want), "{daemon}: {out}");
}
