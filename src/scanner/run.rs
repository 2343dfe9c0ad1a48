//! scan's I/O loop: works inside DIR, lists it when inotify, a signal or
//! the safety timer says so, spawns and reaps the supervise processes,
//! holds the log pipes, and feeds what happened to the machine in
//! `mod.rs`. Before the loop any failure is fatal; inside it nothing is.

use super::{Action, Event, Found, Role, Tree, dir_of, listing, step};
use crate::error::{Doing, Error};
use crate::supervisor::orphan;
use crate::sys::inotify::Inotify;
use crate::sys::poll::{self, Watch};
use crate::sys::process::{self, Spawn};
use crate::sys::signal::{self, Signals};
use crate::sys::{self, Errno, Fd, Path, fd, fork, fs, program, time};
use crate::{control, die, status};
use alloc::collections::{BTreeMap, VecDeque};
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
    waiting: BTreeMap<Vec<u8>, Vec<i32>>,
    pipes: BTreeMap<Vec<u8>, Pipe>,
    period: Duration,
    next_rescan: Duration,
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
            for action in actions {
                if action == Action::Exit {
                    return Ok(());
                }
                queue.extend(io.perform(action));
            }
        }
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
            waiting: BTreeMap::new(),
            pipes: BTreeMap::new(),
            period,
            next_rescan: Duration::ZERO,
        })
    }

    /// Lists DIR; None (reported) when it cannot be read.
    fn rescan(&mut self) -> Option<Event> {
        self.next_rescan = time::monotonic() + self.period;
        match listing::list() {
            Ok(found) => {
                self.watch_waiting(&found);
                Some(Event::Listed(found))
            }
            Err(e) => {
                die::warn(
                    prog(),
                    &Err::<(), _>(e)
                        .doing(|| format!("list {}", self.shown))
                        .unwrap_err(),
                );
                None
            }
        }
    }

    /// Watches the service dirs (and log dirs) that wait for their run, so
    /// that `run` appearing or made executable starts them at once; drops
    /// the watches of the others.
    fn watch_waiting(&mut self, found: &[(Vec<u8>, Found)]) {
        let Some(inotify) = &self.inotify else { return };
        let is_waiting = |n: &[u8]| {
            found
                .iter()
                .any(|(m, f)| m == n && matches!(f, Found::Waiting(..)))
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
            if matches!(f, Found::Waiting(..)) && !self.waiting.contains_key(name) {
                let dir = Path::new(name);
                let wds = [dir.clone(), dir.join("log")]
                    .iter()
                    .filter_map(|d| inotify.watch(d, WAITING_EVENTS | libc::IN_ONLYDIR).ok())
                    .collect();
                self.waiting.insert(name.clone(), wds);
            }
        }
    }

    /// Blocks until something happens or a deadline passes, and queues
    /// what happened.
    fn wait(&mut self, tree: &Tree, queue: &mut VecDeque<Event>) {
        let deadline = tree
            .deadline()
            .map_or(self.next_rescan, |d| d.min(self.next_rescan));
        let timeout = deadline.saturating_sub(time::monotonic());
        let mut watches = Vec::with_capacity(2);
        watches.push(Watch::input(self.signals.fd()));
        if let Some(i) = &self.inotify {
            watches.push(Watch::input(i.fd()));
        }
        if let Err(e) = poll::wait(&mut watches, Some(timeout)) {
            die::warn(
                prog(),
                &Err::<(), _>(e).doing(|| "poll".into()).unwrap_err(),
            );
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
        let now = time::monotonic();
        if rescan || self.next_rescan <= now {
            queue.extend(self.rescan());
        }
        if tree.deadline().is_some_and(|d| d <= now) {
            queue.push_back(Event::Tick);
        }
    }

    /// Carries out one action; returns the event it led to, if any.
    fn perform(&mut self, action: Action) -> Option<Event> {
        match action {
            Action::Spawn { name, role, piped } => Some(self.spawn(name, role, piped)),
            Action::Signal { pid, signal } => {
                kill(pid, signal);
                None
            }
            Action::Control { name, role, bytes } => {
                let dir = Path::new(&dir_of(&name, role));
                control::send(&dir, bytes)
                    .err()
                    .map(|_| Event::ControlFailed { name, role })
            }
            Action::KillRun { name, role } => {
                let dir = Path::new(&dir_of(&name, role));
                // The pid a dead supervise published may have been reused:
                // only a process that is still that run (leading its own
                // session, started when the status says) is killed.
                let run = status::read(&dir)
                    .ok()
                    .and_then(|s| orphan::find(s.pid, s.changed));
                if let Some(pid) = run {
                    // Every run leads its own process group.
                    kill(-pid, libc::SIGKILL);
                    kill(pid, libc::SIGKILL);
                }
                None
            }
            Action::CloseWrite { name } => {
                if let Some(p) = self.pipes.get_mut(&name) {
                    p.write = None;
                }
                None
            }
            Action::ClosePipe { name } => {
                self.pipes.remove(&name);
                None
            }
            Action::Warn(notice) => {
                die::warn(prog(), &notice);
                None
            }
            Action::Rescan => self.rescan(),
            Action::Exit => unreachable!("the loop handles Exit before perform"),
        }
    }

    /// Starts `supervise S` or `supervise S/log`, unless a supervise runs
    /// there already.
    fn spawn(&mut self, name: Vec<u8>, role: Role, piped: bool) -> Event {
        let dir = Path::new(&dir_of(&name, role));
        if control::is_supervised(&dir).unwrap_or(false) {
            return Event::Foreign { name, role };
        }
        let dup = if piped {
            match self.pipe(&name) {
                Ok(p) => match (role, &p.write) {
                    (Role::Service, Some(w)) => Some((w.raw(), 1)),
                    (Role::Log, _) => Some((p.read.raw(), 0)),
                    // The write end closes once S's supervise is gone for
                    // good, and the machine never starts S again after that.
                    (Role::Service, None) => return Event::SpawnFailed { name, role },
                },
                Err(e) => {
                    die::warn(prog(), &e);
                    return Event::SpawnFailed { name, role };
                }
            }
        } else {
            None
        };
        let argv = [c"supervise", dir.as_cstr()];
        let dups: &[(i32, i32)] = match &dup {
            Some(d) => core::slice::from_ref(d),
            None => &[],
        };
        let opts = Spawn {
            // Its own process group: a Ctrl-C at the terminal reaches scan
            // alone, which then stops services before their loggers.
            new_group: true,
            dup: dups,
            ..Spawn::default()
        };
        // Not posix_spawn, which waits for each supervise to exec: at a
        // cold start the ones started before keep the machine busy, and
        // that wait grows with every service.
        match fork::fork_exec(&self.supervise, &argv, &opts) {
            Ok(pid) => Event::Started { name, role, pid },
            Err(e) => {
                let e = Err::<(), _>(e)
                    .doing(|| format!("spawn supervise {dir}"))
                    .unwrap_err();
                die::warn(prog(), &e);
                Event::SpawnFailed { name, role }
            }
        }
    }

    /// The entry's pipe, made on first use.
    fn pipe(&mut self, name: &[u8]) -> Result<&Pipe, Error> {
        if !self.pipes.contains_key(name) {
            let (read, write) = fd::pipe().doing(|| {
                format!(
                    "create a pipe for {}",
                    alloc::string::String::from_utf8_lossy(name)
                )
            })?;
            self.pipes.insert(
                name.to_vec(),
                Pipe {
                    read,
                    write: Some(write),
                },
            );
        }
        Ok(&self.pipes[name])
    }
}

fn kill(pid: i32, sig: i32) {
    match signal::kill(pid, sig) {
        // Already gone: its exit is on its way to us.
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => {
            let e = Err::<(), _>(e)
                .doing(|| format!("signal pid {pid}"))
                .unwrap_err();
            die::warn(prog(), &e);
        }
    }
}
