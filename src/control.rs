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
pub fn is_supervised(dir: &Path) -> Result<bool, Error> {
    let ok = dir.join("supervise/ok");
    match fs::open(&ok, libc::O_WRONLY | libc::O_NONBLOCK, 0) {
        Ok(_) => Ok(true),
        Err(Errno::ENXIO) => Ok(false),
        Err(Errno::ENOENT) if fs::stat(dir).is_ok_and(|m| m.is_dir()) => Ok(false),
        Err(e) => Err(e).doing(|| format!("open {ok}")),
    }
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
    fn unknown_bytes_are_ignored() {
        for b in [0u8, b'z', b'\n', 0xff, b'U', b'w'] {
            assert_eq!(Command::decode(b), None);
        }
    }
}
