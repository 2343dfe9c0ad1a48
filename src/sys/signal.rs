//! Signals: a signalfd that turns them into readable records, sending
//! them, and their names.

use super::{Errno, Fd, Result};
use core::ffi::c_int;
use rustix::process::Pid;
use rustix::runtime::{
    self as rt, How, KernelSigSet, KernelSigaction, KernelSigactionFlags, Signal,
};

/// The caught signals of a process, blocked and read from a signalfd, so
/// that the event loop sees them in the same poll as everything else.
///
/// A signalfd rather than a handler writing to a self-pipe: a SIGCHLD
/// then costs one read(2) instead of a signal frame, the handler's
/// write(2), sigreturn, the interrupted poll and a read. On a restart
/// after a long idle, when every page and kernel path touched is cold,
/// that was a quarter of the time from SIGCHLD to the new run's spawn.
/// Blocked signals are queued even for a pid 1 whose disposition is the
/// default, and spawn and fork give children an empty mask.
pub struct Signals {
    fd: Fd,
}

impl Signals {
    /// Blocks every signal in `sigs` and opens a signalfd for them. One
    /// per process.
    pub fn catch(sigs: &[c_int]) -> Result<Signals> {
        let mut set = KernelSigSet::empty();
        for &sig in sigs {
            let sig = signal(sig)?;
            set.insert(sig);
            if sig == Signal::CHILD {
                // Stopped children are none of our business: no wake-up.
                let action = KernelSigaction {
                    sa_handler_kernel: rt::KERNEL_SIG_DFL,
                    sa_flags: KernelSigactionFlags::NOCLDSTOP,
                    ..Default::default()
                };
                // SAFETY: the default action needs no handler to return
                // through, so no restorer.
                unsafe { rt::kernel_sigaction(sig, Some(action)) }?;
            }
        }
        // SAFETY: blocking signals never breaks memory safety; what is
        // blocked is read from the signalfd instead.
        unsafe { rt::kernel_sigprocmask(How::BLOCK, Some(&set)) }?;
        Ok(Signals {
            fd: super::raw::signalfd(&set)?,
        })
    }

    /// What to poll for input.
    pub fn fd(&self) -> &Fd {
        &self.fd
    }

    /// Reads every pending signal; calls `f` once per signal number seen.
    pub fn drain(&self, mut f: impl FnMut(c_int)) {
        // signalfd(2): 128-byte records, the signal number first.
        const SIZE: usize = 128;
        const RECORDS: usize = 4;
        let mut seen = [false; 65];
        let mut buf = [0u8; SIZE * RECORDS];
        loop {
            let n = match self.fd.read(&mut buf) {
                Ok(n) => n / SIZE,
                Err(Errno::EINTR) => continue,
                Err(_) => break,
            };
            for info in buf[..n * SIZE].chunks_exact(SIZE) {
                let signo = u32::from_ne_bytes([info[0], info[1], info[2], info[3]]);
                seen[(signo as usize).min(64)] = true;
            }
            // A short read emptied the queue: no second read(2) to hear
            // EAGAIN, which would sit between a SIGCHLD and the restart.
            if n < RECORDS {
                break;
            }
        }
        for (sig, _) in seen.iter().enumerate().filter(|(_, s)| **s) {
            f(sig as c_int);
        }
    }
}

/// Ignores `sig` in this process (children get the default back from spawn).
pub fn ignore(sig: c_int) {
    let action = KernelSigaction {
        sa_handler_kernel: rt::kernel_sig_ign(),
        ..Default::default()
    };
    if let Ok(sig) = signal(sig) {
        // SAFETY: an ignored signal runs no handler, so needs no restorer.
        let _ = unsafe { rt::kernel_sigaction(sig, Some(action)) };
    }
}

/// kill(2): `pid` > 0 a process, < -1 a process group; `sig` 0 only asks
/// whether it exists. 0 and -1 (our group, everyone) are refused with
/// EINVAL: svkit never means them. ESRCH (nobody there any more) is for
/// the caller to judge.
pub fn kill(pid: i32, sig: c_int) -> Result<()> {
    use rustix::process as p;
    if pid == -1 {
        return Err(Errno::EINVAL);
    }
    let target = Pid::from_raw(pid.checked_abs().ok_or(Errno::EINVAL)?).ok_or(Errno::EINVAL)?;
    let group = pid < -1;
    Ok(match (sig, group) {
        (0, false) => p::test_kill_process(target),
        (0, true) => p::test_kill_process_group(target),
        (_, false) => p::kill_process(target, signal(sig)?),
        (_, true) => p::kill_process_group(target, signal(sig)?),
    }?)
}

/// A signal number as rustix takes it: 1 to SIGRTMAX.
fn signal(sig: c_int) -> Result<Signal> {
    if !(1..=rt::KERNEL_SIGRTMAX).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    // SAFETY: in the kernel's range; svkit runs no C library threads that
    // would reserve any of them.
    Ok(unsafe { Signal::from_raw_unchecked(sig) })
}

const NAMES: &[(&str, c_int)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// A signal from its name ("TERM", "SIGTERM", any case) or number ("15").
pub fn parse(text: &str) -> Option<c_int> {
    if let Ok(n) = text.parse::<c_int>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// The short name of a signal ("TERM"), or None for one without a name.
pub fn name(sig: c_int) -> Option<&'static str> {
    NAMES.iter().find(|(_, s)| *s == sig).map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_parse_alike() {
        assert_eq!(parse("TERM"), Some(libc::SIGTERM));
        assert_eq!(parse("sigterm"), Some(libc::SIGTERM));
        assert_eq!(parse("15"), Some(15));
        assert_eq!(parse("0"), None);
        assert_eq!(parse("NOPE"), None);
        assert_eq!(name(libc::SIGHUP), Some("HUP"));
    }
}
