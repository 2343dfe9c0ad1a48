//! Readiness, health checks, the watchdog and the memory guard, each with a
//! small daemon written in sh or python3, under the real supervise.

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

fn svstat(dir: &Path) -> String {
    call("svstat", &[dir.to_str().unwrap()], dir).1
}

/// An sd_notify sender in python3: `notify MESSAGE` sends one datagram to
/// $NOTIFY_SOCKET, from the calling process.
const NOTIFY_PY: &str = r#"
import os, socket, sys
def notify(msg):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(msg.encode(), os.environ["NOTIFY_SOCKET"])
    s.close()
"#;

fn python_run(dir: &Path, body: &str) {
    write(dir.join("daemon.py"), &format!("{NOTIFY_PY}\n{body}\n"));
    script(dir.join("run"), "exec python3 ./daemon.py");
}

#[test]
fn a_newline_on_the_notification_fd_makes_it_ready() {
    let s = Scratch::new("ready-fd");
    let web = s.join("web");
    script(
        web.join("run"),
        "while [ ! -e go ]; do sleep 0.02; done; echo >&3; exec sleep 1000",
    );
    write(web.join("notification-fd"), "3\n");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    assert!(svstat(&web).contains(", not ready"), "{}", svstat(&web));
    let w = web.to_str().unwrap();
    // Not ready yet: a short wait times out with exit 1.
    let (code, _, err) = call("svc", &["-wU", "-T", "200", w], &s.path);
    assert_eq!(code, 1, "{err}");
    write(web.join("go"), "");
    let (code, _, err) = call("svc", &["-wU", "-T", "20000", w], &s.path);
    assert_eq!(code, 0, "{err}");
    assert!(svstat(&web).contains(", ready "), "{}", svstat(&web));
    let (code, _, _) = call("svstat", &["-r", w], &s.path);
    assert_eq!(code, 0);
}

#[test]
fn an_invalid_notification_fd_is_ignored_by_supervise_and_svstat_alike() {
    let s = Scratch::new("ready-badfd");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    // fd 1 is the service's stdout: not a notification fd.
    write(web.join("notification-fd"), "1\n");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    let w = web.to_str().unwrap();
    // supervise treats the service as plain: ready as soon as it runs...
    let (code, _, err) = call("svc", &["-wU", "-T", "20000", w], &s.path);
    assert_eq!(code, 0, "{err}");
    // ...and svstat shows no readiness word, where it said "ready" before.
    let line = svstat(&web);
    let state = line.strip_prefix(&format!("{w}: ")).unwrap_or_default();
    assert!(state.starts_with("up (pid "), "{line}");
    assert!(!state.contains("ready"), "{line}");
    assert!(
        supervise_stderr(&web).contains("notification-fd"),
        "{}",
        supervise_stderr(&web)
    );
}

#[test]
fn ready_1_on_the_notify_socket_makes_it_ready_and_status_is_shown() {
    let s = Scratch::new("ready-notify");
    let web = s.join("web");
    python_run(
        &web,
        "import time\n\
         while not os.path.exists('go'): time.sleep(0.02)\n\
         notify('READY=1\\nSTATUS=serving 3 clients')\n\
         while not os.path.exists('reload'): time.sleep(0.02)\n\
         notify('RELOADING=1')\n\
         while not os.path.exists('reloaded'): time.sleep(0.02)\n\
         notify('READY=1')\n\
         time.sleep(1000)",
    );
    write(web.join("notify"), "");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    let w = web.to_str().unwrap();
    let (code, _, _) = call("svstat", &["-r", w], &s.path);
    assert_eq!(code, 1, "not ready before READY=1");
    // No STATUS= yet, and the status file says so: svstat reads it alone,
    // not supervise/message, whatever lies there.
    write(web.join("supervise/message"), "stale\n");
    let line = svstat(&web);
    assert!(
        line.starts_with(&format!("{w}: up (pid ")) && !line.contains("stale"),
        "{line}"
    );
    write(web.join("go"), "");
    let (code, _, err) = call("svc", &["-wU", "-T", "20000", w], &s.path);
    assert_eq!(code, 0, "{err} {}", supervise_stderr(&web));
    let line = wait_for("the STATUS text", || {
        let l = svstat(&web);
        l.contains("status \"serving 3 clients\"").then_some(l)
    });
    assert!(line.contains(", ready "), "{line}");
    let (_, json, _) = call("svstat", &["--json", w], &s.path);
    assert!(json.contains("\"message\":\"serving 3 clients\""), "{json}");

    // RELOADING=1: not ready until the next READY=1.
    write(web.join("reload"), "");
    wait_for("reloading to show", || {
        svstat(&web)
            .contains(", not ready, reloading")
            .then_some(())
    });
    assert_eq!(call("svstat", &["-r", w], &s.path).0, 1);
    write(web.join("reloaded"), "");
    let (code, _, err) = call("svc", &["-wU", "-T", "20000", w], &s.path);
    assert_eq!(code, 0, "{err}");
    assert!(!svstat(&web).contains("reloading"), "{}", svstat(&web));
}

#[test]
fn a_strangers_datagram_is_ignored() {
    let s = Scratch::new("ready-stranger");
    let web = s.join("web");
    python_run(
        &web,
        "import time\n\
         while not os.path.exists('go'): time.sleep(0.02)\n\
         notify('STATUS=still starting')\n\
         time.sleep(1000)",
    );
    write(web.join("notify"), "");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    // A process outside the service's session claims it is ready.
    let sock = web.join("supervise/notify");
    let o = Command::new("python3")
        .args([
            "-c",
            "import socket, sys\n\
             s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
             s.sendto(b'READY=1\\nSTATUS=hijacked', sys.argv[1])",
            sock.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    // The service's own datagram comes after the stranger's in the queue:
    // once it shows, the stranger's has been read, and ignored.
    write(web.join("go"), "");
    let line = wait_for("the service's own STATUS", || {
        let l = svstat(&web);
        l.contains("still starting").then_some(l)
    });
    assert!(line.contains(", not ready"), "{line}");
    assert!(!line.contains("hijacked"), "{line}");
}

#[test]
fn the_watchdog_restarts_a_service_whose_pings_stop() {
    let s = Scratch::new("watchdog");
    let web = s.join("web");
    python_run(
        &web,
        "import time\n\
         open('env', 'w').write(os.environ['WATCHDOG_USEC'] + ' ' + os.environ['WATCHDOG_PID'] + ' ' + str(os.getpid()))\n\
         notify('READY=1')\n\
         pings = 0\n\
         while not os.path.exists('hang'):\n\
         \x20   notify('WATCHDOG=1')\n\
         \x20   pings += 1\n\
         \x20   open('pings.new', 'w').write(str(pings))\n\
         \x20   os.rename('pings.new', 'pings')\n\
         \x20   time.sleep(0.1)\n\
         time.sleep(1000)",
    );
    write(web.join("notify"), "");
    write(web.join("watchdog-timeout"), "1000\n");
    write(web.join("timeout-kill"), "500\n");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let first = wait_up(&mut r, &web, 0);
    let env = wait_for("the daemon's environment", || {
        fs::read_to_string(web.join("env")).ok()
    });
    let words: Vec<&str> = env.split(' ').collect();
    assert_eq!(words[0], "1000000", "WATCHDOG_USEC");
    assert_eq!(words[1], words[2], "WATCHDOG_PID is the service's pid");
    assert_eq!(words[1], first.to_string());
    // Pinging keeps it alive well past the timeout.
    wait_for("pings to keep it ready", || {
        svstat(&web).contains(", ready ").then_some(())
    });
    // Twice the timeout's worth of pings, and still the same process.
    wait_for("20 pings", || {
        let n: u32 = fs::read_to_string(web.join("pings")).ok()?.parse().ok()?;
        (n >= 20).then_some(())
    });
    assert_eq!(status_pid(&web), first, "{}", supervise_stderr(&web));
    write(web.join("hang"), "");
    fs::remove_file(web.join("env")).unwrap();
    let second = wait_up(&mut r, &web, first);
    assert!(!alive(first) || second != first);
    assert!(
        supervise_stderr(&web).contains("no WATCHDOG=1 within 1000 ms: restarting"),
        "{}",
        supervise_stderr(&web)
    );
}

#[test]
fn three_failed_checks_restart_the_service() {
    let s = Scratch::new("check-fail");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    script(web.join("check"), "echo $$ >> checks; test ! -e sick");
    write(web.join("check-interval"), "100\n");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let first = wait_up(&mut r, &web, 0);
    // The first passing check made it ready, and healthy.
    let w = web.to_str().unwrap();
    let (code, _, err) = call("svc", &["-wU", "-T", "20000", w], &s.path);
    assert_eq!(code, 0, "{err}");
    assert!(svstat(&web).contains(", healthy"), "{}", svstat(&web));
    write(web.join("sick"), "");
    let second = wait_up(&mut r, &web, first);
    assert_ne!(second, first);
    let err = supervise_stderr(&web);
    assert!(
        err.contains("3 checks failed in a row: restarting"),
        "{err}"
    );
}

#[test]
fn a_check_that_hangs_is_killed() {
    let s = Scratch::new("check-hang");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    script(web.join("check"), "echo $$ >> checks; exec sleep 1000");
    write(web.join("check-interval"), "200\n");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    // The second check starts only after the first was killed.
    let pids = wait_for("a second check", || {
        let l = lines(&web.join("checks"));
        (l.len() >= 2).then_some(l)
    });
    let first: i32 = pids[0].parse().unwrap();
    wait_for("the hung check to be killed", || {
        (!alive(first)).then_some(())
    });
    let line = svstat(&web);
    assert!(line.contains(", not ready"), "never passed: {line}");
    for p in lines(&web.join("checks")) {
        r.adopt(p.parse().unwrap());
    }
}

#[test]
fn the_memory_guard_restarts_a_service_over_its_limit() {
    let s = Scratch::new("memory");
    let web = s.join("web");
    python_run(
        &web,
        "import time\n\
         while not os.path.exists('grow'): time.sleep(0.02)\n\
         hog = bytearray(64 << 20)\n\
         for i in range(0, len(hog), 4096): hog[i] = 1\n\
         time.sleep(1000)",
    );
    write(web.join("memory-limit"), "32M\n");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let first = wait_up(&mut r, &web, 0);
    write(web.join("grow"), "");
    let second = wait_up(&mut r, &web, first);
    assert_ne!(first, second);
    let err = supervise_stderr(&web);
    assert!(
        err.contains("is over memory-limit 33554432: restarting"),
        "{err}"
    );
    let (_, json, _) = call("svstat", &["--json", web.to_str().unwrap()], &s.path);
    assert!(json.contains("\"memory_restarts\":1"), "{json}");
    assert!(svstat(&web).contains(", 1 memory restart"));
}

#[test]
fn an_ordered_start_stops_at_the_first_service_not_ready() {
    let s = Scratch::new("ordered");
    let mut r = Reaper::new();
    let dirs: Vec<_> = ["db", "app", "web"].iter().map(|n| s.join(n)).collect();
    for (i, d) in dirs.iter().enumerate() {
        // app never becomes ready.
        let ready = if i == 1 { "" } else { "echo >&3; " };
        script(d.join("run"), &format!("{ready}exec sleep 1000"));
        write(d.join("notification-fd"), "3\n");
        write(d.join("down"), "");
        start_supervise(&mut r, d);
    }
    let args: Vec<&str> = ["-u", "-wU", "-T", "1000"]
        .into_iter()
        .chain(dirs.iter().map(|d| d.to_str().unwrap()))
        .collect();
    let (code, _, err) = call("svc", &args, &s.path);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("app: timed out"), "{err}");
    wait_up(&mut r, &dirs[0], 0);
    wait_up(&mut r, &dirs[1], 0);
    assert!(svstat(&dirs[0]).contains(", ready "));
    assert!(svstat(&dirs[1]).contains(", not ready"));
    assert_eq!(status_pid(&dirs[2]), 0, "web was never started");
}

#[test]
fn prometheus_output_is_valid_exposition() {
    let s = Scratch::new("prometheus");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    let gone = s.join("gone");
    fs::create_dir(&gone).unwrap();
    let (code, out, err) = call(
        "svstat",
        &[
            "--prometheus",
            web.to_str().unwrap(),
            gone.to_str().unwrap(),
        ],
        &s.path,
    );
    assert_eq!(code, 0, "{err}");
    let w = web.to_str().unwrap();
    assert!(
        out.contains(&format!("svkit_up{{service=\"{w}\"}} 1\n")),
        "{out}"
    );
    assert!(out.contains(&format!(
        "svkit_supervised{{service=\"{}\"}} 0\n",
        gone.display()
    )));
    assert!(out.contains("# TYPE svkit_deaths gauge\n"));
    // promtool, from Debian's prometheus package, is the judge.
    let file = s.join("metrics.prom");
    fs::write(&file, &out).unwrap();
    match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(fs::File::open(&file).unwrap())
        .output()
    {
        Ok(o) => assert!(
            o.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        // CI installs prometheus: a missing promtool is a broken machine.
        Err(e) => panic!("cannot run promtool (apt-get install prometheus): {e}"),
    }
}

#[test]
fn a_check_interval_is_the_only_timer_of_an_idle_service() {
    let s = Scratch::new("check-timer");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    script(web.join("check"), "exit 0");
    write(web.join("check-interval"), "300000\n");
    let mut r = Reaper::new();
    let sup = start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    // Blocked in poll(2) until the first check is due, five minutes on:
    // one wake-up per interval, nothing in between.
    let timeout = wait_for("supervise blocked in poll", || poll_timeout_ms(sup));
    assert!(
        (290_000..=300_000).contains(&timeout),
        "poll timeout {timeout} ms"
    );
}

/// The timeout, in ms, of the poll(2) or ppoll(2) that `pid` is blocked
/// in (x86_64's system call numbers): ppoll's timespec is read from the
/// process's memory.
fn poll_timeout_ms(pid: i32) -> Option<i64> {
    use std::os::unix::fs::FileExt;
    let text = fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
    let f: Vec<&str> = text.split_whitespace().collect();
    let arg = |i: usize| u64::from_str_radix(f.get(i)?.trim_start_matches("0x"), 16).ok();
    match *f.first()? {
        "7" => Some(arg(3)? as i64),
        "271" => {
            let mut ts = [0u8; 16];
            let mem = fs::File::open(format!("/proc/{pid}/mem")).ok()?;
            mem.read_exact_at(&mut ts, arg(3)?).ok()?;
            let sec = i64::from_ne_bytes(ts[..8].try_into().unwrap());
            let nsec = i64::from_ne_bytes(ts[8..].try_into().unwrap());
            Some(sec * 1000 + nsec / 1_000_000)
        }
        _ => None,
    }
}

#[test]
fn a_service_whose_check_never_passes_is_restarted_after_the_grace() {
    let s = Scratch::new("check-grace");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    script(web.join("check"), "echo $$ >> checks; exit 1");
    write(web.join("check-interval"), "100\n");
    write(web.join("check-retries"), "2\n");
    write(web.join("check-grace"), "300\n");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let first = wait_up(&mut r, &web, 0);
    // Never ready, yet restarted: "not ready yet" is no exemption.
    let second = wait_up(&mut r, &web, first);
    assert_ne!(second, first);
    let err = supervise_stderr(&web);
    assert!(
        err.contains("2 checks failed in a row: restarting"),
        "{err}"
    );
    // The grace held off the count: more checks ran than the two counted.
    assert!(lines(&web.join("checks")).len() > 2);
    for p in lines(&web.join("checks")) {
        r.adopt(p.parse().unwrap());
    }
}

#[test]
fn a_runit_check_without_an_interval_decides_readiness() {
    let s = Scratch::new("check-runit");
    let web = s.join("web");
    // A runit service directory: ./check for `sv check`, no interval.
    script(
        web.join("run"),
        "sleep 0.3; echo > listening; exec sleep 1000",
    );
    script(web.join("check"), "echo $$ >> checks; test -e listening");
    write(web.join("down"), "");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let w = web.to_str().unwrap();
    let (code, _, err) = call("svc", &["-u", "-wU", "-T", "20000", w], &s.path);
    assert_eq!(code, 0, "{err} {}", supervise_stderr(&web));
    r.adopt(status_pid(&web));
    let line = svstat(&web);
    assert!(line.contains(", ready "), "{line}");
    // Retried until it passed: the first run came before `listening`.
    assert!(lines(&web.join("checks")).len() >= 2);
    assert_eq!(supervise_stderr(&web), "");
}

#[test]
fn a_check_interval_of_0_is_warned_about_and_treated_as_absent() {
    let s = Scratch::new("check-zero");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    script(web.join("check"), "exit 0");
    write(web.join("check-interval"), "0\n");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    let w = web.to_str().unwrap();
    let (code, _, err) = call("svc", &["-wU", "-T", "20000", w], &s.path);
    assert_eq!(code, 0, "{err} {}", supervise_stderr(&web));
    assert_eq!(
        supervise_stderr(&web),
        format!(
            "supervise: warning: unable to use {w}/check-interval: \
             0 is no interval: check decides readiness only\n"
        )
    );
}

#[test]
fn a_check_that_is_not_executable_is_reported_and_ignored() {
    let s = Scratch::new("check-noexec");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    write(web.join("check"), "exit 1\n");
    write(web.join("check-interval"), "100\n");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    let w = web.to_str().unwrap();
    // Ready as a service without a check, and never restarted for it.
    let (code, _, err) = call("svc", &["-wU", "-T", "20000", w], &s.path);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status_pid(&web), pid);
    let line = svstat(&web);
    assert!(!line.contains("ready"), "no readiness word: {line}");
    assert_eq!(
        supervise_stderr(&web),
        format!("supervise: warning: unable to use {w}/check: not an executable file: ignored\n")
    );
}
