//! Keeping a program that forks itself into the background under
//! supervision: daemontools' fghack. See man/fghack.8.

use crate::error::{Doing, Error};
use crate::sys::{fd, fork, process, shape};
use crate::{die, exec};
use alloc::format;
use core::ffi::CStr;

/// How many copies of the pipe the child gets: a daemon that closes the
/// descriptors it knows of still keeps one open (daemontools' 30).
const COPIES: usize = 30;

/// Runs `prog` with copies of a pipe's write end open, waits until every
/// process holding one has closed it (the daemon it forked, too), then
/// returns `prog`'s exit code. A `prog` killed by a signal is an error.
pub fn run(prog_name: &str, prog: &[&CStr]) -> Result<i32, Error> {
    let (r, w) = fd::pipe().doing(|| "create pipe".into())?;
    let Some(pid) = fork::fork().doing(|| "fork".into())? else {
        drop(r);
        for _ in 0..COPIES {
            // A copy fewer is still a copy: carry on.
            let _ = shape::dup_inherited(&w);
        }
        die::fatal(prog_name, &exec::run(prog))
    };
    drop(w);
    let mut junk = [0u8; 256];
    // Whatever the daemon writes is ignored; end of file is the signal.
    while let Ok(1..) = r.read(&mut junk) {}
    let status = process::wait_for(pid).doing(|| format!("wait for {pid}"))?;
    match status.code() {
        Some(code) => Ok(code),
        None => Err(Error::Trouble("child crashed".into())),
    }
}
