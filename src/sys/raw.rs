//! The system calls rustix does not offer, made with the `syscalls`
//! crate: each one here is a plain kernel call whose arguments are
//! integers or memory this module owns for the length of the call.

use super::{Errno, Fd, Result};
use core::ffi::c_int;
use rustix::runtime::KernelSigSet;
use syscalls::{Sysno, syscall};

impl From<syscalls::Errno> for Errno {
    fn from(e: syscalls::Errno) -> Errno {
        Errno(e.into_raw())
    }
}

/// signalfd4(2): a new descriptor that reads the signals in `set`,
/// non-blocking and close-on-exec.
pub fn signalfd(set: &KernelSigSet) -> Result<Fd> {
    let flags = (libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) as usize;
    // SAFETY: the kernel reads size_of::<KernelSigSet>() bytes (its
    // sigset_t, which KernelSigSet is) from a live reference, and writes
    // nothing; the result is a new descriptor nobody else owns.
    let fd = unsafe {
        syscall!(
            Sysno::signalfd4,
            -1isize as usize,
            set as *const KernelSigSet,
            core::mem::size_of::<KernelSigSet>(),
            flags
        )
    }?;
    Ok(Fd::from_raw(fd as c_int))
}

/// close_range(2) of `lo..=hi`. A kernel without it (before 5.9) leaves
/// the descriptors open: the error is the caller's to ignore.
pub fn close_range(lo: u32, hi: u32) -> Result<()> {
    // SAFETY: closes descriptors only; callers own everything in range
    // (a forked child about to run on its own).
    unsafe { syscall!(Sysno::close_range, lo, hi, 0) }?;
    Ok(())
}

/// sync_file_range(2) with SYNC_FILE_RANGE_WRITE: starts writing `len`
/// bytes of `fd` at `offset` to disk, without waiting.
pub fn sync_file_range(fd: &Fd, offset: u64, len: u64) -> Result<()> {
    // The number from libc: the `syscalls` tables name it differently
    // where the generic table leaves it as it is (aarch64, riscv64).
    let nr = Sysno::new(libc::SYS_sync_file_range as usize).ok_or(Errno(libc::ENOSYS))?;
    let flags = libc::SYNC_FILE_RANGE_WRITE as usize;
    // SAFETY: integers only; the kernel touches no memory of ours.
    unsafe { syscall!(nr, fd.raw(), offset, len, flags) }?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::runtime::{How, KernelSigSet, Signal, kernel_sigprocmask};

    #[test]
    fn signalfd_reads_a_blocked_signal() {
        // The test harness runs tests on threads: block on this one only,
        // and raise the signal at this thread.
        let mut set = KernelSigSet::empty();
        set.insert(Signal::USR2);
        // SAFETY: blocking a signal on this thread affects only it.
        unsafe { kernel_sigprocmask(How::BLOCK, Some(&set)) }.unwrap();
        let fd = signalfd(&set).unwrap();
        let mut buf = [0u8; 128];
        assert_eq!(fd.read(&mut buf), Err(Errno::EAGAIN), "nothing yet");
        // SAFETY: tgkill to our own thread of a blocked signal.
        unsafe {
            let tid = syscall!(Sysno::gettid).unwrap();
            syscall!(Sysno::tgkill, crate::sys::getpid(), tid, libc::SIGUSR2).unwrap();
        }
        assert_eq!(fd.read(&mut buf), Ok(128));
        // ssi_signo is the record's first field.
        assert_eq!(
            u32::from_ne_bytes(buf[..4].try_into().unwrap()),
            libc::SIGUSR2 as u32
        );
        unsafe { kernel_sigprocmask(How::UNBLOCK, Some(&set)) }.unwrap();
    }
}
