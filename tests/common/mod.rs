//! Helpers shared by the integration tests: scratch directories, processes
//! killed by pid when a test ends, and polling against a deadline.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long any condition may take before a test fails. Generous: the
/// machine is a noisy 2-core box, and a passing test returns as soon as
/// the condition holds.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A fresh directory under the system temp dir, removed on drop.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "svkit-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Scratch { path }
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.path.join(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Writes an executable shell script.
pub fn script(path: impl AsRef<Path>, body: &str) {
    let path = path.as_ref();
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// The path of one of svkit's binaries, built by cargo for this test run.
pub fn bin(name: &str) -> PathBuf {
    // env!("CARGO_BIN_EXE_<name>") wants the name as a literal; cargo puts
    // the same binaries in the parent of the test executable's deps/ dir.
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join(name)
}

/// Runs a binary to completion and returns its output.
pub fn run(name: &str, args: &[&str], cwd: &Path) -> Output {
    Command::new(bin(name))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// Polls `f` until it returns Some or DEADLINE passes (then panics with
/// `what`). Returns the value.
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > DEADLINE {
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Whether process `pid` exists (and is not a zombie).
pub fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let state = s
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next());
            state != Some("Z") && state != Some("X")
        }
        Err(_) => false,
    }
}

/// Sends `sig` to `pid`; errors (it is gone) are ignored.
pub fn kill(pid: i32, sig: i32) {
    unsafe { libc::kill(pid, sig) };
}

/// Processes that must not outlive the test: children started by the test
/// and pids read from status files. Killed (SIGKILL) on drop, by pid.
#[derive(Default)]
pub struct Reaper {
    children: Vec<Child>,
    /// (pid, start time): a pid is killed only if it still names the same
    /// process. pid_max is 32768 here and the suite forks thousands of
    /// processes, so a pid that died early in a test may belong to another
    /// test's supervise by the end of it.
    pids: Vec<(i32, u64)>,
    /// Service dirs whose current service (and its process group) must
    /// go too, whoever started it.
    dirs: Vec<PathBuf>,
}

impl Reaper {
    pub fn new() -> Reaper {
        Reaper::default()
    }

    /// Starts `cmd` and keeps it to be killed later; returns its pid.
    pub fn spawn(&mut self, cmd: &mut Command) -> i32 {
        let child = cmd.stdin(Stdio::null()).spawn().unwrap();
        let pid = child.id() as i32;
        self.children.push(child);
        pid
    }

    /// A pid the test did not start but must clean up (a service).
    pub fn adopt(&mut self, pid: i32) {
        if let Some(start) = start_time(pid)
            && !self.pids.contains(&(pid, start))
        {
            self.pids.push((pid, start));
        }
    }

    /// A service dir whose running service is killed at the end, with its
    /// process group.
    pub fn watch_dir(&mut self, dir: &Path) {
        self.dirs.push(dir.to_path_buf());
    }

    /// The Child of a pid started with `spawn`, to wait for it.
    pub fn child(&mut self, pid: i32) -> &mut Child {
        self.children
            .iter_mut()
            .find(|c| c.id() as i32 == pid)
            .unwrap()
    }

    /// Waits for a spawned child to exit and returns its exit status.
    pub fn wait_exit(&mut self, pid: i32) -> std::process::ExitStatus {
        let child = self.child(pid);
        wait_for("child to exit", || child.try_wait().unwrap())
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        // Supervisors first, so none restarts what is killed next.
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // A service runs in its dir: its cwd says it is ours, where a pid
        // read from a status file may by now name another test's process.
        // (Each run leads its own process group: the group goes too.)
        // A watched dir never made (the test failed first) has no one in it.
        for dir in self.dirs.iter().filter(|d| d.exists()) {
            for pid in pids_in(dir) {
                kill(-pid, libc::SIGKILL);
                kill(pid, libc::SIGKILL);
            }
        }
        for &(pid, start) in &self.pids {
            if start_time(pid) == Some(start) {
                kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// When process `pid` started (clock ticks after boot), None if it is gone.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    fields.get(19)?.parse().ok()
}

/// Processes whose working directory is `dir` (services run in theirs).
/// A `dir` that does not exist fails the test: "nothing runs there" must
/// not pass because the test looked in the wrong place.
pub fn pids_in(dir: &Path) -> Vec<i32> {
    let dir = fs::canonicalize(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let entries = fs::read_dir("/proc").expect("/proc");
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|c| c == dir))
        .collect()
}

/// The raw status file of service dir `dir`, if readable.
pub fn status_bytes(dir: &Path) -> Option<Vec<u8>> {
    fs::read(dir.join("supervise/status")).ok()
}

/// The pid in `dir`'s status (daemontools' offset 12, little-endian); 0 when
/// down or unreadable.
pub fn status_pid(dir: &Path) -> i32 {
    status_bytes(dir)
        .filter(|b| b.len() >= 18)
        .map_or(0, |b| i32::from_le_bytes(b[12..16].try_into().unwrap()))
}

/// Starts svkit's supervise on `dir` (stderr to `dir.err` beside it) and
/// waits until its status shows a supervise running. Returns its pid.
pub fn start_supervise(r: &mut Reaper, dir: &Path) -> i32 {
    let err = fs::File::create(dir.with_extension("err")).unwrap();
    let pid = r.spawn(Command::new(bin("supervise")).arg(dir).stderr(err));
    r.watch_dir(dir);
    wait_for("supervise to publish its status", || {
        status_bytes(dir).map(|_| ())
    });
    pid
}

/// What supervise wrote to stderr so far.
pub fn supervise_stderr(dir: &Path) -> String {
    fs::read_to_string(dir.with_extension("err")).unwrap_or_default()
}

/// Waits until `dir`'s status shows a running service other than `not`;
/// returns its pid and adopts it into `r` so it is killed at the end.
pub fn wait_up(r: &mut Reaper, dir: &Path, not: i32) -> i32 {
    let pid = wait_for("the service to be up", || {
        let p = status_pid(dir);
        (p != 0 && p != not).then_some(p)
    });
    r.adopt(pid);
    pid
}

/// Waits until `dir`'s status shows no running service.
pub fn wait_down(dir: &Path) {
    wait_for("the service to be down", || {
        (status_pid(dir) == 0).then_some(())
    });
}

/// Runs svkit's `name` with `args`; returns (exit code, stdout, stderr).
pub fn call(name: &str, args: &[&str], cwd: &Path) -> (i32, String, String) {
    let o = run(name, args, cwd);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Lines of a file, empty when it does not exist.
pub fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// Copies svkit's `name` into `s/bin/` (mode 0755, dirs 0755 up to `s`),
/// for tests that run it as another user: cargo's target dir may not be
/// reachable by that user.
pub fn bin_copy(s: &Scratch, name: &str) -> PathBuf {
    let dir = s.join("bin");
    fs::create_dir_all(&dir).unwrap();
    for d in [&s.path, &dir] {
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let to = dir.join(name);
    // Copied already: copying over our own hard link would empty cargo's.
    if to.exists() {
        return to;
    }
    // A hard link, where it can be: a copy is a file open for writing, and
    // a process another test thread forks meanwhile holds it open too, so
    // exec'ing it can fail with "Text file busy".
    if fs::hard_link(bin(name), &to).is_err() {
        fs::copy(bin(name), &to).unwrap();
        fs::set_permissions(&to, fs::Permissions::from_mode(0o755)).unwrap();
    }
    to
}

/// Exit code, stdout and stderr of a finished command.
pub fn outcome(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The children of `pid`, from /proc (every thread's list). `pid` must
/// be running: "no children" of a process that is gone would let a test
/// pass that checked nothing.
pub fn children(pid: i32) -> Vec<i32> {
    children_if_running(pid).unwrap_or_else(|| panic!("children of {pid}: not running"))
}

/// The children of `pid`, None when it is gone: for clean-up, which meets
/// processes as they exit.
fn children_if_running(pid: i32) -> Option<Vec<i32>> {
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut out = Vec::new();
    for t in tasks.flatten() {
        let list = fs::read_to_string(t.path().join("children")).unwrap_or_default();
        out.extend(
            list.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    Some(out)
}

/// The command line of `pid`, one string per argument; empty once gone.
pub fn cmdline(pid: i32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Whether `pid` sleeps in poll(2): an event loop with nothing to do.
pub fn idle_in_poll(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/wchan")).is_ok_and(|w| w.contains("poll"))
}

/// A process tree started by a test (scan, or unshare running scan),
/// with its stderr in a file. On drop every process in the tree is
/// stopped, then SIGKILLed, by pid: found through /proc before any dies,
/// so none is reparented out of reach and none restarts another.
pub struct Tree {
    pub child: Child,
    pub pid: i32,
    pub stderr: PathBuf,
}

impl Tree {
    /// Starts `cmd` with stdin from /dev/null and stderr to `stderr`.
    pub fn spawn(cmd: &mut Command, stderr: PathBuf) -> Tree {
        let err = fs::File::create(&stderr).unwrap();
        let child = cmd.stdin(Stdio::null()).stderr(err).spawn().unwrap();
        Tree {
            pid: child.id() as i32,
            child,
            stderr,
        }
    }

    /// Starts svkit's scan on `dir`, its stderr in `dir.err` beside it.
    pub fn scan(dir: &Path) -> Tree {
        Tree::spawn(
            Command::new(bin("scan")).arg(dir),
            dir.with_extension("err"),
        )
    }

    /// What the tree wrote to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Every process below the root, found now.
    pub fn descendants(&self) -> Vec<i32> {
        // The root must run; below it, a process may end while it is read.
        let mut all = children(self.pid);
        let mut next = all.clone();
        while let Some(p) = next.pop() {
            for c in children_if_running(p).unwrap_or_default() {
                all.push(c);
                next.push(c);
            }
        }
        all
    }

    /// Waits for the root to exit and returns its status.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let child = &mut self.child;
        wait_for("the process to exit", || child.try_wait().unwrap())
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let mut seen = Vec::new();
        let mut next = vec![self.pid];
        while let Some(p) = next.pop() {
            kill(p, libc::SIGSTOP);
            seen.push(p);
            let kids = children_if_running(p).unwrap_or_default();
            next.extend(kids.into_iter().filter(|c| !seen.contains(c)));
        }
        for p in seen {
            kill(p, libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails the test unless `unshare --pid --fork --mount-proc` works here
/// (root, a kernel that allows it).
pub fn require_pid_namespaces() {
    let probe = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .output();
    // The tests run as root (README), where this works: failing to is a
    // broken machine, not a pass.
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "unshare --pid --fork --mount-proc does not work here: {probe:?}"
    );
}

/// Starts svkit's scan on `dir` as pid 1 of a new pid namespace, as a
/// container runtime would; returns the guard and scan's pid out here.
pub fn scan_as_pid_1(dir: &Path, stderr: PathBuf) -> (Tree, i32) {
    let ns = Tree::spawn(
        Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc"])
            .arg(bin("scan"))
            .arg(dir),
        stderr,
    );
    let scan = wait_for("scan in the namespace", || {
        children(ns.pid)
            .into_iter()
            .find(|&p| cmdline(p).first().is_some_and(|a| a.ends_with("scan")))
    });
    (ns, scan)
}

/// Shell code that prints the shell's own blocked-signal mask as
/// `SigBlk: HEX`. The shell reads it itself: a forked grep could catch
/// the mask a shell sets for a moment around its own forks.
pub const PRINT_MASK: &str =
    "while read -r k v; do [ \"$k\" = SigBlk: ] && echo \"$k $v\"; done < /proc/$$/status;";

/// Runs svkit's `prog` as nobody (through setuidgid) in `s`, from a copy
/// nobody can reach.
pub fn as_nobody(s: &Scratch, prog: &str, args: &[&str]) -> (i32, String, String) {
    let path = bin_copy(s, prog);
    let o = std::process::Command::new(bin("setuidgid"))
        .arg("nobody")
        .arg(path)
        .args(args)
        .current_dir(&s.path)
        .output()
        .unwrap();
    outcome(&o)
}
