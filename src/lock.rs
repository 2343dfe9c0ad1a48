//! Holding a lock file across the exec of a program: daemontools'
//! setlock. See man/setlock.8.

use crate::error::{Doing, Error};
use crate::sys::{Fd, Path, fs, shape};
use alloc::format;

/// Opens (creating) `path` and takes an exclusive flock(2) on it, waiting
/// for it when `wait`, else failing at once if another process holds it.
/// The descriptor stays open across exec, so the lock lasts as long as the
/// program exec'd next (and whatever inherits the descriptor).
pub fn take(path: &Path, wait: bool) -> Result<Fd, Error> {
    let fd = shape::open_lock_file(path).doing(|| format!("open {path}"))?;
    let locked = if wait {
        fs::lock_exclusive(&fd)
    } else {
        fs::lock_exclusive_now(&fd)
    };
    locked.doing(|| format!("lock {path}"))?;
    Ok(fd)
}
