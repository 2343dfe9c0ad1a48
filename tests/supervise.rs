//! supervise, run for real on scratch service directories.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// A service whose run records `pid session-id args` and then sleeps.
fn sleeper(dir: &Path) {
    script(
        dir.join("run"),
        "echo $$ $(cut -d' ' -f6 /proc/$$/stat) \"$@\" >> started; exec sleep 1000",
    );
}

#[test]
fn run_starts_in_its_own_session_with_the_dir_name_and_files_get_their_modes() {
    let s = Scratch::new("sup-files");
    let web = s.join("web");
    sleeper(&web);
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    let started = wait_for("run to record itself", || {
        lines(&web.join("started")).first().cloned()
    });
    assert_eq!(
        started,
        format!("{pid} {pid} web"),
        "cwd S, own session, service name as argument"
    );
    let sup = web.join("supervise");
    assert_eq!(mode(&sup), 0o755);
    for fifo in ["control", "ok"] {
        assert!(
            fs::metadata(sup.join(fifo)).unwrap().file_type().is_fifo(),
            "{fifo}"
        );
        assert_eq!(mode(&sup.join(fifo)), 0o600, "{fifo}");
    }
    assert_eq!(mode(&sup.join("lock")), 0o600);
    // pid and stat follow status within the same step: wait for them.
    wait_for("pid and stat to follow status", || {
        let pid_file = fs::read_to_string(sup.join("pid")).ok()?;
        let stat = fs::read_to_string(sup.join("stat")).ok()?;
        (pid_file == format!("{pid}\n") && stat == "run\n").then_some(())
    });
    for f in ["status", "pid", "stat"] {
        assert_eq!(mode(&sup.join(f)), 0o644, "{f}");
    }
    assert_eq!(status_bytes(&web).unwrap().len(), 59);
}

#[test]
fn run_and_finish_start_with_no_signal_blocked() {
    let s = Scratch::new("sup-mask");
    let web = s.join("web");
    // supervise blocks the signals it reads from its signalfd.
    script(
        web.join("run"),
        &format!("{{ {PRINT_MASK} }} >> masks; exec sleep 1000"),
    );
    script(web.join("finish"), &format!("{{ {PRINT_MASK} }} >> masks"));
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    kill(pid, libc::SIGTERM);
    let masks = wait_for("run and finish to record their masks", || {
        let m = lines(&web.join("masks"));
        (m.len() >= 2).then_some(m)
    });
    assert_eq!(masks[..2], ["SigBlk: 0000000000000000"; 2]);
}

/// One supervise runs per service: without libc.so and ld.so mapped it
/// costs a quarter of the memory (src/nolibc.rs). The rest of this suite
/// checks that it still does everything.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[test]
fn supervise_maps_no_shared_library() {
    let s = Scratch::new("sup-nolibc");
    let web = s.join("web");
    sleeper(&web);
    let mut r = Reaper::new();
    let pid = start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    let maps = fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    assert!(!maps.contains(".so"), "{maps}");
}

#[test]
fn a_second_supervise_on_the_same_dir_exits_111() {
    let s = Scratch::new("sup-lock");
    let web = s.join("web");
    sleeper(&web);
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let (code, _, err) = call("supervise", &["web"], &s.path);
    assert_eq!(code, 111);
    assert_eq!(
        err,
        "supervise: fatal: unable to acquire web/supervise/lock: Resource temporarily unavailable\n"
    );
}

#[test]
fn a_missing_or_non_directory_service_exits_111() {
    let s = Scratch::new("sup-bad");
    fs::write(s.join("file"), "").unwrap();
    let (code, _, err) = call("supervise", &["nope"], &s.path);
    assert_eq!(
        (code, err.as_str()),
        (
            111,
            "supervise: fatal: unable to chdir to nope: No such file or directory\n"
        )
    );
    let (code, _, err) = call("supervise", &["file"], &s.path);
    assert_eq!(
        (code, err.as_str()),
        (
            111,
            "supervise: fatal: unable to chdir to file: Not a directory\n"
        )
    );
}

#[test]
fn usage_errors_exit_100() {
    let s = Scratch::new("sup-usage");
    let (code, _, err) = call("supervise", &[], &s.path);
    assert_eq!(
        (code, err.as_str()),
        (
            100,
            "supervise: fatal: missing dir\nsupervise: usage: supervise dir [instance]\n"
        )
    );
    let (code, _, err) = call("supervise", &["a", "1", "c"], &s.path);
    assert_eq!(
        (code, err.as_str()),
        (
            100,
            "supervise: fatal: unexpected argument c\nsupervise: usage: supervise dir [instance]\n"
        )
    );
    let (code, _, err) = call("supervise", &["a", "b"], &s.path);
    assert_eq!(
        (code, err.as_str()),
        (
            100,
            "supervise: fatal: instance takes a number from 1 to 1000\nsupervise: usage: supervise dir [instance]\n"
        )
    );
}

#[test]
fn a_killed_service_is_restarted() {
    let s = Scratch::new("sup-restart");
    let web = s.join("web");
    sleeper(&web);
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let first = wait_up(&mut r, &web, 0);
    kill(first, libc::SIGKILL);
    let second = wait_up(&mut r, &web, first);
    assert!(alive(second));
    assert!(!alive(first));
}

/// Whether `dir`'s filesystem can exchange two names (renameat2).
fn can_exchange(dir: &Path) -> bool {
    let (a, b) = (dir.join("x.a"), dir.join("x.b"));
    fs::write(&a, "a").unwrap();
    fs::write(&b, "b").unwrap();
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    let (ca, cb) = (c(&a), c(&b));
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    let _ = (fs::remove_file(a), fs::remove_file(b));
    rc == 0
}

#[test]
fn publishing_a_change_reuses_two_inodes_per_file() {
    let s = Scratch::new("sup-inodes");
    assert!(
        can_exchange(&s.path),
        "the scratch filesystem cannot exchange names (renameat2 RENAME_EXCHANGE)"
    );
    let web = s.join("web");
    sleeper(&web);
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let ino = |f: &str| {
        std::os::unix::fs::MetadataExt::ino(&fs::metadata(web.join("supervise").join(f)).unwrap())
    };
    let mut seen: std::collections::BTreeMap<&str, std::collections::BTreeSet<u64>> =
        Default::default();
    let mut pid = wait_up(&mut r, &web, 0);
    for _ in 0..3 {
        assert_eq!(call("svc", &["-d", "web"], &s.path).0, 0);
        wait_down(&web);
        wait_for("stat to follow status", || {
            (fs::read_to_string(web.join("supervise/stat")).ok()? == "down\n").then_some(())
        });
        for f in ["status", "pid", "stat"] {
            seen.entry(f).or_default().insert(ino(f));
        }
        assert_eq!(call("svc", &["-u", "web"], &s.path).0, 0);
        let next = wait_up(&mut r, &web, pid);
        wait_for("pid to follow status", || {
            (fs::read_to_string(web.join("supervise/pid")).ok()? == format!("{next}\n"))
                .then_some(())
        });
        pid = next;
        for f in ["status", "pid", "stat"] {
            seen.entry(f).or_default().insert(ino(f));
        }
    }
    for (f, inodes) in &seen {
        // The first change makes the spare; after that the two swap.
        assert!(inodes.len() <= 2, "{f} went through inodes {inodes:?}");
    }
    assert_eq!(
        fs::read_to_string(web.join("supervise/stat")).unwrap(),
        "run\n"
    );
}

#[test]
fn a_down_file_keeps_the_service_down_until_u() {
    let s = Scratch::new("sup-down");
    let web = s.join("web");
    sleeper(&web);
    fs::write(web.join("down"), "").unwrap();
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_for("stat to say down", || {
        let stat = fs::read_to_string(web.join("supervise/stat")).ok()?;
        (stat == "down\n").then_some(())
    });
    assert_eq!(status_pid(&web), 0);
    assert_eq!(status_bytes(&web).unwrap()[17], b'd');
    assert_eq!(call("svc", &["-u", "web"], &s.path).0, 0);
    wait_up(&mut r, &web, 0);
}

/// Start times of a crash-looping run, in ms of CLOCK_REALTIME.
fn starts(dir: &Path) -> Vec<u64> {
    lines(&dir.join("starts"))
        .iter()
        .map(|l| l.parse::<u64>().unwrap() / 1_000_000)
        .collect()
}

#[test]
fn a_crash_loop_backs_off_doubling_up_to_max_and_u_resets_it() {
    let s = Scratch::new("sup-backoff");
    let web = s.join("web");
    script(web.join("run"), "date +%s%N >> starts; exit 1");
    fs::write(web.join("backoff"), "200 800\n").unwrap();
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let t = wait_for("six starts", || Some(starts(&web)).filter(|t| t.len() >= 6));
    let gaps: Vec<u64> = t.windows(2).map(|w| w[1] - w[0]).collect();
    // Lower bounds only: a loaded machine makes gaps longer. The times come
    // from `date` in run, so a slow shell start can shorten one gap by as
    // much as it lengthened the one before: a quarter of slack.
    for (gap, min) in gaps.iter().zip([200, 400, 800, 800, 800]) {
        assert!(*gap >= min * 3 / 4, "gaps {gaps:?}");
    }
    // Caught between starts (it may be running `date` right now).
    wait_for("svstat to count the deaths while it is down", || {
        let (_, out, _) = call("svstat", &["web"], &s.path);
        (out.contains(" deaths") && out.contains("normally up")).then_some(())
    });

    // A long back-off, then `svc -u`: started now, not in a minute.
    fs::write(web.join("backoff"), "60000 60000\n").unwrap();
    let n = wait_for("a start under the long back-off", || {
        let (_, out, _) = call("svstat", &["web"], &s.path);
        out.contains("backing off").then(|| starts(&web).len())
    });
    call("svc", &["-u", "web"], &s.path);
    wait_for("a start right after svc -u", || {
        (starts(&web).len() > n).then_some(())
    });
}

#[test]
fn finish_runs_with_code_signal_and_name() {
    let s = Scratch::new("sup-finish");
    let web = s.join("web");
    script(
        web.join("run"),
        "[ -e once ] && exec sleep 1000; touch once; exit 3",
    );
    script(web.join("finish"), "echo \"$@\" >> finished");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_for("finish after the exit", || {
        (lines(&web.join("finished")).len() == 1).then_some(())
    });
    assert_eq!(lines(&web.join("finished")), ["3 0 web"]);
    let pid = wait_up(&mut r, &web, 0);
    wait_for("the second run", || web.join("once").exists().then_some(()));
    kill(pid, libc::SIGKILL);
    wait_for("finish after the kill", || {
        (lines(&web.join("finished")).len() == 2).then_some(())
    });
    assert_eq!(lines(&web.join("finished"))[1], "256 9 web");
}

#[test]
fn finish_exiting_125_stops_restarts() {
    let s = Scratch::new("sup-125");
    let web = s.join("web");
    script(web.join("run"), "echo x >> starts; exit 1");
    script(web.join("finish"), "exit 125");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_for("permanent failure", || {
        let (_, out, _) = call("svstat", &["web"], &s.path);
        out.contains("permanent failure").then_some(())
    });
    assert_eq!(lines(&web.join("starts")).len(), 1);
    assert_eq!(status_bytes(&web).unwrap()[17], b'd');
}

#[test]
fn a_hanging_finish_is_killed_after_timeout_finish() {
    let s = Scratch::new("sup-finish-timeout");
    let web = s.join("web");
    script(
        web.join("run"),
        "echo x >> starts; [ $(wc -l < starts) -ge 2 ] && exec sleep 1000; exit 0",
    );
    script(web.join("finish"), "exec sleep 1000");
    fs::write(web.join("timeout-finish"), "200").unwrap();
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_for("the second start after finish was killed", || {
        (lines(&web.join("starts")).len() == 2).then_some(())
    });
    wait_up(&mut r, &web, 0);
}

#[test]
fn down_uses_down_signal_then_kills_after_timeout_kill() {
    let s = Scratch::new("sup-timeout-kill");
    let web = s.join("web");
    script(
        web.join("run"),
        "trap 'echo got-hup >> signals' HUP; echo ready > ready; while :; do sleep 0.05; done",
    );
    fs::write(web.join("down-signal"), "HUP\n").unwrap();
    fs::write(web.join("timeout-kill"), "300\n").unwrap();
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    wait_for("run's trap", || web.join("ready").exists().then_some(()));
    assert_eq!(call("svc", &["-d", "web"], &s.path).0, 0);
    wait_down(&web);
    assert!(!alive(pid));
    assert_eq!(
        lines(&web.join("signals")),
        ["got-hup"],
        "the down signal first"
    );
}

#[test]
fn down_continues_a_paused_service_and_clears_its_process_group() {
    let s = Scratch::new("sup-group");
    let web = s.join("web");
    script(web.join("run"), "sleep 1000 & echo $! > grandchild; wait");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    let gc: i32 = wait_for("the grandchild", || {
        fs::read_to_string(web.join("grandchild"))
            .ok()?
            .trim()
            .parse()
            .ok()
    });
    r.adopt(gc);
    call("svc", &["-p", "web"], &s.path);
    wait_for("paused", || {
        call("svstat", &["web"], &s.path)
            .1
            .contains(", paused")
            .then_some(())
    });
    call("svc", &["-d", "web"], &s.path);
    wait_down(&web);
    assert!(!alive(pid));
    wait_for("the grandchild to be gone too", || {
        (!alive(gc)).then_some(())
    });
}

#[test]
fn x_exits_once_the_service_is_down_and_sigterm_acts_as_dx() {
    let s = Scratch::new("sup-exit");
    let web = s.join("web");
    sleeper(&web);
    let mut r = Reaper::new();
    let sup = start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    call("svc", &["-x", "web"], &s.path);
    assert_eq!(
        call("svok", &["web"], &s.path).0,
        0,
        "still supervising while up"
    );
    assert!(alive(pid));
    call("svc", &["-d", "web"], &s.path);
    assert_eq!(r.wait_exit(sup).code(), Some(0));
    assert!(!alive(pid));

    let sup = start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    kill(sup, libc::SIGTERM);
    assert_eq!(r.wait_exit(sup).code(), Some(0));
    assert!(!alive(pid));
    assert_eq!(status_pid(&web), 0);
}

#[test]
fn a_missing_run_is_reported_and_retried_while_staying_controllable() {
    let s = Scratch::new("sup-norun");
    let web = s.join("web");
    fs::create_dir_all(&web).unwrap();
    fs::write(web.join("backoff"), "100 200").unwrap();
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_for("the warning", || {
        supervise_stderr(&web)
            .contains("run: No such file")
            .then_some(())
    });
    assert!(supervise_stderr(&web).starts_with(&format!(
        "supervise: warning: unable to spawn {}/run: No such file or directory\n",
        web.display()
    )));
    assert_eq!(call("svok", &[web.to_str().unwrap()], &s.path).0, 0);
    sleeper(&web);
    wait_up(&mut r, &web, 0);
    call("svc", &["-d", "web"], &s.path);
    wait_down(&web);
}

#[test]
fn junk_on_the_control_fifo_is_ignored() {
    let s = Scratch::new("sup-junk");
    let web = s.join("web");
    sleeper(&web);
    let mut r = Reaper::new();
    let sup = start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    fs::write(web.join("supervise/control"), b"zZ\n\0\xff?").unwrap();
    assert!(alive(sup) && alive(pid));
    fs::write(web.join("supervise/control"), b"d").unwrap();
    wait_down(&web);
    assert!(alive(sup));
}

#[test]
fn an_invalid_setting_is_warned_about_and_ignored() {
    let s = Scratch::new("sup-setting");
    let web = s.join("web");
    sleeper(&web);
    fs::write(web.join("timeout-kill"), "soon\n").unwrap();
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    wait_for("the warning", || {
        supervise_stderr(&web)
            .contains("timeout-kill")
            .then_some(())
    });
    assert_eq!(
        supervise_stderr(&web),
        format!(
            "supervise: warning: unable to use {}/timeout-kill: milliseconds expected, not \"soon\"\n",
            web.display()
        )
    );
}

#[test]
fn a_new_supervise_waits_for_the_run_a_killed_one_left_behind() {
    let s = Scratch::new("sup-orphan");
    let web = s.join("web");
    sleeper(&web);
    let mut r = Reaper::new();
    let sup = start_supervise(&mut r, &web);
    let first = wait_up(&mut r, &web, 0);
    // The status shows run's pid once it is spawned, maybe before the
    // shell has written its line: wait for that too.
    wait_for("run to record itself", || {
        (lines(&web.join("started")).len() == 1).then_some(())
    });
    kill(sup, libc::SIGKILL);
    r.wait_exit(sup);
    assert!(alive(first));

    start_supervise(&mut r, &web);
    wait_for("the new supervise", || {
        (call("svok", &["web"], &s.path).0 == 0).then_some(())
    });
    let (_, out, _) = call("svstat", &["web"], &s.path);
    assert!(out.starts_with(&format!("web: up (pid {first})")), "{out}");
    assert_eq!(lines(&web.join("started")).len(), 1, "no second copy");
    kill(first, libc::SIGKILL);
    let second = wait_up(&mut r, &web, first);
    wait_for("the replacement to record itself", || {
        (lines(&web.join("started")).len() == 2).then_some(())
    });
    assert!(alive(second));
}

#[test]
fn an_idle_supervise_waits_without_a_timeout() {
    let s = Scratch::new("sup-idle");
    let web = s.join("web");
    sleeper(&web);
    let mut r = Reaper::new();
    let sup = start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    // Blocked in poll(2) with timeout -1 (or ppoll(2) with no timespec):
    // no periodic wake-ups. /proc shows the call and its arguments.
    let call = wait_for("supervise blocked in poll", || {
        let text = fs::read_to_string(format!("/proc/{sup}/syscall")).ok()?;
        let f: Vec<&str> = text.split_whitespace().collect();
        (f.first() == Some(&"7") || f.first() == Some(&"271")).then(|| text.clone())
    });
    let f: Vec<&str> = call.split_whitespace().collect();
    match f[0] {
        // The int -1, shown as 32 or 64 bits.
        "7" => assert!(
            ["0xffffffff", "0xffffffffffffffff"].contains(&f[3]),
            "poll timeout: {call}"
        ),
        _ => assert_eq!(f[3], "0x0", "ppoll timespec: {call}"),
    }
}

#[test]
fn stderr_of_supervise_is_left_to_the_service() {
    // The service's stdout and stderr are supervise's own: scan pipes them
    // to the logger.
    let s = Scratch::new("sup-stdio");
    let web = s.join("web");
    script(
        web.join("run"),
        "echo to-stdout; echo to-stderr >&2; exec sleep 1000",
    );
    let mut r = Reaper::new();
    let out = fs::File::create(s.join("out")).unwrap();
    let err = fs::File::create(s.join("err")).unwrap();
    r.spawn(
        Command::new(bin("supervise"))
            .arg(&web)
            .stdout(out)
            .stderr(err),
    );
    wait_up(&mut r, &web, 0);
    wait_for("output", || {
        (fs::read_to_string(s.join("out")).ok()? == "to-stdout\n").then_some(())
    });
    wait_for("errors", || {
        (fs::read_to_string(s.join("err")).ok()? == "to-stderr\n").then_some(())
    });
}

#[test]
fn a_backoff_below_the_floor_is_warned_about_and_raised() {
    let s = Scratch::new("sup-backoff-floor");
    let web = s.join("web");
    script(web.join("run"), "echo >> starts; exit 1");
    fs::write(web.join("backoff"), "0 0\n").unwrap();
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_for("the first start", || {
        (!lines(&web.join("starts")).is_empty()).then_some(())
    });
    let first = std::time::Instant::now();
    // Counted over about a second: at most ten starts a second, where
    // `0 0` used to give over a thousand.
    wait_for("a second to pass", || {
        (first.elapsed() >= std::time::Duration::from_secs(1)).then_some(())
    });
    let n = lines(&web.join("starts")).len();
    let elapsed = first.elapsed().as_millis() as usize;
    assert!(n <= 2 + elapsed / 100, "{n} starts in {elapsed} ms");
    let err = supervise_stderr(&web);
    let w = web.to_str().unwrap();
    assert!(
        err.starts_with(&format!(
            "supervise: warning: unable to use {w}/backoff as given: \
             MIN 0 ms is below the floor of 100 ms: using 100\n"
        )),
        "{err}"
    );
}
