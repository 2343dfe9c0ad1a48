//! Starting, reaping and watching processes.

use super::{Errno, Fd, Path, Result};
use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::{CStr, c_char, c_int};
use rustix::process::{Pid, PidfdFlags, WaitOptions};

/// How a child ended, as waitpid(2) reports it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct WaitStatus(pub i32);

impl WaitStatus {
    /// The exit code, when the process exited.
    pub fn code(self) -> Option<i32> {
        libc::WIFEXITED(self.0).then(|| libc::WEXITSTATUS(self.0))
    }
    /// The signal that killed it, when one did.
    pub fn signal(self) -> Option<i32> {
        libc::WIFSIGNALED(self.0).then(|| libc::WTERMSIG(self.0))
    }
}

/// What a new process gets besides its arguments.
#[derive(Default)]
pub struct Spawn<'a> {
    /// Start a new session (and process group) led by the child.
    pub new_session: bool,
    /// Start a new process group led by the child (ignored with a session).
    pub new_group: bool,
    /// (from, to): the child's fd `to` is a copy of our `from`.
    pub dup: &'a [(c_int, c_int)],
    /// Replacement environment, `NAME=value` each; None inherits ours.
    pub env: Option<&'a [CString]>,
    /// Also set this variable to the child's own pid (sd_notify's
    /// WATCHDOG_PID). posix_spawn cannot know the pid before the exec, so
    /// this takes the slower fork path.
    pub pid_var: Option<&'a str>,
    /// Set the child's soft limit of open files to this (a parent that
    /// raised its own gives its children the limit they would have had).
    /// Takes the fork path too.
    pub nofile: Option<u64>,
}

/// Starts `program` with `argv` (argv[0] included) and waits for the exec,
/// so that its failure (ENOENT, EACCES, ENOEXEC) comes back here as the
/// error: `fork::fork_exec_checked`. A fork, not posix_spawn's vfork: no
/// C library here, and these programs are small.
pub fn spawn(program: &Path, argv: &[&CStr], opts: &Spawn) -> Result<i32> {
    super::fork::fork_exec_checked(program, argv, opts)
}

/// The value of our environment variable `name`, if set.
pub fn env_var(name: &str) -> Option<&'static [u8]> {
    super::env::entries().find_map(|entry| {
        entry
            .to_bytes()
            .strip_prefix(name.as_bytes())?
            .strip_prefix(b"=")
    })
}

/// Our environment, `NAME=value` each, without the variables in `drop`.
pub fn environment(drop: &[&str]) -> Vec<CString> {
    super::env::entries()
        .filter(|entry| {
            let name = entry.to_bytes().split(|&b| b == b'=').next().unwrap_or(&[]);
            !drop.iter().any(|d| d.as_bytes() == name)
        })
        .map(CString::from)
        .collect()
}

/// Reaps one child that has ended, without blocking; None when no child
/// has (ECHILD, no children at all, counts as none).
pub fn reap() -> Option<(i32, WaitStatus)> {
    // wait(2)'s any child, wherever its group: rustix's waitpid(None)
    // would be pid 0, our own process group only.
    match rustix::process::wait(WaitOptions::NOHANG) {
        Ok(Some((pid, status))) => Some((pid.as_raw_nonzero().get(), WaitStatus(status.as_raw()))),
        _ => None,
    }
}

/// Waits for a particular child to end.
pub fn wait_for(pid: i32) -> Result<WaitStatus> {
    let pid = Pid::from_raw(pid).ok_or(Errno::EINVAL)?;
    loop {
        match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
            Ok(Some((_, status))) => return Ok(WaitStatus(status.as_raw())),
            Ok(None) => return Err(Errno::ECHILD),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// A descriptor that becomes readable when `pid` ends, child or not.
pub fn pidfd_open(pid: i32) -> Result<Fd> {
    let pid = Pid::from_raw(pid).ok_or(Errno::EINVAL)?;
    Ok(rustix::process::pidfd_open(pid, PidfdFlags::empty())?.into())
}

/// Marks this process a child subreaper: orphans of its descendants are
/// reparented to it instead of to pid 1.
pub fn become_subreaper() -> Result<()> {
    Ok(rustix::process::set_child_subreaper(Some(
        rustix::process::getpid(),
    ))?)
}

/// Replaces this process with `program`, looked for on PATH as execvp(3)
/// does; returns only on failure. (The C library's: glibc programs only.)
pub fn exec(program: &CStr, argv: &[&CStr]) -> Errno {
    let mut args: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    args.push(core::ptr::null());
    // SAFETY: NUL-terminated argv of valid C strings.
    unsafe { libc::execvp(program.as_ptr(), args.as_ptr()) };
    Errno::last()
}
