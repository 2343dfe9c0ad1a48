//! scan's policy, as a pure machine: `step(tree, event, now)` returns the
//! next tree and the actions to perform. No syscalls, no clock here or in
//! `entry.rs`: `listing.rs` reads DIR, `run.rs` spawns and reaps the
//! supervise processes and feeds back what happened. man/scan.8 describes
//! the behaviour; this is its definition.
//!
//! Each service directory S is an `Entry` with two slots, one per
//! supervise: S's own and, when S has `log/`, its logger's. An entry that
//! leaves DIR (or every entry, on SIGTERM) is taken down in stages: S's
//! supervise first, then the logger once S's is gone, then the pipe closes.

pub mod entry;
pub mod instances;
pub mod listing;
pub mod notice;
pub mod run;
pub mod table;
#[cfg(test)]
mod tests;

pub use entry::{At, Entry, Moved, Slot, Stage, Sup};
pub use listing::{Found, Problem};
pub use notice::{Notice, dir_of};
pub use table::{Name, Table};

use crate::sys::Errno;

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_int;
use core::time::Duration;

/// Which of an entry's supervise processes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    /// `supervise S`
    Service,
    /// `supervise S/log`
    Log,
    /// `supervise S K`: instance K (from 1) of a pool (man/svkit.7).
    Instance(u32),
}

/// Everything scan supervises.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct Tree {
    pub entries: Table<Entry>,
    /// Names warned about, with what was said: each problem is told once.
    warned: Table<Found>,
    /// DIR was listed at least once.
    listed: bool,
    /// SIGTERM or SIGINT: everything goes down, then scan exits.
    pub terminating: bool,
}

/// What happened.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Event {
    /// DIR was listed: every name not starting with '.', classified.
    Listed(Vec<(Name, Found)>),
    Started {
        name: Name,
        role: Role,
        pid: i32,
    },
    /// Could not be spawned.
    SpawnFailed {
        name: Name,
        role: Role,
        why: Failure,
    },
    /// Already supervised by a process scan did not start.
    Foreign {
        name: Name,
        role: Role,
    },
    /// A control command could not be delivered.
    ControlFailed {
        name: Name,
        role: Role,
    },
    /// A child was reaped, with its wait status.
    Exited {
        pid: i32,
        status: i32,
    },
    Terminate,
    /// A deadline passed. Harmless when early.
    Tick,
}

/// Why a supervise could not be spawned.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Failure {
    /// scan is at its limit of open files (the pipe for a logger needs
    /// two): a limit, not the service's fault, so told as one count of the
    /// services it keeps down (`Tree::short_of_fds`), not one by one.
    Fds,
    /// The fork failed for want of processes (EAGAIN: `ulimit -u`,
    /// kernel.pid_max, kernel.threads-max): counted too.
    Procs,
    /// The pipe to its logger could not be made.
    Pipe(Errno),
    /// The fork failed.
    Fork(Errno),
}

/// What the I/O loop must do.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Action {
    /// Start `supervise S` (or `S/log`); with `piped`, S's stdout or its
    /// logger's stdin is the entry's pipe. Answer with `Started`,
    /// `SpawnFailed` or `Foreign`.
    Spawn {
        name: Name,
        role: Role,
        piped: bool,
    },
    Signal {
        pid: i32,
        signal: c_int,
    },
    /// Write `x` to the supervise's control FIFO, `dx` with `down`;
    /// `ControlFailed` if not.
    Control {
        name: Name,
        role: Role,
        down: bool,
    },
    /// SIGKILL the service that supervise runs (or ran, if it is still
    /// that process), with its process group.
    KillRun {
        name: Name,
        role: Role,
    },
    /// Close scan's write end of the pipe: the logger sees end of input.
    CloseWrite {
        name: Name,
    },
    /// Close the pipe altogether.
    ClosePipe {
        name: Name,
    },
    /// Boxed: warnings are rare, and a cold start holds hundreds of
    /// actions at once, each as big as the biggest kind.
    Warn(Box<Notice>),
    /// List DIR again: a name taken down may already be back.
    Rescan,
    Exit,
}

impl Action {
    /// Tell `notice`.
    pub fn warn(notice: Notice) -> Action {
        Action::Warn(Box::new(notice))
    }
}

impl Tree {
    /// Nothing supervised yet.
    pub fn new() -> Tree {
        Tree::default()
    }

    /// The earliest moment something is due; None: nothing, wait forever.
    pub fn deadline(&self) -> Option<Duration> {
        let due = |s: &Slot| match s.sup {
            Sup::Idle { due } => Some(due),
            Sup::Stopping { kill_at, .. } => kill_at,
            Sup::Spawning | Sup::Up { .. } | Sup::Foreign | Sup::Done => None,
        };
        // Loops, not a flat_map of chained iterators: the same answer in
        // a fraction of the code.
        let mut earliest: Option<At> = None;
        let mut consider = |s: &Slot| {
            if let Some(d) = due(s) {
                earliest = Some(earliest.map_or(d, |e| e.min(d)));
            }
        };
        for e in self.entries.values() {
            consider(&e.service);
            consider(&e.logger);
            e.instances.iter().for_each(&mut consider);
        }
        earliest.map(At::duration)
    }

    /// How many services wait for a resource: `Failure::Fds` or
    /// `Failure::Procs`. A service and its logger count once, each
    /// instance of a pool as one.
    pub fn short_of(&self, why: Failure) -> usize {
        let short = |s: &Slot| s.short_of(why) && matches!(s.sup, Sup::Idle { .. });
        let mut count = 0;
        for e in self.entries.values() {
            count += usize::from(short(&e.service) || short(&e.logger));
            count += e.instances.iter().filter(|s| short(s)).count();
        }
        count
    }

    /// The slot of `name`'s `role`, if a spawn is out for it.
    fn spawning(&mut self, name: &[u8], role: Role) -> Option<&mut Slot> {
        let s = self.entries.get_mut(name)?.slot_mut(role)?;
        (s.sup == Sup::Spawning).then_some(s)
    }

    fn slot_of_pid(&mut self, pid: i32) -> Option<(Name, Role, &mut Entry)> {
        let runs = |s: &Slot| matches!(s.sup, Sup::Up { pid: p } | Sup::Stopping { pid: p, .. } if p == pid);
        // The roles in `Entry::roles`' order, without its chained iterator.
        let role_of = |e: &Entry| {
            if runs(&e.service) {
                Some(Role::Service)
            } else if runs(&e.logger) {
                Some(Role::Log)
            } else {
                let i = e.instances.iter().position(runs)?;
                Some(Role::Instance(i as u32 + 1))
            }
        };
        self.entries
            .iter_mut()
            .find_map(|(name, e)| role_of(e).map(|role| (name.clone(), role, e)))
    }
}

/// The policy: the next tree and what to do, for one event at monotonic
/// time `now`.
pub fn step(mut t: Tree, ev: Event, now: Duration) -> (Tree, Vec<Action>) {
    let now = At::of(now);
    let mut out = Vec::new();
    let moved = match &ev {
        Event::Started { name, .. }
        | Event::SpawnFailed { name, .. }
        | Event::Foreign { name, .. } => Some(name.clone()),
        Event::Exited { pid, .. } => t.slot_of_pid(*pid).map(|(name, ..)| name),
        Event::Listed(_) | Event::ControlFailed { .. } | Event::Terminate | Event::Tick => None,
    };
    let moved = match (&ev, &moved) {
        (_, Some(name)) => Moved::One(name),
        (Event::ControlFailed { .. } | Event::Exited { .. }, None) => Moved::Nothing,
        _ => Moved::All,
    };
    match ev {
        Event::Listed(found) => {
            if !t.terminating {
                listed(&mut t, found, now, &mut out);
            }
        }
        Event::Started { name, role, pid } => {
            if let Some(s) = t.spawning(&name, role) {
                s.started(pid, now);
            }
        }
        Event::SpawnFailed { name, role, why } => {
            if let Some(s) = t.spawning(&name, role)
                && s.failed(why, now)
            {
                out.push(Action::warn(Notice::SpawnFailed { name, role, why }));
            }
        }
        Event::Foreign { name, role } => {
            if let Some(s) = t.spawning(&name, role)
                && s.foreign()
            {
                out.push(Action::warn(Notice::Foreign { name, role }));
            }
        }
        Event::ControlFailed { name, role } => {
            // The directory is gone with its FIFO: the supervise hears
            // SIGTERM instead, which it obeys as `dx`.
            let s = t.entries.get(&name).and_then(|e| e.slot(role));
            if let Some(Sup::Stopping { pid, .. }) = s.map(|s| s.sup) {
                out.push(Action::Signal {
                    pid,
                    signal: libc::SIGTERM,
                });
            }
        }
        Event::Exited { pid, status } => {
            if let Some((name, role, e)) = t.slot_of_pid(pid) {
                let wanted = e.wanted(role);
                // slot_of_pid found the role in a slot: it is there.
                if let Some(s) = e.slot_mut(role) {
                    if matches!(s.sup, Sup::Up { .. }) && wanted {
                        out.push(Action::warn(Notice::Died { name, role, status }));
                        s.died(now);
                    } else {
                        s.sup = Sup::Done;
                    }
                }
            }
            // Otherwise an orphan that was reparented to scan: reaped, done.
        }
        Event::Terminate => {
            t.terminating = true;
            for e in t.entries.values_mut() {
                if e.stage == Stage::Live {
                    e.stage = Stage::StoppingService;
                }
            }
        }
        Event::Tick => {}
    }
    entry::advance(&mut t, moved, now, &mut out);
    (t, out)
}

/// Whether two findings are the same: out of line, as `listed` compares
/// them twice and each inlined comparison of the enum is sizeable.
#[inline(never)]
fn same(a: &Found, b: &Found) -> bool {
    a == b
}

fn listed(t: &mut Tree, found: Vec<(Name, Found)>, now: At, out: &mut Vec<Action>) {
    // A first listing of files and directories without a run (scan started
    // in a source checkout) is told in one line, not one per file. A
    // service that cannot start for another reason is still named.
    let not_a_tree = !t.listed
        && found.len() >= 2
        && found.iter().all(|(_, f)| {
            matches!(
                f,
                Found::Ignored(Problem::NotDir) | Found::Waiting(Role::Service, Problem::NoRun)
            )
        });
    t.listed = true;
    if not_a_tree {
        out.push(Action::warn(Notice::NotATree {
            entries: found.len(),
        }));
    }
    // Room for the new services at once: at a cold start the table is
    // made at its size.
    let new = found
        .iter()
        .filter(|(name, f)| matches!(f, Found::Service { .. }) && !t.entries.contains(name))
        .count();
    t.entries.reserve_exact(new);
    for (name, f) in &found {
        let known = t.entries.contains(name);
        match f {
            Found::Service {
                log,
                timeout_kill,
                pool,
            } => {
                let e = t.entries.get_or_insert_with(name, || Entry {
                    log: *log,
                    timeout_kill: *timeout_kill,
                    // A pool's own slot stays unused (`wanted` says no).
                    service: Slot::new(
                        match pool {
                            None => Sup::Idle { due: now },
                            Some(_) => Sup::Done,
                        },
                        now,
                    ),
                    pool: *pool,
                    instances: Vec::new(),
                    logger: Slot::new(
                        if *log {
                            Sup::Idle { due: now }
                        } else {
                            Sup::Done
                        },
                        now,
                    ),
                    stage: Stage::Live,
                });
                e.timeout_kill = *timeout_kill;
                instances::resize(e, *pool, now);
                // Ask again whether the one who supervises it still does.
                for s in [&mut e.service, &mut e.logger]
                    .into_iter()
                    .chain(e.instances.iter_mut())
                {
                    if s.sup == Sup::Foreign && e.stage == Stage::Live {
                        s.sup = Sup::Idle { due: now };
                    }
                }
            }
            // Supervised already: a run removed meanwhile is supervise's
            // to report when it next starts it.
            Found::Waiting(..) if known => {}
            Found::Waiting(..) | Found::Ignored(_) => {
                if !t.warned.get(name).is_some_and(|w| same(w, f)) {
                    t.warned.insert(name, *f);
                    if !not_a_tree {
                        out.push(Action::warn(Notice::Problem {
                            name: name.clone(),
                            found: *f,
                        }));
                    }
                }
            }
        }
    }
    // A problem that went away is forgotten, so that it is told again
    // should it come back.
    t.warned
        .retain(|n, w| found.iter().any(|(m, f)| m == n && same(f, w)));
    // The entries the listing still shows as services, or as ones that
    // wait for their run while supervised.
    let mut shown = vec![false; t.entries.len()];
    for (name, f) in &found {
        if !matches!(f, Found::Ignored(_))
            && let Some(i) = t.entries.index_of(name)
        {
            shown[i] = true;
        }
    }
    for (e, shown) in t.entries.values_mut().zip(shown) {
        if e.stage == Stage::Live && !shown {
            e.stage = Stage::StoppingService;
        }
    }
}
