//! Signals: a self-pipe that turns them into readable bytes, sending them,
//! and their names.

use super::{Errno, Fd, Result, check, fd::pipe};
use core::ffi::c_int;
use core::sync::atomic::{AtomicI32, Ordering};

/// Write end of the self-pipe; -1 until `Signals::catch`.
static PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: c_int) {
    // Only async-signal-safe calls here: write(2), with errno put back so
    // the interrupted code never sees ours.
    let saved = Errno::last();
    let byte = sig as u8;
    let fd = PIPE.load(Ordering::Relaxed);
    // A full pipe already holds a wake-up; losing this byte loses nothing
    // because the reader reaps and rescans everything on any byte.
    unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    unsafe { *libc::__errno_location() = saved.0 };
}

/// The caught signals of a process, delivered as bytes on a pipe so that
/// the event loop sees them in the same poll as everything else.
pub struct Signals {
    read: Fd,
    _write: Fd,
}

impl Signals {
    /// Installs the handler for every signal in `sigs`. One per process.
    pub fn catch(sigs: &[c_int]) -> Result<Signals> {
        let (read, write) = pipe()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        PIPE.store(write.raw(), Ordering::Relaxed);
        for &sig in sigs {
            // SAFETY: sigaction with a zeroed struct, a valid handler and an
            // empty mask is the documented way to install a handler.
            let mut sa: libc::sigaction = unsafe { core::mem::zeroed() };
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = libc::SA_RESTART
                | if sig == libc::SIGCHLD {
                    libc::SA_NOCLDSTOP
                } else {
                    0
                };
            unsafe { libc::sigemptyset(&mut sa.sa_mask) };
            check(unsafe { libc::sigaction(sig, &sa, core::ptr::null_mut()) })?;
        }
        Ok(Signals {
            read,
            _write: write,
        })
    }

    /// What to poll for input.
    pub fn fd(&self) -> &Fd {
        &self.read
    }

    /// Reads every pending signal; calls `f` once per signal number seen.
    pub fn drain(&self, mut f: impl FnMut(c_int)) {
        let mut seen = [false; 65];
        let mut buf = [0u8; 64];
        while let Ok(n) = self.read.read(&mut buf) {
            for &b in &buf[..n] {
                seen[(b as usize).min(64)] = true;
            }
            // A short read emptied the pipe: no second read(2) to hear
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
