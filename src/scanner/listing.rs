//! What DIR holds: every name not starting with '.', classified as a
//! service scan can start, one that cannot start yet, or not a service.
//! Paths are relative: scan works inside DIR.

use super::{Name, Role};
use crate::servicedir::{ServiceDir, parse_ms};
use crate::sys::{Errno, Path, Result, fs, program};
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::time::Duration;

/// Why a name in DIR is not (yet) a service scan can start.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Problem {
    NotDir,
    Dangling,
    NoRun,
    NotExecutable,
    Unreadable(Errno),
}

/// What listing DIR found under one name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Found {
    /// A service directory with an executable run; `log`: with a logger
    /// whose run is executable too; `timeout_kill`: its setting (zero
    /// when absent or invalid, which supervise reports); `pool`: the
    /// count in its `instances` file, None for a plain service.
    Service {
        log: bool,
        timeout_kill: Duration,
        pool: Option<u32>,
    },
    /// A directory whose `run` (or `log/run`) is missing or unusable: not
    /// started yet, but a service already supervised keeps running.
    Waiting(Role, Problem),
    /// Not a service directory: a known service of this name is removed.
    Ignored(Problem),
}

/// Lists the current directory (DIR) and classifies each entry, in name
/// order.
pub fn list() -> Result<Vec<(Name, Found)>> {
    // Shared names from the start: no copy of each made to be dropped.
    let mut names = Vec::new();
    fs::each_name(&Path::from("."), &mut |n| {
        if n.first() != Some(&b'.') {
            names.push(Name::from(n));
        }
    })?;
    // Directory order is arbitrary; sorted, services start in name order.
    // A heap sort, in place: the slice sorts bring 4 KiB of code to scan
    // (and the stable one a 4 KiB scratch buffer to its stack).
    let names = BinaryHeap::from(names).into_sorted_vec();
    // Made at its size: a growing vector would leave the blocks it grew
    // out of behind in scan's heap.
    let mut found = Vec::with_capacity(names.len());
    for n in names {
        if let Some(f) = classify(&Path::new(&n)) {
            found.push((n, f));
        }
    }
    Ok(found)
}

/// What one name in DIR is; None when it has gone since the listing (the
/// next listing will not show it).
pub fn classify(name: &Path) -> Option<Found> {
    match fs::stat(name) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Some(Found::Ignored(Problem::NotDir)),
        // stat follows symlinks: the name is there, what it points to not.
        Err(Errno::ENOENT) | Err(Errno(libc::ELOOP)) if fs::lstat(name).is_ok() => {
            return Some(Found::Ignored(Problem::Dangling));
        }
        Err(Errno::ENOENT) => return None,
        Err(e) => return Some(Found::Waiting(Role::Service, Problem::Unreadable(e))),
    }
    if let Err(p) = runnable(name) {
        return Some(Found::Waiting(Role::Service, p));
    }
    let timeout_kill = ServiceDir::new(name.clone())
        .setting("timeout-kill", &mut |_| {})
        .and_then(|t| parse_ms(&t))
        .unwrap_or(Duration::ZERO);
    let pool = super::instances::pool_of(name);
    let log = name.join("log");
    Some(match fs::stat(&log) {
        Ok(m) if m.is_dir() => match runnable(&log) {
            Ok(()) => Found::Service {
                log: true,
                timeout_kill,
                pool,
            },
            Err(p) => Found::Waiting(Role::Log, p),
        },
        // A file named `log`, or none: no logger (as daemontools' svscan).
        Ok(_) | Err(Errno::ENOENT) => Found::Service {
            log: false,
            timeout_kill,
            pool,
        },
        Err(e) => Found::Waiting(Role::Log, Problem::Unreadable(e)),
    })
}

/// Whether service dir `dir` has a `run` that supervise can start.
fn runnable(dir: &Path) -> core::result::Result<(), Problem> {
    let run = dir.join("run");
    match fs::stat(&run) {
        Err(Errno::ENOENT) => Err(Problem::NoRun),
        Err(e) => Err(Problem::Unreadable(e)),
        Ok(_) if program::is_executable(&run) => Ok(()),
        Ok(_) => Err(Problem::NotExecutable),
    }
}
