//! Starting, reaping and watching processes.

use super::{Errno, Fd, Path, Result, check};
use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::{CStr, c_char, c_int};

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

/// Starts `program` with `argv` (argv[0] included). Uses posix_spawn, which
/// glibc implements with vfork semantics: no page tables are copied, and an
/// exec failure (ENOENT, EACCES, ENOEXEC) comes back here as the error.
pub fn spawn(program: &Path, argv: &[&CStr], opts: &Spawn) -> Result<i32> {
    if opts.pid_var.is_some() || opts.nofile.is_some() {
        return super::fork::fork_exec_checked(program, argv, opts);
    }
    let mut args: Vec<*mut c_char> = argv.iter().map(|a| a.as_ptr() as *mut c_char).collect();
    args.push(core::ptr::null_mut());
    let envp: Vec<*mut c_char>;
    let env_ptr = match opts.env {
        Some(env) => {
            envp = env
                .iter()
                .map(|e| e.as_ptr() as *mut c_char)
                .chain([core::ptr::null_mut()])
                .collect();
            envp.as_ptr()
        }
        None => unsafe { environ },
    };
    // SAFETY: the attr and file-action objects are initialised before use
    // and destroyed on every path; all pointers outlive the call.
    unsafe {
        let mut attr: libc::posix_spawnattr_t = core::mem::zeroed();
        let mut acts: libc::posix_spawn_file_actions_t = core::mem::zeroed();
        libc::posix_spawnattr_init(&mut attr);
        libc::posix_spawn_file_actions_init(&mut acts);
        let mut flags = libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF;
        if opts.new_session {
            flags |= libc::POSIX_SPAWN_SETSID as i32;
        } else if opts.new_group {
            flags |= libc::POSIX_SPAWN_SETPGROUP;
            libc::posix_spawnattr_setpgroup(&mut attr, 0);
        }
        libc::posix_spawnattr_setflags(&mut attr, flags as libc::c_short);
        // The child starts with no blocked signals and every caught or
        // ignored signal back at its default: a service must see SIGPIPE
        // and SIGTERM as any program started from a shell would.
        let mut empty: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::posix_spawnattr_setsigmask(&mut attr, &empty);
        let mut all: libc::sigset_t = core::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigdelset(&mut all, libc::SIGKILL);
        libc::sigdelset(&mut all, libc::SIGSTOP);
        libc::posix_spawnattr_setsigdefault(&mut attr, &all);
        // dup2 of an fd onto itself in a file action clears FD_CLOEXEC
        // (glibc >= 2.29), which is what passing it down needs.
        for &(from, to) in opts.dup {
            libc::posix_spawn_file_actions_adddup2(&mut acts, from, to);
        }
        let mut pid: libc::pid_t = 0;
        let r = libc::posix_spawn(
            &mut pid,
            program.as_cstr().as_ptr(),
            &acts,
            &attr,
            args.as_ptr(),
            env_ptr,
        );
        libc::posix_spawn_file_actions_destroy(&mut acts);
        libc::posix_spawnattr_destroy(&mut attr);
        if r == 0 { Ok(pid) } else { Err(Errno(r)) }
    }
}

unsafe extern "C" {
    /// The process environment, as posix_spawn wants it.
    static environ: *const *mut c_char;
}

/// The value of our environment variable `name`, if set.
pub fn env_var(name: &str) -> Option<&'static [u8]> {
    // SAFETY: as in `environment`: a NULL-terminated array of C strings
    // that nothing in this single-threaded process changes while we read.
    unsafe {
        let mut p = environ;
        while !p.is_null() && !(*p).is_null() {
            let entry = CStr::from_ptr(*p).to_bytes();
            if let Some(rest) = entry.strip_prefix(name.as_bytes())
                && let Some(value) = rest.strip_prefix(b"=")
            {
                return Some(value);
            }
            p = p.add(1);
        }
    }
    None
}

/// Our environment, `NAME=value` each, without the variables in `drop`.
pub fn environment(drop: &[&str]) -> Vec<CString> {
    let mut out = Vec::new();
    // SAFETY: environ is a NULL-terminated array of C strings, and nothing
    // in this single-threaded process changes it while we read.
    unsafe {
        let mut p = environ;
        while !p.is_null() && !(*p).is_null() {
            let entry = CStr::from_ptr(*p);
            let name = entry.to_bytes().split(|&b| b == b'=').next().unwrap_or(&[]);
            if !drop.iter().any(|d| d.as_bytes() == name) {
                out.push(CString::from(entry));
            }
            p = p.add(1);
        }
    }
    out
}

/// Reaps one child that has ended, without blocking; None when no child
/// has (ECHILD, no children at all, counts as none).
pub fn reap() -> Option<(i32, WaitStatus)> {
    let mut status: c_int = 0;
    match unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } {
        pid if pid > 0 => Some((pid, WaitStatus(status))),
        _ => None,
    }
}

/// Waits for a particular child to end.
pub fn wait_for(pid: i32) -> Result<WaitStatus> {
    let mut status: c_int = 0;
    loop {
        match check(unsafe { libc::waitpid(pid, &mut status, 0) }) {
            Ok(_) => return Ok(WaitStatus(status)),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A descriptor that becomes readable when `pid` ends, child or not.
pub fn pidfd_open(pid: i32) -> Result<Fd> {
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(Fd::from_raw(r as c_int))
    }
}

/// Marks this process a child subreaper: orphans of its descendants are
/// reparented to it instead of to pid 1.
pub fn become_subreaper() -> Result<()> {
    check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }).map(drop)
}

/// Replaces this process with `program`; returns only on failure.
pub fn exec(program: &CStr, argv: &[&CStr]) -> Errno {
    let mut args: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    args.push(core::ptr::null());
    // SAFETY: NUL-terminated argv of valid C strings.
    unsafe { libc::execvp(program.as_ptr(), args.as_ptr()) };
    Errno::last()
}
