//! Owned file descriptors and buffered text output to them.

use super::{Result, retry};
use alloc::vec::Vec;
use core::ffi::c_int;
use core::fmt;
use rustix::fd::{AsFd, BorrowedFd};
use rustix::fs::OFlags;
use rustix::io::{Errno as E, FdFlags};

/// An open file descriptor, closed when dropped.
#[derive(Debug)]
pub struct Fd(c_int);

impl Fd {
    /// Takes ownership of `raw`, which must be open and owned by nobody else.
    pub fn from_raw(raw: c_int) -> Fd {
        Fd(raw)
    }

    /// The descriptor number, still owned by `self`.
    pub fn raw(&self) -> c_int {
        self.0
    }

    /// Gives up ownership without closing.
    pub fn into_raw(self) -> c_int {
        let raw = self.0;
        core::mem::forget(self);
        raw
    }

    /// One read(2); 0 means end of file.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize> {
        retry(|| Ok(rustix::io::read(self, &mut *buf)?))
    }

    /// Reads until `buf` is full or end of file; returns the bytes read.
    pub fn read_full(&self, buf: &mut [u8]) -> Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match self.read(&mut buf[n..])? {
                0 => break,
                k => n += k,
            }
        }
        Ok(n)
    }

    /// Reads everything up to end of file, appending to `out`.
    pub fn read_to_end(&self, out: &mut Vec<u8>) -> Result<()> {
        // Straight into the Vec's spare room: a 4 KB buffer on the stack
        // would leave every idle supervise one more dirty stack page.
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.len().max(256));
            }
            let n = retry(|| Ok(rustix::io::read(self, rustix::buffer::spare_capacity(out))?))?;
            if n == 0 {
                return Ok(());
            }
        }
    }

    /// One write(2); returns how much was taken.
    pub fn write(&self, buf: &[u8]) -> Result<usize> {
        retry(|| Ok(rustix::io::write(self, buf)?))
    }

    /// Writes all of `buf`, however many calls that takes.
    pub fn write_all(&self, mut buf: &[u8]) -> Result<()> {
        while !buf.is_empty() {
            let n = self.write(buf)?;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// fsync(2).
    pub fn sync(&self) -> Result<()> {
        retry(|| Ok(rustix::fs::fsync(self)?))
    }

    /// Sets or clears O_NONBLOCK.
    pub fn set_nonblocking(&self, on: bool) -> Result<()> {
        let mut flags = rustix::fs::fcntl_getfl(self)?;
        flags.set(OFlags::NONBLOCK, on);
        Ok(rustix::fs::fcntl_setfl(self, flags)?)
    }

    /// Sets or clears FD_CLOEXEC.
    pub fn set_cloexec(&self, on: bool) -> Result<()> {
        let flags = if on {
            FdFlags::CLOEXEC
        } else {
            FdFlags::empty()
        };
        Ok(rustix::io::fcntl_setfd(self, flags)?)
    }
}

impl AsFd for Fd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: an Fd owns an open descriptor until it is dropped, which
        // the borrow outlives.
        unsafe { BorrowedFd::borrow_raw(self.0) }
    }
}

impl From<rustix::fd::OwnedFd> for Fd {
    fn from(fd: rustix::fd::OwnedFd) -> Fd {
        Fd(rustix::fd::IntoRawFd::into_raw_fd(fd))
    }
}

impl From<Fd> for rustix::fd::OwnedFd {
    fn from(fd: Fd) -> rustix::fd::OwnedFd {
        // SAFETY: the Fd owned the descriptor and gives it up.
        unsafe { rustix::fd::FromRawFd::from_raw_fd(fd.into_raw()) }
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // A negative number stands for "none yet" (Fd::from_raw(-1)).
        if self.0 >= 0 {
            // SAFETY: we own the descriptor; a failing close loses nothing
            // we could still act on (every write that matters was checked
            // or synced).
            unsafe { rustix::io::close(self.0) };
        }
    }
}

/// A pipe: (read end, write end), both close-on-exec.
pub fn pipe() -> Result<(Fd, Fd)> {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    Ok((r.into(), w.into()))
}

/// Writes bytes to a descriptor this process does not own (0, 1, 2).
fn write_raw(fd: c_int, mut buf: &[u8]) -> Result<()> {
    // SAFETY: 0, 1 and 2 stay open for the life of the process (or the
    // write fails with EBADF, which is reported).
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    while !buf.is_empty() {
        let n = match rustix::io::write(fd, buf) {
            Err(E::INTR) => continue,
            r => r?,
        };
        buf = &buf[n..];
    }
    Ok(())
}

/// Text collected in memory and written to fd 1 or 2 in one go: one
/// write(2) per message keeps lines from interleaving in a shared log.
pub struct Out {
    fd: c_int,
    buf: Vec<u8>,
}

impl Out {
    /// Buffered standard output.
    pub fn stdout() -> Out {
        Out {
            fd: 1,
            buf: Vec::new(),
        }
    }

    /// Buffered standard error.
    pub fn stderr() -> Out {
        Out {
            fd: 2,
            buf: Vec::new(),
        }
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// Writes out what was collected.
    pub fn flush(&mut self) -> Result<()> {
        let r = write_raw(self.fd, &self.buf);
        self.buf.clear();
        r
    }
}

impl fmt::Write for Out {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.buf.extend_from_slice(s.as_bytes());
        Ok(())
    }
}
