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
    Command::new(bin(name)).args(args).current_dir(cwd).output().unwrap()
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
            let state = s.rsplit(')').next().and_then(|r| r.split_whitespace().next());
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
    pids: Vec<i32>,
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
        if pid > 0 && !self.pids.contains(&pid) {
            self.pids.push(pid);
        }
    }

    /// The Child of a pid started with `spawn`, to wait for it.
    pub fn child(&mut self, pid: i32) -> &mut Child {
        self.children.iter_mut().find(|c| c.id() as i32 == pid).unwrap()
    }

    /// Waits for a spawned child to exit and returns its exit status.
    pub fn wait_exit(&mut self, pid: i32) -> std::process::ExitStatus {
        let child = self.child(pid);
        wait_for("child to exit", || child.try_wait().unwrap())
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        for pid in &self.pids {
            kill(*pid, libc::SIGKILL);
        }
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
