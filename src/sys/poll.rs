//! Waiting for several descriptors and a deadline at once.

use super::{Fd, Result};
use alloc::vec::Vec;
use core::time::Duration;
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::BorrowedFd;

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
    let mut fds: Vec<PollFd<'_>> = watches
        .iter()
        // SAFETY: each Watch was made from an Fd the caller still holds
        // open for the length of the call.
        .map(|w| PollFd::from_borrowed_fd(unsafe { BorrowedFd::borrow_raw(w.fd) }, PollFlags::IN))
        .collect();
    // Rounded up to the millisecond as poll(2) was: waking early would
    // spin until the deadline.
    let ts = timeout.map(|t| {
        let ms = t.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i64;
        Timespec {
            tv_sec: ms / 1000,
            tv_nsec: (ms % 1000) * 1_000_000,
        }
    });
    match rustix::event::poll(&mut fds, ts.as_ref()) {
        Ok(_) | Err(rustix::io::Errno::INTR) => {}
        Err(e) => return Err(e.into()),
    }
    for (w, p) in watches.iter_mut().zip(fds.iter()) {
        w.ready = !p.revents().is_empty();
    }
    Ok(())
}
