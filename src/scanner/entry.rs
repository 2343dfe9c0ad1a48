//! One service directory's pair of supervise processes through their
//! life: started when due, restarted with a back-off when they die, and
//! taken down in stages, the service before its logger.

use super::notice::Notice;
use super::{Action, Failure, Name, Role, Tree};
use alloc::vec::Vec;
use core::num::NonZeroU64;
use core::ops::Add;
use core::time::Duration;

/// A supervise that lived this long is restarted at once when it dies.
pub const LONG_LIVED: Duration = Duration::from_secs(10);
/// First restart delay of a supervise that keeps dying; doubles each time.
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// The longest restart delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How long a service's supervise may take to bring it down and exit,
/// beyond the service's own `timeout-kill`: for a service without one to
/// go down, and for its `finish`.
pub const STOP_SERVICE: Duration = Duration::from_secs(5);
/// How long a logger may take to store what is left in its pipe and exit.
pub const STOP_LOGGER: Duration = Duration::from_secs(3);

/// A moment on scan's monotonic clock: nanoseconds (plus one, so that an
/// `Option<At>` takes no more room), half the size of a Duration. Every
/// service has two or more slots of them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct At(NonZeroU64);

impl At {
    /// The moment `d` after the clock's start (saturating, 584 years on).
    pub fn of(d: Duration) -> At {
        let n = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        At(NonZeroU64::MIN.saturating_add(n.min(u64::MAX - 1)))
    }

    /// Back to the clock's Duration.
    pub fn duration(self) -> Duration {
        Duration::from_nanos(self.0.get() - 1)
    }

    /// How long after `earlier` this is; zero if it is not after it.
    pub fn since(self, earlier: At) -> Duration {
        Duration::from_nanos(self.0.get().saturating_sub(earlier.0.get()))
    }
}

impl Add<Duration> for At {
    type Output = At;
    fn add(self, d: Duration) -> At {
        At::of(self.duration().saturating_add(d))
    }
}

/// Where one supervise stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Sup {
    /// Not running: start it at `due`.
    Idle {
        due: At,
    },
    /// A `Spawn` is out; `Started`, `SpawnFailed` or `Foreign` comes next.
    Spawning,
    Up {
        pid: i32,
    },
    /// A supervise scan did not start holds the lock (one left by a
    /// previous scan): it does the job.
    Foreign,
    /// Told to exit; SIGKILLed at `kill_at` if it has not.
    Stopping {
        pid: i32,
        kill_at: Option<At>,
    },
    /// Gone for good.
    Done,
}

/// One supervise and its restart history.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Slot {
    pub sup: Sup,
    started: At,
    streak: u32,
    /// Being supervised by someone else was reported already.
    told_foreign: bool,
    /// Why the last spawn failed, told already, until one succeeds: a
    /// failure is told once, not at every retry.
    failure: Option<Failure>,
}

impl Slot {
    /// A slot in state `sup` at `now`.
    pub fn new(sup: Sup, now: At) -> Slot {
        Slot {
            sup,
            started: now,
            streak: 0,
            told_foreign: false,
            failure: None,
        }
    }

    /// Its supervise was spawned as `pid`.
    pub fn started(&mut self, pid: i32, now: At) {
        (self.sup, self.started, self.told_foreign) = (Sup::Up { pid }, now, false);
        self.failure = None;
    }

    /// Its supervise could not be spawned: try again after the back-off.
    /// True when the failure is to be told: the first of its kind since
    /// the last success, and not a shortage of fds or processes (counted
    /// instead).
    pub fn failed(&mut self, why: Failure, now: At) -> bool {
        self.streak += 1;
        self.started = now;
        self.sup = Sup::Idle {
            due: now + backoff(self.streak),
        };
        let told = self.failure.replace(why);
        !matches!(why, Failure::Fds | Failure::Procs) && told != Some(why)
    }

    /// Whether its last spawn failed for want of `why`.
    pub fn short_of(&self, why: Failure) -> bool {
        self.failure == Some(why)
    }

    /// Someone else supervises it; true the first time, to be told.
    pub fn foreign(&mut self) -> bool {
        self.sup = Sup::Foreign;
        !core::mem::replace(&mut self.told_foreign, true)
    }

    /// Its supervise died while wanted: restart it at once after a long
    /// life, else no sooner than the back-off after its last start.
    pub fn died(&mut self, now: At) {
        let due = if now.since(self.started) >= LONG_LIVED {
            self.streak = 0;
            now
        } else {
            self.streak += 1;
            self.started + backoff(self.streak)
        };
        self.sup = Sup::Idle { due };
    }
}

/// How far an entry is in being taken down.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stage {
    Live,
    /// S's supervise is told to exit; the logger keeps reading.
    StoppingService,
    /// S's supervise is gone and the pipe's write end closed: the logger
    /// stores what is left and exits at end of input.
    StoppingLogger,
}

/// A service directory scan supervises.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Entry {
    /// Has a logger, connected by a pipe scan holds.
    pub log: bool,
    /// The service's `timeout-kill` at the last listing: its supervise
    /// gets that much longer to stop before scan kills it.
    pub timeout_kill: Duration,
    pub service: Slot,
    /// `Done` from the start when there is no logger.
    pub logger: Slot,
    pub stage: Stage,
    /// `S/instances` at the last listing: None for a plain service.
    pub pool: Option<u32>,
    /// Instance k's supervise at index k-1: as many as the pool has, and
    /// the surplus ones while they stop.
    pub instances: Vec<Slot>,
}

/// The restart delay after `streak` short-lived supervise runs in a row.
fn backoff(streak: u32) -> Duration {
    let factor = 1u32
        .checked_shl(streak.saturating_sub(1))
        .unwrap_or(u32::MAX);
    BACKOFF_MIN.saturating_mul(factor).min(BACKOFF_MAX)
}

impl Entry {
    /// Whether the entry's stage still wants `role`'s supervise running.
    pub fn wanted(&self, role: Role) -> bool {
        match role {
            Role::Service => self.stage == Stage::Live && self.pool.is_none(),
            Role::Instance(k) => self.stage == Stage::Live && self.pool.is_some_and(|n| k <= n),
            Role::Log => self.log && self.stage != Stage::StoppingLogger,
        }
    }

    /// The slot of `role`; None for an instance it does not have.
    pub fn slot(&self, role: Role) -> Option<&Slot> {
        match role {
            Role::Service => Some(&self.service),
            Role::Log => Some(&self.logger),
            Role::Instance(k) => self.instances.get(k.checked_sub(1)? as usize),
        }
    }

    /// The slot of `role`, to change.
    pub fn slot_mut(&mut self, role: Role) -> Option<&mut Slot> {
        match role {
            Role::Service => Some(&mut self.service),
            Role::Log => Some(&mut self.logger),
            Role::Instance(k) => self.instances.get_mut(k.checked_sub(1)? as usize),
        }
    }

    /// Every role it has a slot for.
    pub fn roles(&self) -> impl Iterator<Item = Role> + use<> {
        let n = self.instances.len() as u32;
        [Role::Service, Role::Log]
            .into_iter()
            .chain((1..=n).map(Role::Instance))
    }

    /// Whether every supervise of the service itself (not its logger) is
    /// gone for good.
    fn service_done(&self) -> bool {
        self.service.sup == Sup::Done && self.instances.iter().all(|s| s.sup == Sup::Done)
    }
}

/// Which entries an event may have moved.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Moved<'a> {
    /// A listing, a deadline, SIGTERM: any of them.
    All,
    /// An answer about one of its supervise processes: that one alone.
    One(&'a Name),
    Nothing,
}

/// Moves the entries `moved` says as far as they can go now: starts what
/// is due, stops what is no longer wanted, fires stop deadlines, ends
/// finished entries. Not every entry at every event: at a cold start of
/// N services that would be N steps for each of N answers.
pub fn advance(t: &mut Tree, moved: Moved, now: At, out: &mut Vec<Action>) {
    let mut ended = Vec::new();
    match moved {
        Moved::All => {
            for (name, e) in t.entries.iter_mut() {
                if settle(name, e, now, out) {
                    ended.push(name.clone());
                }
            }
        }
        Moved::One(name) => {
            if let Some(e) = t.entries.get_mut(name)
                && settle(name, e, now, out)
            {
                ended.push(name.clone());
            }
        }
        Moved::Nothing => {}
    }
    for name in &ended {
        t.entries.remove(name);
    }
    if t.terminating {
        if t.entries.is_empty() {
            out.push(Action::Exit);
        }
    } else if !ended.is_empty() {
        out.push(Action::Rescan);
    }
}

/// One entry's part of `advance`; true when it has ended.
fn settle(name: &Name, e: &mut Entry, now: At, out: &mut Vec<Action>) -> bool {
    loop {
        for role in e.roles() {
            drive(name, e, role, now, out);
        }
        super::instances::trim(e);
        match e.stage {
            Stage::StoppingService if e.service_done() => {
                e.stage = Stage::StoppingLogger;
                if e.log {
                    out.push(Action::CloseWrite { name: name.clone() });
                }
            }
            Stage::StoppingLogger if e.logger.sup == Sup::Done => {
                if e.log {
                    out.push(Action::ClosePipe { name: name.clone() });
                }
                return true;
            }
            Stage::Live | Stage::StoppingService | Stage::StoppingLogger => return false,
        }
    }
}

/// One slot's part of `advance`.
fn drive(name: &Name, e: &mut Entry, role: Role, now: At, out: &mut Vec<Action>) {
    let wanted = e.wanted(role);
    let piped = e.log;
    let timeout_kill = e.timeout_kill;
    let Some(s) = e.slot_mut(role) else { return };
    let name = || name.clone();
    match s.sup {
        // An instance (or a pool's own slot) wanted again after it went
        // down, by a resize: it starts over.
        Sup::Done if wanted && role != Role::Log => {
            *s = Slot::new(Sup::Spawning, now);
            out.push(Action::Spawn {
                name: name(),
                role,
                piped,
            });
        }
        Sup::Idle { due } if wanted => {
            if due <= now {
                s.sup = Sup::Spawning;
                out.push(Action::Spawn {
                    name: name(),
                    role,
                    piped,
                });
            }
        }
        // Waiting to restart a supervise that died: the service it ran
        // may still be running, orphaned, and must not outlive its entry.
        Sup::Idle { .. } => {
            s.sup = Sup::Done;
            out.push(Action::KillRun { name: name(), role });
        }
        Sup::Up { pid } if !wanted => {
            let bound = match role {
                Role::Service | Role::Instance(_) => STOP_SERVICE + timeout_kill,
                Role::Log => STOP_LOGGER,
            };
            s.sup = Sup::Stopping {
                pid,
                kill_at: Some(now + bound),
            };
            out.push(match role {
                // SIGTERM is supervise's `dx`, and reaches it even when
                // the directory, and with it the control FIFO, is gone.
                Role::Service | Role::Instance(_) => Action::Signal {
                    pid,
                    signal: libc::SIGTERM,
                },
                // Only `x`: the logger stores what is left in the pipe and
                // exits at end of input, then its supervise exits too.
                Role::Log => Action::Control {
                    name: name(),
                    role,
                    down: false,
                },
            });
        }
        Sup::Foreign if !wanted => {
            s.sup = Sup::Done;
            out.push(Action::Control {
                name: name(),
                role,
                down: true,
            });
        }
        Sup::Stopping {
            pid,
            kill_at: Some(at),
        } if at <= now => {
            s.sup = Sup::Stopping { pid, kill_at: None };
            out.push(Action::warn(Notice::Killed { name: name(), role }));
            out.push(Action::KillRun { name: name(), role });
            out.push(Action::Signal {
                pid,
                signal: libc::SIGKILL,
            });
        }
        Sup::Up { .. } | Sup::Foreign | Sup::Spawning | Sup::Stopping { .. } | Sup::Done => {}
    }
}
