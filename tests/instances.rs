//! Pools: a service dir with `instances` run by scan as N instances, each
//! with its own supervise in S/instance/K (man/svkit.7, INSTANCES).

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A run that records its instance number and pool size, then sleeps.
const RECORDING: &str =
    "echo \"$SVKIT_INSTANCE $SVKIT_INSTANCES\" > env.$SVKIT_INSTANCE\nexec sleep 1000";

fn instance(s: &Path, k: u32) -> PathBuf {
    s.join(format!("instance/{k}"))
}

/// The pids of instances 1..=n, once all are up.
fn wait_pool(s: &Path, n: u32) -> Vec<i32> {
    wait_for(&format!("{n} instances up"), || {
        let pids: Vec<i32> = (1..=n).map(|k| status_pid(&instance(s, k))).collect();
        pids.iter().all(|&p| p != 0 && alive(p)).then_some(pids)
    })
}

/// Whether a supervise runs on instance k (its `ok` FIFO has a reader).
fn supervised(s: &Path, k: u32) -> bool {
    let ok = instance(s, k).join("supervise/ok");
    fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(ok)
        .is_ok()
}

use std::os::unix::fs::OpenOptionsExt;

/// A file's text once its writer has finished its line.
fn whole(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().filter(|t| t.ends_with('\n'))
}

/// Writes `S/instances` the way an operator's editor would: a new file
/// renamed over the old one.
fn set_count(s: &Path, text: &str) {
    let tmp = s.join(".instances.new");
    fs::write(&tmp, text).unwrap();
    fs::rename(&tmp, s.join("instances")).unwrap();
}

#[test]
fn four_instances_start_each_with_its_number() {
    let sc = Scratch::new("inst-four");
    let dir = sc.join("service");
    let s = dir.join("pool");
    script(s.join("run"), RECORDING);
    fs::write(s.join("instances"), "4\n").unwrap();
    // A plain service beside it (started after it, in name order).
    script(
        dir.join("solo/run"),
        "echo \"${SVKIT_INSTANCE-none} ${SVKIT_INSTANCES-none}\" > env\nexec sleep 1000",
    );
    let tree = Tree::scan(&dir);
    let pids = wait_pool(&s, 4);
    let solo = wait_for("solo's environment", || whole(&dir.join("solo/env")));
    assert_eq!(
        solo, "none none\n",
        "no instance variables for a plain service"
    );
    let mut distinct = pids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{pids:?}");
    for k in 1..=4 {
        let env = wait_for("run to record its environment", || {
            whole(&s.join(format!("env.{k}")))
        });
        assert_eq!(env, format!("{k} 4\n"));
    }
    // svok answers for the pool as a whole, and for no pool without scan.
    assert_eq!(call("svok", &[s.to_str().unwrap()], &dir).0, 0);
    let idle = sc.join("idle");
    script(idle.join("run"), "exec sleep 1000");
    fs::write(idle.join("instances"), "2").unwrap();
    assert_eq!(call("svok", &[idle.to_str().unwrap()], &dir).0, 100);
    // No fifth, and S itself is no service of its own.
    assert!(!instance(&s, 5).exists());
    assert!(!s.join("supervise").exists());
    // Each instance dir is a service dir to every tool: svkit's svok and
    // svstat, and daemontools' own svstat.
    for k in 1..=4 {
        let d = instance(&s, k);
        let d = d.to_str().unwrap();
        assert_eq!(call("svok", &[d], &dir).0, 0);
        let (code, out, _) = call("svstat", &[d], &dir);
        assert_eq!(code, 0);
        assert!(
            out.starts_with(&format!("{d}: up (pid {})", pids[k as usize - 1])),
            "{out}"
        );
        let o = std::process::Command::new("/usr/bin/svstat")
            .arg(d)
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.starts_with(&format!("{d}: up (pid {})", pids[k as usize - 1])),
            "{out}"
        );
    }
    assert_eq!(tree.stderr(), "");
}

#[test]
fn resizing_starts_and_stops_only_the_surplus_instances() {
    let sc = Scratch::new("inst-resize");
    let dir = sc.join("service");
    let s = dir.join("pool");
    // Every signal an instance gets is recorded: none but the stopped
    // ones may get any.
    script(
        s.join("run"),
        "trap 'echo TERM >> sig.$SVKIT_INSTANCE; exit 0' TERM\n\
         trap 'echo HUP >> sig.$SVKIT_INSTANCE' HUP\n\
         echo $$ > trapping.$SVKIT_INSTANCE\n\
         sleep 1000 & wait; wait",
    );
    fs::write(s.join("instances"), "4").unwrap();
    let tree = Tree::scan(&dir);
    let four = wait_pool(&s, 4);

    let t = Instant::now();
    set_count(&s, "6");
    let six = wait_pool(&s, 6);
    eprintln!("grown to 6 in {:?}", t.elapsed());
    assert_eq!(six[..4], four[..], "1 to 4 kept their processes");
    // Signals are recorded once the traps are set.
    for (k, pid) in (1..=6).zip(&six) {
        wait_for(&format!("instance {k}'s traps"), || {
            (whole(&s.join(format!("trapping.{k}")))? == format!("{pid}\n")).then_some(())
        });
    }

    let t = Instant::now();
    set_count(&s, "2");
    for k in 3..=6 {
        wait_for(&format!("instance {k} to stop"), || {
            (!supervised(&s, k) && !alive(six[k as usize - 1])).then_some(())
        });
    }
    eprintln!("shrunk to 2 in {:?}", t.elapsed());
    for k in 3..=6 {
        // Taken down with the down signal, as `svc -dx` does.
        assert_eq!(
            fs::read_to_string(s.join(format!("sig.{k}"))).unwrap(),
            "TERM\n"
        );
    }
    assert_eq!(wait_pool(&s, 2), four[..2]);
    for k in 1..=2 {
        assert!(
            !s.join(format!("sig.{k}")).exists(),
            "instance {k} signalled"
        );
    }
    // And grown again: 3 starts afresh.
    set_count(&s, "3");
    let three = wait_pool(&s, 3);
    assert_eq!(three[..2], four[..2]);
    assert_ne!(three[2], six[2]);
    assert_eq!(tree.stderr(), "");
}

#[test]
fn a_killed_instance_is_restarted_alone() {
    let sc = Scratch::new("inst-kill");
    let dir = sc.join("service");
    let s = dir.join("pool");
    script(s.join("run"), RECORDING);
    fs::write(s.join("instances"), "4").unwrap();
    let tree = Tree::scan(&dir);
    wait_pool(&s, 4);
    // Grown first: the restarted instance learns the new size.
    set_count(&s, "5");
    let before = wait_pool(&s, 5);
    let env3 = s.join("env.3");
    fs::remove_file(&env3).unwrap();
    kill(before[2], libc::SIGKILL);
    let again = wait_for("instance 3 restarted", || {
        let p = status_pid(&instance(&s, 3));
        (p != 0 && p != before[2]).then_some(p)
    });
    let after = wait_pool(&s, 5);
    assert_eq!(after, [before[0], before[1], again, before[3], before[4]]);
    let env = wait_for("the new run's environment", || whole(&env3));
    assert_eq!(env, "3 5\n");
    assert_eq!(tree.stderr(), "");
}

#[test]
fn bad_counts_are_told_and_never_stop_scan() {
    let sc = Scratch::new("inst-bad");
    let dir = sc.join("service");
    for (name, count) in [("garbage", "four"), ("negative", "-2"), ("huge", "5000")] {
        let s = dir.join(name);
        script(s.join("run"), "exec sleep 1000");
        fs::write(s.join("instances"), count).unwrap();
    }
    let none = dir.join("none");
    script(none.join("run"), "exec sleep 1000");
    fs::write(none.join("instances"), "0").unwrap();
    let tree = Tree::scan(&dir);
    // Treated as absent: one plain service each.
    for name in ["garbage", "negative", "huge"] {
        let s = dir.join(name);
        wait_for(&format!("{name} up as one service"), || {
            (status_pid(&s) != 0).then_some(())
        });
        assert!(!s.join("instance").exists());
    }
    let err = wait_for("the warnings", || {
        let e = tree.stderr();
        (e.lines().count() >= 3).then_some(e)
    });
    let mut lines: Vec<&str> = err.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "scan: warning: unable to use garbage/instances: a number of instances expected, not \"four\": running one instance",
            "scan: warning: unable to use huge/instances: more instances than the limit of 1000, not \"5000\": running one instance",
            "scan: warning: unable to use negative/instances: a number of instances expected, not \"-2\": running one instance",
        ]
    );
    // 0: nothing runs, and nothing is said. A supervise started for it
    // would be scan's child as soon as forked, before it made any file.
    let for_dir = |name: &str| {
        children(tree.pid)
            .into_iter()
            .filter(|&p| cmdline(p).get(1).is_some_and(|d| d == name))
            .count()
    };
    assert_eq!(for_dir("garbage"), 1, "one instance of garbage runs");
    assert_eq!(for_dir("none"), 0, "a supervise for none");
    assert!(!none.join("supervise").exists());
    assert!(!none.join("instance").exists());
    // Told once: a rescan says nothing more.
    kill(tree.pid, libc::SIGHUP);
    set_count(&dir.join("none"), "1");
    wait_pool(&none, 1);
    assert_eq!(tree.stderr().lines().count(), 3, "{}", tree.stderr());
}

#[test]
fn a_pool_logs_every_line_through_kills_of_an_instance_and_the_logger() {
    const LINES: u32 = 20_000;
    let sc = Scratch::new("inst-log");
    let dir = sc.join("service");
    let s = dir.join("pool");
    // Each line says its instance (the run script's prefix, man/svkit.7).
    // Halfway, every writer waits for `go`, so that the logger can be
    // killed with nothing read and unwritten: what it had not read stays
    // in scan's pipe for the next logger.
    script(
        s.join("run"),
        &format!(
            "i=1\n\
             while [ $i -le {LINES} ]; do\n\
               echo \"$SVKIT_INSTANCE $i\"\n\
               if [ $i = {half} ]; then while [ ! -e go ]; do sleep 0.01; done; fi\n\
               i=$((i+1))\n\
             done\n\
             touch done.$SVKIT_INSTANCE\n\
             exec sleep 1000",
            half = LINES / 2
        ),
    );
    script(
        s.join("log/run"),
        &format!("exec {} s16777215 ./main", bin("logsink").display()),
    );
    fs::write(s.join("instances"), "4").unwrap();
    let tree = Tree::scan(&dir);
    let current = s.join("log/main/current");
    let count = |k: u32, n: u32| {
        let want = format!("{k} {n}");
        lines(&current).iter().filter(|l| **l == want).count()
    };
    wait_for("every instance halfway and stored", || {
        (1..=4).all(|k| count(k, LINES / 2) == 1).then_some(())
    });
    let logger = status_pid(&s.join("log"));
    kill(logger, libc::SIGKILL);
    fs::write(s.join("go"), "").unwrap();
    // Instance 2 is killed while it writes; its restart writes its lines
    // again, from the first.
    let two = status_pid(&instance(&s, 2));
    kill(two, libc::SIGKILL);
    for k in 1..=4 {
        wait_for(&format!("instance {k} to finish"), || {
            s.join(format!("done.{k}")).exists().then_some(())
        });
    }
    wait_for("the logger back", || {
        let p = status_pid(&s.join("log"));
        (p != 0 && p != logger).then_some(())
    });
    let stored = wait_for("every line stored", || {
        // The killed logger's `current` is kept as a `.u` file.
        let main = s.join("log/main");
        let mut all = Vec::new();
        for e in fs::read_dir(&main).unwrap().flatten() {
            let name = e.file_name().into_string().unwrap();
            if name == "current" || name.starts_with('@') {
                all.extend(lines(&e.path()));
            }
        }
        let mut seen = vec![vec![false; LINES as usize + 1]; 5];
        for l in &all {
            let (k, n) = l.split_once(' ').expect("an instance and a number");
            let (k, n): (usize, usize) = (k.parse().unwrap(), n.parse().unwrap());
            seen[k][n] = true;
        }
        (1..=4)
            .all(|k| seen[k][1..].iter().all(|&b| b))
            .then_some(all.len())
    });
    assert!(stored >= 4 * LINES as usize);
    let err = tree.stderr();
    assert!(
        err.lines()
            .all(|l| l.contains("killed by signal 9") || l.is_empty()),
        "{err}"
    );
}

/// A pool of `n` that says when it is ready (notification-fd), unless
/// `S/broken` names its instance: then its new process never is.
fn ready_pool(dir: &Path, n: u32) -> PathBuf {
    let s = dir.join("pool");
    script(
        s.join("run"),
        "grep -qx \"$SVKIT_INSTANCE\" broken 2>/dev/null || echo >&3\nexec sleep 1000",
    );
    fs::write(s.join("notification-fd"), "3").unwrap();
    fs::write(s.join("instances"), n.to_string()).unwrap();
    s
}

/// Whether every instance 1..=n is up and ready, by svstat's exit code.
fn all_ready(s: &Path, n: u32) -> bool {
    (1..=n).all(|k| {
        let d = instance(s, k);
        call("svstat", &["-r", d.to_str().unwrap()], s).0 == 0
    })
}

#[test]
fn svc_and_svstat_given_the_pool_act_on_every_instance() {
    let sc = Scratch::new("inst-svc");
    let dir = sc.join("service");
    let s = ready_pool(&dir, 3);
    let tree = Tree::scan(&dir);
    let first = wait_pool(&s, 3);
    let p = s.to_str().unwrap();
    wait_for("all ready", || all_ready(&s, 3).then_some(()));

    let (code, out, err) = call("svstat", &[p], &dir);
    assert_eq!((code, err.as_str()), (0, ""));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    for k in 1..=3 {
        let head = format!("{p}/instance/{k}: up (pid {}) ", first[k - 1]);
        assert!(lines[k - 1].starts_with(&head), "{out}");
        assert!(lines[k - 1].contains(", ready "), "{out}");
    }
    assert_eq!(lines[3], format!("{p}: 3 of 3 up, 3 ready"));

    let (code, out, _) = call("svstat", &["--json", p], &dir);
    assert_eq!(code, 0);
    for (k, line) in (1..).zip(out.lines()) {
        let head = format!("{{\"service\":\"{p}\",\"instance\":{k},\"dir\":\"{p}/instance/{k}\",");
        assert!(line.starts_with(&head), "{line}");
    }
    assert_eq!(out.lines().count(), 3);

    let (code, out, _) = call("svstat", &["--prometheus", p], &dir);
    assert_eq!(code, 0);
    for k in 1..=3 {
        let want = format!("svkit_up{{service=\"{p}\",instance=\"{k}\"}} 1\n");
        assert!(out.contains(&want), "{out}");
    }
    let file = sc.join("metrics.prom");
    fs::write(&file, &out).unwrap();
    let o = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(fs::File::open(&file).unwrap())
        .output()
        .expect("promtool, from Debian's prometheus package");
    assert!(o.status.success(), "{o:?}");

    // Down together, and waited for.
    assert_eq!(call("svc", &["-d", "-wD", "-T", "10000", p], &dir).0, 0);
    for k in 1..=3 {
        assert_eq!(status_pid(&instance(&s, k)), 0);
    }
    let (_, out, _) = call("svstat", &[p], &dir);
    assert!(
        out.ends_with(&format!("{p}: 0 of 3 up, 0 ready\n")),
        "{out}"
    );
    assert_eq!(call("svstat", &["-u", p], &dir).0, 1);
    // Up, and -wU waits until every one is ready.
    assert_eq!(call("svc", &["-u", "-wU", "-T", "10000", p], &dir).0, 0);
    assert!(all_ready(&s, 3));
    let up = wait_pool(&s, 3);
    // -k reaches every instance.
    assert_eq!(call("svc", &["-k", p], &dir).0, 0);
    for k in 1..=3 {
        wait_for(&format!("instance {k} restarted"), || {
            let now = status_pid(&instance(&s, k));
            (now != 0 && now != up[k as usize - 1]).then_some(())
        });
    }
    assert_eq!(tree.stderr(), "");
}

#[test]
fn a_rolling_restart_stops_at_the_first_instance_not_ready() {
    let sc = Scratch::new("inst-roll");
    let dir = sc.join("service");
    let s = ready_pool(&dir, 4);
    let tree = Tree::scan(&dir);
    let old = wait_pool(&s, 4);
    wait_for("all ready", || all_ready(&s, 4).then_some(()));
    // From now on, instance 3's new process never says it is ready.
    fs::write(s.join("broken"), "3\n").unwrap();
    let (code, _, err) = call("svc", &["-R", "-T", "3000", s.to_str().unwrap()], &dir);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        err,
        format!(
            "svc: warning: unable to wait for {}: timed out\n",
            s.display()
        )
    );
    let now: Vec<i32> = (1..=4).map(|k| status_pid(&instance(&s, k))).collect();
    for k in [0, 1] {
        assert_ne!(now[k], old[k], "instance {} restarted", k + 1);
        assert!(alive(now[k]));
    }
    assert!(all_ready(&s, 2));
    assert_ne!(now[2], old[2], "instance 3 restarted");
    let three = instance(&s, 3);
    assert_eq!(call("svstat", &["-r", three.to_str().unwrap()], &dir).0, 1);
    assert_eq!(now[3], old[3], "instance 4 untouched");
    assert!(alive(old[3]));
    assert_eq!(tree.stderr(), "");
}

#[test]
fn a_failing_check_restarts_its_instance_alone() {
    let sc = Scratch::new("inst-check");
    let dir = sc.join("service");
    let s = dir.join("pool");
    // A new process is healthy again: it removes its instance's mark.
    script(s.join("run"), "rm -f sick.$SVKIT_INSTANCE\nexec sleep 1000");
    // The check runs with its instance's number too.
    script(s.join("check"), "[ ! -e sick.$SVKIT_INSTANCE ]");
    fs::write(s.join("check-interval"), "100").unwrap();
    fs::write(s.join("check-retries"), "2").unwrap();
    fs::write(s.join("instances"), "4").unwrap();
    let tree = Tree::scan(&dir);
    let before = wait_pool(&s, 4);
    wait_for("all ready", || all_ready(&s, 4).then_some(()));
    fs::write(s.join("sick.3"), "").unwrap();
    let again = wait_for("instance 3 restarted", || {
        let p = status_pid(&instance(&s, 3));
        (p != 0 && p != before[2]).then_some(p)
    });
    wait_for("all ready again", || all_ready(&s, 4).then_some(()));
    let after: Vec<i32> = (1..=4).map(|k| status_pid(&instance(&s, k))).collect();
    assert_eq!(after, [before[0], before[1], again, before[3]]);
    assert_eq!(
        tree.stderr(),
        "supervise: warning: pool/instance/3: 2 checks failed in a row: restarting\n"
    );
}

#[test]
fn supervise_refuses_an_instance_dir_that_is_a_symlink() {
    let sc = Scratch::new("inst-link");
    let s = sc.join("pool");
    script(s.join("run"), "exec sleep 1000");
    fs::write(s.join("instances"), "2").unwrap();
    let victim = sc.join("victim");
    fs::create_dir(&victim).unwrap();
    // Whoever owns S plants links where supervise makes its directories.
    std::os::unix::fs::symlink(&victim, s.join("instance")).unwrap();
    let (code, _, err) = call("supervise", &["pool", "1"], &sc.path);
    assert_eq!(
        (code, err.as_str()),
        (
            111,
            "supervise: fatal: unable to open pool/instance as a directory, not a symlink: Not a directory\n"
        )
    );
    fs::remove_file(s.join("instance")).unwrap();
    fs::create_dir(s.join("instance")).unwrap();
    std::os::unix::fs::symlink(&victim, s.join("instance/1")).unwrap();
    let (code, _, err) = call("supervise", &["pool", "1"], &sc.path);
    assert_eq!(
        (code, err.as_str()),
        (
            111,
            "supervise: fatal: unable to open pool/instance/1 as a directory, not a symlink: Not a directory\n"
        )
    );
    assert_eq!(
        fs::read_dir(&victim).unwrap().count(),
        0,
        "nothing made there"
    );
}

#[test]
fn an_instances_file_caught_empty_keeps_the_pool() {
    let sc = Scratch::new("inst-empty");
    let dir = sc.join("service");
    let s = dir.join("pool");
    script(s.join("run"), "exec sleep 1000");
    fs::write(s.join("instances"), "2").unwrap();
    let tree = Tree::scan(&dir);
    let before = wait_pool(&s, 2);
    // What `echo 3 > instances` leaves for a moment, closed and all.
    fs::write(s.join("instances"), "").unwrap();
    // A service made after it: once it runs, scan has listed the empty file.
    script(dir.join(".probe/run"), "exec sleep 1000");
    fs::rename(dir.join(".probe"), dir.join("probe")).unwrap();
    wait_for("the probe up", || {
        (status_pid(&dir.join("probe")) != 0).then_some(())
    });
    let plain = children(tree.pid)
        .into_iter()
        .any(|p| cmdline(p) == ["supervise", "pool"]);
    assert!(
        !plain && !s.join("supervise").exists(),
        "no plain service started"
    );
    assert_eq!(wait_pool(&s, 2), before);
    fs::write(s.join("instances"), "3").unwrap();
    assert_eq!(wait_pool(&s, 3)[..2], before[..]);
    assert_eq!(tree.stderr(), "");
}

#[test]
fn a_planted_status_link_does_not_clobber_its_target() {
    let sc = Scratch::new("inst-clobber");
    let s = sc.join("pool");
    // It tells its pid: no status will, and the test must kill it.
    script(s.join("run"), "echo $$ > ../run.pid\nexec sleep 1000");
    fs::write(s.join("instances"), "1").unwrap();
    let victim = sc.join("victim");
    fs::write(&victim, "root's file\n").unwrap();
    // The owner of S links the file supervise writes first to a file of
    // root's.
    fs::create_dir_all(s.join("instance/1/supervise")).unwrap();
    std::os::unix::fs::symlink(&victim, s.join("instance/1/supervise/status.new")).unwrap();
    // supervise refuses the planted entry before it runs anything.
    let o = std::process::Command::new(bin("supervise"))
        .args(["pool", "1"])
        .current_dir(&sc.path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(111), "{o:?}");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "supervise: fatal: unable to use pool/instance/1/supervise/status.new: \
         it is a symbolic link, not a regular file of its own\n"
    );
    assert!(!sc.join("run.pid").exists(), "run started");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "root's file\n");
}
