//! What scan tells on stderr: one warning per problem, naming the
//! service as it is named inside DIR (`web`, `web/log`), the way the
//! supervise processes name theirs on the same stderr.

use super::listing::{Found, Problem};
use super::{Failure, Name, Role};
use crate::sys::Errno;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A warning scan prints.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Notice {
    Problem {
        name: Name,
        found: Found,
    },
    Died {
        name: Name,
        role: Role,
        status: i32,
    },
    Foreign {
        name: Name,
        role: Role,
    },
    Killed {
        name: Name,
        role: Role,
    },
    /// The first listing found only files and directories without `run`.
    NotATree {
        entries: usize,
    },
    SpawnFailed {
        name: Name,
        role: Role,
        why: Failure,
    },
    /// `count` services wait for a free fd: scan's open-files limit is
    /// `limit` (its hard limit too, or it would have raised it) and
    /// `fits` would make room for them all.
    ShortOfFds {
        count: usize,
        limit: u64,
        fits: u64,
    },
    /// `count` services wait for a fork to succeed, with `running`
    /// processes on the machine.
    ShortOfProcs {
        count: usize,
        running: u64,
    },
}

/// The service dir a role's supervise runs on, relative to DIR.
pub fn dir_of(name: &[u8], role: Role) -> Vec<u8> {
    let mut d = name.to_vec();
    match role {
        Role::Service => {}
        Role::Log => d.extend_from_slice(b"/log"),
        Role::Instance(k) => {
            d.extend_from_slice(b"/");
            d.extend_from_slice(crate::instances::home(k).as_bytes());
        }
    }
    d
}

/// The dir a role's supervise runs on, shown lossily as UTF-8, written
/// straight into the message.
struct Shown<'a>(&'a [u8], Role);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&dir_of(self.0, self.1)))
    }
}

fn show(name: &[u8], role: Role) -> Shown<'_> {
    Shown(name, role)
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::Problem { name, found } => {
                let (role, p) = match found {
                    Found::Waiting(role, p) => (*role, *p),
                    Found::Ignored(p) => (Role::Service, *p),
                    Found::Service { .. } => return Ok(()),
                };
                write!(f, "unable to supervise {}: ", show(name, Role::Service))?;
                match p {
                    Problem::NotDir => f.write_str("not a directory"),
                    Problem::Dangling => f.write_str("dangling symlink"),
                    Problem::NoRun => write!(f, "{}/run does not exist", show(name, role)),
                    Problem::NotExecutable => {
                        write!(f, "{}/run is not executable", show(name, role))
                    }
                    Problem::Unreadable(e) if role == Role::Log => {
                        write!(f, "{}: {}", show(name, role), e.desc())
                    }
                    Problem::Unreadable(e) => f.write_str(e.desc()),
                }
            }
            Notice::Died { name, role, status } => {
                write!(f, "supervise {} ", show(name, *role))?;
                if libc::WIFSIGNALED(*status) {
                    write!(f, "killed by signal {}", libc::WTERMSIG(*status))?;
                } else {
                    write!(f, "exited {}", libc::WEXITSTATUS(*status))?;
                }
                f.write_str(": restarting it")
            }
            Notice::Foreign { name, role } => write!(
                f,
                "{} is supervised by a supervise scan did not start: leaving it to that one",
                show(name, *role)
            ),
            Notice::Killed { name, role } => write!(
                f,
                "supervise {} did not exit in time: killed it and its service",
                show(name, *role)
            ),
            Notice::NotATree { entries } => write!(
                f,
                "not a service tree: none of its {entries} entries is a directory \
                 with a run; waiting for one to appear"
            ),
            Notice::SpawnFailed { name, role, why } => {
                let e = match why {
                    Failure::Pipe(e) => {
                        return write!(
                            f,
                            "unable to create a pipe for {}: {}",
                            show(name, Role::Service),
                            e.desc()
                        );
                    }
                    Failure::Fork(e) => *e,
                    Failure::Fds | Failure::Procs => Errno(libc::EMFILE),
                };
                write!(
                    f,
                    "unable to spawn supervise {}: {}",
                    show(name, *role),
                    e.desc()
                )
            }
            Notice::ShortOfFds { count, limit, fits } => write!(
                f,
                "unable to supervise {count} service{}: {} (the limit is {limit}; \
                 {fits} would fit them all)",
                if *count == 1 { "" } else { "s" },
                Errno(libc::EMFILE).desc()
            ),
            Notice::ShortOfProcs { count, running } => write!(
                f,
                "unable to supervise {count} service{}: fork: {} ({running} processes \
                 run; at least {} more would fit them: see ulimit -u, \
                 kernel.pid_max, kernel.threads-max)",
                if *count == 1 { "" } else { "s" },
                Errno::EAGAIN.desc(),
                2 * count
            ),
        }
    }
}
