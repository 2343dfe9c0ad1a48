//! fork(2), for work done in a copy of the process: unlike posix_spawn it
//! runs our own code, without exec'ing a program that may not be there.

use super::{Result, check};

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
