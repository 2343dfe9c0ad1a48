//! Waiting for several descriptors and a deadline at once.

use super::{Errno, Fd, Result, check};
use alloc::vec::Vec;
use core::time::Duration;

/// One descriptor to watch; `ready` is filled in by `wait`.
#[derive(Clone, Copy, Debug)]
pub struct Watch {
    pub fd: i32,
    pub ready: bool,
}

impl Watch {
    /// Watch `fd` for input (or hang-up, which also means "read it now").
    pub fn input(fd: &Fd) -> Watch {
        Watch {
            fd: fd.raw(),
            ready: false,
        }
    }
}

/// Blocks until one of `watches` is readable or `timeout` passes (None: no
/// timeout, so an idle process makes no wake-ups at all). The caller's
/// signals arrive as input on its signalfd (see `signal::Signals`); a
/// signal it did not block ends the wait early with nothing ready.
pub fn wait(watches: &mut [Watch], timeout: Option<Duration>) -> Result<()> {
    let mut fds: Vec<libc::pollfd> = watches
        .iter()
        .map(|w| libc::pollfd {
            fd: w.fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = match timeout {
        None => -1,
        // Round up: waking a millisecond early would spin until the deadline.
        Some(t) => t.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32,
    };
    match check(unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) }) {
        Ok(_) | Err(Errno::EINTR) => {}
        Err(e) => return Err(e),
    }
    for (w, p) in watches.iter_mut().zip(fds.iter()) {
        w.ready = p.revents != 0;
    }
    Ok(())
}
