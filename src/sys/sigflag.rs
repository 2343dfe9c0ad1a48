//! Signals as flags that are only ever raised while the process waits:
//! the signals stay blocked, and `wait_input`/`sleep` unblock them for the
//! length of one ppoll(2), so no signal slips in between a check of the
//! flags and the wait (which a plain handler plus poll would allow).

use super::{Errno, Fd, Result, check};
use core::ffi::c_int;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

/// Bit n set: signal n arrived and was not taken yet.
static RAISED: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_signal(sig: c_int) {
    RAISED.fetch_or(1 << (sig as u64 & 63), Ordering::Relaxed);
}

/// Blocks every signal in `sigs` and installs the flag-raising handler.
pub fn catch(sigs: &[c_int]) -> Result<()> {
    let mut set = unsafe { core::mem::zeroed::<libc::sigset_t>() };
    unsafe { libc::sigemptyset(&mut set) };
    for &sig in sigs {
        unsafe { libc::sigaddset(&mut set, sig) };
        // SAFETY: a zeroed sigaction with a valid handler and empty mask.
        let mut sa: libc::sigaction = unsafe { core::mem::zeroed() };
        sa.sa_sigaction = on_signal as *const () as usize;
        unsafe { libc::sigemptyset(&mut sa.sa_mask) };
        check(unsafe { libc::sigaction(sig, &sa, core::ptr::null_mut()) })?;
    }
    check(unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, core::ptr::null_mut()) }).map(drop)
}

/// Whether `sig` arrived since the last call; clears it.
pub fn take(sig: c_int) -> bool {
    let bit = 1 << (sig as u64 & 63);
    let raised = RAISED.fetch_and(!bit, Ordering::Relaxed) & bit != 0;
    // A ppoll that finds input ready restores the mask before the signal
    // is delivered, which leaves it pending and blocked: under steady
    // input it would never arrive. Take it from the pending set instead.
    let mut set = unsafe { core::mem::zeroed::<libc::sigset_t>() };
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
    }
    let now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid set and timeout; no siginfo wanted.
    let pending = unsafe { libc::sigtimedwait(&set, core::ptr::null_mut(), &now) } == sig;
    raised || pending
}

fn ppoll(fd: Option<&Fd>, timeout: Option<Duration>) -> Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.map_or(-1, |f| f.raw()),
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let tsp = ts.as_ref().map_or(core::ptr::null(), |t| t as *const _);
    let mut empty = unsafe { core::mem::zeroed::<libc::sigset_t>() };
    unsafe { libc::sigemptyset(&mut empty) };
    let n = fd.map_or(0, |_| 1);
    match check(unsafe { libc::ppoll(&mut pfd, n, tsp, &empty) }) {
        Ok(r) => Ok(r > 0),
        Err(Errno::EINTR) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Waits until `fd` is readable (true), or a caught signal arrives or
/// `timeout` passes (false).
pub fn wait_input(fd: &Fd, timeout: Option<Duration>) -> Result<bool> {
    ppoll(Some(fd), timeout)
}

/// Sleeps for `d`, ending early when a caught signal arrives.
pub fn sleep(d: Duration) {
    // Nothing useful to do about a failing ppoll with no descriptors.
    let _ = ppoll(None, Some(d));
}
