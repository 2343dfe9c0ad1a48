//! Waiting for a service to reach a state, told by inotify each time its
//! supervisor replaces `supervise/status`: no sleep loop, no polling. With
//! a deadline, also waiting for that supervisor to start.

use crate::control;
use crate::error::{Doing, Error};
use crate::status::{self, Status};
use crate::sys::inotify::Inotify;
use crate::sys::poll::{self, Watch};
use crate::sys::{Errno, Fd, Path, fs, time};
use alloc::format;
use core::time::Duration;

/// A state `svc -w` can wait for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Goal {
    /// `-wu`: run is running.
    Up,
    /// `-wU`: running and ready.
    Ready,
    /// `-wd`: run is not running (finish may be).
    Down,
    /// `-wD`: down and finish done.
    Finished,
    /// `-wr`: a new run since the command was sent.
    Restarted,
    /// `-wR`: a new run, ready.
    RestartedReady,
}

impl Goal {
    /// The goal of `-wX`.
    pub fn from_letter(c: u8) -> Option<Goal> {
        Some(match c {
            b'u' => Goal::Up,
            b'U' => Goal::Ready,
            b'd' => Goal::Down,
            b'D' => Goal::Finished,
            b'r' => Goal::Restarted,
            b'R' => Goal::RestartedReady,
            _ => return None,
        })
    }

    /// Whether `now` reaches the goal; `before` is the status seen before
    /// the command was sent (for the restart goals).
    pub fn reached(self, now: &Status, before: Option<&Status>) -> bool {
        // A status older than version 3 does not say whether the service
        // has a readiness mechanism: the ready flag decides, as it did.
        let ready = now.is_ready(true);
        let new_run = before.is_none_or(|b| b.pid != now.pid || b.changed != now.changed);
        match self {
            Goal::Up => now.is_up(),
            Goal::Ready => ready,
            Goal::Down => !now.is_up(),
            Goal::Finished => now.pid == 0 && now.state == status::RunState::Down,
            Goal::Restarted => now.is_up() && new_run,
            Goal::RestartedReady => ready && new_run,
        }
    }
}

/// Watches one service's `supervise/` directory for status changes. Made
/// before the command is sent, so no change can slip in between.
pub struct Watcher {
    inotify: Inotify,
    dir: Path,
}

/// What `supervise/` changes by: status files are replaced by rename
/// (IN_MOVED_TO), as daemontools and runit do too; IN_CLOSE_WRITE covers a
/// writer that does not; IN_CREATE sees the FIFOs a starting supervise makes.
const SUPERVISE_EVENTS: u32 = libc::IN_MOVED_TO | libc::IN_CLOSE_WRITE | libc::IN_CREATE;

impl Watcher {
    /// Starts watching `dir`.
    pub fn new(dir: &Path) -> Result<Watcher, Error> {
        let inotify = Inotify::new().doing(|| "create an inotify instance".into())?;
        let sup = dir.join("supervise");
        inotify
            .watch(&sup, SUPERVISE_EVENTS)
            .doing(|| format!("watch {sup}"))?;
        Ok(Watcher {
            inotify,
            dir: dir.clone(),
        })
    }

    /// Waits until a supervise runs on `dir` and returns its control FIFO,
    /// open for writing, and a watcher on its `supervise/`; None when
    /// `deadline` (monotonic) passes first. A supervise that has not yet
    /// made `supervise/` is waited for with a watch on `dir` itself, dropped
    /// once `supervise/` is watched: a service writing files in its own
    /// directory must not wake the wait for its status.
    pub fn supervised(dir: &Path, deadline: Duration) -> Result<Option<(Fd, Watcher)>, Error> {
        let inotify = Inotify::new().doing(|| "create an inotify instance".into())?;
        let sup = dir.join("supervise");
        let mut parent: Option<Inotify> = None;
        // Watch supervise/ (after dir, so its creation cannot slip by).
        loop {
            match inotify.watch(&sup, SUPERVISE_EVENTS) {
                Ok(_) => break,
                Err(Errno::ENOENT) => {}
                Err(e) => return Err(e).doing(|| format!("watch {sup}")),
            }
            if parent.is_none() {
                let p = Inotify::new().doing(|| "create an inotify instance".into())?;
                p.watch(dir, libc::IN_CREATE | libc::IN_MOVED_TO)
                    .doing(|| format!("watch {dir}"))?;
                parent = Some(p);
                // It may have been made meanwhile: look again before waiting
                // for an event that has passed.
                continue;
            }
            if let Some(p) = &parent
                && !wait_input(p, deadline)?
            {
                return Ok(None);
            }
        }
        drop(parent);
        let watcher = Watcher {
            inotify,
            dir: dir.clone(),
        };
        // A supervise opens control for reading before it makes `ok` and
        // publishes its first status, both of which wake this loop.
        let fifo = control::path(dir);
        loop {
            match fs::open(&fifo, libc::O_WRONLY | libc::O_NONBLOCK, 0) {
                Ok(fd) => return Ok(Some((fd, watcher))),
                Err(Errno::ENXIO | Errno::ENOENT) => {}
                Err(e) => return Err(e).doing(|| format!("control {dir}")),
            }
            if !wait_input(&watcher.inotify, deadline)? {
                return Ok(None);
            }
        }
    }

    /// Waits until `goal` is reached (true) or `deadline` (monotonic)
    /// passes (false).
    pub fn until(
        &self,
        goal: Goal,
        before: Option<&Status>,
        deadline: Option<Duration>,
    ) -> Result<bool, Error> {
        loop {
            match status::read(&self.dir) {
                Ok(now) if goal.reached(&now, before) => return Ok(true),
                Ok(_) => {}
                // A supervise just started has not published yet: its
                // first status arrives by rename, which wakes this loop.
                Err(e) if e.errno() == Some(Errno::ENOENT) => {}
                Err(e) => return Err(e),
            }
            match deadline {
                Some(d) => {
                    if !wait_input(&self.inotify, d)? {
                        return Ok(false);
                    }
                }
                None => {
                    let mut w = [Watch::input(self.inotify.fd())];
                    poll::wait(&mut w, None).doing(|| "wait".into())?;
                    self.inotify.drain();
                }
            }
        }
    }
}

/// Waits for events on `inotify` until `deadline` (monotonic) and
/// discards them; false when the deadline passed first.
fn wait_input(inotify: &Inotify, deadline: Duration) -> Result<bool, Error> {
    let now = time::monotonic();
    if deadline <= now {
        return Ok(false);
    }
    let mut w = [Watch::input(inotify.fd())];
    poll::wait(&mut w, Some(deadline - now)).doing(|| "wait".into())?;
    inotify.drain();
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{Extension, RunState, Want, flag};
    use crate::tai64::Tai64n;

    fn st(pid: u32, state: RunState, flags: Option<u8>, changed: u64) -> Status {
        Status {
            changed: Tai64n::from_unix(Duration::from_secs(changed)),
            pid,
            paused: false,
            want: Want::Up,
            term_sent: false,
            state,
            ext: flags.map(|flags| Extension {
                flags,
                ..Extension::default()
            }),
        }
    }

    #[test]
    fn ready_needs_the_flag_only_where_readiness_exists() {
        assert!(!Goal::Ready.reached(&st(5, RunState::Run, Some(0), 1), None));
        assert!(Goal::Ready.reached(&st(5, RunState::Run, Some(flag::READY), 1), None));
        assert!(
            Goal::Ready.reached(&st(5, RunState::Run, None, 1), None),
            "daemontools: up is ready"
        );
    }

    #[test]
    fn down_and_finished_differ_while_finish_runs() {
        let finishing = st(0, RunState::Finish, Some(0), 1);
        assert!(Goal::Down.reached(&finishing, None));
        assert!(!Goal::Finished.reached(&finishing, None));
        assert!(Goal::Finished.reached(&st(0, RunState::Down, Some(0), 1), None));
    }

    #[test]
    fn restarted_needs_a_new_run() {
        let before = st(5, RunState::Run, Some(flag::READY), 1);
        assert!(!Goal::Restarted.reached(&before, Some(&before)));
        assert!(Goal::Restarted.reached(&st(6, RunState::Run, Some(0), 2), Some(&before)));
        assert!(!Goal::RestartedReady.reached(&st(6, RunState::Run, Some(0), 2), Some(&before)));
    }
}
