//! multilog's processor protocol: `sh -c PROCESSOR` in the log directory
//! with `previous` on fd 0, `processed` on fd 1, `state` on fd 4 and
//! `newstate` on fd 5.

use crate::error::{Doing, Error};
use crate::sys::dir::{Dir, dup_above};
use crate::sys::process::{Spawn, WaitStatus, spawn, wait_for};
use crate::sys::{Fd, Path, fs};
use alloc::ffi::CString;
use alloc::format;
use alloc::string::String;

/// Runs the processor once and waits for it.
pub fn run(dir: &Dir, program: &[u8]) -> Result<WaitStatus, Error> {
    let what = || format!("run processor {}", String::from_utf8_lossy(program));
    let open = |name: &str, flags: i32| -> Result<Fd, Error> {
        // Numbered 10 and up, so filling the child's 0, 1, 4 and 5 in turn
        // never overwrites a descriptor still to be copied.
        dir.open_file(&Path::from(name), flags, 0o644)
            .and_then(|f| dup_above(&f, 10))
            .doing(|| format!("open {name} for the processor"))
    };
    let trunc = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC;
    let previous = open("previous", libc::O_RDONLY)?;
    let processed = open("processed", trunc)?;
    let state = open("state", libc::O_RDONLY)?;
    let newstate = open("newstate", trunc)?;
    let command = CString::new(program).map_err(|_| Error::other(what(), "NUL in processor"))?;
    let back = fs::open_cwd().doing(what)?;
    fs::fchdir(dir.fd()).doing(what)?;
    let pid = spawn(
        &Path::from("/bin/sh"),
        &[c"sh", c"-c", &command],
        &Spawn {
            dup: &[
                (previous.raw(), 0),
                (processed.raw(), 1),
                (state.raw(), 4),
                (newstate.raw(), 5),
            ],
            ..Spawn::default()
        },
    );
    // Relative script paths were resolved at start-up, yet messages and
    // later processors must not depend on where this one ran.
    let back_ok = fs::fchdir(&back);
    let status = wait_for(pid.doing(what)?).doing(what)?;
    back_ok.doing(what)?;
    Ok(status)
}
