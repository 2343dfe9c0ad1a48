//! Owned file descriptors and buffered text output to them.

use super::{Result, check, check_size, retry};
use alloc::vec::Vec;
use core::ffi::c_int;
use core::fmt;

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
        retry(|| check_size(unsafe { libc::read(self.0, buf.as_mut_ptr().cast(), buf.len()) }))
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
            let spare = out.spare_capacity_mut();
            // SAFETY: read(2) writes at most spare.len() bytes into spare.
            let n = retry(|| {
                check_size(unsafe { libc::read(self.0, spare.as_mut_ptr().cast(), spare.len()) })
            })?;
            if n == 0 {
                return Ok(());
            }
            // SAFETY: read(2) initialised the first n bytes of the spare room.
            unsafe { out.set_len(out.len() + n) };
        }
    }

    /// One write(2); returns how much was taken.
    pub fn write(&self, buf: &[u8]) -> Result<usize> {
        retry(|| check_size(unsafe { libc::write(self.0, buf.as_ptr().cast(), buf.len()) }))
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
        retry(|| check(unsafe { libc::fsync(self.0) })).map(drop)
    }

    /// Sets or clears O_NONBLOCK.
    pub fn set_nonblocking(&self, on: bool) -> Result<()> {
        let flags = check(unsafe { libc::fcntl(self.0, libc::F_GETFL) })?;
        let flags = if on {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        check(unsafe { libc::fcntl(self.0, libc::F_SETFL, flags) }).map(drop)
    }

    /// Sets or clears FD_CLOEXEC.
    pub fn set_cloexec(&self, on: bool) -> Result<()> {
        let flag = if on { libc::FD_CLOEXEC } else { 0 };
        check(unsafe { libc::fcntl(self.0, libc::F_SETFD, flag) }).map(drop)
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor; a failing close loses nothing we
        // could still act on (every write that matters was checked or synced).
        unsafe { libc::close(self.0) };
    }
}

/// A pipe: (read end, write end), both close-on-exec.
pub fn pipe() -> Result<(Fd, Fd)> {
    let mut fds = [0 as c_int; 2];
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    Ok((Fd(fds[0]), Fd(fds[1])))
}

/// Writes bytes to a descriptor this process does not own (0, 1, 2).
fn write_raw(fd: c_int, mut buf: &[u8]) -> Result<()> {
    while !buf.is_empty() {
        let n = retry(|| check_size(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) }))?;
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
