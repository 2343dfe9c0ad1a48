//! `supervise/control`: the one-byte commands and how clients send them.

use crate::error::{Doing, Error};
use crate::sys::{Errno, Fd, Path, fs};
use alloc::format;
use core::ffi::c_int;

/// A command byte. The byte is the letter `svc` takes as an option.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Command {
    /// `u`: want up; start if down, restart whenever it dies.
    Up,
    /// `d`: want down; down signal, then CONT.
    Down,
    /// `o`: start if down, never restart.
    Once,
    /// `x`: exit once the service is down.
    Exit,
    /// `r`: down signal, stay wanted up.
    Restart,
    /// `p`, `c`, `h`, `a`, `i`, `t`, `k`, `q`, `1`, `2`, `y`, `b`: send this
    /// signal to the service.
    Signal(c_int),
}

/// (byte, signal) of the commands that only send a signal.
const SIGNALS: &[(u8, c_int)] = &[
    (b'p', libc::SIGSTOP),
    (b'c', libc::SIGCONT),
    (b'h', libc::SIGHUP),
    (b'a', libc::SIGALRM),
    (b'i', libc::SIGINT),
    (b't', libc::SIGTERM),
    (b'k', libc::SIGKILL),
    (b'q', libc::SIGQUIT),
    (b'1', libc::SIGUSR1),
    (b'2', libc::SIGUSR2),
    (b'y', libc::SIGWINCH),
    (b'b', libc::SIGABRT),
];

impl Command {
    /// The command a control byte stands for; None for bytes svkit ignores.
    pub fn decode(byte: u8) -> Option<Command> {
        Some(match byte {
            b'u' => Command::Up,
            b'd' => Command::Down,
            b'o' => Command::Once,
            b'x' => Command::Exit,
            b'r' => Command::Restart,
            _ => {
                return SIGNALS
                    .iter()
                    .find(|(b, _)| *b == byte)
                    .map(|(_, s)| Command::Signal(*s));
            }
        })
    }

    /// The control byte.
    pub fn encode(self) -> u8 {
        match self {
            Command::Up => b'u',
            Command::Down => b'd',
            Command::Once => b'o',
            Command::Exit => b'x',
            Command::Restart => b'r',
            // Every signal command is built from SIGNALS, so it is found.
            Command::Signal(sig) => SIGNALS
                .iter()
                .find(|(_, s)| *s == sig)
                .map_or(b'?', |(b, _)| *b),
        }
    }
}

/// The control FIFO of service directory `dir`.
pub fn path(dir: &Path) -> Path {
    dir.join("supervise/control")
}

/// Whether a supervise is running on `dir`: the reader of `supervise/ok`
/// exists exactly while it runs.
///
/// `ok` is the owner's alone (0600), as daemontools makes it; anyone else
/// learns the same from the kernel's list of locks: supervise holds
/// `supervise/lock` locked while it runs, and the lock file stays 0600,
/// so only the owner can open it, let alone lock it. A stranger reads
/// `/proc/locks` and the lock's device and inode (stat needs no right on
/// the file), and gets no way to keep supervise from starting: a
/// world-readable lock would let them hold a shared lock on it.
pub fn is_supervised(dir: &Path) -> Result<bool, Error> {
    let ok = ok_path(dir);
    supervised_at(dir, &ok).doing(|| format!("open {ok}"))
}

/// `is_supervised` for a caller that only needs the answer (scan, which
/// takes any failure for no): the errno, without the message.
pub fn is_supervised_errno(dir: &Path) -> crate::sys::Result<bool> {
    supervised_at(dir, &ok_path(dir))
}

/// The FIFO whose reader is the supervise of `dir`.
fn ok_path(dir: &Path) -> Path {
    dir.join("supervise/ok")
}

/// `is_supervised`'s answer, `ok` being `dir`'s `supervise/ok`.
fn supervised_at(dir: &Path, ok: &Path) -> crate::sys::Result<bool> {
    match fs::open(ok, libc::O_WRONLY | libc::O_NONBLOCK, 0) {
        Ok(_) => Ok(true),
        Err(Errno::ENXIO) => Ok(false),
        Err(Errno::ENOENT) if fs::stat(dir).is_ok_and(|m| m.is_dir()) => Ok(false),
        Err(e @ Errno(libc::EACCES)) => lock_is_held(dir).ok_or(e),
        Err(e) => Err(e),
    }
}

/// Whether `/proc/locks` lists a lock on `dir/supervise/lock`; None when
/// either cannot be read (no /proc: the caller's error stands).
fn lock_is_held(dir: &Path) -> Option<bool> {
    let lock = fs::stat(&dir.join("supervise/lock")).ok()?;
    let locks = fs::read(&Path::from("/proc/locks")).ok()?;
    Some(lists_lock(&locks, lock.dev, lock.ino))
}

/// Whether the text of `/proc/locks` lists a lock held (not waited for)
/// on the file `dev`, `ino` (st_dev and st_ino as stat gives them).
fn lists_lock(locks: &[u8], dev: u64, ino: u64) -> bool {
    // st_dev's encoding of major and minor, as glibc's major()/minor().
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    locks.split(|&b| b == b'\n').any(|line| {
        // `1: FLOCK  ADVISORY  WRITE 4120 fe:00:10011742 0 EOF`; waiters
        // read `1: -> FLOCK ...`.
        let mut words = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
        let Some(file) = words.nth(5) else {
            return false;
        };
        if line.windows(2).any(|w| w == b"->") {
            return false;
        }
        let mut parts = file.split(|&b| b == b':');
        let (Some(ma), Some(mi), Some(i), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        number(ma, 16) == Some(major) && number(mi, 16) == Some(minor) && number(i, 10) == Some(ino)
    })
}

/// An unsigned number in `radix`; None for anything else.
fn number(digits: &[u8], radix: u32) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        let d = (d as char).to_digit(radix)?;
        n.checked_mul(radix as u64)?.checked_add(d as u64)
    })
}

/// Opens `dir`'s control FIFO for writing; fails with "supervise not
/// running" when nobody reads it.
pub fn open(dir: &Path) -> Result<Fd, Error> {
    let p = path(dir);
    let not_running = || Error::other(format!("control {dir}"), "supervise not running");
    match fs::open(&p, libc::O_WRONLY | libc::O_NONBLOCK, 0) {
        Ok(fd) => Ok(fd),
        // No reader: the FIFO is there but nobody supervises.
        Err(Errno::ENXIO) => Err(not_running()),
        // The directory exists but supervise never ran in it.
        Err(Errno::ENOENT) if fs::stat(dir).is_ok_and(|m| m.is_dir()) => Err(not_running()),
        Err(e) => Err(e).doing(|| format!("control {dir}")),
    }
}

/// Writes `bytes` to an open control FIFO in one write, so the supervise
/// reads them together and in order.
pub fn write(fd: &Fd, dir: &Path, bytes: &[u8]) -> Result<(), Error> {
    fd.write_all(bytes).doing(|| format!("control {dir}"))
}

/// Sends `bytes` to the supervise of `dir`.
pub fn send(dir: &Path, bytes: &[u8]) -> Result<(), Error> {
    write(&open(dir)?, dir, bytes)
}

/// `send` for a caller that only needs to know whether the supervise got
/// `bytes` (scan): no message is made for a failure.
pub fn delivered(dir: &Path, bytes: &[u8]) -> bool {
    fs::open(&path(dir), libc::O_WRONLY | libc::O_NONBLOCK, 0)
        .and_then(|fd| fd.write_all(bytes))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_byte_round_trips() {
        for b in b"udoxrpchaitkq12yb" {
            let c = Command::decode(*b).unwrap();
            assert_eq!(c.encode(), *b);
        }
    }

    #[test]
    fn a_lock_is_found_by_device_and_inode() {
        let locks = b"1: FLOCK  ADVISORY  WRITE 29655 fe:00:10011742 0 EOF\n\
                      2: POSIX  ADVISORY  WRITE 300 00:1a:77 0 EOF\n\
                      2: -> FLOCK  ADVISORY  WRITE 301 08:11:5 0 EOF\n";
        // st_dev 0xfe00 is major 0xfe, minor 0.
        assert!(lists_lock(locks, 0xfe00, 10011742));
        assert!(lists_lock(locks, 0x1a, 77));
        assert!(!lists_lock(locks, 0xfe00, 1001174));
        assert!(!lists_lock(locks, 0xfe01, 10011742));
        // Only waited for, not held.
        assert!(!lists_lock(locks, 0x811, 5));
        assert!(!lists_lock(b"garbage\n1: FLOCK\n\n", 0, 0));
    }

    #[test]
    fn unknown_bytes_are_ignored() {
        for b in [0u8, b'z', b'\n', 0xff, b'U', b'w'] {
            assert_eq!(Command::decode(b), None);
        }
    }
}
