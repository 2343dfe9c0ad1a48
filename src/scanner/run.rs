//! scan's I/O loop: works inside DIR, lists it when inotify, a signal or
//! the safety timer says so, spawns and reaps the supervise processes,
//! holds the log pipes, and feeds what happened to the machine in
//! `mod.rs`. Before the loop any failure is fatal; inside it nothing is.

use super::{
    Action, Event, Failure, Found, Name, Notice, Role, Table, Tree, dir_of, listing, step,
};
use crate::error::{Doing, Error};
use crate::sys::inotify::Inotify;
use crate::sys::poll::{self, Watch};
use crate::sys::process::{self, Spawn};
use crate::sys::signal::{self, Signals};
use crate::sys::{self, Errno, Fd, Path, fd, fork, fs, limits, program, time};
use crate::{control, die, procfs, status};
use alloc::collections::VecDeque;
use alloc::format;
use alloc::vec::Vec;
use core::time::Duration;

/// Set when scan runs as daemontools' `svscan`, whose name its messages
/// then carry.
static AS_SVSCAN: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Makes scan's messages say `svscan` instead of `scan`.
pub fn call_svscan() {
    AS_SVSCAN.store(true, core::sync::atomic::Ordering::Relaxed);
}

/// The name scan's messages carry.
fn prog() -> &'static str {
    if AS_SVSCAN.load(core::sync::atomic::Ordering::Relaxed) {
        "svscan"
    } else {
        "scan"
    }
}
/// The safety rescan, for changes inotify does not report (a chmod inside
/// a service dir, a supervise that a previous scan started dying).
const RESCAN: Duration = Duration::from_secs(60);
/// daemontools' fixed period, where inotify is unavailable.
const RESCAN_WITHOUT_INOTIFY: Duration = Duration::from_secs(5);
/// DIR changes that may add or remove a service: entries created, moved
/// in or out, deleted, or changed in mode (an unreadable dir made readable).
const DIR_EVENTS: u32 = libc::IN_CREATE
    | libc::IN_MOVED_TO
    | libc::IN_MOVED_FROM
    | libc::IN_DELETE
    | libc::IN_ATTRIB
    | libc::IN_ONLYDIR;
/// Changes inside a service dir waiting for its run: created, moved in,
/// made executable.
const WAITING_EVENTS: u32 = libc::IN_CREATE | libc::IN_MOVED_TO | libc::IN_ATTRIB;

/// The pipe between a service and its logger, held open by scan so that
/// neither side's restart loses what the other wrote or will read.
struct Pipe {
    read: Fd,
    write: Option<Fd>,
}

/// What `scan` holds open.
struct Io {
    /// DIR as given, for messages: scan works inside it.
    shown: Path,
    /// The supervise program, absolute.
    supervise: Path,
    signals: Signals,
    inotify: Option<Inotify>,
    /// Watches on service dirs that wait for their run, by name.
    waiting: Table<Vec<i32>>,
    pipes: Table<Pipe>,
    /// The `instances` files of the services (super::instances).
    pools: super::instances::Watcher,
    period: Duration,
    next_rescan: Duration,
    /// The soft limit of open files scan was started with, which its
    /// supervise processes get back; None when scan did not raise it.
    nofile: Option<u64>,
    /// How many services waiting for a free fd, and for a fork, were
    /// last told about.
    told_short: (usize, usize),
    /// scan's own soft limit of open files.
    fd_limit: u64,
}

/// Supervises every service directory in `dir` until SIGTERM or SIGINT
/// has brought them all down. Returns only errors met before supervision
/// starts.
pub fn scan(dir: Path) -> Result<(), Error> {
    let mut io = Io::open(&dir)?;
    let mut tree = Tree::new();
    let mut queue = VecDeque::new();
    queue.extend(io.rescan());
    loop {
        while let Some(ev) = queue.pop_front() {
            let (next, actions) = step(tree, ev, time::monotonic());
            tree = next;
            // At most one event per action: room for them at once, not by
            // doubling, at a cold start's hundreds of spawns.
            queue.reserve(actions.len());
            for action in actions {
                if action == Action::Exit {
                    return Ok(());
                }
                queue.extend(io.perform(&action));
            }
        }
        io.tell_shortage(&tree);
        io.wait(&tree, &mut queue);
    }
}

impl Io {
    fn open(dir: &Path) -> Result<Io, Error> {
        // Never another suite's supervise by accident (daemontools' may be
        // first on PATH): the one installed with scan, else PATH, said so.
        let supervise = match program::beside_own_exe("supervise") {
            Some(p) => p,
            // Before the chdir: a relative PATH entry means the caller's
            // directory.
            None => {
                let p = program::on_path("supervise").ok_or_else(|| {
                    Error::other("find supervise", "not beside scan's executable nor on PATH")
                })?;
                die::warn(
                    prog(),
                    &format_args!("no supervise beside scan's executable: using {p} from PATH"),
                );
                p
            }
        };
        fs::chdir(dir).doing(|| format!("chdir to {dir}"))?;
        // Orphans of the services come to us, to be reaped: pid 1 gets
        // them anyway.
        if sys::getpid() != 1 {
            process::become_subreaper().doing(|| "become a child subreaper".into())?;
        }
        let signals = Signals::catch(&[
            libc::SIGCHLD,
            libc::SIGTERM,
            libc::SIGINT,
            libc::SIGHUP,
            libc::SIGALRM,
        ])
        .doing(|| "install signal handlers".into())?;
        signal::ignore(libc::SIGPIPE);
        let nofile = raise_nofile();
        let inotify = Inotify::new()
            .and_then(|i| i.watch(&Path::from("."), DIR_EVENTS).map(|_| i))
            .doing(|| format!("watch {dir} (listing it every 5 seconds instead)"));
        let (inotify, period) = match inotify {
            Ok(i) => (Some(i), RESCAN),
            Err(e) => {
                die::warn(prog(), &e);
                (None, RESCAN_WITHOUT_INOTIFY)
            }
        };
        Ok(Io {
            shown: dir.clone(),
            supervise,
            signals,
            inotify,
            waiting: Table::new(),
            pipes: Table::new(),
            pools: super::instances::Watcher::new(),
            period,
            next_rescan: Duration::ZERO,
            nofile,
            told_short: (0, 0),
            fd_limit: limits::get(libc::RLIMIT_NOFILE).map_or(u64::MAX, |(soft, _)| soft),
        })
    }

    /// Tells, once the events at hand are handled and so the count is
    /// whole, how many services wait for a free fd and what limit would
    /// fit them; again only when more wait than were told about.
    fn tell_shortage(&mut self, tree: &Tree) {
        let count = tree.short_of(Failure::Fds);
        if count > self.told_short.0 {
            let limit = self.fd_limit;
            // Two fds for each one's pipe; the room kept for the fds in
            // passing is in `limit` already.
            let fits = limit + 2 * count as u64;
            die::warn(prog(), &Notice::ShortOfFds { count, limit, fits });
        }
        let procs = tree.short_of(Failure::Procs);
        if procs > self.told_short.1 {
            // A supervise and its service: two processes each, at least.
            let running = procfs::tasks().unwrap_or(0);
            die::warn(
                prog(),
                &Notice::ShortOfProcs {
                    count: procs,
                    running,
                },
            );
        }
        self.told_short = (count, procs);
    }

    /// Lists DIR; None (reported) when it cannot be read.
    fn rescan(&mut self) -> Option<Event> {
        self.next_rescan = time::monotonic() + self.period;
        match listing::list() {
            Ok(mut found) => {
                self.watch_waiting(&found);
                for text in self.pools.update(&mut found) {
                    die::warn(prog(), &text);
                }
                Some(Event::Listed(found))
            }
            Err(e) => {
                die::warn(prog(), &Error::sys(format!("list {}", self.shown), e));
                None
            }
        }
    }

    /// Watches the service dirs (and log dirs) that wait for their run, so
    /// that `run` appearing or made executable starts them at once; drops
    /// the watches of the others.
    fn watch_waiting(&mut self, found: &[(Name, Found)]) {
        let Some(inotify) = &self.inotify else { return };
        let is_waiting = |n: &[u8]| {
            found
                .iter()
                .any(|(m, f)| **m == *n && matches!(f, Found::Waiting(..)))
        };
        self.waiting.retain(|name, wds| {
            let keep = is_waiting(name);
            if !keep {
                for wd in wds.iter() {
                    // EINVAL: the dir is gone, and its watch with it.
                    let _ = inotify.unwatch(*wd);
                }
            }
            keep
        });
        for (name, f) in found {
            if matches!(f, Found::Waiting(..)) && !self.waiting.contains(name) {
                let dir = Path::new(name);
                let wds = [dir.clone(), dir.join("log")]
                    .iter()
                    .filter_map(|d| inotify.watch(d, WAITING_EVENTS | libc::IN_ONLYDIR).ok())
                    .collect();
                self.waiting.insert(name, wds);
            }
        }
    }

    /// Blocks until something happens or a deadline passes, and queues
    /// what happened.
    fn wait(&mut self, tree: &Tree, queue: &mut VecDeque<Event>) {
        // The tree cannot change while this runs: one walk for both uses.
        let due = tree.deadline();
        let deadline = due.map_or(self.next_rescan, |d| d.min(self.next_rescan));
        let timeout = deadline.saturating_sub(time::monotonic());
        let mut watches = Vec::with_capacity(3);
        watches.push(Watch::input(self.signals.fd()));
        if let Some(i) = &self.inotify {
            watches.push(Watch::input(i.fd()));
        }
        let pools_at = watches.len();
        if let Some(fd) = self.pools.fd() {
            watches.push(Watch::input(fd));
        }
        if let Err(e) = poll::wait(&mut watches, Some(timeout)) {
            die::warn(prog(), &Error::sys("poll", e));
        }
        let (mut terminate, mut rescan) = (false, false);
        self.signals.drain(|sig| match sig {
            libc::SIGTERM | libc::SIGINT => terminate = true,
            libc::SIGHUP | libc::SIGALRM => rescan = true,
            _ => {}
        });
        // Every child, including orphans reparented to us: none is left a
        // zombie, whatever order the signals came in.
        while let Some((pid, status)) = process::reap() {
            queue.push_back(Event::Exited {
                pid,
                status: status.0,
            });
        }
        if terminate {
            queue.push_back(Event::Terminate);
        }
        if let Some(i) = &self.inotify
            && watches.get(1).is_some_and(|w| w.ready)
        {
            i.drain();
            rescan = true;
        }
        if watches.get(pools_at).is_some_and(|w| w.ready) && self.pools.changed() {
            rescan = true;
        }
        let now = time::monotonic();
        if rescan || self.next_rescan <= now {
            queue.extend(self.rescan());
        }
        if due.is_some_and(|d| d <= now) {
            queue.push_back(Event::Tick);
        }
    }

    /// Carries out one action; returns the event it led to, if any.
    /// By reference: the caller drops each action in one place, where
    /// taken by value every arm dropped the parts it did not use.
    fn perform(&mut self, action: &Action) -> Option<Event> {
        match *action {
            Action::Spawn {
                ref name,
                role,
                piped,
            } => Some(self.spawn(name, role, piped)),
            Action::Signal { pid, signal } => {
                kill(pid, signal);
                None
            }
            Action::Control {
                ref name,
                role,
                down,
            } => {
                let dir = Path::new(&dir_of(name, role));
                let bytes: &[u8] = if down { b"dx" } else { b"x" };
                let failed = || Event::ControlFailed {
                    name: name.clone(),
                    role,
                };
                (!control::delivered(&dir, bytes)).then(failed)
            }
            Action::KillRun { ref name, role } => {
                let dir = Path::new(&dir_of(name, role));
                // The pid a dead supervise published may have been reused:
                // only a process that is still that run (leading its own
                // session, started when the status says) is killed.
                let run =
                    status::read_quietly(&dir).and_then(|s| procfs::find_run(s.pid, s.changed));
                if let Some(pid) = run {
                    // Every run leads its own process group.
                    kill(-pid, libc::SIGKILL);
                    kill(pid, libc::SIGKILL);
                }
                None
            }
            Action::CloseWrite { ref name } => {
                if let Some(p) = self.pipes.get_mut(name) {
                    p.write = None;
                }
                None
            }
            Action::ClosePipe { ref name } => {
                self.pipes.remove(name);
                None
            }
            Action::Warn(ref notice) => {
                die::warn(prog(), &**notice);
                None
            }
            Action::Rescan => self.rescan(),
            Action::Exit => unreachable!("the loop handles Exit before perform"),
        }
    }

    /// Starts `supervise S` or `supervise S/log`, unless a supervise runs
    /// there already.
    fn spawn(&mut self, name: &Name, role: Role, piped: bool) -> Event {
        // The share every answer carries.
        let name = name.clone();
        let dir = Path::new(&dir_of(&name, role));
        if control::is_supervised_errno(&dir).unwrap_or(false) {
            return Event::Foreign { name, role };
        }
        let dup = if piped {
            match self.pipe(&name) {
                Ok(p) => match (role, &p.write) {
                    (Role::Service | Role::Instance(_), Some(w)) => Some((w.raw(), 1)),
                    (Role::Log, _) => Some((p.read.raw(), 0)),
                    // The write end closes once S's supervise is gone for
                    // good, and the machine never starts S again after that.
                    (Role::Service | Role::Instance(_), None) => {
                        let why = Failure::Pipe(Errno::EPIPE);
                        return Event::SpawnFailed { name, role, why };
                    }
                },
                Err(Errno(libc::EMFILE)) => {
                    let why = Failure::Fds;
                    return Event::SpawnFailed { name, role, why };
                }
                Err(e) => {
                    let why = Failure::Pipe(e);
                    return Event::SpawnFailed { name, role, why };
                }
            }
        } else {
            None
        };
        // An instance's supervise runs on S and is told its number.
        let k = super::instances::argument(role);
        let own = Path::new(&name);
        let argv_pool;
        let argv_one;
        let argv: &[&core::ffi::CStr] = match &k {
            Some(k) => {
                argv_pool = [c"supervise", own.as_cstr(), k.as_c_str()];
                &argv_pool
            }
            None => {
                argv_one = [c"supervise", dir.as_cstr()];
                &argv_one
            }
        };
        let dups: &[(i32, i32)] = match &dup {
            Some(d) => core::slice::from_ref(d),
            None => &[],
        };
        let opts = Spawn {
            // Its own process group: a Ctrl-C at the terminal reaches scan
            // alone, which then stops services before their loggers.
            new_group: true,
            dup: dups,
            nofile: self.nofile,
            ..Spawn::default()
        };
        // Not posix_spawn, which waits for each supervise to exec: at a
        // cold start the ones started before keep the machine busy, and
        // that wait grows with every service.
        // An instance's programs find their number and the pool's size in
        // the environment supervise inherits: set around the fork only.
        let pool_env = super::instances::set_env(role, &own);
        let started = fork::fork_exec(&self.supervise, argv, &opts);
        if pool_env {
            super::instances::unset_env();
        }
        match started {
            Ok(pid) => Event::Started { name, role, pid },
            Err(e) => {
                let why = match e {
                    Errno::EAGAIN => Failure::Procs,
                    e => Failure::Fork(e),
                };
                Event::SpawnFailed { name, role, why }
            }
        }
    }

    /// The entry's pipe, made on first use.
    fn pipe(&mut self, name: &Name) -> Result<&Pipe, Errno> {
        let fd_limit = self.fd_limit;
        let p = self.pipes.try_get_or_insert_with(name, || {
            let (read, write) = fd::pipe()?;
            // Room is kept for the fds scan opens in passing: out of fds
            // it could no longer list DIR. Lowest numbers first, so the
            // number tells how many are open.
            if write.raw().max(read.raw()) as u64 + FDS_IN_PASSING >= fd_limit {
                return Err(Errno(libc::EMFILE));
            }
            let write = Some(write);
            Ok(Pipe { read, write })
        })?;
        Ok(p)
    }
}

/// File descriptors scan opens for a moment beside those it holds:
/// listing DIR, asking whether a supervise runs, writing a control FIFO.
const FDS_IN_PASSING: u64 = 2;

/// Raises scan's soft limit of open files to its hard limit: two fds per
/// logger are held for as long as they run, and the usual soft limit of
/// 1024 would stop at about 500 of them. Returns the limit it had, for
/// the supervise processes to get back, or None when it did not raise it.
fn raise_nofile() -> Option<u64> {
    let (soft, hard) = limits::get(libc::RLIMIT_NOFILE).ok()?;
    (soft < hard && limits::set(libc::RLIMIT_NOFILE, hard, hard).is_ok()).then_some(soft)
}

fn kill(pid: i32, sig: i32) {
    match signal::kill(pid, sig) {
        // Already gone: its exit is on its way to us.
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => {
            let e = Error::sys(format!("signal pid {pid}"), e);
            die::warn(prog(), &e);
        }
    }
}
