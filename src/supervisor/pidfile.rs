//! Following a daemon that `run` forked away (S/pidfile): reading its pid
//! file and making sure the process named there is ours to supervise, so
//! that no signal ever reaches a process that is not the service's.

use crate::procfs;
use crate::sys::{Errno, Fd, Path, fs, process};
use alloc::format;
use alloc::string::String;

/// Why the pid file does not (yet) name the daemon.
#[derive(Debug)]
pub enum Refusal {
    Absent,
    Unreadable(Errno),
    /// It holds something else than a pid. (What, is not shown: the file
    /// may be one the service's owner cannot read, and stderr theirs.)
    Garbage,
    NotRunning(i32),
    NotOurs(i32),
}

impl Refusal {
    /// The reason, for `supervise: warning: unable to follow ...: REASON`.
    pub fn describe(&self, shown: &Path) -> String {
        match self {
            Refusal::Absent => format!("{shown} does not exist"),
            Refusal::Unreadable(e) => format!("{shown} cannot be read: {}", e.desc()),
            Refusal::Garbage => format!("{shown} holds no pid"),
            Refusal::NotRunning(pid) => format!("{shown} names pid {pid}, which is not running"),
            Refusal::NotOurs(pid) => format!(
                "{shown} names pid {pid}, which is not a descendant of supervise: left alone"
            ),
        }
    }
}

/// A pid file's pid: decimal digits, white space around them, above 1.
pub fn parse_pid(bytes: &[u8]) -> Option<i32> {
    let n = crate::sys::parse_digits(bytes.trim_ascii())?;
    i32::try_from(n).ok().filter(|&pid| pid > 1)
}

/// Reads pid file `name` and returns the process it names, with a pidfd
/// that pins it, when that process is alive and a descendant of `me`.
pub fn find(name: &Path, me: i32) -> Result<(i32, Fd), Refusal> {
    let bytes = match fs::read_prefix(name, 64) {
        Ok(bytes) => bytes,
        Err(Errno::ENOENT) => return Err(Refusal::Absent),
        Err(e) => return Err(Refusal::Unreadable(e)),
    };
    let Some(pid) = parse_pid(&bytes) else {
        return Err(Refusal::Garbage);
    };
    // The pidfd first: what is checked next is then the process it pins,
    // not one that took the pid over in between.
    let fd = process::pidfd_open(pid).map_err(|_| Refusal::NotRunning(pid))?;
    match procfs::stat(pid).map(|s| (s.state, s.ppid)) {
        None | Some((b'Z' | b'X', _)) => return Err(Refusal::NotRunning(pid)),
        Some(_) if pid == me => return Err(Refusal::NotOurs(pid)),
        Some(_) => {}
    }
    // Walk up the parents: supervise is a child subreaper, so a daemon its
    // run forked away stays below it.
    let mut at = pid;
    for _ in 0..256 {
        match procfs::stat(at).map(|s| (s.state, s.ppid)) {
            Some((_, parent)) if parent == me => return Ok((pid, fd)),
            Some((_, parent)) if parent > 1 => at = parent,
            _ => break,
        }
    }
    Err(Refusal::NotOurs(pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_is_trimmed_digits_above_1() {
        assert_eq!(parse_pid(b"1234\n"), Some(1234));
        assert_eq!(parse_pid(b"  77 "), Some(77));
        for bad in [
            &b""[..],
            b"\n",
            b"0",
            b"1",
            b"-5",
            b"12x",
            b"1 2",
            b"\xff",
            b"99999999999",
        ] {
            assert_eq!(parse_pid(bad), None, "{bad:?}");
        }
    }
}
