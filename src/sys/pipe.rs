//! Pipe contents without taking them: tee(2) copies what a pipe holds
//! into another pipe and leaves it there, splice(2) drops it later.

use super::{Errno, Fd, Result, check, check_size, retry};

/// Asks for a pipe buffer of `bytes`; returns the size the pipe has now.
/// A refusal (over the system's limit, or no pipe) is no error: the pipe
/// keeps the size it had.
pub fn set_capacity(fd: &Fd, bytes: usize) -> Result<usize> {
    // SAFETY: F_SETPIPE_SZ and F_GETPIPE_SZ take an int and touch no memory.
    let _ = unsafe { libc::fcntl(fd.raw(), libc::F_SETPIPE_SZ, bytes as libc::c_int) };
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd.raw(), libc::F_GETPIPE_SZ) }).map(|n| n as usize)
}

/// Copies up to `len` bytes from the head of the pipe `from` into the pipe
/// `to` without consuming them. 0: `from` is empty and has no writer left;
/// EAGAIN: empty, writers remain.
pub fn tee(from: &Fd, to: &Fd, len: usize) -> Result<usize> {
    retry(|| {
        // SAFETY: tee(2) moves page references between two pipes the caller
        // owns; no memory of this process is read or written.
        check_size(unsafe { libc::tee(from.raw(), to.raw(), len, libc::SPLICE_F_NONBLOCK) })
    })
}

/// Moves up to `len` bytes from the head of the pipe `from` to `to` (for
/// instance /dev/null) without copying them through this process.
pub fn splice(from: &Fd, to: &Fd, len: usize) -> Result<usize> {
    retry(|| {
        // SAFETY: null offsets: both descriptors use their own positions;
        // no memory of this process is touched.
        check_size(unsafe {
            libc::splice(
                from.raw(),
                core::ptr::null_mut(),
                to.raw(),
                core::ptr::null_mut(),
                len,
                0,
            )
        })
    })
}

/// Whether the read end `fd` has no writer left (it may still hold data).
pub fn hung_up(fd: &Fd) -> bool {
    let mut p = libc::pollfd {
        fd: fd.raw(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no waiting.
    match check(unsafe { libc::poll(&mut p, 1, 0) }) {
        Ok(_) => p.revents & libc::POLLHUP != 0,
        // Unknown is "not yet": the caller asks again later.
        Err(Errno(_)) => false,
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
