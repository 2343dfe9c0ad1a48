//! Pipe contents without taking them: tee(2) copies what a pipe holds
//! into another pipe and leaves it there, splice(2) drops it later.

use super::{Fd, Result, retry};
use rustix::event::{PollFd, PollFlags};
use rustix::pipe::SpliceFlags;

/// Asks for a pipe buffer of `bytes`; returns the size the pipe has now.
/// A refusal (over the system's limit, or no pipe) is no error: the pipe
/// keeps the size it had.
pub fn set_capacity(fd: &Fd, bytes: usize) -> Result<usize> {
    let _ = rustix::pipe::fcntl_setpipe_size(fd, bytes);
    Ok(rustix::pipe::fcntl_getpipe_size(fd)?)
}

/// Copies up to `len` bytes from the head of the pipe `from` into the pipe
/// `to` without consuming them. 0: `from` is empty and has no writer left;
/// EAGAIN: empty, writers remain.
pub fn tee(from: &Fd, to: &Fd, len: usize) -> Result<usize> {
    retry(|| Ok(rustix::pipe::tee(from, to, len, SpliceFlags::NONBLOCK)?))
}

/// Moves up to `len` bytes from the head of the pipe `from` to `to` (for
/// instance /dev/null) without copying them through this process.
pub fn splice(from: &Fd, to: &Fd, len: usize) -> Result<usize> {
    // No offsets: both descriptors use their own positions.
    retry(|| {
        Ok(rustix::pipe::splice(
            from,
            None,
            to,
            None,
            len,
            SpliceFlags::empty(),
        )?)
    })
}

/// Whether the read end `fd` has no writer left (it may still hold data).
pub fn hung_up(fd: &Fd) -> bool {
    let mut p = [PollFd::new(fd, PollFlags::IN)];
    let now = rustix::event::Timespec::default();
    match rustix::event::poll(&mut p, Some(&now)) {
        Ok(_) => p[0].revents().contains(PollFlags::HUP),
        // Unknown is "not yet": the caller asks again later.
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fd::pipe;

    #[test]
    fn tee_leaves_the_bytes_for_the_next_reader() {
        let (r, w) = pipe().unwrap();
        let (pr, pw) = pipe().unwrap();
        w.write_all(b"one\ntwo\n").unwrap();
        assert_eq!(tee(&r, &pw, 100), Ok(8));
        let mut buf = [0; 16];
        assert_eq!(pr.read(&mut buf), Ok(8));
        let (nr, nw) = pipe().unwrap();
        assert_eq!(splice(&r, &nw, 4), Ok(4));
        drop(nr);
        assert!(!hung_up(&r));
        drop(w);
        assert!(hung_up(&r));
        assert_eq!(r.read(&mut buf), Ok(4));
        assert_eq!(&buf[..4], b"two\n");
        assert_eq!(tee(&r, &pw, 100), Ok(0));
    }
}
