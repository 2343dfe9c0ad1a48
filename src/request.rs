//! What `svc` asks of each service directory: command bytes, the `down`
//! file, and a state to wait for.

use crate::control;
use crate::error::{Doing, Error};
use crate::status;
use crate::sys::{Errno, Path, fs, time};
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
    /// With a wait and a timeout, no supervise started on the directory
    /// within the timeout.
    NotSupervised,
}

impl Request {
    /// Applies the request to `dir`: the down file first (so a supervise
    /// starting meanwhile already sees it), then the commands, then the wait.
    pub fn apply(&self, dir: &Path) -> Result<Outcome, Error> {
        let deadline = self.timeout.map(|t| time::monotonic() + t);
        // A bounded wait also waits for a supervise about to start (a
        // service just linked into a scanned tree): the timeout says how
        // long is worth it. Not for a missing dir: that is a typo. The down
        // file comes first then, so that supervise starts as it says.
        let early =
            self.wait.is_some() && deadline.is_some() && fs::stat(dir).is_ok_and(|m| m.is_dir());
        if early {
            self.write_down_file(dir)?;
        }
        // Watch before sending, so the change the command causes cannot be
        // missed; and know what ran before, to tell a restart.
        let (control, watcher) = match (self.wait, deadline) {
            (Some(_), Some(d)) if early => match Watcher::supervised(dir, d)? {
                Some((control, w)) => (control, Some(w)),
                None => return Ok(Outcome::NotSupervised),
            },
            // Opening the FIFO first tells "supervise not running" before
            // anything else could fail for that reason.
            (Some(_), _) => (control::open(dir)?, Some(Watcher::new(dir)?)),
            (None, _) => (control::open(dir)?, None),
        };
        let before = match self.wait {
            // No status yet (a supervise just started): any run is new.
            Some(Goal::Restarted | Goal::RestartedReady) => match status::read(dir) {
                Ok(s) => Some(s),
                Err(e) if e.errno() == Some(Errno::ENOENT) => None,
                Err(e) => return Err(e),
            },
            _ => None,
        };
        if !early {
            self.write_down_file(dir)?;
        }
        control::write(&control, dir, &self.bytes)?;
        match (watcher, self.wait) {
            (Some(w), Some(goal)) => Ok(match w.until(goal, before.as_ref(), deadline)? {
                true => Outcome::Done,
                false => Outcome::TimedOut,
            }),
            _ => Ok(Outcome::Done),
        }
    }

    /// Creates or removes `dir/down` as `-D`/`-U` ask.
    fn write_down_file(&self, dir: &Path) -> Result<(), Error> {
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
        Ok(())
    }
}
