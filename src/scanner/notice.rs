//! What scan tells on stderr: one warning per problem, naming the
//! service as it is named inside DIR (`web`, `web/log`), the way the
//! supervise processes name theirs on the same stderr.

use super::listing::{Found, Problem};
use super::{Failure, Name, Role};
use crate::sys::Errno;
use alloc::format;
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

fn show(name: &[u8], role: Role) -> String {
    String::from_utf8_lossy(&dir_of(name, role)).into_owned()
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
                let why: String = match p {
                    Problem::NotDir => "not a directory".into(),
                    Problem::Dangling => "dangling symlink".into(),
                    Problem::NoRun => format!("{}/run does not exist", show(name, role)),
                    Problem::NotExecutable => format!("{}/run is not executable", show(name, role)),
                    Problem::Unreadable(e) if role == Role::Log => {
                        format!("{}: {}", show(name, role), e.desc())
                    }
                    Problem::Unreadable(e) => e.desc().into(),
                };
                write!(
                    f,
                    "unable to supervise {}: {why}",
                    show(name, Role::Service)
                )
            }
            Notice::Died { name, role, status } => {
                let how = if libc::WIFSIGNALED(*status) {
                    format!("killed by signal {}", libc::WTERMSIG(*status))
                } else {
                    format!("exited {}", libc::WEXITSTATUS(*status))
                };
                write!(f, "supervise {} {how}: restarting it", show(name, *role))
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
            Notice::SpawnFailed { name, role, why } => match why {
                Failure::Pipe(e) => write!(
                    f,
                    "unable to create a pipe for {}: {}",
                    show(name, Role::Service),
                    e.desc()
                ),
                Failure::Fork(e) => write!(
                    f,
                    "unable to spawn supervise {}: {}",
                    show(name, *role),
                    e.desc()
                ),
                Failure::Fds | Failure::Procs => write!(
                    f,
                    "unable to spawn supervise {}: {}",
                    show(name, *role),
                    Errno(libc::EMFILE).desc()
                ),
            },
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
