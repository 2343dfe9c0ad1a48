//! The library's one error type and the exit codes it maps to.

use crate::sys::{Errno, Result as SysResult};
use alloc::string::String;
use core::fmt;

/// Exit code for "the command line is wrong": daemontools' 100.
pub const EXIT_USAGE: i32 = 100;
/// Exit code for "a system call failed; the same command may work later".
pub const EXIT_TEMPORARY: i32 = 111;

/// Why something failed: an errno or a sentence of our own.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Reason {
    Errno(Errno),
    Text(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Errno(e) => write!(f, "{e}"),
            Reason::Text(t) => f.write_str(t),
        }
    }
}

/// A failure, worded for the person at the terminal.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Error {
    /// The caller must change something on the command line. Exit 100.
    Usage(String),
    /// Something could not be done; the same command may work later. Exit 111.
    Sys { doing: String, reason: Reason },
    /// Something is wrong that no "unable to" sentence fits, shown as is:
    /// `setuidgid: fatal: unknown account app`. Exit 111.
    Trouble(String),
}

impl Error {
    /// A system call failed with `errno` while doing `doing`: `unable to
    /// {doing}: {strerror}`. For an errno met outside a `Result` chain.
    pub fn sys(doing: impl Into<String>, errno: Errno) -> Error {
        Error::Sys {
            doing: doing.into(),
            reason: Reason::Errno(errno),
        }
    }

    /// An error whose reason is not an errno: `unable to {doing}: {reason}`.
    pub fn other(doing: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Sys {
            doing: doing.into(),
            reason: Reason::Text(reason.into()),
        }
    }

    /// The daemontools exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => EXIT_USAGE,
            Error::Sys { .. } | Error::Trouble(_) => EXIT_TEMPORARY,
        }
    }

    /// The errno behind this error, if one is.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Sys {
                reason: Reason::Errno(e),
                ..
            } => Some(*e),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Trouble(m) => f.write_str(m),
            Error::Sys { doing, reason } => write!(f, "unable to {doing}: {reason}"),
        }
    }
}

/// Attaches what we were doing to a bare errno.
pub trait Doing<T> {
    /// `open(p).doing(|| format!("open {p}"))?`
    fn doing(self, what: impl FnOnce() -> String) -> Result<T, Error>;
}

impl<T> Doing<T> for SysResult<T> {
    fn doing(self, what: impl FnOnce() -> String) -> Result<T, Error> {
        self.map_err(|e| Error::sys(what(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn sys_errors_read_unable_to_do_reason() {
        let e: Result<(), Error> = Err(Errno::ENOENT).doing(|| "open x".into());
        assert_eq!(
            format!("{}", e.unwrap_err()),
            "unable to open x: No such file or directory"
        );
        let e = Error::sys("open x", Errno::ENOENT);
        assert_eq!(
            Err::<(), _>(e),
            Err(Errno::ENOENT).doing(|| "open x".into())
        );
    }

    #[test]
    fn exit_codes_follow_daemontools() {
        assert_eq!(Error::Usage("x".into()).exit_code(), 100);
        assert_eq!(Error::other("x", "y").exit_code(), 111);
        assert_eq!(Error::Trouble("x".into()).exit_code(), 111);
    }
}
