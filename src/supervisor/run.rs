//! supervise's I/O loop: owns the fds, the children and the files in
//! `supervise/`, turns what happens into `Event`s for the machine and
//! carries out its `Action`s. Before the loop any failure is fatal; inside
//! it nothing is: a failed action is reported and the machine retries.

use super::pidfile::{self, Refusal};
use super::{Action, Adopted, Event, Helper, Machine, Notice, Now, Why, step};
use crate::control::Command;
use crate::error::{Doing, Error};
use crate::servicedir::{ServiceDir, Settings, inside};
use crate::status::{self, RunState, Status};
use crate::sys::poll::{self, Watch};
use crate::sys::process::{self, Spawn};
use crate::sys::signal::{self, Signals};
use crate::sys::{Errno, Fd, Path, fd, fs, socket, time};
use crate::tai64::Tai64n;
use crate::{die, procfs};
use alloc::collections::VecDeque;
use alloc::ffi::CString;
use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;

const PROG: &str = "supervise";

/// What `run` holds open while it supervises.
struct Io {
    dir: ServiceDir,
    /// The service dir's name, run's and finish's last argument.
    name: CString,
    signals: Signals,
    control: Fd,
    /// Our own writer on the control FIFO: without one, every client that
    /// closes it would leave the reader at end-of-file, polling readable.
    _control_writer: Fd,
    /// Held open for reading: clients open `ok` for writing to learn that
    /// supervise runs (ENXIO when it does not).
    _ok: Fd,
    /// Held with an exclusive lock while we run.
    _lock: Fd,
    /// Readable when the orphaned run dies.
    orphan: Option<Fd>,
    published: Option<Status>,
    /// The read end of the current run's notification-fd pipe.
    ready_pipe: Option<Fd>,
    /// The sd_notify socket, bound once S/notify is seen.
    notify: Option<Fd>,
    /// `NOTIFY_SOCKET=/abs/S/supervise/notify`, for run's environment.
    notify_env: CString,
    /// Where `supervise/` is, relative to S: "." for a plain service,
    /// `instance/K` for instance K of a pool (man/svkit.7).
    home: Path,
    /// The instance number K, for the programs' environment.
    instance: Option<u32>,
    /// What following a daemon through a pid file needs.
    follow: Follow,
}

/// The daemon a pid file names, for a `run` that forks it away.
#[derive(Default)]
struct Follow {
    /// The daemon, with a pidfd readable when it ends (it may not be our
    /// child while a parent of its own lives).
    daemon: Option<(i32, Fd)>,
    /// Why the pid file did not name the daemon at the last read.
    refusal: Option<Refusal>,
    /// Marked a child subreaper (done once, for the first pid file).
    subreaper: bool,
}

/// Supervises instance `instance` of the pool in `shown` (or, with None,
/// the plain service `shown`) until told to exit. Returns only errors met
/// before supervision starts.
pub fn supervise_instance(shown: Path, instance: Option<u32>) -> Result<(), Error> {
    let now = clock();
    let mut io = Io::open(shown, instance)?;
    let previous = status::read(&io.home).ok();
    let orphan = previous.filter(|s| s.state == RunState::Run).and_then(|s| {
        let pid = procfs::find_run(s.pid, s.changed)?;
        // ESRCH: it died in the meantime, and there is nothing to wait for.
        io.orphan = Some(process::pidfd_open(pid).ok()?);
        Some(Adopted {
            pid,
            changed: s.changed,
            // An older supervise did not say: the settings do.
            has_readiness: s.has_readiness().unwrap_or_else(|| io.dir.has_readiness()),
            // An older supervise did not say: the file may hold one.
            has_message: s.has_message().unwrap_or(true),
        })
    });
    let mut m = Machine::new(io.dir.normally_up(), orphan, now);
    // The first publish waits for the first Tick, which usually starts the
    // service: each status, pid and stat file is a rename, and renames are
    // most of what starting a supervise costs (500 at once under scan).
    let mut queue = VecDeque::from([Event::Tick]);
    loop {
        while let Some(ev) = queue.pop_front() {
            let (next, actions) = step(m, ev, clock());
            m = next;
            for action in actions {
                if action == Action::Exit {
                    io.publish(&m);
                    return Ok(());
                }
                if let Some(ev) = io.perform(action, &m) {
                    queue.push_back(ev);
                }
            }
        }
        io.publish(&m);
        io.wait(&m, &mut queue);
    }
}

/// Both clocks, read together.
fn clock() -> Now {
    Now {
        mono: time::monotonic(),
        wall: Tai64n::now(),
    }
}

impl Io {
    fn open(shown: Path, instance: Option<u32>) -> Result<Io, Error> {
        fs::chdir(&shown).doing(|| format!("chdir to {shown}"))?;
        let dir = ServiceDir::here(shown);
        let home = match instance {
            Some(k) => crate::instances::make_home(&dir, k)?,
            None => Path::from("."),
        };
        let at = |name: &str| inside(&home, name);
        let show = |name: &str| dir.show(&at(name).lossy());
        let sup = at("supervise");
        fs::mkdir(&sup, 0o755).doing(|| format!("create {}", show("supervise")))?;
        // It may be a symlink to a directory elsewhere (a tmpfs), as with
        // daemontools and runit; its entries may not.
        let meta = fs::stat(&sup).doing(|| format!("stat {}", show("supervise")))?;
        if !meta.is_dir() {
            return Err(Error::other(
                format!("use {}", show("supervise")),
                format!("it is {}, not a directory", kind_of(&meta)),
            ));
        }
        check_entries(&dir, &home)?;
        let lock_name = at("supervise/lock").lossy();
        let lock = fs::open_regular(&Path::from(lock_name.as_str()), libc::O_WRONLY, 0o600)
            .map_err(|e| unexpected(&dir, &lock_name, e))?;
        fs::lock_exclusive_now(&lock).doing(|| format!("acquire {}", show("supervise/lock")))?;
        let control = open_fifo(&at("supervise/control"), libc::O_RDONLY, &dir)?;
        let control_writer = open_fifo(&at("supervise/control"), libc::O_WRONLY, &dir)?;
        let signals = Signals::catch(&[libc::SIGCHLD, libc::SIGTERM, libc::SIGINT])
            .doing(|| "install signal handlers".to_string())?;
        // A logger that went away must not kill us with SIGPIPE.
        signal::ignore(libc::SIGPIPE);
        // Last: from now on clients see a running supervise.
        let ok = open_fifo(&at("supervise/ok"), libc::O_RDONLY, &dir)?;
        let name = CString::new(dir.shown.file_name()).unwrap_or_default();
        // The service may chdir: NOTIFY_SOCKET must be absolute.
        let cwd = fs::cwd().doing(|| format!("find the full name of {}", dir.shown))?;
        let mut notify_env = b"NOTIFY_SOCKET=".to_vec();
        notify_env.extend_from_slice(cwd.join(at("supervise/notify").as_bytes()).as_bytes());
        let notify_env = CString::new(notify_env).unwrap_or_default();
        Ok(Io {
            dir,
            name,
            signals,
            control,
            _control_writer: control_writer,
            _ok: ok,
            _lock: lock,
            orphan: None,
            published: None,
            ready_pipe: None,
            notify: None,
            notify_env,
            home,
            instance,
            follow: Follow::default(),
        })
    }

    /// Blocks until something happens or the machine's deadline passes,
    /// and queues what happened.
    fn wait(&mut self, m: &Machine, queue: &mut VecDeque<Event>) {
        let deadline = m.deadline();
        let timeout = deadline.map(|d| d.saturating_sub(time::monotonic()));
        let mut watches = Vec::with_capacity(5);
        watches.push(Watch::input(self.signals.fd()));
        watches.push(Watch::input(&self.control));
        let mut at = 2;
        let mut slot = |fd: &Option<Fd>, watches: &mut Vec<Watch>| {
            fd.as_ref().map(|fd| {
                watches.push(Watch::input(fd));
                at += 1;
                at - 1
            })
        };
        let orphan_at = slot(&self.orphan, &mut watches);
        let ready_at = slot(&self.ready_pipe, &mut watches);
        let notify_at = slot(&self.notify, &mut watches);
        let followed = self.follow.daemon.as_ref().map(|(_, fd)| fd);
        let followed_at = followed.map(|fd| {
            watches.push(Watch::input(fd));
            watches.len() - 1
        });
        if let Err(e) = poll::wait(&mut watches, timeout) {
            die::warn(PROG, &Error::sys("poll", e));
        }
        let mut terminate = false;
        self.signals
            .drain(|sig| terminate |= sig == libc::SIGTERM || sig == libc::SIGINT);
        // Reap on every wake-up, not only after SIGCHLD: a reaped child is
        // never missed, whatever order the signals came in.
        while let Some((pid, status)) = process::reap() {
            if self.follow.daemon.as_ref().is_some_and(|(p, _)| *p == pid) {
                self.follow.daemon = None;
            }
            queue.push_back(Event::Exited {
                pid,
                status: status.0,
            });
        }
        if terminate {
            queue.push_back(Event::Terminate);
        }
        if watches[1].ready {
            let mut buf = [0u8; 256];
            if let Ok(n) = self.control.read(&mut buf) {
                queue.extend(
                    buf[..n]
                        .iter()
                        .filter_map(|&b| Command::decode(b))
                        .map(Event::Control),
                );
            }
        }
        let ready = |at: Option<usize>| at.is_some_and(|i| watches[i].ready);
        if ready(orphan_at) {
            self.orphan = None;
            queue.push_back(Event::OrphanGone);
        }
        if ready(ready_at) {
            self.read_ready_pipe(queue);
        }
        if ready(notify_at) {
            self.read_notify(m, queue);
        }
        if ready(followed_at)
            && let Some((pid, _)) = self.follow.daemon.take()
        {
            // Ended, and not reaped above: a parent of its own reaped it,
            // and its wait status is not ours to know.
            queue.push_back(Event::Exited { pid, status: 0 });
        }
        if deadline.is_some_and(|d| d <= time::monotonic()) {
            queue.push_back(Event::Tick);
        }
    }

    /// Carries out one action; returns the event it led to, if any.
    fn perform(&mut self, action: Action, m: &Machine) -> Option<Event> {
        match action {
            Action::SpawnRun => {
                // Only what the spawn needs before it: the rest is read
                // while run starts, off a restart's critical path.
                let mut settings = self.dir.launch_settings(&mut |e| die::warn(PROG, e));
                if settings.pidfile && !self.follow.subreaper {
                    // The daemon run forks away must stay our descendant.
                    match process::become_subreaper() {
                        Ok(()) => self.follow.subreaper = true,
                        Err(e) => die::warn(
                            PROG,
                            &Error::sys(format!("become a subreaper for {}", self.dir.shown), e),
                        ),
                    }
                }
                let spawned = self.spawn_run(&settings);
                self.dir
                    .other_settings(&mut settings, &mut |e| die::warn(PROG, e));
                match spawned {
                    Ok(pid) => Some(Event::RunStarted { pid, settings }),
                    Err(e) => {
                        die::warn(PROG, &e);
                        Some(Event::RunFailed)
                    }
                }
            }
            Action::SpawnFinish { code, signal } => {
                if !fs::exists(&Path::from("finish")) {
                    return Some(Event::FinishFailed);
                }
                // The world learns that run is gone before finish can act
                // on it (runsv's order too): whoever sees finish's work
                // finds the status already saying so.
                self.publish(m);
                let code = CString::new(format!("{code}")).unwrap_or_default();
                let signal = CString::new(format!("{signal}")).unwrap_or_default();
                match self.spawn("finish", &[&code, &signal], &Spawn::default()) {
                    Ok(pid) => Some(Event::FinishStarted { pid }),
                    Err(e) => {
                        die::warn(PROG, &e);
                        Some(Event::FinishFailed)
                    }
                }
            }
            Action::Signal { pid, signal } => {
                self.kill(pid, signal);
                None
            }
            Action::SignalGroup { pgid, signal } => {
                self.kill(-pgid, signal);
                None
            }
            Action::SpawnCheck => match self.spawn("check", &[], &Spawn::default()) {
                Ok(pid) => Some(Event::CheckStarted { pid }),
                Err(e) => {
                    die::warn(PROG, &e);
                    Some(Event::CheckFailed)
                }
            },
            Action::SampleMemory { pid } => {
                procfs::session_rss(pid).map(|rss| Event::Memory { rss })
            }
            Action::Restarting(why) => {
                let s = &self.who();
                let t = &m.settings;
                match why {
                    Why::Watchdog => die::warn(
                        PROG,
                        &format_args!(
                            "{s}: no WATCHDOG=1 within {} ms: restarting",
                            t.watchdog.unwrap_or_default().as_millis() as u64
                        ),
                    ),
                    Why::Unhealthy { failures } => die::warn(
                        PROG,
                        &format_args!("{s}: {failures} checks failed in a row: restarting"),
                    ),
                    Why::Memory { rss, limit } => die::warn(
                        PROG,
                        &format_args!(
                            "{s}: resident memory {rss} bytes is over memory-limit {limit}: restarting"
                        ),
                    ),
                }
                None
            }
            Action::ReadPidFile => {
                let name = self.dir.pidfile(&mut |_| {});
                let found = match &name {
                    Some(name) => pidfile::find(&Path::from(name.as_str()), crate::sys::getpid()),
                    None => Err(Refusal::Absent),
                };
                match found {
                    Ok((pid, fd)) => {
                        self.follow.daemon = Some((pid, fd));
                        self.follow.refusal = None;
                        Some(Event::PidFound { pid })
                    }
                    Err(why) => {
                        self.follow.refusal = Some(why);
                        Some(Event::PidNotYet)
                    }
                }
            }
            Action::GiveUpPidFile => {
                let name = self.dir.pidfile(&mut |_| {}).unwrap_or_default();
                let shown = match name.starts_with('/') {
                    true => Path::from(name.as_str()),
                    false => self.dir.show(&name),
                };
                let why = match self.follow.refusal.take() {
                    Some(r) => r.describe(&shown),
                    None => format!("{shown} does not exist"),
                };
                let ms = m.settings.pidfile_timeout.as_millis() as u64;
                die::warn(
                    PROG,
                    &Error::other(
                        format!("follow the daemon of {}", self.dir.show("pidfile")),
                        format!("{why} after {ms} ms: a failed start"),
                    ),
                );
                None
            }
            Action::SpawnHelper { helper, pid } => {
                let name = helper_name(helper);
                let arg = CString::new(format!("{pid}")).unwrap_or_default();
                // systemd's name for it, which stop scripts already use.
                let mut env = process::environment(&["MAINPID"]);
                env.push(CString::new(format!("MAINPID={pid}")).unwrap_or_default());
                let opts = Spawn {
                    env: Some(&env),
                    ..Spawn::default()
                };
                match self.spawn(name, &[&arg], &opts) {
                    Ok(pid) => Some(Event::HelperStarted { helper, pid }),
                    Err(e) => {
                        die::warn(PROG, &e);
                        Some(Event::HelperFailed { helper })
                    }
                }
            }
            Action::HelperEnded { helper, status } => {
                let shown = self.dir.show(helper_name(helper));
                let how = match (libc::WIFEXITED(status), libc::WIFSIGNALED(status)) {
                    (true, _) => format!("exit code {}", libc::WEXITSTATUS(status)),
                    (_, true) => format!("killed by signal {}", libc::WTERMSIG(status)),
                    _ => format!("wait status {status}"),
                };
                die::warn(PROG, &format_args!("{shown} failed: {how}"));
                None
            }
            // Debug-printing the machine here would link all of core::fmt's
            // Debug code into every supervise: the loop handles Exit.
            Action::Exit => unreachable!("the loop handles Exit before perform"),
        }
    }

    /// Spawns `./run` with what its settings ask for: the write end of a
    /// notification-fd pipe, the sd_notify environment.
    fn spawn_run(&mut self, settings: &Settings) -> Result<i32, Error> {
        self.ready_pipe = None;
        let mut ready_w = None;
        let mut dup = Vec::new();
        if let Some(n) = settings.notification_fd {
            let (r, w) = fd::pipe().doing(|| "create the notification-fd pipe".into())?;
            dup.push((w.raw(), n));
            (self.ready_pipe, ready_w) = (Some(r), Some(w));
        }
        let mut env = None;
        let mut pid_var = None;
        if settings.notify && self.bind_notify() {
            let mut e = process::environment(&["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]);
            e.push(self.notify_env.clone());
            if let Some(t) = settings.watchdog {
                let usec = format!("WATCHDOG_USEC={}", t.as_micros() as u64);
                e.push(CString::new(usec).unwrap_or_default());
                pid_var = Some("WATCHDOG_PID");
            }
            env = Some(e);
        }
        let opts = Spawn {
            dup: &dup,
            env: env.as_deref(),
            pid_var,
            ..Spawn::default()
        };
        let pid = self.spawn("run", &[], &opts);
        // Only the service holds the write end: its exit means end-of-file.
        drop(ready_w);
        // A STATUS= text of the previous run says nothing about this one.
        // (After the spawn: the new run's datagrams are read later.)
        let _ = fs::unlink(&inside(&self.home, "supervise/message"));
        if pid.is_err() {
            self.ready_pipe = None;
        }
        pid
    }

    /// Binds `supervise/notify` if not yet done; whether it is bound. The
    /// socket belongs to the owner of S/notify, mode 0600: a service that
    /// drops root with setuidgid can send to it when S/notify is its own,
    /// and nobody else can.
    fn bind_notify(&mut self) -> bool {
        if self.notify.is_some() {
            return true;
        }
        let path = inside(&self.home, "supervise/notify");
        let show = self.dir.show(&path.lossy());
        // The mode comes from the umask at bind: a chmod by name after it
        // would follow a symlink put in the socket's place meanwhile.
        let umask = fs::umask(0o177);
        let bound = socket::bind_datagram(&path);
        fs::umask(umask);
        let bound = bound
            .and_then(|fd| {
                let owner = fs::stat(&Path::from("notify"))?;
                fs::lchown(&path, owner.uid, owner.gid)?;
                Ok(fd)
            })
            .doing(|| format!("bind {show}"));
        match bound {
            Ok(fd) => self.notify = Some(fd),
            Err(e) => die::warn(PROG, &e),
        }
        self.notify.is_some()
    }

    /// The service wrote to its notification fd: a newline means ready.
    fn read_ready_pipe(&mut self, queue: &mut VecDeque<Event>) {
        let Some(fd) = &self.ready_pipe else { return };
        let mut buf = [0u8; 64];
        match fd.read(&mut buf) {
            Ok(n) if buf[..n].contains(&b'\n') => {
                queue.push_back(Event::Ready);
                // s6 reads one line and closes it: later writes get EPIPE.
                self.ready_pipe = None;
            }
            Ok(0) => self.ready_pipe = None,
            Ok(_) | Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            Err(_) => self.ready_pipe = None,
        }
    }

    /// Datagrams on the notify socket: only the service's own processes
    /// (its session) are heard; anything else is dropped unread.
    // Not inlined: its buffer would otherwise sit in the main loop's frame,
    // and the stack probe of a frame that large dirties pages of stack in
    // every supervise, notify or not.
    #[inline(never)]
    fn read_notify(&mut self, m: &Machine, queue: &mut VecDeque<Event>) {
        let Some(fd) = &self.notify else { return };
        // sd_notify messages are a few short lines; a longer one is cut.
        let mut buf = [0u8; 1024];
        // Bounded: a flood must not keep supervise from its other work.
        for _ in 0..64 {
            let (n, sender) = match socket::receive(fd, &mut buf) {
                Ok(Some(got)) => got,
                Ok(None) | Err(_) => return,
            };
            let Some(run) = m.run_pid() else { continue };
            let Some(sender) = sender else { continue };
            let ours =
                sender.pid == run || procfs::stat(sender.pid).map(|s| s.session) == Some(run);
            if !ours {
                continue;
            }
            for line in buf[..n].split(|&b| b == b'\n') {
                match line {
                    b"READY=1" => queue.push_back(Event::Ready),
                    b"RELOADING=1" => queue.push_back(Event::Notified(Notice::Reloading)),
                    b"STOPPING=1" => queue.push_back(Event::Notified(Notice::Stopping)),
                    b"WATCHDOG=1" => queue.push_back(Event::Notified(Notice::Watchdog)),
                    _ => {
                        if let Some(text) = line.strip_prefix(b"STATUS=") {
                            let mut t = text.to_vec();
                            t.push(b'\n');
                            self.write("supervise/message", &t);
                            queue.push_back(Event::Notified(Notice::Status));
                        }
                    }
                }
            }
        }
    }

    /// Spawns `./PROGRAM ARGS... NAME` in its own session.
    fn spawn(&self, program: &str, args: &[&CString], extra: &Spawn) -> Result<i32, Error> {
        let path = CString::new(format!("./{program}")).unwrap_or_default();
        let mut argv: Vec<&core::ffi::CStr> = Vec::with_capacity(args.len() + 2);
        argv.push(&path);
        argv.extend(args.iter().map(|a| a.as_c_str()));
        argv.push(&self.name);
        let pool_env = self
            .instance
            .and_then(|k| crate::instances::environment(&self.dir, k, extra.env));
        // Its own session is the contract (svc -d's group kill, the
        // notify sender check, orphan adoption, metrics), and it has a
        // price on a busy CPU: with autogroup, setsid moves the child into
        // a new task group and the kernel reschedules it, so it may wait a
        // scheduler tick before its exec. s6-supervise pays it too;
        // daemontools and runsv, which keep run in their session, do not.
        let opts = Spawn {
            new_session: true,
            dup: extra.dup,
            env: pool_env.as_deref().or(extra.env),
            pid_var: extra.pid_var,
            ..Spawn::default()
        };
        process::spawn(&Path::from(path.as_c_str()), &argv, &opts)
            .doing(|| format!("spawn {}", self.dir.show(program)))
    }

    fn kill(&self, pid: i32, sig: i32) {
        match signal::kill(pid, sig) {
            // Already gone: its exit is on its way to us.
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => {
                let e = Error::sys(format!("signal {} (pid {pid})", self.who()), e);
                die::warn(PROG, &e);
            }
        }
    }

    /// Writes `status`, `pid` and `stat` when what they say has changed.
    fn publish(&mut self, m: &Machine) {
        let s = m.status();
        let before = self.published;
        if before == Some(s) {
            return;
        }
        // status first: it is what svstat, svc -w and the peers' tools
        // read, and each file is a rename, the dear part of a publish, so
        // it leads.
        // pid and stat, runit's text files, follow within the same step.
        let (bytes, len) = s.encode();
        self.write("supervise/status", &bytes[..len]);
        if before.is_none_or(|b| b.pid != s.pid) {
            let pid = if s.pid != 0 {
                format!("{}\n", s.pid)
            } else {
                alloc::string::String::new()
            };
            self.write("supervise/pid", pid.as_bytes());
        }
        if before.is_none_or(|b| b.state != s.state) {
            let word: &[u8] = match s.state {
                RunState::Down => b"down\n",
                RunState::Run => b"run\n",
                RunState::Finish => b"finish\n",
            };
            self.write("supervise/stat", word);
        }
        self.published = Some(s);
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        let path = inside(&self.home, name);
        let Err(e) = fs::write_atomic(&path, bytes, 0o644) else {
            return;
        };
        let name = path.lossy();
        let new = format!("{name}.new");
        let doing = format!("write {}", self.dir.show(&name));
        let e = unexpected_or(&self.dir, &new, e, doing);
        die::warn(PROG, &e);
        // Something put at NAME.new (or at NAME, which the exchange moved
        // there) is removed, never followed, and the status published
        // anew: its readers must not be left with a stale one.
        let planted =
            fs::lstat(&Path::from(new.as_str())).is_ok_and(|m| !(m.is_file() && m.nlink == 1));
        if planted && fs::unlink(&Path::from(new.as_str())).is_ok() {
            if let Err(e) = fs::write_atomic(&path, bytes, 0o644) {
                let doing = format!("write {}", self.dir.show(&name));
                die::warn(PROG, &unexpected_or(&self.dir, &new, e, doing));
            }
        }
    }
}

/// The file name of a helper, in the service directory.
fn helper_name(helper: Helper) -> &'static str {
    match helper {
        Helper::Stop => "stop",
        Helper::Reload => "reload",
    }
}

impl Io {
    /// The service as messages name it: S, or S/instance/K for an instance.
    fn who(&self) -> Path {
        match self.instance {
            Some(_) => self.dir.show(&self.home.lossy()),
            None => self.dir.shown.clone(),
        }
    }
}

/// Makes (if needed) and opens a FIFO of `supervise/`, non-blocking,
/// never through a symlink; its mode is set on what was opened.
fn open_fifo(path: &Path, mode: i32, dir: &ServiceDir) -> Result<Fd, Error> {
    let name = &path.lossy();
    fs::mkfifo(path, 0o600).doing(|| format!("create {}", dir.show(name)))?;
    let flags = mode | libc::O_NONBLOCK | libc::O_NOFOLLOW;
    let fd = fs::open(path, flags, 0).map_err(|e| unexpected(dir, name, e))?;
    let meta = fs::fstat(&fd).doing(|| format!("stat {}", dir.show(name)))?;
    if !meta.is_fifo() {
        return Err(not_what_supervise_makes(dir, name, &meta, Kind::Fifo));
    }
    crate::sys::dir::fchmod(&fd, 0o600).doing(|| format!("chmod {}", dir.show(name)))?;
    Ok(fd)
}

/// What an entry of `supervise/` is when supervise made it.
#[derive(Clone, Copy)]
enum Kind {
    File,
    Fifo,
    Socket,
}

/// Every name supervise opens, creates or publishes in `supervise/`.
const ENTRIES: &[(&str, Kind)] = &[
    ("supervise/lock", Kind::File),
    ("supervise/control", Kind::Fifo),
    ("supervise/ok", Kind::Fifo),
    ("supervise/status", Kind::File),
    ("supervise/status.new", Kind::File),
    ("supervise/pid", Kind::File),
    ("supervise/pid.new", Kind::File),
    ("supervise/stat", Kind::File),
    ("supervise/stat.new", Kind::File),
    ("supervise/message", Kind::File),
    ("supervise/message.new", Kind::File),
    ("supervise/notify", Kind::Socket),
];

/// Refuses a `supervise/` holding anything supervise would not have made
/// there: supervise runs as root over directories others may own, and
/// writing, chmodding or creating through a symlink (or a hard link to
/// someone else's file) put there would hand them root's files.
fn check_entries(dir: &ServiceDir, home: &Path) -> Result<(), Error> {
    for &(name, want) in ENTRIES {
        let name = &inside(home, name).lossy();
        let meta = match fs::lstat(&Path::from(name.as_str())) {
            Ok(meta) => meta,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(e).doing(|| format!("stat {}", dir.show(name))),
        };
        let fits = match want {
            Kind::File => meta.is_file() && meta.nlink == 1,
            Kind::Fifo => meta.is_fifo(),
            Kind::Socket => meta.is_socket(),
        };
        if !fits {
            return Err(not_what_supervise_makes(dir, name, &meta, want));
        }
    }
    Ok(())
}

/// `unable to use S/supervise/NAME: it is a symbolic link, not a regular file`.
fn not_what_supervise_makes(dir: &ServiceDir, name: &str, found: &fs::Meta, want: Kind) -> Error {
    let found = kind_of(found);
    let want = match want {
        Kind::File => "a regular file of its own",
        Kind::Fifo => "a FIFO",
        Kind::Socket => "a socket",
    };
    Error::other(
        format!("use {}", dir.show(name)),
        format!("it is {found}, not {want}"),
    )
}

/// What `found` is, in words: "a symbolic link".
fn kind_of(found: &fs::Meta) -> &'static str {
    if found.is_symlink() {
        "a symbolic link"
    } else if found.is_dir() {
        "a directory"
    } else if found.is_fifo() {
        "a FIFO"
    } else if found.is_socket() {
        "a socket"
    } else if found.is_file() && found.nlink != 1 {
        "a regular file with other hard links"
    } else if found.is_file() {
        "a regular file"
    } else {
        "a device"
    }
}

/// An error opening `name` of `supervise/`, saying what is there instead
/// when that is why (O_NOFOLLOW's ELOOP means "a symlink").
fn unexpected(dir: &ServiceDir, name: &str, e: Errno) -> Error {
    unexpected_or(dir, name, e, format!("open {}", dir.show(name)))
}

/// As `unexpected`, with what was being done when nothing is amiss there.
fn unexpected_or(dir: &ServiceDir, name: &str, e: Errno, doing: alloc::string::String) -> Error {
    if let Ok(meta) = fs::lstat(&Path::from(name)) {
        let want = if name.ends_with("/control") || name.ends_with("/ok") {
            Kind::Fifo
        } else {
            Kind::File
        };
        let fits = match want {
            Kind::Fifo => meta.is_fifo(),
            Kind::File | Kind::Socket => meta.is_file() && meta.nlink == 1,
        };
        if !fits {
            return not_what_supervise_makes(dir, name, &meta, want);
        }
    }
    Error::Sys {
        doing,
        reason: crate::error::Reason::Errno(e),
    }
}
