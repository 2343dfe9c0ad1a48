//! What `svc` asks of each service directory: command bytes, the `down`
//! file, and a state to wait for.

use crate::control;
use crate::error::{Doing, Error};
use crate::status;
use crate::sys::{Errno, Path, fs};
use crate::wait::{Goal, Watcher};
use alloc::format;
use alloc::vec::Vec;
use core::time::Duration;

/// One svc command line's request, applied to each DIR in turn.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Request {
    /// Control bytes, in command-line order.
    pub bytes: Vec<u8>,
    /// Some(true): create S/down (`-D`); Some(false): remove it (`-U`).
    pub down_file: Option<bool>,
    pub wait: Option<Goal>,
    /// How long to wait for each DIR; None: as long as it takes.
    pub timeout: Option<Duration>,
}

/// How a request went for one directory.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    Done,
    TimedOut,
}

impl Request {
    /// Applies the request to `dir`: the down file first (so a supervise
    /// starting meanwhile already sees it), then the commands, then the wait.
    pub fn apply(&self, dir: &Path) -> Result<Outcome, Error> {
        // Opening the FIFO first tells "supervise not running" before
        // anything else could fail for that reason.
        let control = control::open(dir)?;
        // Watch before sending, so the change the command causes cannot be
        // missed; and know what ran before, to tell a restart.
        let watcher = match self.wait {
            Some(_) => Some(Watcher::new(dir)?),
            None => None,
        };
        let before = match self.wait {
            Some(Goal::Restarted | Goal::RestartedReady) => Some(status::read(dir)?),
            _ => None,
        };
        match self.down_file {
            Some(true) => {
                let p = dir.join("down");
                fs::open(&p, libc::O_WRONLY | libc::O_CREAT, 0o644)
                    .doing(|| format!("create {p}"))?;
            }
            Some(false) => {
                let p = dir.join("down");
                match fs::unlink(&p) {
                    Ok(()) | Err(Errno::ENOENT) => {}
                    Err(e) => return Err(e).doing(|| format!("remove {p}")),
                }
            }
            None => {}
        }
        control::write(&control, dir, &self.bytes)?;
        match (watcher, self.wait) {
            (Some(w), Some(goal)) => Ok(match w.until(goal, before.as_ref(), self.timeout)? {
                true => Outcome::Done,
                false => Outcome::TimedOut,
            }),
            _ => Ok(Outcome::Done),
        }
    }
}
