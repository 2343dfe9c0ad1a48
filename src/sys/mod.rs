//! The system calls svkit makes, as small safe wrappers over rustix.
//!
//! Everything above this module is safe Rust; everything that touches a raw
//! fd, a C string or a kernel struct lives here. Calls return `sys::Result`,
//! whose error is the bare `Errno`: the caller says what it was doing.
//!
//! Two kinds of program link this: supervise, svc, svstat, svok, tai64n,
//! scan and logsink (and svscan and multilog) start through origin and
//! have no C library at all (build.rs), the others link glibc. Everything
//! those reach goes through rustix (or `raw`, for the calls rustix lacks);
//! the few wrappers that need the C library itself (`account`'s NSS and
//! ids, `time::local`, `shape`, `program::invoked_name`, `heap::CMalloc`)
//! are for the glibc programs only, and using one from the others fails
//! their link.

pub mod account;
pub mod arena;
pub mod dir;
pub mod env;
pub mod fd;
pub mod fork;
pub mod fs;
pub mod heap;
pub mod inotify;
pub mod limits;
pub mod path;
pub mod pipe;
pub mod poll;
pub mod process;
pub mod program;
pub mod raw;
pub mod shape;
pub mod sigflag;
pub mod signal;
pub mod socket;
pub mod time;

use core::ffi::c_int;
use core::fmt;

pub use fd::Fd;
pub use heap::Malloc;
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

    /// The errno the last failing C library call left behind (glibc
    /// programs only: see the module comment).
    pub fn last() -> Errno {
        // SAFETY: __errno_location always returns this thread's errno slot.
        Errno(unsafe { *libc::__errno_location() })
    }

    /// glibc's description, e.g. "No such file or directory": the same
    /// words whether or not the program links the C library.
    // Not inlined: the table search would be copied into every message
    // that names an errno (several in scan's notices alone).
    #[inline(never)]
    pub fn desc(self) -> &'static str {
        match TEXTS.iter().find(|(n, _)| *n == self.0) {
            Some((_, text)) => text,
            None => "Unknown error",
        }
    }
}

impl From<rustix::io::Errno> for Errno {
    fn from(e: rustix::io::Errno) -> Errno {
        Errno(e.raw_os_error())
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match TEXTS.iter().any(|(n, _)| *n == self.0) {
            true => f.write_str(self.desc()),
            false => write!(f, "Unknown error {}", self.0),
        }
    }
}

/// glibc's strerror texts for the errors svkit's calls can meet.
const TEXTS: &[(c_int, &str)] = &[
    (libc::EPERM, "Operation not permitted"),
    (libc::ENOENT, "No such file or directory"),
    (libc::ESRCH, "No such process"),
    (libc::EINTR, "Interrupted system call"),
    (libc::EIO, "Input/output error"),
    (libc::ENXIO, "No such device or address"),
    (libc::E2BIG, "Argument list too long"),
    (libc::ENOEXEC, "Exec format error"),
    (libc::EBADF, "Bad file descriptor"),
    (libc::ECHILD, "No child processes"),
    (libc::EAGAIN, "Resource temporarily unavailable"),
    (libc::ENOMEM, "Cannot allocate memory"),
    (libc::EACCES, "Permission denied"),
    (libc::EFAULT, "Bad address"),
    (libc::EBUSY, "Device or resource busy"),
    (libc::EEXIST, "File exists"),
    (libc::EXDEV, "Invalid cross-device link"),
    (libc::ENODEV, "No such device"),
    (libc::ENOTDIR, "Not a directory"),
    (libc::EISDIR, "Is a directory"),
    (libc::EINVAL, "Invalid argument"),
    (libc::ENFILE, "Too many open files in system"),
    (libc::EMFILE, "Too many open files"),
    (libc::ENOTTY, "Inappropriate ioctl for device"),
    (libc::ETXTBSY, "Text file busy"),
    (libc::EFBIG, "File too large"),
    (libc::ENOSPC, "No space left on device"),
    (libc::ESPIPE, "Illegal seek"),
    (libc::EROFS, "Read-only file system"),
    (libc::EMLINK, "Too many links"),
    (libc::EPIPE, "Broken pipe"),
    (libc::ERANGE, "Numerical result out of range"),
    (libc::ENAMETOOLONG, "File name too long"),
    (libc::ENOSYS, "Function not implemented"),
    (libc::ENOTEMPTY, "Directory not empty"),
    (libc::ELOOP, "Too many levels of symbolic links"),
    (libc::ENOTSOCK, "Socket operation on non-socket"),
    (libc::EADDRINUSE, "Address already in use"),
    (libc::ECONNREFUSED, "Connection refused"),
    (libc::EOPNOTSUPP, "Operation not supported"),
    (libc::ETIMEDOUT, "Connection timed out"),
    (libc::EDQUOT, "Disk quota exceeded"),
];

/// Turns a C return value into a `Result`, reading errno on -1.
pub(crate) fn check(r: c_int) -> Result<c_int> {
    if r == -1 { Err(Errno::last()) } else { Ok(r) }
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

/// `n` in decimal without allocating, for a forked child: the digits are
/// the tail of `buf`.
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

/// Plain decimal digits as a number; None when `text` is empty, holds
/// anything but digits, or does not fit. One parser for the numbers in
/// settings files and /proc, where each `str::parse` of each integer type
/// inlines one of its own.
pub fn parse_digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |n, &b| {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// What the program was started with, kept for `env` and `process`
/// (the environment children inherit) and handed to rustix (the auxiliary
/// vector after it). The `main!` macro calls this first thing, whichever
/// runtime started the program.
///
/// # Safety
/// `envp` must be the environment the kernel gave the process, unchanged.
pub unsafe fn init(envp: *mut *mut u8) {
    // SAFETY: the caller's promise; rustix reads the auxiliary vector
    // that follows the environment.
    unsafe {
        env::init(envp);
        rustix::param::init(envp);
    }
}

/// Ends the process at once with `code`, without unwinding or flushing
/// anything: callers flush their own buffers first.
pub fn exit(code: i32) -> ! {
    rustix::runtime::exit_group(code)
}

/// The process id of this process.
pub fn getpid() -> i32 {
    rustix::process::getpid().as_raw_nonzero().get()
}

/// The real user id of this process.
pub fn getuid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// The size of a memory page, for reading /proc's page counts.
pub fn page_size() -> u64 {
    // Known from the auxiliary vector once `init` ran; a unit test's
    // process has 4 KiB pages on every system it runs on.
    (rustix::param::page_size() as u64).max(4096)
}

/// The kernel's clock ticks per second (USER_HZ), the unit of /proc's
/// CPU times.
pub fn clock_ticks() -> u64 {
    // From the auxiliary vector once `init` ran; Linux's USER_HZ is 100
    // on every architecture.
    match rustix::param::clock_ticks_per_second() {
        0 => 100,
        hz => hz,
    }
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

    #[test]
    fn digits_only_and_in_range() {
        use super::parse_digits;
        assert_eq!(parse_digits(b"0"), Some(0));
        assert_eq!(parse_digits(b"0042"), Some(42));
        assert_eq!(parse_digits(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"18446744073709551616",
            b"+1",
            b"-1",
            b"1 ",
            b"1a",
        ] {
            assert_eq!(parse_digits(bad), None);
        }
    }
}
