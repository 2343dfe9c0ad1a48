//! Signals as flags, for a process whose waits are sleeps and reads of
//! one descriptor (logsink): the signals stay blocked and arrive on a
//! signalfd, which every wait watches besides what it waits for, so no
//! signal slips in between a check of the flags and the wait.

use super::{Errno, Fd, Result};
use core::ffi::c_int;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use core::time::Duration;
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::BorrowedFd;
use rustix::runtime::{How, KernelSigSet, Signal, kernel_sigprocmask};

/// Bit n set: signal n arrived and was not taken yet.
static RAISED: AtomicU64 = AtomicU64::new(0);
/// The signalfd `catch` opened, for the life of the process; -1 before.
static SIGNALS: AtomicI32 = AtomicI32::new(-1);

/// Blocks every signal in `sigs` and has them arrive as flags.
pub fn catch(sigs: &[c_int]) -> Result<()> {
    let mut set = KernelSigSet::empty();
    for &sig in sigs {
        if !(1..=rustix::runtime::KERNEL_SIGRTMAX).contains(&sig) {
            return Err(Errno::EINVAL);
        }
        // SAFETY: in the kernel's range, checked above.
        set.insert(unsafe { Signal::from_raw_unchecked(sig) });
    }
    // SAFETY: blocking signals never breaks memory safety; what is blocked
    // is read from the signalfd instead.
    unsafe { kernel_sigprocmask(How::BLOCK, Some(&set)) }?;
    let fd = super::raw::signalfd(&set)?;
    SIGNALS.store(fd.into_raw(), Ordering::Relaxed);
    Ok(())
}

/// The signalfd, once `catch` opened it.
fn signals() -> Option<BorrowedFd<'static>> {
    match SIGNALS.load(Ordering::Relaxed) {
        -1 => None,
        // SAFETY: opened by `catch` and never closed.
        fd => Some(unsafe { BorrowedFd::borrow_raw(fd) }),
    }
}

/// Moves every signal waiting on the signalfd into RAISED.
fn collect() {
    let Some(fd) = signals() else { return };
    // signalfd(2): 128-byte records, the signal number first. Left
    // uninitialised: zeroing it was origin's byte-at-a-time memset on
    // every check, a third of multilog's instructions (one per 1024-byte
    // block).
    let mut buf = [MaybeUninit::<u8>::uninit(); 128 * 4];
    while let Ok((got, _)) = rustix::io::read(fd, &mut buf) {
        for info in got.chunks_exact(128) {
            let signo = u32::from_ne_bytes([info[0], info[1], info[2], info[3]]);
            RAISED.fetch_or(1 << (signo & 63), Ordering::Relaxed);
        }
        if got.len() < 128 * 4 {
            break;
        }
    }
}

/// Whether `sig` arrived since the last call; clears it.
pub fn take(sig: c_int) -> bool {
    collect();
    let bit = 1 << (sig as u64 & 63);
    RAISED.fetch_and(!bit, Ordering::Relaxed) & bit != 0
}

/// Waits until `fd` is readable (true), a caught signal arrives or
/// `timeout` passes (false). A signal still on the signalfd ends the wait
/// at once, as a pending one did; it becomes a flag then, so it ends no
/// later wait.
fn wait(fd: Option<&Fd>, timeout: Option<Duration>) -> Result<bool> {
    let mut fds: [Option<PollFd<'_>>; 2] = [
        fd.map(|fd| PollFd::new(fd, PollFlags::IN)),
        signals().map(|s| PollFd::from_borrowed_fd(s, PollFlags::IN)),
    ];
    let mut watched: alloc::vec::Vec<PollFd<'_>> =
        fds.iter_mut().filter_map(|f| f.take()).collect();
    let ts = timeout.map(|t| Timespec {
        tv_sec: t.as_secs().min(i32::MAX as u64) as i64,
        tv_nsec: t.subsec_nanos() as i64,
    });
    let r = match rustix::event::poll(&mut watched, ts.as_ref()) {
        Ok(_) => Ok(fd.is_some() && !watched[0].revents().is_empty()),
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(e.into()),
    };
    collect();
    r
}

/// Waits until `fd` is readable (true), or a caught signal arrives or
/// `timeout` passes (false).
pub fn wait_input(fd: &Fd, timeout: Option<Duration>) -> Result<bool> {
    wait(Some(fd), timeout)
}

/// Sleeps for `d`, ending early when a caught signal arrives.
pub fn sleep(d: Duration) {
    // Nothing useful to do about a failing poll.
    let _ = wait(None, Some(d));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_is_a_flag_taken_once_and_cuts_a_sleep_short() {
        // Test threads share the process: SIGWINCH is nobody else's, and
        // it is raised at this thread, which alone blocks it.
        catch(&[libc::SIGWINCH]).unwrap();
        assert!(!take(libc::SIGWINCH));
        // SAFETY: tgkill of a blocked signal to this very thread.
        unsafe {
            let tid = syscalls::syscall!(syscalls::Sysno::gettid).unwrap();
            syscalls::syscall!(
                syscalls::Sysno::tgkill,
                crate::sys::getpid(),
                tid,
                libc::SIGWINCH
            )
            .unwrap();
        }
        let t = std::time::Instant::now();
        sleep(Duration::from_secs(30));
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the signal ended the sleep"
        );
        let t = std::time::Instant::now();
        sleep(Duration::from_millis(200));
        assert!(
            t.elapsed() >= Duration::from_millis(200),
            "and no second one"
        );
        assert!(take(libc::SIGWINCH));
        assert!(!take(libc::SIGWINCH), "taken once");
    }
}
