//! Starting, reaping and watching processes.

use super::{Errno, Fd, Path, Result};
use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::{CStr, c_int};
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
pub fn env_var(name: &str) -> Option<Vec<u8>> {
    super::env::get(name.as_bytes())
}

/// Our environment, `NAME=value` each, without the variables in `drop`.
pub fn environment(drop: &[&str]) -> Vec<CString> {
    let mut env = super::env::entries();
    env.retain(|entry| {
        let name = entry.as_bytes().split(|&b| b == b'=').next().unwrap_or(&[]);
        !drop.iter().any(|d| d.as_bytes() == name)
    });
    env
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
/// does, with our environment (`env`); returns only on failure.
pub fn exec(program: &CStr, argv: &[&CStr]) -> Errno {
    let mut args: Vec<*const u8> = argv.iter().map(|a| a.as_ptr().cast()).collect();
    args.push(core::ptr::null());
    let name = program.to_bytes();
    if name.contains(&b'/') {
        return execve(program, &args);
    }
    // execvp's search: PATH, or its default; an empty entry is the
    // current directory. EACCES from any candidate is the error when none
    // runs, else ENOENT.
    let path = super::env::get(b"PATH").unwrap_or_else(|| b"/bin:/usr/bin".to_vec());
    let mut denied = false;
    for dir in path.split(|&b| b == b':') {
        let full = match dir.is_empty() {
            true => Path::new(name),
            false => Path::new(dir).join(name),
        };
        match execve(full.as_cstr(), &args) {
            Errno(libc::EACCES) => denied = true,
            Errno(libc::ENOENT | libc::ENOTDIR | libc::ENAMETOOLONG | libc::ELOOP) => {}
            e => return e,
        }
    }
    match denied {
        true => Errno(libc::EACCES),
        false => Errno::ENOENT,
    }
}

/// execve(2) with our environment; an executable that is not a binary the
/// kernel runs (ENOEXEC) is run by /bin/sh, as execvp does.
fn execve(program: &CStr, args: &[*const u8]) -> Errno {
    let env = super::env::environ();
    // SAFETY: NULL-terminated arrays of C strings that outlive the call.
    let e = unsafe { rustix::runtime::execve(program, args.as_ptr(), env) };
    if e != rustix::io::Errno::NOEXEC {
        return e.into();
    }
    let mut sh: Vec<*const u8> = alloc::vec![c"sh".as_ptr().cast(), program.as_ptr().cast()];
    sh.extend_from_slice(&args[1..]);
    // SAFETY: as above.
    unsafe { rustix::runtime::execve(c"/bin/sh", sh.as_ptr(), env) }.into()
}
