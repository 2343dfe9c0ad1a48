//! svkit's `sv` against runit's, side by side: on a service supervised by
//! svkit's supervise and on one supervised by runit's runsv, the same
//! commands give the same lines and exit codes.
mod common;
use common::*;
use std::path::Path;
use std::process::Command;

/// Which supervisor runs the services.
#[derive(Clone, Copy, Debug)]
enum Supervisor {
    Svkit,
    Runsv,
}

/// Masks what differs between two equal services: the name, pids and
/// seconds.
fn normalize(text: &str, name: &str) -> String {
    let text = text.replace(name, "NAME");
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                chars.next();
            }
            out.push('N');
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs `sv args... name` with SVDIR: (exit code, stdout, stderr).
fn sv(prog: &Path, svdir: &Path, args: &[&str], name: &str) -> (i32, String, String) {
    let o = Command::new(prog)
        .args(args)
        .arg(name)
        .env("SVDIR", svdir)
        .output()
        .unwrap();
    let (c, out, err) = outcome(&o);
    (c, normalize(&out, name), normalize(&err, name))
}

/// Two identical services, `qq` for svkit's sv and `zz` for runit's, each
/// with a check script that passes while `healthy` exists.
fn setup(s: &Scratch, r: &mut Reaper, how: Supervisor) -> std::path::PathBuf {
    let svdir = s.join("service");
    for name in ["qq", "zz"] {
        let dir = svdir.join(name);
        // HUP ignored: a service that died of it would be restarted by
        // runsv only after its one-second pause, and the two services
        // would drift apart.
        script(dir.join("run"), "trap '' HUP; exec sleep 300");
        script(dir.join("check"), "test -e ../healthy");
        match how {
            Supervisor::Svkit => {
                start_supervise(r, &dir);
            }
            Supervisor::Runsv => {
                r.spawn(Command::new("/usr/bin/runsv").arg(&dir));
                r.watch_dir(&dir);
            }
        }
        wait_up(r, &dir, 0);
    }
    std::fs::write(svdir.join("healthy"), "").unwrap();
    svdir
}

fn same_as_runit(how: Supervisor) {
    let s = Scratch::new("sv");
    let mut r = Reaper::new();
    let svdir = setup(&s, &mut r, how);
    let ours = bin("sv");
    let theirs = Path::new("/usr/bin/sv");
    // Each command, and the status both services show once it took
    // effect, which is waited for before the next command.
    let steps: &[(&[&str], &str)] = &[
        (&["status"], "run: NAME: (pid N) Ns\n"),
        (&["-w", "5", "down"], "down: NAME: Ns, normally up\n"),
        (&["status"], "down: NAME: Ns, normally up\n"),
        (&["up"], "run: NAME: (pid N) Ns\n"),
        (&["-v", "up"], "run: NAME: (pid N) Ns\n"),
        (&["pause"], "run: NAME: (pid N) Ns, paused\n"),
        (&["status"], "run: NAME: (pid N) Ns, paused\n"),
        (&["cont"], "run: NAME: (pid N) Ns\n"),
        (&["-w", "5", "restart"], "run: NAME: (pid N) Ns\n"),
        (&["check"], "run: NAME: (pid N) Ns\n"),
        (&["hup"], "run: NAME: (pid N) Ns\n"),
        (&["-v", "stop"], "down: NAME: Ns, normally up\n"),
        (&["once"], "run: NAME: (pid N) Ns, want down\n"),
        (&["status"], "run: NAME: (pid N) Ns, want down\n"),
        (&["-w", "5", "check"], "run: NAME: (pid N) Ns, want down\n"),
        (&["-v", "stop"], "down: NAME: Ns, normally up\n"),
        (&["-w", "5", "start"], "run: NAME: (pid N) Ns\n"),
        (&["try-restart"], "run: NAME: (pid N) Ns\n"),
        (&["-w", "5", "force-restart"], "run: NAME: (pid N) Ns\n"),
        (&["term"], "run: NAME: (pid N) Ns\n"),
        (&["-w", "5", "check"], "run: NAME: (pid N) Ns\n"),
    ];
    // The status masks the pid: these must also give each a new run.
    let restarts = ["restart", "try-restart", "force-restart", "term"];
    for (step, settled) in steps {
        let pids = ["qq", "zz"].map(|name| status_pid(&svdir.join(name)));
        let a = sv(&ours, &svdir, step, "qq");
        let b = sv(theirs, &svdir, step, "zz");
        assert_eq!(a, b, "{how:?}: sv {step:?}");
        let restarted = restarts.contains(step.last().unwrap());
        for (name, before) in ["qq", "zz"].into_iter().zip(pids) {
            wait_for(&format!("{how:?}: {name} after {step:?}"), || {
                let (_, out, _) = sv(theirs, &svdir, &["status"], name);
                let pid = status_pid(&svdir.join(name));
                (out == *settled && (!restarted || pid != before)).then_some(())
            });
        }
    }
    // A failing check: sv check times out, the same way.
    std::fs::remove_file(svdir.join("healthy")).unwrap();
    let a = sv(&ours, &svdir, &["-w", "1", "check"], "qq");
    let b = sv(theirs, &svdir, &["-w", "1", "check"], "zz");
    assert_eq!(a, b, "{how:?}: failing check");
    assert_eq!(a.0, 1, "{a:?}");
    // A name that is not in SVDIR.
    let a = sv(&ours, &svdir, &["status"], "nosuch");
    let b = sv(theirs, &svdir, &["status"], "nosuch");
    assert_eq!(a, b);
    assert_eq!(
        a.1,
        "fail: NAME: unable to change to service directory: file does not exist\n"
    );
}

#[test]
fn sv_on_svkit_s_supervise_prints_what_runit_s_sv_prints() {
    same_as_runit(Supervisor::Svkit);
}

#[test]
fn sv_on_runsv_prints_what_runit_s_sv_prints() {
    same_as_runit(Supervisor::Runsv);
}

#[test]
fn sv_exit_stops_the_supervisor_and_a_path_works_without_svdir() {
    let s = Scratch::new("sv-exit");
    let mut r = Reaper::new();
    let dir = s.join("x");
    script(dir.join("run"), "exec sleep 300");
    let sup = start_supervise(&mut r, &dir);
    wait_up(&mut r, &dir, 0);
    let (code, out, _) = call("sv", &["-w", "5", "exit", dir.to_str().unwrap()], &s.path);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, format!("ok: {}: runsv not running\n", dir.display()));
    r.wait_exit(sup);
}

#[test]
fn usage_errors_are_runit_s() {
    let s = Scratch::new("sv-usage");
    for args in [
        &[][..],
        &["status"],
        &["bogus", "x"],
        &["-z", "status", "x"],
        &["-w"],
    ] {
        let ours = call("sv", args, &s.path);
        let o = Command::new("/usr/bin/sv").args(args).output().unwrap();
        assert_eq!(ours, outcome(&o), "sv {args:?}");
        assert_eq!(ours.0, 100);
    }
}

#[test]
fn status_shows_the_logger_as_runit_s_sv_does() {
    let s = Scratch::new("sv-log");
    let tree = s.join("tree");
    script(tree.join("web/run"), "exec sleep 300");
    script(tree.join("web/log/run"), "exec cat > /dev/null");
    let mut r = Reaper::new();
    r.watch_dir(&tree.join("web"));
    r.watch_dir(&tree.join("web/log"));
    let _scan = Tree::scan(&tree);
    wait_up(&mut r, &tree.join("web"), 0);
    wait_up(&mut r, &tree.join("web/log"), 0);
    let ours = sv(&bin("sv"), &tree, &["status"], "web");
    let theirs = sv(Path::new("/usr/bin/sv"), &tree, &["status"], "web");
    assert_eq!(ours, theirs);
    assert_eq!(ours.1, "run: NAME: (pid N) Ns; run: log: (pid N) Ns\n");
}

#[test]
fn called_by_another_name_sv_is_an_init_script_as_runit_s() {
    let s = Scratch::new("sv-lsb");
    let mut r = Reaper::new();
    let svdir = s.join("sd");
    let dir = svdir.join("websvc");
    script(dir.join("run"), "exec sleep 300");
    start_supervise(&mut r, &dir);
    wait_up(&mut r, &dir, 0);
    for (who, target) in [("ours", bin("sv")), ("theirs", "/usr/bin/sv".into())] {
        std::fs::create_dir_all(s.join(who)).unwrap();
        std::os::unix::fs::symlink(target, s.join(who).join("websvc")).unwrap();
    }
    let init = |who: &str, args: &[&str]| {
        let o = Command::new(s.join(who).join("websvc"))
            .args(args)
            .env("SVDIR", &svdir)
            .output()
            .unwrap();
        let (code, out, err) = outcome(&o);
        (
            code,
            normalize(&out, "websvc"),
            err.replace("websvc", "NAME"),
        )
    };
    for step in [
        &["status"][..],
        &["-w", "5", "stop"],
        &["status"],
        &["-w", "5", "start"],
        &["status"],
        &["reload"],
        &["bogus"],
        &["sss"],
        &[],
    ] {
        let ours = init("ours", step);
        assert_eq!(ours, init("theirs", step), "websvc {step:?}");
    }
    // LSB's status codes: 0 running, 3 stopped; usage errors exit 2.
    assert_eq!(init("ours", &["status"]).0, 0);
    assert_eq!(init("ours", &["-w", "5", "stop"]).0, 0);
    assert_eq!(init("ours", &["status"]).0, 3);
    assert_eq!(init("ours", &["bogus"]).0, 2);
}
