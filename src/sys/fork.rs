//! Starting a process with fork and exec, for a parent that starts many
//! at once: `process::spawn` (posix_spawn, vfork semantics) suspends the
//! parent until each child has exec'd, and on a machine busy with the
//! children started before, that wait grows with every child.

use super::process::Spawn;
use super::{Errno, Path, Result};
use alloc::vec::Vec;
use core::ffi::{CStr, c_char};

unsafe extern "C" {
    /// The process environment, as execve wants it.
    static environ: *const *const c_char;
}

/// Starts `program` with `argv` (argv[0] included) and `opts`, as
/// `process::spawn` does, but returns as soon as the child exists. An
/// exec failure cannot be returned: the child exits 127, as a shell's
/// would.
pub fn fork_exec(program: &Path, argv: &[&CStr], opts: &Spawn) -> Result<i32> {
    let mut args: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    args.push(core::ptr::null());
    let envp: Vec<*const c_char>;
    let env_ptr = match opts.env {
        Some(env) => {
            envp = env
                .iter()
                .map(|e| e.as_ptr())
                .chain([core::ptr::null()])
                .collect();
            envp.as_ptr()
        }
        None => unsafe { environ },
    };
    // SAFETY: signals are blocked across fork so that no handler of ours
    // runs in the child; the child makes only async-signal-safe calls on
    // memory prepared before the fork, then execs or exits.
    unsafe {
        let mut all: libc::sigset_t = core::mem::zeroed();
        let mut saved: libc::sigset_t = core::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, &mut saved);
        let pid = libc::fork();
        if pid == 0 {
            child(program, &args, env_ptr, opts);
        }
        let e = Errno::last();
        libc::sigprocmask(libc::SIG_SETMASK, &saved, core::ptr::null_mut());
        if pid < 0 { Err(e) } else { Ok(pid) }
    }
}

/// The child's side: what posix_spawn's attributes and file actions do,
/// then exec.
unsafe fn child(
    program: &Path,
    args: &[*const c_char],
    env: *const *const c_char,
    opts: &Spawn,
) -> ! {
    unsafe {
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
        libc::_exit(127)
    }
}
