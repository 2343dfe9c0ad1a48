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
