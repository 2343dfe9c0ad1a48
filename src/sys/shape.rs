//! The process attributes the run-script tools change before they exec:
//! session, nice value, root directory, locks held across the exec, and
//! the argv memory `ps` shows.

use super::{Errno, Fd, Path, Result, check, retry};
use core::ffi::CStr;

/// Makes this process a session and process-group leader (pgrphack).
pub fn setsid() -> Result<()> {
    // SAFETY: setsid takes no arguments and only fails with EPERM.
    check(unsafe { libc::setsid() }).map(drop)
}

/// Adds `inc` to this process's nice value (chpst -n).
pub fn nice(inc: i32) -> Result<()> {
    // SAFETY: nice(2) may legitimately return -1; errno tells.
    unsafe { *libc::__errno_location() = 0 };
    let r = unsafe { libc::nice(inc) };
    let e = Errno::last();
    if r == -1 && e.0 != 0 { Err(e) } else { Ok(()) }
}

/// Changes the root directory to `path`, then the working directory to
/// the new root (chpst -/).
pub fn chroot(path: &Path) -> Result<()> {
    // SAFETY: valid C strings.
    check(unsafe { libc::chroot(path.as_cstr().as_ptr()) })?;
    check(unsafe { libc::chdir(c"/".as_ptr()) }).map(drop)
}

/// Opens `path` for appending, creating it 0600, without close-on-exec:
/// the lock taken on it must outlive the exec of the program it guards.
pub fn open_lock_file(path: &Path) -> Result<Fd> {
    let flags = libc::O_WRONLY | libc::O_NONBLOCK | libc::O_APPEND | libc::O_CREAT;
    let fd = retry(|| check(unsafe { libc::open(path.as_cstr().as_ptr(), flags, 0o600) }))?;
    Ok(Fd::from_raw(fd))
}

/// Closes descriptor `fd` of the process (chpst -0 -1 -2).
pub fn close(fd: i32) {
    // SAFETY: closing a descriptor nobody else in this process owns; an
    // already closed one gives EBADF, which is what was wanted anyway.
    unsafe { libc::close(fd) };
}

/// Overwrites the argument string `arg` in place with `text`, cut to its
/// length, so that `ps` shows it (readproctitle).
///
/// # Safety
/// `arg` must be one of this process's argv strings, which the kernel
/// placed in writable memory, and the caller must hold no other view of
/// its bytes while and after this writes to them.
pub unsafe fn overwrite_arg(arg: &CStr, text: &[u8]) {
    let len = arg.to_bytes().len().min(text.len());
    let p = arg.as_ptr() as *mut u8;
    // SAFETY: per the contract, `len` bytes from `p` are writable argv.
    unsafe { core::ptr::copy_nonoverlapping(text.as_ptr(), p, len) };
}

/// A copy of `fd` at the lowest free number, inherited across exec; the
/// caller leaves it open for the program exec'd next (fghack).
pub fn dup_inherited(fd: &Fd) -> Result<i32> {
    // SAFETY: dup only reads the descriptor table; the new fd lacks
    // FD_CLOEXEC, as dup(2) always makes it.
    check(unsafe { libc::dup(fd.raw()) })
}

/// Makes descriptor `to` of the process a copy of `from`, inherited
/// across exec (svscanboot's pipe onto fds 0, 1 and 2).
pub fn dup_onto(from: &Fd, to: i32) -> Result<()> {
    // SAFETY: dup2 onto one of the process's standard descriptors, which
    // it owns; the copy lacks FD_CLOEXEC.
    check(unsafe { libc::dup2(from.raw(), to) }).map(drop)
}
