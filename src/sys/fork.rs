//! fork(2): for a parent that starts many programs at once (`fork_exec`:
//! posix_spawn, with vfork semantics, suspends the parent until each child
//! has exec'd, and on a machine busy with the children started before, that
//! wait grows with every child), and for work done in a copy of the process
//! (`fork`: unlike posix_spawn it runs our own code).

use super::process::Spawn;
use super::{Errno, Path, Result, check};
use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::{CStr, c_char, c_int};

unsafe extern "C" {
    /// The process environment, as execve wants it.
    static environ: *const *const c_char;
}

/// Starts `program` with `argv` (argv[0] included) and `opts`, as
/// `process::spawn` does, but returns as soon as the child exists. An
/// exec failure cannot be returned: the child exits 127, as a shell's
/// would.
pub fn fork_exec(program: &Path, argv: &[&CStr], opts: &Spawn) -> Result<i32> {
    start(program, argv, opts, false)
}

/// As `fork_exec`, but waits for the exec and returns its failure, as
/// posix_spawn does; `opts.pid_var` (which posix_spawn cannot offer) is
/// set to the child's own pid.
pub fn fork_exec_checked(program: &Path, argv: &[&CStr], opts: &Spawn) -> Result<i32> {
    start(program, argv, opts, true)
}

fn start(program: &Path, argv: &[&CStr], opts: &Spawn, checked: bool) -> Result<i32> {
    let mut args: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    args.push(core::ptr::null());
    let inherited;
    let env: Option<&[CString]> = match (opts.env, opts.pid_var) {
        (Some(env), _) => Some(env),
        (None, Some(var)) => {
            inherited = super::process::environment(&[var]);
            Some(&inherited)
        }
        (None, None) => None,
    };
    // "VAR=" and room for the digits, filled in by the child.
    let mut pid_entry: Vec<u8> = Vec::new();
    if let Some(var) = opts.pid_var {
        pid_entry.extend_from_slice(var.as_bytes());
        pid_entry.push(b'=');
        pid_entry.resize(var.len() + 1 + 12, 0);
    }
    // One raw pointer for both the environment and the child's write.
    let entry_ptr = pid_entry.as_mut_ptr();
    let envp: Vec<*const c_char>;
    let env_ptr = match env {
        Some(env) => {
            envp = env
                .iter()
                .map(|e| e.as_ptr())
                .chain(opts.pid_var.map(|_| entry_ptr.cast_const().cast()))
                .chain([core::ptr::null()])
                .collect();
            envp.as_ptr()
        }
        None => unsafe { environ },
    };
    // The child reports a failed exec through this pipe; a successful exec
    // closes it (close-on-exec), so the parent reads end-of-file.
    let report = match checked {
        true => Some(super::fd::pipe()?),
        false => None,
    };
    // SAFETY: signals are blocked across fork so that no handler of ours
    // runs in the child; the child makes only async-signal-safe calls on
    // memory prepared before the fork, then execs or exits.
    let pid = unsafe {
        let mut all: libc::sigset_t = core::mem::zeroed();
        let mut saved: libc::sigset_t = core::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, &mut saved);
        let pid = libc::fork();
        if pid == 0 {
            if let Some(var) = opts.pid_var {
                write_pid(entry_ptr, var.len() + 1);
            }
            let fd = report.as_ref().map_or(-1, |(_, w)| w.raw());
            child(program, &args, env_ptr, opts, fd);
        }
        let e = Errno::last();
        libc::sigprocmask(libc::SIG_SETMASK, &saved, core::ptr::null_mut());
        if pid < 0 {
            return Err(e);
        }
        pid
    };
    if let Some((r, w)) = report {
        drop(w);
        let mut e = [0u8; 4];
        if let Ok(4) = r.read_full(&mut e) {
            let _ = super::process::wait_for(pid);
            return Err(Errno(c_int::from_ne_bytes(e)));
        }
    }
    Ok(pid)
}

/// In the child: writes its pid in decimal at `at` bytes into `entry`.
///
/// # Safety
/// `entry` must have room for at least 10 digits and a NUL after `at`.
unsafe fn write_pid(entry: *mut u8, at: usize) {
    let mut buf = [0u8; 10];
    let digits = super::decimal(unsafe { libc::getpid() } as u32, &mut buf);
    for (i, &d) in digits.iter().enumerate() {
        unsafe { *entry.add(at + i) = d };
    }
}

/// The child's side: what posix_spawn's attributes and file actions do,
/// then exec.
unsafe fn child(
    program: &Path,
    args: &[*const c_char],
    env: *const *const c_char,
    opts: &Spawn,
    report: c_int,
) -> ! {
    unsafe {
        if let Some(soft) = opts.nofile {
            // prlimit, not setrlimit: the programs built without the C
            // library have syscall(2) but no setrlimit.
            let mut lim = [0u64; 2];
            libc::syscall(
                libc::SYS_prlimit64,
                0,
                libc::RLIMIT_NOFILE,
                core::ptr::null::<u64>(),
                lim.as_mut_ptr(),
            );
            lim[0] = soft.min(lim[1]);
            libc::syscall(
                libc::SYS_prlimit64,
                0,
                libc::RLIMIT_NOFILE,
                lim.as_ptr(),
                core::ptr::null_mut::<u64>(),
            );
        }
        if opts.new_session {
            libc::setsid();
        } else if opts.new_group {
            libc::setpgid(0, 0);
        }
        for &(from, to) in opts.dup {
            if from == to {
                libc::fcntl(to, libc::F_SETFD, 0);
            } else if libc::dup2(from, to) < 0 {
                libc::_exit(127);
            }
        }
        // Every caught or ignored signal back at its default, none
        // blocked: the program starts as it would from a shell.
        for sig in 1..libc::SIGRTMAX() {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        let mut empty: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, core::ptr::null_mut());
        libc::execve(program.as_cstr().as_ptr(), args.as_ptr(), env);
        if report >= 0 {
            let e = Errno::last().0.to_ne_bytes();
            libc::write(report, e.as_ptr().cast(), e.len());
        }
        libc::_exit(127)
    }
}

/// Forks. Some(pid) in the parent, None in the child.
pub fn fork() -> Result<Option<i32>> {
    // SAFETY: svkit is single-threaded, so the child may allocate and run
    // any of our code; it ends with `sys::exit`, which flushes nothing.
    let pid = check(unsafe { libc::fork() })?;
    Ok((pid != 0).then_some(pid))
}

/// In a forked child: closes every descriptor but stderr and `keep`, so
/// that the child holds no lock, pipe or file its parent will let go of.
pub fn close_all_but(keep: i32) {
    let range = |lo: i32, hi: i32| {
        if lo <= hi {
            // SAFETY: close_range only closes; a kernel without it (before
            // 5.9) leaves the descriptors open, which costs nothing worse
            // than before.
            unsafe { libc::syscall(libc::SYS_close_range, lo as u32, hi as u32, 0u32) };
        }
    };
    let (a, b) = if keep < 2 { (keep, 2) } else { (2, keep) };
    range(0, a - 1);
    range(a + 1, b - 1);
    range(b + 1, i32::MAX);
}
