//! scan, run for real on scratch service trees with svkit's supervise.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A logger that appends its input to `main.log` in its log dir.
const CAT_LOGGER: &str = "exec cat >> main.log";

/// The pid of the supervise that `tree` runs on `dir` (relative to DIR).
fn supervise_of(tree: &Tree, dir: &str) -> Option<i32> {
    children(tree.pid)
        .into_iter()
        .find(|&p| cmdline(p) == ["supervise", dir])
}

/// Waits until `tree` has a supervise on `dir` other than `not`.
fn wait_supervise(tree: &Tree, dir: &str, not: i32) -> i32 {
    wait_for(&format!("supervise {dir}"), || {
        supervise_of(tree, dir).filter(|&p| p != not)
    })
}

/// Makes service dir `dir` with `run`, and a logger with `log` if given.
fn service(dir: &Path, run: &str, log: Option<&str>) {
    script(dir.join("run"), run);
    if let Some(log) = log {
        script(dir.join("log/run"), log);
    }
}

#[test]
fn service_output_reaches_its_logger() {
    let s = Scratch::new("scan-log");
    let dir = s.join("service");
    service(
        &dir.join("web"),
        &format!("echo hello from web; {PRINT_MASK} exec sleep 1000"),
        Some(CAT_LOGGER),
    );
    let tree = Tree::scan(&dir);
    let log = dir.join("web/log/main.log");
    // scan and supervise read their signals from a signalfd with them
    // blocked: the service must not inherit the mask.
    wait_for("the lines in the log", || {
        (lines(&log) == ["hello from web", "SigBlk: 0000000000000000"]).then_some(())
    });
    for dir in ["web", "web/log"] {
        let sup = wait_supervise(&tree, dir, 0);
        // Its own process group: a Ctrl-C at the terminal reaches scan only.
        let stat = fs::read_to_string(format!("/proc/{sup}/stat")).unwrap();
        let pgrp = stat.rsplit(')').next().unwrap().split_whitespace().nth(2);
        assert_eq!(pgrp, Some(sup.to_string().as_str()), "{dir}");
    }
    assert_eq!(tree.stderr(), "");
}

#[test]
fn killing_the_logger_and_its_supervise_loses_no_line() {
    let s = Scratch::new("scan-nolost");
    let dir = s.join("service");
    let web = dir.join("web");
    // Lines keep coming while the logger is killed and restarted (a
    // second later: both its run and its supervise were short-lived).
    service(
        &web,
        "i=0; while [ $i -lt 400 ]; do echo line $i; i=$((i+1)); sleep 0.01; done
         echo done > ../web-finished; exec sleep 1000",
        Some(CAT_LOGGER),
    );
    let tree = Tree::scan(&dir);
    let log = web.join("log/main.log");
    let logdir = web.join("log");
    let mut killed = 0;
    for round in 1..=2 {
        let logger = wait_up_quiet(&logdir, killed);
        wait_for("lines to be stored", || {
            (lines(&log).len() >= 60 * round).then_some(())
        });
        assert!(
            !dir.join("web-finished").exists(),
            "the writer was too fast for this test"
        );
        if round == 2 {
            // The supervise held the pipe's read end as its stdin too:
            // with both gone, only scan's copy keeps the writer from EPIPE
            // and what it writes meanwhile from being lost.
            kill(wait_supervise(&tree, "web/log", 0), libc::SIGKILL);
        }
        kill(logger, libc::SIGKILL);
        killed = logger;
    }
    wait_for("the writer to finish", || {
        dir.join("web-finished").exists().then_some(())
    });
    let expected: Vec<String> = (0..400).map(|i| format!("line {i}")).collect();
    wait_for("every line stored", || {
        (lines(&log).len() >= 400).then_some(())
    });
    assert_eq!(lines(&log), expected);
}

/// Like `wait_up`, for a service the tree's guard cleans up.
fn wait_up_quiet(dir: &Path, not: i32) -> i32 {
    wait_for("the service to be up", || {
        let p = status_pid(dir);
        (p != 0 && p != not).then_some(p)
    })
}

#[test]
fn a_new_service_dir_runs_at_once() {
    let s = Scratch::new("scan-new");
    let dir = s.join("service");
    fs::create_dir_all(&dir).unwrap();
    let tree = Tree::scan(&dir);
    wait_for("scan to wait", || idle_in_poll(tree.pid).then_some(()));
    // The usual way: prepared under a dot name, then renamed into place.
    service(&dir.join(".web"), "exec sleep 1000", None);
    fs::rename(dir.join(".web"), dir.join("web")).unwrap();
    // The deadline (20 s) is far below the 60 s safety rescan: only
    // inotify can make it.
    wait_up_quiet(&dir.join("web"), 0);
    // Made in place: run appears after the directory, then becomes
    // executable; scan watches the dir until then.
    fs::create_dir(dir.join("db")).unwrap();
    wait_for("the warning", || {
        tree.stderr()
            .contains("db/run does not exist")
            .then_some(())
    });
    fs::write(dir.join("db/run"), "#!/bin/sh\nexec sleep 1000\n").unwrap();
    wait_for("the second warning", || {
        tree.stderr()
            .contains("db/run is not executable")
            .then_some(())
    });
    let mut p = fs::metadata(dir.join("db/run")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut p, 0o755);
    fs::set_permissions(dir.join("db/run"), p).unwrap();
    wait_up_quiet(&dir.join("db"), 0);
}

#[test]
fn a_killed_supervise_is_restarted_and_adopts_the_running_service() {
    let s = Scratch::new("scan-kill9");
    let dir = s.join("service");
    let web = dir.join("web");
    service(&web, "echo $$ >> ../starts; exec sleep 1000", None);
    let tree = Tree::scan(&dir);
    let run = wait_up_quiet(&web, 0);
    wait_for("the run to record itself", || {
        (lines(&dir.join("starts")) == [run.to_string()]).then_some(())
    });
    let sup = wait_supervise(&tree, "web", 0);
    let status_ino = fs::metadata(web.join("supervise/status")).unwrap().ino();
    kill(sup, libc::SIGKILL);
    let new = wait_supervise(&tree, "web", sup);
    // The new supervise has published its status and gone back to wait:
    // had it started a second run, that run would be its child by now.
    wait_for("the new supervise to settle", || {
        let ino = fs::metadata(web.join("supervise/status")).ok()?.ino();
        (ino != status_ino && idle_in_poll(new)).then_some(())
    });
    // Alive, or "no child" would hold of a supervise that died.
    assert!(alive(new));
    assert_eq!(children(new), Vec::<i32>::new(), "no second run");
    assert_eq!(status_pid(&web), run);
    assert!(alive(run));
    assert_eq!(lines(&dir.join("starts")), [run.to_string()]);
    assert!(
        tree.stderr()
            .contains("scan: warning: supervise web killed by signal 9: restarting it\n"),
        "{}",
        tree.stderr()
    );
}

#[test]
fn a_removed_dir_has_its_service_and_logger_stopped() {
    let s = Scratch::new("scan-removed");
    let dir = s.join("service");
    service(&dir.join("web"), "exec sleep 1000", Some(CAT_LOGGER));
    service(&dir.join("db"), "exec sleep 1000", None);
    let tree = Tree::scan(&dir);
    let run = wait_up_quiet(&dir.join("web"), 0);
    let logger = wait_up_quiet(&dir.join("web/log"), 0);
    let db = wait_up_quiet(&dir.join("db"), 0);
    let sups = [
        wait_supervise(&tree, "web", 0),
        wait_supervise(&tree, "web/log", 0),
    ];
    fs::rename(dir.join("web"), s.join("web-gone")).unwrap();
    wait_for("web's processes to be gone", || {
        [run, logger, sups[0], sups[1]]
            .iter()
            .all(|&p| !alive(p))
            .then_some(())
    });
    assert!(alive(db), "the rest keeps running");
    assert_eq!(supervise_of(&tree, "web"), None, "not restarted");
}

#[test]
fn sigterm_stops_services_before_their_loggers_and_exits_0() {
    let s = Scratch::new("scan-term");
    let dir = s.join("service");
    let events = s.join("events");
    let ev = events.display();
    // The service's last words pass through the pipe after it got TERM:
    // they are stored only if the logger outlives it and drains the pipe.
    service(
        &dir.join("web"),
        &format!(
            "trap 'echo last words; echo service-term >> {ev}; exit 0' TERM
             echo first words
             while :; do sleep 1000 & wait; done"
        ),
        Some(&format!("cat >> main.log; echo logger-eof >> {ev}")),
    );
    service(&dir.join("db"), "exec sleep 1000", None);
    let mut tree = Tree::scan(&dir);
    let log = dir.join("web/log/main.log");
    wait_for("the first words", || (lines(&log).len() == 1).then_some(()));
    let db = wait_up_quiet(&dir.join("db"), 0);
    let all = tree.descendants();
    kill(tree.pid, libc::SIGTERM);
    let status = tree.wait_exit();
    assert_eq!(status.code(), Some(0), "{}", tree.stderr());
    assert_eq!(lines(&log), ["first words", "last words"]);
    assert_eq!(lines(&events), ["service-term", "logger-eof"]);
    assert!(!alive(db));
    let left: Vec<i32> = all.into_iter().filter(|&p| alive(p)).collect();
    assert_eq!(left, Vec::<i32>::new(), "nothing outlives scan");
    assert_eq!(tree.stderr(), "");
}

#[test]
fn as_pid_1_of_a_pid_namespace_scan_reaps_orphans_and_stops_on_sigterm() {
    require_pid_namespaces();
    let s = Scratch::new("scan-pid1");
    let dir = s.join("service");
    let release = s.join("release");
    // A double fork: the inner shell exits at once, so its child is an
    // orphan, reparented to pid 1, scan; it lives until `release` exists.
    service(
        &dir.join("web"),
        &format!(
            "sh -c '(while [ ! -e {} ]; do sleep 0.05; done) & exit 0'; exec sleep 1000",
            release.display()
        ),
        None,
    );
    let (mut ns, scan) = scan_as_pid_1(&dir, s.join("scan.err"));
    let nspid = fs::read_to_string(format!("/proc/{scan}/status")).unwrap();
    assert!(
        nspid
            .lines()
            .any(|l| l.starts_with("NSpid:") && l.ends_with("\t1")),
        "scan is pid 1 there: {nspid}"
    );
    let orphan = wait_for("the orphan to be scan's child", || {
        children(scan)
            .into_iter()
            .find(|&p| cmdline(p).iter().any(|a| a.contains("release")))
    });
    fs::write(&release, "").unwrap();
    // Not reaped, it would stay a zombie child of scan for ever.
    wait_for("the orphan to be reaped", || {
        (!Path::new(&format!("/proc/{orphan}")).exists()).then_some(())
    });
    wait_up_quiet(&dir.join("web"), 0);
    kill(scan, libc::SIGTERM);
    let status = ns.wait_exit();
    assert_eq!(status.code(), Some(0), "{}", ns.stderr());
    assert_eq!(ns.stderr(), "");
}

#[test]
fn bad_entries_are_warned_about_once_and_the_rest_runs() {
    let s = Scratch::new("scan-bad");
    let dir = s.join("service");
    service(&dir.join("web"), "exec sleep 1000", None);
    fs::write(dir.join("notes.txt"), "").unwrap();
    symlink("/nonexistent/svkit", dir.join("dangling")).unwrap();
    fs::create_dir(dir.join("norun")).unwrap();
    service(&dir.join("nolog"), "exec sleep 1000", None);
    fs::create_dir(dir.join("nolog/log")).unwrap();
    fs::create_dir(dir.join(".hidden")).unwrap();
    let tree = Tree::scan(&dir);
    wait_up_quiet(&dir.join("web"), 0);
    // Two more listings, by SIGHUP and by a new dir: nothing told twice.
    for (n, sync) in ["sync1", "sync2"].iter().enumerate() {
        if n == 0 {
            kill(tree.pid, libc::SIGHUP);
        }
        // Prepared under a dot name: half-made, it would be warned about.
        let hidden = dir.join(format!(".{sync}"));
        service(&hidden, "exec sleep 1000", None);
        fs::rename(&hidden, dir.join(sync)).unwrap();
        wait_up_quiet(&dir.join(sync), 0);
    }
    assert_eq!(
        tree.stderr(),
        "scan: warning: unable to supervise dangling: dangling symlink\n\
         scan: warning: unable to supervise nolog: nolog/log/run does not exist\n\
         scan: warning: unable to supervise norun: norun/run does not exist\n\
         scan: warning: unable to supervise notes.txt: not a directory\n"
    );
    assert!(!dir.join(".hidden/supervise").exists());
}

#[test]
fn a_missing_dir_exits_111() {
    let s = Scratch::new("scan-missing");
    let (code, _, err) = call("scan", &["nope"], &s.path);
    assert_eq!(code, 111);
    assert_eq!(
        err,
        "scan: fatal: unable to chdir to nope: No such file or directory\n"
    );
    let (code, _, err) = call("scan", &["a", "b"], &s.path);
    assert_eq!(code, 100);
    assert_eq!(
        err,
        "scan: fatal: unexpected argument b\nscan: usage: scan [dir]\n"
    );
}

#[test]
fn the_supervise_beside_scan_is_used_not_one_on_path() {
    let s = Scratch::new("scan-which");
    let fake = s.join("bin/supervise");
    script(
        &fake,
        &format!("touch {}; exec sleep 1000", s.join("fake-ran").display()),
    );
    let dir = s.join("service");
    service(&dir.join("web"), "exec sleep 1000", None);
    let path = format!(
        "{}:{}",
        s.join("bin").display(),
        std::env::var("PATH").unwrap()
    );
    let tree = Tree::spawn(
        Command::new(bin("scan")).arg(&dir).env("PATH", path),
        s.join("scan.err"),
    );
    wait_up_quiet(&dir.join("web"), 0);
    let sup = wait_supervise(&tree, "web", 0);
    assert_eq!(
        fs::read_link(format!("/proc/{sup}/exe")).unwrap(),
        bin("supervise").canonicalize().unwrap()
    );
    assert!(!s.join("fake-ran").exists());
}

#[test]
fn without_a_supervise_beside_it_scan_says_which_one_it_takes_from_path() {
    let s = Scratch::new("scan-path");
    let alone = s.join("alone/scan");
    fs::create_dir_all(alone.parent().unwrap()).unwrap();
    fs::copy(bin("scan"), &alone).unwrap();
    let fake = s.join("bin/supervise");
    let ran = s.join("fake-ran");
    script(
        &fake,
        &format!("echo \"$@\" >> {}; exec sleep 1000", ran.display()),
    );
    let dir = s.join("service");
    service(&dir.join("web"), "exec sleep 1000", None);
    let tree = Tree::spawn(
        Command::new(&alone)
            .arg(&dir)
            .env("PATH", format!("{}:/usr/bin:/bin", s.join("bin").display())),
        s.join("scan.err"),
    );
    wait_for("the fake supervise to run", || {
        (lines(&ran) == ["web"]).then_some(())
    });
    assert_eq!(
        tree.stderr(),
        format!(
            "scan: warning: no supervise beside scan's executable: using {} from PATH\n",
            fake.display()
        )
    );
}

#[test]
fn an_unreadable_dir_is_warned_about_and_the_rest_runs() {
    // Root reads every directory: run scan as nobody, where setpriv is.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "the tests run as root (README): cannot make a tree for nobody"
    );
    let s = Scratch::new("scan-unreadable");
    let dir = s.join("service");
    service(&dir.join("web"), "exec sleep 1000", None);
    service(&dir.join("locked"), "exec sleep 1000", None);
    let nobody = 65534;
    for p in [&dir, &dir.join("web"), &dir.join("web/run")] {
        std::os::unix::fs::chown(p, Some(nobody), Some(nobody)).unwrap();
    }
    let mut p = fs::metadata(dir.join("locked")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut p, 0o700);
    fs::set_permissions(dir.join("locked"), p).unwrap();
    // Copies nobody can reach, whoever owns cargo's target dir; scan
    // finds the supervise beside it.
    bin_copy(&s, "supervise");
    let scan = bin_copy(&s, "scan");
    let mut setpriv = Command::new("setpriv");
    setpriv
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&scan)
        .arg(&dir);
    assert!(
        Command::new("setpriv").arg("--version").output().is_ok(),
        "setpriv (util-linux) is not installed"
    );
    let tree = Tree::spawn(&mut setpriv, s.join("scan.err"));
    wait_up_quiet(&dir.join("web"), 0);
    wait_for("the warning", || (!tree.stderr().is_empty()).then_some(()));
    assert_eq!(
        tree.stderr(),
        "scan: warning: unable to supervise locked: Permission denied\n"
    );
}

#[test]
fn a_restarted_scan_leaves_a_running_supervise_alone_then_takes_over() {
    let s = Scratch::new("scan-foreign");
    let dir = s.join("service");
    let web = dir.join("web");
    service(&web, "exec sleep 1000", None);
    let mut r = Reaper::new();
    r.watch_dir(&web);
    let mut first = Tree::scan(&dir);
    let run = wait_up_quiet(&web, 0);
    let old = wait_supervise(&first, "web", 0);
    r.adopt(old);
    // scan dies alone; its supervise goes on.
    kill(first.pid, libc::SIGKILL);
    first.wait_exit();
    let second = Tree::spawn(Command::new(bin("scan")).arg(&dir), s.join("second.err"));
    let told = "scan: warning: web is supervised by a supervise scan did not start: \
                leaving it to that one\n";
    wait_for("the second scan to say so", || {
        (second.stderr() == told).then_some(())
    });
    // Listed again (a new dir makes it): still left alone, not told twice,
    // no supervise of its own.
    service(&dir.join(".db"), "exec sleep 1000", None);
    fs::rename(dir.join(".db"), dir.join("db")).unwrap();
    wait_supervise(&second, "db", 0);
    assert_eq!(supervise_of(&second, "web"), None);
    assert_eq!(second.stderr(), told);
    // The old supervise dies: at the next listing the new scan takes over
    // and its supervise adopts the service still running.
    kill(old, libc::SIGKILL);
    wait_for("the old supervise to be gone", || {
        (!alive(old)).then_some(())
    });
    kill(second.pid, libc::SIGHUP);
    let new = wait_supervise(&second, "web", 0);
    wait_for("the new supervise to settle", || {
        idle_in_poll(new).then_some(())
    });
    assert_eq!(status_pid(&web), run, "the same service, adopted");
    assert!(alive(run));
}

#[test]
fn sigint_stops_everything_as_sigterm_does() {
    let s = Scratch::new("scan-int");
    let dir = s.join("service");
    service(&dir.join("web"), "exec sleep 1000", Some(CAT_LOGGER));
    let mut tree = Tree::scan(&dir);
    let run = wait_up_quiet(&dir.join("web"), 0);
    let logger = wait_up_quiet(&dir.join("web/log"), 0);
    kill(tree.pid, libc::SIGINT);
    assert_eq!(tree.wait_exit().code(), Some(0), "{}", tree.stderr());
    assert!(!alive(run) && !alive(logger));
}

/// The soft and hard limit of open files of `pid`, from /proc.
fn open_files_limit(pid: i32) -> (String, String) {
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let mut words = line.split_whitespace().skip(3);
    let soft = words.next().unwrap().to_string();
    (soft, words.next().unwrap().to_string())
}

/// `count` services named s00, s01, ... in `dir`, each with a logger.
fn logged_services(dir: &Path, count: usize) -> Vec<String> {
    let names: Vec<String> = (0..count).map(|i| format!("s{i:02}")).collect();
    for name in &names {
        service(&dir.join(name), "exec sleep 1000", Some(CAT_LOGGER));
    }
    names
}

/// scan on `dir` under the shell's `ulimit` arguments `limit`.
fn scan_limited(dir: &Path, limit: &str, stderr: PathBuf) -> Tree {
    Tree::spawn(
        Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit {limit} && exec \"$0\" \"$1\""))
            .arg(bin("scan"))
            .arg(dir),
        stderr,
    )
}

#[test]
fn scan_raises_its_open_files_limit_and_gives_supervise_the_old_one() {
    let s = Scratch::new("scan-nofile");
    let dir = s.join("service");
    // 80 pipe ends: more than the soft limit, within the hard one.
    let names = logged_services(&dir, 40);
    let tree = scan_limited(&dir, "-Sn 64", s.join("scan.err"));
    for name in &names {
        wait_up_quiet(&dir.join(name), 0);
        wait_up_quiet(&dir.join(name).join("log"), 0);
    }
    let (soft, hard) = open_files_limit(tree.pid);
    assert_eq!(soft, hard, "scan raised its soft limit to the hard one");
    let sup = wait_supervise(&tree, "s00/log", 0);
    assert_eq!(open_files_limit(sup), ("64".into(), hard));
    assert_eq!(tree.stderr(), "");
}

#[test]
fn out_of_fds_scan_says_once_how_many_wait_and_what_limit_fits_them() {
    let s = Scratch::new("scan-shortfds");
    let dir = s.join("service");
    let names = logged_services(&dir, 40);
    let mut tree = scan_limited(&dir, "-n 64", s.join("scan.err"));
    let told = wait_for("scan to say how many wait", || {
        let err = tree.stderr();
        err.ends_with(")\n").then_some(err)
    });
    // "... unable to supervise N services: Too many open files (the
    // limit is 64; F would fit them all)"
    let words: Vec<&str> = told.split_whitespace().collect();
    let count: usize = words[5].parse().unwrap();
    let fits = words[words.len() - 5].parse::<usize>().unwrap();
    assert_eq!(
        told,
        format!(
            "scan: warning: unable to supervise {count} services: Too many open files \
             (the limit is 64; {fits} would fit them all)\n"
        )
    );
    assert!(count > 0 && count < 40, "{told}");
    // Room made by taking as many away: the others start at a retry,
    // and no retry told anything.
    let (gone, rest) = names.split_at(count);
    for name in gone {
        // Started, not starting: a supervise not yet in its dir would
        // find it gone and exit.
        wait_up_quiet(&dir.join(name), 0);
        wait_up_quiet(&dir.join(name).join("log"), 0);
        fs::rename(dir.join(name), s.join(name)).unwrap();
    }
    for name in rest {
        wait_up_quiet(&dir.join(name).join("log"), 0);
    }
    assert_eq!(tree.stderr(), told);
    kill(tree.pid, libc::SIGTERM);
    assert_eq!(tree.wait_exit().code(), Some(0));
    // The limit it named fits them all.
    for name in gone {
        fs::rename(s.join(name), dir.join(name)).unwrap();
    }
    let fitted = scan_limited(&dir, &format!("-n {fits}"), s.join("fitted.err"));
    for name in &names {
        wait_up_quiet(&dir.join(name).join("log"), 0);
    }
    wait_for("scan to settle", || idle_in_poll(fitted.pid).then_some(()));
    assert_eq!(fitted.stderr(), "");
}

#[test]
fn two_hundred_services_come_up_one_removed_stops_and_sigterm_stores_every_last_line() {
    let s = Scratch::new("scan-many");
    let dir = s.join("service");
    // Half with a logger; each service's last words are written after
    // its TERM, so only a logger stopped after its service stores them.
    let names: Vec<String> = (0..200).map(|i| format!("s{i:03}")).collect();
    for (i, name) in names.iter().enumerate() {
        service(
            &dir.join(name),
            // Each says its own name: a line in another's log would be
            // a crossed pipe.
            "n=$(pwd -P); n=${n##*/}; trap 'kill $!; echo $n last words; exit 0' TERM
             echo $n first words; sleep 1000 & wait",
            (i % 2 == 0).then_some(CAT_LOGGER),
        );
    }
    let mut tree = Tree::scan(&dir);
    for (i, name) in names.iter().enumerate() {
        wait_up_quiet(&dir.join(name), 0);
        if i % 2 == 0 {
            let log = dir.join(name).join("log/main.log");
            wait_for("the first words", || (lines(&log).len() == 1).then_some(()));
        }
    }
    let removed = &names[2];
    let run = status_pid(&dir.join(removed));
    let logger = status_pid(&dir.join(removed).join("log"));
    fs::rename(dir.join(removed), s.join(removed)).unwrap();
    wait_for("the removed one to stop", || {
        (!alive(run) && !alive(logger)).then_some(())
    });
    // Its last words may be lost: renamed away, its logger's control
    // FIFO is out of reach, and the logger gets TERM (man/scan.8).
    let all = tree.descendants();
    kill(tree.pid, libc::SIGTERM);
    assert_eq!(tree.wait_exit().code(), Some(0), "{}", tree.stderr());
    let left: Vec<i32> = all.into_iter().filter(|&p| alive(p)).collect();
    assert_eq!(left, Vec::<i32>::new(), "nothing outlives scan");
    for name in names.iter().step_by(2).filter(|n| *n != removed) {
        let log = dir.join(name).join("log/main.log");
        assert_eq!(
            lines(&log),
            [format!("{name} first words"), format!("{name} last words")],
            "{name}"
        );
    }
    assert_eq!(tree.stderr(), "");
}

#[test]
fn bad_entries_among_many_are_each_warned_about_once_and_the_rest_run() {
    let s = Scratch::new("scan-manybad");
    let dir = s.join("service");
    let good: Vec<String> = (0..150).map(|i| format!("g{i:03}")).collect();
    for name in &good {
        service(&dir.join(name), "exec sleep 1000", None);
    }
    // Ten of each kind of entry scan cannot use, and the line each gets.
    let mut told = Vec::new();
    for i in 0..10 {
        let file = format!("file{i}");
        fs::write(dir.join(&file), "").unwrap();
        told.push(format!("{file}: not a directory"));
        let link = format!("link{i}");
        symlink(format!("/nonexistent/svkit{i}"), dir.join(&link)).unwrap();
        told.push(format!("{link}: dangling symlink"));
        let norun = format!("norun{i}");
        fs::create_dir(dir.join(&norun)).unwrap();
        told.push(format!("{norun}: {norun}/run does not exist"));
        let noexec = format!("noexec{i}");
        fs::create_dir(dir.join(&noexec)).unwrap();
        fs::write(dir.join(&noexec).join("run"), "#!/bin/sh\n").unwrap();
        told.push(format!("{noexec}: {noexec}/run is not executable"));
        let nolog = format!("nolog{i}");
        service(&dir.join(&nolog), "exec sleep 1000", None);
        fs::create_dir(dir.join(&nolog).join("log")).unwrap();
        told.push(format!("{nolog}: {nolog}/log/run does not exist"));
    }
    // Run as nobody, for whom root's 0700 dirs are unreadable.
    let nobody = 65534;
    let chown = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(chown.success());
    for i in 0..10 {
        let locked = format!("locked{i}");
        service(&dir.join(&locked), "exec sleep 1000", None);
        let mut p = fs::metadata(dir.join(&locked)).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut p, 0o700);
        fs::set_permissions(dir.join(&locked), p).unwrap();
        told.push(format!("{locked}: Permission denied"));
    }
    bin_copy(&s, "supervise");
    let scan = bin_copy(&s, "scan");
    let tree = Tree::spawn(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&scan)
            .arg(&dir),
        s.join("scan.err"),
    );
    for name in &good {
        wait_up_quiet(&dir.join(name), 0);
    }
    // Two more listings, by SIGHUP and by a new dir: nothing told twice.
    kill(tree.pid, libc::SIGHUP);
    let late = dir.join(".late");
    service(&late, "exec sleep 1000", None);
    std::os::unix::fs::chown(&late, Some(nobody), Some(nobody)).unwrap();
    fs::rename(&late, dir.join("late")).unwrap();
    wait_up_quiet(&dir.join("late"), 0);
    let mut expected: Vec<String> = told
        .iter()
        .map(|t| format!("scan: warning: unable to supervise {t}"))
        .collect();
    expected.sort();
    let mut got: Vec<String> = tree.stderr().lines().map(String::from).collect();
    got.sort();
    assert_eq!(got, expected);
}

#[test]
fn short_of_processes_scan_says_once_how_many_wait() {
    let s = Scratch::new("scan-nproc");
    let dir = s.join("service");
    // Normally down: a supervise each, and no service to count.
    let names: Vec<String> = (0..30).map(|i| format!("p{i:02}")).collect();
    for name in &names {
        service(&dir.join(name), "exec sleep 1000", None);
        fs::write(dir.join(name).join("down"), "").unwrap();
    }
    let chown = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(chown.success());
    bin_copy(&s, "supervise");
    let scan = bin_copy(&s, "scan");
    // As nobody, whose processes the limit counts (root's it does not):
    // scan and 30 supervise processes do not fit in 20.
    let tree = Tree::spawn(
        Command::new("prlimit")
            .arg("--nproc=20")
            .args([
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ])
            .arg(&scan)
            .arg(&dir),
        s.join("scan.err"),
    );
    let told = wait_for("scan to say how many wait", || {
        let err = tree.stderr();
        (!err.is_empty()).then_some(err)
    });
    let count: usize = told.split_whitespace().nth(5).unwrap().parse().unwrap();
    assert!(
        count > 0
            && told.starts_with(&format!(
                "scan: warning: unable to supervise {count} services: \
                 fork: Resource temporarily unavailable ("
            ))
            && told.ends_with(")\n"),
        "{told}"
    );
    // Room made by taking as many started ones away: the others start
    // at a retry, and no retry told anything. The warning can come before
    // the supervise processes forked just ahead of it have started.
    wait_for("as many supervised as wait", || {
        let up = names.iter().filter(|n| supervise_of(&tree, n).is_some());
        (up.count() >= count).then_some(())
    });
    let started: Vec<&String> = names
        .iter()
        .filter(|n| supervise_of(&tree, n).is_some())
        .take(count)
        .collect();
    assert_eq!(started.len(), count);
    for name in started {
        fs::rename(dir.join(name), s.join(name)).unwrap();
    }
    wait_for("every service left to be supervised", || {
        fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .all(|e| supervise_of(&tree, &e.file_name().to_string_lossy()).is_some())
            .then_some(())
    });
    assert_eq!(tree.stderr(), told);
}
