//! package/container's recipe without Docker: scan as pid 1 of a new pid
//! namespace, as a container runtime would start it. Services and their
//! loggers start, an orphan is reaped, and SIGTERM (what `docker stop`
//! sends) stops everything in order, well inside Docker's 10 s grace period.

mod common;

use common::*;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

/// Docker's default grace period between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(10);

#[test]
fn scan_as_a_containers_pid_1_starts_reaps_and_stops_in_order() {
    require_pid_namespaces();
    let s = Scratch::new("container");
    let tree = s.join("service");
    let app = tree.join("app");
    let release = s.join("release");
    // The app says goodbye on SIGTERM: that line reaches the log only if
    // its logger is still running when it leaves.
    script(
        app.join("run"),
        &format!(
            "exec 2>&1\n\
             trap 'echo app stopping; exit 0' TERM\n\
             sh -c '(while [ ! -e {} ]; do sleep 0.05; done) & exit 0'\n\
             echo app started\n\
             while :; do sleep 0.05; done",
            release.display()
        ),
    );
    script(
        app.join("log/run"),
        &format!("exec {} ./main", bin("logsink").display()),
    );
    let (mut ns, scan) = scan_as_pid_1(&tree, s.join("scan.err"));
    let current = app.join("log/main/current");
    wait_for("the app's first line in its log", || {
        lines(&current)
            .contains(&"app started".to_string())
            .then_some(())
    });
    // The double-forked orphan now belongs to scan, pid 1 in there.
    let orphan = wait_for("the orphan to be scan's child", || {
        children(scan)
            .into_iter()
            .find(|&p| cmdline(p).iter().any(|a| a.contains("release")))
    });
    fs::write(&release, "").unwrap();
    wait_for("the orphan to be reaped, not left a zombie", || {
        (!Path::new(&format!("/proc/{orphan}")).exists()).then_some(())
    });

    let asked = Instant::now();
    kill(scan, libc::SIGTERM);
    let status = ns.wait_exit();
    let took = asked.elapsed();
    assert_eq!(status.code(), Some(0), "{}", ns.stderr());
    assert!(took < GRACE, "scan took {took:?} to stop");
    assert_eq!(
        lines(&current),
        ["app started", "app stopping"],
        "the service stopped before its logger"
    );
}
