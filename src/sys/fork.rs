//! fork(2): for a parent that starts many programs at once (`fork_exec`:
//! posix_spawn, with vfork semantics, suspends the parent until each child
//! has exec'd, and on a machine busy with the children started before, that
//! wait grows with every child), and for work done in a copy of the process
//! (`fork`: unlike posix_spawn it runs our own code).

use super::process::Spawn;
use super::{Errno, Path, Result};
use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::{CStr, c_char, c_int};
use rustix::fd::BorrowedFd;
use rustix::runtime::{self as rt, Fork, How, KernelSigSet, KernelSigaction, Signal};

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
        None => super::env::environ().cast(),
    };
    // The child reports a failed exec through this pipe; a successful exec
    // closes it (close-on-exec), so the parent reads end-of-file.
    let report = match checked {
        true => Some(super::fd::pipe()?),
        false => None,
    };
    // SAFETY: signals are blocked across fork so that no handler of ours
    // runs in the child; the child makes only raw system calls on memory
    // prepared before the fork, then execs or exits.
    let pid = unsafe {
        let saved = rt::kernel_sigprocmask(How::SETMASK, Some(&KernelSigSet::all()))?;
        let forked = rt::kernel_fork();
        if let Ok(Fork::Child(me)) = forked {
            if let Some(var) = opts.pid_var {
                write_pid(entry_ptr, var.len() + 1, me.as_raw_nonzero().get());
            }
            let fd = report.as_ref().map_or(-1, |(_, w)| w.raw());
            child(program, &args, env_ptr, opts, fd);
        }
        let _ = rt::kernel_sigprocmask(How::SETMASK, Some(&saved));
        match forked? {
            Fork::ParentOf(pid) => pid.as_raw_nonzero().get(),
            Fork::Child(_) => unreachable!("the child execs or exits"),
        }
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

/// In the child: writes `pid` in decimal at `at` bytes into `entry`.
///
/// # Safety
/// `entry` must have room for at least 10 digits and a NUL after `at`.
unsafe fn write_pid(entry: *mut u8, at: usize, pid: i32) {
    let mut buf = [0u8; 10];
    let digits = super::decimal(pid as u32, &mut buf);
    for (i, &d) in digits.iter().enumerate() {
        unsafe { *entry.add(at + i) = d };
    }
}

/// The child's side: a session or group, the dup2s, every signal at its
/// default and none blocked, then exec; an exec failure goes to `report`.
unsafe fn child(
    program: &Path,
    args: &[*const c_char],
    env: *const *const c_char,
    opts: &Spawn,
    report: c_int,
) -> ! {
    unsafe {
        if let Some(soft) = opts.nofile {
            use rustix::process::{Resource, getrlimit, setrlimit};
            let mut lim = getrlimit(Resource::Nofile);
            lim.current = Some(lim.maximum.map_or(soft, |hard| soft.min(hard)));
            let _ = setrlimit(Resource::Nofile, lim);
        }
        if opts.new_session {
            let _ = rustix::process::setsid();
        } else if opts.new_group {
            let _ = rustix::process::setpgid(None, None);
        }
        for &(from, to) in opts.dup {
            if from == to {
                let fd = BorrowedFd::borrow_raw(to);
                let _ = rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty());
            } else {
                // dup2 closes `to` and makes it a copy of `from`: the
                // OwnedFd stands for the number only and is never dropped.
                let mut target = core::mem::ManuallyDrop::new(
                    <rustix::fd::OwnedFd as rustix::fd::FromRawFd>::from_raw_fd(to),
                );
                if rustix::io::dup2(BorrowedFd::borrow_raw(from), &mut target).is_err() {
                    rt::exit_group(127);
                }
            }
        }
        // Every caught or ignored signal back at its default, none
        // blocked: the program starts as it would from a shell.
        let default = KernelSigaction {
            sa_handler_kernel: rt::KERNEL_SIG_DFL,
            ..Default::default()
        };
        for sig in 1..=rt::KERNEL_SIGRTMAX {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                let _ =
                    rt::kernel_sigaction(Signal::from_raw_unchecked(sig), Some(default.clone()));
            }
        }
        let _ = rt::kernel_sigprocmask(How::SETMASK, Some(&KernelSigSet::empty()));
        let e = rt::execve(program.as_cstr(), args.as_ptr().cast(), env.cast());
        if report >= 0 {
            let e = e.raw_os_error().to_ne_bytes();
            let _ = rustix::io::write(BorrowedFd::borrow_raw(report), &e);
        }
        rt::exit_group(127)
    }
}

/// Forks. Some(pid) in the parent, None in the child.
pub fn fork() -> Result<Option<i32>> {
    // SAFETY: svkit is single-threaded, so the child may allocate and run
    // any of our code; it ends with `sys::exit`, which flushes nothing.
    match unsafe { rt::kernel_fork() }? {
        Fork::ParentOf(pid) => Ok(Some(pid.as_raw_nonzero().get())),
        Fork::Child(_) => Ok(None),
    }
}

/// In a forked child: closes every descriptor but stderr and `keep`, so
/// that the child holds no lock, pipe or file its parent will let go of.
pub fn close_all_but(keep: i32) {
    let range = |lo: i32, hi: i32| {
        if lo <= hi {
            // A kernel without close_range (before 5.9) leaves the
            // descriptors open, which costs nothing worse than before.
            let _ = super::raw::close_range(lo as u32, hi as u32);
        }
    };
    let (a, b) = if keep < 2 { (keep, 2) } else { (2, keep) };
    range(0, a - 1);
    range(a + 1, b - 1);
    range(b + 1, i32::MAX);
}
