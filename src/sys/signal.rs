//! Signals: a signalfd that turns them into readable records, sending
//! them, and their names.

use super::{Errno, Fd, Result, check};
use core::ffi::c_int;

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
        // SAFETY: sigset_t is plain data; sigemptyset initialises it.
        let mut set: libc::sigset_t = unsafe { core::mem::zeroed() };
        unsafe { libc::sigemptyset(&mut set) };
        for &sig in sigs {
            unsafe { libc::sigaddset(&mut set, sig) };
            if sig == libc::SIGCHLD {
                // Stopped children are none of our business: no wake-up.
                // SAFETY: the default action with a flag, empty mask.
                let mut sa: libc::sigaction = unsafe { core::mem::zeroed() };
                sa.sa_sigaction = libc::SIG_DFL;
                sa.sa_flags = libc::SA_NOCLDSTOP;
                unsafe { libc::sigemptyset(&mut sa.sa_mask) };
                check(unsafe { libc::sigaction(sig, &sa, core::ptr::null_mut()) })?;
            }
        }
        // SAFETY: a valid, initialised set.
        check(unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, core::ptr::null_mut()) })?;
        let flags = libc::SFD_NONBLOCK | libc::SFD_CLOEXEC;
        let fd = check(unsafe { libc::signalfd(-1, &set, flags) })?;
        Ok(Signals {
            fd: Fd::from_raw(fd),
        })
    }

    /// What to poll for input.
    pub fn fd(&self) -> &Fd {
        &self.fd
    }

    /// Reads every pending signal; calls `f` once per signal number seen.
    pub fn drain(&self, mut f: impl FnMut(c_int)) {
        const SIZE: usize = core::mem::size_of::<libc::signalfd_siginfo>();
        let mut seen = [false; 65];
        // SAFETY: signalfd_siginfo is plain data, all zeroes valid.
        let mut buf: [libc::signalfd_siginfo; 4] = unsafe { core::mem::zeroed() };
        loop {
            // SAFETY: the buffer is valid for its whole size in bytes.
            let bytes = unsafe {
                core::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), SIZE * buf.len())
            };
            let n = match self.fd.read(bytes) {
                Ok(n) => n / SIZE,
                Err(Errno::EINTR) => continue,
                Err(_) => break,
            };
            for info in &buf[..n] {
                seen[(info.ssi_signo as usize).min(64)] = true;
            }
            // A short read emptied the queue: no second read(2) to hear
            // EAGAIN, which would sit between a SIGCHLD and the restart.
            if n < buf.len() {
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
    // SAFETY: setting SIG_IGN for a valid signal number cannot fail.
    unsafe { libc::signal(sig, libc::SIG_IGN) };
}

/// kill(2). ESRCH (nobody there any more) is for the caller to judge.
pub fn kill(pid: i32, sig: c_int) -> Result<()> {
    check(unsafe { libc::kill(pid, sig) }).map(drop)
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
