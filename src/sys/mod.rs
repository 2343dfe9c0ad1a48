//! The system calls svkit makes, as small safe wrappers over libc.
//!
//! Everything above this module is safe Rust; everything that touches a raw
//! fd, a C string or a libc struct lives here. Calls return `sys::Result`,
//! whose error is the bare `Errno`: the caller says what it was doing.

pub mod account;
pub mod arena;
pub mod dir;
pub mod env;
pub mod fd;
pub mod fork;
pub mod fs;
pub mod inotify;
pub mod limits;
pub mod path;
pub mod pipe;
pub mod poll;
pub mod process;
pub mod program;
pub mod shape;
pub mod sigflag;
pub mod signal;
pub mod socket;
pub mod time;

use core::ffi::{CStr, c_int};
use core::fmt;

pub use fd::Fd;

// The libc crate leaves linking the C library to std when its "std"
// feature is on, which `cargo test` turns on for dev-dependencies; the
// no_std binaries must then ask for it themselves.
#[link(name = "c")]
unsafe extern "C" {}
pub use path::Path;

/// An errno value, compared by number, shown as the C library's text.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Errno(pub c_int);

/// What every wrapper here returns.
pub type Result<T> = core::result::Result<T, Errno>;

impl Errno {
    pub const ENOENT: Errno = Errno(libc::ENOENT);
    pub const EEXIST: Errno = Errno(libc::EEXIST);
    pub const EINTR: Errno = Errno(libc::EINTR);
    pub const EAGAIN: Errno = Errno(libc::EAGAIN);
    pub const ENXIO: Errno = Errno(libc::ENXIO);
    pub const ESRCH: Errno = Errno(libc::ESRCH);
    pub const ECHILD: Errno = Errno(libc::ECHILD);
    pub const ENOTDIR: Errno = Errno(libc::ENOTDIR);
    pub const EINVAL: Errno = Errno(libc::EINVAL);
    pub const EPIPE: Errno = Errno(libc::EPIPE);
    pub const ENOSPC: Errno = Errno(libc::ENOSPC);

    /// The errno the last failing call left behind.
    pub fn last() -> Errno {
        // SAFETY: __errno_location always returns this thread's errno slot.
        Errno(unsafe { *libc::__errno_location() })
    }

    /// The C library's description, e.g. "No such file or directory".
    pub fn desc(self) -> &'static str {
        // SAFETY: glibc's strerror returns a pointer into its static message
        // table for every known errno; for unknown ones it formats into a
        // static buffer, which is safe because svkit is single-threaded.
        let s = unsafe { CStr::from_ptr(libc::strerror(self.0)) };
        s.to_str().unwrap_or("unknown error")
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.desc())
    }
}

/// Turns a C return value into a `Result`, reading errno on -1.
pub(crate) fn check(r: c_int) -> Result<c_int> {
    if r == -1 { Err(Errno::last()) } else { Ok(r) }
}

/// Like `check` for calls returning `ssize_t`.
pub(crate) fn check_size(r: isize) -> Result<usize> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r as usize)
    }
}

/// Retries a call that a signal handler interrupted: svkit installs its
/// handlers with SA_RESTART, but some calls (poll, open of a FIFO) still
/// return EINTR.
pub(crate) fn retry<T>(mut f: impl FnMut() -> Result<T>) -> Result<T> {
    loop {
        match f() {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

/// `n` in decimal without allocating, for a forked child and for the code
/// that stands in for the C library: the digits are the tail of `buf`.
pub fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

/// The global allocator of every svkit binary: small blocks from a static
/// arena (see `arena`), the rest from the C library's malloc, already
/// mapped into the process, so Rust adds no allocator of its own.
pub struct Malloc;

static ARENA: arena::Arena = arena::Arena::new();

// SAFETY: the arena hands out disjoint 16-aligned blocks and takes back
// only its own; malloc/free/realloc meet GlobalAlloc's contract for
// alignments up to max_align_t (16 on Linux); larger ones go through
// posix_memalign.
unsafe impl core::alloc::GlobalAlloc for Malloc {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        let p = ARENA.alloc(layout.size(), layout.align());
        if !p.is_null() {
            return p;
        }
        if layout.align() <= 16 {
            unsafe { libc::malloc(layout.size()) as *mut u8 }
        } else {
            let mut p = core::ptr::null_mut();
            match unsafe { libc::posix_memalign(&mut p, layout.align(), layout.size()) } {
                0 => p as *mut u8,
                _ => core::ptr::null_mut(),
            }
        }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: core::alloc::Layout) {
        if ARENA.owns(ptr) {
            unsafe { ARENA.dealloc(ptr, layout.size()) }
        } else {
            unsafe { libc::free(ptr as *mut libc::c_void) }
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: core::alloc::Layout, size: usize) -> *mut u8 {
        if layout.align() <= 16 && !ARENA.owns(ptr) {
            unsafe { libc::realloc(ptr as *mut libc::c_void, size) as *mut u8 }
        } else {
            let new = unsafe {
                self.alloc(core::alloc::Layout::from_size_align_unchecked(
                    size,
                    layout.align(),
                ))
            };
            if !new.is_null() {
                unsafe {
                    core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(size));
                    self.dealloc(ptr, layout);
                }
            }
            new
        }
    }
}

/// Ends the process at once with `code`, without unwinding or flushing
/// anything: callers flush their own buffers first.
pub fn exit(code: i32) -> ! {
    // SAFETY: _exit never returns and has no preconditions.
    unsafe { libc::_exit(code) }
}

/// The process id of this process.
pub fn getpid() -> i32 {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }
}

/// The real user id of this process.
pub fn getuid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimal_digits() {
        let mut b = [0; 10];
        for (n, text) in [
            (0, "0"),
            (7, "7"),
            (12345, "12345"),
            (u32::MAX, "4294967295"),
        ] {
            assert_eq!(super::decimal(n, &mut b), text.as_bytes());
        }
    }
}
